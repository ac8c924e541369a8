#!/usr/bin/env bash
# storage = "ducklake" next to storage = "duckdb" (issue 14): pgbench -i, TPC-B with
# retries, select-only, and inserts that never conflict, with 8 clients each, against
#   - duckdb:        one read-write worker on a native file (the reference),
#   - ducklake:      WORKERS workers on one lake (catalog in a PostgreSQL 15 started
#                    here, data files in the temporary directory), commits under the
#                    lake's commit lock,
#   - ducklake-free: the same without the commit lock (`commit_lock = false`): what
#                    the lock costs.
# Prints tps, failed and retried transactions for each.
#
# With MODES=tpch: TPC-H (SF TPCH_SCALE, default 1, the data benches/run.sh writes) loaded
# by psql's \copy into a native file (duckdb mode) and into the lake (Parquet files in its
# data path), then each of the 22 queries alone (after a warm-up run) on each: ms per
# query, the ratio, and the geometric means.
#
#   benches/lake.sh [mallard binary]
#
# Environment: SCALE (1), SECONDS_RUN (20), WORKERS (2), MODES (all three), KEEP_LOG (a
# path prefix: keep each server's log), and MALLARD_VENV (the venv `.ci/run` makes, whose
# duckdb-extension-* packages hold the extension files).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
bin=${1:-${CARGO_TARGET_DIR:-$HOME/.cache/mallard/target}/debug/mallard}
scale=${SCALE:-1}
seconds=${SECONDS_RUN:-20}
workers=${WORKERS:-2}
venv=${MALLARD_VENV:-$HOME/.cache/mallard/venv}
. "$here/servers.sh"

# DuckDB's extension directory, from the PyPI packages.
extensions="$work/extensions/v1.5.5/linux_amd64"
mkdir -p "$extensions"
for name in ducklake postgres_scanner; do
  file=$(ls "$venv"/lib/python*/site-packages/duckdb_extension_"$name"/extensions/v1.5.5/"$name".duckdb_extension 2>/dev/null | head -1)
  [ -n "$file" ] || { echo "duckdb-extension-$name 1.5.5 is missing from $venv: run bash .ci/run" >&2; exit 1; }
  ln -s "$file" "$extensions/"
done

start_postgres
libpq() { echo -h 127.0.0.1 -p "$mallard_port" -U bench; }

stop_mallard() {
  kill "$mallard_pid" 2>/dev/null && wait "$mallard_pid" 2>/dev/null || true
  mallard_pid=""
  rm -rf "$work/mallard"
}

cat >"$work/inserts.sql" <<'SQL'
\set id random(1, 1000000000)
insert into bench_inserts values (:id, 'x');
SQL

pgbench_run() { # label args...
  local label=$1 out
  shift
  out=$(mktemp)
  # shellcheck disable=SC2046
  pgbench $(libpq) -n -c 8 -j 2 -T "$seconds" "$@" mallard >"$out" 2>&1 || true
  local tps failed retried
  tps=$(awk '/^tps = / {printf "%.0f", $3}' "$out")
  failed=$(awk -F'[: ]+' '/number of failed transactions/ {print $5}' "$out")
  retried=$(awk -F'[: ]+' '/number of transactions retried/ {print $5}' "$out")
  printf '  %-22s tps %7s  failed %5s  retried %6s\n' "$label" "${tps:-?}" "${failed:-?}" "${retried:-0}"
  grep -q aborted "$out" && { echo "  clients aborted:"; grep aborted "$out"; }
  rm -f "$out"
}

measure() { # label
  echo "$1"
  local s
  s=$(date +%s%N)
  # shellcheck disable=SC2046
  pgbench $(libpq) -i -s "$scale" -q mallard >"$work/init.log" 2>&1 || { cat "$work/init.log"; exit 1; }
  printf '  %-22s %7s ms\n' "pgbench -i -s $scale" $(( ($(date +%s%N) - s) / 1000000 ))
  # shellcheck disable=SC2046
  psql $(libpq) -d mallard -X -q -c "create table bench_inserts (id bigint, tag text)"
  pgbench_run "TPC-B prepared" -M prepared --max-tries=1000
  pgbench_run "select-only prepared" -S -M prepared
  pgbench_run "inserts prepared" -M prepared -f "$work/inserts.sql"
}

lake_config() { # name commit_lock
  "${as_pg[@]}" psql -h 127.0.0.1 -p "$pg_port" -U postgres -X -q -c "create database $1" >/dev/null
  cat >"$work/$1.toml" <<TOML
extension_directory = "$work/extensions"
[ducklake]
catalog = "postgres:host=127.0.0.1 port=$pg_port dbname=$1 user=postgres"
data_path = "$work/$1-data/"
commit_lock = $2
TOML
}

# TPC-H: load, then each query once after a warm-up; fills tpch_ms[query,label].
declare -A tpch_ms tpch_load
tpch_run() { # label
  local tpch=$tpch_dir q key start
  # shellcheck disable=SC2046
  psql $(libpq) -d mallard -X -q -v ON_ERROR_STOP=1 -f "$tpch/schema.sql"
  start=$(date +%s%N)
  for table in region nation supplier customer part partsupp orders lineitem; do
    # shellcheck disable=SC2046
    psql $(libpq) -d mallard -X -q -v ON_ERROR_STOP=1 -c "\\copy $table from '$tpch/$table.tbl' with (delimiter '|')"
  done
  tpch_load[$1]=$(( ($(date +%s%N) - start) / 1000000 ))
  for q in "$tpch"/q*.sql; do
    key=$(basename "$q" .sql)
    # shellcheck disable=SC2046
    pgbench $(libpq) -n -t 1 -f "$q" -M simple mallard >/dev/null 2>&1
    # shellcheck disable=SC2046
    tpch_ms[$key,$1]=$(pgbench $(libpq) -n -t 1 -f "$q" -M simple mallard 2>&1 | awk '/^latency average = / { print $4; exit }')
  done
}

tpch_report() {
  printf 'TPC-H SF %s load by \\copy: duckdb file %s ms, lake %s ms\n' "$tpch_scale" "${tpch_load[file]}" "${tpch_load[lake]}"
  local key
  for q in "$tpch_dir"/q*.sql; do
    key=$(basename "$q" .sql)
    echo "$key ${tpch_ms[$key,file]:-failed} ${tpch_ms[$key,lake]:-failed}"
  done | awk '
    BEGIN { printf "%-7s %10s %10s %7s\n", "query", "file ms", "lake ms", "ratio" }
    $2 == "failed" || $3 == "failed" { printf "%-7s %10s %10s %7s\n", $1, $2, $3, "-"; next }
    { printf "%-7s %10s %10s %7.2f\n", $1, $2, $3, $3 / $2; f += log($2); l += log($3); n++ }
    END { if (n) printf "%-7s %10.1f %10.1f %7.2f\n", "geomean", exp(f / n), exp(l / n), exp((l - f) / n) }'
}

tpch_scale=${TPCH_SCALE:-1}
tpch_dir="${TPCH_DIR:-$HOME/.cache/mallard/tpch}/sf$tpch_scale"
if [[ " ${MODES:-} " == *" tpch "* ]] && [ ! -f "$tpch_dir/done" ]; then
  "$venv/bin/python" -c "import duckdb_extension_tpch" 2>/dev/null ||
    "$venv/bin/python" -m pip install -q --disable-pip-version-check duckdb==1.5.5 duckdb-extension-tpch==1.5.5
  "$venv/bin/python" "$here/tpch_data.py" "$tpch_scale" "$tpch_dir"
fi

echo "scale $scale, $seconds s per run, 8 clients; ducklake with $workers workers"
for mode in ${MODES:-duckdb ducklake ducklake-free}; do
  case $mode in
    tpch)
      start_mallard "$bin" --storage duckdb --workers 1
      tpch_run file
      stop_mallard
      lake_config lake_tpch true
      start_mallard "$bin" -c "$work/lake_tpch.toml" --storage ducklake --workers 1
      tpch_run lake
      tpch_report ;;
    duckdb)
      start_mallard "$bin" --storage duckdb --workers 1
      measure "duckdb (1 worker, native file)" ;;
    ducklake)
      lake_config lake true
      start_mallard "$bin" -c "$work/lake.toml" --storage ducklake --workers "$workers"
      measure "ducklake (commit lock)" ;;
    ducklake-free)
      lake_config lake_free false
      start_mallard "$bin" -c "$work/lake_free.toml" --storage ducklake --workers "$workers"
      measure "ducklake-free (no commit lock)" ;;
    *) echo "unknown mode $mode" >&2; exit 1 ;;
  esac
  [ -z "${KEEP_LOG:-}" ] || cp "$work/mallard.log" "$KEEP_LOG.$mode"
  stop_mallard
done
