//! Values mallard hands to DuckDB: bound parameters of the extended protocol and the
//! fields COPY appends. Decoded from the client's text or binary form by
//! `crate::types`; turned into C values here, the one other place besides `raw` that
//! calls DuckDB's C API.

use libduckdb_sys as ffi;

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

/// A C value handle, destroyed on drop.
pub(super) struct RawValue(pub(super) ffi::duckdb_value);

impl Drop for RawValue {
    fn drop(&mut self) {
        // SAFETY: created by one of the duckdb_create_* functions, destroyed once.
        unsafe { ffi::duckdb_destroy_value(&mut self.0) }
    }
}

/// A C logical type handle, destroyed on drop.
pub(super) struct RawType(pub(super) ffi::duckdb_logical_type);

impl Drop for RawType {
    fn drop(&mut self) {
        // SAFETY: created by duckdb_create_*_type, destroyed once.
        unsafe { ffi::duckdb_destroy_logical_type(&mut self.0) }
    }
}

impl Value {
    /// The C value DuckDB binds or appends. `None` for what DuckDB cannot represent
    /// (a decimal wider than 38 digits, a list of an unnameable type).
    pub(super) fn to_raw(&self) -> Option<RawValue> {
        // SAFETY: every duckdb_create_* takes plain values (or handles we own for the
        // call) and returns a new value that RawValue destroys.
        let raw = unsafe {
            match self {
                Value::Null => ffi::duckdb_create_null_value(),
                Value::Bool(b) => ffi::duckdb_create_bool(*b),
                Value::SmallInt(v) => ffi::duckdb_create_int16(*v),
                Value::Integer(v) => ffi::duckdb_create_int32(*v),
                Value::BigInt(v) => ffi::duckdb_create_int64(*v),
                Value::Float(v) => ffi::duckdb_create_float(*v),
                Value::Double(v) => ffi::duckdb_create_double(*v),
                Value::Text(s) => ffi::duckdb_create_varchar_length(s.as_ptr().cast(), s.len() as u64),
                Value::Blob(b) => ffi::duckdb_create_blob(b.as_ptr(), b.len() as u64),
                Value::Date(days) => ffi::duckdb_create_date(ffi::duckdb_date { days: *days }),
                Value::Time(micros) => ffi::duckdb_create_time(ffi::duckdb_time { micros: *micros }),
                Value::Timestamp(micros) => {
                    ffi::duckdb_create_timestamp(ffi::duckdb_timestamp { micros: *micros })
                }
                Value::TimestampTz(micros) => {
                    ffi::duckdb_create_timestamp_tz(ffi::duckdb_timestamp { micros: *micros })
                }
                Value::Interval { months, days, micros } => ffi::duckdb_create_interval(ffi::duckdb_interval {
                    months: *months,
                    days: *days,
                    micros: *micros,
                }),
                Value::Uuid(u) => ffi::duckdb_create_uuid(ffi::duckdb_uhugeint {
                    lower: *u as u64,
                    upper: (*u >> 64) as u64,
                }),
                Value::Decimal { width, scale, value } => ffi::duckdb_create_decimal(ffi::duckdb_decimal {
                    width: *width,
                    scale: *scale,
                    value: ffi::duckdb_hugeint { lower: *value as u64, upper: (*value >> 64) as i64 },
                }),
                Value::List { element, items } => {
                    let ty = raw_type(element)?;
                    let values = items.iter().map(Value::to_raw).collect::<Option<Vec<_>>>()?;
                    let mut handles: Vec<ffi::duckdb_value> = values.iter().map(|v| v.0).collect();
                    ffi::duckdb_create_list_value(ty.0, handles.as_mut_ptr(), handles.len() as u64)
                }
            }
        };
        (!raw.is_null()).then_some(RawValue(raw))
    }
}

/// A C logical type for `ty`; `None` for types a value can never need (ENUM, MAP, ...).
pub(super) fn raw_type(ty: &LogicalType) -> Option<RawType> {
    use LogicalType as L;
    let id = match ty {
        L::Boolean => ffi::DUCKDB_TYPE_DUCKDB_TYPE_BOOLEAN,
        L::TinyInt => ffi::DUCKDB_TYPE_DUCKDB_TYPE_TINYINT,
        L::SmallInt => ffi::DUCKDB_TYPE_DUCKDB_TYPE_SMALLINT,
        L::Integer => ffi::DUCKDB_TYPE_DUCKDB_TYPE_INTEGER,
        L::BigInt => ffi::DUCKDB_TYPE_DUCKDB_TYPE_BIGINT,
        L::HugeInt => ffi::DUCKDB_TYPE_DUCKDB_TYPE_HUGEINT,
        L::UTinyInt => ffi::DUCKDB_TYPE_DUCKDB_TYPE_UTINYINT,
        L::USmallInt => ffi::DUCKDB_TYPE_DUCKDB_TYPE_USMALLINT,
        L::UInteger => ffi::DUCKDB_TYPE_DUCKDB_TYPE_UINTEGER,
        L::UBigInt => ffi::DUCKDB_TYPE_DUCKDB_TYPE_UBIGINT,
        L::UHugeInt => ffi::DUCKDB_TYPE_DUCKDB_TYPE_UHUGEINT,
        L::Float => ffi::DUCKDB_TYPE_DUCKDB_TYPE_FLOAT,
        L::Double => ffi::DUCKDB_TYPE_DUCKDB_TYPE_DOUBLE,
        L::Varchar | L::Json => ffi::DUCKDB_TYPE_DUCKDB_TYPE_VARCHAR,
        L::Blob => ffi::DUCKDB_TYPE_DUCKDB_TYPE_BLOB,
        L::Date => ffi::DUCKDB_TYPE_DUCKDB_TYPE_DATE,
        L::Time => ffi::DUCKDB_TYPE_DUCKDB_TYPE_TIME,
        L::TimeTz => ffi::DUCKDB_TYPE_DUCKDB_TYPE_TIME_TZ,
        L::Timestamp => ffi::DUCKDB_TYPE_DUCKDB_TYPE_TIMESTAMP,
        L::TimestampS => ffi::DUCKDB_TYPE_DUCKDB_TYPE_TIMESTAMP_S,
        L::TimestampMs => ffi::DUCKDB_TYPE_DUCKDB_TYPE_TIMESTAMP_MS,
        L::TimestampNs => ffi::DUCKDB_TYPE_DUCKDB_TYPE_TIMESTAMP_NS,
        L::TimestampTz => ffi::DUCKDB_TYPE_DUCKDB_TYPE_TIMESTAMP_TZ,
        L::Interval => ffi::DUCKDB_TYPE_DUCKDB_TYPE_INTERVAL,
        L::Uuid => ffi::DUCKDB_TYPE_DUCKDB_TYPE_UUID,
        L::Null => ffi::DUCKDB_TYPE_DUCKDB_TYPE_SQLNULL,
        L::Decimal { width, scale, .. } => {
            // SAFETY: returns a new type handle (null if out of range), owned by RawType.
            let raw = unsafe { ffi::duckdb_create_decimal_type(*width, *scale) };
            return (!raw.is_null()).then_some(RawType(raw));
        }
        L::List(child) => {
            let child = raw_type(child)?;
            // SAFETY: child is live for the call; the list type copies it.
            return Some(RawType(unsafe { ffi::duckdb_create_list_type(child.0) }));
        }
        L::Array { .. } | L::Struct(_) | L::Map { .. } | L::Enum { .. } | L::Other(_) => return None,
    };
    // SAFETY: a primitive type id; returns a new handle owned by RawType.
    Some(RawType(unsafe { ffi::duckdb_create_logical_type(id) }))
}
