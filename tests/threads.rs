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
