#!/usr/bin/env bash
# The speed table: small statements, connections and loads, run the same way against a
# PostgreSQL 15 and a mallard (storage duckdb, one worker) started here, and against
# DuckDB itself in-process (benches/embedded.rs: the floor, from this workspace's own
# DuckDB build), with the ratios. Figures are from one run on one machine; compare
# ratios, not absolute numbers, across machines.
#
#   benches/run.sh [quick|full] [mallard binary]
#
# quick (the default, about 3 minutes): scale 1, 5 s per run. full (about 15 minutes):
# scale 10, 30 s per run. Environment: SCALE, DURATION, CLIENTS (8) override them.
# Build first: cargo build --workspace --examples. Needs postgresql-15 and pgbench.
set -euo pipefail

mode="${1:-quick}"
target="${CARGO_TARGET_DIR:-$HOME/.cache/mallard/target}"
bin="${2:-$target/debug/mallard}"
embedded="$target/debug/examples/embedded"
case "$mode" in
  quick) scale="${SCALE:-1}" duration="${DURATION:-5}" ;;
  full) scale="${SCALE:-10}" duration="${DURATION:-30}" ;;
  *) echo "usage: benches/run.sh [quick|full] [mallard binary]" >&2; exit 2 ;;
esac
clients="${CLIENTS:-8}"
[ -x "$embedded" ] || { echo "no $embedded: run cargo build --workspace --examples" >&2; exit 1; }
command -v pgbench >/dev/null || { echo "pgbench is missing: apt-get install postgresql-client-15" >&2; exit 1; }
. "$(dirname "$0")/servers.sh"
start_postgres
start_mallard "$bin" --storage duckdb --workers 1

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

# Loading: pgbench -i (client-side generation, COPY FROM STDIN), timed.
for t in "${targets[@]}"; do
  read -r name port user db <<<"$t"
  start=$(date +%s%N)
  pgbench -h 127.0.0.1 -p "$port" -U "$user" -i -q -s "$scale" "$db" >"$work/init-$name.log" 2>&1 \
    || { echo "$name: pgbench -i failed" >&2; tail -3 "$work/init-$name.log" >&2; exit 1; }
  figure[load,$name]=$(( ($(date +%s%N) - start) / 1000000 ))
done

n=(-n -T "$duration" -c "$clients" -j 2)
run select1-prepared "${n[@]}" -f "$work/select1.sql" -M prepared
run select1-prepared-1 -n -T "$duration" -c 1 -j 1 -f "$work/select1.sql" -M prepared
run select1-extended "${n[@]}" -f "$work/select1.sql" -M extended
run select1-simple "${n[@]}" -f "$work/select1.sql" -M simple
run select-only-prepared "${n[@]}" -S -M prepared
run select-only-extended "${n[@]}" -S -M extended
run select-only-simple "${n[@]}" -S -M simple
run tpcb-prepared "${n[@]}" -M prepared --max-tries=100
run tpcb-simple "${n[@]}" -M simple --max-tries=100
run connect -n -T "$duration" -c "$clients" -j 2 -C -f "$work/select1.sql" -M simple
# Analytics: a group-by over a million rows, one client, back to back.
group_by="select k, count(*), sum(x) from bench_groups group by k"
echo "$group_by;" >"$work/group_by.sql"
for t in "${targets[@]}"; do
  read -r name port user db <<<"$t"
  psql -h 127.0.0.1 -p "$port" -U "$user" -d "$db" -X -q -c \
    "create table bench_groups as select x, x % 1000 as k from generate_series(1, 1000000) as t(x)"
done
run group-by -n -T "$duration" -c 1 -j 1 -f "$work/group_by.sql" -M prepared

# The floor, on the file mallard's pgbench -i wrote: stop mallard, which holds it.
kill "$mallard_pid"
wait "$mallard_pid" 2>/dev/null || true
mallard_pid=""
file="$work/mallard/mallard.duckdb"
floor() { # KEY WORKLOAD THREADS [DATABASE]
  local out
  out=$("$embedded" "$2" "$3" "$duration" ${4:+"$4"})
  figure[$1,embedded]=$(awk '/^tps / { print $2 }' <<<"$out")
  figure[$1,embedded,retried]=$(awk '/^retried / { print $2 }' <<<"$out")
  figure[$1,embedded,failed]=$(awk '/^retried / { print $4 }' <<<"$out")
}
floor select1-prepared select1 "$clients"
floor select1-prepared-1 select1 1
floor select-only-prepared select-only "$clients" "$file"
floor tpcb-prepared tpcb "$clients" "$file"
floor group-by "query:$group_by" 1 "$file"

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
echo
for key in tpcb-prepared tpcb-simple; do
  for who in postgres mallard embedded; do
    [ -n "${figure[$key,$who,failed]:-}" ] &&
      echo "$key $who: ${figure[$key,$who,failed]} failed, ${figure[$key,$who,retried]:-0} retried"
  done
done
simple=${figure[select1-simple,mallard]} extended=${figure[select1-extended,mallard]} prepared=${figure[select1-prepared,mallard]}
echo "mallard select 1: prepared/simple $(ratio "$prepared" "$simple"), prepared/extended $(ratio "$prepared" "$extended")"
