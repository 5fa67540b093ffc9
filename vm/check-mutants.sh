#!/bin/bash
# vm/check-mutants.sh (make check-mutants): does the suite catch a module
# that lies?  Each vm/mutants/*.patch is one semantic mistake a real bug
# could make in kmod/ (a false "zero copy", a dropped reason bit, an ignored
# flag, a leaked page reference, a wrong resume point...).  Its header says
# what it is and which selftests must catch it:
#   # mutant: report every batch as zero copy
#   # kill: zcdev_sendfile -f truth
#   # kill: zcdev_stats -f counters
# ("kill:" lines are a program and its kselftest filter options).
#
# For each kernel every mutant is built (a copy of the module tree, the
# patch applied; a patch that no longer applies, or that leaves the module
# unchanged, fails the run), then one guest runs first the unchanged module
# ("baseline": every kill line, all must pass, else a kill proves nothing)
# and then each mutant with its kill lines (vm/mutants/guest-run.sh).  A
# mutant is killed when one of its programs fails, the kernel complains
# (dmesg), the module cannot be unloaded, or the guest dies under it (the
# host then boots another guest for the mutants that are left).  Prints
# KTAP (one line per mutant per kernel), the kill matrix, and "N passed,
# N failed"; exit status 1 when a mutant survived or the baseline failed.
#
# Environment: KVER (default both), M="name ..." (only these mutants; a name
# or its number: M="03 10"),
# MUTANT_TIMEOUT (per program, default 300 s), PARALLEL=0 (one kernel at a
# time).
set -uo pipefail
. "$(dirname "$0")/lib.sh"

"$ROOT/vm/deps.sh" || exit 1
"$ROOT/vm/ksft-headers.sh" || exit 1
kvers=$(kvers_selected) || exit 1
out=$BUILD/mutants
mkdir -p "$out"
start=$SECONDS

patches=()
for p in "$ROOT"/vm/mutants/*.patch; do
	name=$(basename "$p" .patch)
	if [[ -n ${M:-} && " $M " != *" $name "* && " $M " != *" ${name%%-*} "* ]]; then
		continue
	fi
	patches+=("$p")
done
((${#patches[@]})) || die "no mutants selected (vm/mutants/*.patch, M=${M:-})"

# kill lines of a patch: "PROGRAM [ARGS]"
kills() { sed -n 's/^# kill: *//p' "$1"; }
for p in "${patches[@]}"; do
	[[ -n $(kills "$p") ]] || die "$(basename "$p"): no '# kill:' line"
	grep -q '^# mutant: ' "$p" || die "$(basename "$p"): no '# mutant:' line"
done

"$ROOT/vm/build-guest.sh" > "$out/build-guest.txt" 2>&1 ||
	{ cat "$out/build-guest.txt"; die "building the guest programs failed"; }

# ---- build: the baseline and every mutant, per kernel ------------------------
# One copy of the module tree per kernel; each mutant is applied to it and
# undone, so kbuild recompiles only the files the patch touches.
build_mutants() { # series
	local k=$1 kdir src dst p name f
	kdir=$(kernel_kdir "$k")
	src=$BUILD/$k/mutants/src
	dst=$out/$k
	rm -rf "$dst"
	mkdir -p "$src" "$dst"
	"$ROOT/vm/build-module.sh" "$k" > /dev/null || return 1
	cp "$BUILD/$k/mod/zcdev.ko" "$dst/baseline.ko"
	cp -r "$ROOT/uapi" "$ROOT/Kbuild" "$src/"
	mkdir -p "$src/kmod"
	for p in "${patches[@]}"; do
		name=$(basename "$p" .patch)
		# back to the repository's sources (only what differs is copied;
		# only sources: objects of an in-tree build are for some kernel)
		for f in "$ROOT"/kmod/*.[ch]; do
			cmp -s "$f" "$src/kmod/${f##*/}" || cp "$f" "$src/kmod/"
		done
		if ! patch -d "$src" -p1 -s --no-backup-if-mismatch -r - < "$p" > "$dst/$name.patch.log" 2>&1; then
			echo "error: $k: $name does not apply to kmod/:" >&2
			cat "$dst/$name.patch.log" >&2
			return 1
		fi
		if ! make -C "$kdir" M="$src" modules > "$dst/$name.build.log" 2>&1; then
			echo "error: $k: $name does not build:" >&2
			grep -E 'error' "$dst/$name.build.log" | head -n 10 >&2
			return 1
		fi
		cp "$src/zcdev.ko" "$dst/$name.ko"
		if cmp -s "$dst/$name.ko" "$dst/baseline.ko"; then
			echo "error: $k: $name leaves the module unchanged" >&2
			return 1
		fi
	done
}

# ---- one kernel's guests -------------------------------------------------------
# run_kernel SERIES: guests until every module ran; results in $out/SERIES/.
run_kernel() {
	local k=$1 dst=$out/$1 todo=() attempt=0 p name ov log
	todo=(baseline)
	for p in "${patches[@]}"; do todo+=("$(basename "$p" .patch)"); done
	: > "$dst/plan.all"
	for p in "${patches[@]}"; do
		kills "$p" | sed "s/^/$(basename "$p" .patch) /" >> "$dst/plan.all"
	done
	# the baseline runs every kill line once
	kills_all=$(for p in "${patches[@]}"; do kills "$p"; done | sort -u)
	sed "s/^/baseline /" <<< "$kills_all" >> "$dst/plan.all"
	: > "$dst/results.txt"
	while ((${#todo[@]})) && ((attempt < 12)); do
		attempt=$((attempt + 1))
		ov=$dst/overlay-$attempt
		rm -rf "$ov"
		mkdir -p "$ov/mutants"
		install -m 0755 "$ROOT/vm/mutants/guest-run.sh" "$ov/mutants/run.sh"
		printf '%s\n' "${todo[@]}" > "$ov/mutants/order"
		: > "$ov/mutants/plan"
		for name in "${todo[@]}"; do
			grep "^$name " "$dst/plan.all" >> "$ov/mutants/plan"
			cp "$dst/$name.ko" "$ov/mutants/"
		done
		(cd "$ov" && find . -mindepth 1 | LC_ALL=C sort | cpio -o -H newc -R 0:0 --quiet) > "$ov.cpio"
		log=$dst/guest-$attempt.txt
		MODE=run RUNCMD="ZC_MUTANT_TIMEOUT=${MUTANT_TIMEOUT:-300} sh /mutants/run.sh" \
			GUEST_OVERLAY_CPIO="$ov.cpio" RUN_SUFFIX=-mutants \
			PROG_TIMEOUT=3000 GUEST_TIMEOUT=${MUTANTS_GUEST_TIMEOUT:-3300} \
			"$ROOT/vm/run-guest.sh" "$k" > "$log" 2>&1
		cp "$BUILD/$k/run-mutants/console.log" "$dst/console-$attempt.log" 2>/dev/null
		sed -E 's/^ +//' "$log" >> "$dst/results.txt"
		# what is left: the modules after the last one that started
		local left=() seen=
		for name in "${todo[@]}"; do
			if grep -q "^ *# mutant-start $name\$" "$log"; then
				seen=$name
				continue
			fi
			[[ -n $seen || $name == "${todo[0]}" ]] && left+=("$name")
		done
		if [[ -n $seen ]] && ! grep -qE "^ *# mutant-(end|abort) $seen\$" "$log"; then
			echo "not ok 0 $seen.guest # the guest died under it (console-$attempt.log)" >> "$dst/results.txt"
		fi
		if [[ -z $seen ]]; then
			# nothing started: the guest itself failed
			echo "not ok 0 ${todo[0]}.guest # no module started (guest-$attempt.txt)" >> "$dst/results.txt"
			left=("${todo[@]:1}")
		fi
		todo=("${left[@]}")
	done
}

declare -A bpid=() rpid=()
for k in $kvers; do
	build_mutants "$k" > "$out/build-$k.log" 2>&1 &
	bpid[$k]=$!
	# (the kernels build one after the other: 2 cores)
	[[ ${PARALLEL:-1} == 0 ]] || wait "${bpid[$k]}"
done
ok_kernels=()
for k in $kvers; do
	if wait "${bpid[$k]}"; then
		ok_kernels+=("$k")
	else
		cat "$out/build-$k.log"
	fi
done
for k in "${ok_kernels[@]}"; do
	run_kernel "$k" &
	rpid[$k]=$!
	[[ ${PARALLEL:-1} != 0 ]] || wait "${rpid[$k]}"
done
for k in "${ok_kernels[@]}"; do wait "${rpid[$k]}"; done

# ---- verdicts and the kill matrix -----------------------------------------------
nm=${#patches[@]}
nk=$(wc -w <<< "$kvers")
{
echo "KTAP version 1"
echo "1..$(( (nm + 1) * nk ))"
n=0
for k in $kvers; do
	r=$out/$k/results.txt
	n=$((n + 1))
	if [[ ! -f $r ]]; then
		echo "not ok $n mutants.$k.build # see $out/build-$k.log"
		n=$((n + nm))
		continue
	fi
	bad=$(grep -E '^not ok [0-9]+ baseline\.' "$r" | head -n 5)
	if grep -q '^# mutant-end baseline$' "$r" && [[ -z $bad ]]; then
		echo "ok $n mutants.$k.baseline # the unchanged module passes every kill line"
	else
		sed 's/^/# /' <<< "$bad"
		echo "not ok $n mutants.$k.baseline # the unchanged module fails: kills prove nothing"
	fi
	for p in "${patches[@]}"; do
		name=$(basename "$p" .patch)
		n=$((n + 1))
		killers=$(grep -E "^not ok [0-9]+ $name\." "$r" |
			  sed -E "s/^not ok [0-9]+ $name\.([^#]*[^ #]).*/\1/" | paste -sd, -)
		if [[ -n $killers ]]; then
			echo "ok $n mutants.$k.$name # killed by: $killers"
		elif grep -q "^# mutant-end $name\$" "$r"; then
			echo "not ok $n mutants.$k.$name # SURVIVED: $(sed -n 's/^# mutant: //p' "$p")"
		else
			echo "not ok $n mutants.$k.$name # did not run"
		fi
	done
done

# the matrix: a row per mutant, a column per kernel x kill line; K killed
# it, . passed, - not run (the mutant died before), X guest died under it
echo "# kill matrix (K: this line failed under the mutant, .: passed, -: not run; X: the guest or unload died under it)"
for p in "${patches[@]}"; do
	name=$(basename "$p" .patch)
	row=$(printf '%-28s' "$name")
	for k in $kvers; do
		r=$out/$k/results.txt
		cells=
		while read -r line; do
			[[ -n $line ]] || continue
			if grep -qF "not ok" <<< "$(grep -F " $name.$line" "$r" 2>/dev/null | head -n 1)"; then
				cells+=K
			elif grep -qF " $name.$line" "$r" 2>/dev/null; then
				cells+=.
			else
				cells+=-
			fi
		done <<< "$(kills "$p")"
		grep -qE "^not ok [0-9]+ $name\.(guest|unload|dmesg|load)" "$r" 2>/dev/null && cells+=X
		row+=" $k:$cells"
	done
	echo "#   $row  ($(kills "$p" | paste -sd'|' -))"
done
echo "# check-mutants: ${kvers//$'\n'/ }, $nm mutants, in $((SECONDS - start)) s"
} | tee "$out/results.ktap"
exec "$ROOT/vm/ktap-summary" "$out/results.ktap"
