//! DuckDB, as the worker uses it: a database per worker, a connection per session,
//! statements executed with streaming results read chunk by chunk.
//!
//! The C API is used directly (through `libduckdb-sys`) because the session needs what
//! the higher-level crate hides: exact logical types (DECIMAL width and scale, JSON and
//! UUID, TIMESTAMP WITH TIME ZONE), typed error classes, statement types, flat vectors
//! to encode rows from without an Arrow detour, and `duckdb_interrupt` for cancel.
//! Every `unsafe` call lives in [`raw`].

mod error;
#[allow(unsafe_code)]
mod raw;
mod types;
mod value;
mod words;

pub use error::{DuckError, ErrorClass};
pub use raw::{
    register_function, Appender, Arg, Batch, Chunk, Connection, Database, Fixed, Interrupter, Output, Param,
    Parked, Prepared, QueryResult, Returns, RowFn, Strictness, Vector,
};
pub use types::{DecimalStorage, EnumStorage, LogicalType};
pub use value::Value;
pub use words::constraint_of_statement;

/// Runs `sql` to the end, discarding any rows.
pub fn exec(conn: &Connection, sql: &str) -> Result<(), DuckError> {
    let stmt = conn.prepare(sql)?;
    let mut result = stmt.execute()?;
    while result.next_chunk()?.is_some() {}
    Ok(())
}

/// `text` as an SQL string literal.
pub fn quote_literal(text: &str) -> String {
    format!("'{}'", text.replace('\'', "''"))
}

/// `name` as a quoted SQL identifier.
pub fn quote_ident(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// What a statement returns, as DuckDB reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ResultKind {
    /// Rows to send.
    Rows,
    /// A DML count (`INSERT`/`UPDATE`/`DELETE` without `RETURNING`).
    Changed(u64),
    /// Nothing (DDL, SET, transaction control).
    Nothing,
}
