#!/bin/bash
# Install (idempotently) every Debian package the build/test harness needs.
# A warm run, where everything is installed already, only asks dpkg and
# never touches apt or the network.
set -euo pipefail

PKGS=(gcc make libc6-dev
	# zchttpd: its request parser and TLS (OpenSSL 3)
	libhttp-parser-dev libssl-dev
	# libzc's io_uring example, host test, libzc_uring and bench/zcuring
	# (liburing.a)
	liburing-dev
	qemu-system-x86 busybox-static kmod cpio iproute2 ethtool e2fsprogs
	sparse xz-utils zstd
	# Debian 12's default kernel (6.1) and the 6.12 backport, with headers.
	linux-image-amd64 linux-headers-amd64
	linux-image-6.12-amd64 linux-headers-6.12-amd64
	# checkpatch.pl and the kselftest harness headers come from here.
	linux-source-6.12
	# checkpatch.pl is Perl; module BTF on 6.12 needs pahole (the kbuild
	# package depends on it, listed for clarity).
	perl pahole
	# wg, for zcdev_world's WireGuard devices in the guest
	wireguard-tools
	# the libraries of the guest's NFS server (nfs-kernel-server's
	# binaries are unpacked, not installed: vm/guest-preload.sh)
	libtirpc3 libtirpc-common libgssapi-krb5-2 libblkid1 libuuid1
	# make deb, make dkms, the fresh-clone check (vm/deb.sh, vm/dkms.sh,
	# vm/fresh-clone.sh); openssl makes dkms's throwaway signing key.
	dkms dh-dkms debhelper dpkg-dev lintian openssl git
)

# One dpkg-query for all: prints "ii name" for each installed package.
mapfile -t installed < <(dpkg-query -W -f='${db:Status-Abbrev} ${Package}\n' "${PKGS[@]}" 2>/dev/null |
	awk '$1 == "ii" { print $2 }')
missing=()
for p in "${PKGS[@]}"; do
	[[ " ${installed[*]} " == *" $p "* ]] || missing+=("$p")
done

if ((${#missing[@]} == 0)); then
	exit 0
fi

if [[ $(id -u) != 0 ]]; then
	echo "vm/deps.sh: missing packages: ${missing[*]}" >&2
	echo "vm/deps.sh: run as root (or: sudo apt-get install ${missing[*]})" >&2
	exit 1
fi

echo "# vm/deps.sh: installing: ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
# The guests boot the Debian kernels with our own initramfs; the host's
# /boot/initrd.img-* for them costs about a minute each to generate.  Skip
# it (INITRD=No, honoured by /etc/kernel/postinst.d/initramfs-tools) when
# this machine does not boot Debian kernels anyway, i.e. the running kernel
# is not one of /boot's; ZC_HOST_INITRD=yes|no overrides.
if [[ -z ${ZC_HOST_INITRD:-} ]]; then
	if [[ -e /boot/vmlinuz-$(uname -r) ]]; then ZC_HOST_INITRD=yes; else ZC_HOST_INITRD=no; fi
fi
if [[ $ZC_HOST_INITRD == no ]]; then
	export INITRD=No
fi
# Another apt/dpkg may be running (unattended upgrades, a parallel session):
# wait for the lock rather than failing.
apt_opts=(-o DPkg::Lock::Timeout=600 -y -q)
apt-get "${apt_opts[@]}" update >&2
apt-get "${apt_opts[@]}" install --no-install-recommends "${missing[@]}" >&2
