//! Authentication against the real binary: `mallard passwd` verifiers (checked against
//! PostgreSQL 15), SCRAM-SHA-256 logins with the `postgres` crate and psql, the `password`
//! method, access rules (reject, no match, unix socket, the default), broken SCRAM
//! messages next to PostgreSQL's answers to them, throttling, `mallard check` on bad
//! `[auth]` settings, and logs that never show a password or verifier.

use mallard_harness::postgres_server;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use base64::Engine;
use mallard_harness::{sqlstate, Options, Server};
use mallard_protocol::pg::backend::{ErrorInfo, Message};
use mallard_protocol::pg::{frontend, startup, Severity, PROTOCOL_3_0};
use postgres_server::Postgres;

const BIN: &str = env!("CARGO_BIN_EXE_mallard");
/// Non-ASCII on purpose: both sides must SASLprep it the same way.
const PASSWORD: &str = "correct horse ☃ battery";
const CLARA_PASSWORD: &str = "clara's cleartext pw";
const WRONG: &str = "wrong-guess-7f3a";

/// `mallard passwd USER` with the password on stdin; the users-file line it prints.
fn passwd(user: &str, password: &str) -> String {
    let out = passwd_output(user, password);
    assert!(out.status.success(), "mallard passwd failed: {}", String::from_utf8_lossy(&out.stderr));
    let line = String::from_utf8(out.stdout).unwrap().trim_end().to_owned();
    assert!(line.starts_with(&format!("{user}:SCRAM-SHA-256$4096:")), "{line}");
    line
}

fn passwd_output(user: &str, password: &str) -> Output {
    let mut child = Command::new(BIN)
        .args(["passwd", user])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run mallard passwd");
    // A refused user name ends the command before it reads stdin: the write may then
    // meet a closed pipe, which is not the test's failure (the exit status says it all).
    let _ = child.stdin.take().unwrap().write_all(format!("{password}\n").as_bytes());
    child.wait_with_output().unwrap()
}

/// The pieces of a users-file line a log must never show: the whole verifier, its salt,
/// StoredKey and ServerKey.
fn secret_parts(line: &str) -> Vec<String> {
    let verifier = line.split_once(':').unwrap().1;
    let mut parts: Vec<String> = verifier.split(['$', ':']).skip(2).map(str::to_owned).collect();
    parts.push(verifier.to_owned());
    parts
}

/// Writes the config and users file into `dir`; returns the config path.
fn write_config(dir: &Path, rules: &str, users: &str) -> String {
    let users_path = dir.join("users");
    std::fs::write(&users_path, users).unwrap();
    let config = dir.join("mallard.toml");
    std::fs::write(
        &config,
        format!("[auth]\nusers_file = '{}'\nrules = [\n{rules}\n]\n", users_path.display()),
    )
    .unwrap();
    config.display().to_string()
}

/// A server with these rules and users; the harness's probe (user `tester`) must be
/// let in by the rules.
fn start(rules: &str, users: &str) -> (Server, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(dir.path(), rules, users);
    let server = Server::start(
        BIN,
        Options { unix_socket: true, extra_args: vec!["-c".into(), config], ..Options::default() },
    );
    (server, dir)
}

const TESTER_TRUST: &str =
    r#"{ type = "host", database = "all", user = "tester", address = "127.0.0.1/32", method = "trust" },"#;

fn login(port: u16, user: &str, password: &str, database: &str) -> Result<postgres::Client, postgres::Error> {
    postgres::Config::new()
        .host("127.0.0.1")
        .port(port)
        .user(user)
        .password(password)
        .dbname(database)
        .connect_timeout(Duration::from_secs(10))
        .connect(postgres::NoTls)
}

/// The `ErrorResponse` a refused login got.
fn refusal(result: Result<postgres::Client, postgres::Error>) -> postgres::error::DbError {
    match result {
        Ok(_) => panic!("logged in, but should have been refused"),
        Err(e) => e.as_db_error().cloned().unwrap_or_else(|| panic!("no server error: {e}")),
    }
}

/// psql -w (never prompt) as `user`, with `PGPASSWORD` when given.
fn psql(host: &str, port: u16, user: &str, database: &str, password: Option<&str>, sql: &str) -> Output {
    let mut cmd = Command::new("psql");
    cmd.args([
        "-h",
        host,
        "-p",
        &port.to_string(),
        "-U",
        user,
        "-d",
        database,
        "-X",
        "-A",
        "-t",
        "-w",
        "-c",
        sql,
    ])
    .env("PGCONNECT_TIMEOUT", "10")
    .env("PGPASSFILE", "/dev/null")
    .env_remove("PGPASSWORD");
    if let Some(p) = password {
        cmd.env("PGPASSWORD", p);
    }
    cmd.output().expect("run psql (install postgresql-client)")
}

fn assert_psql_ok(out: &Output, want: &str) {
    assert!(out.status.success(), "psql failed: {}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), want);
}

#[test]
fn scram_and_password_logins_and_access_rules() {
    let alice = passwd("alice", PASSWORD);
    let clara = passwd("clara", CLARA_PASSWORD);
    let rules = format!(
        r#"{TESTER_TRUST}
        {{ type = "host", database = "all", user = "mallory", address = "all", method = "reject" }},
        {{ type = "host", database = "all", user = "clara", address = "127.0.0.0/8", method = "password" }},
        {{ type = "local", database = "all", user = "clara", method = "password" }},
        {{ type = "local", database = "all", user = "all", method = "scram-sha-256" }},
        {{ type = "host", database = "mallard", user = "all", address = "127.0.0.1/32", method = "scram-sha-256" }},"#
    );
    let (server, _dir) = start(&rules, &format!("# test users\n{alice}\n\n{clara}\n"));
    let port = server.port;
    let dir = server.dir.path().display().to_string();

    // The postgres crate and psql, over TCP and the unix socket, with the right password.
    let mut client =
        login(port, "alice", PASSWORD, "mallard").unwrap_or_else(|e| panic!("{e}\n{}", server.logs()));
    assert_eq!(client.query_one("select 1", &[]).unwrap().get::<_, i32>(0), 1);
    assert_psql_ok(&psql("127.0.0.1", port, "alice", "mallard", Some(PASSWORD), "select 42"), "42");
    assert_psql_ok(&psql(&dir, port, "alice", "mallard", Some(PASSWORD), "select 43"), "43");

    // Wrong password and unknown user: the same answer, but for the name.
    let wrong = refusal(login(port, "alice", WRONG, "mallard"));
    let unknown = refusal(login(port, "ghost", WRONG, "mallard"));
    for (e, user) in [(&wrong, "alice"), (&unknown, "ghost")] {
        assert_eq!(e.code().code(), "28P01", "{e}");
        assert_eq!(e.severity(), "FATAL");
        assert_eq!(e.message(), format!("password authentication failed for user \"{user}\""));
        assert_eq!((e.detail(), e.hint()), (None, None));
    }
    let out = psql("127.0.0.1", port, "ghost", "mallard", Some(PASSWORD), "select 1");
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("password authentication failed for user \"ghost\"")
    );
    // Over the unix socket a `local` rule asks for the password too.
    let out = psql(&dir, port, "alice", "mallard", None, "select 1");
    assert!(!out.status.success() && String::from_utf8_lossy(&out.stderr).contains("no password supplied"));

    // `reject`, and no matching rule (the scram rule names database mallard only; the
    // rules decide before anyone learns whether a database exists).
    let e = refusal(login(port, "mallory", PASSWORD, "mallard"));
    assert_eq!(e.code().code(), "28000");
    assert_eq!(
        e.message(),
        "[auth] rules reject connection for host \"127.0.0.1\", user \"mallory\", database \"mallard\", no encryption"
    );
    let e = refusal(login(port, "alice", PASSWORD, "other"));
    assert_eq!(e.code().code(), "28000");
    assert_eq!(
        e.message(),
        "no [auth] rules entry for host \"127.0.0.1\", user \"alice\", database \"other\", no encryption"
    );

    // `password` sends the password in the clear: refused on TCP without TLS before the
    // password is asked for, accepted on the unix socket.
    let e = refusal(login(port, "clara", CLARA_PASSWORD, "mallard"));
    assert_eq!(e.code().code(), "28000", "{e}");
    assert!(e.message().contains("only allowed over SSL"), "{e}");
    assert_psql_ok(&psql(&dir, port, "clara", "mallard", Some(CLARA_PASSWORD), "select 'clear'"), "clear");
    let out = psql(&dir, port, "clara", "mallard", Some(WRONG), "select 1");
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("password authentication failed for user \"clara\"")
    );

    // After all that, the worker still serves and the logs show outcomes, not secrets.
    assert_eq!(client.query_one("select 2", &[]).unwrap().get::<_, i32>(0), 2);
    drop(client);
    let logs = server.logs();
    assert!(
        logs.contains("password authentication failed") && logs.contains("reason=\"unknown user\""),
        "{logs}"
    );
    let mut secrets = vec![PASSWORD.to_owned(), CLARA_PASSWORD.to_owned(), WRONG.to_owned()];
    secrets.extend(secret_parts(&alice));
    secrets.extend(secret_parts(&clara));
    for secret in &secrets {
        assert!(!logs.contains(secret.as_str()), "the log shows {secret:?}:\n{logs}");
    }
}

#[test]
fn default_rules_trust_loopback_and_the_unix_socket() {
    let server = Server::start(BIN, Options { unix_socket: true, ..Options::default() });
    assert_psql_ok(&server.psql_unix("select 'unix'"), "unix");
    assert_psql_ok(&server.psql("select 'tcp'"), "tcp");
}

/// A raw client that stops where a driver would not: it sends whatever bytes a case
/// says after the server asked for SASL.
struct Raw {
    stream: TcpStream,
    buf: Vec<u8>,
}

impl Raw {
    fn start(port: u16, user: &str, database: &str) -> Raw {
        let stream = TcpStream::connect(("127.0.0.1", port)).unwrap();
        stream.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
        let mut raw = Raw { stream, buf: Vec::new() };
        let mut packet = Vec::new();
        let params = vec![("user", user), ("database", database)];
        startup::encode(&startup::Request::Startup { version: PROTOCOL_3_0, params }, &mut packet);
        raw.stream.write_all(&packet).unwrap();
        match raw.next() {
            Some(Message::AuthenticationSasl { mechanisms }) => assert_eq!(mechanisms, ["SCRAM-SHA-256"]),
            other => panic!("expected AuthenticationSASL, got {other:?}"),
        }
        raw
    }

    fn send(&mut self, bytes: &[u8]) {
        // The server may already have closed after an error; what it said still counts.
        let _ = self.stream.write_all(bytes);
    }

    /// The next message, or `None` at EOF.
    fn next(&mut self) -> Option<Message> {
        loop {
            if let Some((m, n)) = Message::decode(&self.buf).expect("a valid server message") {
                self.buf.drain(..n);
                return Some(m);
            }
            let mut chunk = [0u8; 4096];
            match self.stream.read(&mut chunk) {
                Ok(0) | Err(_) => return None,
                Ok(n) => self.buf.extend_from_slice(&chunk[..n]),
            }
        }
    }
}

fn password_message(body: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    frontend::Message::Password(body).encode(&mut out);
    out
}

/// SASLInitialResponse; `claimed` overrides the data length field.
fn initial(mechanism: &str, data: &[u8], claimed: Option<i32>) -> Vec<u8> {
    let mut body = mechanism.as_bytes().to_vec();
    body.push(0);
    body.extend_from_slice(&claimed.unwrap_or(data.len() as i32).to_be_bytes());
    body.extend_from_slice(data);
    password_message(&body)
}

fn scram_first(data: &[u8]) -> Vec<u8> {
    initial("SCRAM-SHA-256", data, None)
}

struct Case {
    name: &'static str,
    user: &'static str,
    first: Vec<u8>,
    /// client-final-message, sent after server-first with `NONCE` replaced by the
    /// server's nonce.
    last: Option<String>,
    sqlstate: &'static str,
    /// PostgreSQL 15 answers with the same SQLSTATE.
    pg_agrees: bool,
}

fn cases() -> Vec<Case> {
    let proof = base64::engine::general_purpose::STANDARD.encode([b'x'; 32]);
    let short = base64::engine::general_purpose::STANDARD.encode([b'x'; 8]);
    let case = |name, first: Vec<u8>, last: Option<String>, sqlstate| Case {
        name,
        user: "alice",
        first,
        last,
        sqlstate,
        pg_agrees: true,
    };
    let ok_first = || scram_first(b"n,,n=,r=clientnonce");
    vec![
        case("empty client-first", scram_first(b""), None, "08P01"),
        case("unknown mechanism", initial("SCRAM-SHA-1", b"n,,n=,r=abc", None), None, "08P01"),
        case(
            "-PLUS mechanism",
            initial("SCRAM-SHA-256-PLUS", b"p=tls-server-end-point,,n=,r=abc", None),
            None,
            "08P01",
        ),
        case(
            "channel binding required (p=)",
            scram_first(b"p=tls-server-end-point,,n=,r=abc"),
            None,
            "08P01",
        ),
        case("bad gs2 flag", scram_first(b"x,,n=,r=abc"), None, "08P01"),
        case("gs2 header without comma", scram_first(b"n;,n=,r=abc"), None, "08P01"),
        case("authorization identity", scram_first(b"n,a=bob,n=,r=abc"), None, "0A000"),
        case("mandatory extension", scram_first(b"n,,m=ext,n=,r=abc"), None, "0A000"),
        case("truncated client-first", scram_first(b"n,,n"), None, "08P01"),
        case("client-first without nonce", scram_first(b"n,,n="), None, "08P01"),
        case("non-printable nonce", scram_first(b"n,,n=,r=a\x01b"), None, "08P01"),
        case("invalid UTF-8 nonce", scram_first(b"n,,n=,r=\xff\xfe"), None, "08P01"),
        case("length beyond the message", initial("SCRAM-SHA-256", b"n,,n=,r=abc", Some(100)), None, "08P01"),
        case("unterminated mechanism", password_message(b"SCRAM-SHA-256"), None, "08P01"),
        case(
            "a query instead of SASL",
            {
                let mut q = Vec::new();
                frontend::Message::Query("select 1").encode(&mut q);
                q
            },
            None,
            "08P01",
        ),
        Case { pg_agrees: false, ..case("huge length", b"p\x7f\xff\xff\xff".to_vec(), None, "08P01") },
        // Only the header and the start of the body: the claim alone is refused.
        Case {
            pg_agrees: false,
            ..case(
                "over the auth message limit",
                [&b"p"[..], &8197i32.to_be_bytes(), b"SCRAM-SHA-256\0"].concat(),
                None,
                "08P01",
            )
        },
        case("wrong nonce", ok_first(), Some(format!("c=biws,r=clientnonceXX,p={proof}")), "08P01"),
        case("non-base64 proof", ok_first(), Some("c=biws,r=NONCE,p=!!!not base64!!!".into()), "08P01"),
        case("short proof", ok_first(), Some(format!("c=biws,r=NONCE,p={short}")), "08P01"),
        case("channel binding mismatch", ok_first(), Some(format!("c=eSws,r=NONCE,p={proof}")), "08P01"),
        case("truncated client-final", ok_first(), Some("c=biws,r=NONCE".into()), "08P01"),
        case("garbage after the proof", ok_first(), Some(format!("c=biws,r=NONCE,p={proof},junk")), "08P01"),
        case("wrong proof", ok_first(), Some(format!("c=biws,r=NONCE,p={proof}")), "28P01"),
        case(
            "wrong proof, y flag",
            scram_first(b"y,,n=,r=clientnonce"),
            Some(format!("c=eSws,r=NONCE,p={proof}")),
            "28P01",
        ),
        Case {
            user: "ghost",
            ..case("unknown user", ok_first(), Some(format!("c=biws,r=NONCE,p={proof}")), "28P01")
        },
    ]
}

/// Runs one case; returns the SQLSTATE the server ended it with.
fn run_case(port: u16, database: &str, case: &Case) -> String {
    let mut raw = Raw::start(port, case.user, database);
    raw.send(&case.first);
    if let Some(last) = &case.last {
        let server_first = match raw.next() {
            Some(Message::AuthenticationSaslContinue(data)) => String::from_utf8(data).unwrap(),
            other => panic!("{}: expected server-first, got {other:?}", case.name),
        };
        let nonce = &server_first[2..server_first.find(',').unwrap()];
        raw.send(&password_message(last.replace("NONCE", nonce).as_bytes()));
    }
    match raw.next() {
        Some(Message::ErrorResponse(ErrorInfo { code, severity, message, detail, .. })) => {
            assert_eq!(severity, Severity::Fatal, "{}: {message}", case.name);
            eprintln!("{}: {code} {message} ({})", case.name, detail.unwrap_or_default());
            code.code().to_owned()
        }
        other => panic!("{}: expected an ErrorResponse, got {other:?}", case.name),
    }
}

/// PostgreSQL accepts mallard's verifiers (and the other way round), and the two answer
/// broken SCRAM messages with the same SQLSTATEs; mallard's worker serves on after each.
#[test]
fn verifiers_work_both_ways_and_broken_scram_gets_postgresqls_answers() {
    let alice = passwd("alice", PASSWORD);
    let pg = Postgres::start();
    let mut admin = postgres::Client::connect(
        &format!("host=127.0.0.1 port={} user={} dbname={}", pg.port, pg.user, pg.database),
        postgres::NoTls,
    )
    .unwrap();
    let verifier = alice.split_once(':').unwrap().1;
    admin
        .batch_execute(&format!(
            "CREATE ROLE alice LOGIN; ALTER ROLE alice PASSWORD '{verifier}';
             CREATE ROLE pgmade LOGIN PASSWORD 'made by postgres';"
        ))
        .unwrap();
    let pg_verifier: String =
        admin.query_one("SELECT rolpassword FROM pg_authid WHERE rolname = 'pgmade'", &[]).unwrap().get(0);
    pg.prepend_hba("host all alice,ghost,pgmade 127.0.0.1/32 scram-sha-256");
    let deadline = Instant::now() + Duration::from_secs(20);
    while login(pg.port, "alice", WRONG, "postgres").is_ok() {
        assert!(Instant::now() < deadline, "PostgreSQL did not load the new pg_hba.conf");
        std::thread::sleep(Duration::from_millis(50));
    }
    // The verifier `mallard passwd` printed lets psql into PostgreSQL with the password.
    assert_psql_ok(&psql("127.0.0.1", pg.port, "alice", "postgres", Some(PASSWORD), "select 'pg'"), "pg");
    let out = psql("127.0.0.1", pg.port, "alice", "postgres", Some(WRONG), "select 1");
    assert!(String::from_utf8_lossy(&out.stderr).contains("password authentication failed"));

    // PostgreSQL's verifier lets the postgres crate into mallard.
    let rules = format!(
        r#"{TESTER_TRUST}
        {{ type = "host", database = "all", user = "all", address = "127.0.0.1/32", method = "scram-sha-256" }},"#
    );
    let (server, _dir) = start(&rules, &format!("{alice}\npgmade:{pg_verifier}\n"));
    let mut c = login(server.port, "pgmade", "made by postgres", "mallard").unwrap();
    c.simple_query("select 1").unwrap();
    let worker = server.worker_pids();

    for case in cases() {
        let ours = run_case(server.port, "mallard", &case);
        assert_eq!(ours, case.sqlstate, "{}", case.name);
        if case.pg_agrees {
            assert_eq!(run_case(pg.port, "postgres", &case), ours, "PostgreSQL disagrees on {}", case.name);
        }
        let mut probe = server.connect();
        probe.simple_query("select 1").unwrap_or_else(|e| panic!("after {}: {e}", case.name));
    }
    assert_eq!(server.worker_pids(), worker, "the worker was replaced");
    c.simple_query("select 2").unwrap();
    let logs = server.logs();
    let proof = base64::engine::general_purpose::STANDARD.encode([b'x'; 32]);
    for secret in secret_parts(&alice).iter().chain(secret_parts(&format!("pgmade:{pg_verifier}")).iter()) {
        assert!(!logs.contains(secret.as_str()), "the log shows {secret:?}");
    }
    assert!(!logs.contains(&proof) && !logs.contains("made by postgres") && !logs.contains(PASSWORD));
}

/// Runs `cmd` to its end; a command still running after 60 s (a server that started
/// when it should have refused) is killed and fails the test.
fn exits_by_itself(cmd: &mut Command) -> Output {
    let mut child = cmd.stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().expect("run mallard");
    let deadline = Instant::now() + Duration::from_secs(60);
    while child.try_wait().unwrap().is_none() {
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("{cmd:?} did not exit: {:?}", child.wait_with_output());
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    child.wait_with_output().unwrap()
}

#[test]
fn repeated_failures_from_one_address_are_delayed() {
    let alice = passwd("alice", PASSWORD);
    let rules = format!(
        r#"{TESTER_TRUST}
        {{ type = "host", database = "all", user = "all", address = "127.0.0.1/32", method = "scram-sha-256" }},"#
    );
    let (server, _dir) = start(&rules, &format!("{alice}\n"));
    let attempt = |password: &str| {
        let started = Instant::now();
        let result = login(server.port, "alice", password, "mallard").map(|_| ());
        (result, started.elapsed())
    };
    // Five free failures, then 250 ms, 500 ms, 1 s.
    for _ in 0..7 {
        let (result, _) = attempt(WRONG);
        assert_eq!(sqlstate(&result.unwrap_err()), "28P01");
    }
    let (result, took) = attempt(WRONG);
    assert_eq!(sqlstate(&result.unwrap_err()), "28P01");
    assert!(took >= Duration::from_millis(950), "the 8th failure in a row took only {took:?}");
    // The right password is never held back: the next failure would wait 2 s.
    let (result, took) = attempt(PASSWORD);
    result.unwrap();
    assert!(took < Duration::from_secs(2), "a good login waited {took:?}");
    assert!(server.logs().contains("failures=8"), "{}", server.logs());
}

/// `mallard check` and `serve` refuse broken `[auth]` settings with a reason, and never
/// print a verifier; `mallard passwd` refuses what the users file could not hold.
#[test]
fn bad_auth_settings_are_config_errors() {
    let dir = tempfile::tempdir().unwrap();
    let alice = passwd("alice", PASSWORD);
    let broken = alice.replace("$4096:", "$many:");
    let check = |rules: &str, users: &str| {
        let config = write_config(dir.path(), rules, users);
        Command::new(BIN).args(["check", "--storage", "memory", "-c", &config]).output().unwrap()
    };
    let scram = r#"{ type = "host", database = "all", user = "all", address = "127.0.0.1/32", method = "scram-sha-256" },"#;

    let out = check(scram, &format!("# users\n{alice}\n{broken}\n"));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success() && stderr.contains("line 3") && stderr.contains("iteration"), "{stderr}");
    for secret in secret_parts(&broken) {
        assert!(!stderr.contains(&secret), "{stderr}");
    }
    let failures = [
        (
            r#"{ type = "host", database = "all", user = "all", address = "127.0.0.1/32", method = "md5" },"#,
            "unknown method \"md5\"",
        ),
        (
            r#"{ type = "hots", database = "all", user = "all", address = "all", method = "trust" },"#,
            "unknown type \"hots\"",
        ),
        (
            r#"{ type = "host", database = "all", user = "all", address = "10.0.0.0/40", method = "trust" },"#,
            "invalid address",
        ),
        (r#"{ type = "host", database = "all", user = "all", method = "trust" },"#, "need an `address`"),
        (r#"{ type = "local", database = "all", user = "all", method = "trust", adress = "x" },"#, "adress"),
    ];
    for (rule, want) in failures {
        let out = check(&format!("{TESTER_TRUST}\n{rule}"), "");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            !out.status.success() && stderr.contains("auth rule 2") && stderr.contains(want),
            "{rule}: {stderr}"
        );
    }
    // A password method without a users file.
    let config = dir.path().join("no-users.toml");
    std::fs::write(&config, format!("[auth]\nrules = [{scram}]\n")).unwrap();
    for command in ["check", "serve"] {
        let out = exits_by_itself(
            Command::new(BIN)
                .args([
                    command,
                    "--storage",
                    "memory",
                    "--listen",
                    &format!("127.0.0.1:{}", mallard_harness::free_port()),
                ])
                .arg("--data-dir")
                .arg(dir.path().join("data"))
                .arg("-c")
                .arg(&config),
        );
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success() && stderr.contains("users_file"), "{command}: {stderr}");
    }
    let out = check(scram, &format!("{alice}\n"));
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));

    for (user, password) in [("bob", ""), ("a:b", "pw"), ("#admin", "pw")] {
        let out = passwd_output(user, password);
        assert!(!out.status.success() && out.stdout.is_empty(), "passwd {user:?} {password:?}");
    }
}
