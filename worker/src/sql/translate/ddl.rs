//! Maintenance and DDL statements that PostgreSQL clients send in PostgreSQL's
//! spelling: answered (`VACUUM`, `ANALYZE`), split (one object per DuckDB statement), or
//! stripped of what DuckDB has no use for (storage parameters).

use std::ops::Range;

use super::{is_punct, is_word, matching_paren, replaced, splice, Piece, Rewrite};
use crate::sql::Token;

pub(super) fn vacuum(s: &Piece<'_>) -> Option<Rewrite> {
    s.starts_with("vacuum").then_some(Rewrite::Answer("VACUUM"))
}

pub(super) fn analyze(s: &Piece<'_>) -> Option<Rewrite> {
    (s.starts_with("analyze") || s.starts_with("analyse")).then_some(Rewrite::Answer("ANALYZE"))
}

/// The comma-separated object names of a statement from token `from` on, each as
/// written (qualified names and quoting kept), up to the first trailing keyword.
fn name_list<'a>(s: &Piece<'a>, from: usize, stop: &[&str]) -> Option<(Vec<&'a str>, usize)> {
    let tokens = s.tokens();
    let mut names = Vec::new();
    let mut i = from;
    loop {
        let start = i;
        while i < tokens.len()
            && !is_punct(tokens.get(i), ',')
            && !stop.iter().any(|w| is_word(tokens.get(i), w))
        {
            i += 1;
        }
        if i == start {
            return None;
        }
        names.push(&s.sql[tokens[start].0..s.end_of(i - 1)]);
        if !is_punct(tokens.get(i), ',') {
            return Some((names, i));
        }
        i += 1;
    }
}

pub(super) fn drop_many(s: &Piece<'_>) -> Option<Rewrite> {
    if !s.starts_with("drop") {
        return None;
    }
    let tokens = s.tokens();
    if !tokens.iter().any(|(_, t)| *t == Token::Punct(',')) {
        return None;
    }
    let kind = s.text(1);
    if !["table", "view", "index", "sequence", "schema", "type"].iter().any(|k| kind.eq_ignore_ascii_case(k))
    {
        return None;
    }
    let mut i = 2;
    let if_exists = is_word(tokens.get(2), "if") && is_word(tokens.get(3), "exists");
    if if_exists {
        i = 4;
    }
    let (names, end) = name_list(s, i, &["cascade", "restrict"])?;
    let tail = if end < tokens.len() { format!(" {}", &s.sql[tokens[end].0..]) } else { String::new() };
    let exists = if if_exists { " IF EXISTS" } else { "" };
    let kind = kind.to_ascii_uppercase();
    Some(Rewrite::Split(names.iter().map(|n| format!("DROP {kind}{exists} {n}{tail}")).collect()))
}

pub(super) fn truncate_many(s: &Piece<'_>) -> Option<Rewrite> {
    if !s.starts_with("truncate") {
        return None;
    }
    let tokens = s.tokens();
    let mut i = 1 + usize::from(is_word(tokens.get(1), "table"));
    i += usize::from(is_word(tokens.get(i), "only"));
    let trailing = ["restart", "continue", "cascade", "restrict"];
    let (names, end) = name_list(s, i, &trailing)?;
    if names.len() == 1 && end == tokens.len() && i == 1 + usize::from(is_word(tokens.get(1), "table")) {
        return None; // `TRUNCATE [TABLE] t`: DuckDB's own syntax.
    }
    // `t *` (descendant tables too) is plain `t` without inheritance.
    let names = names.iter().map(|n| n.trim_end_matches('*').trim_end());
    Some(Rewrite::Split(names.map(|n| format!("TRUNCATE TABLE {n}")).collect()))
}

pub(super) fn storage_parameters(s: &Piece<'_>) -> Option<Rewrite> {
    if !s.starts_with("create") || !(s.mentions("with") || s.mentions("oids")) {
        return None;
    }
    let tokens = s.tokens();
    let table = tokens
        .iter()
        .take(6)
        .position(|(_, t)| matches!(t, Token::Word(w) if w.eq_ignore_ascii_case("table")))?;
    let mut depth = 0i32;
    let mut edits: Vec<(Range<usize>, &str)> = Vec::new();
    let mut i = table + 1;
    while i < tokens.len() {
        match tokens[i].1 {
            Token::Punct('(') => depth += 1,
            Token::Punct(')') => depth -= 1,
            // A top-level AS starts the query of CREATE TABLE AS: stop there.
            Token::Word(w) if depth == 0 && w.eq_ignore_ascii_case("as") => break,
            Token::Word(w)
                if depth == 0 && w.eq_ignore_ascii_case("without") && is_word(tokens.get(i + 1), "oids") =>
            {
                edits.push((tokens[i].0..s.end_of(i + 1), ""));
                i += 1;
            }
            Token::Word(w)
                if depth == 0 && w.eq_ignore_ascii_case("with") && is_punct(tokens.get(i + 1), '(') =>
            {
                let close = matching_paren(tokens, i + 1)?;
                edits.push((tokens[i].0..s.end_of(close), ""));
                i = close;
            }
            _ => {}
        }
        i += 1;
    }
    replaced(s.sql, &edits)
}

/// `serial`, `bigserial`, `smallserial` (and `serial2/4/8`) columns and
/// `GENERATED {ALWAYS | BY DEFAULT} AS IDENTITY [(options)]`: DuckDB has neither. Each
/// becomes what PostgreSQL makes of it: a sequence named `<table>_<column>_seq` in the
/// table's schema (with the identity's options), created first, and the column an
/// integer of the serial's width, `NOT NULL DEFAULT nextval('<sequence>')`.
///
/// The sequence replaces one of that name left by a dropped table (DuckDB keeps it; a
/// new table starts from 1 as in PostgreSQL), unless the statement says IF NOT EXISTS.
pub(super) fn serial_columns(s: &Piece<'_>) -> Option<Rewrite> {
    if !(s.mentions("serial") || s.mentions("identity")) {
        return None;
    }
    if s.starts_with("alter") {
        return added_serial_column(s);
    }
    if !s.starts_with("create") {
        return None;
    }
    let tokens = s.tokens();
    let table = tokens.iter().take(4).position(|t| is_word(Some(t), "table"))?;
    let temp = tokens[..table].iter().any(|t| is_word(Some(t), "temp") || is_word(Some(t), "temporary"));
    let mut name = table + 1;
    let if_not_exists = is_word(tokens.get(name), "if");
    if if_not_exists {
        name += 3;
    }
    // The table's name, maybe schema-qualified; the sequence goes in the same schema.
    let mut last = name;
    while is_punct(tokens.get(last + 1), '.') {
        last += 2;
    }
    let open = last + 1;
    let close = matching_paren(tokens, open)?;
    let schema = &s.sql[tokens[name].0..tokens[last].0];
    let table_name = crate::sql::stored_name(s.text(last));

    let mut sequences = Vec::new();
    let mut edits: Vec<(Range<usize>, String)> = Vec::new();
    let mut start = open + 1;
    while start < close {
        let end = definition_end(tokens, start, close);
        if let Some((edit, options)) = serial_column(s, start, end) {
            let column = crate::sql::stored_name(s.text(start));
            let sequence = format!("{schema}{}", quoted(&format!("{table_name}_{column}_seq")));
            let create = match (temp, if_not_exists) {
                (true, _) => "CREATE TEMP SEQUENCE",
                (false, true) => "CREATE SEQUENCE IF NOT EXISTS",
                (false, false) => "CREATE OR REPLACE SEQUENCE",
            };
            sequences.push(format!("{create} {sequence}{options}"));
            let default = format!("NOT NULL DEFAULT nextval('{}')", sequence.replace('\'', "''"));
            edits.push((edit.0, edit.1.replace("{default}", &default)));
        }
        start = end + 1;
    }
    if sequences.is_empty() {
        return None;
    }
    sequences.push(splice(s.sql, &edits));
    Some(Rewrite::Split(sequences))
}

/// `ALTER TABLE [IF EXISTS] [ONLY] t ADD [COLUMN] c serial ...`: the
/// sequence, the column, its values for the rows already there (in their order), and
/// then its default, as PostgreSQL numbers them. DuckDB would make the same steps of a
/// column added with a `nextval` default, but as several statements with their own
/// transaction, which cannot be prepared; and it adds no column with a constraint, so
/// the column is not declared NOT NULL (its values never are NULL unless a statement
/// sets them so).
fn added_serial_column(s: &Piece<'_>) -> Option<Rewrite> {
    let tokens = s.tokens();
    if !is_word(tokens.get(1), "table") {
        return None;
    }
    let mut name = 2;
    if is_word(tokens.get(name), "if") && is_word(tokens.get(name + 1), "exists") {
        name += 2;
    }
    if is_word(tokens.get(name), "only") {
        name += 1;
    }
    let mut last = name;
    while is_punct(tokens.get(last + 1), '.') {
        last += 2;
    }
    let mut column = last + 1;
    if !is_word(tokens.get(column), "add") {
        return None;
    }
    column += 1;
    if is_word(tokens.get(column), "column") {
        column += 1;
    }
    // With IF NOT EXISTS and the column there, the numbering would overwrite its values.
    if is_word(tokens.get(column), "if") {
        return None;
    }
    let ((range, edit), options) = serial_column(s, column, tokens.len())?;
    let schema = &s.sql[tokens[name].0..tokens[last].0];
    let table = &s.sql[tokens[name].0..s.end_of(last)];
    let (column_text, table_name) = (s.text(column), crate::sql::stored_name(s.text(last)));
    let column_name = crate::sql::stored_name(column_text);
    let sequence = format!("{schema}{}", quoted(&format!("{table_name}_{column_name}_seq")));
    let next = format!("nextval('{}')", sequence.replace('\'', "''"));
    Some(Rewrite::Split(vec![
        format!("CREATE OR REPLACE SEQUENCE {sequence}{options}"),
        splice(s.sql, &[(range, edit.replace(" {default}", "").replace("{default}", ""))])
            .trim_end()
            .to_owned(),
        format!("UPDATE {table} SET {column_text} = {next}"),
        format!("ALTER TABLE {table} ALTER COLUMN {column_text} SET DEFAULT {next}"),
    ]))
}

/// The index of the `,` or `)` that ends the column definition starting at `start`.
fn definition_end(tokens: &[(usize, Token<'_>)], start: usize, close: usize) -> usize {
    let mut i = start;
    while i < close {
        match tokens[i].1 {
            Token::Punct('(') => i = matching_paren(tokens, i).unwrap_or(close),
            Token::Punct(',') => return i,
            _ => {}
        }
        i += 1;
    }
    close
}

/// For a serial or identity column defined by tokens `start..end`: the edit to make
/// (`{default}` stands for the column's default) and the sequence's options.
fn serial_column(s: &Piece<'_>, start: usize, end: usize) -> Option<((Range<usize>, String), String)> {
    let tokens = s.tokens();
    if !matches!(tokens[start].1, Token::Word(_) | Token::QuotedIdent(_)) || start + 1 >= end {
        return None;
    }
    if ["constraint", "primary", "unique", "check", "foreign", "exclude", "like"]
        .iter()
        .any(|k| is_word(tokens.get(start), k))
    {
        return None;
    }
    let ty = start + 1;
    let width = match tokens[ty].1 {
        Token::Word(w) => match w.to_ascii_lowercase().as_str() {
            "serial" | "serial4" => Some("INTEGER"),
            "bigserial" | "serial8" => Some("BIGINT"),
            "smallserial" | "serial2" => Some("SMALLINT"),
            _ => None,
        },
        _ => None,
    };
    if let Some(width) = width {
        return Some(((tokens[ty].0..s.end_of(ty), format!("{width} {{default}}")), String::new()));
    }
    // GENERATED {ALWAYS | BY DEFAULT} AS IDENTITY [( options )]
    let generated = (ty..end).find(|&i| is_word(tokens.get(i), "generated"))?;
    let mut i = generated + 1;
    if is_word(tokens.get(i), "always") {
        i += 1;
    } else if is_word(tokens.get(i), "by") && is_word(tokens.get(i + 1), "default") {
        i += 2;
    } else {
        return None;
    }
    if !is_word(tokens.get(i), "as") || !is_word(tokens.get(i + 1), "identity") {
        return None;
    }
    let mut last = i + 1;
    let mut options = String::new();
    if is_punct(tokens.get(last + 1), '(') {
        let close = matching_paren(tokens, last + 1)?;
        options = format!(" {}", &s.sql[s.end_of(last + 1)..tokens[close].0].trim());
        last = close;
    }
    Some(((tokens[generated].0..s.end_of(last), "{default}".to_owned()), options))
}

/// `name` quoted when PostgreSQL would need quotes to read it back.
fn quoted(name: &str) -> String {
    let plain = name.chars().next().is_some_and(|c| c.is_ascii_lowercase() || c == '_')
        && name.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
    if plain {
        name.to_owned()
    } else {
        format!("\"{}\"", name.replace('"', "\"\""))
    }
}

#[cfg(test)]
mod tests {
    use super::super::tests::{run, translate};
    use super::super::Translation;

    #[test]
    fn vacuum_and_analyze_are_answered() {
        for (sql, tag) in [
            ("vacuum analyze pgbench_branches", "VACUUM"),
            ("VACUUM", "VACUUM"),
            ("vacuum (verbose, analyze) t", "VACUUM"),
            ("analyze", "ANALYZE"),
            ("ANALYSE verbose t", "ANALYZE"),
        ] {
            assert_eq!(translate(sql), Translation::Answer(tag), "{sql}");
        }
    }

    #[test]
    fn an_added_serial_column_gets_its_sequence() {
        assert_eq!(
            run("alter table s.items add column id bigserial"),
            vec![
                "CREATE OR REPLACE SEQUENCE s.items_id_seq",
                "alter table s.items add column id BIGINT",
                "UPDATE s.items SET id = nextval('s.items_id_seq')",
                "ALTER TABLE s.items ALTER COLUMN id SET DEFAULT nextval('s.items_id_seq')"
            ]
        );
        assert_eq!(
            run("ALTER TABLE t ADD n int GENERATED BY DEFAULT AS IDENTITY (START WITH 10)"),
            vec![
                "CREATE OR REPLACE SEQUENCE t_n_seq START WITH 10",
                "ALTER TABLE t ADD n int",
                "UPDATE t SET n = nextval('t_n_seq')",
                "ALTER TABLE t ALTER COLUMN n SET DEFAULT nextval('t_n_seq')"
            ]
        );
        let plain = "alter table t add column note text";
        assert_eq!(run(plain), vec![plain]);
        let maybe = "alter table t add column if not exists id serial";
        assert_eq!(run(maybe), vec![maybe]);
    }

    #[test]
    fn drop_many_splits() {
        assert_eq!(
            run("drop table if exists pgbench_accounts, pgbench_branches, \"Odd, name\""),
            vec![
                "DROP TABLE IF EXISTS pgbench_accounts",
                "DROP TABLE IF EXISTS pgbench_branches",
                "DROP TABLE IF EXISTS \"Odd, name\""
            ]
        );
        assert_eq!(run("DROP VIEW s.a, b CASCADE"), vec!["DROP VIEW s.a CASCADE", "DROP VIEW b CASCADE"]);
        assert_eq!(run("drop table t"), vec!["drop table t"]);
    }

    #[test]
    fn truncate_many_splits() {
        assert_eq!(
            run("truncate table pgbench_accounts, pgbench_branches"),
            vec!["TRUNCATE TABLE pgbench_accounts", "TRUNCATE TABLE pgbench_branches"]
        );
        assert_eq!(run("TRUNCATE ONLY t RESTART IDENTITY CASCADE"), vec!["TRUNCATE TABLE t"]);
        assert_eq!(run("truncate pgbench_history"), vec!["truncate pgbench_history"]);
        assert_eq!(run("truncate table t"), vec!["truncate table t"]);
    }

    #[test]
    fn storage_parameters_are_dropped() {
        assert_eq!(
            run("create table pgbench_tellers(tid int not null,bid int) with (fillfactor=100)"),
            vec!["create table pgbench_tellers(tid int not null,bid int) "]
        );
        assert_eq!(run("CREATE TABLE t (x int) WITHOUT OIDS"), vec!["CREATE TABLE t (x int) "]);
        let ctas = "create table t as with a as (select 1) select * from a";
        assert_eq!(run(ctas), vec![ctas]);
        let literal = "create table t (x varchar default 'with (a)')";
        assert_eq!(run(literal), vec![literal]);
    }

    #[test]
    fn serial_and_identity_columns_get_a_sequence() {
        assert_eq!(
            run("create table t (id serial primary key, n bigserial, name text)"),
            vec![
                "CREATE OR REPLACE SEQUENCE t_id_seq",
                "CREATE OR REPLACE SEQUENCE t_n_seq",
                "create table t (id INTEGER NOT NULL DEFAULT nextval('t_id_seq') primary key, \
                 n BIGINT NOT NULL DEFAULT nextval('t_n_seq'), name text)",
            ]
        );
        assert_eq!(
            run("CREATE TEMP TABLE IF NOT EXISTS s.\"Orders\" (\"Id\" int GENERATED ALWAYS AS IDENTITY (START WITH 10 INCREMENT BY 5), x numeric(10, 2))"),
            vec![
                "CREATE TEMP SEQUENCE s.\"Orders_Id_seq\" START WITH 10 INCREMENT BY 5",
                "CREATE TEMP TABLE IF NOT EXISTS s.\"Orders\" (\"Id\" int NOT NULL DEFAULT nextval('s.\"Orders_Id_seq\"'), x numeric(10, 2))",
            ]
        );
        assert_eq!(
            run("create table if not exists u (id bigint generated by default as identity, v text)"),
            vec![
                "CREATE SEQUENCE IF NOT EXISTS u_id_seq",
                "create table if not exists u (id bigint NOT NULL DEFAULT nextval('u_id_seq'), v text)",
            ]
        );
        let plain = "create table v (serial_no int, identity text)";
        assert_eq!(run(plain), vec![plain]);
    }
}
