//! `storage = "duckdb"`: the native file `<data_dir>/mallard.duckdb`, read-write in one
//! worker, or read-only in many.

use crate::config::WorkerConfig;
use crate::duck::{exec, quote_ident, quote_literal, Connection, DuckError};

/// Attaches the database file under the configured database name.
pub(super) fn attach(conn: &Connection, config: &WorkerConfig) -> Result<(), DuckError> {
    let file = quote_literal(&config.database_file().display().to_string());
    let mode = if config.read_only { " (READ_ONLY)" } else { "" };
    exec(conn, &format!("ATTACH {file} AS {}{mode}", quote_ident(&config.database)))
}
