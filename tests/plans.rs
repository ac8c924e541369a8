//! Statements prepared again from the session's cache (simple queries and unnamed
//! `Parse`s, see `worker/src/session/plans.rs`) answer as a fresh prepare would:
//! compared with PostgreSQL 15 step by step while the catalog, the settings and the
//! parameter types change under the same texts.

use mallard_harness::pair::{log_tail, Pair};
use mallard_harness::postgres::{self, types::Type};
use mallard_harness::raw_client::RawClient;
use mallard_harness::{Options, Server};

/// Which of the two sessions on each server a step runs in.
#[derive(Clone, Copy)]
enum Who {
    A,
    B,
}

use Who::{A, B};

/// Each text runs several times in session A while something it depends on changes,
/// mostly from the other session; every answer (columns, types, rows, error) must be
/// PostgreSQL's, and with the third field, also which result columns are a table's
/// column and which one (PostgreSQL names a temporary table's, mallard does not).
const SCRIPT: &[(Who, &str, bool)] = &[
    (A, "create table t (a int)", true),
    (A, "insert into t values (1)", true),
    (A, "select * from t", true),
    (A, "select * from t", true),
    // Another session changes the table: the statement A kept must not answer.
    (B, "alter table t add column b text default 'x'", true),
    (A, "select * from t", true),
    (A, "select * from t", true),
    (B, "drop table t", true),
    (A, "select * from t", true),
    (B, "create table t (a text, c int8)", true),
    (B, "insert into t values ('new', 7)", true),
    (A, "select * from t", true),
    (A, "select * from t where c = 7", true),
    // search_path names another table by the same text.
    (A, "create schema s", true),
    (A, "create table s.t (z float8)", true),
    (A, "insert into s.t values (2.5)", true),
    (A, "select * from t", true),
    (A, "set search_path = s, public", true),
    (A, "select * from t", true),
    (A, "reset search_path", true),
    (A, "select * from t", true),
    // The session's own change in a block, and its rollback.
    (A, "begin", true),
    (A, "select * from t", true),
    (A, "alter table t drop column c", true),
    (A, "select * from t", true),
    (A, "rollback", true),
    (A, "select * from t", true),
    // A temporary table hides the permanent one, and goes.
    (A, "create temp table t (tmp int)", true),
    (A, "select * from t", false),
    (A, "drop table t", true),
    (A, "select * from t", true),
    // Settings the plan reads: the time zone and the field order of dates.
    (A, "set timezone = 'UTC'", true),
    (A, "select '2024-06-01 12:00:00+00'::timestamptz::text as v", true),
    (A, "set timezone = 'Asia/Tokyo'", true),
    (A, "select '2024-06-01 12:00:00+00'::timestamptz::text as v", true),
    (A, "set datestyle = 'ISO, MDY'", true),
    (A, "select '01/02/2024'::date as v", true),
    (A, "set datestyle = 'ISO, DMY'", true),
    (A, "select '01/02/2024'::date as v", true),
    // Writes kept and run again see their own effects.
    (A, "update t set c = c + 1", true),
    (A, "update t set c = c + 1", true),
    (A, "select * from t", true),
];

#[test]
fn kept_statements_answer_as_freshly_prepared_ones() {
    let mut pair = Pair::start(env!("CARGO_BIN_EXE_mallard"));
    let mut pg_b = RawClient::connect(pair.pg.port, pair.pg.user, pair.pg.database).expect("PostgreSQL");
    let mut mallard_b = RawClient::connect(pair.mallard.port, "tester", "mallard").expect("mallard");
    let mut differences = Vec::new();
    for (i, &(who, sql, origins)) in SCRIPT.iter().enumerate() {
        let (pg, mallard) = match who {
            A => (pair.pg_query(sql), pair.mallard_query(sql)),
            B => (pg_b.query(sql).expect("PostgreSQL"), mallard_b.query(sql).expect("mallard")),
        };
        let shape = |r: &mallard_harness::raw_client::Reply| {
            let attributed = r.fields.iter().map(|f| (f.table_oid != 0, f.column_attr));
            (
                r.names.clone(),
                r.type_oids.clone(),
                r.text(),
                attributed.filter(|_| origins).collect::<Vec<_>>(),
            )
        };
        if shape(&pg) != shape(&mallard) {
            differences.push(format!(
                "step {i} {sql:?}: PostgreSQL {:?}, mallard {:?}{}",
                shape(&pg),
                shape(&mallard),
                mallard.error.as_ref().map(|e| format!(" ({})", e.message)).unwrap_or_default()
            ));
        }
    }
    pair.assert_no_differences("answers", &differences);
}

/// Unnamed statements through the extended protocol (`query_typed` parses without a
/// name): the parameter types the client names are part of what is kept.
#[test]
fn unnamed_statements_follow_parameter_types_and_other_sessions() {
    let server = Server::start(env!("CARGO_BIN_EXE_mallard"), Options::default());
    let mut a = server.connect();
    let mut b = server.connect();
    let sql = "select $1 as v";
    for _ in 0..3 {
        let row = a.query_typed_one(sql, &[(&7i32, Type::INT4)]).unwrap();
        assert_eq!(row.columns()[0].type_(), &Type::INT4);
        assert_eq!(row.get::<_, i32>(0), 7);
        let row = a.query_typed_one(sql, &[(&"seven", Type::TEXT)]).unwrap();
        assert_eq!(row.columns()[0].type_(), &Type::TEXT);
        assert_eq!(row.get::<_, &str>(0), "seven");
    }
    a.batch_execute("create table u (a int); insert into u values (1)").unwrap();
    let columns = |c: &mut postgres::Client| {
        let rows = c.query_typed("select * from u where a = $1", &[(&1i32, Type::INT4)]).unwrap();
        rows[0].columns().iter().map(|c| c.name().to_owned()).collect::<Vec<_>>()
    };
    assert_eq!(columns(&mut a), ["a"]);
    assert_eq!(columns(&mut a), ["a"]);
    b.batch_execute("alter table u add column b int default 2").unwrap();
    assert_eq!(columns(&mut a), ["a", "b"], "log:\n{}", log_tail(&server.logs()));
}
