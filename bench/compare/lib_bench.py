"""One library of the comparison of BENCHMARKS.md §1 in one process: Linear(n, n) + LIF over
x [T, B, n], loss = sum of all spikes; forward and backward timed apart; one warm-up, then at
least --runs runs and --min-time seconds; prints (or writes) JSON with the medians.

Dynamics, as spikecl runs them (docs/neurons.md), on every side:
    y = x W^T + b        (one Linear over all T*B rows: the fastest way for every library)
    U[t] = 0.95 U[t-1] + y[t] - S[t-1]   (subtractive reset at the next step, detached)
    S[t] = H(U[t] - 1),  arctan surrogate (alpha 2) where the library has one
How each library is configured to run exactly that, and where it cannot, is in README.md.
"""

import argparse
import json
import math
import resource
import sys
import time

BETA = 0.95


def rss_peak_bytes():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


class ATan:
    """Heaviside forward, arctan surrogate backward (alpha 2), as snnTorch's and spikecl's."""

    fn = None

    @classmethod
    def get(cls, torch):
        if cls.fn is None:

            class _F(torch.autograd.Function):
                @staticmethod
                def forward(ctx, u):
                    ctx.save_for_backward(u)
                    return (u > 0).to(u.dtype)

                @staticmethod
                def backward(ctx, g):
                    (u,) = ctx.saved_tensors
                    return g * (1.0 / (1.0 + (math.pi * u).pow(2)))  # (a/2) / (1 + (pi a u / 2)^2), a = 2

            cls.fn = _F.apply
        return cls.fn


def torch_loop(torch, reset_decays=False):
    """A hand-written loop. reset_decays: SpikingJelly's convention U = 0.95 (U - S) + y."""
    spike = ATan.get(torch)

    def run(y):
        mem = torch.zeros_like(y[0])
        s = torch.zeros_like(y[0])
        out = []
        for yt in y.unbind(0):
            if reset_decays:
                mem = BETA * (mem - s.detach()) + yt
            else:
                mem = BETA * mem + yt - s.detach()
            s = spike(mem - 1.0)
            out.append(s)
        return torch.stack(out)

    return run


def snntorch_loop(torch):
    import snntorch as snn
    from snntorch import surrogate

    lif = snn.Leaky(beta=BETA, threshold=1.0, spike_grad=surrogate.atan(alpha=2.0), reset_mechanism="subtract")

    def run(y):
        mem = lif.init_leaky()
        out = []
        for yt in y.unbind(0):
            s, mem = lif(yt, mem)
            out.append(s)
        return torch.stack(out)

    return run, f"snntorch {snn.__version__}"


def norse_loop(torch, own_loop):
    import importlib.metadata

    from norse.torch import LIFBoxCell, LIFBoxParameters, Lift

    # LIFBoxCell is Euler: v <- v + dt tau_inv (i - v) = 0.95 v + 0.05 i (dt tau_inv = 0.05; the
    # Linear's weights are scaled by 20 so that 0.05 i = y). Its reset runs right after the spike,
    # before the next leak, so subtracting 1/0.95 leaves exactly -1 after the leak, as at the next
    # step. Norse has no arctan surrogate: SuperSpike (its default) with alpha 2.
    def reset(z, v, v_reset, v_th):
        return v - z.detach() * (v_th / BETA)

    p = LIFBoxParameters(
        tau_mem_inv=torch.as_tensor(1.0 - BETA),
        v_leak=torch.as_tensor(0.0),
        v_th=torch.as_tensor(1.0),
        v_reset=torch.as_tensor(0.0),
        method="super",
        alpha=torch.as_tensor(2.0),
        reset_method=reset,
    )
    cell = LIFBoxCell(p, dt=1.0)
    version = importlib.metadata.version("norse")
    if own_loop:  # Norse's time loop (Norse 1.1 has no LIFBox module): x[ts] in Python
        lif = Lift(cell)

        def run(y):
            s, _ = lif(y)
            return s

        return run, f"norse {version}, Lift(LIFBoxCell)", 1.0 / (1.0 - BETA)

    def run_cell(y):  # the cell stepped as snnTorch's Leaky is, over y.unbind(0)
        state, out = None, []
        for yt in y.unbind(0):
            s, state = cell(yt, state)
            out.append(s)
        return torch.stack(out)

    return run_cell, f"norse {version}, LIFBoxCell in a loop", 1.0 / (1.0 - BETA)


def spikingjelly_loop(torch):
    import importlib.metadata

    from spikingjelly.activation_based import neuron, surrogate

    # decay_input=False and v_reset=None: H = 0.95 V + y, S = H >= 1, V = H - S. The reset
    # decays with the next leak (U = 0.95 (U - S) + y): SpikingJelly cannot subtract an
    # undecayed 1 at the next step. The cost per step is the same; the spike count is checked
    # against the torch loop run with this convention.
    lif = neuron.LIFNode(
        tau=1.0 / (1.0 - BETA),
        decay_input=False,
        v_threshold=1.0,
        v_reset=None,
        surrogate_function=surrogate.ATan(alpha=2.0),
        detach_reset=True,
        step_mode="m",
    )

    def run(y):
        lif.reset()
        return lif(y)

    return run, f"spikingjelly {importlib.metadata.version('spikingjelly')} (LIFNode step_mode='m')"


def make(lib, torch):
    """(run(y) -> spikes, description, weight scale)."""
    if lib == "torch":
        return torch_loop(torch), f"torch {torch.__version__} loop", 1.0
    if lib == "snntorch":
        return (*snntorch_loop(torch), 1.0)
    if lib in ("norse", "norse-cell"):
        return norse_loop(torch, own_loop=lib == "norse")
    if lib == "spikingjelly":
        return (*spikingjelly_loop(torch), 1.0)
    raise ValueError(lib)


def median(v):
    v = sorted(v)
    k = len(v)
    return v[k // 2] if k % 2 else 0.5 * (v[k // 2 - 1] + v[k // 2])


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--lib", required=True, choices=["torch", "snntorch", "norse", "norse-cell", "spikingjelly"])
    ap.add_argument("--n", type=int, required=True)
    ap.add_argument("--steps", type=int, default=500)
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--min-time", type=float, default=2.0)
    ap.add_argument("--threads", type=int, default=2)
    a = ap.parse_args()
    if a.n < 1 or a.steps < 1 or a.batch < 1 or a.runs < 1 or a.threads < 1:
        ap.error("--n, --steps, --batch, --runs and --threads must be >= 1")

    import torch

    import lib_common

    torch.set_num_threads(a.threads)
    rss_import = rss_peak_bytes()
    try:
        run, desc, scale = make(a.lib, torch)
    except Exception as e:  # an import or API failure: say exactly what, exit 3
        print(json.dumps({"lib": a.lib, "error": f"{type(e).__name__}: {e}"}))
        return 3
    xs, ws, bs = lib_common.problem(a.n, a.steps, a.batch, a.seed)
    x = torch.from_numpy(xs)
    lin = torch.nn.Linear(a.n, a.n)
    with torch.no_grad():
        lin.weight.copy_(torch.from_numpy(ws) * scale)
        lin.bias.copy_(torch.from_numpy(bs) * scale)

    def once():
        lin.zero_grad(set_to_none=True)
        t0 = time.perf_counter()
        s = run(lin(x))
        loss = s.sum()
        t1 = time.perf_counter()
        loss.backward()
        t2 = time.perf_counter()
        return t1 - t0, t2 - t1, float(loss.detach())

    once()  # warm-up
    fwd, bwd = [], []
    while len(fwd) < a.runs or sum(fwd) + sum(bwd) < a.min_time:
        f, b, spikes = once()
        fwd.append(f)
        bwd.append(b)
    res = {
        "lib": a.lib,
        "desc": desc,
        "n": a.n,
        "steps": a.steps,
        "batch": a.batch,
        "threads": torch.get_num_threads(),
        "runs": len(fwd),
        "forward_ms": 1e3 * median(fwd),
        "backward_ms": 1e3 * median(bwd),
        "total_ms": 1e3 * median([f + b for f, b in zip(fwd, bwd)]),
        "spikes": spikes,
        "peak_rss_bytes": rss_peak_bytes(),
        "rss_after_import_bytes": rss_import,
    }
    if a.lib == "spikingjelly":  # its own reset convention, checked against the torch loop
        with torch.no_grad():
            res["reference_spikes"] = float(torch_loop(torch, reset_decays=True)(lin(x)).sum())
    print(json.dumps(res))
    return 0


if __name__ == "__main__":
    sys.exit(main())
