//! Session settings and the SQL translation layer, end to end: `SET`/`SHOW`/`RESET`
//! answers, transactional `SET`, and `ParameterStatus` reports compared with a real
//! PostgreSQL 15 through a raw client; startup parameters through psql; and pgbench's
//! initialization and TPC-B run against mallard.

use mallard_harness::pair;
use mallard_harness::raw_client;

use std::process::Command;

use mallard_harness::{Options, Server};
use pair::Pair;
use raw_client::{RawClient, Reply};

const BIN: &str = env!("CARGO_BIN_EXE_mallard");

/// What is compared of one reply: tags, rows, SQLSTATE, parameter reports.
fn outcome(reply: &Reply, with_parameters: bool) -> String {
    let error = reply.error.as_ref().map(|e| e.code.to_string());
    let parameters = if with_parameters { format!("{:?}", reply.parameters) } else { String::new() };
    format!("tags={:?} rows={:?} error={error:?} {parameters}", reply.tags, reply.rows)
}

/// Settings statements on both servers.
trait Compare {
    fn compare(&mut self, statements: &[&str], with_parameters: bool);
}

impl Compare for Pair {
    /// Runs every statement on both; fails listing every difference.
    fn compare(&mut self, statements: &[&str], with_parameters: bool) {
        let mut differences = Vec::new();
        for sql in statements {
            let (pg, ours) = (self.pg_query(sql), self.mallard_query(sql));
            let (pg, ours) = (outcome(&pg, with_parameters), outcome(&ours, with_parameters));
            if pg != ours {
                differences.push(format!("{sql}\n  postgres: {pg}\n  mallard:  {ours}"));
            }
        }
        self.assert_no_differences("statements", &differences);
    }
}

#[test]
fn set_show_reset_answer_as_postgres_does() {
    let mut pair = Pair::start(env!("CARGO_BIN_EXE_mallard"));
    pair.compare(
        &[
            "set statement_timeout = 1.5",
            "show statement_timeout",
            "set statement_timeout = '1.5s'",
            "show statement_timeout",
            "set statement_timeout = '90s'",
            "show statement_timeout",
            "set statement_timeout = '2min'",
            "show statement_timeout",
            "set statement_timeout = '100us'",
            "show statement_timeout",
            "set statement_timeout = '5 S'",
            "set statement_timeout = -1",
            "set lock_timeout = '1min'",
            "show lock_timeout",
            "set idle_in_transaction_session_timeout = 60000",
            "show idle_in_transaction_session_timeout",
            "set statement_timeout to default",
            "show statement_timeout",
            "set client_encoding = 'utf-8'",
            "show client_encoding",
            "set client_encoding = 'bogus'",
            "set datestyle = 'dmy'",
            "show datestyle",
            "set datestyle = iso, ymd",
            "show DateStyle",
            "set datestyle = 'bogus'",
            "reset datestyle",
            "set intervalstyle = 'x'",
            "set time zone 'europe/paris'",
            "show time zone",
            "set timezone = -5",
            "show timezone",
            "set timezone = 'Mars/Base'",
            "set time zone local",
            "show TimeZone",
            "set extra_float_digits = 3",
            "show extra_float_digits",
            "set extra_float_digits = 4",
            "set search_path = public, pg_catalog",
            "show search_path",
            "set search_path = 'a', \"B\"",
            "show search_path",
            "reset search_path",
            "show search_path",
            "set application_name = 'my app'",
            "show application_name",
            "set application_name = 1, 2",
            "set standard_conforming_strings = 'maybe'",
            "set foo = 1",
            "show foo",
            "reset foo",
            "set server_version = '1'",
            "set application_name to",
            "set session characteristics as transaction isolation level repeatable read",
            "show default_transaction_isolation",
            "show transaction isolation level",
            "reset all",
            "show transaction_isolation",
            "show integer_datetimes",
            "show standard_conforming_strings",
            "set names 'utf8'",
            "set role none",
            "reset session authorization",
        ],
        false,
    );
}

#[test]
fn set_in_transactions_behaves_as_in_postgres() {
    let mut pair = Pair::start(env!("CARGO_BIN_EXE_mallard"));
    pair.compare(
        &[
            "set local statement_timeout = 5",
            "show statement_timeout",
            "set transaction isolation level serializable",
            "show transaction_isolation",
            "begin",
            "set transaction isolation level serializable",
            "show transaction_isolation",
            "set local statement_timeout = 7",
            "set statement_timeout = 8",
            "show statement_timeout",
            "rollback",
            "show statement_timeout",
            "show transaction_isolation",
            "begin isolation level repeatable read",
            "show transaction_isolation",
            "set local statement_timeout = 7",
            "set statement_timeout = 8",
            "set local statement_timeout = 9",
            "show statement_timeout",
            "commit",
            "show statement_timeout",
            "begin",
            "set statement_timeout = 10",
            "select * from no_such_table",
            "commit",
            "show statement_timeout",
            // A multi-statement string is one implicit transaction: its failure undoes SET.
            "set statement_timeout = 11; select * from no_such_table",
            "show statement_timeout",
            "set local statement_timeout = 12; show statement_timeout",
            "show statement_timeout",
            "begin; discard all",
            "rollback",
            "discard all",
        ],
        false,
    );
}

#[test]
fn set_config_and_custom_settings_behave_as_in_postgres() {
    let mut pair = Pair::start(env!("CARGO_BIN_EXE_mallard"));
    pair.compare(
        &[
            // Custom settings (placeholders): any dotted name, as text.
            "set myapp.tenant = 'acme'",
            "show myapp.tenant",
            "select current_setting('myapp.tenant'), current_setting('myapp.other', true) is null",
            "show myapp.other",
            "select current_setting('myapp.other')",
            "set myapp. = 1",
            "begin",
            "set local myapp.role = 'admin'",
            "show myapp.role",
            "commit",
            "show myapp.role",
            "reset all",
            "show myapp.tenant",
            // set_config, as pg_dump, PostgREST and row-level-security applications call it.
            "select set_config('myapp.user_id', '42', false)",
            "select current_setting('myapp.user_id')",
            "select pg_catalog.set_config('search_path', '', false)",
            "show search_path",
            "select set_config('search_path', 'public', false)",
            "select set_config('statement_timeout', '2s', false)",
            "show statement_timeout",
            "select set_config('statement_timeout', 'bogus', false)",
            "select set_config('no_such_setting', '1', false)",
            "select set_config('server_version', '1', false)",
            "select set_config('1a.b', 'v', false)",
            "select set_config(NULL, 'x', false)",
            "select set_config('myapp.n', NULL, false)",
            "show myapp.n",
            // is_local: for the transaction, and nothing outside a block.
            "select set_config('work_mem', '64MB', true)",
            "show work_mem",
            "begin",
            "select set_config('work_mem', '32MB', true)",
            "show work_mem",
            "commit",
            "show work_mem",
            "begin",
            "select set_config('work_mem', '16MB', false)",
            "rollback",
            "show work_mem",
            // A statement that fails takes its set_config with it.
            "select set_config('work_mem', '8MB', false), 1 / 0",
            "show work_mem",
            "select set_config('myapp.k', v, false) from (values ('a'), ('b')) t(v) order by v",
            "show myapp.k",
        ],
        false,
    );
}

#[test]
fn parameter_status_reports_changes_as_postgres_does() {
    let mut pair = Pair::start(env!("CARGO_BIN_EXE_mallard"));
    pair.compare(
        &[
            "set application_name = 'one'",
            "set application_name = 'one'",
            "set statement_timeout = 5",
            "begin; set application_name = 'two'",
            "rollback",
            "set time zone 'America/New_York'",
            "reset all",
            "begin",
            "set local DateStyle = 'ISO, DMY'",
            "set local intervalstyle = postgres",
            "commit",
            "set client_encoding = 'UNICODE'",
        ],
        true,
    );
    // The startup set: the same names as PostgreSQL 15 reports, and the same values for
    // those that describe the session rather than the server.
    let names = |c: &RawClient| {
        let mut n: Vec<String> = c.startup_parameters.iter().map(|(n, _)| n.clone()).collect();
        n.sort();
        n
    };
    assert_eq!(names(&pair.mallard_client), names(&pair.pg_client));
    for (name, value) in &pair.mallard_client.startup_parameters {
        if !matches!(name.as_str(), "server_version" | "session_authorization" | "application_name") {
            let pg = pair.pg_client.startup_parameters.iter().find(|(n, _)| n == name).map(|(_, v)| v);
            assert_eq!(Some(value), pg, "{name}");
        }
    }
}

#[test]
fn values_mallard_cannot_honour_are_refused_clearly() {
    let server = Server::start(BIN, Options::default());
    let mut client = RawClient::connect(server.port, "tester", "mallard").unwrap();
    for (sql, code) in [
        ("set standard_conforming_strings = off", "0A000"),
        ("set client_encoding = 'JOHAB'", "0A000"),
        ("set transaction snapshot '0001'", "0A000"),
    ] {
        let reply = client.query(sql).unwrap();
        let error = reply.error.unwrap_or_else(|| panic!("{sql} was accepted"));
        assert_eq!(error.code.to_string(), code, "{sql}: {}", error.message);
        assert!(error.message.contains("invalid value") || error.message.contains("not supported"), "{sql}");
    }
    // A startup packet with a value mallard cannot honour is refused with FATAL.
    let refused = RawClient::connect_with(
        server.port,
        &[("user", "tester"), ("database", "mallard"), ("standard_conforming_strings", "off")],
    );
    assert!(refused.err().is_some_and(|e| e.contains("0A000")));
}

#[test]
fn startup_parameters_and_options_apply() {
    let server = Server::start(BIN, Options::default());
    let out = server
        .psql_command()
        .args(["-c", "show application_name", "-c", "show statement_timeout", "-c", "show search_path"])
        .env("PGAPPNAME", "settings-test")
        .env("PGOPTIONS", "-c statement_timeout=5s -c search_path=s1,public")
        .output()
        .expect("run psql");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{}{}", stdout, String::from_utf8_lossy(&out.stderr));
    assert_eq!(stdout.lines().collect::<Vec<_>>(), vec!["settings-test", "5s", "s1, public"]);
}

#[test]
fn search_path_reaches_duckdb() {
    let server = Server::start(BIN, Options::default());
    let out = server.psql(
        "create schema s1; create table s1.t (x int); insert into s1.t values (7); \
         set search_path = nosuch, s1; select x from t",
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{}{}", stdout, String::from_utf8_lossy(&out.stderr));
    assert_eq!(stdout.lines().last(), Some("7"));
}

fn pgbench(server: &Server, args: &[&str]) -> String {
    let out = Command::new("pgbench")
        .args(["-h", "127.0.0.1", "-p", &server.port.to_string(), "-U", "tester"])
        .args(args)
        .arg("mallard")
        .output()
        .expect("run pgbench");
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success(), "pgbench {args:?} failed:\n{text}\nmallard log:\n{}", server.logs());
    text
}

#[test]
fn pgbench_initializes_and_runs() {
    let server = Server::start(BIN, Options { storage: "duckdb", ..Options::default() });
    // Every initialization step except data generation (COPY ... FROM STDIN is built
    // elsewhere); the rows pgbench would generate for scale 1 are inserted with SQL.
    pgbench(&server, &["-i", "-s", "1", "-I", "dtvp"]);
    let out = server.psql(
        "insert into pgbench_branches(bid, bbalance) values (1, 0); \
         insert into pgbench_tellers(tid, bid, tbalance) select i, 1, 0 from range(1, 11) r(i); \
         insert into pgbench_accounts(aid, bid, abalance, filler) select i, 1, 0, '' from range(1, 100001) r(i)",
    );
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let run = pgbench(&server, &["-M", "simple", "-t", "200"]);
    assert!(run.contains("number of transactions actually processed: 200/200"), "{run}");
    assert!(run.contains("number of failed transactions: 0"), "{run}");
    // pgbench found the table unpartitioned through its pg_catalog probe.
    assert!(!run.contains("partition method"), "{run}");
}
