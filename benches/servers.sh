# Shared by the benches: a PostgreSQL 15 and mallard started in a temporary directory
# on free ports, stopped and removed on exit. Source it, then call start_postgres and
# start_mallard BIN [serve flags...]; they set pg_port and mallard_port.
#
# Needs postgresql-15 (initdb, pg_ctl) and psql.

pg_bin=/usr/lib/postgresql/15/bin
[ -x "$pg_bin/initdb" ] || { echo "PostgreSQL 15 is missing: apt-get install postgresql-15" >&2; exit 1; }

work=$(mktemp -d)
mallard_pid=""
as_pg=()
if [ "$(id -u)" -eq 0 ]; then
  # PostgreSQL refuses to run as root.
  as_pg=(runuser -u postgres --)
  chown postgres "$work"
fi

cleanup() {
  [ -n "$mallard_pid" ] && kill "$mallard_pid" 2>/dev/null && wait "$mallard_pid" 2>/dev/null || true
  [ -f "$work/pg/postmaster.pid" ] && "${as_pg[@]}" "$pg_bin/pg_ctl" stop -m immediate -D "$work/pg" >/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

. "$(dirname "${BASH_SOURCE[0]}")/common.sh"

wait_ready() { # port user dbname
  for _ in $(seq 1 600); do
    psql -h 127.0.0.1 -p "$1" -U "$2" -d "$3" -X -A -t -c "select 1" >/dev/null 2>&1 && return 0
    sleep 0.1
  done
  echo "server on port $1 did not become ready" >&2
  exit 1
}

start_postgres() {
  pg_port=$(free_port)
  "${as_pg[@]}" "$pg_bin/initdb" -D "$work/pg" -U postgres -A trust -E UTF8 --locale=C --no-sync >/dev/null
  cat >>"$work/pg/postgresql.conf" <<CONF
listen_addresses = '127.0.0.1'
port = $pg_port
unix_socket_directories = '$work'
max_connections = 100
CONF
  "${as_pg[@]}" "$pg_bin/pg_ctl" start -w -D "$work/pg" -l "$work/pg.log" >/dev/null
  wait_ready "$pg_port" postgres postgres
}

start_mallard() { # binary [serve flags...]
  local bin=$1
  shift
  [ -x "$bin" ] || { echo "no mallard binary at $bin: run cargo build --workspace" >&2; exit 1; }
  mallard_port=$(free_port)
  "$bin" serve --listen "127.0.0.1:$mallard_port" --data-dir "$work/mallard" --log-level warn "$@" \
    >"$work/mallard.log" 2>&1 &
  mallard_pid=$!
  wait_ready "$mallard_port" bench mallard
}
