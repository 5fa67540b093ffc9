#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# userlib/tests/host-check.sh: host-side checks of libzc and zcsend.
#
# Builds libzc and zcsend (dynamic and static) warning-free, installs into a
# temporary PREFIX and a DESTDIR staging tree, uninstalls, checks the ABI
# (soname, exported symbols and their version), compiles and links programs
# against the *installed* copy through pkg-config (shared and static), runs
# the libzc test program and zcsend in fallback mode only, and renders every
# man page with `man -l --warnings`.
#
# It never opens /dev/zcdev: libzc handles are opened on a device path inside
# the temporary directory (absent, so the fallback is used) or with
# ZC_OPEN_FALLBACK, and zcsend gets --device/--fallback the same way.
#
# Output: KTAP version 1 on stdout (one line per check), notes on stderr.
# Exit status: 0 when every check passed or was skipped, 1 otherwise.
#
# Usage: userlib/tests/host-check.sh [-v]      (-v: show build output)

# shellcheck disable=SC2015  # "ok" and "fail" always succeed
set -u
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
VERBOSE=0
[[ ${1:-} == -v ]] && VERBOSE=1

TMP=$(mktemp -d /tmp/libzc-host-check.XXXXXX)
cleanup() {
	# shellcheck disable=SC2086  # a list of pids
	[[ -n ${BGPIDS:-} ]] && kill $BGPIDS 2>/dev/null
	rm -rf "$TMP"
}
trap cleanup EXIT
BGPIDS=

RESULTS=()
PASS=0 FAIL=0 SKIP=0
# ok NAME | fail NAME [why] | skip NAME why
ok() { RESULTS+=("ok	$1"); PASS=$((PASS + 1)); }
fail() {
	RESULTS+=("not ok	$1${2:+ # $2}")
	FAIL=$((FAIL + 1))
	echo "FAIL: $1${2:+: $2}" >&2
}
skip() { RESULTS+=("ok	$1 # SKIP $2"); SKIP=$((SKIP + 1)); }
check() {		# check NAME COMMAND...: ok if the command succeeds
	local name=$1
	shift
	if "$@" >"$TMP/check.log" 2>&1; then
		ok "$name"
	else
		fail "$name" "$(tail -n 3 "$TMP/check.log" | tr '\n' ' ')"
	fi
}
note() { echo "# $*" >&2; }

MAKE=(make --no-print-directory)
DEV_ABSENT=$TMP/no-such-zcdev	# a device path that never exists

# ---- build -------------------------------------------------------------
note "building libzc"
build_clean() {		# build_clean NAME LOG COMMAND...: no warnings allowed
	local name=$1 log=$2
	shift 2
	if ! "$@" >"$log" 2>&1; then
		fail "$name" "build failed: $(grep -m3 -E 'error|Error' "$log" | tr '\n' ' ')"
	elif grep -q 'warning:' "$log"; then
		fail "$name" "warnings: $(grep -m3 'warning:' "$log" | tr '\n' ' ')"
	else
		ok "$name"
	fi
	[[ $VERBOSE == 1 ]] && cat "$log" >&2
}
build_clean build.libzc "$TMP/build-lib.log" \
	"${MAKE[@]}" -C "$ROOT/userlib" O="$TMP/lib" all
build_clean build.zcsend_dynamic "$TMP/build-dyn.log" \
	"${MAKE[@]}" -C "$ROOT/tools" O="$TMP/dyn" STATIC=0
build_clean build.zcsend_static "$TMP/build-static.log" \
	"${MAKE[@]}" -C "$ROOT/tools" O="$TMP/static"
ZCSEND=$TMP/static/usr/bin/zcsend
if [[ -x $ZCSEND ]] && ! readelf -l "$ZCSEND" 2>/dev/null | grep -q INTERP &&
   ! readelf -d "$ZCSEND" 2>/dev/null | grep -q NEEDED; then
	ok build.zcsend_static_is_static
else
	fail build.zcsend_static_is_static "no static $ZCSEND"
fi
if [[ -z $(find "$TMP/static" -type f ! -path "*/usr/bin/zcsend" ! -path "*/usr/bin/zcsend-demo" \
	  ! -path "*/usr/bin/zchttpd" ! -path "*/usr/bin/zchttpd-fuzz" ! -path "*/usr/bin/zchttpd-demo") ]]; then
	ok build.static_O_holds_only_the_binaries
else
	fail build.static_O_holds_only_the_binaries "$(find "$TMP/static" -type f | head -3)"
fi

# ---- ABI ---------------------------------------------------------------
SO=$TMP/lib/libzc.so.1
V10="zc_close zc_fd zc_is_fallback zc_open zc_path_name zc_sendfile zc_sendfile_all zc_why_desc zc_why_name zc_why_str"
V11="zc_probe zc_read_completions zc_result_add zc_sendv zc_sendv_all zc_status_name zc_status_str"
V12="zc_cqe_result zc_cqe_result_sendv zc_prep_sendfile zc_prep_sendv zc_uring_supported"
EXPECTED=$(echo $V10 $V11 $V12 | tr ' ' '\n' | sort | tr '\n' ' ' | sed 's/ $//')
INLINES="zc_seg_file zc_seg_mem"
if [[ -e $SO ]]; then
	soname=$(readelf -d "$SO" | sed -n 's/.*Library soname: \[\(.*\)\]/\1/p')
	[[ $soname == libzc.so.1 ]] && ok abi.soname || fail abi.soname "soname '$soname'"
	got=$(nm -D --defined-only "$SO" | awk '$2 == "T" {print $3}' | sed 's/@.*//' | sort | tr '\n' ' ')
	[[ $got == "$EXPECTED " ]] && ok abi.exported_symbols ||
		fail abi.exported_symbols "got: $got"
	# objdump -T: the version node of every exported function
	objdump -T "$SO" | awk '$4 == ".text" && $7 ~ /^zc_/ {print $7, $6}' \
		| sort > "$TMP/versions"
	want_ver() {	# want_ver NODE SYMBOLS...
		local node=$1 sym bad=
		shift
		for sym in "$@"; do
			grep -qx "$sym $node" "$TMP/versions" || bad+=" $sym"
		done
		[[ -z $bad ]] && ok "abi.symbol_version_$node" ||
			fail "abi.symbol_version_$node" "not in $node:$bad"
	}
	# shellcheck disable=SC2086
	want_ver LIBZC_1.0 $V10
	# shellcheck disable=SC2086
	want_ver LIBZC_1.1 $V11
	# shellcheck disable=SC2086
	want_ver LIBZC_1.2 $V12
	[[ $(wc -l < "$TMP/versions") == $(wc -w <<< "$EXPECTED") ]] &&
		ok abi.no_unversioned_symbols ||
		fail abi.no_unversioned_symbols "$(cat "$TMP/versions" | tr '\n' ' ')"
	if readelf -V "$SO" | grep -A1 'Name: LIBZC_1.1$' |
	   grep -q 'Parent 1: LIBZC_1.0$'; then
		ok abi.LIBZC_1.1_inherits_1.0
	else
		fail abi.LIBZC_1.1_inherits_1.0 "$(readelf -V "$SO" | grep LIBZC | tr '\n' ' ')"
	fi
	if readelf -V "$SO" | grep -A1 'Name: LIBZC_1.2$' |
	   grep -q 'Parent 1: LIBZC_1.1$'; then
		ok abi.LIBZC_1.2_inherits_1.1
	else
		fail abi.LIBZC_1.2_inherits_1.1 "$(readelf -V "$SO" | grep LIBZC | tr '\n' ' ')"
	fi
	# internal helpers stay hidden in the static archive's objects too
	if nm "$TMP/lib/libzc.a" | awk '$2 ~ /^[TDBR]$/ {print $3}' | grep -qv '^zc_'; then
		fail abi.static_archive_namespace "$(nm "$TMP/lib/libzc.a" | awk '$2 ~ /^[TDBR]$/ {print $3}' | grep -v '^zc_' | head -3 | tr '\n' ' ')"
	else
		ok abi.static_archive_namespace
	fi
else
	for n in soname exported_symbols symbol_version_LIBZC_1.0 \
		 symbol_version_LIBZC_1.1 symbol_version_LIBZC_1.2 \
		 no_unversioned_symbols LIBZC_1.1_inherits_1.0 \
		 LIBZC_1.2_inherits_1.1 static_archive_namespace; do
		fail abi.$n "no $SO"
	done
fi
# one man page per public function and inline helper
missing=
for f in $EXPECTED $INLINES; do
	[[ -f $ROOT/userlib/man/$f.3 ]] || missing+=" $f"
done
[[ -z $missing ]] && ok man.one_page_per_function || fail man.one_page_per_function "missing:$missing"
for f in $INLINES; do
	grep -q "static inline void $f(" "$ROOT/userlib/zc.h" || fail "abi.inline_$f" "not in zc.h"
done
# the version macros, the .pc and the Makefile agree
hdr_ver=$(awk '/define LIBZC_VERSION_MAJOR/ {M=$3} /define LIBZC_VERSION_MINOR/ {m=$3} END {print M "." m}' "$ROOT/userlib/zc.h")
mk_ver=$(sed -n 's/^VERSION[[:space:]]*:= *//p' "$ROOT/userlib/Makefile")
[[ $hdr_ver == 1.2 && $mk_ver == 1.2.0 ]] && ok abi.version_1.2 ||
	fail abi.version_1.2 "header $hdr_ver, Makefile $mk_ver"

# ---- install / uninstall -----------------------------------------------
PFX=$TMP/prefix
check install.prefix "${MAKE[@]}" -C "$ROOT/userlib" O="$TMP/lib" PREFIX="$PFX" install
missing=
for f in lib/libzc.so.1 lib/libzc.so lib/libzc.a lib/pkgconfig/libzc.pc \
	 include/zc.h include/zcdev/linux/zcdev.h share/man/man3/zc_sendfile.3 \
	 share/man/man4/zcdev.4 share/man/man7/libzc.7 lib/libzc-preload.so \
	 share/man/man8/libzc-preload.8; do
	[[ -e $PFX/$f ]] || missing+=" $f"
done
[[ -z $missing ]] && ok install.files || fail install.files "missing:$missing"
if cmp -s "$ROOT/uapi/linux/zcdev.h" "$PFX/include/zcdev/linux/zcdev.h"; then
	ok install.uapi_header_is_the_repo_copy
else
	fail install.uapi_header_is_the_repo_copy
fi
nman=$(find "$ROOT/userlib/man" -name '*.3' | wc -l)
[[ $(find "$PFX/share/man/man3" -name '*.3' 2>/dev/null | wc -l) == "$nman" ]] &&
	ok install.man3_pages || fail install.man3_pages

STAGE=$TMP/stage
check install.destdir "${MAKE[@]}" -C "$ROOT/userlib" O="$TMP/lib" DESTDIR="$STAGE" \
	PREFIX=/usr LIBDIR=/usr/lib/x86_64-linux-gnu install
if grep -qx 'prefix=/usr' "$STAGE/usr/lib/x86_64-linux-gnu/pkgconfig/libzc.pc" 2>/dev/null &&
   grep -qx 'libdir=/usr/lib/x86_64-linux-gnu' "$STAGE/usr/lib/x86_64-linux-gnu/pkgconfig/libzc.pc" &&
   [[ -e $STAGE/usr/lib/x86_64-linux-gnu/libzc.so.1 ]]; then
	ok install.destdir_paths
else
	fail install.destdir_paths "libzc.pc does not name /usr"
fi
check install.tools_destdir "${MAKE[@]}" -C "$ROOT/tools" O="$TMP/dyn" STATIC=0 \
	DESTDIR="$STAGE" PREFIX=/usr install
check install.uninstall_libzc "${MAKE[@]}" -C "$ROOT/userlib" O="$TMP/lib" \
	DESTDIR="$STAGE" PREFIX=/usr LIBDIR=/usr/lib/x86_64-linux-gnu uninstall
check install.uninstall_tools "${MAKE[@]}" -C "$ROOT/tools" O="$TMP/dyn" STATIC=0 \
	DESTDIR="$STAGE" PREFIX=/usr uninstall
left=$(find "$STAGE" \( -type f -o -type l \) | sed "s|$STAGE||")
[[ -z $left ]] && ok install.uninstall_leaves_nothing ||
	fail install.uninstall_leaves_nothing "left: $(echo "$left" | tr '\n' ' ' | head -c 200)"

# ---- compile and link against the installed copy -------------------------
export PKG_CONFIG_PATH=$PFX/lib/pkgconfig
if PC=$(pkg-config --cflags --libs libzc 2>"$TMP/pc.err"); then
	ok pkgconfig.cflags_libs
else
	fail pkgconfig.cflags_libs "$(cat "$TMP/pc.err")"
fi
[[ $(pkg-config --modversion libzc 2>/dev/null) == 1.2.0 ]] &&
	ok pkgconfig.modversion || fail pkgconfig.modversion
TESTBIN=$TMP/libzc_host_test
# shellcheck disable=SC2086
check link.shared_via_pkgconfig \
	cc -Wall -Wextra -Werror -O2 -o "$TESTBIN" \
	"$ROOT/userlib/tests/libzc_host_test.c" $PC -pthread
if [[ -x $TESTBIN ]] && ldd "$TESTBIN" | grep -q "$PFX/lib/libzc.so.1\|libzc.so.1 => not found"; then
	ok link.uses_installed_shared_lib
else
	fail link.uses_installed_shared_lib "$(ldd "$TESTBIN" 2>&1 | grep libzc)"
fi

# a program's references carry the node of each symbol
if [[ -x $TESTBIN ]]; then
	refs=$(objdump -T "$TESTBIN" | awk '$3 == "*UND*" && $6 ~ /^zc_/ {gsub(/[()]/, "", $5); print $6 "@" $5}' | sort | tr '\n' ' ')
	if grep -q 'zc_sendfile@LIBZC_1.0' <<< "$refs" &&
	   grep -q 'zc_sendv@LIBZC_1.1' <<< "$refs" &&
	   grep -q 'zc_read_completions@LIBZC_1.1' <<< "$refs"; then
		ok link.references_versioned
	else
		fail link.references_versioned "$refs"
	fi
fi

# the header alone, strict C and C++, next to the distro's kernel headers
cat > "$TMP/hdr.c" <<'EOF'
#include <linux/types.h>
#include <linux/ioctl.h>
#include <zc.h>
#include <zc.h>
int main(void)
{
	static struct zc_result r;
	static struct zc_probe_result p;
	static struct zcdev_seg seg[2];
	zc_seg_mem(&seg[0], "x", 1);
	zc_seg_file(&seg[1], 3, 0, 10);
	/* 1.2: the SQE type needs no io_uring header */
	int (*prep)(struct io_uring_sqe *, const struct zc *,
		    struct zcdev_sendfile *) = zc_prep_sendfile;
	(void)prep;
	return (int)(r.sent + r.seg_sent + p.path + ZCDEV_SEND_STRICT +
		     ZC_WHY_NO_MODULE - ZC_WHY_NO_MODULE) - 4 +
	       (int)(seg[0].len + seg[1].len) - 11 + (ZC_COMPL_WAIT - 1);
}
EOF
# shellcheck disable=SC2046
check header.c99_pedantic cc -std=c99 -pedantic -Wall -Wextra -Werror \
	$(pkg-config --cflags libzc) -c -o "$TMP/hdr.o" "$TMP/hdr.c"
if command -v c++ >/dev/null 2>&1; then
	cp "$TMP/hdr.c" "$TMP/hdr.cc"
	# shellcheck disable=SC2086
	check header.cplusplus c++ -Wall -Wextra -Werror -o "$TMP/hdr_cc" "$TMP/hdr.cc" $PC
else
	skip header.cplusplus "no c++ compiler"
fi

cat > "$TMP/static.c" <<'EOF'
#include <stdio.h>
#include <string.h>
#include <zc.h>
int main(void)
{
	struct zc *zc;
	int sv[2];
	if (zc_open(&zc, NULL, ZC_OPEN_FALLBACK) || zc_is_fallback(zc) != 1)
		return 1;
	puts(zc_path_name(ZC_PATH_UNKNOWN));
	return zc_close(zc);
	(void)sv;
}
EOF
# shellcheck disable=SC2046
if cc -Wall -Wextra -Werror -static -o "$TMP/static_prog" "$TMP/static.c" \
	$(pkg-config --static --cflags --libs libzc) >"$TMP/check.log" 2>&1 &&
   [[ $("$TMP/static_prog") == unknown ]]; then
	ok link.static_via_pkgconfig
else
	fail link.static_via_pkgconfig "$(tail -n 2 "$TMP/check.log" | tr '\n' ' ')"
fi

# ---- run the libzc test program (fallback mode only) ---------------------
if [[ -x $TESTBIN ]]; then
	note "running libzc_host_test (fallback mode, loopback and socketpairs)"
	( cd "$TMP" && LD_LIBRARY_PATH=$PFX/lib timeout 120 "$TESTBIN" ) \
		>"$TMP/unit.log" 2>&1
	rc=$?
	while read -r verdict name rest; do
		case $verdict in
		PASS) ok "libzc.$name" ;;
		FAIL) fail "libzc.${name%:}" "$rest" ;;
		esac
	done < "$TMP/unit.log"
	[[ $rc == 0 ]] && ok libzc.exit_status || fail libzc.exit_status "rc=$rc: $(grep -v '^PASS' "$TMP/unit.log" | head -3 | tr '\n' ' ')"
else
	fail libzc.exit_status "not built"
fi

# ---- the io_uring helpers (1.2), with liburing --------------------------
URINGBIN=$TMP/libzc_host_uring
# shellcheck disable=SC2086
check link.uring_test_via_pkgconfig \
	cc -Wall -Wextra -Werror -O2 -o "$URINGBIN" \
	"$ROOT/userlib/tests/libzc_host_uring.c" $PC -luring
if [[ -x $URINGBIN ]]; then
	refs=$(objdump -T "$URINGBIN" | awk '$3 == "*UND*" && $6 ~ /^zc_/ {gsub(/[()]/, "", $5); print $6 "@" $5}' | sort | tr '\n' ' ')
	missing=
	for f in $V12; do
		grep -q "$f@LIBZC_1.2" <<< "$refs" || missing+=" $f"
	done
	[[ -z $missing ]] && ok link.references_versioned_1.2 ||
		fail link.references_versioned_1.2 "not @LIBZC_1.2:$missing ($refs)"
	note "running libzc_host_uring (SQE layout, decoding, a regular file and /dev/null as the device)"
	( cd "$TMP" && LD_LIBRARY_PATH=$PFX/lib timeout 60 "$URINGBIN" ) \
		>"$TMP/uring.log" 2>&1
	rc=$?
	while read -r verdict name rest; do
		case $verdict in
		PASS) ok "libzc.$name" ;;
		FAIL) fail "libzc.${name%:}" "$rest" ;;
		SKIP) skip "libzc.${name%:}" "$rest" ;;
		esac
	done < "$TMP/uring.log"
	[[ $rc == 0 ]] && ok libzc.uring_exit_status || fail libzc.uring_exit_status "rc=$rc: $(grep -v '^PASS' "$TMP/uring.log" | head -3 | tr '\n' ' ')"
else
	fail libzc.uring_exit_status "not built"
fi

# ---- libzc-preload.so (no device: every call reaches the real sendfile) ---
PRE=$TMP/lib/libzc-preload.so
if [[ -e $PRE ]]; then
	got=$(nm -D --defined-only "$PRE" | awk '$2 == "T" {print $3}' | sort | tr '\n' ' ')
	[[ $got == "sendfile sendfile64 " ]] && ok preload.exports_only_sendfile ||
		fail preload.exports_only_sendfile "got: $got"
	if [[ -f $ROOT/build/ksft/kselftest_harness.h ]] &&
	   "${MAKE[@]}" -C "$ROOT/selftests" O="$TMP/st" "$TMP/st/selftests/libzc_preload" \
		>"$TMP/st.log" 2>&1 && ! grep -q 'warning:' "$TMP/st.log"; then
		ok preload.build_test
		note "running libzc_preload (sendfile(2) against the preload, no device)"
		mkdir -p "$TMP/predir"
		( cd "$TMP" && ZC_PRELOAD_SO=$PRE ZC_PRELOAD_DEVICE=$DEV_ABSENT \
			ZC_PRELOAD_DIR=$TMP/predir \
			timeout 120 "$TMP/st/selftests/libzc_preload" ) >"$TMP/pre.log" 2>&1
		rc=$?
		# its source file and log are its own to remove (they once piled up)
		left=$(ls -A "$TMP/predir")
		[[ -z $left ]] && ok preload.leaves_no_files ||
			fail preload.leaves_no_files "left: $(tr '\n' ' ' <<< "$left")"
		while read -r a b c d; do
			if [[ $a == ok ]]; then
				[[ $d == "# SKIP"* ]] && skip "preload.${c#global.}" "${d#\# SKIP }" ||
					ok "preload.${c#global.}"
			elif [[ $a == not && $b == ok ]]; then
				fail "preload.${d#global.}" "$(grep -m2 "${d#global.}:.*Expected" "$TMP/pre.log" | tr '\n' ' ')"
			fi
		done < <(grep -E '^(not )?ok [0-9]+ ' "$TMP/pre.log")
		[[ $rc == 0 ]] && ok preload.exit_status || fail preload.exit_status "rc=$rc"
	else
		fail preload.build_test "$(grep -m3 -E 'error|warning|missing' "$TMP/st.log" 2>/dev/null | tr '\n' ' ')"
	fi
else
	fail preload.built "no $PRE"
fi

# ---- man pages ------------------------------------------------------------
if command -v man >/dev/null 2>&1; then
	for p in "$ROOT"/userlib/man/*.[3478] "$ROOT"/tools/zcsend/zcsend.1 "$ROOT"/tools/zchttpd/zchttpd.8; do
		out=$(MANWIDTH=80 man -l --warnings "$p" 2>&1 >/dev/null)
		if [[ -z $out ]] && [[ -n $(MANWIDTH=80 man -l "$p" 2>/dev/null | head -c 1) ]]; then
			ok "man.$(basename "$p")"
		else
			fail "man.$(basename "$p")" "$(echo "$out" | head -n 2 | tr '\n' ' ')"
		fi
	done
else
	skip man.pages "man not installed (apt-get install man-db groff-base)"
fi

# ---- zcsend in fallback mode ------------------------------------------------
# Never the real device: --device points at a path that does not exist.
ZS=("$ZCSEND" --device "$DEV_ABSENT")
NC=()
if command -v busybox >/dev/null 2>&1 && busybox --list 2>/dev/null | grep -qx nc; then
	NC=(busybox nc)
fi
PORT=$((20000 + $$ % 20000))
FILE=$TMP/payload.bin
head -c $((2 * 1048576 + 12345)) /dev/urandom > "$FILE"

# wait_listen PORT: until something listens on the TCP port (v4 or v6)
wait_listen() {
	local hex i
	hex=$(printf '%04X' "$1")
	for i in $(seq 50); do
		grep -q ":$hex [0-9A-F:]* 0A " /proc/net/tcp /proc/net/tcp6 2>/dev/null && return 0
		sleep 0.1
	done
	return 1
}
json_get() {	# json_get FILE KEY: the value printed by python, or ""
	python3 -c 'import json,sys; o=json.loads(open(sys.argv[1]).readline()); v=o[sys.argv[2]]; print(",".join(v) if isinstance(v,list) else v)' "$1" "$2" 2>/dev/null
}

if [[ ! -x $ZCSEND ]]; then
	fail zcsend.built "no $ZCSEND"
elif [[ ${#NC[@]} == 0 ]]; then
	skip zcsend.nc "busybox nc not available"
else
	# connect mode, IPv4, JSON
	PORT=$((PORT + 1))
	"${NC[@]}" -l -p $PORT > "$TMP/rx1" < /dev/null &
	ncpid=$!
	BGPIDS="$ncpid"
	if wait_listen $PORT; then
		"${ZS[@]}" --json "$FILE" 127.0.0.1:$PORT > "$TMP/j1" 2>"$TMP/e1"
		rc=$?
		wait $ncpid
		if [[ $rc == 0 ]] && cmp -s "$FILE" "$TMP/rx1"; then
			ok zcsend.connect_tcp4_byte_exact
		else
			fail zcsend.connect_tcp4_byte_exact "rc=$rc $(cat "$TMP/e1")"
		fi
		if command -v python3 >/dev/null 2>&1; then
			size=$(stat -c %s "$FILE")
			if [[ $(json_get "$TMP/j1" bytes) == "$size" &&
			      $(json_get "$TMP/j1" path) == unknown &&
			      $(json_get "$TMP/j1" why) == no_module &&
			      $(json_get "$TMP/j1" unknown_bytes) == "$size" &&
			      $(json_get "$TMP/j1" zc_bytes) == 0 &&
			      $(json_get "$TMP/j1" ok) == True ]]; then
				ok zcsend.json_fallback_report
			else
				fail zcsend.json_fallback_report "$(cat "$TMP/j1")"
			fi
		else
			skip zcsend.json_fallback_report "no python3"
		fi
		grep -q 'zcdev module not loaded' "$TMP/e1" && ok zcsend.warns_module_absent ||
			fail zcsend.warns_module_absent "$(cat "$TMP/e1")"
	else
		fail zcsend.connect_tcp4_byte_exact "nc did not listen"
		kill $ncpid 2>/dev/null
	fi

	# listen mode, IPv6, human summary, with a range
	PORT=$((PORT + 1))
	"${ZS[@]}" --listen --once --offset 1000 --length 1M "[::1]:$PORT" "$FILE" \
		> "$TMP/o2" 2>"$TMP/e2" &
	zpid=$!
	BGPIDS="$zpid"
	if wait_listen $PORT; then
		"${NC[@]}" ::1 $PORT < /dev/null > "$TMP/rx2"
		wait $zpid
		rc=$?
		if [[ $rc == 0 ]] && cmp -s <(tail -c +1001 "$FILE" | head -c 1048576) "$TMP/rx2"; then
			ok zcsend.listen_tcp6_range_byte_exact
		else
			fail zcsend.listen_tcp6_range_byte_exact "rc=$rc $(cat "$TMP/e2")"
		fi
		grep -Eq '^\[::1\]:[0-9]+: path unknown: 1048576 bytes in .* — zcdev module absent' "$TMP/o2" &&
			ok zcsend.human_summary || fail zcsend.human_summary "$(cat "$TMP/o2")"
	else
		fail zcsend.listen_tcp6_range_byte_exact "zcsend did not listen: $(cat "$TMP/e2")"
		kill $zpid 2>/dev/null
	fi

	# --nonblock through the fallback's poll loop
	PORT=$((PORT + 1))
	"${NC[@]}" -l -p $PORT > "$TMP/rx3" < /dev/null &
	ncpid=$!
	BGPIDS="$ncpid"
	if wait_listen $PORT && "${ZS[@]}" --quiet --nonblock "$FILE" 127.0.0.1:$PORT &&
	   wait $ncpid && cmp -s "$FILE" "$TMP/rx3"; then
		ok zcsend.nonblock_byte_exact
	else
		fail zcsend.nonblock_byte_exact
		kill $ncpid 2>/dev/null
	fi

	# --header/--trailer-file: one emulated vectored call, byte exact
	PORT=$((PORT + 1))
	printf 'TRAILER\n' > "$TMP/trailer"
	"${NC[@]}" -l -p $PORT > "$TMP/rx4" < /dev/null &
	ncpid=$!
	BGPIDS="$ncpid"
	if wait_listen $PORT && "${ZS[@]}" --json --header 'HTTP/1.1 200 OK\r\n\x41\r\n\r\n' \
		--trailer-file "$TMP/trailer" --offset 7 "$FILE" 127.0.0.1:$PORT \
		> "$TMP/j4" 2>"$TMP/e4" && wait $ncpid &&
	   cmp -s <(printf 'HTTP/1.1 200 OK\r\nA\r\n\r\n'; tail -c +8 "$FILE"; printf 'TRAILER\n') "$TMP/rx4"; then
		ok zcsend.header_trailer_byte_exact
	else
		fail zcsend.header_trailer_byte_exact "$(cat "$TMP/e4")"
		kill $ncpid 2>/dev/null
	fi
	if command -v python3 >/dev/null 2>&1; then
		size=$(stat -c %s "$FILE")
		if [[ $(json_get "$TMP/j4" bytes) == $((size - 7 + 22 + 8)) &&
		      $(json_get "$TMP/j4" copied_bytes) == 30 &&
		      $(json_get "$TMP/j4" unknown_bytes) == $((size - 7)) &&
		      $(json_get "$TMP/j4" why) == memory,no_module &&
		      $(json_get "$TMP/j4" header_bytes) == 22 &&
		      $(json_get "$TMP/j4" path) == unknown ]]; then
			ok zcsend.header_json
		else
			fail zcsend.header_json "$(cat "$TMP/j4")"
		fi
	fi

	# --probe: connects, says "unknown", sends nothing
	PORT=$((PORT + 1))
	"${NC[@]}" -l -p $PORT > "$TMP/rx5" < /dev/null &
	ncpid=$!
	BGPIDS="$ncpid"
	if wait_listen $PORT && "${ZS[@]}" --probe "$FILE" 127.0.0.1:$PORT \
		> "$TMP/o5" 2>"$TMP/e5" && wait $ncpid && [[ ! -s $TMP/rx5 ]] &&
	   grep -q '^probe: path unknown .* nothing sent$' "$TMP/o5"; then
		ok zcsend.probe_fallback
	else
		fail zcsend.probe_fallback "$(cat "$TMP/o5" "$TMP/e5")"
		kill $ncpid 2>/dev/null
	fi
	BGPIDS=
fi

if [[ -x $ZCSEND ]]; then
	# exit_is NAME WANT_RC GREP COMMAND...
	exit_is() {
		local name=$1 want=$2 pat=$3 rc
		shift 3
		"$@" > "$TMP/x.out" 2> "$TMP/x.err" < /dev/null
		rc=$?
		if [[ $rc == "$want" ]] && grep -q -- "$pat" "$TMP/x.err"; then
			ok "$name"
		else
			fail "$name" "rc=$rc (want $want): $(head -c 200 "$TMP/x.err")"
		fi
	}
	free_port=$((PORT + 50))
	exit_is zcsend.missing_file 3 'No such file' "${ZS[@]}" "$TMP/nope" 127.0.0.1:9
	exit_is zcsend.refused 4 'Connection refused' "${ZS[@]}" "$FILE" 127.0.0.1:$free_port
	exit_is zcsend.refused_ipv6 4 'Connection refused' "${ZS[@]}" "$FILE" "[::1]:$free_port"
	exit_is zcsend.bad_address_unbracketed_v6 2 'brackets' "${ZS[@]}" "$FILE" ::1:80
	exit_is zcsend.bad_address_no_port 2 'bad address' "${ZS[@]}" "$FILE" 127.0.0.1
	exit_is zcsend.bad_port 2 'bad port' "${ZS[@]}" "$FILE" 127.0.0.1:65536
	exit_is zcsend.unresolvable_static 4 'cannot resolve' "${ZS[@]}" "$FILE" no-such-host.invalid:80
	exit_is zcsend.bad_listen_address 2 'bad address' "${ZS[@]}" --listen 1.2.3.4 "$FILE"
	exit_is zcsend.offset_past_eof 3 'past the end' "${ZS[@]}" --offset 1G "$FILE" 127.0.0.1:9
	exit_is zcsend.bad_length 2 'bad length' "${ZS[@]}" --length 12Q "$FILE" 127.0.0.1:9
	exit_is zcsend.strict_without_module 5 'module not loaded' "${ZS[@]}" --strict "$FILE" 127.0.0.1:9
	exit_is zcsend.missing_operand 2 'missing operand' "${ZS[@]}" "$FILE"
	exit_is zcsend.once_needs_listen 2 'needs --listen' "${ZS[@]}" --once "$FILE" 127.0.0.1:9
	exit_is zcsend.cached_only_without_module 6 'needs the zcdev module' "${ZS[@]}" --cached-only "$FILE" 127.0.0.1:9
	exit_is zcsend.notify_without_module 6 'needs the zcdev module' "${ZS[@]}" --notify "$FILE" 127.0.0.1:9
	exit_is zcsend.notify_old_module 6 'does not support it' "$ZCSEND" --device /dev/null --notify "$FILE" 127.0.0.1:9
	exit_is zcsend.bad_header_escape 2 'bad escape' "${ZS[@]}" --header 'a\q' "$FILE" 127.0.0.1:9
	exit_is zcsend.two_headers 2 'only one' "${ZS[@]}" --header a --header-file "$FILE" "$FILE" 127.0.0.1:9
	exit_is zcsend.missing_trailer_file 3 'No such file' "${ZS[@]}" --trailer-file "$TMP/nope" "$FILE" 127.0.0.1:9
	exit_is zcsend.probe_takes_no_header 2 'sends nothing' "${ZS[@]}" --probe --header a "$FILE" 127.0.0.1:9
	"$ZCSEND" --help > "$TMP/help" 2>&1 && grep -q -- '--listen' "$TMP/help" &&
		ok zcsend.help || fail zcsend.help
fi

# ---- zchttpd's formatters (fmt.c) against snprintf(3) and strftime(3) ------
check zchttpd.fmt_matches_libc "${MAKE[@]}" -C "$ROOT/tools" STATIC=0 check-zchttpd-fmt

# ---- zchttpd under ASan/UBSan: downloads, aborts, slow readers, a stalled
# TLS handshake, the fuzzer, SIGTERM (tools/zchttpd/asan-test.sh) ---------
check zchttpd.asan "${MAKE[@]}" -C "$ROOT/tools" check-zchttpd-asan

# ---- report -------------------------------------------------------------
echo "KTAP version 1"
echo "1..${#RESULTS[@]}"
i=0
for r in "${RESULTS[@]}"; do
	i=$((i + 1))
	printf '%s %d %s\n' "${r%%	*}" "$i" "${r#*	}"
done
echo "# Totals: pass:$PASS fail:$FAIL xfail:0 xpass:0 skip:$SKIP error:0"
[[ $FAIL == 0 ]]
