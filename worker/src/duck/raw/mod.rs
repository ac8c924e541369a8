//! The unsafe boundary to DuckDB's C API: the only place in the worker, besides
//! `crate::sys`, that may use `unsafe`. Each type owns one C handle and frees it on
//! drop; borrows tie results to their statement and vectors to their chunk, so no
//! pointer outlives what it points into. Every `unsafe` block says why it holds.

use std::ffi::{c_char, CStr, CString};
use std::ptr;
use std::rc::Rc;
use std::sync::{Arc, Mutex};

use libduckdb_sys as ffi;

mod appender;
mod batch;
mod function;
mod logical_type;
mod value;
mod vector;

use super::error::{DuckError, ErrorClass};
use super::types::LogicalType;
use super::ResultKind;
pub use appender::Appender;
pub use batch::{Batch, Fixed};
pub use function::{register as register_function, Arg, Output, Param, Returns, RowFn, Strictness};
use logical_type::read_type;
pub use vector::Vector;

/// An open DuckDB database. One per worker; sessions connect to it.
pub struct Database {
    raw: ffi::duckdb_database,
    /// Connections kept for the next session (see [`Connection::keep_for_next`]).
    idle: Mutex<Vec<Kept>>,
}

/// How many connections a database keeps for sessions to come.
const KEPT: usize = 16;

/// What the last user of a kept connection says of the state it left it in.
pub type Note = Box<dyn std::any::Any + Send>;

/// A connection no session uses, and what its last session noted of its state.
struct Kept {
    raw: ffi::duckdb_connection,
    note: Note,
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
            // SAFETY: on failure `err` is null or an error string DuckDB allocated for us.
            let message =
                unsafe { take_owned_string(err) }.unwrap_or_else(|| "could not open database".into());
            return Err(DuckError::from_message(Some(ErrorClass::Io), &message));
        }
        let database = Database { raw, idle: Mutex::new(Vec::new()) };
        // SAFETY: raw is the database just opened, and `database` keeps it open.
        unsafe { mallard_icu::load(database.raw) }.map_err(|message| {
            DuckError::from_message(Some(ErrorClass::Other), &format!("loading ICU (time zones): {message}"))
        })?;
        Ok(database)
    }
}

impl Drop for Database {
    fn drop(&mut self) {
        for Kept { mut raw, note } in self.idle.get_mut().unwrap_or_else(|e| e.into_inner()).drain(..) {
            // Statements parked in the note go before their connection.
            drop(note);
            // SAFETY: a kept connection is open and nothing else has it.
            unsafe { ffi::duckdb_disconnect(&mut raw) }
        }
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

/// What every new connection runs first: the profiling metrics DuckDB is to collect
/// when asked (`EXPLAIN ANALYZE`) cut to the ones `EXPLAIN ANALYZE` shows, with
/// profiling left off (setting the metrics turns it on). DuckDB expands the whole
/// metric set into a new hash set for each pipeline of each query, profiling on or
/// not (`OperatorProfiler`'s constructor): with its 26 default metrics that was a
/// seventh of the worker's time for a prepared `select 1`.
const CONNECTION_SETUP: [&str; 2] = [
    "SET custom_profiling_settings = '{\"QUERY_NAME\": \"true\", \"LATENCY\": \"true\", \
     \"OPERATOR_NAME\": \"true\", \"OPERATOR_TYPE\": \"true\", \"EXTRA_INFO\": \"true\", \
     \"OPERATOR_CARDINALITY\": \"true\", \"OPERATOR_TIMING\": \"true\"}'",
    "PRAGMA disable_profiling",
];

/// One DuckDB connection: a session's.
pub struct Connection {
    handle: Arc<ConnHandle>,
    interrupter: Arc<Interrupter>,
}

/// The C connection, kept open while any statement prepared on it lives.
struct ConnHandle {
    raw: ffi::duckdb_connection,
    interrupter: Arc<Interrupter>,
    /// Set by [`Connection::keep_for_next`]: at the end, the connection goes to the
    /// database's idle ones with this note instead of closing.
    keep: Option<Note>,
    db: Arc<Database>,
}

// SAFETY: a connection is used by one thread at a time (it moves with its session);
// DuckDB permits using a connection from a thread other than the one that made it.
unsafe impl Send for ConnHandle {}
// SAFETY: shared only between a session's own statements, on the session's thread.
unsafe impl Sync for ConnHandle {}

impl Connection {
    pub fn connect(db: &Arc<Database>) -> Result<Connection, DuckError> {
        let mut raw: ffi::duckdb_connection = ptr::null_mut();
        // SAFETY: db.raw is open for as long as the Arc we keep.
        if unsafe { ffi::duckdb_connect(db.raw, &mut raw) } != ffi::duckdb_state_DuckDBSuccess {
            return Err(internal("could not connect to the database"));
        }
        let conn = Connection::wrap(db, raw);
        for setup in CONNECTION_SETUP {
            super::exec(&conn, setup)?;
        }
        Ok(conn)
    }

    /// A connection an earlier session kept for the next one, with its note, or else a
    /// new one (and no note).
    pub fn reuse_or_connect(db: &Arc<Database>) -> Result<(Connection, Option<Note>), DuckError> {
        let kept = db.idle.lock().unwrap_or_else(|e| e.into_inner()).pop();
        match kept {
            Some(Kept { raw, note }) => Ok((Connection::wrap(db, raw), Some(note))),
            None => Ok((Connection::connect(db)?, None)),
        }
    }

    fn wrap(db: &Arc<Database>, raw: ffi::duckdb_connection) -> Connection {
        let interrupter = Arc::new(Interrupter { conn: Mutex::new(raw) });
        let handle = Arc::new(ConnHandle {
            raw,
            interrupter: Arc::clone(&interrupter),
            keep: None,
            db: Arc::clone(db),
        });
        Connection { handle, interrupter }
    }

    /// Another handle on the same connection, which keeps it open as its statements do.
    pub fn share(&self) -> Connection {
        Connection { handle: Arc::clone(&self.handle), interrupter: Arc::clone(&self.interrupter) }
    }

    /// Keeps the connection open for the next [`Connection::reuse_or_connect`] with
    /// `note` (what its next user must know of the state it is left in), unless
    /// enough are kept already, or a statement or result of it still lives (this must
    /// be its last handle). The caller vouches that nothing of the session that used
    /// it is left in it but what the note says.
    pub fn keep_for_next(mut self, note: Note) {
        if let Some(handle) = Arc::get_mut(&mut self.handle) {
            handle.keep = Some(note);
        }
    }

    pub fn interrupter(&self) -> Arc<Interrupter> {
        Arc::clone(&self.interrupter)
    }

    /// The C handle, for the appender.
    pub(super) fn handle(&self) -> ffi::duckdb_connection {
        self.handle.raw
    }

    /// A statement an earlier session of this connection parked, ready to run again;
    /// `None` (and the statement destroyed) if it was prepared on another connection.
    pub fn take_up(&self, parked: Parked) -> Option<Prepared> {
        if parked.conn != self.handle.raw {
            return None;
        }
        Some(Prepared {
            inner: Rc::new(PreparedHandle { statement: parked, _conn: Arc::clone(&self.handle) }),
        })
    }

    /// Prepares one statement. It keeps the connection open for as long as it lives.
    pub fn prepare(&self, sql: &str) -> Result<Prepared, DuckError> {
        let c_sql = c_string(sql)?;
        let mut raw: ffi::duckdb_prepared_statement = ptr::null_mut();
        // SAFETY: the connection is open and the query NUL-terminated.
        let state = unsafe { ffi::duckdb_prepare(self.handle.raw, c_sql.as_ptr(), &mut raw) };
        let statement = Parked { raw, conn: self.handle.raw };
        let prepared =
            Prepared { inner: Rc::new(PreparedHandle { statement, _conn: Arc::clone(&self.handle) }) };
        if state != ffi::duckdb_state_DuckDBSuccess {
            // SAFETY: the error string belongs to the statement, read before it is destroyed.
            let message = unsafe { borrowed_string(ffi::duckdb_prepare_error(prepared.inner.statement.raw)) };
            return Err(DuckError::from_message(None, &message.unwrap_or_default()));
        }
        Ok(prepared)
    }
}

impl Drop for ConnHandle {
    fn drop(&mut self) {
        // A cancel that comes late must not reach the connection's next session.
        *self.interrupter.conn.lock().unwrap_or_else(|e| e.into_inner()) = ptr::null_mut();
        if let Some(note) = self.keep.take() {
            let mut idle = self.db.idle.lock().unwrap_or_else(|e| e.into_inner());
            if idle.len() < KEPT {
                idle.push(Kept { raw: self.raw, note });
                return;
            }
        }
        // SAFETY: raw came from duckdb_connect; every statement and result holds an Arc
        // to this handle, so none is left.
        unsafe { ffi::duckdb_disconnect(&mut self.raw) }
    }
}

/// A prepared statement. Executions of it and their results may outlive this value
/// (a suspended portal keeps its result after the client closes the statement).
/// Neither `Send` nor `Sync`: it stays on its session's thread.
pub struct Prepared {
    inner: Rc<PreparedHandle>,
}

/// The statement, and the connection handle that keeps the connection open while it
/// lives; the statement is destroyed first (fields drop in order).
struct PreparedHandle {
    statement: Parked,
    _conn: Arc<ConnHandle>,
}

/// A prepared statement owned without a handle on its connection: inside a
/// [`Prepared`], or set aside with its connection for the connection's next session
/// ([`Prepared::park`], [`Connection::take_up`]). Parked, it lets the connection be
/// kept, and travels in the connection's [`Note`], which is dropped before the
/// connection closes.
pub struct Parked {
    raw: ffi::duckdb_prepared_statement,
    /// The connection it was prepared on: the only one that may take it up.
    conn: ffi::duckdb_connection,
}

// SAFETY: a parked statement has no other owner (`park` takes the last handle, with no
// result of it left), and is used again only on the connection it belongs to.
unsafe impl Send for Parked {}

impl Drop for Parked {
    fn drop(&mut self) {
        // SAFETY: raw came from duckdb_prepare (possibly failed, or null if it could
        // not allocate; destroy accepts both) and nothing else holds it: results hold
        // an Rc to the handle it is in.
        unsafe { ffi::duckdb_destroy_prepare(&mut self.raw) }
    }
}

impl Prepared {
    /// The statement without its handle on the connection, to be taken up by the
    /// connection's next session; `None` when a result or another handle of it lives.
    pub fn park(self) -> Option<Parked> {
        Rc::into_inner(self.inner).map(|handle| handle.statement)
    }

    /// The number of `$n` parameters.
    pub fn param_count(&self) -> usize {
        // SAFETY: the statement is prepared.
        unsafe { ffi::duckdb_nparams(self.inner.statement.raw) as usize }
    }

    /// The type DuckDB inferred for parameter `index` (0-based), `None` when it is
    /// still open (`select $1`).
    pub fn param_type(&self, index: usize) -> Option<LogicalType> {
        // SAFETY: parameters are 1-based; an unknown index or open type gives null or
        // an INVALID/ANY type, which we own and read_type destroys.
        let ty =
            unsafe { read_type(ffi::duckdb_param_logical_type(self.inner.statement.raw, index as u64 + 1)) };
        match ty {
            LogicalType::Other(_) => None,
            ty => Some(ty),
        }
    }

    /// The result columns, known before execution; empty for statements without rows.
    pub fn columns(&self) -> Vec<(String, LogicalType)> {
        // SAFETY: the statement is prepared; names are ours to free, types ours to destroy.
        unsafe {
            let n = ffi::duckdb_prepared_statement_column_count(self.inner.statement.raw);
            (0..n)
                .map(|c| {
                    let name = take_owned_string(ffi::duckdb_prepared_statement_column_name(
                        self.inner.statement.raw,
                        c,
                    ) as *mut c_char)
                    .unwrap_or_default();
                    (
                        name,
                        read_type(ffi::duckdb_prepared_statement_column_logical_type(
                            self.inner.statement.raw,
                            c,
                        )),
                    )
                })
                .collect()
        }
    }

    /// Whether the statement returns rows: a query, or DML with `RETURNING`. Plain DML
    /// reports one BIGINT column `Count`; DDL reports none.
    pub fn returns_rows(&self) -> bool {
        // SAFETY: the statement is prepared.
        let ty = unsafe { ffi::duckdb_prepared_statement_type(self.inner.statement.raw) };
        match ty {
            ffi::duckdb_statement_type_DUCKDB_STATEMENT_TYPE_SELECT
            | ffi::duckdb_statement_type_DUCKDB_STATEMENT_TYPE_EXPLAIN
            | ffi::duckdb_statement_type_DUCKDB_STATEMENT_TYPE_PRAGMA
            | ffi::duckdb_statement_type_DUCKDB_STATEMENT_TYPE_CALL
            | ffi::duckdb_statement_type_DUCKDB_STATEMENT_TYPE_RELATION => true,
            _ => {
                let columns = self.columns();
                !(columns.is_empty() || (columns.len() == 1 && columns[0].0 == "Count"))
            }
        }
    }

    /// Binds parameter `index` (0-based) for the next execution.
    pub fn bind(&self, index: usize, value: &super::Value) -> Result<(), DuckError> {
        let raw = value.to_raw().ok_or_else(|| {
            DuckError::from_message(Some(ErrorClass::InvalidInput), "value cannot be represented in DuckDB")
        })?;
        // SAFETY: the statement is prepared and the value live for the call (DuckDB copies it).
        let state = unsafe { ffi::duckdb_bind_value(self.inner.statement.raw, index as u64 + 1, raw.0) };
        if state != ffi::duckdb_state_DuckDBSuccess {
            // SAFETY: as in prepare: the statement's own error string, if any.
            let message = unsafe { borrowed_string(ffi::duckdb_prepare_error(self.inner.statement.raw)) };
            return Err(DuckError::from_message(
                Some(ErrorClass::InvalidInput),
                &message.unwrap_or_else(|| format!("could not bind parameter ${}", index + 1)),
            ));
        }
        Ok(())
    }

    /// Runs the statement with its bound parameters; rows stream out of the result
    /// chunk by chunk.
    pub fn execute(&self) -> Result<QueryResult, DuckError> {
        // SAFETY: duckdb_result is a plain C struct that duckdb_execute_* initialises.
        let mut raw: ffi::duckdb_result = unsafe { std::mem::zeroed() };
        // SAFETY: the statement is prepared; the result must be destroyed even on error,
        // which QueryResult's Drop does.
        let state = unsafe { ffi::duckdb_execute_prepared_streaming(self.inner.statement.raw, &mut raw) };
        let mut result = QueryResult { raw, _stmt: Rc::clone(&self.inner) };
        if state != ffi::duckdb_state_DuckDBSuccess {
            return Err(result.error());
        }
        Ok(result)
    }
}

/// The result of one execution. It keeps its statement (and connection) alive.
pub struct QueryResult {
    raw: ffi::duckdb_result,
    _stmt: Rc<PreparedHandle>,
}

impl QueryResult {
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
        (!chunk.is_empty() && v.is_valid(0)).then(|| v.values::<i64>()[0] as u64)
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

impl Drop for QueryResult {
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
        Vector::new(raw, self.len())
    }
}

impl Drop for Chunk {
    fn drop(&mut self) {
        // SAFETY: we own the chunk returned by duckdb_fetch_chunk.
        unsafe { ffi::duckdb_destroy_data_chunk(&mut self.raw) }
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
    // SAFETY: non-null means a NUL-terminated string, valid for the call (the caller's
    // contract); it is copied before returning.
    (!p.is_null()).then(|| unsafe { CStr::from_ptr(p) }.to_string_lossy().into_owned())
}

/// Copies and frees a string that DuckDB allocated for us (`duckdb_free`).
///
/// # Safety
/// `p` must be null or a NUL-terminated string DuckDB allocated and handed over to us.
unsafe fn take_owned_string(p: *mut c_char) -> Option<String> {
    if p.is_null() {
        return None;
    }
    // SAFETY: non-null strings handed to us by DuckDB are NUL-terminated and ours to
    // free (the caller's contract); freed once, after the copy.
    unsafe {
        let s = CStr::from_ptr(p).to_string_lossy().into_owned();
        ffi::duckdb_free(p as *mut std::ffi::c_void);
        Some(s)
    }
}
