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
.venv/bin/python -m pip install -q --disable-pip-version-check --upgrade pip 2>&1 | grep -v 'is ignored' || true
spec="."
[ -n "${1:-}" ] && spec=".[$1]"
.venv/bin/python -m pip install -q --disable-pip-version-check -e "$spec" 2>&1 | grep -vE 'is ignored|WheelFile|^\s*$|\*\*\*|!!|setuptools|precedence|name as your package' || true
.venv/bin/python -c 'import review_ui.cli' || { echo "安装失败，请查看上面的输出。" >&2; exit 1; }
