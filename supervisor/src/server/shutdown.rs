//! Signals, and stopping: smart (`SIGTERM`, `mallard stop`: sessions finish within
//! `shutdown_timeout`), fast (`SIGINT`, `mallard stop --fast`) or immediate (`SIGQUIT`).
//! New clients are refused at once; the supervisor exits when its last worker has, or
//! kills the rest when the deadline passes.

use std::os::fd::AsFd;
use std::time::{Duration, Instant};

use mallard_protocol::channel::ToWorker;
use nix::sys::signal::{kill, Signal};
use nix::sys::wait::waitpid;
use nix::unistd::Pid;
use tracing::{info, warn};

use super::{Server, ADMIN_CONN_BASE};
use crate::conns::Conns;
use crate::metrics::Reject;
use crate::pool::WorkerState;
use crate::signals::Asked;
use crate::sys;

pub(super) struct Shutdown {
    pub deadline: Instant,
}

impl Server {
    pub(super) fn handle_signals(&mut self) {
        for asked in self.signals.take() {
            match asked {
                Asked::Reap => {}
                Asked::SmartShutdown => {
                    self.begin_shutdown("SIGTERM: smart shutdown", self.config.shutdown_timeout)
                }
                Asked::FastShutdown => self.begin_shutdown("SIGINT: fast shutdown", Duration::ZERO),
                Asked::ImmediateShutdown => {
                    warn!("SIGQUIT: immediate shutdown");
                    self.notify.stopping("immediate shutdown");
                    self.kill_all();
                    std::process::exit(0);
                }
                Asked::Reload(signal) => {
                    info!(signal, "reload requested");
                    self.request_reload(None);
                }
            }
        }
    }

    pub(super) fn begin_shutdown(&mut self, why: &str, drain: Duration) {
        if self.shutdown.is_some() {
            return;
        }
        info!(timeout_ms = drain.as_millis() as u64, "{why}");
        self.shutdown = Some(Shutdown { deadline: Instant::now() + drain + Duration::from_secs(5) });
        self.abandon_reload("the server is shutting down");
        self.notify.stopping(why);
        // Refuse new clients at once rather than let them queue on a closing server.
        for l in std::mem::take(&mut self.listeners) {
            self.unwatch(&l.raw_fd());
        }
        for client in std::mem::take(&mut self.pending) {
            self.refuse(client, Reject::Shutdown);
        }
        for slot in &mut self.slots {
            slot.respawn_at = None;
        }
        let packet = ToWorker::Drain { timeout_ms: drain.as_millis() as u64, hand_over: false }.encode();
        for w in &mut self.pool.workers {
            w.state = WorkerState::Draining;
            let _ = sys::send(w.channel.as_fd(), &packet);
        }
    }

    pub(super) fn is_shutting_down(&self) -> bool {
        self.shutdown.is_some()
    }

    /// Whether the supervisor may exit now: every worker has, or the deadline passed and
    /// the rest are killed.
    pub(super) fn shutdown_finished(&mut self) -> bool {
        if self.pool.workers.is_empty() {
            info!("all workers exited; supervisor stopping");
            self.close_admin_conns_at_exit();
            return true;
        }
        if self.shutdown.as_ref().is_some_and(|s| Instant::now() >= s.deadline) {
            warn!(workers = self.pool.workers.len(), "shutdown deadline passed; killing workers");
            self.kill_all();
            self.close_admin_conns_at_exit();
            return true;
        }
        false
    }

    /// `mallard stop` waits for its admin connection to close. Left to the kernel, the
    /// connections close as this process exits, not while it is still winding down.
    fn close_admin_conns_at_exit(&mut self) {
        std::mem::forget(std::mem::replace(&mut self.admin_conns, Conns::new(ADMIN_CONN_BASE)));
    }

    fn kill_all(&mut self) {
        for w in &self.pool.workers {
            let _ = kill(Pid::from_raw(w.pid as i32), Signal::SIGKILL);
        }
        for w in &self.pool.workers {
            let _ = waitpid(Pid::from_raw(w.pid as i32), None);
        }
        self.pool.workers.clear();
    }
}
