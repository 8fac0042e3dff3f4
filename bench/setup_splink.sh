#!/usr/bin/env bash
# Creates the separate virtualenv Splink runs in (.venv-splink at the repository root) and installs
# splink with its DuckDB backend there. Splink's pins (pandas, numpy, duckdb, sqlglot, ...) must not
# touch the hub's .venv or pyproject, so bench/splink_run.py runs in this venv as a subprocess.
#
#   bash bench/setup_splink.sh            # idempotent: a stamp file records what was installed
#   SPLINK_VERSION=5.0.0 bash bench/setup_splink.sh
#   PYTHON=python3.12 bash bench/setup_splink.sh
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${SPLINK_VENV:-$ROOT/.venv-splink}"
PYTHON="${PYTHON:-python3.11}"
SPLINK_VERSION="${SPLINK_VERSION:-5.0.0}"
STAMP="$VENV/.splink-installed"
WANT="splink==$SPLINK_VERSION"

if [[ -f "$STAMP" && "$(cat "$STAMP")" == "$WANT" && -x "$VENV/bin/python" ]]; then
    echo "Splink venv up to date: $VENV ($WANT)"
    echo "python: $VENV/bin/python"
    exit 0
fi

if [[ ! -x "$VENV/bin/python" ]]; then
    echo "Creating $VENV with $PYTHON"
    "$PYTHON" -m venv "$VENV"
fi

"$VENV/bin/python" -m pip install --quiet --upgrade pip
# splink's core dependencies include duckdb (the default backend); psutil is optional but lets
# splink_run.py report more about memory if wanted.
"$VENV/bin/python" -m pip install --quiet "$WANT" psutil
"$VENV/bin/python" - <<'PY'
import duckdb
import splink

print(f"splink {splink.__version__}, duckdb {duckdb.__version__}")
PY

echo "$WANT" > "$STAMP"
echo "Splink venv ready: $VENV ($WANT)"
echo "python: $VENV/bin/python"
