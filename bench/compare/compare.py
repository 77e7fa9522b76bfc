#!/usr/bin/env python3
"""Interleaved training-throughput comparison: `spikecl train --preset mlp` (or `--preset
conv`) against the same network in snnTorch and in a plain PyTorch loop (fmnist_snntorch.py).
Run through run.sh.

Each round runs every configuration once, in the same order (A B C ... A B C ...), so that all
of them see the same machine load; the table gives medians over rounds and the ratios
spikecl / other at the same thread count, both as a ratio of medians and as the range of the
per-round ratios.
"""
import argparse
import json
import os
import platform
import re
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
SCRIPT = os.path.join(HERE, "fmnist_snntorch.py")


def loadavg():
    with open("/proc/loadavg") as f:
        return " ".join(f.read().split()[:3])


def run_child(cmd, env_extra=None):
    """Run cmd; return (rc, output, wall seconds, peak RSS MiB of that child)."""
    env = dict(os.environ)
    env.update(env_extra or {})
    with tempfile.TemporaryFile(mode="w+") as out:
        t0 = time.perf_counter()
        p = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, env=env, cwd=ROOT)
        _, status, ru = os.wait4(p.pid, 0)
        wall = time.perf_counter() - t0
        p.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        return p.returncode, out.read(), wall, ru.ru_maxrss / 1024.0


SPIKECL_EPOCH = re.compile(r"^epoch \d+/\d+: .*test accuracy ([\d.]+)%, ([\d.]+) s \(([\d.]+) img/s\)", re.M)
PY_TRAIN = re.compile(r"^train: .* in ([\d.]+) s: ([\d.]+) img/s", re.M)
TRAIN_LINE = re.compile(r"^epoch \d+/\d+: loss ([\d.]+), train accuracy ([\d.]+)%", re.M)
PY_ACC = re.compile(r"^test accuracy: ([\d.]+)%", re.M)


class Config:
    def __init__(self, name, kind, threads, fc1="once", variant=None, env=None):
        self.name, self.kind, self.threads, self.fc1, self.variant = name, kind, threads, fc1, variant
        self.env = env or {}

    def command(self, spikecl, python, preset, images, limit_test):
        """images or limit_test 0: all of them."""
        if self.kind == "spikecl":
            cmd = [spikecl, "train", "--preset", preset, "--epochs", "1"]
            cmd += ["--limit-train", str(images)] if images else []
            cmd += ["--limit-test", str(limit_test)] if limit_test else []
            env = {} if self.threads == 2 else {"POCL_MAX_PTHREAD_COUNT": str(self.threads)}
            return cmd, env
        cmd = [python, SCRIPT, "--preset", preset, "--variant", self.variant, "--fc1", self.fc1,
               "--threads", str(self.threads),
               "--epochs", "1", "--images", str(images), "--eval"]
        cmd += ["--test-images", str(limit_test)] if limit_test else []
        return cmd, dict(self.env)

    @staticmethod
    def training(out):
        """(mean loss, train accuracy %) of the last epoch: both programs print them alike."""
        m = TRAIN_LINE.findall(out)
        return (float(m[-1][0]), float(m[-1][1])) if m else (None, None)

    def parse(self, out):
        """(img/s, test accuracy % or None)"""
        if self.kind == "spikecl":
            m = SPIKECL_EPOCH.findall(out)
            if not m:
                return None, None
            return float(m[-1][2]), float(m[-1][0])
        m, a = PY_TRAIN.search(out), PY_ACC.search(out)
        return (float(m.group(2)) if m else None), (float(a.group(1)) if a else None)


# PyTorch's OpenMP threads spin while they wait (libgomp's default). On a 2-core machine
# shared with other work that makes 2 threads up to 30x slower than 1; OMP_WAIT_POLICY=PASSIVE
# lets them sleep instead. Both are measured.
PASSIVE = {"OMP_WAIT_POLICY": "PASSIVE"}
CONFIGS = {
    "spikecl": Config("spikecl", "spikecl", 2),
    "snntorch": Config("snntorch", "py", 2, "once", "snntorch"),
    "snntorch-passive": Config("snntorch", "py", 2, "once", "snntorch", PASSIVE),
    "torch": Config("torch-loop", "py", 2, "once", "torch"),
    "torch-passive": Config("torch-loop", "py", 2, "once", "torch", PASSIVE),
    "snntorch-per-step": Config("snntorch", "py", 2, "per-step", "snntorch"),
    "snntorch-per-step-passive": Config("snntorch", "py", 2, "per-step", "snntorch", PASSIVE),
    "spikecl-1t": Config("spikecl", "spikecl", 1),
    "snntorch-1t": Config("snntorch", "py", 1, "once", "snntorch"),
    "torch-1t": Config("torch-loop", "py", 1, "once", "torch"),
    "snntorch-per-step-1t": Config("snntorch", "py", 1, "per-step", "snntorch"),
}
DEFAULT_CONFIGS = ("spikecl,snntorch,snntorch-passive,torch-passive,snntorch-per-step-passive,"
                   "spikecl-1t,snntorch-1t,torch-1t")


def versions(python, spikecl):
    v = {"python": platform.python_version()}
    code = "import torch, snntorch, numpy; print(torch.__version__, snntorch.__version__, numpy.__version__)"
    r = subprocess.run([python, "-c", code], capture_output=True, text=True)
    if r.returncode == 0:
        t, s, n = r.stdout.split()[:3]
        v.update(torch=t, snntorch=s, numpy=n)
    r = subprocess.run([python, "-c", "import torch; print(torch.__config__.parallel_info())"],
                       capture_output=True, text=True)
    m = re.search(r"ATen parallel backend: (.*)", r.stdout)
    v["torch_parallel"] = m.group(1).strip() if m else "?"
    r = subprocess.run([spikecl, "devices"], capture_output=True, text=True)
    v["spikecl_devices"] = r.stdout.strip()
    try:
        v["commit"] = subprocess.run(["git", "-C", ROOT, "rev-parse", "--short", "HEAD"], capture_output=True,
                                     text=True).stdout.strip()
        dirty = subprocess.run(["git", "-C", ROOT, "diff", "--quiet", "HEAD"]).returncode != 0
        v["commit"] += " (+ local changes)" if dirty else ""
    except OSError:
        pass
    return v


def machine():
    cpu = "?"
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    with open("/proc/meminfo") as f:
        mem = f.readline().split(":", 1)[1].strip()
    return {"date": time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime()), "host": " ".join(platform.uname()[2:5:2]),
            "nproc": os.cpu_count(), "cpu": cpu, "memory": mem}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--spikecl", default=os.path.join(ROOT, "build-bench/src/spikecl"))
    ap.add_argument("--preset", choices=("mlp", "conv"), default="mlp")
    ap.add_argument("--images", type=int, help="training images per run (default: mlp 12800, conv 2560)")
    ap.add_argument("--limit-test", type=int, default=1000)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--configs", default=DEFAULT_CONFIGS,
                    help="comma-separated, from: " + ", ".join(CONFIGS))
    ap.add_argument("--full", default="", help="after the rounds, one full epoch (60000 images, 10000 test "
                    "images) with test accuracy for these configs (comma-separated), e.g. spikecl,snntorch")
    ap.add_argument("--json", default=os.path.join(ROOT, "build-bench/bench-results/compare.json"))
    a = ap.parse_args()
    a.images = a.images or (2560 if a.preset == "conv" else 12800)
    python = sys.executable
    configs = [CONFIGS[c] for c in a.configs.split(",") if c]
    keys = [c for c in a.configs.split(",") if c]

    info = {"machine": machine(), "versions": versions(python, a.spikecl), "preset": a.preset, "images": a.images,
            "rounds": a.rounds, "load_before": loadavg()}
    print("== machine")
    for k, v in info["machine"].items():
        print(f"{k + ':':9}{v}")
    print(f"load:    {info['load_before']} (1, 5, 15 min) before")
    print("== versions")
    for k, v in info["versions"].items():
        print(f"{k + ':':17}{v}".replace("\n", "\n" + " " * 17))
    sys.stdout.flush()

    # Untimed: fill spikecl's and PoCL's kernel caches and the page cache (data, Python modules).
    run_child(CONFIGS["spikecl"].command(a.spikecl, python, a.preset, 256, 128)[0])
    run_child([python, "-c", "import torch, snntorch"])

    results = {k: [] for k in keys}
    print(f"\n== {a.rounds} rounds of {', '.join(keys)} on {a.images} training images each")
    for r in range(a.rounds):
        for k, c in zip(keys, configs):
            cmd, env = c.command(a.spikecl, python, a.preset, a.images, a.limit_test)
            if r == 0:
                print("  + " + " ".join([f"{e}={v}" for e, v in env.items()] + [os.path.relpath(x, ROOT)
                      if x.startswith(ROOT) else x for x in cmd]), flush=True)
            rc, out, wall, rss = run_child(cmd, env)
            rate, acc = c.parse(out)
            if rc != 0 or rate is None:
                print(f"round {r + 1} {k}: FAILED (exit {rc})\n{out[-2000:]}", file=sys.stderr)
                sys.exit(1)
            loss, train_acc = c.training(out)
            results[k].append({"img_per_s": rate, "wall_s": wall, "peak_rss_mib": rss, "load": loadavg(),
                               "loss": loss, "train_accuracy": train_acc, "test_accuracy": acc})
            print(f"round {r + 1}  {k:22} {rate:9.1f} img/s  (process {wall:5.1f} s, peak RSS {rss:5.0f} MiB, "
                  f"load {loadavg()}; loss {loss}, train {train_acc}%, test {acc}%)", flush=True)

    info["load_after_rounds"] = loadavg()
    info["results"] = results
    print(f"\n== training throughput, preset {a.preset}, {a.images} images, median of {a.rounds} interleaved rounds "
          f"(load {info['load_before']} -> {info['load_after_rounds']})")
    print(f"| config | threads | median img/s | min | max | peak RSS MiB | spikecl / this (ratio of medians) "
          f"| per-round ratios |")
    print("|---|---:|---:|---:|---:|---:|---:|---|")
    summary = {}
    for k, c in zip(keys, configs):
        rates = [x["img_per_s"] for x in results[k]]
        med = statistics.median(rates)
        rss = statistics.median(x["peak_rss_mib"] for x in results[k])
        ref = next((kk for kk, cc in zip(keys, configs) if cc.kind == "spikecl" and cc.threads == c.threads), None)
        ratio, per_round = "", ""
        if ref and ref != k:
            ref_rates = [x["img_per_s"] for x in results[ref]]
            ratio = f"{statistics.median(ref_rates) / med:.2f}"
            per_round = ", ".join(f"{x / y:.2f}" for x, y in zip(ref_rates, rates))
        summary[k] = {"median_img_per_s": med, "min": min(rates), "max": max(rates), "peak_rss_mib": rss,
                      "spikecl_ratio": float(ratio) if ratio else None}
        name = c.name + (f", fc1 {c.fc1}" if c.kind == "py" else "")
        name += "".join(f", {e}={v}" for e, v in c.env.items())
        name += (", POCL_MAX_PTHREAD_COUNT=1" if c.kind == "spikecl" and c.threads == 1 else "")
        print(f"| {name} | {c.threads} | {med:.0f} | {min(rates):.0f} | {max(rates):.0f} | {rss:.0f} | {ratio} "
              f"| {per_round} |")
    info["summary"] = summary

    if a.full:
        print("\n== one full epoch (60000 training images, 10000 test images), test accuracy")
        info["full"] = {}
        for k in a.full.split(","):
            c = CONFIGS[k]
            cmd, env = c.command(a.spikecl, python, a.preset, 0, 0)
            print("  + " + " ".join([f"{e}={v}" for e, v in env.items()] + [os.path.relpath(x, ROOT)
                  if x.startswith(ROOT) else x for x in cmd]), flush=True)
            before = loadavg()
            rc, out, wall, rss = run_child(cmd, env)
            rate, acc = c.parse(out)
            if rc != 0:
                print(f"{k}: FAILED (exit {rc})\n{out[-2000:]}", file=sys.stderr)
                continue
            loss, train_acc = c.training(out)
            info["full"][k] = {"img_per_s": rate, "test_accuracy": acc, "wall_s": wall, "peak_rss_mib": rss,
                               "loss": loss, "train_accuracy": train_acc, "load_before": before,
                               "load_after": loadavg()}
            print(f"{k:22} test accuracy {acc:.2f}%  (loss {loss}, train accuracy {train_acc}%)  "
                  f"train {rate:.0f} img/s  process {wall:.0f} s  "
                  f"peak RSS {rss:.0f} MiB  load {before} -> {loadavg()}", flush=True)

    info["load_after"] = loadavg()
    print(f"\nload after: {info['load_after']}")
    os.makedirs(os.path.dirname(a.json), exist_ok=True)
    with open(a.json, "w") as f:
        json.dump(info, f, indent=1)
    print(f"JSON written to {a.json}")


if __name__ == "__main__":
    main()
