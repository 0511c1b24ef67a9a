#!/usr/bin/env bash
# Runs a command with a throwaway PostgreSQL server: KAOPING_TEST_DATABASE_URL points at it.
# Usage: scripts/with-postgres.sh COMMAND...   (exits 0 with a notice when PostgreSQL is unavailable)
set -euo pipefail
bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)
if [ -z "$bin" ] || [ ! -x "$bin/initdb" ]; then
  echo "提示：未安装 PostgreSQL（Debian 软件包 postgresql），跳过 PostgreSQL 上的测试。" >&2
  exit 0
fi
dir=$(mktemp -d /tmp/kaoping-pg.XXXXXX)
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
as_owner=()
if [ "$(id -u)" = 0 ]; then chown postgres "$dir"; as_owner=(runuser -u postgres --); fi
cleanup() { "${as_owner[@]}" "$bin/pg_ctl" -D "$dir/data" -m immediate stop >/dev/null 2>&1 || true; rm -rf "$dir"; }
trap cleanup EXIT
"${as_owner[@]}" "$bin/initdb" -D "$dir/data" -A trust -U kaoping -E UTF8 --locale=C.UTF-8 >"$dir/initdb.log" 2>&1
"${as_owner[@]}" "$bin/pg_ctl" -D "$dir/data" -o "-p $port -k $dir -c listen_addresses=''" -l "$dir/server.log" -w start >/dev/null
"${as_owner[@]}" "$bin/createdb" -h "$dir" -p "$port" -U kaoping kaoping_test
export KAOPING_TEST_DATABASE_URL="postgresql+psycopg://kaoping@/kaoping_test?host=$dir&port=$port"
"$@"
