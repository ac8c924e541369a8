//! The one table of PostgreSQL types mallard knows: every type a `RowDescription` or
//! `ParameterDescription` can report, and every type a client may name for a parameter,
//! with PostgreSQL 15's `pg_type` values and the DuckDB type it maps to.
//!
//! Nothing else lists types: OIDs, `typlen`, names and DuckDB types are read from
//! [`TYPES`]. Each row describes its array type too (`typarray`); an array type's own
//! row in `pg_type` is derived from its element's ([`BuiltinType::array_typname`]).

use crate::duck::{DecimalStorage, LogicalType};

/// Builtin type OIDs (`pg_type.oid`), for code that handles one type specially (the
/// codecs). The rows of [`TYPES`] are built from these.
pub mod oid {
    pub const BOOL: u32 = 16;
    pub const BYTEA: u32 = 17;
    pub const CHAR: u32 = 18;
    pub const NAME: u32 = 19;
    pub const INT8: u32 = 20;
    pub const INT2: u32 = 21;
    pub const INT2VECTOR: u32 = 22;
    pub const INT4: u32 = 23;
    pub const TEXT: u32 = 25;
    pub const OID: u32 = 26;
    pub const OIDVECTOR: u32 = 30;
    pub const JSON: u32 = 114;
    pub const FLOAT4: u32 = 700;
    pub const FLOAT8: u32 = 701;
    pub const UNKNOWN: u32 = 705;
    pub const BPCHAR: u32 = 1042;
    pub const VARCHAR: u32 = 1043;
    pub const DATE: u32 = 1082;
    pub const TIME: u32 = 1083;
    pub const TIMESTAMP: u32 = 1114;
    pub const TIMESTAMPTZ: u32 = 1184;
    pub const INTERVAL: u32 = 1186;
    pub const TIMETZ: u32 = 1266;
    pub const NUMERIC: u32 = 1700;
    pub const RECORD: u32 = 2249;
    pub const UUID: u32 = 2950;
    pub const JSONB: u32 = 3802;

    /// The element type of a builtin array type the client may send (`None` for any
    /// other OID).
    pub fn element_of(array: u32) -> Option<u32> {
        super::TYPES.iter().find(|t| array != 0 && t.array == array && t.is_base()).map(|t| t.oid)
    }
}

/// One row of `pg_type`, as PostgreSQL 15 has it, and the DuckDB type it maps to.
#[derive(Debug, PartialEq, Eq)]
pub struct BuiltinType {
    pub oid: u32,
    /// `typarray`: the OID of the array of this type, 0 for none.
    pub array: u32,
    pub typname: &'static str,
    /// What `regtype` (`format_type`) prints: `integer`, `character varying`.
    pub regtype: &'static str,
    /// `typlen`: the fixed size in bytes, -1 for variable length, -2 for C strings.
    pub typlen: i16,
    /// `typcategory`: `N` numeric, `S` string, `D` date/time, `A` array, ...
    pub category: char,
    /// `typtype`: `b` base type, `p` pseudo-type. Only base types are named in casts,
    /// sent as parameters and listed to drivers.
    pub typtype: char,
    /// The DuckDB type a client value of this type binds as; `None` where the statement
    /// decides (`unknown`, `record`). `numeric` without a modifier is DuckDB's own
    /// `NUMERIC`, DECIMAL(18,3), as `CAST(x AS NUMERIC)` means in DuckDB.
    pub duck: Option<LogicalType>,
}

impl BuiltinType {
    pub fn is_base(&self) -> bool {
        self.typtype == 'b'
    }

    /// The `typname` of this type's array type: `_int4`.
    pub fn array_typname(&self) -> String {
        format!("_{}", self.typname)
    }
}

/// `typlen` of every array type (whose `typcategory` is `A`).
pub const ARRAY_TYPLEN: i16 = -1;

const fn row(
    oid: u32,
    array: u32,
    typname: &'static str,
    regtype: &'static str,
    typlen: i16,
    category: char,
    duck: Option<LogicalType>,
) -> BuiltinType {
    BuiltinType { oid, array, typname, regtype, typlen, category, typtype: 'b', duck }
}

const fn pseudo(oid: u32, array: u32, typname: &'static str, typlen: i16, category: char) -> BuiltinType {
    BuiltinType { oid, array, typname, regtype: typname, typlen, category, typtype: 'p', duck: None }
}

use crate::duck::LogicalType as L;

/// The builtin types, in the order drivers are shown them.
pub static TYPES: &[BuiltinType] = &[
    row(oid::BOOL, 1000, "bool", "boolean", 1, 'B', Some(L::Boolean)),
    row(oid::BYTEA, 1001, "bytea", "bytea", -1, 'U', Some(L::Blob)),
    row(oid::CHAR, 1002, "char", "\"char\"", 1, 'Z', Some(L::Varchar)),
    row(oid::NAME, 1003, "name", "name", 64, 'S', Some(L::Varchar)),
    row(oid::INT8, 1016, "int8", "bigint", 8, 'N', Some(L::BigInt)),
    row(oid::INT2, 1005, "int2", "smallint", 2, 'N', Some(L::SmallInt)),
    row(oid::INT4, 1007, "int4", "integer", 4, 'N', Some(L::Integer)),
    row(oid::TEXT, 1009, "text", "text", -1, 'S', Some(L::Varchar)),
    row(oid::OID, 1028, "oid", "oid", 4, 'N', Some(L::UInteger)),
    row(oid::JSON, 199, "json", "json", -1, 'U', Some(L::Json)),
    row(oid::FLOAT4, 1021, "float4", "real", 4, 'N', Some(L::Float)),
    row(oid::FLOAT8, 1022, "float8", "double precision", 8, 'N', Some(L::Double)),
    row(oid::BPCHAR, 1014, "bpchar", "character", -1, 'S', Some(L::Varchar)),
    row(oid::VARCHAR, 1015, "varchar", "character varying", -1, 'S', Some(L::Varchar)),
    row(oid::DATE, 1182, "date", "date", 4, 'D', Some(L::Date)),
    row(oid::TIME, 1183, "time", "time without time zone", 8, 'D', Some(L::Time)),
    row(oid::TIMESTAMP, 1115, "timestamp", "timestamp without time zone", 8, 'D', Some(L::Timestamp)),
    row(oid::TIMESTAMPTZ, 1185, "timestamptz", "timestamp with time zone", 8, 'D', Some(L::TimestampTz)),
    row(oid::INTERVAL, 1187, "interval", "interval", 16, 'T', Some(L::Interval)),
    row(oid::TIMETZ, 1270, "timetz", "time with time zone", 12, 'D', Some(L::TimeTz)),
    row(
        oid::NUMERIC,
        1231,
        "numeric",
        "numeric",
        -1,
        'N',
        Some(L::Decimal { width: 18, scale: 3, storage: DecimalStorage::I64 }),
    ),
    row(oid::UUID, 2951, "uuid", "uuid", 16, 'U', Some(L::Uuid)),
    row(oid::JSONB, 3807, "jsonb", "jsonb", -1, 'U', Some(L::Json)),
    pseudo(oid::UNKNOWN, 0, "unknown", -2, 'X'),
    pseudo(oid::RECORD, 2287, "record", -1, 'P'),
];

/// The row of a (non-array) type.
pub fn by_oid(oid: u32) -> Option<&'static BuiltinType> {
    TYPES.iter().find(|t| t.oid == oid)
}

/// The OID of a base type as a cast names it (`int8`, `"int4"`, `integer`, `text[]`).
pub fn oid_by_name(name: &str) -> Option<u32> {
    let name = name.trim_matches('"').to_ascii_lowercase();
    if let Some(element) = name.strip_suffix("[]") {
        let element = oid_by_name(element)?;
        return TYPES.iter().find(|t| t.oid == element && t.is_base()).map(|t| t.array);
    }
    TYPES.iter().find(|t| t.is_base() && (t.typname == name || t.regtype == name)).map(|t| t.oid).or(
        match name.as_str() {
            "int" => Some(oid::INT4),
            "float" | "double" => Some(oid::FLOAT8),
            "decimal" => Some(oid::NUMERIC),
            _ => None,
        },
    )
}

/// `typlen` of a builtin type or array type; -1 (variable) for anything else.
pub fn typlen(oid: u32) -> i16 {
    by_oid(oid).map_or(ARRAY_TYPLEN, |t| t.typlen)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn oids_are_unique() {
        let mut seen = std::collections::HashSet::new();
        for t in TYPES {
            assert!(seen.insert(t.oid), "{}", t.typname);
            assert!(t.array == 0 || seen.insert(t.array), "{}", t.typname);
        }
    }

    #[test]
    fn names_resolve_to_their_rows() {
        for t in TYPES.iter().filter(|t| t.is_base()) {
            assert_eq!(oid_by_name(t.typname), Some(t.oid));
            assert_eq!(oid_by_name(t.regtype), Some(t.oid));
            assert_eq!(oid_by_name(&format!("{}[]", t.typname)), Some(t.array));
            assert_eq!(oid::element_of(t.array), Some(t.oid));
        }
        assert_eq!(oid_by_name("\"INT4\""), Some(oid::INT4));
        assert_eq!(oid_by_name("decimal"), Some(oid::NUMERIC));
        assert_eq!(oid_by_name("record"), None);
        assert_eq!(oid::element_of(2287), None);
    }
}
