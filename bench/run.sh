#!/bin/bash
# bench/run.sh [quick|full]: what `make bench` / `make bench-full` run.
#
#   1. installs what is missing (vm/deps.sh; gnuplot-nox for the plots)
#   2. builds zcbench (bench/Makefile, static, libzc linked in) and zcdev.ko
#      for each kernel
#   3. boots a QEMU (TCG) guest of each kernel in turn (vm/run-guest.sh, run
#      mode) that runs zcbench, and streams its table to the terminal
#   4. writes bench/results/<date>-<mode>/: <kver>.csv and all.csv (one line
#      per cell and method), table-<kver>.txt, summary.md (the goal ratios),
#      PNG plots (bench/plot.sh), guest-<kver>.ktap (the raw guest stream)
#   5. bench/results/last -> that folder; with PUBLISH=1 also copies the
#      small outputs to bench/results/latest/ (what BENCHMARKS.md shows)
#
# Environment:
#   KVER="6.1 6.12"      kernels, in run order (default both)
#   ZCBENCH_ARGS="..."   extra zcbench options, e.g. "--sizes 1M --net lo"
#   PUBLISH=1            refresh bench/results/latest/ from this run
#   OUT=dir              results folder instead of bench/results/<date>-<mode>
#   BENCH_RUN_SUFFIX=x   guest work dir build/<kver>/run<x> (default -bench);
#                        another suffix lets two benchmark runs go at once
#   V=1                  also print the CSV lines while the guest runs
#   BENCH_CLOCK=icount   (default) instruction-counted guest time, 1 vCPU:
#                        deterministic; =real: 2 vCPUs, host time (see lib.sh)
# Exit status: 0 when every guest ran zcbench to the end.
set -uo pipefail
BENCH=$(cd "$(dirname "$0")" && pwd)
. "$BENCH/../vm/lib.sh"
. "$BENCH/lib.sh"

mode=${1:-${BENCH_MODE:-quick}}
case $mode in
quick)
	mem=1024 tmpfs_mb=512 guest_timeout=1200
	;;
full)
	# two 1 GiB files (tmpfs + ext4 page cache) and the mappings
	mem=3584 tmpfs_mb=1200 guest_timeout=7200
	;;
*) die "usage: bench/run.sh [quick|full]" ;;
esac

# ---- 1. dependencies -----------------------------------------------------------
"$ROOT/vm/deps.sh" || exit 1
have_gnuplot=1
if ! command -v gnuplot > /dev/null; then
	if [[ $(id -u) == 0 ]]; then
		note "installing gnuplot-nox (for the plots)"
		export DEBIAN_FRONTEND=noninteractive
		apt_opts=(-o DPkg::Lock::Timeout=600 -y -q)
		{ apt-get "${apt_opts[@]}" install --no-install-recommends gnuplot-nox ||
		  { apt-get "${apt_opts[@]}" update &&
		    apt-get "${apt_opts[@]}" install --no-install-recommends gnuplot-nox; }; } >&2 ||
			have_gnuplot=0
	else
		have_gnuplot=0
	fi
	((have_gnuplot)) || note "gnuplot-nox missing and not installable: no plots"
fi

# ---- 2. builds -------------------------------------------------------------------
make --no-print-directory -s -C "$BENCH" O="$BUILD/bench" || die "building zcbench failed"
kvers=$(kvers_selected) || exit 1
for k in $kvers; do
	"$ROOT/vm/build-module.sh" "$k" > /dev/null || die "building zcdev.ko for $k failed"
done

# ---- 3. guests ---------------------------------------------------------------------
stamp=$(date +%Y%m%d-%H%M%S)
out=${OUT:-$BENCH/results/$stamp-$mode}
mkdir -p "$out"
# the binary this run used, so that a rebuild during the run changes nothing
cp "$BUILD/bench/zcbench" "$out/zcbench"
case $BENCH_CLOCK in
icount) clock_note="icount: guest time = emulated instructions (1 ns each), 1 vCPU; deterministic" ;;
real) clock_note="real: guest time follows the host, 2 vCPUs; noisy, read medians and ratios only" ;;
esac
echo "$clock_note" > "$out/CLOCK"
{
	echo "mode: $mode"
	echo "clock: $clock_note"
	echo "date: $(date -u +%Y-%m-%dT%H:%M:%SZ)"
	echo "tree: $(git -C "$ROOT" describe --always --dirty 2> /dev/null || echo unknown)"
	echo "kmod sources: $(cd "$ROOT" && cat Kbuild kmod/*.[ch] uapi/linux/zcdev.h | sha256sum | cut -c1-16)"
	echo "zcbench args: --$mode --reps $(bench_reps "$mode") ${ZCBENCH_ARGS:-}"
	echo "host: $(nproc) cpus, $(qemu-system-x86_64 --version | head -n 1)"
} > "$out/RUN_INFO"
echo "# zcbench $mode: results in ${out#"$ROOT"/}"
echo "# clock $clock_note"
rc=0
start=$SECONDS
for k in $kvers; do
	rel=$(kver_full "$k")
	echo "# booting a $rel guest (QEMU, TCG) for zcbench --$mode ..."
	# The test guests boot with slab debugging and (6.12) KFENCE: right for
	# tests, wrong for timing.  The later parameter wins; check in the table
	# header's calibration line, and console.log for the command line.
	nodebug=$(bench_cmdline "$k")
	t0=$SECONDS
	others=$(bench_other_guests)
	if [[ $BENCH_CLOCK == real && $others != 0 ]]; then
		echo "# note: $others other QEMU guest(s) running on this host: expect noise"
	fi
	: > "$out/guest-$k.ktap"	# before tail -f looks for it
	MODE=run RUN_SUFFIX=${BENCH_RUN_SUFFIX:--bench} GUEST_MEM=$mem GUEST_TIMEOUT=$guest_timeout \
	PROG_TIMEOUT=$((guest_timeout - 60)) EXTRA_GUEST_PROGS="$out/zcbench" \
	CMDLINE_EXTRA="$nodebug" \
	RUNCMD="mount -o remount,size=${tmpfs_mb}m /mnt/tmpfs && /selftests/zcbench --$mode --kernel $k --reps $(bench_reps "$mode") ${ZCBENCH_ARGS:-}" \
		"$ROOT/vm/run-guest.sh" "$k" > "$out/guest-$k.ktap" 2>&1 &
	gpid=$!
	# live view: the guest's table (the CSV only with V=1)
	tail -n +1 -s 0.3 -f --pid=$gpid "$out/guest-$k.ktap" |
		sed -u -n 's/^  //p' |
		if [[ ${V:-0} == 1 ]]; then cat; else grep --line-buffered -v '^zcb,'; fi
	wait $gpid
	grc=$?
	sed -n 's/^  //p' "$out/guest-$k.ktap" | grep '^zcb,' > "$out/$k.csv"
	{
		echo "# clock $clock_note${others:+; other guests on the host at start: $others}"
		sed -n 's/^  //p' "$out/guest-$k.ktap" | grep -v '^zcb,'
	} > "$out/table-$k.txt"
	if ((grc != 0)) || ! grep -q '^# zcbench done' "$out/table-$k.txt"; then
		echo "# zcbench on $k FAILED (guest status $grc); last lines of the guest stream:"
		grep -v '^  zcb,' "$out/guest-$k.ktap" | tail -n 40
		echo "# console: $BUILD/$k/run${BENCH_RUN_SUFFIX:--bench}/console.log"
		rc=1
	fi
	echo "# $k: $((SECONDS - t0)) s"
done

# ---- 4. combined CSV, goals summary, plots -------------------------------------------
first=1
for k in $kvers; do
	[[ -s $out/$k.csv ]] || continue
	if ((first)); then head -n 1 "$out/$k.csv"; first=0; fi
	tail -n +2 "$out/$k.csv"
done > "$out/all.csv"
if [[ -s $out/all.csv ]]; then
	awk -F, -v clock="$clock_note" -v mode="$mode" -f "$BENCH/summary.awk" "$out/all.csv" > "$out/summary.md"
	echo
	cat "$out/summary.md"
	if ((have_gnuplot)); then
		"$BENCH/plot.sh" "$out" || { echo "# plotting failed"; rc=1; }
	fi
fi
rm -f "$out/zcbench"
ln -sfn "$(basename "$out")" "$BENCH/results/last" 2> /dev/null || true

# ---- 5. publish ------------------------------------------------------------------------
if [[ ${PUBLISH:-0} == 1 && $rc == 0 ]]; then
	latest=$BENCH/results/latest
	rm -rf "$latest"
	mkdir -p "$latest"
	cp "$out"/*.csv "$out"/summary.md "$out"/table-*.txt "$out"/CLOCK "$out"/RUN_INFO "$latest/"
	cp "$out"/*.png "$latest/" 2> /dev/null || true
	basename "$out" > "$latest/RUN"
	echo "# published to ${latest#"$ROOT"/}"
fi
echo "# zcbench $mode: $((SECONDS - start)) s; results in ${out#"$ROOT"/}"
exit $rc
