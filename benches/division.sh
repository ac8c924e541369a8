#!/usr/bin/env bash
# The cost of PostgreSQL's division-by-zero check (translation rule checked_division):
# `sum(i / (i % 7 + 1))` over ROWS rows in mallard, where every row's divisor goes
# through the zero check (a constant divisor is checked once, when DuckDB folds it),
# against `sum(i // (i % 7 + 1))`, DuckDB's own integer division that nothing rewrites
# (the same work without the check), and against PostgreSQL 15. Best of ROUNDS; prints
# milliseconds and the ratios.
#
#   benches/division.sh [mallard binary]
#
# Environment: ROWS (50000000), ROUNDS (5).
set -euo pipefail

bin="${1:-${CARGO_TARGET_DIR:-$HOME/.cache/mallard/target}/debug/mallard}"
rows="${ROWS:-50000000}"
rounds="${ROUNDS:-5}"
here="$(dirname "$0")"
. "$here/servers.sh"
start_postgres
start_mallard "$bin" --storage memory --workers 1

best_ms() { # port user dbname sql
  local best="" start end ms
  for _ in $(seq 1 "$rounds"); do
    start=$(date +%s%N)
    psql -h 127.0.0.1 -p "$1" -U "$2" -d "$3" -X -A -t -c "$4" >/dev/null
    end=$(date +%s%N)
    ms=$(((end - start) / 1000000))
    if [ -z "$best" ] || [ "$ms" -lt "$best" ]; then best=$ms; fi
  done
  echo "$best"
}

checked=$(best_ms "$mallard_port" bench mallard "select sum(i / (i % 7 + 1)) from range($rows) t(i)")
unchecked=$(best_ms "$mallard_port" bench mallard "select sum(i // (i % 7 + 1)) from range($rows) t(i)")
postgres=$(best_ms "$pg_port" postgres postgres \
  "select sum(i / (i % 7 + 1)) from generate_series(0, $rows - 1) i")

echo "rows: $rows, best of $rounds"
printf '%-32s %8s ms\n' "mallard / (checked)" "$checked" "mallard // (no check)" "$unchecked" \
  "PostgreSQL 15 /" "$postgres"
awk -v c="$checked" -v u="$unchecked" -v p="$postgres" 'BEGIN {
  printf "checked / unchecked: %.2f\nmallard checked / PostgreSQL: %.3f\n", c / u, c / p }'
