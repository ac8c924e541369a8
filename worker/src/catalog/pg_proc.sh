#!/usr/bin/env bash
# Records pg_proc.tsv: PostgreSQL 15's pg_proc rows of the functions whose name mallard's
# DuckDB also answers (its builtin functions and the catalog's macros) and of the I/O
# functions of the types in pg_type.tsv, with the text
# PostgreSQL's pg_get_function_result / _arguments / _identity_arguments give for each.
# For developers, when DuckDB or the catalog changes; the worker only reads the file,
# and drops at start any row whose name its DuckDB no longer has (I/O functions kept).
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
# The input, output, send and receive functions of the recorded types (pg_type.tsv),
# which pg_type's regproc columns name: Npgsql tells arrays by their receive function.
types=$(grep -v '^#' "$(dirname "$0")/pg_type.tsv" | tail -n +2 | cut -f1 | paste -sd,)
columns="oid, proname, prokind, prolang, procost, prorows, provariadic, prosupport, proleakproof, proisstrict, proretset,
  provolatile, proparallel, pronargs, pronargdefaults, prorettype, proargtypes, proallargtypes,
  proargmodes, proargnames, prosrc, pg_get_function_result(oid) AS result,
  pg_get_function_arguments(oid) AS arguments,
  pg_get_function_identity_arguments(oid) AS identity_arguments"
{
  echo "# pg_proc rows recorded from $(psql "$postgres" -XAtc 'show server_version') by pg_proc.sh; \\N is NULL"
  psql "$postgres" -XAq -F $'\t' -P null='\N' -c \
    "select $columns from pg_proc where pronamespace = 11 and (proname in ($names) or oid in (
      select unnest(array[typinput, typoutput, typreceive, typsend, typmodin, typmodout, typanalyze]::oid[])
      from pg_type where oid in ($types))) order by oid" |
    sed '$d'
} >"$out"
echo "$(($(wc -l <"$out") - 2)) rows in $out"
