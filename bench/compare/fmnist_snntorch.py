#!/usr/bin/env python3
"""The networks of `spikecl train --preset mlp` and `--preset conv`, written in snnTorch (or in
plain PyTorch), trained on Fashion-MNIST to time them against spikecl. See
bench/compare/README.md.

Networks (as src/cli/train_loop.c builds them), every LIF the same: beta 0.95, threshold 1,
subtract reset applied at the next step and detached, arctan surrogate alpha 2; the readout is
an LI layer (beta 0.95, no spikes); direct encoding (the same image at each step); loss =
cross-entropy of the time-mean readout membrane; Adam lr 2e-3 with cosine decay per batch to 0
over all epochs; the last partial batch is dropped.
  mlp   Linear(784, 256) -> LIF -> Linear(256, 10) -> LI; T = 25, batch 128.
  conv  Conv2d(1, 16, 5) -> LIF -> MaxPool2d(2) -> Conv2d(16, 48, 5) -> LIF -> MaxPool2d(2)
        -> Flatten (48 x 4 x 4) -> Linear(768, 10) -> LI; T = 8, batch 64.

Variants (--variant):
  snntorch  snn.Leaky neurons stepped in a Python loop over time, as snnTorch's tutorials do.
  torch     the same equations written by hand with a custom arctan-surrogate
            autograd.Function (no snnTorch), to separate snnTorch's overhead from PyTorch's.

--fc1 once|per-step: with a static input the first layer (Linear or Conv2d) gives the same
current at every step. "once" computes it once per batch and reuses it (what spikecl's
static-input mode does); "per-step" calls it inside the time loop, as snnTorch's tutorials
write it.

Timing: the training loop only: from the first batch to the last optimizer step of an epoch,
including, as spikecl's epoch time does, the gathering of each batch's bytes and their
conversion to float. Reading the IDX files, importing torch and one warm-up forward+backward
(discarded) come before the clock starts. Prints img/s, peak RSS and,
with --eval, the test accuracy. Uses only numpy + gzip to read the IDX files.
"""
import argparse
import gzip
import json
import math
import os
import resource
import struct
import sys
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

BETA = 0.95
THRESHOLD = 1.0
ALPHA = 2.0


def read_idx(path):
    """An IDX file (plain or .gz) as a numpy array."""
    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "rb") as f:
        data = f.read()
    zero, dtype, ndim = struct.unpack(">HBB", data[:4])
    if zero != 0 or dtype != 0x08:
        raise ValueError(f"{path}: not an unsigned-byte IDX file")
    shape = struct.unpack(">" + "I" * ndim, data[4 : 4 + 4 * ndim])
    return np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * ndim).reshape(shape)


def load_split(data_dir, split):
    prefix = "train" if split == "train" else "t10k"

    def find(kind):
        for name in (f"{prefix}-{kind}-idx{3 if kind == 'images' else 1}-ubyte",):
            for ext in (".gz", ""):
                p = os.path.join(data_dir, name + ext)
                if os.path.exists(p):
                    return p
        raise FileNotFoundError(f"no {prefix} {kind} in {data_dir}")

    images = read_idx(find("images"))
    labels = read_idx(find("labels"))
    # Kept as bytes, like spikecl: each batch is converted to float in [0, 1] when it is used.
    x = torch.from_numpy(images.reshape(len(images), -1).copy())
    y = torch.from_numpy(labels.astype(np.int64))
    return x, y


def to_float(x_u8):
    return x_u8.to(torch.float32).mul_(1.0 / 255.0)


def snn_lif():
    """The hidden LIF neurons in snnTorch. reset_delay=True (default): the reset of a spike at t
    is subtracted at t+1, and mem_reset() detaches it."""
    import snntorch as snn
    from snntorch import surrogate
    return snn.Leaky(beta=BETA, threshold=THRESHOLD, spike_grad=surrogate.atan(alpha=ALPHA),
                     reset_mechanism="subtract")


def snn_li():
    """The LI readout in snnTorch: its membrane, no spikes."""
    import snntorch as snn
    return snn.Leaky(beta=BETA, threshold=THRESHOLD, reset_mechanism="none")


class ATanSpike(torch.autograd.Function):
    """Heaviside forward (V - threshold >= 0, as spikecl), arctan surrogate backward:
    dS/du = (alpha/2) / (1 + (pi alpha u / 2)^2)."""

    @staticmethod
    def forward(ctx, u):
        ctx.save_for_backward(u)
        return (u >= 0).to(u.dtype)

    @staticmethod
    def backward(ctx, grad):
        (u,) = ctx.saved_tensors
        return grad * (ALPHA / 2) / (1 + (math.pi / 2 * ALPHA * u) ** 2)


def torch_lif(t, c, v, s):
    """One step of the hidden LIF layer by hand: V[t] = beta V[t-1] + x[t] - threshold S[t-1],
    S[t-1] detached (a spike is used with .detach() in the reset only); S[t] = H(V[t] - threshold).
    Returns (V[t], S[t])."""
    v = c if t == 0 else BETA * v + c - THRESHOLD * s.detach()
    return v, ATanSpike.apply(v - THRESHOLD)


def torch_li(t, c, v):
    """One step of the LI readout by hand: its membrane."""
    return c if t == 0 else BETA * v + c


class Stack(nn.Module):
    """forward(x) -> [T, B, classes] readout membranes: the first layer's current (`first`) once
    per batch (static input, as spikecl) or at every step, then `step` (the spiking layers and
    the readout) of the preset and variant."""

    def __init__(self, steps, fc1_per_step):
        super().__init__()
        self.steps = steps
        self.fc1_per_step = fc1_per_step

    def forward(self, x):
        cur1 = None if self.fc1_per_step else self.first(x)
        state = self.initial_state()
        mem_rec = []
        for t in range(self.steps):
            c1 = self.first(x) if self.fc1_per_step else cur1
            mem, state = self.step(t, c1, state)
            mem_rec.append(mem)
        return torch.stack(mem_rec)


class MLPStack(Stack):
    """The mlp preset's layers: fc1 - LIF - fc2 - LI."""

    def __init__(self, inputs, hidden, classes, steps, fc1_per_step):
        super().__init__(steps, fc1_per_step)
        self.fc1 = nn.Linear(inputs, hidden)
        self.fc2 = nn.Linear(hidden, classes)

    def first(self, x):
        return self.fc1(x)


class SnnTorchMLP(MLPStack):
    def __init__(self, inputs, hidden, classes, steps, fc1_per_step):
        super().__init__(inputs, hidden, classes, steps, fc1_per_step)
        self.lif1 = snn_lif()
        self.li = snn_li()

    def initial_state(self):
        return self.lif1.reset_mem(), self.li.reset_mem()

    def step(self, t, c1, state):
        mem1, mem2 = state
        spk1, mem1 = self.lif1(c1, mem1)
        _, mem2 = self.li(self.fc2(spk1), mem2)
        return mem2, (mem1, mem2)


class TorchMLP(MLPStack):
    def initial_state(self):
        return None

    def step(self, t, c1, state):
        v1, s1, v2 = state if t else (None,) * 3
        v1, s1 = torch_lif(t, c1, v1, s1)
        v2 = torch_li(t, self.fc2(s1), v2)
        return v2, (v1, s1, v2)


class ConvStack(Stack):
    """The conv preset's layers: conv5x5 - LIF - pool - conv5x5 - LIF - pool - fc - LI."""

    def __init__(self, channels, classes, steps, fc1_per_step):
        super().__init__(steps, fc1_per_step)
        c1, c2 = channels
        self.conv1 = nn.Conv2d(1, c1, 5)
        self.conv2 = nn.Conv2d(c1, c2, 5)
        self.pool = nn.MaxPool2d(2)
        self.fc = nn.Linear(c2 * 4 * 4, classes)  # 28 -> 24 -> 12 -> 8 -> 4

    def first(self, x):
        return self.conv1(x.view(-1, 1, 28, 28))


class SnnTorchConv(ConvStack):
    def __init__(self, channels, classes, steps, fc1_per_step):
        super().__init__(channels, classes, steps, fc1_per_step)
        self.lif1, self.lif2 = snn_lif(), snn_lif()
        self.li = snn_li()

    def initial_state(self):
        return self.lif1.reset_mem(), self.lif2.reset_mem(), self.li.reset_mem()

    def step(self, t, c1, state):
        mem1, mem2, mem3 = state
        spk1, mem1 = self.lif1(c1, mem1)
        spk2, mem2 = self.lif2(self.conv2(self.pool(spk1)), mem2)
        _, mem3 = self.li(self.fc(self.pool(spk2).flatten(1)), mem3)
        return mem3, (mem1, mem2, mem3)


class TorchConv(ConvStack):
    def initial_state(self):
        return None

    def step(self, t, c1, state):
        v1, s1, v2, s2, v3 = state if t else (None,) * 5
        v1, s1 = torch_lif(t, c1, v1, s1)
        v2, s2 = torch_lif(t, self.conv2(self.pool(s1)), v2, s2)
        v3 = torch_li(t, self.fc(self.pool(s2).flatten(1)), v3)
        return v3, (v1, s1, v2, s2, v3)


def load_spikecl_checkpoint(path, model):
    """Copy the dense weights of a `spikecl train --preset mlp --out` checkpoint (format in
    include/spikecl/checkpoint.h) into fc1 and fc2: a cross-check of the forward pass."""
    import zlib
    with open(path, "rb") as f:
        d = f.read()
    if d[:8] != b"SPKCKPT\0" or struct.unpack_from("<I", d, len(d) - 4)[0] != zlib.crc32(d[:-4]):
        raise ValueError(f"{path}: not a spikecl checkpoint, or corrupt")
    version, arch_len = struct.unpack_from("<II", d, 8)
    o = 16 + arch_len
    (count,) = struct.unpack_from("<I", d, o)
    o += 4
    params = {}
    for _ in range(count):
        (nl,) = struct.unpack_from("<I", d, o)
        name = d[o + 4 : o + 4 + nl].decode()
        o += 4 + nl
        (nd,) = struct.unpack_from("<I", d, o)
        shape = struct.unpack_from("<" + "Q" * nd, d, o + 4)
        o += 4 + 8 * nd
        size = int(np.prod(shape))
        params[name] = torch.from_numpy(np.frombuffer(d, dtype="<f4", count=size, offset=o).reshape(shape).copy())
        o += 4 * size
    with torch.no_grad():
        for layer, key in ((model.fc1, "0"), (model.fc2, "2")):
            layer.weight.copy_(params[key + ".weight"])
            layer.bias.copy_(params[key + ".bias"])
    print(f"loaded {path} ({d[16 : 16 + arch_len].decode()})")


def peak_rss_mib():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0  # KiB on Linux


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--preset", choices=("mlp", "conv"), default="mlp")
    ap.add_argument("--variant", choices=("snntorch", "torch"), default="snntorch")
    ap.add_argument("--fc1", choices=("once", "per-step"), default="once",
                    help="first layer once per batch (static input, as spikecl) or at every step")
    ap.add_argument("--images", type=int, default=0, help="train on the first N images (0: all 60000)")
    ap.add_argument("--epochs", type=int, default=1)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--batch", type=int, help="default: the preset's (mlp 128, conv 64)")
    ap.add_argument("--steps", type=int, help="default: the preset's (mlp 25, conv 8)")
    ap.add_argument("--hidden", type=int, default=256, help="mlp")
    ap.add_argument("--channels", default="16,48", help="conv: channels of the two convolutions")
    ap.add_argument("--lr", type=float, default=2e-3)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--eval", action="store_true", help="test accuracy after training")
    ap.add_argument("--test-images", type=int, default=0, help="with --eval: the first N test images (0: all)")
    ap.add_argument("--data", default="/usr/share/datasets/fashion-mnist")
    ap.add_argument("--json", help="also write the results to this file")
    ap.add_argument("--spikecl-checkpoint", metavar="CKPT",
                    help="start from the weights of a spikecl mlp checkpoint (with --epochs 0 --eval: "
                         "check that this forward pass gives spikecl's test accuracy)")
    a = ap.parse_args()
    conv = a.preset == "conv"
    a.batch = a.batch or (64 if conv else 128)
    a.steps = a.steps or (8 if conv else 25)
    if conv and a.spikecl_checkpoint:
        sys.exit("--spikecl-checkpoint reads mlp checkpoints only")

    torch.set_num_threads(a.threads)
    torch.manual_seed(a.seed)
    x_train, y_train = load_split(a.data, "train")
    if a.images:
        x_train, y_train = x_train[: a.images], y_train[: a.images]
    n = len(x_train)
    if n < a.batch:
        sys.exit(f"{n} training images are fewer than one batch of {a.batch}")
    n_batches = n // a.batch  # the last partial batch is dropped, as spikecl does
    classes = 10

    if conv:
        cls = SnnTorchConv if a.variant == "snntorch" else TorchConv
        model = cls([int(c) for c in a.channels.split(",")], classes, a.steps, a.fc1 == "per-step")
    else:
        cls = SnnTorchMLP if a.variant == "snntorch" else TorchMLP
        model = cls(x_train.shape[1], a.hidden, classes, a.steps, a.fc1 == "per-step")
    if a.spikecl_checkpoint:
        load_spikecl_checkpoint(a.spikecl_checkpoint, model)
    opt = torch.optim.Adam(model.parameters(), lr=a.lr)  # betas (0.9, 0.999), eps 1e-8, as spikecl

    def loss_of(xb, yb):
        mem = model(xb)  # [T, B, C]
        logits = mem.mean(0)
        return F.cross_entropy(logits, yb), logits

    # Warm-up (not timed, not applied): one forward + backward on the first batch.
    if a.epochs:
        loss, _ = loss_of(to_float(x_train[: a.batch]), y_train[: a.batch])
        loss.backward()
        opt.zero_grad(set_to_none=True)

    gen = torch.Generator().manual_seed(a.seed)
    total_s = 0.0
    epoch_rates = []
    for epoch in range(a.epochs):
        order = torch.randperm(n, generator=gen)  # (outside the clock: data loading)
        loss_sum, correct = 0.0, 0
        t0 = time.perf_counter()
        for bi in range(n_batches):
            done = (epoch * n_batches + bi) / (a.epochs * n_batches)
            for g in opt.param_groups:
                g["lr"] = 0.5 * a.lr * (1.0 + math.cos(math.pi * done))
            idx = order[bi * a.batch : (bi + 1) * a.batch]
            xb, yb = to_float(x_train[idx]), y_train[idx]
            loss, logits = loss_of(xb, yb)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            loss_sum += loss.item()
            correct += int((logits.argmax(1) == yb).sum())
        dt = time.perf_counter() - t0
        total_s += dt
        rate = n_batches * a.batch / dt
        epoch_rates.append(rate)
        print(f"epoch {epoch + 1}/{a.epochs}: loss {loss_sum / n_batches:.4f}, train accuracy "
              f"{100.0 * correct / (n_batches * a.batch):.2f}%, {dt:.1f} s ({rate:.1f} img/s)", flush=True)

    res = {
        "preset": a.preset, "variant": a.variant, "fc1": a.fc1, "threads": a.threads, "images": n_batches * a.batch,
        "epochs": a.epochs, "train_s": total_s, "img_per_s": a.epochs * n_batches * a.batch / total_s if a.epochs else None,
        "epoch_img_per_s": epoch_rates,
    }
    if a.epochs:
        print(f"train: {a.preset} {a.variant} (fc1 {a.fc1}), {a.threads} threads, {n_batches * a.batch} images x "
              f"{a.epochs} epochs in {total_s:.2f} s: {res['img_per_s']:.1f} img/s")
    if a.eval:
        x_test, y_test = load_split(a.data, "test")
        if a.test_images:
            x_test, y_test = x_test[: a.test_images], y_test[: a.test_images]
        correct = 0
        with torch.no_grad():
            for s in range(0, len(x_test), 1000):
                logits = model(to_float(x_test[s : s + 1000])).mean(0)
                correct += int((logits.argmax(1) == y_test[s : s + 1000]).sum())
        res["test_images"] = len(x_test)
        res["test_accuracy"] = correct / len(x_test)
        print(f"test accuracy: {100.0 * res['test_accuracy']:.2f}% on {len(x_test)} images")
    res["peak_rss_mib"] = peak_rss_mib()
    res["versions"] = {"python": sys.version.split()[0], "torch": torch.__version__, "numpy": np.__version__}
    if a.variant == "snntorch":
        import snntorch
        res["versions"]["snntorch"] = snntorch.__version__
    print(f"peak RSS: {res['peak_rss_mib']:.0f} MiB")
    if a.json:
        with open(a.json, "w") as f:
            json.dump(res, f, indent=1)


if __name__ == "__main__":
    main()
