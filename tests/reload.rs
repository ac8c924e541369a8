//! Reload and upgrade in place (issue 4, acceptance 1 and 3): reloads under load lose
//! no connection and no query, keep the supervisor's PID and its fd count, switch to the
//! binary on disk, and a reload that cannot succeed leaves the old generation serving.

use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::{self, sleep, JoinHandle};
use std::time::{Duration, Instant};

use mallard_harness::{fd_count, Options, Server};
use postgres::error::SqlState;

const DRAIN: Duration = Duration::from_secs(3);

/// Puts `src` at `dst` the way a package manager does: a copy next to it, renamed over
/// it, so the running binary's file is never written to.
fn install(src: &Path, dst: &Path) {
    let tmp = dst.with_extension("new");
    std::fs::copy(src, &tmp).expect("copy binary");
    std::fs::set_permissions(&tmp, std::fs::Permissions::from_mode(0o755)).unwrap();
    std::fs::rename(&tmp, dst).expect("rename binary into place");
}

/// A second build to upgrade to: the same code with bytes appended, so it is another
/// file with another inode and content (an ELF loader ignores the tail).
fn second_build(dir: &Path) -> PathBuf {
    let path = dir.join("mallard-b");
    std::fs::copy(env!("CARGO_BIN_EXE_mallard"), &path).unwrap();
    let mut bytes = std::fs::read(&path).unwrap();
    bytes.extend_from_slice(b"\0mallard test build b\0");
    std::fs::write(&path, bytes).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    path
}

/// `mallard <command> --data-dir ...` from the build under test, whatever is installed.
fn admin(server: &Server, command: &str, args: &[&str]) -> std::process::Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_mallard"))
        .arg(command)
        .arg("--data-dir")
        .arg(&server.data_dir)
        .args(args)
        .output()
        .expect("run mallard")
}

fn status(server: &Server) -> serde_json::Value {
    let out = admin(server, "status", &["--json"]);
    assert!(out.status.success(), "status failed: {}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).expect("status --json prints JSON")
}

/// Runs `mallard reload`; returns whether it succeeded, and what it printed.
fn reload(server: &Server) -> (bool, String) {
    let out = admin(server, "reload", &[]);
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    match out.status.code() {
        Some(0) => (true, text),
        Some(1) => (false, text),
        other => panic!("mallard reload exited with {other:?}: {text}"),
    }
}

/// Client load during reloads: short clients that connect, query and leave, and
/// long-lived sessions that query every 100 ms. A long-lived session may be ended by
/// its generation's drain, but only once `DRAIN` has passed since the reload that
/// drained it; it then reconnects. Anything else is an error.
struct Load {
    stop: Arc<AtomicBool>,
    reloads_done: Arc<Mutex<Vec<Instant>>>,
    handles: Vec<JoinHandle<Tally>>,
}

#[derive(Default, Debug)]
struct Tally {
    queries: u64,
    terminated: u64,
    errors: Vec<String>,
}

impl Load {
    fn start(conn: &str, short: usize, long: usize) -> Load {
        let stop = Arc::new(AtomicBool::new(false));
        let reloads_done = Arc::new(Mutex::new(Vec::new()));
        let mut handles = Vec::new();
        for _ in 0..short {
            let (conn, stop) = (conn.to_owned(), Arc::clone(&stop));
            handles.push(thread::spawn(move || {
                let mut tally = Tally::default();
                while !stop.load(Ordering::Relaxed) {
                    match postgres::Client::connect(&conn, postgres::NoTls) {
                        Ok(mut c) => match c.simple_query("select 1") {
                            Ok(_) => tally.queries += 1,
                            Err(e) => tally.errors.push(format!("short client query: {e}")),
                        },
                        Err(e) => tally.errors.push(format!("short client connect: {e}")),
                    }
                }
                tally
            }));
        }
        for _ in 0..long {
            let (conn, stop, done) = (conn.to_owned(), Arc::clone(&stop), Arc::clone(&reloads_done));
            handles.push(thread::spawn(move || long_lived(&conn, &stop, &done)));
        }
        Load { stop, reloads_done, handles }
    }

    fn reloaded(&self) {
        self.reloads_done.lock().unwrap().push(Instant::now());
    }

    fn finish(self) -> Tally {
        self.stop.store(true, Ordering::Relaxed);
        let mut total = Tally::default();
        for h in self.handles {
            let t = h.join().expect("load thread panicked");
            total.queries += t.queries;
            total.terminated += t.terminated;
            total.errors.extend(t.errors);
        }
        total
    }
}

fn long_lived(conn: &str, stop: &AtomicBool, reloads_done: &Mutex<Vec<Instant>>) -> Tally {
    let mut tally = Tally::default();
    'session: while !stop.load(Ordering::Relaxed) {
        let connected = Instant::now();
        let mut client = match postgres::Client::connect(conn, postgres::NoTls) {
            Ok(c) => c,
            Err(e) => {
                tally.errors.push(format!("long-lived connect: {e}"));
                continue;
            }
        };
        let mut answered = 0;
        while !stop.load(Ordering::Relaxed) {
            sleep(Duration::from_millis(100));
            match client.simple_query("select 1") {
                Ok(_) => {
                    tally.queries += 1;
                    answered += 1;
                }
                Err(e) => {
                    let now = Instant::now();
                    // 57P01 if the client read it before the server closed, else a
                    // closed or reset connection; never another SQLSTATE.
                    let ended_by_drain = e.code().is_none_or(|c| *c == SqlState::ADMIN_SHUTDOWN);
                    // The reload that drained this session's generation is the first
                    // one to complete after it connected.
                    let drained_at = reloads_done.lock().unwrap().iter().copied().find(|t| *t >= connected);
                    match drained_at {
                        Some(t) if ended_by_drain && now + Duration::from_millis(500) >= t + DRAIN => {
                            tally.terminated += 1;
                        }
                        _ => tally.errors.push(format!(
                            "long-lived session ended after {answered} queries, {:?} after it connected, \
                             drained {:?} before: {e}",
                            now - connected,
                            drained_at.map(|t| now.saturating_duration_since(t)),
                        )),
                    }
                    continue 'session;
                }
            }
        }
    }
    tally
}

fn exe_inode(pid: u32) -> u64 {
    std::fs::metadata(format!("/proc/{pid}/exe")).expect("stat /proc/pid/exe").ino()
}

/// Waits until only the serving generation's workers are left; returns the status.
fn wait_old_generations_gone(server: &Server, timeout: Duration) -> serde_json::Value {
    let deadline = Instant::now() + timeout;
    loop {
        let s = status(server);
        let generation = &s["generation"];
        let workers = s["workers"].as_array().unwrap();
        if workers.iter().all(|w| &w["generation"] == generation) {
            return s;
        }
        assert!(Instant::now() < deadline, "old generations still running: {s}\n{}", server.logs());
        sleep(Duration::from_millis(100));
    }
}

fn worker_fds(s: &serde_json::Value) -> Vec<usize> {
    let mut fds: Vec<usize> = s["workers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| fd_count(w["pid"].as_u64().unwrap() as u32))
        .collect();
    fds.sort();
    fds
}

#[test]
fn twenty_reloads_under_load_lose_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let installed = dir.path().join("mallard");
    let build_a = PathBuf::from(env!("CARGO_BIN_EXE_mallard"));
    let build_b = second_build(dir.path());
    install(&build_a, &installed);
    let server = Server::start(
        installed.to_str().unwrap(),
        Options {
            storage: "memory",
            workers: 2,
            extra_args: vec!["--max-connections".into(), "1000".into()],
            env: vec![("MALLARD_DRAIN_TIMEOUT".into(), format!("{}s", DRAIN.as_secs()))],
            ..Options::default()
        },
    );
    let pid = server.pid();
    // Both workers ready first: while one still starts, the supervisor holds fds for it
    // that it closes later (the baseline came out one fd high once workers took longer
    // to open, with the catalog to install).
    server.ready_workers(2, Duration::from_secs(30));
    let base = wait_old_generations_gone(&server, Duration::from_secs(10));
    let supervisor_fds = fd_count(pid);
    let base_worker_fds = worker_fds(&base);

    let load = Load::start(&server.conn_str(), 100, 20);
    sleep(Duration::from_secs(1));
    for i in 0..20 {
        // Every other reload moves to the other build.
        let build = if i % 2 == 0 { &build_b } else { &build_a };
        install(build, &installed);
        let (ok, text) = reload(&server);
        assert!(ok, "reload {i} failed: {text}\n{}", server.logs());
        load.reloaded();
        let s = status(&server);
        assert_eq!(s["pid"], pid, "the supervisor's pid changed");
        assert_eq!(s["generation"], i + 2, "{s}");
        assert_eq!(
            exe_inode(pid),
            std::fs::metadata(&installed).unwrap().ino(),
            "not running the installed build"
        );
        sleep(Duration::from_millis(700));
    }
    let tally = load.finish();
    assert!(
        tally.errors.is_empty(),
        "{} errors, first: {:#?}\n",
        tally.errors.len(),
        &tally.errors[..5.min(tally.errors.len())]
    );
    assert!(tally.queries > 1000, "too little load: {tally:?}");

    let end = wait_old_generations_gone(&server, DRAIN + Duration::from_secs(10));
    assert_eq!(end["generation"], 21);
    // Everything the clients and reloads used was given back.
    let deadline = Instant::now() + Duration::from_secs(5);
    while fd_count(pid) != supervisor_fds && Instant::now() < deadline {
        sleep(Duration::from_millis(100));
    }
    assert_eq!(fd_count(pid), supervisor_fds, "supervisor fds");
    assert_eq!(worker_fds(&end), base_worker_fds, "worker fds");
    eprintln!(
        "20 reloads: {} queries, {} long-lived sessions ended by their drain after {DRAIN:?}",
        tally.queries, tally.terminated
    );
}

#[test]
fn failed_reloads_keep_the_old_generation_serving() {
    let dir = tempfile::tempdir().unwrap();
    let installed = dir.path().join("mallard");
    install(Path::new(env!("CARGO_BIN_EXE_mallard")), &installed);
    let config = dir.path().join("mallard.toml");
    let good = "drain_timeout = \"3s\"\n";
    std::fs::write(&config, good).unwrap();
    let server = Server::start(
        installed.to_str().unwrap(),
        Options {
            storage: "memory",
            workers: 2,
            extra_args: vec!["-c".into(), config.display().to_string()],
            ..Options::default()
        },
    );
    let before = wait_old_generations_gone(&server, Duration::from_secs(10));
    // The serving generation's workers: a failed reload's candidates are listed until
    // they are reaped, which may be just after the reload's answer.
    let pids = |s: &serde_json::Value| -> Vec<u64> {
        let serving = &s["generation"];
        let workers = s["workers"].as_array().unwrap().iter().filter(|w| &w["generation"] == serving);
        workers.map(|w| w["pid"].as_u64().unwrap()).collect()
    };
    let load = Load::start(&server.conn_str(), 10, 5);

    // A configuration that does not load.
    std::fs::write(&config, format!("{good}no_such_setting = 1\n")).unwrap();
    let (ok, text) = reload(&server);
    assert!(!ok && text.contains("no_such_setting"), "{text}");
    std::fs::write(&config, good).unwrap();

    // A binary that will not start.
    let broken = dir.path().join("broken");
    std::fs::write(&broken, "#!/bin/sh\necho 'this build is broken' >&2\nexit 1\n").unwrap();
    install(&broken, &installed);
    let (ok, text) = reload(&server);
    assert!(!ok && text.contains("check failed") && text.contains("this build is broken"), "{text}");
    install(Path::new(env!("CARGO_BIN_EXE_mallard")), &installed);

    // A configuration the check accepts but whose workers cannot open DuckDB.
    std::fs::write(&config, format!("{good}memory_limit = \"plenty\"\n")).unwrap();
    let (ok, text) = reload(&server);
    assert!(!ok && text.contains("exited before it was ready"), "{text}");
    std::fs::write(&config, good).unwrap();

    let after = status(&server);
    assert_eq!(after["generation"], 1, "{after}");
    let problems: Vec<String> = server
        .logs()
        .lines()
        .filter(|l| l.contains("ERROR") || l.contains("WARN"))
        .map(str::to_owned)
        .collect();
    assert_eq!(pids(&after), pids(&before), "the serving workers changed: {problems:#?}");
    assert_eq!(after["last_reload"]["ok"], false);

    // Fixed, it reloads.
    let (ok, text) = reload(&server);
    assert!(ok, "{text}");
    let tally = load.finish();
    assert!(tally.errors.is_empty(), "{:#?}", tally.errors);
    assert!(tally.queries > 100, "{tally:?}");
    assert_eq!(status(&server)["generation"], 3, "failed generations are not reused");
    let logs = server.logs();
    assert_eq!(logs.matches("reload failed; the current generation keeps serving").count(), 3, "{logs}");
}

#[test]
fn duckdb_read_write_hands_the_file_over_and_refuses_no_one() {
    let server = Server::start(
        env!("CARGO_BIN_EXE_mallard"),
        Options {
            storage: "duckdb",
            workers: 1,
            env: vec![("MALLARD_DRAIN_TIMEOUT".into(), "2s".into())],
            ..Options::default()
        },
    );
    server.connect().batch_execute("create table t (id int primary key, who text)").unwrap();
    // An idle session moves to the new worker with the file (issue 16).
    let mut idle = server.connect();
    idle.simple_query("select 1").unwrap();
    let idle_pid: i32 = idle.query_one("select pg_backend_pid()", &[]).unwrap().get(0);

    let stop = Arc::new(AtomicBool::new(false));
    let writers: Vec<_> = (0..8)
        .map(|w| {
            let (conn, stop) = (server.conn_str(), Arc::clone(&stop));
            thread::spawn(move || {
                let (mut written, mut errors) = (0u32, Vec::new());
                while !stop.load(Ordering::Relaxed) {
                    let id = w * 1_000_000 + written;
                    let result = postgres::Client::connect(&conn, postgres::NoTls)
                        .and_then(|mut c| c.execute("insert into t values ($1, 'w')", &[&(id as i32)]));
                    match result {
                        Ok(_) => written += 1,
                        Err(e) => errors.push(e.to_string()),
                    }
                }
                (written, errors)
            })
        })
        .collect();
    sleep(Duration::from_millis(500));
    let started = Instant::now();
    let (ok, text) = reload(&server);
    let took = started.elapsed();
    assert!(ok, "{text}\n{}", server.logs());
    sleep(Duration::from_millis(500));
    stop.store(true, Ordering::Relaxed);
    let mut total = 0;
    for h in writers {
        let (written, errors) = h.join().unwrap();
        assert!(errors.is_empty(), "writer errors: {errors:?}");
        total += written;
    }
    // The idle session moved: the same session, on the worker that has the file now.
    let moved: i32 = idle.query_one("select pg_backend_pid()", &[]).unwrap().get(0);
    assert_eq!(moved, idle_pid, "the idle session was not moved (reload took {took:?})");
    let rows = server.connect().query_one("select count(*) from t", &[]).unwrap();
    assert_eq!(rows.get::<_, i64>(0), i64::from(total), "every acknowledged insert is in the file");
    assert_eq!(status(&server)["generation"], 2);
}

#[test]
fn a_reload_during_a_reload_is_queued_not_interleaved() {
    let server = Server::start(
        env!("CARGO_BIN_EXE_mallard"),
        Options { storage: "memory", workers: 2, ..Options::default() },
    );
    let server = Arc::new(server);
    let both: Vec<_> = (0..2)
        .map(|_| {
            let server = Arc::clone(&server);
            thread::spawn(move || reload(&server))
        })
        .collect();
    for h in both {
        let (ok, text) = h.join().unwrap();
        assert!(ok, "{text}");
    }
    let s = status(&server);
    assert_eq!(s["generation"], 3, "{s}");
    let logs = server.logs();
    let first_done = logs.find("reload complete").expect("a reload completed");
    let queued = logs.find("this one will follow it").expect("the second reload was queued");
    let second_start = logs.find("starting the reload that was queued").expect("the queued reload ran");
    assert!(queued < first_done && first_done < second_start, "{logs}");
}
