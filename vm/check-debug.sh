#!/bin/bash
# vm/check-debug.sh: what `make check-debug` runs.  The whole selftest suite
# (fuzzer and fault injection included) in a guest of the debug kernel of
# vm/debug-kernel.sh (KASAN, KFENCE, kmemleak, lockdep, DEBUG_VM, UBSAN,
# fault injection): any report fails the run (panic_on_warn turns KASAN,
# lockdep and UBSAN reports into a failed guest; kmemleak is scanned before
# the module is unloaded).  KVER picks the sources: 6.12 (the guest series
# "debug"), 6.1 ("debug-6.1"), or both (the default: "6.1 6.12", both
# guests at once as in make check; PARALLEL=0 for one after the other).
# Builds a kernel first if it is not cached (about 21 minutes each on 2
# cores; /var/cache/zcdev).
set -euo pipefail
. "$(dirname "$0")/lib.sh"

"$ROOT/vm/deps.sh"
series=
for k in ${KVER:-6.1 6.12}; do
	case $k in
	6.12|debug) s=debug src=6.12 ;;
	6.1|debug-6.1) s=debug-6.1 src=6.1 ;;
	*) die "check-debug: KVER=$k: 6.1 or 6.12" ;;
	esac
	kdir=$("$ROOT/vm/debug-kernel.sh" "$src")
	mkdir -p "$BUILD/$s"
	echo "$kdir" > "$BUILD/$s/kdir"
	series+="${series:+ }$s"
done
# Everything runs 5-20x slower under KASAN + lockdep + TCG: the whole suite
# took more than 2400 s on a busy machine (zcdev_world was still running).
export KVER=$series LINT=0 HOST_CHECK=0 FRESH=0 DEB=0 CHECK_OUT=${CHECK_OUT:-$BUILD/check-debug}
export GUEST_MEM=${GUEST_MEM:-2048}
export GUEST_TIMEOUT=${GUEST_TIMEOUT:-5400}
export PROG_TIMEOUT=${PROG_TIMEOUT:-2400}
# the selftests' own waits and harness timeouts, 8 times longer (zc_util.h)
export CMDLINE_EXTRA="${CMDLINE_EXTRA:+$CMDLINE_EXTRA }zc.timeout_scale=${ZC_TIMEOUT_SCALE:-8}"
exec "$ROOT/vm/check.sh"
