#!/bin/bash
# vm/run.sh: what `make run` does.  Installs what is missing, builds, boots a
# guest of KVER (default 6.12), loads zcdev.ko and runs the demo (zcdemo,
# vm/demo.c): one file sent over lo, zc0 (veth) and zc1 (veth, sg/csum off)
# by zcdev and by sendfile(2), with bytes, path report and time for each,
# then a zcsend session (zcsend-demo) and zchttpd serving a file to curl
# (zchttpd-demo).  RUNCMD="shell command" runs that instead (same guest
# setup; curl is there too).
set -uo pipefail
. "$(dirname "$0")/lib.sh"

series=${KVER:-6.12}
[[ $series == 6.1 || $series == 6.12 ]] || die "make run: KVER=6.1 or KVER=6.12"
"$ROOT/vm/deps.sh" || exit 1
# (a fresh clone has no build/ yet: make run may be the first command)
mkdir -p "$BUILD"
# (the demo needs zcdemo, zcsend, zchttpd and curl, not the selftests)
GUEST_PARTS="tools zcdemo curl" "$ROOT/vm/build-guest.sh" > "$BUILD/run-build.txt" 2>&1 ||
	grep -q '^ok [0-9]* build.zcdemo' "$BUILD/run-build.txt" ||
	{ cat "$BUILD/run-build.txt"; die "building the demo failed"; }
"$ROOT/vm/build-module.sh" "$series" > /dev/null || exit 1

echo "# booting a $(kver_full "$series") guest (QEMU, TCG)..."
# Show the guest's stream without the KTAP scaffolding; the demo's output
# (a nested subtest) without its indentation.
# The demo: zcdemo (every egress, zcdev against sendfile(2)), then a zcsend
# session (tools/zcsend/zcsend-demo.sh) and a zchttpd one
# (tools/zchttpd/zchttpd-demo.sh; curl from build/guest/run-root).
export RUNCMD=${RUNCMD:-zcdemo && echo && ZCSEND_DEMO_SIZE=8388608 zcsend-demo && echo && zchttpd-demo}
run_root=$BUILD/guest/run-root
[[ -d $run_root ]] || run_root=
MODE=run GUEST_ROOT=$run_root "$ROOT/vm/run-guest.sh" "$series" |
	sed -u -E '/^(KTAP version|1\.\.[0-9]+$|# Subtest:|# ZC-HARNESS-END)/d; s/^  //'
