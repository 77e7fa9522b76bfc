#!/usr/bin/env bash
# Creates bench/compare/.venv (git-ignored) with torch, snntorch and numpy from PyPI, for
# bench/compare/run.sh, then adds norse and spikingjelly for the library comparison
# (run.sh --lib). Never run by CI or the tests.
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

optional() { # package module: install it without touching torch; report, never fail
    local pkg=$1 mod=$2 log="$venv/$1-install.log"
    if "$venv/bin/python" -c "import $mod" >/dev/null 2>&1; then
        return
    fi
    "$venv/bin/pip" freeze --disable-pip-version-check | grep -i '^torch==' >"$venv/constraints.txt"
    if ! "$venv/bin/pip" install --disable-pip-version-check --no-input -c "$venv/constraints.txt" "$pkg" >"$log" 2>&1; then
        echo "setup.sh: installing $pkg failed; lib_compare.py will skip it. Last lines of $log:" >&2
        tail -n 5 "$log" >&2
        return
    fi
    if ! "$venv/bin/python" -c "import $mod" >>"$log" 2>&1; then
        echo "setup.sh: $pkg installed but 'import $mod' fails; lib_compare.py will skip it. See $log" >&2
        tail -n 3 "$log" >&2
    fi
}

if [[ "${1:-}" == "--force" ]]; then
    rm -rf "$venv"
fi
if [[ -x "$venv/bin/python" ]] && check >/dev/null 2>&1; then
    echo "setup.sh: $venv is ready: $(check)"
else
    t0=$(date +%s)
    rm -rf "$venv"
    "$py" -m venv "$venv"
    "$venv/bin/pip" install --disable-pip-version-check --no-input torch snntorch numpy
    check
    echo "setup.sh: done in $(($(date +%s) - t0)) s; $venv uses $(du -sh "$venv" | cut -f1)"
fi
# The other peers of the library comparison (BENCHMARKS.md §1), each on its own so that one
# that fails leaves the rest working. On the development machine: norse 1.1.0 and
# spikingjelly 2.0.0 next to torch 2.15.0, with torchvision and torchaudio pulled in.
optional norse norse.torch
optional spikingjelly spikingjelly.activation_based.neuron
"$venv/bin/pip" list --disable-pip-version-check --format=freeze >"$venv/installed.txt"
grep -iE '^(torch|snntorch|numpy|norse|spikingjelly)==' "$venv/installed.txt"
