//! Issue 11's catalog, proved with what clients really send. The schema of
//! `tests/catalog/fixture.sql` is created on a PostgreSQL 15 and on mallard; then
//! - every statement psql 15, pgjdbc 42.5, SQLAlchemy 2 and Superset sent for it against
//!   PostgreSQL (`tests/catalog/corpus/`, recorded by `tests/catalog/record.sh`), and what
//!   DBeaver, Metabase, Grafana and Npgsql send (taken from their sources), answers on
//!   mallard as on PostgreSQL: the same columns, rows and values, but for the
//!   differences listed in [`KNOWN_ANSWERS`];
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
        self.psql_session(&[command])
    }

    /// `psql -X` output of `commands`, run one after another in one session of each.
    fn psql_session(&self, commands: &[&str]) -> (String, String) {
        let run = |port: u16, user: &str, db: &str| {
            let mut psql = Command::new("psql");
            psql.args(["-X", "-h", "127.0.0.1", "-p", &port.to_string(), "-U", user, "-d", db]);
            for command in commands {
                psql.args(["-c", command]);
            }
            let out = psql.env("PGCONNECT_TIMEOUT", "10").output().expect("run psql");
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

/// A session's temporary table, as psql, `pg_class` and `information_schema` show it to
/// that session (PostgreSQL's temporary schema is `pg_temp_<slot>`; both say `pg_temp_N`).
#[test]
fn temporary_tables_show_as_in_postgres() {
    let both = Both::start();
    let create =
        "create temp table scratch (id integer primary key, label varchar(5) not null, n numeric(6,2))";
    let commands = [
        r"\d scratch",
        r"\dt",
        "select c.relname, c.relkind, c.relpersistence, n.nspname, pg_table_is_visible(c.oid), \
         c.oid = 'scratch'::regclass, to_regclass('scratch') is not null, c.oid::regclass \
         from pg_class c join pg_namespace n on n.oid = c.relnamespace where n.nspname like 'pg_temp%' order by 1",
        "select table_schema, table_name, table_type from information_schema.tables where table_name = 'scratch'",
        "select column_name, data_type, character_maximum_length, is_nullable \
         from information_schema.columns where table_name = 'scratch' order by ordinal_position",
        "select count(*) from pg_namespace where nspname like 'pg_temp%'",
    ];
    let temp = |text: String| -> String {
        let mut out = String::new();
        let mut rest = text.as_str();
        while let Some(at) = rest.find("pg_temp_") {
            out.push_str(&rest[..at + "pg_temp_".len()]);
            rest = rest[at + "pg_temp_".len()..].trim_start_matches(|c: char| c.is_ascii_digit());
            out.push('N');
        }
        out + rest
    };
    let mut differences = Vec::new();
    for command in commands {
        let (pg, mallard) = both.psql_session(&[create, command]);
        let (pg, mallard) = (temp(pg), temp(mallard));
        assert!(!pg.contains("(0 rows)") && !pg.contains("ERROR"), "{command}: {pg}");
        if pg != mallard {
            differences.push(format!("{command}\n--- PostgreSQL 15:\n{pg}\n--- mallard:\n{mallard}"));
        }
    }
    assert!(differences.is_empty(), "psql output differs:\n{}", differences.join("\n\n"));
    // Another session sees none of them.
    let (pg, mallard) = both.psql_session(&["select count(*) from pg_class where relpersistence = 't'"]);
    assert_eq!(pg, mallard);
}

/// The corpus, per client: recorded from the client against PostgreSQL 15 (psql, pgjdbc,
/// SQLAlchemy, Superset, asyncpg), or taken from the client's source where it cannot run here
/// (DBeaver, Metabase, Grafana, Npgsql); each file's header says which.
const CORPUS: &[(&str, &str)] = &[
    ("psql", include_str!("catalog/corpus/psql.sql")),
    ("pgjdbc", include_str!("catalog/corpus/pgjdbc.sql")),
    ("sqlalchemy", include_str!("catalog/corpus/sqlalchemy.sql")),
    ("superset", include_str!("catalog/corpus/superset.sql")),
    ("asyncpg", include_str!("catalog/corpus/asyncpg.sql")),
    ("dbeaver", include_str!("catalog/corpus/dbeaver.sql")),
    ("metabase", include_str!("catalog/corpus/metabase.sql")),
    ("grafana", include_str!("catalog/corpus/grafana.sql")),
    ("npgsql", include_str!("catalog/corpus/npgsql.sql")),
];

/// The entries of one corpus file, as (label, statement). A file may begin with a comment
/// header before its first `--- ` label.
fn corpus(text: &str) -> Vec<(String, String)> {
    let mut parts = text.split("\n--- ");
    let first = parts.next().unwrap_or_default();
    first
        .strip_prefix("--- ")
        .into_iter()
        .chain(parts)
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

/// Reasons shared by several entries of [`KNOWN_ANSWERS`].
const R_PAGES: &str = "an index's relpages is 0 (DuckDB reports no pages); PostgreSQL's new index has 1";
const R_VERSION: &str = "version() names mallard and DuckDB";
const R_VECTORS: &str = "mallard has no operator classes or collations per index column: indclass and indcollation are 0; index sizes are 0";
const R_TYPES: &str = "mallard's pg_type holds only the builtin types it maps and their arrays";

/// How much of an answer is compared with PostgreSQL's.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Compare {
    /// Column names, row count and every row, normalized by [`cell`].
    Rows,
    /// Column names and row count: the values are the server's own (sizes, versions,
    /// times) or differ for a reason listed in [`KNOWN_ANSWERS`].
    Shape,
    /// Column names, and every row mallard gives is one PostgreSQL gives: mallard's
    /// catalog holds fewer builtin objects (types, roles, functions) than PostgreSQL's.
    Subset,
    /// Column names only: the number of rows differs for a listed reason.
    Columns,
    /// Only that it runs: the column names differ for a listed reason.
    Runs,
}

/// Whether `sql` names a user object by the OID it had on the server the client was
/// recorded against (psql's `\d` looks the OID up, then quotes it in what follows;
/// pgjdbc's ResultSetMetaData lists the OIDs of a RowDescription). On another server that
/// OID is another object or none, so only the columns of such a statement are compared.
fn names_a_recorded_oid(sql: &str) -> bool {
    sql.split(|c: char| !c.is_ascii_alphanumeric() && c != '_')
        .filter_map(|word| word.parse::<u64>().ok())
        .any(|n| (16384..=u64::from(u32::MAX)).contains(&n))
}

/// The corpus entries whose answers differ from PostgreSQL 15's, as (entry, how much is
/// still compared, why). An entry is `<file>: <label> #<n>`, the n-th statement under that
/// label; a failing comparison prints it. Every other entry is compared row by row.
const KNOWN_ANSWERS: &[(&str, Compare, &str)] = &[
    ("pgjdbc: pgjdbc getIndexInfo public.orders #1", Compare::Shape, R_PAGES),
    ("pgjdbc: pgjdbc getIndexInfo public.customers #1", Compare::Shape, R_PAGES),
    ("psql: psql \\l #1", Compare::Columns, "mallard serves one database and has no template0 or template1"),
    ("psql: psql \\dt+ #1", Compare::Shape, "DuckDB reports no relation sizes: 0 bytes"),
    ("psql: psql \\du #1", Compare::Shape, "mallard's user is neither a replication nor a bypassrls role"),
    ("psql: psql \\dx #1", Compare::Columns, "DuckDB's loaded extensions (json, parquet, icu) are listed; PostgreSQL has only plpgsql"),
    ("psql: psql select version() #1", Compare::Shape, R_VERSION),
    ("pgjdbc: pgjdbc getTypeInfo #1", Compare::Subset, R_TYPES),
    ("pgjdbc: pgjdbc getTypeInfo #2", Compare::Subset, R_TYPES),
    ("sqlalchemy: sqlalchemy connect #2", Compare::Shape, R_VERSION),
    ("sqlalchemy: sqlalchemy get_columns public.customers #2", Compare::Columns, "PostgreSQL's information_schema defines domains (cardinal_number, ...); mallard has no domains"),
    ("sqlalchemy: sqlalchemy get_check_constraints public.orders #1", Compare::Shape, "PostgreSQL shows the implicit cast it added to the CHECK expression (0::numeric)"),
    ("sqlalchemy: sqlalchemy MetaData.reflect schema=None #10", Compare::Shape, "PostgreSQL shows the implicit cast it added to the CHECK expression (0::numeric)"),
    ("superset: superset connect #2", Compare::Shape, R_VERSION),
    ("superset: superset table metadata public.orders #2", Compare::Columns, "PostgreSQL's information_schema defines domains (cardinal_number, ...); mallard has no domains"),
    ("superset: superset query session #2", Compare::Shape, "each server's own backend pid"),
    ("dbeaver: dbeaver connect: server version #1", Compare::Shape, R_VERSION),
    ("dbeaver: dbeaver connect: database list #1", Compare::Shape, "the database's OID, frozen xids and locale (C.UTF-8) are mallard's own"),
    ("dbeaver: dbeaver data types #1", Compare::Columns, "fewer builtin types, and rows such as bpchar's differ in a detail still to look into"),
    ("dbeaver: dbeaver database description #1", Compare::Columns, "PostgreSQL comments its postgres database; mallard's has no comment"),
    ("dbeaver: dbeaver schemas #1", Compare::Shape, "mallard keeps no schema ACLs (nspacl) and no builtin schema comments"),
    ("dbeaver: dbeaver indexes of public #1", Compare::Shape, R_VECTORS),
    ("dbeaver: dbeaver indexes of public.orders #1", Compare::Shape, R_VECTORS),
    ("dbeaver: dbeaver roles #1", Compare::Columns, "mallard has its users and none of PostgreSQL's predefined pg_* roles, and its user is neither a replication nor a bypassrls role"),
    ("dbeaver: dbeaver access methods #1", Compare::Subset, "mallard lists the access methods its relations use"),
    ("dbeaver: dbeaver tables of public #1", Compare::Shape, "mallard's relations have no row types (reltype), storage files or statistics (relfilenode, relpages, reltuples, relfrozenxid)"),
    ("dbeaver: dbeaver tables of sales #1", Compare::Shape, "mallard's relations have no row types (reltype), storage files or statistics (relfilenode, relpages, reltuples, relfrozenxid)"),
    ("dbeaver: dbeaver columns of public #1", Compare::Columns, "DuckDB tables have no system columns (ctid, xmin, ...; attnum < 0), which DBeaver does not filter out"),
    ("dbeaver: dbeaver columns of public.orders #1", Compare::Columns, "DuckDB tables have no system columns (ctid, xmin, ...; attnum < 0), which DBeaver does not filter out"),
    ("dbeaver: dbeaver columns of sales.regions #1", Compare::Columns, "DuckDB tables have no system columns (ctid, xmin, ...; attnum < 0), which DBeaver does not filter out"),
    ("dbeaver: dbeaver constraints of public #1", Compare::Shape, "ordered by OID, which the two servers hand out in a different order"),
    ("dbeaver: dbeaver constraints of public.orders #1", Compare::Shape, "ordered by OID, which the two servers hand out in a different order"),
    ("dbeaver: dbeaver relation statistics of public #1", Compare::Shape, "DuckDB reports no relation sizes"),
    ("npgsql: npgsql version #1", Compare::Shape, R_VERSION),
    ("npgsql: npgsql load types #1", Compare::Subset, R_TYPES),
    ("npgsql: npgsql type loading as one batch #1", Compare::Columns, "its first result is version(), which names mallard and DuckDB; the types are checked by npgsql load types"),
    ("dbeaver: dbeaver procedures of public #1", Compare::Shape, "a macro's text (prosrc) is DuckDB's, and its parameter defaults are not known"),
];

/// One result set: its column names and rows as text.
type Answer = (Vec<String>, Vec<Vec<Option<String>>>);

/// Every result set `sql` answers, in a fresh session.
fn answers(client: &mut postgres::Client, sql: &str) -> Result<Vec<Answer>, postgres::Error> {
    let mut sets: Vec<Answer> = Vec::new();
    for message in client.simple_query(sql)? {
        match message {
            postgres::SimpleQueryMessage::RowDescription(columns) => {
                sets.push((columns.iter().map(|c| c.name().to_owned()).collect(), Vec::new()));
            }
            postgres::SimpleQueryMessage::Row(row) => {
                let values = (0..row.len()).map(|i| row.get(i).map(str::to_owned)).collect();
                if let Some((_, rows)) = sets.last_mut() {
                    rows.push(values);
                }
            }
            _ => {}
        }
    }
    Ok(sets)
}

/// A value as compared: user-object OIDs (PostgreSQL and mallard both start them at 16384,
/// but hand them out differently) become `<oid>`, also inside arrays and vectors, and the
/// two servers' user and database names become `<name>`.
fn cell(value: &Option<String>, names: &[&str]) -> String {
    let Some(text) = value else { return "NULL".to_owned() };
    if names.contains(&text.as_str()) {
        return "<name>".to_owned();
    }
    let words: Vec<String> = text
        .split_inclusive(|c: char| !c.is_ascii_digit())
        .map(|w| {
            let digits = w.trim_end_matches(|c: char| !c.is_ascii_digit());
            match digits.parse::<u64>() {
                Ok(n) if (16384..=u64::from(u32::MAX)).contains(&n) => format!("<oid>{}", &w[digits.len()..]),
                _ => w.to_owned(),
            }
        })
        .collect();
    words.concat()
}

/// How a statement orders its rows, as far as a comparison can hold it to.
enum Order<'a> {
    /// No ORDER BY: any order.
    None,
    /// The last ORDER BY names only these result columns (`ORDER BY depth DESC`): rows
    /// that tie on them may come in any order, in PostgreSQL too.
    Keys(Vec<&'a str>),
    /// An ORDER BY on anything else: the order as sent.
    Exact,
}

fn order_of<'a>(sql: &'a str) -> Order<'a> {
    let lower = sql.to_ascii_lowercase();
    let Some(at) = lower.rfind("order by") else { return Order::None };
    let keys = sql[at + "order by".len()..].trim().trim_end_matches(';');
    // Each key a column name, with a direction at most.
    let column = |key: &'a str| {
        let mut words = key.split_whitespace();
        let name = words.next().filter(|n| {
            n.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
                && !n.bytes().all(|b| b.is_ascii_digit())
        })?;
        let direction = words.next().map(str::to_ascii_lowercase);
        (matches!(direction.as_deref(), None | Some("asc" | "desc")) && words.next().is_none())
            .then_some(name)
    };
    keys.split(',').map(column).collect::<Option<Vec<_>>>().map_or(Order::Exact, Order::Keys)
}

/// The answer as compared: rows normalized and sorted where the statement leaves their
/// order open (all of them, or those that tie on its ORDER BY columns).
fn normalized(answer: &Answer, names: &[&str], order: &Order<'_>) -> (Vec<String>, Vec<Vec<String>>) {
    let mut rows: Vec<Vec<String>> =
        answer.1.iter().map(|row| row.iter().map(|v| cell(v, names)).collect()).collect();
    match order {
        Order::None => rows.sort(),
        Order::Keys(keys) => {
            let columns: Option<Vec<usize>> =
                keys.iter().map(|k| answer.0.iter().position(|c| c.eq_ignore_ascii_case(k))).collect();
            if let Some(columns) = columns {
                let key = |row: &Vec<String>| columns.iter().map(|&c| row[c].clone()).collect::<Vec<_>>();
                for run in rows.chunk_by_mut(|a, b| key(a) == key(b)) {
                    run.sort();
                }
            }
        }
        Order::Exact => {}
    }
    (answer.0.clone(), rows)
}

/// Why `got` is not PostgreSQL's `want` at the level `compare`, if it is not.
fn difference(
    want: &[Answer],
    got: &[Answer],
    compare: Compare,
    names: &[&str],
    sql: &str,
) -> Option<String> {
    if want.len() != got.len() {
        return Some(format!("{} result sets, PostgreSQL has {}", got.len(), want.len()));
    }
    let ordered = order_of(sql);
    for (want, got) in want.iter().zip(got) {
        if compare == Compare::Runs {
            continue;
        }
        if want.0 != got.0 {
            return Some(format!("columns {:?}\n  PostgreSQL has {:?}", got.0, want.0));
        }
        if compare == Compare::Columns {
            continue;
        }
        if compare == Compare::Subset {
            let (w, g) = (normalized(want, names, &Order::None), normalized(got, names, &Order::None));
            let extra: Vec<_> = g.1.iter().filter(|row| !w.1.contains(row)).take(5).collect();
            if !extra.is_empty() || g.1.len() > w.1.len() {
                return Some(format!("rows PostgreSQL does not have ({:?}): {extra:?}", g.0));
            }
            continue;
        }
        if want.1.len() != got.1.len() {
            return Some(format!(
                "{} rows, PostgreSQL has {}\n  PostgreSQL: {:?}\n  mallard:    {:?}",
                got.1.len(),
                want.1.len(),
                normalized(want, names, &ordered).1,
                normalized(got, names, &ordered).1
            ));
        }
        if compare == Compare::Rows {
            let (w, g) = (normalized(want, names, &ordered), normalized(got, names, &ordered));
            if w != g {
                let rows: Vec<String> =
                    w.1.iter()
                        .zip(&g.1)
                        .filter(|(a, b)| a != b)
                        .take(5)
                        .map(|(a, b)| format!("  PostgreSQL: {a:?}\n  mallard:    {b:?}"))
                        .collect();
                return Some(format!("rows differ ({:?}):\n{}", w.0, rows.join("\n")));
            }
        }
    }
    None
}

#[test]
fn every_recorded_client_statement_answers_as_in_postgres() {
    let both = Both::start();
    let names = [both.pg.user, both.pg.database, "tester", "mallard"];
    let mut failures = Vec::new();
    let mut used = Vec::new();
    for (file, text) in CORPUS {
        let entries = corpus(text);
        assert!(entries.len() >= 5, "{file} has only {} entries", entries.len());
        let (mut ran, mut answered) = (0, 0);
        let mut seen: Vec<&str> = Vec::new();
        for (label, sql) in &entries {
            seen.push(label);
            let entry = format!("{file}: {label} #{}", seen.iter().filter(|l| **l == label.as_str()).count());
            if needs_savepoints(sql) {
                continue;
            }
            let known = KNOWN_ANSWERS.iter().find(|(e, _, _)| *e == entry);
            used.extend(known.map(|(e, _, _)| *e));
            let full = if names_a_recorded_oid(sql) { Compare::Columns } else { Compare::Rows };
            let compare = known.map_or(full, |(_, compare, _)| *compare);
            // A fresh session each: one failure must not hide the next.
            let mut pg = postgres::Client::connect(&pg_conn_str(&both.pg), postgres::NoTls).unwrap();
            let want = answers(&mut pg, sql).unwrap_or_else(|e| panic!("{entry} fails on PostgreSQL: {e}"));
            match answers(&mut both.mallard.connect(), sql) {
                Err(e) => {
                    let why = e
                        .as_db_error()
                        .map_or(e.to_string(), |d| format!("{}: {}", d.code().code(), d.message()));
                    failures.push(format!("[{entry}] fails: {why}\n{sql}"));
                }
                Ok(got) => {
                    ran += 1;
                    match difference(&want, &got, compare, &names, sql) {
                        None if known.is_none() => answered += 1,
                        // A listed difference that is gone must leave the list, so that
                        // the entry is compared in full from now on.
                        None if difference(&want, &got, full, &names, sql).is_none() => failures.push(
                            format!("[{entry}] now answers as PostgreSQL does: remove it from KNOWN_ANSWERS"),
                        ),
                        None => {}
                        Some(why) => failures.push(format!("[{entry}] answers differently: {why}\n{sql}")),
                    }
                }
            }
        }
        println!(
            "{file}: {} statements, {ran} ran, {answered} answered as PostgreSQL 15 does (the rest: KNOWN_ANSWERS)",
            entries.len()
        );
    }
    let stale: Vec<_> =
        KNOWN_ANSWERS.iter().filter(|(e, _, _)| !used.contains(e)).map(|(e, _, _)| e).collect();
    assert!(stale.is_empty(), "KNOWN_ANSWERS names entries the corpus no longer has: {stale:?}");
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

/// Alembic's autogenerate against a model of the fixture, pandas' to_sql and read_sql,
/// the inspector over psycopg2 and psycopg's TypeInfo.fetch (`sqlalchemy_tools.py`).
#[test]
fn sqlalchemy_tools_as_against_postgres() {
    driver_prints_as_against_postgres(
        drivers::python_script("sqlalchemy_tools.py"),
        || drivers::python_script("sqlalchemy_tools.py"),
        None,
    );
}

/// asyncpg's type introspection, run as asyncpg sends it (binary `oid[]` parameter),
/// for the arrays of the builtin types (`asyncpg_types.py`).
#[test]
fn asyncpg_types_as_against_postgres() {
    driver_prints_as_against_postgres(
        drivers::python_script("asyncpg_types.py"),
        || drivers::python_script("asyncpg_types.py"),
        None,
    );
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

/// A PostgreSQL function DuckDB cannot hold as a macro is refused with 0A000 and the reason,
/// not DuckDB's syntax error; a SQL function of one query is made and called.
#[test]
fn functions_that_cannot_be_macros_are_refused_with_the_reason() {
    let mallard = Server::start(BIN, Options::default());
    let mut client = mallard.connect();
    for (sql, reason) in [
        (
            "create function p() returns int language plpgsql as $$ begin return 1; end $$",
            "languages other than SQL",
        ),
        ("create function two() returns int language sql as 'select 1; select 2'", "one query"),
        ("create procedure tidy() language sql as $$ delete from t $$", "procedures are not supported"),
    ] {
        let error = client.batch_execute(sql).expect_err(sql);
        let db = error.as_db_error().unwrap_or_else(|| panic!("{sql}: {error}"));
        assert_eq!(db.code().code(), "0A000", "{sql}: {}", db.message());
        assert!(db.message().contains(reason), "{sql}: {}", db.message());
    }
    client.batch_execute("create function one() returns int language sql as 'select 1'").unwrap();
    let row = client.query_one("select one()", &[]).unwrap();
    assert_eq!(row.get::<_, i32>(0), 1);
}
