//! Backend pids: the number a session shows as `pg_backend_pid()`, sends in
//! `BackendKeyData` and is found by in `pg_stat_activity`, `pg_cancel_backend()` and a
//! `CancelRequest`. The supervisor hands one out with each client, unique among the
//! server's live sessions and within PostgreSQL's positive int32, and remembers which
//! worker owns it, so that a cancel or a signal arriving at any worker reaches the
//! session in one lookup.

use std::collections::HashMap;

use mallard_protocol::channel::{SessionId, WorkerId};
use serde::{Deserialize, Serialize};

/// The owner of a session between two workers: no worker has this id.
const MOVING: WorkerId = WorkerId(u32::MAX);

/// The first pid handed out, and the one after `i32::MAX`.
const FIRST: u32 = 1;
const LAST: u32 = i32::MAX as u32;

#[derive(Debug)]
pub struct Backends {
    by_pid: HashMap<u32, (SessionId, WorkerId)>,
    by_session: HashMap<SessionId, u32>,
    next: u32,
}

impl Default for Backends {
    fn default() -> Self {
        Backends { by_pid: HashMap::new(), by_session: HashMap::new(), next: FIRST }
    }
}

/// One live session, as the next image of the supervisor resumes it.
#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
pub struct SavedBackend {
    pub session: u64,
    pub pid: u32,
    pub worker: u32,
}

impl Backends {
    /// The pid of a session handed to `worker`: its own already if it was handed to a
    /// worker that died before taking it, else the next one no live session holds.
    pub fn assign(&mut self, session: SessionId, worker: WorkerId) -> u32 {
        if let Some(&pid) = self.by_session.get(&session) {
            self.by_pid.insert(pid, (session, worker));
            return pid;
        }
        let mut pid = self.next;
        while self.by_pid.contains_key(&pid) {
            pid = following(pid);
        }
        self.next = following(pid);
        self.by_pid.insert(pid, (session, worker));
        self.by_session.insert(session, pid);
        pid
    }

    /// The worker that owns this pid's session.
    pub fn owner(&self, pid: u32) -> Option<WorkerId> {
        self.by_pid.get(&pid).map(|&(_, worker)| worker).filter(|w| *w != MOVING)
    }

    /// The session left its worker at a reload and waits for the next one: its pid
    /// stays reserved (the old worker's exit does not free it), and nothing is
    /// forwarded to it until [`Backends::assign`] gives it its new worker.
    pub fn moving(&mut self, session: SessionId) {
        if let Some(pid) = self.by_session.get(&session) {
            if let Some(entry) = self.by_pid.get_mut(pid) {
                entry.1 = MOVING;
            }
        }
    }

    pub fn close(&mut self, session: SessionId) {
        if let Some(pid) = self.by_session.remove(&session) {
            self.by_pid.remove(&pid);
        }
    }

    /// Forgets every session of a worker that exited.
    pub fn close_worker(&mut self, worker: WorkerId) {
        let gone: Vec<SessionId> =
            self.by_pid.values().filter(|(_, w)| *w == worker).map(|(session, _)| *session).collect();
        for session in gone {
            self.close(session);
        }
    }

    pub fn save(&self) -> (Vec<SavedBackend>, u32) {
        let live = self
            .by_pid
            .iter()
            .map(|(&pid, &(session, worker))| SavedBackend { session: session.0, pid, worker: worker.0 })
            .collect();
        (live, self.next)
    }

    pub fn restore(saved: &[SavedBackend], next: u32) -> Backends {
        let mut backends = Backends { next: next.clamp(FIRST, LAST), ..Backends::default() };
        for b in saved {
            backends.by_pid.insert(b.pid, (SessionId(b.session), WorkerId(b.worker)));
            backends.by_session.insert(SessionId(b.session), b.pid);
        }
        backends
    }
}

fn following(pid: u32) -> u32 {
    if pid >= LAST {
        FIRST
    } else {
        pid + 1
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pids_are_unique_among_live_sessions_and_wrap_within_int32() {
        let mut b = Backends::restore(&[], LAST - 1);
        let w = WorkerId(1);
        assert_eq!(b.assign(SessionId(1), w), LAST - 1);
        assert_eq!(b.assign(SessionId(2), w), LAST);
        assert_eq!(b.assign(SessionId(3), w), FIRST, "wraps to the first");
        // Wrapping again skips the pids still in use.
        let mut b = Backends::restore(&b.save().0, LAST - 1);
        assert_eq!(b.assign(SessionId(4), w), FIRST + 1);
        b.close(SessionId(1));
        assert_eq!(b.owner(LAST - 1), None);
        assert_eq!(b.owner(LAST), Some(w));
    }

    #[test]
    fn a_rerouted_session_keeps_its_pid_and_a_dead_workers_sessions_go() {
        let mut b = Backends::default();
        let pid = b.assign(SessionId(7), WorkerId(1));
        let other = b.assign(SessionId(8), WorkerId(2));
        assert_eq!(b.assign(SessionId(7), WorkerId(3)), pid);
        assert_eq!(b.owner(pid), Some(WorkerId(3)));
        b.close_worker(WorkerId(3));
        assert_eq!((b.owner(pid), b.owner(other), b.save().0.len()), (None, Some(WorkerId(2)), 1));
    }
}
