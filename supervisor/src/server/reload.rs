//! A reload, the server's side: it tells [`crate::reload::Reload`] what happened and
//! carries out the [`Step`]s it answers, in order: starting the `check`, re-executing,
//! spawning, draining and killing generations, switching routing, answering waiters.

use std::time::Instant;

use mallard_protocol::channel::Generation;
use mio::Token;
use tracing::{error, info};

use super::workers::Slot;
use super::Server;
use crate::pool::{Killed, Restarts};
use crate::reload::{Check, Progress, Step};

impl Server {
    /// A reload was asked for, by a signal (`waiter` None) or an admin connection.
    pub(super) fn request_reload(&mut self, waiter: Option<Token>) {
        let steps = self.reload.request(waiter);
        self.carry_out(steps);
    }

    pub(super) fn fail_reload(&mut self, why: String) {
        let steps = self.reload.fail(why);
        self.carry_out(steps);
    }

    /// Shutdown ends any reload; its waiters are told.
    pub(super) fn abandon_reload(&mut self, why: &str) {
        let steps = self.reload.abandon(why);
        self.carry_out(steps);
    }

    /// In the new image: starts the new generation (or, in `duckdb` read-write mode,
    /// first lets the old worker hand the file over).
    pub(super) fn start_generation(&mut self, worker_config: String) {
        let holds_file = self.config.storage.hands_over_file(self.config.read_only);
        let hand_over_first = holds_file && self.pool.of_generation(self.serving).next().is_some();
        let steps = self.reload.start_generation(worker_config, hand_over_first);
        self.carry_out(steps);
    }

    /// Moves a running reload on, by what the worker table shows now.
    pub(super) fn reload_progress(&mut self) {
        let seen = Progress {
            now: Instant::now(),
            serving_alive: self.pool.of_generation(self.serving).next().is_some(),
            candidate_ready: self.reload.candidate().map_or(0, |g| self.pool.ready_in(g)),
        };
        let steps = self.reload.tick(seen);
        self.carry_out(steps);
    }

    pub(super) fn carry_out(&mut self, steps: Vec<Step>) {
        for step in steps {
            self.carry_out_one(step);
        }
    }

    fn carry_out_one(&mut self, step: Step) {
        match step {
            Step::NotifyReloading(status) => self.notify.reloading(status),
            Step::Check => match Check::start(self.reload.launch()) {
                Ok(check) => self.reload.check_started(check),
                Err(why) => self.fail_reload(why),
            },
            Step::KillCheck(pid) => {
                let _ =
                    nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid as i32), nix::sys::signal::SIGKILL);
            }
            Step::Reexec { waiters, queued } => self.reexec(waiters, queued),
            Step::DrainServing => self.drain_generation(self.serving),
            Step::Spawn { generation, worker_config } => self.spawn_generation(generation, &worker_config),
            Step::KillGeneration(generation) => self.kill_generation(generation, Killed::Reload),
            Step::RefillSlots => self.refill_slots(self.serving),
            Step::Serve { generation, worker_config } => self.serve(generation, worker_config),
            Step::Ended(outcome) => {
                if let Some(why) = &outcome.error {
                    error!(error = %why, generation = %self.serving, "reload failed; the current generation keeps serving");
                }
                self.metrics.reload(outcome.ok);
                if !self.is_shutting_down() {
                    let status = self.status_line();
                    self.notify.ready(status);
                }
            }
            Step::Answer { to, answer } => {
                for token in to {
                    self.admin_reply(token, &answer, false);
                }
            }
            Step::Next => {
                let steps = self.reload.next();
                self.carry_out(steps);
            }
        }
    }

    fn spawn_generation(&mut self, generation: Generation, worker_config: &str) {
        for slot in 0..self.config.worker_count() as usize {
            if !self.spawn(slot, generation, worker_config) {
                return self.fail_reload("could not start a worker of the new generation".into());
            }
        }
    }

    /// The new generation is ready: new clients go to it, and the old one drains.
    fn serve(&mut self, generation: Generation, worker_config: String) {
        let old = self.serving;
        self.serving = generation;
        self.worker_config = worker_config;
        self.slots = (0..self.config.worker_count())
            .map(|_| Slot { restarts: Restarts::default(), respawn_at: None })
            .collect();
        // Workers that died while starting left their slot empty.
        self.refill_slots(generation);
        self.drain_generation(old);
        info!(generation = %generation, previous = %old, "reload complete: the new generation serves; the old one drains");
    }
}
