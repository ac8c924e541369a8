//! The supervisor's one-thread event loop: what it owns, and how each turn goes. It never
//! reads from a client. Each concern has its own file:
//!
//! - [`clients`]: accept, route to the least loaded ready worker, hand off, queue;
//! - [`workers`]: spawn, read and write their channels, ping, reap and replace;
//! - [`notifications`]: LISTEN/NOTIFY, one worker's notifications to all the others;
//! - [`admin`]: the admin socket's connections and commands;
//! - [`status`]: `mallard status`, systemd's `STATUS=` and `READY=1`, metrics gauges;
//! - [`scrape`]: the Prometheus endpoint;
//! - [`shutdown`]: signals, and stopping smart, fast or at once;
//! - [`reload`]: the steps [`crate::reload::Reload`] decides, carried out;
//! - [`reexec`]: what crosses `execv`: saving this image, resuming in the next.

mod admin;
mod clients;
mod notifications;
mod reexec;
mod reload;
mod scrape;
mod shutdown;
mod status;
mod workers;

use std::collections::VecDeque;
use std::os::fd::AsRawFd;
use std::path::PathBuf;
use std::time::Instant;

use mallard_protocol::channel::{Generation, WorkerId};
use mallard_worker::activity::Segment;
use mio::net::{TcpListener, TcpStream, UnixListener, UnixStream};
use mio::unix::SourceFd;
use mio::{Events, Interest, Poll, Token};
use tracing::{error, info};

use self::clients::Pending;
use self::shutdown::Shutdown;
use self::workers::Slot;
use crate::backends::Backends;
use crate::config::Config;
use crate::conns::Conns;
use crate::listeners::Listener;
use crate::metrics::Metrics;
use crate::notify::Notifier;
use crate::pool::{Pool, Restarts, WorkerState};
use crate::reload::{Launch, Reload, READY_TIMEOUT};
use crate::signals::Signals;
use crate::sys;

const SIGNAL_TOKEN: Token = Token(0);
const LISTENER_BASE: usize = 1;
const ADMIN_TOKEN: Token = Token(1 << 10);
const METRICS_TOKEN: Token = Token((1 << 10) + 1);
const ADMIN_CONN_BASE: usize = 1 << 16;
const METRICS_CONN_BASE: usize = 1 << 17;
const WORKER_BASE: usize = 1 << 20;

#[derive(Debug, thiserror::Error)]
pub enum ServerError {
    #[error("could not set up the event loop")]
    Poll(#[source] std::io::Error),
    #[error("could not install signal handlers")]
    Signals(#[source] std::io::Error),
    #[error("could not restore the state of the previous image")]
    Resume(#[source] std::io::Error),
    #[error("could not create the session table")]
    Activity(#[source] std::io::Error),
}

pub struct Server {
    config: Config,
    /// The serving generation's worker config; respawns use it.
    worker_config: String,
    poll: Poll,
    listeners: Vec<Listener>,
    signals: Signals,
    admin: Option<(UnixListener, PathBuf)>,
    admin_conns: Conns<UnixStream>,
    metrics_listener: Option<TcpListener>,
    metrics_conns: Conns<TcpStream>,
    metrics: Metrics,
    pool: Pool,
    slots: Vec<Slot>,
    /// Clients accepted and waiting for a ready worker, oldest first.
    pending: VecDeque<Pending>,
    next_session: u64,
    next_worker: u32,
    next_ping: u64,
    /// The generation new clients go to.
    serving: Generation,
    reload: Reload,
    accept_paused_until: Option<Instant>,
    shutdown: Option<Shutdown>,
    notify: Notifier,
    ready_notified: bool,
    started_unix_ms: u64,
    status_at: Instant,
    /// Backend pids of the live sessions, and the workers that own them.
    backends: Backends,
    /// The session table every worker maps; kept across re-executions.
    activity: Segment,
}

impl Server {
    /// A fresh start: no workers yet.
    pub fn new(
        config: Config,
        launch: Launch,
        worker_config: String,
        listeners: Vec<Listener>,
        admin: Option<(std::os::unix::net::UnixListener, PathBuf)>,
    ) -> Result<Server, ServerError> {
        let admin = admin.map(|(l, path)| (UnixListener::from_std(l), path));
        let metrics_listener = config.metrics_listen.and_then(|addr| match TcpListener::bind(addr) {
            Ok(l) => Some(l),
            Err(e) => {
                error!(address = %addr, error = %e, "could not listen for metrics scrapes");
                None
            }
        });
        let (slots, query_bytes) = config.session_table();
        let activity = Segment::create(slots, query_bytes).map_err(ServerError::Activity)?;
        let mut server =
            Server::assemble(config, launch, worker_config, listeners, admin, metrics_listener, activity)?;
        server.slots = (0..server.config.worker_count())
            .map(|_| Slot { restarts: Restarts::default(), respawn_at: Some(Instant::now()) })
            .collect();
        server.register_sources()
    }

    /// A server with these sockets and no workers, counters or history yet.
    fn assemble(
        config: Config,
        launch: Launch,
        worker_config: String,
        listeners: Vec<Listener>,
        admin: Option<(UnixListener, PathBuf)>,
        metrics_listener: Option<TcpListener>,
        activity: Segment,
    ) -> Result<Server, ServerError> {
        let workers = config.worker_count() as usize;
        Ok(Server {
            config,
            worker_config,
            poll: Poll::new().map_err(ServerError::Poll)?,
            listeners,
            signals: Signals::install().map_err(ServerError::Signals)?,
            admin,
            admin_conns: Conns::new(ADMIN_CONN_BASE),
            metrics_listener,
            metrics_conns: Conns::new(METRICS_CONN_BASE),
            metrics: Metrics::default(),
            pool: Pool::default(),
            slots: Vec::new(),
            pending: VecDeque::new(),
            next_session: 1,
            next_worker: 1,
            next_ping: 1,
            serving: Generation(1),
            reload: Reload::new(launch, workers),
            accept_paused_until: None,
            shutdown: None,
            notify: Notifier::from_env(),
            ready_notified: false,
            started_unix_ms: sys::unix_millis(),
            status_at: Instant::now(),
            backends: Backends::default(),
            activity,
        })
    }

    fn register_sources(mut self) -> Result<Server, ServerError> {
        let registry = self.poll.registry();
        registry
            .register(&mut SourceFd(&self.signals.wake.as_raw_fd()), SIGNAL_TOKEN, Interest::READABLE)
            .map_err(ServerError::Poll)?;
        for (i, l) in self.listeners.iter().enumerate() {
            registry
                .register(&mut SourceFd(&l.raw_fd()), Token(LISTENER_BASE + i), Interest::READABLE)
                .map_err(ServerError::Poll)?;
            info!(address = %l.describe(), "listening");
        }
        if let Some((l, path)) = &mut self.admin {
            registry.register(l, ADMIN_TOKEN, Interest::READABLE).map_err(ServerError::Poll)?;
            info!(path = %path.display(), "admin socket");
        }
        if let Some(l) = &mut self.metrics_listener {
            registry.register(l, METRICS_TOKEN, Interest::READABLE).map_err(ServerError::Poll)?;
            info!(address = %l.local_addr().map_or_else(|_| "?".into(), |a| a.to_string()), "metrics endpoint (GET /metrics)");
        }
        Ok(self)
    }

    /// Runs until shut down.
    pub fn run(mut self) -> Result<(), ServerError> {
        let mut events = Events::with_capacity(256);
        loop {
            let timeout = self.next_deadline().map(|d| d.saturating_duration_since(Instant::now()));
            if let Err(e) = self.poll.poll(&mut events, timeout) {
                if e.kind() != std::io::ErrorKind::Interrupted {
                    return Err(ServerError::Poll(e));
                }
            }
            for event in events.iter() {
                self.dispatch(event.token());
            }
            self.handle_signals();
            self.reap();
            self.notify.watchdog();
            if self.shutdown.is_some() {
                if self.shutdown_finished() {
                    return Ok(());
                }
                continue;
            }
            self.health();
            self.resume_accepting();
            self.respawn_due();
            self.kill_unready();
            self.reload_progress();
            self.route_pending();
            self.report_status();
        }
    }

    fn dispatch(&mut self, token: Token) {
        match token {
            SIGNAL_TOKEN => {}
            ADMIN_TOKEN => self.accept_admin(),
            METRICS_TOKEN => self.accept_scrapes(),
            t if t.0 >= WORKER_BASE => self.worker_events(WorkerId((t.0 - WORKER_BASE) as u32)),
            t if self.admin_conns.owns(t) => self.admin_event(t),
            t if self.metrics_conns.owns(t) => self.scrape_event(t),
            t => self.accept(t.0 - LISTENER_BASE),
        }
    }

    /// When the loop must turn again even if nothing happens.
    fn next_deadline(&self) -> Option<Instant> {
        let respawn = self.slots.iter().filter_map(|s| s.respawn_at).min();
        let shutdown = self.shutdown.as_ref().map(|s| s.deadline);
        let pending = self.pending_deadline();
        let ready = self
            .pool
            .workers
            .iter()
            .filter(|w| w.state == WorkerState::Starting)
            .map(|w| w.started + READY_TIMEOUT)
            .min();
        let status = self.ready_notified.then(|| self.status_at + status::STATUS_EVERY);
        [
            respawn,
            shutdown,
            self.accept_paused_until,
            pending,
            ready,
            self.next_ping_due(),
            self.notify.watchdog_due(),
            self.reload.deadline(),
            status,
        ]
        .into_iter()
        .flatten()
        .min()
    }

    /// Stops polling `fd`; it is about to be closed or passed on.
    fn unwatch(&self, fd: &impl AsRawFd) {
        let _ = self.poll.registry().deregister(&mut SourceFd(&fd.as_raw_fd()));
    }
}
