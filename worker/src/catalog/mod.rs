//! mallard's PostgreSQL system catalog: `pg_catalog` relations and functions, answered
//! with PostgreSQL's column names and OIDs over DuckDB's own catalog.
//!
//! [`install`] builds it once per worker in the in-memory anchor database, in the schema
//! `memory.mallard_catalog`, which every session has last on its search path (see
//! [`SCHEMA`]). What it holds comes from one place each: the builtin types from the type
//! table ([`crate::types::builtin`]) and their `pg_type` rows recorded from PostgreSQL 15
//! (`pg_type.tsv`); the user objects from DuckDB (`pg_catalog.sql`); the relations
//! mallard has no rows for from PostgreSQL 15's column lists ([`empty`]). The
//! translation ([`crate::sql`]) turns `pg_catalog.x` into `x` and reg* casts into calls.
//!
//! It also answers asyncpg's type introspection, which DuckDB cannot run as sent.

mod empty;
pub mod relations;
pub mod snapshot;
mod zones;

use crate::duck::{exec, Connection, DuckError, LogicalType};
use crate::types::builtin::TYPES;
use crate::types::{builtin, pg_type};

/// Where the catalog lives, as a DuckDB search path entry.
pub const SCHEMA: &str = "memory.mallard_catalog";

/// Where `information_schema` lives: the translation writes this for its qualifier.
pub const INFORMATION_SCHEMA: &str = "memory.mallard_information_schema";

/// Whether a statement may read the session's settings through the catalog
/// (`pg_settings`, `current_setting()`, an owner's name, `current_user`): the session
/// then publishes them first. Other statements do not pay for it.
pub fn reads_settings(sql: &str) -> bool {
    const WORDS: &[&str] = &["pg_", "information_schema", "current_setting", "set_config", "user"];
    WORDS.iter().any(|w| crate::sql::mentions(sql, w))
}

/// Whether a statement names the catalog's user objects (`pg_class`, `information_schema`,
/// `'t'::regclass`, `obj_description`...): it reads the worker's snapshot, which is
/// built for it when out of date (see [`snapshot`]). Other statements read the snapshot
/// only when it is already current.
pub fn reads_catalog(sql: &str) -> bool {
    const WORDS: &[&str] = &["pg_", "information_schema", "regclass", "_description", "mallard_catalog"];
    WORDS.iter().any(|w| crate::sql::mentions(sql, w))
}

/// Builds the catalog in the worker's anchor database; once per worker, before any session.
pub fn install(conn: &Connection) -> Result<(), DuckError> {
    exec(conn, &format!("CREATE SCHEMA {SCHEMA}"))?;
    exec(conn, &recorded_types())?;
    exec(conn, &type_names())?;
    exec(conn, &duck_types())?;
    exec(conn, PG_TYPE)?;
    exec(conn, &settings())?;
    let loaded = format!(
        "CREATE TABLE {SCHEMA}.extensions AS SELECT extension_name, extension_version FROM duckdb_extensions() WHERE loaded"
    );
    if let Err(e) = exec(conn, &loaded) {
        // It reads the extension directory, which may be out of reach: no rows then.
        tracing::debug!(error = %e, "could not list DuckDB's extensions");
        exec(
            conn,
            &format!("CREATE TABLE {SCHEMA}.extensions (extension_name VARCHAR, extension_version VARCHAR)"),
        )?;
    }
    exec(conn, &format!("CREATE MACRO {SCHEMA}.version() AS {}", quote(&version())))?;
    // Each session sets its backend pid as this variable when it starts.
    exec(
        conn,
        &format!(
            "CREATE MACRO {SCHEMA}.pg_backend_pid() AS CAST(getvariable('mallard_backend_pid') AS INTEGER)"
        ),
    )?;
    for statement in crate::sql::split(include_str!("pg_catalog.sql")) {
        exec(conn, statement.sql())?;
    }
    zones::install(conn)?;
    for (name, columns) in empty::EMPTY_RELATIONS {
        exec(conn, &empty_relation(SCHEMA, name, columns))?;
    }
    exec(conn, &format!("CREATE SCHEMA {INFORMATION_SCHEMA}"))?;
    for statement in crate::sql::split(include_str!("information_schema.sql")) {
        exec(conn, statement.sql())?;
    }
    for (name, columns) in empty::EMPTY_INFORMATION_SCHEMA {
        exec(conn, &empty_relation(INFORMATION_SCHEMA, name, columns))?;
    }
    Ok(())
}

/// `oid[]`, the one parameter type of [`asyncpg_typeinfo`].
const OID_ARRAY: &[u32] = &[1028];

/// How the SQL built by [`asyncpg_typeinfo`] starts.
const TYPEINFO_HEAD: &str = "WITH types(oid, name, elemtype, elemdelim, regtype)";

/// The parameter types PostgreSQL reports for a statement this module built, where
/// DuckDB's would differ: asyncpg's `$1::oid[]` (DuckDB has no oid type, and asyncpg
/// has a built-in codec for oid[] but not for int8[], which it would introspect in
/// turn, forever). Column types avoid the same trap: the always-NULL arrays are text[].
pub fn parameter_types(sql: &str) -> Option<&'static [u32]> {
    sql.starts_with(TYPEINFO_HEAD).then_some(OID_ARRAY)
}

/// asyncpg's type introspection (`WITH RECURSIVE typeinfo_tree ... WHERE ti.oid =
/// any($1::oid[])`), which it runs for every array type it has no built-in codec for:
/// the requested types at depth 0 and their element types at depth 1, deepest first.
pub fn asyncpg_typeinfo() -> String {
    let text = |s: &str| format!("'{}'", s.replace('\'', "''"));
    let mut rows = Vec::new();
    let base = || TYPES.iter().filter(|t| t.is_base());
    for t in base() {
        rows.push(format!("({}, {}, 0, NULL, {})", t.oid, text(t.typname), text(t.regtype)));
    }
    for t in base() {
        let (array, element) = (t.array, t.oid);
        rows.push(format!("({array}, {}, {element}, ',', {})", text(&t.array_typname()), text(t.regtype)));
    }
    let columns = "t.oid, 'pg_catalog' AS ns, t.name, 'b' AS kind, CAST(NULL AS BIGINT) AS basetype, \
                   t.elemtype, t.elemdelim, CAST(NULL AS BIGINT) AS range_subtype, \
                   CAST(NULL AS VARCHAR[]) AS attrtypoids, CAST(NULL AS VARCHAR[]) AS attrnames";
    let names = "CAST(NULL AS VARCHAR) AS basetype_name, e.regtype AS elemtype_name, \
                 CAST(NULL AS VARCHAR) AS range_subtype_name";
    format!(
        "{TYPEINFO_HEAD} AS (VALUES {}), \
         wanted AS (SELECT DISTINCT unnest(CAST($1 AS BIGINT[])) AS oid) \
         SELECT * FROM ( \
           SELECT {columns}, 1 AS depth, {names} FROM types t LEFT JOIN types e ON e.oid = t.elemtype \
           WHERE t.oid IN (SELECT a.elemtype FROM types a JOIN wanted w ON a.oid = w.oid) \
           UNION ALL \
           SELECT {columns}, 0 AS depth, {names} FROM types t LEFT JOIN types e ON e.oid = t.elemtype \
           JOIN wanted w ON t.oid = w.oid \
         ) ORDER BY depth DESC",
        rows.join(", ")
    )
}

/// `pg_type` rows of the builtin types and their arrays, recorded from PostgreSQL 15.
const RECORDED_TYPES: &str = include_str!("pg_type.tsv");

/// The recorded rows as the table `recorded_types`, every column text as recorded.
fn recorded_types() -> String {
    let mut lines = RECORDED_TYPES.lines().filter(|l| !l.starts_with('#'));
    let header = lines.next().unwrap_or_default().replace('\t', ", ");
    let rows: Vec<String> =
        lines.map(|l| format!("({})", l.split('\t').map(quote).collect::<Vec<_>>().join(", "))).collect();
    format!("CREATE TABLE {SCHEMA}.recorded_types AS SELECT * FROM (VALUES {}) v({header})", rows.join(", "))
}

/// `types(oid, typname, regtype)`: every type of the type table and its array, with
/// the name `format_type` and `regtype` print.
fn type_names() -> String {
    let mut rows = Vec::new();
    for t in TYPES {
        rows.push(format!("({}, {}, {})", t.oid, quote(t.typname), quote(t.regtype)));
        if t.array != 0 {
            rows.push(format!(
                "({}, {}, {})",
                t.array,
                quote(&t.array_typname()),
                quote(&format!("{}[]", t.regtype))
            ));
        }
    }
    format!(
        "CREATE TABLE {SCHEMA}.types AS SELECT CAST(oid AS BIGINT) AS oid, typname, regtype FROM (VALUES {}) v(oid, typname, regtype)",
        rows.join(", ")
    )
}

/// DuckDB's type names as `duckdb_columns()` spells them (without modifiers).
const DUCK_TYPE_NAMES: &[(&str, LogicalType)] = &[
    ("BOOLEAN", LogicalType::Boolean),
    ("TINYINT", LogicalType::TinyInt),
    ("SMALLINT", LogicalType::SmallInt),
    ("INTEGER", LogicalType::Integer),
    ("BIGINT", LogicalType::BigInt),
    ("HUGEINT", LogicalType::HugeInt),
    ("UTINYINT", LogicalType::UTinyInt),
    ("USMALLINT", LogicalType::USmallInt),
    ("UINTEGER", LogicalType::UInteger),
    ("UBIGINT", LogicalType::UBigInt),
    ("UHUGEINT", LogicalType::UHugeInt),
    ("FLOAT", LogicalType::Float),
    ("DOUBLE", LogicalType::Double),
    ("DECIMAL", LogicalType::Decimal { width: 18, scale: 3, storage: crate::duck::DecimalStorage::I64 }),
    ("VARCHAR", LogicalType::Varchar),
    ("JSON", LogicalType::Json),
    ("BLOB", LogicalType::Blob),
    ("DATE", LogicalType::Date),
    ("TIME", LogicalType::Time),
    ("TIME WITH TIME ZONE", LogicalType::TimeTz),
    ("TIMESTAMP", LogicalType::Timestamp),
    ("TIMESTAMP_S", LogicalType::TimestampS),
    ("TIMESTAMP_MS", LogicalType::TimestampMs),
    ("TIMESTAMP_NS", LogicalType::TimestampNs),
    ("TIMESTAMP WITH TIME ZONE", LogicalType::TimestampTz),
    ("INTERVAL", LogicalType::Interval),
    ("UUID", LogicalType::Uuid),
    ("STRUCT", LogicalType::Struct(Vec::new())),
];

/// `duck_types(duck_name, oid, array_oid)`: the PostgreSQL type a column of each DuckDB
/// type is reported as, the same answer a `RowDescription` gives ([`pg_type`]). Types
/// not listed are reported as text, as on the wire.
fn duck_types() -> String {
    let rows: Vec<String> = DUCK_TYPE_NAMES
        .iter()
        .map(|(name, ty)| {
            let oid = pg_type(ty).oid;
            let array = builtin::by_oid(oid).map_or(0, |t| t.array);
            format!("({}, {oid}, {array})", quote(name))
        })
        .collect();
    format!(
        "CREATE TABLE {SCHEMA}.duck_types AS SELECT duck_name, CAST(oid AS BIGINT) AS oid, \
         CAST(array_oid AS BIGINT) AS array_oid FROM (VALUES {}) v(duck_name, oid, array_oid)",
        rows.join(", ")
    )
}

/// `pg_type` with PostgreSQL 15's columns, from the recorded rows.
const PG_TYPE: &str = "CREATE VIEW memory.mallard_catalog.pg_type AS SELECT \
    CAST(oid AS BIGINT) AS oid, typname, CAST(11 AS BIGINT) AS typnamespace, CAST(10 AS BIGINT) AS typowner, \
    CAST(typlen AS SMALLINT) AS typlen, typbyval = 't' AS typbyval, typtype, typcategory, \
    typispreferred = 't' AS typispreferred, true AS typisdefined, typdelim, CAST(0 AS BIGINT) AS typrelid, \
    typsubscript, CAST(typelem AS BIGINT) AS typelem, CAST(typarray AS BIGINT) AS typarray, typinput, typoutput, \
    typreceive, typsend, typmodin, typmodout, typanalyze, typalign, typstorage, false AS typnotnull, \
    CAST(0 AS BIGINT) AS typbasetype, CAST(-1 AS INTEGER) AS typtypmod, CAST(0 AS INTEGER) AS typndims, \
    CAST(typcollation AS BIGINT) AS typcollation, CAST(NULL AS VARCHAR) AS typdefaultbin, \
    CAST(NULL AS VARCHAR) AS typdefault, CAST(NULL AS VARCHAR[]) AS typacl \
    FROM memory.mallard_catalog.recorded_types";

/// `settings(name, boot_val, unit, short_desc, vartype, context)`: what `pg_settings`
/// shows of each setting beside its current value, from the session's table of them.
fn settings() -> String {
    let rows: Vec<String> = crate::session::settings::catalog_rows()
        .map(|r| {
            let unit = r.unit.map_or_else(|| "NULL".to_owned(), quote);
            let values = [
                quote(r.name),
                quote(r.boot_val),
                unit,
                quote(r.short_desc),
                quote(r.vartype),
                quote(r.context),
            ];
            format!("({})", values.join(", "))
        })
        .collect();
    format!(
        "CREATE TABLE {SCHEMA}.settings AS SELECT * FROM (VALUES {}) v(name, boot_val, unit, short_desc, vartype, context)",
        rows.join(", ")
    )
}

/// `version()` in PostgreSQL's form, which SQLAlchemy, pandas and Superset parse:
/// `PostgreSQL 15.0 (mallard 0.1.0, DuckDB v1.5.5) on x86_64-pc-linux-gnu, ...`.
fn version() -> String {
    format!(
        "PostgreSQL {} on {}-pc-linux-gnu, compiled by rustc, 64-bit",
        crate::SERVER_VERSION,
        std::env::consts::ARCH
    )
}

/// An empty relation with PostgreSQL's columns (`"oid oid, polname name, ..."`).
fn empty_relation(schema: &str, name: &str, columns: &str) -> String {
    let columns: Vec<String> = split_columns(columns)
        .map(|(column, ty)| {
            format!("CAST(NULL AS {}) AS {}", duck_type_of(ty), crate::duck::quote_ident(column))
        })
        .collect();
    format!("CREATE VIEW {schema}.{name} AS SELECT {} WHERE false", columns.join(", "))
}

fn split_columns(columns: &str) -> impl Iterator<Item = (&str, &str)> {
    columns.split(", ").filter_map(|c| c.split_once(' '))
}

/// The DuckDB type that holds a catalog column of this PostgreSQL type.
fn duck_type_of(pg: &str) -> String {
    if let Some(element) = pg.strip_suffix("[]") {
        return format!("{}[]", duck_type_of(element));
    }
    match pg {
        "oid" | "xid" | "bigint" | "regclass" | "regtype" => "BIGINT",
        "integer" | "cardinal_number" => "INTEGER",
        "smallint" => "SMALLINT",
        "real" => "FLOAT",
        "double precision" => "DOUBLE",
        "boolean" => "BOOLEAN",
        "bytea" => "BLOB",
        "interval" => "INTERVAL",
        "timestamp with time zone" | "time_stamp" => "TIMESTAMPTZ",
        "int2vector" => "SMALLINT[]",
        "oidvector" => "BIGINT[]",
        // name, text, "char", regproc, pg_node_tree, aclitem, inet, pg_lsn;
        // information_schema's sql_identifier, character_data, yes_or_no
        _ => "VARCHAR",
    }
    .to_owned()
}

fn quote(text: &str) -> String {
    crate::duck::quote_literal(text)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::types::{builtin, oid};

    #[test]
    fn recorded_types_are_the_type_table() {
        let mut recorded = RECORDED_TYPES.lines().filter(|l| !l.starts_with('#')).skip(1);
        let rows: Vec<Vec<&str>> = recorded.by_ref().map(|l| l.split('\t').collect()).collect();
        let find = |oid: u32| rows.iter().find(|r| r[0] == oid.to_string());
        for t in TYPES {
            let row = find(t.oid).unwrap_or_else(|| panic!("{} was not recorded", t.typname));
            assert_eq!(
                (row[1], row[2], row[4], row[5]),
                (t.typname, &*t.typlen.to_string(), &*t.typtype.to_string(), &*t.category.to_string())
            );
            assert_eq!(row[10], t.array.to_string(), "{}", t.typname);
            if t.array != 0 {
                let array = find(t.array).unwrap_or_else(|| panic!("{}[] was not recorded", t.typname));
                assert_eq!((array[1], array[9]), (&*t.array_typname(), &*t.oid.to_string()));
            }
        }
    }

    #[test]
    fn empty_relations_have_columns() {
        for (name, columns) in empty::EMPTY_RELATIONS {
            let sql = empty_relation(SCHEMA, name, columns);
            assert!(sql.contains(" AS ") && !sql.contains("AS \"\""), "{sql}");
        }
        assert_eq!(duck_type_of("oid[]"), "BIGINT[]");
        assert_eq!(duck_type_of("\"char\""), "VARCHAR");
    }

    #[test]
    fn catalog_statements_are_told_from_ordinary_ones() {
        for sql in [
            "SELECT c.oid FROM pg_class c",
            "select regclass_in('t')",
            "select obj_description(16384, 'pg_class')",
            "select * from memory.mallard_information_schema.tables",
        ] {
            assert!(reads_catalog(sql), "{sql}");
        }
        for sql in ["SELECT abalance FROM pgbench_accounts WHERE aid = $1", "insert into t values (1)"] {
            assert!(!reads_catalog(sql), "{sql}");
        }
    }

    #[test]
    fn typeinfo_parameter_is_oid_array() {
        assert_eq!(OID_ARRAY, [builtin::by_oid(oid::OID).map(|t| t.array).unwrap()]);
        assert_eq!(parameter_types(&asyncpg_typeinfo()), Some(OID_ARRAY));
        assert_eq!(parameter_types("select 1"), None);
    }
}
