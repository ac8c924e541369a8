//! A session that ends cleanly hands its DuckDB connection to the worker's next session
//! (a short connection then skips DuckDB's connect and the statement that sets its
//! search_path). Nothing of the session that used it may reach the next one: settings,
//! temporary tables, prepared statements, advisory locks, an open transaction, the
//! catalog's source, a cancel key. One worker, so that each next session takes the
//! connection the last one left.

use std::time::Duration;

use mallard_harness::{sqlstate, Options, Server};
use postgres::{Client, NoTls};

const BIN: &str = env!("CARGO_BIN_EXE_mallard");

fn text(client: &mut Client, sql: &str) -> String {
    client.query_one(sql, &[]).unwrap_or_else(|e| panic!("{sql}: {e}")).get(0)
}

fn int(client: &mut Client, sql: &str) -> i32 {
    client.query_one(sql, &[]).unwrap_or_else(|e| panic!("{sql}: {e}")).get(0)
}

/// Runs `left` in one session, ends it, and returns a new session.
fn after(server: &Server, left: &[&str]) -> Client {
    let mut first = server.connect();
    for sql in left {
        first.batch_execute(sql).unwrap_or_else(|e| panic!("{sql}: {e}"));
    }
    drop(first);
    server.connect()
}

/// A server of one worker with a table `t` in `public` (holding 2) and one in `s1`
/// (holding 1), and the session that made them.
fn one_worker_with_two_tables() -> (Server, Client) {
    let server = Server::start(BIN, Options::default());
    server.ready_workers(1, Duration::from_secs(60));
    let mut setup = server.connect();
    setup
        .batch_execute(
            "create schema s1; create table s1.t (x int); insert into s1.t values (1);
             create table t (x int); insert into t values (2);",
        )
        .unwrap();
    (server, setup)
}

fn reused(server: &Server) -> usize {
    server
        .logs()
        .lines()
        .filter(|l| l.contains("session started") && l.contains("reused_connection=true"))
        .count()
}

/// Whether the last session to start took a kept connection.
fn last_session_reused(server: &Server) -> bool {
    let logs = server.logs();
    let started = logs.lines().rfind(|l| l.contains("session started")).expect("a session started");
    started.contains("reused_connection=true")
}

#[test]
fn the_next_session_finds_nothing_of_the_last_one() {
    let (server, setup) = one_worker_with_two_tables();
    drop(setup);

    // Settings: the next session has the defaults, in DuckDB too (name resolution and
    // the time zone timestamps are shown in).
    let mut next =
        after(&server, &["set search_path = s1, public", "set timezone = 'Asia/Tokyo'", "select * from t"]);
    assert_eq!(text(&mut next, "show search_path"), "\"$user\", public");
    assert_eq!(int(&mut next, "select x from t"), 2);
    assert_eq!(text(&mut next, "show timezone"), "UTC");
    assert_eq!(
        text(&mut next, "select timestamptz '2024-01-01 09:00:00+09'::text"),
        "2024-01-01 00:00:00+00"
    );
    drop(next);

    // The same settings again: taken as they are, and still right.
    let mut next = after(&server, &["select 1"]);
    assert_eq!(int(&mut next, "select x from t"), 2);
    assert_eq!(
        text(&mut next, "select timestamptz '2024-01-01 09:00:00+09'::text"),
        "2024-01-01 00:00:00+00"
    );
    drop(next);
    let options = "options='-c search_path=s1 -c TimeZone=Asia/Tokyo'";
    let mut next = Client::connect(&format!("{} {options}", server.conn_str()), NoTls).unwrap();
    assert_eq!(int(&mut next, "select x from t"), 1);
    assert_eq!(
        text(&mut next, "select timestamptz '2024-01-01 00:00:00+00'::text"),
        "2024-01-01 09:00:00+09"
    );
    drop(next);

    // Temporary tables, prepared statements, advisory locks.
    let mut next = after(&server, &["create temp table tmp (x int)", "insert into tmp values (1)"]);
    let e = next.query("select * from tmp", &[]).unwrap_err();
    assert_eq!(sqlstate(&e), "42P01", "{e}");
    drop(next);
    let mut next = after(&server, &["prepare p as select 42"]);
    let e = next.query("execute p", &[]).unwrap_err();
    assert_eq!(sqlstate(&e), "26000", "{e}");
    drop(next);
    // The first session's end may not be done when the next one asks (as with
    // PostgreSQL's backends): its lock goes once it is.
    let mut next = after(&server, &["select pg_advisory_lock(7)"]);
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while !next.query_one("select pg_try_advisory_lock(7)", &[]).unwrap().get::<_, bool>(0) {
        assert!(std::time::Instant::now() < deadline, "the lock of a session that ended stays held");
        std::thread::sleep(Duration::from_millis(20));
    }
    drop(next);

    // A client that goes in the middle of a block: its transaction is not the next
    // session's.
    let mut first = server.connect();
    first.batch_execute("begin; insert into t values (3)").unwrap();
    drop(first);
    let mut next = server.connect();
    assert_eq!(int(&mut next, "select count(*)::int from t where x = 3"), 0);
    next.batch_execute("begin; insert into t values (4); commit").unwrap();
    assert_eq!(int(&mut next, "select count(*)::int from t where x = 4"), 1);
    drop(next);

    // The catalog: a session that read it from the worker's snapshot, then one that
    // changes it and reads it.
    let mut next = after(&server, &["select count(*) from pg_class"]);
    next.batch_execute("create table z (x int)").unwrap();
    assert_eq!(int(&mut next, "select count(*)::int from pg_class where relname = 'z'"), 1);
    drop(next);

    assert!(reused(&server) >= 5, "sessions should have taken kept connections:\n{}", server.logs());
}

/// A cancel request with the key of a session that has ended does not reach the next
/// session on its connection.
#[test]
fn a_late_cancel_does_not_reach_the_next_session() {
    let server = Server::start(BIN, Options::default());
    server.ready_workers(1, Duration::from_secs(60));
    let first = server.connect();
    let token = first.cancel_token();
    drop(first);
    let mut next = server.connect();
    let before = reused(&server);
    assert!(before >= 1, "the second session should have taken the first one's connection");
    // About 2 s here; the cancel goes while it runs.
    let running = std::thread::spawn(move || {
        let started = std::time::Instant::now();
        let count = next
            .query_one("select count(*) from range(600000) a, range(1000) b where a.range + b.range = 7", &[])
            .map(|r| r.get::<_, i64>(0));
        (count, started.elapsed())
    });
    std::thread::sleep(Duration::from_millis(300));
    token.cancel_query(NoTls).expect("the cancel request goes out");
    let (count, took) = running.join().unwrap();
    assert_eq!(count.expect("not cancelled"), 8);
    assert!(took > Duration::from_millis(300), "the query ended before the cancel went: {took:?}");
}

/// The statements a session prepared for its simple queries stay with its connection
/// for the next session, which uses them only where they are still right: under its own
/// settings, over the catalog as it is now, and for the same user.
#[test]
fn the_next_session_takes_up_the_statements_of_the_last_one_where_still_right() {
    let (server, mut watch) = one_worker_with_two_tables();
    let run = |watch: &mut Client, extra: &str| one_session(&server, watch, extra, "select x from t");

    run(&mut watch, "");
    assert_eq!(run(&mut watch, ""), ("2".to_owned(), 1), "the statement should be taken up");
    // Planned under the default search_path, and not used under another.
    let search_path = "options='-c search_path=s1'";
    assert_eq!(run(&mut watch, search_path), ("1".to_owned(), 1));
    assert_eq!(run(&mut watch, ""), ("2".to_owned(), 1));

    // Another session changes the table while the statement waits with the connection.
    watch.batch_execute("drop table t; create table t (x text); insert into t values ('new')").unwrap();
    assert_eq!(run(&mut watch, "").0, "new");

    // Another user starts without them.
    assert_eq!(run(&mut watch, "user=other"), ("new".to_owned(), 0));
}

/// Runs `sql` in a session of its own (with `extra` connection parameters) and waits
/// for the session to end: its first value, and how many kept statements the session
/// took up from the connection's last session.
fn one_session(server: &Server, watch: &mut Client, extra: &str, sql: &str) -> (String, usize) {
    let mut client = Client::connect(&format!("{} {extra}", server.conn_str()), NoTls).unwrap();
    let value = client
        .simple_query(sql)
        .unwrap()
        .into_iter()
        .find_map(|m| match m {
            postgres::SimpleQueryMessage::Row(row) => row.get(0).map(str::to_owned),
            _ => None,
        })
        .unwrap_or_else(|| panic!("{sql}: no row"));
    let logs = server.logs();
    let started = logs.lines().rfind(|l| l.contains("session started")).expect("a session started");
    let taken_up = started
        .split_whitespace()
        .find_map(|field| field.strip_prefix("reused_plans="))
        .unwrap_or_else(|| panic!("no reused_plans in {started}"))
        .parse()
        .unwrap();
    drop(client);
    // Its connection goes to the next session once its row is gone from the session
    // table (and a moment after).
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while int(watch, "select count(*)::int from pg_stat_activity") > 1 {
        assert!(std::time::Instant::now() < deadline, "the session does not end");
        std::thread::sleep(Duration::from_millis(10));
    }
    std::thread::sleep(Duration::from_millis(50));
    (value, taken_up)
}

/// Every DuckDB connection starts with the profiling metrics cut to what `EXPLAIN
/// ANALYZE` shows and profiling off: `EXPLAIN ANALYZE` still shows each operator's
/// rows and time, in a new connection and in a kept one, and no other statement is
/// profiled (DuckDB would print each profile to the worker's stdout, the log).
#[test]
fn explain_analyze_shows_rows_and_times_and_nothing_else_is_profiled() {
    let (server, setup) = one_worker_with_two_tables();
    let explain = |client: &mut Client| -> String {
        let rows = client.query("explain analyze select count(*) from range(1000)", &[]).unwrap();
        rows.iter().map(|row| row.get::<_, String>(1)).collect()
    };
    // A new connection: sessions held open until one did not take a kept one.
    let mut held = vec![];
    let new = loop {
        let mut client = server.connect();
        let plan = explain(&mut client);
        if !last_session_reused(&server) {
            break plan;
        }
        held.push(client);
        assert!(held.len() < 20, "every session took a kept connection:\n{}", server.logs());
    };
    drop(held);
    drop(setup);
    // A kept connection goes to a session once the last one's row is gone: sessions
    // until one took it.
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    let kept = loop {
        let mut client = server.connect();
        let plan = explain(&mut client);
        drop(client);
        if last_session_reused(&server) {
            break plan;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "no session took a kept connection:\n{}",
            server.logs()
        );
        std::thread::sleep(Duration::from_millis(20));
    };
    for (which, plan) in [("new", new), ("kept", kept)] {
        for shown in ["Total Time:", "UNGROUPED_AGGREGATE", "TABLE_SCAN", "1,000 rows", "1 row", "0.00s"] {
            assert!(plan.contains(shown), "{which} connection: no {shown:?} in\n{plan}");
        }
    }
    let mut client = after(&server, &[]);
    assert_eq!(int(&mut client, "select count(*)::int from t"), 1);
    drop(client);
    assert!(
        !server.logs().contains("Query Profiling Information"),
        "a statement was profiled into the log:\n{}",
        server.logs()
    );
}
