//! The unsafe boundary to DuckDB's C API. Each type owns one C handle and frees it on
//! drop; borrows tie results to their statement and vectors to their chunk, so no
//! pointer outlives what it points into.

use std::ffi::{c_char, CStr, CString};
use std::marker::PhantomData;
use std::ptr;
use std::sync::{Arc, Mutex};

use libduckdb_sys as ffi;

use super::error::{DuckError, ErrorClass};
use super::types::{DecimalStorage, EnumStorage, LogicalType};
use super::ResultKind;

/// An open DuckDB database. One per worker; sessions connect to it.
pub struct Database {
    raw: ffi::duckdb_database,
}

// SAFETY: a duckdb_database is an internally synchronised handle; DuckDB documents that
// connections may be created from it on any thread.
unsafe impl Send for Database {}
// SAFETY: as above; the handle is only read after open, and closed once on drop.
unsafe impl Sync for Database {}

impl Database {
    /// Opens `path` (`":memory:"` for an in-memory database) with DuckDB config options.
    pub fn open(path: &str, options: &[(&str, String)]) -> Result<Database, DuckError> {
        let c_path = c_string(path)?;
        let mut config: ffi::duckdb_config = ptr::null_mut();
        // SAFETY: duckdb_create_config writes a new config handle into `config`.
        if unsafe { ffi::duckdb_create_config(&mut config) } != ffi::duckdb_state_DuckDBSuccess {
            return Err(internal("could not allocate a DuckDB config"));
        }
        let config = ConfigGuard(config);
        for (name, value) in options {
            let (n, v) = (c_string(name)?, c_string(value)?);
            // SAFETY: config is valid; both strings are NUL-terminated and outlive the call.
            if unsafe { ffi::duckdb_set_config(config.0, n.as_ptr(), v.as_ptr()) }
                != ffi::duckdb_state_DuckDBSuccess
            {
                return Err(DuckError::from_message(
                    Some(ErrorClass::InvalidInput),
                    &format!("invalid DuckDB setting {name} = {value:?}"),
                ));
            }
        }
        let mut raw: ffi::duckdb_database = ptr::null_mut();
        let mut err: *mut c_char = ptr::null_mut();
        // SAFETY: every pointer is valid for the call; on failure `err` is either null or
        // a string we must free with duckdb_free.
        let state = unsafe { ffi::duckdb_open_ext(c_path.as_ptr(), &mut raw, config.0, &mut err) };
        if state != ffi::duckdb_state_DuckDBSuccess {
            let message = take_owned_string(err).unwrap_or_else(|| "could not open database".into());
            return Err(DuckError::from_message(Some(ErrorClass::Io), &message));
        }
        Ok(Database { raw })
    }
}

impl Drop for Database {
    fn drop(&mut self) {
        // SAFETY: raw came from duckdb_open_ext and every Connection holds an Arc to us,
        // so none is left when this runs.
        unsafe { ffi::duckdb_close(&mut self.raw) }
    }
}

struct ConfigGuard(ffi::duckdb_config);

impl Drop for ConfigGuard {
    fn drop(&mut self) {
        // SAFETY: created by duckdb_create_config; duckdb_open_ext copies what it needs.
        unsafe { ffi::duckdb_destroy_config(&mut self.0) }
    }
}

/// Interrupts the running query of one connection from any thread (cancel requests,
/// statement timeouts). Stays safe to call after the connection is gone.
pub struct Interrupter {
    conn: Mutex<ffi::duckdb_connection>,
}

// SAFETY: the pointer is only used under the mutex, and cleared under it before the
// connection is disconnected; duckdb_interrupt is documented as callable from any thread.
unsafe impl Send for Interrupter {}
// SAFETY: as above.
unsafe impl Sync for Interrupter {}

impl Interrupter {
    pub fn interrupt(&self) {
        let conn = self.conn.lock().unwrap_or_else(|e| e.into_inner());
        if !conn.is_null() {
            // SAFETY: non-null means the connection is still open (Drop nulls it first).
            unsafe { ffi::duckdb_interrupt(*conn) }
        }
    }
}

/// One DuckDB connection: a session's.
pub struct Connection {
    raw: ffi::duckdb_connection,
    interrupter: Arc<Interrupter>,
    _db: Arc<Database>,
}

// SAFETY: a connection is used by one thread at a time (it moves with its session);
// DuckDB permits using a connection from a thread other than the one that made it.
unsafe impl Send for Connection {}

impl Connection {
    pub fn connect(db: &Arc<Database>) -> Result<Connection, DuckError> {
        let mut raw: ffi::duckdb_connection = ptr::null_mut();
        // SAFETY: db.raw is open for as long as the Arc we keep.
        if unsafe { ffi::duckdb_connect(db.raw, &mut raw) } != ffi::duckdb_state_DuckDBSuccess {
            return Err(internal("could not connect to the database"));
        }
        Ok(Connection {
            raw,
            interrupter: Arc::new(Interrupter { conn: Mutex::new(raw) }),
            _db: Arc::clone(db),
        })
    }

    pub fn interrupter(&self) -> Arc<Interrupter> {
        Arc::clone(&self.interrupter)
    }

    /// The C handle, for the other modules that call DuckDB (the appender).
    pub(super) fn handle(&self) -> ffi::duckdb_connection {
        self.raw
    }

    /// Prepares one statement.
    pub fn prepare(&self, sql: &str) -> Result<Prepared<'_>, DuckError> {
        let c_sql = c_string(sql)?;
        let mut raw: ffi::duckdb_prepared_statement = ptr::null_mut();
        // SAFETY: the connection is open and the query NUL-terminated.
        let state = unsafe { ffi::duckdb_prepare(self.raw, c_sql.as_ptr(), &mut raw) };
        let prepared = Prepared { raw, _conn: PhantomData };
        if state != ffi::duckdb_state_DuckDBSuccess {
            // SAFETY: the error string belongs to the statement, read before it is destroyed.
            let message = unsafe { borrowed_string(ffi::duckdb_prepare_error(prepared.raw)) };
            return Err(DuckError::from_message(None, &message.unwrap_or_default()));
        }
        Ok(prepared)
    }
}

impl Drop for Connection {
    fn drop(&mut self) {
        *self.interrupter.conn.lock().unwrap_or_else(|e| e.into_inner()) = ptr::null_mut();
        // SAFETY: raw came from duckdb_connect; no Prepared or QueryResult outlives us
        // (they borrow the connection).
        unsafe { ffi::duckdb_disconnect(&mut self.raw) }
    }
}

/// A prepared statement, borrowed from its connection.
pub struct Prepared<'c> {
    raw: ffi::duckdb_prepared_statement,
    _conn: PhantomData<&'c Connection>,
}

impl Prepared<'_> {
    /// Runs the statement; rows stream out of the result chunk by chunk.
    pub fn execute(&mut self) -> Result<QueryResult<'_>, DuckError> {
        // SAFETY: duckdb_result is a plain C struct that duckdb_execute_* initialises.
        let mut raw: ffi::duckdb_result = unsafe { std::mem::zeroed() };
        // SAFETY: the statement is prepared; the result must be destroyed even on error,
        // which QueryResult's Drop does.
        let state = unsafe { ffi::duckdb_execute_prepared_streaming(self.raw, &mut raw) };
        let mut result = QueryResult { raw, _stmt: PhantomData };
        if state != ffi::duckdb_state_DuckDBSuccess {
            return Err(result.error());
        }
        Ok(result)
    }
}

impl Drop for Prepared<'_> {
    fn drop(&mut self) {
        // SAFETY: raw came from duckdb_prepare (possibly failed; destroy accepts that).
        unsafe { ffi::duckdb_destroy_prepare(&mut self.raw) }
    }
}

/// The result of one execution.
pub struct QueryResult<'s> {
    raw: ffi::duckdb_result,
    _stmt: PhantomData<&'s mut ()>,
}

impl QueryResult<'_> {
    fn error(&mut self) -> DuckError {
        // SAFETY: the result is initialised; the strings belong to it.
        let (code, message) = unsafe {
            (
                ffi::duckdb_result_error_type(&mut self.raw),
                borrowed_string(ffi::duckdb_result_error(&mut self.raw)),
            )
        };
        DuckError::from_message(Some(ErrorClass::from_code(code)), &message.unwrap_or_default())
    }

    pub fn kind(&mut self) -> ResultKind {
        // SAFETY: the result is initialised and successful.
        match unsafe { ffi::duckdb_result_return_type(self.raw) } {
            ffi::duckdb_result_type_DUCKDB_RESULT_TYPE_QUERY_RESULT => ResultKind::Rows,
            ffi::duckdb_result_type_DUCKDB_RESULT_TYPE_CHANGED_ROWS => {
                // A streaming DML result carries its count as one row of one BIGINT;
                // duckdb_rows_changed reads it from the materialised form only.
                ResultKind::Changed(self.single_count().unwrap_or(0))
            }
            _ => ResultKind::Nothing,
        }
    }

    /// The count of a result that is one BIGINT in one row (DML counts, and the
    /// inserted rows of `CREATE TABLE ... AS`, which DuckDB reports as `NOTHING`).
    pub fn single_count(&mut self) -> Option<u64> {
        if self.column_count() != 1 || self.column_type(0) != LogicalType::BigInt {
            return None;
        }
        let chunk = self.next_chunk().ok()??;
        let v = chunk.vector(0);
        (chunk.len() > 0 && v.is_valid(0)).then(|| v.values::<i64>()[0] as u64)
    }

    pub fn column_count(&mut self) -> usize {
        // SAFETY: the result is initialised.
        unsafe { ffi::duckdb_column_count(&mut self.raw) as usize }
    }

    pub fn column_name(&mut self, col: usize) -> String {
        // SAFETY: col < column_count; the name belongs to the result.
        unsafe { borrowed_string(ffi::duckdb_column_name(&mut self.raw, col as u64)) }.unwrap_or_default()
    }

    pub fn column_type(&mut self, col: usize) -> LogicalType {
        // SAFETY: col < column_count; we own the returned type and destroy it in read_type.
        unsafe { read_type(ffi::duckdb_column_logical_type(&mut self.raw, col as u64)) }
    }

    /// The next chunk of rows, `None` at the end.
    pub fn next_chunk(&mut self) -> Result<Option<Chunk>, DuckError> {
        // SAFETY: the result is initialised and streaming; a chunk we own is returned.
        let raw = unsafe { ffi::duckdb_fetch_chunk(self.raw) };
        if raw.is_null() {
            // SAFETY: as in error(); a failed fetch stores its error on the result.
            let failed = unsafe { !ffi::duckdb_result_error(&mut self.raw).is_null() };
            return if failed { Err(self.error()) } else { Ok(None) };
        }
        Ok(Some(Chunk { raw }))
    }
}

impl Drop for QueryResult<'_> {
    fn drop(&mut self) {
        // SAFETY: raw was initialised by duckdb_execute_prepared_streaming.
        unsafe { ffi::duckdb_destroy_result(&mut self.raw) }
    }
}

/// A chunk of up to 2048 rows, column vectors flat.
pub struct Chunk {
    raw: ffi::duckdb_data_chunk,
}

impl Chunk {
    pub fn len(&self) -> usize {
        // SAFETY: raw is a live chunk.
        unsafe { ffi::duckdb_data_chunk_get_size(self.raw) as usize }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub fn vector(&self, col: usize) -> Vector<'_> {
        // SAFETY: col < the result's column count; the vector lives as long as the chunk.
        let raw = unsafe { ffi::duckdb_data_chunk_get_vector(self.raw, col as u64) };
        Vector { raw, len: self.len(), _chunk: PhantomData }
    }
}

impl Drop for Chunk {
    fn drop(&mut self) {
        // SAFETY: we own the chunk returned by duckdb_fetch_chunk.
        unsafe { ffi::duckdb_destroy_data_chunk(&mut self.raw) }
    }
}

/// Types whose values DuckDB stores in a flat vector as a plain C array.
pub trait Primitive: Copy + sealed::Sealed {}
mod sealed {
    pub trait Sealed {}
}
macro_rules! primitive {
    ($($t:ty),*) => { $(impl sealed::Sealed for $t {} impl Primitive for $t {})* };
}
primitive!(
    i8,
    i16,
    i32,
    i64,
    u8,
    u16,
    u32,
    u64,
    f32,
    f64,
    ffi::duckdb_interval,
    ffi::duckdb_hugeint,
    ffi::duckdb_uhugeint,
    ffi::duckdb_list_entry
);

/// One column of a chunk (or a child of a list or struct column).
#[derive(Clone, Copy)]
pub struct Vector<'c> {
    raw: ffi::duckdb_vector,
    len: usize,
    _chunk: PhantomData<&'c Chunk>,
}

impl<'c> Vector<'c> {
    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    pub fn is_valid(&self, row: usize) -> bool {
        assert!(row < self.len, "row {row} out of {}", self.len);
        // SAFETY: the mask, when present, has a bit for each of the vector's rows.
        unsafe {
            let mask = ffi::duckdb_vector_get_validity(self.raw);
            mask.is_null() || (*mask.add(row / 64) >> (row % 64)) & 1 == 1
        }
    }

    /// The vector's values as a slice; `T` must be the physical type of its logical type.
    pub fn values<T: Primitive>(&self) -> &'c [T] {
        // SAFETY: a flat vector's data is an array of `len` physical values; the caller
        // picks T from the logical type, and the slice lives as long as the chunk.
        unsafe {
            let data = ffi::duckdb_vector_get_data(self.raw) as *const T;
            if data.is_null() || self.len == 0 {
                return &[];
            }
            std::slice::from_raw_parts(data, self.len)
        }
    }

    /// The bytes of a VARCHAR or BLOB value.
    pub fn bytes(&self, row: usize) -> &'c [u8] {
        assert!(row < self.len, "row {row} out of {}", self.len);
        // SAFETY: string vectors hold duckdb_string_t; short strings are stored inline
        // in the struct (inside the vector's memory), long ones point to the vector's heap.
        unsafe {
            let base = ffi::duckdb_vector_get_data(self.raw) as *const ffi::duckdb_string_t;
            let s = &*base.add(row);
            let len = s.value.inlined.length as usize;
            let data = if len <= 12 {
                s.value.inlined.inlined.as_ptr()
            } else {
                s.value.pointer.ptr as *const c_char
            };
            std::slice::from_raw_parts(data as *const u8, len)
        }
    }

    /// A LIST's child vector, holding every list's elements back to back.
    pub fn list_child(&self) -> Vector<'c> {
        // SAFETY: only called on LIST (or MAP) vectors; the child lives with the chunk.
        unsafe {
            let child = ffi::duckdb_list_vector_get_child(self.raw);
            let len = ffi::duckdb_list_vector_get_size(self.raw) as usize;
            Vector { raw: child, len, _chunk: PhantomData }
        }
    }

    /// An ARRAY's child vector: `size` elements per row.
    pub fn array_child(&self, size: u64) -> Vector<'c> {
        // SAFETY: only called on ARRAY vectors of that size.
        let raw = unsafe { ffi::duckdb_array_vector_get_child(self.raw) };
        Vector { raw, len: self.len * size as usize, _chunk: PhantomData }
    }

    /// A STRUCT's (or MAP entry's) field vector.
    pub fn struct_child(&self, index: usize) -> Vector<'c> {
        // SAFETY: only called on STRUCT vectors with index < their field count.
        let raw = unsafe { ffi::duckdb_struct_vector_get_child(self.raw, index as u64) };
        Vector { raw, len: self.len, _chunk: PhantomData }
    }
}

/// Reads a logical type into an owned tree and destroys the handle.
///
/// # Safety
/// `ty` must be a logical type handle the caller owns (or null).
unsafe fn read_type(mut ty: ffi::duckdb_logical_type) -> LogicalType {
    if ty.is_null() {
        return LogicalType::Other(0);
    }
    let out = read_type_borrowed(ty);
    ffi::duckdb_destroy_logical_type(&mut ty);
    out
}

/// # Safety
/// `ty` must be a live logical type handle.
unsafe fn read_type_borrowed(ty: ffi::duckdb_logical_type) -> LogicalType {
    use LogicalType as L;
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
            L::List(Box::new(read_type(ffi::duckdb_list_type_child_type(ty))))
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
                        let name =
                            take_owned_string(ffi::duckdb_struct_type_child_name(ty, i)).unwrap_or_default();
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

fn c_string(s: &str) -> Result<CString, DuckError> {
    CString::new(s)
        .map_err(|_| DuckError::from_message(Some(ErrorClass::Parser), "query contains a NUL byte"))
}

fn internal(message: &str) -> DuckError {
    DuckError::from_message(Some(ErrorClass::Other), message)
}

/// Copies a string DuckDB owns (freed with its result or statement).
///
/// # Safety
/// `p` must be null or a NUL-terminated string valid for the call.
unsafe fn borrowed_string(p: *const c_char) -> Option<String> {
    (!p.is_null()).then(|| CStr::from_ptr(p).to_string_lossy().into_owned())
}

/// Copies and frees a string that DuckDB allocated for us (`duckdb_free`).
fn take_owned_string(p: *mut c_char) -> Option<String> {
    if p.is_null() {
        return None;
    }
    // SAFETY: non-null strings handed to us by DuckDB are NUL-terminated and ours to free.
    unsafe {
        let s = CStr::from_ptr(p).to_string_lossy().into_owned();
        ffi::duckdb_free(p as *mut std::ffi::c_void);
        Some(s)
    }
}
