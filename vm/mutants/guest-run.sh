#!/bin/sh
# /mutants/run.sh in a `make check-mutants` guest (vm/check-mutants.sh puts
# it there; vm/init runs it as the guest's one job, MODE=run).  For each
# module named in /mutants/order (its plan lines in /mutants/plan, "NAME
# PROGRAM [ARGS...]"): unload what is loaded, load /mutants/NAME.ko, run its
# programs with their arguments, unload it and look at what the kernel
# logged meanwhile.  Prints, per module:
#   # mutant-start NAME
#   ok|not ok N NAME.PROGRAM[ ARGS] [# exit=.. and the failed cases]
#   ok|not ok N NAME.unload / NAME.dmesg
#   # mutant-end NAME
# A module that cannot be unloaded stops the run ("# mutant-abort NAME"):
# the host boots a new guest for the rest, as it does when the guest
# crashed under a module.
PROG_TIMEOUT=${ZC_MUTANT_TIMEOUT:-150}
BAD_RE='BUG|WARNING|Oops|KFENCE|refcount_t|UBSAN|general protection|kernel BUG'
N=0
res() { # ok|fail NAME [comment]
	N=$((N + 1))
	s=ok
	[ "$1" = ok ] || s="not ok"
	if [ -n "$3" ]; then echo "$s $N $2 # $3"; else echo "$s $N $2"; fi
}
clean_scratch() {
	rm -rf /mnt/tmpfs/* /mnt/tmpfs/.[!.]* 2>/dev/null
	find /mnt/ext4 -mindepth 1 -maxdepth 1 ! -name lost+found -exec rm -rf {} + 2>/dev/null
}
unload() {
	[ -e /sys/module/zcdev ] || return 0
	rmmod zcdev 2> /tmp/.mut-rmmod && [ ! -e /sys/module/zcdev ]
}
load() {
	insmod "$1" 2> /tmp/.mut-insmod || return 1
	i=0
	while [ ! -c /dev/zcdev ] && [ $i -lt 50 ]; do sleep 0.1; i=$((i + 1)); done
	[ -c /dev/zcdev ]
}

echo "1..$(( $(wc -l < /mutants/plan) + 3 * $(wc -l < /mutants/order) ))"
for m in $(cat /mutants/order); do
	echo "# mutant-start $m"
	echo "zc-mutant-start $m" > /dev/kmsg
	if ! unload; then
		res fail "$m.load" "the previous module would not unload"
		echo "# mutant-abort $m"
		exit 1
	fi
	if ! load /mutants/$m.ko; then
		sed 's/^/# /' /tmp/.mut-insmod
		res fail "$m.load" "insmod failed"
	else
		res ok "$m.load"
	fi
	# the programs find the module to reload under this name
	export ZC_MODULE=/mutants/$m.ko
	grep "^$m " /mutants/plan > /tmp/.mut-plan
	while read -r _ prog args; do
		name="$m.$prog${args:+ $args}"
		echo "zc-mutant: $name" > /dev/kmsg
		# shellcheck disable=SC2086 # args are the harness's filter options
		( cd /tmp && timeout -s TERM -k 10 "$PROG_TIMEOUT" /selftests/$prog $args \
			< /dev/null > /tmp/.mut-out 2>&1; echo $? > /tmp/.mut-rc )
		rc=$(cat /tmp/.mut-rc)
		clean_scratch
		[ -e /sys/module/zcdev ] || load "$ZC_MODULE"
		cases=$(grep -E '^ *ok [0-9]+ ' /tmp/.mut-out | grep -vc '# SKIP')
		failed=$(grep -E '^ *not ok [0-9]+ ' /tmp/.mut-out | sed -E 's/^ *not ok [0-9]+ //' |
			 tr '\n' ',' | cut -c1-300)
		if [ "$rc" = 0 ] && [ "$cases" -gt 0 ]; then
			res ok "$name" "$cases cases passed"
		elif [ "$rc" = 0 ]; then
			res fail "$name" "no case passed (all skipped or filtered out)"
		elif [ "$rc" = 124 ] || [ "$rc" = 137 ]; then
			res fail "$name" "TIMEOUT ${PROG_TIMEOUT}s; failed: $failed"
		else
			res fail "$name" "exit=$rc; failed: $failed"
		fi
	done < /tmp/.mut-plan
	if unload; then
		res ok "$m.unload"
	else
		sed 's/^/# /' /tmp/.mut-rmmod
		res fail "$m.unload" "refcnt $(cat /sys/module/zcdev/refcnt 2>/dev/null)"
		echo "# mutant-abort $m"
		exit 1
	fi
	if dmesg | sed -n "/zc-mutant-start $m\$/,\$p" | grep -E "$BAD_RE" > /tmp/.mut-bad; then
		head -n 5 /tmp/.mut-bad | sed 's/^/# /'
		res fail "$m.dmesg" "the kernel complained"
	else
		res ok "$m.dmesg"
	fi
	echo "# mutant-end $m"
done
# leave a module loaded for vm/init's teardown checks
load /zcdev.ko
exit 0
