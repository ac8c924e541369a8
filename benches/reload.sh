#!/usr/bin/env bash
# Reloads under a pool's load (issue 16): pgbench TPC-B with prepared statements and
# its 8 connections held, for the same time without and with reloads, against one
# mallard (storage duckdb, one read-write worker: the case where the file changes
# hands). Prints tps, failed and retried transactions, and each reload's time as
# `mallard reload` waits for it (the old worker hands its sessions over and closes the
# file, the new one opens it and serves).
#
#   benches/reload.sh [mallard binary]
#
# Environment: SCALE (10), SECONDS_RUN (60), RELOADS (10), WAL_ROWS (0: rows inserted
# and left in the WAL before the timed reloads, to see the switch grow with it).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
bin=${1:-${CARGO_TARGET_DIR:-$HOME/.cache/mallard/target}/debug/mallard}
scale=${SCALE:-10}
seconds=${SECONDS_RUN:-60}
reloads=${RELOADS:-10}
wal_rows=${WAL_ROWS:-0}
. "$here/servers.sh"

export MALLARD_DRAIN_TIMEOUT=60s
start_mallard "$bin" --storage duckdb --workers 1
libpq=(-h 127.0.0.1 -p "$mallard_port" -U bench)
pgbench "${libpq[@]}" -i -s "$scale" -q mallard >/dev/null 2>&1

run() { # label reloads
  local out
  out=$(mktemp)
  pgbench "${libpq[@]}" -n -M prepared -c 8 -j 2 -T "$seconds" --max-tries=100 mallard >"$out" 2>&1 &
  local bench=$!
  local times=()
  if [ "$2" -gt 0 ]; then
    local gap=$((seconds / ($2 + 1)))
    for _ in $(seq 1 "$2"); do
      sleep "$gap"
      local s
      s=$(date +%s%N)
      "$bin" reload --data-dir "$work/mallard" >/dev/null
      times+=($(( ($(date +%s%N) - s) / 1000000 )))
    done
  fi
  wait "$bench" || true
  local tps failed retried
  tps=$(awk '/^tps = / {printf "%.0f", $3}' "$out")
  failed=$(awk -F'[: ]+' '/number of failed transactions/ {print $5}' "$out")
  retried=$(awk -F'[: ]+' '/number of transactions retried/ {print $5}' "$out")
  printf '%-16s tps %8s  failed %4s  retried %6s' "$1" "$tps" "${failed:-?}" "${retried:-0}"
  if [ ${#times[@]} -gt 0 ]; then
    printf '  reload ms: %s' "${times[*]}"
  fi
  printf '\n'
  grep -q aborted "$out" && { echo "  clients aborted:"; grep aborted "$out"; }
  rm -f "$out"
}

if [ "$wal_rows" -gt 0 ]; then
  psql "${libpq[@]}" -d mallard -X -q -c "create table wal_filler as select range as i, md5(range::text) as t from range($wal_rows)"
fi
run "no reload" 0
run "$reloads reloads" "$reloads"
echo "sessions moved: $("$bin" status --json --data-dir "$work/mallard" | python3 -c 'import json,sys; print(json.load(sys.stdin)["totals"]["sessions_moved"])')"
