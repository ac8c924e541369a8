//! The sessions a worker serves, as cancel requests, `pg_cancel_backend()`, statement
//! timeouts and draining need to reach them from other threads: each session's
//! [`Control`], by backend pid.

use std::collections::HashMap;
use std::net::Shutdown;
use std::os::fd::OwnedFd;
use std::os::unix::net::UnixStream;
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, AtomicU8, AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

use mallard_protocol::channel::Signal;
use subtle::ConstantTimeEq;

use crate::duck::Interrupter;

/// What other threads may do to a running session.
pub struct Control {
    /// The session's cancel key secret.
    secret: Vec<u8>,
    interrupter: Arc<Interrupter>,
    /// Set while a statement runs, so that a cancel arriving between statements does
    /// not leave an interrupt behind for the next one.
    busy: AtomicBool,
    /// Why the running statement was interrupted, if it was: [`Interrupt`] as a byte.
    interrupted: AtomicU8,
    /// Counts the statements begun, so that a repeated interrupt reaches only the
    /// statement it was meant for.
    statement: AtomicU64,
    /// Set when the worker ends the session (drain timeout, shutdown).
    terminating: AtomicBool,
    /// When the last statement began, in microseconds since the epoch.
    last_statement: AtomicI64,
    /// A `COPY FROM` runs: a second thread of the session appends the rows while its
    /// own parses the next ones, so the session keeps two cores busy.
    appending: AtomicBool,
    /// A duplicate of the client socket, to wake a session blocked reading it.
    socket: OwnedFd,
    /// The session's thread, and whether it waits for its idle client's next message:
    /// a reload's drain wakes it there to hand the session over.
    thread: libc::pthread_t,
    reading: AtomicBool,
    /// Over TLS: the session cannot move at a reload.
    tls: bool,
    /// The statement deadline the timer thread watches, started on first use.
    timer: Mutex<Option<Arc<Timer>>>,
}

/// A `COPY FROM`'s appending thread runs (see [`Control::appending`]).
pub struct Appending<'a>(&'a Control);

impl Drop for Appending<'_> {
    fn drop(&mut self) {
        self.0.appending.store(false, Ordering::Relaxed);
    }
}

/// How often, and how many times, an interrupt is repeated while its statement runs.
const REPEAT_EVERY: Duration = Duration::from_millis(20);
const REPEATS: u32 = 500;

/// Why a statement was interrupted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Interrupt {
    /// A cancel request with this session's key, or `pg_cancel_backend()`.
    Cancel,
    /// `statement_timeout` passed.
    Timeout,
}

impl Interrupt {
    /// PostgreSQL's message for the 57014 error the statement fails with.
    pub fn message(self) -> &'static str {
        match self {
            Interrupt::Cancel => "canceling statement due to user request",
            Interrupt::Timeout => "canceling statement due to statement timeout",
        }
    }
}

impl Control {
    pub fn new(secret: Vec<u8>, interrupter: Arc<Interrupter>, socket: OwnedFd, tls: bool) -> Self {
        Control {
            secret,
            interrupter,
            busy: AtomicBool::new(false),
            interrupted: AtomicU8::new(0),
            statement: AtomicU64::new(0),
            terminating: AtomicBool::new(false),
            last_statement: AtomicI64::new(0),
            appending: AtomicBool::new(false),
            socket,
            thread: crate::sys::current_thread(),
            reading: AtomicBool::new(false),
            tls,
            timer: Mutex::new(None),
        }
    }

    /// Marks a `COPY FROM`'s appending thread as running beside the session's own
    /// (see [`Sessions::active`]) until the guard drops.
    pub fn appending(&self) -> Appending<'_> {
        self.appending.store(true, Ordering::Relaxed);
        Appending(self)
    }

    /// The session's cancel key secret, which it keeps when it moves at a reload.
    pub fn secret(&self) -> &[u8] {
        &self.secret
    }

    /// The session waits (`true`) or no longer waits for an idle client's next message.
    /// Called on the session's own thread.
    pub fn set_reading(&self, reading: bool) {
        // Relaxed: every statement stores it twice, and a wake-up that misses it is
        // repeated by the drain.
        self.reading.store(reading, Ordering::Relaxed);
    }

    /// Marks a statement as running, with its deadline if `statement_timeout` is set.
    pub fn begin_statement(self: &Arc<Self>, timeout: Option<Duration>) {
        self.last_statement.store(crate::activity::now_micros(), Ordering::Relaxed);
        self.statement.fetch_add(1, Ordering::SeqCst);
        self.interrupted.store(0, Ordering::SeqCst);
        self.busy.store(true, Ordering::SeqCst);
        if let Some(timeout) = timeout {
            self.timer().arm(Some(Instant::now() + timeout));
        }
    }

    /// Marks the statement finished; returns why it was interrupted, if it was.
    pub fn end_statement(&self) -> Option<Interrupt> {
        self.busy.store(false, Ordering::SeqCst);
        if let Some(timer) = self.timer.lock().unwrap_or_else(|e| e.into_inner()).as_ref() {
            timer.arm(None);
        }
        self.interruption()
    }

    /// Why the running statement was interrupted, if it was. A statement checks this
    /// between chunks, and repeats the interrupt once it has started in DuckDB, because
    /// DuckDB forgets an interrupt that arrives before its query begins.
    pub fn interruption(&self) -> Option<Interrupt> {
        match self.interrupted.load(Ordering::SeqCst) {
            1 => Some(Interrupt::Cancel),
            2 => Some(Interrupt::Timeout),
            _ => None,
        }
    }

    pub fn reinterrupt(&self) {
        if self.interruption().is_some() {
            self.interrupter.interrupt();
        }
    }

    /// Interrupts the running statement, and again every [`REPEAT_EVERY`] while that
    /// statement still runs: DuckDB forgets an interrupt that arrives before its query
    /// begins (while the statement is still being read, planned or prepared), and a
    /// statement that returns its first rows only at its end would never look again.
    fn interrupt(self: &Arc<Self>, why: Interrupt) -> bool {
        if !self.busy.load(Ordering::SeqCst) {
            return false;
        }
        let code = match why {
            Interrupt::Cancel => 1,
            Interrupt::Timeout => 2,
        };
        let statement = self.statement.load(Ordering::SeqCst);
        let _ = self.interrupted.compare_exchange(0, code, Ordering::SeqCst, Ordering::SeqCst);
        self.interrupter.interrupt();
        let control = Arc::clone(self);
        let repeat = std::thread::Builder::new().name("interrupt-repeat".into()).spawn(move || {
            for _ in 0..REPEATS {
                std::thread::sleep(REPEAT_EVERY);
                let same = control.busy.load(Ordering::SeqCst)
                    && control.statement.load(Ordering::SeqCst) == statement
                    && control.interruption().is_some();
                if !same {
                    return;
                }
                control.interrupter.interrupt();
            }
        });
        if let Err(e) = repeat {
            tracing::debug!(error = %e, "could not start repeating an interrupt");
        }
        true
    }

    fn timer(self: &Arc<Self>) -> Arc<Timer> {
        let mut slot = self.timer.lock().unwrap_or_else(|e| e.into_inner());
        Arc::clone(slot.get_or_insert_with(|| Timer::start(Arc::downgrade(self))))
    }

    pub fn is_terminating(&self) -> bool {
        self.terminating.load(Ordering::SeqCst)
    }

    fn terminate(&self) {
        self.terminating.store(true, Ordering::SeqCst);
        self.interrupter.interrupt();
        if let Ok(socket) = self.socket.try_clone() {
            let _ = UnixStream::from(socket).shutdown(Shutdown::Read);
        }
    }
}

/// The live sessions of this worker (those past startup), by backend pid.
#[derive(Default)]
pub struct Sessions {
    sessions: Mutex<HashMap<u32, Arc<Control>>>,
    /// Sessions handed to the next generation at a reload.
    moved: AtomicUsize,
}

impl Sessions {
    pub fn insert(&self, pid: u32, control: Arc<Control>) {
        self.lock().insert(pid, control);
    }

    pub fn remove(&self, pid: u32) {
        self.lock().remove(&pid);
    }

    pub fn contains(&self, pid: u32) -> bool {
        self.lock().contains_key(&pid)
    }

    /// Interrupts the running statement of session `pid` if `secret` is its key,
    /// compared in constant time.
    pub fn cancel(&self, pid: u32, secret: &[u8]) -> bool {
        let control = self.lock().get(&pid).cloned();
        control
            .is_some_and(|c| bool::from(c.secret.as_slice().ct_eq(secret)) && c.interrupt(Interrupt::Cancel))
    }

    /// `pg_cancel_backend()` or `pg_terminate_backend()` of session `pid`, already
    /// allowed. Whether the session is this worker's.
    pub fn signal(&self, pid: u32, signal: Signal) -> bool {
        let Some(control) = self.lock().get(&pid).cloned() else { return false };
        match signal {
            Signal::Cancel => {
                control.interrupt(Interrupt::Cancel);
            }
            Signal::Terminate => control.terminate(),
        }
        true
    }

    /// How many threads of sessions are running a statement now or began one in the
    /// last `within`: the clients keeping this worker busy (a `COPY FROM` counts two).
    pub fn active(&self, within: Duration) -> usize {
        let since = crate::activity::now_micros() - within.as_micros() as i64;
        let active = |c: &&Arc<Control>| {
            c.busy.load(Ordering::Relaxed) || c.last_statement.load(Ordering::Relaxed) >= since
        };
        self.lock()
            .values()
            .filter(active)
            .map(|c| 1 + usize::from(c.appending.load(Ordering::Relaxed)))
            .sum()
    }

    /// Wakes the sessions waiting for an idle client, so that they hand themselves over.
    /// A session stays in the table until its thread is about to end, so each thread
    /// signalled here is alive.
    pub fn wake_idle(&self) {
        for control in self.lock().values().filter(|c| c.reading.load(Ordering::Relaxed)) {
            crate::sys::wake_thread(control.thread);
        }
    }

    /// How many sessions are over TLS, which cannot move at a reload.
    pub fn over_tls(&self) -> usize {
        self.lock().values().filter(|c| c.tls).count()
    }

    /// A session moved to the next generation.
    pub fn count_moved(&self) {
        self.moved.fetch_add(1, Ordering::Relaxed);
    }

    pub fn moved(&self) -> usize {
        self.moved.load(Ordering::Relaxed)
    }

    /// Ends every session: each gets `FATAL 57P01` from its own thread.
    pub fn terminate_all(&self) {
        for control in self.lock().values() {
            control.terminate();
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<u32, Arc<Control>>> {
        self.sessions.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// A session's statement timer: one thread, started the first time the session runs a
/// statement under `statement_timeout`, that interrupts it at its deadline.
struct Timer {
    deadline: Mutex<TimerState>,
    changed: Condvar,
}

#[derive(Default)]
struct TimerState {
    deadline: Option<Instant>,
    closed: bool,
}

impl Timer {
    fn start(control: std::sync::Weak<Control>) -> Arc<Timer> {
        let timer = Arc::new(Timer { deadline: Mutex::new(TimerState::default()), changed: Condvar::new() });
        let watched = Arc::clone(&timer);
        let spawned = std::thread::Builder::new().name("statement-timer".into()).spawn(move || {
            let mut state = watched.deadline.lock().unwrap_or_else(|e| e.into_inner());
            while !state.closed {
                state = match state.deadline {
                    None => watched.changed.wait(state).unwrap_or_else(|e| e.into_inner()),
                    Some(at) if Instant::now() >= at => {
                        state.deadline = None;
                        match control.upgrade() {
                            Some(control) => {
                                control.interrupt(Interrupt::Timeout);
                            }
                            None => break,
                        }
                        state
                    }
                    Some(at) => {
                        let wait = at.saturating_duration_since(Instant::now());
                        watched.changed.wait_timeout(state, wait).unwrap_or_else(|e| e.into_inner()).0
                    }
                };
            }
        });
        if let Err(e) = spawned {
            tracing::warn!(error = %e, "could not start the statement timer; statement_timeout is not enforced");
        }
        timer
    }

    fn arm(&self, deadline: Option<Instant>) {
        self.deadline.lock().unwrap_or_else(|e| e.into_inner()).deadline = deadline;
        self.changed.notify_one();
    }
}

impl Drop for Control {
    fn drop(&mut self) {
        if let Some(timer) = self.timer.get_mut().unwrap_or_else(|e| e.into_inner()).take() {
            timer.deadline.lock().unwrap_or_else(|e| e.into_inner()).closed = true;
            timer.changed.notify_one();
        }
    }
}
