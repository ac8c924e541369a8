//! mallard's answers compared with those of a real PostgreSQL 15 that the test starts:
//! the text and type OID of values in the simple query protocol, command tags, the
//! transaction status byte and SQLSTATEs.
//!
//! PostgreSQL is the reference, so no expected value is written down here. Where DuckDB
//! spells a value differently (`[1,2]` for `ARRAY[1,2]`) or types a literal differently,
//! a case carries one expression per system with explicit types, so that what is
//! compared is mallard's encoding, not DuckDB's SQL dialect.

use mallard_harness::pair;
use mallard_harness::raw_client;

use pair::Pair;
use raw_client::Reply;

/// One `select <expr>`: the PostgreSQL expression and the mallard (DuckDB) one.
struct Case {
    pg: &'static str,
    duck: &'static str,
}

const fn same(expr: &'static str) -> Case {
    Case { pg: expr, duck: expr }
}

const fn each(pg: &'static str, duck: &'static str) -> Case {
    Case { pg, duck }
}

const VALUES: &[Case] = &[
    // Integers. Parentheses make the sign part of the literal: `-32768::smallint`
    // casts 32768 first, which overflows in PostgreSQL.
    same("42"),
    same("3000000000"),
    // `~` finds the pattern anywhere, as in PostgreSQL (DuckDB's matches the whole string).
    same("'mallard' ~ 'lar'"),
    same("'pg_toast' !~ '^pg_'"),
    same("'public' !~ '^pg_'"),
    // A backslash escapes the next character of a LIKE pattern (psql's completion).
    same("'search_path' like 'search\\_%'"),
    same("'searchXpath' like 'search\\_%'"),
    same("'a%b' ilike lower('A\\%B')"),
    // format() reads %s, %I, %L, %% and positions, as PostgreSQL does (Metabase).
    same("format('%I.%I', 'public', 'Mixed Case')"),
    same("format('%s, %L, %L, %%, {}', 'a', 'it''s', NULL)"),
    same("format('%2$s %1$s', 'a', 'b')"),
    // quote_ident quotes only what needs it.
    same("quote_ident('orders')"),
    same("quote_ident('Orders')"),
    same("quote_ident('select')"),
    same("quote_ident('a\"b')"),
    same("quote_literal('it''s')"),
    same("0::smallint"),
    same("32767::smallint"),
    same("(-32768)::smallint"),
    same("(-1)::integer"),
    same("2147483647::integer"),
    same("(-2147483648)::integer"),
    same("9223372036854775807::bigint"),
    same("(-9223372036854775808)::bigint"),
    same("count(*)"),
    // DuckDB-only integer types, reported as the nearest PostgreSQL type that holds them.
    each("(-1)::smallint", "(-1)::tinyint"),
    each("255::smallint", "255::utinyint"),
    each("65535::integer", "65535::usmallint"),
    // UINTEGER is PostgreSQL's oid, unsigned 32 bits; `::oid` is written UINTEGER.
    each("4294967295::oid", "4294967295::uinteger"),
    same("'16384'::oid"),
    same("array[1, 4294967295]::oid[]"),
    each("18446744073709551615::numeric", "18446744073709551615::ubigint"),
    each(
        "(-170141183460469231731687303715884105728)::numeric",
        "(-170141183460469231731687303715884105728)::hugeint",
    ),
    // Integer division truncates, as in PostgreSQL.
    same("7 / 2"),
    same("(-7) / 2"),
    // float8
    same("0.1::float8"),
    same("1::float8"),
    same("1e20::float8"),
    same("1e15::float8"),
    same("1e-5::float8"),
    same("0.0001::float8"),
    same("123456789012345::float8"),
    same("123456789012345678::float8"),
    same("5e-324::float8"),
    same("1.7976931348623157e308::float8"),
    same("(-1.5e300)::float8"),
    same("'-0'::float8"),
    same("-(0::float8)"),
    same("'NaN'::float8"),
    same("'Infinity'::float8"),
    same("'-Infinity'::float8"),
    // float4
    same("0.1::float4"),
    same("1e20::float4"),
    same("1e-5::float4"),
    same("123456::float4"),
    same("1234567::float4"),
    same("123456789012345::float4"),
    same("0.3::float4"),
    same("16777217::float4"),
    same("3.4028235e38::float4"),
    same("'1.4e-45'::float4"),
    same("'-0'::float4"),
    same("'NaN'::float4"),
    same("'Infinity'::float4"),
    // numeric
    same("1.5"),
    same("1.50::numeric(10,2)"),
    same("(-0.005)::numeric(10,3)"),
    same("0::numeric(10,2)"),
    same("0.0001::numeric(4,4)"),
    same("123::numeric(10,0)"),
    same("(-12345678901234567890.12)::numeric(38,2)"),
    // booleans
    same("true"),
    same("false"),
    // text
    same("'hello world'"),
    same("'hello world'::text"),
    same("''::text"),
    same("'it''s \"quoted\"'::text"),
    same("'back\\slash'::text"),
    same("'naïve ☃ 日本語 🦆'::text"),
    same("E'line\\nbreak\\ttab'::text"),
    // NULL. A bare `null` is not compared: DuckDB types it INTEGER where PostgreSQL
    // says text, and mallard only sees DuckDB's type.
    same("null::integer"),
    same("null::text"),
    // dates
    same("'2024-01-05'::date"),
    same("'0001-01-01'::date"),
    // DuckDB reads a bare ` BC` suffix as nothing (year 44 AD); it wants `(BC)`.
    each("'0044-03-15 BC'::date", "'0044-03-15 (BC)'::date"),
    same("'9999-12-31'::date"),
    same("'infinity'::date"),
    same("'-infinity'::date"),
    // times
    same("'04:05:06.789'::time"),
    same("'23:59:59.999999'::time"),
    same("'00:00:00'::time"),
    same("'24:00:00'::time"),
    same("'04:05:06.5+02'::timetz"),
    same("'04:05:06-05:30'::timetz"),
    same("'04:05:06+05:30:15'::timetz"),
    // timestamps
    same("'2024-01-05 12:34:56.5'::timestamp"),
    same("'1999-12-31 23:59:59.000001'::timestamp"),
    same("'1969-12-31 23:59:59.999999'::timestamp"),
    same("'0001-01-01 00:00:00'::timestamp"),
    each("'0044-03-15 12:00:00 BC'::timestamp", "'0044-03-15 (BC) 12:00:00'::timestamp"),
    same("'infinity'::timestamp"),
    same("'-infinity'::timestamp"),
    // DuckDB's second, millisecond and nanosecond timestamps are sent as timestamp.
    each("'2024-01-05 12:34:56'::timestamp", "'2024-01-05 12:34:56'::timestamp_s"),
    each("'2024-01-05 12:34:56.5'::timestamp", "'2024-01-05 12:34:56.5'::timestamp_ms"),
    each("'2024-01-05 12:34:56.123456'::timestamp", "'2024-01-05 12:34:56.123456'::timestamp_ns"),
    each("'1969-12-31 23:59:59.999999'::timestamp", "'1969-12-31 23:59:59.999999'::timestamp_ns"),
    // timestamptz; both servers are in UTC
    same("'2024-01-05 12:34:56.5+00'::timestamptz"),
    same("'2024-07-01 00:00:00.123+02'::timestamptz"),
    same("'infinity'::timestamptz"),
    each("'0044-03-15 12:00:00+00 BC'::timestamptz", "'0044-03-15 (BC) 12:00:00+00'::timestamptz"),
    // intervals
    same("'1 year 2 months 3 days 04:05:06.5'::interval"),
    same("'-1 days'::interval"),
    // DuckDB does not parse a sign on a later field (`+01:00:00`), so those values are
    // built by adding intervals, which keeps the fields apart as PostgreSQL does.
    each("'-1 days +01:00:00'::interval", "'-1 days'::interval + '01:00:00'::interval"),
    same("'00:00:00'::interval"),
    same("'1 mon 1 day'::interval"),
    each("'-1 year -2 months +3 days -04:05:06'::interval", "'-1 year -2 months 3 days -04:05:06'::interval"),
    same("'25 hours'::interval"),
    same("'-0.000001 seconds'::interval"),
    same("'100000 hours'::interval"),
    same("'-1 days -00:00:00.5'::interval"),
    same("'1 year -1 months'::interval"),
    each("'1 day -00:00:01'::interval", "'1 day'::interval - '1 second'::interval"),
    each("'-1 mons +1 day'::interval", "'-1 month'::interval + '1 day'::interval"),
    // uuid
    same("'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11'::uuid"),
    same("'00000000-0000-0000-0000-000000000000'::uuid"),
    same("'ffffffff-ffff-ffff-ffff-ffffffffffff'::uuid"),
    // bytea
    each("'\\xdeadbeef'::bytea", "'\\xDE\\xAD\\xBE\\xEF'::blob"),
    same("'abc'::bytea"),
    same("''::bytea"),
    // json
    same("'{\"a\":1}'::json"),
    same("'[1, \"x\", null]'::json"),
    // arrays
    each("ARRAY[1,2,3]", "[1,2,3]"),
    each("ARRAY[[1,2],[3,4]]", "[[1,2],[3,4]]"),
    each("'{}'::integer[]", "[]::integer[]"),
    each("ARRAY[1,NULL]::bigint[]", "[1,NULL]::bigint[]"),
    each("ARRAY['a b','',NULL,'x,y','say \"hi\"']", "['a b','',NULL,'x,y','say \"hi\"']"),
    each("ARRAY['NULL','back\\slash','{}','plain']", "['NULL','back\\slash','{}','plain']"),
    each("ARRAY[true,false]", "[true,false]"),
    each("ARRAY[0.1::float8,'NaN']", "[0.1::float8,'NaN'::float8]"),
    each("ARRAY[1.50::numeric(10,2)]", "[1.50::numeric(10,2)]"),
    each("ARRAY['2024-01-05'::date]", "['2024-01-05'::date]"),
    each("ARRAY['2024-01-05 12:34:56'::timestamp]", "['2024-01-05 12:34:56'::timestamp]"),
    each("ARRAY['1 day'::interval]", "['1 day'::interval]"),
    each("ARRAY['\\xdead'::bytea]", "['\\xDE\\xAD'::blob]"),
    each("ARRAY['{\"a\":1}'::json]", "['{\"a\":1}'::json]"),
    each(
        "ARRAY['a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11'::uuid]",
        "['a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11'::uuid]",
    ),
    each("ARRAY[' ','日本','null']", "[' ','日本','null']"),
    each("ARRAY[ARRAY['a b','c'],ARRAY[NULL,'{x}']]", "[['a b','c'],[NULL,'{x}']]"),
    each("ARRAY['2024-01-05 12:34:56+00'::timestamptz]", "['2024-01-05 12:34:56+00'::timestamptz]"),
    each("ARRAY['04:05:06'::time]", "['04:05:06'::time]"),
    each("ARRAY[0.1::float4,-2.5]", "[0.1::float4,-2.5::float4]"),
    // PostgreSQL's array text in a cast, as psql users and drivers' inlined values write it.
    same("'{1,2,NULL}'::int[]"),
    same("cast('{a,\"b c\",NULL,\"NULL\",\"it''s\"}' as text[])"),
    same("'{{1,2},{3,4}}'::bigint[]"),
    same("'{2024-01-05,infinity}'::date[]"),
    same("'{t,false}'::bool[]"),
    same("'{}'::text[]"),
    same("('{7,8,9}'::int[])[2]"),
    same("2 = any('{1,2}'::int[])"),
    // records
    same("row(1,'a b',NULL)"),
    same("row('say \"hi\"','back\\slash','',' ')"),
    each("row(ARRAY[1,2],true)", "row([1,2],true)"),
    same("row(NULL,NULL)"),
    same("row('(x)','2024-01-05'::date)"),
];

/// Statements run in order on one connection to each server; after each, the command
/// tags, the SQLSTATE and the transaction status must agree.
const SCRIPT: &[&str] = &[
    // Two-phase commit is off, as in a default PostgreSQL (max_prepared_transactions = 0):
    // PREPARE TRANSACTION ends the transaction and fails.
    "prepare transaction 'pg_compat_gid'",
    "begin",
    "prepare transaction 'pg_compat_gid'",
    "commit prepared 'pg_compat_gid'",
    "begin",
    "rollback prepared 'pg_compat_gid'",
    "rollback",
    "show max_prepared_transactions",
    "create table t (a integer, b text)",
    "insert into t values (1, 'x'), (2, 'y')",
    "update t set b = 'z' where a = 1",
    "select * from t",
    "delete from t where a = 2",
    "create table t2 as select * from t",
    "drop table t2",
    "insert into t values (5, 'v'); select * from t where a = 5",
    "begin",
    "insert into t values (3, 'w')",
    "commit",
    "begin",
    "delete from t",
    "rollback",
    "select * from t",
    // A failed block (status E) rejects statements with 25P02; COMMIT answers ROLLBACK.
    "begin",
    "select * from missing_table",
    "select 1",
    "commit",
    // ROLLBACK ends a failed block too.
    "begin",
    "select nope from t",
    "rollback",
    // Errors outside a block leave the session idle.
    "select * from missing_table",
    "selec 1",
    "select nope from t",
    // COMMIT and ROLLBACK outside a block only warn.
    "commit",
    "rollback",
    "drop table t",
];

/// What a value case answers: its type OID and text, or the error.
#[derive(Debug, PartialEq)]
enum Value {
    Typed { oid: u32, text: Option<String> },
    Error { sqlstate: String, message: String },
}

/// What a script step answers, apart from data and error wording.
#[derive(Debug, PartialEq)]
struct Step {
    tags: Vec<String>,
    sqlstate: Option<String>,
    status: char,
}

fn value(reply: &Reply) -> Value {
    if let Some(e) = &reply.error {
        return Value::Error { sqlstate: e.code.code().to_owned(), message: e.message.clone() };
    }
    match (&reply.type_oids[..], &reply.rows[..]) {
        ([oid], [row]) if row.len() == 1 => Value::Typed { oid: *oid, text: row[0].clone() },
        _ => Value::Error { sqlstate: "(test)".into(), message: format!("not one value: {reply:?}") },
    }
}

fn step(reply: &Reply) -> Step {
    Step {
        tags: reply.tags.clone(),
        sqlstate: reply.error.as_ref().map(|e| e.code.code().to_owned()),
        status: reply.status.byte() as char,
    }
}

#[test]
fn values_have_the_text_and_type_postgres_sends() {
    let mut both = Pair::start(env!("CARGO_BIN_EXE_mallard"));
    let mut differences = Vec::new();
    for case in VALUES {
        let expected = value(&both.pg_query(&format!("select {}", case.pg)));
        assert!(
            matches!(expected, Value::Typed { .. }),
            "case `{}` is not valid PostgreSQL: {expected:?}",
            case.pg
        );
        let actual = value(&both.mallard_query(&format!("select {}", case.duck)));
        if actual != expected {
            differences.push(format!(
                "  select {}  (mallard: select {})\n    PostgreSQL: {expected:?}\n    mallard:    {actual:?}",
                case.pg, case.duck
            ));
        }
    }
    both.assert_no_differences("values", &differences);
}

#[test]
fn tags_statuses_and_sqlstates_match_postgres() {
    let mut both = Pair::start(env!("CARGO_BIN_EXE_mallard"));
    let mut differences = Vec::new();
    for sql in SCRIPT {
        let pg = both.pg_query(sql);
        let mallard = both.mallard_query(sql);
        let (expected, actual) = (step(&pg), step(&mallard));
        if actual != expected {
            let message = |r: &Reply| r.error.as_ref().map_or(String::new(), |e| format!(" ({})", e.message));
            differences.push(format!(
                "  {sql}\n    PostgreSQL: {expected:?}{}\n    mallard:    {actual:?}{}",
                message(&pg),
                message(&mallard)
            ));
        }
    }
    both.assert_no_differences("script steps", &differences);
}

/// Select lists whose unaliased columns PostgreSQL names after a function, a column or
/// a type, or `?column?`.
const NAMED: &[&str] = &[
    "select count(*) from pg_compat_names",
    "select sum(a), max(a), min(a) from pg_compat_names",
    "select 1, 1 + 1, 'x', null",
    "select a, pg_compat_names.b from pg_compat_names",
    "select a::text, '1'::int, 1::bigint, cast(a as integer), 2.5::double precision from pg_compat_names",
    "select upper(b), length(b)::int8, abs(a), coalesce(a, 0) from pg_compat_names",
    "select case when a > 0 then 1 end, array[a], a is null from pg_compat_names",
    "select a as x, b y, count(*) c from pg_compat_names group by a, b",
    "select distinct on (a) b from pg_compat_names",
    "select n.a bid, n.b \"Label\", (a), ((n.b)), (a + 1) from pg_compat_names n",
    "select a::pg_catalog.int4, b::pg_catalog.text from pg_compat_names",
];

#[test]
fn unaliased_columns_are_named_as_postgres_names_them() {
    let mut both = Pair::start(env!("CARGO_BIN_EXE_mallard"));
    let setup = "create table pg_compat_names (a int, b text); insert into pg_compat_names values (1, 'q')";
    both.pg_query(setup);
    both.mallard_query(setup);
    let mut differences = Vec::new();
    for sql in NAMED {
        let (pg, mallard) = (both.pg_query(sql), both.mallard_query(sql));
        assert!(pg.error.is_none(), "not valid PostgreSQL: {sql}: {:?}", pg.error);
        if pg.names != mallard.names {
            differences.push(format!(
                "  {sql}\n    PostgreSQL: {:?}\n    mallard:    {:?}{}",
                pg.names,
                mallard.names,
                mallard.error.as_ref().map_or(String::new(), |e| format!(" ({})", e.message))
            ));
        }
    }
    both.assert_no_differences("column name lists", &differences);
}

/// Statements whose result columns are table columns (or computed next to them), run in
/// this order on both servers.
const ATTRIBUTED: &[&str] = &[
    "select id, v, c, n, i from pg_compat_origins",
    "select * from pg_compat_origins",
    "select v as x, i + 1, pg_compat_origins.c, o.code, o.* from pg_compat_origins, pg_compat_other o",
    "select a.v, b.label, a.id bid from pg_compat_origins a join pg_compat_other b on a.i = b.code \
     left join pg_compat_other c on c.code = b.code where a.id > 0 order by 1",
    "select V, \"n\" from pg_compat_origins where i = 1 limit 1",
    "select w.*, s from compat_origins_s.t3 w",
    "insert into pg_compat_origins (v, c, n, i) values ('a', 'b', 1.5, 1) returning id, v as w, *",
    "update pg_compat_origins set i = 2 where v = 'a' returning v, i + 1, pg_compat_origins.n",
    "delete from pg_compat_origins where v = 'zz' returning *",
    "select 1, count(*), max(v) from pg_compat_origins",
    "select j, k, k::text from pg_compat_origins",
    "select v::text, upper(c), (i) from pg_compat_origins",
    "select i from pg_compat_origins union all select code from pg_compat_other",
    // Subqueries in FROM, as BI tools wrap a user's query.
    "select * from (select v, n, i + 1 as k, c from pg_compat_origins) as source limit 10",
    "select s.x, s.c, o.label from (select v as x, c, i from pg_compat_origins) s join pg_compat_other o on o.code = s.i",
    "select * from (select * from (select j, k, id from pg_compat_origins) a) b",
    "select b.v from (select a.* from (select v from pg_compat_origins) a) b",
    "with q as (select v, c, i * 2 as d from pg_compat_origins) select * from q",
    "with a as (select id, v, j from pg_compat_origins), b as (select v as w, j from a) \
     select b.w, b.j, x.id from b, a x",
];

/// One `RowDescription` field as both servers can agree on it: the table by name (OIDs
/// differ between servers), the column number, the type and its modifier. (The column
/// names have their own test.)
fn field_origin(both: &mut Pair, pg: bool, f: &mallard_protocol::pg::backend::FieldDescription) -> String {
    let table = if f.table_oid == 0 {
        "-".to_owned()
    } else {
        let sql = format!("select relname from pg_class where oid = {}", f.table_oid);
        let reply = if pg { both.pg_query(&sql) } else { both.mallard_query(&sql) };
        match reply.rows.first() {
            Some(row) => row[0].clone().unwrap_or_default(),
            None => format!("<no pg_class row for {}>", f.table_oid),
        }
    };
    format!("{table}.{} {}({})", f.column_attr, f.type_oid, f.type_modifier)
}

#[test]
fn row_descriptions_name_table_columns_as_postgres_does() {
    let mut both = Pair::start(env!("CARGO_BIN_EXE_mallard"));
    let setup = "create table pg_compat_origins (id serial primary key, v varchar(20), c char(2), \
                 n numeric(10,2), i int, j jsonb, k json); \
                 create table pg_compat_other (code int, label text, u numeric); \
                 create schema compat_origins_s; create table compat_origins_s.t3 (s varchar(5), d date); \
                 insert into pg_compat_origins (v, c, n, i) values ('x', 'y', 2.5, 1); \
                 insert into pg_compat_other values (1, 'one', 1.5)";
    for reply in [both.pg_query(setup), both.mallard_query(setup)] {
        assert!(reply.error.is_none(), "setup: {:?}", reply.error);
    }
    let mut differences = Vec::new();
    for sql in ATTRIBUTED {
        let (pg, mallard) = (both.pg_query(sql), both.mallard_query(sql));
        assert!(pg.error.is_none(), "not valid PostgreSQL: {sql}: {:?}", pg.error);
        let expected: Vec<String> = pg.fields.iter().map(|f| field_origin(&mut both, true, f)).collect();
        let actual: Vec<String> = mallard.fields.iter().map(|f| field_origin(&mut both, false, f)).collect();
        if expected != actual {
            differences.push(format!(
                "  {sql}\n    PostgreSQL: {expected:?}\n    mallard:    {actual:?}{}",
                mallard.error.as_ref().map_or(String::new(), |e| format!(" ({})", e.message))
            ));
        }
    }
    both.assert_no_differences("row descriptions", &differences);
}

/// What of an error a case compares with PostgreSQL's: always the SQLSTATE, then these.
#[derive(Clone, Copy)]
enum Part {
    Message,
    Detail,
    Hint,
    Table,
    Column,
    Constraint,
}

/// Errors drivers, ORMs and people match on, in PostgreSQL's words.
const ERRORS: &[(&str, &[Part])] = &[
    ("select * from pg_compat_nosuch", &[Part::Message, Part::Hint]),
    ("select * from pg_compat_nosuch_schema.t", &[Part::Message]),
    ("select nosuch from pg_compat_errors", &[Part::Message, Part::Hint]),
    ("select pg_compat_errors.nosuch from pg_compat_errors", &[Part::Message]),
    ("select q.id from pg_compat_errors", &[Part::Message]),
    ("select lower(1)", &[Part::Message, Part::Hint]),
    ("select abs('x'::text)", &[Part::Message, Part::Hint]),
    ("select pg_compat_nosuch_function(1)", &[Part::Hint]),
    ("select 'x'::pg_compat_nosuch_type", &[Part::Message]),
    ("create table pg_compat_errors (a int)", &[Part::Message]),
    ("select 1/0", &[Part::Message]),
    ("select 7 % 0", &[Part::Message]),
    ("select 1.5 / (2 - 2)", &[Part::Message]),
    ("select 1::float8 / 0", &[Part::Message]),
    (
        "insert into pg_compat_errors values (1, 1, 9)",
        &[Part::Message, Part::Detail, Part::Table, Part::Constraint],
    ),
    ("insert into pg_compat_errors values (2, 1, 1)", &[Part::Message, Part::Detail, Part::Constraint]),
    (
        "insert into pg_compat_errors values (7, 1, 7); update pg_compat_errors set u = 1 where id = 7",
        &[Part::Message, Part::Detail],
    ),
    ("insert into pg_compat_errors values (3, null, 3)", &[Part::Message, Part::Table, Part::Column]),
];

#[test]
fn errors_are_worded_as_postgres_words_them() {
    let mut both = Pair::start(env!("CARGO_BIN_EXE_mallard"));
    let setup = "create table pg_compat_errors (id int primary key, x int not null, u int unique); \
                 insert into pg_compat_errors values (1, 1, 1)";
    for reply in [both.pg_query(setup), both.mallard_query(setup)] {
        assert!(reply.error.is_none(), "{:?}", reply.error);
    }
    let mut differences = Vec::new();
    for (sql, parts) in ERRORS {
        let (pg, mallard) = (both.pg_query(sql), both.mallard_query(sql));
        let (Some(pg), Some(mallard)) = (pg.error, mallard.error) else {
            differences.push(format!("  {sql}: one of them did not fail"));
            continue;
        };
        let mut compared = vec![("SQLSTATE", pg.code.code().to_owned(), mallard.code.code().to_owned())];
        for part in *parts {
            let field = |e: &mallard_protocol::pg::backend::ErrorInfo| -> Option<String> {
                match part {
                    Part::Message => Some(e.message.clone()),
                    Part::Detail => e.detail.clone(),
                    Part::Hint => e.hint.clone(),
                    Part::Table => e.object.table.clone(),
                    Part::Column => e.object.column.clone(),
                    Part::Constraint => e.object.constraint.clone(),
                }
            };
            let name = match part {
                Part::Message => "message",
                Part::Detail => "detail",
                Part::Hint => "hint",
                Part::Table => "table",
                Part::Column => "column",
                Part::Constraint => "constraint",
            };
            compared.push((name, format!("{:?}", field(&pg)), format!("{:?}", field(&mallard))));
        }
        for (name, expected, actual) in compared {
            if expected != actual {
                differences
                    .push(format!("  {sql} ({name})\n    PostgreSQL: {expected}\n    mallard:    {actual}"));
            }
        }
    }
    both.assert_no_differences("errors", &differences);
}

/// Serial and identity columns: the values they hand out, `pg_get_serial_sequence`, a
/// table dropped and made again, the not-null they imply.
const SERIALS: &[&str] = &[
    "create table pg_compat_serial (id serial primary key, big bigserial, v text)",
    "insert into pg_compat_serial (v) values ('a'), ('b') returning id, big",
    "select pg_get_serial_sequence('pg_compat_serial', 'id'), \
     pg_get_serial_sequence('public.pg_compat_serial', 'big'), pg_get_serial_sequence('pg_compat_serial', 'v')",
    "select nextval('pg_compat_serial_id_seq')",
    "insert into pg_compat_serial (v) values ('c') returning id",
    "create table pg_compat_identity (id int generated by default as identity (start with 10 increment by 5), v text)",
    "insert into pg_compat_identity (v) values ('x'), ('y') returning id",
    "insert into pg_compat_identity (id, v) values (100, 'z') returning id",
    "select pg_get_serial_sequence('pg_compat_identity', 'id')",
    "drop table pg_compat_serial",
    "create table pg_compat_serial (id smallserial, v text)",
    "insert into pg_compat_serial (v) values ('again') returning id",
    "insert into pg_compat_serial (id, v) values (null, 'n')",
    "create table if not exists pg_compat_serial (id serial, v text)",
    "insert into pg_compat_serial (v) values ('more') returning id",
    // A serial column added to a table with rows numbers them.
    "create table pg_compat_added (v text)",
    "insert into pg_compat_added values ('p'), ('q')",
    "alter table pg_compat_added add column n bigserial",
    "insert into pg_compat_added (v) values ('r')",
    "select v, n from pg_compat_added order by n",
    "select pg_get_serial_sequence('pg_compat_added', 'n')",
];

/// Set-returning functions in the select list make rows, and name their column.
const SET_RETURNING: &[&str] = &[
    "select generate_series(1, 3)",
    "select generate_series(1, 3) as n",
    "select x, generate_series(1, x) from (values (1), (2)) v(x) order by 1, 2",
    "select generate_series(1, 2) * 10",
    "select unnest(array[1, 2, 3])",
    "select * from generate_series(1, 3) as g",
    "select g from generate_series(2, 4) as g",
];

/// Runs each script on both servers and compares every statement's column names, rows,
/// command tags and SQLSTATE.
fn scripts_answer_as_postgres(scripts: &[(&str, &[&str])]) {
    let mut both = Pair::start(env!("CARGO_BIN_EXE_mallard"));
    let mut differences = Vec::new();
    let answer = |r: &Reply| {
        (r.names.clone(), r.rows.clone(), r.tags.clone(), r.error.as_ref().map(|e| e.code.code().to_owned()))
    };
    for (name, script) in scripts {
        for sql in *script {
            let (pg, mallard) = (answer(&both.pg_query(sql)), answer(&both.mallard_query(sql)));
            if pg != mallard {
                differences
                    .push(format!("  [{name}] {sql}\n    PostgreSQL: {pg:?}\n    mallard:    {mallard:?}"));
            }
        }
    }
    both.assert_no_differences("statements", &differences);
}

/// SQL functions (macros in DuckDB): made, called, listed in pg_proc and dropped.
const SQL_FUNCTIONS: &[&str] = &[
    "create function with_tax(amount numeric) returns numeric language sql immutable as 'select amount * 1.2'",
    "create or replace function greet(name text, greeting text default 'hello') returns text language sql as $$ select greeting || ', ' || name; $$",
    "create function twice(int) returns bigint language sql return $1 * 2",
    "create table fn_rows (id int, v text)",
    "insert into fn_rows values (1, 'a'), (2, 'b'), (3, 'c')",
    "create function fn_above(n int) returns setof fn_rows language sql stable as 'select * from fn_rows where id > n'",
    "select with_tax(10.00)::numeric(10,2), greet('bob'), greet('bob', 'hi'), twice(21)",
    "select id, v from fn_above(1) order by id",
    "select proname, pronargs, prorettype::regtype::text, proretset, prokind, pg_get_function_result(p.oid) \
     from pg_proc p join pg_namespace n on n.oid = p.pronamespace \
     where nspname = 'public' and proname in ('with_tax', 'greet', 'twice') order by proname",
    "select pg_get_function_arguments(oid), pg_get_function_identity_arguments(oid), proargnames \
     from pg_proc where proname in ('with_tax', 'twice') order by proname",
    "select proname, pg_get_function_result(oid), pg_get_function_arguments(oid) from pg_proc \
     where proname in ('now', 'abs', 'pg_get_userbyid', 'generate_series') order by 1, 3",
    "select l.lanname from pg_proc p join pg_language l on l.oid = p.prolang where p.proname in ('twice', 'now') order by 1",
    "drop function with_tax(numeric)",
    "drop function if exists twice(int), greet, fn_above(int)",
    "select count(*) from pg_proc where proname in ('with_tax', 'twice', 'greet', 'fn_above')",
    "drop table fn_rows",
];

/// int2vector and oidvector catalog columns, printed as PostgreSQL prints them.
const VECTORS: &[&str] = &[
    "create table vec_t (a int, b text, c int)",
    "create index vec_t_cb on vec_t (c, b)",
    "select indkey, indoption, indnatts from pg_index i join pg_class c on c.oid = i.indexrelid where c.relname = 'vec_t_cb'",
    "select proargtypes, pronargs from pg_proc where proname = 'pg_get_userbyid'",
    "drop table vec_t",
];

#[test]
fn serials_and_set_returning_functions_answer_as_in_postgres() {
    scripts_answer_as_postgres(&[
        ("serial", SERIALS),
        ("set-returning", SET_RETURNING),
        ("sql functions", SQL_FUNCTIONS),
        ("vectors", VECTORS),
    ]);
}

/// Types PostgreSQL has that mallard spells for DuckDB, on both servers.
const TYPE_NAMES: &[&str] = &[
    "create table named (name name, owner name, code \"char\", ref oid)",
    "insert into named values ('t', 'alice', 'x', 16384)",
    "select name, owner, code, ref from named",
    "select 'pg_class'::name, 'r'::\"char\"",
    "drop table named",
    // character(n) is written padded to n; what is computed from it is not.
    "create table codes (code char(5), tag character(3), note text)",
    "insert into codes values ('ab', 'x', 'y'), ('abcde', 'é', 'z')",
    "select code, tag, note from codes order by note",
    "select * from codes order by note",
    "select code || '|', length(code), length(tag) from codes order by note",
    "drop table codes",
];

/// reg* casts both ways; 0, no object, is written `-` and read back (asyncpg names the
/// element type of a non-array so: `elemtype::regtype::text`).
const REG_CASTS: &[&str] = &[
    "create table reg_t (a int)",
    "select 'reg_t'::regclass::text, 'int4'::regtype::text, 'public'::regnamespace::text, 'pg_class'::regclass::oid::int8",
    "select 0::regtype::text, 0::regclass::text, 0::regnamespace::text, 0::regrole::text, 0::regproc::text",
    "select '-'::regtype::oid::int8, '-'::regclass::oid::int8, '-'::regnamespace::oid::int8, '-'::regrole::oid::int8",
    "select typname, typelem::regtype::text from pg_type where typname in ('int4', '_int4') order by typname",
    "drop table reg_t",
];

#[test]
fn type_names_answer_as_in_postgres() {
    scripts_answer_as_postgres(&[("types", TYPE_NAMES), ("reg casts", REG_CASTS)]);
}

/// Types DuckDB has no room for are refused with 0A000 naming them, where PostgreSQL
/// would succeed: never "does not exist", never a silently different value.
#[test]
fn types_duckdb_lacks_are_refused_naming_them() {
    let server =
        mallard_harness::Server::start(env!("CARGO_BIN_EXE_mallard"), mallard_harness::Options::default());
    let mut client = raw_client::RawClient::connect(server.port, "tester", "mallard").expect("connect");
    for (sql, named) in [
        ("select '10.0.0.1'::inet", "type \"inet\""),
        ("create table hosts (addr cidr)", "type \"cidr\""),
        ("select '[1,5)'::int4range", "type \"int4range\""),
        ("create table spans (s tstzrange)", "type \"tstzrange\""),
        ("select 'a b'::tsvector", "type \"tsvector\""),
        ("create type pair as (a int, b text)", "composite types"),
        ("create type span as range (subtype = int4)", "range types"),
    ] {
        let reply = client.query(sql).expect("query");
        let error = reply.error.unwrap_or_else(|| panic!("{sql} was accepted"));
        assert_eq!(error.code.code(), "0A000", "{sql}: {}", error.message);
        assert!(error.message.contains(named), "{sql}: {}", error.message);
    }
    // The session goes on, and an enum (which DuckDB has) is still made.
    let reply = client.query("create type mood as enum ('sad', 'ok'); select 'ok'::mood").expect("query");
    assert!(reply.error.is_none(), "{:?}", reply.error);
}

/// Unconstrained numeric holds DuckDB's DECIMAL(38,10) and is written without trailing
/// zeros: the same text as PostgreSQL's for values written without them, and
/// PostgreSQL's overflow error where a declared precision is exceeded.
const NUMERICS: &[&str] = &[
    "create table amounts (x numeric, y numeric(5,2))",
    "insert into amounts values (0.001, 1.5), (123456789.123456789, 2), (2, 0), (-7.25, -999.99)",
    "select x, y from amounts order by x",
    "select sum(x), min(x), max(x), sum(y) from amounts",
    "select x + 1, x - 1, -x from amounts order by x",
    "select 12.50::numeric, 0.001::numeric, '3.140'::numeric",
    "insert into amounts values (1, 12345.67)",
    "select 1e30::numeric(38,10)",
    "select 'abc'::numeric",
    "select 99999999999999999999999999999.5::numeric(38,10)",
    "drop table amounts",
];

#[test]
fn numerics_answer_as_in_postgres() {
    scripts_answer_as_postgres(&[("numeric", NUMERICS)]);
}

/// Names qualified with the default schema, as pg_dump, ORMs and BI tools write them.
const PUBLIC_SCHEMA: &[&str] = &[
    "create table public.qualified (id int primary key, note text)",
    "insert into public.qualified values (1, 'public.qualified')",
    "select q.id, q.note, public.qualified.id from public.qualified q, public.qualified",
    "update public.qualified set note = 'x' where id = 1",
    "select count(*) from qualified",
    "select nspname from pg_namespace n join pg_class c on c.relnamespace = n.oid where relname = 'qualified'",
    "drop table public.qualified",
];

#[test]
fn the_public_schema_answers_as_in_postgres() {
    scripts_answer_as_postgres(&[("public", PUBLIC_SCHEMA)]);
}
