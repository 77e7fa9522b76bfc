#!/usr/bin/env python3
"""Checks `spikecl bench --suites sparse --sparse-input shared` against an independent reference in
plain Python (no numpy): the documented generator (docs/benchmarks.md) draws the input spikes,
labels and weights, the network runs in float64, and the first step's spike count per LIF layer
and loss must match the row spikecl wrote. This is what bench/compare/sparse_compare.py relies on
to give the Python peers the same numbers.

Usage: sparse_reference.py BENCH_JSON INPUTS HIDDEN P STEPS SEED
"""
import json
import math
import struct
import sys

M64 = (1 << 64) - 1
CLASSES, BATCH, BETA = 20, 128, 0.95


def splitmix64(x):
    z = (x + 0x9E3779B97F4A7C15) & M64
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & M64
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & M64
    return z ^ (z >> 31)


def word(seed, stream, i):
    return splitmix64((((seed * 4 + stream) << 40) + i) & M64)


def unit(seed, stream, i):
    return ((word(seed, stream, i) >> 40) + 0.5) / 16777216.0


def f32(v):
    return struct.unpack("f", struct.pack("f", v))[0]


def dense(x_rows, fan_in, out, seed):
    """y = x W^T + b for each row, W [out, fan_in] and b drawn as spikecl's sparse suite draws them."""
    bound = 1.0 / math.sqrt(fan_in)
    w = [f32((2.0 * unit(seed, 1, i) - 1.0) * bound) for i in range(out * fan_in)]
    b = [f32((2.0 * unit(seed, 2, i) - 1.0) * bound) for i in range(out)]
    ys = []
    for row in x_rows:
        nz = [j for j, v in enumerate(row) if v]
        ys.append([b[o] + sum(w[o * fan_in + j] * row[j] for j in nz) for o in range(out)])
    return ys


def lif(ys, steps, spiking):
    """ys [steps * BATCH rows]; LIF (reset by subtraction at the next step) or LI (membranes)."""
    n = len(ys[0])
    u, s, out = [[0.0] * n for _ in range(BATCH)], [[0.0] * n for _ in range(BATCH)], []
    for t in range(steps):
        for bi in range(BATCH):
            y = ys[t * BATCH + bi]
            for k in range(n):
                u[bi][k] = BETA * u[bi][k] + y[k] - (s[bi][k] if spiking else 0.0)
                if spiking:
                    s[bi][k] = 1.0 if u[bi][k] >= 1.0 else 0.0
            out.append(list(s[bi]) if spiking else list(u[bi]))
    return out


def main():
    path, inputs, hidden, p, steps, seed = sys.argv[1], *map(int, sys.argv[2:4]), float(sys.argv[4]), *map(
        int, sys.argv[5:7])
    p = f32(p)
    x = [[1.0 if unit(seed, 0, r * inputs + i) < p else 0.0 for i in range(inputs)] for r in range(steps * BATCH)]
    h1 = lif(dense(x, inputs, hidden, seed * 8 + 0), steps, True)
    h2 = lif(dense(h1, hidden, hidden, seed * 8 + 1), steps, True)
    mem = lif(dense(h2, hidden, CLASSES, seed * 8 + 2), steps, False)
    loss = 0.0
    for bi in range(BATCH):
        m = [sum(mem[t * BATCH + bi][c] for t in range(steps)) / steps for c in range(CLASSES)]
        top = max(m)
        label = word(seed, 3, bi) % CLASSES
        loss += top + math.log(sum(math.exp(v - top) for v in m)) - m[label]
    loss /= BATCH
    want = [sum(map(sum, h1)), sum(map(sum, h2))]

    rows = [r for r in json.load(open(path))["rows"] if r["suite"] == "sparse" and r["what"] == "train step"]
    if len(rows) != 1:
        sys.exit(f"expected one sparse row, got {len(rows)}")
    got, got_loss = rows[0]["layer_spikes"], rows[0]["first_loss"]
    # float32 on the device against float64 here: a neuron within rounding of the threshold may
    # flip, so one spike per layer may differ; the loss agrees to float32 precision.
    bad = [k for k in range(2) if abs(got[k] - want[k]) > 1] or abs(got_loss - loss) > 1e-4 * abs(loss)
    print(f"spikecl spikes {got} loss {got_loss:.7f}; reference spikes {want} loss {loss:.7f}")
    if bad or min(want) == 0:
        sys.exit("spikecl's shared sparse run differs from the reference (or no spikes at all: a useless check)")


if __name__ == "__main__":
    main()
