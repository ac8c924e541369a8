//! Unit tests of the session settings: parsing, reporting and transaction scoping.

use super::*;
use crate::sql::classify;
use crate::sql::Statement;

fn fresh() -> Settings {
    Settings::new("alice", &[]).unwrap()
}

fn run(s: &mut Settings, sql: &str) -> Result<Reply, ErrorInfo> {
    s.execute(&classify(&Statement::new(sql))).expect("a settings command")
}

fn show(s: &mut Settings, name: &str) -> String {
    let reply = run(s, &format!("show {name}")).unwrap();
    reply.rows.unwrap().1[0][0].clone()
}

#[test]
fn set_show_reset() {
    let mut s = fresh();
    run(&mut s, "set statement_timeout = '90s'").unwrap();
    assert_eq!(show(&mut s, "statement_timeout"), "90s");
    assert_eq!(s.statement_timeout(), Some(Duration::from_secs(90)));
    run(&mut s, "reset statement_timeout").unwrap();
    assert_eq!(s.statement_timeout(), None);
    run(&mut s, "SET TIME ZONE -5").unwrap();
    assert_eq!(show(&mut s, "time zone"), "<-05>+05");
    run(&mut s, "set search_path to a, \"B\"").unwrap();
    assert_eq!(show(&mut s, "search_path"), "a, \"B\"");
    run(&mut s, "reset all").unwrap();
    assert_eq!(show(&mut s, "search_path"), "\"$user\", public");
    assert_eq!(show(&mut s, "session authorization"), "alice");
}

#[test]
fn errors_carry_postgres_sqlstates() {
    let mut s = fresh();
    let code = |s: &mut Settings, sql: &str| run(s, sql).unwrap_err().code;
    assert_eq!(code(&mut s, "set foo = 1"), SqlState::UNDEFINED_OBJECT);
    assert_eq!(code(&mut s, "show foo"), SqlState::UNDEFINED_OBJECT);
    assert_eq!(code(&mut s, "reset foo"), SqlState::UNDEFINED_OBJECT);
    assert_eq!(code(&mut s, "set server_version = '1'"), SqlState::CANT_CHANGE_RUNTIME_PARAM);
    assert_eq!(code(&mut s, "set extra_float_digits = 4"), SqlState::INVALID_PARAMETER_VALUE);
    assert_eq!(code(&mut s, "set application_name = a, b"), SqlState::INVALID_PARAMETER_VALUE);
    assert_eq!(code(&mut s, "set standard_conforming_strings = off"), SqlState::FEATURE_NOT_SUPPORTED);
    assert_eq!(code(&mut s, "set intervalstyle = sql"), SqlState::INVALID_PARAMETER_VALUE);
    assert_eq!(code(&mut s, "set timezone = 'Mars/Base'"), SqlState::INVALID_PARAMETER_VALUE);
}

#[test]
fn rollback_undoes_set_and_local_ends_with_the_transaction() {
    let mut s = fresh();
    s.begin(&[]);
    run(&mut s, "set statement_timeout = 8").unwrap();
    s.end_transaction(false);
    assert_eq!(show(&mut s, "statement_timeout"), "0");

    s.begin(&[]);
    run(&mut s, "set local statement_timeout = 7").unwrap();
    run(&mut s, "set statement_timeout = 8").unwrap();
    run(&mut s, "set local statement_timeout = 9").unwrap();
    assert_eq!(show(&mut s, "statement_timeout"), "9ms");
    s.end_transaction(true);
    assert_eq!(show(&mut s, "statement_timeout"), "8ms");
}

#[test]
fn set_local_outside_a_transaction_only_warns() {
    let mut s = fresh();
    let reply = run(&mut s, "set local statement_timeout = 5").unwrap();
    assert_eq!(reply.notice.unwrap().code, SqlState::NO_ACTIVE_SQL_TRANSACTION);
    assert_eq!(show(&mut s, "statement_timeout"), "0");
}

#[test]
fn transaction_isolation_follows_its_default() {
    let mut s = fresh();
    assert_eq!(show(&mut s, "transaction_isolation"), "read committed");
    run(&mut s, "set session characteristics as transaction isolation level repeatable read").unwrap();
    assert_eq!(show(&mut s, "transaction isolation level"), "repeatable read");
    s.begin(&[TransactionMode::Isolation("serializable")]);
    assert_eq!(show(&mut s, "transaction_isolation"), "serializable");
    s.end_transaction(true);
    assert_eq!(show(&mut s, "transaction_isolation"), "repeatable read");
}

#[test]
fn reports_only_what_changed() {
    let mut s = fresh();
    let names = |m: Vec<Message>| -> Vec<(String, String)> {
        m.into_iter()
            .map(|m| match m {
                Message::ParameterStatus { name, value } => (name, value),
                other => panic!("{other:?}"),
            })
            .collect()
    };
    let first = names(s.take_reports());
    assert!(first.contains(&("session_authorization".into(), "alice".into())));
    assert!(first.contains(&("TimeZone".into(), "UTC".into())));
    assert!(s.take_reports().is_empty());
    s.begin(&[]);
    run(&mut s, "set application_name = 'x'").unwrap();
    assert_eq!(names(s.take_reports()), vec![("application_name".into(), "x".into())]);
    s.end_transaction(false);
    assert_eq!(names(s.take_reports()), vec![("application_name".into(), "".into())]);
    run(&mut s, "set statement_timeout = 5").unwrap();
    assert!(s.take_reports().is_empty());
}

#[test]
fn startup_parameters_and_options() {
    let params = [
        ("application_name".to_owned(), "psql".to_owned()),
        ("DateStyle".to_owned(), "ISO, DMY".to_owned()),
        ("options".to_owned(), "-c statement_timeout=5s --search-path=a,b -c geqo=off".to_owned()),
        ("no_such_thing".to_owned(), "1".to_owned()),
    ];
    let mut s = Settings::new("bob", &params).unwrap();
    assert_eq!(show(&mut s, "application_name"), "psql");
    assert_eq!(show(&mut s, "datestyle"), "ISO, DMY");
    assert_eq!(show(&mut s, "statement_timeout"), "5s");
    assert_eq!(show(&mut s, "search_path"), "a, b");
    run(&mut s, "set datestyle = mdy").unwrap();
    run(&mut s, "reset datestyle").unwrap();
    assert_eq!(show(&mut s, "datestyle"), "ISO, DMY");
    let bad = Settings::new("bob", &[("client_encoding".into(), "JOHAB".into())]).err().unwrap();
    assert_eq!((bad.severity, bad.code), (Severity::Fatal, SqlState::FEATURE_NOT_SUPPORTED));
}

#[test]
fn show_all_lists_every_setting_sorted() {
    let mut s = fresh();
    let (columns, rows) = run(&mut s, "show all").unwrap().rows.unwrap();
    assert_eq!(columns, vec!["name", "setting", "description"]);
    assert_eq!(rows.len(), DEFS.len());
    let names: Vec<String> = rows.iter().map(|r| r[0].to_ascii_lowercase()).collect();
    let mut sorted = names.clone();
    sorted.sort();
    assert_eq!(names, sorted);
}

#[test]
fn discard_all_resets_outside_transactions_only() {
    let mut s = fresh();
    run(&mut s, "set application_name = 'x'").unwrap();
    assert_eq!(run(&mut s, "discard all").unwrap().tag, "DISCARD ALL");
    assert_eq!(show(&mut s, "application_name"), "");
    s.begin(&[]);
    assert_eq!(run(&mut s, "discard all").unwrap_err().code, SqlState::ACTIVE_SQL_TRANSACTION);
}

#[test]
fn options_strings_split_like_libpq_writes_them() {
    assert_eq!(
        command_line_options("-c a=1 -cb=two\\ words --c-d=3 -x"),
        vec![("a".into(), "1".into()), ("b".into(), "two words".into()), ("c_d".into(), "3".into())]
    );
}
