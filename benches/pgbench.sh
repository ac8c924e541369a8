#!/usr/bin/env bash
# Side-by-side pgbench: the same workload against mallard (storage duckdb, one worker) and
# a PostgreSQL 15, both started here in temporary directories on free ports, and the
# mallard/PostgreSQL tps ratio per run.
#
#   benches/pgbench.sh [mallard binary]
#
# Environment: SCALE (5), DURATION seconds per run (20), CLIENTS (8), JOBS (2),
# MODES ("simple extended prepared"), SCRIPTS ("tpcb select-only").
# The default binary is ${CARGO_TARGET_DIR:-$HOME/.cache/mallard/target}/debug/mallard
# (build it with `cargo build --workspace`). Needs postgresql-15 and pgbench 15.
set -euo pipefail

bin="${1:-${CARGO_TARGET_DIR:-$HOME/.cache/mallard/target}/debug/mallard}"
scale="${SCALE:-5}"
duration="${DURATION:-20}"
clients="${CLIENTS:-8}"
jobs="${JOBS:-2}"
modes="${MODES:-simple extended prepared}"
scripts="${SCRIPTS:-tpcb select-only}"
pg_bin=/usr/lib/postgresql/15/bin

[ -x "$bin" ] || { echo "no mallard binary at $bin: run cargo build --workspace" >&2; exit 1; }
[ -x "$pg_bin/initdb" ] || { echo "PostgreSQL 15 is missing: apt-get install postgresql-15" >&2; exit 1; }
command -v pgbench >/dev/null || { echo "pgbench is missing: apt-get install postgresql-client-15" >&2; exit 1; }

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

free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

wait_ready() { # port user dbname
  for _ in $(seq 1 600); do
    psql -h 127.0.0.1 -p "$1" -U "$2" -d "$3" -X -A -t -c "select 1" >/dev/null 2>&1 && return 0
    sleep 0.1
  done
  echo "server on port $1 did not become ready" >&2
  exit 1
}

pg_port=$(free_port)
"${as_pg[@]}" "$pg_bin/initdb" -D "$work/pg" -U postgres -A trust -E UTF8 --locale=C --no-sync >/dev/null
cat >>"$work/pg/postgresql.conf" <<EOF
listen_addresses = '127.0.0.1'
port = $pg_port
unix_socket_directories = '$work'
max_connections = 100
EOF
"${as_pg[@]}" "$pg_bin/pg_ctl" start -w -D "$work/pg" -l "$work/pg.log" >/dev/null

mallard_port=$(free_port)
"$bin" serve --listen "127.0.0.1:$mallard_port" --storage duckdb --workers 1 \
  --data-dir "$work/mallard" --log-level warn >"$work/mallard.log" 2>&1 &
mallard_pid=$!
wait_ready "$mallard_port" bench mallard
wait_ready "$pg_port" postgres postgres

# run NAME PORT USER DBNAME ARGS... -> prints tps
run() {
  local name=$1 port=$2 user=$3 db=$4
  shift 4
  local out
  if ! out=$(pgbench -h 127.0.0.1 -p "$port" -U "$user" "$@" "$db" 2>&1); then
    echo "$name: pgbench failed:" >&2
    echo "$out" | tail -5 >&2
    echo "failed"
    return
  fi
  echo "$out" | awk '/^tps = / { print $3; exit }'
}

echo "pgbench: scale $scale, $clients clients, $jobs threads, ${duration}s per run"
declare -A usable
for target in "mallard $mallard_port bench mallard" "postgres $pg_port postgres postgres"; do
  set -- $target
  start=$(date +%s%N)
  if pgbench -h 127.0.0.1 -p "$2" -U "$3" -i -q -s "$scale" "$4" >"$work/init-$1.log" 2>&1; then
    usable[$1]=1
    ms=$((($(date +%s%N) - start) / 1000000))
    printf '%-9s pgbench -i -s %s: %d.%03d s\n' "$1" "$scale" $((ms / 1000)) $((ms % 1000))
  else
    echo "$1: pgbench -i failed, no runs against it:"
    tail -3 "$work/init-$1.log"
  fi
done

printf '%-12s %-9s %14s %14s %8s\n' script mode "mallard tps" "postgres tps" ratio
for script in $scripts; do
  extra=()
  [ "$script" = select-only ] && extra=(-S)
  for mode in $modes; do
    args=(-c "$clients" -j "$jobs" -T "$duration" --max-tries=100 -M "$mode" "${extra[@]}")
    m=-; p=-
    [ -n "${usable[mallard]:-}" ] && m=$(run mallard "$mallard_port" bench mallard "${args[@]}")
    [ -n "${usable[postgres]:-}" ] && p=$(run postgres "$pg_port" postgres postgres "${args[@]}")
    ratio=$(awk -v m="$m" -v p="$p" 'BEGIN { if (m + 0 > 0 && p + 0 > 0) printf "%.3f", m / p; else print "-" }')
    printf '%-12s %-9s %14s %14s %8s\n' "$script" "$mode" "$m" "$p" "$ratio"
  done
done
