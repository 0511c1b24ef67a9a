#!/usr/bin/env bash
# Regenerates constraints.txt, the project's lock: the exact version of every package (direct and
# transitive, all extras) that the two commands install. Run it after changing pyproject.toml's
# dependencies, then run the tests and commit both files together.
#   bash scripts/lock.sh
set -euo pipefail
cd "$(dirname "$0")/.."
python=${PYTHON:-python3}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
"$python" -m venv "$tmp/venv"
# A non-editable install of every extra, with no constraints, resolves the newest versions the ranges allow.
if ! { "$tmp/venv/bin/python" -m pip install -q --disable-pip-version-check --upgrade pip &&
       "$tmp/venv/bin/python" -m pip install -q --disable-pip-version-check ".[test,postgres,bench]"; } >"$tmp/pip.log" 2>&1; then
  cat "$tmp/pip.log" >&2; exit 1
fi
{
  echo "# The lock: exact versions for 'pip install -c constraints.txt'. Made by scripts/lock.sh on $(date -u +%Y-%m-%d)"
  echo "# with $("$tmp/venv/bin/python" --version) on $(uname -m); regenerate after changing pyproject.toml."
  "$tmp/venv/bin/python" -m pip freeze --all --exclude-editable | grep -viE '^(kaoping|pip|setuptools|wheel)( @|==)' | LC_ALL=C sort -f
} > constraints.txt
echo "constraints.txt: $(grep -vc '^#' constraints.txt) packages"
