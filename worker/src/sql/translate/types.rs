//! Type names and literals PostgreSQL reads differently from DuckDB: bytea's hex
//! format, numeric without a modifier, jsonb, dates in `DateStyle`'s forms.

use std::ops::Range;
use std::sync::atomic::{AtomicBool, Ordering};

use super::{is_punct, is_word, matching_paren, replaced, splice, Piece, Rewrite};
use crate::sql::utility::literal_value;
use crate::sql::{mentions, Statement, Token};
use crate::types::{iso_spelling, DateTimeType, TextStyle, ValueError};

/// The typed date, time stamp and interval literals of `statement` that PostgreSQL reads
/// in forms DuckDB does not (`date '12/03/2026'`, `'Dec 3 2026 14:30 CET'::timestamptz`,
/// `CAST('03.12.2026' AS date)`, `interval '-1 days +01:00:00'`), respelled for DuckDB
/// (dates and time stamps in ISO); `order` is the session's
/// `DateStyle` field order, which decides what `01/02/03` is. A literal with a field
/// out of range is PostgreSQL's error. `style` is the session's: its `DateStyle` order
/// and `IntervalStyle`. Not one of the [`RULES`] because its answer depends on the
/// session.
///
/// [`RULES`]: super::RULES
pub fn datetime_literals(statement: &Statement<'_>, style: &TextStyle) -> Result<Option<String>, ValueError> {
    let sql = statement.sql();
    if !sql.contains('\'') || !["date", "timestamp", "interval"].iter().any(|t| mentions(sql, t)) {
        return Ok(None);
    }
    let tokens = statement.tokens();
    let piece = Piece::new(sql, Some(tokens));
    let mut edits: Vec<(Range<usize>, String)> = Vec::new();
    for i in 0..tokens.len() {
        let Token::Literal(lit) = tokens[i].1 else { continue };
        let Some(text) = lit.strip_prefix('\'').and_then(|l| l.strip_suffix('\'')) else { continue };
        if text.contains('\'') {
            continue;
        }
        let after_cast = if is_punct(tokens.get(i + 1), ':') && is_punct(tokens.get(i + 2), ':') {
            date_time_type_at(tokens, i + 3)
        } else if is_word(tokens.get(i + 1), "as") && i >= 2 && is_word(tokens.get(i - 2), "cast") {
            date_time_type_at(tokens, i + 2)
        } else {
            None
        };
        let Some(kind) = after_cast.or_else(|| date_time_type_before(tokens, i)) else { continue };
        // `interval '1' day`: the field after the literal says what its number means.
        let qualified = ["year", "month", "day", "hour", "minute", "second"]
            .iter()
            .any(|unit| is_word(tokens.get(i + 1), unit));
        if kind == DateTimeType::Interval && qualified {
            continue;
        }
        if let Some(iso) = iso_spelling(text, style, kind)? {
            edits.push((tokens[i].0..piece.end_of(i), format!("'{iso}'")));
        }
    }
    Ok((!edits.is_empty()).then(|| splice(sql, &edits)))
}

/// The type named at token `i`: `date`, `interval`, `timestamptz`, `timestamp`,
/// `timestamp with[out] time zone`.
fn date_time_type_at(tokens: &[(usize, Token<'_>)], i: usize) -> Option<DateTimeType> {
    if is_word(tokens.get(i), "date") {
        Some(DateTimeType::Date)
    } else if is_word(tokens.get(i), "interval") && !is_punct(tokens.get(i + 1), '(') {
        Some(DateTimeType::Interval)
    } else if is_word(tokens.get(i), "timestamptz") {
        Some(DateTimeType::TimestampTz)
    } else if is_word(tokens.get(i), "timestamp") {
        let zoned = is_word(tokens.get(i + 1), "with") && is_word(tokens.get(i + 2), "time");
        Some(if zoned { DateTimeType::TimestampTz } else { DateTimeType::Timestamp })
    } else {
        None
    }
}

/// The type of a literal written after its type name: `date '...'`, `timestamp with
/// time zone '...'`.
fn date_time_type_before(tokens: &[(usize, Token<'_>)], i: usize) -> Option<DateTimeType> {
    let word = |back: usize, w: &str| i >= back && is_word(tokens.get(i - back), w);
    if word(1, "date") {
        Some(DateTimeType::Date)
    } else if word(1, "interval") {
        Some(DateTimeType::Interval)
    } else if word(1, "timestamptz") || (word(4, "timestamp") && word(3, "with") && word(1, "zone")) {
        Some(DateTimeType::TimestampTz)
    } else if word(1, "timestamp") || (word(4, "timestamp") && word(3, "without") && word(1, "zone")) {
        Some(DateTimeType::Timestamp)
    } else {
        None
    }
}

/// The type name a cast ends in: `::name` or `CAST(x AS name)`; `i` is the name's
/// token index. True for a name not followed by a typmod or `[]`.
fn is_bare_cast_target(tokens: &[(usize, Token<'_>)], i: usize) -> bool {
    is_cast_target(tokens, i) && !is_punct(tokens.get(i + 1), '(') && !is_punct(tokens.get(i + 1), '[')
}

/// Whether token `i` is inside the parentheses of `CAST(...)` or `TRY_CAST(...)`, and
/// not nested deeper.
fn in_cast_call(tokens: &[(usize, Token<'_>)], i: usize) -> bool {
    let mut depth = 0usize;
    for j in (0..i).rev() {
        match tokens[j].1 {
            Token::Punct(')') => depth += 1,
            Token::Punct('(') if depth > 0 => depth -= 1,
            Token::Punct('(') => {
                return j >= 1
                    && (is_word(tokens.get(j - 1), "cast") || is_word(tokens.get(j - 1), "try_cast"))
            }
            _ => {}
        }
    }
    false
}

/// Whether the word at `i` is a cast's type: after `::`, or after `AS` in `CAST(`
/// (elsewhere `AS` names a column: `select t.oid as oid`, `select 1 as numeric`).
fn is_cast_target(tokens: &[(usize, Token<'_>)], i: usize) -> bool {
    let after_colons = i >= 2 && is_punct(tokens.get(i - 1), ':') && is_punct(tokens.get(i - 2), ':');
    after_colons || i >= 1 && is_word(tokens.get(i - 1), "as") && in_cast_call(tokens, i)
}

/// The end (exclusive) of the array type that starts at token `at` (`int4[]`,
/// `pg_catalog.text[]`, `numeric(10,2)[][]`, `character varying[]`), and its number of
/// `[]` pairs; `None` if no array type starts there.
fn array_type_end(tokens: &[(usize, Token<'_>)], at: usize) -> Option<(usize, usize)> {
    let mut i = at;
    while matches!(tokens.get(i), Some((_, Token::Word(_) | Token::QuotedIdent(_) | Token::Punct('.')))) {
        i += 1;
    }
    if i == at {
        return None;
    }
    if is_punct(tokens.get(i), '(') {
        i = matching_paren(tokens, i)? + 1;
    }
    let mut pairs = 0;
    while is_punct(tokens.get(i), '[') && is_punct(tokens.get(i + 1), ']') {
        i += 2;
        pairs += 1;
    }
    (pairs > 0).then_some((i, pairs))
}

pub(super) fn array_literals(s: &Piece<'_>) -> Option<Rewrite> {
    if !s.sql.contains('{') {
        return None;
    }
    let tokens = s.tokens();
    let mut edits: Vec<(Range<usize>, String)> = Vec::new();
    for i in 0..tokens.len() {
        let Token::Literal(lit) = tokens[i].1 else { continue };
        // `'{..}'::type[]`, or `CAST('{..}' AS type[])`.
        let cast_at = if is_punct(tokens.get(i + 1), ':') && is_punct(tokens.get(i + 2), ':') {
            i + 3
        } else if i >= 2
            && is_punct(tokens.get(i - 1), '(')
            && is_word(tokens.get(i - 2), "cast")
            && is_word(tokens.get(i + 1), "as")
        {
            i + 2
        } else {
            continue;
        };
        let Some((type_end, pairs)) = array_type_end(tokens, cast_at) else { continue };
        let Some((list, dims)) = crate::types::array_literal_as_list(&literal_value(lit)) else {
            continue;
        };
        edits.push((tokens[i].0..s.end_of(i), list));
        // `'{{1,2},{3,4}}'::int[]`: PostgreSQL's int[] has any number of dimensions,
        // DuckDB's INTEGER[] one.
        if dims > pairs {
            let at = tokens[type_end - 1].0 + 1;
            edits.push((at..at, "[]".repeat(dims - pairs)));
        }
    }
    replaced(s.sql, &edits)
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
    replaced(s.sql, &edits)
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
        // `$1::numeric[]` (asyncpg): each element, as a bare numeric.
        let array_cast =
            is_cast_target(tokens, i) && is_punct(tokens.get(i + 1), '[') && is_punct(tokens.get(i + 2), ']');
        if is_bare_cast_target(tokens, i) || column_type || array_cast {
            edits.push((tokens[i].0..s.end_of(i), "DECIMAL(38,10)".to_owned()));
        }
    }
    replaced(s.sql, &edits)
}

/// Which casts to a renamed type are written in DuckDB's spelling.
#[derive(Clone, Copy)]
enum InCasts {
    /// None: the catalog defines the name as a type alias, which a table column must
    /// not refer to (the table may live in another database than the catalog).
    Kept,
    /// `x::jsonb`, not `x::jsonb[]`.
    Bare,
    /// `x::oid` and `$1::oid[]` (asyncpg).
    AndArrays,
}

/// PostgreSQL type names DuckDB spells otherwise, DuckDB's spelling, and which casts
/// take it. `oid` is unsigned 32 bits, as UINTEGER is (DuckDB's own `oid` is BIGINT):
/// the catalog's OID columns are UINTEGER, and a UINTEGER is reported as oid.
const RENAMED_TYPES: &[(&str, &str, InCasts)] = &[
    ("jsonb", "JSON", InCasts::Bare),
    ("name", "VARCHAR", InCasts::Kept),
    ("oid", "UINTEGER", InCasts::AndArrays),
];

pub(super) fn type_names(s: &Piece<'_>) -> Option<Rewrite> {
    if !RENAMED_TYPES.iter().any(|(pg, _, _)| s.mentions(pg)) {
        return None;
    }
    let tokens = s.tokens();
    let creates_table = is_create_table(s);
    let alters_table = s.starts_with("alter") && is_word(tokens.get(1), "table");
    let edits: Vec<(Range<usize>, &str)> = (0..tokens.len())
        .filter_map(|i| {
            let (_, duck, in_casts) = RENAMED_TYPES.iter().find(|(pg, _, _)| is_word(tokens.get(i), pg))?;
            let cast = match in_casts {
                InCasts::Kept => false,
                InCasts::Bare => is_bare_cast_target(tokens, i),
                InCasts::AndArrays => is_cast_target(tokens, i) && !is_punct(tokens.get(i + 1), '('),
            };
            let typed = cast
                || (creates_table && is_column_type(tokens, i))
                || (alters_table && is_altered_type(tokens, i));
            typed.then(|| (tokens[i].0..s.end_of(i), *duck))
        })
        .collect();
    replaced(s.sql, &edits)
}

fn is_create_table(s: &Piece<'_>) -> bool {
    s.starts_with("create")
        && s.tokens()
            .iter()
            .take(6)
            .any(|(_, t)| matches!(t, Token::Word(w) if w.eq_ignore_ascii_case("table")))
}

/// A column's type in ALTER TABLE: `ADD [COLUMN] name <type>`, `ALTER [COLUMN] name
/// [SET DATA] TYPE <type>`.
fn is_altered_type(tokens: &[(usize, Token<'_>)], i: usize) -> bool {
    let added = i >= 2
        && matches!(tokens[i - 1].1, Token::Word(_) | Token::QuotedIdent(_))
        && !is_word(tokens.get(i - 1), "column")
        && (is_word(tokens.get(i - 2), "add") || is_word(tokens.get(i - 2), "column"));
    added || (i >= 1 && is_word(tokens.get(i - 1), "type"))
}

/// A column definition's type: `name <type>` inside CREATE TABLE's parentheses.
fn is_column_type(tokens: &[(usize, Token<'_>)], i: usize) -> bool {
    i >= 2
        && matches!(tokens[i - 1].1, Token::Word(_) | Token::QuotedIdent(_))
        && (is_punct(tokens.get(i - 2), '(') || is_punct(tokens.get(i - 2), ','))
        && !is_punct(tokens.get(i + 1), '(')
}

/// A column's declared length, as the check that keeps it: PostgreSQL's `varchar(n)`
/// refuses a longer value, `char(n)` one longer once trailing spaces are dropped.
/// DuckDB keeps no length, so mallard writes these exact checks, which the catalog
/// reads back as `character varying(n)` / `character(n)` (and hides as constraints),
/// and a violation is reported as PostgreSQL's 22001. The catalog's patterns are in
/// `catalog/pg_catalog.sql` (`declared_type_oid`).
pub fn length_check(column: &str, length: u32, padded: bool) -> String {
    if padded {
        format!("CHECK (char_length(rtrim({column})) <= {length})")
    } else {
        format!("CHECK (char_length({column}) <= {length})")
    }
}

/// The check that marks a `jsonb` column: DuckDB has one JSON type, so the column is
/// JSON with a check that always holds and costs nothing per row (`json_valid` would
/// parse every value a second time: 70% more time for an INSERT of small documents).
/// The catalog reads it back as `jsonb` (OID 3802), and `RowDescription` reports the
/// column so.
fn jsonb_check(column: &str) -> String {
    format!("CHECK ({column} IS NULL OR {column} IS NOT NULL)")
}

/// Off in `ducklake` mode: DuckLake tables take no CHECK constraint, so declared
/// lengths go unenforced there and `jsonb` columns are `json` (the README says so).
static CHECKS: AtomicBool = AtomicBool::new(true);

/// Whether `CREATE TABLE` keeps declared lengths and `jsonb` with checks: set once
/// when the worker opens its storage.
pub fn keep_declared_types(keep: bool) {
    CHECKS.store(keep, Ordering::Relaxed);
}

/// A type whose declaration DuckDB forgets.
enum Declared {
    /// `varchar(n)`, `char(n)`: the type's last word and whether it pads.
    Length {
        last: usize,
        padded: bool,
    },
    Jsonb,
}

/// `name varchar(20)`, `code char(2)` and `doc jsonb` column definitions in CREATE
/// TABLE: DuckDB takes the length and forgets it, and has no jsonb. Each gets the check
/// that keeps what it declares. DuckDB adds no column with a constraint, so ALTER TABLE
/// ... ADD keeps only the type: the catalog then reports `character varying` without a
/// length, and `json`, which is what is enforced.
pub(super) fn declared_types(s: &Piece<'_>) -> Option<Rewrite> {
    let declares = s.mentions("char") || s.mentions("varying") || s.mentions("jsonb");
    if !is_create_table(s) || !declares {
        return None;
    }
    let tokens = s.tokens();
    let mut edits: Vec<(Range<usize>, String)> = Vec::new();
    for i in 2..tokens.len() {
        let Token::Word(w) = tokens[i].1 else { continue };
        let declared = match w.to_ascii_lowercase().as_str() {
            "varchar" => Declared::Length { last: i, padded: false },
            "character" | "char" if is_word(tokens.get(i + 1), "varying") => {
                Declared::Length { last: i + 1, padded: false }
            }
            "character" | "char" | "bpchar" => Declared::Length { last: i, padded: true },
            "jsonb" => Declared::Jsonb,
            _ => continue,
        };
        // The column's name before it, and the column list before that.
        let name_at = i - 1;
        let named = matches!(tokens[name_at].1, Token::Word(_) | Token::QuotedIdent(_));
        let starts_column = is_punct(tokens.get(name_at - 1), '(') || is_punct(tokens.get(name_at - 1), ',');
        if !named || !starts_column {
            continue;
        }
        let column = s.text(name_at);
        let checks = CHECKS.load(Ordering::Relaxed);
        let (end, definition) = match declared {
            Declared::Jsonb if !checks => (i, "JSON".to_owned()),
            Declared::Jsonb => (i, format!("JSON {}", jsonb_check(column))),
            Declared::Length { last, padded } => {
                let (length, end) = match (tokens.get(last + 1), tokens.get(last + 2), tokens.get(last + 3)) {
                    (
                        Some((_, Token::Punct('('))),
                        Some((_, Token::Number(n))),
                        Some((_, Token::Punct(')'))),
                    ) => {
                        let Ok(n) = n.parse::<u32>() else { continue };
                        (n, last + 3)
                    }
                    // `char` alone is char(1); `varchar` alone has no limit.
                    _ if padded => (1, last),
                    _ => continue,
                };
                if !checks {
                    (end, "VARCHAR".to_owned())
                } else {
                    (end, format!("VARCHAR {}", length_check(column, length, padded)))
                }
            }
        };
        if is_punct(tokens.get(end + 1), '[') {
            continue; // an array of them: no check
        }
        edits.push((tokens[i].0..s.end_of(end), definition));
    }
    replaced(s.sql, &edits)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::types::DateOrder;

    #[test]
    fn date_literals_follow_the_field_order() {
        let iso = |sql: &str, order| {
            let mut style = TextStyle::default();
            style.order = order;
            datetime_literals(&Statement::new(sql), &style).map_err(|e| e.code.code().to_owned())
        };
        assert_eq!(
            iso("select date '01/02/03'", DateOrder::Mdy),
            Ok(Some("select date '2003-01-02'".into()))
        );
        assert_eq!(
            iso("select date '01/02/03'", DateOrder::Dmy),
            Ok(Some("select date '2003-02-01'".into()))
        );
        assert_eq!(
            iso("select date '01/02/03'", DateOrder::Ymd),
            Ok(Some("select date '2001-02-03'".into()))
        );
        assert_eq!(
            iso("select cast('Dec 3 2026 2:30 PM CET' as timestamptz), x::date", DateOrder::Mdy),
            Ok(Some("select cast('2026-12-03 14:30:00.000000+01:00:00' as timestamptz), x::date".into()))
        );
        assert_eq!(
            iso("select '03.12.2026 14:30'::timestamp with time zone", DateOrder::Dmy),
            Ok(Some("select '2026-12-03 14:30:00.000000'::timestamp with time zone".into()))
        );
        assert_eq!(
            iso("select interval '-1 days +01:00:00', interval '1' day", DateOrder::Mdy),
            Ok(Some("select interval '0 months -1 days 3600000000 microseconds', interval '1' day".into()))
        );
        assert_eq!(
            iso("select '2024-07-01 00:00+02'::timestamptz", DateOrder::Mdy),
            Ok(Some("select '2024-07-01 00:00:00.000000+02:00:00'::timestamptz".into()))
        );
        // ISO, words only DuckDB knows, untyped and other literals stay as written.
        assert_eq!(iso("select date '2026-12-03', date 'today', '01/02/03', x", DateOrder::Mdy), Ok(None));
        assert_eq!(iso("select 'it''s 01/02/03'::date", DateOrder::Mdy), Ok(None));
        // A field out of range is PostgreSQL's error before DuckDB sees anything.
        assert_eq!(iso("select '13/02/2003'::date", DateOrder::Mdy), Err("22008".to_owned()));
        assert_eq!(iso("select '2026-02-30'::date", DateOrder::Mdy), Err("22008".to_owned()));
    }

    #[test]
    fn declared_types_become_checks() {
        use super::super::tests::{one, run};
        assert_eq!(
            one("create table t (id int, \"Note\" varchar(20) not null, code char(2) primary key, c character varying (5))"),
            "create table t (id int, \"Note\" VARCHAR CHECK (char_length(\"Note\") <= 20) not null, \
             code VARCHAR CHECK (char_length(rtrim(code)) <= 2) primary key, c VARCHAR CHECK (char_length(c) <= 5))"
        );
        assert_eq!(
            one("create table d (id int, doc jsonb not null, tags jsonb[], \"Meta\" jsonb default '{}')"),
            "create table d (id int, doc JSON CHECK (doc IS NULL OR doc IS NOT NULL) not null, tags JSON[], \
             \"Meta\" JSON CHECK (\"Meta\" IS NULL OR \"Meta\" IS NOT NULL) default '{}')"
        );
        // DuckDB adds no column with a constraint: the type alone.
        assert_eq!(one("alter table t add column flag char(3)"), "alter table t add column flag char(3)");
        assert_eq!(one("alter table t add column doc jsonb"), "alter table t add column doc JSON");
        for plain in [
            "create table t (a varchar, b varchar(3)[])",
            "create table t as select cast(x as varchar(3)) from u",
            "select a::varchar(3) from t",
        ] {
            assert_eq!(run(plain), vec![plain]);
        }
    }

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
        assert_eq!(
            one("select $1::numeric[], x::numeric(5,1)[]"),
            "select $1::DECIMAL(38,10)[], x::numeric(5,1)[]"
        );
    }

    #[test]
    fn array_literals_are_lists() {
        assert_eq!(one("select '{1,2}'::int[]"), "select ['1', '2']::int[]");
        assert_eq!(
            one("select cast('{a,\"b c\",NULL}' as text[]), '{{1,2},{3,4}}'::pg_catalog.int4[]"),
            "select cast(['a', 'b c', NULL] as text[]), [['1', '2'], ['3', '4']]::int4[][]"
        );
        assert_eq!(one("select '{\"it''s\"}'::varchar(5)[]"), "select ['it''s']::varchar(5)[]");
        // Not an array cast, or not an array: unchanged.
        for sql in
            ["select '{1,2}'::text", "select '{\"a\": 1}'::json", "select '{1,2'::int[]", "select '{}'"]
        {
            assert_eq!(one(sql), sql);
        }
    }

    #[test]
    fn jsonb_is_json() {
        assert_eq!(
            one("select $1::jsonb, cast(x as jsonb) from t"),
            "select $1::JSON, cast(x as JSON) from t"
        );
        assert_eq!(
            one("alter table d add column doc jsonb, alter column x type jsonb"),
            "alter table d add column doc JSON, alter column x type JSON"
        );
        assert_eq!(one("alter table d add doc2 name"), "alter table d add doc2 VARCHAR");
        assert_eq!(one("alter table d add column name text"), "alter table d add column name text");
        assert_eq!(one("select jsonb_typeof(x) from t"), "select jsonb_typeof(x) from t");
        assert_eq!(
            one("create table n (name name, id int, owner name)"),
            "create table n (name VARCHAR, id int, owner VARCHAR)"
        );
        assert_eq!(one("select 'x'::name, name from t"), "select 'x'::name, name from t");
    }

    #[test]
    fn oid_is_unsigned_32_bits() {
        assert_eq!(
            one("select t.oid AS oid, $1::oid[], cast(x as oid), '1'::oid from t where t.oid = any($2::oid[])"),
            "select t.oid AS oid, $1::UINTEGER[], cast(x as UINTEGER), '1'::UINTEGER from t where t.oid = any($2::UINTEGER[])"
        );
        assert_eq!(
            one("select (select a as oid from t), oid(x) from t"),
            "select (select a as oid from t), oid(x) from t"
        );
        assert_eq!(one("create table r (id int, ref oid)"), "create table r (id int, ref UINTEGER)");
        // `AS` outside CAST() names a column, whatever the name.
        let aliases = "select 1 as numeric, x as jsonb, y AS oid from t";
        assert_eq!(one(aliases), aliases);
    }
}
