#!/usr/bin/env bash
# One command: install what the tests need, then run them all.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/system-deps.sh --tests
bash scripts/python-env.sh test
exec .venv/bin/python -m pytest "$@"
