#!/usr/bin/env bash
# One command from a fresh clone to a running app with demo data.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/system-deps.sh
bash scripts/python-env.sh
export KAOPING_DATA_DIR="${KAOPING_DATA_DIR:-$PWD/kaoping-data}"
# Demo data only into a new data directory: `kaoping init` succeeds only there (whatever database
# KAOPING_DATABASE_URL names); an initialised one is served as it is.
if out=$(.venv/bin/kaoping init 2>&1); then
  echo "$out"
  .venv/bin/kaoping demo
elif ! grep -q "已初始化" <<<"$out"; then
  echo "$out" >&2; exit 1
fi
exec .venv/bin/kaoping serve --host "${HOST:-127.0.0.1}" --port "${PORT:-8000}"
