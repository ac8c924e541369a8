//! Maintenance and DDL statements that PostgreSQL clients send in PostgreSQL's
//! spelling: answered (`VACUUM`, `ANALYZE`), split (one object per DuckDB statement), or
//! stripped of what DuckDB has no use for (storage parameters).

use std::ops::Range;

use super::{is_punct, is_word, matching_paren, replaced, Piece, Rewrite};
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
        assert_eq!(run("drop function f(int, int)"), vec!["drop function f(int, int)"]);
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
}
