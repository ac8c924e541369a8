//! PostgreSQL operators DuckDB reads differently.

use std::ops::Range;

use super::{is_punct, is_word, matching_paren, replaced, splice, Piece, Rewrite};
use crate::sql::Token;

/// `name LIKE 'search\_%'`: a backslash escapes the next character of a LIKE pattern in
/// PostgreSQL; DuckDB's LIKE has no escape character unless told. A pattern that holds a
/// backslash (a literal, or a call of literals, as psql's completion writes
/// `lower('search\_%')`) gets `ESCAPE '\'`; other patterns stay as they are, so that
/// DuckDB's prefix and suffix fast paths still apply.
pub(super) fn like_escapes(s: &Piece<'_>) -> Option<Rewrite> {
    if !s.sql.contains('\\') || !s.mentions("like") {
        return None;
    }
    let t = s.tokens();
    let mut edits: Vec<(Range<usize>, &str)> = Vec::new();
    for i in 0..t.len() {
        if !(is_word(t.get(i), "like") || is_word(t.get(i), "ilike")) {
            continue;
        }
        let end = match t.get(i + 1) {
            Some((_, Token::Literal(_))) => i + 1,
            Some((_, Token::Word(_))) if is_punct(t.get(i + 2), '(') => match matching_paren(t, i + 2) {
                Some(close) => close,
                None => continue,
            },
            _ => continue,
        };
        let pattern = &s.sql[t[i + 1].0..s.end_of(end)];
        if pattern.contains('\\') && !is_word(t.get(end + 1), "escape") {
            let at = s.end_of(end);
            edits.push((at..at, " ESCAPE '\\'"));
        }
    }
    replaced(s.sql, &edits)
}

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
    super::replaced(s.sql, &edits)
}

/// `a / b` and `a % b` fail with `division by zero` in PostgreSQL when `b` is zero, for
/// integers, numerics and floats alike; DuckDB answers NULL (or infinity). The divisor
/// goes through the catalog's `mallard_divisor`, which raises PostgreSQL's error for zero
/// and passes every other value through unchanged.
///
/// The divisor is the operand right of the operator, as PostgreSQL binds it: an optional
/// sign, then a literal, parameter, (qualified) name, function call, parenthesized
/// expression or `CASE ... END`, then any `::type` casts, `[...]` subscripts and `^`
/// powers. A divisor of another shape is left alone.
pub(super) fn checked_division(s: &Piece<'_>) -> Option<Rewrite> {
    if !s.mentions("/") && !s.mentions("%") {
        return None;
    }
    let tokens = s.tokens();
    let closes = closers(tokens);
    let mut inserts: Vec<(usize, bool)> = Vec::new();
    for (i, (_, token)) in tokens.iter().enumerate() {
        let Token::Punct(op @ ('/' | '%')) = token else { continue };
        // DuckDB's `//` (integer division) is not PostgreSQL's; leave it as written.
        if *op == '/' && (is_punct(tokens.get(i + 1), '/') || i > 0 && is_punct(tokens.get(i - 1), '/')) {
            continue;
        }
        let Some(end) = operand_end(tokens, &closes, i + 1) else { continue };
        inserts.push((tokens[i + 1].0, true));
        inserts.push((s.end_of(end), false));
    }
    if inserts.is_empty() {
        return None;
    }
    // Closing parentheses go before opening ones at the same place: `a / b % c` closes
    // `b` where nothing else opens, but `(x / y) / z` must not open inside a closing.
    inserts.sort_by_key(|&(at, opens)| (at, opens));
    let edits: Vec<(Range<usize>, &str)> =
        inserts.iter().map(|&(at, opens)| (at..at, if opens { "mallard_divisor(" } else { ")" })).collect();
    Some(Rewrite::Replace(splice(s.sql, &edits)))
}

/// Where each `(`, `[` and `CASE` closes, found in one pass (a statement with thousands
/// of divisions costs no more than one with one). An opener that does not close in
/// order closes nowhere.
fn closers(tokens: &[(usize, Token<'_>)]) -> Vec<Option<usize>> {
    let mut out = vec![None; tokens.len()];
    let mut open: Vec<(usize, char)> = Vec::new();
    for (i, (_, t)) in tokens.iter().enumerate() {
        let closing = match t {
            Token::Punct(c @ ('(' | '[')) => {
                open.push((i, *c));
                continue;
            }
            Token::Word(w) if w.eq_ignore_ascii_case("case") => {
                open.push((i, 'c'));
                continue;
            }
            Token::Punct(')') => '(',
            Token::Punct(']') => '[',
            Token::Word(w) if w.eq_ignore_ascii_case("end") => 'c',
            _ => continue,
        };
        if open.last().is_some_and(|&(_, kind)| kind == closing) {
            let (at, _) = open.pop().expect("checked");
            out[at] = Some(i);
        }
    }
    out
}

/// The index of the last token of the operand that starts at `start`, if it has a shape
/// [`checked_division`] knows. Powers (`b ^ 2 ^ 3`) are followed in a loop, not by
/// recursion, so no statement can run the stack out.
fn operand_end(tokens: &[(usize, Token<'_>)], closes: &[Option<usize>], start: usize) -> Option<usize> {
    let mut i = start;
    loop {
        while is_punct(tokens.get(i), '-') || is_punct(tokens.get(i), '+') {
            i += 1;
        }
        let mut end = primary_end(tokens, closes, i)?;
        loop {
            if is_punct(tokens.get(end + 1), ':') && is_punct(tokens.get(end + 2), ':') {
                end = type_end(tokens, closes, end + 3)?;
            } else if is_punct(tokens.get(end + 1), '[') {
                end = closes[end + 1]?;
            } else {
                break;
            }
        }
        if !is_punct(tokens.get(end + 1), '^') {
            return Some(end);
        }
        i = end + 2;
    }
}

/// The last token of the literal, parameter, name, call, parenthesized expression or
/// `CASE ... END` at `i`.
fn primary_end(tokens: &[(usize, Token<'_>)], closes: &[Option<usize>], i: usize) -> Option<usize> {
    match tokens.get(i)?.1 {
        Token::Number(_) | Token::Literal(_) | Token::Param(_) => Some(i),
        Token::Punct('(') => closes[i],
        Token::Word(w) if w.eq_ignore_ascii_case("case") => closes[i],
        // A keyword that starts no operand (`a / from`) means this is not a division.
        Token::Word(w)
            if ["select", "from", "where", "and", "or", "not", "as"]
                .iter()
                .any(|k| w.eq_ignore_ascii_case(k)) =>
        {
            None
        }
        Token::Word(_) | Token::QuotedIdent(_) => {
            let mut j = i;
            // a.b.c
            while is_punct(tokens.get(j + 1), '.')
                && matches!(tokens.get(j + 2), Some((_, Token::Word(_) | Token::QuotedIdent(_))))
            {
                j += 2;
            }
            match tokens.get(j + 1) {
                Some((_, Token::Punct('('))) => closes[j + 1],
                // A typed literal: `interval '2 days'`.
                Some((_, Token::Literal(_))) => Some(j + 1),
                _ => Some(j),
            }
        }
        _ => None,
    }
}

/// The last token of a type name starting at `start`: words (`double precision`,
/// `timestamp with time zone`), a `(p, s)` modifier, `[]` pairs.
fn type_end(tokens: &[(usize, Token<'_>)], closes: &[Option<usize>], start: usize) -> Option<usize> {
    let Some((_, Token::Word(_) | Token::QuotedIdent(_))) = tokens.get(start) else { return None };
    let mut end = start;
    while ["precision", "varying", "with", "without", "time", "zone"]
        .iter()
        .any(|w| is_word(tokens.get(end + 1), w))
    {
        end += 1;
    }
    if is_punct(tokens.get(end + 1), '(') {
        end = closes[end + 1]?;
    }
    while is_punct(tokens.get(end + 1), '[') && is_punct(tokens.get(end + 2), ']') {
        end += 2;
    }
    Some(end)
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

    #[test]
    fn divisors_are_checked_for_zero() {
        let cases = [
            ("select 1/0", "select 1/mallard_divisor(0)"),
            ("select a % b from t", "select a % mallard_divisor(b) from t"),
            ("select t.a / t.b", "select t.a / mallard_divisor(t.b)"),
            ("select a / -b::numeric(10, 2)", "select a / mallard_divisor(-b::numeric(10, 2))"),
            ("select sum(x) / count(*) from t", "select sum(x) / mallard_divisor(count(*)) from t"),
            ("select a / (b / c)", "select a / mallard_divisor((b / mallard_divisor(c)))"),
            ("select a / b / c", "select a / mallard_divisor(b) / mallard_divisor(c)"),
            ("select x / nullif(y, 0)", "select x / mallard_divisor(nullif(y, 0))"),
            (
                "select a / case when b then 1 else 2 end",
                "select a / mallard_divisor(case when b then 1 else 2 end)",
            ),
            ("select a / $1 ^ 2", "select a / mallard_divisor($1 ^ 2)"),
            ("select a / b::double precision[]", "select a / mallard_divisor(b::double precision[])"),
            ("select ts / interval '1 day'", "select ts / mallard_divisor(interval '1 day')"),
        ];
        for (sql, want) in cases {
            assert_eq!(one(sql), want, "{sql}");
        }
        // Thousands of powers or nested divisions: one pass, no deep recursion.
        let powers = format!("select 1 / 2{}", " ^ 2".repeat(200_000));
        assert!(one(&powers).starts_with("select 1 / mallard_divisor(2 ^ 2"));
        let nested = format!("select {}1{}", "1 / (".repeat(20_000), ")".repeat(20_000));
        assert_eq!(one(&nested).matches("mallard_divisor(").count(), 20_000);
        // Strings, comments and DuckDB's own `//` stay as written.
        for sql in ["select 'a/b', \"x/y\" from t", "select 7 // 2", "select 1 -- a/b"] {
            assert_eq!(run(sql), vec![sql]);
        }
    }
}

#[cfg(test)]
mod like_tests {
    use super::super::tests::one;

    #[test]
    fn like_patterns_with_backslashes_escape_as_in_postgres() {
        assert_eq!(
            one("select lower(name) from pg_settings where lower(name) like lower('search\\_%') limit 10"),
            "select lower(name) from pg_settings where lower(name) like lower('search\\_%') ESCAPE '\\' limit 10"
        );
        assert_eq!(
            one("select 1 where 'a_b' ILIKE 'a\\_b'"),
            "select 1 where 'a_b' ILIKE 'a\\_b' ESCAPE '\\'"
        );
        for kept in [
            "select 1 where a like 'x%'",
            "select 1 where a like 'x\\_' escape '!'",
            "select 1 where a like b",
        ] {
            assert_eq!(one(kept), kept);
        }
    }
}
