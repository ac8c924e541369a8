//! `CREATE FUNCTION ... LANGUAGE sql`, as schemas written for PostgreSQL define small
//! helpers: DuckDB's counterpart is a macro. A function returning one value becomes a
//! scalar macro whose body casts to the declared result type (which is how the catalog
//! reads the type back, see [`result_type`]); one returning `SETOF` or `TABLE` becomes a
//! table macro.
//!
//! Only what a macro can mean is translated: parameters in mode IN (named or not, with
//! defaults), a body of one query, in a string, a dollar-quoted string or a `RETURN`
//! clause. Anything else (PL/pgSQL, OUT parameters, several statements, `BEGIN ATOMIC`)
//! is left as written, and [`refusal`] says why it cannot run (0A000).

use std::ops::Range;

use super::{is_punct, is_word, matching_paren, Piece, Rewrite};
use crate::sql::lexer::Tokens;
use crate::sql::utility::literal_value;
use crate::sql::Token;

/// Words that end a `RETURNS` type: the next clause of `CREATE FUNCTION`.
const CLAUSES: &[&str] = &[
    "language",
    "as",
    "return",
    "immutable",
    "stable",
    "volatile",
    "strict",
    "called",
    "returns",
    "not",
    "leakproof",
    "parallel",
    "security",
    "external",
    "cost",
    "rows",
    "set",
    "window",
    "support",
    "transform",
    "begin",
];

/// Type names of two words, whose first word is not a parameter's name.
const TWO_WORD_TYPES: &[(&str, &str)] = &[
    ("double", "precision"),
    ("character", "varying"),
    ("char", "varying"),
    ("bit", "varying"),
    ("timestamp", "with"),
    ("timestamp", "without"),
    ("time", "with"),
    ("time", "without"),
];

/// One parameter: its name (PostgreSQL allows none, and the body then says `$n`: such a
/// parameter is called `"$n"`, which the catalog leaves out), the type and the default
/// as written.
struct Parameter<'a> {
    name: String,
    ty: &'a str,
    default: Option<&'a str>,
}

enum Result<'a> {
    Scalar(&'a str),
    Set,
}

pub(super) fn sql_functions(s: &Piece<'_>) -> Option<Rewrite> {
    if !s.starts_with("create") || !s.mentions("function") {
        return None;
    }
    let t = s.tokens();
    let or_replace = is_word(t.get(1), "or") && is_word(t.get(2), "replace");
    let mut i = if or_replace { 3 } else { 1 };
    if !is_word(t.get(i), "function") {
        return None;
    }
    i += 1;
    let name_start = i;
    while i < t.len() && !is_punct(t.get(i), '(') {
        i += 1;
    }
    if i == name_start || i == t.len() {
        return None;
    }
    let name = &s.sql[t[name_start].0..s.end_of(i - 1)];
    let close = matching_paren(t, i)?;
    let parameters = parameters(s, i + 1, close)?;
    let (mut result, mut language, mut body) = (None, None, None);
    i = close + 1;
    while i < t.len() {
        if is_word(t.get(i), "returns") && !is_word(t.get(i + 1), "null") {
            if is_word(t.get(i + 1), "table") {
                result = Some(Result::Set);
                i = matching_paren(t, i + 2)? + 1;
                continue;
            }
            let setof = is_word(t.get(i + 1), "setof");
            let from = i + 1 + usize::from(setof);
            let mut end = from;
            while end < t.len() && !CLAUSES.iter().any(|c| is_word(t.get(end), c)) {
                end += 1;
            }
            if end == from {
                return None;
            }
            let ty = &s.sql[t[from].0..s.end_of(end - 1)];
            result = Some(if setof { Result::Set } else { Result::Scalar(ty) });
            i = end;
        } else if is_word(t.get(i), "language") {
            language = Some(s.text(i + 1).trim_matches(|c| c == '\'' || c == '"'));
            i += 2;
        } else if is_word(t.get(i), "as") {
            // `AS 'obj_file', 'link_symbol'` is a C function.
            if is_punct(t.get(i + 2), ',') {
                return None;
            }
            if !matches!(t.get(i + 1), Some((_, Token::Literal(_)))) {
                return None;
            }
            body = Some(literal_value(s.text(i + 1)));
            i += 2;
        } else if is_word(t.get(i), "return") {
            body = Some(format!("SELECT {}", &s.sql[t.get(i + 1)?.0..]));
            break;
        } else if is_word(t.get(i), "begin") || is_word(t.get(i), "window") {
            return None;
        } else {
            i += 1;
        }
    }
    if !language?.eq_ignore_ascii_case("sql") {
        return None;
    }
    let body = query(&body?, &parameters)?;
    let list: Vec<String> = parameters
        .iter()
        .map(|p| match p.default {
            Some(default) => format!("{} := {default}", p.name),
            None => p.name.clone(),
        })
        .collect();
    let create = if or_replace { "CREATE OR REPLACE MACRO" } else { "CREATE MACRO" };
    let head = format!("{create} {name}({})", list.join(", "));
    Some(Rewrite::Replace(match result? {
        Result::Scalar(ty) if ty.eq_ignore_ascii_case("void") || ty.eq_ignore_ascii_case("trigger") => {
            return None;
        }
        Result::Scalar(ty) => format!("{head} AS CAST(({body}) AS {ty})"),
        Result::Set => format!("{head} AS TABLE {body}"),
    }))
}

/// Why a `CREATE FUNCTION` or `CREATE PROCEDURE` in PostgreSQL's syntax cannot run, when
/// [`sql_functions`] cannot make it a macro; `None` for anything else, DuckDB's own
/// `CREATE FUNCTION f(a) AS a + 1` included.
pub fn refusal(statement: &crate::sql::Statement<'_>) -> Option<&'static str> {
    let s = Piece::new(statement.sql(), Some(statement.tokens()));
    if !s.starts_with("create") || !(s.mentions("function") || s.mentions("procedure")) {
        return None;
    }
    let t = s.tokens();
    let at = if is_word(t.get(1), "or") && is_word(t.get(2), "replace") { 3 } else { 1 };
    if is_word(t.get(at), "procedure") {
        return Some(
            "procedures are not supported: DuckDB has none (a SQL function of one query becomes a macro)",
        );
    }
    let postgres_syntax = t.iter().any(|(_, w)| {
        matches!(w, Token::Word(w) if w.eq_ignore_ascii_case("returns") || w.eq_ignore_ascii_case("language"))
    });
    if !is_word(t.get(at), "function") || !postgres_syntax || sql_functions(&s).is_some() {
        return None;
    }
    let language =
        t.iter().position(|(_, w)| matches!(w, Token::Word(w) if w.eq_ignore_ascii_case("language")));
    let sql = language
        .is_some_and(|i| s.text(i + 1).trim_matches(|c| c == '\'' || c == '"').eq_ignore_ascii_case("sql"));
    Some(if language.is_some() && !sql {
        "functions in languages other than SQL (PL/pgSQL, C, ...) are not supported: mallard makes a SQL function of one query a DuckDB macro"
    } else {
        "this function cannot be a DuckDB macro: mallard takes LANGUAGE sql with IN parameters and a body of one query (SELECT, WITH, VALUES or TABLE) returning a value or a set"
    })
}

/// `DROP FUNCTION [IF EXISTS] f(numeric), g [CASCADE]`: DuckDB drops a macro by name, one
/// per statement, without its argument types, and a table macro (a function that
/// returned a set) only by `DROP MACRO TABLE`. Which of the two `f` is is not known here,
/// so both are dropped if they exist: a function that does not exist is not an error.
pub(super) fn drop_function_signatures(s: &Piece<'_>) -> Option<Rewrite> {
    if !s.starts_with("drop") || !s.mentions("function") {
        return None;
    }
    let t = s.tokens();
    if !is_word(t.get(1), "function") {
        return None;
    }
    let if_exists = is_word(t.get(2), "if") && is_word(t.get(3), "exists");
    let mut i = if if_exists { 4 } else { 2 };
    let mut names = Vec::new();
    while i < t.len() {
        let start = i;
        while i < t.len() && !is_punct(t.get(i), '(') && !is_punct(t.get(i), ',') {
            if is_word(t.get(i), "cascade") || is_word(t.get(i), "restrict") {
                break;
            }
            i += 1;
        }
        if i == start {
            break;
        }
        names.push(&s.sql[t[start].0..s.end_of(i - 1)]);
        if is_punct(t.get(i), '(') {
            i = matching_paren(t, i)? + 1;
        }
        if !is_punct(t.get(i), ',') {
            break;
        }
        i += 1;
    }
    if names.is_empty() {
        return None;
    }
    let drops = names
        .iter()
        .flat_map(|n| [format!("DROP MACRO TABLE IF EXISTS {n}"), format!("DROP MACRO IF EXISTS {n}")]);
    Some(Rewrite::Split(drops.collect()))
}

/// `format('%I.%I', schema, name)` with a literal format, as PostgreSQL reads it (`%s`,
/// `%I`, `%L`, `%%`, and `%n$s` by position): DuckDB's `format` takes `{}` placeholders,
/// so the call becomes the concatenation it means, with the catalog's `quote_ident` and
/// `quote_literal`. A format that is not a literal, or has a width, is left to DuckDB.
pub(super) fn format_strings(s: &Piece<'_>) -> Option<Rewrite> {
    if !s.mentions("format") {
        return None;
    }
    let t = s.tokens();
    let mut edits = Vec::new();
    let mut i = 0;
    while i + 2 < t.len() {
        let call = is_word(t.get(i), "format")
            && is_punct(t.get(i + 1), '(')
            && !(i > 0 && is_punct(t.get(i - 1), '.'))
            && matches!(t[i + 2].1, Token::Literal(l) if l.starts_with('\''));
        if !call {
            i += 1;
            continue;
        }
        let close = matching_paren(t, i + 1)?;
        let items = items(t, i + 2, close);
        // An empty argument (`format('%s',)`) is DuckDB's to refuse.
        let arguments: Vec<&str> = items
            .iter()
            .filter(|k| !k.is_empty())
            .map(|k| &s.sql[t[k.start].0..s.end_of(k.end - 1)])
            .collect();
        let spec = literal_value(arguments[0]);
        let concatenation =
            (arguments.len() == items.len()).then(|| formatted(&spec, &arguments[1..])).flatten();
        if let Some(concatenation) = concatenation {
            edits.push((t[i].0..s.end_of(close), concatenation));
        }
        i = close + 1;
    }
    super::replaced(s.sql, &edits)
}

/// What `format(spec, arguments...)` means, as one SQL expression; `None` for a
/// specifier this does not read (flags, widths, an unknown type, a missing argument).
fn formatted(spec: &str, arguments: &[&str]) -> Option<String> {
    let mut parts = Vec::new();
    let mut text = String::new();
    let mut next = 0;
    let mut chars = spec.chars().peekable();
    while let Some(c) = chars.next() {
        if c != '%' {
            text.push(c);
            continue;
        }
        let mut digits = String::new();
        while let Some(d) = chars.peek().filter(|d| d.is_ascii_digit()) {
            digits.push(*d);
            chars.next();
        }
        if !digits.is_empty() {
            if chars.next() != Some('$') {
                return None;
            }
            next = digits.parse::<usize>().ok()?.checked_sub(1)?;
        }
        let kind = chars.next()?;
        if kind == '%' && digits.is_empty() {
            text.push('%');
            continue;
        }
        let value = format!("CAST({} AS VARCHAR)", arguments.get(next)?);
        next += 1;
        if !text.is_empty() {
            parts.push(crate::duck::quote_literal(&std::mem::take(&mut text)));
        }
        parts.push(match kind {
            's' => value,
            'I' => format!("quote_ident({value})"),
            'L' => format!("coalesce(quote_literal({value}), 'NULL')"),
            _ => return None,
        });
    }
    if !text.is_empty() || parts.is_empty() {
        parts.push(crate::duck::quote_literal(&text));
    }
    Some(format!("concat({})", parts.join(", ")))
}

/// The parameters between the parentheses at `from..close`, or `None` for a mode other
/// than IN.
fn parameters<'a>(s: &Piece<'a>, from: usize, close: usize) -> Option<Vec<Parameter<'a>>> {
    if from == close {
        return Some(Vec::new());
    }
    let items = items(s.tokens(), from, close);
    items.into_iter().enumerate().map(|(n, k)| parameter(s, k.start, k.end, n + 1)).collect()
}

/// The comma-separated items of the tokens `from..close` (a call's arguments, a list of
/// parameters), as token ranges: commas inside brackets belong to their item.
fn items(t: &[(usize, Token<'_>)], from: usize, close: usize) -> Vec<Range<usize>> {
    let mut list = Vec::new();
    let (mut start, mut depth) = (from, 0usize);
    for (k, (_, token)) in t.iter().enumerate().take(close).skip(from) {
        match token {
            Token::Punct('(') => depth += 1,
            Token::Punct(')') => depth = depth.saturating_sub(1),
            Token::Punct(',') if depth == 0 => {
                list.push(start..k);
                start = k + 1;
            }
            _ => {}
        }
    }
    list.push(start..close);
    list
}

fn parameter<'a>(s: &Piece<'a>, mut start: usize, end: usize, position: usize) -> Option<Parameter<'a>> {
    let t = s.tokens();
    if ["out", "inout", "variadic"].iter().any(|m| is_word(t.get(start), m)) {
        return None;
    }
    if is_word(t.get(start), "in") {
        start += 1;
    }
    let default_at = (start..end).find(|&k| is_word(t.get(k), "default") || is_punct(t.get(k), '='));
    let type_end = default_at.unwrap_or(end);
    let named = type_end > start + 1
        && matches!(t[start + 1].1, Token::Word(_) | Token::QuotedIdent(_))
        && !TWO_WORD_TYPES.iter().any(|(a, b)| is_word(t.get(start), a) && is_word(t.get(start + 1), b));
    let (name, ty_start) =
        if named { (s.text(start).to_owned(), start + 1) } else { (format!("\"${position}\""), start) };
    if ty_start >= type_end {
        return None;
    }
    let ty = &s.sql[t[ty_start].0..s.end_of(type_end - 1)];
    let default = default_at.filter(|&k| k + 1 < end).map(|k| &s.sql[t[k + 1].0..s.end_of(end - 1)]);
    Some(Parameter { name, ty, default })
}

/// The body as one query in which each use of a parameter (`$n` or its name) is the
/// parameter cast to its type, or `None` when it is not one query (several statements,
/// or not a SELECT, WITH, VALUES or TABLE).
///
/// The macro's parameters themselves stay untyped: DuckDB keeps typed macro parameters
/// only in files of storage version 1.4 or later, and mallard does not choose a newer
/// format for a user's file. The catalog reads each type back from the first cast
/// ([`parameter_type`]).
fn query(body: &str, parameters: &[Parameter<'_>]) -> Option<String> {
    let body = body.trim().trim_end_matches(';').trim_end();
    let tokens: Vec<(usize, Token<'_>)> = Tokens::new(body).collect();
    let first = tokens.first()?;
    if !["select", "with", "values", "table"].iter().any(|w| is_word(Some(first), w)) {
        return None;
    }
    let mut out = String::with_capacity(body.len() + 16 * parameters.len());
    let mut at = 0;
    for (k, (start, token)) in tokens.iter().enumerate() {
        let parameter = match token {
            Token::Punct(';') => return None,
            Token::Param(p) => parameters.get(p[1..].parse::<usize>().ok()?.checked_sub(1)?),
            Token::Word(w) | Token::QuotedIdent(w) => {
                let qualified = k > 0 && is_punct(tokens.get(k - 1), '.');
                let aliased = k > 0 && is_word(tokens.get(k - 1), "as");
                let called = is_punct(tokens.get(k + 1), '(') || is_punct(tokens.get(k + 1), '.');
                parameters
                    .iter()
                    .filter(|_| !(qualified || aliased || called))
                    .find(|p| p.name.eq_ignore_ascii_case(w) || p.name == *w)
            }
            _ => None,
        };
        if let Some(p) = parameter {
            out.push_str(&body[at..*start]);
            out.push_str(&format!("CAST({} AS {})", p.name, p.ty));
            at = start + super::token_len(*token);
        }
    }
    out.push_str(&body[at..]);
    Some(out)
}

/// The type a scalar macro's definition casts its whole body to (`CAST((...) AS T)`, as
/// [`sql_functions`] writes it and DuckDB prints it back), or `None`.
pub fn result_type(definition: &str) -> Option<&str> {
    let tokens: Vec<(usize, Token<'_>)> = Tokens::new(definition).collect();
    if !is_word(tokens.first(), "cast") || matching_paren(&tokens, 1)? != tokens.len() - 1 {
        return None;
    }
    let mut depth = 0usize;
    let mut as_at = None;
    for (k, (_, token)) in tokens.iter().enumerate().skip(1) {
        match token {
            Token::Punct('(') => depth += 1,
            Token::Punct(')') => depth -= 1,
            Token::Word(w) if depth == 1 && w.eq_ignore_ascii_case("as") => as_at = Some(k),
            _ => {}
        }
    }
    let from = tokens.get(as_at? + 1)?.0;
    Some(definition[from..tokens[tokens.len() - 1].0].trim())
}

/// The type a macro's definition first casts the parameter `name` to (`CAST(name AS T)`,
/// as [`sql_functions`] writes each use of a parameter), or `None`.
pub fn parameter_type<'a>(definition: &'a str, name: &str) -> Option<&'a str> {
    let tokens: Vec<(usize, Token<'_>)> = Tokens::new(definition).collect();
    let names = |t: Option<&(usize, Token<'_>)>| match t {
        Some((_, Token::Word(w))) => w.eq_ignore_ascii_case(name),
        Some((_, Token::QuotedIdent(q))) => {
            q.strip_prefix('"').and_then(|q| q.strip_suffix('"')) == Some(name)
        }
        _ => false,
    };
    let at = (0..tokens.len()).find(|&k| {
        is_word(tokens.get(k), "cast")
            && is_punct(tokens.get(k + 1), '(')
            && names(tokens.get(k + 2))
            && is_word(tokens.get(k + 3), "as")
    })?;
    let close = matching_paren(&tokens, at + 1)?;
    let from = tokens.get(at + 4)?.0;
    Some(definition[from..tokens[close].0].trim())
}

#[cfg(test)]
mod tests {
    use super::super::tests::{one, run};
    use super::*;

    #[test]
    fn scalar_functions_become_macros_cast_to_their_type() {
        assert_eq!(
            one("CREATE FUNCTION add_tax(amount integer) RETURNS integer LANGUAGE sql IMMUTABLE AS 'select amount * 2'"),
            "CREATE MACRO add_tax(amount) AS CAST((select CAST(amount AS integer) * 2) AS integer)"
        );
        assert_eq!(
            one("create or replace function f(int, b text default 'x') returns text as $$ SELECT $2 || $1; $$ language sql"),
            "CREATE OR REPLACE MACRO f(\"$1\", b := 'x') AS CAST((SELECT CAST(b AS text) || CAST(\"$1\" AS int)) AS text)"
        );
        assert_eq!(
            one("create function g(double precision) returns double precision language sql return $1 * 2"),
            "CREATE MACRO g(\"$1\") AS CAST((SELECT CAST(\"$1\" AS double precision) * 2) AS double precision)"
        );
        assert_eq!(
            one("create function n() returns integer language sql as 'select ''it''''s''::text is not null'::int"),
            "CREATE MACRO n() AS CAST((select 'it''s'::text is not null) AS integer)"
        );
    }

    #[test]
    fn set_returning_functions_become_table_macros() {
        assert_eq!(
            one("create function big(n int) returns table(id int) language sql as $f$select id from t where id > n$f$"),
            "CREATE MACRO big(n) AS TABLE select id from t where id > CAST(n AS int)"
        );
        assert_eq!(
            one("create function s() returns setof t language sql as 'select * from t'"),
            "CREATE MACRO s() AS TABLE select * from t"
        );
    }

    #[test]
    fn what_a_macro_cannot_mean_is_left_alone() {
        for sql in [
            "create function p() returns integer language plpgsql as $$ begin return 1; end $$",
            "create function o(out x int) language sql as 'select 1'",
            "create function two() returns int language sql as 'select 1; select 2'",
            "create function u() returns void language sql as 'select 1'",
            "create function w() returns int language sql as 'insert into t values (1)'",
            "create function c() returns int language c as 'lib', 'sym'",
            "create function a() returns int language sql begin atomic select 1; end",
        ] {
            assert_eq!(run(sql), vec![sql.to_owned()], "{sql}");
        }
    }

    #[test]
    fn format_strings_are_read_as_postgres_reads_them() {
        assert_eq!(
            one("select format('%I.%I', s, t), format('%s = %L', 'a', 1)"),
            "select concat(quote_ident(CAST(s AS VARCHAR)), '.', quote_ident(CAST(t AS VARCHAR))), \
             concat(CAST('a' AS VARCHAR), ' = ', coalesce(quote_literal(CAST(1 AS VARCHAR)), 'NULL'))"
        );
        assert_eq!(
            one("select FORMAT('%2$s %1$s%% {}', a, b)"),
            "select concat(CAST(b AS VARCHAR), ' ', CAST(a AS VARCHAR), '% {}')"
        );
        for kept in ["select format(f, a)", "select format('%-10s', a)", "select format('%s %s', a)"] {
            assert_eq!(one(kept), kept);
        }
    }

    #[test]
    fn functions_that_cannot_be_macros_are_refused_with_the_reason() {
        let refused = |sql| refusal(&crate::sql::Statement::new(sql));
        assert!(refused("create function p() returns int language plpgsql as $$ begin return 1; end $$")
            .is_some_and(|m| m.contains("languages other than SQL")));
        assert!(refused("create function two() returns int language sql as 'select 1; select 2'")
            .is_some_and(|m| m.contains("one query")));
        assert!(refused("create procedure p() language sql as $$ select 1 $$")
            .is_some_and(|m| m.contains("procedures")));
        assert_eq!(refused("create function f(a) as a + 1"), None);
        assert_eq!(refused("create function f(a int) returns int language sql as 'select a'"), None);
        assert_eq!(refused("create table function_names (f text)"), None);
    }

    #[test]
    fn functions_are_dropped_by_name() {
        assert_eq!(
            run("drop function add_tax(numeric)"),
            ["DROP MACRO TABLE IF EXISTS add_tax", "DROP MACRO IF EXISTS add_tax"]
        );
        assert_eq!(
            run("DROP FUNCTION IF EXISTS s.f(int, text), g() CASCADE"),
            [
                "DROP MACRO TABLE IF EXISTS s.f",
                "DROP MACRO IF EXISTS s.f",
                "DROP MACRO TABLE IF EXISTS g",
                "DROP MACRO IF EXISTS g"
            ]
        );
        assert_eq!(run("drop function f"), ["DROP MACRO TABLE IF EXISTS f", "DROP MACRO IF EXISTS f"]);
    }

    #[test]
    fn the_declared_type_is_read_back_from_the_definition() {
        assert_eq!(result_type("CAST((SELECT (a * b)) AS DECIMAL(38, 10))"), Some("DECIMAL(38, 10)"));
        assert_eq!(result_type("CAST(x AS INTEGER[])"), Some("INTEGER[]"));
        assert_eq!(result_type("CAST(a AS INTEGER) + CAST(b AS BIGINT)"), None);
        assert_eq!(result_type("(a * b)"), None);
        assert_eq!(result_type("CAST(')' AS VARCHAR)"), Some("VARCHAR"));
        let definition = "CAST((SELECT (CAST(a AS DECIMAL(38, 10)) * CAST(\"$2\" AS INTEGER))) AS DOUBLE)";
        assert_eq!(parameter_type(definition, "a"), Some("DECIMAL(38, 10)"));
        assert_eq!(parameter_type(definition, "$2"), Some("INTEGER"));
        assert_eq!(parameter_type(definition, "b"), None);
    }

    #[test]
    fn parameters_are_cast_where_they_are_values_only() {
        assert_eq!(
            one("create function f(n int) returns int language sql as 'select t.n + n from t where n(1) as n'"),
            "CREATE MACRO f(n) AS CAST((select t.n + CAST(n AS int) from t where n(1) as n) AS int)"
        );
    }
}
