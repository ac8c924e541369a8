//! The worker processes: spawning one into a slot, reading what it sends on its channel
//! and sending what must not be lost through its outbox, pinging it, and when it exits, reaping it, re-routing the clients it never took and
//! scheduling its replacement (with backoff when it keeps failing at start).

use std::os::fd::{AsFd, AsRawFd, OwnedFd};
use std::time::{Duration, Instant};

use mallard_protocol::channel::{FromWorker, Generation, SessionId, ToWorker, WorkerId, MAX_PACKET};
use mio::unix::SourceFd;
use mio::{Interest, Token};
use nix::sys::signal::{kill, Signal};
use nix::sys::wait::{waitpid, WaitPidFlag, WaitStatus};
use nix::unistd::Pid;
use tracing::{debug, error, info, info_span, warn};

use super::clients::Pending;
use super::{Server, WORKER_BASE};
use crate::config::{Config, LogFormat};
use crate::metrics::RestartCause;
use crate::outbox::Sent;
use crate::pool::{Killed, Moving, Restarts, Worker, WorkerState, UNRESPONSIVE_AFTER};
use crate::reload::READY_TIMEOUT;
use crate::sys;

/// One worker slot of the serving generation: its restart history, and when its
/// replacement is due.
pub(super) struct Slot {
    pub restarts: Restarts,
    pub respawn_at: Option<Instant>,
}

impl Server {
    /// Starts a worker of `generation` in `slot`, from our own image.
    pub(super) fn spawn(&mut self, slot: usize, generation: Generation, worker_config: &str) -> bool {
        let id = WorkerId(self.next_worker);
        self.next_worker += 1;
        let result = sys::channel_pair().and_then(|(ours, theirs)| {
            let args = worker_args(id, generation, &self.config);
            let exe = self.reload.launch().own_image();
            let pid = sys::spawn_worker(&exe, &args, theirs, self.activity.fd(), worker_config.as_bytes())?;
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

    pub(super) fn watch_worker(&self, id: WorkerId, channel: &OwnedFd) {
        let registered = self.poll.registry().register(
            &mut SourceFd(&channel.as_raw_fd()),
            Token(WORKER_BASE + id.0 as usize),
            Interest::READABLE,
        );
        if let Err(e) = registered {
            error!(worker = %id, error = %e, "could not watch a worker channel");
        }
    }

    pub(super) fn respawn_due(&mut self) {
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

    /// Schedules a replacement for every slot of the serving generation that has no
    /// worker.
    pub(super) fn refill_slots(&mut self, generation: Generation) {
        for (slot, s) in self.slots.iter_mut().enumerate() {
            if !self.pool.workers.iter().any(|w| w.generation == generation && w.slot == slot) {
                s.respawn_at = Some(Instant::now());
            }
        }
    }

    pub(super) fn kill_unready(&mut self) {
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

    /// Tells the workers of `generation` to take nothing new and finish within
    /// `drain_timeout`, handing their sessions back to be resumed by the next generation
    /// as they become quiet (a reload).
    pub(super) fn drain_generation(&mut self, generation: Generation) {
        let packet =
            ToWorker::Drain { timeout_ms: self.config.drain_timeout.as_millis() as u64, hand_over: true }
                .encode();
        for w in self.pool.workers.iter_mut().filter(|w| w.generation == generation) {
            if w.state != WorkerState::Draining {
                info!(worker = %w.id, pid = w.pid, generation = %generation, sessions = w.sessions, "draining");
                w.state = WorkerState::Draining;
                let _ = sys::send(w.channel.as_fd(), &packet);
            }
        }
    }

    pub(super) fn kill_generation(&mut self, generation: Generation, why: Killed) {
        for w in self.pool.workers.iter_mut().filter(|w| w.generation == generation) {
            w.kill(why);
        }
    }

    // ---- health ----

    fn ping_interval(&self) -> Duration {
        (self.config.health_timeout / 5).clamp(Duration::from_millis(100), Duration::from_secs(1))
    }

    /// When the next ping is due, or an unanswered one turns its worker unresponsive.
    pub(super) fn next_ping_due(&self) -> Option<Instant> {
        let interval = self.ping_interval();
        self.pool
            .workers
            .iter()
            .filter(|w| w.state != WorkerState::Starting && w.speaks_our_channel())
            .map(|w| match w.ping {
                Some((_, sent)) => sent + UNRESPONSIVE_AFTER.min(self.config.health_timeout),
                None => w.last_ping + interval,
            })
            .min()
    }

    /// Pings every running worker; one that leaves a ping unanswered for
    /// `health_timeout` (hung, or stopped) is killed and replaced. Meanwhile, from
    /// [`UNRESPONSIVE_AFTER`] on, it gets no new clients.
    pub(super) fn health(&mut self) {
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

    // ---- the channel ----

    pub(super) fn worker_events(&mut self, id: WorkerId) {
        let Some(index) = self.pool.index_of(id) else { return };
        self.flush_outbox(index);
        self.drain_channel(index);
    }

    /// Sends a packet that must not be lost (a notification): now, or once the channel
    /// has room, after those that wait before it. Never waits.
    pub(super) fn send_queued(&mut self, index: usize, packet: Vec<u8>) {
        let worker = &mut self.pool.workers[index];
        let channel = worker.channel.as_fd();
        let was_empty = worker.outbox.is_empty();
        match worker.outbox.send(packet, |p| sys::send(channel, p)) {
            Ok(Sent::Now | Sent::Dropped) => {}
            Ok(Sent::Queued) if was_empty => {
                debug!(worker = %worker.id, pid = worker.pid, "worker channel full; packets wait in its outbox");
                self.watch_writable(index, true);
            }
            Ok(Sent::Queued) => {}
            // The worker is going; reaping it follows.
            Err(e) => debug!(worker = %worker.id, pid = worker.pid, error = %e, "could not send to a worker"),
        }
    }

    /// After a re-execution: sends what the previous image's outbox held, and watches
    /// for room for the rest.
    pub(super) fn resume_outbox(&mut self, index: usize) {
        self.flush_outbox(index);
        if !self.pool.workers[index].outbox.is_empty() {
            self.watch_writable(index, true);
        }
    }

    /// Sends what waits in a worker's outbox, as far as its channel takes it.
    fn flush_outbox(&mut self, index: usize) {
        let worker = &mut self.pool.workers[index];
        if worker.outbox.is_empty() {
            return;
        }
        let channel = worker.channel.as_fd();
        match worker.outbox.flush(|p| sys::send(channel, p)) {
            Ok(false) => {}
            Ok(true) => self.watch_writable(index, false),
            Err(e) => {
                debug!(worker = %worker.id, pid = worker.pid, error = %e, "could not send to a worker");
                worker.outbox.clear();
                self.watch_writable(index, false);
            }
        }
    }

    /// Watches a worker's channel for room to write too, or no longer.
    fn watch_writable(&self, index: usize, writable: bool) {
        let worker = &self.pool.workers[index];
        let interest = if writable { Interest::READABLE | Interest::WRITABLE } else { Interest::READABLE };
        let token = Token(WORKER_BASE + worker.id.0 as usize);
        if let Err(e) =
            self.poll.registry().reregister(&mut SourceFd(&worker.channel.as_raw_fd()), token, interest)
        {
            error!(worker = %worker.id, error = %e, "could not watch a worker channel");
        }
    }

    /// Reads every packet waiting on a worker's channel.
    pub(super) fn drain_channel(&mut self, index: usize) {
        let mut buf = [0u8; MAX_PACKET];
        let mut space = sys::fd_space();
        loop {
            let worker = &self.pool.workers[index];
            let (n, fds) = match sys::recv_packet(worker.channel.as_fd(), &mut buf, &mut space) {
                Ok(Some((0, _))) | Ok(None) => return,
                Ok(Some(received)) => received,
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
                Ok(FromWorker::Moved { session, pid, peer }) if fds.len() >= 2 => {
                    let mut fds = fds.into_iter();
                    let (socket, state) = fds.next().zip(fds.next()).expect("checked: two fds at least");
                    let moving = Some(Moving { pid, state, locks: fds.collect() });
                    self.moved(
                        index,
                        session,
                        Pending { session, socket, peer, since: Instant::now(), moving },
                    );
                }
                Ok(message) if fds.is_empty() && !matches!(message, FromWorker::Moved { .. }) => {
                    self.worker_message(index, message)
                }
                Ok(_) => {
                    error!(worker = %worker.id, pid = worker.pid, fds = fds.len(), "worker packet with the wrong fds; killing the worker");
                    let _ = kill(Pid::from_raw(worker.pid as i32), Signal::SIGKILL);
                    return;
                }
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
                self.backends.close(session);
                debug!(session = %session, "session closed");
            }
            FromWorker::Pong { seq } => {
                if worker.ping.is_some_and(|(s, _)| s == seq) {
                    worker.ping = None;
                }
            }
            FromWorker::Stats(delta) => self.metrics.apply(&delta),
            FromWorker::Drained { terminated } => {
                info!(terminated, "worker drained");
                self.metrics.sessions_terminated(terminated);
            }
            FromWorker::Cancel { pid, secret } => self.forward(pid, ToWorker::Cancel { pid, secret }),
            FromWorker::Signal { pid, signal } => self.forward(pid, ToWorker::Signal { pid, signal }),
            FromWorker::Notify { sender, channel, payload } => {
                self.notify_workers(index, sender, channel, payload)
            }
            FromWorker::Moved { .. } => unreachable!("drain_channel takes moves, with their fds"),
        }
    }

    /// A session of a draining worker left it to be resumed by the serving generation.
    fn moved(&mut self, index: usize, session: SessionId, client: Pending) {
        let worker = &mut self.pool.workers[index];
        worker.sessions = worker.sessions.saturating_sub(1);
        debug!(session = %session, worker = %worker.id, "session moving to the new generation");
        self.backends.moving(session);
        self.metrics.session_moved();
        self.hand_off(client);
    }

    /// Sends a cancel or a signal to the worker that owns the session with this backend
    /// pid, through its outbox, so that a full channel delays it instead of losing it.
    fn forward(&mut self, pid: u32, message: ToWorker) {
        let Some(owner) = self.backends.owner(pid) else {
            debug!(backend_pid = pid, "cancel or signal for no live session");
            return;
        };
        if let Some(target) = self.pool.index_of(owner) {
            self.send_queued(target, message.encode());
        }
    }

    // ---- exits ----

    /// Collects exited children: workers, and a reload's `check`.
    pub(super) fn reap(&mut self) {
        loop {
            let status = match waitpid(None::<Pid>, Some(WaitPidFlag::WNOHANG)) {
                Ok(WaitStatus::StillAlive) | Err(_) => return,
                Ok(status) => status,
            };
            let Some(pid) = status.pid() else { continue };
            if self.reload.is_check(pid.as_raw() as u32) {
                let steps = self.reload.check_exited(status);
                self.carry_out(steps);
                continue;
            }
            if let Some(index) = self.pool.index_of_pid(pid.as_raw() as u32) {
                self.worker_exited(index, status);
            }
        }
    }

    /// Logs how a worker ended, re-routes the clients it never acknowledged, and
    /// schedules its replacement.
    fn worker_exited(&mut self, index: usize, status: WaitStatus) {
        // Acknowledgements it sent before dying are still in the channel.
        self.drain_channel(index);
        let mut worker = self.pool.workers.remove(index);
        self.unwatch(&worker.channel);
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
        let pid = worker.pid;
        if expected {
            info!(worker = %worker.id, pid, generation = %worker.generation, status = %how, sessions = worker.sessions, lived_ms = lived.as_millis() as u64, "worker exited");
        } else {
            error!(worker = %worker.id, pid, generation = %worker.generation, status = %how, cause = cause.label(), sessions = worker.sessions, lived_ms = lived.as_millis() as u64, "worker exited");
        }
        // A moving session the dead worker never took keeps its pid for the next one.
        for (&session, f) in &worker.in_flight {
            if f.moving.is_some() {
                self.backends.moving(session);
            }
        }
        self.forget_sessions_of(&worker);
        for (session, f) in worker.in_flight.drain() {
            info!(session = %session, "re-routing a client the dead worker never took");
            self.pending.push_front(Pending {
                session,
                socket: f.socket,
                peer: f.peer,
                since: Instant::now(),
                moving: f.moving,
            });
        }
        if self.reload.is_candidate(worker.generation) {
            if worker.state == WorkerState::Starting {
                self.fail_reload(format!(
                    "a worker of the new generation exited before it was ready ({how})"
                ));
            }
            return;
        }
        if self.shutdown.is_none() && worker.generation == self.serving && !self.reload.hands_file_over() {
            let slot = worker.slot;
            self.metrics.worker_restart(cause);
            let delay = self.slots[slot].restarts.record_exit(lived, worker.state != WorkerState::Starting);
            if !delay.is_zero() {
                warn!(worker = %worker.id, delay_ms = delay.as_millis() as u64, "worker keeps failing; delaying its restart");
            }
            self.slots[slot].respawn_at = Some(Instant::now() + delay);
        }
    }
}

impl Server {
    /// Frees what the sessions of a worker that exited held: their backend pids, and
    /// the session table's slots (a worker that crashed could not free its own).
    fn forget_sessions_of(&mut self, worker: &Worker) {
        self.backends.close_worker(worker.id);
        if let Some(table) = self.activity.table() {
            let slots = table.slots_of_worker(worker.pid);
            if !slots.is_empty() {
                info!(worker = %worker.id, sessions = slots.len(), "removing the dead worker's sessions from the session table");
            }
            for slot in slots {
                table.release(slot);
                table.leave();
            }
        }
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
            LogFormat::Text => "text".into(),
            LogFormat::Json => "json".into(),
        },
        "--log-level".into(),
        config.log_level.clone(),
    ]
}
