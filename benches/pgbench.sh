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

command -v pgbench >/dev/null || { echo "pgbench is missing: apt-get install postgresql-client-15" >&2; exit 1; }
. "$(dirname "$0")/servers.sh"
start_postgres
start_mallard "$bin" --storage duckdb --workers 1

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
