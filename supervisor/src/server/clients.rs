//! Client sockets, from accept to a worker: each gets a session number, goes to the
//! least loaded ready worker of the serving generation in one `Handoff` packet, or waits
//! in a bounded queue until a worker is ready; one no worker will serve is turned away
//! with the `FATAL` PostgreSQL would send. A session an old worker hands back at a
//! reload (`Moved`) takes the same road to the new generation in a `Resume` packet,
//! with its state; it waits as long as it takes (in `duckdb` read-write mode, until
//! the new worker has the file).

use std::collections::VecDeque;
use std::os::fd::{AsFd, OwnedFd};
use std::time::{Duration, Instant};

use mallard_protocol::channel::{Peer, SessionId, ToWorker};
use tracing::{debug, info, warn};

use super::Server;
use crate::metrics::Reject;
use crate::pool::{InFlight, Moving};
use crate::sys;

/// After an accept error (out of fds, say), wait this long instead of spinning.
const ACCEPT_PAUSE: Duration = Duration::from_millis(100);
/// Connections waiting for a ready worker, at most.
const MAX_PENDING: usize = 4096;

/// A client accepted but not yet handed to a worker.
pub(super) struct Pending {
    pub session: SessionId,
    pub socket: OwnedFd,
    pub peer: Peer,
    pub since: Instant,
    /// A live session moving at a reload, not a new client.
    pub moving: Option<Moving>,
}

impl Server {
    pub(super) fn accept(&mut self, index: usize) {
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
                    self.hand_off(Pending { session, socket, peer, since: Instant::now(), moving: None });
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

    pub(super) fn resume_accepting(&mut self) {
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
    pub(super) fn hand_off(&mut self, client: Pending) {
        let Some(index) = self.pool.pick(self.serving) else {
            return self.queue(client);
        };
        // Past the connection cap the worker still takes a new client, to tell it so.
        // Below it, the worker admits the session under max_connections once the
        // startup packet is read. A moving session is already admitted.
        let open = self.pool.load();
        let full = client.moving.is_none() && open >= self.config.connection_cap();
        if full {
            self.metrics.rejected(Reject::TooMany);
            info!(session = %client.session, open, cap = self.config.connection_cap(), "too many connections; the worker will refuse this one");
        }
        let worker = &mut self.pool.workers[index];
        // A moving session's pid stays reserved for it (see Backends::moving).
        let pid = self.backends.assign(client.session, worker.id);
        let (session, peer) = (client.session, client.peer);
        let sent = match &client.moving {
            None => {
                let packet = ToWorker::Handoff { session, pid, peer, full }.encode();
                sys::send_with_fds(worker.channel.as_fd(), &packet, &[client.socket.as_fd()])
            }
            Some(moving) => {
                debug_assert_eq!(moving.pid, pid, "a moving session keeps its pid");
                let packet = ToWorker::Resume { session, pid, peer }.encode();
                let mut fds = vec![client.socket.as_fd(), moving.state.as_fd()];
                fds.extend(moving.locks.iter().map(|f| f.as_fd()));
                sys::send_with_fds(worker.channel.as_fd(), &packet, &fds)
            }
        };
        match sent {
            Ok(()) => {
                debug!(session = %client.session, backend_pid = pid, worker = %worker.id, pid = worker.pid, moving = client.moving.is_some(), "handed off");
                worker
                    .in_flight
                    .insert(client.session, InFlight { socket: client.socket, peer, moving: client.moving });
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
    pub(super) fn refuse(&mut self, client: Pending, reason: Reject) {
        use mallard_protocol::pg::backend::{ErrorInfo, Message};
        use mallard_protocol::pg::SqlState;
        self.metrics.rejected(reason);
        let error = match reason {
            // A live session moving at a reload that cannot be resumed ends as the
            // sessions a drain ends.
            _ if client.moving.is_some() => ErrorInfo::fatal(
                SqlState::ADMIN_SHUTDOWN,
                "terminating connection due to administrator command",
            ),
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
        // A moving session is one the server already holds: it is never turned away.
        if client.moving.is_none() && self.pending.len() >= MAX_PENDING {
            warn!(session = %client.session, peer = %client.peer, "too many connections waiting for a worker; closing");
            return self.refuse(client, Reject::QueueFull);
        }
        self.pending.push_back(client);
    }

    /// How long a client may wait in the queue: `startup_timeout`, except while the
    /// database file changes hands (a reload in `duckdb` read-write mode), when clients
    /// wait for as long as that takes.
    pub(super) fn pending_patience(&self) -> Option<Duration> {
        if self.reload.hands_file_over() {
            return None;
        }
        Some(self.config.startup_timeout)
    }

    /// When the oldest new client waiting runs out of patience (moving sessions wait
    /// for as long as it takes).
    pub(super) fn pending_deadline(&self) -> Option<Instant> {
        let patience = self.pending_patience()?;
        self.pending.iter().find(|p| p.moving.is_none()).map(|p| p.since + patience)
    }

    /// Turns away clients that waited too long, and hands the others to ready workers.
    pub(super) fn route_pending(&mut self) {
        if let Some(patience) = self.pending_patience() {
            let now = Instant::now();
            let expired = |p: &Pending| p.moving.is_none() && now.duration_since(p.since) >= patience;
            if self.pending.iter().any(expired) {
                let (gone, kept): (VecDeque<Pending>, VecDeque<Pending>) =
                    std::mem::take(&mut self.pending).into_iter().partition(expired);
                self.pending = kept;
                for p in gone {
                    warn!(session = %p.session, peer = %p.peer, "no worker became ready in time; closing the connection");
                    self.refuse(p, Reject::Timeout);
                }
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
}
