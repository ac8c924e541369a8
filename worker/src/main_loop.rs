//! The worker's main loop: open the database, report `Ready`, then take packets from
//! the supervisor: handoffs become session threads, pings get the statement counts
//! since the last ping and a pong, notifications go to the mailboxes of the sessions
//! that listen, a drain ends the worker once its sessions are done.

use std::os::fd::OwnedFd;
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use mallard_protocol::channel::{FromWorker, Generation, Peer, SessionId, ToWorker, WorkerId};
use tracing::{error, info, info_span, warn};

use crate::activity::Segment;
use crate::auth::Authenticator;
use crate::catalog::relations::Relations;
use crate::catalog::snapshot::Snapshot;
use crate::channel::{Channel, ChannelError};
use crate::config::WorkerConfig;
use crate::notifications::Listeners;
use crate::session;
use crate::session_threads::SessionThreads;
use crate::sessions::Sessions;
use crate::shared::Shared;
use crate::stats::Stats;
use crate::storage::{self, StorageError};

/// The worker's session threads.
static SESSION_THREADS: SessionThreads = SessionThreads::new();
/// How long a worker whose supervisor vanished lets its sessions finish.
const ORPHAN_DRAIN: Duration = Duration::from_secs(30);

/// Why a worker could not start, or stopped serving.
#[derive(Debug, thiserror::Error)]
pub enum WorkerError {
    #[error(transparent)]
    Storage(#[from] StorageError),
    #[error("supervisor channel failed")]
    Channel(#[source] ChannelError),
    #[error("could not load the TLS certificate and key")]
    Tls(#[source] crate::tls::TlsError),
}

/// Runs a worker until its supervisor drains it or goes away.
pub fn run(
    channel: OwnedFd,
    activity: Segment,
    id: WorkerId,
    generation: Generation,
    config: WorkerConfig,
) -> Result<(), WorkerError> {
    crate::sys::die_with_parent();
    let pid = std::process::id();
    let span = info_span!("worker", id = %id, pid, generation = %generation);
    let _entered = span.enter();

    let tls = load_tls(&config)?;
    let storage::Opened { db, lake } = storage::open(&config)?;
    crate::sql::translate::keep_declared_types(lake.is_none());
    // A DuckLake catalog changes under other workers' and hosts' DDL too.
    let relations = Relations::new(config.storage != storage::Storage::Ducklake);
    let snapshot =
        Snapshot::new(Arc::clone(&db), &config.database, config.storage != storage::Storage::Ducklake);
    let shared = Arc::new(Shared {
        auth: Authenticator::new(&config.auth),
        config,
        tls,
        db,
        lake,
        channel: Channel::new(channel),
        sessions: Sessions::default(),
        listeners: Listeners::default(),
        stats: Stats::default(),
        relations,
        snapshot,
        pid,
        generation,
        activity,
        live: AtomicUsize::new(0),
        handing_over: AtomicBool::new(false),
    });
    if let Err(e) = crate::sys::install_wake_signal() {
        warn!(error = %e, "could not install the session wake-up signal; sessions will drain at reloads instead of moving");
    }
    crate::activity::functions::serve_for(&shared);
    crate::threads::start(&shared);
    shared.channel.send(&FromWorker::Ready { pid }).map_err(WorkerError::Channel)?;
    info!(storage = shared.config.storage.as_str(), "worker ready");

    loop {
        let packet = shared.channel.recv().map_err(WorkerError::Channel)?;
        let Some((message, fds)) = packet else {
            warn!("supervisor closed the channel; finishing sessions");
            drain(&shared, ORPHAN_DRAIN);
            return Ok(());
        };
        let mut fds = fds.into_iter();
        match message {
            ToWorker::Handoff { session, pid, peer, full } => {
                let socket = fds.next().expect("Channel::recv checks the fds");
                start_session(&shared, Handoff { session, pid, peer, full, moved: None }, socket, &span)
            }
            ToWorker::Resume { session, pid, peer } => {
                let (socket, state) = (fds.next(), fds.next());
                let (socket, state) = socket.zip(state).expect("Channel::recv checks the fds");
                let moved = Some((state, fds.collect()));
                start_session(&shared, Handoff { session, pid, peer, full: false, moved }, socket, &span)
            }
            ToWorker::Ping { seq } => {
                send_stats(&shared).map_err(WorkerError::Channel)?;
                shared.channel.send(&FromWorker::Pong { seq }).map_err(WorkerError::Channel)?
            }
            ToWorker::Drain { timeout_ms, hand_over } => {
                let shared = Arc::clone(&shared);
                let span = span.clone();
                if hand_over {
                    info!(
                        sessions = shared.live.load(Ordering::SeqCst),
                        "handing sessions over to the new generation"
                    );
                    shared.handing_over.store(true, Ordering::SeqCst);
                    let tls = shared.sessions.over_tls();
                    if tls > 0 {
                        info!(
                            sessions = tls,
                            "TLS: the encryption state cannot leave this process; these sessions drain"
                        );
                    }
                }
                // The main loop keeps answering pings while sessions finish.
                thread::spawn(move || {
                    let _entered = span.enter();
                    let terminated = drain(&shared, Duration::from_millis(timeout_ms));
                    checkpoint_before_exit(&shared);
                    // Everything counted goes out, however many packets it takes.
                    while send_stats(&shared).unwrap_or(false) {}
                    let _ = shared.channel.send(&FromWorker::Drained { terminated });
                    info!("drained; exiting");
                    std::process::exit(0);
                });
            }
            ToWorker::Cancel { pid, secret } => {
                shared.sessions.cancel(pid, &secret);
            }
            ToWorker::Signal { pid, signal } => {
                shared.sessions.signal(pid, signal);
            }
            ToWorker::Notify { sender, channel, payload } => {
                shared.listeners.deliver(sender, &channel, &payload)
            }
        }
    }
}

/// Loads the certificate and key now, so a worker that cannot serve TLS never becomes
/// ready (and a reload onto bad files fails while the old generation serves).
fn load_tls(config: &WorkerConfig) -> Result<Option<Arc<rustls::ServerConfig>>, WorkerError> {
    let Some(loaded) = crate::tls::load(&config.tls).map_err(WorkerError::Tls)? else { return Ok(None) };
    let cert = loaded.cert_file.display().to_string();
    match &loaded.summary {
        Some(s) if s.expired() => {
            warn!(ssl = config.tls.ssl.as_str(), cert, subject = s.subject, expires = %s.expires(), "TLS certificate has EXPIRED")
        }
        Some(s) => {
            info!(ssl = config.tls.ssl.as_str(), cert, subject = s.subject, expires = %s.expires(), "TLS enabled")
        }
        None => info!(ssl = config.tls.ssl.as_str(), cert, "TLS enabled"),
    }
    Ok(Some(loaded.config))
}

/// A client the supervisor handed over: its session number, backend pid and address,
/// and whether the server was already full; for a session another worker handed over
/// at a reload, the memfd of its state and its advisory lock files.
#[derive(Debug)]
pub struct Handoff {
    pub session: SessionId,
    pub pid: u32,
    pub peer: Peer,
    pub full: bool,
    pub moved: Option<(OwnedFd, Vec<OwnedFd>)>,
}

fn start_session(shared: &Arc<Shared>, handoff: Handoff, fd: OwnedFd, worker_span: &tracing::Span) {
    let (session, pid) = (handoff.session, handoff.pid);
    // Acknowledge before anything is read from the client: until this arrives, the
    // supervisor may still route the socket elsewhere if this worker dies.
    if let Err(e) = shared.channel.send(&FromWorker::SessionOpened { session }) {
        error!(session = %session, error = %e, "could not acknowledge a handoff");
    }
    shared.live.fetch_add(1, Ordering::SeqCst);
    let thread_shared = Arc::clone(shared);
    let span = worker_span.clone();
    let spawned = SESSION_THREADS.run(format!("session-{session}"), move || {
        let _entered = span.enter();
        // A panic is a bug, but it must end only its session: the unwind closes the
        // client's socket, and the session is still deregistered (its registry entry
        // holds a duplicate of the socket, which would keep the client waiting).
        let served = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            session::serve(&thread_shared, handoff, fd)
        }));
        if served.is_err() {
            error!(session = %session, "session thread panicked; its client is disconnected");
        }
        thread_shared.sessions.remove(pid);
        // A session that moved was reported by its `Moved` packet.
        if !matches!(served, Ok(session::Ended::Moved)) {
            let _ = thread_shared.channel.send(&FromWorker::SessionClosed { session });
        }
        if thread_shared.live.fetch_sub(1, Ordering::SeqCst) == 1 {
            idle_again();
        }
    });
    if let Err(e) = spawned {
        // The fd moved into the closure and was closed with it; the client sees EOF.
        error!(session = %session, error = %e, "could not start a session thread");
        let _ = shared.channel.send(&FromWorker::SessionClosed { session });
        shared.live.fetch_sub(1, Ordering::SeqCst);
    }
}

/// The last session ended: the memory the sessions freed goes back to the system, at
/// most once a second (clients that reconnect for every statement make a worker idle
/// often).
fn idle_again() {
    static LAST: AtomicI64 = AtomicI64::new(0);
    let now = crate::activity::now_micros();
    let last = LAST.load(Ordering::Relaxed);
    if now.saturating_sub(last) >= 1_000_000
        && LAST.compare_exchange(last, now, Ordering::Relaxed, Ordering::Relaxed).is_ok()
    {
        crate::sys::release_free_memory();
    }
}

/// Sends the statement counts since the last call, if there are any. Returns whether
/// it sent a packet: error classes that did not fit wait for the next one.
fn send_stats(shared: &Shared) -> Result<bool, ChannelError> {
    let delta = shared.stats.take_delta();
    if delta.is_empty() {
        return Ok(false);
    }
    shared.channel.send(&FromWorker::Stats(delta))?;
    Ok(true)
}

/// The worker exits without closing its database: a read-write file would keep its
/// write-ahead log, and the next worker to open it (at a reload, at once) would replay
/// all of it, more at every reload. A checkpoint writes it into the file first.
fn checkpoint_before_exit(shared: &Shared) {
    if !shared.config.storage.exclusive_writer(shared.config.read_only) {
        return;
    }
    let started = Instant::now();
    let sql = format!("CHECKPOINT {}", crate::duck::quote_ident(&shared.config.database));
    match shared.connect().and_then(|c| crate::duck::exec(&c, &sql)) {
        Ok(()) => info!(ms = started.elapsed().as_millis() as u64, "checkpoint before exit"),
        Err(e) => warn!(error = %e, "checkpoint before exit failed; the next worker replays the log"),
    }
}

/// Waits for sessions to end (or, at a reload, to move), up to `timeout`; then ends the
/// rest with 57P01 and gives them a moment to say so. While sessions may move, the idle
/// ones are woken every round: a wake-up that comes just before a session starts to
/// read is lost, and the next one finds it reading.
/// Returns how many sessions the timeout ended.
fn drain(shared: &Shared, timeout: Duration) -> u32 {
    let deadline = Instant::now() + timeout;
    let busy = || shared.live.load(Ordering::SeqCst) > 0;
    let moving = shared.handing_over.load(Ordering::SeqCst);
    while busy() && Instant::now() < deadline {
        if moving {
            shared.sessions.wake_idle();
        }
        thread::sleep(Duration::from_millis(20));
    }
    if moving {
        // One line per worker and reload: what moved, and what the drain timeout ends.
        let left = shared.live.load(Ordering::SeqCst);
        info!(moved = shared.sessions.moved(), ending = left, "reload handover over");
    }
    if !busy() {
        return 0;
    }
    let terminated = shared.live.load(Ordering::SeqCst);
    info!(sessions = terminated, "drain timeout; terminating sessions");
    shared.sessions.terminate_all();
    let grace = Instant::now() + Duration::from_secs(2);
    while busy() && Instant::now() < grace {
        thread::sleep(Duration::from_millis(10));
    }
    terminated as u32
}
