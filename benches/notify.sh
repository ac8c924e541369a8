#!/usr/bin/env bash
# What LISTEN/NOTIFY costs: the CPU time of the supervisor and of the workers per
# transaction of a pgbench workload that notifies, next to one that does not. Every
# notification goes from its worker through the supervisor to each other worker, which
# drops it when none of its sessions listens; this shows what that fan-out costs.
#
#   benches/notify.sh BINARY
#
# Workloads, each autocommit: `select 1`; `NOTIFY bench, 'x'` with nobody listening;
# the same with one psql listening on each worker (reading every 200 ms).
# Environment: WORKERS (4), CLIENTS (4), TRANSACTIONS per client (5000), ROUNDS (2).
# Needs psql and pgbench.
set -euo pipefail

[ $# -eq 1 ] || { echo "usage: benches/notify.sh BINARY" >&2; exit 2; }
bin=$1
workers="${WORKERS:-4}"
clients="${CLIENTS:-4}"
transactions="${TRANSACTIONS:-5000}"
rounds="${ROUNDS:-2}"
command -v pgbench >/dev/null || { echo "pgbench is missing: apt-get install postgresql-client-15" >&2; exit 1; }

. "$(dirname "$0")/common.sh"

# measure WORKLOAD -> "supervisor_ms workers_ms tps", CPU per 1000 transactions
measure() {
  local workload=$1 work port pid sup wrk listeners=() sql tps
  work=$(mktemp -d)
  port=$(free_port)
  "$bin" serve --listen "127.0.0.1:$port" --storage memory --workers "$workers" --data-dir "$work/data" \
    --admin-socket "$work/admin.sock" --log-level warn >"$work/mallard.log" 2>&1 &
  pid=$!
  for _ in $(seq 1 300); do
    psql -h 127.0.0.1 -p "$port" -U bench -d mallard -X -A -t -c "select 1" >/dev/null 2>&1 && break
    sleep 0.1
  done
  if [ "$workload" = notify-listened ]; then
    # One listener per worker: connected one at a time, least-connections routing
    # spreads them. Each reads its notifications every 200 ms.
    for _ in $(seq 1 "$workers"); do
      printf 'LISTEN bench;\nselect 1 \\watch 0.2\n' |
        psql -h 127.0.0.1 -p "$port" -U bench -d mallard -X -q >/dev/null 2>&1 &
      listeners+=($!)
      sleep 0.2
    done
  fi
  case $workload in
    select) sql="select 1;" ;;
    *) sql="notify bench, 'x';" ;;
  esac
  echo "$sql" >"$work/script.sql"
  sup=$(ticks_of "$pid")
  wrk=$(children_ticks "$pid")
  tps=$(pgbench -h 127.0.0.1 -p "$port" -U bench -n -c "$clients" -j 2 -t "$transactions" -f "$work/script.sql" \
    mallard 2>/dev/null | awk '/^tps/ { printf "%.0f", $3 }')
  awk -v s=$(($(ticks_of "$pid") - sup)) -v w=$(($(children_ticks "$pid") - wrk)) -v hz="$(getconf CLK_TCK)" \
    -v n=$((clients * transactions)) -v tps="$tps" \
    'BEGIN { printf "%10.1f %10.1f %8s", s / hz * 1e6 / n, w / hz * 1e6 / n, tps }'
  for l in "${listeners[@]}"; do kill "$l" 2>/dev/null || true; done
  kill "$pid"
  wait "$pid" 2>/dev/null || true
  rm -rf "$work"
}

echo "CPU ms per 1000 transactions: $workers workers, $clients clients x $transactions transactions"
printf '%-6s %-16s %10s %10s %8s\n' round workload supervisor workers tps
for round in $(seq 1 "$rounds"); do
  for workload in select notify-nobody notify-listened; do
    printf '%-6s %-16s %s\n' "$round" "$workload" "$(measure "$workload")"
  done
done
