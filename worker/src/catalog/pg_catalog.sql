-- PostgreSQL 15's catalog relations and functions, as views and macros over DuckDB's own
-- catalog (duckdb_tables(), duckdb_columns(), ...). Installed once per worker into the
-- in-memory anchor database, in the schema memory.mallard_catalog, which every session
-- has last on its search path; statements name it through `pg_catalog.` (the
-- translation drops that qualifier, as DuckDB's own pg_catalog cannot be replaced).
--
-- Names inside are fully qualified, so that a user's table called pg_class never
-- changes what a catalog view means. `current_database()` is the session's database.
--
-- Identities: OIDs are UINTEGER, unsigned 32 bits as in PostgreSQL, and reported as
-- oid (a list of them as oid[]). A user relation's OID is a hash of its schema and name, so it is the same
-- in every worker, after a restart and after a reload (PostgreSQL keeps an OID across a
-- rename; here a renamed object gets a new one). DuckDB's `main` schema is PostgreSQL's
-- `public` (OID 2200).

CREATE MACRO memory.mallard_catalog.object_oid(kind, schema_name, object_name) AS
    CAST(16384 + md5_number_upper(kind || ':' || schema_name || '.' || object_name) % 2147467263 AS UINTEGER);

CREATE MACRO memory.mallard_catalog.namespace_oid(schema_name) AS
    CAST(CASE schema_name
        WHEN 'main' THEN 2200
        WHEN 'pg_catalog' THEN 11
        WHEN 'information_schema' THEN 13207
        ELSE memory.mallard_catalog.object_oid('n', schema_name, '')
    END AS UINTEGER);

CREATE MACRO memory.mallard_catalog.namespace_name(schema_name) AS
    CASE schema_name WHEN 'main' THEN 'public' ELSE schema_name END;

-- The session's temporary objects are in DuckDB's database `temp`, which only its own
-- connection sees. PostgreSQL shows them in the schema pg_temp_N, N the backend's slot:
-- 3 here for every session, as no session sees another's. The session sets the
-- variable mallard_temp_objects once it has made one.
CREATE MACRO memory.mallard_catalog.temp_schema() AS 'pg_temp_3';

-- A schema whose relations are named without it: on the search path, or the session's
-- temporary schema, which PostgreSQL searches first.
CREATE MACRO memory.mallard_catalog.visible_schema(schema_name) AS
    schema_name = memory.mallard_catalog.temp_schema() OR list_contains(main.current_schemas(false), schema_name);

-- Whether an object of this DuckDB database is the session's: in its database, or
-- one of its temporary objects; and the schema PostgreSQL shows it in.
CREATE MACRO memory.mallard_catalog.served(database_name) AS database_name IN (current_database(), 'temp');
CREATE MACRO memory.mallard_catalog.served_schema(database_name, schema_name) AS
    CASE WHEN database_name = 'temp' THEN memory.mallard_catalog.temp_schema() ELSE schema_name END;

-- DuckDB's catalog functions over the session's objects.
CREATE MACRO memory.mallard_catalog.served_tables() AS TABLE
SELECT * REPLACE (memory.mallard_catalog.served_schema(database_name, schema_name) AS schema_name)
FROM duckdb_tables() WHERE memory.mallard_catalog.served(database_name) AND NOT internal;
CREATE MACRO memory.mallard_catalog.served_columns() AS TABLE
SELECT * REPLACE (memory.mallard_catalog.served_schema(database_name, schema_name) AS schema_name)
FROM duckdb_columns() WHERE memory.mallard_catalog.served(database_name) AND NOT internal;
CREATE MACRO memory.mallard_catalog.served_constraints() AS TABLE
SELECT * REPLACE (memory.mallard_catalog.served_schema(database_name, schema_name) AS schema_name)
FROM duckdb_constraints() WHERE memory.mallard_catalog.served(database_name);
CREATE MACRO memory.mallard_catalog.served_indexes() AS TABLE
SELECT * REPLACE (memory.mallard_catalog.served_schema(database_name, schema_name) AS schema_name)
FROM duckdb_indexes() WHERE memory.mallard_catalog.served(database_name);
CREATE MACRO memory.mallard_catalog.served_views() AS TABLE
SELECT * REPLACE (memory.mallard_catalog.served_schema(database_name, schema_name) AS schema_name)
FROM duckdb_views() WHERE memory.mallard_catalog.served(database_name) AND NOT internal;
CREATE MACRO memory.mallard_catalog.served_sequences() AS TABLE
SELECT * REPLACE (memory.mallard_catalog.served_schema(database_name, schema_name) AS schema_name)
FROM duckdb_sequences() WHERE memory.mallard_catalog.served(database_name);

-- The PostgreSQL type of a DuckDB column type as duckdb_columns() spells it: the same
-- mapping a RowDescription uses (duck_types is written from it at install).
CREATE MACRO memory.mallard_catalog.base_type_name(data_type) AS
    regexp_replace(regexp_replace(data_type, '(\[\d*\])+$', ''), '\(.*$', '');

CREATE MACRO memory.mallard_catalog.type_oid(data_type) AS
    coalesce(
        (SELECT CASE WHEN data_type SIMILAR TO '.*\[\d*\]' THEN d.array_oid ELSE d.oid END
         FROM memory.mallard_catalog.duck_types d
         WHERE d.duck_name = memory.mallard_catalog.base_type_name(data_type)),
        CASE WHEN data_type SIMILAR TO '.*\[\d*\]' THEN 1009 ELSE 25 END);

-- DECIMAL(38,10) is what unconstrained numeric becomes (translation rule
-- unconstrained_numeric): PostgreSQL reports such a column without a modifier.
CREATE MACRO memory.mallard_catalog.type_modifier(data_type) AS
    CASE WHEN data_type = 'DECIMAL(38,10)' THEN -1
         WHEN data_type SIMILAR TO 'DECIMAL\(\d+,\d+\)'
         THEN (CAST(regexp_extract(data_type, '\((\d+),', 1) AS INTEGER) << 16)
              + CAST(regexp_extract(data_type, ',(\d+)\)', 1) AS INTEGER) + 4
         ELSE -1 END;

-- The role that owns every object: the session's user (mallard has no object owners;
-- its users file decides who may log in), from the settings the session publishes.
-- A time the session table keeps, in microseconds since the Unix epoch.
CREATE MACRO memory.mallard_catalog.unix_micros(us) AS make_timestamp(us) AT TIME ZONE 'UTC';
CREATE MACRO memory.mallard_catalog.owner_name() AS getvariable('mallard_settings')['session_authorization'];

CREATE MACRO memory.mallard_catalog.index_definition(schema_name, table_name, index_name, is_unique, column_names) AS
    'CREATE ' || CASE WHEN is_unique THEN 'UNIQUE ' ELSE '' END || 'INDEX ' || index_name || ' ON '
    || memory.mallard_catalog.namespace_name(schema_name) || '.' || table_name
    || ' USING btree (' || array_to_string(column_names, ', ') || ')';

-- varchar(n), char(n) and jsonb columns: DuckDB keeps no length and has no jsonb, so the
-- translation writes a check of exactly one of these shapes for each
-- (translate::types::declared_types); here it becomes the column's type again, and is
-- no constraint of the table. The type such a check declares (char, varchar, jsonb);
-- NULL for any other constraint.
CREATE MACRO memory.mallard_catalog.declared_type_oid(constraint_type, expression) AS
    CASE WHEN constraint_type <> 'CHECK' THEN NULL
         WHEN regexp_full_match(expression, '\(char_length\(rtrim\([^()]+\)\) <= \d+\)') THEN 1042
         WHEN regexp_full_match(expression, '\(char_length\([^()]+\) <= \d+\)') THEN 1043
         WHEN regexp_full_match(expression, '\(\([^()]+ IS NULL\) OR \([^()]+ IS NOT NULL\)\)') THEN 3802
    END;

-- User objects come from DuckDB's catalog functions, each a scan of every object of
-- every database (duckdb_constraints() alone costs 130-250 ms with 5,000 tables). The
-- rows the catalog derives from them are in five relations, built in this order:
-- constraint_rows, columns, indexes, relations, index_keys. Each is a `live_` view that
-- reads the functions (or the relations before it), a `snapshot_` table that the worker
-- copies from the view after DDL (worker/src/catalog/snapshot.rs), and the view without
-- a prefix that the rest of the catalog reads: the snapshot while the session's
-- variable mallard_catalog_snapshot says it is current, the live view otherwise.
-- DuckDB reads the variable when it plans a statement, so the other branch is pruned
-- and never runs.
CREATE MACRO memory.mallard_catalog.from_snapshot() AS coalesce(getvariable('mallard_catalog_snapshot'), false);

-- PostgreSQL's name of a constraint (and of the index of a primary key or unique
-- constraint); DuckDB's differ for primary and foreign keys.
CREATE MACRO memory.mallard_catalog.constraint_name(constraint_type, table_name, column_names, constraint_name) AS
    CASE constraint_type
        WHEN 'PRIMARY KEY' THEN table_name || '_pkey'
        WHEN 'FOREIGN KEY' THEN table_name || '_' || array_to_string(column_names, '_') || '_fkey'
        ELSE constraint_name
    END;

-- The constraints of the session's database, with contype 'l' for the checks that are
-- a declared type (typid and typmod say which type they declare).
CREATE VIEW memory.mallard_catalog.live_constraint_rows AS
SELECT c.schema_name, c.table_name,
       memory.mallard_catalog.constraint_name(c.constraint_type, c.table_name, c.constraint_column_names,
                                              c.constraint_name) AS conname,
       CASE WHEN memory.mallard_catalog.declared_type_oid(c.constraint_type, c.expression) IS NOT NULL THEN 'l'
            ELSE CASE c.constraint_type WHEN 'PRIMARY KEY' THEN 'p' WHEN 'UNIQUE' THEN 'u' WHEN 'FOREIGN KEY' THEN 'f'
                                        ELSE 'c' END END AS contype,
       c.constraint_column_names AS column_names,
       list_transform(c.constraint_column_indexes, i -> CAST(i + 1 AS SMALLINT)) AS attnums,
       c.expression, c.referenced_table, c.referenced_column_names, c.constraint_index,
       CAST(memory.mallard_catalog.declared_type_oid(c.constraint_type, c.expression) AS UINTEGER) AS typid,
       -- The declared length of a char or varchar column.
       CASE WHEN memory.mallard_catalog.declared_type_oid(c.constraint_type, c.expression) IN (1042, 1043)
            THEN CAST(regexp_extract(c.expression, '<= (\d+)\)$', 1) AS INTEGER) + 4 ELSE -1 END AS typmod,
       memory.mallard_catalog.object_oid('c', c.schema_name, c.table_name || '.' ||
           memory.mallard_catalog.constraint_name(c.constraint_type, c.table_name, c.constraint_column_names,
                                                  c.constraint_name)) AS oid,
       memory.mallard_catalog.object_oid('r', c.schema_name, c.table_name) AS relid
FROM memory.mallard_catalog.served_constraints() c
WHERE c.constraint_type IN ('PRIMARY KEY', 'UNIQUE', 'FOREIGN KEY', 'CHECK');
CREATE TABLE memory.mallard_catalog.snapshot_constraint_rows AS
SELECT * FROM memory.mallard_catalog.live_constraint_rows LIMIT 0;
CREATE VIEW memory.mallard_catalog.constraint_rows AS
SELECT * FROM memory.mallard_catalog.snapshot_constraint_rows WHERE memory.mallard_catalog.from_snapshot()
UNION ALL
SELECT * FROM memory.mallard_catalog.live_constraint_rows WHERE NOT memory.mallard_catalog.from_snapshot();

CREATE VIEW memory.mallard_catalog.declared_types AS
SELECT c.schema_name, c.table_name, c.column_names[1] AS column_name, c.typid, c.typmod
FROM memory.mallard_catalog.constraint_rows c WHERE c.contype = 'l';

CREATE VIEW memory.mallard_catalog.constraints AS
SELECT c.schema_name, c.table_name, c.conname, c.contype, c.column_names, c.attnums, c.expression,
       c.referenced_table, c.referenced_column_names, c.constraint_index, c.oid, c.relid
FROM memory.mallard_catalog.constraint_rows c WHERE c.contype <> 'l';

-- Columns of tables and views, with PostgreSQL's attnum and type.
CREATE VIEW memory.mallard_catalog.live_columns AS
SELECT c.schema_name, c.table_name, c.column_name, CAST(c.column_index AS SMALLINT) AS attnum,
       CAST(coalesce(d.typid, memory.mallard_catalog.type_oid(c.data_type)) AS UINTEGER) AS typid,
       CAST(coalesce(d.typmod, memory.mallard_catalog.type_modifier(c.data_type)) AS INTEGER) AS typmod,
       -- DuckLake reports a column without a default as `NULL`; PostgreSQL keeps no
       -- default for `DEFAULT NULL` either.
       NOT c.is_nullable AS notnull, nullif(c.column_default, 'NULL') AS column_default, c.comment, c.data_type,
       memory.mallard_catalog.object_oid('r', c.schema_name, c.table_name) AS relid
FROM memory.mallard_catalog.served_columns() c
LEFT JOIN memory.mallard_catalog.declared_types d
       ON d.schema_name = c.schema_name AND d.table_name = c.table_name AND d.column_name = c.column_name;
CREATE TABLE memory.mallard_catalog.snapshot_columns AS SELECT * FROM memory.mallard_catalog.live_columns LIMIT 0;
CREATE VIEW memory.mallard_catalog.columns AS
SELECT * FROM memory.mallard_catalog.snapshot_columns WHERE memory.mallard_catalog.from_snapshot()
UNION ALL
SELECT * FROM memory.mallard_catalog.live_columns WHERE NOT memory.mallard_catalog.from_snapshot();

-- Indexes: DuckDB's, and the ones PostgreSQL makes for primary keys and unique
-- constraints.
CREATE VIEW memory.mallard_catalog.live_indexes AS
SELECT i.schema_name, i.table_name, i.index_name, i.is_unique, i.is_primary,
       string_split(trim(i.expressions, '[]'), ', ') AS column_names, i.comment
FROM memory.mallard_catalog.served_indexes() i
UNION ALL
SELECT c.schema_name, c.table_name, c.conname, true, c.contype = 'p', c.column_names, NULL
FROM memory.mallard_catalog.constraints c WHERE c.contype IN ('p', 'u');
CREATE TABLE memory.mallard_catalog.snapshot_indexes AS SELECT * FROM memory.mallard_catalog.live_indexes LIMIT 0;
CREATE VIEW memory.mallard_catalog.indexes AS
SELECT * FROM memory.mallard_catalog.snapshot_indexes WHERE memory.mallard_catalog.from_snapshot()
UNION ALL
SELECT * FROM memory.mallard_catalog.live_indexes WHERE NOT memory.mallard_catalog.from_snapshot();

-- Every user relation of the session's database, one row each: tables, views,
-- indexes (DuckDB's, and the ones PostgreSQL makes for primary keys and unique
-- constraints), sequences.
-- The live view reads duckdb_constraints() once, as `k`.
CREATE VIEW memory.mallard_catalog.live_relations AS
SELECT r.*, memory.mallard_catalog.object_oid('r', r.schema_name, r.relname) AS oid FROM (
WITH k AS (SELECT * FROM memory.mallard_catalog.constraint_rows),
declared AS (SELECT schema_name, table_name, count(*) AS n FROM k WHERE contype = 'l' GROUP BY ALL),
-- PostgreSQL keeps a foreign key with triggers on both tables; psql reads the flag
-- before it asks for foreign keys and "Referenced by".
linked AS (
    SELECT schema_name, table_name FROM k WHERE contype = 'f'
    UNION SELECT schema_name, referenced_table FROM k WHERE contype = 'f')
SELECT t.schema_name, t.table_name AS relname, 'r' AS relkind, t.table_name AS table_name,
       CAST(t.column_count AS SMALLINT) AS natts, CAST(t.estimated_size AS FLOAT) AS tuples,
       t.index_count > 0 AS hasindex, CAST(t.check_constraint_count - coalesce(d.n, 0) AS SMALLINT) AS checks,
       l.table_name IS NOT NULL AS hastriggers, t.comment, CAST(NULL AS VARCHAR) AS definition
FROM memory.mallard_catalog.served_tables() t
LEFT JOIN declared d ON d.schema_name = t.schema_name AND d.table_name = t.table_name
LEFT JOIN linked l ON l.schema_name = t.schema_name AND l.table_name = t.table_name
UNION ALL
SELECT v.schema_name, v.view_name, 'v', v.view_name, CAST(v.column_count AS SMALLINT), 0, false, 0, false, v.comment,
       v.sql
FROM memory.mallard_catalog.served_views() v
UNION ALL
SELECT i.schema_name, i.index_name, 'i', i.table_name, CAST(len(string_split(trim(i.expressions, '[]'), ', ')) AS SMALLINT),
       0, false, 0, false, i.comment, NULL
FROM memory.mallard_catalog.served_indexes() i
UNION ALL
SELECT k.schema_name, k.conname, 'i', k.table_name, CAST(len(k.column_names) AS SMALLINT), 0, false, 0, false, NULL, NULL
FROM k WHERE k.contype IN ('p', 'u')
UNION ALL
SELECT s.schema_name, s.sequence_name, 'S', s.sequence_name, 3, 1, false, 0, false, s.comment, NULL
FROM memory.mallard_catalog.served_sequences() s) r;
CREATE TABLE memory.mallard_catalog.snapshot_relations AS SELECT * FROM memory.mallard_catalog.live_relations LIMIT 0;
CREATE VIEW memory.mallard_catalog.relations AS
SELECT * FROM memory.mallard_catalog.snapshot_relations WHERE memory.mallard_catalog.from_snapshot()
UNION ALL
SELECT * FROM memory.mallard_catalog.live_relations WHERE NOT memory.mallard_catalog.from_snapshot();

-- pg_namespace
CREATE VIEW memory.mallard_catalog.pg_namespace AS
SELECT CAST(oid AS UINTEGER) AS oid, nspname, CAST(nspowner AS UINTEGER) AS nspowner, CAST(NULL AS VARCHAR[]) AS nspacl
FROM (VALUES (11, 'pg_catalog', 10), (99, 'pg_toast', 10), (2200, 'public', 6171), (13207, 'information_schema', 10))
     v(oid, nspname, nspowner)
UNION ALL
SELECT memory.mallard_catalog.namespace_oid(s.schema_name), s.schema_name, CAST(10 AS UINTEGER), NULL
FROM duckdb_schemas() s
WHERE s.database_name = current_database() AND s.schema_name NOT IN ('main', 'pg_catalog', 'information_schema')
UNION ALL
SELECT memory.mallard_catalog.namespace_oid(memory.mallard_catalog.temp_schema()), memory.mallard_catalog.temp_schema(), CAST(10 AS UINTEGER), NULL
WHERE getvariable('mallard_temp_objects');

CREATE VIEW memory.mallard_catalog.pg_class AS
SELECT r.oid,
       r.relname,
       memory.mallard_catalog.namespace_oid(r.schema_name) AS relnamespace,
       CAST(0 AS UINTEGER) AS reltype, CAST(0 AS UINTEGER) AS reloftype, CAST(10 AS UINTEGER) AS relowner,
       CAST(CASE r.relkind WHEN 'r' THEN 2 WHEN 'i' THEN 403 ELSE 0 END AS UINTEGER) AS relam,
       CAST(0 AS UINTEGER) AS relfilenode, CAST(0 AS UINTEGER) AS reltablespace,
       CAST(0 AS INTEGER) AS relpages, r.tuples AS reltuples, CAST(0 AS INTEGER) AS relallvisible,
       CAST(0 AS UINTEGER) AS reltoastrelid, r.hasindex AS relhasindex, false AS relisshared,
       CASE WHEN r.schema_name = memory.mallard_catalog.temp_schema() THEN 't' ELSE 'p' END AS relpersistence,
       r.relkind, r.natts AS relnatts, r.checks AS relchecks,
       false AS relhasrules, r.hastriggers AS relhastriggers,
       false AS relhassubclass,
       false AS relrowsecurity, false AS relforcerowsecurity, true AS relispopulated,
       CASE r.relkind WHEN 'r' THEN 'd' ELSE 'n' END AS relreplident, false AS relispartition,
       CAST(0 AS UINTEGER) AS relrewrite, CAST(0 AS BIGINT) AS relfrozenxid, CAST(0 AS BIGINT) AS relminmxid,
       CAST(NULL AS VARCHAR[]) AS relacl, CAST(NULL AS VARCHAR[]) AS reloptions, CAST(NULL AS VARCHAR) AS relpartbound
FROM memory.mallard_catalog.relations r;

CREATE VIEW memory.mallard_catalog.pg_attribute AS
SELECT c.relid AS attrelid,
       c.column_name AS attname, CAST(c.typid AS UINTEGER) AS atttypid, CAST(-1 AS INTEGER) AS attstattarget,
       coalesce(t.typlen, CAST(-1 AS SMALLINT)) AS attlen, c.attnum,
       CAST(CASE WHEN t.typcategory = 'A' THEN 1 ELSE 0 END AS INTEGER) AS attndims,
       CAST(-1 AS INTEGER) AS attcacheoff, c.typmod AS atttypmod,
       coalesce(t.typbyval, false) AS attbyval, coalesce(t.typalign, 'i') AS attalign,
       coalesce(t.typstorage, 'x') AS attstorage, '' AS attcompression, c.notnull AS attnotnull,
       c.column_default IS NOT NULL AS atthasdef, false AS atthasmissing, '' AS attidentity,
       '' AS attgenerated, false AS attisdropped, true AS attislocal, CAST(0 AS INTEGER) AS attinhcount,
       CAST(coalesce(t.typcollation, 0) AS UINTEGER) AS attcollation, CAST(NULL AS VARCHAR[]) AS attacl,
       CAST(NULL AS VARCHAR[]) AS attoptions, CAST(NULL AS VARCHAR[]) AS attfdwoptions,
       CAST(NULL AS VARCHAR) AS attmissingval
FROM memory.mallard_catalog.columns c
LEFT JOIN memory.mallard_catalog.pg_type t ON t.oid = c.typid
UNION ALL
-- Index columns, as PostgreSQL lists them for an index relation.
SELECT memory.mallard_catalog.object_oid('r', i.schema_name, i.index_name), k.name, CAST(coalesce(c.typid, 25) AS UINTEGER), -1,
       -1, CAST(k.n AS SMALLINT), 0, -1, c.typmod, false, 'i', 'x', '', false, false, false, '', '', false,
       true, 0, CAST(0 AS UINTEGER), NULL, NULL, NULL, NULL
FROM (SELECT i.*, unnest(i.column_names) AS name, generate_subscripts(i.column_names, 1) AS n
      FROM memory.mallard_catalog.indexes i) AS i(schema_name, table_name, index_name, is_unique, is_primary, column_names, comment, name, n)
CROSS JOIN LATERAL (SELECT i.name, i.n) k(name, n)
LEFT JOIN memory.mallard_catalog.columns c
       ON c.schema_name = i.schema_name AND c.table_name = i.table_name AND c.column_name = k.name;

CREATE VIEW memory.mallard_catalog.pg_attrdef AS
SELECT memory.mallard_catalog.object_oid('d', c.schema_name, c.table_name || '.' || c.column_name) AS oid,
       c.relid AS adrelid,
       c.attnum AS adnum,
       -- DuckDB writes boolean defaults as casts of 't'/'f'.
       CASE c.column_default WHEN 'CAST(''t'' AS BOOLEAN)' THEN 'true' WHEN 'CAST(''f'' AS BOOLEAN)' THEN 'false'
                             ELSE c.column_default END AS adbin
FROM memory.mallard_catalog.columns c WHERE c.column_default IS NOT NULL;

-- The key columns of an index, as attnums in order (0 for an expression).
CREATE VIEW memory.mallard_catalog.live_index_keys AS
SELECT i.schema_name, i.table_name, i.index_name, i.is_unique, i.is_primary,
       list(coalesce(c.attnum, CAST(0 AS SMALLINT)) ORDER BY k.n) AS attnums,
       list(k.name ORDER BY k.n) AS column_names,
       memory.mallard_catalog.object_oid('r', i.schema_name, i.index_name) AS indexrelid,
       memory.mallard_catalog.object_oid('r', i.schema_name, i.table_name) AS indrelid
FROM memory.mallard_catalog.indexes i
CROSS JOIN LATERAL (SELECT unnest(i.column_names) AS name, generate_subscripts(i.column_names, 1) AS n) k
LEFT JOIN memory.mallard_catalog.columns c
       ON c.schema_name = i.schema_name AND c.table_name = i.table_name AND c.column_name = k.name
GROUP BY ALL;
CREATE TABLE memory.mallard_catalog.snapshot_index_keys AS SELECT * FROM memory.mallard_catalog.live_index_keys LIMIT 0;
CREATE VIEW memory.mallard_catalog.index_keys AS
SELECT * FROM memory.mallard_catalog.snapshot_index_keys WHERE memory.mallard_catalog.from_snapshot()
UNION ALL
SELECT * FROM memory.mallard_catalog.live_index_keys WHERE NOT memory.mallard_catalog.from_snapshot();

CREATE VIEW memory.mallard_catalog.pg_index AS
SELECT k.indexrelid, k.indrelid,
       CAST(len(k.attnums) AS SMALLINT) AS indnatts, CAST(len(k.attnums) AS SMALLINT) AS indnkeyatts,
       k.is_unique AS indisunique, false AS indnullsnotdistinct, k.is_primary AS indisprimary,
       false AS indisexclusion, true AS indimmediate, false AS indisclustered, true AS indisvalid,
       false AS indcheckxmin, true AS indisready, true AS indislive, false AS indisreplident,
       -- USMALLINT[] is sent as int2vector (`1 2`), UHUGEINT[] as oidvector, printed
       -- as PostgreSQL prints them (SQLAlchemy parses indoption, DBeaver indkey).
       CAST(k.attnums AS USMALLINT[]) AS indkey, list_transform(k.attnums, x -> CAST(0 AS UHUGEINT)) AS indcollation,
       list_transform(k.attnums, x -> CAST(0 AS UHUGEINT)) AS indclass,
       list_transform(k.attnums, x -> CAST(0 AS USMALLINT)) AS indoption,
       CAST(NULL AS VARCHAR) AS indexprs, CAST(NULL AS VARCHAR) AS indpred
FROM memory.mallard_catalog.index_keys k;

CREATE VIEW memory.mallard_catalog.pg_constraint AS
SELECT c.oid,
       c.conname, memory.mallard_catalog.namespace_oid(c.schema_name) AS connamespace, c.contype,
       false AS condeferrable, false AS condeferred, true AS convalidated,
       c.relid AS conrelid,
       CAST(0 AS UINTEGER) AS contypid,
       CASE c.contype
           WHEN 'p' THEN memory.mallard_catalog.object_oid('r', c.schema_name, c.conname)
           WHEN 'u' THEN memory.mallard_catalog.object_oid('r', c.schema_name, c.conname)
           WHEN 'f' THEN memory.mallard_catalog.object_oid('r', c.schema_name, c.referenced_table || '_pkey')
           ELSE CAST(0 AS UINTEGER)
       END AS conindid,
       CAST(0 AS UINTEGER) AS conparentid,
       CASE WHEN c.contype = 'f' THEN memory.mallard_catalog.object_oid('r', c.schema_name, c.referenced_table)
            ELSE CAST(0 AS UINTEGER) END AS confrelid,
       CASE WHEN c.contype = 'f' THEN 'a' ELSE ' ' END AS confupdtype,
       CASE WHEN c.contype = 'f' THEN 'a' ELSE ' ' END AS confdeltype,
       CASE WHEN c.contype = 'f' THEN 's' ELSE ' ' END AS confmatchtype,
       true AS conislocal, CAST(0 AS INTEGER) AS coninhcount, c.contype <> 'c' AS connoinherit,
       c.attnums AS conkey,
       CASE WHEN c.contype = 'f' THEN
           (SELECT list(rc.attnum ORDER BY r.n)
            FROM (SELECT unnest(c.referenced_column_names) AS name, generate_subscripts(c.referenced_column_names, 1) AS n) r
            JOIN memory.mallard_catalog.columns rc
              ON rc.schema_name = c.schema_name AND rc.table_name = c.referenced_table AND rc.column_name = r.name)
       END AS confkey,
       CAST(NULL AS UINTEGER[]) AS conpfeqop, CAST(NULL AS UINTEGER[]) AS conppeqop, CAST(NULL AS UINTEGER[]) AS conffeqop,
       CAST(NULL AS SMALLINT[]) AS confdelsetcols, CAST(NULL AS UINTEGER[]) AS conexclop,
       c.expression AS conbin
FROM memory.mallard_catalog.constraints c;

CREATE VIEW memory.mallard_catalog.pg_description AS
SELECT r.oid AS objoid, CAST(1259 AS UINTEGER) AS classoid,
       CAST(0 AS INTEGER) AS objsubid, r.comment AS description
FROM memory.mallard_catalog.relations r WHERE r.comment IS NOT NULL
UNION ALL
SELECT c.relid, CAST(1259 AS UINTEGER), c.attnum, c.comment
FROM memory.mallard_catalog.columns c WHERE c.comment IS NOT NULL;

CREATE VIEW memory.mallard_catalog.pg_sequence AS
SELECT memory.mallard_catalog.object_oid('r', s.schema_name, s.sequence_name) AS seqrelid,
       CAST(20 AS UINTEGER) AS seqtypid, s.start_value AS seqstart, s.increment_by AS seqincrement,
       s.max_value AS seqmax, s.min_value AS seqmin, CAST(1 AS BIGINT) AS seqcache, s.cycle AS seqcycle
FROM memory.mallard_catalog.served_sequences() s;

CREATE VIEW memory.mallard_catalog.pg_sequences AS
SELECT memory.mallard_catalog.namespace_name(s.schema_name) AS schemaname, s.sequence_name AS sequencename,
       memory.mallard_catalog.owner_name() AS sequenceowner, 'bigint' AS data_type, s.start_value, s.min_value,
       s.max_value, s.increment_by, s.cycle, CAST(1 AS BIGINT) AS cache_size, s.last_value
FROM memory.mallard_catalog.served_sequences() s;

CREATE VIEW memory.mallard_catalog.pg_tables AS
SELECT memory.mallard_catalog.namespace_name(r.schema_name) AS schemaname, r.relname AS tablename,
       memory.mallard_catalog.owner_name() AS tableowner, CAST(NULL AS VARCHAR) AS tablespace,
       r.hasindex AS hasindexes, false AS hasrules, false AS hastriggers, false AS rowsecurity
FROM memory.mallard_catalog.relations r WHERE r.relkind = 'r';

CREATE VIEW memory.mallard_catalog.pg_views AS
SELECT memory.mallard_catalog.namespace_name(r.schema_name) AS schemaname, r.relname AS viewname,
       memory.mallard_catalog.owner_name() AS viewowner, r.definition
FROM memory.mallard_catalog.relations r WHERE r.relkind = 'v';

CREATE VIEW memory.mallard_catalog.pg_indexes AS
SELECT memory.mallard_catalog.namespace_name(k.schema_name) AS schemaname, k.table_name AS tablename,
       k.index_name AS indexname, CAST(NULL AS VARCHAR) AS tablespace,
       memory.mallard_catalog.index_definition(k.schema_name, k.table_name, k.index_name, k.is_unique, k.column_names) AS indexdef
FROM memory.mallard_catalog.index_keys k;

CREATE VIEW memory.mallard_catalog.pg_matviews AS
SELECT CAST(NULL AS VARCHAR) AS schemaname, CAST(NULL AS VARCHAR) AS matviewname, CAST(NULL AS VARCHAR) AS matviewowner,
       CAST(NULL AS VARCHAR) AS tablespace, CAST(NULL AS BOOLEAN) AS hasindexes, CAST(NULL AS BOOLEAN) AS ispopulated,
       CAST(NULL AS VARCHAR) AS definition
WHERE false;

CREATE VIEW memory.mallard_catalog.pg_stat_user_tables AS
SELECT memory.mallard_catalog.object_oid('r', t.schema_name, t.table_name) AS relid,
       memory.mallard_catalog.namespace_name(t.schema_name) AS schemaname, t.table_name AS relname,
       CAST(0 AS BIGINT) AS seq_scan, CAST(0 AS BIGINT) AS seq_tup_read, CAST(NULL AS BIGINT) AS idx_scan,
       CAST(NULL AS BIGINT) AS idx_tup_fetch, CAST(0 AS BIGINT) AS n_tup_ins, CAST(0 AS BIGINT) AS n_tup_upd,
       CAST(0 AS BIGINT) AS n_tup_del, CAST(0 AS BIGINT) AS n_tup_hot_upd, CAST(t.estimated_size AS BIGINT) AS n_live_tup,
       CAST(0 AS BIGINT) AS n_dead_tup, CAST(0 AS BIGINT) AS n_mod_since_analyze, CAST(0 AS BIGINT) AS n_ins_since_vacuum,
       CAST(NULL AS TIMESTAMPTZ) AS last_vacuum, CAST(NULL AS TIMESTAMPTZ) AS last_autovacuum,
       CAST(NULL AS TIMESTAMPTZ) AS last_analyze, CAST(NULL AS TIMESTAMPTZ) AS last_autoanalyze,
       CAST(0 AS BIGINT) AS vacuum_count, CAST(0 AS BIGINT) AS autovacuum_count, CAST(0 AS BIGINT) AS analyze_count,
       CAST(0 AS BIGINT) AS autoanalyze_count
FROM memory.mallard_catalog.served_tables() t;

CREATE VIEW memory.mallard_catalog.pg_am AS
SELECT CAST(oid AS UINTEGER) AS oid, amname, amhandler, amtype
FROM (VALUES (2, 'heap', 'heap_tableam_handler', 't'), (403, 'btree', 'bthandler', 'i'),
             (405, 'hash', 'hashhandler', 'i')) v(oid, amname, amhandler, amtype);

CREATE VIEW memory.mallard_catalog.pg_tablespace AS
SELECT CAST(oid AS UINTEGER) AS oid, spcname, CAST(10 AS UINTEGER) AS spcowner, CAST(NULL AS VARCHAR[]) AS spcacl,
       CAST(NULL AS VARCHAR[]) AS spcoptions
FROM (VALUES (1663, 'pg_default'), (1664, 'pg_global')) v(oid, spcname);

CREATE VIEW memory.mallard_catalog.pg_collation AS
SELECT CAST(oid AS UINTEGER) AS oid, collname, CAST(11 AS UINTEGER) AS collnamespace, CAST(10 AS UINTEGER) AS collowner,
       collprovider, true AS collisdeterministic, CAST(-1 AS INTEGER) AS collencoding, collcollate, collctype,
       CAST(NULL AS VARCHAR) AS colliculocale, CAST(NULL AS VARCHAR) AS collversion
FROM (VALUES (100, 'default', 'd', NULL, NULL), (950, 'C', 'c', 'C', 'C'), (951, 'POSIX', 'c', 'POSIX', 'POSIX'))
     v(oid, collname, collprovider, collcollate, collctype);

CREATE VIEW memory.mallard_catalog.pg_database AS
SELECT memory.mallard_catalog.object_oid('b', '', current_database()) AS oid, current_database() AS datname,
       CAST(10 AS UINTEGER) AS datdba, CAST(6 AS INTEGER) AS encoding, 'c' AS datlocprovider, false AS datistemplate,
       true AS datallowconn, CAST(-1 AS INTEGER) AS datconnlimit, CAST(0 AS BIGINT) AS datfrozenxid,
       CAST(0 AS BIGINT) AS datminmxid, CAST(1663 AS UINTEGER) AS dattablespace, 'C.UTF-8' AS datcollate,
       'C.UTF-8' AS datctype, CAST(NULL AS VARCHAR) AS daticulocale, CAST(NULL AS VARCHAR) AS datcollversion,
       CAST(NULL AS VARCHAR[]) AS datacl;

-- One role: the session's user, owner of every object (mallard has no object owners;
-- its users file decides who may log in).
CREATE VIEW memory.mallard_catalog.pg_authid AS
SELECT CAST(10 AS UINTEGER) AS oid, memory.mallard_catalog.owner_name() AS rolname, true AS rolsuper, true AS rolinherit,
       true AS rolcreaterole, true AS rolcreatedb, true AS rolcanlogin, false AS rolreplication,
       false AS rolbypassrls, CAST(-1 AS INTEGER) AS rolconnlimit, CAST(NULL AS VARCHAR) AS rolpassword,
       CAST(NULL AS TIMESTAMPTZ) AS rolvaliduntil;

CREATE VIEW memory.mallard_catalog.pg_roles AS
SELECT a.rolname, a.rolsuper, a.rolinherit, a.rolcreaterole, a.rolcreatedb, a.rolcanlogin, a.rolreplication,
       a.rolconnlimit, '********' AS rolpassword, a.rolvaliduntil, a.rolbypassrls,
       CAST(NULL AS VARCHAR[]) AS rolconfig, a.oid
FROM memory.mallard_catalog.pg_authid a;

CREATE VIEW memory.mallard_catalog.pg_user AS
SELECT a.rolname AS usename, a.oid AS usesysid, a.rolcreatedb AS usecreatedb, a.rolsuper AS usesuper,
       a.rolreplication AS userepl, a.rolbypassrls AS usebypassrls, '********' AS passwd,
       a.rolvaliduntil AS valuntil, CAST(NULL AS VARCHAR[]) AS useconfig
FROM memory.mallard_catalog.pg_authid a;

-- Functions. Aliases inside them start with mc_: a macro's arguments are the caller's
-- expressions (`t.oid`), which an inner alias of the same name would capture.

CREATE MACRO memory.mallard_catalog.pg_get_userbyid(role) AS
    CASE role WHEN 10 THEN memory.mallard_catalog.owner_name() WHEN 6171 THEN 'pg_database_owner'
              ELSE 'unknown (OID=' || role || ')' END;

CREATE MACRO memory.mallard_catalog.index_definition_of(index_oid, column_no) AS
    (SELECT CASE WHEN column_no = 0
                 THEN memory.mallard_catalog.index_definition(mc_k.schema_name, mc_k.table_name, mc_k.index_name, mc_k.is_unique, mc_k.column_names)
                 ELSE mc_k.column_names[column_no] END
     FROM memory.mallard_catalog.index_keys mc_k
     WHERE mc_k.indexrelid = index_oid);
CREATE MACRO memory.mallard_catalog.pg_get_indexdef(index_oid) AS memory.mallard_catalog.index_definition_of(index_oid, 0),
    (index_oid, column_no, pretty) AS memory.mallard_catalog.index_definition_of(index_oid, column_no);

CREATE MACRO memory.mallard_catalog.constraint_definition(constraint_oid, pretty) AS
    (SELECT CASE mc_c.contype
                WHEN 'p' THEN 'PRIMARY KEY (' || array_to_string(mc_c.column_names, ', ') || ')'
                WHEN 'u' THEN 'UNIQUE (' || array_to_string(mc_c.column_names, ', ') || ')'
                WHEN 'f' THEN 'FOREIGN KEY (' || array_to_string(mc_c.column_names, ', ') || ') REFERENCES '
                              || mc_c.referenced_table || '(' || array_to_string(mc_c.referenced_column_names, ', ') || ')'
                WHEN 'c' THEN CASE WHEN pretty AND mc_c.expression LIKE '(%)' THEN 'CHECK ' || mc_c.expression
                                   ELSE 'CHECK (' || mc_c.expression || ')' END
            END
     FROM memory.mallard_catalog.constraints mc_c
     WHERE mc_c.oid = constraint_oid);
CREATE MACRO memory.mallard_catalog.pg_get_constraintdef(constraint_oid) AS memory.mallard_catalog.constraint_definition(constraint_oid, false),
    (constraint_oid, pretty) AS memory.mallard_catalog.constraint_definition(constraint_oid, CAST(pretty AS BOOLEAN));

CREATE MACRO memory.mallard_catalog.pg_get_expr(expr, relation) AS CAST(expr AS VARCHAR),
    (expr, relation, pretty) AS CAST(expr AS VARCHAR);

CREATE MACRO memory.mallard_catalog.view_definition(view_oid) AS
    (SELECT mc_r.definition FROM memory.mallard_catalog.relations mc_r
     WHERE mc_r.relkind = 'v' AND mc_r.oid = view_oid);
CREATE MACRO memory.mallard_catalog.pg_get_viewdef(view_oid) AS memory.mallard_catalog.view_definition(view_oid),
    (view_oid, pretty) AS memory.mallard_catalog.view_definition(view_oid);

CREATE MACRO memory.mallard_catalog.format_type(type_oid, typmod) AS
    CASE
        WHEN type_oid IS NULL THEN NULL
        WHEN type_oid = 1700 AND typmod >= 4
            THEN 'numeric(' || ((typmod - 4) >> 16) || ',' || ((typmod - 4) & 65535) || ')'
        WHEN type_oid IN (1043, 1042) AND typmod >= 4
            THEN (SELECT mc_t.regtype FROM memory.mallard_catalog.types mc_t WHERE mc_t.oid = type_oid) || '(' || (typmod - 4) || ')'
        ELSE coalesce((SELECT mc_t.regtype FROM memory.mallard_catalog.types mc_t WHERE mc_t.oid = type_oid), '???')
    END;

CREATE MACRO memory.mallard_catalog.pg_table_is_visible(relation) AS
    (SELECT count(*) > 0 FROM memory.mallard_catalog.relations mc_r
     WHERE mc_r.oid = relation AND memory.mallard_catalog.visible_schema(mc_r.schema_name));
CREATE MACRO memory.mallard_catalog.pg_type_is_visible(type_oid) AS true;

CREATE MACRO memory.mallard_catalog.obj_description(object) AS NULL,
    (object, catalog) AS
    (SELECT mc_d.description FROM memory.mallard_catalog.pg_description mc_d WHERE mc_d.objoid = object AND mc_d.objsubid = 0);
CREATE MACRO memory.mallard_catalog.col_description(relation, column_no) AS
    (SELECT mc_d.description FROM memory.mallard_catalog.pg_description mc_d WHERE mc_d.objoid = relation AND mc_d.objsubid = column_no);
CREATE MACRO memory.mallard_catalog.shobj_description(object, catalog) AS CAST(NULL AS VARCHAR);

CREATE MACRO memory.mallard_catalog.has_table_privilege(a, b) AS true,
    (a, b, c) AS true;
CREATE MACRO memory.mallard_catalog.has_schema_privilege(a, b) AS true,
    (a, b, c) AS true;
CREATE MACRO memory.mallard_catalog.has_database_privilege(a, b) AS true,
    (a, b, c) AS true;
CREATE MACRO memory.mallard_catalog.has_column_privilege(a, b, c) AS true,
    (a, b, c, d) AS true;
CREATE MACRO memory.mallard_catalog.has_sequence_privilege(a, b) AS true,
    (a, b, c) AS true;
CREATE MACRO memory.mallard_catalog.has_function_privilege(a, b) AS true,
    (a, b, c) AS true;
CREATE MACRO memory.mallard_catalog.has_any_column_privilege(a, b) AS true,
    (a, b, c) AS true;
CREATE MACRO memory.mallard_catalog.pg_has_role(a, b) AS true,
    (a, b, c) AS true;

CREATE MACRO memory.mallard_catalog.pg_encoding_to_char(encoding) AS
    CASE encoding WHEN 6 THEN 'UTF8' WHEN 0 THEN 'SQL_ASCII' ELSE '' END;
CREATE MACRO memory.mallard_catalog.pg_char_to_encoding(name) AS
    CASE upper(name) WHEN 'UTF8' THEN 6 WHEN 'SQL_ASCII' THEN 0 ELSE -1 END;
CREATE MACRO memory.mallard_catalog.current_schema() AS
    memory.mallard_catalog.namespace_name(main.current_schema());
CREATE MACRO memory.mallard_catalog.current_schemas(implicit) AS
    CASE WHEN implicit THEN ['pg_catalog'] ELSE [] END
    || list_transform(list_filter(main.current_schemas(false), s -> s <> 'mallard_catalog'),
                      s -> memory.mallard_catalog.namespace_name(s));
CREATE MACRO memory.mallard_catalog.array_upper(a, dimension) AS
    CASE WHEN dimension = 1 AND len(a) > 0 THEN len(a) END;
CREATE MACRO memory.mallard_catalog.array_lower(a, dimension) AS
    CASE WHEN dimension = 1 AND len(a) > 0 THEN 1 END;
CREATE MACRO memory.mallard_catalog.pg_relation_size(relation) AS CAST(0 AS BIGINT),
    (relation, fork) AS CAST(0 AS BIGINT);
CREATE MACRO memory.mallard_catalog.pg_total_relation_size(relation) AS CAST(0 AS BIGINT);
CREATE MACRO memory.mallard_catalog.pg_table_size(relation) AS CAST(0 AS BIGINT);
CREATE MACRO memory.mallard_catalog.pg_indexes_size(relation) AS CAST(0 AS BIGINT);
-- DBeaver reads each index's scan count beside its size; DuckDB keeps no such statistic, so
-- every index reads as never scanned, as a fresh PostgreSQL's do.
CREATE MACRO memory.mallard_catalog.pg_stat_get_numscans(relation) AS CAST(0 AS BIGINT);
CREATE MACRO memory.mallard_catalog.pg_is_in_recovery() AS false;
CREATE MACRO memory.mallard_catalog.txid_current() AS CAST(txid_current() AS BIGINT);
CREATE MACRO memory.mallard_catalog.pg_get_partkeydef(relation) AS CAST(NULL AS VARCHAR);
CREATE MACRO memory.mallard_catalog.pg_get_statisticsobjdef_columns(relation) AS CAST(NULL AS VARCHAR);
CREATE MACRO memory.mallard_catalog.pg_relation_is_publishable(relation) AS false;

-- reg* casts, which the translation writes as calls: text in, name out.
-- What every reg* input does before its own lookup (`found`): NULL stays NULL, digits
-- are the OID itself, and '-' is 0, no object, as in PostgreSQL.
CREATE MACRO memory.mallard_catalog.reg_in(name, found) AS
    CASE WHEN name IS NULL THEN NULL
         WHEN regexp_full_match(CAST(name AS VARCHAR), '\d+') THEN CAST(name AS BIGINT)
         WHEN CAST(name AS VARCHAR) = '-' THEN CAST(0 AS BIGINT)
         ELSE found END;
-- And every reg* output: 0 is '-', an OID that names nothing its digits.
CREATE MACRO memory.mallard_catalog.reg_out(object_oid, name) AS
    CASE WHEN object_oid = 0 THEN '-' ELSE coalesce(name, CAST(object_oid AS VARCHAR)) END;
-- The catalog relations clients name in casts ('pg_class'::regclass), by their OIDs in
-- PostgreSQL 15.
CREATE TABLE memory.mallard_catalog.system_relations AS
SELECT CAST(oid AS UINTEGER) AS oid, relname FROM (VALUES
    (1247, 'pg_type'), (1249, 'pg_attribute'), (1255, 'pg_proc'), (1259, 'pg_class'), (1260, 'pg_authid'),
    (1262, 'pg_database'), (2601, 'pg_am'), (2604, 'pg_attrdef'), (2606, 'pg_constraint'), (2609, 'pg_description'),
    (2610, 'pg_index'), (2615, 'pg_namespace'), (2618, 'pg_rewrite'), (2620, 'pg_trigger'), (3456, 'pg_collation'),
    (2224, 'pg_sequence'), (1213, 'pg_tablespace'), (3079, 'pg_extension'), (3501, 'pg_enum')) v(oid, relname);

CREATE MACRO memory.mallard_catalog.relation_oid(name) AS
    coalesce((SELECT mc_s.oid FROM memory.mallard_catalog.system_relations mc_s
              WHERE mc_s.relname = regexp_replace(CAST(name AS VARCHAR), '^pg_catalog\.', '')),
    (SELECT mc_r.oid
     FROM memory.mallard_catalog.relations mc_r
     WHERE CASE WHEN contains(CAST(name AS VARCHAR), '.')
                THEN memory.mallard_catalog.namespace_name(mc_r.schema_name) = lower(trim(split_part(CAST(name AS VARCHAR), '.', 1), '"'))
                     AND mc_r.relname = trim(split_part(CAST(name AS VARCHAR), '.', 2), '"')
                ELSE memory.mallard_catalog.visible_schema(mc_r.schema_name) AND mc_r.relname = trim(CAST(name AS VARCHAR), '"')
           END
     -- A temporary relation hides the others of its name, as in PostgreSQL.
     ORDER BY mc_r.schema_name <> memory.mallard_catalog.temp_schema()
     LIMIT 1));
CREATE MACRO memory.mallard_catalog.regclass_in(name) AS
    memory.mallard_catalog.reg_in(name, coalesce(memory.mallard_catalog.relation_oid(name),
        error('relation "' || CAST(name AS VARCHAR) || '" does not exist')));
CREATE MACRO memory.mallard_catalog.to_regclass(name) AS memory.mallard_catalog.relation_oid(name);
CREATE MACRO memory.mallard_catalog.regclass_out(relation) AS
    memory.mallard_catalog.reg_out(relation,
        (SELECT CASE WHEN memory.mallard_catalog.visible_schema(mc_r.schema_name) THEN mc_r.relname
                     ELSE memory.mallard_catalog.namespace_name(mc_r.schema_name) || '.' || mc_r.relname END
         FROM memory.mallard_catalog.relations mc_r
         WHERE mc_r.oid = relation));
-- A type by name: its typname (`int4`, `_int4`), its regtype (`integer[]`), or an element's
-- typname with `[]` (`int4[]`, as psycopg's TypeInfo.fetch asks).
CREATE MACRO memory.mallard_catalog.type_by_name(name) AS
    (SELECT min(mc_t.oid) FROM memory.mallard_catalog.types mc_t
     WHERE mc_t.typname = lower(trim(CAST(name AS VARCHAR), '"')) OR mc_t.regtype = lower(CAST(name AS VARCHAR))
        OR (ends_with(CAST(name AS VARCHAR), '[]')
            AND mc_t.typname = '_' || lower(trim(left(CAST(name AS VARCHAR), -2), '"'))));
CREATE MACRO memory.mallard_catalog.regtype_in(name) AS
    memory.mallard_catalog.reg_in(name, coalesce(memory.mallard_catalog.type_by_name(name),
        error('type "' || CAST(name AS VARCHAR) || '" does not exist')));
CREATE MACRO memory.mallard_catalog.to_regtype(name) AS memory.mallard_catalog.type_by_name(name);
CREATE MACRO memory.mallard_catalog.regtype_out(type_oid) AS
    memory.mallard_catalog.reg_out(type_oid,
        (SELECT mc_t.regtype FROM memory.mallard_catalog.types mc_t WHERE mc_t.oid = type_oid));
CREATE MACRO memory.mallard_catalog.regnamespace_in(name) AS
    memory.mallard_catalog.reg_in(name,
        coalesce((SELECT mc_n.oid FROM memory.mallard_catalog.pg_namespace mc_n WHERE mc_n.nspname = trim(CAST(name AS VARCHAR), '"')),
                 error('schema "' || CAST(name AS VARCHAR) || '" does not exist')));
CREATE MACRO memory.mallard_catalog.regnamespace_out(namespace) AS
    memory.mallard_catalog.reg_out(namespace,
        (SELECT mc_n.nspname FROM memory.mallard_catalog.pg_namespace mc_n WHERE mc_n.oid = namespace));
CREATE MACRO memory.mallard_catalog.regrole_in(name) AS
    memory.mallard_catalog.reg_in(name,
        CASE WHEN trim(CAST(name AS VARCHAR), '"') = memory.mallard_catalog.owner_name() THEN CAST(10 AS BIGINT)
             ELSE error('role "' || CAST(name AS VARCHAR) || '" does not exist') END);
CREATE MACRO memory.mallard_catalog.regrole_out(role) AS
    memory.mallard_catalog.reg_out(role, memory.mallard_catalog.pg_get_userbyid(role));
-- regproc_in and regproc_out are in pg_proc.sql, after pg_proc.

-- information_schema._pg_expandarray: each element with its 1-based index, as (x, n).
CREATE MACRO memory.mallard_catalog._pg_expandarray(a) AS unnest(list_transform(a, (x, i) -> {'x': x, 'n': i}));

-- A relation is its own only ancestor: mallard has no partitions.
CREATE MACRO memory.mallard_catalog.pg_partition_ancestors(relation) AS unnest([CAST(relation AS BIGINT)]);
CREATE MACRO memory.mallard_catalog.pg_partition_ancestors(relation) AS TABLE
    SELECT CAST(relation AS BIGINT) AS relid, CAST(1 AS BIGINT) AS depth;
-- LISTEN: the session's channels, which it keeps for the functions it registered.
CREATE MACRO memory.mallard_catalog.pg_listening_channels() AS
    unnest(list_transform(range(mallard_listening_count()), i -> mallard_listening_channel(i)));
CREATE MACRO memory.mallard_catalog.pg_listening_channels() AS TABLE
    SELECT unnest(list_transform(range(mallard_listening_count()), i -> mallard_listening_channel(i)))
        AS pg_listening_channels;
-- Notifications wait in each listening session's mailbox, not in a shared queue.
CREATE MACRO memory.mallard_catalog.pg_notification_queue_usage() AS CAST(0 AS DOUBLE);
CREATE MACRO memory.mallard_catalog.pg_get_triggerdef(trigger_oid) AS CAST(NULL AS VARCHAR),
    (trigger_oid, pretty) AS CAST(NULL AS VARCHAR);
CREATE MACRO memory.mallard_catalog.pg_get_ruledef(rule_oid) AS CAST(NULL AS VARCHAR),
    (rule_oid, pretty) AS CAST(NULL AS VARCHAR);

-- Settings: each session publishes its values as the variable mallard_settings.
CREATE VIEW memory.mallard_catalog.pg_settings AS
SELECT s.name, coalesce(getvariable('mallard_settings')[lower(s.name)], s.boot_val) AS setting, s.unit,
       CASE WHEN s.context = 'internal' THEN 'Preset Options' ELSE 'Client Connection Defaults' END AS category,
       s.short_desc, CAST(NULL AS VARCHAR) AS extra_desc, s.context, s.vartype,
       CASE WHEN coalesce(getvariable('mallard_settings')[lower(s.name)], s.boot_val) = s.boot_val THEN 'default'
            ELSE 'session' END AS source,
       CAST(NULL AS VARCHAR) AS min_val, CAST(NULL AS VARCHAR) AS max_val, CAST(NULL AS VARCHAR[]) AS enumvals,
       s.boot_val, s.boot_val AS reset_val, CAST(NULL AS VARCHAR) AS sourcefile, CAST(NULL AS INTEGER) AS sourceline,
       false AS pending_restart
FROM memory.mallard_catalog.settings s;

CREATE MACRO memory.mallard_catalog.current_setting(setting_name) AS
    coalesce(getvariable('mallard_settings')[lower(setting_name)],
             error('unrecognized configuration parameter "' || setting_name || '"')),
    (setting_name, missing_ok) AS
    CASE WHEN missing_ok THEN getvariable('mallard_settings')[lower(setting_name)]
         ELSE coalesce(getvariable('mallard_settings')[lower(setting_name)],
                       error('unrecognized configuration parameter "' || setting_name || '"')) END;

-- PostgreSQL's `name` in casts (`'x'::name`); table columns of type name are VARCHAR
-- (translation rule type_names).
CREATE TYPE memory.mallard_catalog.name AS VARCHAR;

-- current_user, session_user and user name the session's user, not DuckDB's `duckdb`.
CREATE MACRO memory.mallard_catalog.current_user() AS memory.mallard_catalog.owner_name();
CREATE MACRO memory.mallard_catalog.session_user() AS memory.mallard_catalog.owner_name();
CREATE MACRO memory.mallard_catalog."user"() AS memory.mallard_catalog.owner_name();

-- PostgreSQL's quoting functions, which drivers use to inline values (asyncpg's
-- copy_from_query) and BI tools to build names: an identifier is quoted only when it
-- needs to be, as quote_ident does (lower case, digits, _ and $, not a reserved word).
CREATE MACRO memory.mallard_catalog.quote_literal(s) AS '''' || replace(CAST(s AS VARCHAR), '''', '''''') || '''';
CREATE MACRO memory.mallard_catalog.quote_ident(s) AS
    CASE WHEN regexp_full_match(CAST(s AS VARCHAR), '[a-z_][a-z0-9_$]*')
              AND CAST(s AS VARCHAR) NOT IN (SELECT mc_k.keyword_name FROM duckdb_keywords() mc_k
                                             WHERE mc_k.keyword_category = 'reserved')
         THEN CAST(s AS VARCHAR)
         ELSE '"' || replace(CAST(s AS VARCHAR), '"', '""') || '"' END;

-- parse_ident('sales."Big Table"') = {sales,"Big Table"}: Grafana's column list splits the
-- table name it was given this way. Unquoted parts fold to lower case, quoted ones keep
-- their case and lose their quotes.
CREATE MACRO memory.mallard_catalog.parse_ident(s) AS
    list_transform(regexp_extract_all(CAST(s AS VARCHAR), '"(?:[^"]|"")*"|[^."]+'),
                   mc_p -> CASE WHEN starts_with(mc_p, '"') THEN replace(mc_p[2:-2], '""', '"')
                                ELSE lower(trim(mc_p)) END),
    (s, strict) AS list_transform(regexp_extract_all(CAST(s AS VARCHAR), '"(?:[^"]|"")*"|[^."]+'),
                   mc_p -> CASE WHEN starts_with(mc_p, '"') THEN replace(mc_p[2:-2], '""', '"')
                                ELSE lower(trim(mc_p)) END);

-- The DuckDB extensions this worker has loaded (`\dx`), as install recorded them in
-- `extensions` (duckdb_extensions() reads the extension directory, which sessions may
-- not).
CREATE VIEW memory.mallard_catalog.pg_extension AS
SELECT memory.mallard_catalog.object_oid('e', '', e.extension_name) AS oid, e.extension_name AS extname,
       CAST(10 AS UINTEGER) AS extowner, CAST(11 AS UINTEGER) AS extnamespace, false AS extrelocatable,
       e.extension_version AS extversion, CAST(NULL AS UINTEGER[]) AS extconfig, CAST(NULL AS VARCHAR[]) AS extcondition
FROM memory.mallard_catalog.extensions e;

-- The divisor of every `/` and `%` (translation rule checked_division): PostgreSQL's
-- division by zero error instead of DuckDB's NULL or infinity.
CREATE MACRO memory.mallard_catalog.mallard_divisor(x) AS
    CASE WHEN x = 0 THEN error('division by zero') ELSE x END;

-- An identifier as PostgreSQL reads it: "Quoted" keeps its case, anything else folds.
CREATE MACRO memory.mallard_catalog.fold_identifier(text) AS
    CASE WHEN text LIKE '"%"' THEN replace(text[2:-2], '""', '"') ELSE lower(text) END;

-- The sequence behind a serial or identity column (translation rule serial_columns):
-- the name in its `nextval('...')` default, schema-qualified.
CREATE MACRO memory.mallard_catalog.pg_get_serial_sequence(relation_text, column_text) AS (
    SELECT CASE WHEN seq LIKE '%.%' THEN seq
                ELSE memory.mallard_catalog.namespace_name(seq_schema) || '.' || seq END
    FROM (SELECT c.schema_name AS seq_schema,
                 regexp_extract(c.column_default, '^nextval\(''(.*)''\)$', 1) AS seq
          FROM memory.mallard_catalog.columns c
          WHERE c.table_name = memory.mallard_catalog.fold_identifier(
                    regexp_extract(relation_text, '("(?:[^"]|"")*"|[^."]+)$', 1))
            AND c.column_name = column_text
            AND (relation_text NOT LIKE '%.%'
                 OR memory.mallard_catalog.namespace_name(c.schema_name) = memory.mallard_catalog.fold_identifier(
                        regexp_extract(relation_text, '^("(?:[^"]|"")*"|[^."]+)\.', 1))))
    WHERE seq <> ''
    LIMIT 1);

-- Every session of the server, whichever worker serves it, from the session table the
-- workers share (see the worker's activity module); mallard's own columns at the end.
CREATE VIEW memory.mallard_catalog.pg_stat_activity AS
SELECT memory.mallard_catalog.object_oid('b', '', current_database()) AS datid, current_database() AS datname,
       a.pid, CAST(NULL AS INTEGER) AS leader_pid, CAST(10 AS UINTEGER) AS usesysid, a.usename, a.application_name,
       a.client_addr, CAST(NULL AS VARCHAR) AS client_hostname, a.client_port,
       memory.mallard_catalog.unix_micros(a.backend_start) AS backend_start,
       memory.mallard_catalog.unix_micros(a.xact_start) AS xact_start,
       memory.mallard_catalog.unix_micros(a.query_start) AS query_start,
       memory.mallard_catalog.unix_micros(a.state_change) AS state_change,
       a.wait_event_type, a.wait_event, a.state, CAST(NULL AS BIGINT) AS backend_xid,
       CAST(NULL AS BIGINT) AS backend_xmin, CAST(NULL AS BIGINT) AS query_id, a.query,
       CASE WHEN a.visible THEN 'client backend' END AS backend_type, a.worker_pid, a.worker_generation, a.tls
FROM (SELECT unnest(from_json(mallard_stat_activity(),
        '[{"pid": "INTEGER", "usename": "VARCHAR", "application_name": "VARCHAR", "client_addr": "VARCHAR",
           "client_port": "INTEGER", "backend_start": "BIGINT", "xact_start": "BIGINT", "query_start": "BIGINT",
           "state_change": "BIGINT", "wait_event_type": "VARCHAR", "wait_event": "VARCHAR", "state": "VARCHAR",
           "query": "VARCHAR", "visible": "BOOLEAN", "worker_pid": "INTEGER", "worker_generation": "INTEGER", "tls": "BOOLEAN"}]'),
        recursive := true)) a;
