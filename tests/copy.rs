//! Issue 3's acceptance: `COPY ... FROM STDIN` and `COPY ... TO STDOUT` through the
//! real binary with psql (simple protocol, `\copy` included) and a raw client for what
//! psql hides (`CopyFail`, data after an error, SQLSTATEs), compared with a real
//! PostgreSQL 15 holding the same data.

use mallard_harness::postgres_server;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::process::{Command, Output, Stdio};
use std::time::Duration;

use mallard_harness::{Options, Server};
use mallard_protocol::pg::backend::{ErrorInfo, Message};
use mallard_protocol::pg::{frontend, startup, Format, TransactionStatus, PROTOCOL_3_0};
use postgres_server::Postgres;

const BIN: &str = env!("CARGO_BIN_EXE_mallard");

/// Where a psql or raw client connects.
#[derive(Clone, Copy)]
struct Target<'a> {
    port: u16,
    user: &'a str,
    database: &'a str,
}

fn mallard_target(s: &Server) -> Target<'static> {
    Target { port: s.port, user: "tester", database: "mallard" }
}

fn pg_target(pg: &Postgres) -> Target<'_> {
    Target { port: pg.port, user: pg.user, database: pg.database }
}

/// Runs `psql -X -A -t -q -v ON_ERROR_STOP=1 -c <command>` with `input` on stdin.
fn psql(t: Target<'_>, command: &str, input: &[u8]) -> Output {
    let mut child = Command::new("psql")
        .args(["-X", "-A", "-t", "-q", "-v", "ON_ERROR_STOP=1", "-h", "127.0.0.1"])
        .args(["-p", &t.port.to_string(), "-U", t.user, "-d", t.database, "-c", command])
        .env("PGCONNECT_TIMEOUT", "10")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run psql (install postgresql-client)");
    let mut stdin = child.stdin.take().unwrap();
    let input = input.to_vec();
    let writer = std::thread::spawn(move || {
        let _ = stdin.write_all(&input);
    });
    let out = child.wait_with_output().expect("psql output");
    writer.join().unwrap();
    out
}

/// psql's stdout, asserting success.
fn psql_ok(t: Target<'_>, command: &str, input: &[u8]) -> Vec<u8> {
    let out = psql(t, command, input);
    assert!(
        out.status.success(),
        "psql -c {command:?} failed on port {}: {}",
        t.port,
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

/// One answer to a query sent by [`CopyClient`].
#[derive(Debug, Default)]
struct Answer {
    copy_in: Option<(Format, Vec<Format>)>,
    copy_out: Option<(Format, Vec<Format>)>,
    data: Vec<u8>,
    tags: Vec<String>,
    error: Option<ErrorInfo>,
    status: Option<TransactionStatus>,
}

impl Answer {
    fn code(&self) -> Option<&str> {
        self.error.as_ref().map(|e| e.code.code())
    }
}

/// A raw protocol client that can speak the copy sub-protocols message by message.
struct CopyClient {
    stream: TcpStream,
    buf: Vec<u8>,
}

impl CopyClient {
    fn connect(t: Target<'_>) -> CopyClient {
        let stream = TcpStream::connect(("127.0.0.1", t.port)).expect("connect");
        stream.set_read_timeout(Some(Duration::from_secs(120))).unwrap();
        let mut c = CopyClient { stream, buf: Vec::new() };
        let mut packet = Vec::new();
        let params = vec![("user", t.user), ("database", t.database)];
        startup::encode(&startup::Request::Startup { version: PROTOCOL_3_0, params }, &mut packet);
        c.stream.write_all(&packet).unwrap();
        while !matches!(c.next(), Message::ReadyForQuery(_)) {}
        c
    }

    fn send(&mut self, messages: &[frontend::Message<'_>]) {
        let mut out = Vec::new();
        for m in messages {
            m.encode(&mut out);
        }
        self.stream.write_all(&out).unwrap();
    }

    fn next(&mut self) -> Message {
        let mut chunk = [0u8; 65536];
        loop {
            if let Some((m, n)) = Message::decode(&self.buf).expect("valid backend message") {
                self.buf.drain(..n);
                return m;
            }
            let n = self.stream.read(&mut chunk).expect("read");
            assert!(n > 0, "server closed the connection");
            self.buf.extend_from_slice(&chunk[..n]);
        }
    }

    /// Reads until `ReadyForQuery`, or until `CopyInResponse` when `until_copy_in`.
    fn answer(&mut self, until_copy_in: bool) -> Answer {
        let mut a = Answer::default();
        loop {
            match self.next() {
                Message::CopyInResponse { format, columns } => {
                    a.copy_in = Some((format, columns));
                    if until_copy_in {
                        return a;
                    }
                }
                Message::CopyOutResponse { format, columns } => a.copy_out = Some((format, columns)),
                Message::CopyData(d) => a.data.extend_from_slice(&d),
                Message::CommandComplete(tag) => a.tags.push(tag),
                Message::ErrorResponse(e) => a.error = Some(e),
                Message::ReadyForQuery(s) => {
                    a.status = Some(s);
                    return a;
                }
                _ => {}
            }
        }
    }

    fn query(&mut self, sql: &str) -> Answer {
        self.send(&[frontend::Message::Query(sql)]);
        self.answer(false)
    }

    /// Starts a COPY FROM STDIN; returns the answer up to `CopyInResponse` (or the
    /// error that replaced it).
    fn copy_in(&mut self, sql: &str) -> Answer {
        self.send(&[frontend::Message::Query(sql)]);
        self.answer(true)
    }

    /// Sends `data` in `CopyData` messages of `chunk` bytes, then `end`, and reads the
    /// answer.
    fn finish_copy(&mut self, data: &[u8], chunk: usize, end: frontend::Message<'_>) -> Answer {
        let mut messages: Vec<frontend::Message<'_>> =
            data.chunks(chunk).map(frontend::Message::CopyData).collect();
        messages.push(end);
        self.send(&messages);
        self.answer(false)
    }

    fn value(&mut self, sql: &str) -> String {
        let a = self.query(&format!("copy ({sql}) to stdout"));
        assert!(a.error.is_none(), "{sql}: {:?}", a.error);
        String::from_utf8(a.data).unwrap().trim_end().to_owned()
    }
}

/// The table both servers hold for the comparisons: types whose text output mallard
/// already matches, values that exercise every escaping rule.
const TABLE: &str = "create table items (id integer, n bigint, name text, price numeric(10,2), ok boolean, \
                     day date, ts timestamp, ratio double precision)";

const ROWS: &str = "insert into items values \
    (1, 10000000000, 'plain', 1.50, true, '2024-01-05', '2024-01-05 12:34:56.5', 0.1), \
    (2, -1, 'tab\there', 0.00, false, '1999-12-31', '1999-12-31 23:59:59', -2.5), \
    (3, 0, 'new\nline and \\ backslash', -3.25, null, null, null, 1e20), \
    (4, null, 'comma, \"quote\" and ''apostrophe''', null, true, '2000-02-29', '2000-02-29 00:00:00', null), \
    (5, 7, '', 9.99, false, '0001-01-01', '1970-01-01 00:00:00.000001', 0), \
    (6, 8, null, 1.00, true, '2024-06-30', '2024-06-30 23:59:59.999999', 3.5), \
    (7, 9, '\\N', 2.00, true, '2024-07-01', '2024-07-01 00:00:00', 1), \
    (8, 10, 'naïve ☃ 日本語 🦆 \r cr', 3.00, false, '2024-07-02', '2024-07-02 00:00:00', 2), \
    (9, 11, '\\.', 4.00, true, '2024-07-03', '2024-07-03 00:00:00', 3)";

/// The items table on both servers; mallard's rows inserted with DuckDB's E-less
/// escapes turned into the same strings PostgreSQL gets.
fn pair() -> (Postgres, Server) {
    let pg = Postgres::start();
    let mallard = Server::start(BIN, Options::default());
    for t in [pg_target(&pg), mallard_target(&mallard)] {
        psql_ok(t, TABLE, b"");
    }
    // PostgreSQL reads E'' escapes; DuckDB reads the same escapes in E'' too.
    let rows = ROWS
        .replace("'tab\there'", "E'tab\\there'")
        .replace("'new\nline", "E'new\\nline")
        .replace("'naïve ☃ 日本語 🦆 \r cr'", "E'naïve ☃ 日本語 🦆 \\r cr'");
    for t in [pg_target(&pg), mallard_target(&mallard)] {
        psql_ok(t, &rows, b"");
    }
    (pg, mallard)
}

#[test]
fn copy_to_stdout_matches_postgres_byte_for_byte() {
    let (pg, mallard) = pair();
    let commands = [
        "copy items to stdout",
        "copy items to stdout with (format text, null 'NULL', delimiter '|')",
        "copy items to stdout with (format csv)",
        "copy items to stdout with (format csv, header true)",
        "copy items to stdout with csv header delimiter ';' null 'n/a'",
        "copy items to stdout with (format csv, quote '''', escape '\\', force_quote (name, ok))",
        "copy items to stdout with (format csv, force_quote *)",
        "copy items (name, id) to stdout",
        // Separators that numbers, dates and timestamps are written with: those values
        // are escaped or quoted too, and a number equal to the NULL marker is quoted.
        "copy items to stdout with (delimiter '-')",
        "copy items to stdout with (delimiter ':')",
        "copy items to stdout with (delimiter ' ')",
        "copy items to stdout with (format csv, delimiter '.')",
        "copy items to stdout with (format csv, quote '-')",
        "copy items to stdout with (format csv, quote 't')",
        "copy items to stdout with (format csv, null '10')",
        "copy (select id, name from items where id > 2 order by id desc) to stdout with (format csv, header)",
        "copy (select name from items order by id) to stdout (format csv)",
        "copy (select id from items where false) to stdout",
        "copy (select * from items order by id) to stdout with (format binary)",
        "copy (select id, name from items order by id) to stdout with binary",
    ];
    let mut differences = Vec::new();
    for command in commands {
        // Row order of a plain table scan is not part of the contract; sort lines
        // where the command does not order.
        let ordered = command.contains("order by");
        let get = |t| {
            let out = psql_ok(t, command, b"");
            if ordered || command.contains("header") {
                out
            } else {
                let mut lines: Vec<&[u8]> = out.split_inclusive(|&b| b == b'\n').collect();
                lines.sort();
                lines.concat()
            }
        };
        let (expected, got) = (get(pg_target(&pg)), get(mallard_target(&mallard)));
        if expected != got {
            differences.push(format!(
                "{command}\n  postgres: {:?}\n  mallard:  {:?}",
                String::from_utf8_lossy(&expected),
                String::from_utf8_lossy(&got)
            ));
        }
    }
    assert!(differences.is_empty(), "COPY TO output differs:\n{}", differences.join("\n"));
}

#[test]
fn copy_out_messages_and_tag() {
    let (pg, mallard) = pair();
    for t in [pg_target(&pg), mallard_target(&mallard)] {
        let mut c = CopyClient::connect(t);
        let a = c.query("copy items (id, name) to stdout (format csv)");
        assert_eq!(a.copy_out, Some((Format::Text, vec![Format::Text, Format::Text])), "port {}", t.port);
        assert_eq!(a.tags, vec!["COPY 9".to_owned()]);
        assert_eq!(a.status, Some(TransactionStatus::Idle));
    }
}

#[test]
fn binary_copy_round_trips_through_mallard_and_from_postgres() {
    let (pg, mallard) = pair();
    let m = mallard_target(&mallard);
    for table in ["from_mallard", "from_postgres"] {
        psql_ok(m, &TABLE.replace("items", table), b"");
    }
    let out = "copy (select * from items order by id) to stdout (format binary)";
    let ours = psql_ok(m, out, b"");
    let theirs = psql_ok(pg_target(&pg), out, b"");
    assert!(
        ours.starts_with(b"PGCOPY\n\xff\r\n\0"),
        "no binary signature: {:?}",
        &ours[..ours.len().min(20)]
    );
    psql_ok(m, "copy from_mallard from stdin (format binary)", &ours);
    psql_ok(m, "copy from_postgres from stdin with binary", &theirs);
    let dump = |table: &str| format!("copy (select * from {table} order by id) to stdout");
    let expected = psql_ok(pg_target(&pg), &dump("items"), b"");
    for table in ["items", "from_mallard", "from_postgres"] {
        assert_eq!(
            String::from_utf8_lossy(&psql_ok(m, &dump(table), b"")),
            String::from_utf8_lossy(&expected),
            "{table}"
        );
    }
    let mut c = CopyClient::connect(m);
    let a = c.query("copy items (id, name) to stdout (format binary)");
    assert_eq!(a.copy_out, Some((Format::Binary, vec![Format::Binary, Format::Binary])));
    let start = c.copy_in("copy from_mallard (id, name) from stdin (format binary)");
    assert_eq!(start.copy_in, Some((Format::Binary, vec![Format::Binary, Format::Binary])));
    // The stream split at every 3 bytes, trailer and all.
    let a = c.finish_copy(&a.data, 3, frontend::Message::CopyDone);
    assert_eq!(a.tags, vec!["COPY 9".to_owned()], "{:?}", a.error);
}

/// Feeds the same input to both servers and compares what each then holds.
#[test]
fn copy_from_stdin_reads_like_postgres() {
    let (pg, mallard) = pair();
    let cases: &[(&str, &[u8])] = &[
        ("copy items from stdin", b"10\t1\ta\\tb\\nc\\\\d\\x41\\101\t1.5\tt\t2024-01-01\t2024-01-01 00:00:00\t1\n11\t\\N\t\\N\t\\N\t\\N\t\\N\t\\N\t\\N\n12\t2\t\t0\tf\t2024-01-02\t2024-01-02 00:00:00\t-0\n\\.\n"),
        ("copy items from stdin with (format csv)", b"20,1,\"a,b\",1,true,2024-01-01,2024-01-01 00:00:00,1\r\n21,,,,,,,\r\n22,2,\"\",2,false,2024-01-02,2024-01-02 01:00:00,2\r\n23,3,\"multi\r\nline \"\"q\"\"\",3,t,2024-01-03,2024-01-03 00:00:00,3\r\n"),
        ("copy items from stdin with csv header delimiter ';' null 'NA'", b"id;n;name;price;ok;day;ts;ratio\n30;NA;\"NA\";NA;NA;NA;NA;NA\n31;1;x;1;1;2024-01-01;2024-01-01 00:00:00;1\n"),
        ("copy items (id, name) from stdin (format csv, force_not_null (name))", b"40,\n41,\"\"\n"),
        ("copy items (id, name) from stdin (format csv, force_null (name))", b"42,\"\"\n43,x\n"),
        ("copy items (name, id) from stdin (format csv, header match)", b"name,id\nm,50\n"),
        ("copy items from stdin (format csv, quote '''', escape '\\')", b"60,1,'it\\'s, ok',1,t,2024-01-01,2024-01-01 00:00:00,1\n"),
    ];
    for (command, input) in cases {
        for t in [pg_target(&pg), mallard_target(&mallard)] {
            psql_ok(t, command, input);
        }
    }
    let dump = "copy (select * from items order by id) to stdout";
    let (expected, got) = (psql_ok(pg_target(&pg), dump, b""), psql_ok(mallard_target(&mallard), dump, b""));
    assert_eq!(String::from_utf8_lossy(&got), String::from_utf8_lossy(&expected));

    // Types whose PostgreSQL input syntax DuckDB's own cast reads differently.
    let table =
        "create table extra (id integer, b bytea, arr integer[], u uuid, tz timestamptz, iv interval)";
    let input: &[u8] = b"1\t\\\\x00ff41\t{1,NULL,3}\t{A0EEBC99-9C0B-4EF8-BB6D-6BB9BD380A11}\t2024-01-05 12:00:00+02\t1 day 02:03:04\n\
                         2\t\\N\t{}\t\\N\t\\N\t-1 mons\n";
    for t in [pg_target(&pg), mallard_target(&mallard)] {
        psql_ok(t, table, b"");
        psql_ok(t, "copy extra from stdin", input);
    }
    let dump = "copy (select * from extra order by id) to stdout";
    let (expected, got) = (psql_ok(pg_target(&pg), dump, b""), psql_ok(mallard_target(&mallard), dump, b""));
    assert_eq!(String::from_utf8_lossy(&got), String::from_utf8_lossy(&expected));
}

/// Rows whose every field is a value of its column's type reach DuckDB a chunk of
/// 2048 at a time; a row with a field DuckDB must cast (here a numeric of more than 38
/// digits) goes alone, between the chunks. Text and binary input of 5,000 rows across
/// the chunk boundaries, those rows among them, must give the same rows in the same
/// order as PostgreSQL (no ORDER BY in the dump).
#[test]
fn chunked_rows_keep_postgres_values_and_order() {
    let pg = Postgres::start();
    let mallard = Server::start(BIN, Options::default());
    let table = "(id integer, s smallint, b bigint, r real, d double precision, n numeric(15,2), \
                 w numeric(30,10), day date, t time, ts timestamp, tz timestamptz, iv interval, \
                 txt text, flag boolean, raw bytea)";
    let mut input = String::new();
    for id in 0..5000u32 {
        let null = |k: u32| (id + k).is_multiple_of(17);
        let field = |k: u32, v: String| if null(k) { "\\N".to_owned() } else { v };
        let n = match id {
            // More digits than DuckDB's DECIMAL holds: cast by DuckDB, row by row.
            100 | 2047 | 2048 | 2049 | 4999 => format!("0.{}1", "0".repeat(39)),
            _ => format!("{}{}.{:03}5", if id % 3 == 0 { "-" } else { "" }, id * 7, id % 1000),
        };
        let fields = [
            id.to_string(),
            field(1, (id as i32 - 2500).to_string()),
            field(2, (i64::from(id) * 1_000_000_007).to_string()),
            field(3, format!("{}.25", id)),
            field(4, if id % 250 == 0 { "NaN".to_owned() } else { format!("{}e-3", id) }),
            field(5, n),
            field(6, format!("{}.{:010}", id, id * 3)),
            field(
                7,
                if id == 7 {
                    "infinity".to_owned()
                } else {
                    format!("20{:02}-{:02}-{:02}", id % 100, id % 12 + 1, id % 28 + 1)
                },
            ),
            field(8, format!("{:02}:{:02}:{:02}.{:06}", id % 24, id % 60, (id * 7) % 60, id)),
            field(9, format!("2024-01-{:02} {:02}:00:00.5", id % 28 + 1, id % 24)),
            field(10, format!("2024-02-{:02} 10:00:00+0{}", id % 28 + 1, id % 9)),
            field(11, format!("{} days {:02}:00:01", id, id % 24)),
            field(12, if id % 5 == 0 { "tab\\there".to_owned() } else { format!("row {id} ☃") }),
            field(13, ["t", "f", "yes", "off"][id as usize % 4].to_owned()),
            field(14, format!("\\\\x{:08x}", id)),
        ];
        input.push_str(&fields.join("\t"));
        input.push('\n');
    }
    for t in [pg_target(&pg), mallard_target(&mallard)] {
        psql_ok(t, &format!("create table chunked {table}"), b"");
        psql_ok(t, &format!("create table chunked_binary {table}"), b"");
        psql_ok(t, "copy chunked from stdin", input.as_bytes());
    }
    let binary = psql_ok(pg_target(&pg), "copy chunked to stdout (format binary)", b"");
    for t in [pg_target(&pg), mallard_target(&mallard)] {
        psql_ok(t, "copy chunked_binary from stdin (format binary)", &binary);
    }
    for dump in ["copy chunked to stdout", "copy chunked_binary to stdout"] {
        let expected = psql_ok(pg_target(&pg), dump, b"");
        let got = psql_ok(mallard_target(&mallard), dump, b"");
        let (expected, got) = (String::from_utf8_lossy(&expected), String::from_utf8_lossy(&got));
        assert_eq!(got.lines().count(), 5000, "{dump}");
        for (i, (g, e)) in got.lines().zip(expected.lines()).enumerate() {
            assert_eq!(g, e, "{dump}: line {}", i + 1);
        }
    }
}

#[test]
fn bad_data_gets_postgres_sqlstates_and_the_session_recovers() {
    let (pg, mallard) = pair();
    for t in [pg_target(&pg), mallard_target(&mallard)] {
        psql_ok(t, "create table strict (id integer not null)", b"");
        psql_ok(t, "create table texts (a text, b text)", b"");
    }
    /// 5,000 rows `N<rest>`, then `last`.
    fn many_rows_then(rest: &str, last: &[u8]) -> Vec<u8> {
        let mut data: Vec<u8> = (1..=5000).flat_map(|i| format!("{i}{rest}\n").into_bytes()).collect();
        data.extend_from_slice(last);
        data
    }
    let cases: &[(&str, &[u8])] = &[
        ("copy items (id, name) from stdin", b"1\ta\nx\tb\n"),
        ("copy items (id, name) from stdin", b"1\ta\textra\n"),
        ("copy items (id, name) from stdin", b"1\n"),
        ("copy items (id, name) from stdin (format csv)", b"1,\"open\n"),
        ("copy items (id, name) from stdin", b"1\ta\n2\tb\rc\n"),
        ("copy items (id, name) from stdin", b"1\ta\n\\.x\n"),
        ("copy items (id, name) from stdin (format csv, header match)", b"id,nom\n"),
        ("copy items (id, name) from stdin", b"1\t\\xff\n"),
        // A character whose bytes two escapes split between two fields: the row is
        // UTF-8 as a whole, neither field is. And an escaped NUL.
        ("copy texts from stdin", b"\\303\t\\251\n"),
        ("copy texts from stdin", b"a\\0\tb\n"),
        ("copy items (id, nope) from stdin", b""),
        ("copy items (id, id) from stdin", b""),
        ("copy nope from stdin", b""),
        ("copy items from stdin (format xml)", b""),
        ("copy items from stdin (format csv, format csv)", b""),
        ("copy items from stdin (format binary)", b"not binary at all"),
        (
            "copy items (id) from stdin (format binary)",
            b"PGCOPY\n\xff\r\n\0\0\0\0\0\0\0\0\0\0\x01\0\0\0\x02\0\x01",
        ),
        (
            "copy items (id, name) from stdin (format binary)",
            b"PGCOPY\n\xff\r\n\0\0\0\0\0\0\0\0\0\0\x01\0\0\0\x04\0\0\0\x01",
        ),
        ("copy items (id, day) from stdin", b"1\t2024-13-01\n"),
        ("copy items (id, price) from stdin", b"1\t1.2.3\n"),
        ("copy items (id, ok) from stdin", b"1\tmaybe\n"),
        ("copy items (id) from stdin", b"1.5\n"),
        ("copy items (id) from stdin", b"99999999999\n"),
        // After chunks of good rows: a value DuckDB casts row by row, and a NULL the
        // table refuses, both reported by the thread that appends.
        ("copy items (id, price) from stdin", &many_rows_then("\t1.5", b"1\t123456789012.5\n")),
        ("copy strict from stdin", &many_rows_then("", b"\\N\n")),
    ];
    let mut differences = Vec::new();
    for (command, input) in cases {
        let mut codes = Vec::new();
        for t in [pg_target(&pg), mallard_target(&mallard)] {
            let mut c = CopyClient::connect(t);
            let start = c.copy_in(command);
            let answer = if start.copy_in.is_some() {
                // Data keeps coming after the error, as from a client that streams
                // without reading; it must be ignored up to CopyDone.
                let mut data = input.to_vec();
                data.extend_from_slice(b"more\tdata\n".repeat(100).as_slice());
                c.finish_copy(&data, 7, frontend::Message::CopyDone)
            } else {
                start
            };
            let after = c.query("select 1");
            assert!(after.error.is_none(), "{command}: session did not recover: {:?}", after.error);
            codes.push((answer.code().map(str::to_owned), answer.status));
        }
        if codes[0] != codes[1] {
            differences.push(format!("{command}: postgres {:?}, mallard {:?}", codes[0], codes[1]));
        }
    }
    let count = "copy (select (select count(*) from items) + (select count(*) from strict)) to stdout";
    assert_eq!(psql_ok(mallard_target(&mallard), count, b""), b"9\n", "failed copies left rows behind");
    assert!(differences.is_empty(), "SQLSTATEs differ:\n{}", differences.join("\n"));
}

#[test]
fn copy_fail_rolls_back_like_postgres() {
    let (pg, mallard) = pair();
    let mut results = Vec::new();
    for t in [pg_target(&pg), mallard_target(&mallard)] {
        let mut c = CopyClient::connect(t);
        // Outside a block: nothing stays.
        assert!(c.copy_in("copy items (id, name) from stdin").copy_in.is_some());
        let a = c.finish_copy(b"100\ta\n101\tb\n102\t", 5, frontend::Message::CopyFail("client gave up"));
        let message = a.error.as_ref().map(|e| (e.code.code().to_owned(), e.message.clone()));
        let outside = (message, a.status, c.value("select count(*) from items"));
        // Inside a block: the block fails, and ends rolled back.
        c.query("begin");
        c.query("insert into items (id) values (200)");
        c.copy_in("copy items (id) from stdin");
        let a = c.finish_copy(b"201\n", 100, frontend::Message::CopyFail("again"));
        let failed = (a.code().map(str::to_owned), a.status);
        let next = c.query("select 1");
        let commit = c.query("commit");
        let inside =
            (failed, next.code().map(str::to_owned), commit.tags, c.value("select count(*) from items"));
        results.push((outside, inside));
    }
    assert_eq!(results[1], results[0], "mallard (right) differs from postgres (left)");
    let ((message, status, count), _) = &results[1];
    assert_eq!(message.as_ref().unwrap().0, "57014");
    assert_eq!(message.as_ref().unwrap().1, "COPY from stdin failed: client gave up");
    assert_eq!((*status, count.as_str()), (Some(TransactionStatus::Idle), "9"));
}

#[test]
fn rows_split_across_copy_data_anywhere() {
    let mallard = Server::start(BIN, Options::default());
    let t = mallard_target(&mallard);
    psql_ok(t, "create table s (a integer, b text)", b"");
    let csv: &[u8] = b"1,\"x,\r\n\"\"y\"\"\"\r\n2,\r\n3,\"\"\r\n";
    let text: &[u8] = b"4\tq\\tr\\\\s\\x41\n5\t\\N\n";
    let mut c = CopyClient::connect(t);
    for chunk in 1..=csv.len() {
        assert!(c.copy_in("copy s from stdin (format csv)").copy_in.is_some());
        let a = c.finish_copy(csv, chunk, frontend::Message::CopyDone);
        assert_eq!(a.tags, vec!["COPY 3".to_owned()], "chunk {chunk}: {:?}", a.error);
    }
    for chunk in 1..=text.len() {
        c.copy_in("copy s from stdin");
        let a = c.finish_copy(text, chunk, frontend::Message::CopyDone);
        assert_eq!(a.tags, vec!["COPY 2".to_owned()], "chunk {chunk}: {:?}", a.error);
    }
    let distinct = c.value(
        "select string_agg(distinct coalesce(b, '<null>'), '|' order by coalesce(b, '<null>')) from s",
    );
    assert_eq!(distinct, "|<null>|q\\tr\\\\sA|x,\\r\\n\"y\"");
    let counts = c.value("select count(*), count(b) from s");
    assert_eq!(counts, format!("{}\t{}", csv.len() * 3 + text.len() * 2, csv.len() * 2 + text.len()));
}

#[test]
fn psql_file_and_backslash_copy() {
    let mallard = Server::start(BIN, Options::default());
    let t = mallard_target(&mallard);
    psql_ok(t, "create table f (id integer, name text, score double)", b"");
    let file = mallard.dir.path().join("in.csv");
    std::fs::write(&file, "id,name,score\n1,alpha,1.5\n2,\"be,ta\",\n3,,2\n").unwrap();
    let input = std::fs::read(&file).unwrap();
    psql_ok(t, "COPY f FROM STDIN (FORMAT csv, HEADER)", &input);
    psql_ok(t, &format!("\\copy f from '{}' with csv header", file.display()), b"");
    let out = mallard.dir.path().join("out.txt");
    psql_ok(t, &format!("\\copy (select * from f order by id, name) to '{}'", out.display()), b"");
    assert_eq!(
        std::fs::read_to_string(&out).unwrap(),
        "1\talpha\t1.5\n1\talpha\t1.5\n2\tbe,ta\t\\N\n2\tbe,ta\t\\N\n3\t\\N\t2\n3\t\\N\t2\n"
    );
    // A file COPY is still DuckDB's own, in the data directory SQL may write to.
    let parquet = mallard.data_dir.join("f.parquet");
    psql_ok(t, &format!("copy f to '{}' (format parquet)", parquet.display()), b"");
    assert!(parquet.exists());
}

/// pgbench's client-side data generation, line for line: `aid\tbid\t0\t\n`.
fn pgbench_accounts(rows: u64, out: &mut Vec<u8>, from: u64) {
    use std::fmt::Write as _;
    let mut s = String::new();
    for aid in from..from + rows {
        let _ = writeln!(s, "{aid}\t{}\t0\t", (aid - 1) / 100_000 + 1);
    }
    out.extend_from_slice(s.as_bytes());
}

fn proc_status_kb(pid: u32, field: &str) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    status
        .lines()
        .find_map(|l| l.strip_prefix(field))
        .and_then(|v| v.trim().trim_end_matches(" kB").trim().parse().ok())
        .unwrap_or(0)
}

#[test]
fn pgbench_statement_and_a_million_rows_in_bounded_memory() {
    let mallard = Server::start(BIN, Options::default());
    let t = mallard_target(&mallard);
    psql_ok(t, "create table pgbench_accounts (aid integer not null, bid integer, abalance integer, filler char(84))", b"");
    // psql with pgbench's exact statement.
    let mut small = Vec::new();
    pgbench_accounts(1000, &mut small, 1);
    psql_ok(t, "copy pgbench_accounts from stdin with (freeze on)", &small);

    // A million rows, streamed as pgbench does it: in a transaction after TRUNCATE.
    let worker = mallard.worker_pids()[0];
    let before = (proc_status_kb(worker, "VmHWM:"), proc_status_kb(worker, "VmRSS:"));
    let mut c = CopyClient::connect(t);
    c.query("begin");
    c.query("truncate pgbench_accounts");
    let start = c.copy_in("copy pgbench_accounts from stdin with (freeze on)");
    assert_eq!(start.copy_in, Some((Format::Text, vec![Format::Text; 4])));
    const ROWS: u64 = 1_000_000;
    const BATCH: u64 = 5_000;
    let began = std::time::Instant::now();
    let mut sent = 0u64;
    let mut buf = Vec::new();
    for from in (1..=ROWS).step_by(BATCH as usize) {
        buf.clear();
        pgbench_accounts(BATCH, &mut buf, from);
        sent += buf.len() as u64;
        // pgbench sends one CopyData per line; batches of lines split anywhere are the
        // harder case for the server, so split at a fixed size that ignores lines.
        let messages: Vec<frontend::Message<'_>> =
            buf.chunks(8191).map(frontend::Message::CopyData).collect();
        c.send(&messages);
    }
    c.send(&[frontend::Message::CopyDone]);
    let a = c.answer(false);
    let elapsed = began.elapsed();
    assert_eq!(a.tags, vec![format!("COPY {ROWS}")], "{:?}", a.error);
    assert!(c.query("commit").error.is_none());
    let after = (proc_status_kb(worker, "VmHWM:"), proc_status_kb(worker, "VmRSS:"));
    assert_eq!(
        c.value("select count(*), sum(aid), max(bid) from pgbench_accounts"),
        "1000000\t500000500000\t10"
    );
    eprintln!(
        "1M-row COPY: {} MB sent in {elapsed:?}; worker VmHWM {} -> {} MB, VmRSS {} -> {} MB",
        sent / 1_000_000,
        before.0 / 1024,
        after.0 / 1024,
        before.1 / 1024,
        after.1 / 1024
    );
    // A sanity bound only: the table itself lives in this in-memory database.
    assert!(after.0 < 2 * 1024 * 1024, "worker peak memory {} kB", after.0);
}

#[test]
fn a_row_without_end_is_bounded_by_the_message_size_limit() {
    let env = vec![("MALLARD_MAX_MESSAGE_SIZE".to_owned(), "65536".to_owned())];
    let mallard = Server::start(BIN, Options { env, ..Options::default() });
    let t = mallard_target(&mallard);
    psql_ok(t, "create table long (a text)", b"");
    let mut c = CopyClient::connect(t);
    c.copy_in("copy long from stdin");
    // A row just under the limit is fine, however it is split.
    let mut row = vec![b'x'; 60_000];
    row.push(b'\n');
    let a = c.finish_copy(&row, 8192, frontend::Message::CopyDone);
    assert_eq!(a.tags, vec!["COPY 1".to_owned()], "{:?}", a.error);
    c.copy_in("copy long from stdin");
    let a = c.finish_copy(&vec![b'x'; 200_000], 8192, frontend::Message::CopyDone);
    assert_eq!(a.code(), Some("54000"), "{:?}", a.error);
    assert_eq!(c.value("select count(*) from long"), "1");
}

/// Wide rows go to DuckDB in chunks of fewer than 2048 rows, cut when their fields fill
/// a MiB, so that the chunks in flight stay bounded: 400 rows of 20 KB among narrow
/// ones come back byte for byte and in order, from text and from binary input.
#[test]
fn wide_rows_keep_their_values_and_order() {
    let mallard = Server::start(BIN, Options::default());
    let t = mallard_target(&mallard);
    let mut input = String::new();
    for id in 0..3000u32 {
        let txt = match id {
            1000..1400 => format!("{id} {}", "w".repeat(20_000 + id as usize)),
            _ if id % 7 == 0 => "\\N".to_owned(),
            _ => format!("row {id}"),
        };
        input.push_str(&format!("{id}\t{txt}\n"));
    }
    psql_ok(t, "create table wide (id integer, txt text)", b"");
    psql_ok(t, "create table wide_binary (id integer, txt text)", b"");
    psql_ok(t, "copy wide from stdin", input.as_bytes());
    let binary = psql_ok(t, "copy wide to stdout (format binary)", b"");
    psql_ok(t, "copy wide_binary from stdin (format binary)", &binary);
    for table in ["wide", "wide_binary"] {
        let got = psql_ok(t, &format!("copy {table} to stdout"), b"");
        let got = String::from_utf8_lossy(&got);
        assert_eq!(got.lines().count(), 3000, "{table}");
        for (i, (g, e)) in got.lines().zip(input.lines()).enumerate() {
            assert!(g == e, "{table}: line {} is {:.60}..., not {:.60}...", i + 1, g, e);
        }
    }
}

/// A bulk load writes each row group to the file as it fills (DuckDB's
/// `write_buffer_row_group_count` is 1, not 5): a COPY of more row groups than DuckDB
/// used to hold back, inside a transaction, is whole and in order after COMMIT.
#[test]
fn a_load_of_many_row_groups_commits_whole_and_in_order() {
    let server = Server::start(BIN, Options::default());
    let mut client = server.connect();
    let buffered: String = client
        .query_one("select value from duckdb_settings() where name = 'write_buffer_row_group_count'", &[])
        .unwrap()
        .get(0);
    assert_eq!(buffered, "1");
    client.batch_execute("create table big (i bigint, s text)").unwrap();
    // 800,000 rows: six full row groups of 122,880 and part of a seventh.
    let rows: String = (0..800_000).map(|i| format!("{i}\trow {i}\n")).collect();
    let mut tx = client.transaction().unwrap();
    let mut writer = tx.copy_in("copy big from stdin").unwrap();
    writer.write_all(rows.as_bytes()).unwrap();
    assert_eq!(writer.finish().unwrap(), 800_000);
    tx.commit().unwrap();
    let row = client.query_one("select count(*), sum(i)::bigint, count(distinct s) from big", &[]).unwrap();
    assert_eq!(
        (row.get::<_, i64>(0), row.get::<_, i64>(1), row.get::<_, i64>(2)),
        (800_000, 319_999_600_000, 800_000)
    );
    let tail: Vec<i64> = client
        .query("select i from big limit 3 offset 799997", &[])
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert_eq!(tail, [799_997, 799_998, 799_999]);
}
