-- PostgreSQL 15's pg_proc rows as recorded (pg_proc.tsv, by pg_proc.sh), typed; before
-- pg_type, whose regproc columns are these functions' OIDs. pg_proc.sql drops at the
-- end the rows of names this worker's DuckDB lacks, keeping the types' I/O functions.
CREATE TABLE memory.mallard_catalog.builtin_functions AS
SELECT CAST(oid AS UINTEGER) AS oid, proname, prokind, CAST(prolang AS UINTEGER) AS prolang,
    CAST(procost AS FLOAT) AS procost, CAST(prorows AS FLOAT) AS prorows,
    CAST(provariadic AS UINTEGER) AS provariadic, prosupport, proleakproof = 't' AS proleakproof,
    proisstrict = 't' AS proisstrict, proretset = 't' AS proretset, provolatile, proparallel,
    CAST(pronargs AS SMALLINT) AS pronargs, CAST(pronargdefaults AS SMALLINT) AS pronargdefaults,
    CAST(prorettype AS UINTEGER) AS prorettype,
    CAST(CASE WHEN proargtypes = '' THEN [] ELSE string_split(proargtypes, ' ') END AS UINTEGER[]) AS proargtypes,
    CAST(string_split(trim(proallargtypes, '{}'), ',') AS UINTEGER[]) AS proallargtypes,
    string_split(trim(proargmodes, '{}'), ',') AS proargmodes,
    list_transform(string_split(trim(proargnames, '{}'), ','), n -> trim(n, '"')) AS proargnames,
    prosrc, result, arguments, identity_arguments
FROM memory.mallard_catalog.recorded_functions;
