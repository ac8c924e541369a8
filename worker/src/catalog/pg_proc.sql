-- pg_proc: PostgreSQL 15's rows for the builtin functions this worker's DuckDB also has
-- and the I/O functions of the builtin types (builtin_functions.sql), then the user's
-- macros. Installed last, after every function mallard registers or defines, so that
-- the recorded rows of a name this DuckDB lacks can be dropped (at the end).
-- The languages functions are written in here, as PostgreSQL 15 has them: the builtins
-- are internal, a macro is sql. PL/pgSQL is not among them.
CREATE VIEW memory.mallard_catalog.pg_language AS
SELECT CAST(oid AS UINTEGER) AS oid, lanname, CAST(10 AS UINTEGER) AS lanowner, false AS lanispl,
    lanpltrusted, CAST(0 AS UINTEGER) AS lanplcallfoid, CAST(0 AS UINTEGER) AS laninline,
    CAST(lanvalidator AS UINTEGER) AS lanvalidator, CAST(NULL AS VARCHAR[]) AS lanacl
FROM (VALUES (12, 'internal', false, 2246), (13, 'c', false, 2247), (14, 'sql', true, 2248))
    v(oid, lanname, lanpltrusted, lanvalidator);


-- A user's macro, as PostgreSQL would describe a SQL function: its OID from its schema,
-- name and parameter count (DuckDB overloads macros by count); a parameter's type is
-- its declared one, or the one the body casts it to (as the translation of CREATE
-- FUNCTION writes it; mallard_parameter_type), or else anyelement; the result is the type the body is cast to (as the translation of
-- CREATE FUNCTION writes it; mallard_result_type) or else anyelement, and a table macro
-- returns SETOF record.
CREATE VIEW memory.mallard_catalog.user_functions AS
SELECT memory.mallard_catalog.object_oid('p', f.schema_name, f.function_name || '/' || len(f.parameters)) AS oid,
    f.schema_name, f.function_name AS proname, f.function_type = 'table_macro' AS proretset,
    CAST(CASE WHEN f.function_type = 'table_macro' THEN 2249
              ELSE coalesce(memory.mallard_catalog.duck_type_oids()[memory.mallard_catalog.base_type_name(
                  nullif(mallard_result_type(f.macro_definition), ''))], 2283) END AS UINTEGER) AS prorettype,
    list_transform(list_zip(f.parameters, f.parameter_types), p -> CAST(CASE
        WHEN p[2] IS NOT NULL
            THEN coalesce(memory.mallard_catalog.duck_type_oids()[memory.mallard_catalog.base_type_name(p[2])], 25)
        ELSE coalesce(memory.mallard_catalog.duck_type_oids()[memory.mallard_catalog.base_type_name(
            nullif(mallard_parameter_type(f.macro_definition, p[1]), ''))], 2283) END AS UINTEGER))
        AS proargtypes,
    CASE WHEN list_bool_and(list_transform(f.parameters, n -> regexp_full_match(n, '\$\d+'))) THEN NULL
         ELSE list_transform(f.parameters, n -> CASE WHEN regexp_full_match(n, '\$\d+') THEN '' ELSE n END)
    END AS proargnames,
    f.macro_definition AS prosrc
FROM duckdb_functions() f
WHERE f.database_name = current_database() AND f.function_type IN ('macro', 'table_macro') AND NOT f.internal;

CREATE VIEW memory.mallard_catalog.pg_proc AS
SELECT oid, proname, CAST(11 AS UINTEGER) AS pronamespace, CAST(10 AS UINTEGER) AS proowner, prolang, procost,
    prorows, provariadic, prosupport, prokind, false AS prosecdef, proleakproof, proisstrict, proretset,
    provolatile, proparallel, pronargs, pronargdefaults, prorettype,
    CAST(proargtypes AS UHUGEINT[]) AS proargtypes, proallargtypes,
    proargmodes, proargnames, CAST(NULL AS VARCHAR) AS proargdefaults, CAST(NULL AS UINTEGER[]) AS protrftypes,
    prosrc, CAST(NULL AS VARCHAR) AS probin, CAST(NULL AS VARCHAR) AS prosqlbody,
    CAST(NULL AS VARCHAR[]) AS proconfig, CAST(NULL AS VARCHAR[]) AS proacl
FROM memory.mallard_catalog.builtin_functions
UNION ALL
SELECT oid, proname, memory.mallard_catalog.namespace_oid(schema_name), CAST(10 AS UINTEGER), CAST(14 AS UINTEGER), 100,
    CASE WHEN proretset THEN 1000 ELSE 0 END, CAST(0 AS UINTEGER), '-', 'f', false, false, false, proretset, 'v', 'u',
    CAST(len(proargtypes) AS SMALLINT), 0, prorettype, CAST(proargtypes AS UHUGEINT[]), NULL, NULL, proargnames, NULL, NULL,
    prosrc, NULL, NULL, NULL, NULL
FROM memory.mallard_catalog.user_functions;

CREATE MACRO memory.mallard_catalog.pg_function_is_visible(function_oid) AS
    coalesce((SELECT list_contains(main.current_schemas(false), mc_f.schema_name)
              FROM memory.mallard_catalog.user_functions mc_f WHERE mc_f.oid = function_oid),
             (SELECT true FROM memory.mallard_catalog.builtin_functions mc_b WHERE mc_b.oid = function_oid),
             false);
-- The text PostgreSQL prints: recorded for the builtins, written for the user's macros.
CREATE MACRO memory.mallard_catalog.pg_get_function_result(function_oid) AS
    coalesce((SELECT mc_b.result FROM memory.mallard_catalog.builtin_functions mc_b WHERE mc_b.oid = function_oid),
             (SELECT CASE WHEN mc_f.proretset THEN 'SETOF record'
                          ELSE memory.mallard_catalog.type_names()[mc_f.prorettype] END
              FROM memory.mallard_catalog.user_functions mc_f WHERE mc_f.oid = function_oid));
CREATE MACRO memory.mallard_catalog.user_function_arguments(function_oid) AS
    (SELECT array_to_string(list_transform(
                list_zip(coalesce(mc_f.proargnames, list_transform(mc_f.proargtypes, t -> '')), mc_f.proargtypes),
                p -> CASE WHEN p[1] = '' THEN '' ELSE p[1] || ' ' END || memory.mallard_catalog.type_names()[p[2]]),
            ', ')
     FROM memory.mallard_catalog.user_functions mc_f WHERE mc_f.oid = function_oid);
CREATE MACRO memory.mallard_catalog.pg_get_function_arguments(function_oid) AS
    coalesce((SELECT mc_b.arguments FROM memory.mallard_catalog.builtin_functions mc_b WHERE mc_b.oid = function_oid),
             memory.mallard_catalog.user_function_arguments(function_oid));
-- A macro's body is DuckDB's text in prosrc; PostgreSQL's sqlbody is for BEGIN ATOMIC.
CREATE MACRO memory.mallard_catalog.pg_get_function_sqlbody(function_oid) AS CAST(NULL AS VARCHAR);
CREATE MACRO memory.mallard_catalog.pg_get_function_identity_arguments(function_oid) AS
    coalesce((SELECT mc_b.identity_arguments FROM memory.mallard_catalog.builtin_functions mc_b WHERE mc_b.oid = function_oid),
             memory.mallard_catalog.user_function_arguments(function_oid));

-- regproc: a function's name in, its OID out (pg_type's typinput and the others hold
-- OIDs, which Npgsql joins with pg_proc); a name must name one function.
CREATE MACRO memory.mallard_catalog.regproc_in(name) AS
    memory.mallard_catalog.reg_in(name,
        (SELECT CASE count(*) WHEN 1 THEN min(mc_p.oid)
                    WHEN 0 THEN error('function "' || CAST(name AS VARCHAR) || '" does not exist')
                    ELSE error('more than one function named "' || CAST(name AS VARCHAR) || '"') END
         FROM memory.mallard_catalog.pg_proc mc_p
         WHERE mc_p.proname = trim(regexp_replace(CAST(name AS VARCHAR), '^pg_catalog\.', ''), '"')));
CREATE MACRO memory.mallard_catalog.regproc_out(function) AS
    memory.mallard_catalog.reg_out(function,
        (SELECT min(mc_p.proname) FROM memory.mallard_catalog.pg_proc mc_p WHERE mc_p.oid = function));

DELETE FROM memory.mallard_catalog.builtin_functions
WHERE proname NOT IN (SELECT function_name FROM duckdb_functions())
    AND oid NOT IN (SELECT unnest([typinput, typoutput, typreceive, typsend, typmodin, typmodout, typanalyze])
                    FROM memory.mallard_catalog.pg_type);
DROP TABLE memory.mallard_catalog.recorded_functions;
