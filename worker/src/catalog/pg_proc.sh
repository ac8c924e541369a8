#!/usr/bin/env bash
# Records pg_proc.tsv: PostgreSQL 15's pg_proc rows of the functions whose name mallard's
# DuckDB also answers (its builtin functions and the catalog's macros), with the text
# PostgreSQL's pg_get_function_result / _arguments / _identity_arguments give for each.
# For developers, when DuckDB or the catalog changes; the worker only reads the file,
# and drops at start any row whose name its DuckDB no longer has.
#
#   worker/src/catalog/pg_proc.sh POSTGRES_CONNINFO MALLARD_CONNINFO
#
# POSTGRES_CONNINFO: a PostgreSQL 15 (any database); MALLARD_CONNINFO: a running mallard.
set -euo pipefail

postgres="$1"
mallard="$2"
out="$(dirname "$0")/pg_proc.tsv"

names=$(psql "$mallard" -XAtc "select distinct function_name from duckdb_functions() order by 1" |
  sed "s/'/''/g; s/.*/'&'/" | paste -sd,)
columns="oid, proname, prokind, prolang, procost, prorows, provariadic, prosupport, proleakproof, proisstrict, proretset,
  provolatile, proparallel, pronargs, pronargdefaults, prorettype, proargtypes, proallargtypes,
  proargmodes, proargnames, prosrc, pg_get_function_result(oid) AS result,
  pg_get_function_arguments(oid) AS arguments,
  pg_get_function_identity_arguments(oid) AS identity_arguments"
{
  echo "# pg_proc rows recorded from $(psql "$postgres" -XAtc 'show server_version') by pg_proc.sh; \\N is NULL"
  psql "$postgres" -XAq -F $'\t' -P null='\N' -c \
    "select $columns from pg_proc where pronamespace = 11 and proname in ($names) order by oid" |
    sed '$d'
} >"$out"
echo "$(($(wc -l <"$out") - 2)) rows in $out"
