#!/bin/bash
# vm/build-module.sh SERIES [make args...]
# Build zcdev.ko for the installed Debian kernel of SERIES (6.1 or 6.12) in
# build/SERIES/mod/ (sources are symlinked, see mirror_module_tree) and print
# the path of the .ko.  Incremental: unchanged sources are not recompiled.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

series=${1:?usage: vm/build-module.sh SERIES [make args]}
shift
rel=$(kver_full "$series") || die "no installed $series kernel with headers (run vm/deps.sh)"
kdir=$(kernel_kdir "$series")
dir=$BUILD/$series/mod
with_lock "module-$series"

# A different kernel release (Debian ABI bump) invalidates the objects.
if [[ -f $BUILD/$series/release && $(cat "$BUILD/$series/release") != "$rel" ]]; then
	rm -rf "${BUILD:?}/$series"
fi
mkdir -p "$BUILD/$series"
echo "$rel" > "$BUILD/$series/release"
mirror_module_tree "$dir"

log=$BUILD/$series/mod.log
if ! make -C "$kdir" M="$dir" "$@" modules > "$log" 2>&1; then
	unmirror_paths < "$log" | grep -v '^make\(\[[0-9]*\]\)\?: \(Entering\|Leaving\)' >&2
	die "zcdev.ko build failed for $rel"
fi
# Show compiler diagnostics even on success (lint fails on them later).
grep -E 'warning:|error:' "$log" | unmirror_paths >&2 || true
echo "$dir/zcdev.ko"
