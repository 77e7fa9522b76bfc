#!/bin/sh
# The 'install' test: install the build into a temporary DESTDIR, then build
# consumer.c outside the tree the way a user would,
#     cc consumer.c $(pkg-config --cflags --libs spikecl)
# and run it (and the installed spikecl command) against the installed library.
#
# usage: run.sh BUILD_ROOT SOURCE_ROOT VERSION B_SANITIZE CC...
# (meson passes these; see tests/install/meson.build)
set -eu

build_root=$1 source_root=$2 version=$3 sanitize=$4
shift 4
[ $# -gt 0 ] || set -- cc

fail() {
    echo "install: FAIL: $*"
    exit 1
}

tmp=$(mktemp -d "${TMPDIR:-/tmp}/spikecl-install.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
trap 'exit 130' INT TERM
dest=$tmp/dest

# --no-rebuild: meson test has just built everything; a nested ninja is not wanted.
meson install --no-rebuild --quiet -C "$build_root" --destdir "$dest" >"$tmp/install.log" 2>&1 ||
    { cat "$tmp/install.log"; fail "meson install"; }

pc=$(find "$dest" -name spikecl.pc | head -n 1)
[ -n "$pc" ] || fail "no spikecl.pc installed"
export PKG_CONFIG_PATH="${pc%/*}"
pkg-config --validate spikecl || fail "pkg-config rejects $pc"
pkg-config --exists --print-errors spikecl || fail "Requires of spikecl.pc are not installed"
[ "$(pkg-config --modversion spikecl)" = "$version" ] ||
    fail "spikecl.pc says version $(pkg-config --modversion spikecl), expected $version"

# spikecl.pc names the real prefix; relocate it into DESTDIR.
prefix=$(pkg-config --variable=prefix spikecl)
reloc="--define-variable=prefix=$dest$prefix"
libdir=$(pkg-config "$reloc" --variable=libdir spikecl) || fail "pkg-config --variable=libdir"
includedir=$(pkg-config "$reloc" --variable=includedir spikecl) || fail "pkg-config --variable=includedir"
flags=$(pkg-config "$reloc" --cflags --libs spikecl) || fail "pkg-config --cflags --libs spikecl"
echo "pkg-config --cflags --libs spikecl: $flags"

# Every public header of the tree, and the generated version.h.
for h in "$source_root"/include/spikecl/*.h version.h; do
    h=${h##*/}
    [ -f "$includedir/spikecl/$h" ] || fail "header spikecl/$h is not installed"
done

# Only the public API is exported.
if command -v nm >/dev/null 2>&1; then
    extra=$(nm -D --defined-only "$libdir/libspikecl.so" | awk 'NF == 3 && $3 !~ /^spk_/ { print $3 }' |
        grep -v '^_\(init\|fini\|edata\|end\|_bss_start\)$' || true)
    [ -z "$extra" ] || fail "libspikecl.so exports symbols outside spk_: $(echo "$extra" | tr "\n" " ")"
fi

san=
[ "$sanitize" = none ] || san="-fsanitize=$sanitize"
# shellcheck disable=SC2086 # word splitting of the compiler and the flags is wanted
"$@" -std=c11 -Wall -Wextra -Werror $san -o "$tmp/consumer" "$source_root/tests/install/consumer.c" $flags ||
    fail "compiling consumer.c against the installed headers and library"

rc=0
LD_LIBRARY_PATH=$libdir "$tmp/consumer" >"$tmp/out.txt" 2>&1 || rc=$?
cat "$tmp/out.txt"
[ $rc -eq 0 ] || fail "consumer exited with status $rc"
grep -qx "library $libdir/libspikecl.so.*" "$tmp/out.txt" || fail "consumer did not load the installed library"
grep -qx "version $version" "$tmp/out.txt" || fail "consumer did not print version $version"
grep -qx "consumer: OK" "$tmp/out.txt" || fail "consumer did not finish"

# The installed command runs against the installed library (no build-tree rpath).
cli=$(find "$dest" -path '*/bin/spikecl' -type f | head -n 1)
[ -n "$cli" ] || fail "the spikecl command was not installed"
cli_version=$(LD_LIBRARY_PATH=$libdir "$cli" --version) || fail "installed spikecl --version"
[ "$cli_version" = "spikecl $version" ] || fail "installed spikecl --version printed '$cli_version'"

echo "install: PASS"
