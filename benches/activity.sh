#!/usr/bin/env bash
# What keeping pg_stat_activity current costs per statement: `select 1` prepared, with
# `track_activities` on (the default: each session writes its slot of the session table
# as a statement starts and when it goes idle) and off (the slot is written once), on
# the same binary, alternating runs so that the machine's drift hits both alike.
#
#   benches/activity.sh [mallard binary]
#
# Environment: DURATION seconds per run (10), ROUNDS (3), CLIENTS ("1 8"), WORKERS (2).
# Prints the tps of every run, then per client count the median tps of each setting and
# the cost: 1 - on/off. Needs pgbench 15 (and PostgreSQL 15, which servers.sh checks).
set -euo pipefail

bin="${1:-${CARGO_TARGET_DIR:-$HOME/.cache/mallard/target}/debug/mallard}"
duration="${DURATION:-10}"
rounds="${ROUNDS:-3}"
clients_list="${CLIENTS:-1 8}"
workers="${WORKERS:-2}"

command -v pgbench >/dev/null || { echo "pgbench is missing: apt-get install postgresql-client-15" >&2; exit 1; }
. "$(dirname "$0")/servers.sh"

printf 'select 1;\n' >"$work/select1.sql"

# tps TRACK CLIENTS: one run against a fresh server
tps() {
  MALLARD_TRACK_ACTIVITIES=$1 start_mallard "$bin" --storage memory --workers "$workers"
  pgbench -h 127.0.0.1 -p "$mallard_port" -U bench -n -M prepared -f "$work/select1.sql" \
    -c "$2" -j "$2" -T "$duration" mallard 2>&1 | awk '/^tps = / { print $3; exit }'
  kill "$mallard_pid" && wait "$mallard_pid" 2>/dev/null || true
  mallard_pid=""
}

median() { sort -g | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }

for clients in $clients_list; do
  on=()
  off=()
  for round in $(seq 1 "$rounds"); do
    a=$(tps true "$clients")
    b=$(tps false "$clients")
    echo "clients $clients round $round: track_activities on $a tps, off $b tps"
    on+=("$a")
    off+=("$b")
  done
  m_on=$(printf '%s\n' "${on[@]}" | median)
  m_off=$(printf '%s\n' "${off[@]}" | median)
  awk -v c="$clients" -v on="$m_on" -v off="$m_off" \
    'BEGIN { printf "clients %s: median on %.0f, off %.0f tps; cost of tracking %.1f%%\n", c, on, off, (1 - on / off) * 100 }'
done
