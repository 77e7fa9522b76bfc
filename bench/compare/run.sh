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
# With --sparse first: the sparse-input comparison (BENCHMARKS.md §2), one training step of
# `spikecl bench --suites sparse --sparse-input shared` against the same network in the same
# peers (see sparse_compare.py --help):
#   bench/compare/run.sh --sparse                           # inputs 128, 700; p 0.01, 0.05, 0.2
#   bench/compare/run.sh --sparse --inputs 128 --rounds 2 --libs spikecl,snntorch,torch
#   SPIKECL=/path/to/spikecl VENV=/path/to/.venv bench/compare/run.sh --sparse --hidden 512
#
# Creates bench/compare/.venv first if needed (setup.sh: torch, snntorch, numpy from PyPI,
# about 5.4 GB with torch's CUDA dependencies, then norse and spikingjelly) and builds
# $BUILD_DIR (default build-bench, release). Environment: VENV, an existing venv to use
# instead (nothing is installed then); SPIKECL, a spikecl binary to measure instead of
# building $BUILD_DIR. Other options go to compare.py, lib_compare.py or sparse_compare.py
# (--help). Not run by CI or the test suite.
set -eu

cd "$(dirname "$0")/../.."
BUILD_DIR=${BUILD_DIR:-build-bench}
case "${1:-}" in
-h | --help)
    sed -n '2,27p' "$0" | sed 's/^# \{0,1\}//'
    exit 0
    ;;
esac
script=compare.py
case "${1:-}" in
--lib) script=lib_compare.py && shift ;;
--sparse) script=sparse_compare.py && shift ;;
esac

if [ -n "${VENV:-}" ]; then
    [ -x "$VENV/bin/python" ] || { echo "run.sh: VENV=$VENV has no bin/python" >&2; exit 2; }
else
    VENV=bench/compare/.venv
    bench/compare/setup.sh
fi
if [ -n "${SPIKECL:-}" ]; then
    [ -x "$SPIKECL" ] || { echo "run.sh: SPIKECL=$SPIKECL is not an executable" >&2; exit 2; }
else
    if [ ! -d "$BUILD_DIR" ]; then
        echo "+ meson setup $BUILD_DIR --buildtype=release"
        meson setup "$BUILD_DIR" --buildtype=release
    fi
    echo "+ ninja -C $BUILD_DIR src/spikecl"
    ninja -C "$BUILD_DIR" src/spikecl
    SPIKECL=$BUILD_DIR/src/spikecl
fi
exec "$VENV/bin/python" "bench/compare/$script" --spikecl "$SPIKECL" "$@"
