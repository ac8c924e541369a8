//! `idle_session_timeout` and `idle_in_transaction_session_timeout`: a session that waits
//! too long for its next command, outside or inside a transaction block, is ended with
//! PostgreSQL's FATAL; a busy one, a COPY in progress or an unfinished extended batch is
//! not. Each scenario runs against mallard and against PostgreSQL 15 alike.

use mallard_harness::postgres_server;

use std::io::{ErrorKind, Read, Write};
use std::net::TcpStream;
use std::thread;
use std::time::{Duration, Instant};

use mallard_harness::{Options, Server};
use mallard_protocol::pg::backend::{ErrorInfo, Message};
use mallard_protocol::pg::frontend;
use mallard_protocol::pg::startup::{self, Request};
use mallard_protocol::pg::{Severity, PROTOCOL_3_0};
use postgres_server::Postgres;

const TIMEOUT_MS: u64 = 400;

/// A raw session that can wait for the server without sending anything.
struct Session {
    stream: TcpStream,
    buf: Vec<u8>,
}

impl Session {
    fn open(port: u16, user: &str, database: &str) -> Session {
        let stream = TcpStream::connect(("127.0.0.1", port)).expect("connect");
        let mut s = Session { stream, buf: Vec::new() };
        let mut packet = Vec::new();
        let params = vec![("user", user), ("database", database)];
        startup::encode(&Request::Startup { version: PROTOCOL_3_0, params }, &mut packet);
        s.stream.write_all(&packet).unwrap();
        s.until_ready().expect("startup");
        s
    }

    fn send(&mut self, messages: &[frontend::Message<'_>]) {
        let mut buf = Vec::new();
        messages.iter().for_each(|m| m.encode(&mut buf));
        self.stream.write_all(&buf).unwrap();
    }

    /// The next message within `wait`; `None` if nothing came.
    fn next(&mut self, wait: Duration) -> Result<Option<Message>, String> {
        let deadline = Instant::now() + wait;
        loop {
            if let Some((m, n)) = Message::decode(&self.buf).map_err(|e| e.to_string())? {
                self.buf.drain(..n);
                return Ok(Some(m));
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Ok(None);
            }
            self.stream.set_read_timeout(Some(left)).unwrap();
            let mut chunk = [0u8; 4096];
            match self.stream.read(&mut chunk) {
                Ok(0) => return Err("closed".into()),
                Ok(n) => self.buf.extend_from_slice(&chunk[..n]),
                Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => return Ok(None),
                Err(e) => return Err(e.to_string()),
            }
        }
    }

    fn until_ready(&mut self) -> Result<(), String> {
        loop {
            match self.next(Duration::from_secs(10))? {
                Some(Message::ReadyForQuery(_)) => return Ok(()),
                Some(Message::ErrorResponse(e)) if e.severity == Severity::Fatal => {
                    return Err(format!("FATAL {} {}", e.code.code(), e.message))
                }
                Some(_) => {}
                None => return Err("no ReadyForQuery".into()),
            }
        }
    }

    fn query(&mut self, sql: &str) {
        self.send(&[frontend::Message::Query(sql)]);
        self.until_ready().unwrap_or_else(|e| panic!("{sql}: {e}"));
    }

    /// Waits up to `wait` for a FATAL; `None` if the session stayed open and silent.
    fn fatal_within(&mut self, wait: Duration) -> Option<(ErrorInfo, Duration)> {
        let started = Instant::now();
        match self.next(wait) {
            Ok(Some(Message::ErrorResponse(e))) if e.severity == Severity::Fatal => {
                Some((e, started.elapsed()))
            }
            Ok(Some(other)) => panic!("unexpected {other:?} while idle"),
            Ok(None) => None,
            Err(e) => panic!("{e} without a FATAL"),
        }
    }
}

/// Runs every scenario against the server at `port`.
fn scenarios(port: u16, user: &str, database: &str) {
    let timeout = Duration::from_millis(TIMEOUT_MS);
    let open = || Session::open(port, user, database);

    // Idle outside a transaction block.
    let mut s = open();
    s.query(&format!("SET idle_session_timeout = {TIMEOUT_MS}"));
    let (e, after) = s.fatal_within(timeout * 10).expect("idle_session_timeout ends the session");
    assert_eq!(
        (e.code.code(), e.message.as_str()),
        ("57P05", "terminating connection due to idle-session timeout")
    );
    assert!(after >= timeout - Duration::from_millis(50), "ended after {after:?}");

    // A busy session is not idle, however long it lives.
    let mut s = open();
    s.query(&format!("SET idle_session_timeout = {TIMEOUT_MS}"));
    let started = Instant::now();
    while started.elapsed() < timeout * 3 {
        thread::sleep(timeout / 4);
        s.query("SELECT 1");
    }

    // Inside a transaction block only the in-transaction timeout applies.
    let mut s = open();
    s.query(&format!("SET idle_session_timeout = {TIMEOUT_MS}"));
    s.query("BEGIN");
    assert!(s.fatal_within(timeout * 3).is_none(), "idle_session_timeout applied inside a transaction block");
    s.query(&format!("SET idle_in_transaction_session_timeout = {TIMEOUT_MS}"));
    let (e, _) = s.fatal_within(timeout * 10).expect("idle_in_transaction_session_timeout ends the session");
    assert_eq!(
        (e.code.code(), e.message.as_str()),
        ("25P03", "terminating connection due to idle-in-transaction timeout")
    );

    // An extended batch before its Sync is not waiting for a command.
    let mut s = open();
    s.query(&format!("SET idle_session_timeout = {TIMEOUT_MS}"));
    s.send(&[
        frontend::Message::Parse { name: "", query: "SELECT 1", param_types: vec![] },
        frontend::Message::Flush,
    ]);
    assert!(matches!(s.next(timeout), Ok(Some(Message::ParseComplete))));
    assert!(s.fatal_within(timeout * 3).is_none(), "the timeout applied in the middle of an extended batch");
    s.send(&[frontend::Message::Sync]);
    s.until_ready().unwrap();

    // Nor is a COPY waiting for its data.
    let mut s = open();
    s.query("CREATE TABLE IF NOT EXISTS idle_copy (a int)");
    s.query(&format!("SET idle_session_timeout = {TIMEOUT_MS}"));
    s.send(&[frontend::Message::Query("COPY idle_copy FROM STDIN")]);
    assert!(matches!(s.next(timeout), Ok(Some(Message::CopyInResponse { .. }))));
    thread::sleep(timeout * 3);
    s.send(&[frontend::Message::CopyData(b"1\n"), frontend::Message::CopyDone]);
    s.until_ready().expect("a slow COPY completes");
}

#[test]
fn mallard_ends_idle_sessions_as_postgresql_does() {
    let server = Server::start(env!("CARGO_BIN_EXE_mallard"), Options::default());
    scenarios(server.port, "tester", "mallard");
}

#[test]
fn postgresql_15_agrees() {
    let pg = Postgres::start();
    scenarios(pg.port, pg.user, pg.database);
}

/// The configured defaults are what `SHOW` says and what `RESET` returns to.
#[test]
fn configured_defaults_apply_to_every_session() {
    let server = Server::start(
        env!("CARGO_BIN_EXE_mallard"),
        Options {
            env: vec![
                ("MALLARD_IDLE_SESSION_TIMEOUT".into(), format!("{TIMEOUT_MS}ms")),
                ("MALLARD_IDLE_IN_TRANSACTION_SESSION_TIMEOUT".into(), "1h".into()),
            ],
            ..Options::default()
        },
    );
    let mut client = server.connect();
    let show = |client: &mut postgres::Client, name: &str| -> String {
        client.query_one(&format!("SHOW {name}"), &[]).unwrap().get(0)
    };
    assert_eq!(show(&mut client, "idle_session_timeout"), format!("{TIMEOUT_MS}ms"));
    assert_eq!(show(&mut client, "idle_in_transaction_session_timeout"), "1h");
    client.batch_execute("SET idle_session_timeout = 0").unwrap();
    assert_eq!(show(&mut client, "idle_session_timeout"), "0");
    client.batch_execute("RESET idle_session_timeout").unwrap();
    assert_eq!(show(&mut client, "idle_session_timeout"), format!("{TIMEOUT_MS}ms"));

    let mut s = Session::open(server.port, "tester", "mallard");
    let (e, _) = s.fatal_within(Duration::from_secs(5)).expect("the configured timeout ends an idle session");
    assert_eq!(e.code.code(), "57P05");
}
