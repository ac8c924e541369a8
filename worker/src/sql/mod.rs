//! SQL as the session sees it before DuckDB does: a query string split the way
//! PostgreSQL splits it, each statement tokenized once ([`Statement`]) and analysed by
//! one pure function ([`analyze`]): its class and command tag, what must be rewritten
//! for DuckDB ([`translate`](translate::translate)), and what Parse reports about its parameters and columns.
//!
//! Client-compatibility work grows here; it works on tokens, never on ad-hoc string
//! searches in session code.

mod analyze;
mod command;
mod lexer;
mod names;
mod origins;
mod statement;
pub mod translate;
pub mod utility;

pub use analyze::{analyze, Analysis, DuckPlan, Plan, Refusal};
#[cfg(test)]
pub use command::classify;
pub use command::Command;
pub use lexer::Token;
pub use origins::{Item, Source, Sources};
pub use statement::{split, Statement};

/// Whether `needle` (ASCII, lower case) occurs anywhere in `sql`, ignoring case: a cheap
/// filter before tokenizing.
pub fn mentions(sql: &str, needle: &str) -> bool {
    sql.as_bytes().windows(needle.len()).any(|w| w.eq_ignore_ascii_case(needle.as_bytes()))
}

/// `ALTER TABLE t ADD [CONSTRAINT c] PRIMARY KEY | UNIQUE (...)`: the key it adds
/// (`"primary key"` or `"unique constraint"`).
pub fn added_key(statement: &Statement<'_>) -> Option<&'static str> {
    let words: Vec<String> = statement
        .tokens()
        .iter()
        .filter_map(|(_, t)| match t {
            Token::Word(w) => Some(w.to_ascii_lowercase()),
            Token::QuotedIdent(_) => Some(String::new()),
            _ => None,
        })
        .collect();
    if words.first().map(String::as_str) != Some("alter") || words.get(1).map(String::as_str) != Some("table")
    {
        return None;
    }
    let add = words.iter().position(|w| w == "add")?;
    let mut rest = words[add + 1..].iter().map(String::as_str);
    let mut next = rest.next();
    if next == Some("constraint") {
        rest.next();
        next = rest.next();
    }
    match (next, rest.next()) {
        (Some("primary"), Some("key")) => Some("primary key"),
        (Some("unique"), _) => Some("unique constraint"),
        _ => None,
    }
}

/// An identifier as written (`Orders`, `"Orders"`) as PostgreSQL stores it: unquoted
/// names fold to lower case, quoted ones keep their case and lose their quotes.
pub fn stored_name(text: &str) -> String {
    match text.strip_prefix('"').and_then(|t| t.strip_suffix('"')) {
        Some(quoted) => quoted.replace("\"\"", "\""),
        None => text.to_ascii_lowercase(),
    }
}

/// The schema (PostgreSQL's name: `public` for DuckDB's `main`) and table a statement
/// writes, as PostgreSQL stores the names: `INSERT INTO [s.]t`, `UPDATE [ONLY] t`,
/// `COPY t`, `MERGE INTO t`, after any `WITH` queries.
pub fn written_table(sql: &str) -> Option<(String, String)> {
    let statement = Statement::new(sql);
    let tokens = statement.tokens();
    let mut depth = 0i32;
    let mut verb = None;
    for (i, (_, t)) in tokens.iter().enumerate() {
        match t {
            Token::Punct('(') => depth += 1,
            Token::Punct(')') => depth -= 1,
            Token::Word(w)
                if depth == 0
                    && ["insert", "update", "copy", "merge"].iter().any(|v| w.eq_ignore_ascii_case(v)) =>
            {
                verb = Some(i);
                break;
            }
            _ => {}
        }
    }
    let mut at = verb? + 1;
    while matches!(tokens.get(at), Some((_, Token::Word(w))) if w.eq_ignore_ascii_case("into") || w.eq_ignore_ascii_case("only"))
    {
        at += 1;
    }
    let name = |i: usize| match tokens.get(i) {
        Some((_, Token::Word(text) | Token::QuotedIdent(text))) => Some(stored_name(text)),
        _ => None,
    };
    let first = name(at)?;
    if matches!(tokens.get(at + 1), Some((_, Token::Punct('.')))) {
        return Some((first, name(at + 2)?));
    }
    Some(("public".to_owned(), first))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn added_keys_are_found_and_nothing_else() {
        let key = |sql: &str| added_key(&Statement::new(sql));
        assert_eq!(key("alter table pgbench_branches add primary key (bid)"), Some("primary key"));
        assert_eq!(key("ALTER TABLE t ADD CONSTRAINT \"t pk\" PRIMARY KEY (a)"), Some("primary key"));
        assert_eq!(key("alter table t add constraint u unique (a, b)"), Some("unique constraint"));
        assert_eq!(key("alter table t add column primary_key int"), None);
        assert_eq!(key("alter table t add foreign key (a) references u"), None);
        assert_eq!(key("select 'alter table t add primary key (a)'"), None);
    }
}
