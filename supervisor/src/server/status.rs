//! What the supervisor says about itself: the answer to `mallard status`, systemd's
//! `READY=1` and `STATUS=` line, and the gauges a metrics scrape reads. All of them count
//! from the worker table and the queue, the same way.

use std::time::{Duration, Instant, SystemTime};

use mallard_protocol::admin::{ServerState, Status, Totals, WorkerStatus};
use tracing::info;

use super::Server;
use crate::metrics::{Gauges, WorkerCounts};
use crate::pool::WorkerState;
use crate::sys;

/// How often `STATUS=` may be refreshed for systemd.
pub(super) const STATUS_EVERY: Duration = Duration::from_secs(2);

impl Server {
    pub(super) fn status(&self) -> Status {
        let now = Instant::now();
        let workers = self
            .pool
            .workers
            .iter()
            .map(|w| WorkerStatus {
                id: w.id.0,
                pid: w.pid,
                generation: w.generation.0,
                state: w.state,
                sessions: w.sessions,
                in_flight: w.in_flight.len() as u64,
                responsive: w.responsive(now),
                uptime_seconds: w.started.elapsed().as_secs_f64(),
            })
            .collect();
        let state = if self.shutdown.is_some() {
            ServerState::Stopping
        } else if !self.reload.is_idle() {
            ServerState::Reloading
        } else if self.ready_notified {
            ServerState::Running
        } else {
            ServerState::Starting
        };
        let now_ms = sys::unix_millis();
        let g = self.gauges();
        Status {
            pid: std::process::id(),
            version: mallard_worker::SERVER_VERSION.into(),
            state,
            uptime_seconds: now_ms.saturating_sub(self.started_unix_ms) as f64 / 1000.0,
            generation: self.serving.0,
            storage: self.config.storage.as_str().into(),
            workers,
            totals: Totals {
                workers: self.pool.workers.len() as u64,
                ready: self.pool.ready_in(self.serving) as u64,
                draining: g.workers.draining,
                sessions: g.connections,
                in_flight: g.handoffs_in_flight,
                waiting: g.queued,
                max_connections: self.config.max_connections,
                sessions_moved: self.metrics.sessions_moved(),
                sessions_terminated: self.metrics.sessions_terminated_total(),
            },
            last_reload: self.reload.last().cloned(),
        }
    }

    /// The `STATUS=` line for systemd.
    pub(super) fn status_line(&self) -> String {
        let g = self.gauges();
        let mut line = format!(
            "generation {}: {}/{} workers ready, {} draining, {} sessions",
            self.serving,
            self.pool.ready_in(self.serving),
            self.slots.len(),
            g.workers.draining,
            g.connections
        );
        if let Some(error) = self.reload.last().and_then(|l| l.error.as_deref()) {
            line.push_str(&format!("; last reload failed: {error}"));
        }
        line
    }

    /// `READY=1` once the first generation serves; afterwards a fresh `STATUS=` now and
    /// then.
    pub(super) fn report_status(&mut self) {
        if !self.ready_notified {
            let expected = self.slots.len();
            let ready = self.pool.ready_in(self.serving);
            if ready == expected && self.reload.is_idle() {
                self.ready_notified = true;
                info!(generation = %self.serving, workers = ready, "serving");
                let status = self.status_line();
                self.notify.ready(status);
            }
            return;
        }
        if self.status_at.elapsed() >= STATUS_EVERY {
            self.status_at = Instant::now();
            if self.reload.is_idle() {
                let status = self.status_line();
                self.notify.status(status);
            }
        }
    }

    pub(super) fn gauges(&self) -> Gauges {
        let mut workers = WorkerCounts::default();
        for w in &self.pool.workers {
            match w.state {
                WorkerState::Starting => workers.starting += 1,
                WorkerState::Ready => workers.ready += 1,
                WorkerState::Draining => workers.draining += 1,
            }
        }
        Gauges {
            generation: self.serving,
            connections: self.pool.workers.iter().map(|w| u64::from(w.sessions)).sum(),
            handoffs_in_flight: self.pool.workers.iter().map(|w| w.in_flight.len() as u64).sum(),
            queued: self.pending.len() as u64,
            workers,
            start_time: SystemTime::UNIX_EPOCH + Duration::from_millis(self.started_unix_ms),
        }
    }
}
