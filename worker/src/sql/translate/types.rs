//! Type names and literals PostgreSQL reads differently from DuckDB: bytea's hex
//! format, numeric without a modifier, jsonb.

use std::ops::Range;

use super::{is_punct, is_word, splice, Piece, Rewrite};
use crate::sql::Token;

/// The type name a cast ends in: `::name` or `CAST(x AS name)`; `i` is the name's
/// token index. True for a name not followed by a typmod or `[]`.
fn is_bare_cast_target(tokens: &[(usize, Token<'_>)], i: usize) -> bool {
    let after_colons = i >= 2 && is_punct(tokens.get(i - 1), ':') && is_punct(tokens.get(i - 2), ':');
    let after_as = i >= 1 && is_word(tokens.get(i - 1), "as");
    (after_colons || after_as) && !is_punct(tokens.get(i + 1), '(') && !is_punct(tokens.get(i + 1), '[')
}

/// The hex digits of a PostgreSQL hex-format bytea literal (`'\x0a0B'`), if it is one.
fn bytea_hex(literal: &str) -> Option<&str> {
    let body = literal.strip_prefix("'\\x").or_else(|| literal.strip_prefix("'\\X"))?.strip_suffix('\'')?;
    (body.len() % 2 == 0 && body.bytes().all(|b| b.is_ascii_hexdigit())).then_some(body)
}

pub(super) fn bytea_hex_literals(s: &Piece<'_>) -> Option<Rewrite> {
    if !s.mentions("bytea") {
        return None;
    }
    let tokens = s.tokens();
    let mut edits: Vec<(Range<usize>, String)> = Vec::new();
    for i in 0..tokens.len() {
        let Token::Literal(lit) = tokens[i].1 else { continue };
        let Some(hex) = bytea_hex(lit) else { continue };
        // `'\x..'::bytea`, or `bytea '\x..'`.
        let cast = is_punct(tokens.get(i + 1), ':')
            && is_punct(tokens.get(i + 2), ':')
            && is_word(tokens.get(i + 3), "bytea");
        let prefixed = i >= 1 && is_word(tokens.get(i - 1), "bytea");
        if !(cast || prefixed) {
            continue;
        }
        let escaped: String = hex
            .as_bytes()
            .chunks(2)
            .map(|pair| format!("\\x{}", std::str::from_utf8(pair).unwrap_or("00")))
            .collect();
        edits.push((tokens[i].0..s.end_of(i), format!("'{escaped}'")));
    }
    let edits: Vec<(Range<usize>, &str)> = edits.iter().map(|(r, t)| (r.clone(), t.as_str())).collect();
    (!edits.is_empty()).then(|| Rewrite::Replace(splice(s.sql, &edits)))
}

pub(super) fn unconstrained_numeric(s: &Piece<'_>) -> Option<Rewrite> {
    if !s.mentions("numeric") && !s.mentions("decimal") {
        return None;
    }
    let tokens = s.tokens();
    let creates_table = is_create_table(s);
    let mut edits: Vec<(Range<usize>, String)> = Vec::new();
    for i in 0..tokens.len() {
        if !(is_word(tokens.get(i), "numeric") || is_word(tokens.get(i), "decimal")) {
            continue;
        }
        if i >= 1 && is_punct(tokens.get(i - 1), '.') {
            continue;
        }
        // `'12.50'::numeric` and `12.50::numeric` keep the literal's scale, as in
        // PostgreSQL.
        if i >= 3 && is_bare_cast_target(tokens, i) && is_punct(tokens.get(i - 1), ':') {
            let literal = match tokens[i - 3].1 {
                Token::Literal(lit) => Some(lit.trim_matches('\'').trim()),
                Token::Number(n) => Some(n),
                _ => None,
            };
            if let Some(text) = literal {
                let digits = text.trim_start_matches(['-', '+']);
                let (whole, fraction) = digits.split_once('.').unwrap_or((digits, ""));
                let plain = !digits.is_empty()
                    && whole.bytes().chain(fraction.bytes()).all(|b| b.is_ascii_digit())
                    && whole.len() + fraction.len() <= 38;
                if plain {
                    let cast = format!("CAST('{text}' AS DECIMAL(38,{}))", fraction.len());
                    edits.push((tokens[i - 3].0..s.end_of(i), cast));
                    continue;
                }
            }
        }
        let column_type = creates_table && is_column_type(tokens, i);
        if is_bare_cast_target(tokens, i) || column_type {
            edits.push((tokens[i].0..s.end_of(i), "DECIMAL(38,10)".to_owned()));
        }
    }
    let edits: Vec<(Range<usize>, &str)> = edits.iter().map(|(r, t)| (r.clone(), t.as_str())).collect();
    (!edits.is_empty()).then(|| Rewrite::Replace(splice(s.sql, &edits)))
}

pub(super) fn jsonb_type(s: &Piece<'_>) -> Option<Rewrite> {
    if !s.mentions("jsonb") {
        return None;
    }
    let tokens = s.tokens();
    let creates_table = is_create_table(s);
    let edits: Vec<(Range<usize>, &str)> = (0..tokens.len())
        .filter(|&i| {
            is_word(tokens.get(i), "jsonb")
                && (is_bare_cast_target(tokens, i) || (creates_table && is_column_type(tokens, i)))
        })
        .map(|i| (tokens[i].0..s.end_of(i), "JSON"))
        .collect();
    (!edits.is_empty()).then(|| Rewrite::Replace(splice(s.sql, &edits)))
}

fn is_create_table(s: &Piece<'_>) -> bool {
    s.starts_with("create")
        && s.tokens()
            .iter()
            .take(6)
            .any(|(_, t)| matches!(t, Token::Word(w) if w.eq_ignore_ascii_case("table")))
}

/// A column definition's type: `name <type>` inside CREATE TABLE's parentheses.
fn is_column_type(tokens: &[(usize, Token<'_>)], i: usize) -> bool {
    i >= 2
        && matches!(tokens[i - 1].1, Token::Word(_) | Token::QuotedIdent(_))
        && (is_punct(tokens.get(i - 2), '(') || is_punct(tokens.get(i - 2), ','))
        && !is_punct(tokens.get(i + 1), '(')
}

#[cfg(test)]
mod tests {
    use super::super::tests::one;

    #[test]
    fn bytea_hex_literals_become_escapes() {
        assert_eq!(one(r"select '\x0102'::bytea, bytea '\xFF'"), r"select '\x01\x02'::bytea, bytea '\xFF'");
        // Not hex format, or not bytea: untouched.
        assert_eq!(one(r"select '\x0102', 'abc'::bytea"), r"select '\x0102', 'abc'::bytea");
    }

    #[test]
    fn unconstrained_numeric_keeps_digits() {
        assert_eq!(
            one("select '12.50'::numeric, -2::numeric, 1.5::numeric"),
            "select CAST('12.50' AS DECIMAL(38,2)), -CAST('2' AS DECIMAL(38,0)), CAST('1.5' AS DECIMAL(38,1))"
        );
        assert_eq!(
            one("select cast($1 as numeric), $2::numeric(10,2)"),
            "select cast($1 as DECIMAL(38,10)), $2::numeric(10,2)"
        );
        assert_eq!(
            one("create table t (a numeric, b numeric(5,1), c decimal)"),
            "create table t (a DECIMAL(38,10), b numeric(5,1), c DECIMAL(38,10))"
        );
        assert_eq!(one("select numeric_col from t"), "select numeric_col from t");
        assert_eq!(one("select 'NaN'::numeric"), "select 'NaN'::DECIMAL(38,10)");
    }

    #[test]
    fn jsonb_is_json() {
        assert_eq!(
            one("select $1::jsonb, cast(x as jsonb) from t"),
            "select $1::JSON, cast(x as JSON) from t"
        );
        assert_eq!(one("create table d (id int, doc jsonb)"), "create table d (id int, doc JSON)");
        assert_eq!(one("select jsonb_typeof(x) from t"), "select jsonb_typeof(x) from t");
    }
}
