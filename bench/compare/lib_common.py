"""The inputs and weights of the library comparison (BENCHMARKS.md §1) and of the sparse-input
comparison (§2), bit for bit as `spikecl bench --suites lib` and `spikecl bench --suites sparse
--sparse-input shared` draw them (src/cli/bench_util.c, docs/benchmarks.md):

    word(seed, stream, i) = splitmix64(((seed * 4 + stream) << 40) + i)
                            streams: x 0, W 1, b 2, labels 3
    u(i) = ((word >> 40) + 0.5) / 2^24
    W, b = (2 u(i) - 1) / sqrt(fan_in)                (float64, then float32)
    x    = sqrt(-2 ln u(2i)) * cos(2 pi u(2i+1))      (lib: float64, then float32)
    x    = 1 if u(i) < p else 0                       (sparse: p the float32 value, compared in float64)
    label[b] = word(seed, 3, b) % classes             (sparse)
"""

import numpy as np

STREAM_INPUT, STREAM_WEIGHT, STREAM_BIAS, STREAM_LABELS = 0, 1, 2, 3
_CHUNK = 1 << 22
_M64 = np.uint64


def _words(seed, stream, start, count):
    i = np.arange(start, start + count, dtype=np.uint64)
    z = i + _M64(((seed * 4 + stream) << 40) + 0x9E3779B97F4A7C15 & 0xFFFFFFFFFFFFFFFF)
    z = (z ^ (z >> _M64(30))) * _M64(0xBF58476D1CE4E5B9)
    z = (z ^ (z >> _M64(27))) * _M64(0x94D049BB133111EB)
    return z ^ (z >> _M64(31))


def _unit(seed, stream, start, count):
    return ((_words(seed, stream, start, count) >> _M64(40)).astype(np.float64) + 0.5) / 16777216.0


def uniform(shape, bound, seed, stream):
    n = int(np.prod(shape))
    out = np.empty(n, dtype=np.float32)
    for s in range(0, n, _CHUNK):
        c = min(_CHUNK, n - s)
        out[s : s + c] = (2.0 * _unit(seed, stream, s, c) - 1.0) * bound
    return out.reshape(shape)


def normal(shape, seed, stream=STREAM_INPUT):
    n = int(np.prod(shape))
    out = np.empty(n, dtype=np.float32)
    for s in range(0, n, _CHUNK):
        c = min(_CHUNK, n - s)
        u = _unit(seed, stream, 2 * s, 2 * c).reshape(c, 2)
        out[s : s + c] = np.sqrt(-2.0 * np.log(u[:, 0])) * np.cos(2.0 * np.pi * u[:, 1])
    return out.reshape(shape)


def problem(n, steps, batch, seed=0):
    """x [steps, batch, n], W [n, n] (out, in), b [n], as spikecl draws them."""
    bound = 1.0 / np.sqrt(n)
    return (
        normal((steps, batch, n), seed),
        uniform((n, n), bound, seed, STREAM_WEIGHT),
        uniform((n,), bound, seed, STREAM_BIAS),
    )


def bernoulli(shape, p, seed, stream=STREAM_INPUT):
    """Spikes x[i] = 1 where u(i) < p; p is rounded to float32 first, as spikecl passes it."""
    n = int(np.prod(shape))
    p64 = float(np.float32(p))
    out = np.empty(n, dtype=np.float32)
    for s in range(0, n, _CHUNK):
        c = min(_CHUNK, n - s)
        out[s : s + c] = _unit(seed, stream, s, c) < p64
    return out.reshape(shape)


def sparse_problem(inputs, hidden, classes, steps, batch, p, seed=0):
    """The sparse suite's x [steps, batch, inputs], labels [batch] and the (W [out, in], b) of its
    three dense layers (layer k drawn with seed 8 * seed + k), as spikecl draws them."""
    layers = []
    for k, (fan_in, out) in enumerate([(inputs, hidden), (hidden, hidden), (hidden, classes)]):
        bound = 1.0 / np.sqrt(fan_in)
        layers.append((uniform((out, fan_in), bound, seed * 8 + k, STREAM_WEIGHT),
                       uniform((out,), bound, seed * 8 + k, STREAM_BIAS)))
    labels = (_words(seed, STREAM_LABELS, 0, batch) % _M64(classes)).astype(np.int64)
    return bernoulli((steps, batch, inputs), p, seed), labels, layers
