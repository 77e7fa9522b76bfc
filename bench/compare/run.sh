#!/bin/sh
# Training throughput of `spikecl train --preset mlp` against the same network in snnTorch and
# in a plain PyTorch loop, on Fashion-MNIST, interleaved A B C A B C ... (BENCHMARKS.md §3).
#
#   bench/compare/run.sh                        # 3 rounds on 12800 images, 2 and 1 threads
#   bench/compare/run.sh --rounds 5 --images 25600
#   bench/compare/run.sh --full spikecl,snntorch   # also one full epoch each, with test accuracy
#   bench/compare/run.sh --configs spikecl,snntorch,torch,spikecl-1t,torch-1t   (see compare.py --help)
#
# With --lib first: the library comparison (BENCHMARKS.md §1) instead, `spikecl bench --suites lib`
# against snnTorch, Norse, SpikingJelly and a plain PyTorch loop (see lib_compare.py --help):
#   bench/compare/run.sh --lib                              # n = 512, 1024; 3 rounds; 2 threads
#   bench/compare/run.sh --lib --sizes 4096 --rounds 2 --json lib4096.json
#
# Creates bench/compare/.venv first if needed (setup.sh: torch, snntorch, numpy from PyPI,
# about 5.4 GB with torch's CUDA dependencies, then norse and spikingjelly) and builds
# $BUILD_DIR (default build-bench, release). Other options go to compare.py or lib_compare.py
# (--help). Not run by CI or the test suite.
set -eu

cd "$(dirname "$0")/../.."
BUILD_DIR=${BUILD_DIR:-build-bench}
case "${1:-}" in
-h | --help)
    sed -n '2,18p' "$0" | sed 's/^# \{0,1\}//'
    exit 0
    ;;
esac
script=compare.py
if [ "${1:-}" = --lib ]; then
    script=lib_compare.py
    shift
fi

bench/compare/setup.sh
if [ ! -d "$BUILD_DIR" ]; then
    echo "+ meson setup $BUILD_DIR --buildtype=release"
    meson setup "$BUILD_DIR" --buildtype=release
fi
echo "+ ninja -C $BUILD_DIR src/spikecl"
ninja -C "$BUILD_DIR" src/spikecl
exec bench/compare/.venv/bin/python "bench/compare/$script" --spikecl "$BUILD_DIR/src/spikecl" "$@"
