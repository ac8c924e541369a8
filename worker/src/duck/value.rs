//! Values mallard hands to DuckDB: bound parameters of the extended protocol and the
//! fields COPY appends. Decoded from the client's text or binary form by
//! `crate::types`; `raw` turns them into C values.

use super::LogicalType;

/// One value for DuckDB, in DuckDB's own representation (its epochs and units).
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Null,
    Bool(bool),
    SmallInt(i16),
    Integer(i32),
    BigInt(i64),
    Float(f32),
    Double(f64),
    /// Text DuckDB casts to whatever type the statement expects.
    Text(String),
    Blob(Vec<u8>),
    /// Days since 1970-01-01.
    Date(i32),
    /// Microseconds since midnight.
    Time(i64),
    /// Microseconds since 1970-01-01 00:00:00.
    Timestamp(i64),
    /// Microseconds since 1970-01-01 00:00:00 UTC.
    TimestampTz(i64),
    Interval {
        months: i32,
        days: i32,
        micros: i64,
    },
    Uuid(u128),
    /// `value / 10^scale`, at most 38 digits.
    Decimal {
        width: u8,
        scale: u8,
        value: i128,
    },
    /// A one-dimensional list whose elements are all `element` (or NULL).
    List {
        element: LogicalType,
        items: Vec<Value>,
    },
}
