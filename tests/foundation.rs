//! Issue 2's acceptance: the real binary, real clients (psql, the `postgres` crate,
//! raw sockets for what no client would send).

use std::io::{Read, Write};
use std::net::TcpStream;
use std::process::Output;
use std::thread;
use std::time::{Duration, Instant};

use mallard_harness::{fd_count, Options, Server};
use mallard_protocol::pg::backend::Message;
use mallard_protocol::pg::{frontend, startup, PROTOCOL_3_0};

const BIN: &str = env!("CARGO_BIN_EXE_mallard");

fn stdout(out: &Output) -> String {
    assert!(out.status.success(), "psql failed: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).trim().to_owned()
}

/// The first column of the first row of a simple query.
fn first_value(c: &mut postgres::Client, sql: &str) -> String {
    let messages = c.simple_query(sql).unwrap_or_else(|e| panic!("{sql}: {e}"));
    messages
        .iter()
        .find_map(|m| match m {
            postgres::SimpleQueryMessage::Row(r) => Some(r.get(0).unwrap_or("NULL").to_owned()),
            _ => None,
        })
        .unwrap_or_else(|| panic!("{sql}: no row in {} messages", messages.len()))
}

/// A new session and the pid of the worker serving it.
fn session_with_pid(conn_str: &str) -> (postgres::Client, u32) {
    let mut c = postgres::Client::connect(conn_str, postgres::NoTls).unwrap();
    let pid = first_value(&mut c, "select worker_pid from pg_stat_activity where pid = pg_backend_pid()")
        .parse()
        .unwrap();
    (c, pid)
}

fn memory(workers: u32) -> Server {
    Server::start(BIN, Options { workers, ..Options::default() })
}

/// A startup packet as psql would send it.
fn startup_packet(version: u32) -> Vec<u8> {
    let mut buf = Vec::new();
    startup::encode(
        &startup::Request::Startup { version, params: vec![("user", "tester"), ("database", "mallard")] },
        &mut buf,
    );
    buf
}

/// Reads backend messages until one matches `stop` (or the server closes); returns them all.
fn read_until(stream: &mut TcpStream, stop: impl Fn(&Message) -> bool) -> Vec<Message> {
    stream.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    mallard_harness::read_messages_until(stream, stop)
}

fn ready(m: &Message) -> bool {
    matches!(m, Message::ReadyForQuery(_))
}

/// Connects with a raw socket and completes startup.
fn raw_session(server: &Server) -> TcpStream {
    let mut s = TcpStream::connect(("127.0.0.1", server.port)).unwrap();
    s.write_all(&startup_packet(PROTOCOL_3_0)).unwrap();
    let msgs = read_until(&mut s, ready);
    assert!(msgs.iter().any(|m| matches!(m, Message::AuthenticationOk)), "{msgs:?}");
    s
}

fn send_query(s: &mut TcpStream, sql: &str) {
    let mut buf = Vec::new();
    frontend::Message::Query(sql).encode(&mut buf);
    s.write_all(&buf).unwrap();
}

/// Acceptance 1: psql gets 42, over TCP and the unix socket.
#[test]
fn psql_select_42() {
    let server = Server::start(BIN, Options { unix_socket: true, ..Options::default() });
    assert_eq!(stdout(&server.psql("select 42")), "42");
    assert_eq!(stdout(&server.psql_unix("select 42")), "42");
}

/// Acceptance 1: in `duckdb` mode a table survives a restart.
#[test]
fn duckdb_mode_persists_across_restarts() {
    let data = tempfile::tempdir().unwrap();
    let options =
        Options { storage: "duckdb", data_dir: Some(data.path().join("data")), ..Options::default() };
    let mut first = Server::start(BIN, options.clone());
    stdout(&first.psql(
        "create table kept (id integer, name varchar); insert into kept values (1, 'one'), (2, 'two')",
    ));
    assert!(first.stop().is_some_and(|s| s.success()), "clean stop; log:\n{}", first.logs());
    assert!(data.path().join("data/mallard.duckdb").exists());

    let second = Server::start(BIN, options);
    assert_eq!(stdout(&second.psql("select id, name from kept order by id")), "1|one\n2|two");
}

#[test]
fn workers_above_one_in_duckdb_mode_is_a_config_error() {
    let out = std::process::Command::new(BIN)
        .args(["check", "--storage", "duckdb", "--workers", "4"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("exactly 1 worker") && err.contains("read_only"), "{err}");
}

/// Acceptance 2: 40 sessions over 4 workers spread 10/10/10/10 (±1).
#[test]
fn least_connections_spreads_sessions_evenly() {
    let server = memory(4);
    // Every worker must be Ready before the burst, so all four are routable.
    let workers = server.ready_workers(4, Duration::from_secs(30));
    let clients: Vec<_> = (0..40)
        .map(|_| {
            let conn = server.conn_str();
            thread::spawn(move || session_with_pid(&conn))
        })
        .collect();
    let sessions: Vec<_> = clients.into_iter().map(|t| t.join().unwrap()).collect();
    for w in &workers {
        let n = sessions.iter().filter(|(_, pid)| pid == w).count();
        assert!(
            (9..=11).contains(&n),
            "worker {w} has {n} sessions: {:?}",
            sessions.iter().map(|s| s.1).collect::<Vec<_>>()
        );
    }
}

/// Acceptance 3: a worker killed mid-query takes only its own sessions down; it is
/// replaced, and new connections are never refused.
#[test]
fn killed_worker_is_replaced_and_others_finish() {
    let server = memory(4);
    let workers = server.ready_workers(4, Duration::from_secs(30));
    let long = "select count(*) from range(400000000) a(i) where (i * 7) % 13 = 3";
    let (connected, ready) = std::sync::mpsc::channel();
    let runners: Vec<_> = (0..4)
        .map(|_| {
            let conn = server.conn_str();
            let connected = connected.clone();
            thread::spawn(move || {
                let (mut c, pid) = session_with_pid(&conn);
                let _ = connected.send(());
                (pid, c.simple_query(long).map(|_| ()))
            })
        })
        .collect();
    // Every session knows its worker before one is killed; then their queries start.
    for _ in 0..4 {
        ready.recv_timeout(Duration::from_secs(30)).expect("a session connected and found its worker");
    }
    thread::sleep(Duration::from_millis(700));
    let victim = workers[0];
    // SAFETY: kill(2) on a worker pid of the server this test started.
    assert_eq!(unsafe { libc::kill(victim as i32, libc::SIGKILL) }, 0);

    // New connections during the replacement are served, never refused.
    let deadline = Instant::now() + Duration::from_secs(3);
    let mut attempts = 0;
    while Instant::now() < deadline {
        let mut c = postgres::Client::connect(&server.conn_str(), postgres::NoTls)
            .unwrap_or_else(|e| panic!("connection refused after kill: {e}\n{}", server.logs()));
        c.simple_query("select 1").unwrap();
        attempts += 1;
    }
    assert!(attempts > 5);

    for r in runners {
        let (pid, outcome) = r.join().unwrap();
        if pid == victim {
            assert!(outcome.is_err(), "the killed worker's query cannot have finished");
        } else {
            outcome.unwrap_or_else(|e| {
                panic!("session on surviving worker {pid} failed: {e}\n{}", server.logs())
            });
        }
    }
    let after = server.wait_workers(4, Duration::from_secs(10));
    assert!(!after.contains(&victim), "{after:?}");
    assert!(server.logs().contains("signal SIGKILL"), "the worker's exit is logged with its signal");
}

/// Acceptance 4 and 6: hostile input gets a clean close or error, logged in the
/// session's span, and the worker keeps serving.
#[test]
fn hostile_input_is_closed_cleanly_and_logged() {
    let server = memory(1);
    let worker = server.wait_workers(1, Duration::from_secs(10))[0];
    let mut bystander = server.connect();

    let cases: Vec<(&str, Vec<u8>)> = vec![
        ("garbage", b"GET / HTTP/1.1\r\nHost: x\r\n\r\n".to_vec()),
        ("length 0", 0i32.to_be_bytes().to_vec()),
        ("length -1", (-1i32).to_be_bytes().to_vec()),
        ("length 2^31", [0x80, 0, 0, 0].to_vec()),
    ];
    for (name, bytes) in &cases {
        let mut s = TcpStream::connect(("127.0.0.1", server.port)).unwrap();
        s.write_all(bytes).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        let mut rest = Vec::new();
        let _ = s.read_to_end(&mut rest);
        assert!(rest.is_empty(), "{name}: a non-PostgreSQL peer gets a close, got {rest:?}");
    }

    // Truncated startup packet, then the client goes away.
    let mut s = TcpStream::connect(("127.0.0.1", server.port)).unwrap();
    s.write_all(&startup_packet(PROTOCOL_3_0)[..10]).unwrap();
    drop(s);

    // An unsupported protocol version gets PostgreSQL's FATAL.
    let mut s = TcpStream::connect(("127.0.0.1", server.port)).unwrap();
    s.write_all(&startup_packet(2 << 16)).unwrap();
    let msgs = read_until(&mut s, |m| matches!(m, Message::ErrorResponse(_)));
    match msgs.last() {
        Some(Message::ErrorResponse(e)) => {
            assert_eq!(e.code.code(), "0A000");
            assert!(e.message.contains("unsupported frontend protocol 2.0"), "{}", e.message);
        }
        other => panic!("expected FATAL 0A000, got {other:?}"),
    }

    // An oversized message after startup gets 08P01.
    let mut s = raw_session(&server);
    s.write_all(&[b'Q', 0x7f, 0xff, 0xff, 0xff]).unwrap();
    match read_until(&mut s, |m| matches!(m, Message::ErrorResponse(_))).last() {
        Some(Message::ErrorResponse(e)) => assert_eq!(e.code.code(), "08P01"),
        other => panic!("expected 08P01, got {other:?}"),
    }

    // A client that vanishes mid-query.
    let mut s = raw_session(&server);
    send_query(&mut s, "select count(*) from range(300000000)");
    thread::sleep(Duration::from_millis(100));
    drop(s);

    // The worker still serves, the bystander included.
    assert_eq!(first_value(&mut bystander, "select 1"), "1");
    assert_eq!(server.wait_workers(1, Duration::from_secs(5)), vec![worker], "the worker survived");
    assert_eq!(stdout(&server.psql("select 42")), "42");

    let logs = server.logs();
    let deadline = Instant::now() + Duration::from_secs(20);
    let expected = [
        "does not speak the PostgreSQL protocol",
        "client closed the connection without Terminate",
        "unsupported frontend protocol 2.0",
        "over the limit",
    ];
    // The truncated startup and the vanished client: whether the vanished client is
    // noticed by a failed write or by the next read depends on timing, so either counts.
    // Its query runs to the end first, which takes a while on a loaded machine.
    let gone = [
        "client closed the connection without Terminate",
        "writing to the client failed",
        "client connection failed",
    ];
    let ended = |logs: &str| {
        logs.lines().filter(|l| l.contains("session{id=") && gone.iter().any(|g| l.contains(g))).count()
    };
    let mut logs = logs;
    while !(expected.iter().all(|e| logs.contains(e)) && ended(&logs) >= 2) && Instant::now() < deadline {
        thread::sleep(Duration::from_millis(200));
        logs = server.logs();
    }
    for e in expected {
        let line =
            logs.lines().find(|l| l.contains(e)).unwrap_or_else(|| panic!("no log line with {e:?}:\n{logs}"));
        assert!(line.contains("session{id="), "not in a session span: {line}");
    }
    assert!(ended(&logs) >= 2, "both vanished clients are logged:\n{logs}");
}

/// Errors keep the session and the transaction state exact.
#[test]
fn errors_and_transaction_states() {
    let server = memory(1);
    let mut s = raw_session(&server);
    let status = |msgs: &[Message]| match msgs.last() {
        Some(Message::ReadyForQuery(st)) => st.byte(),
        other => panic!("no ReadyForQuery: {other:?}"),
    };
    send_query(&mut s, "begin");
    assert_eq!(status(&read_until(&mut s, ready)), b'T');
    send_query(&mut s, "select * from missing_table");
    let msgs = read_until(&mut s, ready);
    assert!(
        msgs.iter().any(|m| matches!(m, Message::ErrorResponse(e) if e.code.code() == "42P01")),
        "{msgs:?}"
    );
    assert_eq!(status(&msgs), b'E');
    send_query(&mut s, "select 1");
    let msgs = read_until(&mut s, ready);
    assert!(
        msgs.iter().any(|m| matches!(m, Message::ErrorResponse(e) if e.code.code() == "25P02")),
        "{msgs:?}"
    );
    send_query(&mut s, "commit");
    let msgs = read_until(&mut s, ready);
    assert!(msgs.iter().any(|m| matches!(m, Message::CommandComplete(t) if t == "ROLLBACK")), "{msgs:?}");
    assert_eq!(status(&msgs), b'I');

    // A multi-statement string is one implicit transaction: the error undoes the insert.
    send_query(&mut s, "create table t (x integer)");
    read_until(&mut s, ready);
    send_query(&mut s, "insert into t values (1); select * from missing_table; insert into t values (2)");
    let msgs = read_until(&mut s, ready);
    assert_eq!(status(&msgs), b'I');
    send_query(&mut s, "select count(*) from t");
    let msgs = read_until(&mut s, ready);
    assert!(
        msgs.iter().any(|m| matches!(m, Message::DataRow(v) if v[0].as_deref() == Some(b"0"))),
        "{msgs:?}"
    );

    send_query(&mut s, " ; -- nothing\n");
    assert!(read_until(&mut s, ready).iter().any(|m| matches!(m, Message::EmptyQueryResponse)));

    let err = postgres::Client::connect(
        &server.conn_str().replace("dbname=mallard", "dbname=nope"),
        postgres::NoTls,
    )
    .err()
    .expect("unknown database is refused");
    assert_eq!(mallard_harness::sqlstate(&err), "3D000");
}

/// Acceptance 5: after 10,000 sequential connections every process is back at its
/// baseline fd count.
#[test]
fn ten_thousand_connections_leak_no_fds() {
    let server = memory(2);
    let workers = server.ready_workers(2, Duration::from_secs(30));
    let one = || {
        let mut s = raw_session(&server);
        let mut buf = Vec::new();
        frontend::Message::Terminate.encode(&mut buf);
        s.write_all(&buf).unwrap();
        let mut rest = Vec::new();
        let _ = s.read_to_end(&mut rest);
    };
    for _ in 0..20 {
        one();
    }
    let settle = |pids: &[u32], base: &[usize]| {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let now: Vec<_> = pids.iter().map(|p| fd_count(*p)).collect();
            if now == base || Instant::now() > deadline {
                return now;
            }
            thread::sleep(Duration::from_millis(100));
        }
    };
    let mut pids = vec![server.pid()];
    pids.extend(&workers);
    let baseline: Vec<_> = pids.iter().map(|p| fd_count(*p)).collect();
    for _ in 0..10_000 {
        one();
    }
    let after = settle(&pids, &baseline);
    assert_eq!(after, baseline, "fd counts of {pids:?} (supervisor first)");
    assert_eq!(server.worker_pids(), workers, "no worker restarted");
}
