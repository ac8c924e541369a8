//! The signals the supervisor handles and what each asks of it, listed once. They arrive
//! as flags plus a self-pipe that wakes the poll loop, so the supervisor stays one thread
//! and acts on them between events, never inside a handler.

use std::io::{self, Read};
use std::os::unix::net::UnixStream;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use nix::sys::signal::{SigSet, SigmaskHow, Signal};

/// What a signal asks of the supervisor.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Asked {
    /// `SIGCHLD`: a child exited. The loop reaps after every wake-up.
    Reap,
    /// `SIGTERM`: sessions finish, within `shutdown_timeout`.
    SmartShutdown,
    /// `SIGINT`: sessions end now.
    FastShutdown,
    /// `SIGQUIT`: workers are killed, and the supervisor exits at once.
    ImmediateShutdown,
    /// `SIGUSR2` (what `systemctl reload` sends) or `SIGHUP`, named here for the log.
    Reload(&'static str),
}

/// Every signal the supervisor handles, in the order their flags are looked at.
const HANDLED: [(Signal, Asked); 6] = [
    (Signal::SIGCHLD, Asked::Reap),
    (Signal::SIGTERM, Asked::SmartShutdown),
    (Signal::SIGINT, Asked::FastShutdown),
    (Signal::SIGQUIT, Asked::ImmediateShutdown),
    (Signal::SIGUSR2, Asked::Reload("SIGUSR2")),
    (Signal::SIGHUP, Asked::Reload("SIGHUP")),
];

/// The signals the supervisor handles. A reload blocks them across `execv`, so that none
/// arrives while the new image has no handler yet; the new image unblocks them in
/// [`Signals::install`] once its own handlers are in place, and pending ones are
/// delivered then.
pub fn handled() -> SigSet {
    let mut set = SigSet::empty();
    for (signal, _) in HANDLED {
        set.add(signal);
    }
    set
}

pub struct Signals {
    pub wake: UnixStream,
    flags: Vec<(Asked, Arc<AtomicBool>)>,
}

impl Signals {
    pub fn install() -> io::Result<Signals> {
        let (wake, write) = UnixStream::pair()?;
        wake.set_nonblocking(true)?;
        write.set_nonblocking(true)?;
        let mut flags = Vec::new();
        for (signal, asked) in HANDLED {
            let flag = Arc::new(AtomicBool::new(false));
            signal_hook::flag::register(signal as i32, Arc::clone(&flag))?;
            signal_hook::low_level::pipe::register(signal as i32, write.try_clone()?)?;
            flags.push((asked, flag));
        }
        // A previous image blocked them across its `execv`; with the handlers in place,
        // whatever arrived meanwhile is delivered now.
        nix::sys::signal::sigprocmask(SigmaskHow::SIG_UNBLOCK, Some(&handled()), None)?;
        Ok(Signals { wake, flags })
    }

    /// What the signals that arrived since the last call ask for.
    pub fn take(&mut self) -> Vec<Asked> {
        let mut buf = [0u8; 64];
        while matches!(self.wake.read(&mut buf), Ok(n) if n > 0) {}
        self.flags.iter().filter(|(_, f)| f.swap(false, Ordering::SeqCst)).map(|(a, _)| *a).collect()
    }
}
