//! Advisory locks between sessions, against a real PostgreSQL 15: the same scenario runs
//! on both servers and must answer the same. On mallard the two sessions are on
//! different workers (`--storage memory --workers 4`), and a crashed worker's locks go.

use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

use mallard_harness::postgres_server::Postgres;
use mallard_harness::{Options, Server};
use postgres::{Client, NoTls};

fn connect(conn_str: &str) -> Client {
    Client::connect(conn_str, NoTls).unwrap_or_else(|e| panic!("connect {conn_str}: {e}"))
}

fn boolean(client: &mut Client, sql: &str) -> bool {
    client.query_one(sql, &[]).unwrap_or_else(|e| panic!("{sql}: {e}")).get(0)
}

/// The pid of the process serving the session: mallard's worker, PostgreSQL's backend
/// (PostgreSQL has no `worker_pid` column).
fn pid(client: &mut Client) -> i32 {
    let worker = "select worker_pid from pg_stat_activity where pid = pg_backend_pid()";
    match client.query_one(worker, &[]) {
        Ok(row) => row.get(0),
        Err(_) => client.query_one("select pg_backend_pid()", &[]).expect("pg_backend_pid").get(0),
    }
}

/// Polls `sql` (a boolean) on `client` until it is true, for up to two seconds: a
/// session's locks go when its server process notices the disconnection.
fn eventually(client: &mut Client, sql: &str) -> bool {
    let deadline = Instant::now() + Duration::from_secs(2);
    loop {
        if boolean(client, sql) {
            return true;
        }
        if Instant::now() > deadline {
            return false;
        }
        thread::sleep(Duration::from_millis(20));
    }
}

/// Runs `sql` and writes down what it answered: its first column's values, or its
/// SQLSTATE.
fn step(seen: &mut Vec<String>, who: &str, client: &mut Client, sql: &str) {
    let answer = match client.simple_query(sql) {
        Ok(messages) => messages
            .iter()
            .filter_map(|m| match m {
                postgres::SimpleQueryMessage::Row(r) => {
                    Some((0..r.len()).map(|i| r.get(i).unwrap_or("NULL")).collect::<Vec<_>>().join("|"))
                }
                _ => None,
            })
            .collect::<Vec<_>>()
            .join(","),
        Err(e) => format!("ERROR {}", e.code().map_or("?", |c| c.code())),
    };
    seen.push(format!("{who}: {sql} -> {answer}"));
}

/// Two sessions (on two workers, where that means anything) and what they see.
fn scenario(conn_str: &str) -> Vec<String> {
    let mut a = connect(conn_str);
    let mut b = connect(conn_str);
    let a_pid = pid(&mut a);
    for _ in 0..20 {
        if pid(&mut b) != a_pid {
            break;
        }
        b = connect(conn_str);
    }
    let mut seen = Vec::new();
    // Exclusive locks exclude others, count their holds, and are released hold by hold.
    step(&mut seen, "a", &mut a, "select pg_advisory_lock(10)");
    step(&mut seen, "b", &mut b, "select pg_try_advisory_lock(10)");
    step(&mut seen, "b", &mut b, "select pg_try_advisory_lock_shared(10)");
    step(&mut seen, "a", &mut a, "select pg_advisory_lock(10)");
    step(&mut seen, "a", &mut a, "select pg_advisory_unlock(10)");
    step(&mut seen, "b", &mut b, "select pg_try_advisory_lock(10)");
    step(&mut seen, "a", &mut a, "select pg_advisory_unlock(10)");
    step(&mut seen, "b", &mut b, "select pg_try_advisory_lock(10)");
    step(&mut seen, "b", &mut b, "select pg_advisory_unlock(10)");
    step(&mut seen, "a", &mut a, "select pg_advisory_unlock(10)");
    // Shared locks share; a session's own shared lock does not block its exclusive one.
    step(&mut seen, "a", &mut a, "select pg_advisory_lock_shared(20)");
    step(&mut seen, "b", &mut b, "select pg_try_advisory_lock_shared(20)");
    step(&mut seen, "b", &mut b, "select pg_try_advisory_lock(20)");
    step(&mut seen, "a", &mut a, "select pg_try_advisory_lock(20)");
    step(&mut seen, "b", &mut b, "select pg_advisory_unlock_shared(20)");
    step(&mut seen, "a", &mut a, "select pg_try_advisory_lock(20)");
    step(&mut seen, "b", &mut b, "select pg_try_advisory_lock_shared(20)");
    step(&mut seen, "a", &mut a, "select pg_advisory_unlock(20), pg_advisory_unlock_shared(20)");
    step(&mut seen, "b", &mut b, "select pg_try_advisory_lock_shared(20)");
    // (int4, int4) keys are a key space of their own.
    step(&mut seen, "a", &mut a, "select pg_advisory_lock(1, 2)");
    step(&mut seen, "b", &mut b, "select pg_try_advisory_lock(1, 2)");
    step(&mut seen, "b", &mut b, "select pg_try_advisory_lock(4294967298)");
    step(&mut seen, "b", &mut b, "select pg_try_advisory_lock(-1)");
    step(&mut seen, "a", &mut a, "select pg_try_advisory_lock(-1)");
    // Transaction-level locks last until the transaction ends.
    step(&mut seen, "a", &mut a, "begin");
    step(&mut seen, "a", &mut a, "select pg_advisory_xact_lock(30)");
    step(&mut seen, "b", &mut b, "select pg_try_advisory_lock(30)");
    step(&mut seen, "a", &mut a, "commit");
    step(&mut seen, "b", &mut b, "select pg_try_advisory_lock(30)");
    step(&mut seen, "a", &mut a, "select pg_try_advisory_xact_lock(31)");
    step(&mut seen, "b", &mut b, "select pg_try_advisory_lock(31)");
    // pg_advisory_unlock_all releases the session's locks, not others'.
    step(&mut seen, "b", &mut b, "select pg_advisory_unlock_all()");
    step(
        &mut seen,
        "a",
        &mut a,
        "select pg_try_advisory_lock(30), pg_try_advisory_lock(31), pg_try_advisory_lock(-1)",
    );
    step(&mut seen, "a", &mut a, "select pg_advisory_unlock_all()");
    // DISCARD ALL lets go of them too (a pooler's reset).
    step(&mut seen, "b", &mut b, "select pg_advisory_lock(32)");
    step(&mut seen, "a", &mut a, "select pg_try_advisory_lock(32)");
    step(&mut seen, "b", &mut b, "discard all");
    step(&mut seen, "a", &mut a, "select pg_try_advisory_lock(32), pg_advisory_unlock(32)");
    step(&mut seen, "a", &mut a, "select pg_advisory_unlock(99)");
    step(&mut seen, "a", &mut a, "select pg_advisory_lock(null)");

    // A blocked lock waits until the holder lets go.
    step(&mut seen, "a", &mut a, "select pg_advisory_lock(40)");
    let (tx, rx) = mpsc::channel();
    let waiter = thread::spawn(move || {
        let started = Instant::now();
        let r = b.simple_query("select pg_advisory_lock(40)").map(|_| ());
        tx.send(()).ok();
        (b, r, started.elapsed())
    });
    let early = rx.recv_timeout(Duration::from_millis(400)).is_ok();
    seen.push(format!("b: pg_advisory_lock(40) returned before a let go: {early}"));
    step(&mut seen, "a", &mut a, "select pg_advisory_unlock(40)");
    let (mut b, waited, _) = waiter.join().expect("waiter thread");
    seen.push(format!("b: pg_advisory_lock(40) after a let go: {}", waited.is_ok()));

    // A cancelled wait fails with 57014 and takes nothing.
    step(&mut seen, "a", &mut a, "select pg_advisory_lock(50)");
    let cancel = b.cancel_token();
    let canceller = thread::spawn(move || {
        thread::sleep(Duration::from_millis(300));
        cancel.cancel_query(NoTls)
    });
    step(&mut seen, "b", &mut b, "select pg_advisory_lock(50)");
    canceller.join().expect("canceller").expect("cancel request");
    step(&mut seen, "a", &mut a, "select pg_advisory_unlock(50)");

    // A session that ends lets go of everything.
    step(&mut seen, "a", &mut a, "select pg_advisory_lock(60), pg_advisory_lock_shared(61)");
    drop(a);
    seen.push(format!(
        "b: after a ended, 60 is free: {}",
        eventually(&mut b, "select pg_try_advisory_lock(60)")
    ));
    step(&mut seen, "b", &mut b, "select pg_try_advisory_lock(61)");
    seen
}

#[test]
fn advisory_locks_behave_as_in_postgres_across_workers() {
    let pg = Postgres::start();
    let pg_conn = format!("host=127.0.0.1 port={} user={} dbname={}", pg.port, pg.user, pg.database);
    let expected = scenario(&pg_conn);

    let options = Options { workers: 4, ..Options::default() };
    let server = Server::start(env!("CARGO_BIN_EXE_mallard"), options);
    server.ready_workers(4, Duration::from_secs(30));
    let actual = scenario(&server.conn_str());

    let differences: Vec<String> = expected
        .iter()
        .zip(&actual)
        .filter(|(e, a)| e != a)
        .map(|(e, a)| format!("  PostgreSQL: {e}\n  mallard:    {a}"))
        .collect();
    assert!(
        differences.is_empty() && expected.len() == actual.len(),
        "advisory locks differ from PostgreSQL 15:\n{}\nmallard's whole run:\n{}",
        differences.join("\n"),
        actual.join("\n")
    );
    // The scenario does test something: PostgreSQL's own answers include both outcomes.
    assert!(expected.iter().any(|s| s.ends_with("-> f")) && expected.iter().any(|s| s.ends_with("-> t")));
}

#[test]
fn a_crashed_workers_locks_are_released() {
    let server = Server::start(env!("CARGO_BIN_EXE_mallard"), Options { workers: 2, ..Options::default() });
    server.ready_workers(2, Duration::from_secs(30));
    let mut holder = server.connect();
    assert!(boolean(&mut holder, "select pg_try_advisory_lock(77)"));
    let worker = pid(&mut holder);
    let mut other = server.connect();
    for _ in 0..20 {
        if pid(&mut other) != worker {
            break;
        }
        other = server.connect();
    }
    assert_ne!(pid(&mut other), worker, "the two sessions should be on different workers");
    assert!(!boolean(&mut other, "select pg_try_advisory_lock(77)"));
    nix::sys::signal::kill(nix::unistd::Pid::from_raw(worker), nix::sys::signal::Signal::SIGKILL)
        .expect("kill the worker");
    assert!(
        eventually(&mut other, "select pg_try_advisory_lock(77)"),
        "the crashed worker's lock is still held"
    );
}
