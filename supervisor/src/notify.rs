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
        let watchdog = watchdog_usec().map(|usec| Duration::from_micros(usec / 2));
        if let Some(every) = watchdog {
            debug!(every_ms = every.as_millis() as u64, "systemd watchdog enabled");
        }
        Notifier { watchdog, last_watchdog: Instant::now(), last_status: String::new() }
    }

    pub fn ready(&mut self, status: String) {
        self.send(&[NotifyState::Ready, NotifyState::Status(&one_line(&status))]);
        self.last_status = status;
    }

    /// `RELOADING=1` with `MONOTONIC_USEC=` in the same datagram, as systemd requires.
    pub fn reloading(&mut self, status: &str) {
        match NotifyState::monotonic_usec_now() {
            Ok(now) => self.send(&[NotifyState::Reloading, now, NotifyState::Status(&one_line(status))]),
            Err(e) => warn!(error = %e, "could not read the monotonic clock for sd_notify"),
        }
    }

    pub fn stopping(&mut self, status: &str) {
        self.send(&[NotifyState::Stopping, NotifyState::Status(&one_line(status))]);
    }

    /// A `STATUS=` line, sent only when it changed.
    pub fn status(&mut self, status: String) {
        if status != self.last_status {
            self.send(&[NotifyState::Status(&one_line(&status))]);
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

/// `WATCHDOG_USEC`, if the watchdog is meant for this process. As sd_watchdog_enabled(3)
/// has it, `WATCHDOG_PID` may be absent; when set, it must name this process.
/// (`sd_notify::watchdog_enabled` wrongly requires it.)
fn watchdog_usec() -> Option<u64> {
    let usec = std::env::var("WATCHDOG_USEC").ok()?.parse::<u64>().ok().filter(|&u| u > 0)?;
    match std::env::var("WATCHDOG_PID") {
        Ok(pid) => (pid.parse::<u32>().ok()? == std::process::id()).then_some(usec),
        Err(_) => Some(usec),
    }
}

/// A datagram is newline-separated `KEY=value` lines, so a multi-line status (a TOML
/// parse error, say) would reach systemd cut at its first line break, the rest as junk.
fn one_line(status: &str) -> String {
    status.split('\n').map(str::trim_end).filter(|l| !l.trim().is_empty()).collect::<Vec<_>>().join(" / ")
}
