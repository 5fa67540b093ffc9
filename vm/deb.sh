#!/bin/bash
# vm/deb.sh: what `make deb` runs.  Builds the Debian packages (debian/)
# with `dpkg-buildpackage -us -uc -b` on a copy of the tree, so the
# checkout stays clean and dpkg-buildpackage's ../*.deb land where we say:
#   build/deb/src/zcdev-<ver>/   the copy (tracked and untracked, not ignored, files of
#                                the working tree, as they are)
#   build/deb/*.deb, *.changes, *.buildinfo, build.log, lintian.txt
# then runs lintian on the .changes (an error fails; the warnings we keep
# on purpose are listed in README, "Install on a host").
# DEB_GUEST=1 (as make check does) also checks the packages in a guest:
#   - each .deb unpacked (dpkg -x) into a staging root;
#   - the zcdev-dkms package's /usr/src/zcdev-<ver> built, installed and
#     removed by dkms for each kernel of KVER (vm/dkms.sh with that source,
#     private trees), each module loaded in a guest of its kernel for a send
#     (but DEB_KVER's, which the guest below does);
#   - the DKMS-built module put in /lib/modules/<rel>/updates/dkms/ of the
#     guest and depmod run there, as dkms install does on a host;
#   - in a guest of DEB_KVER (default 6.12): `modprobe zcdev` loads that
#     module, the packaged zcsend (dynamic, linked to the packaged
#     libzc.so.1) sends a file with --strict, byte for byte; then the
#     module file is removed and depmod run (what zcdev-dkms's prerm,
#     dkms remove, does) and `modprobe zcdev` must fail.
# The guest has no dpkg: the packages' maintainer scripts are not run
# there (deb.prerm checks that zcdev-dkms's prerm calls dkms remove).
# KTAP on stdout; exit status 1 if anything failed.
set -uo pipefail
. "$(dirname "$0")/lib.sh"

out=$BUILD/deb
with_lock deb
for c in dpkg-buildpackage dh dh_dkms lintian; do
	command -v "$c" > /dev/null || die "$c is not installed (vm/deps.sh)"
done
ver=$(dpkg-parsechangelog -l "$ROOT/debian/changelog" -S Version)
n=0
rc=0
ok() { n=$((n + 1)); echo "ok $n $1${2:+ # $2}"; }
notok() { n=$((n + 1)); echo "not ok $n $1${2:+ # $2}"; rc=1; }

# ---- versions agree -------------------------------------------------------------
lv=$(sed -n 's/^VERSION[[:space:]]*:=[[:space:]]*//p' "$ROOT/userlib/Makefile")
dv=$(sed -n 's/^PACKAGE_VERSION="\(.*\)"/\1/p' "$ROOT/dkms.conf")
if [[ ${ver%%-*} == "$lv" && $dv == "$lv" ]]; then
	ok deb.versions "$ver"
else
	notok deb.versions "debian/changelog $ver, userlib VERSION $lv, dkms.conf $dv"
fi

# ---- dpkg-buildpackage on a copy ------------------------------------------------------
rm -rf "$out"
src=$out/src/zcdev-$ver
mkdir -p "$src"
if git -C "$ROOT" rev-parse --git-dir > /dev/null 2>&1; then
	(cd "$ROOT" && git ls-files -z --cached --others --exclude-standard | xargs -0 -I{} sh -c '[ -e "{}" ] && printf "%s\0" "{}"' |
		tar --null -T - -cf -) | tar -C "$src" -xf -
else
	tar -C "$ROOT" --exclude=./build -cf - . | tar -C "$src" -xf -
fi
start=$SECONDS
if (cd "$src" && dpkg-buildpackage -us -uc -b) > "$out/build.log" 2>&1; then
	mv "$out"/src/*.deb "$out"/src/*.changes "$out"/src/*.buildinfo "$out/"
	ok deb.build "$(cd "$out" && ls ./*.deb | sed 's|^\./||; s|_.*||' | tr '\n' ' ' | sed 's/ $//'); $((SECONDS - start))s"
else
	grep -E 'error|Error|warning:|dpkg-gensymbols|dh_missing' "$out/build.log" | tail -n 30 | sed 's/^/# /'
	notok deb.build "see $out/build.log"
	exit 1
fi
# dpkg-gensymbols' warnings (a symbol of libzc.map not in debian/libzc1.symbols)
if grep -q 'dpkg-gensymbols: warning' "$out/build.log"; then
	grep -A20 'dpkg-gensymbols: warning' "$out/build.log" | sed 's/^/# /' | head -n 30
	notok deb.symbols "debian/libzc1.symbols does not match libzc.so.1"
else
	ok deb.symbols "debian/libzc1.symbols = libzc.so.1's versioned symbols"
fi

# ---- lintian --------------------------------------------------------------------------
changes=$(ls "$out"/*.changes)
lintian --info --display-level '>=pedantic' --fail-on error "$changes" > "$out/lintian.txt" 2>&1
lst=$?
nw=$(grep -c '^W: ' "$out/lintian.txt")
ne=$(grep -c '^E: ' "$out/lintian.txt")
grep -E '^[EWIP]: ' "$out/lintian.txt" | sed 's/^/# /'
if ((lst == 0 && ne == 0)); then
	ok deb.lintian "$ne errors, $nw warnings"
else
	notok deb.lintian "$ne errors, $nw warnings (exit $lst)"
fi

# ---- the package contents --------------------------------------------------------------
root=$out/root
mkdir -p "$root"
for d in "$out"/*.deb; do dpkg -x "$d" "$root"; done
check_contents() {
	local f miss=0
	for f in usr/src/zcdev-"${ver%%-*}"/{dkms.conf,Kbuild,kmod/main.c,uapi/linux/zcdev.h} \
	         usr/lib/x86_64-linux-gnu/libzc.so.1 usr/lib/x86_64-linux-gnu/libzc.so \
	         usr/lib/x86_64-linux-gnu/libzc.a usr/lib/x86_64-linux-gnu/pkgconfig/libzc.pc \
	         usr/include/zc.h usr/include/zcdev/linux/zcdev.h usr/share/man/man3/zc_sendfile.3.gz \
	         usr/bin/zcsend usr/share/man/man1/zcsend.1.gz usr/share/man/man4/zcdev.4.gz \
	         usr/lib/x86_64-linux-gnu/zcdev/libzc-preload.so usr/share/man/man8/libzc-preload.8.gz \
	         usr/bin/zchttpd usr/share/man/man8/zchttpd.8.gz; do
		[[ -e $root/$f ]] || { echo "missing: $f"; miss=1; }
	done
	# zcsend is linked to the packaged libzc.so.1, with its version nodes
	# (whole outputs in variables: grep -q would cut a pipe short)
	local syms tdep kdep
	syms=$(objdump -T "$root/usr/bin/zcsend")
	tdep=$(dpkg-deb -f "$out"/zcdev-tools_*.deb Depends)
	kdep=$(dpkg-deb -f "$out"/zcdev-dkms_*.deb Depends)
	echo "zcdev-tools Depends: $tdep"
	echo "zcdev-dkms Depends: $kdep"
	grep -q '(LIBZC_1\.[01])' <<< "$syms" || { echo "zcsend has no LIBZC_1.x references"; miss=1; }
	grep -q 'libzc1 (>= ' <<< "$tdep" || { echo "zcdev-tools does not depend on libzc1 (>= ...)"; miss=1; }
	grep -q 'dkms' <<< "$kdep" || { echo "zcdev-dkms does not depend on dkms"; miss=1; }
	return $miss
}
if check_contents > "$out/contents.txt" 2>&1; then
	ok deb.contents
else
	sed 's/^/# /' "$out/contents.txt"
	notok deb.contents
fi
# zcdev-dkms's maintainer scripts are dh_dkms's: postinst adds/builds/installs
# through dkms, prerm removes from every kernel.
tmpc=$(mktemp -d)
dpkg-deb -e "$out"/zcdev-dkms_*.deb "$tmpc"
if grep -q '^DKMS_NAME=zcdev$' "$tmpc/prerm" 2>/dev/null &&
   grep -q 'dkms remove -m $DKMS_NAME -v $DKMS_VERSION --all' "$tmpc/prerm" &&
   grep -q '^DKMS_NAME=zcdev$' "$tmpc/postinst" 2>/dev/null &&
   grep -q '/usr/lib/dkms/common.postinst' "$tmpc/postinst"; then
	ok deb.maintscripts "postinst: dkms common.postinst zcdev $ver; prerm: dkms remove --all"
else
	{ echo "postinst:"; cat "$tmpc/postinst"; echo "prerm:"; cat "$tmpc/prerm"; } 2>&1 | sed 's/^/# /'
	notok deb.maintscripts
fi
rm -rf "$tmpc"

[[ ${DEB_GUEST:-0} == 1 ]] || exit $rc

# ---- DKMS from the package, the packages in a guest -------------------------------------
# vm/dkms.sh on the packaged source, for each selected kernel (KVER, default
# both), with its smoke guests; its KTAP nested under deb.dkms.
ks=
for k in $(kvers_selected); do
	is_debug_series "$k" || ks+="${ks:+ }$k"
done
k=${DEB_KVER:-}
[[ -n $k ]] || { [[ " $ks " == *" 6.12 "* ]] && k=6.12 || k=${ks%% *}; }
rel=$(kver_full "$k") || { notok deb.guest "no $k kernel"; exit 1; }
dk=$out/dkms
# (no smoke guest of $k: the packages' guest below loads the same module)
KVER=$ks DKMS_DIR=$dk DKMS_GUEST_SKIP=$k "$ROOT/vm/dkms.sh" "$root/usr/src/zcdev-${ver%%-*}" > "$out/dkms.txt" 2>&1
dst=$?
echo "# Subtest: deb.dkms"
sed 's/^/  /' "$out/dkms.txt"
if ((dst == 0)) && [[ -f $dk/zcdev-$k.ko ]]; then
	ok deb.dkms "dkms add/build/install/remove of the packaged /usr/src/zcdev-${ver%%-*}: $ks"
else
	notok deb.dkms
	exit 1
fi
# The guest's extra files: the packages' /usr, the module where dkms puts it.
ov=$out/overlay
mkdir -p "$ov/usr/lib/x86_64-linux-gnu" "$ov/usr/bin" "$ov/lib/modules/$rel/updates/dkms"
cp -a "$root"/usr/lib/x86_64-linux-gnu/libzc.so.1* "$ov/usr/lib/x86_64-linux-gnu/"
install -m 0755 "$root/usr/bin/zcsend" "$ov/usr/bin/zcsend.deb"
install -m 0644 "$dk/zcdev-$k.ko" "$ov/lib/modules/$rel/updates/dkms/zcdev.ko"
(cd "$ov" && find . -mindepth 1 | LC_ALL=C sort | cpio -o -H newc -R 0:0 --quiet) > "$out/overlay.cpio"
# In the guest (vm/init loaded $ZC_MODULE, the same DKMS-built file, first)
guestcmd='set -e; R=$(uname -r); depmod; rmmod zcdev
grep "^updates/dkms/zcdev.ko:" /lib/modules/$R/modules.dep
modprobe zcdev; test -c /dev/zcdev; echo "deb: modprobe zcdev loaded updates/dkms/zcdev.ko"
/lib64/ld-linux-x86-64.so.2 --list /usr/bin/zcsend.deb | grep "libzc.so.1 => /usr/lib/x86_64-linux-gnu/libzc.so.1"
head -c 4194304 /dev/urandom > /mnt/tmpfs/f; (nc -l -p 9000 > /mnt/tmpfs/g &); sleep 1
zcsend.deb --strict /mnt/tmpfs/f 127.0.0.1:9000; sleep 1; cmp /mnt/tmpfs/f /mnt/tmpfs/g; echo "deb: zcsend sent intact"
rmmod zcdev; rm /lib/modules/$R/updates/dkms/zcdev.ko; depmod
if modprobe zcdev 2>/dev/null; then echo "deb: modprobe still loads zcdev"; exit 1; fi
echo "deb: removed: modprobe zcdev fails"
insmod $ZC_MODULE'
ZC_KO=$dk/zcdev-$k.ko MODE=run RUNCMD=$guestcmd RUN_SUFFIX=-deb GUEST_OVERLAY_CPIO=$out/overlay.cpio \
	GUEST_TIMEOUT=${DEB_GUEST_TIMEOUT:-900} "$ROOT/vm/run-guest.sh" "$k" > "$out/guest.txt" 2>&1
st=$?
t=$(grep -oE 'guest\.complete # [0-9]+s' "$out/guest.txt" | grep -oE '[0-9]+s$')
if ((st == 0)) && grep -q '^  deb: zcsend sent intact' "$out/guest.txt" &&
   grep -q '^  deb: removed: modprobe zcdev fails' "$out/guest.txt"; then
	ok deb.guest.$k "modprobe zcdev, zcsend --strict sent intact, module removed${t:+; $t}"
else
	grep -vE '^(KTAP version|1\.\.[0-9]+$|# ZC-HARNESS-END)' "$out/guest.txt" | tail -n 30 | sed 's/^/# /'
	notok deb.guest.$k
fi
exit $rc
