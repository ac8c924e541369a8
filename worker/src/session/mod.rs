//! One client session on its own thread: startup, then messages until the client
//! leaves. Phases follow the protocol: startup ([`startup`]) with TLS ([`handshake`]),
//! authenticating ([`authenticate`]), ready or in a transaction ([`query`]).
//! How a step or the whole session fails, and how that reaches the client, is in
//! [`error`].

mod authenticate;
mod catalog;
mod conn;
mod copy;
mod cursor;
mod error;
mod extended;
mod handover;
mod handshake;
pub(crate) mod notify;
mod plans;
mod portal;
mod prepare;
mod query;
mod savepoints;
pub mod settings;
mod startup;

use std::collections::{HashMap, HashSet};
use std::os::fd::OwnedFd;
use std::rc::Rc;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

use mallard_protocol::channel::{FromWorker, SessionId};
use mallard_protocol::pg::backend::{ErrorInfo, Message};
use mallard_protocol::pg::frontend;
use mallard_protocol::pg::{Format, SqlState, TransactionStatus};
use rand::RngCore;
use tracing::{debug, field, info, info_span, warn};

use crate::catalog::snapshot::Source;
use crate::duck::Connection;
use crate::main_loop::Handoff;
use crate::sessions::Control;
use crate::shared::Shared;
use conn::{Conn, ReadError, Stream};
pub use error::{SessionError, StepError};
use query::Transaction;

pub(crate) struct Session<'s> {
    shared: &'s Shared,
    /// The supervisor's number for the session, kept when it moves at a reload.
    id: SessionId,
    conn: &'s mut Conn,
    duck: Connection,
    control: Arc<Control>,
    tx: Transaction,
    /// The open transaction block was started `READ ONLY`.
    read_only: bool,
    /// The open transaction wrote to the lake: its commit takes the lake's commit lock.
    lake_wrote: bool,
    /// The lake's commit lock, held from before a single write statement's snapshot to
    /// its commit (see `Session::note_lake_write`).
    lake_token: Option<crate::storage::CommitToken<'s>>,
    /// Prepared statements by name; `""` is the unnamed one.
    statements: HashMap<String, Rc<portal::Statement>>,
    /// Named statements a reload's move could not prepare again as they were: using
    /// one is refused, as PostgreSQL refuses a cached plan whose result changed.
    stale: HashSet<String>,
    /// The session said once why it cannot move at this reload, and drains.
    stays: bool,
    /// What simple queries and unnamed statements prepared, for their next time.
    plans: plans::Plans,
    /// Portals (and SQL cursors) by name; `""` is the unnamed one.
    portals: HashMap<String, portal::Portal>,
    /// The portal whose DuckDB result is still streaming, if any.
    live: Option<String>,
    /// After an error in an extended batch, messages are discarded until Sync.
    skip_to_sync: bool,
    /// `ReadyForQuery` went out and no message came since: the idle timeouts run.
    awaiting_command: bool,
    settings: settings::Settings,
    savepoints: savepoints::Savepoints,
    /// The session's advisory locks, released when it ends.
    advisory: crate::advisory::Registration,
    /// What `set_config()` calls of the running statement asked for.
    config_calls: settings::set_config::Registration,
    /// The session's row in the server's session table, and its backend pid.
    activity: crate::activity::Slot<'s>,
    /// Who the SQL functions acting on other sessions act for.
    caller: crate::activity::functions::Registration,
    /// LISTEN/NOTIFY: what the session listens on, and its transaction's share.
    notify: notify::Notify<'s>,
    /// A statement that may change the catalog ran since the worker's relation cache was
    /// last invalidated: it is invalidated once the transaction ends, and not used before.
    catalog_changed: bool,
    /// Which rows its catalog views read.
    catalog: catalog::CatalogView<'s>,
    /// A statement may have changed the DuckDB connection's own state (`USE`, `PRAGMA`,
    /// ...): the connection closes with the session instead of serving the next one.
    changed_connection: bool,
    /// The session took a DuckDB connection an earlier one left.
    reused_connection: bool,
}

/// How a session thread's work ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ended {
    /// The client left, or the session ended it.
    Closed,
    /// It moved to the next generation at a reload: the client socket went with it.
    Moved,
}

/// Serves one handed-off client until it leaves or moves; logs how it ended.
pub fn serve(shared: &Shared, handoff: Handoff, fd: OwnedFd) -> Ended {
    let Handoff { session: id, pid, peer, .. } = handoff;
    let span = info_span!("session", id = %id, backend_pid = pid, peer = %peer, user = field::Empty, database = field::Empty);
    let _entered = span.enter();
    let control_fd = match fd.try_clone() {
        Ok(c) => c,
        Err(e) => {
            warn!(error = %e, "could not duplicate the client socket");
            return Ended::Closed;
        }
    };
    let mut conn = Conn::new(Stream::new(fd, peer));
    match run(shared, handoff, &mut conn, control_fd, &span) {
        Ok(()) => debug!("session ended"),
        // Not a byte more to the client: it is the next generation's.
        Err(SessionError::Moved) => return Ended::Moved,
        Err(SessionError::Read(ReadError::Eof)) => info!("client closed the connection without Terminate"),
        // PostgreSQL too closes without a word when authentication_timeout passes.
        Err(SessionError::Read(ReadError::TimedOut)) => warn!(
            startup_timeout_ms = shared.config.startup_timeout.as_millis() as u64,
            "startup timeout: closing a client that did not finish startup in time"
        ),
        Err(SessionError::Read(ReadError::Startup(e))) if !e.answerable() => {
            warn!(error = %e, "closing a connection that does not speak the PostgreSQL protocol");
        }
        // Nothing is sent: the socket is closed, or rustls has sent its alert.
        Err(SessionError::Tls(e)) => {
            warn!(error = %e, cause = ?std::error::Error::source(&e), "TLS handshake failed")
        }
        Err(e @ SessionError::DirectTlsRefused(_)) => warn!(error = %e, "closing the connection"),
        Err(err) => {
            let info = err.fatal();
            match &info {
                Some(i) => warn!(sqlstate = %i.code, error = %i.message, "session ended with FATAL"),
                None => warn!(error = %err, "session failed"),
            }
            if let Some(info) = info {
                conn.send(&Message::ErrorResponse(info));
                let _ = conn.flush();
            }
        }
    }
    conn.close();
    Ended::Closed
}

fn run(
    shared: &Shared,
    mut handoff: Handoff,
    conn: &mut Conn,
    control_fd: OwnedFd,
    span: &tracing::Span,
) -> Result<(), SessionError> {
    if let Some(moved) = handoff.moved.take() {
        return handover::resume(shared, &handoff, conn, control_fd, moved, span);
    }
    // One deadline for the whole startup, however slowly the bytes come: a client that
    // sends a byte a second must not hold a thread for longer. It covers the TLS
    // handshake and everything before AuthenticationOk.
    let deadline = Instant::now() + shared.config.startup_timeout;
    conn.set_deadline(Some(deadline)).map_err(SessionError::Io)?;
    let policy = startup::Policy { config: &shared.config, tls: shared.tls.as_ref(), deadline };
    let startup = match startup::negotiate(conn, &policy)? {
        startup::Outcome::Cancel { pid, secret } => {
            cancel(shared, pid, &secret);
            return Ok(());
        }
        startup::Outcome::Session(s) => s,
    };
    // As in PostgreSQL, a cancel request is served even when the server is full; a
    // session is not. The refusal comes after TLS, so a TLS client reads it. A
    // connection counts toward max_connections from here, once its startup packet is
    // read: silent sockets only fill the supervisor's larger cap.
    let too_many = || {
        SessionError::Fatal(ErrorInfo::fatal(
            SqlState::TOO_MANY_CONNECTIONS,
            "sorry, too many clients already",
        ))
    };
    if handoff.full {
        return Err(too_many());
    }
    let now = crate::activity::now_micros();
    let row = crate::activity::Activity {
        pid: handoff.pid,
        worker_pid: shared.pid,
        generation: shared.generation.0,
        backend_start: now,
        xact_start: None,
        query_start: None,
        state_change: Some(now),
        state: crate::activity::State::Starting,
        tls: conn.is_tls(),
        peer: handoff.peer,
        database: startup.database.clone(),
        user: startup.user.clone(),
        application_name: startup.application_name.clone(),
        query: String::new(),
    };
    let Some(activity) = crate::activity::Slot::admit(
        &shared.activity,
        shared.config.max_connections,
        shared.config.track_activities,
        row,
    ) else {
        info!(max_connections = shared.config.max_connections, "too many clients; refusing the session");
        return Err(too_many());
    };
    span.record("user", startup.user.as_str());
    span.record("database", startup.database.as_str());
    // As in PostgreSQL, the rules see the database name before anyone learns whether it
    // exists.
    authenticate::authenticate(conn, &shared.auth, &handoff.peer, &startup)?;
    startup::check_database(&startup, &shared.config)?;

    // The configured defaults come first, so that the client's startup parameters
    // override them, as they override postgresql.conf in PostgreSQL.
    let mut params = shared.config.setting_defaults();
    params.extend(startup.params.iter().cloned());
    let settings = settings::Settings::new(&startup.user, &params).map_err(SessionError::Fatal)?;

    // Protocol 3.2 allows keys up to 256 bytes; 3.0 clients expect exactly 4.
    let mut secret = vec![0u8; if startup.minor >= 2 { 32 } else { 4 }];
    rand::thread_rng().fill_bytes(&mut secret);
    let opened =
        Opened { id: handoff.session, user: &startup.user, settings, secret: secret.clone(), activity };
    let mut session = Session::open(shared, conn, control_fd, opened)?;

    session.conn.send(&Message::AuthenticationOk);
    for status in session.settings.take_reports() {
        session.conn.send(&status);
    }
    session.conn.send(&Message::BackendKeyData { pid: handoff.pid, secret });
    session.conn.send(&Message::ReadyForQuery(TransactionStatus::Idle));
    session.activity.idle(crate::activity::State::Idle);
    session.conn.flush().map_err(SessionError::Io)?;
    session.conn.set_deadline(None).map_err(SessionError::Io)?;
    info!(
        application_name = startup.application_name.as_str(),
        tls = session.conn.is_tls(),
        reused_connection = session.reused_connection,
        reused_plans = session.plans.len(),
        "session started"
    );
    session.serve_to_end()
}

/// What a session that ends leaves in its DuckDB connection for the next session of the
/// worker to take (see `Session::serve_to_end`).
struct Left {
    /// DuckDB's `search_path` and `TimeZone`, as the settings showed them.
    settings: [String; 2],
    /// What the variable that chooses the catalog's source says.
    catalog: Option<Source>,
    /// The statements it prepared for simple queries and unnamed `Parse`s.
    plans: plans::Parked,
}

/// What a session starts from, new or resumed after a reload.
struct Opened<'a, 's> {
    id: SessionId,
    user: &'a str,
    settings: settings::Settings,
    secret: Vec<u8>,
    /// Its row in the session table, whose pid is its backend pid.
    activity: crate::activity::Slot<'s>,
}

fn could_not_open(e: crate::duck::DuckError) -> SessionError {
    SessionError::Fatal(ErrorInfo::fatal(SqlState::INTERNAL_ERROR, format!("could not open a session: {e}")))
}

/// A cancel request: ours if the session is this worker's, else the supervisor forwards
/// it to the worker that owns the pid. Either way the requester just gets a close.
fn cancel(shared: &Shared, pid: u32, secret: &[u8]) {
    if shared.sessions.contains(pid) {
        let hit = shared.sessions.cancel(pid, secret);
        debug!(backend_pid = pid, hit, "cancel request");
    } else {
        let _ = shared.channel.send(&FromWorker::Cancel { pid, secret: secret.to_vec() });
    }
}

impl<'s> Session<'s> {
    /// A session's DuckDB connection and its registrations (cancel, advisory locks,
    /// `set_config()`, LISTEN), with nothing sent to the client yet.
    fn open(
        shared: &'s Shared,
        conn: &'s mut Conn,
        control_fd: OwnedFd,
        opened: Opened<'_, 's>,
    ) -> Result<Session<'s>, SessionError> {
        let Opened { id, user, mut settings, secret, activity } = opened;
        let pid = activity.activity.pid;
        // A connection an earlier session of the worker left clean saves the new
        // session a DuckDB connection and the statement that sets its search_path: a
        // fifth of a short connection's work.
        let (duck, left) = Connection::reuse_or_connect(&shared.db).map_err(could_not_open)?;
        let left = left.and_then(|note| note.downcast::<Left>().ok());
        let reused_connection = left.is_some();
        let settings_left = left.as_ref().map(|l| &l.settings);
        settings.open_duckdb(&duck, &shared.config.database, settings_left).map_err(could_not_open)?;
        let (catalog_source, plans) = match left.map(|l| *l) {
            Some(Left { catalog, plans, .. }) => (catalog, plans::Plans::take_up(plans, user, &duck)),
            None => (Some(Source::Live), plans::Plans::default()),
        };
        conn.set_encoding(crate::encoding::session_encoding(settings.client_encoding()));
        let control = Arc::new(Control::new(secret, duck.interrupter(), control_fd, conn.is_tls()));
        shared.sessions.insert(pid, Arc::clone(&control));
        let caller = crate::activity::functions::Registration::new(&duck, pid, user);
        let advisory =
            crate::advisory::Registration::new(&duck, &shared.config.data_dir, Arc::clone(&control));
        let config_calls = settings::set_config::Registration::new(&duck);
        let notify = notify::Notify::new(
            crate::notifications::Subscriber::new(&shared.listeners, id),
            notify::function::Registration::new(&duck),
        );
        Ok(Session {
            shared,
            id,
            conn,
            duck,
            control,
            tx: Transaction::default(),
            read_only: false,
            lake_wrote: false,
            lake_token: None,
            settings,
            savepoints: savepoints::Savepoints::default(),
            advisory,
            config_calls,
            activity,
            caller,
            notify,
            catalog_changed: false,
            catalog: catalog::CatalogView::new(&shared.snapshot, catalog_source),
            changed_connection: false,
            reused_connection,
            statements: HashMap::new(),
            stale: HashSet::new(),
            stays: false,
            plans,
            portals: HashMap::new(),
            live: None,
            skip_to_sync: false,
            awaiting_command: true,
        })
    }

    /// Serves the client until it leaves. A session that ends cleanly and left
    /// nothing of its own in its DuckDB connection hands the connection to the
    /// worker's next session, once everything of this one is gone (its statements, and
    /// its registrations, which are keyed by the connection).
    fn serve_to_end(mut self) -> Result<(), SessionError> {
        let ended = self.message_loop();
        let clean = matches!(ended, Ok(()) | Err(SessionError::Read(ReadError::Eof)));
        let keep = clean.then(|| self.left_clean()).flatten();
        let Some((settings, catalog)) = keep else { return ended };
        let duck = self.duck.share();
        let user = self.settings.get("session_authorization").unwrap_or_default().to_owned();
        let plans = std::mem::take(&mut self.plans);
        // The session's portals and named statements go first, and with them every
        // other handle on a kept statement.
        drop(self);
        let plans = plans.park(&user);
        duck.keep_for_next(Box::new(Left { settings, catalog, plans }));
        ended
    }

    /// What the session leaves in its DuckDB connection, if that is all it leaves:
    /// outside a transaction, no result still open, no statement that changes the
    /// connection's own state, nothing the catalog view knows of. Never on a lake,
    /// whose statements cost milliseconds anyway and whose per-connection state is
    /// DuckLake's.
    fn left_clean(&self) -> Option<([String; 2], Option<Source>)> {
        if self.shared.lake.is_some()
            || self.tx != Transaction::Idle
            || self.live.is_some()
            || self.changed_connection
        {
            return None;
        }
        let catalog = self.catalog.left_clean()?;
        Some((self.settings.duckdb_left()?, catalog))
    }

    /// This session's backend pid, as `BackendKeyData` gave it and `pg_backend_pid()`
    /// answers: what a notification it sends carries.
    fn backend_pid(&self) -> u32 {
        self.activity.activity.pid
    }

    /// `statement_timeout`, when set.
    fn statement_timeout(&self) -> Option<std::time::Duration> {
        self.settings.statement_timeout()
    }

    /// Runs one client statement, counted and timed in the worker's stats (see
    /// [`crate::stats`] for what counts).
    fn counted<T>(&mut self, statement: impl FnOnce(&mut Self) -> T) -> T {
        let started = std::time::Instant::now();
        let outcome = statement(self);
        self.shared.stats.statement(started.elapsed());
        self.sync_encoding();
        outcome
    }

    /// Speaks the client encoding the settings now hold: as in PostgreSQL, a `SET
    /// client_encoding` (or its undoing) applies from the next statement on.
    /// Every statement asks, so the usual answer (no change) costs two comparisons.
    pub(super) fn sync_encoding(&mut self) {
        let shown = self.settings.client_encoding();
        let converted = (!matches!(shown, "UTF8" | "UNICODE" | "SQL_ASCII")).then_some(shown);
        if self.conn.encoding().map(|e| e.name) != converted {
            self.conn.set_encoding(crate::encoding::session_encoding(shown));
        }
    }

    /// The idle timeout in force while waiting for the next command, and the FATAL error
    /// it ends the session with: PostgreSQL's `idle_session_timeout` outside a
    /// transaction block, `idle_in_transaction_session_timeout` inside one.
    fn idle_timeout(&self) -> Option<(Duration, ErrorInfo)> {
        if !self.awaiting_command {
            return None;
        }
        Some(match self.tx.status() {
            TransactionStatus::Idle => (
                self.settings.idle_session_timeout()?,
                ErrorInfo::fatal(
                    SqlState::IDLE_SESSION_TIMEOUT,
                    "terminating connection due to idle-session timeout",
                ),
            ),
            TransactionStatus::InBlock | TransactionStatus::Failed => (
                self.settings.idle_in_transaction_timeout()?,
                ErrorInfo::fatal(
                    SqlState::IDLE_IN_TRANSACTION_SESSION_TIMEOUT,
                    "terminating connection due to idle-in-transaction timeout",
                ),
            ),
        })
    }

    /// Reads the next message, within the idle timeout when one runs.
    fn next_message(&mut self) -> Result<Vec<u8>, SessionError> {
        let idle = self.idle_timeout();
        if let Some((timeout, _)) = &idle {
            self.conn.set_deadline(Some(Instant::now() + *timeout)).map_err(SessionError::Io)?;
        }
        let max = self.shared.config.max_message_size;
        let frame = loop {
            // A reload's drain: a quiet session moves to the next generation here.
            if self.awaiting_command
                && self.shared.handing_over.load(Ordering::Relaxed)
                && self.try_hand_over()?
            {
                return Err(SessionError::Moved);
            }
            // Waiting for an idle client outside a block, the drain may wake us to move
            // (not once the session knows it stays: the drain's wake-ups repeat).
            let wakeable = self.awaiting_command
                && self.tx == Transaction::Idle
                && !self.stays
                && self.conn.plain_socket().is_some();
            self.conn.set_wakeable(wakeable);
            self.control.set_reading(wakeable);
            let frame = self.await_client().and_then(|()| self.conn.read_session_message(max));
            self.control.set_reading(false);
            self.conn.set_wakeable(false);
            match frame {
                Err(ReadError::Woken) => continue,
                other => break other,
            }
        };
        if idle.is_some() {
            // The statement the message starts (a COPY among them) runs without it.
            self.conn.set_deadline(None).map_err(SessionError::Io)?;
        }
        self.awaiting_command = false;
        match frame {
            Ok(frame) => Ok(frame),
            Err(_) if self.control.is_terminating() => Err(SessionError::Terminated),
            Err(ReadError::TimedOut) => {
                Err(SessionError::Fatal(idle.expect("only idle reads have a deadline").1))
            }
            Err(e) => Err(e.into()),
        }
    }

    /// Answers a message whose body does not parse. Its length was right, so the next
    /// message can still be found: like PostgreSQL, the client gets an ERROR and the
    /// session goes on (after the next Sync, in an extended batch).
    fn malformed(&mut self, tag: u8, error: frontend::DecodeError) -> Result<(), SessionError> {
        self.refuse(tag, StepError::query(error.sqlstate(), error.to_string()))
    }

    /// Converts the strings of a message from the client's encoding; a message that
    /// cannot be converted is refused (with its tag) as a malformed one is.
    fn to_server(&self, frame: Vec<u8>) -> Result<Vec<u8>, (u8, StepError)> {
        let Some(encoding) = self.conn.encoding() else { return Ok(frame) };
        let convert = |text: &[u8]| encoding.decode(text).map(|t| t.into_owned());
        match mallard_protocol::pg::transcode::frontend(&frame, convert) {
            Ok(Some(converted)) => Ok(converted),
            Ok(None) => Ok(frame),
            Err(e) => Err((frame[0], e.into())),
        }
    }

    /// Answers a message that cannot be used with `error`, keeping the session.
    fn refuse(&mut self, tag: u8, error: StepError) -> Result<(), SessionError> {
        match tag {
            // PostgreSQL ignores these outside COPY without reading them.
            b'd' | b'c' | b'f' => Ok(()),
            b'P' | b'B' | b'D' | b'E' | b'C' | b'H' => {
                self.report(error)?;
                self.conn.flush().map_err(SessionError::Io)?;
                self.skip_to_sync = true;
                Ok(())
            }
            _ => {
                // Even a malformed Sync ends a failed batch, as in PostgreSQL.
                self.skip_to_sync &= tag != b'S';
                self.report(error)?;
                self.ready_for_query()
            }
        }
    }

    fn message_loop(&mut self) -> Result<(), SessionError> {
        let max = self.shared.config.max_message_size;
        loop {
            let frame = self.next_message()?;
            // In a failed extended batch, everything up to Sync is discarded unread.
            if self.skip_to_sync && !matches!(frame[0], b'S' | b'X') {
                continue;
            }
            let frame = match self.to_server(frame) {
                Ok(frame) => frame,
                Err((tag, e)) => {
                    self.refuse(tag, e)?;
                    continue;
                }
            };
            let message = match frontend::decode(&frame, max) {
                Ok(decoded) => decoded.expect("read_session_message returns whole messages").0,
                Err(e) => {
                    self.malformed(frame[0], e)?;
                    continue;
                }
            };
            let step = match message {
                frontend::Message::Query(sql) => {
                    self.activity.statement(sql, self.tx != Transaction::Idle);
                    self.simple_query(sql)?;
                    Ok(())
                }
                frontend::Message::Terminate => return Ok(()),
                frontend::Message::Flush => self.conn.flush().map_err(StepError::from),
                frontend::Message::Sync => {
                    self.sync()?;
                    Ok(())
                }
                frontend::Message::Parse { name, query, param_types } => {
                    self.parse(name, query, &param_types)
                }
                frontend::Message::Bind { portal, statement, param_formats, params, result_formats } => {
                    match bind_params(&param_formats, &params) {
                        Ok(raw) => self.bind(portal, statement, raw, result_formats),
                        Err(e) => Err(e),
                    }
                }
                frontend::Message::Describe { target, name } => self.describe(target, name),
                frontend::Message::Execute { portal, max_rows } => {
                    if let Some(p) = self.portals.get(portal) {
                        self.activity.statement(&p.statement.text, self.tx != Transaction::Idle);
                    }
                    let limit = u64::try_from(max_rows).ok().filter(|&n| n > 0);
                    self.counted(|s| s.execute_portal(portal, limit, false))
                }
                frontend::Message::Close { target, name } => {
                    self.close(target, name);
                    Ok(())
                }
                // Outside COPY these are ignored, as the protocol says.
                frontend::Message::CopyData(_)
                | frontend::Message::CopyDone
                | frontend::Message::CopyFail(_) => Ok(()),
                // A function call keeps the message boundaries: an ERROR, as for any
                // statement mallard cannot run, then ReadyForQuery.
                frontend::Message::Unknown { tag: b'F', .. } => {
                    self.report(StepError::query(
                        SqlState::FEATURE_NOT_SUPPORTED,
                        "fastpath function calls are not supported",
                    ))?;
                    self.ready_for_query()?;
                    Ok(())
                }
                // `read_session_message` refuses the other types from their first byte.
                frontend::Message::Password(_) | frontend::Message::Unknown { .. } => {
                    let refused = frontend::DecodeError::UnexpectedType { tag: message.tag() };
                    return Err(ReadError::Message(refused).into());
                }
            };
            if let Err(e) = step {
                self.report(e)?;
                // PostgreSQL sends an error at once, without waiting for Sync or Flush.
                self.conn.flush().map_err(SessionError::Io)?;
                self.skip_to_sync = true;
            }
            if self.control.is_terminating() {
                return Err(SessionError::Terminated);
            }
        }
    }
}

/// Pairs `Bind` parameter values with their formats: none given means all text, one
/// applies to all, otherwise one per value.
fn bind_params<'a>(
    formats: &[Format],
    values: &[Option<&'a [u8]>],
) -> Result<Vec<extended::RawParam<'a>>, StepError> {
    if formats.len() > 1 && formats.len() != values.len() {
        return Err(StepError::query(
            SqlState::PROTOCOL_VIOLATION,
            format!("bind message has {} parameter formats but {} parameters", formats.len(), values.len()),
        ));
    }
    Ok(values
        .iter()
        .enumerate()
        .map(|(i, bytes)| extended::RawParam { format: portal::format_of(formats, i), bytes: *bytes })
        .collect())
}
