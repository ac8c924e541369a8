#!/usr/bin/env bash
# Server CPU per transaction: the CPU time mallard's processes (supervisor and worker)
# spend on a fixed pgbench workload, for one or more binaries, in alternating rounds.
# Less noisy than tps on a shared machine, since waiting for the CPU costs no CPU time;
# use it to compare two builds of mallard (before and after a change).
#
#   benches/cpu.sh BINARY [BINARY...]
#
# Environment: ROUNDS (3), TRANSACTIONS per client (5000), CLIENTS (4), SCALE (2),
# MODES ("simple extended"), SCRIPTS ("select-only tpcb"). Needs psql and pgbench.
set -euo pipefail

[ $# -ge 1 ] || { echo "usage: benches/cpu.sh BINARY [BINARY...]" >&2; exit 2; }
rounds="${ROUNDS:-3}"
transactions="${TRANSACTIONS:-5000}"
clients="${CLIENTS:-4}"
scale="${SCALE:-2}"
modes="${MODES:-simple extended}"
scripts="${SCRIPTS:-select-only tpcb}"
command -v pgbench >/dev/null || { echo "pgbench is missing: apt-get install postgresql-client-15" >&2; exit 1; }

. "$(dirname "$0")/common.sh"

# measure BINARY SCRIPT MODE -> prints CPU milliseconds per transaction
measure() {
  local bin=$1 script=$2 mode=$3 work port pid before extra=()
  [ "$script" = select-only ] && extra=(-S)
  work=$(mktemp -d)
  port=$(free_port)
  "$bin" serve --listen "127.0.0.1:$port" --storage duckdb --workers 1 --data-dir "$work/data" \
    --admin-socket "$work/admin.sock" --log-level warn >"$work/mallard.log" 2>&1 &
  pid=$!
  for _ in $(seq 1 300); do
    psql -h 127.0.0.1 -p "$port" -U bench -d mallard -X -A -t -c "select 1" >/dev/null 2>&1 && break
    sleep 0.1
  done
  pgbench -h 127.0.0.1 -p "$port" -U bench -i -q -s "$scale" mallard >/dev/null 2>&1
  before=$(ticks "$pid")
  pgbench -h 127.0.0.1 -p "$port" -U bench -c "$clients" -j 2 -t "$transactions" -M "$mode" \
    --max-tries=100 "${extra[@]}" mallard >/dev/null 2>&1
  awk -v t=$(($(ticks "$pid") - before)) -v hz="$(getconf CLK_TCK)" -v n=$((clients * transactions)) \
    'BEGIN { printf "%.3f", t / hz * 1000 / n }'
  kill "$pid"
  wait "$pid" 2>/dev/null || true
  rm -rf "$work"
}

echo "server CPU ms per transaction: $clients clients x $transactions transactions, scale $scale"
i=0
header=""
for bin in "$@"; do
  i=$((i + 1))
  echo "binary $i: $bin"
  header+=$(printf '%12s ' "binary $i")
done
printf '%-6s %-12s %-9s %s\n' round script mode "$header"
for round in $(seq 1 "$rounds"); do
  for script in $scripts; do
    for mode in $modes; do
      row=""
      for bin in "$@"; do
        row+=$(printf '%12s ' "$(measure "$bin" "$script" "$mode")")
      done
      printf '%-6s %-12s %-9s %s\n' "$round" "$script" "$mode" "$row"
    done
  done
done
