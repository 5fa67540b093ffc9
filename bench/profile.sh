#!/bin/bash
# bench/profile.sh: where the time goes, per method, in a guest (ftrace
# function_graph; perf does not work under TCG).  Boots one guest per kernel
# and runs bench/profile-guest.sh in it; output on stdout and in
# bench/results/profile-<date>/<kver>.txt.
#
#   bench/profile.sh [KVER] [METHODS] [SIZE] [FS] [NET] [DEPTH] [TRANSFERS]
#   defaults:         both   "sendfile zcdev" 1M tmpfs lo 0 64 (depth 0: no limit)
#
# Example: bench/profile.sh 6.12 "sendfile splice zcdev" 4K tmpfs veth 5 512
# BENCH_RUN_SUFFIX: the guest work dir build/<kver>/run<x> (default -bench).
set -uo pipefail
BENCH=$(cd "$(dirname "$0")" && pwd)
. "$BENCH/../vm/lib.sh"
. "$BENCH/lib.sh"

kv=${1:-}
methods=${2:-sendfile zcdev}
size=${3:-1M} fs=${4:-tmpfs} net=${5:-lo} depth=${6:-0} n=${7:-64}
make --no-print-directory -s -C "$BENCH" O="$BUILD/bench" || die "building zcbench failed"
out=$BENCH/results/profile-$(date +%Y%m%d-%H%M%S)
mkdir -p "$out"
for k in $(KVER=$kv kvers_selected); do
	"$ROOT/vm/build-module.sh" "$k" > /dev/null || die "building zcdev.ko for $k failed"
	# shellcheck disable=SC2046 # a list of module names
	bench_guest_modules "$k" "$BUILD/bench/mods-$k" $(bench_suite_modules file) ||
		die "the file suite's modules are not all available for $k"
	ovl=$BUILD/bench/mods-$k/overlay.ko
	[[ -s $ovl ]] || ovl=
	nodebug=$(bench_cmdline "$k")
	echo "# $k: profile $methods $size $fs $net depth $depth, $n transfers"
	MODE=run RUN_SUFFIX=${BENCH_RUN_SUFFIX:--bench} GUEST_TIMEOUT=1500 PROG_TIMEOUT=1400 \
	EXTRA_GUEST_PROGS="$BUILD/bench/zcbench $BENCH/profile-guest.sh $BENCH/fgraph.awk $ovl" \
	CMDLINE_EXTRA="$nodebug" \
	RUNCMD="insmod /selftests/overlay.ko 2> /dev/null; /selftests/profile-guest.sh '$methods' $size $fs $net $depth $n" \
		"$ROOT/vm/run-guest.sh" "$k" > "$out/guest-$k.ktap" 2>&1
	sed -n 's/^  //p' "$out/guest-$k.ktap" | tee "$out/$k.txt"
	grep -q '^ok [0-9]* run' "$out/guest-$k.ktap" || { echo "# guest failed:"; tail -n 30 "$out/guest-$k.ktap"; }
done
echo "# profile in ${out#"$ROOT"/}"
