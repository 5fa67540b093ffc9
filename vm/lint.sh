#!/bin/bash
# vm/lint.sh: static checks of the module, as KTAP result lines:
#   lint.checkpatch           checkpatch.pl --strict over kmod/ and uapi/
#   lint.build.<series>       W=1 build + sparse (C=2) against each kernel
#                             (KVER= selects), any compiler or sparse
#                             warning is a failure
#   lint.tailcall.<series>    the NOTIFY completion (zc_notif_complete())
#                             queues its work by a tail call: no module text
#                             runs after the last reference may be gone
#                             (vm/tailcall.awk on that build's zcdev.o)
# The offending output is shown as "# " lines before a "not ok".
# Exit status 1 if anything failed.
#
# checkpatch: Debian's linux-source-6.12 scripts/checkpatch.pl with
# --no-tree (no kernel tree here) on whole files (-f).  uapi/linux/*.h is
# checked under its in-tree name include/uapi/linux/*.h, so checkpatch
# applies its rules for uapi headers (e.g. no BIT(): userspace lacks it)
# exactly as it would in the kernel.  Nothing is --ignore'd.
set -uo pipefail
. "$(dirname "$0")/lib.sh"

"$ROOT/vm/ksft-headers.sh" || exit 1
n=${KTAP_START:-0}
rc=0
result() { # ok|fail name [log]
	n=$((n + 1))
	if [[ $1 == ok ]]; then
		echo "ok $n $2"
	else
		[[ -n ${3:-} && -s $3 ]] && sed 's/^/# /' "$3"
		echo "not ok $n $2"
		rc=1
	fi
}

# ---- checkpatch ------------------------------------------------------------
cp_dir=$BUILD/checkpatch/tree
mkdir -p "$cp_dir/include"
ln -sfn "$ROOT/kmod" "$cp_dir/kmod"
ln -sfn "$ROOT/uapi" "$cp_dir/include/uapi"
cp_log=$BUILD/checkpatch/checkpatch.log
files=()
for f in "$ROOT"/kmod/*.[ch]; do [[ -f $f ]] && files+=("kmod/${f##*/}"); done
for f in "$ROOT"/uapi/linux/*.h; do [[ -f $f ]] && files+=("include/uapi/linux/${f##*/}"); done
(cd "$cp_dir" && "$BUILD/checkpatch/checkpatch.pl" --strict --no-tree --show-types \
	--color=never --no-summary -q -f "${files[@]}") > "$cp_log" 2>&1
st=$?
sed -i 's#include/uapi/linux/#uapi/linux/#g' "$cp_log"
if ((st == 0)) && ! grep -qE '^(ERROR|WARNING|CHECK)' "$cp_log"; then
	result ok lint.checkpatch
else
	result fail lint.checkpatch "$cp_log"
fi

# ---- W=1 + sparse, per kernel ----------------------------------------------
# One build per kernel with W=1 and C=2 (sparse on every file); a CHECK
# wrapper tags sparse's output so both can be told apart in the log.  The
# objects are removed first so warnings are printed on every run.
lint_kernel() {
	local series=$1 rel dir log
	rel=$(kver_full "$series") || { echo "no installed $series kernel" > "$BUILD/lint-$series.log"; return 1; }
	dir=$BUILD/$series/lint
	log=$BUILD/$series/lint.log
	with_lock "lint-$series"
	mirror_module_tree "$dir"
	find "$dir" -name '*.o' -delete
	make -C "/lib/modules/$rel/build" M="$dir" W=1 C=2 CHECK="$ROOT/vm/sparse-tagged" \
		modules > "$log.raw" 2>&1
	local st=$?
	unmirror_paths < "$log.raw" |
		grep -vE '^make(\[[0-9]+\])?: (Entering|Leaving)|^  (CC|LD|CHECK|MODPOST|BTF)|Skipping BTF' \
		> "$log"
	((st == 0)) && ! grep -qE 'warning:|error:|^sparse: ' "$log"
}

declare -A pids=()
for k in $(kvers_selected); do
	mkdir -p "$BUILD/$k"
	lint_kernel "$k" &
	pids[$k]=$!
done
for k in $(kvers_selected); do
	if wait "${pids[$k]}"; then
		result ok "lint.build.$k"
	else
		log=$BUILD/$k/lint.log
		[[ -f $log ]] || log=$BUILD/lint-$k.log
		result fail "lint.build.$k" "$log"
	fi
	log=$BUILD/$k/tailcall.log
	if objdump -dr --no-show-raw-insn "$BUILD/$k/lint/zcdev.o" 2>&1 |
		awk -v fn=zc_notif_complete -f "$ROOT/vm/tailcall.awk" > "$log" 2>&1; then
		result ok "lint.tailcall.$k"
	else
		result fail "lint.tailcall.$k" "$log"
	fi
done
exit $rc
