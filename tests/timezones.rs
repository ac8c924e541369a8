//! Time zones against a real PostgreSQL 15: the same statements in the same session
//! `TimeZone` on both servers give the same text. DuckDB computes with its ICU extension
//! (compiled into mallard); mallard writes the values. Zones with DST in either
//! hemisphere, half- and quarter-hour offsets, a 30-minute DST shift, a whole-hour fixed
//! offset; instants at DST changes, in the gaps and folds, and in years 1 and 9999.

use mallard_harness::pair::Pair;
use mallard_harness::raw_client::RawClient;
use mallard_harness::{Options, Server};

const ZONES: &[&str] = &[
    "UTC",
    "Europe/Rome",
    "America/New_York",
    "America/Sao_Paulo",
    "Asia/Kolkata",
    "Asia/Kathmandu",
    "Australia/Lord_Howe",
    "Pacific/Chatham",
    "America/St_Johns",
    "-5",
];

/// Statements both systems spell alike.
const STATEMENTS: &[&str] = &[
    // Instants either side of the 2024 DST changes of both hemispheres.
    "select '2024-03-10 06:59:59+00'::timestamptz",
    "select '2024-03-10 07:00:00+00'::timestamptz",
    "select '2024-03-31 00:59:59+00'::timestamptz",
    "select '2024-03-31 01:00:00+00'::timestamptz",
    "select '2024-04-06 15:30:00+00'::timestamptz",
    "select '2024-10-27 00:30:00+00'::timestamptz",
    "select '2024-10-27 01:30:00+00'::timestamptz",
    // Wall-clock times in gaps and folds, read in the session's zone.
    "select '2024-03-31 02:30:00'::timestamptz",
    "select '2024-10-27 02:30:00'::timestamptz",
    "select '2024-03-10 02:30:00'::timestamptz",
    "select '2024-11-03 01:30:00'::timestamptz",
    // Far past and future: local mean time, and the last second PostgreSQL and DuckDB share.
    "select '0001-01-01 00:00:00+00'::timestamptz",
    "select '1900-01-01 00:00:00+00'::timestamptz",
    "select '9999-12-31 23:59:59+00'::timestamptz",
    // Conversions and arithmetic that need the zone's rules.
    "select '2024-07-01 12:00:00+00'::timestamptz at time zone 'Asia/Tokyo'",
    "select '2024-07-01 12:00:00'::timestamp at time zone 'Asia/Tokyo'",
    "select timezone('UTC', '2024-07-01 12:00:00+00'::timestamptz)",
    "select date_trunc('day', '2024-03-10 12:00:00+00'::timestamptz)",
    "select date_trunc('month', '2024-03-31 23:30:00+00'::timestamptz)",
    "select extract(hour from '2024-03-10 12:00:00+00'::timestamptz)",
    "select '2024-03-09 12:00:00+00'::timestamptz + interval '1 day'",
    "select '2024-03-30 12:00:00+00'::timestamptz + interval '1 day'",
    "select '2024-03-30 12:00:00+00'::timestamptz + interval '24 hours'",
    "select '2024-03-10 12:00:00+00'::timestamptz::date",
    "select '2024-03-10 12:00:00+00'::timestamptz::timestamp",
    "select '2024-03-10 12:00:00'::timestamp::timestamptz",
    // Differences of instants: microseconds, in days of 24 hours, across DST too.
    "select '2024-07-01 00:00:00+00'::timestamptz - '2024-01-01 00:00:00+00'::timestamptz",
    "select '2024-03-31 12:00:00+02'::timestamptz - '2024-03-30 12:00:00+01'::timestamptz",
    "select '2024-01-01 00:00:00+00'::timestamptz - '2024-01-02 12:00:00+00'::timestamptz",
    "select age('2024-07-01 00:00:00+00'::timestamptz, '2024-01-01 00:00:00+00'::timestamptz)",
    // A typed literal with an offset after minutes, which DuckDB alone refuses.
    "select '2024-07-01 00:00+02'::timestamptz, timestamptz '2024-03-31 02:30 CET'",
    "select current_date = now()::date",
    "select localtimestamp::date = current_date",
];

#[test]
fn timestamptz_answers_match_postgres_in_ten_zones() {
    let mut pair = Pair::start(env!("CARGO_BIN_EXE_mallard"));
    let mut differences = Vec::new();
    // PostgreSQL's answers to the first statement, one per zone.
    let mut first_answers = std::collections::HashSet::new();
    for zone in ZONES {
        let set = format!("SET TimeZone = '{zone}'");
        assert!(pair.pg_query(&set).error.is_none());
        let reply = pair.mallard_query(&set);
        assert!(reply.error.is_none(), "{set}: {:?}", reply.error);
        for sql in STATEMENTS {
            let (pg, mallard) = (pair.pg_query(sql).text(), pair.mallard_query(sql).text());
            if sql == &STATEMENTS[0] {
                first_answers.insert(pg.clone());
            }
            if pg != mallard {
                differences.push(format!("[{zone}] {sql}\n  PostgreSQL: {pg}\n  mallard:    {mallard}"));
            }
        }
    }
    // The zones do change the answers: a comparison in one zone would not see this.
    assert!(first_answers.len() > 1, "PostgreSQL's answers per zone: {first_answers:?}");
    pair.assert_no_differences("time zone answers", &differences);
}

#[test]
fn the_zone_comes_from_the_startup_packet_or_the_config() {
    let options =
        Options { env: vec![("MALLARD_TIMEZONE".into(), "Asia/Tokyo".into())], ..Options::default() };
    let server = Server::start(env!("CARGO_BIN_EXE_mallard"), options);
    let instant = "select '2024-07-01 00:00:00+00'::timestamptz, current_setting('TimeZone')";

    // The config's zone is every session's default, and what RESET returns to.
    let mut client = RawClient::connect(server.port, "tester", "mallard").expect("connect");
    let reply = client.query(instant).expect("query");
    assert_eq!(reply.text(), "2024-07-01 09:00:00+09|Asia/Tokyo");
    assert!(client.startup_parameters.contains(&("TimeZone".into(), "Asia/Tokyo".into())));

    // A client's own zone (libpq sends PGTZ as the TimeZone startup parameter) wins.
    let params = [("user", "tester"), ("database", "mallard"), ("TimeZone", "Europe/Rome")];
    let mut client = RawClient::connect_with(server.port, &params).expect("connect");
    assert_eq!(client.query(instant).expect("query").text(), "2024-07-01 02:00:00+02|Europe/Rome");
    client.query("SET TimeZone = 'UTC'").expect("set");
    client.query("RESET TimeZone").expect("reset");
    assert_eq!(client.query(instant).expect("query").text(), "2024-07-01 02:00:00+02|Europe/Rome");

    // DuckDB's zones have no fixed offsets but whole hours: refused, not approximated.
    let reply = client.query("SET TIME ZONE 5.5").expect("query");
    let error = reply.error.expect("a half-hour offset is refused");
    assert_eq!(error.code.code(), "0A000", "{error:?}");
    assert_eq!(client.query(instant).expect("query").text(), "2024-07-01 02:00:00+02|Europe/Rome");
}

#[test]
fn a_bad_configured_zone_is_a_config_error() {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_mallard"))
        .arg("check")
        .env("MALLARD_TIMEZONE", "Mars/Olympus_Mons")
        .output()
        .expect("run mallard check");
    assert!(!out.status.success(), "mallard check accepted a zone that does not exist");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("timezone"), "{stderr}");
}

#[test]
fn pg_timezone_names_lists_the_zones_postgres_lists() {
    let mut pair = Pair::start(env!("CARGO_BIN_EXE_mallard"));
    let sql = "select name, abbrev, utc_offset, is_dst from pg_catalog.pg_timezone_names order by name";
    let (pg, mallard) = (pair.pg_query(sql).text(), pair.mallard_query(sql).text());
    assert!(pg.lines().count() > 400, "PostgreSQL lists {} zones", pg.lines().count());
    let differences: Vec<String> = pg
        .lines()
        .zip(mallard.lines())
        .filter(|(p, m)| p != m)
        .take(20)
        .map(|(p, m)| format!("  PostgreSQL: {p}\n  mallard:    {m}"))
        .chain((pg.lines().count() != mallard.lines().count()).then(|| {
            format!("  PostgreSQL lists {} zones, mallard {}", pg.lines().count(), mallard.lines().count())
        }))
        .collect();
    pair.assert_no_differences("pg_timezone_names rows", &differences);
}
