#!/bin/bash
# bench/exp.sh PATCH|none [zcbench args...]: A/B an engine change in one run.
#
# Builds the module from a copy of Kbuild, kmod/ and uapi/ with PATCH applied
# (bench/experiments/*.patch, or any patch against kmod/ with a/ b/ prefixes;
# "none" = an unchanged copy, the A/A control that shows the noise floor),
# renamed zcdevx with the device /dev/zcdevx, so that it loads next to the
# real zcdev.  Each guest then runs zcbench with the methods
# sendfile,zcdev,zcdevx interleaved, and the table shows "zcdevx" against
# "zcdev" and sendfile(2) from the same repetitions.  Nothing in kmod/ is
# touched; the copies live in build/bench-exp/.
#
# Environment: KVER (default both), BENCH_RUN_SUFFIX (the guest work dir
# build/<kver>/run<x>, default -bench, as in run.sh: another suffix lets it
# run next to a benchmark), and zcbench arguments after PATCH
# (default: --methods sendfile,zcdev,zcdevx --conns 1 --sizes 4K,64K,1M,16M
# --vs zcdev: the table's last ratio column is zcdevx's CPU/byte over zcdev's).
# BENCH_CLOCK as in run.sh (icount by default: deterministic, so a few
# percent are real).
set -uo pipefail
BENCH=$(cd "$(dirname "$0")" && pwd)
. "$BENCH/../vm/lib.sh"
. "$BENCH/lib.sh"

p=${1:?usage: bench/exp.sh PATCH|none [zcbench args]}
shift
if [[ $p != none ]]; then
	[[ -f $p ]] || p=$BENCH/experiments/$p
	[[ -f $p ]] || p=$p.patch
	[[ -f $p ]] || die "no patch $1"
	p=$(cd "$(dirname "$p")" && pwd)/$(basename "$p")
fi
name=$(basename "$p" .patch)
args=("$@")
# shellcheck disable=SC2054 # commas belong to the option values
((${#args[@]})) || args=(--methods sendfile,zcdev,zcdevx --conns 1 --sizes 4K,64K,1M,16M --reps "$(bench_reps quick)" --vs zcdev)

make --no-print-directory -s -C "$BENCH" O="$BUILD/bench" || die "building zcbench failed"
out=$BENCH/results/exp-$name-$(date +%Y%m%d-%H%M%S)
mkdir -p "$out"
cp "$BUILD/bench/zcbench" "$out/zcbench"
rc=0
for k in $(kvers_selected); do
	rel=$(kver_full "$k") || die "no $k kernel"
	dir=$BUILD/bench-exp/$name/$k
	rm -rf "$dir"
	mkdir -p "$dir"
	cp -r "$ROOT/Kbuild" "$ROOT/kmod" "$ROOT/uapi" "$dir/"
	if [[ $p != none ]]; then
		(cd "$dir" && patch -s -p1 < "$p") || die "$name does not apply to kmod/"
	fi
	sed -i 's/^obj-m := zcdev\.o/obj-m := zcdevx.o/; s/^zcdev-y /zcdevx-y /' "$dir/Kbuild"
	sed -i -E 's/(\.name\s*=\s*)ZCDEV_DEVICE_NAME/\1"zcdevx"/' "$dir/kmod/main.c"
	grep -q '"zcdevx"' "$dir/kmod/main.c" || die "could not rename the device in kmod/main.c"
	make -C "/lib/modules/$rel/build" M="$dir" modules > "$dir/build.log" 2>&1 ||
		{ cat "$dir/build.log"; die "building $name for $k failed"; }
	"$ROOT/vm/build-module.sh" "$k" > /dev/null || die "building zcdev.ko for $k failed"
	# the file suite's modules (overlay for its overlay cell)
	# shellcheck disable=SC2046 # a list of module names
	bench_guest_modules "$k" "$BUILD/bench/mods-$k" $(bench_suite_modules file) ||
		die "the file suite's modules are not all available for $k"
	ovl=$BUILD/bench/mods-$k/overlay.ko
	[[ -s $ovl ]] || ovl=
	nodebug=$(bench_cmdline "$k")
	echo "# $k: zcdevx = zcdev + $name"
	MODE=run RUN_SUFFIX=${BENCH_RUN_SUFFIX:--bench} GUEST_TIMEOUT=1500 PROG_TIMEOUT=1400 \
	EXTRA_GUEST_PROGS="$out/zcbench $dir/zcdevx.ko $ovl" CMDLINE_EXTRA="$nodebug" \
	RUNCMD="insmod /selftests/overlay.ko 2> /dev/null; insmod /selftests/zcdevx.ko && /selftests/zcbench --kernel $k --table-only ${args[*]}; rmmod zcdevx" \
		"$ROOT/vm/run-guest.sh" "$k" > "$out/guest-$k.ktap" 2>&1 || rc=1
	sed -n 's/^  //p' "$out/guest-$k.ktap" | tee "$out/$k.txt"
	grep -q '^# zcbench done' "$out/$k.txt" || { rc=1; tail -n 30 "$out/guest-$k.ktap"; }
done
rm -f "$out/zcbench"
echo "# results in ${out#"$ROOT"/}"
exit $rc
