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
  tests/test_rounds_flow.py tests/test_collections.py tests/test_ratings.py tests/test_web_permissions.py \
  tests/test_sessions.py tests/test_audit_trail.py \
  tests/test_worker_kills.py::test_claims_are_exclusive_under_concurrency \
  tests/test_worker_kills.py::test_three_worker_processes_process_each_file_once \
  tests/test_worker_kills.py::test_a_worker_that_lost_its_lease_writes_nothing \
  tests/test_worker_kills.py::test_a_live_workers_job_is_not_taken_but_a_dead_ones_is_at_once
