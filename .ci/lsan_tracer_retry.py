#!/usr/bin/env python3
"""Rerun, once, the test executables whose only failure is a crash of
LeakSanitizer's own tracer.

At process exit LSan stops every thread with a ptrace'd "tracer" to scan their
stacks. That tracer sometimes dies itself ("Tracer caught signal 11 ...
LeakSanitizer has encountered a fatal error"), a known intermittent fault of
the sanitizer runtime (google/sanitizers#1353, open since 2020) that we saw
once in CI in a test process with PoCL's worker threads alive. No leak check
ran in that process, so the honest answer is to run it again, not to count a
failure of the tool as one of ours, nor to turn leak checking off.

A run is retried only when its output has the tracer crash and no report of
our own: a leak ("detected memory leaks"), an ASan error, a UBSan "runtime
error", or a Criterion assertion failure ("[FAIL]"). Anything else still fails.

  lsan_tracer_retry.py list LOG            names of the runs to retry, one a line
  lsan_tracer_retry.py merge LOG RETRY     write LOG with those runs replaced by
                                           the ones in RETRY (meson's testlog.json)
"""
import json
import os
import re
import sys

TRACER = re.compile(r"Tracer caught signal \d+.*?LeakSanitizer has encountered a fatal error", re.S)
OURS = re.compile(
    r"LeakSanitizer: detected memory leaks|ERROR: AddressSanitizer|runtime error:|\[FAIL\] "
)


def load(path):
    with open(path) as f:
        return [json.loads(line) for line in f if line.strip()]


def output(run):
    return (run.get("stdout") or "") + (run.get("stderr") or "")


def to_retry(runs):
    return [
        r["name"]
        for r in runs
        if r.get("result") not in ("OK", "EXPECTEDFAIL", "SKIP")
        and TRACER.search(output(r))
        and not OURS.search(output(r))
    ]


def main(argv):
    if len(argv) == 3 and argv[1] == "list":
        print("\n".join(to_retry(load(argv[2]))))
        return 0
    if len(argv) == 4 and argv[1] == "merge":
        first, retry = load(argv[2]), {r["name"]: r for r in load(argv[3])}
        merged = [retry.get(r["name"], r) for r in first]
        tmp = argv[2] + ".tmp"
        with open(tmp, "w") as f:
            f.writelines(json.dumps(r) + "\n" for r in merged)
        os.replace(tmp, argv[2])
        return 0
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
