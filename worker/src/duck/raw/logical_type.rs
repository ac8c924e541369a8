//! DuckDB logical types across the C API: reading a type handle into an owned
//! [`LogicalType`] tree, and creating the handles values need.

use libduckdb_sys as ffi;

use super::take_owned_string;
use crate::duck::types::{DecimalStorage, EnumStorage, LogicalType};

/// Reads a logical type into an owned tree and destroys the handle.
///
/// # Safety
/// `ty` must be a logical type handle the caller owns (or null).
pub(super) unsafe fn read_type(mut ty: ffi::duckdb_logical_type) -> LogicalType {
    if ty.is_null() {
        return LogicalType::Other(0);
    }
    // SAFETY: the caller owns the live handle; it is read, then destroyed once.
    unsafe {
        let out = read_type_borrowed(ty);
        ffi::duckdb_destroy_logical_type(&mut ty);
        out
    }
}

/// # Safety
/// `ty` must be a live logical type handle.
unsafe fn read_type_borrowed(ty: ffi::duckdb_logical_type) -> LogicalType {
    use LogicalType as L;
    // SAFETY: `ty` is live (the caller's contract) for every read below. Child types
    // and strings DuckDB returns are new objects that are ours: read_type destroys
    // each child type, take_owned_string frees each string.
    unsafe {
        let id = ffi::duckdb_get_type_id(ty);
        match id {
            ffi::DUCKDB_TYPE_DUCKDB_TYPE_BOOLEAN => L::Boolean,
            ffi::DUCKDB_TYPE_DUCKDB_TYPE_TINYINT => L::TinyInt,
            ffi::DUCKDB_TYPE_DUCKDB_TYPE_SMALLINT => L::SmallInt,
            ffi::DUCKDB_TYPE_DUCKDB_TYPE_INTEGER => L::Integer,
            ffi::DUCKDB_TYPE_DUCKDB_TYPE_BIGINT => L::BigInt,
            ffi::DUCKDB_TYPE_DUCKDB_TYPE_HUGEINT => L::HugeInt,
            ffi::DUCKDB_TYPE_DUCKDB_TYPE_UTINYINT => L::UTinyInt,
            ffi::DUCKDB_TYPE_DUCKDB_TYPE_USMALLINT => L::USmallInt,
            ffi::DUCKDB_TYPE_DUCKDB_TYPE_UINTEGER => L::UInteger,
            ffi::DUCKDB_TYPE_DUCKDB_TYPE_UBIGINT => L::UBigInt,
            ffi::DUCKDB_TYPE_DUCKDB_TYPE_UHUGEINT => L::UHugeInt,
            ffi::DUCKDB_TYPE_DUCKDB_TYPE_FLOAT => L::Float,
            ffi::DUCKDB_TYPE_DUCKDB_TYPE_DOUBLE => L::Double,
            ffi::DUCKDB_TYPE_DUCKDB_TYPE_DECIMAL => L::Decimal {
                width: ffi::duckdb_decimal_width(ty),
                scale: ffi::duckdb_decimal_scale(ty),
                storage: match ffi::duckdb_decimal_internal_type(ty) {
                    ffi::DUCKDB_TYPE_DUCKDB_TYPE_SMALLINT => DecimalStorage::I16,
                    ffi::DUCKDB_TYPE_DUCKDB_TYPE_INTEGER => DecimalStorage::I32,
                    ffi::DUCKDB_TYPE_DUCKDB_TYPE_BIGINT => DecimalStorage::I64,
                    _ => DecimalStorage::I128,
                },
            },
            ffi::DUCKDB_TYPE_DUCKDB_TYPE_VARCHAR => {
                let alias = take_owned_string(ffi::duckdb_logical_type_get_alias(ty));
                if alias.as_deref().is_some_and(|a| a.eq_ignore_ascii_case("json")) {
                    L::Json
                } else {
                    L::Varchar
                }
            }
            ffi::DUCKDB_TYPE_DUCKDB_TYPE_BLOB => L::Blob,
            ffi::DUCKDB_TYPE_DUCKDB_TYPE_DATE => L::Date,
            ffi::DUCKDB_TYPE_DUCKDB_TYPE_TIME => L::Time,
            ffi::DUCKDB_TYPE_DUCKDB_TYPE_TIME_TZ => L::TimeTz,
            ffi::DUCKDB_TYPE_DUCKDB_TYPE_TIMESTAMP => L::Timestamp,
            ffi::DUCKDB_TYPE_DUCKDB_TYPE_TIMESTAMP_S => L::TimestampS,
            ffi::DUCKDB_TYPE_DUCKDB_TYPE_TIMESTAMP_MS => L::TimestampMs,
            ffi::DUCKDB_TYPE_DUCKDB_TYPE_TIMESTAMP_NS => L::TimestampNs,
            ffi::DUCKDB_TYPE_DUCKDB_TYPE_TIMESTAMP_TZ => L::TimestampTz,
            ffi::DUCKDB_TYPE_DUCKDB_TYPE_INTERVAL => L::Interval,
            ffi::DUCKDB_TYPE_DUCKDB_TYPE_UUID => L::Uuid,
            ffi::DUCKDB_TYPE_DUCKDB_TYPE_SQLNULL => L::Null,
            ffi::DUCKDB_TYPE_DUCKDB_TYPE_ENUM => {
                let storage = match ffi::duckdb_enum_internal_type(ty) {
                    ffi::DUCKDB_TYPE_DUCKDB_TYPE_UTINYINT => EnumStorage::U8,
                    ffi::DUCKDB_TYPE_DUCKDB_TYPE_USMALLINT => EnumStorage::U16,
                    _ => EnumStorage::U32,
                };
                let n = ffi::duckdb_enum_dictionary_size(ty);
                let values = (0..n)
                    .map(|i| {
                        take_owned_string(ffi::duckdb_enum_dictionary_value(ty, i as u64)).unwrap_or_default()
                    })
                    .collect();
                L::Enum { storage, values }
            }
            ffi::DUCKDB_TYPE_DUCKDB_TYPE_LIST => {
                let child = Box::new(read_type(ffi::duckdb_list_type_child_type(ty)));
                match *child {
                    // See LogicalType::Vector.
                    L::USmallInt => L::Vector { child, oid: crate::types::oid::INT2VECTOR },
                    L::UHugeInt => L::Vector { child, oid: crate::types::oid::OIDVECTOR },
                    _ => L::List(child),
                }
            }
            ffi::DUCKDB_TYPE_DUCKDB_TYPE_ARRAY => L::Array {
                child: Box::new(read_type(ffi::duckdb_array_type_child_type(ty))),
                size: ffi::duckdb_array_type_array_size(ty),
            },
            ffi::DUCKDB_TYPE_DUCKDB_TYPE_STRUCT => {
                let n = ffi::duckdb_struct_type_child_count(ty);
                L::Struct(
                    (0..n)
                        .map(|i| {
                            let name = take_owned_string(ffi::duckdb_struct_type_child_name(ty, i))
                                .unwrap_or_default();
                            (name, read_type(ffi::duckdb_struct_type_child_type(ty, i)))
                        })
                        .collect(),
                )
            }
            ffi::DUCKDB_TYPE_DUCKDB_TYPE_MAP => L::Map {
                key: Box::new(read_type(ffi::duckdb_map_type_key_type(ty))),
                value: Box::new(read_type(ffi::duckdb_map_type_value_type(ty))),
            },
            other => L::Other(other),
        }
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
        L::Varchar | L::Json | L::Jsonb => ffi::DUCKDB_TYPE_DUCKDB_TYPE_VARCHAR,
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
        L::List(child) | L::Vector { child, .. } => {
            let child = raw_type(child)?;
            // SAFETY: child is live for the call; the list type copies it.
            return Some(RawType(unsafe { ffi::duckdb_create_list_type(child.0) }));
        }
        L::Array { .. } | L::Struct(_) | L::Map { .. } | L::Enum { .. } | L::Other(_) => return None,
    };
    // SAFETY: a primitive type id; returns a new handle owned by RawType.
    Some(RawType(unsafe { ffi::duckdb_create_logical_type(id) }))
}
