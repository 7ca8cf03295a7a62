#!/usr/bin/env bash
# Create (once) the venv with Skalds 0.3.8 from PyPI that node_bench.py compares against.
# Idempotent: re-running only checks that the right version is installed.
#   bench/setup_baseline.sh            -> ~/.cache/skalds/bench/venv-skalds-0.3.8
#   SKALDS_BASELINE_VENV=/path bench/setup_baseline.sh
set -euo pipefail

VERSION="0.3.8"
VENV="${SKALDS_BASELINE_VENV:-${XDG_CACHE_HOME:-$HOME/.cache}/skalds/bench/venv-skalds-$VERSION}"
PYTHON="${PYTHON:-python3}"

if [[ ! -x "$VENV/bin/python" ]]; then
    echo "[baseline] creating $VENV"
    mkdir -p "$(dirname "$VENV")"
    "$PYTHON" -m venv "$VENV"
fi
installed="$("$VENV/bin/python" -c 'import importlib.metadata as m; print(m.version("skalds"))' 2>/dev/null || true)"
if [[ "$installed" != "$VERSION" ]]; then
    echo "[baseline] installing skalds==$VERSION into $VENV"
    "$VENV/bin/pip" install --quiet --disable-pip-version-check "skalds==$VERSION"
fi
"$VENV/bin/python" -I -c 'import importlib.metadata as m; print("[baseline] skalds", m.version("skalds"), "ready")'
echo "$VENV"
