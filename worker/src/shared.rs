//! What all sessions of a worker share: its configuration, authenticator, TLS setup,
//! database, channel to the supervisor, the live sessions and the statement counters.

use std::sync::atomic::AtomicUsize;
use std::sync::Arc;

use crate::auth::Authenticator;
use crate::channel::Channel;
use crate::config::WorkerConfig;
use crate::duck::{exec, quote_ident, Connection, Database, DuckError};
use crate::sessions::Sessions;
use crate::stats::Stats;

/// Everything a session thread shares with the worker.
pub struct Shared {
    pub config: WorkerConfig,
    pub auth: Authenticator,
    /// The TLS configuration, loaded from the PEM files at start; `None` when ssl = off.
    pub tls: Option<Arc<rustls::ServerConfig>>,
    pub db: Arc<Database>,
    pub channel: Channel,
    pub sessions: Sessions,
    pub stats: Stats,
    pub pid: u32,
    /// Session threads from handoff to end. A drain waits for these: a session joins
    /// [`Shared::sessions`] only once its startup is done.
    pub live: AtomicUsize,
}

impl Shared {
    /// A new session's DuckDB connection, made to look like PostgreSQL: the configured
    /// database is the current one, `pg_backend_pid()` names this worker, and integers
    /// divide as integers.
    pub fn connect(&self) -> Result<Connection, DuckError> {
        let conn = Connection::connect(&self.db)?;
        exec(&conn, &format!("USE {}", quote_ident(&self.config.database)))?;
        exec(
            &conn,
            &format!("CREATE OR REPLACE TEMP MACRO pg_backend_pid() AS CAST({} AS INTEGER)", self.pid),
        )?;
        // PostgreSQL's quoting functions, which drivers use to inline values (asyncpg's
        // copy_from_query).
        exec(
            &conn,
            r#"CREATE OR REPLACE TEMP MACRO quote_literal(s) AS '''' || replace(CAST(s AS VARCHAR), '''', '''''') || ''''"#,
        )?;
        exec(
            &conn,
            r#"CREATE OR REPLACE TEMP MACRO quote_ident(s) AS '"' || replace(CAST(s AS VARCHAR), '"', '""') || '"'"#,
        )?;
        // `/` of two integers is integer division in PostgreSQL (7 / 2 = 3); DuckDB's
        // default divides as floats.
        exec(&conn, "SET integer_division = true")?;
        Ok(conn)
    }
}
