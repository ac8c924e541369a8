#!/usr/bin/env bash
# The catalog at scale: TABLES tables (each with a primary key, a varchar(40), a
# timestamp and a CHECK) in mallard (storage duckdb, one worker) and in a PostgreSQL 15, then the
# time of psql's \dt, \d of one table, and pgjdbc's getTables query (as recorded in
# tests/catalog/corpus/pgjdbc.sql), best of ROUNDS, with the mallard/PostgreSQL ratio;
# and the worker's resident memory before and after.
#
#   benches/catalog.sh [mallard binary]
#
# Environment: TABLES (5000), ROUNDS (5).
set -euo pipefail

bin="${1:-${CARGO_TARGET_DIR:-$HOME/.cache/mallard/target}/debug/mallard}"
tables="${TABLES:-5000}"
rounds="${ROUNDS:-5}"
here="$(dirname "$0")"
. "$here/servers.sh"
start_postgres
start_mallard "$bin" --storage duckdb --workers 1

worker_rss_kb() {
  local pid
  pid=$(pgrep -P "$mallard_pid" | head -1)
  awk '/^VmRSS/ { print $2 }' "/proc/$pid/status"
}

schema="$work/schema.sql"
for i in $(seq 1 "$tables"); do
  echo "create table t_$i (id integer primary key, name varchar(40), created timestamp, qty integer check (qty >= 0));"
done >"$schema"
psql -X -q -h 127.0.0.1 -p "$pg_port" -U postgres -d postgres -f "$schema" >/dev/null
rss_before=$(worker_rss_kb)
start=$(date +%s%N)
psql -X -q -h 127.0.0.1 -p "$mallard_port" -U bench -d mallard -f "$schema" >/dev/null
echo "created $tables tables in mallard in $((($(date +%s%N) - start) / 1000000)) ms"

# The getTables statement pgjdbc sent for the fixture, with the fixture's filter.
get_tables=$(awk '/^--- pgjdbc getTables/ { on = 1; next } /^--- / { on = 0 } on' "$here/../tests/catalog/corpus/pgjdbc.sql")

# best_ms PORT USER DB ARGS... -> the fastest of ROUNDS runs of psql, in ms
best_ms() {
  local port=$1 user=$2 db=$3 best=""
  shift 3
  for _ in $(seq 1 "$rounds"); do
    local t0 t1
    t0=$(date +%s%N)
    psql -X -q -h 127.0.0.1 -p "$port" -U "$user" -d "$db" "$@" >/dev/null
    t1=$(date +%s%N)
    local ms=$(((t1 - t0) / 1000000))
    if [ -z "$best" ] || [ "$ms" -lt "$best" ]; then best=$ms; fi
  done
  echo "$best"
}

printf '%-28s %12s %12s %8s\n' "with $tables tables" "mallard ms" "postgres ms" ratio
for case in '\dt' "\\d t_$((tables / 2))" getTables; do
  if [ "$case" = getTables ]; then args=(-c "$get_tables"); else args=(-c "$case"); fi
  m=$(best_ms "$mallard_port" bench mallard "${args[@]}")
  p=$(best_ms "$pg_port" postgres postgres "${args[@]}")
  ratio=$(awk -v m="$m" -v p="$p" 'BEGIN { if (p > 0) printf "%.2f", m / p; else print "-" }')
  printf '%-28s %12s %12s %8s\n' "$case" "$m" "$p" "$ratio"
done
echo "mallard worker RSS: $((rss_before / 1024)) MiB before the tables, $(($(worker_rss_kb) / 1024)) MiB after"
