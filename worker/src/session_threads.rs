//! Session threads that outlive their session. A thread that has served a client waits
//! a while for the next one instead of exiting: creating a thread with its 16 MiB stack
//! and ending it (glibc gives the stack's pages back with `madvise`, and unmaps the
//! stack once its cache of stacks is full, which takes every CPU's TLB with it) cost a
//! third of a worker's time when clients connected for one statement each.

use std::collections::VecDeque;
use std::io;
use std::sync::{Condvar, Mutex};
use std::thread;
use std::time::Duration;

/// DuckDB recurses deeply on nested SQL; the default 2 MiB thread stack is too small.
const STACK: usize = 16 << 20;
/// How many threads may wait for a session at once; more end as their session does.
const MAX_IDLE: usize = 16;
/// How long a thread waits for a session before it ends.
const IDLE_FOR: Duration = Duration::from_secs(30);

/// What a waiting thread is called.
pub const IDLE_NAME: &str = "session-idle";

type Job = Box<dyn FnOnce() + Send>;

pub struct SessionThreads {
    state: Mutex<State>,
    wake: Condvar,
}

struct State {
    /// Sessions handed to waiting threads and not yet taken: never more than `idle`.
    queued: VecDeque<(String, Job)>,
    /// Threads waiting for a session.
    idle: usize,
}

impl SessionThreads {
    pub const fn new() -> SessionThreads {
        SessionThreads { state: Mutex::new(State { queued: VecDeque::new(), idle: 0 }), wake: Condvar::new() }
    }

    /// Runs `job` on a waiting thread, or on a new one named `name`.
    pub fn run(&'static self, name: String, job: impl FnOnce() + Send + 'static) -> io::Result<()> {
        {
            let mut state = self.lock();
            if state.idle > state.queued.len() {
                state.queued.push_back((name, Box::new(job)));
                drop(state);
                self.wake.notify_one();
                return Ok(());
            }
        }
        let first: Job = Box::new(job);
        thread::Builder::new().name(name).stack_size(STACK).spawn(move || self.serve(first))?;
        Ok(())
    }

    /// A thread's life: its first session, then those it is given while it waits.
    fn serve(&self, first: Job) {
        first();
        while let Some((name, job)) = self.next() {
            crate::sys::name_thread(&name);
            job();
        }
    }

    /// The next session for this thread, or `None` when it should end.
    fn next(&self) -> Option<(String, Job)> {
        let mut state = self.lock();
        if state.idle >= MAX_IDLE {
            return None;
        }
        state.idle += 1;
        // `ps -L` and /proc tell a waiting thread from one that serves a session.
        crate::sys::name_thread(IDLE_NAME);
        let mut waited = false;
        loop {
            if let Some(job) = state.queued.pop_front() {
                state.idle -= 1;
                return Some(job);
            }
            // One full wait without a session, not one per spurious wake-up: the
            // thread ends at once when that wait has passed.
            if waited {
                state.idle -= 1;
                return None;
            }
            let (next, timeout) =
                self.wake.wait_timeout(state, IDLE_FOR).unwrap_or_else(|poisoned| poisoned.into_inner());
            state = next;
            waited = timeout.timed_out();
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        // A job never runs under the lock, so a poisoned lock holds consistent state.
        self.state.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::mpsc;

    #[test]
    fn threads_are_used_again_and_every_job_runs() {
        static POOL: SessionThreads = SessionThreads::new();
        static RAN: AtomicUsize = AtomicUsize::new(0);
        let (done, finished) = mpsc::channel();
        let mut threads = std::collections::HashSet::new();
        for round in 0..20 {
            let done = done.clone();
            POOL.run(format!("job-{round}"), move || {
                RAN.fetch_add(1, Ordering::SeqCst);
                done.send(thread::current().id()).unwrap();
            })
            .unwrap();
            threads.insert(finished.recv_timeout(Duration::from_secs(10)).unwrap());
            // The thread goes back to waiting after its job; give it the moment.
            for _ in 0..1000 {
                if POOL.lock().idle > 0 {
                    break;
                }
                thread::sleep(Duration::from_millis(1));
            }
        }
        assert_eq!(RAN.load(Ordering::SeqCst), 20);
        assert_eq!(threads.len(), 1, "one job at a time should need one thread");

        // Jobs that run at once each get a thread.
        let (release, gate) = mpsc::channel::<()>();
        let gate = std::sync::Arc::new(Mutex::new(gate));
        for round in 0..4 {
            let (done, gate) = (done.clone(), std::sync::Arc::clone(&gate));
            POOL.run(format!("held-{round}"), move || {
                done.send(thread::current().id()).unwrap();
                let _ = gate.lock().unwrap().recv();
            })
            .unwrap();
        }
        let held: std::collections::HashSet<_> =
            (0..4).map(|_| finished.recv_timeout(Duration::from_secs(10)).unwrap()).collect();
        assert_eq!(held.len(), 4);
        for _ in 0..4 {
            release.send(()).unwrap();
        }
    }
}
