//! [`Value`]s as C values, for binding parameters and appending fields.

use libduckdb_sys as ffi;

use super::logical_type::raw_type;
use crate::duck::Value;

/// A C value handle, destroyed on drop.
pub(super) struct RawValue(pub(super) ffi::duckdb_value);

impl Drop for RawValue {
    fn drop(&mut self) {
        // SAFETY: created by one of the duckdb_create_* functions, destroyed once.
        unsafe { ffi::duckdb_destroy_value(&mut self.0) }
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
                Value::Interval { months, days, micros } => {
                    ffi::duckdb_create_interval(ffi::duckdb_interval {
                        months: *months,
                        days: *days,
                        micros: *micros,
                    })
                }
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
