//! `storage = "memory"`: a private in-memory database per worker, gone when the worker
//! ends. `read_only` does not apply: there is nothing to protect.

use crate::config::WorkerConfig;
use crate::duck::{exec, quote_ident, Connection, DuckError};

/// Attaches a fresh in-memory database under the configured database name.
pub(super) fn attach(conn: &Connection, config: &WorkerConfig) -> Result<(), DuckError> {
    exec(conn, &format!("ATTACH ':memory:' AS {}", quote_ident(&config.database)))
}
