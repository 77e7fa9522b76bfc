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
echo "cli: PASS"
