#!/usr/bin/env bash
# Create or refresh the project virtual environment used by `make demo` and `make test`.
#
# - Reuses a torch that the base interpreter already has (e.g. a CUDA build on a GPU machine) by
#   creating the venv with --system-site-packages; otherwise installs torch==${TORCH_VERSION}.
# - Compiles mmcv 2.1.0 with ops from the PyPI source once (about 10 minutes on 2 cores); pip's
#   wheel cache makes later installs fast.
# - Re-runs only when requirements/ or setup.py changed (stamp file in the venv).
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON=${PYTHON:-python3}
VENV=${VENV:-.venv}
TORCH_VERSION=${TORCH_VERSION:-2.13.0}
MMCV_VERSION=${MMCV_VERSION:-2.1.0}
STAMP="$VENV/.mmvidseg-installed"
HASH=$(cat requirements/*.txt setup.py tools/setup_env.sh | sha1sum | cut -d' ' -f1)

if [[ -f "$STAMP" && "$(cat "$STAMP")" == "$HASH" ]]; then
    exit 0
fi

# a venv whose creation was interrupted (no python, or no pip in it) is made again
if [[ -e "$VENV" ]] && ! "$VENV/bin/python" -m pip --version >/dev/null 2>&1; then
    echo "[setup_env] $VENV is incomplete (interrupted set-up?): creating it again"
    rm -rf "$VENV"
fi
if [[ ! -x "$VENV/bin/python" ]]; then
    if "$PYTHON" -c "import torch" >/dev/null 2>&1; then
        echo "[setup_env] reusing the base interpreter's torch ($("$PYTHON" -c 'import torch; print(torch.__version__)'))"
        "$PYTHON" -m venv --system-site-packages "$VENV"
    else
        "$PYTHON" -m venv "$VENV"
    fi
fi
PY="$VENV/bin/python"
PIP=("$PY" -m pip install --progress-bar off)

"${PIP[@]}" "pip>=23" "setuptools<70" wheel ninja
if ! "$PY" -c "import torch" >/dev/null 2>&1; then
    echo "[setup_env] installing torch==$TORCH_VERSION"
    "${PIP[@]}" "torch==$TORCH_VERSION"
fi
# torch pulls setuptools>=77, which lacks the pkg_resources that the mmcv 2.1.0 build and mmengine's
# package helpers import; setuptools<70 works for both (pip reports the pin as a conflict with torch's
# metadata, which only matters when building torch extensions with setuptools>=77 features).
"${PIP[@]}" -r requirements/runtime.txt "mmengine>=0.10.0,<0.11.0" addict yapf packaging pyyaml "setuptools<70"

if ! "$PY" - "$MMCV_VERSION" <<'PYEOF' >/dev/null 2>&1
import sys
import mmcv
from mmcv.ops import ModulatedDeformConv2d  # noqa: F401 (needs the compiled ops)
assert mmcv.__version__ == sys.argv[1]
PYEOF
then
    echo "[setup_env] building mmcv==$MMCV_VERSION with ops (about 10 minutes the first time)"
    MMCV_WITH_OPS=1 MAX_JOBS=${MAX_JOBS:-$(nproc)} "${PIP[@]}" --no-build-isolation "mmcv==$MMCV_VERSION"
fi
"${PIP[@]}" -r requirements/mminstall.txt -r requirements/tests.txt -r requirements/optional.txt
"${PIP[@]}" --no-build-isolation --no-deps -e .
echo "$HASH" > "$STAMP"
"$PY" -m mmvidseg.utils.collect_env || true
