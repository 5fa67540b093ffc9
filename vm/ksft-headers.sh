#!/bin/bash
# Extract, once, from Debian's linux-source-6.12 tarball:
#   build/ksft/        kselftest_harness.h, kselftest.h (what the selftests
#                      include with -I build/ksft)
#   build/checkpatch/  checkpatch.pl and its data files
# Only the named members are unpacked (not the 1.5 GB tree).  The cache is
# keyed by the tarball's size and mtime, so a new linux-source-6.12 upgrade
# refreshes it.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

TARBALL=${LINUX_SOURCE_TARBALL:-/usr/src/linux-source-6.12.tar.xz}
[[ -r $TARBALL ]] || die "$TARBALL missing: run vm/deps.sh (package linux-source-6.12)"

stamp="$(stat -c '%s %Y' "$TARBALL") v2"
with_lock ksft
if [[ -f $BUILD/ksft/.stamp && $(cat "$BUILD/ksft/.stamp") == "$stamp" &&
      -f $BUILD/checkpatch/.stamp && $(cat "$BUILD/checkpatch/.stamp") == "$stamp" ]]; then
	exit 0
fi

top=$(basename "$TARBALL" .tar.xz)   # linux-source-6.12
mkdir -p "$BUILD"
tmp=$(mktemp -d "$BUILD/.ksft.XXXXXX")
trap 'rm -rf "$tmp"' EXIT

note "extracting kselftest headers and checkpatch from $TARBALL"
start=$SECONDS
# The archive is multi-block xz: decompress on all cores.
tar -C "$tmp" -x -I 'xz -T0' -f "$TARBALL" --wildcards \
	"$top/tools/testing/selftests/kselftest.h" \
	"$top/tools/testing/selftests/kselftest_harness.h" \
	"$top/scripts/checkpatch.pl" \
	"$top/scripts/spelling.txt" \
	"$top/scripts/const_structs.checkpatch"

# kselftest_harness.h includes only "kselftest.h" and libc/asm headers;
# fail loudly if a newer version starts including another local header.
for h in "$tmp/$top"/tools/testing/selftests/kselftest*.h; do
	{ grep -o '^#include "[^"]*"' "$h" || true; } | cut -d'"' -f2 | while read -r inc; do
		[[ -f $tmp/$top/tools/testing/selftests/$inc ]] ||
			die "$(basename "$h") includes \"$inc\", not extracted: update vm/ksft-headers.sh"
	done
done

rm -rf "$BUILD/ksft" "$BUILD/checkpatch"
mkdir -p "$BUILD/ksft" "$BUILD/checkpatch"
cp "$tmp/$top"/tools/testing/selftests/kselftest.h \
   "$tmp/$top"/tools/testing/selftests/kselftest_harness.h "$BUILD/ksft/"
cp "$tmp/$top"/scripts/checkpatch.pl "$tmp/$top"/scripts/spelling.txt \
   "$tmp/$top"/scripts/const_structs.checkpatch "$BUILD/checkpatch/"
chmod +x "$BUILD/checkpatch/checkpatch.pl"
echo "$stamp" > "$BUILD/ksft/.stamp"
echo "$stamp" > "$BUILD/checkpatch/.stamp"
note "extracted in $((SECONDS - start)) s"
