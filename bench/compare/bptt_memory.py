"""Bytes per neuron-step that a PyTorch library keeps for backpropagation through time, on the
network of BENCHMARKS.md §1 (lib_bench.py: Linear(n, n) + LIF over x [T, B, n], loss = sum of
spikes): lib_bench.py runs one training step in a fresh process at T/2 and at T steps, and
(peak RSS at T - peak RSS at T/2) / ((T - T/2) * B * n) is what each added neuron-step costs.
Everything that grows with T counts, on both sides alike: the input, the activations, what
autograd saves, the gradients. spikecl's side of the same measure is the "BPTT f32" and
"BPTT compact" rows of `spikecl bench --suites lib` (its device high-water instead of RSS).

usage: bench/compare/.venv/bin/python bench/compare/bptt_memory.py [--libs snntorch,torch]
       [--n 512] [--steps 500] [--batch 16] [--threads 2]
"""

import argparse
import json
import os
import subprocess
import sys


def peak_rss(lib, n, steps, batch, threads):
    here = os.path.dirname(os.path.abspath(__file__))
    cmd = [sys.executable, os.path.join(here, "lib_bench.py"), "--lib", lib, "--n", str(n), "--steps", str(steps),
           "--batch", str(batch), "--threads", str(threads), "--runs", "1", "--min-time", "0"]
    out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
    res = json.loads(out.strip().splitlines()[-1])
    if "error" in res:
        raise RuntimeError(f"{lib}: {res['error']}")
    return res["peak_rss_bytes"], res.get("desc", lib)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--libs", default="snntorch,torch")
    ap.add_argument("--n", type=int, default=512)
    ap.add_argument("--steps", type=int, default=500)
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument("--threads", type=int, default=2)
    a = ap.parse_args()
    t1 = a.steps // 2
    if t1 < 1 or a.n < 1 or a.batch < 1:
        ap.error("--steps must be >= 2, --n and --batch >= 1")
    print(f"{'library':28} {'peak MB T=' + str(t1):>14} {'peak MB T=' + str(a.steps):>14} {'B/neuron-step':>14}")
    for lib in a.libs.split(","):
        p1, desc = peak_rss(lib, a.n, t1, a.batch, a.threads)
        p2, _ = peak_rss(lib, a.n, a.steps, a.batch, a.threads)
        per = (p2 - p1) / ((a.steps - t1) * a.batch * a.n)
        print(f"{desc:28} {p1 / 1e6:14.1f} {p2 / 1e6:14.1f} {per:14.1f}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
