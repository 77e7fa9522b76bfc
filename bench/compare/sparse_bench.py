"""One library of the sparse-input comparison (BENCHMARKS.md §2) in one process: the network of
`spikecl bench --suites sparse --sparse-input shared`, trained one Adam step per batch on the
same fixed batch of Bernoulli input spikes; prints JSON with the first step's loss and spike
counts per LIF layer (the check) and the median time of one training step.

The network (src/cli/bench_sparse.c), on every side:
    x [T=256, B=128, inputs] in {0, 1}          Bernoulli(p), the same batch at every step
    Linear(inputs, hidden) -> LIF -> Linear(hidden, hidden) -> LIF -> Linear(hidden, 20) -> LI
    LIF: U[t] = 0.95 U[t-1] + y[t] - S[t-1] (reset detached), S[t] = H(U[t] - 1), arctan (alpha 2)
    LI:  U[t] = 0.95 U[t-1] + y[t], no spikes
    loss = cross_entropy(mean over t of the LI membrane, labels), mean over the batch
    Adam, lr 1e-3, betas (0.9, 0.999), eps 1e-8, no weight decay
Each Linear runs once over all T*B rows of its input (layer after layer), the fastest way for
every library and what spikecl does. How each library runs the neurons is in lib_bench.py and
README.md; the readouts are below.

A timed step: zero_grad, forward, loss, backward, Adam step. Before the clock: the check step
(the first one, on the initial weights), then one warm-up step.
"""

import argparse
import json
import sys
import time

import lib_bench
from lib_bench import BETA, median, rss_peak_bytes

CLASSES = 20
BATCH = 128


def torch_readout(torch):
    def run(y):
        mem, out = torch.zeros_like(y[0]), []
        for yt in y.unbind(0):
            mem = BETA * mem + yt
            out.append(mem)
        return torch.stack(out).mean(0)

    return run, 1.0


def snntorch_readout(torch):
    import snntorch as snn

    li = snn.Leaky(beta=BETA, threshold=1.0, reset_mechanism="none")  # as bench/compare/fmnist_snntorch.py

    def run(y):
        mem, out = li.init_leaky(), []
        for yt in y.unbind(0):
            _, mem = li(yt, mem)
            out.append(mem)
        return torch.stack(out).mean(0)

    return run, 1.0


def norse_readout(torch, own_loop):
    from norse.torch import LIBoxCell, LIBoxParameters, Lift

    # Euler like LIFBoxCell: v <- 0.95 v + 0.05 i, with the Linear scaled by 20 (lib_bench.py).
    cell = LIBoxCell(LIBoxParameters(tau_mem_inv=torch.as_tensor(1.0 - BETA), v_leak=torch.as_tensor(0.0)), dt=1.0)
    if own_loop:
        lifted = Lift(cell)

        def run(y):
            v, _ = lifted(y)
            return v.mean(0)

        return run, 1.0 / (1.0 - BETA)

    def run_cell(y):
        state, out = None, []
        for yt in y.unbind(0):
            v, state = cell(yt, state)
            out.append(v)
        return torch.stack(out).mean(0)

    return run_cell, 1.0 / (1.0 - BETA)


def spikingjelly_readout(torch):
    from spikingjelly.activation_based import neuron

    # SpikingJelly's non-spiking readout: v <- v + (x - v) / tau = 0.95 v + x / 20 (it decays the
    # input), so its Linear is scaled by 20; decode="mean-mem" returns the time mean.
    li = neuron.NonSpikingLIFNode(tau=1.0 / (1.0 - BETA), decode="mean-mem")
    return li, 1.0 / (1.0 - BETA)


def make_readout(lib, torch):
    """(run(y [T, B, C]) -> mean membrane [B, C], weight scale)."""
    if lib == "torch":
        return torch_readout(torch)
    if lib == "snntorch":
        return snntorch_readout(torch)
    if lib in ("norse", "norse-cell"):
        return norse_readout(torch, own_loop=lib == "norse")
    if lib == "spikingjelly":
        return spikingjelly_readout(torch)
    raise ValueError(lib)


class Net:
    """Three Linears and the library's neurons; forward returns (mean readout membrane, LIF spikes)."""

    def __init__(self, torch, lif_runs, readout, layers, scales):
        self.torch = torch
        self.lifs = lif_runs
        self.readout = readout
        self.fcs = []
        for (w, b), scale in zip(layers, scales):
            fc = torch.nn.Linear(w.shape[1], w.shape[0])
            with torch.no_grad():
                fc.weight.copy_(torch.from_numpy(w) * scale)
                fc.bias.copy_(torch.from_numpy(b) * scale)
            self.fcs.append(fc)

    def parameters(self):
        return [p for fc in self.fcs for p in fc.parameters()]

    def forward(self, x):
        h, spikes = x, []
        for fc, lif in zip(self.fcs, self.lifs):
            h = lif(fc(h))
            spikes.append(h)
        return self.readout(self.fcs[-1](h)), spikes


def build(lib, torch, layers):
    """The network of lib on the generated layers; (net, description)."""
    lifs, desc = [], None
    for _ in range(2):
        run, desc, scale = lib_bench.make(lib, torch)
        lifs.append(run)
    readout, readout_scale = make_readout(lib, torch)
    return Net(torch, lifs, readout, layers, [scale, scale, readout_scale]), desc


def reference(torch, layers, x, labels):
    """SpikingJelly's reset convention (U = 0.95 (U - S) + y) in the plain loop: its expected
    spike counts and loss."""
    lifs = [lib_bench.torch_loop(torch, reset_decays=True) for _ in range(2)]
    net = Net(torch, lifs, torch_readout(torch)[0], layers, [1.0, 1.0, 1.0])
    with torch.no_grad():
        m, spikes = net.forward(x)
        loss = torch.nn.functional.cross_entropy(m, labels)
    return [float(s.sum()) for s in spikes], float(loss)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--lib", required=True, choices=["torch", "snntorch", "norse", "norse-cell", "spikingjelly"])
    ap.add_argument("--inputs", type=int, default=128)
    ap.add_argument("--hidden", type=int, default=128)
    ap.add_argument("--p", type=float, default=0.05, help="input spike probability")
    ap.add_argument("--steps", type=int, default=256)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--min-time", type=float, default=2.0)
    ap.add_argument("--threads", type=int, default=2)
    a = ap.parse_args()
    if min(a.inputs, a.hidden, a.steps, a.runs, a.threads) < 1 or not 0.0 < a.p <= 1.0:
        ap.error("--inputs, --hidden, --steps, --runs and --threads must be >= 1, --p in (0, 1]")

    import torch

    import lib_common

    torch.set_num_threads(a.threads)
    rss_import = rss_peak_bytes()
    xs, ls, layers = lib_common.sparse_problem(a.inputs, a.hidden, CLASSES, a.steps, BATCH, a.p, a.seed)
    x, labels = torch.from_numpy(xs), torch.from_numpy(ls)
    try:
        net, desc = build(a.lib, torch, layers)
    except Exception as e:  # an import or API failure: say exactly what, exit 3
        print(json.dumps({"lib": a.lib, "error": f"{type(e).__name__}: {e}"}))
        return 3
    opt = torch.optim.Adam(net.parameters(), lr=1e-3, betas=(0.9, 0.999), eps=1e-8)

    def step():
        t0 = time.perf_counter()
        opt.zero_grad(set_to_none=True)
        m, spikes = net.forward(x)
        loss = torch.nn.functional.cross_entropy(m, labels)
        loss.backward()
        opt.step()
        return time.perf_counter() - t0, float(loss.detach()), [float(s.detach().sum()) for s in spikes]

    _, first_loss, first_spikes = step()  # the check, on the initial weights
    step()  # warm-up
    times = []
    while len(times) < a.runs or sum(times) < a.min_time:
        times.append(step()[0])
    res = {
        "lib": a.lib,
        "desc": desc,
        "inputs": a.inputs,
        "hidden": a.hidden,
        "p": a.p,
        "steps": a.steps,
        "batch": BATCH,
        "threads": torch.get_num_threads(),
        "runs": len(times),
        "step_ms": 1e3 * median(times),
        "min_ms": 1e3 * min(times),
        "first_loss": first_loss,
        "layer_spikes": first_spikes,
        "input_spikes": float(xs.sum()),
        "peak_rss_bytes": rss_peak_bytes(),
        "rss_after_import_bytes": rss_import,
    }
    if a.lib == "spikingjelly":  # its own reset convention, checked against the torch loop
        res["reference_spikes"], res["reference_loss"] = reference(torch, layers, x, labels)
    print(json.dumps(res))
    return 0


if __name__ == "__main__":
    sys.exit(main())
