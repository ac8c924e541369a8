#!/usr/bin/env bash
# The speed table: small statements, connections and loads, run the same way against a
# PostgreSQL 15 and a mallard (storage duckdb, one worker) started here, and against
# DuckDB itself in-process (benches/embedded.rs: the floor, from this workspace's own
# DuckDB build), with the ratios. Figures are from one run on one machine; compare
# ratios, not absolute numbers, across machines.
#
#   benches/run.sh [quick|full] [mallard binary]
#
# quick (the default, about 4 minutes): scale 1, 5 s per run, TPC-H SF 0.1. full (about
# 20 minutes): scale 10, 30 s per run, TPC-H SF 1. Environment: SCALE, DURATION,
# CLIENTS (8), TPCH_SCALE override them.
#
# TPC-H: the 8 tables loaded by psql's \copy (COPY FROM STDIN), the 22 queries one by
# one (the mean of warm runs), and 10 clients running them in random order. PostgreSQL
# gets the primary keys and the index its correlated subqueries need after the load,
# untimed (benches/tpch_indexes.sql); mallard and DuckDB get none. Its data
# comes from DuckDB's tpch extension (benches/tpch_data.py, with the PyPI packages
# duckdb and duckdb-extension-tpch installed into the test venv), written once under
# ~/.cache/mallard/tpch. The in-process floor loads the same files with DuckDB's own
# COPY and runs the same queries. lineitem is then loaded again in csv and in binary, as
# PostgreSQL writes it in each (the floor: DuckDB's COPY from the csv file).
#
# This machine's speed drifts by tens of percent over minutes, so each floor runs right
# after mallard's run of the same work; those of pgbench -S, TPC-B and the group-by on a
# copy of the file mallard's pgbench -i wrote.
# PostgreSQL's autovacuum and checkpoint after its loads and write runs are done untimed
# (VACUUM ANALYZE, CHECKPOINT) before the next measurement, so that they take no core
# from either server's next figure.
#
# Build first: cargo build --workspace --examples. Needs postgresql-15 and pgbench.
set -euo pipefail

mode="${1:-quick}"
target="${CARGO_TARGET_DIR:-$HOME/.cache/mallard/target}"
bin="${2:-$target/debug/mallard}"
embedded="$target/debug/examples/embedded"
case "$mode" in
  quick) scale="${SCALE:-1}" duration="${DURATION:-5}" tpch_scale="${TPCH_SCALE:-0.1}" tpch_runs=1 ;;
  full) scale="${SCALE:-10}" duration="${DURATION:-30}" tpch_scale="${TPCH_SCALE:-1}" tpch_runs=1 ;;
  *) echo "usage: benches/run.sh [quick|full] [mallard binary]" >&2; exit 2 ;;
esac
clients="${CLIENTS:-8}"
[ -x "$embedded" ] || { echo "no $embedded: run cargo build --workspace --examples" >&2; exit 1; }
command -v pgbench >/dev/null || { echo "pgbench is missing: apt-get install postgresql-client-15" >&2; exit 1; }
benches=$(cd "$(dirname "$0")" && pwd)

# Python (the test venv): DuckDB and its tpch extension to write the TPC-H data, psycopg
# for the idle sessions.
venv="${MALLARD_VENV:-$HOME/.cache/mallard/venv}"
[ -x "$venv/bin/python" ] || python3 -m venv "$venv"
"$venv/bin/python" -c "import duckdb_extension_tpch, psycopg" 2>/dev/null ||
  "$venv/bin/python" -m pip install -q --disable-pip-version-check duckdb==1.5.5 duckdb-extension-tpch==1.5.5 \
    "psycopg[binary]==3.2.13"
# The TPC-H data, generated once per scale.
tpch="${TPCH_DIR:-$HOME/.cache/mallard/tpch}/sf$tpch_scale"
[ -f "$tpch/done" ] || "$venv/bin/python" "$benches/tpch_data.py" "$tpch_scale" "$tpch"
tables=(region nation supplier customer part partsupp orders lineitem)
queries=("$tpch"/q*.sql)

. "$benches/servers.sh"
start_postgres
start_mallard "$bin" --storage duckdb --workers 1 --max-connections 1100

echo "select 1;" >"$work/select1.sql"
targets=("mallard $mallard_port bench mallard" "postgres $pg_port postgres postgres")
declare -A figure

# run KEY PGBENCH-ARGS...: the same pgbench run against both servers; records tps, and
# the failed and retried counts, as figure[KEY,server].
run() {
  local key=$1 out name port user db
  shift
  for t in "${targets[@]}"; do
    read -r name port user db <<<"$t"
    if out=$(pgbench -h 127.0.0.1 -p "$port" -U "$user" "$@" "$db" 2>&1); then
      figure[$key,$name]=$(awk '/^tps = / { print $3; exit }' <<<"$out")
      figure[$key,$name,failed]=$(awk '/number of failed transactions/ { print $5; exit }' <<<"$out")
      figure[$key,$name,retried]=$(awk '/number of transactions retried/ { print $5; exit }' <<<"$out")
    else
      echo "$name: pgbench $* failed:" >&2
      tail -3 <<<"$out" >&2
      figure[$key,$name]=failed
    fi
  done
}

# floor KEY WORKLOAD THREADS [DATABASE]: the in-process floor of a pgbench run, as
# figure[KEY,embedded] (and its retried and failed counts).
floor() {
  local out
  out=$("$embedded" "$2" "$3" "$duration" ${4:+"$4"})
  figure[$1,embedded]=$(awk '/^tps / { print $2 }' <<<"$out")
  figure[$1,embedded,retried]=$(awk '/^retried / { print $2 }' <<<"$out")
  figure[$1,embedded,failed]=$(awk '/^retried / { print $4 }' <<<"$out")
}

# PostgreSQL's background work after a load or a write-heavy run (autovacuum, and a
# checkpoint it spreads over minutes) done now, untimed, so that it does not take a
# core from the next measurement of either server.
settle_postgres() {
  local pg=(psql -h 127.0.0.1 -p "$pg_port" -U postgres -d postgres -X -q -A -t)
  "${pg[@]}" -c "vacuum analyze" -c "checkpoint"
  for _ in $(seq 120); do
    [ "$("${pg[@]}" -c "select count(*) from pg_stat_activity where backend_type = 'autovacuum worker'")" = 0 ] && return
    sleep 1
  done
}

# Loading: pgbench -i (client-side generation, COPY FROM STDIN), timed.
for t in "${targets[@]}"; do
  read -r name port user db <<<"$t"
  start=$(date +%s%N)
  pgbench -h 127.0.0.1 -p "$port" -U "$user" -i -q -s "$scale" "$db" >"$work/init-$name.log" 2>&1 \
    || { echo "$name: pgbench -i failed" >&2; tail -3 "$work/init-$name.log" >&2; exit 1; }
  figure[load,$name]=$(( ($(date +%s%N) - start) / 1000000 ))
done
settle_postgres
# The floors of pgbench -S, TPC-B and the group-by run on a copy of the file mallard's
# pgbench -i wrote, taken after a checkpoint, so that they too run next to mallard's.
file="$work/floor.duckdb"
psql -h 127.0.0.1 -p "$mallard_port" -U bench -d mallard -X -q -v ON_ERROR_STOP=1 -c "checkpoint" >/dev/null
cp "$work/mallard/mallard.duckdb" "$file"

n=(-n -T "$duration" -c "$clients" -j 2)
run select1-prepared "${n[@]}" -f "$work/select1.sql" -M prepared
floor select1-prepared select1 "$clients"
run select1-prepared-1 -n -T "$duration" -c 1 -j 1 -f "$work/select1.sql" -M prepared
floor select1-prepared-1 select1 1
run select1-extended "${n[@]}" -f "$work/select1.sql" -M extended
run select1-simple "${n[@]}" -f "$work/select1.sql" -M simple
run select-only-prepared "${n[@]}" -S -M prepared
floor select-only-prepared select-only "$clients" "$file"
run select-only-extended "${n[@]}" -S -M extended
run select-only-simple "${n[@]}" -S -M simple
run tpcb-prepared "${n[@]}" -M prepared --max-tries=100
floor tpcb-prepared tpcb "$clients" "$file"
run tpcb-simple "${n[@]}" -M simple --max-tries=100
settle_postgres
run connect -n -T "$duration" -c "$clients" -j 2 -C -f "$work/select1.sql" -M simple
# Memory: 1,000 idle sessions on the worker, then all of them closed.
worker=$(pgrep -P "$mallard_pid" | head -1)
read -r _ idle_base idle_full idle_each idle_after < <("$venv/bin/python" "$benches/idle_sessions.py" \
  "$mallard_port" bench mallard "$worker")
# Analytics: a group-by over a million rows, one client, back to back.
group_by="select k, count(*), sum(x) from bench_groups group by k"
groups="create table bench_groups as select x, x % 1000 as k from generate_series(1, 1000000) as t(x)"
echo "$group_by;" >"$work/group_by.sql"
for t in "${targets[@]}"; do
  read -r name port user db <<<"$t"
  psql -h 127.0.0.1 -p "$port" -U "$user" -d "$db" -X -q -c \
    "$groups"
done
echo "$groups;" >"$work/groups.sql"
"$embedded" time "$file" 0 1 "$work/groups.sql" >/dev/null
settle_postgres
run group-by -n -T "$duration" -c 1 -j 1 -f "$work/group_by.sql" -M prepared
floor group-by "query:$group_by" 1 "$file"

# TPC-H: the load, each query alone, then 10 clients picking queries at random. The
# floor's turn comes right after mallard's: DuckDB's COPY from the same files into a file
# of its own, then the same queries.
lake="$work/tpch.duckdb"
for table in "${tables[@]}"; do
  echo "COPY $table FROM '$tpch/$table.tbl' (DELIMITER '|', HEADER false);"
done >"$work/tpch_load.sql"
# lake_ms FILE: the milliseconds of one run of FILE's statements in the floor's file.
lake_ms() {
  "$embedded" time "$lake" 0 1 "$1" | awk '{ t = $3 } END { printf "%.0f", t }'
}
tpch_floor() {
  local out q
  lake_ms "$tpch/schema.sql" >/dev/null
  figure[tpch-load,embedded]=$(lake_ms "$work/tpch_load.sql")
  out=$("$embedded" time "$lake" 1 "$tpch_runs" "${queries[@]}")
  for q in "${queries[@]}"; do
    figure[$(basename "$q" .sql),embedded]=$(awk -v f="$q" '$2 == f { print $3 }' <<<"$out")
  done
}
for t in "${targets[@]}"; do
  read -r name port user db <<<"$t"
  connect=(-h 127.0.0.1 -p "$port" -U "$user")
  psql "${connect[@]}" -d "$db" -X -q -v ON_ERROR_STOP=1 -f "$tpch/schema.sql"
  start=$(date +%s%N)
  for table in "${tables[@]}"; do
    psql "${connect[@]}" -d "$db" -X -q -v ON_ERROR_STOP=1 \
      -c "\\copy $table from '$tpch/$table.tbl' with (delimiter '|')"
  done
  figure[tpch-load,$name]=$(( ($(date +%s%N) - start) / 1000000 ))
  if [ "$name" = postgres ]; then
    psql "${connect[@]}" -d "$db" -X -q -v ON_ERROR_STOP=1 -f "$benches/tpch_indexes.sql"
    settle_postgres
  fi
  for q in "${queries[@]}"; do
    key=$(basename "$q" .sql)
    pgbench "${connect[@]}" -n -t 1 -f "$q" -M simple "$db" >/dev/null 2>&1 # warm-up
    out=$(pgbench "${connect[@]}" -n -t "$tpch_runs" -f "$q" -M simple "$db" 2>&1) ||
      { echo "$name: $key failed:" >&2; tail -3 <<<"$out" >&2; }
    figure[$key,$name]=$(awk '/^latency average = / { print $4; exit }' <<<"$out")
  done
  if [ "$name" = mallard ]; then tpch_floor; fi
done
# COPY TO STDOUT: lineitem in text (bytes/s) and binary (rows/s), written by psql to
# /dev/null; the floor, right after mallard, is DuckDB's COPY TO a file.
lineitems=$(wc -l <"$tpch/lineitem.tbl")
echo "COPY lineitem TO '$work/lineitem.out' (DELIMITER '|', HEADER false);" >"$work/copy_out.sql"
for t in "${targets[@]}"; do
  read -r name port user db <<<"$t"
  connect=(-h 127.0.0.1 -p "$port" -U "$user" -d "$db" -X -q -v ON_ERROR_STOP=1)
  start=$(date +%s%N)
  bytes=$(psql "${connect[@]}" -c "copy lineitem to stdout" | wc -c)
  figure[copy-out,$name]=$(awk -v b="$bytes" -v ns=$(($(date +%s%N) - start)) 'BEGIN { printf "%.1f", b / ns * 1000 }')
  start=$(date +%s%N)
  psql "${connect[@]}" -c "copy lineitem to stdout (format binary)" >/dev/null
  figure[copy-out-binary,$name]=$(awk -v r="$lineitems" -v ns=$(($(date +%s%N) - start)) 'BEGIN { printf "%.0f", r / ns * 1e9 }')
  if [ "$name" = mallard ]; then
    ms=$(lake_ms "$work/copy_out.sql")
    figure[copy-out,embedded]=$(awk -v b="$(stat -c %s "$work/lineitem.out")" -v ms="$ms" 'BEGIN { printf "%.1f", b / ms / 1000 }')
    rm -f "$work/lineitem.out"
  fi
done
# COPY FROM STDIN in csv and binary: lineitem as PostgreSQL writes it in each format,
# loaded by psql's \copy into an empty copy of the table on each server; the floor,
# right after mallard, is DuckDB's COPY from the csv file.
psql -h 127.0.0.1 -p "$pg_port" -U postgres -d postgres -X -q -v ON_ERROR_STOP=1 \
  -c "\\copy lineitem to '$work/lineitem.csv' with (format csv)" \
  -c "\\copy lineitem to '$work/lineitem.bin' with (format binary)"
cat >"$work/copy_in.sql" <<EOF
CREATE TABLE lineitem_in AS SELECT * FROM lineitem WHERE false;
COPY lineitem_in FROM '$work/lineitem.csv' (FORMAT csv);
DROP TABLE lineitem_in;
EOF
for t in "${targets[@]}"; do
  read -r name port user db <<<"$t"
  connect=(-h 127.0.0.1 -p "$port" -U "$user" -d "$db" -X -q -v ON_ERROR_STOP=1)
  for format in csv binary; do
    psql "${connect[@]}" -c "create table lineitem_in as select * from lineitem where false"
    start=$(date +%s%N)
    psql "${connect[@]}" -c "\\copy lineitem_in from '$work/lineitem.${format:0:3}' with (format $format)"
    figure[copy-in-$format,$name]=$(( ($(date +%s%N) - start) / 1000000 ))
    psql "${connect[@]}" -c "drop table lineitem_in"
  done
  if [ "$name" = mallard ]; then
    figure[copy-in-csv,embedded]=$(lake_ms "$work/copy_in.sql")
  fi
done
rm -f "$work/lineitem.bin" "$work/lineitem.csv"
settle_postgres
concurrent=(-n -T "$duration" -c 10 -j 2 -M simple)
for q in "${queries[@]}"; do concurrent+=(-f "$q"); done
run tpch-concurrent "${concurrent[@]}"
worker=$(pgrep -P "$mallard_pid" | head -1)
peak_rss=$(awk '/^VmHWM/ { printf "%.0f", $2 / 1024 }' "/proc/$worker/status")
floor tpch-concurrent "random:$(IFS=,; echo "${queries[*]}")" 10 "$lake"

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (a + 0 > 0 && b + 0 > 0) printf "%.2f", a / b; else print "-" }'; }
whole() { awk -v v="$1" 'BEGIN { if (v ~ /^[0-9.]+$/) printf "%.0f", v; else print v }'; }
row() { # LABEL KEY
  local m=${figure[$2,mallard]:--} p=${figure[$2,postgres]:--} e=${figure[$2,embedded]:--}
  printf '| %s | %s | %s | %s | %s | %s |\n' "$1" "$(whole "$p")" "$(whole "$m")" "$(whole "$e")" \
    "$(ratio "$m" "$p")" "$(ratio "$m" "$e")"
}
echo
echo "$(date -u +%Y-%m-%d), $(nproc) cores, $mode: scale $scale, ${duration}s per run, $clients clients"
echo
echo "| workload | PostgreSQL 15 | mallard | embedded DuckDB | mallard/PG | mallard/embedded |"
echo "|---|---:|---:|---:|---:|---:|"
row "\`select 1\` -M prepared, $clients clients (tps)" select1-prepared
row "\`select 1\` -M prepared, 1 client (tps)" select1-prepared-1
row "\`select 1\` -M extended (tps)" select1-extended
row "\`select 1\` -M simple (tps)" select1-simple
row "pgbench -S -M prepared (tps)" select-only-prepared
row "pgbench -S -M extended (tps)" select-only-extended
row "pgbench -S -M simple (tps)" select-only-simple
row "TPC-B -M prepared, --max-tries=100 (tps)" tpcb-prepared
row "TPC-B -M simple, --max-tries=100 (tps)" tpcb-simple
row "pgbench -C, connect + \`select 1\` (conn/s)" connect
ms() { awk -v t="$1" 'BEGIN { if (t + 0 > 0) printf "%.1f", 1000 / t; else print "-" }'; }
m=$(ms "${figure[group-by,mallard]:-}") p=$(ms "${figure[group-by,postgres]:-}") e=$(ms "${figure[group-by,embedded]:-}")
printf '| group-by over 1M rows, 1 client (ms) | %s | %s | %s | %s | %s |\n' "$p" "$m" "$e" "$(ratio "$m" "$p")" "$(ratio "$m" "$e")"
m=${figure[load,mallard]} p=${figure[load,postgres]}
printf '| pgbench -i -s %s, COPY FROM STDIN (ms) | %s | %s | - | %s | - |\n' "$scale" "$p" "$m" "$(ratio "$m" "$p")"
m=${figure[tpch-load,mallard]} p=${figure[tpch-load,postgres]} e=${figure[tpch-load,embedded]:--}
printf '| TPC-H SF %s load, 8 tables by COPY FROM STDIN (ms) | %s | %s | %s | %s | %s |\n' "$tpch_scale" "$p" "$m" "$e" \
  "$(ratio "$m" "$p")" "$(ratio "$m" "$e")"
# The geometric mean of the 22 queries' times, for one server.
geomean() {
  local q
  for q in "${queries[@]}"; do echo "${figure[$(basename "$q" .sql),$1]:-}"; done |
    awk '$1 + 0 > 0 { s += log($1); n++ } END { if (n == 22) printf "%.1f", exp(s / n); else print "-" }'
}
m=$(geomean mallard) p=$(geomean postgres) e=$(geomean embedded)
printf '| TPC-H SF %s, geometric mean of 22 queries (ms) | %s | %s | %s | %s | %s |\n' "$tpch_scale" "$p" "$m" "$e" \
  "$(ratio "$m" "$p")" "$(ratio "$m" "$e")"
row "TPC-H SF $tpch_scale, 10 clients, 22 queries at random (queries/s)" tpch-concurrent
row "lineitem COPY FROM STDIN, csv (ms; embedded: COPY from the file)" copy-in-csv
row "lineitem COPY FROM STDIN, binary (ms)" copy-in-binary
row "lineitem COPY TO STDOUT, text (MB/s; embedded: COPY TO a file)" copy-out
row "lineitem COPY TO STDOUT, binary (rows/s)" copy-out-binary
echo
echo "TPC-H per query (ms): query postgres mallard embedded"
for q in "${queries[@]}"; do
  key=$(basename "$q" .sql)
  echo "  $key ${figure[$key,postgres]:--} ${figure[$key,mallard]:--} ${figure[$key,embedded]:--}"
done
echo "mallard worker RSS: $((idle_base / 1024)) MiB idle, $((idle_full / 1024)) MiB with 1,000 idle sessions ($idle_each KiB each), $((idle_after / 1024)) MiB after they closed"
echo "TPC-H 10 clients: mallard ${figure[tpch-concurrent,mallard,failed]:-0} failed, postgres ${figure[tpch-concurrent,postgres,failed]:-0} failed; mallard worker peak RSS ${peak_rss} MiB"
echo
for key in tpcb-prepared tpcb-simple; do
  for who in postgres mallard embedded; do
    [ -n "${figure[$key,$who,failed]:-}" ] &&
      echo "$key $who: ${figure[$key,$who,failed]} failed, ${figure[$key,$who,retried]:-0} retried"
  done
done
simple=${figure[select1-simple,mallard]} extended=${figure[select1-extended,mallard]} prepared=${figure[select1-prepared,mallard]}
echo "mallard select 1: prepared/simple $(ratio "$prepared" "$simple"), prepared/extended $(ratio "$prepared" "$extended")"
