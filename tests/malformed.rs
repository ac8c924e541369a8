//! Malformed and out-of-order input, sent raw over TCP (issue 5, acceptance 5). Each row
//! of the table names what the server must do: an ERROR after which the same connection
//! still answers a query, a FATAL and a close, a close without a word (for bytes that are
//! not PostgreSQL at all), or nothing (messages the protocol says to ignore). After every
//! row a fresh client is served, and at the end the worker is the one that started.
//!
//! The same bytes go to a real PostgreSQL 15 (`tests/support/postgres.rs`): each row's
//! outcome is PostgreSQL's unless the row says how and why mallard differs.

use mallard_harness::postgres_server;

use std::io::{ErrorKind, Read, Write};
use std::net::{Shutdown, TcpStream};
use std::time::{Duration, Instant};

use mallard_harness::{Options, Server};
use mallard_protocol::pg::backend::{ErrorInfo, Message};
use mallard_protocol::pg::frontend::{self, Target};
use mallard_protocol::pg::startup::{self, Request};
use mallard_protocol::pg::{Severity, PROTOCOL_3_0};
use postgres_server::Postgres;

/// mallard's `max_message_size` in this test.
const MAX_MESSAGE: usize = 64 << 10;
/// How long a row may take before it counts as hung.
const ROW_TIMEOUT: Duration = Duration::from_secs(10);
/// The query that shows a session still runs, and the value it answers.
const PROBE: &str = "SELECT 'still here'";
const PROBE_VALUE: &[u8] = b"still here";

/// What a row expects.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Expect {
    /// One ERROR with this SQLSTATE, and the session goes on.
    Error(&'static str),
    /// No answer at all, and the session goes on.
    Ignored,
    /// A FATAL with this SQLSTATE (after any ERROR), then the server closes.
    Fatal(&'static str),
    /// The server closes without sending anything.
    Silent,
}

/// What PostgreSQL 15 does with a row's bytes.
#[derive(Debug, Clone, Copy)]
enum Reference {
    /// The same as mallard.
    Same,
    /// Something else, for the reason given.
    Differs(Expect, &'static str),
    /// Not comparable (the reason says why); not sent to PostgreSQL.
    Skip(&'static str),
}

/// Who a row's startup packets name.
struct Login {
    user: &'static str,
    database: &'static str,
}

/// When a row's bytes are sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    /// As the first bytes of a connection.
    Startup,
    /// After a completed startup.
    Session,
}

struct Row {
    name: &'static str,
    phase: Phase,
    /// SQL run before the bytes are sent (in the session phase).
    setup: Option<&'static str>,
    bytes: fn(&Login) -> Vec<u8>,
    /// The client closes its side after sending (a truncated message).
    half_close: bool,
    /// One-byte answers to encryption requests that come before any message.
    encryption_answers: usize,
    mallard: Expect,
    postgres: Reference,
}

fn row(name: &'static str, phase: Phase, bytes: fn(&Login) -> Vec<u8>, mallard: Expect) -> Row {
    Row {
        name,
        phase,
        setup: None,
        bytes,
        half_close: false,
        encryption_answers: 0,
        mallard,
        postgres: Reference::Same,
    }
}

impl Row {
    fn differs(mut self, postgres: Expect, why: &'static str) -> Row {
        self.postgres = Reference::Differs(postgres, why);
        self
    }

    fn skip_postgres(mut self, why: &'static str) -> Row {
        self.postgres = Reference::Skip(why);
        self
    }

    fn after_ssl_request(mut self) -> Row {
        self.encryption_answers = 1;
        self
    }
}

// Builders for raw protocol pieces.

fn tagged(tag: u8, body: &[u8]) -> Vec<u8> {
    let mut out = vec![tag];
    out.extend_from_slice(&(body.len() as u32 + 4).to_be_bytes());
    out.extend_from_slice(body);
    out
}

fn header(tag: u8, len: i32) -> Vec<u8> {
    let mut out = vec![tag];
    out.extend_from_slice(&len.to_be_bytes());
    out
}

fn untagged(body: &[u8]) -> Vec<u8> {
    let mut out = (body.len() as u32 + 4).to_be_bytes().to_vec();
    out.extend_from_slice(body);
    out
}

fn encode(messages: &[frontend::Message<'_>]) -> Vec<u8> {
    let mut buf = Vec::new();
    for m in messages {
        m.encode(&mut buf);
    }
    buf
}

fn request(r: Request<'_>) -> Vec<u8> {
    let mut buf = Vec::new();
    startup::encode(&r, &mut buf);
    buf
}

fn startup_packet(login: &Login) -> Vec<u8> {
    request(Request::Startup {
        version: PROTOCOL_3_0,
        params: vec![("user", login.user), ("database", login.database), ("client_encoding", "UTF8")],
    })
}

/// A startup packet body: the 3.0 version and `params` (name, value, ..., terminator).
fn v3(params: &[u8]) -> Vec<u8> {
    [&PROTOCOL_3_0.to_be_bytes()[..], params].concat()
}

/// A startup packet of exactly `total` bytes, padded in `application_name`.
fn startup_of_length(login: &Login, total: usize) -> Vec<u8> {
    let head = format!("user\0{}\0database\0{}\0application_name\0", login.user, login.database);
    let fixed = 4 + 4 + head.len() + 2;
    let mut body = v3(head.as_bytes());
    body.extend(std::iter::repeat_n(b'x', total - fixed));
    body.extend_from_slice(b"\0\0");
    untagged(&body)
}

const SSL_REQUEST: u32 = 80877103;
const CANCEL_REQUEST: u32 = 80877102;

fn rows() -> Vec<Row> {
    use Expect::*;
    use Phase::*;
    let not_pg = "mallard answers every client that finished startup with an ErrorResponse; \
                  PostgreSQL only logs a bad message length and closes";
    vec![
        // Startup packets: lengths.
        row("startup length 0", Startup, |_| 0i32.to_be_bytes().to_vec(), Silent),
        row("startup length -1", Startup, |_| (-1i32).to_be_bytes().to_vec(), Silent),
        row("startup length 7", Startup, |_| [&7i32.to_be_bytes()[..], &[0; 4]].concat(), Silent),
        row("startup length 10,005 (header only)", Startup, |_| 10_005i32.to_be_bytes().to_vec(), Silent),
        row("startup packet of 10,005 bytes", Startup, |l| startup_of_length(l, 10_005), Silent),
        // Startup packets: codes and layout.
        row(
            "protocol 4.0",
            Startup,
            |_| untagged(&[&(4u32 << 16).to_be_bytes()[..], b"user\0u\0\0"].concat()),
            Fatal("0A000"),
        ),
        row(
            "unknown request code 1234.5681",
            Startup,
            |_| untagged(&[&((1234u32 << 16) | 5681).to_be_bytes()[..], b"\0"].concat()),
            Fatal("0A000"),
        ),
        row("startup without its terminator", Startup, |_| untagged(&v3(b"user\0u\0")), Fatal("08P01")),
        row(
            "startup with bytes after its terminator",
            Startup,
            |_| untagged(&v3(b"user\0u\0\0x")),
            Fatal("08P01"),
        ),
        row(
            "startup without a user",
            Startup,
            |l| untagged(&v3(format!("database\0{}\0\0", l.database).as_bytes())),
            Fatal("28000"),
        ),
        row(
            "startup naming another database",
            Startup,
            |l| untagged(&v3(format!("user\0{}\0database\0nope\0\0", l.user).as_bytes())),
            Fatal("3D000"),
        ),
        row(
            "startup with a bad setting value",
            Startup,
            |l| {
                untagged(&v3(
                    format!("user\0{}\0database\0{}\0DateStyle\0bogus\0\0", l.user, l.database).as_bytes()
                ))
            },
            Fatal("22023"),
        ),
        row(
            "startup with a non-UTF-8 user name",
            Startup,
            |_| untagged(&v3(b"user\0\xff\xfe\0\0")),
            Fatal("22021"),
        )
        .skip_postgres(
            "PostgreSQL 15 takes any bytes and then finds no such role; mallard speaks UTF-8 only",
        ),
        // Encryption and cancel requests.
        row(
            "garbage after an SSLRequest",
            Startup,
            |_| [untagged(&SSL_REQUEST.to_be_bytes()), vec![0xde, 0xad, 0xbe, 0xef]].concat(),
            Fatal("08P01"),
        )
        .after_ssl_request(),
        row(
            "startup packet in the SSLRequest's segment",
            Startup,
            |l| [untagged(&SSL_REQUEST.to_be_bytes()), startup_packet(l)].concat(),
            Fatal("08P01"),
        )
        .after_ssl_request(),
        row(
            "SSLRequest with a body",
            Startup,
            |_| untagged(&[&SSL_REQUEST.to_be_bytes()[..], b"x"].concat()),
            Fatal("08P01"),
        )
        .skip_postgres("PostgreSQL 15 answers N and ignores the extra byte"),
        row(
            "cancel request with a short secret",
            Startup,
            |_| untagged(&[CANCEL_REQUEST, 1].map(u32::to_be_bytes).concat()),
            Silent,
        ),
        row(
            "cancel request for nobody",
            Startup,
            |_| untagged(&[CANCEL_REQUEST, 1, 2].map(u32::to_be_bytes).concat()),
            Silent,
        ),
        // Not PostgreSQL at all.
        row(
            "TLS record garbage",
            Startup,
            |_| [&[0x16, 0x03, 0x01, 0x00, 0x40][..], &[0x5a; 64]].concat(),
            Silent,
        ),
        row("an HTTP request", Startup, |_| b"GET / HTTP/1.1\r\nHost: db\r\n\r\n".to_vec(), Silent),
        row("binary garbage", Startup, |_| (0..=255u8).rev().collect(), Silent),
        Row {
            half_close: true,
            ..row("truncated startup packet, then EOF", Startup, |l| startup_packet(l)[..11].to_vec(), Silent)
        },
        // Out of order after startup.
        row("unknown message type", Session, |_| tagged(b'z', b""), Fatal("08P01")),
        row(
            "password message without authentication",
            Session,
            |_| tagged(b'p', b"secret\0"),
            Fatal("08P01"),
        ),
        row("a second startup packet", Session, startup_packet, Fatal("08P01")),
        row(
            "a cancel request inside a session",
            Session,
            |_| untagged(&[CANCEL_REQUEST, 1, 2].map(u32::to_be_bytes).concat()),
            Fatal("08P01"),
        ),
        // Lengths after startup.
        row("message length 3", Session, |_| header(b'Q', 3), Fatal("08P01")).differs(Silent, not_pg),
        row("message length -1", Session, |_| header(b'Q', -1), Fatal("08P01")).differs(Silent, not_pg),
        row("query claiming 1 GiB", Session, |_| header(b'Q', 1 << 30), Fatal("08P01"))
            .differs(Silent, not_pg),
        row("Sync claiming 10,001 bytes", Session, |_| header(b'S', 10_001), Fatal("08P01"))
            .differs(Silent, not_pg),
        row(
            "CopyData over max_message_size",
            Session,
            |_| [header(b'd', MAX_MESSAGE as i32 + 1), vec![0; 64]].concat(),
            Fatal("08P01"),
        )
        .skip_postgres("PostgreSQL's limit is 1 GB; it would wait for the body"),
        Row {
            half_close: true,
            ..row(
                "truncated query, then EOF",
                Session,
                |_| [header(b'Q', 100), b"SELECT".to_vec()].concat(),
                Silent,
            )
        },
        // Malformed bodies: an ERROR, and the session goes on.
        row("query with invalid UTF-8", Session, |_| tagged(b'Q', b"SELECT '\xff'\0"), Error("22021")),
        row("query with a NUL inside", Session, |_| tagged(b'Q', b"SELECT 1\0x\0"), Error("08P01")),
        row("query without its terminator", Session, |_| tagged(b'Q', b"SELECT 1"), Error("08P01")),
        row("Sync with a body", Session, |_| tagged(b'S', b"x"), Error("08P01")),
        row(
            "Parse of a non-UTF-8 query",
            Session,
            |_| [tagged(b'P', b"\0SELECT '\xff'\0\0\0"), tagged(b'S', b"")].concat(),
            Error("22021"),
        ),
        row(
            "Describe of neither statement nor portal",
            Session,
            |_| [tagged(b'D', b"Xname\0"), tagged(b'S', b"")].concat(),
            Error("08P01"),
        ),
        row(
            "Close of neither statement nor portal",
            Session,
            |_| [tagged(b'C', b"Xname\0"), tagged(b'S', b"")].concat(),
            Error("08P01"),
        ),
        row(
            "Execute cut short",
            Session,
            |_| [tagged(b'E', b"\0\0"), tagged(b'S', b"")].concat(),
            Error("08P01"),
        ),
        row(
            "Bind with a negative parameter count",
            Session,
            |_| [tagged(b'B', b"\0\0\0\0\xff\xff\0\0"), tagged(b'S', b"")].concat(),
            Error("08P01"),
        )
        .differs(Error("26000"), "PostgreSQL looks up the unnamed statement before it reads the count"),
        row(
            "messages after an error wait for Sync",
            Session,
            |_| {
                let mut bytes = tagged(b'E', b"\0\0");
                bytes.extend(encode(&[
                    frontend::Message::Parse { name: "", query: "SELECT 1", param_types: vec![] },
                    frontend::Message::Bind {
                        portal: "",
                        statement: "nope",
                        param_formats: vec![],
                        params: vec![],
                        result_formats: vec![],
                    },
                    frontend::Message::Sync,
                ]));
                bytes
            },
            Error("08P01"),
        ),
        // Well-formed but meaningless here.
        row(
            "Bind to a missing statement",
            Session,
            |_| {
                encode(&[
                    frontend::Message::Bind {
                        portal: "",
                        statement: "nope",
                        param_formats: vec![],
                        params: vec![],
                        result_formats: vec![],
                    },
                    frontend::Message::Sync,
                ])
            },
            Error("26000"),
        ),
        row(
            "Execute of a missing portal",
            Session,
            |_| {
                encode(&[frontend::Message::Execute { portal: "nope", max_rows: 0 }, frontend::Message::Sync])
            },
            Error("34000"),
        ),
        row(
            "Describe of a missing statement",
            Session,
            |_| {
                encode(&[
                    frontend::Message::Describe { target: Target::Statement, name: "nope" },
                    frontend::Message::Sync,
                ])
            },
            Error("26000"),
        ),
        row("CopyData outside COPY", Session, |_| encode(&[frontend::Message::CopyData(b"1\t2\n")]), Ignored),
        row("CopyDone outside COPY", Session, |_| encode(&[frontend::Message::CopyDone]), Ignored),
        row("CopyFail outside COPY", Session, |_| encode(&[frontend::Message::CopyFail("no")]), Ignored),
        row("function call", Session, |_| tagged(b'F', &[0, 0, 0, 1, 0, 0, 0, 0, 0, 0]), Error("0A000"))
            .differs(Error("42883"), "PostgreSQL runs fastpath calls; mallard has no functions by OID"),
        Row {
            setup: Some("CREATE TABLE IF NOT EXISTS hostile_copy (a int)"),
            ..row(
                "unknown message type during COPY FROM STDIN",
                Session,
                |_| {
                    [encode(&[frontend::Message::Query("COPY hostile_copy FROM STDIN")]), tagged(b'z', b"")]
                        .concat()
                },
                Fatal("08P01"),
            )
        },
    ]
}

/// What the server did with a row's bytes.
enum Outcome {
    /// The session answered the probe query; the errors it sent before that.
    Continued(Vec<ErrorInfo>),
    /// The server closed the connection; the errors it sent before, and how many bytes
    /// it sent in all.
    Closed { errors: Vec<ErrorInfo>, bytes: usize },
    /// Neither within the row's time.
    Hung(String),
}

impl std::fmt::Display for Outcome {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let errors = |errors: &[ErrorInfo]| {
            errors
                .iter()
                .map(|e| format!("{} {} {:?}", e.severity.as_str(), e.code.code(), e.message))
                .collect::<Vec<_>>()
        };
        match self {
            Outcome::Continued(e) => write!(f, "the session went on after {:?}", errors(e)),
            Outcome::Closed { errors: e, bytes } => {
                write!(f, "closed after {bytes} bytes with {:?}", errors(e))
            }
            Outcome::Hung(what) => write!(f, "no verdict in {ROW_TIMEOUT:?}: {what}"),
        }
    }
}

fn matches(expect: Expect, outcome: &Outcome) -> bool {
    let code = |e: &ErrorInfo| e.code.code().to_owned();
    match (expect, outcome) {
        (Expect::Error(c), Outcome::Continued(errors)) => {
            errors.len() == 1 && errors[0].severity == Severity::Error && code(&errors[0]) == c
        }
        (Expect::Ignored, Outcome::Continued(errors)) => errors.is_empty(),
        (Expect::Fatal(c), Outcome::Closed { errors, .. }) => {
            errors.last().is_some_and(|e| e.severity == Severity::Fatal && code(e) == c)
        }
        (Expect::Silent, Outcome::Closed { bytes, .. }) => *bytes == 0,
        _ => false,
    }
}

/// A raw client that reads backend messages with a deadline.
struct Raw {
    stream: TcpStream,
    buf: Vec<u8>,
    received: usize,
    deadline: Instant,
}

enum Next {
    Message(Message),
    Closed,
    TimedOut,
}

impl Raw {
    fn connect(port: u16) -> Raw {
        let stream = TcpStream::connect(("127.0.0.1", port)).expect("connect");
        Raw { stream, buf: Vec::new(), received: 0, deadline: Instant::now() + ROW_TIMEOUT }
    }

    fn fill(&mut self) -> Option<bool> {
        let left = self.deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return None;
        }
        self.stream.set_read_timeout(Some(left)).unwrap();
        let mut chunk = [0u8; 8192];
        match self.stream.read(&mut chunk) {
            Ok(0) => Some(false),
            Ok(n) => {
                self.buf.extend_from_slice(&chunk[..n]);
                self.received += n;
                Some(true)
            }
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => None,
            // A reset after the server closed: what came before it still counts.
            Err(_) => Some(false),
        }
    }

    fn next(&mut self) -> Next {
        loop {
            match Message::decode(&self.buf) {
                Ok(Some((m, n))) => {
                    self.buf.drain(..n);
                    return Next::Message(m);
                }
                Ok(None) => {}
                Err(e) => panic!("the server sent an undecodable message: {e}"),
            }
            match self.fill() {
                Some(true) => {}
                Some(false) => return Next::Closed,
                None => return Next::TimedOut,
            }
        }
    }

    /// Reads raw one-byte answers (to SSLRequest).
    fn raw_bytes(&mut self, n: usize) -> Vec<u8> {
        while self.buf.len() < n {
            if self.fill() != Some(true) {
                break;
            }
        }
        let n = n.min(self.buf.len());
        self.received -= n;
        self.buf.drain(..n).collect()
    }

    /// Reads until ReadyForQuery; the errors on the way.
    fn until_ready(&mut self) -> Result<Vec<ErrorInfo>, String> {
        let mut errors = Vec::new();
        loop {
            match self.next() {
                Next::Message(Message::ReadyForQuery(_)) => return Ok(errors),
                Next::Message(Message::ErrorResponse(e)) => errors.push(e),
                Next::Message(_) => {}
                Next::Closed => return Err(format!("closed; errors {errors:?}")),
                Next::TimedOut => return Err(format!("no ReadyForQuery; errors {errors:?}")),
            }
        }
    }
}

/// Sends a row's bytes to the server on `port` and watches what it does.
fn observe(port: u16, login: &Login, row: &Row, expect: Expect) -> Outcome {
    let mut raw = Raw::connect(port);
    if row.phase == Phase::Session {
        raw.stream.write_all(&startup_packet(login)).unwrap();
        if let Err(e) = raw.until_ready() {
            return Outcome::Hung(format!("startup failed: {e}"));
        }
        if let Some(sql) = row.setup {
            raw.stream.write_all(&encode(&[frontend::Message::Query(sql)])).unwrap();
            if let Err(e) = raw.until_ready() {
                return Outcome::Hung(format!("setup failed: {e}"));
            }
        }
        raw.received = 0;
    }
    // The server may close before it has read everything: a failed write is no verdict.
    let _ = raw.stream.write_all(&(row.bytes)(login));
    // The probe goes only where the session should go on: bytes sent to a server that
    // closes could turn its close into a reset that swallows the FATAL.
    let continues = matches!(expect, Expect::Error(_) | Expect::Ignored);
    if continues {
        let _ = raw.stream.write_all(&encode(&[frontend::Message::Query(PROBE)]));
    }
    if row.half_close {
        let _ = raw.stream.shutdown(Shutdown::Write);
    }
    let answers = raw.raw_bytes(row.encryption_answers);
    if answers.iter().any(|b| *b != b'N') {
        return Outcome::Hung(format!("unexpected answer to the encryption request: {answers:?}"));
    }
    let mut errors = Vec::new();
    let mut probed = false;
    loop {
        match raw.next() {
            Next::Message(Message::ErrorResponse(e)) => errors.push(e),
            Next::Message(Message::DataRow(values)) => {
                probed |= values.first().and_then(|v| v.as_deref()) == Some(PROBE_VALUE);
            }
            Next::Message(Message::ReadyForQuery(_)) if probed => return Outcome::Continued(errors),
            Next::Message(_) => {}
            Next::Closed => return Outcome::Closed { errors, bytes: raw.received },
            Next::TimedOut => return Outcome::Hung(format!("errors so far: {errors:?}")),
        }
    }
}

fn start_mallard() -> Server {
    Server::start(
        env!("CARGO_BIN_EXE_mallard"),
        Options {
            storage: "memory",
            workers: 1,
            env: vec![("MALLARD_MAX_MESSAGE_SIZE".into(), MAX_MESSAGE.to_string())],
            ..Options::default()
        },
    )
}

#[test]
fn malformed_input_gets_the_right_answer_and_the_worker_keeps_serving() {
    let rows = rows();
    assert!(rows.len() >= 30, "the table has {} rows", rows.len());
    let server = start_mallard();
    let workers = server.wait_workers(1, Duration::from_secs(10));
    let login = Login { user: "tester", database: "mallard" };
    let mut failures = Vec::new();
    for row in &rows {
        let outcome = observe(server.port, &login, row, row.mallard);
        if !matches(row.mallard, &outcome) {
            failures.push(format!("{}: expected {:?}, got: {outcome}", row.name, row.mallard));
        }
        // Whatever the row did, a new client is served.
        let mut client = server.connect();
        let answer = client.query_one("SELECT 1", &[]).unwrap_or_else(|e| panic!("after {}: {e}", row.name));
        assert_eq!(answer.get::<_, i32>(0), 1, "after {}", row.name);
    }
    assert_eq!(server.worker_pids(), workers, "a worker was replaced:\n{}", server.logs());
    let logs = server.logs();
    assert!(!logs.contains("panicked"), "a thread panicked:\n{logs}");
    assert!(failures.is_empty(), "{} rows failed:\n{}", failures.len(), failures.join("\n"));
}

/// The table's claims about PostgreSQL 15, checked against one.
#[test]
fn postgres_15_answers_as_the_table_says() {
    let pg = Postgres::start();
    let login = Login { user: pg.user, database: pg.database };
    let mut failures = Vec::new();
    for row in rows() {
        let (expect, why) = match row.postgres {
            Reference::Same => (row.mallard, "as mallard"),
            Reference::Differs(expect, why) => (expect, why),
            Reference::Skip(why) => {
                eprintln!("not compared: {}: {why}", row.name);
                continue;
            }
        };
        let outcome = observe(pg.port, &login, &row, expect);
        if !matches(expect, &outcome) {
            failures.push(format!(
                "{}: PostgreSQL was expected to give {expect:?} ({why}), got: {outcome}",
                row.name
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{} rows failed:\n{}\nlog:\n{}",
        failures.len(),
        failures.join("\n"),
        pg.logs()
    );
}
