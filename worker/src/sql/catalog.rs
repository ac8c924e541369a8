//! Answers to catalog queries that drivers send to learn about types, built from the
//! builtin types mallard reports. DuckDB's `pg_catalog` has its own OIDs, so the
//! driver's query cannot run as written; this builds DuckDB SQL with the same columns
//! and PostgreSQL's values.

use crate::types::oid;

/// Builtin base types: OID, `typname`, and the name `regtype` prints.
const BASE_TYPES: &[(u32, &str, &str)] = &[
    (oid::BOOL, "bool", "boolean"),
    (oid::BYTEA, "bytea", "bytea"),
    (oid::CHAR, "char", "\"char\""),
    (oid::NAME, "name", "name"),
    (oid::INT8, "int8", "bigint"),
    (oid::INT2, "int2", "smallint"),
    (oid::INT4, "int4", "integer"),
    (oid::TEXT, "text", "text"),
    (oid::OID, "oid", "oid"),
    (oid::JSON, "json", "json"),
    (oid::FLOAT4, "float4", "real"),
    (oid::FLOAT8, "float8", "double precision"),
    (oid::BPCHAR, "bpchar", "character"),
    (oid::VARCHAR, "varchar", "character varying"),
    (oid::DATE, "date", "date"),
    (oid::TIME, "time", "time without time zone"),
    (oid::TIMESTAMP, "timestamp", "timestamp without time zone"),
    (oid::TIMESTAMPTZ, "timestamptz", "timestamp with time zone"),
    (oid::INTERVAL, "interval", "interval"),
    (oid::TIMETZ, "timetz", "time with time zone"),
    (oid::NUMERIC, "numeric", "numeric"),
    (oid::UUID, "uuid", "uuid"),
    (oid::JSONB, "jsonb", "jsonb"),
];

/// The OID of a type as a cast names it (`int8`, `"int4"`, `integer`, `text[]`).
pub fn type_oid(name: &str) -> Option<u32> {
    let name = name.trim_matches('"').to_ascii_lowercase();
    if let Some(element) = name.strip_suffix("[]") {
        let element = type_oid(element)?;
        return oid::ARRAYS.iter().find(|(_, e)| *e == element).map(|(a, _)| *a);
    }
    BASE_TYPES
        .iter()
        .find(|(_, typname, regtype)| *typname == name || *regtype == name)
        .map(|(o, _, _)| *o)
        .or(match name.as_str() {
            "int" => Some(oid::INT4),
            "float" | "double" => Some(oid::FLOAT8),
            "decimal" => Some(oid::NUMERIC),
            _ => None,
        })
}

/// How the SQL built by [`asyncpg_typeinfo`] starts.
const TYPEINFO_HEAD: &str = "WITH types(oid, name, elemtype, elemdelim, regtype)";

/// The parameter types PostgreSQL reports for a statement this module built, where
/// DuckDB's would differ: asyncpg's `$1::oid[]` (DuckDB has no oid type, and asyncpg
/// has a built-in codec for oid[] but not for int8[], which it would introspect in
/// turn, forever). Column types avoid the same trap: the always-NULL arrays are text[].
pub fn parameter_types(sql: &str) -> Option<&'static [u32]> {
    sql.starts_with(TYPEINFO_HEAD).then_some(&[1028])
}

/// asyncpg's type introspection (`WITH RECURSIVE typeinfo_tree ... WHERE ti.oid =
/// any($1::oid[])`), which it runs for every array type it has no built-in codec for:
/// the requested types at depth 0 and their element types at depth 1, deepest first.
pub fn asyncpg_typeinfo() -> String {
    let text = |s: &str| format!("'{}'", s.replace('\'', "''"));
    let mut rows = Vec::new();
    for &(oid, name, regtype) in BASE_TYPES {
        rows.push(format!("({oid}, {}, 0, NULL, {})", text(name), text(regtype)));
    }
    for &(array, element) in oid::ARRAYS {
        let Some(&(_, name, regtype)) = BASE_TYPES.iter().find(|(o, _, _)| *o == element) else { continue };
        rows.push(format!("({array}, {}, {element}, ',', {})", text(&format!("_{name}")), text(regtype)));
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
