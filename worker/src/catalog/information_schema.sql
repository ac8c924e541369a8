-- The SQL standard's information_schema as PostgreSQL 15 shows it, over the same views
-- as pg_catalog (pg_catalog.sql runs first). DuckDB has its own information_schema,
-- which cannot be replaced and shows `main`; the translation turns
-- `information_schema.x` into `memory.mallard_information_schema.x`.

CREATE VIEW memory.mallard_information_schema.schemata AS
SELECT current_database() AS catalog_name, n.nspname AS schema_name,
       memory.mallard_catalog.pg_get_userbyid(n.nspowner) AS schema_owner,
       CAST(NULL AS VARCHAR) AS default_character_set_catalog, CAST(NULL AS VARCHAR) AS default_character_set_schema,
       CAST(NULL AS VARCHAR) AS default_character_set_name, CAST(NULL AS VARCHAR) AS sql_path
FROM memory.mallard_catalog.pg_namespace n;

CREATE VIEW memory.mallard_information_schema.tables AS
SELECT current_database() AS table_catalog, memory.mallard_catalog.namespace_name(r.schema_name) AS table_schema,
       r.relname AS table_name,
       CASE WHEN r.relkind = 'v' THEN 'VIEW'
            WHEN r.schema_name = memory.mallard_catalog.temp_schema() THEN 'LOCAL TEMPORARY'
            ELSE 'BASE TABLE' END AS table_type,
       CAST(NULL AS VARCHAR) AS self_referencing_column_name, CAST(NULL AS VARCHAR) AS reference_generation,
       CAST(NULL AS VARCHAR) AS user_defined_type_catalog, CAST(NULL AS VARCHAR) AS user_defined_type_schema,
       CAST(NULL AS VARCHAR) AS user_defined_type_name,
       CASE r.relkind WHEN 'r' THEN 'YES' ELSE 'NO' END AS is_insertable_into, 'NO' AS is_typed,
       CAST(NULL AS VARCHAR) AS commit_action
FROM memory.mallard_catalog.relations r WHERE r.relkind IN ('r', 'v');

CREATE VIEW memory.mallard_information_schema.views AS
SELECT current_database() AS table_catalog, memory.mallard_catalog.namespace_name(r.schema_name) AS table_schema,
       r.relname AS table_name, r.definition AS view_definition, 'NONE' AS check_option, 'NO' AS is_updatable,
       'NO' AS is_insertable_into, 'NO' AS is_trigger_updatable, 'NO' AS is_trigger_deletable,
       'NO' AS is_trigger_insertable_into
FROM memory.mallard_catalog.relations r WHERE r.relkind = 'v';

-- The numeric facts of a column type, as PostgreSQL's information_schema derives them.
CREATE VIEW memory.mallard_information_schema.column_facts AS
SELECT c.schema_name, c.table_name, c.column_name, c.attnum, c.typid, c.typmod, c.notnull, c.column_default,
       t.typname, coalesce(t.regtype, 'text') AS regtype,
       CASE WHEN c.typid IN (1043, 1042) AND c.typmod >= 4 THEN c.typmod - 4 END AS char_length,
       CASE c.typid WHEN 21 THEN 16 WHEN 23 THEN 32 WHEN 20 THEN 64 WHEN 700 THEN 24 WHEN 701 THEN 53
                    WHEN 1700 THEN CASE WHEN c.typmod >= 4 THEN (c.typmod - 4) >> 16 END END AS precision,
       CASE WHEN c.typid IN (21, 23, 20, 700, 701) THEN 2 WHEN c.typid = 1700 THEN 10 END AS radix,
       CASE WHEN c.typid IN (21, 23, 20) THEN 0
            WHEN c.typid = 1700 AND c.typmod >= 4 THEN (c.typmod - 4) & 65535 END AS scale,
       CASE WHEN c.typid = 1082 THEN 0 WHEN c.typid IN (1083, 1114, 1184, 1186, 1266) THEN 6 END AS datetime_precision
FROM memory.mallard_catalog.columns c
LEFT JOIN memory.mallard_catalog.types t ON t.oid = c.typid;

CREATE VIEW memory.mallard_information_schema.columns AS
SELECT current_database() AS table_catalog, memory.mallard_catalog.namespace_name(f.schema_name) AS table_schema,
       f.table_name, f.column_name, CAST(f.attnum AS INTEGER) AS ordinal_position,
       (SELECT d.adbin FROM memory.mallard_catalog.pg_attrdef d
        WHERE d.adrelid = memory.mallard_catalog.object_oid('r', f.schema_name, f.table_name) AND d.adnum = f.attnum)
           AS column_default,
       CASE WHEN f.notnull THEN 'NO' ELSE 'YES' END AS is_nullable,
       CASE WHEN f.regtype LIKE '%[]' THEN 'ARRAY' ELSE f.regtype END AS data_type,
       CAST(f.char_length AS INTEGER) AS character_maximum_length,
       CAST(CASE WHEN f.typid IN (25, 1043, 1042) THEN coalesce(f.char_length * 4, 1073741824) END AS INTEGER)
           AS character_octet_length,
       CAST(f.precision AS INTEGER) AS numeric_precision, CAST(f.radix AS INTEGER) AS numeric_precision_radix,
       CAST(f.scale AS INTEGER) AS numeric_scale, CAST(f.datetime_precision AS INTEGER) AS datetime_precision,
       CAST(NULL AS VARCHAR) AS interval_type, CAST(NULL AS INTEGER) AS interval_precision,
       CAST(NULL AS VARCHAR) AS character_set_catalog, CAST(NULL AS VARCHAR) AS character_set_schema,
       CAST(NULL AS VARCHAR) AS character_set_name, CAST(NULL AS VARCHAR) AS collation_catalog,
       CAST(NULL AS VARCHAR) AS collation_schema, CAST(NULL AS VARCHAR) AS collation_name,
       CAST(NULL AS VARCHAR) AS domain_catalog, CAST(NULL AS VARCHAR) AS domain_schema,
       CAST(NULL AS VARCHAR) AS domain_name, current_database() AS udt_catalog, 'pg_catalog' AS udt_schema,
       coalesce(f.typname, 'text') AS udt_name, CAST(NULL AS VARCHAR) AS scope_catalog,
       CAST(NULL AS VARCHAR) AS scope_schema, CAST(NULL AS VARCHAR) AS scope_name,
       CAST(NULL AS INTEGER) AS maximum_cardinality, CAST(f.attnum AS VARCHAR) AS dtd_identifier,
       'NO' AS is_self_referencing, 'NO' AS is_identity, CAST(NULL AS VARCHAR) AS identity_generation,
       CAST(NULL AS VARCHAR) AS identity_start, CAST(NULL AS VARCHAR) AS identity_increment,
       CAST(NULL AS VARCHAR) AS identity_maximum, CAST(NULL AS VARCHAR) AS identity_minimum, 'NO' AS identity_cycle,
       'NEVER' AS is_generated, CAST(NULL AS VARCHAR) AS generation_expression,
       CASE WHEN (SELECT r.relkind FROM memory.mallard_catalog.relations r
                  WHERE r.schema_name = f.schema_name AND r.relname = f.table_name) = 'r'
            THEN 'YES' ELSE 'NO' END AS is_updatable
FROM memory.mallard_information_schema.column_facts f;

CREATE VIEW memory.mallard_information_schema.table_constraints AS
SELECT current_database() AS constraint_catalog, memory.mallard_catalog.namespace_name(c.schema_name) AS constraint_schema,
       c.conname AS constraint_name, current_database() AS table_catalog,
       memory.mallard_catalog.namespace_name(c.schema_name) AS table_schema, c.table_name,
       CASE c.contype WHEN 'p' THEN 'PRIMARY KEY' WHEN 'u' THEN 'UNIQUE' WHEN 'f' THEN 'FOREIGN KEY' ELSE 'CHECK' END
           AS constraint_type,
       'NO' AS is_deferrable, 'NO' AS initially_deferred, 'YES' AS enforced,
       CASE WHEN c.contype IN ('p', 'u') THEN 'YES' END AS nulls_distinct
FROM memory.mallard_catalog.constraints c;

CREATE VIEW memory.mallard_information_schema.key_column_usage AS
SELECT current_database() AS constraint_catalog, memory.mallard_catalog.namespace_name(c.schema_name) AS constraint_schema,
       c.conname AS constraint_name, current_database() AS table_catalog,
       memory.mallard_catalog.namespace_name(c.schema_name) AS table_schema, c.table_name,
       k.column_name, CAST(k.n AS INTEGER) AS ordinal_position,
       CAST(CASE WHEN c.contype = 'f' THEN k.n END AS INTEGER) AS position_in_unique_constraint
FROM memory.mallard_catalog.constraints c
CROSS JOIN LATERAL (SELECT unnest(c.column_names) AS column_name, generate_subscripts(c.column_names, 1) AS n) k
WHERE c.contype IN ('p', 'u', 'f');

CREATE VIEW memory.mallard_information_schema.referential_constraints AS
SELECT current_database() AS constraint_catalog, memory.mallard_catalog.namespace_name(c.schema_name) AS constraint_schema,
       c.conname AS constraint_name, current_database() AS unique_constraint_catalog,
       memory.mallard_catalog.namespace_name(c.schema_name) AS unique_constraint_schema,
       c.referenced_table || '_pkey' AS unique_constraint_name, 'NONE' AS match_option,
       'NO ACTION' AS update_rule, 'NO ACTION' AS delete_rule
FROM memory.mallard_catalog.constraints c WHERE c.contype = 'f';

-- The columns each constraint uses: its own for primary keys, unique and check
-- constraints, the referenced ones for foreign keys, as PostgreSQL lists them.
CREATE VIEW memory.mallard_information_schema.constraint_column_usage AS
SELECT current_database() AS table_catalog, memory.mallard_catalog.namespace_name(c.schema_name) AS table_schema,
       CASE WHEN c.contype = 'f' THEN c.referenced_table ELSE c.table_name END AS table_name,
       unnest(CASE WHEN c.contype = 'f' THEN c.referenced_column_names ELSE c.column_names END) AS column_name,
       current_database() AS constraint_catalog, memory.mallard_catalog.namespace_name(c.schema_name) AS constraint_schema,
       c.conname AS constraint_name
FROM memory.mallard_catalog.constraints c;

CREATE VIEW memory.mallard_information_schema.check_constraints AS
SELECT current_database() AS constraint_catalog, memory.mallard_catalog.namespace_name(c.schema_name) AS constraint_schema,
       c.conname AS constraint_name, c.expression AS check_clause
FROM memory.mallard_catalog.constraints c WHERE c.contype = 'c';

CREATE VIEW memory.mallard_information_schema.sequences AS
SELECT current_database() AS sequence_catalog, memory.mallard_catalog.namespace_name(s.schema_name) AS sequence_schema,
       s.sequence_name, 'bigint' AS data_type, 64 AS numeric_precision, 2 AS numeric_precision_radix,
       0 AS numeric_scale, CAST(s.start_value AS VARCHAR) AS start_value, CAST(s.min_value AS VARCHAR) AS minimum_value,
       CAST(s.max_value AS VARCHAR) AS maximum_value, CAST(s.increment_by AS VARCHAR) AS increment,
       CASE WHEN s.cycle THEN 'YES' ELSE 'NO' END AS cycle_option
FROM memory.mallard_catalog.served_sequences() s;
