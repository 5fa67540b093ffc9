#!/bin/bash
# vm/fresh-clone.sh: prove the README's quick start on a fresh clone.
# Clones the current commit (HEAD; uncommitted changes are not in it) into
# a temporary directory, which therefore has no build/, and runs there, in
# order, each step of FRESH_STEPS (default "run"):
#   run     make run RUNCMD="$FRESH_RUNCMD"  (boots the 6.12 guest)
#   check   make check KVER=6.12 T=none LINT=0 HOST_CHECK=0 FRESH=0 DEB=0
#           (every step of make check, the guest without programs)
# so `FRESH_STEPS="check run"` and `"run check"` prove either order.
# Prints one KTAP line per step, "ok N fresh.make_run # 93s"; a failing
# step gets the tail of its output as diagnostics.  Each step is bounded by
# FRESH_TIMEOUT seconds (default 600).  FRESH_RUNCMD defaults to one short
# zcsend send instead of the 50 s demo (FRESH_RUNCMD=demo runs make run's
# own default).  FRESH_KEEP=1 keeps the clone (its path is printed).
# Nothing is shared with this tree's build/: the clone builds everything
# (module, guest programs, base initramfs, kselftest headers) from nothing.
set -uo pipefail
. "$(dirname "$0")/lib.sh"

steps=${FRESH_STEPS:-run}
tmo=${FRESH_TIMEOUT:-600}
# One send of 4 MiB over lo with --strict (fails unless zero copy), checked
# byte for byte on the receiving side.
runcmd=${FRESH_RUNCMD:-'head -c 4194304 /dev/urandom > /mnt/tmpfs/f && (nc -l -p 9000 > /mnt/tmpfs/g &) && sleep 1 && zcsend --strict /mnt/tmpfs/f 127.0.0.1:9000 && sleep 1 && cmp /mnt/tmpfs/f /mnt/tmpfs/g && echo fresh: intact'}

tmp=$(mktemp -d "${TMPDIR:-/tmp}/zcdev-fresh.XXXXXX")
if [[ ${FRESH_KEEP:-0} == 1 ]]; then
	echo "# fresh clone kept in $tmp/zcdev"
else
	trap 'rm -rf "$tmp"' EXIT
fi
head=$(git -C "$ROOT" rev-parse HEAD) || die "$ROOT is not a git checkout"
dirty=
[[ -n $(git -C "$ROOT" status --porcelain --untracked-files=no) ]] &&
	dirty=" (uncommitted changes are not in the clone)"
n=0
echo "# fresh clone of ${head:0:12}$dirty in $tmp/zcdev"
if ! git clone -q --no-checkout --no-hardlinks "$ROOT" "$tmp/zcdev" > "$tmp/clone.log" 2>&1 ||
   ! git -C "$tmp/zcdev" checkout -q --detach "$head" >> "$tmp/clone.log" 2>&1; then
	sed 's/^/# /' "$tmp/clone.log"
	echo "not ok 1 fresh.clone"
	exit 1
fi
[[ ! -e $tmp/zcdev/build ]] || { echo "not ok 1 fresh.clone # the clone has a build/"; exit 1; }

rc=0
for s in $steps; do
	n=$((n + 1))
	case $s in
	run)
		if [[ $runcmd == demo ]]; then cmd=(make run); else cmd=(make run RUNCMD="$runcmd"); fi
		;;
	check)
		cmd=(make check KVER=6.12 T=none LINT=0 HOST_CHECK=0 FRESH=0 DEB=0)
		;;
	*) die "FRESH_STEPS: unknown step $s (run, check)" ;;
	esac
	log=$tmp/make-$s.log
	start=$SECONDS
	# (a clean environment for make: none of this run's knobs leak in)
	(cd "$tmp/zcdev" && env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL -u BUILD -u KVER -u T -u TARGS -u RUNCMD -u MODE -u ZC_KO \
		-u CHECK_OUT -u RUN_SUFFIX timeout -k 10 "$tmo" "${cmd[@]}") > "$log" 2>&1
	st=$?
	secs=$((SECONDS - start))
	why=
	if ((st == 124 || st == 137)); then
		why="TIMEOUT after $tmo s"
	elif ((st != 0)); then
		why="exit $st"
	elif grep -qE '^(\[[^]]+\] )? *not ok ' "$log"; then
		why="a result line failed"
	elif ! grep -qE '^(\[[^]]+\] )?ok [0-9]+ guest\.complete' "$log"; then
		why="no guest.complete line"
	elif [[ $s == run && $runcmd != demo ]] && ! grep -q '^fresh: intact' "$log"; then
		why="the send did not report intact"
	fi
	if [[ -z $why ]]; then
		echo "ok $n fresh.make_$s # ${secs}s"
	else
		echo "# ${cmd[*]} (in $tmp/zcdev), last lines:"
		tail -n 30 "$log" | sed 's/^/#   /'
		echo "not ok $n fresh.make_$s # $why (${secs}s)"
		rc=1
	fi
done
exit $rc
