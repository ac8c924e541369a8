//! The supervisor's one-thread event loop: accept clients, hand each to the least
//! loaded ready worker, keep per-worker counts from worker events, replace workers
//! that die, and shut down on signals. It never reads from a client.

use std::collections::VecDeque;
use std::os::fd::{AsFd, AsRawFd, OwnedFd};
use std::path::PathBuf;
use std::time::{Duration, Instant};

use mallard_protocol::channel::{FromWorker, Generation, Peer, SessionId, ToWorker, WorkerId, MAX_PACKET};
use mio::unix::SourceFd;
use mio::{Events, Interest, Poll, Token};
use nix::sys::signal::{kill, Signal};
use nix::sys::wait::{waitpid, WaitPidFlag, WaitStatus};
use nix::unistd::Pid;
use signal_hook::consts::{SIGCHLD, SIGHUP, SIGINT, SIGQUIT, SIGTERM, SIGUSR2};
use tracing::{debug, error, info, info_span, warn};

use crate::config::Config;
use crate::listeners::Listener;
use crate::pool::{InFlight, Pool, Restarts, Worker, WorkerState};
use crate::signals::Signals;
use crate::sys;

const SIGNAL_TOKEN: Token = Token(0);
const LISTENER_BASE: usize = 1;
const WORKER_BASE: usize = 1 << 20;
/// After an accept error (out of fds, say), wait this long instead of spinning.
const ACCEPT_PAUSE: Duration = Duration::from_millis(100);
/// Connections waiting for a ready worker, at most.
const MAX_PENDING: usize = 4096;
/// A worker that has not said `Ready` by then is killed and replaced.
const READY_TIMEOUT: Duration = Duration::from_secs(60);

#[derive(Debug, thiserror::Error)]
pub enum ServerError {
    #[error("could not set up the event loop")]
    Poll(#[source] std::io::Error),
    #[error("could not install signal handlers")]
    Signals(#[source] std::io::Error),
}

/// A client accepted but not yet handed to a worker.
struct Pending {
    session: SessionId,
    socket: OwnedFd,
    peer: Peer,
    since: Instant,
}

/// One worker slot: a worker, or the time its replacement is due.
struct Slot {
    restarts: Restarts,
    respawn_at: Option<Instant>,
}

struct Shutdown {
    deadline: Instant,
}

pub struct Server {
    config: Config,
    worker_config: String,
    exe: PathBuf,
    poll: Poll,
    listeners: Vec<Listener>,
    signals: Signals,
    pool: Pool,
    slots: Vec<Slot>,
    pending: VecDeque<Pending>,
    next_session: u64,
    generation: Generation,
    accept_paused_until: Option<Instant>,
    shutdown: Option<Shutdown>,
}

impl Server {
    pub fn new(
        config: Config,
        worker_config: String,
        listeners: Vec<Listener>,
    ) -> Result<Server, ServerError> {
        let poll = Poll::new().map_err(ServerError::Poll)?;
        let signals = Signals::install().map_err(ServerError::Signals)?;
        poll.registry()
            .register(&mut SourceFd(&signals.wake.as_raw_fd()), SIGNAL_TOKEN, Interest::READABLE)
            .map_err(ServerError::Poll)?;
        for (i, l) in listeners.iter().enumerate() {
            poll.registry()
                .register(&mut SourceFd(&l.raw_fd()), Token(LISTENER_BASE + i), Interest::READABLE)
                .map_err(ServerError::Poll)?;
            info!(address = %l.describe(), "listening");
        }
        let slots = (0..config.worker_count())
            .map(|_| Slot { restarts: Restarts::default(), respawn_at: Some(Instant::now()) })
            .collect();
        Ok(Server {
            config,
            worker_config,
            // A crashed worker is replaced from our own image, so the channel protocol
            // always matches, even if the binary on disk changed.
            exe: PathBuf::from("/proc/self/exe"),
            poll,
            listeners,
            signals,
            pool: Pool::default(),
            slots,
            pending: VecDeque::new(),
            next_session: 1,
            generation: Generation(1),
            accept_paused_until: None,
            shutdown: None,
        })
    }

    /// Runs until shut down by a signal.
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
                match event.token().0 {
                    0 => {}
                    t if t >= WORKER_BASE => self.worker_events(WorkerId((t - WORKER_BASE) as u32)),
                    t => self.accept(t - LISTENER_BASE),
                }
            }
            self.handle_signals();
            self.reap();
            if self.shutdown.is_some() {
                if self.pool.workers.is_empty() {
                    info!("all workers exited; supervisor stopping");
                    return Ok(());
                }
                if self.shutdown.as_ref().is_some_and(|s| Instant::now() >= s.deadline) {
                    warn!(workers = self.pool.workers.len(), "shutdown deadline passed; killing workers");
                    self.kill_all();
                    return Ok(());
                }
                continue;
            }
            self.resume_accepting();
            self.respawn_due();
            self.kill_unready();
            self.route_pending();
        }
    }

    fn next_deadline(&self) -> Option<Instant> {
        let respawn = self.slots.iter().filter_map(|s| s.respawn_at).min();
        let shutdown = self.shutdown.as_ref().map(|s| s.deadline);
        let pending = self.pending.front().map(|p| p.since + self.config.startup_timeout);
        let ready = self
            .pool
            .workers
            .iter()
            .filter(|w| w.state == WorkerState::Starting)
            .map(|w| w.started + READY_TIMEOUT)
            .min();
        [respawn, shutdown, self.accept_paused_until, pending, ready].into_iter().flatten().min()
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
        let Some(index) = self.pool.pick() else {
            return self.queue(client);
        };
        // Over max_connections the worker still takes the client, to tell it so.
        let open: usize = self.pool.workers.iter().map(|w| w.load()).sum();
        let full = open >= self.config.max_connections as usize;
        if full {
            info!(session = %client.session, open, max_connections = self.config.max_connections, "too many clients; the worker will refuse this one");
        }
        let worker = &mut self.pool.workers[index];
        let packet = ToWorker::Handoff { session: client.session, peer: client.peer, full }.encode();
        match sys::send_with_fd(worker.channel.as_fd(), &packet, client.socket.as_fd()) {
            Ok(()) => {
                debug!(session = %client.session, worker = %worker.id, pid = worker.pid(), "handed off");
                worker
                    .in_flight
                    .insert(client.session, InFlight { socket: client.socket, peer: client.peer });
            }
            Err(e) => {
                // The worker is not taking packets (its buffer is full, or it is dying):
                // the client waits for the next routing round.
                warn!(session = %client.session, worker = %worker.id, error = %e, "handoff failed; will retry");
                self.queue(client);
            }
        }
    }

    fn queue(&mut self, client: Pending) {
        if self.pending.len() >= MAX_PENDING {
            warn!(session = %client.session, peer = %client.peer, "too many connections waiting for a worker; closing");
            return;
        }
        self.pending.push_back(client);
    }

    fn route_pending(&mut self) {
        let now = Instant::now();
        while self.pending.front().is_some_and(|p| now.duration_since(p.since) >= self.config.startup_timeout)
        {
            let p = self.pending.pop_front().expect("checked non-empty");
            warn!(session = %p.session, peer = %p.peer, "no worker became ready in time; closing the connection");
        }
        for _ in 0..self.pending.len() {
            if self.pool.pick().is_none() {
                return;
            }
            let client = self.pending.pop_front().expect("length checked");
            self.hand_off(client);
        }
    }

    // ---- workers ----

    fn spawn(&mut self, slot: usize) {
        let id = WorkerId(slot as u32);
        let result = sys::channel_pair().and_then(|(ours, theirs)| {
            let args = worker_args(id, self.generation, &self.config);
            let child = sys::spawn_worker(&self.exe, &args, theirs, self.worker_config.as_bytes())?;
            Ok((ours, child))
        });
        let (channel, child) = match result {
            Ok(pair) => pair,
            Err(e) => {
                error!(worker = %id, error = %e, "could not start a worker");
                let delay = self.slots[slot].restarts.record_exit(Duration::ZERO, false);
                self.slots[slot].respawn_at = Some(Instant::now() + delay);
                return;
            }
        };
        let registered = self.poll.registry().register(
            &mut SourceFd(&channel.as_raw_fd()),
            Token(WORKER_BASE + slot),
            Interest::READABLE,
        );
        if let Err(e) = registered {
            error!(worker = %id, error = %e, "could not watch a worker channel");
        }
        info!(worker = %id, pid = child.id(), generation = %self.generation, "worker started");
        self.pool.workers.push(Worker {
            id,
            generation: self.generation,
            child,
            channel,
            state: WorkerState::Starting,
            sessions: 0,
            in_flight: Default::default(),
            started: Instant::now(),
        });
    }

    fn respawn_due(&mut self) {
        let now = Instant::now();
        for slot in 0..self.slots.len() {
            if self.slots[slot].respawn_at.is_some_and(|t| now >= t) {
                self.slots[slot].respawn_at = None;
                self.spawn(slot);
            }
        }
    }

    fn kill_unready(&mut self) {
        let now = Instant::now();
        for w in &self.pool.workers {
            if w.state == WorkerState::Starting && now.duration_since(w.started) > READY_TIMEOUT {
                warn!(worker = %w.id, pid = w.pid(), "worker not ready in time; killing it");
                let _ = kill(Pid::from_raw(w.pid() as i32), Signal::SIGKILL);
            }
        }
    }

    fn worker_events(&mut self, id: WorkerId) {
        let Some(index) = self.pool.workers.iter().position(|w| w.id == id) else { return };
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
                Err(e) => {
                    error!(worker = %worker.id, pid = worker.pid(), error = %e, "worker channel failed; killing the worker");
                    let _ = kill(Pid::from_raw(worker.pid() as i32), Signal::SIGKILL);
                    return;
                }
            };
            match FromWorker::decode(&buf[..n]) {
                Ok(message) => self.worker_message(index, message),
                Err(e) => {
                    error!(worker = %worker.id, pid = worker.pid(), error = %e, "bad packet from worker; killing it");
                    let _ = kill(Pid::from_raw(worker.pid() as i32), Signal::SIGKILL);
                    return;
                }
            }
        }
    }

    fn worker_message(&mut self, index: usize, message: FromWorker) {
        let worker = &mut self.pool.workers[index];
        let span = info_span!("worker", id = %worker.id, pid = worker.pid(), generation = %worker.generation);
        let _entered = span.enter();
        match message {
            FromWorker::Ready { pid } => {
                if pid != worker.pid() {
                    warn!(reported = pid, "worker reported another pid");
                }
                worker.state = WorkerState::Ready;
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
            FromWorker::Pong { .. } => {}
            FromWorker::Stats(_) => {}
            FromWorker::Drained => info!("worker drained"),
            FromWorker::Cancel { pid, secret } => {
                if let Some(target) = self.pool.index_of_pid(pid) {
                    let packet = ToWorker::Cancel { pid, secret }.encode();
                    let _ = sys::send(self.pool.workers[target].channel.as_fd(), &packet);
                }
            }
        }
    }

    /// Collects exited workers: logs how each ended, re-routes the clients it never
    /// acknowledged, and schedules its replacement.
    fn reap(&mut self) {
        loop {
            let status = match waitpid(None::<Pid>, Some(WaitPidFlag::WNOHANG)) {
                Ok(WaitStatus::StillAlive) | Err(_) => return,
                Ok(status) => status,
            };
            let Some(pid) = status.pid() else { continue };
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
            let log_exit = |msg: &str| {
                if clean || self.shutdown.is_some() {
                    info!(worker = %worker.id, pid = pid.as_raw(), status = %how, sessions = worker.sessions, lived_ms = lived.as_millis() as u64, "{msg}");
                } else {
                    error!(worker = %worker.id, pid = pid.as_raw(), status = %how, sessions = worker.sessions, lived_ms = lived.as_millis() as u64, "{msg}");
                }
            };
            log_exit("worker exited");
            for (session, f) in worker.in_flight.drain() {
                info!(session = %session, "re-routing a client the dead worker never took");
                self.pending.push_front(Pending {
                    session,
                    socket: f.socket,
                    peer: f.peer,
                    since: Instant::now(),
                });
            }
            if self.shutdown.is_none() {
                let slot = worker.id.0 as usize;
                let delay =
                    self.slots[slot].restarts.record_exit(lived, worker.state != WorkerState::Starting);
                if !delay.is_zero() {
                    warn!(worker = %worker.id, delay_ms = delay.as_millis() as u64, "worker keeps failing; delaying its restart");
                }
                self.slots[slot].respawn_at = Some(Instant::now() + delay);
            }
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
                    self.kill_all();
                    std::process::exit(0);
                }
                SIGUSR2 | SIGHUP => warn!(signal = sig, "reload is not implemented yet; ignoring"),
                _ => {}
            }
        }
    }

    fn begin_shutdown(&mut self, why: &str, drain: Duration) {
        if self.shutdown.is_some() {
            return;
        }
        info!(timeout_ms = drain.as_millis() as u64, "{why}");
        // Refuse new clients at once rather than let them queue on a closing server.
        for l in self.listeners.drain(..) {
            let _ = self.poll.registry().deregister(&mut SourceFd(&l.raw_fd()));
        }
        self.pending.clear();
        for slot in &mut self.slots {
            slot.respawn_at = None;
        }
        let packet = ToWorker::Drain { timeout_ms: drain.as_millis() as u64 }.encode();
        for w in &mut self.pool.workers {
            w.state = WorkerState::Draining;
            let _ = sys::send(w.channel.as_fd(), &packet);
        }
        self.shutdown = Some(Shutdown { deadline: Instant::now() + drain + Duration::from_secs(5) });
    }

    fn kill_all(&mut self) {
        for w in &self.pool.workers {
            let _ = kill(Pid::from_raw(w.pid() as i32), Signal::SIGKILL);
        }
        for w in &mut self.pool.workers {
            let _ = w.child.wait();
        }
        self.pool.workers.clear();
    }
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
