//! Reloads that end no session (issue 16): pooled connections that never disconnect keep
//! running across reloads, in each storage mode, with their backend pid, settings and
//! prepared statements, and cancel still reaches them; a session in a transaction block
//! moves at its end, one holding advisory locks moves with them; a session that cannot
//! move (a temporary table) drains as before.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Barrier};
use std::thread::{self, sleep};
use std::time::{Duration, Instant};

use mallard_harness::{sqlstate, Options, Server};
use postgres::{Client, NoTls};

const BIN: &str = env!("CARGO_BIN_EXE_mallard");
/// Long enough that a session left to drain would show in the reload's time.
const DRAIN: &str = "20s";

fn start(storage: &'static str, workers: u32, drain: &str) -> Server {
    let env = vec![("MALLARD_DRAIN_TIMEOUT".into(), drain.into())];
    Server::start(BIN, Options { storage, workers, env, ..Options::default() })
}

/// Runs `mallard reload` and returns how long it took.
fn reload(server: &Server) -> Duration {
    let started = Instant::now();
    let out = server.admin("reload", &[]);
    assert!(
        out.status.success(),
        "reload failed: {}{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
        server.logs()
    );
    started.elapsed()
}

fn one(client: &mut Client, sql: &str) -> String {
    let messages = client.simple_query(sql).unwrap_or_else(|e| panic!("{sql}: {} {e}", sqlstate(&e)));
    first_value(&messages)
}

/// The first column of the first row; empty if there is none.
fn first_value(messages: &[postgres::SimpleQueryMessage]) -> String {
    messages
        .iter()
        .find_map(|m| match m {
            postgres::SimpleQueryMessage::Row(r) => Some(r.get(0).unwrap_or("").to_owned()),
            _ => None,
        })
        .unwrap_or_default()
}

/// A pooled connection: it sets a few settings and prepares a statement once, then
/// runs the statement every 20 ms until told to stop, checking its answer and that
/// its pid and settings never change. Returns the statements run and any error.
fn pooled(conn: &str, i: usize, stop: &AtomicBool, ready: &Barrier) -> Result<u64, String> {
    let mut client = Client::connect(conn, NoTls).map_err(|e| format!("connect: {e}"))?;
    client
        .batch_execute(&format!(
            "set application_name = 'pool-{i}'; set statement_timeout = '{}ms'; \
             set intervalstyle = 'sql_standard'; set myapp.tag = 'tag-{i}'",
            12_345 + i
        ))
        .map_err(|e| format!("set: {e}"))?;
    let pid = one(&mut client, "select pg_backend_pid()");
    let settings =
        "select current_setting('application_name') || ' ' || current_setting('statement_timeout') \
                    || ' ' || current_setting('intervalstyle') || ' ' || current_setting('myapp.tag')";
    let expected = one(&mut client, settings);
    assert_eq!(expected, format!("pool-{i} {}ms sql_standard tag-{i}", 12_345 + i));
    let statement =
        client.prepare("select $1::int * 2, pg_backend_pid()").map_err(|e| format!("prepare: {e}"))?;
    ready.wait();
    let mut runs = 0u64;
    let mut n = 0i32;
    while !stop.load(Ordering::Relaxed) {
        n += 1;
        let row =
            client.query_one(&statement, &[&n]).map_err(|e| format!("run {n}: {} {e}", sqlstate(&e)))?;
        if row.get::<_, i32>(0) != 2 * n || row.get::<_, i32>(1).to_string() != pid {
            return Err(format!("run {n}: got {} from pid {}", row.get::<_, i32>(0), row.get::<_, i32>(1)));
        }
        if n % 10 == 0 {
            let now = client.simple_query(settings).map_err(|e| format!("settings: {e}"))?;
            let shown = first_value(&now);
            if shown != expected {
                return Err(format!("settings changed: {shown:?}, not {expected:?}"));
            }
        }
        runs += 1;
        sleep(Duration::from_millis(20));
    }
    // The key the client got at connect still cancels a statement on whichever worker
    // serves the session now.
    let token = client.cancel_token();
    let canceller = thread::spawn(move || {
        sleep(Duration::from_millis(300));
        token.cancel_query(NoTls)
    });
    let long = "select count(*) from range(300000) a, range(10000) b where a.range + b.range = 7";
    match client.simple_query(long) {
        Err(e) if sqlstate(&e) == "57014" => {}
        other => return Err(format!("the cancel did not reach the moved session: {other:?}")),
    }
    canceller.join().unwrap().map_err(|e| format!("cancel request: {e}"))?;
    Ok(runs)
}

fn pooled_sessions_survive(server: &Server, storage: &str, reloads: usize) {
    const CLIENTS: usize = 8;
    let stop = Arc::new(AtomicBool::new(false));
    let ready = Arc::new(Barrier::new(CLIENTS + 1));
    let handles: Vec<_> = (0..CLIENTS)
        .map(|i| {
            let (conn, stop, ready) = (server.conn_str(), Arc::clone(&stop), Arc::clone(&ready));
            thread::spawn(move || pooled(&conn, i, &stop, &ready))
        })
        .collect();
    ready.wait();
    let mut slowest = Duration::ZERO;
    for _ in 0..reloads {
        slowest = slowest.max(reload(server));
        sleep(Duration::from_millis(300));
    }
    sleep(Duration::from_millis(500));
    stop.store(true, Ordering::Relaxed);
    let results: Vec<_> = handles.into_iter().map(|h| h.join().expect("client thread")).collect();
    let errors: Vec<&String> = results.iter().filter_map(|r| r.as_ref().err()).collect();
    assert!(errors.is_empty(), "{storage}: pooled sessions failed: {errors:?}\n{}", server.logs());
    // Every session moved at every reload: none waited for the 20 s drain.
    let moved = server.logs().matches("session moved to the new generation").count();
    assert!(
        moved >= CLIENTS * reloads,
        "{storage}: {moved} moves for {CLIENTS} sessions and {reloads} reloads"
    );
    assert!(slowest < Duration::from_secs(10), "{storage}: a reload took {slowest:?}");
    let counted = server.status()["totals"]["sessions_moved"].as_u64().expect("totals.sessions_moved");
    assert!(counted >= moved as u64, "{storage}: status counts {counted} moves, the log {moved}");
}

#[test]
fn pooled_sessions_move_across_reloads_in_memory_mode() {
    pooled_sessions_survive(&start("memory", 2, DRAIN), "memory", 10);
}

#[test]
fn pooled_sessions_move_across_reloads_in_duckdb_read_write_mode() {
    pooled_sessions_survive(&start("duckdb", 1, DRAIN), "duckdb", 10);
}

#[test]
fn pooled_sessions_move_across_reloads_in_duckdb_read_only_mode() {
    let (_dir, server) = read_only_server();
    let mut reader = server.connect();
    assert_eq!(one(&mut reader, "select count(*) from t"), "1");
    pooled_sessions_survive(&server, "duckdb read-only", 10);
    assert_eq!(one(&mut reader, "select count(*) from t"), "1");
}

/// A `duckdb` read-only server of two workers on a file with one table `t` of one row
/// (the file must exist before a read-only server opens it), and the directory it is in.
fn read_only_server() -> (tempfile::TempDir, Server) {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    {
        let mut writer = Server::start(
            BIN,
            Options { storage: "duckdb", data_dir: Some(data.clone()), ..Options::default() },
        );
        writer.connect().batch_execute("create table t (x int); insert into t values (1)").unwrap();
        writer.stop();
    }
    let server = Server::start(
        BIN,
        Options {
            storage: "duckdb",
            workers: 2,
            data_dir: Some(data),
            env: vec![
                ("MALLARD_READ_ONLY".into(), "true".into()),
                ("MALLARD_DRAIN_TIMEOUT".into(), DRAIN.into()),
            ],
            ..Options::default()
        },
    );
    (dir, server)
}

#[test]
fn a_transaction_block_finishes_on_the_old_worker_then_moves() {
    let server = start("duckdb", 1, DRAIN);
    let mut client = server.connect();
    client.batch_execute("create table t (x int)").unwrap();
    let pid = one(&mut client, "select pg_backend_pid()");
    let started = Instant::now();
    thread::scope(|s| {
        let mut tx = client.transaction().unwrap();
        tx.execute("insert into t values (1)", &[]).unwrap();
        let reloading = s.spawn(|| reload(&server));
        // The block goes on, on the worker that holds the file, while the reload waits.
        sleep(Duration::from_secs(1));
        tx.execute("insert into t values (2)", &[]).unwrap();
        tx.commit().unwrap();
        reloading.join().unwrap();
    });
    assert!(started.elapsed() < Duration::from_secs(10), "the reload waited for the drain");
    assert_eq!(
        one(&mut client, "select count(*)::text || ' ' || pg_backend_pid() from t"),
        format!("2 {pid}")
    );
}

#[test]
fn sessions_that_cannot_move_drain_as_before() {
    let server = start("memory", 1, "2s");
    let mut temp = server.connect();
    temp.batch_execute("create temporary table scratch (x int)").unwrap();
    let mut plain = server.connect();
    let plain_pid = one(&mut plain, "select pg_backend_pid()");
    reload(&server);
    sleep(Duration::from_secs(3));
    let err =
        temp.simple_query("select 1").expect_err("the session with a temporary table outlived its drain");
    assert!(err.is_closed() || sqlstate(&err) == "57P01", "{err}");
    assert_eq!(one(&mut plain, "select pg_backend_pid()"), plain_pid);
    let logs = server.logs();
    assert!(logs.contains("temporary tables, views or sequences"), "{logs}");
    let deadline = Instant::now() + Duration::from_secs(10);
    while server.status()["totals"]["sessions_terminated"].as_u64() != Some(1) {
        assert!(Instant::now() < deadline, "status does not count the session the drain ended");
        sleep(Duration::from_millis(100));
    }
}

/// Session advisory locks belong to the server: a session moves with its locks held
/// all along, and can release them on its new worker.
#[test]
fn advisory_locks_move_with_their_session_and_stay_held() {
    let server = start("memory", 2, DRAIN);
    let mut locker = server.connect();
    one(&mut locker, "select pg_advisory_lock(42)");
    one(&mut locker, "select pg_advisory_lock_shared(7, 8)");
    one(&mut locker, "select pg_advisory_lock(42)");
    let pid = one(&mut locker, "select pg_backend_pid()");
    reload(&server);
    let mut other = server.connect();
    for _ in 0..3 {
        assert_eq!(
            one(&mut other, "select pg_try_advisory_lock(42)"),
            "f",
            "the moved session's lock was lost"
        );
        assert_eq!(one(&mut other, "select pg_try_advisory_lock(7, 8)"), "f");
        assert_eq!(one(&mut other, "select pg_try_advisory_lock_shared(7, 8)"), "t");
        one(&mut other, "select pg_advisory_unlock_shared(7, 8)");
        reload(&server);
    }
    assert_eq!(one(&mut locker, "select pg_backend_pid()"), pid);
    // It did move (a session that stayed on its draining worker would pass the checks
    // above too): four reloads moved it, and `other` from the second on.
    let moved = server.status()["totals"]["sessions_moved"].as_u64().unwrap_or(0);
    assert!(moved >= 7, "sessions moved across 4 reloads: {moved}");
    // Taken twice, released twice, as before the moves.
    assert_eq!(one(&mut locker, "select pg_advisory_unlock(42)"), "t");
    assert_eq!(one(&mut other, "select pg_try_advisory_lock(42)"), "f");
    assert_eq!(one(&mut locker, "select pg_advisory_unlock(42)"), "t");
    assert_eq!(one(&mut locker, "select pg_advisory_unlock(42)"), "f");
    assert_eq!(one(&mut other, "select pg_try_advisory_lock(42)"), "t");
    assert_eq!(one(&mut locker, "select pg_advisory_unlock_shared(7, 8)"), "t");
    assert_eq!(one(&mut other, "select pg_try_advisory_lock(7, 8)"), "t");
}

#[test]
fn a_moved_statement_whose_result_changed_is_refused_as_postgres_refuses_a_cached_plan() {
    let server = start("duckdb", 1, DRAIN);
    let mut client = server.connect();
    client.batch_execute("create table t (a int)").unwrap();
    let statement = client.prepare("select * from t").unwrap();
    // Another session changes the table's shape, then the reload prepares it again.
    server.connect().batch_execute("alter table t add column b text").unwrap();
    reload(&server);
    let err = client.query(&statement, &[]).expect_err("a stale statement ran");
    assert_eq!(sqlstate(&err), "0A000", "{err}");
    let message = err.as_db_error().map(|e| e.message().to_owned()).unwrap_or_default();
    assert_eq!(message, "cached plan must not change result type");
    // The session goes on, and the statement can be prepared again.
    let again = client.prepare("select * from t").unwrap();
    assert_eq!(client.query(&again, &[]).unwrap().len(), 0);
}

/// pgbench's TPC-B with prepared statements and its connections held, across reloads:
/// no failed transaction, no aborted client, and the books balance.
#[test]
fn pgbench_prepared_tpcb_across_reloads_fails_nothing() {
    let server = start("duckdb", 1, DRAIN);
    let port = server.port.to_string();
    let pgbench = |args: &[&str]| {
        std::process::Command::new("pgbench")
            .args(["-h", "127.0.0.1", "-p", &port, "-U", "tester"])
            .args(args)
            .arg("mallard")
            .env("PGCONNECT_TIMEOUT", "10")
            .output()
            .expect("run pgbench")
    };
    // Scale 10: at scale 1 all eight clients update one branch row, and DuckDB's
    // optimistic conflicts alone exhaust 100 tries for a transaction now and then.
    let init = pgbench(&["-i", "-s", "10", "-q"]);
    assert!(init.status.success(), "pgbench -i: {}", String::from_utf8_lossy(&init.stderr));
    let run = thread::scope(|s| {
        let run = s.spawn(|| {
            pgbench(&["-n", "-M", "prepared", "-c", "8", "-j", "2", "-T", "15", "--max-tries=100"])
        });
        for _ in 0..5 {
            sleep(Duration::from_secs(2));
            reload(&server);
        }
        run.join().unwrap()
    });
    let out = String::from_utf8_lossy(&run.stdout).into_owned() + &String::from_utf8_lossy(&run.stderr);
    assert!(run.status.success(), "pgbench failed across reloads:\n{out}\n{}", server.logs());
    assert!(out.contains("number of failed transactions: 0 "), "{out}");
    assert!(!out.contains("aborted"), "{out}");
    let mut client = server.connect();
    let row = client
        .query_one(
            "select (select sum(abalance)::bigint from pgbench_accounts), \
             (select sum(tbalance)::bigint from pgbench_tellers), \
             (select sum(bbalance)::bigint from pgbench_branches), \
             (select sum(delta)::bigint from pgbench_history)",
            &[],
        )
        .unwrap();
    let sums: Vec<i64> = (0..4).map(|i| row.get::<_, Option<i64>>(i).unwrap_or(0)).collect();
    assert!(sums.iter().all(|s| *s == sums[0]), "the books do not balance: {sums:?}");
    let moved = server.status()["totals"]["sessions_moved"].as_u64().unwrap();
    assert!(moved >= 8 * 5, "pgbench's 8 connections moved {moved} times over 5 reloads\n{out}");
}

/// A driver script (`tests/drivers/`) run against PostgreSQL 15 without reloads, which
/// proves its expectations, then against mallard in each storage mode while it reloads
/// ten times (the script runs `RELOAD_COMMAND`): `connections` pooled sessions, each
/// moved at every reload.
fn driver_across_reloads(name: &str, script: impl Fn() -> std::process::Command, connections: u64) {
    use mallard_harness::{drivers, postgres_server::Postgres};
    const RELOADS: u64 = 10;
    let limit = Duration::from_secs(240);
    let reference = {
        let pg = Postgres::start();
        let target = format!("host=127.0.0.1 port={} user={} dbname={}", pg.port, pg.user, pg.database);
        drivers::run(script(), &target, limit)
    };
    assert!(reference.passed, "{name} fails against PostgreSQL 15:\n{}", reference.output);
    let (_dir, read_only) = read_only_server();
    for (mode, server) in [
        ("memory", &start("memory", 2, DRAIN)),
        ("duckdb", &start("duckdb", 1, DRAIN)),
        ("duckdb read-only", &read_only),
    ] {
        let mut with_reloads = script();
        with_reloads
            .env("RELOAD_COMMAND", format!("{BIN} reload --data-dir {}", server.data_dir.display()))
            .env("RELOADS", RELOADS.to_string());
        let run = drivers::run(with_reloads, &server.conn_str(), limit);
        assert!(run.passed, "{name} across reloads in {mode} mode:\n{}\n{}", run.output, server.logs());
        let moved = server.status()["totals"]["sessions_moved"].as_u64().unwrap();
        assert!(
            moved >= connections * RELOADS,
            "{name} in {mode} mode: {connections} pooled connections moved {moved} times over {RELOADS} reloads"
        );
    }
}

/// Ten psycopg connections and an asyncpg pool of ten, never closed, across ten reloads
/// in each storage mode (`tests/drivers/pools_across_reloads.py`): no error, the same
/// pids and settings, prepared statements in use, cancel.
#[test]
fn python_driver_pools_keep_working_across_reloads() {
    driver_across_reloads(
        "pools_across_reloads.py",
        || mallard_harness::drivers::python_script("pools_across_reloads.py"),
        20,
    );
}

/// A plain pgjdbc pool of five with server-side prepared statements across ten reloads
/// in each storage mode (`tests/drivers/JdbcPoolReloads.java`).
#[test]
fn pgjdbc_pool_keeps_working_across_reloads() {
    driver_across_reloads(
        "JdbcPoolReloads.java",
        || mallard_harness::drivers::java_source("JdbcPoolReloads.java"),
        5,
    );
}
