//! sd_notify: what systemd learns of the supervisor's life. Without `NOTIFY_SOCKET`
//! every call is a no-op. The environment is kept, so the image the supervisor
//! re-executes into on a reload can go on notifying.

use std::time::{Duration, Instant};

use sd_notify::NotifyState;
use tracing::{debug, warn};

pub struct Notifier {
    /// `WATCHDOG=1` is due every this often: half of `WatchdogSec`.
    watchdog: Option<Duration>,
    last_watchdog: Instant,
    last_status: String,
}

impl Notifier {
    pub fn from_env() -> Notifier {
        let mut usec = 0;
        let watchdog = sd_notify::watchdog_enabled(false, &mut usec).then(|| Duration::from_micros(usec / 2));
        if let Some(every) = watchdog {
            debug!(every_ms = every.as_millis() as u64, "systemd watchdog enabled");
        }
        Notifier { watchdog, last_watchdog: Instant::now(), last_status: String::new() }
    }

    pub fn ready(&mut self, status: String) {
        self.send(&[NotifyState::Ready, NotifyState::Status(&status)]);
        self.last_status = status;
    }

    /// `RELOADING=1` with `MONOTONIC_USEC=` in the same datagram, as systemd requires.
    pub fn reloading(&mut self, status: &str) {
        match NotifyState::monotonic_usec_now() {
            Ok(now) => self.send(&[NotifyState::Reloading, now, NotifyState::Status(status)]),
            Err(e) => warn!(error = %e, "could not read the monotonic clock for sd_notify"),
        }
    }

    pub fn stopping(&mut self, status: &str) {
        self.send(&[NotifyState::Stopping, NotifyState::Status(status)]);
    }

    /// A `STATUS=` line, sent only when it changed.
    pub fn status(&mut self, status: String) {
        if status != self.last_status {
            self.send(&[NotifyState::Status(&status)]);
            self.last_status = status;
        }
    }

    /// When the next `WATCHDOG=1` is due, if the watchdog is on.
    pub fn watchdog_due(&self) -> Option<Instant> {
        self.watchdog.map(|every| self.last_watchdog + every)
    }

    /// Pings the watchdog if it is due. Called from the event loop, so a loop that
    /// stops turning stops the pings.
    pub fn watchdog(&mut self) {
        if self.watchdog_due().is_some_and(|due| Instant::now() >= due) {
            self.send(&[NotifyState::Watchdog]);
            self.last_watchdog = Instant::now();
        }
    }

    fn send(&self, states: &[NotifyState<'_>]) {
        if let Err(e) = sd_notify::notify(false, states) {
            warn!(error = %e, "sd_notify failed");
        }
    }
}
