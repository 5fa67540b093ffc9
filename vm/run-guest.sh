#!/bin/bash
# vm/run-guest.sh SERIES
# Boot a TCG QEMU guest of the installed Debian SERIES (6.1/6.12) kernel
# with the base initramfs + this run's payload (vm/init, zcdev.ko, the
# guest programs), stream its KTAP results (second serial port) to stdout,
# and append the host's own verdict, "ok|not ok N guest.complete".
# Exit status: 0 when every result line is ok (skips included) and the
# guest finished; 1 otherwise.
#
# Environment:
#   MODE=check|run     what the guest does (default check)
#   T="a b" or "a,b"   check: only these programs
#   TARGS="..."        extra arguments for each program
#   T=none             check: no programs (only the harness's own checks)
#   ZC_KO=path         module to load instead of build/SERIES/mod/zcdev.ko
#                      (@SERIES@ in it is replaced by SERIES)
#   EXTRA_GUEST_PROGS  more executables for the guest's /selftests/
#   GUEST_ROOT=dir     a directory copied over the guest's / in either mode
#                      (vm/run.sh: build/guest/run-root, curl for zchttpd-demo)
#   GUEST_OVERLAY_CPIO a newc archive unpacked over the guest's root after
#                      the payload (vm/deb.sh: the packages' files)
#   GUEST_TIMEOUT=s    wall-clock limit of the whole guest (default 1800:
#                      the check suite takes about 7 min on a quiet machine,
#                      several times that when other guests load it)
#   PROG_TIMEOUT=s     per-program limit inside the guest (default 600: the
#                      longest program, zchttpd, takes 185-235 s on a loaded
#                      host; the limit only catches a hang)
#   GUEST_MEM=MiB      guest memory (default 1024)
#   GUEST_DISK_MB=MiB  size of the ext4 disk (sparse, default 2048)
#   RUN_SUFFIX=x       use build/SERIES/runx (for concurrent runs)
#   CMDLINE_EXTRA=...  appended to the kernel command line
#   QEMU_SMP=n         guest vCPUs (default 2)
#   QEMU_EXTRA="..."   more QEMU options, split at spaces (bench/lib.sh:
#                      "-icount shift=0,sleep=off" for its icount clock)
#   NICS=1|0           NIC pairs (default: 1 when T names zcdev_nic or
#                      is empty): e1000e, e1000, rtl8139 (8139cp),
#                      ne2k_pci and virtio-net-pci without and with
#                      iommu_platform, two of each back to back on their own
#                      QEMU hub; vm/init moves side B into netns nic<hub>
#   NIC_MODELS="..."   with NICS=1, the QEMU models of the pairs, hub 1 first
#                      (default "e1000e e1000 rtl8139 ne2k_pci virtio-net-pci
#                      virtio-net-pci,iommu_platform=on,disable-legacy=on";
#                      bench/run.sh's nic suite: "e1000e")
#   V=1                also copy the guest console to stderr
# Files: build/SERIES/run/{console.log,results.ktap,initrd.cpio,ext4.img}
set -euo pipefail
. "$(dirname "$0")/lib.sh"

series=${1:?usage: vm/run-guest.sh SERIES}
rel=$(kver_full "$series") || die "no installed $series kernel (run vm/deps.sh)"
MODE=${MODE:-check}
GUEST_TIMEOUT=${GUEST_TIMEOUT:-1800}
PROG_TIMEOUT=${PROG_TIMEOUT:-600}
GUEST_MEM=${GUEST_MEM:-1024}
ko=${ZC_KO:-$BUILD/$series/mod/zcdev.ko}
ko=${ko//@SERIES@/$series}
[[ -f $ko ]] || die "$ko missing (vm/build-module.sh $series)"

run=$BUILD/$series/run${RUN_SUFFIX:-}
with_lock "run-$series${RUN_SUFFIX:-}"
rm -rf "$run"
mkdir -p "$run/payload"/{selftests,usr/bin}
base=$("$ROOT/vm/initramfs.sh" "$series")

# ---- payload: /init, /zcdev.ko, programs -----------------------------------
p=$run/payload
install -m 0755 "$ROOT/vm/init" "$p/init"
install -m 0644 "$ko" "$p/zcdev.ko"
# (under the lock of vm/build-guest.sh: not while it rebuilds them)
mkdir -p "$BUILD/.locks"
(
	flock 9
	for f in "$BUILD"/guest/selftests/*; do
		if [[ -f $f && -x $f ]]; then install -m 0755 "$f" "$p/selftests/"; fi
	done
	for f in "$BUILD"/guest/bin/*; do
		if [[ -f $f && -x $f ]]; then install -m 0755 "$f" "$p/usr/bin/"; fi
	done
	# libzc-preload.so, nginx, curl and their libraries (vm/guest-preload.sh):
	# 19 MiB that cost a guest ~15 s under TCG, so only for the libzc_preload*
	# programs, zchttpd and zcdev_world (its NFS server) (all of them when T
	# is not given)
	if [[ -d $BUILD/guest/root && $MODE == check ]] &&
	   [[ -z ${T:-} || ,${T// /,}, == *,libzc_preload* || ,${T// /,}, == *,zchttpd,* ||
	      ,${T// /,}, == *,zcdev_world,* ]]; then
		cp -a "$BUILD/guest/root/." "$p/"
	fi
	if [[ -n ${GUEST_ROOT:-} ]]; then
		[[ -d $GUEST_ROOT ]] || die "GUEST_ROOT=$GUEST_ROOT: no such directory"
		cp -a "$GUEST_ROOT/." "$p/"
	fi
) 9> "$BUILD/.locks/guest"
for f in ${EXTRA_GUEST_PROGS:-}; do
	install -m 0755 "$f" "$p/selftests/"
done
tests=$(echo "${T:-}" | tr ', ' '\n\n' | sed '/^$/d' | tr '\n' ',' | sed 's/,$//')
if [[ $MODE == check ]]; then
	for t in ${tests//,/ }; do
		[[ -x $p/selftests/$t || $t == none ]] && continue
		die "T=$t: no such program; built: $(ls "$p/selftests" | tr '\n' ' ')"
	done
fi
(cd "$p" && find . -mindepth 1 | LC_ALL=C sort | cpio -o -H newc -R 0:0 --quiet) > "$run/payload.cpio"
cat "$base" "$run/payload.cpio" ${GUEST_OVERLAY_CPIO:+"$GUEST_OVERLAY_CPIO"} > "$run/initrd.cpio"

# ---- a clean ext4 disk for every run -----------------------------------------
# 2 GiB sparse (only what the guest writes takes space): larger than the
# guest's memory, for tests that need a file that cannot all be cached.
truncate -s "${GUEST_DISK_MB:-2048}M" "$run/ext4.img"
mkfs.ext4 -q -F -L zcext4 -E lazy_itable_init=0,lazy_journal_init=0 "$run/ext4.img"
# and a small one that no test needs intact (zcdev_world shutdown.*
# shuts its file system down); the guest finds each by its serial
truncate -s 32M "$run/spare.img"
mkfs.ext4 -q -F -L zcspare -E lazy_itable_init=0,lazy_journal_init=0 "$run/spare.img"

# ---- kernel command line -----------------------------------------------------
cmdline="console=ttyS0 panic_on_warn=1 oops=panic panic=-1 softlockup_panic=1 hung_task_panic=1"
case $series in
6.1) cmdline+=" slub_debug=FZPU" ;;
# KASAN, lockdep, kmemleak, DEBUG_VM...: vm/debug.config
debug|debug-6.1) cmdline+=" kfence.sample_interval=100 zc.kmemleak=1" ;;
*) cmdline+=" slab_debug=FZPU kfence.sample_interval=100" ;;
esac
# No PS/2 probing; a quiet boot (every message reaches the console once
# vm/init loads the module; the full log is in dmesg).  mitigations=off
# and a gzip'd initramfs were measured: no difference under TCG.
cmdline+=" i8042.noaux i8042.nokbd i8042.nopnp loglevel=4"
cmdline+=" zc.mode=$MODE zc.timeout=$PROG_TIMEOUT"
[[ -n $tests ]] && cmdline+=" zc.tests=$tests"
[[ -n ${TARGS:-} ]] && cmdline+=" zc.targs=$(printf '%s' "$TARGS" | base64 -w0)"
[[ -n ${RUNCMD:-} ]] && cmdline+=" zc.run=$(printf '%s' "$RUNCMD" | base64 -w0)"
# NIC pairs: only for the programs that use them (each pair costs the
# boot several seconds under TCG).  iomem=relaxed: zcdev_nic maps BAR0
# of e1000/e1000e through sysfs to pause their transmit DMA.
if [[ -z ${NICS:-} ]]; then
	NICS=0
	if [[ $MODE == check ]] && [[ -z $tests || ,$tests, == *,zcdev_nic,* ]]; then
		NICS=1
	fi
fi
# (the two virtio-net pairs: without and with VIRTIO_F_ACCESS_PLATFORM)
read -r -a nic_models <<< "${NIC_MODELS:-e1000e e1000 rtl8139 ne2k_pci virtio-net-pci virtio-net-pci,iommu_platform=on,disable-legacy=on}"
nic_opts=()
if [[ $NICS == 1 ]]; then
	cmdline+=" iomem=relaxed zc.nics=${#nic_models[@]}"
	for i in "${!nic_models[@]}"; do
		h=$((i + 1))
		for side in a b; do
			mac=52:54:00:12:0$h:0$([[ $side == a ]] && echo a || echo b)
			nic_opts+=(-netdev "hubport,id=$side$h,hubid=$h"
				-device "${nic_models[$i]},netdev=$side$h,mac=$mac")
		done
	done
fi
[[ -n ${CMDLINE_EXTRA:-} ]] && cmdline+=" $CMDLINE_EXTRA"

console=$run/console.log
results=$run/results.ktap
: > "$console"
: > "$results"

# shellcheck disable=SC2054 # commas belong to qemu option values
qemu=(qemu-system-x86_64
	-machine "${QEMU_MACHINE:-q35},accel=tcg" -cpu max -smp "${QEMU_SMP:-2}" -m "$GUEST_MEM"
	-nodefaults -display none -vga none -no-reboot -nic none
	-monitor none
	-serial "file:$console"
	-serial "file:$results"
	-kernel "$(kernel_image "$series")" -initrd "$run/initrd.cpio"
	-append "$cmdline"
	-drive "if=none,id=ext4,file=$run/ext4.img,format=raw,cache=unsafe"
	-device virtio-blk-pci,drive=ext4,serial=zcext4
	-drive "if=none,id=spare,file=$run/spare.img,format=raw,cache=unsafe"
	-device virtio-blk-pci,drive=spare,serial=zcspare
)
# shellcheck disable=SC2206 # QEMU_EXTRA is a list of options
qemu+=(${QEMU_EXTRA:-})
qemu+=("${nic_opts[@]}")
echo "${qemu[*]}" > "$run/qemu.cmd"

start=$SECONDS
boot_retried=
while :; do
	# --foreground: timeout stays in our process group, so a kill of the
	# group (a CI job or ^C ending make check) reaches QEMU too; without it
	# timeout makes a group of its own and the guest ran on, orphaned.
	timeout --foreground -k 5 "$GUEST_TIMEOUT" "${qemu[@]}" < /dev/null > "$run/qemu.out" 2>&1 &
	qpid=$!
	# Stream results (and, with V=1, the console) while the guest runs.
	tail -n +1 -s 0.2 -f --pid=$qpid "$results" &
	tpid=$!
	if [[ ${V:-0} == 1 ]]; then
		tail -n +1 -s 0.2 -f --pid=$qpid "$console" >&2 &
	fi
	set +e
	wait $qpid
	qrc=$?
	wait $tpid
	set -e
	# A kernel that panics while it boots, before /init wrote a single
	# line (no module loaded, no test run), is the emulator's problem,
	# not ours: under TCG on a loaded host stock kernels occasionally
	# die in early boot (an int3 in text patching, "IO-APIC + timer
	# doesn't work").  Boot once more, and say so.
	if [[ -z $boot_retried && ! -s $results ]] && ((qrc != 124 && qrc != 137)) &&
	   grep -q 'Kernel panic' "$console"; then
		boot_retried=1
		cp "$console" "$run/console-boot-failure.log"
		echo "# the guest kernel panicked before /init ($(grep -m1 -o 'Kernel panic.*' "$console" | tr -d '\r')): booting once more; its console is in $run/console-boot-failure.log"
		: > "$console"
		continue
	fi
	break
done
secs=$((SECONDS - start))

# ---- the host's verdict --------------------------------------------------------
# the same pattern vm/init scans dmesg with
BAD_RE='BUG|WARNING|Oops|KFENCE|refcount_t|UBSAN|Call Trace|general protection|kernel BUG|Kernel panic'
BAD_RE=${BAD_RE//Call Trace|/}   # every splat has one: not informative here
last=$(grep -oE '^(not )?ok [0-9]+' "$results" | awk '{ print $NF }' | tail -n 1 || true)
n=$(( ${last:-0} + 1 ))
reason=
if ! grep -q '^# ZC-HARNESS-END' "$results"; then
	if ((qrc == 124 || qrc == 137)); then
		reason="TIMEOUT guest still running after $GUEST_TIMEOUT s"
	elif grep -q 'Kernel panic' "$console"; then
		reason="kernel panic: $(grep -m1 -o 'Kernel panic.*' "$console" | tr -d '\r')"
	elif ((qrc != 0)); then
		reason="qemu exited with status $qrc: $(tr '\n' ' ' < "$run/qemu.out" | cut -c1-200)"
	else
		reason="guest stopped without the end marker"
	fi
fi
if [[ -z $reason ]]; then
	echo "ok $n guest.complete # ${secs}s"
else
	# diagnostics first: KTAP puts them before the result they explain.
	# The lines that name the problem (a WARN's first line scrolls out of
	# the tail behind the panic's stack dumps), then the tail.
	if grep -qE "$BAD_RE" "$console"; then
		echo "# console lines matching /$BAD_RE/ (first 20):"
		grep -E "$BAD_RE" "$console" | head -n 20 | tr -d '\r' | sed 's/^/#   /'
	fi
	echo "# last console lines ($console):"
	tail -n 60 "$console" | tr -d '\r' | sed 's/^/#   /'
	echo "not ok $n guest.complete # $reason (${secs}s)"
fi

if [[ -n $reason ]] || grep -qE '^\s*not ok ' "$results"; then
	exit 1
fi
exit 0
