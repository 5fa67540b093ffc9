#!/bin/bash
# vm/build-guest.sh: build the programs the guests run, statically, into
#   build/guest/selftests/   make -C selftests O=build/guest
#   build/guest/bin/         make -C tools O=build/guest OUTBIN=bin (zcsend),
#                            vm/demo.c as zcdemo, and userlib's
#                            examples/uring_server (static, with liburing.a)
#   build/guest/root/        copied over the guest's / (vm/guest-preload.sh)
#   build/guest/run-root/    curl alone, for make run (vm/guest-preload.sh curl)
# Prints one KTAP result line per component (build.selftests, build.tools,
# build.zcdemo, build.examples, build.preload, build.curl;
# GUEST_PARTS="tools zcdemo curl" builds only those) with the compiler output
# on failure; exits 1 if any failed.
# A component that fails leaves whatever it built, so the guest still runs
# the rest.
set -uo pipefail
. "$(dirname "$0")/lib.sh"

out=$BUILD/guest
# GUEST_PARTS: which components (default "selftests tools zcdemo examples
# preload"; preload stages curl too); make run needs only "tools zcdemo curl".
want() { [[ " ${GUEST_PARTS:-selftests tools zcdemo examples preload} " == *" $1 "* ]]; }
# (the kselftest headers are for the selftests only)
if want selftests; then "$ROOT/vm/ksft-headers.sh" || exit 1; fi
mkdir -p "$out/selftests" "$out/bin"
with_lock guest

n=${KTAP_START:-0}
rc=0
step() { # name log-file command...
	local name=$1 log=$2
	shift 2
	n=$((n + 1))
	if ! "$@" > "$log" 2>&1; then
		sed 's/^/# /' "$log"
		echo "not ok $n $name"
		rc=1
	elif grep -q 'warning:' "$log"; then
		sed 's/^/# /' "$log"
		echo "not ok $n $name # compiler warnings"
		rc=1
	else
		echo "ok $n $name"
	fi
}

if ! want selftests; then
	:
elif [[ -f $ROOT/selftests/Makefile ]]; then
	step build.selftests "$out/selftests.log" \
		make --no-print-directory -k -C "$ROOT/selftests" O="$out"
else
	# Fallback until selftests/Makefile exists: every selftests/*.c alone.
	build_selftests_fallback() {
		local c st=0
		for c in "$ROOT"/selftests/*.c; do
			[[ -f $c ]] || continue
			gcc -static -O2 -Wall -D_GNU_SOURCE -I "$BUILD/ksft" -I "$ROOT/uapi" -pthread \
				-o "$out/selftests/$(basename "$c" .c)" "$c" || st=1
		done
		return $st
	}
	step build.selftests "$out/selftests.log" build_selftests_fallback
fi

if want tools && [[ -f $ROOT/tools/Makefile ]]; then
	step build.tools "$out/tools.log" \
		make --no-print-directory -C "$ROOT/tools" O="$out" OUTBIN=bin
fi

build_demo() {
	local src=$ROOT/vm/demo.c bin=$out/bin/zcdemo
	gcc -static -O2 -Wall -Wextra -I "$ROOT/uapi" -pthread -o "$bin" "$src"
}
want zcdemo && step build.zcdemo "$out/zcdemo.log" build_demo
# the io_uring example server, for selftests/libzc_uring.c
build_examples() {
	make --no-print-directory -C "$ROOT/userlib" O="$out/libzc-static" \
		LDFLAGS=-static "$out/libzc-static/examples/uring_server" &&
	install -m 0755 "$out/libzc-static/examples/uring_server" "$out/bin/"
}
want examples && step build.examples "$out/examples.log" build_examples
# libzc-preload.so, Debian's nginx and curl for libzc_preload{,_nginx}
want preload && step build.preload "$out/preload.log" "$ROOT/vm/guest-preload.sh"
# curl alone for make run's zchttpd-demo (a lighter root: no nginx, wrk)
want curl && step build.curl "$out/curl.log" "$ROOT/vm/guest-preload.sh" curl
exit $rc
