#!/bin/bash
# vm/debug-kernel.sh [6.12|6.1]: build (once, cached) a debug guest kernel
# from Debian's linux-source-<series> (default 6.12): x86_64_defconfig +
# kvm_guest.config + vm/debug.config (KASAN, KFENCE, kmemleak, lockdep,
# DEBUG_VM, UBSAN, fault injection).  Prints the build
# directory: bzImage is arch/x86/boot/bzImage, and the tree is ready for
# out-of-tree module builds (make modules has produced Module.symvers).
#
# The cache lives outside the repository ($ZC_CACHE, default
# /var/cache/zcdev), keyed by the source package version and the config
# fragment, so a fresh clone on the same machine reuses it.  Measured on
# the 2-core machine: about 21 minutes from scratch.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

ser=${1:-6.12}
case $ser in
6.1|6.12) ;;
*) die "debug kernel: series $ser: 6.12 or 6.1" ;;
esac
SRC_TAR=/usr/src/linux-source-$ser.tar.xz
need=()
# (vm/deps.sh installs linux-source-6.12; 6.1's is only for this kernel)
for p in "linux-source-$ser" bc flex bison libelf-dev libssl-dev dwarves; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || need+=("$p")
done
if ((${#need[@]})); then
	note "installing ${need[*]}"
	DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${need[@]}" >&2 ||
		{ apt-get update -q >&2 && DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${need[@]}" >&2; }
fi

[[ -f $SRC_TAR ]] || die "$SRC_TAR missing (package linux-source-$ser)"
srcver=$(dpkg-query -W -f='${Version}' "linux-source-$ser")
key=$(printf '%s\n' "$srcver" | cat - "$ROOT/vm/debug.config" | sha256sum | cut -c1-12)
CACHE=${ZC_CACHE:-/var/cache/zcdev}
dir=$CACHE/debug-$ser-$key
if [[ -f $dir/.done ]]; then
	echo "$dir"
	exit 0
fi

mkdir -p "$CACHE"
exec 9>"$CACHE/.debug-kernel.lock"
flock 9
if [[ -f $dir/.done ]]; then
	echo "$dir"
	exit 0
fi
rm -rf "$dir" "$dir.tmp"
start=$(date +%s)
# A finished build of the same source with another fragment: start from a
# copy of it, so that make rebuilds only what the changed options touch.
prev=
for d in "$CACHE"/debug-"$ser"-*; do
	[[ -f $d/.done && -f $d/.srcver && $(cat "$d/.srcver") == "$srcver" ]] && prev=$d
done
if [[ -n $prev ]]; then
	note "debug kernel: starting from ${prev##*/} (same source, another config)"
	cp -a "$prev" "$dir.tmp"
	rm -f "$dir.tmp/.done"
else
	mkdir -p "$dir.tmp"
	note "debug kernel: extracting $SRC_TAR"
	tar -xf "$SRC_TAR" -C "$dir.tmp" --strip-components=1
fi
cd "$dir.tmp"
note "debug kernel: configuring"
make -s x86_64_defconfig >&2
./scripts/kconfig/merge_config.sh -m .config kernel/configs/kvm_guest.config "$ROOT/vm/debug.config" >/dev/null
make -s olddefconfig >&2
# merge_config would warn about options that did not stick; check the checkers did.
for o in KASAN KFENCE DEBUG_KMEMLEAK PROVE_LOCKING DEBUG_VM FAILSLAB FAIL_PAGE_ALLOC TLS VETH EXT4_FS \
	 NET_TEAM INET_ESP IP_SCTP MEMCG INET_TCP_DIAG E1000E E1000 8139CP NE2K_PCI NFSD NFS_V4_2 \
	 MEMORY_FAILURE TRANSPARENT_HUGEPAGE; do
	grep -q "^CONFIG_$o=y" .config || die "debug kernel: CONFIG_$o did not stick"
done
note "debug kernel: building bzImage and modules (about 20 minutes on 2 cores)"
make -j"$(nproc)" bzImage modules >build.log 2>&1 || { tail -30 build.log >&2; die "debug kernel build failed"; }
cd /
echo "$srcver" > "$dir.tmp/.srcver"
mv "$dir.tmp" "$dir"
touch "$dir/.done"
note "debug kernel: built in $(( $(date +%s) - start )) s"
echo "$dir"
