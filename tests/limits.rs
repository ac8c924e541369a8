//! `max_connections`: one client more than the limit is refused as PostgreSQL refuses
//! it, and the server keeps serving.

use std::time::Duration;

use mallard_harness::{sqlstate, Options, Server};

#[test]
fn one_client_over_max_connections_gets_53300() {
    let server = Server::start(
        env!("CARGO_BIN_EXE_mallard"),
        Options {
            storage: "memory",
            workers: 2,
            extra_args: vec!["--max-connections".into(), "10".into()],
            ..Options::default()
        },
    );
    // The harness's own readiness probe has gone; wait until the server counts none.
    std::thread::sleep(Duration::from_millis(300));
    let mut clients: Vec<postgres::Client> = (0..10).map(|_| server.connect()).collect();
    for c in &mut clients {
        c.simple_query("select 1").unwrap();
    }
    let err = postgres::Client::connect(&server.conn_str(), postgres::NoTls)
        .err()
        .expect("the 11th client connected");
    assert_eq!(sqlstate(&err), "53300", "{err}");
    let message = err.as_db_error().map(|e| e.message().to_owned()).unwrap_or_default();
    assert_eq!(message, "sorry, too many clients already");

    // The ten keep working; when one leaves, a newcomer gets in.
    for c in &mut clients {
        c.simple_query("select 2").unwrap();
    }
    drop(clients.pop());
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    let mut newcomer = loop {
        match postgres::Client::connect(&server.conn_str(), postgres::NoTls) {
            Ok(c) => break c,
            Err(e) if std::time::Instant::now() < deadline && sqlstate(&e) == "53300" => {
                std::thread::sleep(Duration::from_millis(50))
            }
            Err(e) => panic!("no room after a client left: {e}"),
        }
    };
    newcomer.simple_query("select 3").unwrap();
}

/// Clients that wait in the supervisor for a worker that never becomes ready are told
/// why when `startup_timeout` passes, as PostgreSQL tells a client it cannot serve yet.
#[test]
fn a_client_no_worker_takes_gets_57p03() {
    let dir = tempfile::tempdir().unwrap();
    let port = mallard_harness::free_port();
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_mallard"))
        .args(["serve", "--storage", "memory", "--workers", "1", "--listen", &format!("127.0.0.1:{port}")])
        .arg("--data-dir")
        .arg(dir.path())
        // Every worker fails to open DuckDB, so none is ever ready.
        .env("MALLARD_MEMORY_LIMIT", "plenty")
        .env("MALLARD_STARTUP_TIMEOUT", "1s")
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("start mallard");
    let conn = format!("host=127.0.0.1 port={port} user=tester dbname=mallard connect_timeout=10");
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    let err = loop {
        match postgres::Client::connect(&conn, postgres::NoTls) {
            Ok(_) => panic!("a server without ready workers served a client"),
            Err(e) if e.as_db_error().is_some() => break e,
            // The listener may not be bound yet.
            Err(e) => {
                assert!(std::time::Instant::now() < deadline, "no answer: {e}");
                std::thread::sleep(Duration::from_millis(50));
            }
        }
    };
    let _ = child.kill();
    let _ = child.wait();
    assert_eq!(sqlstate(&err), "57P03", "{err}");
    assert_eq!(err.as_db_error().unwrap().message(), "the database system is not yet accepting connections");
}
