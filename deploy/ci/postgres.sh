#!/usr/bin/env bash
# Throw-away PostgreSQL on loopback for the storage tests (used by .ci/run; handy locally too).
#
#   deploy/ci/postgres.sh install        apt-get install Debian's postgresql when it is missing (root)
#   deploy/ci/postgres.sh start DIR      initdb into DIR, start on 127.0.0.1:<free port>, print the URL
#   deploy/ci/postgres.sh stop DIR       stop it (DIR can then be deleted)
#
# The server runs as the `postgres` user when started by root (initdb refuses root), else as you.
set -euo pipefail

bin_dir() {
  local d
  d=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
  [ -x "$d/initdb" ] || { echo "postgres.sh: no PostgreSQL server found (run: $0 install)" >&2; exit 1; }
  echo "$d"
}

as_owner() {  # run a command as the owner of the data dir
  if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

case "${1:-}" in
  install)
    if ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then
      export DEBIAN_FRONTEND=noninteractive
      apt-get update -q
      apt-get install -y -q --no-install-recommends postgresql
    fi
    ;;
  start)
    dir=${2:?data dir}
    bin=$(bin_dir)
    mkdir -p "$dir"
    [ "$(id -u)" = 0 ] && chown postgres: "$dir"
    port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
    as_owner "$bin/initdb" -D "$dir/data" -U handbook -A trust -E UTF8 --no-locale >"$dir/initdb.log" 2>&1 \
      || { cat "$dir/initdb.log" >&2; exit 1; }
    as_owner "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 start \
      -o "-c listen_addresses=127.0.0.1 -p $port -c unix_socket_directories=$dir -c max_connections=100 -c fsync=off" \
      >/dev/null || { cat "$dir/server.log" >&2; exit 1; }
    echo "postgresql://handbook@127.0.0.1:$port/postgres"
    ;;
  stop)
    dir=${2:?data dir}
    as_owner "$(bin_dir)/pg_ctl" -D "$dir/data" -m fast -w stop >/dev/null || true
    ;;
  *)
    echo "usage: $0 install | start DIR | stop DIR" >&2; exit 2 ;;
esac
