//! The catalog follows DDL. A worker answers catalog queries from a snapshot of DuckDB's
//! catalog that DDL makes out of date; these tests change tables in one session and
//! read `pg_class`, `pg_attribute`, `pg_indexes` and psql's `\d` in that session and in
//! others of the same worker: after a commit everyone sees the change, inside the
//! transaction only the session that made it, and a statement prepared before the
//! change answers as one prepared after it.

use mallard_harness::postgres::{Client, Statement};
use mallard_harness::{Options, Server};

const BIN: &str = env!("CARGO_BIN_EXE_mallard");

fn start(storage: &'static str) -> Server {
    Server::start(BIN, Options { storage, workers: 1, ..Options::default() })
}

/// `pg_class` rows of the table called `name`.
fn classes(client: &mut Client, name: &str) -> i64 {
    let sql = "SELECT count(*) FROM pg_catalog.pg_class c WHERE c.relname = $1 AND c.relkind = 'r'";
    client.query_one(sql, &[&name]).unwrap_or_else(|e| panic!("{sql}: {}", message(&e))).get(0)
}

/// The columns of `name` as `pg_attribute` and `format_type` list them.
fn columns(client: &mut Client, name: &str) -> Vec<String> {
    let sql = "SELECT a.attname || ' ' || pg_catalog.format_type(a.atttypid, a.atttypmod) \
               FROM pg_catalog.pg_attribute a JOIN pg_catalog.pg_class c ON c.oid = a.attrelid \
               WHERE c.relname = $1 AND a.attnum > 0 ORDER BY a.attnum";
    let rows = client.query(sql, &[&name]).unwrap_or_else(|e| panic!("{sql}: {}", message(&e)));
    rows.iter().map(|r| r.get(0)).collect()
}

fn indexes(client: &mut Client, table: &str) -> Vec<String> {
    let sql = "SELECT indexname FROM pg_catalog.pg_indexes WHERE tablename = $1 ORDER BY 1";
    let rows = client.query(sql, &[&table]).unwrap_or_else(|e| panic!("{sql}: {}", message(&e)));
    rows.iter().map(|r| r.get(0)).collect()
}

fn run(client: &mut Client, sql: &str) {
    client.batch_execute(sql).unwrap_or_else(|e| panic!("{sql}: {}", message(&e)));
}

/// The server's message, not just "db error".
fn message(e: &mallard_harness::postgres::Error) -> String {
    e.as_db_error().map_or_else(|| e.to_string(), |d| format!("{}: {}", d.code().code(), d.message()))
}

/// psql's `\d name` in one session that first runs `before` (several `-c`s share it).
fn describe(server: &Server, before: &[&str], name: &str) -> String {
    let mut psql = server.psql_command();
    // With titles and footers (the table's name, its indexes).
    psql.args(["-c", "\\pset tuples_only off"]);
    for sql in before {
        psql.args(["-c", sql]);
    }
    let out = psql.args(["-c", &format!("\\d {name}")]).output().expect("run psql");
    String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr)
}

#[test]
fn another_sessions_ddl_shows_once_committed() {
    let server = start("duckdb");
    let (mut reader, mut writer) = (server.connect(), server.connect());
    // The reader's first catalog query builds the snapshot before any DDL.
    assert_eq!(classes(&mut reader, "follows"), 0);

    run(&mut writer, "CREATE TABLE follows (id integer PRIMARY KEY, name varchar(10))");
    assert_eq!(classes(&mut reader, "follows"), 1);
    assert_eq!(columns(&mut reader, "follows"), ["id integer", "name character varying(10)"]);

    run(&mut writer, "ALTER TABLE follows ADD COLUMN note text");
    assert_eq!(columns(&mut reader, "follows"), ["id integer", "name character varying(10)", "note text"]);
    let described = describe(&server, &[], "follows");
    assert!(described.contains("note") && described.contains("follows_pkey"), "{described}");

    // DDL that changes no relation's columns dates the snapshot too.
    run(&mut writer, "CREATE INDEX follows_name ON follows (name)");
    assert_eq!(indexes(&mut reader, "follows"), ["follows_name", "follows_pkey"]);

    // A writer's open transaction is its own until it commits.
    run(&mut writer, "BEGIN; DROP INDEX follows_name; DROP TABLE follows");
    assert_eq!(classes(&mut reader, "follows"), 1);
    run(&mut writer, "COMMIT");
    assert_eq!(classes(&mut reader, "follows"), 0);
    assert_eq!(columns(&mut reader, "follows"), Vec::<String>::new());
}

#[test]
fn a_transaction_sees_its_own_ddl() {
    let server = start("memory");
    let (mut own, mut other) = (server.connect(), server.connect());
    assert_eq!(classes(&mut own, "mine"), 0);

    run(&mut own, "BEGIN; CREATE TABLE mine (a integer)");
    assert_eq!(classes(&mut own, "mine"), 1);
    assert_eq!(classes(&mut other, "mine"), 0);
    run(&mut own, "ALTER TABLE mine ADD COLUMN b text");
    assert_eq!(columns(&mut own, "mine"), ["a integer", "b text"]);
    assert_eq!(columns(&mut other, "mine"), Vec::<String>::new());
    run(&mut own, "COMMIT");
    assert_eq!(columns(&mut other, "mine"), ["a integer", "b text"]);

    // Rolled back, a change is nobody's.
    run(&mut own, "BEGIN; DROP TABLE mine");
    assert_eq!(classes(&mut own, "mine"), 0);
    assert_eq!(classes(&mut other, "mine"), 1);
    run(&mut own, "ROLLBACK");
    assert_eq!(classes(&mut own, "mine"), 1);

    // psql's \d inside a transaction that made the table (SQLAlchemy's create_all then
    // reflect does the same).
    let described = describe(&server, &["BEGIN", "CREATE TABLE fresh (k bigint PRIMARY KEY)"], "fresh");
    assert!(described.contains("Table \"public.fresh\"") && described.contains("fresh_pkey"), "{described}");
    assert_eq!(classes(&mut other, "fresh"), 0, "psql's transaction was never committed");
}

#[test]
fn a_statement_prepared_before_ddl_answers_after_it() {
    let server = start("memory");
    let (mut own, mut other) = (server.connect(), server.connect());
    let count = "SELECT count(*) FROM pg_catalog.pg_class c WHERE c.relname = $1";
    let prepared: Statement = own.prepare(count).expect("prepare");
    let ask =
        |client: &mut Client, name: &str| -> i64 { client.query_one(&prepared, &[&name]).unwrap().get(0) };
    assert_eq!(ask(&mut own, "later"), 0);

    // Planned over the snapshot, then the session's own uncommitted table.
    run(&mut own, "BEGIN; CREATE TABLE later (x integer)");
    assert_eq!(ask(&mut own, "later"), 1);
    run(&mut own, "COMMIT");
    assert_eq!(ask(&mut own, "later"), 1);

    // Another session's DDL.
    run(&mut other, "DROP TABLE later");
    assert_eq!(ask(&mut own, "later"), 0);
}

#[test]
fn a_transaction_reads_the_catalog_whenever_the_snapshot_is_built() {
    let server = start("memory");
    let (mut open, mut other) = (server.connect(), server.connect());
    // An ordinary check and a jsonb column: the snapshot is built over both.
    run(&mut other, "CREATE TABLE early (x integer CHECK (x > 0), doc jsonb)");
    let checks = "SELECT count(*) FROM pg_catalog.pg_constraint WHERE contype = 'c'";

    // The transaction's first catalog query finds the snapshot out of date (Alembic's
    // compare_metadata, first in a fresh psycopg transaction): built now, the tables
    // would be invisible to it.
    run(&mut open, "BEGIN; SELECT count(*) FROM early");
    assert_eq!(classes(&mut open, "early"), 1);
    // Built by another session while the transaction is open.
    assert_eq!(classes(&mut other, "early"), 1);
    assert_eq!(columns(&mut open, "early"), ["x integer", "doc jsonb"]);
    assert_eq!(open.query_one(checks, &[]).unwrap().get::<_, i64>(0), 1);
    run(&mut open, "COMMIT");

    // Built before the next transaction began, and after DDL, inside one.
    run(&mut open, "BEGIN; SELECT count(*) FROM early");
    assert_eq!(columns(&mut open, "early"), ["x integer", "doc jsonb"]);
    run(&mut open, "COMMIT");
    run(&mut other, "ALTER TABLE early ADD COLUMN y text");
    run(&mut open, "BEGIN; SELECT count(*) FROM early");
    assert_eq!(columns(&mut open, "early"), ["x integer", "doc jsonb", "y text"]);
    assert_eq!(columns(&mut other, "early"), ["x integer", "doc jsonb", "y text"]);
    assert_eq!(columns(&mut open, "early"), ["x integer", "doc jsonb", "y text"]);
    run(&mut open, "COMMIT");
}
