//! `storage = "duckdb"` with `read_only = true` (issue 14): publishing a new database
//! file. The operator renames a new, checkpointed file over `<data_dir>/mallard.duckdb`
//! and reloads; every worker switches to it, no client is refused, and pooled sessions
//! move to the new file with the reload.

use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::Duration;

use mallard_harness::{sqlstate, Options, Server};
use postgres::{Client, NoTls};

const BIN: &str = env!("CARGO_BIN_EXE_mallard");

/// Writes a database file in `data` whose table `published` says `version`, with
/// `rows` rows in `facts`, and checkpoints it (the writer stops).
fn build(data: &Path, version: i32, rows: i64) {
    let mut writer = Server::start(
        BIN,
        Options { storage: "duckdb", data_dir: Some(data.to_path_buf()), ..Options::default() },
    );
    let mut client = writer.connect();
    client
        .batch_execute(&format!(
            "create table published (version int); insert into published values ({version});
             create table facts as select range as id from range({rows})"
        ))
        .unwrap();
    client.batch_execute("checkpoint").unwrap();
    drop(client);
    writer.stop();
}

fn version(client: &mut Client) -> Result<i32, postgres::Error> {
    client.query_one("select version from published", &[]).map(|row| row.get(0))
}

#[test]
fn a_published_file_is_served_by_every_worker_after_a_reload_and_no_client_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let (served, next) = (dir.path().join("served"), dir.path().join("next"));
    build(&served, 1, 10);
    build(&next, 2, 20);
    let server = Server::start(
        BIN,
        Options {
            storage: "duckdb",
            workers: 2,
            data_dir: Some(served.clone()),
            env: vec![
                ("MALLARD_READ_ONLY".into(), "true".into()),
                ("MALLARD_DRAIN_TIMEOUT".into(), "20s".into()),
            ],
            ..Options::default()
        },
    );
    server.ready_workers(2, Duration::from_secs(30));

    // Pooled sessions that never reconnect, and clients that connect for each query.
    let stop = Arc::new(AtomicBool::new(false));
    let errors = Arc::new(Mutex::new(Vec::<String>::new()));
    let seen = Arc::new(Mutex::new(Vec::<(usize, i32)>::new()));
    let mut handles = Vec::new();
    for i in 0..6 {
        let (conn, stop, errors, seen) =
            (server.conn_str(), Arc::clone(&stop), Arc::clone(&errors), Arc::clone(&seen));
        handles.push(thread::spawn(move || {
            let pooled = i < 4;
            let mut client = None;
            while !stop.load(Ordering::Relaxed) {
                if client.is_none() {
                    match Client::connect(&conn, NoTls) {
                        Ok(c) => client = Some(c),
                        Err(e) => {
                            errors.lock().unwrap().push(format!("connect {}: {e}", sqlstate(&e)));
                            continue;
                        }
                    }
                }
                match version(client.as_mut().expect("connected")) {
                    Ok(v) => seen.lock().unwrap().push((i, v)),
                    Err(e) => errors.lock().unwrap().push(format!("client {i}: {}: {e}", sqlstate(&e))),
                }
                if !pooled {
                    client = None;
                }
                thread::sleep(Duration::from_millis(20));
            }
        }));
    }
    thread::sleep(Duration::from_secs(1));
    // Publish: a copy on the same file system, renamed over the served file (atomic:
    // a worker opening it sees the old file or the new one, never half of one).
    let staged = served.join("mallard.duckdb.new");
    std::fs::copy(next.join("mallard.duckdb"), &staged).unwrap();
    std::fs::rename(&staged, served.join("mallard.duckdb")).unwrap();
    let out = server.admin("reload", &[]);
    assert!(out.status.success(), "reload: {}", String::from_utf8_lossy(&out.stderr));
    thread::sleep(Duration::from_secs(2));
    stop.store(true, Ordering::Relaxed);
    for h in handles {
        h.join().unwrap();
    }

    let errors = errors.lock().unwrap();
    assert!(errors.is_empty(), "no client refused or failed: {errors:?}");
    let seen = seen.lock().unwrap();
    for i in 0..6 {
        let versions: Vec<i32> = seen.iter().filter(|(c, _)| *c == i).map(|(_, v)| *v).collect();
        assert_eq!(versions.first(), Some(&1), "client {i} started on the first file: {versions:?}");
        assert_eq!(versions.last(), Some(&2), "client {i} ends on the published file: {versions:?}");
        assert!(versions.windows(2).all(|w| w[0] <= w[1]), "client {i} never went back: {versions:?}");
    }
    // Every worker of the new generation serves the new file.
    for _ in 0..4 {
        let mut c = server.connect();
        assert_eq!(version(&mut c).unwrap(), 2);
        assert_eq!(c.query_one("select count(*) from facts", &[]).unwrap().get::<_, i64>(0), 20);
    }
    let moved = server.status()["totals"]["sessions_moved"].as_u64().unwrap_or(0);
    assert!(moved >= 4, "the pooled sessions moved to the new file: {moved}");
}
