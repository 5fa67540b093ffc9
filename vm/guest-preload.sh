#!/bin/bash
# vm/guest-preload.sh: stage libzc-preload.so, the nginx test and the
# zchttpd test for the guests, into build/guest/root/ (copied over the
# guest's / by vm/run-guest.sh) and build/guest/selftests/{libzc_preload_nginx,zchttpd}:
#   /usr/lib/zcdev/libzc-preload.so   userlib's LD_PRELOAD shim
#   /usr/sbin/nginx                   Debian's nginx (apt-get download, dpkg -x;
#                                     cached in build/debs/)
#   /usr/bin/curl                     Debian's curl
#   /usr/bin/wrk                      Debian's wrk (load generator: zchttpd's
#                                     256-connection test, bench's http suite)
#   /usr/bin/fincore                  util-linux's (zchttpd's test: a file is
#                                     not resident before the slow-disk case)
#   /usr/bin/strace                   Debian's strace (bench's http suite:
#                                     syscalls per response)
#   /usr/sbin/{rpc.nfsd,rpc.mountd,exportfs}  nfs-kernel-server's (with
#                                     libwrap0's library, /etc/netconfig):
#                                     zcdev_world's NFSv4 server
#   their shared libraries            as ldd resolves them (vm/initramfs.sh's way)
#   /etc/zc-nginx/{cert,key}.pem      a self-signed certificate made here
#                                     (with the host's openssl: the guest needs none)
# Called by vm/build-guest.sh (its "build.preload" step).
#
# vm/guest-preload.sh curl: only curl and its libraries, into
# build/guest/run-root/ (what `make run` copies into its guest for
# zchttpd-demo: vm/run.sh, GUEST_ROOT in vm/run-guest.sh); vm/build-guest.sh's
# "build.curl" step.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

part=${1:-all}
out=$BUILD/guest
debs=$BUILD/debs
case $part in
all) root=$out/root ;;
curl) root=$out/run-root ;;
*) die "usage: vm/guest-preload.sh [curl]" ;;
esac
mkdir -p "$root/usr/bin" "$debs"

# fetch PKG: extract the Debian package PKG (downloaded once) under
# build/debs and print the directory
fetch() {
	local pkg=$1 deb
	deb=$(ls "$debs/${pkg}"_*.deb 2>/dev/null | head -n 1 || true)
	if [[ -z $deb ]]; then
		(cd "$debs" && apt-get download "$pkg" >/dev/null 2>&1) ||
			die "apt-get download $pkg failed"
		deb=$(ls "$debs/${pkg}"_*.deb | head -n 1)
	fi
	[[ -d $debs/x-$pkg ]] || dpkg -x "$deb" "$debs/x-$pkg"
	echo "$debs/x-$pkg"
}
# copy_with_libs BIN DST: the binary and the libraries ldd finds for it
copy_with_libs() {
	local bin=$1 dst=$2 lib libs
	cp -L "$bin" "$root$dst"
	libs=$(ldd "$bin") || die "ldd $bin failed"
	if grep -q 'not found' <<< "$libs"; then
		die "$bin: $(grep 'not found' <<< "$libs" | tr '\n' ' ')"
	fi
	for lib in $(grep -oE '/[^ ]+' <<< "$libs"); do
		# libc and the loader are in the base initramfs already (dash)
		case $lib in */libc.so.6|*/ld-linux-x86-64.so.2|"$root"/*) continue ;; esac
		[[ -e $root$lib ]] && continue
		mkdir -p "$root$(dirname "$lib")"
		cp -L "$lib" "$root$lib"
	done
}

# stage_bin NAME PACKAGE: /usr/bin/NAME, the installed Debian package's
# binary when there (its libraries are then the matching installed ones),
# else PACKAGE's, downloaded
stage_bin() {
	local x
	if dpkg -S "/usr/bin/$1" >/dev/null 2>&1; then
		copy_with_libs "/usr/bin/$1" "/usr/bin/$1"
	else
		x=$(fetch "$2")
		copy_with_libs "$x/usr/bin/$1" "/usr/bin/$1"
	fi
}
stage_bin curl curl
if [[ $part == curl ]]; then
	echo "staged: $(du -sh "$root" | cut -f1) in $root"
	exit 0
fi

mkdir -p "$root/usr/lib/zcdev" "$root/usr/sbin" "$root/etc/zc-nginx" "$out/selftests"
make --no-print-directory -C "$ROOT/userlib" O="$out/libzc" preload
install -m 0755 "$out/libzc/libzc-preload.so" "$root/usr/lib/zcdev/"
install -m 0755 "$ROOT/selftests/libzc_preload_nginx.sh" "$out/selftests/libzc_preload_nginx"
# zchttpd's test needs curl from here (zchttpd itself: vm/build-guest.sh's tools)
install -m 0755 "$ROOT/selftests/zchttpd.sh" "$out/selftests/zchttpd"
x=$(fetch nginx)
copy_with_libs "$x/usr/sbin/nginx" /usr/sbin/nginx
stage_bin fincore util-linux-extra
stage_bin strace strace

# wrk needs LuaJIT, which the host need not have: staged from its package
# first, so that ldd finds it in the guest's root
lj=$(fetch libluajit-5.1-2)
mkdir -p "$root/usr/lib/x86_64-linux-gnu"
cp -a "$lj"/usr/lib/x86_64-linux-gnu/libluajit-5.1.so.2* "$root/usr/lib/x86_64-linux-gnu/"
x=$(fetch wrk)
LD_LIBRARY_PATH=$root/usr/lib/x86_64-linux-gnu copy_with_libs "$x/usr/bin/wrk" /usr/bin/wrk

# An NFSv4-only server for zcdev_world nfs.* (the kernel's nfsd; no
# rpcbind): rpc.nfsd, rpc.mountd (answers nfsd's export upcalls) and
# exportfs, with libwrap staged first as LuaJIT is; their other libraries
# and libtirpc's /etc/netconfig are the host's (vm/deps.sh)
lw=$(fetch libwrap0)
cp -a "$lw"/usr/lib/x86_64-linux-gnu/libwrap.so.0* "$root/usr/lib/x86_64-linux-gnu/"
x=$(fetch nfs-kernel-server)
for b in rpc.nfsd rpc.mountd exportfs; do
	LD_LIBRARY_PATH=$root/usr/lib/x86_64-linux-gnu copy_with_libs "$x/usr/sbin/$b" "/usr/sbin/$b"
done
mkdir -p "$root/etc"
cp /etc/netconfig "$root/etc/netconfig"

if [[ ! -s $root/etc/zc-nginx/key.pem ]]; then
	openssl req -x509 -newkey rsa:2048 -nodes -days 3650 -subj /CN=zcdev-test \
		-keyout "$root/etc/zc-nginx/key.pem" -out "$root/etc/zc-nginx/cert.pem" \
		>/dev/null 2>&1
fi
echo "staged: $(du -sh "$root" | cut -f1) in $root"
