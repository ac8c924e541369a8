//! Reloads that end no session. During a reload's drain, a session hands itself to the
//! next generation at its first quiet moment (`ReadyForQuery` sent, outside a
//! transaction block, nothing of the client's read but unused): it writes its state
//! into a memfd and sends it with its client socket to the supervisor (`Moved`), which
//! passes both to a worker of the new generation (`Resume`). That worker opens a DuckDB
//! connection, restores the state and reads the client's next message, with not a
//! byte sent: to the client the reload is a pause.
//!
//! What moves: user, database, application name, the backend pid and cancel secret,
//! every setting (with what `RESET` returns to), named prepared statements (prepared
//! again from their text and parameter types; one whose result columns changed is
//! refused on use, as PostgreSQL refuses a cached plan), LISTEN registrations, advisory
//! locks.
//!
//! Session advisory locks move too, held all along: they are open file descriptions of
//! the lock files (see [`crate::advisory`]), whose descriptors travel with the socket.
//!
//! What cannot move keeps the session where it is, to drain as before (the log says
//! why, once): TLS (rustls' state lives in this process), open cursors, temporary
//! tables and other per-connection DuckDB objects. A session in a transaction block
//! moves at its end.
//!
//! The state's layout goes with the channel's [`VERSION`](mallard_protocol::channel::VERSION):
//! a binary whose channel version differs never gets a `Drain` from a supervisor of
//! the other one (it closes their channels, and the old workers drain on their own),
//! so a state is only read by the code that wrote it or by code of the same version.

use std::io::Read;
use std::os::fd::{AsFd, OwnedFd};

use mallard_protocol::channel::FromWorker;
use mallard_protocol::pg::backend::ErrorInfo;
use mallard_protocol::pg::SqlState;
use serde::{Deserialize, Serialize};
use tracing::{debug, info, warn};

use super::conn::Conn;
use super::portal::{Statement, StatementKind};
use super::query::Transaction;
use super::{settings, Opened, Session, SessionError, StepError};
use crate::main_loop::Handoff;
use crate::shared::Shared;

/// Checked on resume; see the module's note on versions.
const STATE_VERSION: u32 = 1;

/// A session as it moves.
#[derive(Serialize, Deserialize)]
struct SessionState {
    version: u32,
    user: String,
    database: String,
    application_name: String,
    /// When the client connected, in microseconds since the epoch.
    backend_start: i64,
    secret: Vec<u8>,
    settings: settings::Saved,
    /// Its advisory locks; their lock files travel as the packet's fds after the state.
    #[serde(default)]
    locks: crate::advisory::MovedLocks,
    statements: Vec<SavedStatement>,
    /// Statements that were already stale: they stay refused.
    stale: Vec<String>,
    listening: Vec<String>,
}

/// A named prepared statement: what the client sent, the parameter types it was
/// prepared with, and the result columns it describes (name and type oid).
#[derive(Serialize, Deserialize)]
struct SavedStatement {
    name: String,
    text: String,
    params: Vec<u32>,
    columns: Vec<(String, u32)>,
}

impl Session<'_> {
    /// At an idle moment of a reload's drain: hands the session over if it is quiet and
    /// can move. `Ok(true)`: it moved, and its thread ends without a word to the client.
    pub(super) fn try_hand_over(&mut self) -> Result<bool, SessionError> {
        if self.stays || self.tx != Transaction::Idle || self.conn.has_unread() || self.live.is_some() {
            return Ok(false);
        }
        if let Some(why) = self.cannot_move() {
            info!(reason = why, "this session cannot move to the new generation; it drains");
            self.stays = true;
            return Ok(false);
        }
        // Whatever is owed to the client goes before the socket does.
        self.conn.flush().map_err(SessionError::Io)?;
        let (lock_files, locks) = match self.advisory.export() {
            Ok(exported) => exported,
            Err(e) => {
                warn!(error = %e, "could not pass the advisory locks on; the session drains");
                self.stays = true;
                return Ok(false);
            }
        };
        let state = self.state(locks);
        // Out of the table first: from the send on, nothing here may touch the socket
        // (a drain's terminate would shut it down under the new worker).
        let pid = self.backend_pid();
        self.shared.sessions.remove(pid);
        let sent = serde_json::to_vec(&state)
            .map_err(std::io::Error::other)
            .and_then(|bytes| crate::sys::memfd_with(c"mallard-session", &bytes))
            .map_err(|e| e.to_string())
            .and_then(|memfd| {
                let socket = self.conn.plain_socket().expect("cannot_move checked a plain socket");
                let activity = &self.activity.activity;
                let moved = FromWorker::Moved { session: self.id, pid: activity.pid, peer: activity.peer };
                let mut fds = vec![socket, memfd.as_fd()];
                fds.extend(lock_files.iter().map(|f| f.as_fd()));
                self.shared.channel.send_with_fds(&moved, &fds).map_err(|e| e.to_string())
            });
        match sent {
            Ok(()) => {
                self.shared.sessions.count_moved();
                info!(
                    statements = state.statements.len(),
                    listening = state.listening.len(),
                    "session moved to the new generation"
                );
                Ok(true)
            }
            Err(error) => {
                warn!(error, "could not hand the session over; it drains");
                self.shared.sessions.insert(pid, std::sync::Arc::clone(&self.control));
                self.stays = true;
                Ok(false)
            }
        }
    }

    /// Why this session cannot move, if it cannot.
    fn cannot_move(&self) -> Option<&'static str> {
        if self.conn.plain_socket().is_none() {
            return Some("TLS: the encryption state cannot leave this process");
        }
        if self.portals.keys().any(|name| !name.is_empty()) {
            return Some("open cursors");
        }
        // Only a session that made temporary objects can have any (the catalog scan is
        // slow on a large catalog); it may have dropped them since.
        if self.catalog.made_temporary() && has_temporary_objects(&self.duck) {
            return Some("temporary tables, views or sequences");
        }
        None
    }

    fn state(&self, locks: crate::advisory::MovedLocks) -> SessionState {
        let activity = &self.activity.activity;
        let statements = self
            .statements
            .iter()
            .filter(|(name, _)| !name.is_empty())
            .map(|(name, statement)| SavedStatement {
                name: name.clone(),
                text: statement.text.clone(),
                params: statement.param_oids().to_vec(),
                columns: columns_of(statement),
            })
            .collect();
        SessionState {
            version: STATE_VERSION,
            user: activity.user.clone(),
            database: activity.database.clone(),
            application_name: activity.application_name.clone(),
            backend_start: activity.backend_start,
            secret: self.control.secret().to_vec(),
            settings: self.settings.save(),
            locks,
            statements,
            stale: self.stale.iter().cloned().collect(),
            listening: self.notify.subscriber.channels().to_vec(),
        }
    }

    /// Prepares the moved session's statements again; one that fails, or whose result
    /// columns are not the same, becomes stale.
    fn restore_statements(&mut self, statements: Vec<SavedStatement>, stale: Vec<String>) {
        self.stale.extend(stale);
        for saved in statements {
            match self.parse_statement(&saved.text, &saved.params, false) {
                Ok(statement) if columns_of(&statement) == saved.columns => {
                    self.statements.insert(saved.name, statement);
                }
                Ok(_) => {
                    info!(
                        statement = saved.name,
                        "a moved prepared statement's result changed; it is refused on use"
                    );
                    self.stale.insert(saved.name);
                }
                Err(e) => {
                    info!(statement = saved.name, error = ?e, "a moved prepared statement no longer prepares; it is refused on use");
                    self.stale.insert(saved.name);
                }
            }
        }
    }

    /// The error for a statement that a reload's move left stale.
    pub(super) fn stale_statement() -> StepError {
        StepError::query(SqlState::FEATURE_NOT_SUPPORTED, "cached plan must not change result type")
    }
}

/// A statement's result columns as `RowDescription` gives them: name and type oid.
fn columns_of(statement: &Statement) -> Vec<(String, u32)> {
    match &statement.kind {
        StatementKind::Duck(d) => {
            d.columns.iter().flatten().map(|c| (c.name.clone(), crate::types::pg_type(&c.ty).oid)).collect()
        }
        StatementKind::Declare(query) => columns_of(query),
        _ => Vec::new(),
    }
}

/// Whether the connection made temporary objects, which live and die with it.
fn has_temporary_objects(duck: &crate::duck::Connection) -> bool {
    const SQL: &str = "SELECT 1 FROM duckdb_tables() WHERE temporary \
        UNION ALL SELECT 1 FROM duckdb_views() WHERE temporary AND NOT internal \
        UNION ALL SELECT 1 FROM duckdb_sequences() WHERE temporary LIMIT 1";
    let found = duck.prepare(SQL).and_then(|s| s.execute()).and_then(|mut r| r.next_chunk());
    match found {
        Ok(chunk) => chunk.is_some_and(|c| !c.is_empty()),
        Err(e) => {
            debug!(error = %e, "could not look for temporary objects; the session stays");
            true
        }
    }
}

/// Resumes a session another worker handed over: its state from the memfd (and its
/// advisory lock files), then the message loop, with nothing sent to the client.
pub(super) fn resume(
    shared: &Shared,
    handoff: &Handoff,
    conn: &mut Conn,
    control_fd: OwnedFd,
    (state, lock_files): (OwnedFd, Vec<OwnedFd>),
    span: &tracing::Span,
) -> Result<(), SessionError> {
    let ended = |why: String| {
        warn!(error = why, "could not resume a moved session; ending it");
        SessionError::Fatal(ErrorInfo::fatal(
            SqlState::ADMIN_SHUTDOWN,
            "terminating connection due to administrator command",
        ))
    };
    let mut text = Vec::new();
    std::fs::File::from(state).read_to_end(&mut text).map_err(|e| ended(e.to_string()))?;
    let state: SessionState = serde_json::from_slice(&text).map_err(|e| ended(e.to_string()))?;
    if state.version != STATE_VERSION {
        return Err(ended(format!("session state version {}, expected {STATE_VERSION}", state.version)));
    }
    span.record("user", state.user.as_str());
    span.record("database", state.database.as_str());
    let now = crate::activity::now_micros();
    let row = crate::activity::Activity {
        pid: handoff.pid,
        worker_pid: shared.pid,
        generation: shared.generation.0,
        backend_start: state.backend_start,
        xact_start: None,
        query_start: None,
        state_change: Some(now),
        state: crate::activity::State::Idle,
        tls: false,
        peer: handoff.peer,
        database: state.database.clone(),
        user: state.user.clone(),
        application_name: state.application_name.clone(),
        query: String::new(),
    };
    // The session left its old row before it moved: it takes no new place.
    let activity =
        crate::activity::Slot::admit(&shared.activity, u32::MAX, shared.config.track_activities, row)
            .ok_or_else(|| ended("the session table is full".into()))?;
    let settings = settings::Settings::restore(&state.user, state.settings);
    let opened = Opened { id: handoff.session, user: &state.user, settings, secret: state.secret, activity };
    let mut session = Session::open(shared, conn, control_fd, opened)?;
    session.advisory.import(lock_files, state.locks);
    for channel in &state.listening {
        if let Err(e) = session.notify.subscriber.listen(channel) {
            warn!(channel, error = %e, "a moved session could not listen again");
        }
    }
    session.restore_statements(state.statements, state.stale);
    info!(
        statements = session.statements.len(),
        stale = session.stale.len(),
        "session resumed after a reload"
    );
    session.serve_to_end()
}
