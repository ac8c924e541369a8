//! `DateStyle` and `IntervalStyle` against a real PostgreSQL 15: every output format
//! and field order, and every interval style, on the same statements in the same
//! session settings on both servers; and date literals in the forms PostgreSQL reads,
//! whose meaning depends on the field order (`01/02/03`).

use mallard_harness::pair::Pair;
use mallard_harness::raw_client::RawClient;
use mallard_harness::{Options, Server};

const DATE_STYLES: &[&str] = &[
    "ISO, MDY",
    "ISO, DMY",
    "ISO, YMD",
    "SQL, MDY",
    "SQL, DMY",
    "SQL, YMD",
    "Postgres, MDY",
    "Postgres, DMY",
    "Postgres, YMD",
    "German, DMY",
    "German, MDY",
    "German, YMD",
];

const ZONES: &[&str] = &["UTC", "Europe/Rome", "America/New_York", "Asia/Kolkata", "-5", "UTC+3"];

/// What the output format and the zone change.
const OUTPUT: &[&str] = &[
    "select '2026-07-03'::date, '2026-12-03 14:30:00.5'::timestamp",
    "select '2026-12-03 14:30:00.5+00'::timestamptz, '2026-07-03 14:30:00+00'::timestamptz",
    "select '1900-01-01 00:00:00+00'::timestamptz",
    "select '0001-01-01'::date, '9999-12-31 23:59:59.999999'::timestamp",
    "select 'infinity'::date, '-infinity'::timestamp, 'infinity'::timestamptz",
    "select array['2026-01-05'::date, '2026-01-06'::date]",
    "select array['2026-01-05 10:00:00'::timestamp]",
    "select row('2026-01-05'::date, '2026-01-05 10:00:00+00'::timestamptz)",
    "select d from (values ('2024-02-29'::date), ('2024-12-31'::date)) v(d) order by d",
];

/// Literals whose reading depends on the field order, or that only PostgreSQL's
/// non-ISO forms spell.
const INPUT: &[&str] = &[
    "select date '01/02/03'",
    "select '01/02/2003'::date",
    "select '13/02/2003'::date",
    "select '2003/02/01'::date",
    "select '1999-Jan-08'::date",
    "select 'January 8, 1999'::date",
    "select '08-Jan-1999'::date",
    "select 'Jan-08-1999'::date",
    "select '19990108'::date",
    "select '03.12.2026'::date",
    "select '12-03-2026'::date",
    "select '01/02/69'::date, '01/02/70'::date",
    "select timestamp 'Thu Dec 03 14:30:00.5 2026'",
    "select timestamp '03.12.2026 14:30:00'",
    "select cast('12/03/2026 12:00 AM' as timestamp), cast('12/03/2026 12:30 PM' as timestamp)",
    "select '12/03/2026 1:05:07 pm'::timestamp without time zone",
    "select 'Dec 3 2026 2:30 PM CET'::timestamptz",
    "select '2026-12-03 14:30 EST'::timestamptz",
    "select timestamp with time zone 'Thu Dec 03 14:30:00 2026 PST'",
    "select '12/03/2026 14:30:00'::timestamptz",
    "select date '2026-12-03' - date '12/01/2026'",
    // Out of range, however long the year: an error, never an overflow.
    "select date '01/01/99999999999999999'",
    "select date '01/01/5874898'",
];

const INTERVAL_STYLES: &[&str] = &["postgres", "postgres_verbose", "sql_standard", "iso_8601"];

const INTERVALS: &[&str] = &[
    "select interval '1 year 2 mons 3 days 04:05:06.5'",
    "select interval '0', interval '-1 days', interval '-1 days +01:00:00'",
    "select interval '-1 years -1 mons -00:00:00.000001'",
    "select interval '1.5 sec', interval '-1.5 sec', interval '-1 sec', interval '1 sec'",
    "select interval '-1 year +1 day', interval '1 day -1 sec', interval '-3 days -04:05:06'",
    "select interval '-1 year -2 mons', interval '100 hours', interval '1 year 1 sec'",
    "select '2026-03-01'::date - '2025-01-15 10:00:00'::timestamp",
    "select age('2026-03-01'::timestamp, '2025-01-15 10:00:00'::timestamp)",
    "select array[interval '1 day', interval '-2 hours']",
    // Input in each style's own form, which every style reads.
    "select interval '@ 1 year 2 mons -3 days 4 hours ago', interval 'P1Y2M3DT4H5M6.5S'",
    "select interval '1-2', interval '3 4:05:06', interval '+1-2 +3 +4:05:06.5'",
    "select interval '1 year 2 mons 3 days 04:05:06.5', interval '-1 days +01:00:00'",
    // A leading minus alone applies to every field in sql_standard, to the first in others.
    "select interval '-1 2:03:04', interval '-1 day 2 hours', interval '-1 day +2 hours'",
];

/// Runs `set` on both servers, then each statement, recording where they differ.
fn compare(
    pair: &mut Pair,
    set: &[String],
    statements: &[&str],
    differences: &mut Vec<String>,
) -> Vec<String> {
    for s in set {
        assert!(pair.pg_query(s).error.is_none(), "PostgreSQL refused {s}");
        let reply = pair.mallard_query(s);
        assert!(reply.error.is_none(), "{s}: {:?}", reply.error);
    }
    let mut answers = Vec::new();
    for sql in statements {
        let (pg, mallard) = (pair.pg_query(sql).text(), pair.mallard_query(sql).text());
        if pg != mallard {
            differences
                .push(format!("[{}] {sql}\n  PostgreSQL: {pg}\n  mallard:    {mallard}", set.join("; ")));
        }
        answers.push(pg);
    }
    answers
}

#[test]
fn every_date_style_writes_and_reads_as_postgres() {
    let mut pair = Pair::start(env!("CARGO_BIN_EXE_mallard"));
    let mut differences = Vec::new();
    let mut outputs = std::collections::HashSet::new();
    let mut inputs = std::collections::HashSet::new();
    for style in DATE_STYLES {
        for zone in ZONES {
            let set = [format!("SET DateStyle = '{style}'"), format!("SET TimeZone = '{zone}'")];
            outputs.insert(compare(&mut pair, &set, OUTPUT, &mut differences));
        }
        let set = [format!("SET DateStyle = '{style}'"), "SET TimeZone = 'Europe/Rome'".to_owned()];
        inputs.insert(compare(&mut pair, &set, INPUT, &mut differences));
    }
    // The settings do change PostgreSQL's answers: one setting would not show this.
    assert!(outputs.len() > DATE_STYLES.len(), "PostgreSQL's outputs: {outputs:?}");
    assert!(inputs.len() >= 3, "PostgreSQL's readings per field order: {inputs:?}");
    pair.assert_no_differences("DateStyle answers", &differences);
}

#[test]
fn every_interval_style_writes_as_postgres() {
    let mut pair = Pair::start(env!("CARGO_BIN_EXE_mallard"));
    let mut differences = Vec::new();
    let mut answers = std::collections::HashSet::new();
    for style in INTERVAL_STYLES {
        let set = [format!("SET IntervalStyle = '{style}'")];
        answers.insert(compare(&mut pair, &set, INTERVALS, &mut differences));
    }
    assert_eq!(answers.len(), INTERVAL_STYLES.len(), "PostgreSQL's answers per style: {answers:?}");
    pair.assert_no_differences("IntervalStyle answers", &differences);
}

#[test]
fn the_startup_packet_and_show_agree_with_postgres() {
    let mut pair = Pair::start(env!("CARGO_BIN_EXE_mallard"));
    let mut differences = Vec::new();
    // How PostgreSQL completes a half given (German alone means DMY; DEFAULT fills in).
    for value in ["German", "SQL", "Postgres, default", "euro", "us", "YMD", "default", "MDY, German"] {
        let set = ["SET DateStyle = 'SQL, YMD'".to_owned(), format!("SET DateStyle = '{value}'")];
        compare(&mut pair, &set, &["show DateStyle"], &mut differences);
    }
    for bad in ["SET DateStyle = 'SQL, German'", "SET DateStyle = 'Roman'", "SET IntervalStyle = 'sql'"] {
        let (pg, mallard) = (pair.pg_query(bad).text(), pair.mallard_query(bad).text());
        if pg != mallard {
            differences.push(format!("{bad}\n  PostgreSQL: {pg}\n  mallard:    {mallard}"));
        }
    }
    pair.assert_no_differences("DateStyle settings", &differences);
}

#[test]
fn a_style_from_the_startup_packet_is_the_sessions() {
    let server = Server::start(env!("CARGO_BIN_EXE_mallard"), Options::default());
    let params =
        [("user", "tester"), ("database", "mallard"), ("DateStyle", "German"), ("IntervalStyle", "iso_8601")];
    let mut client = RawClient::connect_with(server.port, &params).expect("connect");
    let reported =
        |name: &str| client.startup_parameters.iter().find(|(n, _)| n == name).map(|(_, v)| v.clone());
    assert_eq!(reported("DateStyle").as_deref(), Some("German, DMY"));
    assert_eq!(reported("IntervalStyle").as_deref(), Some("iso_8601"));
    let reply = client
        .query("select date '2026-12-03', interval '1 day 2 hours', '01/02/2003'::date")
        .expect("query");
    assert_eq!(reply.text(), "03.12.2026|P1DT2H|01.02.2003");
    // RESET returns to the startup packet's style, not the server's default.
    client.query("SET DateStyle = ISO").expect("set");
    client.query("RESET DateStyle").expect("reset");
    assert_eq!(client.query("select date '2026-12-03'").expect("query").text(), "03.12.2026");
}
