//! Issue 11's catalog, proved with what clients really send. The schema of
//! `tests/catalog/fixture.sql` is created on a PostgreSQL 15 and on mallard; then
//! - every statement psql 15, pgjdbc 42.5 and SQLAlchemy 2 sent for it against
//!   PostgreSQL (`tests/catalog/corpus/`, recorded by `tests/catalog/record.sh`) runs on
//!   mallard;
//! - psql's `\d` family, pgjdbc's `DatabaseMetaData` and SQLAlchemy's inspector print
//!   the same as against PostgreSQL, but for the differences listed in [`KNOWN`];
//! - the catalog relations have PostgreSQL's columns, and OIDs survive a restart.

use std::process::Command;
use std::time::Duration;

use mallard_harness::drivers;
use mallard_harness::postgres_server::Postgres;
use mallard_harness::{sqlstate, Options, Server};

const BIN: &str = env!("CARGO_BIN_EXE_mallard");
const FIXTURE: &str = include_str!("catalog/fixture.sql");

/// What mallard prints differently from PostgreSQL 15 for the fixture, as
/// (PostgreSQL's text, mallard's), each with the reason. Anything else that differs
/// fails the tests.
const KNOWN: &[(&str, &str)] = &[
    // PostgreSQL shows the implicit cast it added to the CHECK expression.
    ("CHECK (total >= 0::numeric)", "CHECK (total >= 0)"),
    ("total >= 0::numeric", "total >= 0"),
];

/// The statements of the fixture, one per `;` at the end of a line.
fn fixture_statements() -> Vec<String> {
    let text: String =
        FIXTURE.lines().filter(|l| !l.trim_start().starts_with("--")).collect::<Vec<_>>().join("\n");
    text.split(";\n")
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| s.trim_end_matches(';').to_owned())
        .collect()
}

fn load_fixture(client: &mut postgres::Client) {
    for statement in fixture_statements() {
        client.batch_execute(&statement).unwrap_or_else(|e| panic!("{statement}: {e}"));
    }
}

/// A PostgreSQL 15 and a mallard (one DuckDB file) that both hold the fixture.
struct Both {
    pg: Postgres,
    mallard: Server,
}

impl Both {
    fn start() -> Both {
        let pg = Postgres::start();
        let mut client =
            postgres::Client::connect(&pg_conn_str(&pg), postgres::NoTls).expect("connect to PostgreSQL");
        load_fixture(&mut client);
        let mallard = Server::start(BIN, Options { storage: "duckdb", workers: 1, ..Options::default() });
        load_fixture(&mut mallard.connect());
        Both { pg, mallard }
    }

    /// `psql -X` output of `command` from each, normalized.
    fn psql(&self, command: &str) -> (String, String) {
        let run = |port: u16, user: &str, db: &str| {
            let out = Command::new("psql")
                .args(["-X", "-h", "127.0.0.1", "-p", &port.to_string(), "-U", user, "-d", db, "-c", command])
                .env("PGCONNECT_TIMEOUT", "10")
                .output()
                .expect("run psql");
            let text =
                String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
            normalize(&text, &[user, db])
        };
        (run(self.pg.port, self.pg.user, self.pg.database), run(self.mallard.port, "tester", "mallard"))
    }
}

fn pg_conn_str(pg: &Postgres) -> String {
    format!("host=127.0.0.1 port={} user={} dbname={}", pg.port, pg.user, pg.database)
}

/// Table cells trimmed (column widths follow the values), separator lines dropped, and
/// the user and database names (which differ between the two servers) as `<name>`.
fn normalize(text: &str, names: &[&str]) -> String {
    text.lines()
        .filter(|l| !l.chars().all(|c| c == '-' || c == '+'))
        .map(|l| {
            l.split('|')
                .map(|cell| {
                    let cell = cell.trim();
                    if names.contains(&cell) {
                        "<name>"
                    } else {
                        cell
                    }
                })
                .collect::<Vec<_>>()
                .join("|")
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// PostgreSQL's output with the known differences applied.
fn expected(reference: &str) -> String {
    KNOWN.iter().fold(reference.to_owned(), |text, (pg, mallard)| text.replace(pg, mallard))
}

#[test]
fn psql_describes_the_schema_as_postgres_does() {
    let both = Both::start();
    let commands = [
        r"\dt",
        r"\dt sales.*",
        r"\dn",
        r"\dv",
        r"\ds",
        r"\di",
        r"\dT",
        r"\df",
        r"\d",
        r"\d orders",
        r"\d customers",
        r"\d sales.regions",
        r"\d big_orders",
        r"\d+ orders",
    ];
    let mut differences = Vec::new();
    for command in commands {
        let (pg, mallard) = both.psql(command);
        if expected(&pg) != mallard {
            differences.push(format!("{command}\n--- PostgreSQL 15:\n{pg}\n--- mallard:\n{mallard}"));
        }
    }
    assert!(
        differences.is_empty(),
        "psql output differs:\n{}\n--- log:\n{}",
        differences.join("\n\n"),
        both.mallard.logs()
    );
}

/// The recorded corpus, per client.
const CORPUS: &[(&str, &str)] = &[
    ("psql", include_str!("catalog/corpus/psql.sql")),
    ("pgjdbc", include_str!("catalog/corpus/pgjdbc.sql")),
    ("sqlalchemy", include_str!("catalog/corpus/sqlalchemy.sql")),
];

/// The entries of one corpus file, as (label, statement).
fn corpus(text: &str) -> Vec<(String, String)> {
    text.split("\n--- ")
        .map(|e| e.strip_prefix("--- ").unwrap_or(e))
        .filter_map(|e| e.split_once('\n'))
        .map(|(label, sql)| (label.to_owned(), sql.trim().to_owned()))
        .filter(|(_, sql)| !sql.is_empty())
        .collect()
}

/// psycopg wraps its type probe in a savepoint, which only exists inside the client's
/// transaction; replayed one statement per session, it would fail on PostgreSQL too
/// (`tests/savepoints.rs` covers savepoints).
fn needs_savepoints(sql: &str) -> bool {
    let first = sql.split_whitespace().next().unwrap_or_default();
    first.eq_ignore_ascii_case("savepoint") || first.eq_ignore_ascii_case("release")
}

#[test]
fn every_recorded_client_statement_runs() {
    let mallard = Server::start(BIN, Options { storage: "duckdb", workers: 1, ..Options::default() });
    load_fixture(&mut mallard.connect());
    let mut failures = Vec::new();
    for (file, text) in CORPUS {
        let entries = corpus(text);
        assert!(entries.len() > 10, "{file} has only {} entries", entries.len());
        let mut ran = 0;
        for (label, sql) in entries.iter().filter(|(_, sql)| !needs_savepoints(sql)) {
            // A fresh session each: one failure must not hide the next.
            match mallard.connect().simple_query(sql) {
                Ok(_) => ran += 1,
                Err(e) => failures.push(format!("[{file}] {label}: {e}\n{sql}")),
            }
        }
        println!("{file}: {ran} of {} statements ran", entries.len());
    }
    assert!(failures.is_empty(), "{} statements failed:\n{}", failures.len(), failures.join("\n\n"));
}

/// Runs a driver script against both servers and compares what it prints.
fn driver_prints_as_against_postgres(script: Command, rerun: impl Fn() -> Command, skip_from: Option<&str>) {
    let both = Both::start();
    let limit = Duration::from_secs(180);
    let reference = drivers::run(script, &pg_conn_str(&both.pg), limit);
    assert!(reference.passed, "the script failed against PostgreSQL 15:\n{}", reference.output);
    let run = drivers::run(rerun(), &both.mallard.conn_str(), limit);
    assert!(
        run.passed,
        "the script failed against mallard:\n{}\n--- log:\n{}",
        run.output,
        both.mallard.logs()
    );
    let cut = |text: &str| -> String {
        let text = match skip_from.and_then(|marker| text.find(marker)) {
            Some(at) => &text[..at],
            None => text,
        };
        text.lines()
            .map(|l| l.split('|').map(str::trim).collect::<Vec<_>>().join("|"))
            .collect::<Vec<_>>()
            .join("\n")
    };
    assert_eq!(
        expected(&cut(&reference.output)),
        cut(&run.output),
        "the script's output differs from PostgreSQL's"
    );
}

#[test]
fn pgjdbc_metadata_as_against_postgres() {
    // ResultSetMetaData's table, nullability and declared lengths come from the table
    // OID and column number a RowDescription carries, looked up in the catalog.
    driver_prints_as_against_postgres(
        drivers::java_source("JdbcMetadata.java"),
        || drivers::java_source("JdbcMetadata.java"),
        None,
    );
}

/// Every row of `sql`, as text, on one server.
fn rows(client: &mut postgres::Client, sql: &str) -> Vec<Vec<Option<String>>> {
    client
        .simple_query(sql)
        .unwrap_or_else(|e| panic!("{sql}: {e}"))
        .into_iter()
        .filter_map(|m| match m {
            postgres::SimpleQueryMessage::Row(r) => {
                Some((0..r.len()).map(|i| r.get(i).map(str::to_owned)).collect())
            }
            _ => None,
        })
        .collect()
}

#[test]
fn information_schema_as_in_postgres() {
    let both = Both::start();
    let mut pg = postgres::Client::connect(&pg_conn_str(&both.pg), postgres::NoTls).unwrap();
    let mut mallard = both.mallard.connect();
    // Not compared: whether a view is updatable (PostgreSQL's simple views are; DuckDB's
    // are not, and mallard says so), and the catalog name (the database's).
    let queries = [
        "select table_schema, table_name, table_type from information_schema.tables \
         where table_schema in ('public', 'sales') order by 1, 2",
        "select table_name, column_name, ordinal_position, column_default, is_nullable, data_type, \
         character_maximum_length, numeric_precision, numeric_precision_radix, numeric_scale, datetime_precision, \
         udt_name from information_schema.columns where table_schema in ('public', 'sales') order by 1, 3",
        "select constraint_name, table_name, constraint_type from information_schema.table_constraints \
         where table_schema in ('public', 'sales') and constraint_type <> 'CHECK' order by 1",
        "select constraint_name, table_name, column_name, ordinal_position, position_in_unique_constraint \
         from information_schema.key_column_usage where table_schema in ('public', 'sales') order by 1, 4",
        "select constraint_name, unique_constraint_name, match_option, update_rule, delete_rule \
         from information_schema.referential_constraints order by 1",
        "select table_name, column_name, constraint_name from information_schema.constraint_column_usage \
         where table_schema in ('public', 'sales') and constraint_name not like '%check' order by 3, 2",
        "select schema_name from information_schema.schemata order by 1",
        "select count(*) from information_schema.routines where routine_schema = 'public'",
        "select routine_schema, routine_name, routine_type, data_type, type_udt_name, routine_body, \
         external_language from information_schema.routines where routine_schema in ('public', 'sales') order by 2",
        "select p.specific_schema, r.routine_name, p.ordinal_position, p.parameter_mode, p.parameter_name, \
         p.data_type, p.udt_name from information_schema.parameters p \
         join information_schema.routines r using (specific_schema, specific_name) \
         where p.specific_schema in ('public', 'sales') order by 2, 3",
    ];
    let mut differences = Vec::new();
    for sql in queries {
        let (want, got) = (rows(&mut pg, sql), rows(&mut mallard, sql));
        if want != got {
            differences.push(format!("{sql}\n  PostgreSQL: {want:?}\n  mallard:    {got:?}"));
        }
    }
    assert!(differences.is_empty(), "{}", differences.join("\n"));
}

#[test]
fn sqlalchemy_inspector_as_against_postgres() {
    driver_prints_as_against_postgres(
        drivers::python_script("sqlalchemy_inspect.py"),
        || drivers::python_script("sqlalchemy_inspect.py"),
        None,
    );
}

#[test]
fn declared_lengths_are_kept_and_enforced() {
    let mallard = Server::start(BIN, Options::default());
    let mut client = mallard.connect();
    load_fixture(&mut client);
    let types: Vec<(String, String)> = client
        .query(
            "select a.attname, format_type(a.atttypid, a.atttypmod) from pg_attribute a \
             where a.attrelid = 'customers'::regclass and a.attnum > 0 order by a.attnum",
            &[],
        )
        .unwrap()
        .iter()
        .map(|r| (r.get(0), r.get(1)))
        .collect();
    let want = [("id", "integer"), ("email", "character varying(80)"), ("name", "text"), ("created", "date")];
    assert_eq!(types, want.map(|(a, b)| (a.to_owned(), b.to_owned())));
    let err = client.simple_query("insert into sales.regions values ('abc', 'x')").expect_err("too long");
    assert_eq!(sqlstate(&err), "22001");
    assert_eq!(err.as_db_error().unwrap().message(), "value too long for type character(2)");
    // char(n) ignores trailing spaces, as PostgreSQL does.
    client.simple_query("insert into sales.regions values ('ab   ', 'x')").unwrap();
    // The checks that keep the lengths are no constraints of the table.
    let checks: i64 = client
        .query_one(
            "select count(*) from pg_constraint where contype = 'c' and conrelid = 'customers'::regclass",
            &[],
        )
        .unwrap()
        .get(0);
    assert_eq!(checks, 0);
}

#[test]
fn the_maintenance_database_name_reaches_the_served_one() {
    let mallard = Server::start(BIN, Options::default());
    let conn = mallard.conn_str().replace("dbname=mallard", "dbname=postgres");
    let mut client = postgres::Client::connect(&conn, postgres::NoTls).expect("postgres is an alias");
    let name: String = client.query_one("select current_database()", &[]).unwrap().get(0);
    assert_eq!(name, "mallard");
    let listed: Vec<String> =
        client.query("select datname from pg_database", &[]).unwrap().iter().map(|r| r.get(0)).collect();
    assert_eq!(listed, ["mallard"]);
    let off = Server::start(
        BIN,
        Options { env: vec![("MALLARD_DATABASE_ALIASES".into(), "[]".into())], ..Options::default() },
    );
    let err = postgres::Client::connect(
        &off.conn_str().replace("dbname=mallard", "dbname=postgres"),
        postgres::NoTls,
    )
    .err()
    .expect("no alias");
    assert_eq!(sqlstate(&err), "3D000");
}

#[test]
fn catalog_relations_have_postgres_columns() {
    let pg = Postgres::start();
    let mut reference =
        postgres::Client::connect(&pg_conn_str(&pg), postgres::NoTls).expect("connect to PostgreSQL");
    let mallard = Server::start(BIN, Options::default());
    let mut client = mallard.connect();
    let relations = [
        "pg_namespace",
        "pg_class",
        "pg_attribute",
        "pg_attrdef",
        "pg_index",
        "pg_constraint",
        "pg_type",
        "pg_description",
        "pg_database",
        "pg_roles",
        "pg_user",
        "pg_authid",
        "pg_am",
        "pg_sequence",
        "pg_sequences",
        "pg_collation",
        "pg_settings",
        "pg_tables",
        "pg_views",
        "pg_indexes",
        "pg_matviews",
        "pg_inherits",
        "pg_stat_user_tables",
        "pg_tablespace",
        "pg_proc",
        "pg_depend",
        "pg_extension",
        "pg_enum",
        "pg_trigger",
        "pg_rewrite",
        "pg_policy",
        "pg_partitioned_table",
        "pg_statio_user_tables",
        "pg_language",
        "pg_opclass",
    ];
    let mut differences = Vec::new();
    for relation in relations {
        let sql = format!("select * from pg_catalog.{relation}");
        let names = |c: &mut postgres::Client| -> Result<Vec<String>, postgres::Error> {
            Ok(c.prepare(&sql)?.columns().iter().map(|c| c.name().to_owned()).collect())
        };
        let want = names(&mut reference).expect("PostgreSQL has the relation");
        match names(&mut client) {
            Ok(got) if got == want => {}
            Ok(got) => differences.push(format!("{relation}: {got:?}, PostgreSQL has {want:?}")),
            Err(e) => differences.push(format!("{relation}: {e}")),
        }
    }
    assert!(differences.is_empty(), "{}", differences.join("\n"));
}

#[test]
fn relation_oids_survive_a_restart_and_lookups_fail_as_in_postgres() {
    let data = tempfile::tempdir().expect("temp dir");
    let options = Options {
        storage: "duckdb",
        workers: 1,
        data_dir: Some(data.path().join("data")),
        ..Options::default()
    };
    let oid_of = |server: &Server| -> u32 {
        let row = server.connect().query_one("select 'orders'::regclass::oid::int8", &[]).expect("regclass");
        u32::try_from(row.get::<_, i64>(0)).expect("an oid")
    };
    let mut server = Server::start(BIN, options.clone());
    load_fixture(&mut server.connect());
    let before = oid_of(&server);
    assert!(before >= 16384, "user OIDs start where PostgreSQL's do: {before}");
    let mut client = server.connect();
    let name: String = client
        .query_one(
            "select c.oid::regclass::text from pg_class c where c.oid = $1::int8",
            &[&i64::from(before)],
        )
        .unwrap()
        .get(0);
    assert_eq!(name, "orders");
    let err = client.simple_query("select 'no_such_table'::regclass").expect_err("unknown relation");
    assert_eq!(sqlstate(&err), "42P01");
    let message = err.as_db_error().map(|e| e.message().to_owned()).unwrap_or_default();
    assert_eq!(message, "relation \"no_such_table\" does not exist");
    let version: String = client.query_one("select pg_catalog.version()", &[]).unwrap().get(0);
    assert!(version.starts_with("PostgreSQL 15.0 (mallard "), "{version}");
    let users: (String, String, String) = client
        .query_one("select current_user, session_user, user", &[])
        .map(|r| (r.get(0), r.get(1), r.get(2)))
        .unwrap();
    assert_eq!(
        users,
        ("tester".to_owned(), "tester".to_owned(), "tester".to_owned()),
        "DuckDB's own answer is duckdb"
    );
    let extensions: Vec<String> = client
        .query("select extname from pg_extension order by 1", &[])
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert!(
        extensions.contains(&"json".to_owned()) && extensions.contains(&"parquet".to_owned()),
        "{extensions:?}"
    );
    client.batch_execute("set work_mem = '8MB'").unwrap();
    let setting: (String, String) = client
        .query_one(
            "select current_setting('work_mem'), (select source from pg_settings where name = 'work_mem')",
            &[],
        )
        .map(|r| (r.get(0), r.get(1)))
        .unwrap();
    assert_eq!(setting, ("8MB".to_owned(), "session".to_owned()));
    let err = client.simple_query("select current_setting('no_such_setting')").expect_err("unknown setting");
    assert_eq!(sqlstate(&err), "42704");
    drop(client);
    server.stop();
    let again = Server::start(BIN, options);
    assert_eq!(oid_of(&again), before, "a restart changed the table's OID");
}
