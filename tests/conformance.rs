//! The protocol conformance suite: message exchanges kept as data files in
//! `tests/conformance/`, whose expected replies were recorded from a real PostgreSQL 15.
//! Every run replays them against PostgreSQL 15 (a stale file fails there) and against
//! mallard, on a fresh connection per case.
//!
//! `MALLARD_CONFORMANCE_RECORD=1` re-records the expected replies from PostgreSQL instead;
//! `MALLARD_CONFORMANCE_CASE=text` runs only the cases whose name contains `text`. The
//! README next to the data files describes the format and what is normalised.

use mallard_harness::exchange;
use mallard_harness::postgres_server;
use mallard_harness::wire;

use std::fmt::Write as _;
use std::path::PathBuf;
use std::sync::OnceLock;
use std::time::Duration;

use exchange::{Case, CaseFile, Msg, Step};
use mallard_harness::{Options, Server};
use postgres_server::Postgres;
use wire::{WireClient, WireError};

const RECORD_ENV: &str = "MALLARD_CONFORMANCE_RECORD";
const FILTER_ENV: &str = "MALLARD_CONFORMANCE_CASE";
/// How long one expected message may take to arrive.
const MESSAGE_TIMEOUT: Duration = Duration::from_secs(15);
/// How long to keep listening after a mismatch or the last expected message, to show
/// (or catch) what else the server sent.
const LINGER: Duration = Duration::from_millis(300);
/// A step that reads this many messages without meeting its `until` is broken.
const MAX_STEP_MESSAGES: usize = 10_000;

fn data_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../tests/conformance")
}

/// What the environment asked for, read once.
struct Settings {
    record: bool,
    filter: Option<String>,
}

/// Reads the suite's variables and removes them from this process's environment:
/// mallard reads `MALLARD_<KEY>` variables as configuration and refuses unknown keys, so
/// they must not reach the server the harness starts.
fn settings() -> &'static Settings {
    static SETTINGS: OnceLock<Settings> = OnceLock::new();
    SETTINGS.get_or_init(|| {
        let record = std::env::var_os(RECORD_ENV).is_some_and(|v| !v.is_empty() && v != "0");
        let filter = std::env::var(FILTER_ENV).ok().filter(|f| !f.is_empty());
        std::env::remove_var(RECORD_ENV);
        std::env::remove_var(FILTER_ENV);
        Settings { record, filter }
    })
}

fn recording() -> bool {
    settings().record
}

fn selected(case: &Case) -> bool {
    settings().filter.as_ref().is_none_or(|f| case.name.contains(f.as_str()))
}

/// Every `*.wire` file, parsed, in name order.
fn load_files() -> Vec<(PathBuf, CaseFile)> {
    let mut paths: Vec<PathBuf> = std::fs::read_dir(data_dir())
        .expect("read tests/conformance")
        .map(|e| e.expect("directory entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "wire"))
        .collect();
    paths.sort();
    assert!(!paths.is_empty(), "no *.wire files in {}", data_dir().display());
    paths
        .into_iter()
        .map(|path| {
            let name = path.file_name().unwrap().to_string_lossy().into_owned();
            let text = std::fs::read_to_string(&path).expect("read a case file");
            let file = CaseFile::parse(&name, &text).unwrap_or_else(|e| panic!("{e}"));
            (path, file)
        })
        .collect()
}

/// Where a replay connects.
struct Target {
    what: &'static str,
    port: u16,
    user: &'static str,
    database: &'static str,
}

/// One case's run: the messages each step received, and why it failed (if it did).
struct Outcome {
    received: Vec<Vec<Msg>>,
    failure: Option<String>,
}

/// The next message that the case does not ignore; a broken connection becomes
/// [`Msg::Broken`].
fn next(client: &mut WireClient, case: &Case, timeout: Duration) -> Msg {
    loop {
        match client.recv(timeout) {
            Ok(m) => {
                let m = Msg::from_backend(m);
                if !case.ignore.iter().any(|k| k == m.kind()) {
                    return m;
                }
            }
            Err(WireError::Timeout) => return Msg::Broken(format!("nothing arrived within {timeout:?}")),
            Err(e) => return Msg::Broken(e.to_string()),
        }
    }
}

fn run_case(target: &Target, file: &CaseFile, case: &Case, record: bool) -> Outcome {
    let mut received = Vec::new();
    let mut client = match WireClient::connect(target.port, target.user, target.database) {
        Ok(c) => c,
        Err(e) => return Outcome { received, failure: Some(format!("{}: {e}", heading(file, case))) },
    };
    for (n, step) in case.steps.iter().enumerate() {
        let messages: Vec<_> = step.sends.iter().map(|s| s.message()).collect();
        if let Err(e) = client.send(&messages) {
            let why =
                format!("{}, step {} (line {}): send failed: {e}", heading(file, case), n + 1, step.line);
            return Outcome { received, failure: Some(why) };
        }
        let (got, failure) =
            if record { record_step(&mut client, case, step) } else { replay_step(&mut client, case, step) };
        received.push(got);
        if let Some(why) = failure {
            let why = format!("{}, step {} (line {}): {why}", heading(file, case), n + 1, step.line);
            return Outcome { received, failure: Some(why) };
        }
    }
    let trailing = next(&mut client, case, LINGER);
    client.terminate();
    let failure = (!matches!(trailing, Msg::Broken(_)))
        .then(|| format!("{}: unexpected message after the last step: {trailing}", heading(file, case)));
    Outcome { received, failure }
}

fn heading(file: &CaseFile, case: &Case) -> String {
    format!("case {} ({})", case.name, file.name)
}

/// Reads up to and including the step's `until` message.
fn record_step(client: &mut WireClient, case: &Case, step: &Step) -> (Vec<Msg>, Option<String>) {
    let mut got = Vec::new();
    while got.len() < MAX_STEP_MESSAGES {
        let m = next(client, case, MESSAGE_TIMEOUT);
        if let Msg::Broken(why) = &m {
            let why = format!("waiting for {}: {why}; received so far:\n{}", step.until, listing(&got, None));
            return (got, Some(why));
        }
        let done = m.kind() == step.until;
        got.push(m);
        if done {
            return (got, None);
        }
    }
    (got, Some(format!("no {} in {MAX_STEP_MESSAGES} messages", step.until)))
}

/// Reads as many messages as the step expects, stopping at the first difference.
fn replay_step(client: &mut WireClient, case: &Case, step: &Step) -> (Vec<Msg>, Option<String>) {
    let mut got = Vec::new();
    for (i, expected) in step.expects.iter().enumerate() {
        let m = next(client, case, MESSAGE_TIMEOUT);
        let same = m == *expected;
        got.push(m);
        if !same {
            // Show what else arrived, to make the difference easier to read.
            while !matches!(got.last(), Some(Msg::Broken(_) | Msg::ReadyForQuery(_))) && got.len() < 50 {
                got.push(next(client, case, LINGER));
            }
            let why = format!(
                "message {} differs\n  expected: {expected}\n  actual:   {}\nexpected in this step:\n{}received:\n{}",
                i + 1,
                got[i],
                listing(&step.expects, Some(i)),
                listing(&got, Some(i)),
            );
            return (got, Some(why));
        }
    }
    (got, None)
}

fn listing(msgs: &[Msg], mark: Option<usize>) -> String {
    let mut out = String::new();
    for (i, m) in msgs.iter().enumerate() {
        let arrow = if Some(i) == mark { ">" } else { " " };
        let _ = writeln!(out, "  {arrow} {:>3}  {m}", i + 1);
    }
    out
}

/// Replays every selected case; returns the failures and prints a summary.
fn replay_all(target: &Target, files: &[(PathBuf, CaseFile)]) -> Vec<String> {
    let (mut passed, mut failures, mut failed_names) = (Vec::new(), Vec::new(), Vec::new());
    for (_, file) in files {
        for case in file.cases.iter().filter(|c| selected(c)) {
            match run_case(target, file, case, false).failure {
                None => passed.push(case.name.clone()),
                Some(why) => {
                    failed_names.push(case.name.clone());
                    failures.push(why);
                }
            }
        }
    }
    eprintln!(
        "conformance against {}: {} of {} cases pass\n  passed: {}\n  failed: {}",
        target.what,
        passed.len(),
        passed.len() + failed_names.len(),
        passed.join(" "),
        failed_names.join(" ")
    );
    failures
}

/// Re-records the expected replies of the selected cases and rewrites the files.
fn record_all(target: &Target, files: &[(PathBuf, CaseFile)]) {
    for (path, file) in files {
        let mut recorded = Vec::new();
        for case in &file.cases {
            if !selected(case) {
                recorded.push(case.steps.iter().map(|s| s.expects.clone()).collect());
                continue;
            }
            let outcome = run_case(target, file, case, true);
            if let Some(why) = outcome.failure {
                panic!("recording from {} failed (nothing was written):\n{why}", target.what);
            }
            recorded.push(outcome.received);
        }
        std::fs::write(path, file.rewrite(&recorded)).expect("write a case file");
        eprintln!("recorded {}", file.name);
    }
}

fn fail_with(target: &Target, failures: &[String], log: &str) {
    assert!(
        failures.is_empty(),
        "{} conformance case(s) differ against {}:\n\n{}\n{log}",
        failures.len(),
        target.what,
        failures.join("\n\n")
    );
}

/// The reference itself: replays (or records) every case against PostgreSQL 15, so a
/// file that no longer matches what PostgreSQL says fails here, not only against mallard.
#[test]
fn postgres_15_answers_as_recorded() {
    let files = load_files();
    let pg = Postgres::start();
    let target = Target { what: "PostgreSQL 15", port: pg.port, user: pg.user, database: pg.database };
    if recording() {
        record_all(&target, &files);
    }
    // After recording too: a second replay shows the recording is reproducible.
    let files = load_files();
    let failures = replay_all(&target, &files);
    fail_with(&target, &failures, &format!("PostgreSQL log:\n{}", pg.logs()));
}

#[test]
fn mallard_answers_as_postgres_15_did() {
    if recording() {
        eprintln!("{RECORD_ENV} is set: recording from PostgreSQL only, mallard is not replayed");
        return;
    }
    let files = load_files();
    let server = Server::start(env!("CARGO_BIN_EXE_mallard"), Options::default());
    let target = Target { what: "mallard", port: server.port, user: "tester", database: "mallard" };
    let failures = replay_all(&target, &files);
    let logs = server.logs();
    let lines: Vec<&str> = logs.lines().collect();
    let tail = lines[lines.len().saturating_sub(40)..].join("\n");
    fail_with(&target, &failures, &format!("mallard log (tail):\n{tail}"));
}

/// The files are in canonical form: parsing one and writing it back with its own
/// expectations gives the same text, so a re-recording's diff shows only real changes.
#[test]
fn case_files_are_canonical() {
    for (_, file) in load_files() {
        let own: Vec<Vec<Vec<Msg>>> =
            file.cases.iter().map(|c| c.steps.iter().map(|s| s.expects.clone()).collect()).collect();
        let text = file.lines.iter().map(|l| format!("{l}\n")).collect::<String>();
        let rewritten = file.rewrite(&own);
        if rewritten != text {
            let first = text.lines().zip(rewritten.lines()).position(|(a, b)| a != b).unwrap_or(0);
            panic!(
                "{} is not in canonical form at line {}:\n  file:      {:?}\n  canonical: {:?}",
                file.name,
                first + 1,
                text.lines().nth(first).unwrap_or(""),
                rewritten.lines().nth(first).unwrap_or("")
            );
        }
        for case in &file.cases {
            assert!(!case.steps.is_empty(), "{}: case {} sends nothing", file.name, case.name);
        }
    }
}

/// Every message kind the files can hold reads back as what was written.
#[test]
fn expect_lines_read_back_as_written() {
    let text = "case all_kinds\nsend Sync\nuntil ReadyForQuery\n";
    let lines = [
        "ParseComplete",
        "BindComplete",
        "CloseComplete",
        "NoData",
        "PortalSuspended",
        "EmptyQueryResponse",
        "CopyDone",
        "ReadyForQuery E",
        "ParameterDescription [int4 text 9999]",
        "RowDescription (\"a b\" int4 4 -1 text) (\"q\\\"\" numeric -1 655366 binary)",
        "DataRow \"x\\ty\\\\\" NULL x'00ff'",
        "CommandComplete \"INSERT 0 1\"",
        "ErrorResponse ERROR 42P01  # relation \"t\" does not exist",
        "NoticeResponse WARNING 25P01",
        "ParameterStatus \"TimeZone\" \"UTC\"",
        "CopyInResponse text [text text]",
        "CopyOutResponse binary []",
        "CopyData \"1\\t\\\\N\\n\"",
        "Unknown 75 x'0102'",
    ];
    let mut file = text.to_owned();
    for l in lines {
        file.push_str(&format!("  expect {l}\n"));
    }
    let parsed = CaseFile::parse("inline", &file).unwrap_or_else(|e| panic!("{e}"));
    let expects = &parsed.cases[0].steps[0].expects;
    assert_eq!(expects.len(), lines.len());
    for (m, l) in expects.iter().zip(lines) {
        assert_eq!(m.to_string(), l);
    }
}

/// Mistakes in a case file are reported with their line, not replayed.
#[test]
fn malformed_case_files_are_rejected() {
    let bad = [
        ("send Sync\nuntil ReadyForQuery\n", "before the first case"),
        ("case a\nsend Sync\n", "need an until line"),
        ("case a\nsend Sync\n  expect ReadyForQuery I\n", "need an until line"),
        ("case a\nsend Sync\nuntil Nonsense\n", "unknown backend message kind"),
        ("case a\nsend Bogus\nuntil ReadyForQuery\n", "unknown frontend message"),
        ("case a\nsend Bind \"\" \"\" colour=[text]\nuntil ReadyForQuery\n", "unknown key"),
        ("case a\nsend Query \"unterminated\nuntil ReadyForQuery\n", "unterminated string"),
        ("case a\nsend CopyData x'abc'\nuntil ReadyForQuery\n", "odd number of hex digits"),
        ("case a\nsend Sync\nuntil ReadyForQuery\ncase a\n", "duplicate case"),
        ("case a\nsend Sync\nuntil ReadyForQuery\n  expect ReadyForQuery X\n", "I, T or E"),
    ];
    for (text, why) in bad {
        match CaseFile::parse("inline", text) {
            Ok(_) => panic!("accepted:\n{text}"),
            Err(e) => assert!(e.contains(why) && e.starts_with("inline"), "{text:?}: {e}"),
        }
    }
}

/// Errors compare by severity and SQLSTATE; the message text is only for people.
#[test]
fn errors_compare_by_severity_and_sqlstate() {
    let parse = |line: &str| {
        let text = format!("case a\nsend Sync\nuntil ReadyForQuery\n  expect {line}\n");
        CaseFile::parse("inline", &text).unwrap().cases.remove(0).steps.remove(0).expects.remove(0)
    };
    assert_eq!(
        parse("ErrorResponse ERROR 42P01  # one wording"),
        parse("ErrorResponse ERROR 42P01  # another")
    );
    assert_ne!(parse("ErrorResponse ERROR 42P01"), parse("ErrorResponse ERROR 42703"));
    assert_ne!(parse("ErrorResponse ERROR 42P01"), parse("ErrorResponse FATAL 42P01"));
    assert_ne!(parse("ErrorResponse ERROR 42P01"), parse("NoticeResponse ERROR 42P01"));
    assert_ne!(parse("DataRow \"1\""), parse("DataRow \"1\" NULL"));
    assert_ne!(Msg::Broken("closed".into()), Msg::Broken("closed".into()));
}
