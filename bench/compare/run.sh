#!/bin/sh
# Training throughput of `spikecl train --preset mlp` against the same network in snnTorch and
# in a plain PyTorch loop, on Fashion-MNIST, interleaved A B C A B C ... (BENCHMARKS.md §3).
#
#   bench/compare/run.sh                        # 3 rounds on 12800 images, 2 and 1 threads
#   bench/compare/run.sh --rounds 5 --images 25600
#   bench/compare/run.sh --full spikecl,snntorch   # also one full epoch each, with test accuracy
#   bench/compare/run.sh --configs spikecl,snntorch,torch,spikecl-1t,torch-1t   (see compare.py --help)
#
# Creates bench/compare/.venv first if needed (setup.sh: torch, snntorch, numpy from PyPI,
# about 5.4 GB with torch's CUDA dependencies) and builds build-bench (release). Other
# options go to compare.py (--help). Not run by CI or the test suite.
set -eu

cd "$(dirname "$0")/../.."
BUILD_DIR=${BUILD_DIR:-build-bench}
case "${1:-}" in
-h | --help)
    sed -n '2,12p' "$0" | sed 's/^# \{0,1\}//'
    exit 0
    ;;
esac

bench/compare/setup.sh
if [ ! -d "$BUILD_DIR" ]; then
    echo "+ meson setup $BUILD_DIR --buildtype=release"
    meson setup "$BUILD_DIR" --buildtype=release
fi
echo "+ ninja -C $BUILD_DIR src/spikecl"
ninja -C "$BUILD_DIR" src/spikecl
exec bench/compare/.venv/bin/python bench/compare/compare.py --spikecl "$BUILD_DIR/src/spikecl" "$@"
