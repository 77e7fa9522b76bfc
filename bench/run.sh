#!/bin/sh
# Build the benchmarks (release) and run them; results are printed and the
# JSON files are written to $OUT_DIR (default build-bench/bench-results).
#
#   bench/run.sh                 # everything, default sizes
#   bench/run.sh --quick         # smoke run: fewer reps, shorter reps
#
# Environment: BUILD_DIR (default build-bench), OUT_DIR, SPIKECL_DEVICE (device
# selector, as for every spikecl program). Not run by CI or the test suite.
set -eu

cd "$(dirname "$0")/.."
BUILD_DIR=${BUILD_DIR:-build-bench}
OUT_DIR=${OUT_DIR:-$BUILD_DIR/bench-results}
QUICK=0
for a in "$@"; do
    case "$a" in
    --quick) QUICK=1 ;;
    -h | --help)
        sed -n '2,9p' "$0" | sed 's/^# \{0,1\}//'
        exit 0
        ;;
    *)
        echo "run.sh: unknown option $a" >&2
        exit 2
        ;;
    esac
done

run() {
    echo "+ $*"
    "$@"
}

if [ ! -d "$BUILD_DIR" ]; then
    run meson setup "$BUILD_DIR" --buildtype=release
fi
run ninja -C "$BUILD_DIR" bench/bench_kernel_build bench/bench_lif_bandwidth bench/bench_neuron_models src/spikecl
mkdir -p "$OUT_DIR"

echo
echo "== machine"
echo "date:    $(date -u '+%Y-%m-%d %H:%M:%S UTC')"
echo "host:    $(uname -srm)"
echo "nproc:   $(nproc)"
echo "cpu:     $(grep -m1 'model name' /proc/cpuinfo | sed 's/.*: //')"
if command -v lscpu >/dev/null 2>&1; then
    lscpu | grep -E '^(L2|L3) cache' | sed 's/  */ /g' || true
fi
echo "memory:  $(grep MemTotal /proc/meminfo | sed 's/MemTotal: *//')"
echo "load:    $(cat /proc/loadavg) (1, 5, 15 min; the benchmarks are only as quiet as the machine)"
if [ -r /sys/kernel/mm/transparent_hugepage/enabled ]; then
    echo "THP:     $(cat /sys/kernel/mm/transparent_hugepage/enabled)"
fi
if [ -n "$(git rev-parse --short HEAD 2>/dev/null || true)" ]; then
    echo "commit:  $(git rev-parse --short HEAD)$(git diff --quiet HEAD 2>/dev/null || echo ' (+ local changes)')"
fi
echo
echo "== devices"
run "$BUILD_DIR/src/spikecl" devices || true

echo
echo "== kernel build times (POCL_KERNEL_CACHE=0 is set by the program itself)"
if [ "$QUICK" = 1 ]; then
    run "$BUILD_DIR/bench/bench_kernel_build" --cold-reps 1 --warm-reps 5 --process-reps 3 \
        --json "$OUT_DIR/kernel_build.json"
else
    run "$BUILD_DIR/bench/bench_kernel_build" --cold-reps 3 --warm-reps 15 --process-reps 10 \
        --json "$OUT_DIR/kernel_build.json"
fi

echo
echo "== LIF kernel bandwidth vs streaming copy"
if [ "$QUICK" = 1 ]; then
    run "$BUILD_DIR/bench/bench_lif_bandwidth" --quick --shapes 100:16:256,100:128:2048 \
        --json "$OUT_DIR/lif_bandwidth.json"
else
    run "$BUILD_DIR/bench/bench_lif_bandwidth" --reps 7 --min-rep-s 0.25 \
        --json "$OUT_DIR/lif_bandwidth.json"
fi

echo
echo "== ALIF, Izhikevich and AdEx kernels (ms per call, GB/s)"
if [ "$QUICK" = 1 ]; then
    run "$BUILD_DIR/bench/bench_neuron_models" --reps 3 --min-rep-s 0.05 --shapes 25:128:256
else
    run "$BUILD_DIR/bench/bench_neuron_models" --reps 7 --min-rep-s 0.2
fi

echo
echo "load after: $(cat /proc/loadavg)"
echo "JSON written to $OUT_DIR/"
