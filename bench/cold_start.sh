#!/usr/bin/env bash
# Cold and warm start to the first training step of `spikecl train`, for one
# or more builds, alternated round by round (A B A B ...) so that each sees
# the same load. Cold: fresh SPIKECL_CACHE_DIR and POCL_CACHE_DIR (new temp
# directories for every run). Warm: the same two directories again, twice.
# Warm-spk: spikecl's directory again with a fresh POCL_CACHE_DIR: only
# spikecl's own disk cache is warm (as for a user whose driver keeps no cache).
# Every run writes program binaries (SPIKECL_CACHE_BINARIES=on, which PoCL
# otherwise leaves to its own cache) so that warm-spk has them; set
# SPIKECL_CACHE_BINARIES=off to time the default on PoCL (warm-spk is cold then).
#
# usage: bench/cold_start.sh [--rounds N] [--preset P] BUILD_DIR...
#   BUILD_DIR: a meson build directory holding src/spikecl (release builds)
# prints one line per run: build, kind, the "first training step" line's
# total / setup / step seconds (older builds: data / rest), programs compiled /
# from disk, 1-min load.
set -euo pipefail
rounds=3 preset=mlp
while [ $# -gt 0 ]; do
    case $1 in
    --rounds) rounds=$2; shift 2 ;;
    --preset) preset=$2; shift 2 ;;
    -h | --help) sed -n '2,12p' "$0"; exit 0 ;;
    *) break ;;
    esac
done
[ $# -gt 0 ] || { echo "usage: $0 [--rounds N] [--preset P] BUILD_DIR..." >&2; exit 2; }
scratch=$(mktemp -d "${TMPDIR:-/tmp}/spikecl-cold.XXXXXX")
trap 'rm -rf "$scratch"' EXIT

# run BUILD KIND SPIKECL_DIR POCL_DIR: one training run up to its first step
# (the smallest run: one batch of training and of test images).
run() {
    local line
    line=$(SPIKECL_CACHE_BINARIES=${SPIKECL_CACHE_BINARIES:-on} SPIKECL_CACHE_DIR=$3 POCL_CACHE_DIR=$4 "$1/src/spikecl" train --preset "$preset" --epochs 1 \
        --limit-train 128 --limit-test 128 2>&1 | grep 'first training step done') || {
        echo "$1 $2: no 'first training step' line" >&2
        return 1
    }
    # "first training step done T s after start: setup D s ..., then R s ... (programs: C compiled, H from the disk cache)"
    local total setup rest compiled disk
    total=$(sed -E 's/.*done ([0-9.]+) s after.*/\1/' <<<"$line")
    setup=$(sed -E 's/.*(data|setup) ([0-9.]+) s[ ,].*/\2/' <<<"$line")
    rest=$(sed -E 's/.*then ([0-9.]+) s for.*/\1/' <<<"$line")
    compiled=$(sed -E 's/.*programs: ([0-9]+) compiled.*/\1/' <<<"$line")
    disk=$(sed -E 's/.*, ([0-9]+) from the disk cache.*/\1/' <<<"$line")
    printf '%-28s %-8s %7s %6s %6s %9s %5s %6s\n' "$1" "$2" "$total" "$setup" "$rest" "$compiled" "$disk" \
        "$(cut -d' ' -f1 /proc/loadavg)"
}

printf '%-28s %-8s %7s %6s %6s %9s %5s %6s\n' build kind total_s setup_s step_s compiled disk load
for ((r = 1; r <= rounds; r++)); do
    for b in "$@"; do
        spk="$scratch/spk-$r-${b//\//_}" pocl="$scratch/pocl-$r-${b//\//_}"
        mkdir -p "$spk" "$pocl"
        run "$b" cold "$spk" "$pocl"
        run "$b" warm "$spk" "$pocl"
        run "$b" warm "$spk" "$pocl"
        mkdir -p "$pocl-fresh"
        run "$b" warm-spk "$spk" "$pocl-fresh"
    done
done
