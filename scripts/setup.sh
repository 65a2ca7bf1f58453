#!/usr/bin/env bash
# Create .venv and install lucidsonicdreams into it (with the test extras when given "test").
# PyTorch comes first: the CPU build where there is no NVIDIA GPU (a plain `pip install torch` would pull
# several GB of CUDA packages), the normal build where there is one. A torch already in the venv is kept.
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=${VENV:-.venv}
PYTHON=${PYTHON:-python3}
[ -x "$VENV/bin/python" ] || "$PYTHON" -m venv "$VENV"
PIP="$VENV/bin/python -m pip"
if ! "$VENV/bin/python" -c "import torch" 2>/dev/null; then
    if command -v nvidia-smi >/dev/null 2>&1 && nvidia-smi -L >/dev/null 2>&1; then
        $PIP install torch
    else
        $PIP install "torch==2.13.0+cpu" 2>/dev/null \
            || $PIP install torch --index-url https://download.pytorch.org/whl/cpu
    fi
fi
extras=""
[ "${1:-}" = "test" ] && extras="[test]"
$PIP install -e ".${extras}"
