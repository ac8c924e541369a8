//! DuckDB's appender: rows straight into a table, without SQL per row. `COPY FROM
//! STDIN` streams through it. The appender buffers rows and writes them into the
//! connection's current transaction when it flushes (by itself every so many rows,
//! or on [`Appender::close`]); a dropped appender discards what it has not flushed.

use std::ffi::{c_char, CStr, CString};
use std::marker::PhantomData;
use std::ptr;

use libduckdb_sys as ffi;

use super::Connection;
use crate::duck::error::{DuckError, ErrorClass};
use crate::duck::Value;

/// An appender on one table, borrowed from its connection.
pub struct Appender<'c> {
    pub(super) raw: ffi::duckdb_appender,
    _conn: PhantomData<&'c Connection>,
}

// SAFETY: DuckDB's appender may be used from any thread, one at a time (it is not
// Sync); what it shares with its connection, the client context, DuckDB locks. COPY
// hands it to a thread that appends while the session's thread reads the client.
unsafe impl Send for Appender<'_> {}

fn c_string(s: &str) -> Result<CString, DuckError> {
    CString::new(s).map_err(|_| DuckError::from_message(Some(ErrorClass::Parser), "name contains a NUL byte"))
}

impl Connection {
    /// An appender on `[catalog.][schema.]table` (names unquoted). Without a catalog the
    /// session's current database is meant; without a schema, `main`.
    pub fn appender(
        &self,
        catalog: Option<&str>,
        schema: Option<&str>,
        table: &str,
    ) -> Result<Appender<'_>, DuckError> {
        let (catalog, schema, table) =
            (catalog.map(c_string).transpose()?, schema.map(c_string).transpose()?, c_string(table)?);
        let mut raw: ffi::duckdb_appender = ptr::null_mut();
        // SAFETY: the connection is open; every name is NUL-terminated or null (which
        // DuckDB reads as "default"); on failure `raw` still holds a wrapper carrying the
        // error, which Appender's Drop destroys.
        let state = unsafe {
            ffi::duckdb_appender_create_ext(
                self.handle(),
                catalog.as_ref().map_or(ptr::null(), |c| c.as_ptr()),
                schema.as_ref().map_or(ptr::null(), |c| c.as_ptr()),
                table.as_ptr(),
                &mut raw,
            )
        };
        let appender = Appender { raw, _conn: PhantomData };
        appender.check(state)?;
        Ok(appender)
    }
}

impl Appender<'_> {
    /// The appender's last error as a typed DuckError.
    fn error(&self) -> DuckError {
        // SAFETY: the appender handle is live (or null, which DuckDB accepts); the error
        // data is a new object we destroy after copying its message.
        unsafe {
            let mut data = ffi::duckdb_appender_error_data(self.raw);
            let class = ffi::duckdb_error_data_error_type(data);
            let message = ffi::duckdb_error_data_message(data);
            let text = if message.is_null() {
                "appender failed".to_owned()
            } else {
                CStr::from_ptr(message).to_string_lossy().into_owned()
            };
            ffi::duckdb_destroy_error_data(&mut data);
            DuckError::from_message(Some(ErrorClass::from_code(class)), &text)
        }
    }

    pub(super) fn check(&self, state: ffi::duckdb_state) -> Result<(), DuckError> {
        if state == ffi::duckdb_state_DuckDBSuccess {
            Ok(())
        } else {
            Err(self.error())
        }
    }

    /// Restricts the appended columns to those added, in order; the others get their
    /// defaults.
    pub fn add_column(&mut self, name: &str) -> Result<(), DuckError> {
        let name = c_string(name)?;
        // SAFETY: live appender, NUL-terminated name that outlives the call.
        self.check(unsafe { ffi::duckdb_appender_add_column(self.raw, name.as_ptr()) })
    }

    pub fn append_null(&mut self) -> Result<(), DuckError> {
        // SAFETY: live appender.
        self.check(unsafe { ffi::duckdb_append_null(self.raw) })
    }

    /// Appends text that DuckDB casts to the column's type.
    pub fn append_text(&mut self, text: &str) -> Result<(), DuckError> {
        // SAFETY: live appender; DuckDB copies `len` bytes from the pointer.
        self.check(unsafe {
            ffi::duckdb_append_varchar_length(self.raw, text.as_ptr() as *const c_char, text.len() as u64)
        })
    }

    /// Appends a value, which DuckDB casts to the column's type if it differs.
    pub fn append_value(&mut self, value: &Value) -> Result<(), DuckError> {
        // The common scalars go through the typed calls, which skip building a C value
        // (DuckDB casts them to the column's type all the same).
        match value {
            Value::Null => return self.append_null(),
            Value::Text(s) => return self.append_text(s),
            Value::Bool(_)
            | Value::SmallInt(_)
            | Value::Integer(_)
            | Value::BigInt(_)
            | Value::Float(_)
            | Value::Double(_)
            | Value::Blob(_)
            | Value::Date(_) => {}
            _ => return self.append_raw(value),
        }
        // SAFETY: live appender; each call copies its plain value, and the blob's bytes
        // are valid for the call.
        let state = unsafe {
            match value {
                Value::Bool(b) => ffi::duckdb_append_bool(self.raw, *b),
                Value::SmallInt(v) => ffi::duckdb_append_int16(self.raw, *v),
                Value::Integer(v) => ffi::duckdb_append_int32(self.raw, *v),
                Value::BigInt(v) => ffi::duckdb_append_int64(self.raw, *v),
                Value::Float(v) => ffi::duckdb_append_float(self.raw, *v),
                Value::Double(v) => ffi::duckdb_append_double(self.raw, *v),
                Value::Blob(b) => ffi::duckdb_append_blob(self.raw, b.as_ptr().cast(), b.len() as u64),
                Value::Date(days) => ffi::duckdb_append_date(self.raw, ffi::duckdb_date { days: *days }),
                _ => unreachable!("dispatched above"),
            }
        };
        self.check(state)
    }

    fn append_raw(&mut self, value: &Value) -> Result<(), DuckError> {
        let raw = value.to_raw().ok_or_else(|| {
            DuckError::from_message(Some(ErrorClass::NotImplemented), "value has no DuckDB representation")
        })?;
        // SAFETY: live appender and value; DuckDB copies the value.
        self.check(unsafe { ffi::duckdb_append_value(self.raw, raw.0) })
    }

    /// Ends the current row; every column must have had a value.
    pub fn end_row(&mut self) -> Result<(), DuckError> {
        // SAFETY: live appender.
        self.check(unsafe { ffi::duckdb_appender_end_row(self.raw) })
    }

    /// Flushes and closes; afterwards nothing is buffered.
    pub fn close(self) -> Result<(), DuckError> {
        // SAFETY: live appender; Drop then destroys the closed appender.
        self.check(unsafe { ffi::duckdb_appender_close(self.raw) })
    }
}

impl Drop for Appender<'_> {
    fn drop(&mut self) {
        // SAFETY: raw came from duckdb_appender_create_ext. Clearing first makes the
        // destroy (which closes, and closing flushes) discard rows that were never
        // flushed, so an abandoned COPY leaves nothing behind.
        unsafe {
            ffi::duckdb_appender_clear(self.raw);
            ffi::duckdb_appender_destroy(&mut self.raw);
        }
    }
}
