#!/usr/bin/env bash
# The spikecl command end to end: train and eval on a slice of Fashion-MNIST
# (Debian's dataset-fashion-mnist), checkpoints round-trip, bad input gives
# clear errors. Usage: run.sh BUILD_DIR
set -u
spikecl="$1/src/spikecl"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail() {
    echo "cli: FAIL: $*"
    exit 1
}
data=/usr/share/datasets/fashion-mnist
[ -f "$data/train-images-idx3-ubyte.gz" ] || fail "$data is missing (apt-get install dataset-fashion-mnist)"

for preset in mlp-fast mlp conv; do
    out=$("$spikecl" train --preset "$preset" --epochs 1 --batch 32 --steps 4 --limit-train 256 --limit-test 96 \
        --out "$tmp/$preset.ckpt" 2>&1) || fail "train --preset $preset: $out"
    acc=$(printf '%s\n' "$out" | sed -n 's/.*test accuracy \([0-9.]*\)%.*/\1/p' | tail -n 1)
    [ -n "$acc" ] || fail "train --preset $preset printed no test accuracy: $out"
    ev=$("$spikecl" eval --checkpoint "$tmp/$preset.ckpt" --batch 32 --limit-test 96 2>&1) ||
        fail "eval of the $preset checkpoint: $ev"
    printf '%s\n' "$ev" | grep -q "test accuracy $acc% on 96 images" ||
        fail "eval of $preset gives '$ev', training reported $acc%"
done

# Bad input: a clear message and a non-zero status, never a crash.
expect_error() { # expected-status needle command...
    local want=$1 needle=$2
    shift 2
    local msg rc
    msg=$("$@" 2>&1)
    rc=$?
    [ "$rc" -eq "$want" ] || fail "'$*' exited $rc (expected $want): $msg"
    printf '%s\n' "$msg" | grep -q -- "$needle" || fail "'$*' says '$msg', expected it to mention '$needle'"
}
expect_error 2 "unknown preset" "$spikecl" train --preset nope
expect_error 2 "expects an integer" "$spikecl" train --epochs many
expect_error 1 "cannot open" "$spikecl" train --data "$tmp/nowhere" --limit-train 64
# Small IDX sets of our own (train_loop.c builds the network from the test
# set's shapes while the training set loads): training labels the test set
# lacks widen the readout; images of two sizes are an error.
idx_set() { # dir split n rows cols classes
    python3 - "$@" <<'PY'
import gzip, os, struct, sys
d, split, n, rows, cols, classes = sys.argv[1], sys.argv[2], *map(int, sys.argv[3:])
os.makedirs(d, exist_ok=True)
prefix = "train" if split == "train" else "t10k"
with gzip.open(f"{d}/{prefix}-images-idx3-ubyte.gz", "wb") as f:
    f.write(struct.pack(">IIII", 0x803, n, rows, cols) + bytes((7 * i) % 256 for i in range(n * rows * cols)))
with gzip.open(f"{d}/{prefix}-labels-idx1-ubyte.gz", "wb") as f:
    f.write(struct.pack(">II", 0x801, n) + bytes(i % classes for i in range(n)))
PY
}
idx_set "$tmp/wide" train 64 12 12 11 && idx_set "$tmp/wide" test 32 12 12 10 || fail "writing IDX files"
out=$("$spikecl" train --data "$tmp/wide" --preset mlp-fast --steps 4 --batch 32 --limit-test 32 2>&1) ||
    fail "train on 11 training classes, 10 test classes: $out"
printf '%s\n' "$out" | grep -q "dense 128 -> 11" || fail "the readout of 11 training classes: $out"
idx_set "$tmp/sizes" train 64 12 12 10 && idx_set "$tmp/sizes" test 32 10 12 10 || fail "writing IDX files"
expect_error 1 "the training images are 12x12, the test images 10x12" "$spikecl" train --data "$tmp/sizes" \
    --preset mlp-fast --steps 4 --batch 32
head -c 200 "$tmp/mlp.ckpt" >"$tmp/truncated.ckpt"
expect_error 1 "corrupt or truncated" "$spikecl" eval --checkpoint "$tmp/truncated.ckpt"
expect_error 1 "cannot open checkpoint" "$spikecl" eval --checkpoint "$tmp/missing.ckpt"
expect_error 1 "no OpenCL device matches" env SPIKECL_DEVICE=no-such-device "$spikecl" demo
expect_error 2 "direct, poisson or latency" "$spikecl" train --encoder morse

# A diverging run (absurd learning rate) stops with a message and leaves the
# last good checkpoint as it was.
cp "$tmp/mlp-fast.ckpt" "$tmp/good.ckpt"
expect_error 1 "loss diverged" "$spikecl" train --preset mlp-fast --steps 4 --batch 32 --limit-train 256 \
    --limit-test 32 --lr 1e37 --out "$tmp/good.ckpt"
cmp -s "$tmp/mlp-fast.ckpt" "$tmp/good.ckpt" || fail "a diverged run changed the last good checkpoint"

# Spike encoders other than direct run through the same network.
for enc in poisson latency; do
    out=$("$spikecl" train --preset mlp-fast --encoder "$enc" --steps 4 --batch 32 --limit-train 128 \
        --limit-test 32 2>&1) || fail "train --encoder $enc: $out"
done
# spikecl bench: a small lib run prints its table and writes JSON that parses.
out=$("$spikecl" bench --quick --suites lib --sizes 64 --json "$tmp/bench.json" 2>&1) || fail "bench --quick: $out"
printf '%s\n' "$out" | grep -q "lib .*fwd+bwd" || fail "bench printed no table: $out"
python3 -c 'import json, sys
rows = [r for r in json.load(open(sys.argv[1]))["rows"] if r["suite"] == "lib"]
assert [r["what"] for r in rows] == ["forward", "backward", "fwd+bwd", "BPTT f32", "BPTT compact"], rows
assert all(r["median_ms"] > 0 and r["runs"] >= 3 and r["launches_per_step"] > 0 for r in rows[:3]), rows
f32, compact = rows[3]["value"], rows[4]["value"]
assert rows[3]["unit"] == "B/n-step" and 0 < compact < f32, rows' \
    "$tmp/bench.json" || fail "bench --json wrote unexpected JSON"
# The sparse suite with the shared generator (what bench/compare gives the Python peers): the
# first step's spike counts and loss match an independent plain-Python reference.
here=$(cd "$(dirname "$0")" && pwd)
out=$("$spikecl" bench --suites sparse --sparse-input shared --sparse-inputs 40 --sparse-rates 0.05 \
    --sparse-hidden 24 --sparse-steps 16 --seed 3 --runs 1 --min-time 0 --json "$tmp/sparse.json" 2>&1) ||
    fail "bench --sparse-input shared: $out"
out=$(python3 "$here/sparse_reference.py" "$tmp/sparse.json" 40 24 0.05 16 3 2>&1) ||
    fail "sparse shared run against the reference: $out"
expect_error 2 "unknown suite" "$spikecl" bench --suites nope
expect_error 2 "expects an integer" "$spikecl" bench --sizes 64,zero
expect_error 2 "auto, clblast or host" "$spikecl" bench --gemm fast
expect_error 2 "probabilities in (0, 1]" "$spikecl" bench --suites sparse --sparse-rates 0.05,1.5
expect_error 2 "probabilities in (0, 1]" "$spikecl" bench --suites sparse --sparse-rates 0
expect_error 2 "encode or shared" "$spikecl" bench --suites sparse --sparse-input dense
expect_error 2 "expects an integer" "$spikecl" bench --suites sparse --sparse-inputs 128,x
expect_error 1 "cannot write" "$spikecl" bench --quick --suites lib --sizes 16 --json "$tmp/nowhere/b.json"
expect_error 2 "auto, clblast or host" "$spikecl" train --gemm cublas
expect_error 1 "SPIKECL_GEMM=cublas" env SPIKECL_GEMM=cublas "$spikecl" train --limit-train 64 --batch 32
# A checkpoint trained on one GEMM backend evaluates on the other.
ev=$("$spikecl" eval --checkpoint "$tmp/mlp.ckpt" --batch 32 --limit-test 96 --gemm clblast 2>&1) ||
    fail "eval with --gemm clblast: $ev"
printf '%s\n' "$ev" | grep -q "test accuracy .*% on 96 images" || fail "eval with --gemm clblast printed '$ev'"
# spikecl tune: a zero-budget run (CLBlast's own parameters and the switch
# size only) on one small shape, stored in a private cache that devices and
# train then load; bad options and a bad SPIKECL_TUNE give clear errors.
tc="$tmp/tune-cache"
out=$(SPIKECL_CACHE_DIR="$tc" "$spikecl" tune --budget-s 0 --shapes 40x24x56:NT 2>&1) || fail "tune: $out"
printf '%s\n' "$out" | grep -q "^40x24x56:NT .*x " || fail "tune printed no result row: $out"
printf '%s\n' "$out" | grep -q "stored in $tc/clblast-tuning-" || fail "tune did not store its result: $out"
out=$(SPIKECL_CACHE_DIR="$tc" "$spikecl" devices 2>&1) || fail "devices: $out"
printf '%s\n' "$out" | grep -q "tuned CLBlast parameters: loaded from $tc" || fail "devices: $out"
out=$(SPIKECL_CACHE_DIR="$tc" SPIKECL_TUNE=off "$spikecl" devices 2>&1) || fail "devices: $out"
printf '%s\n' "$out" | grep -q "tuned CLBlast parameters: off" || fail "devices with SPIKECL_TUNE=off: $out"
out=$(SPIKECL_CACHE_DIR="$tc" "$spikecl" tune --budget-s 0 --shapes 8x8x8 --dry-run --quiet 2>&1) ||
    fail "tune --dry-run: $out"
printf '%s\n' "$out" | grep -q "dry run: nothing stored" || fail "tune --dry-run: $out"
expect_error 2 "MxNxK" "$spikecl" tune --shapes 12x12
expect_error 2 "expects an integer" "$spikecl" tune --budget-s soon
expect_error 1 "nowhere to store" env SPIKECL_CACHE_DIR=off "$spikecl" tune --budget-s 0 --shapes 8x8x8
expect_error 1 "SPIKECL_TUNE=maybe" env SPIKECL_TUNE=maybe "$spikecl" demo
# A host BLAS that cannot be loaded: devices says why, and an explicit request fails clearly.
if "$spikecl" devices 2>&1 | grep -q "GEMM: host BLAS"; then
    out=$(SPIKECL_OPENBLAS="$tmp/none.so" "$spikecl" devices 2>&1) || fail "devices: $out"
    printf '%s\n' "$out" | grep -q "GEMM: clblast (no host BLAS: cannot load OpenBLAS ($tmp/none.so)" ||
        fail "devices with SPIKECL_OPENBLAS=$tmp/none.so: $out"
    expect_error 1 "cannot load OpenBLAS" env SPIKECL_OPENBLAS="$tmp/none.so" SPIKECL_GEMM=host "$spikecl" demo
    # OpenBLAS's kernels: chosen from the CPU's instruction sets on Intel (its own model
    # table sends newer models to the generic SSE3 ones), the user's OPENBLAS_CORETYPE first.
    # Its generic ones on a CPU with AVX2: devices says what to ask for.
    flags=$(grep -m 1 '^flags' /proc/cpuinfo 2>/dev/null || true)
    has() { case " $flags " in *" $1 "*) return 0 ;; esac; return 1; }
    if has avx2 && has fma; then
        want=Haswell
        has avx512f && has avx512cd && has avx512bw && has avx512dq && has avx512vl && want=SkylakeX
        if grep -q -m 1 GenuineIntel /proc/cpuinfo 2>/dev/null; then
            out=$(env -u OPENBLAS_CORETYPE "$spikecl" devices 2>&1) || fail "devices: $out"
            printf '%s\n' "$out" | grep -q "OpenBLAS with its $want kernels" ||
                fail "devices, OpenBLAS kernels ($want expected): $out"
        fi
        out=$(OPENBLAS_CORETYPE=Haswell "$spikecl" devices 2>&1) || fail "devices: $out"
        printf '%s\n' "$out" | grep -q "OpenBLAS with its Haswell kernels" || fail "devices with OPENBLAS_CORETYPE=Haswell: $out"
        out=$(OPENBLAS_CORETYPE=Prescott "$spikecl" devices 2>&1) || fail "devices: $out"
        printf '%s\n' "$out" | grep -q "generic SSE3 kernels: OPENBLAS_CORETYPE=$want runs" ||
            fail "devices with OPENBLAS_CORETYPE=Prescott: no hint for $want: $out"
    fi
fi
echo "cli: PASS"
