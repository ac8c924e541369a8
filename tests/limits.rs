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
