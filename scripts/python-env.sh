#!/usr/bin/env bash
# Creates .venv in the repository root and installs Kaoping into it.
# Usage: scripts/python-env.sh [extras]   e.g. scripts/python-env.sh test
set -euo pipefail
cd "$(dirname "$0")/.."
python=${PYTHON:-python3}
if ! "$python" -c 'import sys; sys.exit(sys.version_info < (3, 11))'; then
  echo "需要 Python 3.11 或更高版本（当前：$("$python" --version 2>&1)）。" >&2; exit 1
fi
# A .venv left half-made by an interrupted or failed run (no python, no pip) is rebuilt, not trusted.
if [ -e .venv ] && ! .venv/bin/python -c 'import pip, sys; sys.exit(sys.version_info < (3, 11))' >/dev/null 2>&1; then
  echo "重建不完整的 .venv" >&2
  rm -rf .venv
fi
if [ ! -x .venv/bin/python ]; then
  if ! "$python" -m venv .venv; then
    rm -rf .venv
    echo "无法创建 Python 虚拟环境：请安装 Debian 软件包 python3-venv（scripts/system-deps.sh 会自动安装）。" >&2
    exit 1
  fi
fi
spec="."
[ -n "${1:-}" ] && spec=".[$1]"
# Every install uses the pinned versions of constraints.txt (the project's lock), so a fresh machine gets
# what the tests passed with; regenerate it with scripts/lock.sh after changing pyproject.toml.
constraints=()
[ -f constraints.txt ] && constraints=(-c constraints.txt)
log=$(mktemp)
# pip's own chatter (build warnings) goes to a log that is shown only when the install fails.
if ! { .venv/bin/python -m pip install -q --disable-pip-version-check --upgrade pip &&
       .venv/bin/python -m pip install -q --disable-pip-version-check "${constraints[@]}" -e "$spec"; } >"$log" 2>&1; then
  cat "$log" >&2
  echo "安装 Python 依赖失败，请查看上面的输出。" >&2
  exit 1
fi
rm -f "$log"
