#!/usr/bin/env bash
# Creates bench/compare/.venv (git-ignored) with torch (CPU use only), snntorch and numpy from PyPI,
# for bench/compare/run.sh. Never run by CI or the tests.
#
# PyPI's Linux torch wheel declares ~3 GB of CUDA packages (nvidia-*, cuda-toolkit, triton) as
# dependencies. They are not needed to run on the CPU: by default this script installs torch
# with --no-deps plus its few pure-Python dependencies, then checks that torch imports and
# trains a step on the CPU. If that check fails it falls back to the full install
# (`SPIKECL_COMPARE_FULL_TORCH=1` forces the full install from the start).
#
# Usage: bench/compare/setup.sh            (idempotent: does nothing if the venv works)
#        bench/compare/setup.sh --force    (recreate the venv)
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
venv="$here/.venv"
py="${PYTHON:-python3}"

check() {
    "$venv/bin/python" - <<'PY'
import torch, snntorch, numpy
torch.set_num_threads(2)
m = torch.nn.Linear(4, 2)
loss = m(torch.ones(3, 4)).sum()
loss.backward()
assert m.weight.grad is not None
print(f"torch {torch.__version__} (CUDA available: {torch.cuda.is_available()}), "
      f"snntorch {snntorch.__version__}, numpy {numpy.__version__}")
PY
}

if [[ "${1:-}" == "--force" ]]; then
    rm -rf "$venv"
elif [[ -x "$venv/bin/python" ]] && check >/dev/null 2>&1; then
    echo "setup.sh: $venv is ready: $(check)"
    exit 0
fi

t0=$(date +%s)
rm -rf "$venv"
"$py" -m venv "$venv"
pip=("$venv/bin/pip" install --disable-pip-version-check --no-input)
if [[ "${SPIKECL_COMPARE_FULL_TORCH:-0}" != 1 ]]; then
    # torch's runtime dependencies other than the CUDA stack (see `pip show torch`).
    "${pip[@]}" --no-deps torch
    "${pip[@]}" filelock typing-extensions sympy networkx jinja2 fsspec "setuptools>=77"
    "${pip[@]}" --no-deps snntorch
    "${pip[@]}" numpy
    if ! check; then
        echo "setup.sh: torch without its CUDA dependencies does not work here; installing them" >&2
        "${pip[@]}" torch snntorch numpy
    fi
else
    "${pip[@]}" torch snntorch numpy
fi
check
t1=$(date +%s)
echo "setup.sh: done in $((t1 - t0)) s; $venv uses $(du -sh "$venv" | cut -f1)"
"$venv/bin/pip" list --disable-pip-version-check --format=freeze > "$here/.venv/installed.txt"
grep -iE '^(torch|snntorch|numpy)==' "$here/.venv/installed.txt"
