#!/bin/bash
# bench/run.sh [quick|full]: what `make bench` / `make bench-full` run.
#
#   1. installs what is missing (vm/deps.sh; gnuplot-nox for the plots)
#   2. builds zcbench (bench/Makefile, static, libzc linked in) and zcdev.ko
#      for each kernel
#   3. boots a QEMU (TCG) guest of each kernel in turn (vm/run-guest.sh, run
#      mode) that runs bench/guest.sh: the suites file (zcbench), hdr
#      (zcbench --suite hdr) and cold (zccold on an ext4 on null_blk), and
#      streams their tables to the terminal
#   4. writes bench/results/<date>-<mode>/: <kver>.csv and all.csv (one line
#      per cell and method), hdr-<kver>.csv / hdr.csv and cold-<kver>.csv /
#      cold.csv (the issue 7 suites), nic-<kver>.csv / nic.csv,
#      http-<kver>.csv / http.csv (issue 14), table-<kver>.txt, summary.md
#      (the goal ratios, then the nic, http, hdr and cold summaries), PNG
#      plots (bench/plot.sh),
#      guest-<kver>.ktap (the raw guest stream)
#   5. bench/results/last -> that folder; with PUBLISH=1 also copies the
#      small outputs to bench/results/latest/ (what BENCHMARKS.md shows)
#
# Environment:
#   KVER="6.1 6.12"      kernels, in run order (default both)
#   ZCBENCH_ARGS="..."   extra zcbench options for the file suite, e.g.
#                        "--sizes 1M --net lo"
#   BENCH_SUITES="file hdr cold nic http uring"   the suites, in this order (default
#                        all; nic: the file methods over the guest's e1000e
#                        pair, the guest then boots with NICS=1
#                        NIC_MODELS=e1000e; http: zchttpd against nginx with
#                        wrk, bench/http-guest.sh, the guest's root then has
#                        vm/guest-preload.sh's files; uring: bench/zcuring,
#                        io_uring commands against epoll + sendfile(2), the
#                        ioctl and io_uring splice)
#   BENCH_DISK_LAT="1000000"       cold: null_blk completion latencies, ns
#                        (quick: 1 ms; full: 100 us, 1 ms, 10 ms)
#   BENCH_HDR_ARGS="..."  more zcbench options for the hdr suite ("--trailer 7")
#   BENCH_COLD_ARGS="..." more zccold options ("--retry 200us --cold-clients 4")
#   BENCH_NIC_ARGS="..."  more zcbench options for the nic suite ("--sizes 1M")
#   BENCH_URING_ARGS="..." more zcuring options ("--conns 16 --sizes 4K")
#   BENCH_HTTP_ARGS="..." http-guest.sh options ("--sizes 1M --conns 16
#                        --secs 2"; its header has the quick and full matrix)
#   PUBLISH=1            refresh bench/results/latest/ from this run
#   OUT=dir              results folder instead of bench/results/<date>-<mode>
#   BENCH_RUN_SUFFIX=x   guest work dir build/<kver>/run<x> (default -bench);
#                        another suffix lets two benchmark runs go at once
#   V=1                  also print the CSV lines while the guest runs
#   BENCH_PARALLEL=1     boot the kernels' guests at the same time (each its
#                        own work dir build/<kver>/; no live view, the tables
#                        print as each guest ends).  Under icount the figures
#                        do not change; with BENCH_CLOCK=real they would.
#   BENCH_GUEST_TIMEOUT=s  a guest's wall-clock limit (quick 1800, full 9000):
#                        on a loaded host an icount guest runs many times
#                        slower than on an idle one
#   BENCH_REPS=n         repetitions per cell (default: bench/lib.sh bench_reps)
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
	mem=1024 tmpfs_mb=512 guest_timeout=${BENCH_GUEST_TIMEOUT:-1800}
	lats=${BENCH_DISK_LAT:-1000000}
	;;
full)
	# two 1 GiB files (tmpfs + ext4 page cache) and the mappings
	mem=3584 tmpfs_mb=1200 guest_timeout=${BENCH_GUEST_TIMEOUT:-9000}
	lats=${BENCH_DISK_LAT:-100000 1000000 10000000}
	;;
*) die "usage: bench/run.sh [quick|full]" ;;
esac
suites=${BENCH_SUITES:-file hdr cold nic http uring}
for s in $suites; do
	case $s in file | hdr | cold | nic | http | uring) ;; *) die "BENCH_SUITES: $s? (file hdr cold nic http uring)" ;; esac
done
# the nic suite: one e1000e pair on a QEMU hub (vm/run-guest.sh)
nics=0
[[ " $suites " == *" nic "* ]] && nics=1

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
# the modules the suites need beyond the harness's (bench/lib.sh
# bench_suite_modules: overlay for the file suite, null_blk for cold)
mods=
for s in $suites; do
	mods+=" $(bench_suite_modules "$s")"
done
for k in $kvers; do
	# shellcheck disable=SC2086 # a list of module names
	bench_guest_modules "$k" "$BUILD/bench/mods-$k" $mods ||
		die "modules$mods: not all available for $k"
done
# the http suite: zchttpd (vm/build-guest.sh's tools, always in the guest's
# /usr/bin) and what vm/guest-preload.sh stages in build/guest/root (nginx,
# wrk, curl, strace, the certificate), as an archive over the guest's root
http_cpio=
if [[ " $suites " == *" http "* ]]; then
	GUEST_PARTS="tools preload" "$ROOT/vm/build-guest.sh" > "$BUILD/bench/build-guest.log" 2>&1 ||
		{ cat "$BUILD/bench/build-guest.log"; die "vm/build-guest.sh (tools preload) failed"; }
	http_cpio=$BUILD/bench/http-root.cpio
	(cd "$BUILD/guest/root" && find . -mindepth 1 | LC_ALL=C sort |
		cpio -o -H newc -R 0:0 --quiet) > "$http_cpio" || die "archiving build/guest/root failed"
fi
# the cold suite: an empty ext4 image that the guest writes to its null_blk
# disk
if [[ " $suites " == *" cold "* ]]; then
	# 4 KiB blocks: null_blk has 4 KiB sectors (bs=4096), and mke2fs
	# would pick 1 KiB blocks for a file system this small
	img=$BUILD/bench/zccold.img
	if [[ ! -s $img.gz || $img.gz -ot $BENCH/run.sh ]]; then
		rm -f "$img" "$img.gz"
		truncate -s 128M "$img"
		mkfs.ext4 -q -F -b 4096 -L zccold -E lazy_itable_init=0,lazy_journal_init=0 "$img" ||
			die "mkfs.ext4 failed"
		gzip -1 -f "$img"
	fi
fi

# ---- 3. guests ---------------------------------------------------------------------
stamp=$(date +%Y%m%d-%H%M%S)
out=${OUT:-$BENCH/results/$stamp-$mode}
mkdir -p "$out"
# the binaries this run used, so that a rebuild during the run changes nothing
cp "$BUILD/bench/zcbench" "$BUILD/bench/zccold" "$BUILD/bench/zcidle" "$BUILD/bench/zcuring" "$BENCH/guest.sh" \
	"$BENCH/http-guest.sh" "$out/"
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
	echo "suites: $suites"
	echo "guests: $( ((${BENCH_PARALLEL:-0})) && echo "the kernels at the same time, ")wall-clock limit ${guest_timeout} s"
	echo "zcbench args: --$mode --reps $(bench_reps "$mode") ${ZCBENCH_ARGS:-}"
	echo "hdr args: ${BENCH_HDR_ARGS:-}; cold args: ${BENCH_COLD_ARGS:-}; nic args: ${BENCH_NIC_ARGS:-}; http args: ${BENCH_HTTP_ARGS:-}; uring args: ${BENCH_URING_ARGS:-}"
	[[ " $suites " == *" cold "* ]] && echo "cold: null_blk completion_nsec $lats"
	echo "host: $(nproc) cpus, $(qemu-system-x86_64 --version | head -n 1)"
} > "$out/RUN_INFO"
echo "# zcbench $mode: results in ${out#"$ROOT"/}"
echo "# clock $clock_note"
rc=0
start=$SECONDS
par=${BENCH_PARALLEL:-0}
((par)) && echo "# BENCH_PARALLEL=1: the kernels' guests run at the same time (no live view)"
declare -A gpids=() t0s=() others_at=()
# launch K: boot K's guest in the background (gpids[K])
launch() {
	local k=$1 rel nodebug progs m
	rel=$(kver_full "$k")
	echo "# booting a $rel guest (QEMU, TCG) for zcbench --$mode ..."
	# The test guests boot with slab debugging and (6.12) KFENCE: right for
	# tests, wrong for timing.  The later parameter wins; check in the table
	# header's calibration line, and console.log for the command line.
	nodebug=$(bench_cmdline "$k")
	t0s[$k]=$SECONDS
	others_at[$k]=$(bench_other_guests)
	if [[ $BENCH_CLOCK == real && ${others_at[$k]} != 0 ]]; then
		echo "# note: ${others_at[$k]} other QEMU guest(s) running on this host: expect noise"
	fi
	: > "$out/guest-$k.ktap"	# before tail -f looks for it
	progs="$out/zcbench $out/zccold $out/zcidle $out/zcuring $out/guest.sh $out/http-guest.sh"
	for m in $mods; do
		# (a module the kernel has built in has no file)
		[[ -s $BUILD/bench/mods-$k/$m.ko ]] && progs+=" $BUILD/bench/mods-$k/$m.ko"
	done
	[[ " $suites " == *" cold "* ]] && progs+=" $img.gz"
	NICS=$nics NIC_MODELS=e1000e GUEST_OVERLAY_CPIO=$http_cpio \
	MODE=run RUN_SUFFIX=${BENCH_RUN_SUFFIX:--bench} GUEST_MEM=$mem GUEST_TIMEOUT=$guest_timeout \
	PROG_TIMEOUT=$((guest_timeout - 60)) EXTRA_GUEST_PROGS="$progs" \
	CMDLINE_EXTRA="$nodebug" \
	RUNCMD="/selftests/guest.sh $mode $k $(bench_reps "$mode") $tmpfs_mb '$suites' '$lats' '${BENCH_HDR_ARGS:-}' '${BENCH_COLD_ARGS:-}' '${BENCH_NIC_ARGS:-}' '${BENCH_HTTP_ARGS:-}' '${BENCH_URING_ARGS:-}' ${ZCBENCH_ARGS:-}" \
		"$ROOT/vm/run-guest.sh" "$k" > "$out/guest-$k.ktap" 2>&1 &
	gpids[$k]=$!
}
# collect K STATUS: K's CSVs and table from its guest stream, and whether
# every suite finished
collect() {
	local k=$1 grc=$2 f s want got missing='' others=${others_at[$1]}
	sed -n 's/^  //p' "$out/guest-$k.ktap" | grep '^zcb,' > "$out/$k.csv"
	sed -n 's/^  //p' "$out/guest-$k.ktap" | grep '^zch,' > "$out/hdr-$k.csv"
	sed -n 's/^  //p' "$out/guest-$k.ktap" | grep '^zcc,' > "$out/cold-$k.csv"
	sed -n 's/^  //p' "$out/guest-$k.ktap" | grep '^zcn,' > "$out/nic-$k.csv"
	sed -n 's/^  //p' "$out/guest-$k.ktap" | grep '^zcw,' > "$out/http-$k.csv"
	sed -n 's/^  //p' "$out/guest-$k.ktap" | grep '^zcu,' > "$out/uring-$k.csv"
	for f in "$out/$k.csv" "$out/hdr-$k.csv" "$out/cold-$k.csv" "$out/nic-$k.csv" "$out/http-$k.csv" "$out/uring-$k.csv"; do
		[[ -s $f ]] || rm -f "$f"
	done
	{
		echo "# clock $clock_note${others:+; other guests on the host at start: $others}"
		sed -n 's/^  //p' "$out/guest-$k.ktap" | grep -v -E '^zc[bhcnwu],'
	} > "$out/table-$k.txt"
	for s in $suites; do
		# cold: one "done" per disk latency
		want=1
		[[ $s == cold ]] && want=$(wc -w <<< "$lats")
		got=$(grep -c "^# zcbench done .*(suite $s)" "$out/table-$k.txt")
		((got >= want)) || missing+=" $s"
	done
	if ((grc != 0)) || [[ $missing ]]; then
		[[ $missing ]] && echo "# suites that did not finish on $k:$missing"
		echo "# zcbench on $k FAILED (guest status $grc); last lines of the guest stream:"
		grep -v '^  zcb,' "$out/guest-$k.ktap" | tail -n 40
		echo "# console: $BUILD/$k/run${BENCH_RUN_SUFFIX:--bench}/console.log"
		rc=1
	fi
	echo "# $k: $((SECONDS - ${t0s[$k]})) s"
}
if ((par)); then
	for k in $kvers; do
		launch "$k"
	done
	for k in $kvers; do
		wait "${gpids[$k]}"
		grc=$?
		sed -n 's/^  //p' "$out/guest-$k.ktap" | grep -v -E '^zc[bhcnwu],'
		collect "$k" $grc
	done
else
	for k in $kvers; do
		launch "$k"
		# live view: the guest's table (the CSV only with V=1)
		tail -n +1 -s 0.3 -f --pid="${gpids[$k]}" "$out/guest-$k.ktap" |
			sed -u -n 's/^  //p' |
			if [[ ${V:-0} == 1 ]]; then cat; else grep --line-buffered -v -E '^zc[bhcnwu],'; fi
		wait "${gpids[$k]}"
		grc=$?
		collect "$k" $grc
	done
fi

# ---- 4. combined CSV, goals summary, plots -------------------------------------------
# combine PREFIX OUT: the kernels' CSVs, one header
combine() {
	local first=1 k f
	for k in $kvers; do
		f=$out/$1$k.csv
		[[ -s $f ]] || continue
		if ((first)); then head -n 1 "$f"; first=0; fi
		# (zccold prints its header once per disk latency)
		tail -n +2 "$f" | grep -v ',kernel,'
	done > "$out/$2"
	[[ -s $out/$2 ]] || rm -f "$out/$2"
}
combine "" all.csv
combine hdr- hdr.csv
combine cold- cold.csv
combine nic- nic.csv
combine http- http.csv
combine uring- uring.csv
: > "$out/summary.md"
if [[ -s $out/all.csv ]]; then
	awk -F, -v clock="$clock_note" -v mode="$mode" -f "$BENCH/summary.awk" "$out/all.csv" >> "$out/summary.md"
fi
if [[ -s $out/nic.csv ]]; then
	awk -F, -f "$BENCH/summary-nic.awk" "$out/nic.csv" >> "$out/summary.md"
fi
if [[ -s $out/http.csv ]]; then
	awk -F, -v clock="$clock_note" -v mode="$mode" -f "$BENCH/summary-http.awk" "$out/http.csv" >> "$out/summary.md"
fi
if [[ -s $out/uring.csv ]]; then
	awk -F, -f "$BENCH/summary-uring.awk" "$out/uring.csv" >> "$out/summary.md"
fi
csv7=()
for f in "$out/hdr.csv" "$out/cold.csv"; do
	[[ -s $f ]] && csv7+=("$f")
done
if ((${#csv7[@]})); then
	awk -F, -f "$BENCH/summary7.awk" "${csv7[@]}" >> "$out/summary.md"
fi
echo
cat "$out/summary.md"
if ((have_gnuplot)) && [[ -s $out/all.csv || -s $out/hdr.csv || -s $out/http.csv ]]; then
	"$BENCH/plot.sh" "$out" || { echo "# plotting failed"; rc=1; }
fi
rm -f "$out/zcbench" "$out/zccold" "$out/zcidle" "$out/zcuring" "$out/guest.sh" "$out/http-guest.sh"
# results/last: relative inside results/, absolute for an OUT= elsewhere
if [[ $(realpath "$(dirname "$out")") == "$(realpath "$BENCH/results")" ]]; then
	ln -sfn "$(basename "$out")" "$BENCH/results/last" 2> /dev/null || true
else
	ln -sfn "$(realpath "$out")" "$BENCH/results/last" 2> /dev/null || true
fi

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
