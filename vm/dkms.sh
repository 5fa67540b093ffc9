#!/bin/bash
# vm/dkms.sh [SRC]: build and install zcdev with DKMS, as a Debian host
# would, for each selected kernel (KVER, default 6.1 and 6.12; neither needs
# to be the running one), then boot a guest of each kernel with the module
# DKMS built and send a file through it.  SRC is a directory holding
# dkms.conf, Kbuild, kmod/ and uapi/ (default: a copy of this checkout's; vm/deb.sh
# passes the /usr/src/zcdev-<ver> of the zcdev-dkms package).
#
# Everything stays below build/dkms/ (DKMS_DIR=<dir> moves it): a private
# source tree, dkms tree and install tree (--sourcetree, --dkmstree,
# --installtree), and a throwaway MOK key pair that dkms signs the module
# with (mok_signing_key, mok_certificate); /var/lib/dkms, /usr/src and
# /lib/modules are never written, depmod runs on the private tree only
# (depmod -b), and nothing is loaded on this machine.
#
# KTAP on stdout, per kernel: dkms.add (once), dkms.build.SERIES,
# dkms.install.SERIES (the module in <release>/updates/dkms/, signed,
# vermagic of that release), dkms.guest.SERIES (the guest loads it, one
# zcsend --strict send checked byte for byte, clean unload/taint/dmesg).
# DKMS_GUEST=0 skips the guests, DKMS_GUEST_SKIP="SERIES..." some of them.  Exit status 1 if anything failed.
set -uo pipefail
. "$(dirname "$0")/lib.sh"

src=${1:-}
kvers=$(kvers_selected) || exit 1
top=${DKMS_DIR:-$BUILD/dkms}
command -v dkms > /dev/null || die "dkms is not installed (vm/deps.sh)"
with_lock dkms
rm -rf "$top"
mkdir -p "$top"/{src,tree,root/lib/modules}
# the guests load this module instead of build/SERIES/mod/zcdev.ko
ver=$(sed -n 's/^PACKAGE_VERSION="\(.*\)"/\1/p' "${src:-$ROOT}/dkms.conf")
[[ -n $ver ]] || die "no PACKAGE_VERSION in ${src:-$ROOT}/dkms.conf"

if [[ -z $src ]]; then
	# What the zcdev-dkms package installs in /usr/src/zcdev-<ver>.
	src=$top/stage/zcdev-$ver
	mkdir -p "$src"
	cp -r "$ROOT/dkms.conf" "$ROOT/Kbuild" "$ROOT/kmod" "$ROOT/uapi" "$src/"
	find "$src" \( -name '*.o' -o -name '.*.cmd' -o -name '*.ko' \) -delete
fi
# The private trees, and a signing key of our own (dkms would otherwise
# create /var/lib/dkms/mok.key).
dk=(dkms --sourcetree "$top/src" --dkmstree "$top/tree" --installtree "$top/root/lib/modules")
export mok_signing_key=$top/mok.key mok_certificate=$top/mok.pub

n=0
rc=0
# step NAME LOG COMMAND...: one KTAP line; the log's tail on failure
step() {
	local name=$1 log=$2
	shift 2
	n=$((n + 1))
	if "$@" > "$log" 2>&1; then
		echo "ok $n $name${note_ok:+ # $note_ok}"
		return 0
	fi
	tail -n 25 "$log" | sed 's/^/# /'
	echo "not ok $n $name"
	rc=1
	return 1
}

# dkms add from a directory copies it to <sourcetree>/zcdev-<ver>.
note_ok="zcdev/$ver"
step dkms.add "$top/add.log" "${dk[@]}" add "$src" || { exit 1; }
shopt -s nullglob
declare -A kos=()
for k in $kvers; do
	note_ok=
	if ! rel=$(kver_full "$k"); then
		n=$((n + 1)); echo "not ok $n dkms.build.$k # no Debian $k kernel with headers"; rc=1
		continue
	fi
	note_ok=$rel
	step "dkms.build.$k" "$top/build-$k.log" "${dk[@]}" build -m zcdev -v "$ver" -k "$rel" || continue
	# kbuild's own output, compiler warnings included, is in make.log
	cp "$top/tree/zcdev/$ver/$rel/x86_64/log/make.log" "$top/make-$k.log" 2>/dev/null
	check_install() {
		# (dkms refuses a kernel whose install tree directory is missing)
		mkdir -p "$top/root/lib/modules/$rel"
		"${dk[@]}" install --no-depmod -m zcdev -v "$ver" -k "$rel" || return 1
		local f=("$top/root/lib/modules/$rel/updates/dkms/zcdev.ko"*)
		[[ ${#f[@]} == 1 ]] || { echo "no single zcdev.ko* in $top/root/lib/modules/$rel/updates/dkms/"; return 1; }
		case ${f[0]} in
		*.xz) xz -dc "${f[0]}" > "$top/zcdev-$k.ko" ;;
		*.zst) zstd -qdc "${f[0]}" > "$top/zcdev-$k.ko" ;;
		*.gz) gzip -dc "${f[0]}" > "$top/zcdev-$k.ko" ;;
		*) cp "${f[0]}" "$top/zcdev-$k.ko" ;;
		esac
		local vm signer
		vm=$(modinfo -F vermagic "$top/zcdev-$k.ko")
		signer=$(modinfo -F signer "$top/zcdev-$k.ko")
		echo "installed: ${f[0]}; vermagic: $vm; signer: $signer"
		[[ $vm == "$rel "* ]] || { echo "vermagic is not $rel"; return 1; }
		[[ -n $signer ]] || { echo "the module is not signed"; return 1; }
		# (the kernel's own lists, so depmod -b sees what a host's sees)
		local l
		for l in modules.order modules.builtin modules.builtin.modinfo; do
			[[ -f /lib/modules/$rel/$l ]] && cp "/lib/modules/$rel/$l" "$top/root/lib/modules/$rel/"
		done
		depmod -b "$top/root" "$rel" || return 1
		grep -q '^updates/dkms/zcdev.ko' "$top/root/lib/modules/$rel/modules.dep" ||
			{ echo "depmod -b did not list updates/dkms/zcdev.ko"; return 1; }
		local st
		st=$("${dk[@]}" status -m zcdev -v "$ver" -k "$rel")
		echo "dkms status: $st"
		grep -q ': installed' <<< "$st" ||
			{ echo "dkms status does not say installed"; return 1; }
	}
	note_ok="updates/dkms, signed"
	step "dkms.install.$k" "$top/install-$k.log" check_install && kos[$k]=$top/zcdev-$k.ko
done

# The guests: one short send through the DKMS-built module, run mode.
send='head -c 4194304 /dev/urandom > /mnt/tmpfs/f && (nc -l -p 9000 > /mnt/tmpfs/g &) && sleep 1 && zcsend --strict /mnt/tmpfs/f 127.0.0.1:9000 && sleep 1 && cmp /mnt/tmpfs/f /mnt/tmpfs/g && echo dkms-send: intact'
if [[ ${DKMS_GUEST:-1} != 0 ]]; then
	# the guests' zcsend (static, build/guest/bin; make check built it
	# already), under build-guest.sh's lock
	mkdir -p "$BUILD/.locks"
	(flock 9; make --no-print-directory -C "$ROOT/tools" O="$BUILD/guest" OUTBIN=bin) \
		9> "$BUILD/.locks/guest" > "$top/tools.log" 2>&1 ||
		{ sed 's/^/# /' "$top/tools.log"; n=$((n + 1)); echo "not ok $n dkms.guest_tools"; exit 1; }
	declare -A gp=()
	for k in $kvers; do
		[[ -n ${kos[$k]:-} ]] || continue
		# DKMS_GUEST_SKIP="6.12": vm/deb.sh boots that kernel itself
		[[ " ${DKMS_GUEST_SKIP:-} " == *" $k "* ]] && continue
		ZC_KO=${kos[$k]} MODE=run RUNCMD=$send RUN_SUFFIX=-dkms GUEST_TIMEOUT=${DKMS_GUEST_TIMEOUT:-900} \
			"$ROOT/vm/run-guest.sh" "$k" > "$top/guest-$k.txt" 2>&1 &
		gp[$k]=$!
	done
	for k in $kvers; do
		[[ -n ${gp[$k]:-} ]] || continue
		wait "${gp[$k]}"
		st=$?
		n=$((n + 1))
		g=$top/guest-$k.txt
		t=$(grep -oE 'guest\.complete # [0-9]+s' "$g" | grep -oE '[0-9]+s$')
		if ((st == 0)) && grep -q '^  dkms-send: intact' "$g"; then
			echo "ok $n dkms.guest.$k # loaded, sent, unloaded${t:+ in $t}"
		else
			grep -vE '^(KTAP version|1\.\.[0-9]+$|# ZC-HARNESS-END)' "$g" | tail -n 30 | sed 's/^/# /'
			echo "not ok $n dkms.guest.$k"
			rc=1
		fi
	done
fi
# The private trees are kept for inspection (build/dkms/); dkms remove
# must take the module out again.
for k in "${!kos[@]}"; do
	rel=$(kver_full "$k")
	note_ok=
	check_remove() {
		"${dk[@]}" remove --no-depmod -m zcdev -v "$ver" -k "$rel" || return 1
		local f=("$top/root/lib/modules/$rel/updates/dkms/zcdev.ko"*)
		((${#f[@]} == 0)) || { echo "left: ${f[*]}"; return 1; }
	}
	step "dkms.remove.$k" "$top/remove-$k.log" check_remove
done
exit $rc
