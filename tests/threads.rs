//! A worker's DuckDB threads follow the load (`worker/src/threads.rs`): with at least
//! as many busy sessions as DuckDB has threads, DuckDB runs with one thread; once the
//! clients stop, it gets the configured threads back. DuckDB's own `threads` setting,
//! read through the server, shows which.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use mallard_harness::{Options, Server};

fn duckdb_threads(client: &mut postgres::Client) -> String {
    let row = client.query_one("select value from duckdb_settings() where name = 'threads'", &[]).unwrap();
    row.get(0)
}

#[test]
fn duckdb_threads_drop_to_one_under_busy_sessions_and_come_back() {
    let server = Server::start(
        env!("CARGO_BIN_EXE_mallard"),
        Options { env: vec![("MALLARD_THREADS".into(), "4".into())], ..Options::default() },
    );
    let mut watcher = server.connect();
    assert_eq!(duckdb_threads(&mut watcher), "4", "the configured threads at start");

    // Six clients sending `select 1` back to back: more busy sessions than threads.
    let stop = Arc::new(AtomicBool::new(false));
    let clients: Vec<_> = (0..6)
        .map(|_| {
            let (mut client, stop) = (server.connect(), Arc::clone(&stop));
            std::thread::spawn(move || {
                while !stop.load(Ordering::Relaxed) {
                    client.simple_query("select 1").unwrap();
                }
            })
        })
        .collect();
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut seen = duckdb_threads(&mut watcher);
    while seen != "1" && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
        seen = duckdb_threads(&mut watcher);
    }
    stop.store(true, Ordering::Relaxed);
    for c in clients {
        c.join().unwrap();
    }
    assert_eq!(seen, "1", "DuckDB kept its threads under six busy sessions");

    // Idle again: the threads come back within about half a second.
    let deadline = Instant::now() + Duration::from_secs(10);
    std::thread::sleep(Duration::from_millis(200));
    let mut seen = duckdb_threads(&mut watcher);
    while seen != "4" && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(200));
        seen = duckdb_threads(&mut watcher);
    }
    assert_eq!(seen, "4", "DuckDB's threads did not come back once the clients stopped");
}

/// When DuckDB's threads drop to one, the background thread that goes must not hold up
/// every other statement of the worker while it finishes a long query's task: DuckDB
/// joins it at the end of the next statement, under a lock every statement's end takes.
/// Short statements must go on answering at once while two long cross joins run.
#[test]
fn short_statements_are_not_held_up_behind_long_ones_when_threads_drop() {
    const LONG: &str = "select count(*) from range(30000000) a, range(1000) b where a.range + b.range = 7";
    let server = Server::start(
        env!("CARGO_BIN_EXE_mallard"),
        Options { env: vec![("MALLARD_THREADS".into(), "2".into())], ..Options::default() },
    );
    let longs: Vec<_> = (0..2)
        .map(|_| {
            let mut client = server.connect();
            let token = client.cancel_token();
            let run = std::thread::spawn(move || client.simple_query(LONG).map(|_| ()));
            (token, run)
        })
        .collect();
    // Short clients keep enough sessions busy for the threads to drop to one.
    let stop = Arc::new(AtomicBool::new(false));
    let slowest = Arc::new(std::sync::Mutex::new(Duration::ZERO));
    let shorts: Vec<_> = (0..3)
        .map(|_| {
            let (mut client, stop, slowest) = (server.connect(), Arc::clone(&stop), Arc::clone(&slowest));
            std::thread::spawn(move || {
                while !stop.load(Ordering::Relaxed) {
                    let started = Instant::now();
                    client.simple_query("select 1").unwrap();
                    let took = started.elapsed();
                    let mut s = slowest.lock().unwrap();
                    *s = (*s).max(took);
                }
            })
        })
        .collect();
    let mut watcher = server.connect();
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut seen = duckdb_threads(&mut watcher);
    while seen != "1" && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
        seen = duckdb_threads(&mut watcher);
    }
    // A few seconds with one thread, the long queries still running.
    std::thread::sleep(Duration::from_secs(3));
    let started = Instant::now();
    watcher.simple_query("select 1").unwrap();
    let watcher_took = started.elapsed();
    stop.store(true, Ordering::Relaxed);
    for (token, _) in &longs {
        token.cancel_query(postgres::NoTls).unwrap();
    }
    for s in shorts {
        s.join().unwrap();
    }
    for (_, run) in longs {
        assert!(run.join().unwrap().is_err(), "a long query finished before it was cancelled");
    }
    assert_eq!(seen, "1", "the threads never dropped to one");
    let slowest = *slowest.lock().unwrap();
    assert!(
        slowest < Duration::from_secs(2) && watcher_took < Duration::from_secs(2),
        "a `select 1` waited {slowest:?} (the watcher's {watcher_took:?}) behind the long queries"
    );
}
