#!/usr/bin/env python3
"""Compare the loss and gradients of one batch between spikecl (grad_check.c's output) and
fmnist_snntorch.py's two variants, from the same weights (a spikecl mlp checkpoint).

    build-bench/src/spikecl train --preset mlp --epochs 1 --limit-train 2560 --out /tmp/mlp.ckpt
    build-bench/grad_check /tmp/mlp.ckpt /tmp/grads.bin
    bench/compare/.venv/bin/python bench/compare/grad_check.py /tmp/mlp.ckpt /tmp/grads.bin
"""
import os
import struct
import sys

import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import fmnist_snntorch as m  # noqa: E402


def read_grads(path):
    with open(path, "rb") as f:
        d = f.read()
    (n,) = struct.unpack_from("<I", d, 0)
    o, grads = 4, {}
    for _ in range(n):
        (ln,) = struct.unpack_from("<I", d, o)
        name = d[o + 4 : o + 4 + ln].decode()
        o += 4 + ln
        (count,) = struct.unpack_from("<Q", d, o)
        grads[name] = np.frombuffer(d, dtype="<f4", count=count, offset=o + 8)
        o += 8 + 4 * count
    (loss,) = struct.unpack_from("<f", d, o)
    return grads, loss


def main():
    ckpt, grads_path = sys.argv[1], sys.argv[2]
    batch = int(sys.argv[3]) if len(sys.argv) > 3 else 128
    torch.set_num_threads(1)
    ref, ref_loss = read_grads(grads_path)
    x, y = m.load_split("/usr/share/datasets/fashion-mnist", "train")
    x, y = m.to_float(x[:batch]), y[:batch]
    worst = 0.0
    for cls in (m.SnnTorchMLP, m.TorchMLP):
        model = cls(784, 256, 10, 25, False)
        m.load_spikecl_checkpoint(ckpt, model)
        loss = F.cross_entropy(model(x).mean(0), y)
        loss.backward()
        print(f"{cls.__name__}: loss {loss.item():.6f} (spikecl {ref_loss:.6f})")
        for name, p in (("0.weight", model.fc1.weight), ("0.bias", model.fc1.bias),
                        ("2.weight", model.fc2.weight), ("2.bias", model.fc2.bias)):
            g, r = p.grad.numpy().ravel(), ref[name]
            rel = float(np.abs(g - r).max() / max(np.abs(r).max(), 1e-30))
            worst = max(worst, rel)
            print(f"  {name:9} max |torch - spikecl| / max |spikecl| = {rel:.2e}   "
                  f"(max |grad| {np.abs(r).max():.3e})")
    print(f"worst relative difference: {worst:.2e}")


if __name__ == "__main__":
    main()
