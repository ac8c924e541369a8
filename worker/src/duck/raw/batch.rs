//! Rows for an appender gathered column by column in a chunk of the table's own types,
//! and handed to DuckDB a chunk at a time. Appending value by value makes DuckDB build
//! and cast a value object per field, which costs more than parsing the field; a
//! value written here goes straight into its column's vector, in the physical form
//! DuckDB stores, so the appender takes the chunk as it is.
//!
//! A value is written only when it is exactly a value of its column's type (an
//! `INTEGER` into an `INTEGER` column, a `numeric` whose digits fit a `DECIMAL`'s width
//! and scale, with the rounding DuckDB's cast applies); anything else is refused, and
//! the caller appends that row through [`Appender`]'s row calls, where DuckDB casts it
//! and reports what it cannot.

use std::ptr;

use libduckdb_sys as ffi;

use super::logical_type::read_type;
use super::Appender;
use crate::duck::error::DuckError;
use crate::duck::{DecimalStorage, LogicalType, Value};

/// How one column's values are stored in its vector.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Slot {
    Bool,
    I16,
    I32,
    I64,
    F32,
    F64,
    /// VARCHAR (JSON too) and BLOB: bytes in the vector's string heap.
    Bytes,
    Date,
    /// TIME: microseconds since midnight.
    Time,
    /// TIMESTAMP and TIMESTAMPTZ: microseconds since the epoch.
    Timestamp {
        zoned: bool,
    },
    Interval,
    Decimal {
        width: u8,
        scale: u8,
        storage: DecimalStorage,
    },
}

impl Slot {
    fn of(ty: &LogicalType) -> Option<Slot> {
        use LogicalType as L;
        Some(match ty {
            L::Boolean => Slot::Bool,
            L::SmallInt => Slot::I16,
            L::Integer => Slot::I32,
            L::BigInt => Slot::I64,
            L::Float => Slot::F32,
            L::Double => Slot::F64,
            L::Varchar | L::Json | L::Blob => Slot::Bytes,
            L::Date => Slot::Date,
            L::Time => Slot::Time,
            L::Timestamp => Slot::Timestamp { zoned: false },
            L::TimestampTz => Slot::Timestamp { zoned: true },
            L::Interval => Slot::Interval,
            L::Decimal { width, scale, storage } => {
                Slot::Decimal { width: *width, scale: *scale, storage: *storage }
            }
            _ => return None,
        })
    }
}

/// A value of a fixed-size type, in DuckDB's form (dates in days and timestamps in
/// microseconds since 1970, a decimal as its unscaled integer): what [`Batch::set_fixed`]
/// takes from a caller that decodes a field without building a [`Value`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Fixed {
    Bool(bool),
    SmallInt(i16),
    Integer(i32),
    BigInt(i64),
    Float(f32),
    Double(f64),
    Date(i32),
    Time(i64),
    Timestamp(i64),
    TimestampTz(i64),
    Interval {
        months: i32,
        days: i32,
        micros: i64,
    },
    /// `value / 10^scale`.
    Decimal {
        scale: u8,
        value: i128,
    },
}

/// A value in the form its vector stores.
enum Physical {
    Bool(bool),
    I16(i16),
    I32(i32),
    I64(i64),
    F32(f32),
    F64(f64),
    Interval(ffi::duckdb_interval),
    I128(ffi::duckdb_hugeint),
}

/// A chunk being filled for one appender: at most `duckdb_vector_size()` rows.
pub struct Batch {
    raw: ffi::duckdb_data_chunk,
    slots: Vec<Slot>,
    /// Each column's vector, data and validity, fetched again after every reset.
    vectors: Vec<ffi::duckdb_vector>,
    data: Vec<*mut std::ffi::c_void>,
    validity: Vec<*mut u64>,
    rows: usize,
    capacity: usize,
}

// SAFETY: a batch owns its chunk and the pointers into it; nothing else refers to
// them, so the whole may move to another thread (it is not Sync).
unsafe impl Send for Batch {}

impl Appender<'_> {
    /// A batch for this appender's columns (the added ones, or all), or `None` when a
    /// column's type has no direct form here and every row must go through the row
    /// calls.
    pub fn batch(&self) -> Option<Batch> {
        // SAFETY: live appender; each column type handle is ours, used to create the
        // chunk (which copies it) and then read and destroyed by read_type.
        unsafe {
            let count = ffi::duckdb_appender_column_count(self.raw);
            let mut handles: Vec<ffi::duckdb_logical_type> =
                (0..count).map(|c| ffi::duckdb_appender_column_type(self.raw, c)).collect();
            if count == 0 || handles.iter().any(|h| h.is_null()) {
                handles.into_iter().for_each(|h| drop(read_type(h)));
                return None;
            }
            let raw = ffi::duckdb_create_data_chunk(handles.as_mut_ptr(), count);
            let slots: Option<Vec<Slot>> = handles.into_iter().map(|h| Slot::of(&read_type(h))).collect();
            let mut batch = Batch {
                raw,
                slots: Vec::new(),
                vectors: Vec::new(),
                data: Vec::new(),
                validity: Vec::new(),
                rows: 0,
                capacity: ffi::duckdb_vector_size() as usize,
            };
            batch.slots = slots?;
            batch.fetch_vectors();
            Some(batch)
        }
    }

    /// Hands the batch's rows to the appender (which writes them into the table when
    /// it flushes), and empties the batch.
    pub fn append_batch(&mut self, batch: &mut Batch) -> Result<(), DuckError> {
        if batch.rows == 0 {
            return Ok(());
        }
        // SAFETY: live appender and chunk; the chunk's types are the appender's active
        // types, so DuckDB appends it without a cast. It copies the rows.
        let state = unsafe {
            ffi::duckdb_data_chunk_set_size(batch.raw, batch.rows as u64);
            ffi::duckdb_append_data_chunk(self.raw, batch.raw)
        };
        batch.reset();
        self.check(state)
    }

    /// Writes every buffered row into the table, in the connection's transaction.
    pub fn flush(&mut self) -> Result<(), DuckError> {
        // SAFETY: live appender.
        self.check(unsafe { ffi::duckdb_appender_flush(self.raw) })
    }
}

impl Batch {
    pub fn is_full(&self) -> bool {
        self.rows == self.capacity
    }

    pub fn is_empty(&self) -> bool {
        self.rows == 0
    }

    fn fetch_vectors(&mut self) {
        self.vectors.clear();
        self.data.clear();
        self.validity.clear();
        for c in 0..self.slots.len() {
            // SAFETY: c is below the chunk's column count; the pointers stay valid
            // until the chunk is reset or destroyed, when they are fetched again.
            unsafe {
                let vector = ffi::duckdb_data_chunk_get_vector(self.raw, c as u64);
                self.vectors.push(vector);
                self.data.push(ffi::duckdb_vector_get_data(vector));
                self.validity.push(ptr::null_mut());
            }
        }
    }

    fn reset(&mut self) {
        // SAFETY: live chunk; resetting gives its vectors fresh buffers.
        unsafe { ffi::duckdb_data_chunk_reset(self.raw) };
        self.rows = 0;
        self.fetch_vectors();
    }

    /// Marks column `column` of the current row NULL.
    pub fn set_null(&mut self, column: usize) {
        // SAFETY: column is below the column count and the row below the capacity;
        // the validity mask is made writable (all valid) before its first use.
        unsafe {
            if self.validity[column].is_null() {
                ffi::duckdb_vector_ensure_validity_writable(self.vectors[column]);
                self.validity[column] = ffi::duckdb_vector_get_validity(self.vectors[column]);
            }
            ffi::duckdb_validity_set_row_invalid(self.validity[column], self.rows as u64);
        }
    }

    /// Writes text (or bytes) into a VARCHAR, JSON or BLOB column; false if the column
    /// is of another type.
    pub fn set_bytes(&mut self, column: usize, bytes: &[u8]) -> bool {
        if self.slots[column] != Slot::Bytes {
            return false;
        }
        self.mark_valid(column);
        // SAFETY: the column's vector is a string vector; DuckDB copies the bytes.
        unsafe {
            ffi::duckdb_vector_assign_string_element_len(
                self.vectors[column],
                self.rows as u64,
                bytes.as_ptr().cast(),
                bytes.len() as u64,
            );
        }
        true
    }

    /// Writes `value` into column `column` of the current row if it is exactly a value
    /// of the column's type; false (and nothing written) if DuckDB would have to cast it.
    pub fn set(&mut self, column: usize, value: &Value) -> bool {
        let fixed = match *value {
            Value::Null => {
                self.set_null(column);
                return true;
            }
            Value::Text(ref s) => return self.set_bytes(column, s.as_bytes()),
            Value::Blob(ref b) => return self.set_bytes(column, b),
            Value::Bool(b) => Fixed::Bool(b),
            Value::SmallInt(v) => Fixed::SmallInt(v),
            Value::Integer(v) => Fixed::Integer(v),
            Value::BigInt(v) => Fixed::BigInt(v),
            Value::Float(v) => Fixed::Float(v),
            Value::Double(v) => Fixed::Double(v),
            Value::Date(v) => Fixed::Date(v),
            Value::Time(v) => Fixed::Time(v),
            Value::Timestamp(v) => Fixed::Timestamp(v),
            Value::TimestampTz(v) => Fixed::TimestampTz(v),
            Value::Interval { months, days, micros } => Fixed::Interval { months, days, micros },
            Value::Decimal { scale, value, .. } => Fixed::Decimal { scale, value },
            _ => return false,
        };
        self.set_fixed(column, fixed)
    }

    /// [`Batch::set`] for a value of fixed size, which the caller built without a
    /// [`Value`].
    #[inline]
    pub fn set_fixed(&mut self, column: usize, value: Fixed) -> bool {
        let physical = match (self.slots[column], value) {
            (Slot::Bool, Fixed::Bool(b)) => Physical::Bool(b),
            (Slot::I16, Fixed::SmallInt(v)) => Physical::I16(v),
            (Slot::I32, Fixed::Integer(v)) | (Slot::Date, Fixed::Date(v)) => Physical::I32(v),
            (Slot::I64, Fixed::BigInt(v))
            | (Slot::Time, Fixed::Time(v))
            | (Slot::Timestamp { zoned: false }, Fixed::Timestamp(v))
            | (Slot::Timestamp { zoned: true }, Fixed::TimestampTz(v)) => Physical::I64(v),
            (Slot::F32, Fixed::Float(v)) => Physical::F32(v),
            (Slot::F64, Fixed::Double(v)) => Physical::F64(v),
            (Slot::Interval, Fixed::Interval { months, days, micros }) => {
                Physical::Interval(ffi::duckdb_interval { months, days, micros })
            }
            (Slot::Decimal { width, scale, storage }, Fixed::Decimal { scale: from, value }) => {
                let Some(v) = rescale(value, from, scale, width) else { return false };
                match storage {
                    DecimalStorage::I16 => Physical::I16(v as i16),
                    DecimalStorage::I32 => Physical::I32(v as i32),
                    DecimalStorage::I64 => Physical::I64(v as i64),
                    DecimalStorage::I128 => {
                        Physical::I128(ffi::duckdb_hugeint { lower: v as u64, upper: (v >> 64) as i64 })
                    }
                }
            }
            _ => return false,
        };
        let (data, row) = (self.data[column], self.rows);
        // SAFETY: `data` is the column's flat vector of `capacity` values, row < capacity,
        // and each slot's values are of the physical type matched above (a DECIMAL's
        // that of its storage).
        unsafe {
            match physical {
                Physical::Bool(v) => *(data as *mut bool).add(row) = v,
                Physical::I16(v) => *(data as *mut i16).add(row) = v,
                Physical::I32(v) => *(data as *mut i32).add(row) = v,
                Physical::I64(v) => *(data as *mut i64).add(row) = v,
                Physical::F32(v) => *(data as *mut f32).add(row) = v,
                Physical::F64(v) => *(data as *mut f64).add(row) = v,
                Physical::Interval(v) => *(data as *mut ffi::duckdb_interval).add(row) = v,
                Physical::I128(v) => *(data as *mut ffi::duckdb_hugeint).add(row) = v,
            }
        }
        self.mark_valid(column);
        true
    }

    /// The row overwrites a slot a refused row may have marked NULL.
    fn mark_valid(&mut self, column: usize) {
        if !self.validity[column].is_null() {
            // SAFETY: the mask is writable and has a bit for each row below capacity.
            unsafe { ffi::duckdb_validity_set_row_valid(self.validity[column], self.rows as u64) };
        }
    }

    /// The current row is complete: the next `set` writes the row after it.
    pub fn end_row(&mut self) {
        debug_assert!(self.rows < self.capacity);
        self.rows += 1;
    }
}

/// `value / 10^from` as an unscaled DECIMAL(width, to), rounded half away from zero
/// when digits are dropped (as DuckDB's cast and PostgreSQL's numeric input round);
/// `None` if it does not fit the width.
fn rescale(value: i128, from: u8, to: u8, width: u8) -> Option<i128> {
    let scaled = if from <= to {
        value.checked_mul(10i128.checked_pow(u32::from(to - from))?)?
    } else {
        let divisor = 10i128.checked_pow(u32::from(from - to))?;
        let (q, r) = (value / divisor, value % divisor);
        let away = r.unsigned_abs() * 2 >= divisor.unsigned_abs();
        if away {
            q + value.signum()
        } else {
            q
        }
    };
    (scaled.unsigned_abs() < 10u128.pow(u32::from(width))).then_some(scaled)
}

impl Drop for Batch {
    fn drop(&mut self) {
        // SAFETY: we created the chunk; destroyed once.
        unsafe { ffi::duckdb_destroy_data_chunk(&mut self.raw) }
    }
}

#[cfg(test)]
mod tests {
    use super::rescale;

    #[test]
    fn rescale_rounds_half_away_from_zero_and_checks_the_width() {
        assert_eq!(rescale(1700, 2, 2, 15), Some(1700));
        assert_eq!(rescale(17, 0, 2, 15), Some(1700));
        assert_eq!(rescale(1005, 3, 2, 15), Some(101));
        assert_eq!(rescale(-1005, 3, 2, 15), Some(-101));
        assert_eq!(rescale(1004, 3, 2, 15), Some(100));
        assert_eq!(rescale(-1004, 3, 2, 15), Some(-100));
        assert_eq!(rescale(999, 1, 0, 2), None);
        assert_eq!(rescale(994, 1, 0, 2), Some(99));
        assert_eq!(rescale(10i128.pow(13), 0, 2, 15), None);
        assert_eq!(rescale(i128::MAX, 0, 2, 38), None);
    }
}
