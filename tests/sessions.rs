//! One server, not N processes (issue 15): every session has its own backend pid,
//! `pg_stat_activity` and `mallard sessions` list every session of every worker, and
//! `pg_cancel_backend` / `pg_terminate_backend` reach a session whichever worker serves
//! it, with PostgreSQL 15's answers and rules; connections still in startup do not
//! count toward `max_connections`.

use std::collections::{BTreeMap, BTreeSet};
use std::net::TcpStream;
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use mallard_harness::postgres_server::Postgres;
use mallard_harness::{sqlstate, Options, Server};
use postgres::{Client, NoTls};

const BIN: &str = env!("CARGO_BIN_EXE_mallard");

/// About 90 s when nothing stops it.
const LONG: &str = "select count(*) from range(30000000) a, range(1000) b where a.range + b.range = 7";

fn server(workers: u32, env: &[(&str, &str)]) -> Server {
    let env = env.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
    let server = Server::start(BIN, Options { workers, env, ..Options::default() });
    server.ready_workers(workers as usize, Duration::from_secs(60));
    server
}

fn connect_as(conn_str: &str, user: &str) -> Client {
    Client::connect(&format!("{conn_str} user={user}"), NoTls).expect("connect")
}

fn int(client: &mut Client, sql: &str) -> i64 {
    let row = client.query_one(sql, &[]).unwrap_or_else(|e| panic!("{sql}: {e}"));
    row.try_get::<_, i32>(0).map(i64::from).or_else(|_| row.try_get::<_, i64>(0)).expect("an integer")
}

fn flag(client: &mut Client, sql: &str) -> bool {
    client.query_one(sql, &[]).unwrap_or_else(|e| panic!("{sql}: {e}")).get(0)
}

/// `pid -> (state, worker_pid, query)` for every session `pg_stat_activity` lists.
fn activity(client: &mut Client) -> BTreeMap<i32, (Option<String>, i32, String)> {
    client
        .query("select pid, state, worker_pid, query from pg_stat_activity", &[])
        .expect("pg_stat_activity")
        .iter()
        .map(|r| (r.get(0), (r.get(1), r.get(2), r.get(3))))
        .collect()
}

/// Waits until `done` holds for what `pg_stat_activity` shows.
fn wait_for(
    client: &mut Client,
    what: &str,
    done: impl Fn(&BTreeMap<i32, (Option<String>, i32, String)>) -> bool,
) {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let rows = activity(client);
        if done(&rows) {
            return;
        }
        assert!(Instant::now() < deadline, "timed out waiting for {what}: {rows:?}");
        thread::sleep(Duration::from_millis(10));
    }
}

/// Runs the long query on `client` in a thread; its outcome arrives on the receiver.
fn run_long(client: Arc<Mutex<Client>>) -> mpsc::Receiver<Result<(), String>> {
    let (tx, rx) = mpsc::channel();
    thread::spawn(move || {
        let outcome = client.lock().unwrap().simple_query(LONG).map(|_| ()).map_err(|e| sqlstate(&e));
        let _ = tx.send(outcome);
    });
    rx
}

fn outcome(rx: &mpsc::Receiver<Result<(), String>>) -> Result<(), String> {
    rx.recv_timeout(Duration::from_secs(60)).expect("the long query neither ended nor failed in 60 s")
}

/// Acceptance: 40 sessions over 4 workers, some running, some idle, some idle in a
/// transaction (one of them failed): every session lists every one with its state.
#[test]
fn pg_stat_activity_lists_every_session_of_every_worker() {
    let server = server(4, &[]);
    let mut sessions: Vec<(Arc<Mutex<Client>>, &str)> = Vec::new();
    let mut expected: BTreeMap<i32, &str> = BTreeMap::new();
    for i in 0..40 {
        let mut c = server.connect();
        let pid = int(&mut c, "select pg_backend_pid()") as i32;
        let state = match i % 8 {
            0..=2 => "active",
            3 | 4 => "idle",
            5 | 6 => {
                c.batch_execute("begin; select 1").unwrap();
                "idle in transaction"
            }
            _ => {
                c.batch_execute("begin").unwrap();
                assert!(c.batch_execute("select 1/0").is_err());
                "idle in transaction (aborted)"
            }
        };
        assert!(expected.insert(pid, state).is_none(), "pid {pid} given twice");
        sessions.push((Arc::new(Mutex::new(c)), state));
    }
    let runs: Vec<_> =
        sessions.iter().filter(|(_, s)| *s == "active").map(|(c, _)| run_long(Arc::clone(c))).collect();

    let mut observer = server.connect();
    let me = int(&mut observer, "select pg_backend_pid()") as i32;
    wait_for(&mut observer, "15 active sessions", |rows| {
        rows.iter().filter(|(pid, (s, _, _))| **pid != me && s.as_deref() == Some("active")).count() == 15
    });
    let rows = activity(&mut observer);
    assert_eq!(rows.len(), 41, "every session and the observer: {rows:?}");
    for (pid, state) in &expected {
        let (shown, _, query) = &rows[pid];
        assert_eq!(shown.as_deref(), Some(*state), "session {pid}: {query}");
        if *state == "active" {
            assert_eq!(query, LONG);
        }
    }
    assert_eq!(rows[&me].0.as_deref(), Some("active"), "the observer is running its own query");
    let workers: BTreeSet<i32> = rows.values().map(|(_, w, _)| *w).collect();
    assert_eq!(workers.len(), 4, "sessions of all four workers are listed: {workers:?}");
    // Logs name sessions by their backend pid.
    assert!(server.logs().contains(&format!("backend_pid={me}")), "{}", server.logs());

    // The running ones are cancelled from the observer, on whichever worker they are.
    let active: Vec<i32> = expected.iter().filter(|(_, s)| **s == "active").map(|(p, _)| *p).collect();
    for pid in &active {
        assert!(flag(&mut observer, &format!("select pg_cancel_backend({pid})")));
    }
    for rx in &runs {
        assert_eq!(outcome(rx), Err("57014".into()));
    }
    wait_for(&mut observer, "no active session but the observer", |rows| {
        rows.iter().all(|(pid, (s, _, _))| *pid == me || s.as_deref() != Some("active"))
    });
}

/// Sessions grouped by the worker that serves them, as `pg_stat_activity` says.
fn by_worker(observer: &mut Client, pids: &[i32]) -> BTreeMap<i32, Vec<usize>> {
    let rows = activity(observer);
    let mut groups: BTreeMap<i32, Vec<usize>> = BTreeMap::new();
    for (i, pid) in pids.iter().enumerate() {
        groups.entry(rows[pid].1).or_default().push(i);
    }
    groups
}

/// Acceptance: `pg_cancel_backend` and `pg_terminate_backend` from a session on worker
/// A reach sessions on workers B, C and D: 100 trials, every one right, and no other
/// session disturbed.
#[test]
fn cancel_and_terminate_reach_sessions_on_every_worker() {
    let server = server(4, &[]);
    let mut clients: Vec<Arc<Mutex<Client>>> = Vec::new();
    let mut pids = Vec::new();
    for _ in 0..8 {
        let mut c = server.connect();
        pids.push(int(&mut c, "select pg_backend_pid()") as i32);
        clients.push(Arc::new(Mutex::new(c)));
    }
    let mut probe = server.connect();
    let groups = by_worker(&mut probe, &pids);
    drop(probe);
    assert_eq!(groups.len(), 4, "two sessions on each worker: {groups:?}");
    let mut workers = groups.values();
    let home = workers.next().unwrap();
    let observer_index = home[0];
    let mut observer = clients[observer_index].lock().unwrap();
    // One target on each other worker; the rest are bystanders.
    let targets: Vec<usize> = workers.map(|g| g[0]).collect();
    let bystanders: Vec<usize> = (0..8).filter(|i| *i != observer_index && !targets.contains(i)).collect();

    for trial in 0..100 {
        let target = targets[trial % targets.len()];
        let pid = pids[target];
        let rx = run_long(Arc::clone(&clients[target]));
        wait_for(&mut observer, "the target running", |rows| rows[&pid].0.as_deref() == Some("active"));
        assert!(flag(&mut observer, &format!("select pg_cancel_backend({pid})")), "trial {trial}");
        assert_eq!(outcome(&rx), Err("57014".into()), "trial {trial}");
        assert_eq!(int(&mut clients[target].lock().unwrap(), "select 41 + 1"), 42, "trial {trial}");
    }

    // Terminate one target while it runs, one while it idles (waiting until it is gone).
    let running = pids[targets[0]];
    let rx = run_long(Arc::clone(&clients[targets[0]]));
    wait_for(&mut observer, "the target running", |rows| rows[&running].0.as_deref() == Some("active"));
    assert!(flag(&mut observer, &format!("select pg_terminate_backend({running})")));
    // The postgres crate reports the FATAL that ends a running statement as 57P01 or,
    // when it reads the close first, as a closed connection; the log says which was sent.
    let ended = outcome(&rx);
    assert!(
        ended == Err("57P01".into()) || ended.as_ref().is_err_and(|e| e.contains("closed")),
        "the running statement ends with FATAL 57P01: {ended:?}"
    );
    let fatal_logged = |pid: i32| {
        let fatal = format!("backend_pid={pid}");
        server.logs().lines().any(|l| l.contains(&fatal) && l.contains("sqlstate=57P01"))
    };
    assert!(fatal_logged(running), "the log shows the FATAL sent to {running}:\n{}", server.logs());
    let idle = pids[targets[1]];
    assert!(flag(&mut observer, &format!("select pg_terminate_backend({idle}, 10000)")));
    let rows = activity(&mut observer);
    assert!(!rows.contains_key(&running) && !rows.contains_key(&idle), "{rows:?}");
    let err = clients[targets[1]].lock().unwrap().simple_query("select 1").expect_err("terminated");
    // The client's query can reach the closed socket before the client reads the FATAL:
    // the kernel then answers with a reset, which discards the unread FATAL, and the
    // client sees an I/O error. The log says the FATAL was sent.
    let reset =
        std::error::Error::source(&err).and_then(|e| e.downcast_ref::<std::io::Error>()).is_some_and(|e| {
            matches!(e.kind(), std::io::ErrorKind::ConnectionReset | std::io::ErrorKind::BrokenPipe)
        });
    assert!(
        sqlstate(&err) == "57P01"
            || err.is_closed()
            || err.to_string().contains("closed")
            || reset && fatal_logged(idle),
        "the idle session learns it was terminated: {err} ({:?})",
        std::error::Error::source(&err)
    );
    // Nobody else noticed.
    for i in bystanders.iter().chain(&targets[2..]) {
        assert_eq!(int(&mut clients[*i].lock().unwrap(), "select 1"), 1, "session {}", pids[*i]);
    }
}

/// What a scenario of signals shows a client: results, notices and errors.
fn transcript(conn_str: &str, boss: &str) -> Vec<String> {
    let notices = Arc::new(Mutex::new(Vec::new()));
    let connect = |user: &str| {
        let seen = Arc::clone(&notices);
        let mut config: postgres::Config = format!("{conn_str} user={user}").parse().unwrap();
        config.notice_callback(move |n| {
            seen.lock().unwrap().push(format!("{}: {}", n.severity(), n.message()))
        });
        config.connect(NoTls).expect("connect")
    };
    let mut alice = connect("alice");
    let mut bob = connect("bob");
    let mut chief = connect(boss);
    let alice_pid = int(&mut alice, "select pg_backend_pid()");
    let chief_pid = int(&mut chief, "select pg_backend_pid()");
    let mut out = Vec::new();
    let mut run = |client: &mut Client, who: &str, sql: &str| {
        let shown = match client.simple_query(sql) {
            Ok(messages) => messages
                .iter()
                .filter_map(|m| match m {
                    postgres::SimpleQueryMessage::Row(r) => Some(r.get(0).unwrap_or("NULL").to_owned()),
                    _ => None,
                })
                .collect::<Vec<_>>()
                .join(","),
            Err(e) => format!(
                "ERROR {} {}",
                sqlstate(&e),
                e.as_db_error().map_or_else(|| e.to_string(), |d| d.message().to_owned())
            ),
        };
        // A session that terminates itself ends: PostgreSQL's FATAL reaches this driver
        // as a closed connection or as the 57P01 error, depending on when it is read.
        let shown = if shown.contains("57P01") || shown.contains("connection closed") {
            "the session ends".to_owned()
        } else {
            shown
        };
        let notes: Vec<String> = notices.lock().unwrap().drain(..).collect();
        let sql = sql.replace(&alice_pid.to_string(), "<alice>").replace(&chief_pid.to_string(), "<chief>");
        out.push(format!("{who}: {sql} -> {shown} {notes:?}"));
    };
    run(&mut bob, "bob", "select pg_cancel_backend(999999)");
    run(&mut bob, "bob", "select pg_terminate_backend(999999, 10)");
    run(&mut bob, "bob", "select pg_terminate_backend(pg_backend_pid(), -1)");
    run(&mut bob, "bob", "select pg_cancel_backend(NULL)");
    run(&mut bob, "bob", &format!("select pg_cancel_backend({alice_pid})"));
    run(&mut bob, "bob", &format!("select pg_terminate_backend({alice_pid})"));
    run(&mut alice, "alice", &format!("select pg_cancel_backend({chief_pid})"));
    run(&mut alice, "alice", &format!("select pg_terminate_backend({chief_pid})"));
    run(&mut chief, "chief", &format!("select pg_cancel_backend({alice_pid})"));
    // Another user's session shows who and where, not what it does.
    run(
        &mut bob,
        "bob",
        &format!(
            "select usename || ' ' || coalesce(state, 'NULL') || ' ' || query || ' ' || coalesce(backend_type, 'NULL') \
             from pg_stat_activity where pid = {alice_pid}"
        ),
    );
    run(
        &mut chief,
        "chief",
        &format!(
            "select usename || ' ' || coalesce(state, 'NULL') from pg_stat_activity where pid = {alice_pid}"
        ),
    );
    run(&mut alice, "alice", "select pg_terminate_backend(pg_backend_pid())");
    out
}

/// The answers, notices, errors and rules of PostgreSQL 15: an unknown pid warns and
/// answers false, a user may signal only their own user's sessions, only superusers a
/// superuser's, and another user's activity is hidden.
#[test]
fn signals_answer_as_postgres_does() {
    let pg = Postgres::start();
    let pg_conn = format!("host=127.0.0.1 port={} dbname={}", pg.port, pg.database);
    let mut admin = Client::connect(&format!("{pg_conn} user={}", pg.user), NoTls).unwrap();
    admin
        .batch_execute("create role alice login; create role bob login; create role chief superuser login")
        .unwrap();
    let expected = transcript(&pg_conn, "chief");

    let server = server(2, &[("MALLARD_AUTH__SUPERUSERS", "[\"chief\"]")]);
    let conn = server.conn_str().replace(" user=tester", "");
    let actual = transcript(&conn, "chief");
    assert_eq!(actual, expected, "mallard (left) and PostgreSQL 15 (right) differ");
    assert!(expected.iter().any(|l| l.contains("42501")) && expected.iter().any(|l| l.contains("-> t")));
}

/// PostgreSQL counts a connection toward max_connections once its startup packet is
/// read: 150 silent sockets at the default limit of 100 do not keep a client out, and
/// a real session past the limit gets 53300.
#[test]
fn connections_in_startup_do_not_lock_clients_out() {
    let server = server(2, &[]);
    let port: u16 =
        server.conn_str().split("port=").nth(1).unwrap().split(' ').next().unwrap().parse().unwrap();
    let silent: Vec<TcpStream> =
        (0..150).map(|_| TcpStream::connect(("127.0.0.1", port)).expect("silent connect")).collect();
    let mut client = server.connect();
    assert_eq!(int(&mut client, "select 7"), 7, "a client gets in past 150 silent sockets");
    drop(silent);

    let small = server_with_limit(3);
    let mut held: Vec<Client> = (0..3).map(|_| small.connect()).collect();
    let Err(refused) = Client::connect(&small.conn_str(), NoTls) else { panic!("a fourth session got in") };
    assert_eq!(sqlstate(&refused), "53300");
    let message = refused.as_db_error().map(|e| e.message().to_owned());
    assert_eq!(message.as_deref(), Some("sorry, too many clients already"));
    // A session that ends makes room, and the count never drifts.
    held.pop();
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut again = loop {
        match Client::connect(&small.conn_str(), NoTls) {
            Ok(c) => break c,
            Err(e) => {
                assert!(Instant::now() < deadline, "no room after a session ended: {e}");
                thread::sleep(Duration::from_millis(20));
            }
        }
    };
    assert_eq!(int(&mut again, "select 3"), 3);
    assert_eq!(int(&mut held[0], "select count(*) from pg_stat_activity"), 3);
}

fn server_with_limit(n: u32) -> Server {
    let server = Server::start(
        BIN,
        Options {
            workers: 2,
            extra_args: vec!["--max-connections".into(), n.to_string()],
            ..Options::default()
        },
    );
    server.ready_workers(2, Duration::from_secs(60));
    server
}

/// `mallard sessions`: the same rows for scripts, and exit 3 once the server is gone.
#[test]
fn mallard_sessions_lists_them_for_scripts() {
    let mut server = server(2, &[]);
    let mut a = connect_as(&server.conn_str().replace(" user=tester", ""), "alice");
    let a_pid = int(&mut a, "select pg_backend_pid()");
    let mut b = server.connect();
    b.batch_execute("begin; select 1").unwrap();
    let b_pid = int(&mut b, "select pg_backend_pid()");
    let out = server.admin("sessions", &["--json"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).expect("one line of JSON");
    let rows = json["sessions"].as_array().expect("sessions");
    let row = |pid: i64| rows.iter().find(|r| r["pid"] == pid).unwrap_or_else(|| panic!("{pid} in {json}"));
    assert_eq!(row(a_pid)["user"], "alice");
    assert_eq!(row(a_pid)["state"], "idle");
    assert_eq!(row(a_pid)["query"], "select pg_backend_pid()");
    assert_eq!(row(b_pid)["state"], "idle in transaction");
    assert!(row(b_pid)["xact_start"].as_f64().is_some() && row(a_pid)["xact_start"].is_null());
    assert_eq!(row(a_pid)["client_addr"], "127.0.0.1");
    let text = server.admin("sessions", &[]);
    let text = String::from_utf8_lossy(&text.stdout);
    assert!(text.lines().next().unwrap().contains("PID") && text.contains("idle in transaction"), "{text}");
    assert!(text.lines().any(|l| l.trim_start().starts_with(&a_pid.to_string())), "{text}");
    server.stop();
    assert_eq!(server.admin("sessions", &[]).status.code(), Some(3));
}

/// Acceptance: a session that connected before a reload is listed, cancelled and
/// terminated after it, from a session of the new generation, while it drains. (It
/// holds a temporary table, so it cannot move to the new generation at the reload.)
#[test]
fn a_draining_session_stays_listed_and_signalable() {
    let server = server(2, &[("MALLARD_DRAIN_TIMEOUT", "60s")]);
    let old = Arc::new(Mutex::new(server.connect()));
    old.lock().unwrap().batch_execute("create temporary table pinned (x int)").unwrap();
    let old_pid = int(&mut old.lock().unwrap(), "select pg_backend_pid()") as i32;
    let reload = server.admin("reload", &[]);
    assert!(reload.status.success(), "{}", String::from_utf8_lossy(&reload.stderr));
    let mut new = server.connect();
    let generations: BTreeMap<i32, i32> = new
        .query("select pid, worker_generation from pg_stat_activity", &[])
        .unwrap()
        .iter()
        .map(|r| (r.get(0), r.get(1)))
        .collect();
    let new_pid = int(&mut new, "select pg_backend_pid()") as i32;
    assert_eq!(
        (generations.get(&old_pid), generations.get(&new_pid)),
        (Some(&1), Some(&2)),
        "{generations:?}"
    );
    let rx = run_long(Arc::clone(&old));
    wait_for(&mut new, "the old session running", |rows| rows[&old_pid].0.as_deref() == Some("active"));
    assert!(flag(&mut new, &format!("select pg_cancel_backend({old_pid})")));
    assert_eq!(outcome(&rx), Err("57014".into()));
    assert!(flag(&mut new, &format!("select pg_terminate_backend({old_pid}, 10000)")));
    assert!(!activity(&mut new).contains_key(&old_pid));
}
