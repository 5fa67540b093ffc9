#!/bin/bash
# vm/check.sh: what `make check` runs.
#   1. vm/deps.sh (no-op when everything is installed)
#   2. [build] the guest programs and zcdev.ko for each kernel
#   3. [lint]  checkpatch, W=1 + sparse builds      (skipped with LINT=0)
#   4. [6.1] [6.12] a QEMU guest per kernel runs the selftests; meanwhile
#      [host] (libzc, zcsend) runs on the host, and from the start (in full
#      runs) [fresh] (make run on a fresh clone) and [deb] (packages,
#      lintian, DKMS builds and guests)
# Every KTAP result line is printed prefixed with its group (with V=1 every
# line, diagnostics included; else diagnostics only for failures); the last
# line is "N passed, N failed" (", N skipped" when any), counted over every
# ok/not ok line above (nested selftest cases, per-program lines, harness
# checks, lint and build lines).  "# SKIP" results count as skipped, never
# as passed.  Exit status 1 when anything failed or a kernel is missing.
#
# Environment: KVER (6.1, 6.12 or "6.1 6.12"), T, TARGS, LINT=0, V=1,
# HOST_CHECK=0 (skip userlib/tests/host-check.sh), FRESH=0 (skip
# vm/fresh-clone.sh), DEB=0 (skip vm/deb.sh; both run by default only
# without T=),
# BUILD_GUEST=0 (use build/guest as it is),
# PARALLEL=0 (one guest at a time; default: both at once), and
# run-guest.sh's variables (ZC_KO=path/@SERIES@/zcdev.ko: the guests load
# that module, and run even when build/SERIES/mod/zcdev.ko did not build).
# The whole stream is kept in build/check/results.txt (CHECK_OUT= moves
# it), each guest's raw KTAP in build/SERIES/run/results.ktap and its
# console in build/SERIES/run/console.log.
set -uo pipefail
. "$(dirname "$0")/lib.sh"

"$ROOT/vm/deps.sh" || exit 1
"$ROOT/vm/ksft-headers.sh" || exit 1
kvers=$(kvers_selected) || exit 1

out=${CHECK_OUT:-$BUILD/check}
mkdir -p "$out"
all=$out/results.txt
: > "$all"
start=$SECONDS

# emit GROUP: prefix stdin's lines with [GROUP], record them all in $all and
# print them: all with V=1, else the compact view (vm/ktap-compact: result
# lines, plus the diagnostics of failures).
emit() {
	if [[ ${V:-0} == 1 ]]; then
		sed -u "s/^/[$1] /" | tee -a "$all"
	else
		sed -u "s/^/[$1] /" | tee -a "$all" | "$ROOT/vm/ktap-compact"
	fi
}

# [fresh] the quick start's `make run` on a clone of HEAD without build/
# (vm/fresh-clone.sh; FRESH=0 skips it), [deb] the Debian packages, lintian,
# DKMS for each kernel from the packaged source and the packages in a
# guest (vm/deb.sh; DEB=0 skips it): on the host from the start, at nice 5,
# behind the builds, lint and the selftest guests (whose timeouts are the
# tighter ones); their lines are printed after the guests'.  Both are on by
# default when every program runs (no T=): targeted runs stay quick.
# FRESH=1 / DEB=1 force them.
[[ -z ${T:-} ]] && bgdef=1 || bgdef=0
declare -A bgpid=()
if [[ ${FRESH:-$bgdef} != 0 ]]; then
	nice -n 5 "$ROOT/vm/fresh-clone.sh" > "$out/fresh.txt" 2>&1 &
	bgpid[fresh]=$!
fi
if [[ ${DEB:-$bgdef} != 0 ]]; then
	DEB_GUEST=1 KVER="${kvers//$'\n'/ }" nice -n 5 "$ROOT/vm/deb.sh" > "$out/deb.txt" 2>&1 &
	bgpid[deb]=$!
fi

# ---- [build] ------------------------------------------------------------------
n=0
if [[ ${BUILD_GUEST:-1} != 0 ]]; then
	"$ROOT/vm/build-guest.sh" > "$out/build-guest.txt" 2>&1
	emit build < "$out/build-guest.txt"
	n=$(grep -cE '^(not )?ok ' "$out/build-guest.txt")
fi

declare -A have_ko=()
for k in $kvers; do
	n=$((n + 1))
	if ! rel=$(kver_full "$k"); then
		echo "not ok $n build.module.$k # no Debian $k kernel with headers installed (vm/deps.sh)" | emit build
		continue
	fi
	if "$ROOT/vm/build-module.sh" "$k" > /dev/null 2> "$out/build-$k.log"; then
		echo "ok $n build.module.$k # $rel" | emit build
		have_ko[$k]=1
	else
		{ sed 's/^/# /' "$out/build-$k.log"; echo "not ok $n build.module.$k # $rel"; } | emit build
		# ZC_KO names a module of its own: the guest can still run
		# (the failed build above still fails the run)
		ko=${ZC_KO:-}
		[[ -n $ko && -f ${ko//@SERIES@/$k} ]] && have_ko[$k]=1
	fi
done

# ---- [lint] -------------------------------------------------------------------
if [[ ${LINT:-1} != 0 ]]; then
	KVER="$kvers" "$ROOT/vm/lint.sh" 2>&1 | emit lint
fi

# ---- guests -------------------------------------------------------------------
# Both guests run at once by default: on this 2-core machine that measured
# 140-163 s against 250-297 s one after the other (the guests wait a lot).
# The first kernel's results stream live; the others print when it is done.
kernels_to_run=()
for k in $kvers; do
	[[ -n ${have_ko[$k]:-} ]] && kernels_to_run+=("$k")
done
# [host] libzc and zcsend on the host (build, install, pkg-config, man -l,
# the sendfile(2) fallback; never /dev/zcdev), while the guests run.
hostpid=
if [[ ${HOST_CHECK:-1} != 0 ]]; then
	"$ROOT/userlib/tests/host-check.sh" > "$out/host.txt" 2> "$out/host.err" &
	hostpid=$!
fi
declare -A gp=()
for k in "${kernels_to_run[@]}"; do
	: > "$out/guest-$k.txt"
	MODE=check "$ROOT/vm/run-guest.sh" "$k" > "$out/guest-$k.txt" 2>&1 &
	gp[$k]=$!
	# PARALLEL=0: one guest at a time
	if [[ ${PARALLEL:-1} == 0 ]]; then
		tail -n +1 -s 0.3 -f --pid="${gp[$k]}" "$out/guest-$k.txt" | emit "$k"
		wait "${gp[$k]}"
	fi
done
if [[ ${PARALLEL:-1} != 0 ]]; then
	for k in "${kernels_to_run[@]}"; do
		tail -n +1 -s 0.3 -f --pid="${gp[$k]}" "$out/guest-$k.txt" | emit "$k"
		wait "${gp[$k]}"
	done
fi
if [[ -n $hostpid ]]; then
	hostrc=0
	wait "$hostpid" || hostrc=$?
	emit host < "$out/host.txt"
	# a host check that failed without a failing test line, or died before
	# its totals (its tests would vanish from the count), is a failure too
	if { ((hostrc)) && ! grep -q '^not ok' "$out/host.txt"; } ||
	   ! grep -q '^# Totals:' "$out/host.txt"; then
		emit host <<< "not ok 9999 host-check.sh # exit=$hostrc; $(tail -n 3 "$out/host.err" | tr '\n' ' ')"
	fi
fi
# [K-swiotlb] DMA bouncing (issue 13): zcdev_nic's bounce.* cases in a
# guest per kernel booted with swiotlb=force (the NIC reads bounce buffers:
# the oracle sees copies and the report must say ZCDEV_WHY_BOUNCE).  About
# 25 s per kernel; only when zcdev_nic runs.
if [[ -z ${T:-} || ,${T// /,}, == *,zcdev_nic,* ]]; then
	for k in "${kernels_to_run[@]}"; do
		MODE=check T=zcdev_nic TARGS="-f bounce -f vbounce" CMDLINE_EXTRA="${CMDLINE_EXTRA:+$CMDLINE_EXTRA }swiotlb=force" \
			RUN_SUFFIX=-swiotlb "$ROOT/vm/run-guest.sh" "$k" \
			> "$out/guest-$k-swiotlb.txt" 2>&1 || true
		emit "$k-swiotlb" < "$out/guest-$k-swiotlb.txt"
	done
fi
# [K-trace] the device's own view (issue 13): zcdev_nic's trace.* cases in
# a guest per kernel with one e1000e pair whose QEMU logs every transmit
# descriptor (-trace e1000e_tx_descr); vm/nic-trace matches the
# descriptors against the file pages' guest-physical addresses the cases
# print.  About 25 s per kernel; only when zcdev_nic runs.
if [[ -z ${T:-} || ,${T// /,}, == *,zcdev_nic,* ]]; then
	for k in "${kernels_to_run[@]}"; do
		# (not in the run directory: vm/run-guest.sh empties that)
		tf=$BUILD/$k/e1000e-trace.log
		mkdir -p "${tf%/*}"
		rm -f "$tf"	# -trace file= appends
		MODE=check T=zcdev_nic TARGS="-f trace" NICS=1 NIC_MODELS=e1000e \
			QEMU_EXTRA="${QEMU_EXTRA:+$QEMU_EXTRA }-trace enable=e1000e_tx_descr,file=$tf" \
			RUN_SUFFIX=-trace "$ROOT/vm/run-guest.sh" "$k" \
			> "$out/guest-$k-trace.txt" 2>&1 || true
		emit "$k-trace" < "$out/guest-$k-trace.txt"
		"$ROOT/vm/nic-trace" "$tf" "$out/guest-$k-trace.txt" > "$out/nic-trace-$k.txt" 2>&1 || true
		emit "$k-trace" < "$out/nic-trace-$k.txt"
	done
fi
for g in fresh deb; do
	[[ -n ${bgpid[$g]:-} ]] || continue
	wait "${bgpid[$g]}"
	emit "$g" < "$out/$g.txt"
done
# A guest that never got to boot (run-guest.sh died before QEMU) printed no
# verdict of its own: count it as a failure, with what it said.
for k in "${kernels_to_run[@]}"; do
	if ! grep -qE '^(not )?ok [0-9]+ guest\.complete' "$out/guest-$k.txt"; then
		{ sed 's/^/# /' "$out/guest-$k.txt" | tail -n 20
		  echo "not ok 1 guest.complete # the $k guest did not run"; } | emit "$k"
	fi
done

# ---- summary ------------------------------------------------------------------
echo "# check: ${kvers//$'\n'/ } in $((SECONDS - start)) s; all output in $all"
exec "$ROOT/vm/ktap-summary" "$all"
