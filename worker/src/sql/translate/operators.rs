//! PostgreSQL operators DuckDB reads differently.

use std::ops::Range;

use super::{is_punct, replaced, Piece, Rewrite};
use crate::sql::Token;

/// `a ~ 'p'` and `a !~ 'p'` find `p` anywhere in `a` in PostgreSQL; DuckDB's `~` must
/// match the whole string. A literal pattern becomes one that matches the whole string
/// exactly when `p` matches somewhere in it: `(?s).*(?:p).*` (anchors inside keep their
/// meaning: `^` still only matches at the start).
pub(super) fn regex_match(s: &Piece<'_>) -> Option<Rewrite> {
    if !s.mentions("~") {
        return None;
    }
    let tokens = s.tokens();
    let mut edits: Vec<(Range<usize>, String)> = Vec::new();
    for i in 1..tokens.len() {
        let Some((at, Token::Literal(text))) = tokens.get(i) else { continue };
        if !is_punct(tokens.get(i - 1), '~') || (i >= 2 && is_punct(tokens.get(i - 2), '~')) {
            continue; // not `~`, or `~~` (LIKE)
        }
        let Some(pattern) = text.strip_prefix('\'').and_then(|t| t.strip_suffix('\'')) else {
            continue; // E'..' and other literal forms stay as written
        };
        edits.push((*at..at + text.len(), format!("'(?s).*(?:{pattern}).*'")));
    }
    replaced(s.sql, &edits)
}

#[cfg(test)]
mod tests {
    use super::super::tests::{one, run};

    #[test]
    fn regex_patterns_match_anywhere() {
        assert_eq!(
            one("select n.nspname !~ '^pg_', relname ~ 'ord' from t"),
            "select n.nspname !~ '(?s).*(?:^pg_).*', relname ~ '(?s).*(?:ord).*' from t"
        );
        let like = "select a !~~ 'x%', a ~ b from t";
        assert_eq!(run(like), vec![like]);
    }
}
