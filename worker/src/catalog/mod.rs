//! Answers to PostgreSQL catalog queries that DuckDB cannot run as written, built from
//! mallard's own tables. DuckDB's `pg_catalog` has its own OIDs, so a driver's query
//! for types cannot run as sent; this builds DuckDB SQL with the same columns and
//! PostgreSQL's values, from the one type table ([`crate::types::builtin`]).
//!
//! This is the room for `pg_catalog` and `information_schema`: catalog relations and
//! the answers drivers' introspection needs live here, and read their rows from the
//! tables that own them.

use crate::types::builtin::TYPES;

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

/// PostgreSQL catalogs DuckDB lacks, as empty relations with their columns.
pub const MISSING_RELATIONS: &[(&str, &str)] = &[
    (
        "pg_inherits",
        "SELECT CAST(NULL AS BIGINT) AS inhrelid, CAST(NULL AS BIGINT) AS inhparent, \
         CAST(NULL AS INTEGER) AS inhseqno, CAST(NULL AS BOOLEAN) AS inhdetachpending WHERE false",
    ),
    (
        "pg_partitioned_table",
        "SELECT CAST(NULL AS BIGINT) AS partrelid, CAST(NULL AS VARCHAR) AS partstrat, \
         CAST(NULL AS SMALLINT) AS partnatts, CAST(NULL AS BIGINT) AS partdefid WHERE false",
    ),
];

#[cfg(test)]
mod tests {
    use super::*;
    use crate::types::{builtin, oid};

    #[test]
    fn typeinfo_parameter_is_oid_array() {
        assert_eq!(OID_ARRAY, [builtin::by_oid(oid::OID).map(|t| t.array).unwrap()]);
        assert_eq!(parameter_types(&asyncpg_typeinfo()), Some(OID_ARRAY));
        assert_eq!(parameter_types("select 1"), None);
    }
}
