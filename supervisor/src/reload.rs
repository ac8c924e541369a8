//! Reload and upgrade in place (`SIGUSR2`, `SIGHUP`, `mallard reload`):
//!
//! 1. validate: the configuration loads, and `<binary on disk> check` succeeds;
//! 2. `RELOADING=1` (sent first, so systemd sees the whole reload);
//! 3. re-execute the binary on disk in this process (same PID), passing on the
//!    listeners, the worker channels, the clients in flight and the counters;
//! 4. the new image starts a new generation of workers and keeps routing to the old one
//!    until all of them are ready; then routing moves and the old generation drains;
//! 5. `READY=1` with a `STATUS=` that tells how it went.
//!
//! A failure at any step leaves the old generation serving, and is answered to
//! `mallard reload` and written to the logs and `STATUS=`. A reload requested while one
//! runs is queued behind it, never interleaved. In `duckdb` read-write mode only one
//! process may open the file, so the old worker drains first and new clients wait in
//! the supervisor until the new worker has the file.

use std::ffi::CString;
use std::io::Read;
use std::os::fd::AsRawFd;
use std::path::PathBuf;
use std::process::Stdio;
use std::time::{Duration, Instant};

use mallard_protocol::admin::{Answer, ReloadOutcome};
use mallard_protocol::channel::Generation;
use mio::Token;
use nix::sys::signal::{kill, SigSet, SigmaskHow, Signal};
use nix::sys::wait::WaitStatus;
use nix::unistd::Pid;
use tracing::{error, info, warn};

use crate::config::{Config, Overrides};
use crate::pool::{Killed, Restarts};
use crate::server::{Server, Slot, READY_TIMEOUT};
use crate::sys;
use mallard_worker::Storage;

/// `check` of the new binary must finish within this.
const CHECK_TIMEOUT: Duration = Duration::from_secs(60);

/// How this supervisor was started, to validate and re-execute it the same way.
pub struct Launch {
    /// The binary on disk: what a reload validates and executes.
    pub exe: PathBuf,
    /// The arguments after the program name, `serve` first, without `--resume`.
    pub args: Vec<String>,
    pub config_file: Option<PathBuf>,
    pub overrides: Overrides,
}

impl Launch {
    /// Workers, including a crashed one's replacement, come from the image this
    /// process runs, so that the channel protocol always matches; only a reload
    /// switches to the binary on disk.
    pub fn own_image(&self) -> PathBuf {
        PathBuf::from("/proc/self/exe")
    }

    fn check_args(&self) -> Vec<String> {
        let mut args = self.args.clone();
        if let Some(first) = args.iter_mut().find(|a| *a == "serve") {
            *first = "check".into();
        }
        args
    }
}

pub enum Phase {
    Idle,
    /// `<binary on disk> check` runs.
    Checking {
        pid: u32,
        output: std::fs::File,
        since: Instant,
    },
    /// `duckdb` read-write: the old worker drains to free the database file.
    Handover {
        generation: Generation,
        worker_config: String,
    },
    /// The new generation starts; clients still go to the old one, unless it already
    /// handed the file over.
    Starting {
        generation: Generation,
        deadline: Instant,
        handover: bool,
        worker_config: String,
    },
}

#[derive(Default)]
pub struct Reload {
    pub phase: Phase,
    /// Admin connections waiting for this reload's outcome.
    pub waiters: Vec<Token>,
    /// A reload requested while this one runs, and who waits for it.
    pub queued: Option<Vec<Token>>,
    /// The last reload's outcome, for `mallard status`.
    pub last: Option<ReloadOutcome>,
}

impl Default for Phase {
    fn default() -> Self {
        Phase::Idle
    }
}

impl Reload {
    pub fn deadline(&self) -> Option<Instant> {
        match &self.phase {
            Phase::Checking { since, .. } => Some(*since + CHECK_TIMEOUT),
            Phase::Starting { deadline, .. } => Some(*deadline),
            _ => None,
        }
    }

    pub fn is_check(&self, pid: u32) -> bool {
        matches!(self.phase, Phase::Checking { pid: p, .. } if p == pid)
    }

    /// Whether `generation` is the one this reload starts.
    pub fn is_candidate(&self, generation: Generation) -> bool {
        matches!(self.phase, Phase::Handover { generation: g, .. } | Phase::Starting { generation: g, .. } if g == generation)
    }

    /// While the database file changes hands, the serving generation's slots are not
    /// refilled: its worker is leaving on purpose.
    pub fn holds_respawns(&self) -> bool {
        matches!(self.phase, Phase::Handover { .. } | Phase::Starting { handover: true, .. })
    }
}

fn unix_now() -> u64 {
    crate::server::unix_millis() / 1000
}

/// The signals the supervisor handles. They are blocked across `execv`, so that none
/// arrives while the new image has no handler yet; the new image unblocks them once it
/// has installed its own, and pending ones are delivered then.
pub fn handled_signals() -> SigSet {
    let mut set = SigSet::empty();
    for s in
        [Signal::SIGCHLD, Signal::SIGTERM, Signal::SIGINT, Signal::SIGQUIT, Signal::SIGUSR2, Signal::SIGHUP]
    {
        set.add(s);
    }
    set
}

impl Server {
    /// A reload was asked for, by a signal (`waiter` None) or an admin connection.
    pub(crate) fn request_reload(&mut self, waiter: Option<Token>) {
        if self.is_shutting_down() {
            if let Some(token) = waiter {
                self.admin_reply(token, &Answer::failed("the server is shutting down"), false);
            }
            return;
        }
        if !matches!(self.reload.phase, Phase::Idle) {
            info!("a reload is already running; this one will follow it");
            self.reload.queued.get_or_insert_with(Vec::new).extend(waiter);
            return;
        }
        self.start_reload(waiter.into_iter().collect());
    }

    fn start_reload(&mut self, waiters: Vec<Token>) {
        self.reload.waiters = waiters;
        info!(exe = %self.launch.exe.display(), "reload: validating the configuration and the binary on disk");
        self.notify.reloading("reloading: validating");
        let config = match Config::load(self.launch.config_file.as_deref(), &self.launch.overrides) {
            Ok(c) => c,
            Err(e) => return self.fail_reload(format!("invalid configuration: {e}")),
        };
        // The new image computes the worker config again; this only validates it.
        if let Err(e) = config.worker_config() {
            return self.fail_reload(format!("invalid configuration: {e}"));
        }
        let child = sys::child_command(&self.launch.exe)
            .args(self.launch.check_args())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn();
        match child {
            Ok(mut child) => {
                let output = std::fs::File::from(std::os::fd::OwnedFd::from(
                    child.stderr.take().expect("stderr is piped"),
                ));
                self.reload.phase = Phase::Checking { pid: child.id(), output, since: Instant::now() };
            }
            Err(e) => self.fail_reload(format!("could not run {} check: {e}", self.launch.exe.display())),
        }
    }

    /// The new binary's `check` exited.
    pub(crate) fn check_finished(&mut self, status: WaitStatus) {
        let Phase::Checking { mut output, .. } = std::mem::take(&mut self.reload.phase) else { return };
        if matches!(status, WaitStatus::Exited(_, 0)) {
            return self.reexec();
        }
        let mut text = String::new();
        let _ = output.read_to_string(&mut text);
        let text = text.trim().strip_prefix("mallard: ").unwrap_or(text.trim()).to_owned();
        let how = match status {
            WaitStatus::Exited(_, code) => format!("exit code {code}"),
            WaitStatus::Signaled(_, sig, _) => format!("signal {sig}"),
            other => format!("{other:?}"),
        };
        self.fail_reload(format!("{} check failed ({how}): {text}", self.launch.exe.display()));
    }

    /// Replaces this process's image with the binary on disk. Returns only if `execv`
    /// failed, with everything given back.
    fn reexec(&mut self) {
        let waiters = std::mem::take(&mut self.reload.waiters);
        let queued = self.reload.queued.take();
        let saved = self.save(&waiters, queued.as_deref());
        let failed = |server: &mut Server, saved: &crate::state::Saved, why: String| {
            let (waiters, queued) = server.unsave(saved);
            server.reload.waiters = waiters;
            server.reload.queued = queued;
            server.fail_reload(why);
        };
        let memfd =
            match serde_json::to_vec(&saved).map_err(std::io::Error::other).and_then(|j| sys::memfd_with(&j))
            {
                Ok(fd) => fd,
                Err(e) => return failed(self, &saved, format!("could not save the supervisor's state: {e}")),
            };
        let mut argv = vec![self.launch.exe.as_os_str().as_encoded_bytes().to_vec()];
        argv.extend(saved.args.iter().map(|a| a.clone().into_bytes()));
        argv.push(format!("--resume={}", memfd.as_raw_fd()).into_bytes());
        let argv: Result<Vec<CString>, _> = argv.into_iter().map(CString::new).collect();
        let Ok(argv) = argv else {
            return failed(self, &saved, "an argument contains a NUL byte".into());
        };
        for fd in saved.fds().into_iter().chain([memfd.as_raw_fd()]) {
            if let Err(e) = sys::set_cloexec(fd, false) {
                return failed(self, &saved, format!("could not pass fd {fd} on: {e}"));
            }
        }
        info!(exe = %self.launch.exe.display(), workers = saved.workers.len(), "reload: re-executing the supervisor in place");
        let blocked = handled_signals();
        let mut previous = SigSet::empty();
        let _ = nix::sys::signal::sigprocmask(SigmaskHow::SIG_BLOCK, Some(&blocked), Some(&mut previous));
        let error = nix::unistd::execv(&argv[0], &argv).unwrap_err();
        let _ = nix::sys::signal::sigprocmask(SigmaskHow::SIG_SETMASK, Some(&previous), None);
        drop(memfd);
        failed(self, &saved, format!("could not execute {}: {error}", self.launch.exe.display()));
    }

    /// In the new image: starts the new generation (or, in `duckdb` read-write mode,
    /// first lets the old worker hand the file over).
    pub(crate) fn start_generation(&mut self, worker_config: String) {
        // Numbers are never reused: the workers of a failed reload, killed but perhaps
        // not yet reaped, are never mistaken for the new ones, and logs stay clear.
        let generation = self.next_generation;
        self.next_generation = Generation(generation.0 + 1);
        let holds_file = self.config.storage == Storage::Duckdb && !self.config.read_only;
        if holds_file && self.pool.of_generation(self.serving).next().is_some() {
            info!(generation = %generation, "reload: the old worker drains to hand the database file over; new clients wait");
            self.drain_generation(self.serving);
            self.reload.phase = Phase::Handover { generation, worker_config };
            return;
        }
        self.spawn_generation(generation, worker_config, false);
    }

    fn spawn_generation(&mut self, generation: Generation, worker_config: String, handover: bool) {
        info!(generation = %generation, workers = self.config.worker_count(), "reload: starting the new generation");
        self.reload.phase = Phase::Starting {
            generation,
            deadline: Instant::now() + READY_TIMEOUT,
            handover,
            worker_config: worker_config.clone(),
        };
        for slot in 0..self.config.worker_count() as usize {
            if !self.spawn(slot, generation, &worker_config) {
                return self.fail_reload("could not start a worker of the new generation".into());
            }
        }
    }

    /// Moves a running reload on: from handover to start, from start to serving, or to
    /// failure when a deadline passed.
    pub(crate) fn reload_progress(&mut self) {
        let now = Instant::now();
        match &self.reload.phase {
            Phase::Idle => {}
            Phase::Checking { pid, since, .. } => {
                if now.duration_since(*since) > CHECK_TIMEOUT {
                    warn!(pid, "the new binary's check takes too long; killing it");
                    let _ = kill(Pid::from_raw(*pid as i32), Signal::SIGKILL);
                }
            }
            Phase::Handover { generation, worker_config } => {
                if self.pool.of_generation(self.serving).next().is_none() {
                    let (generation, worker_config) = (*generation, worker_config.clone());
                    self.spawn_generation(generation, worker_config, true);
                }
            }
            Phase::Starting { generation, deadline, .. } => {
                let generation = *generation;
                let ready = self.pool.ready_in(generation);
                if ready >= self.config.worker_count() as usize {
                    self.commit_reload();
                } else if now >= *deadline {
                    self.fail_reload(format!(
                        "the new generation was not ready within {}s",
                        READY_TIMEOUT.as_secs()
                    ));
                }
            }
        }
    }

    fn commit_reload(&mut self) {
        let Phase::Starting { generation, worker_config, .. } = std::mem::take(&mut self.reload.phase) else {
            return;
        };
        let old = self.serving;
        self.serving = generation;
        self.worker_config = worker_config;
        self.slots = (0..self.config.worker_count())
            .map(|_| Slot { restarts: Restarts::default(), respawn_at: None })
            .collect();
        // Workers that died while starting left their slot empty.
        for (slot, s) in self.slots.iter_mut().enumerate() {
            if !self.pool.workers.iter().any(|w| w.generation == generation && w.slot == slot) {
                s.respawn_at = Some(Instant::now());
            }
        }
        self.drain_generation(old);
        info!(generation = %generation, previous = %old, "reload complete: the new generation serves; the old one drains");
        let outcome = ReloadOutcome::succeeded(generation.0, unix_now());
        let reply = outcome.answer();
        self.reload.last = Some(outcome);
        self.metrics.reload(true);
        let status = self.status_line();
        self.notify.ready(status);
        for token in std::mem::take(&mut self.reload.waiters) {
            self.admin_reply(token, &reply, false);
        }
        self.next_reload();
    }

    pub(crate) fn fail_reload(&mut self, why: String) {
        match std::mem::take(&mut self.reload.phase) {
            Phase::Idle => {}
            Phase::Checking { pid, .. } => {
                let _ = kill(Pid::from_raw(pid as i32), Signal::SIGKILL);
            }
            Phase::Handover { .. } => self.refill_slots(),
            Phase::Starting { generation, handover, .. } => {
                self.kill_generation(generation, Killed::Reload);
                if handover {
                    self.refill_slots();
                }
            }
        }
        error!(error = %why, generation = %self.serving, "reload failed; the current generation keeps serving");
        let outcome = ReloadOutcome::failed(why, unix_now());
        let reply = outcome.answer();
        self.reload.last = Some(outcome);
        self.metrics.reload(false);
        if !self.is_shutting_down() {
            let status = self.status_line();
            self.notify.ready(status);
        }
        for token in std::mem::take(&mut self.reload.waiters) {
            self.admin_reply(token, &reply, false);
        }
        self.next_reload();
    }

    /// After a failed handover, the old configuration's worker takes the file back.
    fn refill_slots(&mut self) {
        for (slot, s) in self.slots.iter_mut().enumerate() {
            if !self.pool.workers.iter().any(|w| w.generation == self.serving && w.slot == slot) {
                s.respawn_at = Some(Instant::now());
            }
        }
    }

    fn next_reload(&mut self) {
        if let Some(waiters) = self.reload.queued.take() {
            if self.is_shutting_down() {
                let reply = Answer::failed("the server is shutting down");
                for token in waiters {
                    self.admin_reply(token, &reply, false);
                }
                return;
            }
            info!("starting the reload that was queued");
            self.start_reload(waiters);
        }
    }

    /// Shutdown ends any reload; its waiters are told.
    pub(crate) fn abandon_reload(&mut self, why: &str) {
        let queued = self.reload.queued.take();
        if !matches!(self.reload.phase, Phase::Idle) {
            self.fail_reload(why.to_owned());
        }
        let reply = Answer::failed(why);
        for token in queued.into_iter().flatten() {
            self.admin_reply(token, &reply, false);
        }
    }
}
