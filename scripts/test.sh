#!/usr/bin/env bash
# One command: install what the tests need, then run them all — on the embedded SQLite, and the
# database-facing tests once more on a throwaway PostgreSQL server (the production database).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/system-deps.sh --tests
bash scripts/python-env.sh test
.venv/bin/python -m pytest "$@"
echo "== PostgreSQL =="
bash scripts/with-postgres.sh .venv/bin/python -m pytest "$@" tests/test_model.py tests/test_pipeline.py \
  tests/test_rounds_flow.py tests/test_collections.py tests/test_ratings.py tests/test_web_permissions.py
