//! PostgreSQL types for DuckDB values: the type a `RowDescription` reports for a DuckDB
//! column and the DuckDB type of a parameter type a client names, both read from the
//! one type table ([`builtin`]); and the codecs: text out ([`text_out`]) and in
//! ([`text_in`]), binary both ways ([`binary`]).
//!
//! Only builtin OIDs are reported, so drivers need no `pg_type` introspection. DuckDB
//! types PostgreSQL lacks map to the nearest builtin that holds every value: unsigned
//! integers widen, HUGEINT becomes numeric, ENUM and exotic types become text.

mod binary;
pub mod builtin;
mod datetime_fields;
mod datetime_in;
mod datetime_out;
mod decode;
mod float;
mod style;
mod text_in;
mod text_out;

pub use binary::{decode_binary, decode_fixed, encode_binary, text_field};
pub use builtin::oid;
pub use datetime_in::{iso_spelling, DateTimeType};
pub use decode::ValueError;
pub use style::{zone_named, DateFormat, DateOrder, IntervalFormat, TextStyle, ZONEINFO};
pub use text_in::{array_literal_as_list, decode_text};
pub use text_out::{encode_text, is_supported, plain_text, PLAIN_TEXT_BYTES};

use crate::duck::LogicalType;

/// What unconstrained `numeric` (no precision or scale) becomes in DuckDB, whose
/// decimals have a fixed scale: 28 integer and 10 fractional digits (translation rule
/// `unconstrained_numeric`). Its values are written without trailing fractional zeros
/// ([`shown_decimal`]).
pub const UNCONSTRAINED_NUMERIC: (u8, u8) = (38, 10);

/// The unscaled value and scale a decimal of type `DECIMAL(width, scale)` is written
/// with: as it is, except that unconstrained numeric drops trailing fractional zeros
/// (`1.5000000000` is `1.5`). PostgreSQL would keep the scale the value was written with
/// (`1.50`); DuckDB does not keep it, and ten zeros are further from it than none.
pub fn shown_decimal(unscaled: i128, width: u8, scale: u8) -> (i128, u8) {
    if (width, scale) != UNCONSTRAINED_NUMERIC {
        return (unscaled, scale);
    }
    let (mut unscaled, mut scale) = (unscaled, scale);
    while scale > 0 && unscaled % 10 == 0 {
        unscaled /= 10;
        scale -= 1;
    }
    (unscaled, scale)
}

/// The DuckDB type for a PostgreSQL type OID a client names (the parameter types of
/// `Parse`): the table's, or a list of it for an array type. `None` for 0, `unknown`
/// and types DuckDB has no counterpart for: the statement then decides.
pub fn logical_type_for_oid(oid: u32) -> Option<LogicalType> {
    match builtin::by_oid(oid) {
        Some(t) => t.duck.clone(),
        None => Some(LogicalType::List(Box::new(logical_type_for_oid(oid::element_of(oid)?)?))),
    }
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

/// The PostgreSQL type a DuckDB column is reported as. Its size is the table's `typlen`.
pub fn pg_type(ty: &LogicalType) -> PgType {
    use LogicalType as L;
    let (oid, modifier) = match ty {
        L::Boolean => (oid::BOOL, -1),
        L::TinyInt | L::SmallInt | L::UTinyInt => (oid::INT2, -1),
        L::Integer | L::USmallInt => (oid::INT4, -1),
        // oid is PostgreSQL's unsigned 32-bit type (see `LogicalType::Vector`).
        L::UInteger => (oid::OID, -1),
        L::BigInt => (oid::INT8, -1),
        L::UBigInt | L::HugeInt | L::UHugeInt => (oid::NUMERIC, -1),
        L::Float => (oid::FLOAT4, -1),
        L::Double => (oid::FLOAT8, -1),
        L::Decimal { width, scale, .. } => {
            (oid::NUMERIC, ((i32::from(*width) << 16) | i32::from(*scale)) + 4)
        }
        L::Varchar | L::Enum { .. } => (oid::TEXT, -1),
        L::Json => (oid::JSON, -1),
        L::Jsonb => (oid::JSONB, -1),
        L::Blob => (oid::BYTEA, -1),
        L::Date => (oid::DATE, -1),
        L::Time => (oid::TIME, -1),
        L::TimeTz => (oid::TIMETZ, -1),
        L::Timestamp | L::TimestampS | L::TimestampMs | L::TimestampNs => (oid::TIMESTAMP, -1),
        L::TimestampTz => (oid::TIMESTAMPTZ, -1),
        L::Interval => (oid::INTERVAL, -1),
        L::Uuid => (oid::UUID, -1),
        L::List(child) | L::Array { child, .. } => (array_oid(child), -1),
        L::Vector { oid, .. } => (*oid, -1),
        L::Struct(_) => (oid::RECORD, -1),
        L::Map { .. } | L::Other(_) | L::Null => (oid::TEXT, -1),
    };
    PgType { oid, size: builtin::typlen(oid), modifier }
}

/// The array type whose elements are `element` (nested lists are multi-dimensional
/// arrays of the innermost element, as in PostgreSQL).
fn array_oid(element: &LogicalType) -> u32 {
    match element {
        LogicalType::List(inner) | LogicalType::Array { child: inner, .. } => array_oid(inner),
        other => {
            // Every reported type has an array type (a test below proves it); text[]
            // is the fallback that never applies.
            let element = builtin::by_oid(pg_type(other).oid).filter(|t| t.array != 0);
            element.or_else(|| builtin::by_oid(oid::TEXT)).map_or(0, |t| t.array)
        }
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

    /// One DuckDB type of each kind `pg_type` tells apart.
    fn every_kind() -> Vec<LogicalType> {
        use LogicalType as L;
        let scalars = vec![
            L::Boolean,
            L::TinyInt,
            L::SmallInt,
            L::Integer,
            L::BigInt,
            L::HugeInt,
            L::UTinyInt,
            L::USmallInt,
            L::UInteger,
            L::UBigInt,
            L::UHugeInt,
            L::Float,
            L::Double,
            L::Decimal { width: 10, scale: 2, storage: crate::duck::DecimalStorage::I64 },
            L::Varchar,
            L::Json,
            L::Blob,
            L::Date,
            L::Time,
            L::TimeTz,
            L::Timestamp,
            L::TimestampS,
            L::TimestampMs,
            L::TimestampNs,
            L::TimestampTz,
            L::Interval,
            L::Uuid,
            L::Enum { storage: crate::duck::EnumStorage::U8, values: vec!["a".into()] },
            L::Struct(vec![("a".into(), L::Integer)]),
            L::Map { key: Box::new(L::Varchar), value: Box::new(L::Integer) },
            L::Null,
            L::Other(99),
        ];
        let mut all = scalars.clone();
        for s in scalars {
            all.push(L::List(Box::new(s.clone())));
            all.push(L::Array { child: Box::new(s.clone()), size: 2 });
            all.push(L::List(Box::new(L::List(Box::new(s)))));
        }
        all
    }

    #[test]
    fn every_reported_type_is_a_row_of_the_table() {
        for ty in every_kind() {
            let t = pg_type(&ty);
            let row = builtin::TYPES.iter().find(|r| r.oid == t.oid || r.array == t.oid);
            let row =
                row.unwrap_or_else(|| panic!("{ty:?} is reported as {}, which is not in the table", t.oid));
            let typlen = if row.oid == t.oid { row.typlen } else { builtin::ARRAY_TYPLEN };
            assert_eq!(t.size, typlen, "{ty:?}");
            assert_ne!(t.oid, 0, "{ty:?}");
        }
    }

    /// The (OID, size) each kind was reported as before the table existed.
    #[test]
    fn row_descriptions_are_unchanged() {
        use LogicalType as L;
        let cases: &[(L, u32, i16)] = &[
            (L::Boolean, 16, 1),
            (L::TinyInt, 21, 2),
            (L::UTinyInt, 21, 2),
            (L::SmallInt, 21, 2),
            (L::Integer, 23, 4),
            (L::USmallInt, 23, 4),
            (L::BigInt, 20, 8),
            (L::UInteger, 26, 4),
            (L::UBigInt, 1700, -1),
            (L::HugeInt, 1700, -1),
            (L::UHugeInt, 1700, -1),
            (L::Float, 700, 4),
            (L::Double, 701, 8),
            (L::Varchar, 25, -1),
            (L::Json, 114, -1),
            (L::Blob, 17, -1),
            (L::Date, 1082, 4),
            (L::Time, 1083, 8),
            (L::TimeTz, 1266, 12),
            (L::Timestamp, 1114, 8),
            (L::TimestampNs, 1114, 8),
            (L::TimestampTz, 1184, 8),
            (L::Interval, 1186, 16),
            (L::Uuid, 2950, 16),
            (L::Struct(vec![]), 2249, -1),
            (L::Null, 25, -1),
            (L::Other(1), 25, -1),
            (L::List(Box::new(L::Boolean)), 1000, -1),
            (L::List(Box::new(L::Blob)), 1001, -1),
            (L::List(Box::new(L::SmallInt)), 1005, -1),
            (L::List(Box::new(L::Integer)), 1007, -1),
            (L::List(Box::new(L::Varchar)), 1009, -1),
            (L::List(Box::new(L::BigInt)), 1016, -1),
            (L::List(Box::new(L::Float)), 1021, -1),
            (L::List(Box::new(L::Double)), 1022, -1),
            (L::List(Box::new(L::Timestamp)), 1115, -1),
            (L::List(Box::new(L::Date)), 1182, -1),
            (L::List(Box::new(L::Time)), 1183, -1),
            (L::List(Box::new(L::TimestampTz)), 1185, -1),
            (L::List(Box::new(L::Interval)), 1187, -1),
            (L::List(Box::new(L::HugeInt)), 1231, -1),
            (L::List(Box::new(L::TimeTz)), 1270, -1),
            (L::List(Box::new(L::Uuid)), 2951, -1),
            (L::List(Box::new(L::Json)), 199, -1),
            (L::List(Box::new(L::Struct(vec![]))), 2287, -1),
            (L::List(Box::new(L::Other(1))), 1009, -1),
        ];
        for (ty, oid, size) in cases {
            let t = pg_type(ty);
            assert_eq!((t.oid, t.size, t.modifier), (*oid, *size, -1), "{ty:?}");
        }
    }

    #[test]
    fn client_oids_map_to_the_table_duckdb_type() {
        assert_eq!(logical_type_for_oid(oid::INT4), Some(LogicalType::Integer));
        assert_eq!(logical_type_for_oid(1007), Some(LogicalType::List(Box::new(LogicalType::Integer))));
        assert_eq!(logical_type_for_oid(0), None);
        assert_eq!(logical_type_for_oid(oid::UNKNOWN), None);
        assert_eq!(logical_type_for_oid(oid::RECORD), None);
        assert_eq!(logical_type_for_oid(2287), None);
    }
}
