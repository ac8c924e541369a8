//! Worker health (acceptance 4): a worker that stops answering its pings (here: stopped
//! with SIGSTOP) first gets no new clients, then is killed and replaced within
//! `health_timeout`; a worker that crashes is replaced, and the log says how it ended.

use std::time::{Duration, Instant};

use mallard_harness::{Options, Server};

const HEALTH_TIMEOUT: Duration = Duration::from_secs(2);
/// How late after `health_timeout` the replacement may appear: one ping interval (the
/// stop can fall just after a pong), the respawn backoff of a young worker, and slack.
const REPLACE_MARGIN: Duration = Duration::from_secs(1);
/// From this long after the stop on, the stopped worker's unanswered ping is older than
/// the 1 s after which it gets no new clients (pings go out every health_timeout / 5).
const UNRESPONSIVE_BY: Duration = Duration::from_millis(1450);

fn two_workers() -> Server {
    Server::start(
        env!("CARGO_BIN_EXE_mallard"),
        Options {
            storage: "memory",
            workers: 2,
            env: vec![("MALLARD_HEALTH_TIMEOUT".into(), format!("{}s", HEALTH_TIMEOUT.as_secs()))],
            ..Options::default()
        },
    )
}

fn signal(pid: u32, sig: libc::c_int) {
    // SAFETY: kill(2) on a worker pid of the server this test started.
    assert_eq!(unsafe { libc::kill(pid as i32, sig) }, 0, "kill({pid}, {sig})");
}

/// The process state letter from `/proc/<pid>/stat` (`T` stopped, `Z` zombie), if it exists.
fn proc_state(pid: u32) -> Option<char> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    stat.rsplit_once(')')?.1.trim_start().chars().next()
}

fn serving_worker_pid(server: &Server) -> u32 {
    let mut client = server.connect();
    let row = client
        .query_one("select worker_pid from pg_stat_activity where pid = pg_backend_pid()", &[])
        .expect("the serving worker's pid");
    row.get::<_, i32>(0) as u32
}

/// Waits until `gone` is no longer among the workers and `n` run again; returns how long
/// after `since` that was seen, and the new workers.
fn wait_replaced(
    server: &Server,
    gone: u32,
    n: usize,
    since: Instant,
    limit: Duration,
) -> (Duration, Vec<u32>) {
    loop {
        let pids = server.worker_pids();
        if !pids.contains(&gone) && pids.len() == n {
            return (since.elapsed(), pids);
        }
        assert!(
            since.elapsed() < limit,
            "worker {gone} not replaced within {limit:?}; workers {pids:?}; log:\n{}",
            server.logs()
        );
        std::thread::sleep(Duration::from_millis(10));
    }
}

fn log_line_with<'a>(logs: &'a str, words: &[&str]) -> Option<&'a str> {
    logs.lines().find(|line| words.iter().all(|w| line.contains(w)))
}

#[test]
fn stopped_worker_gets_no_clients_then_is_killed_and_replaced() {
    let server = two_workers();
    let before = server.ready_workers(2, Duration::from_secs(30));
    let victim = before[0];
    signal(victim, libc::SIGSTOP);
    let stopped_at = Instant::now();

    // Once its ping has gone unanswered for a second, new clients go elsewhere, and at
    // once: one routed to the stopped worker would hang until it is killed.
    std::thread::sleep(UNRESPONSIVE_BY.saturating_sub(stopped_at.elapsed()));
    let served: Vec<u32> = (0..10).map(|_| serving_worker_pid(&server)).collect();
    let served_by = stopped_at.elapsed();
    assert!(!served.contains(&victim), "a client went to the stopped worker {victim}: {served:?}");
    assert_eq!(
        proc_state(victim),
        Some('T'),
        "the stopped worker should still be there (stopped) after the ten clients ({served_by:?} after the stop); log:\n{}",
        server.logs()
    );

    let (after, now) = wait_replaced(&server, victim, 2, stopped_at, HEALTH_TIMEOUT + REPLACE_MARGIN);
    eprintln!("ten clients served {served_by:?} after SIGSTOP; replacement seen {after:?} after it");
    assert!(after >= HEALTH_TIMEOUT - Duration::from_millis(450), "killed too early: {after:?}");
    assert!(now.contains(&before[1]), "the healthy worker was replaced too: {before:?} -> {now:?}");

    let logs = server.logs();
    let pid = format!("pid={victim}");
    log_line_with(&logs, &["worker missed its health pings; killing it", &pid])
        .unwrap_or_else(|| panic!("no log line names the kill of {victim}; log:\n{logs}"));
    log_line_with(&logs, &["worker exited", &pid, "signal SIGKILL", "cause=\"health\""])
        .unwrap_or_else(|| panic!("no log line records the killed worker's exit; log:\n{logs}"));
    assert!(
        !logs.contains("re-routing a client the dead worker never took"),
        "a client was handed to the stopped worker; log:\n{logs}"
    );

    // The replacement serves.
    let ready = server.ready_workers(2, Duration::from_secs(30));
    assert!(!ready.contains(&victim));
    for _ in 0..4 {
        assert!(ready.contains(&serving_worker_pid(&server)));
    }
}

#[test]
fn crashed_worker_is_replaced_and_its_signal_logged() {
    let server = two_workers();
    let before = server.ready_workers(2, Duration::from_secs(30));
    let victim = before[1];
    signal(victim, libc::SIGKILL);
    let killed_at = Instant::now();
    let (after, _) = wait_replaced(&server, victim, 2, killed_at, Duration::from_secs(10));
    eprintln!("crashed worker replaced {after:?} after SIGKILL");
    let ready = server.ready_workers(2, Duration::from_secs(30));
    assert!(!ready.contains(&victim) && ready.contains(&before[0]), "{before:?} -> {ready:?}");

    let logs = server.logs();
    let line = log_line_with(&logs, &["worker exited", &format!("pid={victim}")])
        .unwrap_or_else(|| panic!("no log line records the exit of {victim}; log:\n{logs}"));
    assert!(line.contains("signal SIGKILL") && line.contains("cause=\"crash\""), "{line}");
    for _ in 0..4 {
        assert!(ready.contains(&serving_worker_pid(&server)));
    }
}
