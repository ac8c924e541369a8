//! The admin CLI contract that operators' scripts rely on: `mallard status [--json]`,
//! `reload` and `stop [--fast]` against the admin socket, their output and exit codes
//! (0 done, 1 failed, 3 not running).

use std::io::{BufRead, BufReader, Write};
use std::net::TcpStream;
use std::os::unix::fs::PermissionsExt;
use std::os::unix::net::UnixStream;
use std::process::{Command, Output};
use std::time::{Duration, Instant};

use mallard_harness::{sqlstate, Options, Server};
use serde_json::Value;

fn two_workers() -> Server {
    Server::start(
        env!("CARGO_BIN_EXE_mallard"),
        Options { storage: "memory", workers: 2, ..Options::default() },
    )
}

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// Polls `mallard status --json` until `done` holds.
fn wait_status(server: &Server, what: &str, done: impl Fn(&Value) -> bool) -> Value {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let status = server.status();
        if done(&status) {
            return status;
        }
        assert!(Instant::now() < deadline, "waited for {what}; status {status}; log:\n{}", server.logs());
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Whether the process has exited: it is gone, a zombie its parent has not reaped yet,
/// or past the point of no return (`PF_EXITING`: its fds are closed, which is what ends
/// `mallard stop`'s wait, and it becomes a zombie a moment later).
fn exited(pid: u32) -> bool {
    const PF_EXITING: u64 = 0x4;
    let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else { return true };
    // After the parenthesised command: state ppid pgrp session tty_nr tpgid flags ...
    let fields: Vec<&str> =
        stat.rsplit_once(')').map_or(vec![], |(_, rest)| rest.split_whitespace().collect());
    let flags: u64 = fields.get(6).and_then(|f| f.parse().ok()).unwrap_or(0);
    matches!(fields.first(), Some(&"Z" | &"X")) || flags & PF_EXITING != 0
}

#[test]
fn status_shows_the_workers_and_counts_sessions() {
    let server = two_workers();
    let workers = server.ready_workers(2, Duration::from_secs(30));

    let path = server.data_dir.join("mallard.sock");
    let mode = std::fs::metadata(&path).expect("admin socket in the data dir").permissions().mode();
    assert_eq!(mode & 0o777, 0o600, "admin socket mode {:o}", mode & 0o777);

    let status = wait_status(&server, "no sessions", |s| s["totals"]["sessions"] == 0);
    assert_eq!(status["pid"], server.pid());
    assert_eq!(status["generation"], 1);
    assert_eq!(status["state"], "running");
    assert_eq!(status["storage"], "memory");
    let listed = status["workers"].as_array().expect("workers array");
    assert_eq!(listed.len(), 2, "{status}");
    for w in listed {
        let pid = w["pid"].as_u64().expect("worker pid") as u32;
        assert!(workers.contains(&pid), "{w}");
        assert_eq!(w["generation"], 1, "{w}");
        assert_eq!(w["state"], "ready", "{w}");
        assert_eq!(w["sessions"], 0, "{w}");
    }
    let totals = &status["totals"];
    assert_eq!(totals["workers"], 2, "{totals}");
    assert_eq!(totals["ready"], 2, "{totals}");
    assert!(totals["max_connections"].as_u64().is_some(), "{totals}");

    let human = server.admin("status", &[]);
    assert_eq!(human.status.code(), Some(0), "{}", stderr(&human));
    let text = stdout(&human);
    assert!(text.contains(&format!("pid {}", server.pid())) && text.contains("generation 1"), "{text}");
    for pid in &workers {
        let line = text.lines().find(|l| l.split_whitespace().any(|f| f == pid.to_string()));
        assert!(line.is_some_and(|l| l.contains("ready")), "worker {pid} not listed as ready:\n{text}");
    }

    let clients: Vec<postgres::Client> = (0..3).map(|_| server.connect()).collect();
    let status = wait_status(&server, "3 sessions", |s| s["totals"]["sessions"] == 3);
    let per_worker: Vec<u64> =
        status["workers"].as_array().unwrap().iter().map(|w| w["sessions"].as_u64().unwrap()).collect();
    assert_eq!(per_worker.iter().sum::<u64>(), 3, "{status}");
    assert!(per_worker.iter().all(|&n| n >= 1), "least connections spreads them: {status}");
    drop(clients);
    wait_status(&server, "the sessions to close", |s| s["totals"]["sessions"] == 0);
}

#[test]
fn commands_exit_3_when_nothing_runs() {
    let dir = tempfile::tempdir().unwrap();
    let run = |command: &str, data_dir: &std::path::Path| {
        Command::new(env!("CARGO_BIN_EXE_mallard"))
            .arg(command)
            .arg("--data-dir")
            .arg(data_dir)
            .output()
            .expect("run mallard")
    };
    for command in ["status", "reload", "stop"] {
        let out = run(command, dir.path());
        assert_eq!(out.status.code(), Some(3), "{command}: {}", stderr(&out));
        assert!(stderr(&out).contains("not running"), "{command}: {}", stderr(&out));
    }
    // A socket file left behind by a killed server is not a running server.
    let stale = dir.path().join("stale");
    std::fs::create_dir(&stale).unwrap();
    drop(std::os::unix::net::UnixListener::bind(stale.join("mallard.sock")).unwrap());
    let out = run("status", &stale);
    assert_eq!(out.status.code(), Some(3), "{}", stderr(&out));
}

#[test]
fn stop_returns_once_the_server_has_exited() {
    let server = two_workers();
    let workers = server.ready_workers(2, Duration::from_secs(30));
    let out = server.admin("stop", &[]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(exited(server.pid()), "supervisor still running after `mallard stop`; log:\n{}", server.logs());
    for w in workers {
        assert!(exited(w), "worker {w} still running after `mallard stop`");
    }
    let out = server.admin("status", &[]);
    assert_eq!(out.status.code(), Some(3), "status after stop: {}{}", stdout(&out), stderr(&out));
    let out = server.admin("stop", &[]);
    assert_eq!(out.status.code(), Some(3), "stop after stop: {}", stderr(&out));
}

#[test]
fn fast_stop_ends_open_sessions_with_57p01() {
    let server = two_workers();
    let mut client = server.connect();
    client.simple_query("select 1").unwrap();
    let out = server.admin("stop", &["--fast"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(exited(server.pid()), "supervisor still running after `mallard stop --fast`");
    let err = client.simple_query("select 1").expect_err("the session outlived a fast stop");
    assert_eq!(sqlstate(&err), "57P01", "{err}");
}

/// A smart stop refuses new clients at once but lets a running query finish and its
/// session end; only then does the server exit.
#[test]
fn smart_stop_lets_a_running_query_finish() {
    // One DuckDB thread, so that the query takes a while on any machine.
    let server = Server::start(
        env!("CARGO_BIN_EXE_mallard"),
        Options {
            storage: "memory",
            workers: 2,
            env: vec![("MALLARD_THREADS".into(), "1".into())],
            ..Options::default()
        },
    );
    let mut client = server.connect();
    client.simple_query("select 1").unwrap();
    let query = std::thread::spawn(move || {
        let started = Instant::now();
        let sum: i64 = client.query_one("select sum(i % 7)::bigint from range(300000000) t(i)", &[])?.get(0);
        let finished = Instant::now();
        drop(client);
        Ok::<_, postgres::Error>((sum, started, finished))
    });
    std::thread::sleep(Duration::from_millis(200));
    let stop = {
        let (bin, data_dir) = (server.bin.clone(), server.data_dir.clone());
        std::thread::spawn(move || {
            let out = Command::new(bin).arg("stop").arg("--data-dir").arg(data_dir).output().unwrap();
            (out, Instant::now())
        })
    };
    wait_status(&server, "stopping", |s| s["state"] == "stopping");
    let still_running = !query.is_finished();
    assert!(
        TcpStream::connect(("127.0.0.1", server.port)).is_err(),
        "a stopping server still accepts clients"
    );

    let (sum, started, finished) = query.join().unwrap().unwrap_or_else(|e| {
        panic!("the running query failed during a smart stop: {} {e}; log:\n{}", sqlstate(&e), server.logs())
    });
    assert_eq!(sum, 899_999_997, "sum of i % 7 for i < 300000000");
    let (out, stopped) = stop.join().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(finished <= stopped, "`mallard stop` returned before the query finished");
    assert!(
        exited(server.pid()),
        "`mallard stop` returned before the server exited; stop said {}{}; log:\n{}",
        stdout(&out),
        stderr(&out),
        server.logs()
    );
    eprintln!(
        "query ran {:?}; stop returned {:?} after it finished; the query was {}running when the server said stopping",
        finished - started,
        stopped - finished,
        if still_running { "" } else { "NOT " }
    );
    assert!(still_running, "the query ended before the stop began; make it longer");
    assert!(!server.logs().contains("terminating sessions"), "the stop timed out; log:\n{}", server.logs());
}

#[test]
fn reload_serves_a_new_generation() {
    let server = two_workers();
    let old = server.ready_workers(2, Duration::from_secs(30));
    let out = server.admin("reload", &[]);
    assert_eq!(out.status.code(), Some(0), "{}{}\nlog:\n{}", stdout(&out), stderr(&out), server.logs());
    assert!(stdout(&out).contains("generation 2"), "{}", stdout(&out));

    let status = server.status();
    assert_eq!(status["generation"], 2, "{status}");
    assert_eq!(status["last_reload"]["ok"], true, "{status}");
    let new = server.ready_workers(2, Duration::from_secs(30));
    assert!(new.iter().all(|p| !old.contains(p)), "old {old:?}, new {new:?}");
    let status = server.status();
    assert!(status["workers"].as_array().unwrap().iter().all(|w| w["generation"] == 2), "{status}");
    assert_eq!(status["pid"], server.pid(), "a reload keeps the supervisor's pid");
    let pid: i32 = server
        .connect()
        .query_one("select worker_pid from pg_stat_activity where pid = pg_backend_pid()", &[])
        .unwrap()
        .get(0);
    assert!(new.contains(&(pid as u32)), "served by {pid}, not a generation 2 worker {new:?}");
}

#[test]
fn unknown_command_gets_a_json_error() {
    let server = two_workers();
    server.ready_workers(2, Duration::from_secs(30));
    let mut socket = UnixStream::connect(server.data_dir.join("mallard.sock")).expect("admin socket");
    socket.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    socket.write_all(b"frobnicate\n").unwrap();
    let mut line = String::new();
    BufReader::new(&socket).read_line(&mut line).unwrap();
    let answer: Value = serde_json::from_str(&line).unwrap_or_else(|_| panic!("not JSON: {line:?}"));
    assert_eq!(answer["ok"], false, "{answer}");
    let error = answer["error"].as_str().unwrap_or_default();
    assert!(error.contains("unknown command") && error.contains("frobnicate"), "{answer}");
    // The server is unharmed.
    assert_eq!(server.status()["state"], "running");
}
