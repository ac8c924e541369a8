//! Issue 3's acceptance with real client drivers: the scripts in `tests/drivers/` (psycopg 3,
//! asyncpg, pgjdbc) run against a PostgreSQL 15 first, which proves the script's own
//! expectations, and then against mallard (storage `duckdb`, one read-write worker).
//!
//! Issue 15's notifications: `*_notify*` scripts (psycopg 3, asyncpg, pgjdbc,
//! node-postgres) listen on one connection and notify from a second one; against mallard
//! (storage `memory`, two workers) the two connections are on different workers.
//!
//! `.ci/run` installs the drivers; a missing one fails the test and says so.

use mallard_harness::drivers;
use mallard_harness::postgres_server;

use std::process::Command;
use std::time::Duration;

use mallard_harness::{Options, Server};
use postgres_server::Postgres;

const BIN: &str = env!("CARGO_BIN_EXE_mallard");
const LIMIT: Duration = Duration::from_secs(180);

/// Runs the script made by `script` against PostgreSQL 15, then against mallard.
fn reference_then_mallard(name: &str, script: impl Fn() -> Command) {
    let server = Server::start(BIN, Options { storage: "duckdb", workers: 1, ..Options::default() });
    reference_then(name, script, &server);
}

/// Runs a notification script against PostgreSQL 15, then against mallard with two
/// workers. The script connects its listener first and its sender next; with no other
/// session open, least-connections routing puts them on different workers.
fn reference_then_two_workers(name: &str, script: impl Fn() -> Command) {
    let server = Server::start(BIN, Options { storage: "memory", workers: 2, ..Options::default() });
    server.ready_workers(2, Duration::from_secs(30));
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    while server.typed_status().workers.iter().any(|w| w.sessions > 0 || w.in_flight > 0) {
        assert!(std::time::Instant::now() < deadline, "the readiness probe's session did not end");
        std::thread::sleep(Duration::from_millis(20));
    }
    reference_then(name, script, &server);
}

fn reference_then(name: &str, script: impl Fn() -> Command, server: &Server) {
    let reference = {
        let pg = Postgres::start();
        let target = format!("host=127.0.0.1 port={} user={} dbname={}", pg.port, pg.user, pg.database);
        drivers::run(script(), &target, LIMIT)
    };
    assert!(
        reference.passed,
        "{name} failed against the PostgreSQL 15 reference, so the script itself is wrong:\n{}",
        reference.output
    );
    let run = drivers::run(script(), &server.conn_str(), LIMIT);
    assert!(
        run.passed,
        "{name} failed against mallard (it passed against PostgreSQL 15):\n{}\n--- mallard log (tail):\n{}",
        run.output,
        tail(&server.logs(), 60)
    );
    println!("{}", run.output);
}

fn tail(text: &str, lines: usize) -> String {
    let all: Vec<&str> = text.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}

#[test]
fn psycopg() {
    reference_then_mallard("psycopg_check.py", || drivers::python_script("psycopg_check.py"));
}

#[test]
fn asyncpg() {
    reference_then_mallard("asyncpg_check.py", || drivers::python_script("asyncpg_check.py"));
}

#[test]
fn pgjdbc() {
    reference_then_mallard("JdbcCheck.java", || drivers::java_source("JdbcCheck.java"));
}

#[test]
fn psycopg_notify() {
    reference_then_two_workers("psycopg_notify.py", || drivers::python_script("psycopg_notify.py"));
}

#[test]
fn asyncpg_notify() {
    reference_then_two_workers("asyncpg_notify.py", || drivers::python_script("asyncpg_notify.py"));
}

#[test]
fn pgjdbc_notify() {
    reference_then_two_workers("JdbcNotify.java", || drivers::java_source("JdbcNotify.java"));
}

#[test]
fn node_postgres_notify() {
    reference_then_two_workers("node_notify.js", || drivers::node_script("node_notify.js"));
}
