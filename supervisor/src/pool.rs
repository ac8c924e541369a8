//! The worker table and routing: least connections (open sessions plus handoffs in
//! flight), round-robin among ties, only to workers that are ready.

use std::collections::HashMap;
use std::os::fd::OwnedFd;
use std::process::Child;
use std::time::{Duration, Instant};

use mallard_protocol::channel::{Generation, Peer, SessionId, WorkerId};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WorkerState {
    /// Spawned; its database is not open yet.
    Starting,
    Ready,
    /// Takes nothing new; exits when its sessions end.
    Draining,
}

/// A client socket sent to a worker that has not acknowledged it yet. The supervisor
/// keeps its copy until then, so that a worker dying first cannot lose the client.
pub struct InFlight {
    pub socket: OwnedFd,
    pub peer: Peer,
}

pub struct Worker {
    pub id: WorkerId,
    pub generation: Generation,
    pub child: Child,
    pub channel: OwnedFd,
    pub state: WorkerState,
    pub sessions: u32,
    pub in_flight: HashMap<SessionId, InFlight>,
    pub started: Instant,
}

impl Worker {
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    pub fn load(&self) -> usize {
        self.sessions as usize + self.in_flight.len()
    }
}

/// A slot's restart history, for backoff when a worker keeps dying at start.
#[derive(Default, Clone, Copy)]
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
    /// The ready worker with the fewest sessions; ties go round-robin.
    pub fn pick(&mut self) -> Option<usize> {
        let n = self.workers.len();
        let mut best: Option<(usize, usize)> = None;
        for k in 0..n {
            let i = (self.cursor + k) % n;
            let w = &self.workers[i];
            if w.state != WorkerState::Ready {
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
        self.workers.iter().position(|w| w.pid() == pid)
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
