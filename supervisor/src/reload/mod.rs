//! Reload and upgrade in place (`SIGUSR2`, `SIGHUP`, `mallard reload`):
//!
//! 1. validate: the configuration loads, and `<binary on disk> check` succeeds;
//! 2. `RELOADING=1` (sent first, so systemd sees the whole reload);
//! 3. re-execute the binary on disk in this process (same PID), passing on the
//!    listeners, the worker channels, the clients in flight and the counters ([`saved`]);
//! 4. the new image starts a new generation of workers and keeps routing to the old one
//!    until all of them are ready; then routing moves and the old generation drains;
//! 5. `READY=1` with a `STATUS=` that tells how it went.
//!
//! A failure at any step leaves the old generation serving, and is answered to
//! `mallard reload` and written to the logs and `STATUS=`. A reload requested while one
//! runs is queued behind it, never interleaved. In `duckdb` read-write mode only one
//! process may open the file, so the old worker drains first and new clients wait in
//! the supervisor until the new worker has the file.
//!
//! [`Reload`] is the state machine: the server loop tells it what happened, and it
//! answers with the [`Step`]s the loop carries out, in order. It holds no socket and
//! no worker; it decides.

mod check;
pub mod saved;

use std::path::PathBuf;
use std::time::{Duration, Instant};

use mallard_protocol::admin::{Answer, ReloadOutcome};
use mallard_protocol::channel::Generation;
use mio::Token;
use nix::sys::wait::WaitStatus;
use tracing::{info, warn};

pub use check::Check;

use crate::config::Overrides;
use crate::sys;

/// `check` of the new binary must finish within this.
const CHECK_TIMEOUT: Duration = Duration::from_secs(60);
/// A worker that has not said `Ready` by then is killed and replaced; a new generation
/// that is not ready by then fails its reload.
pub const READY_TIMEOUT: Duration = Duration::from_secs(60);

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

/// What the server loop does for the reload, in the order given.
#[derive(Debug)]
pub enum Step {
    /// `RELOADING=1` for systemd, with this `STATUS=`.
    NotifyReloading(&'static str),
    /// Start a [`Check`] and report it with [`Reload::check_started`], or the error
    /// with [`Reload::fail`].
    Check,
    /// Kill the `check` process.
    KillCheck(u32),
    /// Save the state and re-execute the binary on disk. If `execv` returns, give the
    /// admin connections back and report it with [`Reload::exec_failed`].
    Reexec { waiters: Vec<Token>, queued: Option<Vec<Token>> },
    /// Tell the serving generation to drain: its worker hands the database file over.
    DrainServing,
    /// Start a worker of `generation` in every slot; if one cannot start, report it
    /// with [`Reload::fail`] and start no more.
    Spawn { generation: Generation, worker_config: String },
    /// Kill the workers of a failed reload's generation.
    KillGeneration(Generation),
    /// Respawn the serving generation's missing workers: the old worker takes the file
    /// back after a failed handover.
    RefillSlots,
    /// Route new clients to `generation` from now on, with fresh slots, and drain the
    /// generation that served until now.
    Serve { generation: Generation, worker_config: String },
    /// The reload is over: log a failure, count it, tell systemd.
    Ended(ReloadOutcome),
    /// Answer these admin connections and close them.
    Answer { to: Vec<Token>, answer: Answer },
    /// A reload was queued behind the one that just ended: start it with
    /// [`Reload::next`], once this one's steps are done.
    Next,
}

enum Phase {
    /// No reload runs (or one is between two steps the loop carries out at once:
    /// validating, re-executing).
    Idle,
    /// `<binary on disk> check` runs.
    Checking(Check),
    /// `duckdb` read-write: the old worker drains to free the database file.
    Handover { generation: Generation, worker_config: String },
    /// The new generation starts; clients still go to the old one, unless it already
    /// handed the file over.
    Starting { generation: Generation, deadline: Instant, handover: bool, worker_config: String },
}

/// What the loop saw this turn, for [`Reload::tick`].
pub struct Progress {
    pub now: Instant,
    /// Whether any worker of the serving generation is still alive.
    pub serving_alive: bool,
    /// Ready workers of [`Reload::candidate`].
    pub candidate_ready: usize,
}

pub struct Reload {
    launch: Launch,
    /// Workers a generation has: the configuration's, fixed for this image.
    workers: usize,
    phase: Phase,
    /// Admin connections waiting for this reload's outcome.
    waiters: Vec<Token>,
    /// A reload requested while this one runs, and who waits for it.
    queued: Option<Vec<Token>>,
    /// The last reload's outcome, for `mallard status`.
    last: Option<ReloadOutcome>,
    /// The number the next generation takes. Numbers are never reused: the workers of
    /// a failed reload, killed but perhaps not yet reaped, are never mistaken for the
    /// new ones, and logs stay clear.
    next_generation: Generation,
    /// Set once the server shuts down: no reload starts any more.
    closed: bool,
}

impl Reload {
    pub fn new(launch: Launch, workers: usize) -> Reload {
        Reload {
            launch,
            workers,
            phase: Phase::Idle,
            waiters: Vec::new(),
            queued: None,
            last: None,
            next_generation: Generation(2),
            closed: false,
        }
    }

    /// In a re-executed image: what the previous image knew, and who waits for the
    /// reload it started (and for the one queued behind it).
    pub fn resume(
        &mut self,
        next_generation: Generation,
        last: Option<ReloadOutcome>,
        waiters: Vec<Token>,
        queued: Option<Vec<Token>>,
    ) {
        self.next_generation = next_generation;
        self.last = last;
        self.waiters = waiters;
        self.queued = queued;
    }

    pub fn launch(&self) -> &Launch {
        &self.launch
    }

    pub fn last(&self) -> Option<&ReloadOutcome> {
        self.last.as_ref()
    }

    pub fn next_generation(&self) -> Generation {
        self.next_generation
    }

    pub fn is_idle(&self) -> bool {
        matches!(self.phase, Phase::Idle)
    }

    /// When [`Reload::tick`] has something to do, at the latest.
    pub fn deadline(&self) -> Option<Instant> {
        match &self.phase {
            Phase::Checking(check) => Some(check.since + CHECK_TIMEOUT),
            Phase::Starting { deadline, .. } => Some(*deadline),
            _ => None,
        }
    }

    /// Whether `pid` is this reload's `check`.
    pub fn is_check(&self, pid: u32) -> bool {
        matches!(&self.phase, Phase::Checking(check) if check.pid == pid)
    }

    /// The generation this reload starts, once it has a number.
    pub fn candidate(&self) -> Option<Generation> {
        match self.phase {
            Phase::Handover { generation, .. } | Phase::Starting { generation, .. } => Some(generation),
            _ => None,
        }
    }

    /// Whether `generation` is the one this reload starts.
    pub fn is_candidate(&self, generation: Generation) -> bool {
        self.candidate() == Some(generation)
    }

    /// While the database file changes hands, the serving generation's slots are not
    /// refilled (its worker is leaving on purpose), and clients wait for as long as
    /// that takes: the old worker's drain is bounded, and so is the new one's start.
    pub fn hands_file_over(&self) -> bool {
        matches!(self.phase, Phase::Handover { .. } | Phase::Starting { handover: true, .. })
    }

    /// A reload was asked for, by a signal (`waiter` None) or an admin connection.
    pub fn request(&mut self, waiter: Option<Token>) -> Vec<Step> {
        if self.closed {
            return shutting_down(waiter.into_iter().collect());
        }
        if !self.is_idle() {
            info!("a reload is already running; this one will follow it");
            self.queued.get_or_insert_with(Vec::new).extend(waiter);
            return Vec::new();
        }
        self.start(waiter.into_iter().collect())
    }

    fn start(&mut self, waiters: Vec<Token>) -> Vec<Step> {
        self.waiters = waiters;
        info!(exe = %self.launch.exe.display(), "reload: validating the configuration and the binary on disk");
        vec![Step::NotifyReloading("reloading: validating"), Step::Check]
    }

    /// The [`Step::Check`] runs.
    pub fn check_started(&mut self, check: Check) {
        self.phase = Phase::Checking(check);
    }

    /// The `check` exited with `status`.
    pub fn check_exited(&mut self, status: WaitStatus) -> Vec<Step> {
        let Phase::Checking(check) = std::mem::replace(&mut self.phase, Phase::Idle) else {
            return Vec::new();
        };
        if matches!(status, WaitStatus::Exited(_, 0)) {
            return vec![Step::Reexec {
                waiters: std::mem::take(&mut self.waiters),
                queued: self.queued.take(),
            }];
        }
        self.fail(check.failure(status))
    }

    /// `execv` returned: this image goes on serving. `waiters` and `queued` are the
    /// admin connections [`Step::Reexec`] took, back in the table.
    pub fn exec_failed(&mut self, waiters: Vec<Token>, queued: Option<Vec<Token>>, why: String) -> Vec<Step> {
        self.waiters = waiters;
        self.queued = queued;
        self.fail(why)
    }

    /// In the new image: starts the new generation, or, when the serving generation
    /// holds the database file (`duckdb` read-write), first lets its worker hand the
    /// file over.
    pub fn start_generation(&mut self, worker_config: String, hand_over_first: bool) -> Vec<Step> {
        let generation = self.next_generation;
        self.next_generation = Generation(generation.0 + 1);
        if hand_over_first {
            info!(generation = %generation, "reload: the old worker drains to hand the database file over; new clients wait");
            self.phase = Phase::Handover { generation, worker_config };
            return vec![Step::DrainServing];
        }
        self.spawn(generation, worker_config, false)
    }

    fn spawn(&mut self, generation: Generation, worker_config: String, handover: bool) -> Vec<Step> {
        info!(generation = %generation, workers = self.workers, "reload: starting the new generation");
        self.phase = Phase::Starting {
            generation,
            deadline: Instant::now() + READY_TIMEOUT,
            handover,
            worker_config: worker_config.clone(),
        };
        vec![Step::Spawn { generation, worker_config }]
    }

    /// Moves a running reload on: from handover to start, from start to serving, or to
    /// failure when a deadline passed.
    pub fn tick(&mut self, seen: Progress) -> Vec<Step> {
        match &self.phase {
            Phase::Idle => Vec::new(),
            Phase::Checking(check) => {
                if seen.now.duration_since(check.since) > CHECK_TIMEOUT {
                    warn!(pid = check.pid, "the new binary's check takes too long; killing it");
                    return vec![Step::KillCheck(check.pid)];
                }
                Vec::new()
            }
            Phase::Handover { generation, worker_config } => {
                if seen.serving_alive {
                    return Vec::new();
                }
                let (generation, worker_config) = (*generation, worker_config.clone());
                self.spawn(generation, worker_config, true)
            }
            Phase::Starting { deadline, .. } => {
                if seen.candidate_ready >= self.workers {
                    self.commit()
                } else if seen.now >= *deadline {
                    self.fail(format!("the new generation was not ready within {}s", READY_TIMEOUT.as_secs()))
                } else {
                    Vec::new()
                }
            }
        }
    }

    fn commit(&mut self) -> Vec<Step> {
        let Phase::Starting { generation, worker_config, .. } =
            std::mem::replace(&mut self.phase, Phase::Idle)
        else {
            return Vec::new();
        };
        let outcome = ReloadOutcome::succeeded(generation.0, unix_now());
        self.last = Some(outcome.clone());
        let mut steps = vec![
            Step::Serve { generation, worker_config },
            Step::Ended(outcome.clone()),
            Step::Answer { to: std::mem::take(&mut self.waiters), answer: outcome.answer() },
        ];
        steps.extend(self.then_next());
        steps
    }

    /// The reload fails for `why`: what it started is undone, and the serving
    /// generation goes on.
    pub fn fail(&mut self, why: String) -> Vec<Step> {
        let mut steps = match std::mem::replace(&mut self.phase, Phase::Idle) {
            Phase::Idle => Vec::new(),
            Phase::Checking(check) => vec![Step::KillCheck(check.pid)],
            Phase::Handover { .. } => vec![Step::RefillSlots],
            Phase::Starting { generation, handover, .. } => {
                let mut undo = vec![Step::KillGeneration(generation)];
                if handover {
                    undo.push(Step::RefillSlots);
                }
                undo
            }
        };
        let outcome = ReloadOutcome::failed(why, unix_now());
        self.last = Some(outcome.clone());
        steps.push(Step::Ended(outcome.clone()));
        steps.push(Step::Answer { to: std::mem::take(&mut self.waiters), answer: outcome.answer() });
        steps.extend(self.then_next());
        steps
    }

    /// Starts the reload that was queued behind the one that just ended.
    pub fn next(&mut self) -> Vec<Step> {
        let Some(waiters) = self.queued.take() else { return Vec::new() };
        if self.closed {
            return shutting_down(waiters);
        }
        info!("starting the reload that was queued");
        self.start(waiters)
    }

    /// [`Step::Next`] when a reload waits behind the one that ends.
    fn then_next(&self) -> Option<Step> {
        self.queued.is_some().then_some(Step::Next)
    }

    /// Shutdown ends any reload, and no other starts; every waiter is told `why`.
    pub fn abandon(&mut self, why: &str) -> Vec<Step> {
        self.closed = true;
        let queued = self.queued.take();
        let mut steps = if self.is_idle() { Vec::new() } else { self.fail(why.to_owned()) };
        if let Some(waiters) = queued {
            steps.push(Step::Answer { to: waiters, answer: Answer::failed(why) });
        }
        steps
    }
}

fn shutting_down(waiters: Vec<Token>) -> Vec<Step> {
    if waiters.is_empty() {
        return Vec::new();
    }
    vec![Step::Answer { to: waiters, answer: Answer::failed("the server is shutting down") }]
}

fn unix_now() -> u64 {
    sys::unix_millis() / 1000
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reload() -> Reload {
        let launch = Launch {
            exe: PathBuf::from("/usr/bin/mallard"),
            args: vec!["serve".into()],
            config_file: None,
            overrides: Overrides::default(),
        };
        Reload::new(launch, 2)
    }

    fn progress(serving_alive: bool, candidate_ready: usize) -> Progress {
        Progress { now: Instant::now(), serving_alive, candidate_ready }
    }

    #[test]
    fn a_reload_asked_for_while_one_runs_waits_its_turn() {
        let mut r = reload();
        assert!(matches!(r.request(Some(Token(1)))[..], [Step::NotifyReloading(_), Step::Check]));
        // The check could not start: the reload fails, and the one queued meanwhile starts.
        r.phase = Phase::Handover { generation: Generation(2), worker_config: String::new() };
        assert!(r.request(Some(Token(2))).is_empty());
        let steps = r.fail("no".into());
        assert!(matches!(&steps[..], [
            Step::RefillSlots,
            Step::Ended(ReloadOutcome { ok: false, .. }),
            Step::Answer { to, .. },
            Step::Next,
        ] if to == &[Token(1)]));
        assert!(matches!(r.next()[..], [Step::NotifyReloading(_), Step::Check]));
        assert_eq!(r.waiters, [Token(2)]);
    }

    #[test]
    fn a_handover_waits_for_the_old_worker_then_commits_when_all_are_ready() {
        let mut r = reload();
        r.resume(Generation(5), None, vec![Token(7)], None);
        assert!(matches!(r.start_generation("cfg".into(), true)[..], [Step::DrainServing]));
        assert!(r.hands_file_over() && r.is_candidate(Generation(5)));
        assert!(r.tick(progress(true, 0)).is_empty());
        assert!(matches!(r.tick(progress(false, 0))[..], [Step::Spawn { generation: Generation(5), .. }]));
        assert!(r.tick(progress(false, 1)).is_empty());
        let steps = r.tick(progress(false, 2));
        assert!(matches!(&steps[..], [
            Step::Serve { generation: Generation(5), .. },
            Step::Ended(ReloadOutcome { ok: true, .. }),
            Step::Answer { to, .. },
        ] if to == &[Token(7)]));
        assert!(r.is_idle() && r.last().is_some_and(|l| l.generation == Some(5)));
        assert_eq!(r.next_generation(), Generation(6));
    }

    #[test]
    fn shutdown_fails_the_running_reload_and_refuses_the_next() {
        let mut r = reload();
        r.resume(Generation(3), None, vec![Token(1)], Some(vec![Token(2)]));
        r.start_generation(String::new(), false);
        let steps = r.abandon("the server is shutting down");
        assert!(matches!(&steps[..], [
            Step::KillGeneration(Generation(3)),
            Step::Ended(_),
            Step::Answer { to: first, .. },
            Step::Answer { to: queued, .. },
        ] if first == &[Token(1)] && queued == &[Token(2)]));
        assert!(matches!(&r.request(Some(Token(3)))[..], [Step::Answer { answer, .. }] if !answer.ok));
        assert!(r.request(None).is_empty());
    }
}
