#!/usr/bin/env bash
# Creates bench/compare/.venv (git-ignored) with torch, snntorch and numpy from PyPI, for
# bench/compare/run.sh. Never run by CI or the tests.
#
# PyPI's Linux torch wheel (540 MB) depends on the CUDA stack: nvidia-*, cuda-toolkit,
# cuda-bindings and triton, about 3 GB more; the venv ends up at about 5.4 GB. These
# packages are not used on the CPU, but torch cannot do without them: installed with
# --no-deps, `import torch` fails with "libcufile.so.0: cannot open shared object file".
# Only PyPI can be reached here, so the CPU-only wheels of PyTorch's own index are not an
# option. On the development machine the install took about 2.5 minutes.
#
# Usage: bench/compare/setup.sh            (does nothing if the venv already works)
#        bench/compare/setup.sh --force    (recreate it)
# Environment: PYTHON (default python3, 3.10 or later).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
venv="$here/.venv"
py="${PYTHON:-python3}"

check() {
    "$venv/bin/python" - <<'PY'
import torch, snntorch, numpy
torch.set_num_threads(2)
m = torch.nn.Linear(4, 2)
m(torch.ones(3, 4)).sum().backward()
assert m.weight.grad is not None
print(f"torch {torch.__version__}, snntorch {snntorch.__version__}, numpy {numpy.__version__}")
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
"$venv/bin/pip" install --disable-pip-version-check --no-input torch snntorch numpy
check
echo "setup.sh: done in $(($(date +%s) - t0)) s; $venv uses $(du -sh "$venv" | cut -f1)"
"$venv/bin/pip" list --disable-pip-version-check --format=freeze >"$venv/installed.txt"
grep -iE '^(torch|snntorch|numpy)==' "$venv/installed.txt"
