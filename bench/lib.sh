# shellcheck shell=bash
# bench/lib.sh: what run.sh, exp.sh and profile.sh share.  Source it after
# vm/lib.sh (it uses ROOT, BUILD, die).
#
# BENCH_CLOCK chooses how the guest measures time:
#   icount (default)  QEMU -icount shift=0,sleep=off on ONE vCPU: the guest's
#                     clock advances by exactly 1 ns per emulated instruction,
#                     so CPU time and throughput are instruction counts -
#                     deterministic (repetitions agree to ~1%) and immune to
#                     other work on the host.  A cost model: cache misses
#                     and memory bandwidth are not in it.
#   real              the test guests as they are (2 vCPUs, multi-threaded
#                     TCG, the guest clock follows the host's): parallel
#                     sender and receiver, but every figure includes host
#                     contention; only medians of many repetitions mean
#                     anything.
# icount mode passes its QEMU options through vm/run-guest.sh's QEMU_SMP
# and QEMU_EXTRA.
BENCH=${BENCH:-$ROOT/bench}
BENCH_CLOCK=${BENCH_CLOCK:-icount}
case $BENCH_CLOCK in
icount)
	export QEMU_SMP=1 QEMU_EXTRA="-icount shift=0,sleep=off"
	;;
real)
	unset QEMU_SMP QEMU_EXTRA
	;;
*) die "BENCH_CLOCK=$BENCH_CLOCK: icount or real" ;;
esac

# Repetitions per cell: deterministic icount runs need few (BENCH_REPS=n:
# that many, e.g. 1 for a trial run).
bench_reps() { # quick|full
	if [[ -n ${BENCH_REPS:-} ]]; then echo "$BENCH_REPS"
	elif [[ $BENCH_CLOCK == icount ]]; then echo 3
	elif [[ $1 == full ]]; then echo 5
	else echo 7; fi
}

# bench_cmdline SERIES: kernel parameters that undo the test guests' debug
# options (slab debugging, KFENCE), which cost time in allocation-heavy paths
# and so bend the comparison.  The later parameter wins.
bench_cmdline() {
	case $1 in
	6.1) echo "slub_debug=-" ;;
	*) echo "slab_debug=- kfence.sample_interval=0" ;;
	esac
}

# bench_other_guests: how many QEMU processes that are not ours run now
# (noise for BENCH_CLOCK=real).
bench_other_guests() {
	local n=0 pid
	for pid in $(pgrep -x qemu-system-x86 2> /dev/null; pgrep -f '^qemu-system-x86_64 ' 2> /dev/null); do
		tr '\0' ' ' < "/proc/$pid/cmdline" 2> /dev/null | grep -q '/run-bench' || n=$((n + 1))
	done
	echo "$n"
}

# bench_suite_modules SUITE: the kernel modules a bench guest needs for
# SUITE beyond the harness's (vm/initramfs.sh MODULES), in load order:
# the file suite's overlay cell needs overlayfs, the cold suite null_blk
# (and configfs, which null_blk uses).  bench_guest_modules copies them,
# guest.sh (and exp.sh, profile.sh) insmod them from /selftests/.
bench_suite_modules() {
	case $1 in
	file) echo overlay ;;
	cold) echo configfs null_blk ;;
	# (http: tls is in the harness's initramfs)
	esac
}

# bench_guest_modules SERIES DIR MODULE...: the kernel's MODULEs (and what
# they depend on) as plain .ko files in DIR, for EXTRA_GUEST_PROGS: the
# base initramfs carries only the harness's modules.  The guest insmods
# them in dependency order.
bench_guest_modules() {
	local series=$1 dir=$2 rel m kind path _
	shift 2
	rel=$(kver_full "$series") || return 1
	mkdir -p "$dir"
	for m in "$@"; do
		modprobe --show-depends -S "$rel" "$m" > "$dir/.deps" 2> /dev/null || return 1
		while read -r kind path _; do
			[[ $kind == insmod ]] || continue
			local name
			name=$(basename "$path")
			name=${name%.xz}
			name=${name%.zst}
			name=${name%.gz}
			[[ -s $dir/$name && $dir/$name -nt $path ]] && continue
			case $path in
			*.ko.xz) xz -dc "$path" > "$dir/$name" ;;
			*.ko.zst) zstd -qdc "$path" > "$dir/$name" ;;
			*.ko.gz) gzip -dc "$path" > "$dir/$name" ;;
			*.ko) cp "$path" "$dir/$name" ;;
			*) return 1 ;;
			esac || return 1
		done < "$dir/.deps"
	done
	rm -f "$dir/.deps"
}
