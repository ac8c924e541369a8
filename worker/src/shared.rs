//! What all sessions of a worker share: its configuration, authenticator, TLS setup,
//! database, channel to the supervisor, the live sessions, who listens for
//! notifications and the statement counters.

use std::sync::atomic::{AtomicBool, AtomicUsize};
use std::sync::Arc;

use crate::auth::Authenticator;
use crate::catalog::relations::Relations;
use crate::catalog::snapshot::Snapshot;
use crate::channel::Channel;
use crate::config::WorkerConfig;
use crate::duck::{Connection, Database, DuckError};
use crate::notifications::Listeners;
use crate::sessions::Sessions;
use crate::stats::Stats;

/// Everything a session thread shares with the worker.
pub struct Shared {
    pub config: WorkerConfig,
    pub auth: Authenticator,
    /// The TLS configuration, loaded from the PEM files at start; `None` when ssl = off.
    pub tls: Option<Arc<rustls::ServerConfig>>,
    pub db: Arc<Database>,
    /// In `ducklake` mode: what every commit that wrote to the lake holds.
    pub lake: Option<crate::storage::CommitLock>,
    pub channel: Channel,
    pub sessions: Sessions,
    /// Which sessions listen on which channel (LISTEN/NOTIFY).
    pub listeners: Listeners,
    pub stats: Stats,
    /// What the catalog says about the relations statements name, for `RowDescription`.
    pub relations: Relations,
    /// The worker's copy of its catalog, which catalog queries read.
    pub snapshot: Snapshot,
    /// The worker's OS pid, and its generation.
    pub pid: u32,
    pub generation: mallard_protocol::channel::Generation,
    /// The server's session table (`pg_stat_activity`, admission).
    pub activity: crate::activity::Segment,
    /// Session threads from handoff to end. A drain waits for these: a session joins
    /// [`Shared::sessions`] only once its startup is done.
    pub live: AtomicUsize,
    /// Set by a reload's drain: sessions hand themselves to the next generation at
    /// their first quiet moment (see `session::handover`).
    pub handing_over: AtomicBool,
}

impl Shared {
    /// A new session's DuckDB connection. What makes it look like PostgreSQL is the
    /// worker's, set up once: the catalog (with `pg_backend_pid()`, `quote_ident()`...),
    /// integer division and the time zone (see [`crate::storage::open`]). The session
    /// makes the configured database the current one with its `search_path` (see
    /// `Settings::open_duckdb`).
    pub fn connect(&self) -> Result<Connection, DuckError> {
        Connection::connect(&self.db)
    }
}
