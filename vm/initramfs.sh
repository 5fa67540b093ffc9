#!/bin/bash
# vm/initramfs.sh SERIES
# Build (cached) the base initramfs of a SERIES (6.1/6.12) test guest and
# print its path: build/SERIES/initramfs-base.cpio.
#
# Base = everything that changes only with the host's packages: busybox
# (static) with applet symlinks, iproute2 ip/tc/ss and ethtool with their
# shared libraries, the kernel modules the tests need (resolved with
# modprobe --show-depends against the host's /lib/modules/<release>,
# decompressed, indexed with depmod -b) and /sbin/modprobe for autoloading.
# What changes per run (/init, /zcdev.ko, test programs) is a second cpio
# archive that vm/run-guest.sh appends: the kernel unpacks concatenated
# archives in order.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

series=${1:?usage: vm/initramfs.sh SERIES}
rel=$(kver_full "$series") || die "no installed $series kernel (run vm/deps.sh)"
out=$BUILD/$series/initramfs-base.cpio
with_lock "initramfs-$series"

# Modules the guest needs.  Names that the kernel has built in are fine;
# names it does not have at all are skipped with a note (sctp is optional).
MODULES=(
	# storage: the ext4 virtio disk
	virtio_pci virtio_blk ext4 crc32c_generic crc32c_intel
	# network: veth pairs, qdiscs for experiments, tcp_info for ss -i;
	# clsact and the BPF classifier (zcdev_world hook.*)
	veth sch_netem tcp_diag sch_ingress cls_bpf
	# emulated NIC pairs (zcdev_nic, ../shared/nic-notes.md): SG e1000e,
	# e1000, 8139cp (QEMU rtl8139); non-SG ne2k-pci and virtio-net (hub
	# backends give it no vnet header)
	e1000e e1000 8139cp ne2k-pci virtio_net
	# kTLS and the AEAD/cipher implementations its tests may request
	tls gcm ccm ctr ghash_generic ghash_clmulni_intel aesni_intel
	chacha20poly1305 chacha_generic chacha_x86_64 poly1305_generic
	poly1305_x86_64
	# other stream sockets (copy path)
	sctp
	# zcdev_world: file systems whose read path is not the page cache's,
	# upper and tunnel devices over the veths
	overlay fuse configfs netconsole
	# NFSv4 over lo: the kernel's server and client (zcdev_world nfs.*)
	nfsd nfsv4
	8021q macvlan bridge bonding team team_mode_activebackup
	ipip ip_gre ip6_tunnel sit wireguard macsec
	# lightweight-tunnel (encap) routes: MPLS (seg6 is built in)
	mpls_router mpls_iptunnel
	# IPsec between the namespaces (ip xfrm): ESP and its AEAD.  seqiv and
	# echainiv salt their IVs from the default RNG ("stdrng": drbg, which
	# self-tests with hmac(sha512) and is seeded by jitterentropy), modules
	# on Debian's 6.1 and built in on 6.12: without them 6.1 refuses every
	# SA ("Kernel was unable to initialize cryptographic operations")
	xfrm_user esp4 seqiv echainiv authenc crypto_null cryptd crypto_simd gf128mul
	sha512_generic jitterentropy_rng drbg
)
BINARIES=(/usr/sbin/ip /usr/sbin/tc /usr/bin/ss /usr/sbin/ethtool)
# WireGuard's key configuration (wireguard-tools, vm/deps.sh): optional
OPT_BINARIES=(/usr/bin/wg)

# Cache key: kernel release, this script, and the packages copied from.
key=$( {
	echo "$rel"
	cat "$0"
	pkg_versions busybox-static coreutils dash iproute2 ethtool libc6 wireguard-tools "linux-image-$rel"
} | sha256sum | cut -c1-16)
if [[ -f $out && -f $out.key && $(cat "$out.key") == "$key" ]]; then
	echo "$out"
	exit 0
fi

note "building base initramfs for $rel"
start=$SECONDS
mkdir -p "$BUILD/$series"
stage=$(mktemp -d "$BUILD/$series/.initramfs.XXXXXX")
trap 'rm -rf "$stage"' EXIT

mkdir -p "$stage"/{bin,sbin,usr/bin,usr/sbin,lib,lib64,etc,proc,sys,dev,run,tmp,mnt/tmpfs,mnt/ext4,root,selftests}
chmod 1777 "$stage/tmp"

# Dynamic binaries and the libraries ldd finds for them.
copy_with_libs() {
	local bin=$1 dst=$2 lib
	cp -L "$bin" "$stage$dst"
	for lib in $(ldd "$bin" | grep -oE '/[^ ]+'); do
		[[ -e $stage$lib ]] && continue
		mkdir -p "$stage$(dirname "$lib")"
		cp -L "$lib" "$stage$lib"
	done
}
# busybox and its applets (in /bin; the real tools in /usr/sbin come first
# in PATH).  /bin/sh is dash: Debian's busybox ash prefers its own applets
# to PATH, so "ip" in a shell would be busybox's, not iproute2's.
cp /bin/busybox "$stage/bin/busybox"
for applet in $(/bin/busybox --list); do
	case $applet in busybox|sh|ash) continue ;; esac
	ln -s busybox "$stage/bin/$applet"
done
ln -s busybox "$stage/bin/ash"
copy_with_libs /bin/dash /bin/dash
ln -s dash "$stage/bin/sh"
# The same preference holds for commands that busybox applets exec (timeout,
# env, nsenter, xargs...): busybox's timeout would run busybox's "sh"/"ip".
# coreutils' timeout execs through PATH.
copy_with_libs /usr/bin/timeout /usr/bin/timeout
# The kernel's autoloader runs /sbin/modprobe (busybox's reads modules.dep
# and modules.alias, enough for the uncompressed tree below).
ln -s ../bin/busybox "$stage/sbin/modprobe"

for b in "${BINARIES[@]}"; do
	copy_with_libs "$b" "/usr/sbin/$(basename "$b")"
done
for b in "${OPT_BINARIES[@]}"; do
	if [[ -x $b ]]; then
		copy_with_libs "$b" "/usr/sbin/$(basename "$b")"
	else
		note "$b not installed, not in the guest"
	fi
done
# Some tools look up users/groups/protocols.
echo 'root:x:0:0:root:/root:/bin/sh' > "$stage/etc/passwd"
echo 'root:x:0:' > "$stage/etc/group"
[[ -f /etc/protocols ]] && cp /etc/protocols "$stage/etc/"
[[ -f /etc/services ]] && cp /etc/services "$stage/etc/"

# Kernel modules, with their dependencies, decompressed.
mdir=/lib/modules/$rel
mkdir -p "$stage$mdir/kernel"
declare -A seen=()
for m in "${MODULES[@]}"; do
	if ! deps=$(modprobe --show-depends -S "$rel" "$m" 2>/dev/null); then
		note "module $m not available for $rel, skipped"
		continue
	fi
	while read -r kind path _; do
		[[ $kind == insmod ]] || continue
		[[ -n ${seen[$path]:-} ]] && continue
		seen[$path]=1
		rp=${path#"$mdir"/}
		mkdir -p "$stage$mdir/$(dirname "$rp")"
		case $rp in
		*.ko.xz) xz -dc "$path" > "$stage$mdir/${rp%.xz}" ;;
		*.ko.zst) zstd -qdc "$path" > "$stage$mdir/${rp%.zst}" ;;
		*.ko.gz) gzip -dc "$path" > "$stage$mdir/${rp%.gz}" ;;
		*.ko) cp "$path" "$stage$mdir/$rp" ;;
		*) die "unexpected module file $path" ;;
		esac
	done <<< "$deps"
done
# (the debug kernel has everything built in: its lists come from its tree)
msrc=$mdir
is_debug_series "$series" && msrc=$(kernel_kdir "$series")
for f in modules.builtin modules.builtin.modinfo modules.order; do
	[[ -f $msrc/$f ]] && cp "$msrc/$f" "$stage$mdir/"
done
depmod -b "$stage" "$rel"
nmods=$(find "$stage$mdir" -name '*.ko' | wc -l)

# Uncompressed: the kernel copies it in faster than it would inflate it
# under TCG (see README: measured).
(cd "$stage" && find . -mindepth 1 | LC_ALL=C sort | cpio -o -H newc -R 0:0 --quiet) > "$stage.cpio"
mv "$stage.cpio" "$out"
echo "$key" > "$out.key"
note "base initramfs: $nmods modules, $(($(stat -c %s "$out") / 1024)) KiB, $((SECONDS - start)) s"
echo "$out"
