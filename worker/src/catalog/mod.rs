//! mallard's PostgreSQL system catalog: `pg_catalog` relations and functions, answered
//! with PostgreSQL's column names and OIDs over DuckDB's own catalog.
//!
//! [`install`] builds it once per worker in the in-memory anchor database, in the schema
//! `memory.mallard_catalog`, which every session has last on its search path (see
//! [`SCHEMA`]). What it holds comes from one place each: the builtin types from the type
//! table ([`crate::types::builtin`]) and their `pg_type` rows recorded from PostgreSQL 15
//! (`pg_type.tsv`); the builtin functions' `pg_proc` rows recorded the same way
//! (`pg_proc.tsv`, kept where DuckDB has the name; `pg_proc.sql`); the user objects
//! from DuckDB (`pg_catalog.sql`); the relations
//! mallard has no rows for from PostgreSQL 15's column lists ([`empty`]). The
//! translation ([`crate::sql`]) turns `pg_catalog.x` into `x` and reg* casts into calls.
//!
//! OIDs are UINTEGER, PostgreSQL's unsigned 32 bits, which a result reports as `oid`:
//! asyncpg's type introspection runs as sent, as it must get `oid[]` back.

mod empty;
pub mod relations;
pub mod snapshot;
mod zones;

use crate::duck::{exec, Arg, Connection, DuckError, LogicalType, Output, Param, Returns, Strictness};
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
/// only when it is already current, else DuckDB's functions, which is always right and
/// only slower: so `pg_backend_pid()`, `pg_stat_activity` or `pg_advisory_lock()` never
/// wait for a build.
pub fn reads_catalog(sql: &str) -> bool {
    const WORDS: &[&str] = &[
        "pg_class",
        "pg_attr",
        "pg_index",
        "pg_constraint",
        "_description",
        "pg_tables",
        "pg_views",
        "pg_matviews",
        "pg_sequence",
        "pg_depend",
        "pg_stat_user",
        "pg_statio",
        "pg_get_",
        "_is_visible",
        "_size",
        "information_schema",
        "regclass",
        "mallard_catalog",
    ];
    WORDS.iter().any(|w| crate::sql::mentions(sql, w))
}

/// Registers the catalog's own functions; before [`install`].
pub fn register(conn: &Connection) -> Result<(), DuckError> {
    // The result type of a macro made from a SQL function ('' for none): pg_proc's.
    crate::duck::register_function(
        conn,
        "mallard_result_type",
        &[(&[Param::Varchar], Returns::Varchar)],
        Strictness::Strict,
        |_, args| match args[0] {
            Arg::Text(definition) => Ok(Output::Text(
                crate::sql::translate::function_result_type(definition).unwrap_or("").to_owned(),
            )),
            _ => Ok(Output::Text(String::new())),
        },
    )?;
    // The type a macro made from a SQL function casts a parameter to ('' for none).
    crate::duck::register_function(
        conn,
        "mallard_parameter_type",
        &[(&[Param::Varchar, Param::Varchar], Returns::Varchar)],
        Strictness::Strict,
        |_, args| match (args[0], args[1]) {
            (Arg::Text(definition), Arg::Text(name)) => Ok(Output::Text(
                crate::sql::translate::function_parameter_type(definition, name).unwrap_or("").to_owned(),
            )),
            _ => Ok(Output::Text(String::new())),
        },
    )
}

/// Builds the catalog in the worker's anchor database; once per worker, before any session.
pub fn install(conn: &Connection) -> Result<(), DuckError> {
    exec(conn, &format!("CREATE SCHEMA {SCHEMA}"))?;
    exec(conn, &recorded("recorded_types", RECORDED_TYPES))?;
    exec(conn, &recorded("recorded_functions", RECORDED_FUNCTIONS))?;
    exec(conn, include_str!("builtin_functions.sql"))?;
    exec(conn, &type_names())?;
    exec(conn, &type_name_map())?;
    exec(conn, &duck_types())?;
    exec(conn, &duck_type_map())?;
    exec(conn, FUNCTION_OID)?;
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
    // The session's pid, which its DuckDB connection is registered with.
    exec(conn, &format!("CREATE MACRO {SCHEMA}.pg_backend_pid() AS CAST(mallard_backend_pid() AS INTEGER)"))?;
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
    for statement in crate::sql::split(include_str!("pg_proc.sql")) {
        exec(conn, statement.sql())?;
    }
    for statement in routines() {
        exec(conn, &statement)?;
    }
    Ok(())
}

/// `pg_type` rows of the builtin types and their arrays, recorded from PostgreSQL 15.
const RECORDED_TYPES: &str = include_str!("pg_type.tsv");

/// `pg_proc` rows of the builtin functions DuckDB also has, recorded from PostgreSQL 15
/// by `pg_proc.sh`.
const RECORDED_FUNCTIONS: &str = include_str!("pg_proc.tsv");

/// Recorded rows (a tab-separated header, then rows; `#` lines are comments) as the
/// table `name`, every column text as recorded and `\N` as NULL.
fn recorded(name: &str, tsv: &str) -> String {
    let mut lines = tsv.lines().filter(|l| !l.starts_with('#'));
    let header = lines.next().unwrap_or_default().replace('\t', ", ");
    let value = |v: &str| if v == "\\N" { "NULL".to_owned() } else { quote(v) };
    let rows: Vec<String> =
        lines.map(|l| format!("({})", l.split('\t').map(value).collect::<Vec<_>>().join(", "))).collect();
    format!("CREATE TABLE {SCHEMA}.{name} AS SELECT * FROM (VALUES {}) v({header})", rows.join(", "))
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
    for (oid, typname, regtype) in PSEUDO_TYPES {
        rows.push(format!("({oid}, {}, {})", quote(typname), quote(regtype)));
    }
    format!(
        "CREATE TABLE {SCHEMA}.types AS SELECT CAST(oid AS UINTEGER) AS oid, typname, regtype FROM (VALUES {}) v(oid, typname, regtype)",
        rows.join(", ")
    )
}

/// The pseudo-types a function's arguments and result name (a macro's untyped
/// parameter is `anyelement`, a table macro returns `SETOF record`): OID, name, and
/// the name `format_type` prints, as in PostgreSQL 15.
const PSEUDO_TYPES: &[(u32, &str, &str)] = &[
    (2249, "record", "record"),
    (2275, "cstring", "cstring"),
    (2276, "any", "\"any\""),
    (2277, "anyarray", "anyarray"),
    (2278, "void", "void"),
    (2279, "trigger", "trigger"),
    (2281, "internal", "internal"),
    (2283, "anyelement", "anyelement"),
    (2287, "_record", "record[]"),
    (2776, "anynonarray", "anynonarray"),
    (5077, "anycompatible", "anycompatible"),
    (5078, "anycompatiblearray", "anycompatiblearray"),
];

/// `type_names()`: the name `format_type` prints of each type OID as a map, for where a
/// lookup cannot be a subquery (inside a lambda).
fn type_name_map() -> String {
    // Several entries of the type table may share an OID (aliases): the first names it.
    let mut names = std::collections::BTreeMap::new();
    for t in TYPES {
        names.entry(t.oid).or_insert_with(|| t.regtype.to_owned());
        if t.array != 0 {
            names.entry(t.array).or_insert_with(|| format!("{}[]", t.regtype));
        }
    }
    for (oid, _, regtype) in PSEUDO_TYPES {
        names.entry(*oid).or_insert_with(|| (*regtype).to_owned());
    }
    let entries: Vec<String> = names.iter().map(|(oid, name)| format!("{oid}: {}", quote(name))).collect();
    format!("CREATE MACRO {SCHEMA}.type_names() AS MAP {{{}}}", entries.join(", "))
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
        "CREATE TABLE {SCHEMA}.duck_types AS SELECT duck_name, CAST(oid AS UINTEGER) AS oid, \
         CAST(array_oid AS UINTEGER) AS array_oid FROM (VALUES {}) v(duck_name, oid, array_oid)",
        rows.join(", ")
    )
}

/// `duck_type_oids()`: [`duck_types`] as a map from the DuckDB name to the OID, for
/// where a lookup cannot be a subquery (inside a lambda).
fn duck_type_map() -> String {
    let entries: Vec<String> =
        DUCK_TYPE_NAMES.iter().map(|(name, ty)| format!("{}: {}", quote(name), pg_type(ty).oid)).collect();
    format!("CREATE MACRO {SCHEMA}.duck_type_oids() AS MAP {{{}}}", entries.join(", "))
}

/// `function_oid(name)`: a recorded builtin function's OID by its unique name, 0 for
/// `-` (none), as pg_type's regproc columns hold them.
const FUNCTION_OID: &str = "CREATE MACRO memory.mallard_catalog.function_oid(name) AS \
    coalesce((SELECT min(f.oid) FROM memory.mallard_catalog.builtin_functions f WHERE f.proname = name), 0)";

/// `pg_type` with PostgreSQL 15's columns, from the recorded rows.
const PG_TYPE: &str = "CREATE VIEW memory.mallard_catalog.pg_type AS SELECT \
    CAST(oid AS UINTEGER) AS oid, typname, CAST(11 AS UINTEGER) AS typnamespace, CAST(10 AS UINTEGER) AS typowner, \
    CAST(typlen AS SMALLINT) AS typlen, typbyval = 't' AS typbyval, typtype, typcategory, \
    typispreferred = 't' AS typispreferred, true AS typisdefined, typdelim, CAST(0 AS UINTEGER) AS typrelid, \
    typsubscript, CAST(typelem AS UINTEGER) AS typelem, CAST(typarray AS UINTEGER) AS typarray, \
    memory.mallard_catalog.function_oid(typinput) AS typinput, \
    memory.mallard_catalog.function_oid(typoutput) AS typoutput, \
    memory.mallard_catalog.function_oid(typreceive) AS typreceive, \
    memory.mallard_catalog.function_oid(typsend) AS typsend, \
    memory.mallard_catalog.function_oid(typmodin) AS typmodin, \
    memory.mallard_catalog.function_oid(typmodout) AS typmodout, \
    memory.mallard_catalog.function_oid(typanalyze) AS typanalyze, typalign, typstorage, false AS typnotnull, \
    CAST(0 AS UINTEGER) AS typbasetype, CAST(-1 AS INTEGER) AS typtypmod, CAST(0 AS INTEGER) AS typndims, \
    CAST(typcollation AS UINTEGER) AS typcollation, CAST(NULL AS VARCHAR) AS typdefaultbin, \
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
    relation(schema, name, columns, &[], "WHERE false")
}

/// A view with PostgreSQL's columns, each the expression `values` gives for it (NULL
/// for the others), cast to the column's type, over `from`.
fn relation(schema: &str, name: &str, columns: &str, values: &[(&str, &str)], from: &str) -> String {
    let columns: Vec<String> = split_columns(columns)
        .map(|(column, ty)| {
            let value = values.iter().find(|(c, _)| *c == column).map_or("NULL", |(_, v)| v);
            format!("CAST({value} AS {}) AS {}", duck_type_of(ty), crate::duck::quote_ident(column))
        })
        .collect();
    format!("CREATE VIEW {schema}.{name} AS SELECT {} {from}", columns.join(", "))
}

/// `information_schema.routines` and `parameters`: the user's functions (macros) from
/// `user_functions` (`pg_proc.sql`), as PostgreSQL describes SQL functions.
fn routines() -> [String; 2] {
    const DATA_TYPE: &str =
        "CASE WHEN right(memory.mallard_catalog.type_names()[{t}], 2) = '[]' THEN 'ARRAY' \
         ELSE memory.mallard_catalog.type_names()[{t}] END";
    const UDT_NAME: &str =
        "(SELECT min(mc_t.typname) FROM memory.mallard_catalog.types mc_t WHERE mc_t.oid = {t})";
    let specific = [
        ("specific_catalog", "current_database()"),
        ("specific_schema", "memory.mallard_catalog.namespace_name(u.schema_name)"),
        ("specific_name", "u.proname || '_' || u.oid"),
    ];
    let result = "CASE WHEN u.proretset THEN 2249 ELSE u.prorettype END";
    let (data_type, udt_name) = (DATA_TYPE.replace("{t}", result), UDT_NAME.replace("{t}", result));
    let mut routine: Vec<(&str, &str)> = specific.to_vec();
    routine.extend([
        ("routine_catalog", "current_database()"),
        ("routine_schema", "memory.mallard_catalog.namespace_name(u.schema_name)"),
        ("routine_name", "u.proname"),
        ("routine_type", "'FUNCTION'"),
        ("data_type", &data_type),
        ("type_udt_catalog", "current_database()"),
        ("type_udt_schema", "'pg_catalog'"),
        ("type_udt_name", &udt_name),
        ("dtd_identifier", "'0'"),
        ("routine_body", "'SQL'"),
        ("routine_definition", "u.prosrc"),
        ("external_language", "'SQL'"),
        ("parameter_style", "'GENERAL'"),
        ("is_deterministic", "'NO'"),
        ("sql_data_access", "'MODIFIES'"),
        ("is_null_call", "'NO'"),
        ("schema_level_routine", "'YES'"),
        ("max_dynamic_result_sets", "0"),
        ("is_user_defined_cast", "'NO'"),
        ("is_implicitly_invocable", "'NO'"),
        ("security_type", "'INVOKER'"),
        ("as_locator", "'NO'"),
        ("is_udt_dependent", "'NO'"),
    ]);
    let argument = "u.proargtypes[u.position]";
    let (data_type, udt_name) = (DATA_TYPE.replace("{t}", argument), UDT_NAME.replace("{t}", argument));
    let mut parameter: Vec<(&str, &str)> = specific.to_vec();
    parameter.extend([
        ("ordinal_position", "u.position"),
        ("parameter_mode", "'IN'"),
        ("is_result", "'NO'"),
        ("as_locator", "'NO'"),
        ("parameter_name", "nullif(u.proargnames[u.position], '')"),
        ("data_type", &data_type),
        ("udt_catalog", "current_database()"),
        ("udt_schema", "'pg_catalog'"),
        ("udt_name", &udt_name),
        ("dtd_identifier", "CAST(u.position AS VARCHAR)"),
    ]);
    [
        relation(
            INFORMATION_SCHEMA,
            "routines",
            empty::ROUTINES,
            &routine,
            &format!("FROM {SCHEMA}.user_functions u"),
        ),
        relation(
            INFORMATION_SCHEMA,
            "parameters",
            empty::PARAMETERS,
            &parameter,
            &format!(
                "FROM (SELECT *, unnest(generate_series(1, len(proargtypes))) AS position \
                 FROM {SCHEMA}.user_functions WHERE len(proargtypes) > 0) u"
            ),
        ),
    ]
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
        "oid" => "UINTEGER",
        "xid" | "bigint" | "regclass" | "regtype" | "regproc" => "BIGINT",
        "integer" | "cardinal_number" => "INTEGER",
        "smallint" => "SMALLINT",
        "real" => "FLOAT",
        "double precision" => "DOUBLE",
        "boolean" => "BOOLEAN",
        "bytea" => "BLOB",
        "interval" => "INTERVAL",
        "timestamp with time zone" | "time_stamp" => "TIMESTAMPTZ",
        // Sent as int2vector and oidvector (see `LogicalType::Vector`).
        "int2vector" => "USMALLINT[]",
        "oidvector" => "UHUGEINT[]",
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
        assert_eq!(duck_type_of("oid[]"), "UINTEGER[]");
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
        for sql in [
            "SELECT abalance FROM pgbench_accounts WHERE aid = $1",
            "insert into t values (1)",
            "select worker_pid from pg_stat_activity where pid = pg_backend_pid()",
            "select pg_advisory_lock(1)",
        ] {
            assert!(!reads_catalog(sql), "{sql}");
        }
    }
}
