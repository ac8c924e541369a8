//! The supervisor's one-thread event loop: accept clients, hand each to the least
//! loaded ready worker, keep per-worker counts from worker events, ping workers and
//! replace the ones that die or hang, answer the admin socket, reload in place, and shut
//! down on signals. It never reads from a client.

use std::collections::VecDeque;
use std::os::fd::{AsFd, AsRawFd, IntoRawFd, OwnedFd};
use std::time::{Duration, Instant, SystemTime};

use mallard_protocol::admin::{self, Answer, ServerState, Status, Totals, WorkerStatus};
use mallard_protocol::channel::{FromWorker, Generation, Peer, SessionId, ToWorker, WorkerId, MAX_PACKET};
use mio::net::{TcpListener, TcpStream, UnixStream};
use mio::unix::SourceFd;
use mio::{Events, Interest, Poll, Token};
use nix::sys::signal::{kill, Signal};
use nix::sys::wait::{waitpid, WaitPidFlag, WaitStatus};
use nix::unistd::Pid;
use signal_hook::consts::{SIGCHLD, SIGHUP, SIGINT, SIGQUIT, SIGTERM, SIGUSR2};
use tracing::{debug, error, info, info_span, warn};

use crate::config::Config;
use crate::conns::{Conns, Request};
use crate::listeners::Listener;
use crate::metrics::{self, Gauges, Metrics, Reject, RestartCause, WorkerCounts};
use crate::notify::Notifier;
use crate::pool::{InFlight, Killed, Pool, Restarts, Worker, WorkerState};
use crate::reload::{Launch, Phase, Reload};
use crate::signals::Signals;
use crate::state::{self, Saved, SavedClient, SavedListener, SavedSocket, SavedWorker};
use crate::sys;

const SIGNAL_TOKEN: Token = Token(0);
const LISTENER_BASE: usize = 1;
const ADMIN_TOKEN: Token = Token(1 << 10);
const METRICS_TOKEN: Token = Token((1 << 10) + 1);
const ADMIN_CONN_BASE: usize = 1 << 16;
const METRICS_CONN_BASE: usize = 1 << 17;
const WORKER_BASE: usize = 1 << 20;
/// After an accept error (out of fds, say), wait this long instead of spinning.
const ACCEPT_PAUSE: Duration = Duration::from_millis(100);
/// Connections waiting for a ready worker, at most.
const MAX_PENDING: usize = 4096;
/// A worker that has not said `Ready` by then is killed and replaced; a new generation
/// that is not ready by then fails its reload.
pub const READY_TIMEOUT: Duration = Duration::from_secs(60);
/// How often `STATUS=` may be refreshed for systemd.
const STATUS_EVERY: Duration = Duration::from_secs(2);

#[derive(Debug, thiserror::Error)]
pub enum ServerError {
    #[error("could not set up the event loop")]
    Poll(#[source] std::io::Error),
    #[error("could not install signal handlers")]
    Signals(#[source] std::io::Error),
    #[error("could not restore the state of the previous image")]
    Resume(#[source] std::io::Error),
}

/// A client accepted but not yet handed to a worker.
pub(crate) struct Pending {
    session: SessionId,
    socket: OwnedFd,
    peer: Peer,
    since: Instant,
}

/// One worker slot of the serving generation: its restart history, and when its
/// replacement is due.
pub(crate) struct Slot {
    pub restarts: Restarts,
    pub respawn_at: Option<Instant>,
}

struct Shutdown {
    deadline: Instant,
}

pub struct Server {
    pub(crate) config: Config,
    pub(crate) launch: Launch,
    /// The serving generation's worker config; respawns use it.
    pub(crate) worker_config: String,
    poll: Poll,
    listeners: Vec<Listener>,
    signals: Signals,
    admin: Option<(mio::net::UnixListener, std::path::PathBuf)>,
    admin_conns: Conns<UnixStream>,
    metrics_listener: Option<TcpListener>,
    metrics_conns: Conns<TcpStream>,
    pub(crate) metrics: Metrics,
    pub(crate) pool: Pool,
    pub(crate) slots: Vec<Slot>,
    pending: VecDeque<Pending>,
    next_session: u64,
    next_worker: u32,
    next_ping: u64,
    /// The generation new clients go to, and the number the next reload's takes.
    pub(crate) serving: Generation,
    pub(crate) next_generation: Generation,
    pub(crate) reload: Reload,
    accept_paused_until: Option<Instant>,
    shutdown: Option<Shutdown>,
    pub(crate) notify: Notifier,
    ready_notified: bool,
    started_unix_ms: u64,
    status_at: Instant,
}

impl Server {
    /// A fresh start: no workers yet.
    pub fn new(
        config: Config,
        launch: Launch,
        worker_config: String,
        listeners: Vec<Listener>,
        admin: Option<(std::os::unix::net::UnixListener, std::path::PathBuf)>,
    ) -> Result<Server, ServerError> {
        let admin = admin.map(|(l, path)| (mio::net::UnixListener::from_std(l), path));
        let metrics_listener = config.metrics_listen.and_then(|addr| match TcpListener::bind(addr) {
            Ok(l) => Some(l),
            Err(e) => {
                error!(address = %addr, error = %e, "could not listen for metrics scrapes");
                None
            }
        });
        let mut server = Server::assemble(config, launch, worker_config, listeners, admin, metrics_listener)?;
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
        admin: Option<(mio::net::UnixListener, std::path::PathBuf)>,
        metrics_listener: Option<TcpListener>,
    ) -> Result<Server, ServerError> {
        Ok(Server {
            config,
            launch,
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
            next_generation: Generation(2),
            reload: Reload::default(),
            accept_paused_until: None,
            shutdown: None,
            notify: Notifier::from_env(),
            ready_notified: false,
            started_unix_ms: unix_millis(),
            status_at: Instant::now(),
        })
    }

    /// The image a reload re-executed: takes over the previous image's state, then
    /// starts the new generation.
    pub fn resume(
        config: Config,
        launch: Launch,
        worker_config: String,
        saved: Saved,
    ) -> Result<Server, ServerError> {
        let mut listeners = Vec::new();
        for l in &saved.listeners {
            listeners.push(Listener::adopt(l.fd, l.owns_path).map_err(ServerError::Resume)?);
        }
        // SAFETY (every `state::adopt` below): each fd was passed on by the previous
        // image for exactly this use and is named once in the saved state.
        let admin = saved.admin.as_ref().map(|a| {
            let fd = unsafe { state::adopt(a.fd) };
            let listener = std::os::unix::net::UnixListener::from(fd);
            (mio::net::UnixListener::from_std(listener), a.path.clone())
        });
        let now = Instant::now();
        let client = |c: &SavedClient, since: Instant| Pending {
            session: SessionId(c.session),
            socket: unsafe { state::adopt(c.fd) },
            peer: c.peer.map_or(Peer::Unix, Peer::Tcp),
            since,
        };
        let mut pool = Pool::default();
        for w in &saved.workers {
            if w.channel_version != mallard_protocol::channel::VERSION {
                pool.workers.push(Self::foreign_worker(w, now));
                continue;
            }
            let in_flight = w
                .in_flight
                .iter()
                .map(|c| {
                    let p = client(c, now);
                    (p.session, InFlight { socket: p.socket, peer: p.peer })
                })
                .collect();
            let mut worker = Worker::new(
                WorkerId(w.id),
                w.slot,
                Generation(w.generation),
                w.pid,
                unsafe { state::adopt(w.channel) },
                w.state,
                now.checked_sub(Duration::from_millis(w.age_ms)).unwrap_or(now),
            );
            worker.sessions = w.sessions;
            worker.in_flight = in_flight;
            pool.workers.push(worker);
        }
        let pending = saved.pending.iter().map(|c| client(c, now)).collect();
        let slots = saved.slots.iter().map(|r| Slot { restarts: *r, respawn_at: None }).collect();
        // SAFETY: as above.
        let metrics_listener = saved
            .metrics_listener
            .map(|fd| TcpListener::from_std(std::net::TcpListener::from(unsafe { state::adopt(fd) })));
        let mut server = Server::assemble(
            config,
            launch,
            saved.worker_config.clone(),
            listeners,
            admin,
            metrics_listener,
        )?;
        server.metrics = serde_json::from_value(saved.counters.clone()).unwrap_or_else(|e| {
            warn!(error = %e, "the previous image's counters are unreadable; they start again from zero");
            Metrics::default()
        });
        server.pool = pool;
        server.slots = slots;
        server.pending = pending;
        server.next_session = saved.next_session;
        server.next_worker = saved.next_worker;
        server.next_ping = saved.next_ping;
        server.serving = Generation(saved.generation);
        server.next_generation = Generation(saved.next_generation);
        server.ready_notified = saved.ready_notified;
        server.started_unix_ms = saved.started_unix_ms;
        server.reload.last = saved.last_reload.clone();
        server = server.register_sources()?;
        for w in &server.pool.workers {
            server.watch_worker(w.id, &w.channel);
        }
        let (waiters, queued) = server.adopt_admin_conns(&saved);
        server.reload.waiters = waiters;
        server.reload.queued = queued;
        // Packets that arrived while the image changed are waiting.
        for i in 0..server.pool.workers.len() {
            server.drain_channel(i);
        }
        server.start_generation(worker_config);
        Ok(server)
    }

    /// A worker of a binary whose channel version differs from ours: neither side
    /// could read the other's packets. Closing its channel is the one signal every
    /// version understands: the worker lets its sessions finish (for at most 30 s) and
    /// exits. Its channel is replaced by a dead end, and it gets no clients and no
    /// pings. Clients in flight to it are its own once it reads them, so our copies go.
    fn foreign_worker(w: &SavedWorker, now: Instant) -> Worker {
        // SAFETY: as for every saved fd: passed on for this use, named once.
        drop(unsafe { state::adopt(w.channel) });
        for c in &w.in_flight {
            drop(unsafe { state::adopt(c.fd) });
        }
        warn!(worker = w.id, pid = w.pid, speaks = w.channel_version, ours = mallard_protocol::channel::VERSION, "a worker of the previous binary speaks another channel version; closing its channel so it drains on its own");
        let channel = match sys::channel_pair() {
            Ok((ours, theirs)) => {
                drop(theirs);
                ours
            }
            // Out of fds: any closed-off fd will do; /dev/null never reads as a packet.
            Err(_) => std::fs::File::open("/dev/null").map(OwnedFd::from).expect("open /dev/null"),
        };
        let mut worker = Worker::new(
            WorkerId(w.id),
            w.slot,
            Generation(w.generation),
            w.pid,
            channel,
            WorkerState::Draining,
            now.checked_sub(Duration::from_millis(w.age_ms)).unwrap_or(now),
        );
        worker.sessions = w.sessions;
        worker.channel_version = w.channel_version;
        worker
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
                match event.token() {
                    SIGNAL_TOKEN => {}
                    ADMIN_TOKEN => self.accept_admin(),
                    METRICS_TOKEN => self.accept_scrapes(),
                    t if t.0 >= WORKER_BASE => self.worker_events(WorkerId((t.0 - WORKER_BASE) as u32)),
                    t if self.admin_conns.owns(t) => self.admin_event(t),
                    t if self.metrics_conns.owns(t) => self.scrape_event(t),
                    t => self.accept(t.0 - LISTENER_BASE),
                }
            }
            self.handle_signals();
            self.reap();
            self.notify.watchdog();
            if self.shutdown.is_some() {
                if self.pool.workers.is_empty() {
                    info!("all workers exited; supervisor stopping");
                    self.close_admin_conns_at_exit();
                    return Ok(());
                }
                if self.shutdown.as_ref().is_some_and(|s| Instant::now() >= s.deadline) {
                    warn!(workers = self.pool.workers.len(), "shutdown deadline passed; killing workers");
                    self.kill_all();
                    self.close_admin_conns_at_exit();
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

    fn next_deadline(&self) -> Option<Instant> {
        let respawn = self.slots.iter().filter_map(|s| s.respawn_at).min();
        let shutdown = self.shutdown.as_ref().map(|s| s.deadline);
        let pending = self.pending_patience().and_then(|p| self.pending.front().map(|c| c.since + p));
        let ready = self
            .pool
            .workers
            .iter()
            .filter(|w| w.state == WorkerState::Starting)
            .map(|w| w.started + READY_TIMEOUT)
            .min();
        let interval = self.ping_interval();
        let health = self
            .pool
            .workers
            .iter()
            .filter(|w| w.state != WorkerState::Starting && w.speaks_our_channel())
            .map(|w| match w.ping {
                Some((_, sent)) => sent + crate::pool::UNRESPONSIVE_AFTER.min(self.config.health_timeout),
                None => w.last_ping + interval,
            })
            .min();
        let status = self.ready_notified.then(|| self.status_at + STATUS_EVERY);
        [
            respawn,
            shutdown,
            self.accept_paused_until,
            pending,
            ready,
            health,
            self.notify.watchdog_due(),
            self.reload.deadline(),
            status,
        ]
        .into_iter()
        .flatten()
        .min()
    }

    // ---- clients ----

    fn accept(&mut self, index: usize) {
        if self.accept_paused_until.is_some() || self.shutdown.is_some() {
            return;
        }
        loop {
            let Some(listener) = self.listeners.get(index) else { return };
            match listener.accept() {
                Ok((socket, peer)) => {
                    let session = SessionId(self.next_session);
                    self.next_session += 1;
                    debug!(session = %session, peer = %peer, "accepted");
                    self.metrics.accepted();
                    self.hand_off(Pending { session, socket, peer, since: Instant::now() });
                }
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => return,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(e) => {
                    warn!(error = %e, listener = %listener.describe(), "accept failed; pausing accepts");
                    self.accept_paused_until = Some(Instant::now() + ACCEPT_PAUSE);
                    return;
                }
            }
        }
    }

    fn resume_accepting(&mut self) {
        if self.accept_paused_until.is_some_and(|t| Instant::now() >= t) {
            self.accept_paused_until = None;
            // Listeners are edge-triggered: connections that queued meanwhile raised
            // no new event, so look for them now.
            for i in 0..self.listeners.len() {
                self.accept(i);
            }
        }
    }

    /// Sends a client to the least loaded ready worker, or queues it until one is ready.
    fn hand_off(&mut self, client: Pending) {
        let Some(index) = self.pool.pick(self.serving) else {
            return self.queue(client);
        };
        // Over max_connections the worker still takes the client, to tell it so.
        let open = self.pool.load();
        let full = open >= self.config.max_connections as usize;
        if full {
            self.metrics.rejected(Reject::TooMany);
            info!(session = %client.session, open, max_connections = self.config.max_connections, "too many clients; the worker will refuse this one");
        }
        let worker = &mut self.pool.workers[index];
        let packet = ToWorker::Handoff { session: client.session, peer: client.peer, full }.encode();
        match sys::send_with_fd(worker.channel.as_fd(), &packet, client.socket.as_fd()) {
            Ok(()) => {
                debug!(session = %client.session, worker = %worker.id, pid = worker.pid, "handed off");
                worker
                    .in_flight
                    .insert(client.session, InFlight { socket: client.socket, peer: client.peer });
                self.metrics.handoff(true);
            }
            Err(e) => {
                self.metrics.handoff(false);
                // The worker is not taking packets (its buffer is full, or it is dying):
                // the client waits for the next routing round.
                warn!(session = %client.session, worker = %worker.id, error = %e, "handoff failed; will retry");
                self.queue(client);
            }
        }
    }

    /// Turns away a client no worker will serve, with the `FATAL` PostgreSQL would send
    /// in its place, written without reading from the client or waiting for it. A
    /// client that started with an SSLRequest reads it as the refusal of the request,
    /// which libpq reports with the message.
    fn refuse(&mut self, client: Pending, reason: Reject) {
        use mallard_protocol::pg::backend::{ErrorInfo, Message};
        use mallard_protocol::pg::SqlState;
        self.metrics.rejected(reason);
        let error = match reason {
            Reject::QueueFull | Reject::TooMany => {
                ErrorInfo::fatal(SqlState::TOO_MANY_CONNECTIONS, "sorry, too many clients already")
            }
            Reject::Timeout => ErrorInfo::fatal(
                SqlState::CANNOT_CONNECT_NOW,
                "the database system is not yet accepting connections",
            ),
            Reject::Shutdown => {
                ErrorInfo::fatal(SqlState::CANNOT_CONNECT_NOW, "the database system is shutting down")
            }
        };
        let mut bytes = Vec::new();
        Message::ErrorResponse(error).encode(&mut bytes);
        let _ = sys::send_now(client.socket.as_fd(), &bytes);
    }

    fn queue(&mut self, client: Pending) {
        if self.pending.len() >= MAX_PENDING {
            warn!(session = %client.session, peer = %client.peer, "too many connections waiting for a worker; closing");
            return self.refuse(client, Reject::QueueFull);
        }
        self.pending.push_back(client);
    }

    /// How long a client may wait in the queue. While the database file changes hands
    /// (a reload in `duckdb` read-write mode) clients wait for as long as that takes:
    /// the old worker's drain is bounded, and so is the new one's start.
    fn pending_patience(&self) -> Option<Duration> {
        match self.reload.phase {
            Phase::Handover { .. } => None,
            Phase::Starting { handover: true, .. } => None,
            _ => Some(self.config.startup_timeout),
        }
    }

    fn route_pending(&mut self) {
        if let Some(patience) = self.pending_patience() {
            let now = Instant::now();
            while self.pending.front().is_some_and(|p| now.duration_since(p.since) >= patience) {
                let p = self.pending.pop_front().expect("checked non-empty");
                warn!(session = %p.session, peer = %p.peer, "no worker became ready in time; closing the connection");
                self.refuse(p, Reject::Timeout);
            }
        }
        for _ in 0..self.pending.len() {
            if self.pool.pick(self.serving).is_none() {
                return;
            }
            let client = self.pending.pop_front().expect("length checked");
            self.hand_off(client);
        }
    }

    // ---- workers ----

    /// Starts a worker of `generation` in `slot`, from our own image.
    pub(crate) fn spawn(&mut self, slot: usize, generation: Generation, worker_config: &str) -> bool {
        let id = WorkerId(self.next_worker);
        self.next_worker += 1;
        let result = sys::channel_pair().and_then(|(ours, theirs)| {
            let args = worker_args(id, generation, &self.config);
            let pid = sys::spawn_worker(&self.launch.own_image(), &args, theirs, worker_config.as_bytes())?;
            Ok((ours, pid))
        });
        let (channel, pid) = match result {
            Ok(pair) => pair,
            Err(e) => {
                error!(worker = %id, error = %e, "could not start a worker");
                return false;
            }
        };
        self.watch_worker(id, &channel);
        info!(worker = %id, slot, pid, generation = %generation, "worker started");
        self.pool.workers.push(Worker::new(
            id,
            slot,
            generation,
            pid,
            channel,
            WorkerState::Starting,
            Instant::now(),
        ));
        true
    }

    fn watch_worker(&self, id: WorkerId, channel: &OwnedFd) {
        let registered = self.poll.registry().register(
            &mut SourceFd(&channel.as_raw_fd()),
            Token(WORKER_BASE + id.0 as usize),
            Interest::READABLE,
        );
        if let Err(e) = registered {
            error!(worker = %id, error = %e, "could not watch a worker channel");
        }
    }

    fn respawn_due(&mut self) {
        let now = Instant::now();
        for slot in 0..self.slots.len() {
            if self.slots[slot].respawn_at.is_some_and(|t| now >= t) {
                self.slots[slot].respawn_at = None;
                let config = self.worker_config.clone();
                if !self.spawn(slot, self.serving, &config) {
                    let delay = self.slots[slot].restarts.record_exit(Duration::ZERO, false);
                    self.slots[slot].respawn_at = Some(Instant::now() + delay);
                }
            }
        }
    }

    fn kill_unready(&mut self) {
        let now = Instant::now();
        for w in &mut self.pool.workers {
            if w.state == WorkerState::Starting
                && now.duration_since(w.started) > READY_TIMEOUT
                && w.killed.is_none()
            {
                warn!(worker = %w.id, pid = w.pid, "worker not ready in time; killing it");
                w.kill(Killed::Unready);
            }
        }
    }

    fn ping_interval(&self) -> Duration {
        (self.config.health_timeout / 5).clamp(Duration::from_millis(100), Duration::from_secs(1))
    }

    /// Pings every running worker; one that leaves a ping unanswered for
    /// `health_timeout` (hung, or stopped) is killed and replaced. Meanwhile, from
    /// [`crate::pool::UNRESPONSIVE_AFTER`] on, it gets no new clients.
    fn health(&mut self) {
        let now = Instant::now();
        let interval = self.ping_interval();
        for w in &mut self.pool.workers {
            if w.state == WorkerState::Starting || w.killed.is_some() || !w.speaks_our_channel() {
                continue;
            }
            match w.ping {
                Some((seq, sent)) if now.duration_since(sent) >= self.config.health_timeout => {
                    warn!(worker = %w.id, pid = w.pid, seq, waited_ms = now.duration_since(sent).as_millis() as u64, "worker missed its health pings; killing it");
                    w.kill(Killed::Health);
                }
                Some(_) => {}
                None if now.duration_since(w.last_ping) >= interval => {
                    let seq = self.next_ping;
                    self.next_ping += 1;
                    // A full channel means the worker is not reading: the ping counts as
                    // sent, and goes unanswered.
                    let _ = sys::send(w.channel.as_fd(), &ToWorker::Ping { seq }.encode());
                    w.ping = Some((seq, now));
                    w.last_ping = now;
                }
                None => {}
            }
        }
    }

    fn worker_events(&mut self, id: WorkerId) {
        let Some(index) = self.pool.index_of(id) else { return };
        self.drain_channel(index);
    }

    /// Reads every packet waiting on a worker's channel.
    fn drain_channel(&mut self, index: usize) {
        let mut buf = [0u8; MAX_PACKET];
        loop {
            let worker = &self.pool.workers[index];
            let n = match sys::recv_packet(worker.channel.as_fd(), &mut buf) {
                Ok(Some(0)) | Ok(None) => return,
                Ok(Some(n)) => n,
                // A worker this supervisor already killed resets its channel as it dies.
                Err(e) if worker.killed.is_some() => {
                    debug!(worker = %worker.id, pid = worker.pid, error = %e, "channel of a killed worker closed");
                    return;
                }
                Err(e) => {
                    error!(worker = %worker.id, pid = worker.pid, error = %e, "worker channel failed; killing the worker");
                    let _ = kill(Pid::from_raw(worker.pid as i32), Signal::SIGKILL);
                    return;
                }
            };
            match FromWorker::decode(&buf[..n]) {
                Ok(message) => self.worker_message(index, message),
                Err(e) => {
                    error!(worker = %worker.id, pid = worker.pid, error = %e, "bad packet from worker; killing it");
                    let _ = kill(Pid::from_raw(worker.pid as i32), Signal::SIGKILL);
                    return;
                }
            }
        }
    }

    fn worker_message(&mut self, index: usize, message: FromWorker) {
        let worker = &mut self.pool.workers[index];
        let span = info_span!("worker", id = %worker.id, pid = worker.pid, generation = %worker.generation);
        let _entered = span.enter();
        match message {
            FromWorker::Ready { pid } => {
                if pid != worker.pid {
                    warn!(reported = pid, "worker reported another pid");
                }
                if worker.state == WorkerState::Starting {
                    worker.state = WorkerState::Ready;
                }
                worker.last_ping = Instant::now();
                info!("worker ready");
            }
            FromWorker::SessionOpened { session } => {
                // Dropping our copy of the socket closes it: the worker owns the client.
                if worker.in_flight.remove(&session).is_none() {
                    warn!(session = %session, "worker acknowledged an unknown handoff");
                }
                worker.sessions += 1;
            }
            FromWorker::SessionClosed { session } => {
                worker.sessions = worker.sessions.saturating_sub(1);
                debug!(session = %session, "session closed");
            }
            FromWorker::Pong { seq } => {
                if worker.ping.is_some_and(|(s, _)| s == seq) {
                    worker.ping = None;
                }
            }
            FromWorker::Stats(delta) => self.metrics.apply(&delta),
            FromWorker::Drained => info!("worker drained"),
            FromWorker::Cancel { pid, secret } => {
                if let Some(target) = self.pool.index_of_pid(pid) {
                    let packet = ToWorker::Cancel { pid, secret }.encode();
                    let _ = sys::send(self.pool.workers[target].channel.as_fd(), &packet);
                }
            }
        }
    }

    /// Collects exited children: workers (logs how each ended, re-routes the clients it
    /// never acknowledged, schedules its replacement) and a reload's `check`.
    fn reap(&mut self) {
        loop {
            let status = match waitpid(None::<Pid>, Some(WaitPidFlag::WNOHANG)) {
                Ok(WaitStatus::StillAlive) | Err(_) => return,
                Ok(status) => status,
            };
            let Some(pid) = status.pid() else { continue };
            if self.reload.is_check(pid.as_raw() as u32) {
                self.check_finished(status);
                continue;
            }
            let Some(index) = self.pool.index_of_pid(pid.as_raw() as u32) else { continue };
            // Acknowledgements it sent before dying are still in the channel.
            self.drain_channel(index);
            let mut worker = self.pool.workers.remove(index);
            let _ = self.poll.registry().deregister(&mut SourceFd(&worker.channel.as_raw_fd()));
            let lived = worker.started.elapsed();
            let how = match status {
                WaitStatus::Exited(_, code) => format!("exit code {code}"),
                WaitStatus::Signaled(_, sig, core) => {
                    format!("signal {sig}{}", if core { " (core dumped)" } else { "" })
                }
                other => format!("{other:?}"),
            };
            let clean = matches!(status, WaitStatus::Exited(_, 0));
            let expected = clean || self.shutdown.is_some() || worker.state == WorkerState::Draining;
            let cause = match worker.killed {
                Some(Killed::Health) => RestartCause::Health,
                Some(Killed::Unready) => RestartCause::Unready,
                _ if clean => RestartCause::Exit,
                _ => RestartCause::Crash,
            };
            if expected {
                info!(worker = %worker.id, pid = pid.as_raw(), generation = %worker.generation, status = %how, sessions = worker.sessions, lived_ms = lived.as_millis() as u64, "worker exited");
            } else {
                error!(worker = %worker.id, pid = pid.as_raw(), generation = %worker.generation, status = %how, cause = cause.label(), sessions = worker.sessions, lived_ms = lived.as_millis() as u64, "worker exited");
            }
            for (session, f) in worker.in_flight.drain() {
                info!(session = %session, "re-routing a client the dead worker never took");
                self.pending.push_front(Pending {
                    session,
                    socket: f.socket,
                    peer: f.peer,
                    since: Instant::now(),
                });
            }
            if self.reload.is_candidate(worker.generation) {
                if worker.state == WorkerState::Starting {
                    self.fail_reload(format!(
                        "a worker of the new generation exited before it was ready ({how})"
                    ));
                }
                continue;
            }
            if self.shutdown.is_none() && worker.generation == self.serving && !self.reload.holds_respawns() {
                let slot = worker.slot;
                self.metrics.worker_restart(cause);
                let delay =
                    self.slots[slot].restarts.record_exit(lived, worker.state != WorkerState::Starting);
                if !delay.is_zero() {
                    warn!(worker = %worker.id, delay_ms = delay.as_millis() as u64, "worker keeps failing; delaying its restart");
                }
                self.slots[slot].respawn_at = Some(Instant::now() + delay);
            }
        }
    }

    // ---- admin socket ----

    fn accept_admin(&mut self) {
        if let Some((listener, _)) = &self.admin {
            self.admin_conns.accept_all(self.poll.registry(), "admin", || listener.accept().map(|(s, _)| s));
        }
    }

    fn add_admin_conn(&mut self, stream: UnixStream) -> Option<Token> {
        match self.admin_conns.add(self.poll.registry(), stream) {
            Ok(token) => Some(token),
            Err(e) => {
                warn!(error = %e, "admin connection refused");
                None
            }
        }
    }

    fn admin_event(&mut self, token: Token) {
        let request = match self.admin_conns.read(token, admin::line_end) {
            Request::Partial => return,
            Request::Closed => return self.admin_conns.close(self.poll.registry(), token),
            Request::Complete(line) => line,
        };
        match admin::Command::parse(&request) {
            Some(admin::Command::Status) => {
                let status = self.status();
                self.admin_reply(token, &status, false);
            }
            Some(admin::Command::Reload) => self.request_reload(Some(token)),
            Some(admin::Command::Stop { fast }) => {
                // Held open: it closes when this process exits, which `mallard stop`
                // waits for.
                self.admin_reply(token, &Answer::stopping(), true);
                if fast {
                    self.begin_shutdown("admin: fast shutdown", Duration::ZERO);
                } else {
                    self.begin_shutdown("admin: smart shutdown", self.config.shutdown_timeout);
                }
            }
            None => {
                let text = String::from_utf8_lossy(&request).trim().to_owned();
                self.admin_reply(token, &Answer::failed(format!("unknown command {text:?}")), false);
            }
        }
    }

    pub(crate) fn admin_reply(&mut self, token: Token, answer: &impl serde::Serialize, hold: bool) {
        let mut line = admin::to_line(answer);
        line.push('\n');
        self.admin_conns.reply(self.poll.registry(), token, line.as_bytes(), hold);
    }

    fn status(&self) -> Status {
        let now = Instant::now();
        let workers = self
            .pool
            .workers
            .iter()
            .map(|w| WorkerStatus {
                id: w.id.0,
                pid: w.pid,
                generation: w.generation.0,
                state: w.state,
                sessions: w.sessions,
                in_flight: w.in_flight.len() as u64,
                responsive: w.responsive(now),
                uptime_seconds: w.started.elapsed().as_secs_f64(),
            })
            .collect();
        let state = if self.shutdown.is_some() {
            ServerState::Stopping
        } else if !matches!(self.reload.phase, Phase::Idle) {
            ServerState::Reloading
        } else if self.ready_notified {
            ServerState::Running
        } else {
            ServerState::Starting
        };
        let now_ms = unix_millis();
        let g = self.gauges();
        Status {
            pid: std::process::id(),
            version: mallard_worker::SERVER_VERSION.into(),
            state,
            uptime_seconds: now_ms.saturating_sub(self.started_unix_ms) as f64 / 1000.0,
            generation: self.serving.0,
            storage: self.config.storage.as_str().into(),
            workers,
            totals: Totals {
                workers: self.pool.workers.len() as u64,
                ready: self.pool.ready_in(self.serving) as u64,
                draining: g.workers.draining,
                sessions: g.connections,
                in_flight: g.handoffs_in_flight,
                waiting: g.queued,
                max_connections: self.config.max_connections,
            },
            last_reload: self.reload.last.clone(),
        }
    }

    /// The `STATUS=` line for systemd.
    pub(crate) fn status_line(&self) -> String {
        let g = self.gauges();
        let mut line = format!(
            "generation {}: {}/{} workers ready, {} draining, {} sessions",
            self.serving,
            self.pool.ready_in(self.serving),
            self.slots.len(),
            g.workers.draining,
            g.connections
        );
        if let Some(error) = self.reload.last.as_ref().and_then(|l| l.error.as_deref()) {
            line.push_str(&format!("; last reload failed: {error}"));
        }
        line
    }

    /// `READY=1` once the first generation serves; afterwards a fresh `STATUS=` now and
    /// then.
    fn report_status(&mut self) {
        if !self.ready_notified {
            let expected = self.slots.len();
            let ready = self.pool.ready_in(self.serving);
            if ready == expected && matches!(self.reload.phase, Phase::Idle) {
                self.ready_notified = true;
                info!(generation = %self.serving, workers = ready, "serving");
                let status = self.status_line();
                self.notify.ready(status);
            }
            return;
        }
        if self.status_at.elapsed() >= STATUS_EVERY {
            self.status_at = Instant::now();
            if matches!(self.reload.phase, Phase::Idle) {
                let status = self.status_line();
                self.notify.status(status);
            }
        }
    }

    // ---- metrics endpoint ----

    fn accept_scrapes(&mut self) {
        if let Some(listener) = &self.metrics_listener {
            self.metrics_conns
                .accept_all(self.poll.registry(), "metrics", || listener.accept().map(|(s, _)| s));
        }
    }

    fn scrape_event(&mut self, token: Token) {
        let head_end = |buf: &[u8]| buf.windows(4).position(|w| w == b"\r\n\r\n").map(|i| i + 4);
        let request = match self.metrics_conns.read(token, head_end) {
            Request::Partial => return,
            Request::Closed => return self.metrics_conns.close(self.poll.registry(), token),
            Request::Complete(head) => head,
        };
        let response = metrics::http_response(&request, || self.metrics.render(&self.gauges()));
        self.metrics_conns.reply(self.poll.registry(), token, &response, false);
    }

    fn gauges(&self) -> Gauges {
        let mut workers = WorkerCounts::default();
        for w in &self.pool.workers {
            match w.state {
                WorkerState::Starting => workers.starting += 1,
                WorkerState::Ready => workers.ready += 1,
                WorkerState::Draining => workers.draining += 1,
            }
        }
        Gauges {
            generation: self.serving,
            connections: self.pool.workers.iter().map(|w| u64::from(w.sessions)).sum(),
            handoffs_in_flight: self.pool.workers.iter().map(|w| w.in_flight.len() as u64).sum(),
            queued: self.pending.len() as u64,
            workers,
            start_time: SystemTime::UNIX_EPOCH + Duration::from_millis(self.started_unix_ms),
        }
    }

    // ---- signals and shutdown ----

    fn handle_signals(&mut self) {
        for sig in self.signals.take() {
            match sig {
                SIGCHLD => {}
                SIGTERM => self.begin_shutdown("SIGTERM: smart shutdown", self.config.shutdown_timeout),
                SIGINT => self.begin_shutdown("SIGINT: fast shutdown", Duration::ZERO),
                SIGQUIT => {
                    warn!("SIGQUIT: immediate shutdown");
                    self.notify.stopping("immediate shutdown");
                    self.kill_all();
                    std::process::exit(0);
                }
                SIGUSR2 | SIGHUP => {
                    info!(signal = if sig == SIGUSR2 { "SIGUSR2" } else { "SIGHUP" }, "reload requested");
                    self.request_reload(None);
                }
                _ => {}
            }
        }
    }

    fn begin_shutdown(&mut self, why: &str, drain: Duration) {
        if self.shutdown.is_some() {
            return;
        }
        info!(timeout_ms = drain.as_millis() as u64, "{why}");
        self.shutdown = Some(Shutdown { deadline: Instant::now() + drain + Duration::from_secs(5) });
        self.abandon_reload("the server is shutting down");
        self.notify.stopping(why);
        // Refuse new clients at once rather than let them queue on a closing server.
        for l in self.listeners.drain(..) {
            let _ = self.poll.registry().deregister(&mut SourceFd(&l.raw_fd()));
        }
        for client in std::mem::take(&mut self.pending) {
            self.refuse(client, Reject::Shutdown);
        }
        for slot in &mut self.slots {
            slot.respawn_at = None;
        }
        let packet = ToWorker::Drain { timeout_ms: drain.as_millis() as u64 }.encode();
        for w in &mut self.pool.workers {
            w.state = WorkerState::Draining;
            let _ = sys::send(w.channel.as_fd(), &packet);
        }
    }

    /// `mallard stop` waits for its admin connection to close. Left to the kernel, the
    /// connections close as this process exits, not while it is still winding down.
    fn close_admin_conns_at_exit(&mut self) {
        std::mem::forget(std::mem::replace(&mut self.admin_conns, Conns::new(ADMIN_CONN_BASE)));
    }

    pub(crate) fn is_shutting_down(&self) -> bool {
        self.shutdown.is_some()
    }

    fn kill_all(&mut self) {
        for w in &self.pool.workers {
            let _ = kill(Pid::from_raw(w.pid as i32), Signal::SIGKILL);
        }
        for w in &self.pool.workers {
            let _ = waitpid(Pid::from_raw(w.pid as i32), None);
        }
        self.pool.workers.clear();
    }

    /// Tells the workers of `generation` to take nothing new and finish within
    /// `drain_timeout`.
    pub(crate) fn drain_generation(&mut self, generation: Generation) {
        let packet = ToWorker::Drain { timeout_ms: self.config.drain_timeout.as_millis() as u64 }.encode();
        for w in self.pool.workers.iter_mut().filter(|w| w.generation == generation) {
            if w.state != WorkerState::Draining {
                info!(worker = %w.id, pid = w.pid, generation = %generation, sessions = w.sessions, "draining");
                w.state = WorkerState::Draining;
                let _ = sys::send(w.channel.as_fd(), &packet);
            }
        }
    }

    pub(crate) fn kill_generation(&mut self, generation: Generation, why: Killed) {
        for w in self.pool.workers.iter_mut().filter(|w| w.generation == generation) {
            w.kill(why);
        }
    }

    // ---- re-execution ----

    /// Describes everything the next image inherits, and clears `FD_CLOEXEC` on it.
    pub(crate) fn save(&mut self, waiters: &[Token], queued: Option<&[Token]>) -> Saved {
        let counters = serde_json::to_value(&self.metrics).unwrap_or_default();
        let others: Vec<Token> = self
            .admin_conns
            .tokens()
            .into_iter()
            .filter(|t| !waiters.contains(t) && !queued.is_some_and(|q| q.contains(t)))
            .collect();
        let registry = self.poll.registry();
        let mut take_conn = |token: &Token| {
            self.admin_conns.take(registry, *token).map(|s| {
                let std: std::os::unix::net::UnixStream = s.into();
                std.into_raw_fd()
            })
        };
        let reload_waiters = waiters.iter().filter_map(&mut take_conn).collect();
        let queued_reload = queued.map(|q| q.iter().filter_map(&mut take_conn).collect());
        let admin_conns = others.iter().filter_map(&mut take_conn).collect();
        let client = |session: SessionId, socket: &OwnedFd, peer: Peer| SavedClient {
            session: session.0,
            fd: socket.as_raw_fd(),
            peer: match peer {
                Peer::Tcp(a) => Some(a),
                Peer::Unix => None,
            },
        };
        let saved = Saved {
            exe: self.launch.exe.clone(),
            args: self.launch.args.clone(),
            started_unix_ms: self.started_unix_ms,
            generation: self.serving.0,
            worker_config: self.worker_config.clone(),
            slots: self.slots.iter().map(|s| s.restarts).collect(),
            next_worker: self.next_worker,
            next_generation: self.next_generation.0,
            next_session: self.next_session,
            next_ping: self.next_ping,
            listeners: self
                .listeners
                .iter()
                .map(|l| SavedListener { fd: l.raw_fd(), owns_path: l.owns_path() })
                .collect(),
            admin: self.admin.as_ref().map(|(l, path)| SavedSocket { fd: l.as_raw_fd(), path: path.clone() }),
            metrics_listener: self.metrics_listener.as_ref().map(|l| l.as_raw_fd()),
            workers: self
                .pool
                .workers
                .iter()
                .map(|w| SavedWorker {
                    id: w.id.0,
                    slot: w.slot,
                    generation: w.generation.0,
                    pid: w.pid,
                    channel: w.channel.as_raw_fd(),
                    state: w.state,
                    sessions: w.sessions,
                    in_flight: w.in_flight.iter().map(|(s, f)| client(*s, &f.socket, f.peer)).collect(),
                    age_ms: w.started.elapsed().as_millis() as u64,
                    channel_version: w.channel_version,
                })
                .collect(),
            pending: self.pending.iter().map(|p| client(p.session, &p.socket, p.peer)).collect(),
            reload_waiters,
            queued_reload,
            admin_conns,
            ready_notified: self.ready_notified,
            last_reload: self.reload.last.clone(),
            counters,
        };
        saved
    }

    /// Gives back what [`Server::save`] took, after a failed `execv`.
    pub(crate) fn unsave(&mut self, saved: &Saved) -> (Vec<Token>, Option<Vec<Token>>) {
        for &fd in &saved.fds() {
            let _ = sys::set_cloexec(fd, true);
        }
        self.adopt_admin_conns(saved)
    }

    /// Takes the admin connections named in `saved` into the table: this image's after
    /// a re-execution, or its own back after a failed `execv`. Returns the reload
    /// waiters and the queued reload's.
    fn adopt_admin_conns(&mut self, saved: &Saved) -> (Vec<Token>, Option<Vec<Token>>) {
        // SAFETY: each fd was taken out of an admin table by `save` for exactly this,
        // and is named once in `saved`.
        let mut adopt = |fd| {
            let stream = std::os::unix::net::UnixStream::from(unsafe { state::adopt(fd) });
            self.add_admin_conn(UnixStream::from_std(stream))
        };
        for &fd in &saved.admin_conns {
            adopt(fd);
        }
        let waiters = saved.reload_waiters.iter().filter_map(|&fd| adopt(fd)).collect();
        let queued = saved.queued_reload.as_ref().map(|q| q.iter().filter_map(|&fd| adopt(fd)).collect());
        (waiters, queued)
    }
}

/// Milliseconds since the Unix epoch.
pub(crate) fn unix_millis() -> u64 {
    SystemTime::now().duration_since(SystemTime::UNIX_EPOCH).map_or(0, |d| d.as_millis() as u64)
}

fn worker_args(id: WorkerId, generation: Generation, config: &Config) -> Vec<String> {
    vec![
        "worker".into(),
        "--id".into(),
        id.0.to_string(),
        "--generation".into(),
        generation.0.to_string(),
        "--log-format".into(),
        match config.log_format {
            crate::config::LogFormat::Text => "text".into(),
            crate::config::LogFormat::Json => "json".into(),
        },
        "--log-level".into(),
        config.log_level.clone(),
    ]
}
