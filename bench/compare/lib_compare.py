"""The library comparison of BENCHMARKS.md §1: spikecl against snnTorch, Norse, SpikingJelly and a
plain PyTorch loop, one process per measurement, interleaved in rounds (A B C D E A B C D E ...)
so that every side sees the same load; medians over rounds of each process's medians.

Every side computes Linear(n, n) + LIF on the same x and weights (lib_common.py, drawn as
`spikecl bench` draws them), so the spike counts must agree; the check is printed.
Not run by CI or the tests.
"""

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
PEERS = ["snntorch", "norse", "norse-cell", "spikingjelly"]
ALL = ["spikecl"] + PEERS + ["torch"]


def spikecl_rows(a, args, env):
    """`spikecl bench ARGS --runs --min-time [--device] --json`: its rows, or {"error": ...}."""
    with tempfile.TemporaryDirectory() as d:
        out = os.path.join(d, "bench.json")
        cmd = [a.spikecl, "bench", *args, "--runs", str(a.runs), "--min-time", str(a.min_time), "--json", out]
        if a.device:
            cmd += ["--device", a.device]
        p = subprocess.run(cmd, env=env, capture_output=True, text=True)
        if p.returncode != 0:
            return {"error": f"exit {p.returncode}: {p.stderr.strip()[-500:]}"}
        with open(out) as f:
            return json.load(f)["rows"]


def run_spikecl(a, n, env):
    rows = spikecl_rows(a, ["--suites", "lib", "--sizes", str(n), "--steps", str(a.steps), "--batch", str(a.batch)],
                        env)
    if isinstance(rows, dict):  # an error
        return rows
    by = {r["what"]: r for r in rows if r["suite"] == "lib"}
    r = by["fwd+bwd"]
    return {"desc": f"spikecl ({r['device']}, gemm {r['gemm_backend']})", "forward_ms": by["forward"]["median_ms"],
            "backward_ms": by["backward"]["median_ms"], "total_ms": r["median_ms"], "spikes": r["value"],
            "peak_rss_bytes": r["peak_rss_bytes"], "runs": r["runs"], "launches": r["launches_per_step"]}


def run_json(cmd, env):
    """Run one measuring process; its last JSON line, or {"error": ...}."""
    p = subprocess.run(cmd, env=env, capture_output=True, text=True, cwd=HERE)
    lines = [l for l in p.stdout.splitlines() if l.startswith("{")]
    if not lines:
        return {"error": f"exit {p.returncode}: {p.stderr.strip()[-500:]}"}
    r = json.loads(lines[-1])
    return r if p.returncode == 0 else {"error": r.get("error", f"exit {p.returncode}")}


def run_python(a, lib, n, env):
    cmd = [sys.executable, os.path.join(HERE, "lib_bench.py"), "--lib", lib, "--n", str(n), "--steps", str(a.steps),
           "--batch", str(a.batch), "--runs", str(a.runs), "--min-time", str(a.min_time), "--threads", str(a.threads)]
    return run_json(cmd, env)


def add_thread_args(ap):
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--omp-wait", choices=["passive", "default"], default="passive",
                    help="PyTorch's OpenMP threads sleep while waiting (passive, default) or spin (libgomp's "
                         "default, up to 30x slower on a shared 2-core machine: see RESULTS.md)")


def thread_env(a):
    """The same threads on every side: torch's OpenMP, OpenBLAS, PoCL's CPU device."""
    env = dict(os.environ, OMP_NUM_THREADS=str(a.threads), OPENBLAS_NUM_THREADS=str(a.threads),
               MKL_NUM_THREADS=str(a.threads), POCL_MAX_PTHREAD_COUNT=str(a.threads))
    if a.omp_wait == "passive":
        env["OMP_WAIT_POLICY"] = "PASSIVE"
    print(f"date {time.strftime('%Y-%m-%d %H:%M:%S UTC', time.gmtime())}; {platform.node()}; {os.cpu_count()} CPUs; "
          f"threads {a.threads}; OMP_WAIT_POLICY {env.get('OMP_WAIT_POLICY', 'default')}; load {os.getloadavg()}")
    return env


def write_json(path, doc):
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        json.dump(doc, f, indent=1)
    os.replace(tmp, path)


def med(vals):
    return statistics.median(vals) if vals else float("nan")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--spikecl", default=os.path.join(HERE, "..", "..", "build-bench", "src", "spikecl"))
    ap.add_argument("--sizes", default="512,1024", help="comma-separated n (default 512,1024)")
    ap.add_argument("--libs", default=",".join(ALL), help=f"comma-separated subset of {','.join(ALL)}")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--runs", type=int, default=3, help="timed runs per process after one warm-up")
    ap.add_argument("--min-time", type=float, default=2.0, help="and at least this many seconds per process")
    add_thread_args(ap)
    ap.add_argument("--steps", type=int, default=500)
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument("--device", help="spikecl --device")
    ap.add_argument("--json", help="write every round's results here")
    a = ap.parse_args()
    sizes = [int(s) for s in a.sizes.split(",")]
    libs = a.libs.split(",")
    bad = [l for l in libs if l not in ALL]
    if bad or not sizes or min(sizes) < 1 or a.rounds < 1:
        ap.error(f"unknown libs {bad} or bad sizes/rounds")
    env = thread_env(a)
    print(f"T={a.steps} B={a.batch}; rounds {a.rounds}, each process: 1 warm-up + >= {a.runs} runs, >= {a.min_time} s")
    results = {n: {l: [] for l in libs} for n in sizes}
    unavailable = {}
    for n in sizes:
        for r in range(a.rounds):
            for lib in libs:
                if lib in unavailable:
                    continue
                t0 = time.time()
                res = run_spikecl(a, n, env) if lib == "spikecl" else run_python(a, lib, n, env)
                if "error" in res:
                    print(f"  n={n} round {r + 1} {lib}: FAILED {res['error']}", flush=True)
                    unavailable[lib] = res["error"]
                    continue
                results[n][lib].append(res)
                print(f"  n={n} round {r + 1} {lib:12s} fwd {res['forward_ms']:9.1f} ms  bwd {res['backward_ms']:9.1f}"
                      f" ms  spikes {res['spikes']:.0f}  ({time.time() - t0:.0f} s)", flush=True)
    print(f"load at the end {os.getloadavg()}")
    summary = report(a, sizes, libs, results, unavailable)
    if a.json:
        write_json(a.json, {"args": vars(a), "results": {str(k): v for k, v in results.items()}, "summary": summary,
                            "unavailable": unavailable, "loadavg_end": os.getloadavg()})


def report(a, sizes, libs, results, unavailable):
    summary = {}
    for n in sizes:
        rows = {}
        for lib in libs:
            rs = results[n][lib]
            if rs:
                rows[lib] = {k: med([x[k] for x in rs]) for k in ("forward_ms", "backward_ms", "total_ms")}
                rows[lib].update(spikes=rs[-1]["spikes"], rss_mb=max(x["peak_rss_bytes"] or 0 for x in rs) / 1e6,
                                 desc=rs[-1]["desc"], rounds=len(rs), reference_spikes=rs[-1].get("reference_spikes"))
        summary[n] = rows
        base = rows.get("spikecl")
        print(f"\nn = {n}: medians over rounds (ms); x = time / spikecl time (> 1: spikecl faster)")
        print(f"{'library':14s} {'forward':>9s} {'backward':>9s} {'fwd+bwd':>9s} {'x':>7s} {'peak RSS MB':>12s} "
              f"{'spikes':>10s} {'rel. diff':>10s}  implementation")
        for lib, r in rows.items():
            x = r["total_ms"] / base["total_ms"] if base else float("nan")
            if r["reference_spikes"] is not None:  # SpikingJelly: its own reset convention, see lib_bench.py
                ref = r["reference_spikes"]
                note = f" (vs torch loop with its reset: {abs(r['spikes'] - ref) / max(ref, 1):.1e})"
                diff = "n/a"
            else:
                note = ""
                diff = f"{abs(r['spikes'] - base['spikes']) / max(base['spikes'], 1):.1e}" if base else "?"
            print(f"{lib:14s} {r['forward_ms']:9.1f} {r['backward_ms']:9.1f} {r['total_ms']:9.1f} {x:7.2f} "
                  f"{r['rss_mb']:12.0f} {r['spikes']:10.0f} {diff:>10s}  {r['desc']}{note}")
        peers = [(rows[p]["total_ms"], p) for p in PEERS if p in rows]
        if base and peers:
            t, p = min(peers)
            print(f"spikecl vs the fastest peer ({p}): {t / base['total_ms']:.2f}x "
                  f"({'spikecl faster' if t > base['total_ms'] else 'spikecl slower'})")
    for lib, err in unavailable.items():
        print(f"{lib}: unavailable: {err}")
    return summary


if __name__ == "__main__":
    main()
