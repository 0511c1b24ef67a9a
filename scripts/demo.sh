#!/usr/bin/env bash
# One command from a fresh clone to a running app with demo data.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/system-deps.sh
bash scripts/python-env.sh
export KAOPING_DATA_DIR="${KAOPING_DATA_DIR:-$PWD/kaoping-data}"
if [ ! -f "$KAOPING_DATA_DIR/kaoping.db" ]; then
  .venv/bin/kaoping init
  .venv/bin/kaoping demo
fi
exec .venv/bin/kaoping serve --host "${HOST:-127.0.0.1}" --port "${PORT:-8000}"
