//! The extended query protocol through a real driver (the `postgres` crate, which
//! prepares every statement, sends parameters and asks for results in binary).

use mallard_harness::{sqlstate, Options, Server};

fn server() -> Server {
    Server::start(
        env!("CARGO_BIN_EXE_mallard"),
        Options { storage: "memory", workers: 1, ..Options::default() },
    )
}

#[test]
fn binary_parameters_and_results_round_trip() {
    let server = server();
    let mut c = server.connect();
    let row = c
        .query_one(
            "select $1::int2 as a, $2::int4 as b, $3::int8 as c, $4::float4 as d, $5::float8 as e, \
             $6::bool as f, $7::text as g, $8::bytea as h, $9::int4[] as i, $10::text[] as j",
            &[
                &-7i16,
                &i32::MIN,
                &i64::MAX,
                &1.5f32,
                &-2.25e300f64,
                &true,
                &"héllo, wörld",
                &vec![0u8, 1, 255],
                &vec![Some(1i32), None, Some(3)],
                &vec!["a b".to_owned(), "{x}".to_owned()],
            ],
        )
        .unwrap();
    assert_eq!(row.get::<_, i16>(0), -7);
    assert_eq!(row.get::<_, i32>(1), i32::MIN);
    assert_eq!(row.get::<_, i64>(2), i64::MAX);
    assert_eq!(row.get::<_, f32>(3), 1.5);
    assert_eq!(row.get::<_, f64>(4), -2.25e300);
    assert!(row.get::<_, bool>(5));
    assert_eq!(row.get::<_, &str>(6), "héllo, wörld");
    assert_eq!(row.get::<_, Vec<u8>>(7), vec![0u8, 1, 255]);
    assert_eq!(row.get::<_, Vec<Option<i32>>>(8), vec![Some(1), None, Some(3)]);
    assert_eq!(row.get::<_, Vec<String>>(9), vec!["a b".to_owned(), "{x}".to_owned()]);
    // NULL parameters of every kind.
    let row =
        c.query_one("select $1::int4 is null as a, $2::text as b", &[&None::<i32>, &None::<String>]).unwrap();
    assert!(row.get::<_, bool>(0));
    assert_eq!(row.get::<_, Option<String>>(1), None);
}

#[test]
fn untyped_parameters_are_inferred_at_parse() {
    let server = server();
    let mut c = server.connect();
    c.batch_execute("create table acct (id int, balance int); insert into acct values (1, 10), (2, 20)")
        .unwrap();
    // PostgreSQL types `balance + $1` as int4 and `select $1` as text; drivers encode
    // values by what ParameterDescription says.
    let stmt = c.prepare("update acct set balance = balance + $1 where id = $2").unwrap();
    assert_eq!(stmt.params(), &[postgres::types::Type::INT4, postgres::types::Type::INT4]);
    assert_eq!(c.execute(&stmt, &[&5i32, &1i32]).unwrap(), 1);
    let stmt = c.prepare("select $1 as v").unwrap();
    assert_eq!(stmt.params(), &[postgres::types::Type::TEXT]);
    assert_eq!(c.query_one(&stmt, &[&"x"]).unwrap().get::<_, &str>(0), "x");
    let total: i64 =
        c.query_one("select sum(balance)::int8 from acct where id = $1", &[&1i32]).unwrap().get(0);
    assert_eq!(total, 15);
}

#[test]
fn a_named_statement_is_prepared_once() {
    let server = server();
    let mut c = server.connect();
    let stmt = c.prepare("select $1::int4 * 2 as doubled").unwrap();
    for i in 0..50i32 {
        assert_eq!(c.query_one(&stmt, &[&i]).unwrap().get::<_, i32>(0), i * 2);
    }
    let logs = server.logs();
    let prepares =
        logs.lines().filter(|l| l.contains("prepared in DuckDB") && l.contains("params=[23]")).count();
    assert_eq!(prepares, 1, "expected one DuckDB prepare for 50 executions; log:\n{logs}");
}

#[test]
fn portals_suspend_and_resume() {
    let server = server();
    let mut c = server.connect();
    let mut tx = c.transaction().unwrap();
    let portal = tx.bind("select i from range(95) t(i) order by i", &[]).unwrap();
    let mut seen = Vec::new();
    loop {
        let rows = tx.query_portal(&portal, 10).unwrap();
        if rows.is_empty() {
            break;
        }
        assert!(rows.len() <= 10);
        // Another statement between fetches parks the portal's rows; they must survive.
        assert_eq!(tx.query_one("select 1::int4", &[]).unwrap().get::<_, i32>(0), 1);
        seen.extend(rows.iter().map(|r| r.get::<_, i64>(0)));
    }
    assert_eq!(seen, (0..95).collect::<Vec<i64>>());
    tx.commit().unwrap();
}

#[test]
fn errors_skip_to_sync_and_fail_the_block() {
    let server = server();
    let mut c = server.connect();
    let err = c.query("select * from no_such_table", &[]).unwrap_err();
    assert_eq!(sqlstate(&err), "42P01");
    assert_eq!(c.query_one("select 7::int4", &[]).unwrap().get::<_, i32>(0), 7);

    let mut tx = c.transaction().unwrap();
    assert_eq!(sqlstate(&tx.query("select 1/0::int4 + nope", &[]).unwrap_err()), "42703");
    assert_eq!(sqlstate(&tx.query("select 1", &[]).unwrap_err()), "25P02");
    tx.rollback().unwrap();
    assert_eq!(c.query_one("select 8::int4", &[]).unwrap().get::<_, i32>(0), 8);
}

#[test]
fn an_extended_batch_is_one_implicit_transaction() {
    let server = server();
    let mut c = server.connect();
    c.batch_execute("create table once (id int primary key)").unwrap();
    // Outside a block each Execute commits at its Sync; a failure rolls back only its own.
    c.execute("insert into once values ($1)", &[&1i32]).unwrap();
    assert_eq!(sqlstate(&c.execute("insert into once values ($1)", &[&1i32]).unwrap_err()), "23505");
    let n: i64 = c.query_one("select count(*) from once", &[]).unwrap().get(0);
    assert_eq!(n, 1);
}

#[test]
fn sql_cursors_page_through_rows() {
    let server = server();
    let mut c = server.connect();
    let mut tx = c.transaction().unwrap();
    tx.batch_execute("declare c cursor for select i from range(1000) t(i)").unwrap();
    let mut total = 0i64;
    let mut count = 0;
    loop {
        let rows = tx.query("fetch forward 300 from c", &[]).unwrap();
        if rows.is_empty() {
            break;
        }
        count += rows.len();
        total += rows.iter().map(|r| r.get::<_, i64>(0)).sum::<i64>();
    }
    assert_eq!((count, total), (1000, 999 * 1000 / 2));
    assert_eq!(sqlstate(&tx.query("fetch backward 1 from c", &[]).unwrap_err()), "55000");
    tx.rollback().unwrap();
    assert_eq!(sqlstate(&c.batch_execute("fetch 1 from c").unwrap_err()), "34000");
}

#[test]
fn statement_timeout_interrupts_a_long_statement() {
    let server = server();
    let mut c = server.connect();
    c.batch_execute("set statement_timeout = '300ms'").unwrap();
    let started = std::time::Instant::now();
    let err =
        c.simple_query("select sum(a.range * b.range) from range(100000000) a, range(1000) b").unwrap_err();
    let elapsed = started.elapsed();
    assert_eq!(sqlstate(&err), "57014");
    let message = err.as_db_error().map(|e| e.message().to_owned()).unwrap_or_default();
    assert_eq!(message, "canceling statement due to statement timeout");
    assert!(elapsed < std::time::Duration::from_secs(20), "the timeout did not interrupt: {elapsed:?}");
    // Short statements still run, and RESET lifts the limit.
    assert_eq!(c.query_one("select 1::int4", &[]).unwrap().get::<_, i32>(0), 1);
    c.batch_execute("reset statement_timeout").unwrap();
    let row = c.query_one("show statement_timeout", &[]).unwrap();
    assert_eq!(row.get::<_, &str>(0), "0");
}
