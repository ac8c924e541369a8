//! The worker table and routing: least connections (open sessions plus handoffs in
//! flight), round-robin among ties, only to ready and responsive workers of the serving
//! generation.

use std::collections::HashMap;
use std::os::fd::OwnedFd;
use std::time::{Duration, Instant};

pub use mallard_protocol::admin::WorkerState;
use mallard_protocol::channel::{Generation, Peer, SessionId, WorkerId};
use serde::{Deserialize, Serialize};

use crate::outbox::Outbox;

/// A client socket sent to a worker that has not acknowledged it yet. The supervisor
/// keeps its copy until then, so that a worker dying first cannot lose the client.
pub struct InFlight {
    pub socket: OwnedFd,
    pub peer: Peer,
    pub moving: Option<Moving>,
}

/// A live session on its way to another worker at a reload (`FromWorker::Moved`): it
/// keeps its backend pid, and its state travels as a memfd the supervisor never reads,
/// with its advisory lock files.
pub struct Moving {
    pub pid: u32,
    pub state: OwnedFd,
    pub locks: Vec<OwnedFd>,
}

pub struct Worker {
    /// Unique for the supervisor's lifetime, across generations and re-executions.
    pub id: WorkerId,
    /// Its place in its generation; a replacement takes the same slot.
    pub slot: usize,
    pub generation: Generation,
    pub pid: u32,
    pub channel: OwnedFd,
    pub state: WorkerState,
    pub sessions: u32,
    pub in_flight: HashMap<SessionId, InFlight>,
    pub started: Instant,
    /// The health ping waiting for its pong, and when it was sent.
    pub ping: Option<(u64, Instant)>,
    pub last_ping: Instant,
    /// Why the supervisor killed it, if it did: the restart's cause.
    pub killed: Option<Killed>,
    /// The channel version it speaks. A worker of an older binary that a reload left
    /// behind may speak another one than this supervisor; it is only waited for.
    pub channel_version: u8,
    /// Packets its channel could not take yet (notifications).
    pub outbox: Outbox,
}

/// Why the supervisor killed a worker.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Killed {
    /// It left a health ping unanswered for `health_timeout`.
    Health,
    /// It did not become ready in time.
    Unready,
    /// It belonged to a reload that failed.
    Reload,
}

/// A worker whose ping has gone unanswered this long gets no new clients.
pub const UNRESPONSIVE_AFTER: Duration = Duration::from_millis(1000);

impl Worker {
    /// A worker just spawned or adopted, in `state`, started `started`.
    pub fn new(
        id: WorkerId,
        slot: usize,
        generation: Generation,
        pid: u32,
        channel: OwnedFd,
        state: WorkerState,
        started: Instant,
    ) -> Worker {
        Worker {
            id,
            slot,
            generation,
            pid,
            channel,
            state,
            sessions: 0,
            in_flight: HashMap::new(),
            started,
            ping: None,
            last_ping: Instant::now(),
            killed: None,
            channel_version: mallard_protocol::channel::VERSION,
            outbox: Outbox::default(),
        }
    }

    /// SIGKILLs it, once, and remembers why.
    pub fn kill(&mut self, why: Killed) {
        if self.killed.is_none() {
            self.killed = Some(why);
            let _ = nix::sys::signal::kill(
                nix::unistd::Pid::from_raw(self.pid as i32),
                nix::sys::signal::Signal::SIGKILL,
            );
        }
    }

    pub fn load(&self) -> usize {
        self.sessions as usize + self.in_flight.len()
    }

    /// Whether this supervisor and the worker understand each other's packets.
    pub fn speaks_our_channel(&self) -> bool {
        self.channel_version == mallard_protocol::channel::VERSION
    }

    /// False while a ping has waited longer than [`UNRESPONSIVE_AFTER`]: a stopped or
    /// hung worker would only sit on the clients it is sent.
    pub fn responsive(&self, now: Instant) -> bool {
        self.ping.is_none_or(|(_, sent)| now.duration_since(sent) < UNRESPONSIVE_AFTER)
    }
}

/// A slot's restart history, for backoff when a worker keeps dying at start.
#[derive(Default, Clone, Copy, Serialize, Deserialize)]
pub struct Restarts {
    pub failures: u32,
}

/// A worker that lived less than this counts as failing at start.
pub const STABLE_AFTER: Duration = Duration::from_secs(10);
const BACKOFF_BASE: Duration = Duration::from_millis(100);
const BACKOFF_MAX: Duration = Duration::from_secs(30);

impl Restarts {
    /// Records an exit; returns how long to wait before the replacement.
    pub fn record_exit(&mut self, lived: Duration, was_ready: bool) -> Duration {
        if was_ready && lived >= STABLE_AFTER {
            self.failures = 0;
            return Duration::ZERO;
        }
        self.failures = self.failures.saturating_add(1);
        BACKOFF_BASE.saturating_mul(1 << self.failures.min(9)).min(BACKOFF_MAX)
    }
}

#[derive(Default)]
pub struct Pool {
    pub workers: Vec<Worker>,
    cursor: usize,
}

impl Pool {
    /// The ready, responsive worker of `generation` with the fewest sessions; ties go
    /// round-robin.
    pub fn pick(&mut self, generation: Generation) -> Option<usize> {
        let n = self.workers.len();
        let now = Instant::now();
        let mut best: Option<(usize, usize)> = None;
        for k in 0..n {
            let i = (self.cursor + k) % n;
            let w = &self.workers[i];
            if w.state != WorkerState::Ready || w.generation != generation || !w.responsive(now) {
                continue;
            }
            if best.is_none_or(|(_, load)| w.load() < load) {
                best = Some((i, w.load()));
            }
        }
        let (i, _) = best?;
        self.cursor = (i + 1) % n.max(1);
        Some(i)
    }

    pub fn index_of_pid(&self, pid: u32) -> Option<usize> {
        self.workers.iter().position(|w| w.pid == pid)
    }

    pub fn index_of(&self, id: WorkerId) -> Option<usize> {
        self.workers.iter().position(|w| w.id == id)
    }

    /// Sessions open plus handoffs in flight, over every worker.
    pub fn load(&self) -> usize {
        self.workers.iter().map(Worker::load).sum()
    }

    /// Ready workers of `generation`.
    pub fn ready_in(&self, generation: Generation) -> usize {
        self.of_generation(generation).filter(|w| w.state == WorkerState::Ready).count()
    }

    pub fn of_generation(&self, generation: Generation) -> impl Iterator<Item = &Worker> {
        self.workers.iter().filter(move |w| w.generation == generation)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_and_resets_once_stable() {
        let mut r = Restarts::default();
        let a = r.record_exit(Duration::from_millis(5), false);
        let b = r.record_exit(Duration::from_millis(5), false);
        assert!(b > a);
        for _ in 0..20 {
            r.record_exit(Duration::ZERO, false);
        }
        assert_eq!(r.record_exit(Duration::ZERO, false), BACKOFF_MAX);
        assert_eq!(r.record_exit(STABLE_AFTER, true), Duration::ZERO);
    }
}
