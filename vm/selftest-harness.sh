#!/bin/bash
# vm/selftest-harness.sh (make check-harness): prove that `make check`
# fails, visibly, when the module is broken.  Builds the stand-ins of
# vm/testmods/ (a module named zcdev that WARNs, oopses, hangs, or only
# logs "BUG:" and taints) and runs vm/check.sh with each instead of the
# real module, with a one-ioctl guest program (vm/testmods/zc_ioctl.c).
# Each scenario must exit non-zero, end with "N passed, M failed" (M > 0)
# and show the reason; the control (a harmless stand-in) must pass.
# Prints KTAP and "N passed, N failed"; exit status 1 if the harness let
# anything through.
set -uo pipefail
. "$(dirname "$0")/lib.sh"

"$ROOT/vm/deps.sh" || exit 1
out=$BUILD/harness
mkdir -p "$out"
start=$SECONDS

# ---- build the stand-ins and the ioctl program -----------------------------
modes="good warn oops dmesg hang"
build_testmod() { # series mode
	local series=$1 mode=$2 rel dir
	rel=$(kver_full "$series") || return 1
	dir=$BUILD/$series/testmods/$mode
	mkdir -p "$dir"
	ln -sfn "$ROOT/vm/testmods/Kbuild" "$dir/Kbuild"
	ln -sfn "$ROOT/vm/testmods/zcbroken.c" "$dir/zcbroken.c"
	make -C "/lib/modules/$rel/build" M="$dir" ZCBROKEN_MODE="$mode" modules \
		> "$dir/build.log" 2>&1 || { cat "$dir/build.log"; return 1; }
}
for k in 6.1 6.12; do
	for m in $modes; do
		build_testmod "$k" "$m" || die "building vm/testmods ($m) for $k failed"
	done
done
prog=$out/zz_harness_ioctl
gcc -static -O2 -Wall -I "$ROOT/uapi" -o "$prog" "$ROOT/vm/testmods/zc_ioctl.c" ||
	die "building vm/testmods/zc_ioctl.c failed"

# ---- scenarios -----------------------------------------------------------------
n=0
failed=0
# scenario NAME SERIES MODE EXPECT_EXIT(0|1) T REGEX...: run check.sh and
# require its exit status and every REGEX in its output.
scenario() {
	local name=$1 series=$2 mode=$3 want=$4 tests=$5 rc why=
	shift 5
	local log=$out/$name.log t0=$SECONDS
	n=$((n + 1))
	KVER=$series LINT=0 BUILD_GUEST=0 T=$tests ZC_KO="$BUILD/@SERIES@/testmods/$mode/zcdev.ko" \
		EXTRA_GUEST_PROGS="$prog" RUN_SUFFIX=-harness CHECK_OUT="$out/$name" \
		"$ROOT/vm/check.sh" > "$log" 2>&1
	rc=$?
	if [[ $want == 0 ]]; then
		((rc == 0)) || why="exit status $rc, want 0"
		tail -n 1 "$log" | grep -qE '^[0-9]+ passed, 0 failed' || why+=" no clean summary line"
	else
		((rc != 0)) || why="exit status 0, want non-zero"
		tail -n 1 "$log" | grep -qE '^[0-9]+ passed, [1-9][0-9]* failed' ||
			why+=" last line is not 'N passed, M failed' with M > 0"
	fi
	local re
	for re in "$@"; do
		grep -qE -- "$re" "$log" || why+=" missing /$re/"
	done
	sed 's/^/# /' "$log" | tail -n 25
	if [[ -z $why ]]; then
		echo "ok $n harness.$name # $((SECONDS - t0)) s"
	else
		echo "not ok $n harness.$name # $why"
		failed=$((failed + 1))
	fi
}

echo "KTAP version 1"
echo "1..6"
scenario control-good 6.12 good 0 zz_harness_ioctl \
	'ok [0-9]+ zz_harness_ioctl' 'ok [0-9]+ kernel.dmesg' 'ok [0-9]+ guest.complete'
scenario warn-6.1 6.1 warn 1 zz_harness_ioctl \
	'not ok [0-9]+ guest.complete # kernel panic' 'WARNING: .* zcbroken_ioctl'
scenario warn-6.12 6.12 warn 1 zz_harness_ioctl \
	'not ok [0-9]+ guest.complete # kernel panic' 'WARNING: .* zcbroken_ioctl'
scenario oops-6.12 6.12 oops 1 zz_harness_ioctl \
	'not ok [0-9]+ guest.complete # kernel panic' 'BUG: kernel NULL pointer dereference'
scenario dmesg-taint-6.1 6.1 dmesg 1 none \
	'not ok [0-9]+ kernel.dmesg' 'BUG: zcdev-harness-selftest: deliberate report' \
	'not ok [0-9]+ kernel.taint # tainted=[0-9]+ bits: 6 12 13'
GUEST_TIMEOUT=60 PROG_TIMEOUT=15 \
scenario hang-6.12 6.12 hang 1 zz_harness_ioctl \
	'not ok [0-9]+ guest.complete # TIMEOUT guest still running after 60 s'

echo "# harness self-test in $((SECONDS - start)) s; logs in $out/"
echo "$((n - failed)) passed, $failed failed"
((failed == 0))
