//! PostgreSQL types for DuckDB values: the OID, size and modifier a `RowDescription`
//! reports, and the text format a `DataRow` carries.
//!
//! Only builtin OIDs are reported, so drivers need no `pg_type` introspection. DuckDB
//! types PostgreSQL lacks map to the nearest builtin that holds every value: unsigned
//! integers widen, HUGEINT becomes numeric, ENUM and exotic types become text.

mod binary;
mod datetime;
mod datetime_in;
mod float;
mod param;
mod text;

pub use binary::{decode_binary, encode_binary};
pub use param::{decode_text, ValueError};
pub use text::{encode_text, is_supported};

use crate::duck::{DecimalStorage, LogicalType};

/// Builtin type OIDs (`pg_type.oid`).
pub mod oid {
    pub const BOOL: u32 = 16;
    pub const BYTEA: u32 = 17;
    pub const INT8: u32 = 20;
    pub const CHAR: u32 = 18;
    pub const NAME: u32 = 19;
    pub const INT2: u32 = 21;
    pub const INT4: u32 = 23;
    pub const TEXT: u32 = 25;
    pub const OID: u32 = 26;
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

    /// `(array type, element type)` for the arrays a client may send as parameters.
    pub const ARRAYS: &[(u32, u32)] = &[
        (1000, BOOL),
        (1001, BYTEA),
        (1002, CHAR),
        (1003, NAME),
        (1005, INT2),
        (1007, INT4),
        (1009, TEXT),
        (1014, BPCHAR),
        (1015, VARCHAR),
        (1016, INT8),
        (1021, FLOAT4),
        (1022, FLOAT8),
        (1028, OID),
        (1115, TIMESTAMP),
        (1182, DATE),
        (1183, TIME),
        (1185, TIMESTAMPTZ),
        (1187, INTERVAL),
        (1231, NUMERIC),
        (1270, TIMETZ),
        (199, JSON),
        (2951, UUID),
        (3807, JSONB),
    ];

    /// The element type of an array type in [`ARRAYS`].
    pub fn element_of(array: u32) -> Option<u32> {
        ARRAYS.iter().find(|(a, _)| *a == array).map(|(_, e)| *e)
    }
}

/// The DuckDB type for a PostgreSQL type OID a client names (the parameter types of
/// `Parse`). `None` for 0, `unknown` and types DuckDB has no counterpart for: the
/// statement then decides. `numeric` without a modifier is DuckDB's own `NUMERIC`,
/// DECIMAL(18,3), as `CAST(x AS NUMERIC)` means in DuckDB.
pub fn logical_type_for_oid(oid: u32) -> Option<LogicalType> {
    use LogicalType as L;
    Some(match oid {
        oid::BOOL => L::Boolean,
        oid::INT2 => L::SmallInt,
        oid::INT4 => L::Integer,
        oid::INT8 | oid::OID => L::BigInt,
        oid::FLOAT4 => L::Float,
        oid::FLOAT8 => L::Double,
        oid::NUMERIC => L::Decimal { width: 18, scale: 3, storage: DecimalStorage::I64 },
        oid::TEXT | oid::VARCHAR | oid::BPCHAR | oid::NAME | oid::CHAR => L::Varchar,
        oid::JSON | oid::JSONB => L::Json,
        oid::BYTEA => L::Blob,
        oid::DATE => L::Date,
        oid::TIME => L::Time,
        oid::TIMETZ => L::TimeTz,
        oid::TIMESTAMP => L::Timestamp,
        oid::TIMESTAMPTZ => L::TimestampTz,
        oid::INTERVAL => L::Interval,
        oid::UUID => L::Uuid,
        other => L::List(Box::new(logical_type_for_oid(oid::element_of(other)?)?)),
    })
}

/// How a column is described to the client.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PgType {
    pub oid: u32,
    /// `pg_type.typlen`: the fixed size, or -1 for variable length.
    pub size: i16,
    /// `atttypmod`: -1, or numeric's `((precision << 16) | scale) + 4`.
    pub modifier: i32,
}

impl PgType {
    const fn fixed(oid: u32, size: i16) -> PgType {
        PgType { oid, size, modifier: -1 }
    }

    const fn varlena(oid: u32) -> PgType {
        PgType { oid, size: -1, modifier: -1 }
    }
}

/// The PostgreSQL type a DuckDB column is reported as.
pub fn pg_type(ty: &LogicalType) -> PgType {
    use LogicalType as L;
    match ty {
        L::Boolean => PgType::fixed(oid::BOOL, 1),
        L::TinyInt | L::SmallInt | L::UTinyInt => PgType::fixed(oid::INT2, 2),
        L::Integer | L::USmallInt => PgType::fixed(oid::INT4, 4),
        L::BigInt | L::UInteger => PgType::fixed(oid::INT8, 8),
        L::UBigInt | L::HugeInt | L::UHugeInt => PgType::varlena(oid::NUMERIC),
        L::Float => PgType::fixed(oid::FLOAT4, 4),
        L::Double => PgType::fixed(oid::FLOAT8, 8),
        L::Decimal { width, scale, .. } => PgType {
            oid: oid::NUMERIC,
            size: -1,
            modifier: ((i32::from(*width) << 16) | i32::from(*scale)) + 4,
        },
        L::Varchar | L::Enum { .. } => PgType::varlena(oid::TEXT),
        L::Json => PgType::varlena(oid::JSON),
        L::Blob => PgType::varlena(oid::BYTEA),
        L::Date => PgType::fixed(oid::DATE, 4),
        L::Time => PgType::fixed(oid::TIME, 8),
        L::TimeTz => PgType::fixed(oid::TIMETZ, 12),
        L::Timestamp | L::TimestampS | L::TimestampMs | L::TimestampNs => PgType::fixed(oid::TIMESTAMP, 8),
        L::TimestampTz => PgType::fixed(oid::TIMESTAMPTZ, 8),
        L::Interval => PgType::fixed(oid::INTERVAL, 16),
        L::Uuid => PgType::fixed(oid::UUID, 16),
        L::List(child) | L::Array { child, .. } => PgType::varlena(array_oid(child)),
        L::Struct(_) => PgType::varlena(oid::RECORD),
        L::Map { .. } | L::Other(_) => PgType::varlena(oid::TEXT),
        L::Null => PgType::varlena(oid::TEXT),
    }
}

/// The array type whose elements are `element` (nested lists are multi-dimensional
/// arrays of the innermost element, as in PostgreSQL).
fn array_oid(element: &LogicalType) -> u32 {
    match element {
        LogicalType::List(inner) | LogicalType::Array { child: inner, .. } => array_oid(inner),
        other => match pg_type(other).oid {
            oid::BOOL => 1000,
            oid::BYTEA => 1001,
            oid::INT2 => 1005,
            oid::INT4 => 1007,
            oid::TEXT => 1009,
            oid::VARCHAR => 1015,
            oid::INT8 => 1016,
            oid::FLOAT4 => 1021,
            oid::FLOAT8 => 1022,
            oid::TIMESTAMP => 1115,
            oid::DATE => 1182,
            oid::TIME => 1183,
            oid::TIMESTAMPTZ => 1185,
            oid::INTERVAL => 1187,
            oid::NUMERIC => 1231,
            oid::TIMETZ => 1270,
            oid::UUID => 2951,
            oid::JSON => 199,
            oid::RECORD => 2287,
            _ => 1009,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numeric_typmod_matches_postgres() {
        // numeric(10,2) has atttypmod 655366 in PostgreSQL.
        let t =
            pg_type(&LogicalType::Decimal { width: 10, scale: 2, storage: crate::duck::DecimalStorage::I64 });
        assert_eq!((t.oid, t.modifier), (oid::NUMERIC, 655366));
    }

    #[test]
    fn nested_lists_are_arrays_of_the_element() {
        let t = LogicalType::List(Box::new(LogicalType::List(Box::new(LogicalType::Integer))));
        assert_eq!(pg_type(&t).oid, 1007);
    }
}
