#!/usr/bin/env bash
# Creates .venv in the repository root and installs Kaoping into it.
# Usage: scripts/python-env.sh [extras]   e.g. scripts/python-env.sh test
set -euo pipefail
cd "$(dirname "$0")/.."
python=${PYTHON:-python3}
if ! "$python" -c 'import sys; sys.exit(sys.version_info < (3, 11))'; then
  echo "需要 Python 3.11 或更高版本（当前：$("$python" --version 2>&1)）。" >&2; exit 1
fi
[ -x .venv/bin/python ] || "$python" -m venv .venv
spec="."
[ -n "${1:-}" ] && spec=".[$1]"
log=$(mktemp)
# pip's own chatter (build warnings) goes to a log that is shown only when the install fails.
if ! { .venv/bin/python -m pip install -q --disable-pip-version-check --upgrade pip &&
       .venv/bin/python -m pip install -q --disable-pip-version-check -e "$spec"; } >"$log" 2>&1; then
  cat "$log" >&2
  echo "安装 Python 依赖失败，请查看上面的输出。" >&2
  exit 1
fi
rm -f "$log"
