//! SAVEPOINT, RELEASE and ROLLBACK TO against PostgreSQL 15. DuckDB has no nested
//! transactions: mallard honours a rollback to a savepoint when nothing wrote since it
//! (what psycopg's and SQLAlchemy's nested blocks around reads and probes need), and
//! refuses one that would have to undo writes, leaving the block failed. Never a
//! silent partial rollback.

use mallard_harness::pair::Pair;
use mallard_harness::raw_client::Reply;

/// What a step answered: its tags, its SQLSTATE, the transaction status after it and
/// its rows.
#[derive(Debug, PartialEq)]
struct Outcome {
    tags: Vec<String>,
    sqlstate: Option<String>,
    status: char,
    rows: Vec<Vec<Option<String>>>,
}

fn outcome(reply: &Reply) -> Outcome {
    Outcome {
        tags: reply.tags.clone(),
        sqlstate: reply.error.as_ref().map(|e| e.code.code().to_owned()),
        status: reply.status.byte() as char,
        rows: reply.rows.clone(),
    }
}

/// Steps whose answer must be PostgreSQL's, each run on both servers in order.
const SAME_AS_POSTGRES: &[&str] = &[
    "create table sp_t (id int primary key, v text)",
    "insert into sp_t values (1, 'a')",
    // Outside a block: errors, with PostgreSQL's SQLSTATEs.
    "savepoint a",
    "release a",
    "rollback to a",
    // A nested block that only reads, released.
    "begin",
    "savepoint a",
    "select v from sp_t order by id",
    "release savepoint a",
    "select count(*) from sp_t",
    "commit",
    // A failed read inside a savepoint, rolled back to it: the block goes on.
    "begin",
    "insert into sp_t values (2, 'b')",
    "savepoint probe",
    "select * from no_such_table",
    "select 1",
    "rollback to savepoint probe",
    "select id from sp_t order by id",
    "savepoint probe",
    "rollback work to probe",
    "release probe",
    "commit",
    "select id, v from sp_t order by id",
    // Names: quoted, repeated (the newest wins), unknown.
    "begin",
    "savepoint \"Quoted\"",
    "savepoint x",
    "savepoint x",
    "release x",
    "rollback to x",
    "release \"Quoted\"",
    "release nope",
    "rollback",
    // One multi-statement query is its own transaction: no savepoints.
    "select 1; savepoint y",
];

#[test]
fn savepoints_answer_as_postgres_does() {
    let mut both = Pair::start(env!("CARGO_BIN_EXE_mallard"));
    let mut differences = Vec::new();
    for sql in SAME_AS_POSTGRES {
        let (pg, mallard) = (both.pg_query(sql), both.mallard_query(sql));
        if outcome(&pg) != outcome(&mallard) {
            let message = |r: &Reply| r.error.as_ref().map_or(String::new(), |e| format!(" ({})", e.message));
            differences.push(format!(
                "  {sql}\n    PostgreSQL: {:?}{}\n    mallard:    {:?}{}",
                outcome(&pg),
                message(&pg),
                outcome(&mallard),
                message(&mallard)
            ));
        }
    }
    both.assert_no_differences("savepoint steps", &differences);
}

#[test]
fn a_rollback_that_would_undo_writes_is_refused_and_fails_the_block() {
    let mut both = Pair::start(env!("CARGO_BIN_EXE_mallard"));
    for sql in ["create table sp_w (id int)", "begin", "insert into sp_w values (1)", "savepoint s"] {
        assert!(both.mallard_query(sql).error.is_none(), "{sql}");
    }
    assert!(both.mallard_query("insert into sp_w values (2)").error.is_none());
    let refused = both.mallard_query("rollback to savepoint s");
    let error = refused.error.as_ref().expect("refused");
    assert_eq!(error.code.code(), "0A000");
    assert!(error.message.contains("cannot roll back to savepoint \"s\""), "{}", error.message);
    assert_eq!(refused.status.byte(), b'E', "the block is failed");
    let aborted = both.mallard_query("select 1");
    assert_eq!(aborted.error.as_ref().map(|e| e.code.code().to_owned()).as_deref(), Some("25P02"));
    assert_eq!(both.mallard_query("rollback").tags, vec!["ROLLBACK"]);
    // Nothing of the block remains: neither row is there.
    let rows = both.mallard_query("select count(*) from sp_w").rows;
    assert_eq!(rows, vec![vec![Some("0".to_owned())]]);
}
