# shellcheck shell=bash
# Common helpers for the vm/ scripts.  Source it; do not run it.
#
# Conventions:
#   ROOT   the repository (absolute path)
#   BUILD  $ROOT/build (caches, gitignored); override with BUILD=
#   KVER   a short kernel series: 6.1 or 6.12 (or a debug kernel of
#          vm/debug-kernel.sh: debug, built from 6.12's source, or debug-6.1)

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BUILD=${BUILD:-$ROOT/build}
[[ $BUILD = /* ]] || BUILD=$ROOT/$BUILD
# The kernel series a full run covers, in run order.
ZC_KVERS_ALL="6.1 6.12"

die() { echo "error: $*" >&2; exit 1; }
note() { echo "# $*" >&2; }

# is_debug_series SERIES: a debug kernel's (its build tree is named in
# $BUILD/SERIES/kdir by vm/check-debug.sh)
is_debug_series() {
	[[ $1 == debug || $1 == debug-6.1 ]]
}

# kver_full SERIES: the installed Debian kernel release of that series, e.g.
# 6.1 -> 6.1.0-56-amd64, 6.12 -> 6.12.117+deb12-amd64.  A release counts as
# installed when it has both /boot/vmlinuz-<rel> and /lib/modules/<rel>/build
# (the headers).  Never hard-codes an ABI number: the newest match wins.
kver_full() {
	local series=$1 f rel best=
	if is_debug_series "$series"; then
		# a debug kernel of `make check-debug` (vm/debug-kernel.sh)
		[[ -f $BUILD/$series/kdir ]] || return 1
		cat "$(cat "$BUILD/$series/kdir")/include/config/kernel.release"
		return
	fi
	for f in /boot/vmlinuz-"$series".*; do
		[[ -e $f ]] || continue
		rel=${f#/boot/vmlinuz-}
		[[ -d /lib/modules/$rel/build && -d /lib/modules/$rel/kernel ]] || continue
		best+="$rel"$'\n'
	done
	[[ -n $best ]] || return 1
	printf '%s' "$best" | sort -V | tail -n 1
}

# kvers_selected: the series selected by $KVER (default: all), one a line.
kvers_selected() {
	local k
	for k in ${KVER:-$ZC_KVERS_ALL}; do
		case $k in
		6.1|6.12|debug|debug-6.1) echo "$k" ;;
		*) die "KVER=$k: supported series are: $ZC_KVERS_ALL" ;;
		esac
	done
}

# mirror_module_tree DIR: make DIR a Kbuild tree whose sources are symlinks
# to the repository's (Kbuild, kmod/, uapi/), so objects land in DIR and the
# sources stay single.  (The 6.12 Kbuild finds sources via $(obj)/%.c and
# VPATH, so "make M=<builddir> src=<repo>" does not work there; 6.1 would
# accept it.)  Stale links to deleted files are removed.
mirror_module_tree() {
	local dir=$1 f
	mkdir -p "$dir"
	ln -sfn "$ROOT/Kbuild" "$dir/Kbuild"
	ln -sfn "$ROOT/uapi" "$dir/uapi"
	# Remove dangling source links (a file was deleted or renamed).
	[[ -d $dir/kmod ]] && find "$dir/kmod" -xtype l -delete
	(cd "$ROOT" && find kmod -type d) | while read -r f; do
		mkdir -p "$dir/$f"
	done
	(cd "$ROOT" && find kmod -type f \( -name '*.[chS]' -o -name Kbuild -o -name Makefile \)) |
	while read -r f; do
		[[ -L $dir/$f ]] || ln -sfn "$ROOT/$f" "$dir/$f"
	done
}

# unmirror_paths: turn build-mirror paths in compiler output back into
# repository paths, so messages point at the files to edit.
unmirror_paths() {
	sed -E "s#$BUILD/[^/ ]+/(mod|lint)/#$ROOT/#g"
}

# with_lock NAME: hold an exclusive lock (build/.locks/NAME) until the
# calling script exits, so concurrent runs (another terminal, a helper's
# run with RUN_SUFFIX) do not build into the same directory at once.
with_lock() {
	local fd
	mkdir -p "$BUILD/.locks"
	exec {fd}>"$BUILD/.locks/$1"
	flock "$fd"
}

# file_stamp FILES...: a short hash of files' contents (for cache keys).
file_stamp() {
	cat "$@" 2>/dev/null | sha256sum | cut -c1-16
}

# pkg_versions PKGS...: installed versions, for cache keys.
pkg_versions() {
	# (a name that is not installed, e.g. the debug kernel's, adds nothing)
	dpkg-query -W -f='${Package}=${Version}\n' "$@" 2>/dev/null || true
}

# kernel_kdir SERIES: the kernel build directory modules build against.
kernel_kdir() {
	if is_debug_series "$1"; then
		cat "$BUILD/$1/kdir"
	else
		echo "/lib/modules/$(kver_full "$1")/build"
	fi
}

# kernel_image SERIES: the kernel image the guest boots.
kernel_image() {
	if is_debug_series "$1"; then
		echo "$(cat "$BUILD/$1/kdir")/arch/x86/boot/bzImage"
	else
		echo "/boot/vmlinuz-$(kver_full "$1")"
	fi
}
