#!/usr/bin/env bash
# What keeping pg_stat_activity current costs per statement: `select 1` prepared, with
# `track_activities` on (the default: each session writes its slot of the session table
# as a statement starts and when it goes idle) and off (the slot is written once), on
# the same binary, in alternating runs so that the machine's drift hits both alike.
#
#   benches/activity.sh [mallard binary]
#
# Each run reports tps and the CPU time mallard's processes spent per statement; CPU
# time varies far less than tps on a shared machine (waiting for a CPU costs none).
# Then the example `activity_cost` (benches/activity_cost.rs, built next to the binary)
# times the tracking itself, and the script prints it as a share of a statement's CPU.
# Environment: TRANSACTIONS per client (20000), ROUNDS (3), CLIENTS ("1 8"), WORKERS (2).
# Needs pgbench 15 (and PostgreSQL 15, which servers.sh checks).
set -euo pipefail

bin="${1:-${CARGO_TARGET_DIR:-$HOME/.cache/mallard/target}/debug/mallard}"
transactions="${TRANSACTIONS:-20000}"
rounds="${ROUNDS:-3}"
clients_list="${CLIENTS:-1 8}"
workers="${WORKERS:-2}"

command -v pgbench >/dev/null || { echo "pgbench is missing: apt-get install postgresql-client-15" >&2; exit 1; }
. "$(dirname "$0")/servers.sh"

printf 'select 1;\n' >"$work/select1.sql"


# run TRACK CLIENTS -> prints "tps cpu_us_per_statement", from a fresh server
run() {
  local before tps
  MALLARD_TRACK_ACTIVITIES=$1 start_mallard "$bin" --storage memory --workers "$workers"
  before=$(ticks "$mallard_pid")
  tps=$(pgbench -h 127.0.0.1 -p "$mallard_port" -U bench -n -M prepared -f "$work/select1.sql" \
    -c "$2" -j "$2" -t "$transactions" mallard 2>&1 | awk '/^tps = / { print $3; exit }')
  awk -v tps="$tps" -v t=$(($(ticks "$mallard_pid") - before)) -v hz="$(getconf CLK_TCK)" \
    -v n=$(($2 * transactions)) 'BEGIN { printf "%.0f %.2f", tps, t / hz * 1e6 / n }'
  kill "$mallard_pid" && wait "$mallard_pid" 2>/dev/null || true
  mallard_pid=""
}

examples="$(dirname "$bin")/examples"
[ -x "$examples/activity_cost" ] || { echo "no $examples/activity_cost: run cargo build --workspace --examples" >&2; exit 1; }

median() { sort -g | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }

for clients in $clients_list; do
  on_tps=() off_tps=() on_cpu=() off_cpu=()
  for round in $(seq 1 "$rounds"); do
    read -r a_tps a_cpu <<<"$(run true "$clients")"
    read -r b_tps b_cpu <<<"$(run false "$clients")"
    echo "clients $clients round $round: on $a_tps tps ${a_cpu} us CPU/stmt; off $b_tps tps ${b_cpu} us CPU/stmt"
    on_tps+=("$a_tps") off_tps+=("$b_tps") on_cpu+=("$a_cpu") off_cpu+=("$b_cpu")
  done
  statement_us=$(printf '%s\n' "${on_cpu[@]}" | median)
  awk -v c="$clients" \
    -v ot="$(printf '%s\n' "${on_tps[@]}" | median)" -v ft="$(printf '%s\n' "${off_tps[@]}" | median)" \
    -v oc="$(printf '%s\n' "${on_cpu[@]}" | median)" -v fc="$(printf '%s\n' "${off_cpu[@]}" | median)" \
    'BEGIN { printf "clients %s, medians: tps on/off %.3f (%.0f/%.0f); CPU per statement on/off %.3f (%.2f/%.2f us)\n", c, ot / ft, ot, ft, oc / fc, oc, fc }'
done

"$examples/activity_cost" | while IFS= read -r line; do
  ns=$(echo "$line" | awk '{ for (i = 1; i <= NF; i++) if ($(i + 1) == "ns") print $i }')
  awk -v l="$line" -v ns="$ns" -v us="$statement_us" \
    'BEGIN { printf "%s = %.3f%% of the CPU of one select 1 (%.2f us, median of the runs with tracking)\n", l, ns / 10 / us, us }'
done
