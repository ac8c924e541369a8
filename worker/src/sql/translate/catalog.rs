//! PostgreSQL catalog names in statements DuckDB cannot run as written: `pg_catalog.`
//! qualifiers and operators, and reg* casts, which the catalog ([`crate::catalog`])
//! answers.

use std::ops::Range;

use super::{is_punct, is_word, matching_paren, replaced, splice, token_len, Piece, Rewrite};
use crate::sql::Token;

/// `public.t`, `mallard.public.t`: PostgreSQL's default schema is DuckDB's `main`, which
/// the catalog shows as `public` and `search_path` maps to it. A qualifier only (the
/// word before a `.`), never a string or a column named `public`.
pub(super) fn public_schema(s: &Piece<'_>) -> Option<Rewrite> {
    if !s.mentions("public") {
        return None;
    }
    let tokens = s.tokens();
    let edits: Vec<(Range<usize>, &str)> = (0..tokens.len())
        .filter(|&i| {
            let public = match tokens[i].1 {
                Token::Word(w) => w.eq_ignore_ascii_case("public"),
                Token::QuotedIdent(q) => q == "\"public\"",
                _ => false,
            };
            // `mallard.public.t` names schema `public` of catalog `mallard` too.
            public && is_punct(tokens.get(i + 1), '.')
        })
        .map(|i| (tokens[i].0..s.end_of(i), "main"))
        .collect();
    replaced(s.sql, &edits)
}

/// Drops every `pg_catalog.` qualifier (of relations, functions, types and operators)
/// and `COLLATE pg_catalog.default`: the catalog schema is on every session's search
/// path, and DuckDB's own `pg_catalog` cannot be replaced.
pub(super) fn pg_catalog_names(s: &Piece<'_>) -> Option<Rewrite> {
    if !s.mentions("pg_catalog")
        && !s.mentions("operator")
        && !s.mentions("collate")
        && !s.mentions("information_schema")
    {
        return None;
    }
    let tokens = s.tokens();
    let is_pg_catalog = |i: usize| match tokens.get(i) {
        Some((_, Token::Word(w))) => w.eq_ignore_ascii_case("pg_catalog"),
        Some((_, Token::QuotedIdent(q))) => *q == "\"pg_catalog\"",
        _ => false,
    };
    let is_information_schema = |i: usize| match tokens.get(i) {
        Some((_, Token::Word(w))) => w.eq_ignore_ascii_case("information_schema"),
        // Metabase quotes every name: `"information_schema"."columns"`.
        Some((_, Token::QuotedIdent(q))) => *q == "\"information_schema\"",
        _ => false,
    };
    let qualifier = |i: usize| {
        // `x.pg_catalog.f` would be a column, not our qualifier.
        is_pg_catalog(i) && is_punct(tokens.get(i + 1), '.') && !(i > 0 && is_punct(tokens.get(i - 1), '.'))
    };
    let mut edits: Vec<(Range<usize>, String)> = Vec::new();
    let mut i = 0;
    while i < tokens.len() {
        if is_word(tokens.get(i), "operator") && is_punct(tokens.get(i + 1), '(') {
            // OPERATOR(pg_catalog.~) is the operator itself.
            let mut j = i + 2;
            if qualifier(j) {
                j += 2;
            }
            let start = j;
            while j < tokens.len() && matches!(tokens[j].1, Token::Punct(c) if c != ')') {
                j += 1;
            }
            if j > start && is_punct(tokens.get(j), ')') {
                edits.push((
                    tokens[i].0..s.end_of(j),
                    format!(" {} ", &s.sql[tokens[start].0..s.end_of(j - 1)]),
                ));
                i = j + 1;
                continue;
            }
        }
        if is_word(tokens.get(i), "collate") {
            let j = if qualifier(i + 1) { i + 3 } else { i + 1 };
            let default = match tokens.get(j) {
                Some((_, Token::Word(w))) => w.eq_ignore_ascii_case("default"),
                Some((_, Token::QuotedIdent(q))) => *q == "\"default\"",
                _ => false,
            };
            if default {
                edits.push((tokens[i].0..s.end_of(j), String::new()));
                i = j + 1;
                continue;
            }
        }
        // pgjdbc's `information_schema._pg_expandarray(...)` is the catalog's.
        let expandarray = is_information_schema(i)
            && is_punct(tokens.get(i + 1), '.')
            && is_word(tokens.get(i + 2), "_pg_expandarray");
        if qualifier(i) || expandarray {
            edits.push((tokens[i].0..tokens[i + 2].0, String::new()));
            i += 2;
            continue;
        }
        // `information_schema.tables`: the catalog's, not DuckDB's.
        let information_schema = is_information_schema(i)
            && is_punct(tokens.get(i + 1), '.')
            && !(i > 0 && is_punct(tokens.get(i - 1), '.'));
        if information_schema {
            edits.push((tokens[i].0..s.end_of(i), crate::catalog::INFORMATION_SCHEMA.to_owned()));
            i += 2;
            continue;
        }
        // `polroles = '{0}'`: an array literal, in a catalog statement, as DuckDB spells it.
        if let (Some((at, Token::Literal(text))), true) =
            (tokens.get(i), i > 0 && is_comparison(tokens, i - 1))
        {
            if let Some(list) = array_literal(text) {
                edits.push((*at..at + text.len(), list));
            }
        }
        i += 1;
    }
    replaced(s.sql, &edits)
}

fn is_comparison(tokens: &[(usize, Token<'_>)], i: usize) -> bool {
    is_punct(tokens.get(i), '=')
        || (i > 0 && is_punct(tokens.get(i - 1), '<') && is_punct(tokens.get(i), '>'))
}

/// `'{1,2}'` as `'[1,2]'`: a literal of numbers in PostgreSQL's array syntax.
fn array_literal(text: &str) -> Option<String> {
    let inner = text.strip_prefix("'{")?.strip_suffix("}'")?;
    inner.bytes().all(|b| b.is_ascii_digit() || b == b',' || b == b'-').then(|| format!("'[{inner}]'"))
}

/// Set-returning functions whose column PostgreSQL names after the alias in FROM.
const SET_RETURNING: &[&str] = &["generate_series", "unnest", "generate_subscripts"];

/// `FROM generate_series(1, 3) s`: in PostgreSQL `s` is also the column's name, so
/// `prattrs[s]` (psql) reads the value; DuckDB names the column after the function, and
/// `s` would be the whole row. The alias gets its column list: `s(s)`.
pub(super) fn set_returning_aliases(s: &Piece<'_>) -> Option<Rewrite> {
    if !SET_RETURNING.iter().any(|f| s.mentions(f)) {
        return None;
    }
    let tokens = s.tokens();
    let mut edits: Vec<(Range<usize>, String)> = Vec::new();
    for i in 1..tokens.len() {
        let Token::Word(w) = tokens[i].1 else { continue };
        if !SET_RETURNING.iter().any(|f| w.eq_ignore_ascii_case(f)) {
            continue;
        }
        let in_from = matches!(clause_of(tokens, i), Some(k) if ["from", "join", "lateral"].iter().any(|f| k.eq_ignore_ascii_case(f)));
        let Some(close) = in_from.then(|| matching_paren(tokens, i + 1)).flatten() else { continue };
        let mut alias = close + 1;
        if is_word(tokens.get(alias), "as") {
            alias += 1;
        }
        let Some((_, Token::Word(name))) = tokens.get(alias) else { continue };
        let keyword =
            ["where", "join", "on", "left", "cross", "inner", "order", "group", "with", "limit", "union"]
                .iter()
                .any(|k| name.eq_ignore_ascii_case(k));
        if keyword || is_punct(tokens.get(alias + 1), '(') {
            continue;
        }
        edits.push((s.end_of(alias)..s.end_of(alias), format!("({name})")));
    }
    replaced(s.sql, &edits)
}

/// `SELECT generate_series(1, 3)` returns three rows in PostgreSQL (a set-returning
/// function in the select list); DuckDB's scalar `generate_series` returns one list.
/// `unnest` makes the rows, and the column keeps PostgreSQL's name when it has no alias.
pub(super) fn set_returning_in_select(s: &Piece<'_>) -> Option<Rewrite> {
    if !s.mentions("generate_series") {
        return None;
    }
    let tokens = s.tokens();
    let mut edits: Vec<(Range<usize>, String)> = Vec::new();
    for i in 1..tokens.len() {
        if !is_word(tokens.get(i), "generate_series") || !is_punct(tokens.get(i + 1), '(') {
            continue;
        }
        if !matches!(clause_of(tokens, i), Some(k) if k.eq_ignore_ascii_case("select")) {
            continue;
        }
        let Some(close) = matching_paren(tokens, i + 1) else { continue };
        let ends_item = match tokens.get(close + 1) {
            None => true,
            Some((_, Token::Punct(',' | ')' | ';'))) => true,
            Some((_, Token::Word(w))) => {
                ["from", "into", "where", "group", "order", "limit", "union", "except", "intersect"]
                    .iter()
                    .any(|k| w.eq_ignore_ascii_case(k))
            }
            _ => false,
        };
        let alias = if ends_item { " AS generate_series" } else { "" };
        edits.push((tokens[i].0..tokens[i].0, "unnest(".to_owned()));
        edits.push((s.end_of(close)..s.end_of(close), format!("){alias}")));
    }
    replaced(s.sql, &edits)
}

/// The clause keyword that token `i` stands in (`select`, `from`, `join`, `where`...):
/// the nearest one before it at its own depth of parentheses.
fn clause_of<'a>(tokens: &[(usize, Token<'a>)], i: usize) -> Option<&'a str> {
    const CLAUSES: &[&str] =
        &["select", "from", "join", "lateral", "where", "on", "group", "order", "having", "using"];
    let mut depth = 0usize;
    for j in (0..i).rev() {
        match tokens[j].1 {
            Token::Punct(')') => depth += 1,
            Token::Punct('(') if depth == 0 => return None,
            Token::Punct('(') => depth -= 1,
            Token::Word(w) if depth == 0 && CLAUSES.iter().any(|k| w.eq_ignore_ascii_case(k)) => {
                return Some(w)
            }
            _ => {}
        }
    }
    None
}

/// Scalar functions clients call in FROM, which PostgreSQL allows (one row) and DuckDB
/// does not.
const SCALARS_IN_FROM: &[&str] =
    &["string_to_array", "regexp_split_to_array", "current_schemas", "string_split"];

/// `FROM generate_series(...) i, string_to_array(current_setting('search_path'), ',') s`
/// (the search path split, as BI tools write it): a scalar call in FROM becomes a
/// one-row subquery, `(SELECT f(...) AS s) AS s`.
pub(super) fn scalar_functions_in_from(s: &Piece<'_>) -> Option<Rewrite> {
    if !SCALARS_IN_FROM.iter().any(|f| s.mentions(f)) {
        return None;
    }
    let tokens = s.tokens();
    let mut edits: Vec<(Range<usize>, String)> = Vec::new();
    for i in 1..tokens.len() {
        let Token::Word(w) = tokens[i].1 else { continue };
        if !SCALARS_IN_FROM.iter().any(|f| w.eq_ignore_ascii_case(f)) || is_punct(tokens.get(i - 1), '.') {
            continue;
        }
        let in_from = matches!(clause_of(tokens, i), Some(k) if ["from", "join"].iter().any(|f| k.eq_ignore_ascii_case(f)))
            && (is_punct(tokens.get(i - 1), ',')
                || ["from", "join"].iter().any(|k| is_word(tokens.get(i - 1), k)));
        let Some(close) = in_from.then(|| matching_paren(tokens, i + 1)).flatten() else { continue };
        let alias_at = if is_word(tokens.get(close + 1), "as") { close + 2 } else { close + 1 };
        let alias = match tokens.get(alias_at) {
            Some((_, Token::Word(a)))
                if !["where", "join", "on", "left", "cross", "order", "group"]
                    .iter()
                    .any(|k| a.eq_ignore_ascii_case(k)) =>
            {
                *a
            }
            _ => w,
        };
        let call = &s.sql[tokens[i].0..s.end_of(close)];
        let end = if alias == w { s.end_of(close) } else { s.end_of(alias_at) };
        edits.push((tokens[i].0..end, format!("(SELECT {call} AS {alias}) AS {alias}")));
    }
    replaced(s.sql, &edits)
}

/// PostgreSQL functions DuckDB has under another name, with the same arguments.
const RENAMED_FUNCTIONS: &[(&str, &str)] = &[("json_build_object", "json_object")];

/// Calls of [`RENAMED_FUNCTIONS`] by DuckDB's name (SQLAlchemy's column reflection
/// builds its identity options with `json_build_object`).
pub(super) fn renamed_functions(s: &Piece<'_>) -> Option<Rewrite> {
    if !RENAMED_FUNCTIONS.iter().any(|(f, _)| s.mentions(f)) {
        return None;
    }
    let tokens = s.tokens();
    let edits: Vec<(Range<usize>, &str)> = (0..tokens.len())
        .filter_map(|i| {
            let Token::Word(w) = tokens[i].1 else { return None };
            let (_, to) = RENAMED_FUNCTIONS.iter().find(|(f, _)| w.eq_ignore_ascii_case(f))?;
            let call = is_punct(tokens.get(i + 1), '(') && !(i > 0 && is_punct(tokens.get(i - 1), '.'));
            call.then(|| (tokens[i].0..s.end_of(i), *to))
        })
        .collect();
    replaced(s.sql, &edits)
}

/// The object identifier types a cast can name, and the catalog function of each
/// direction: text in (`'orders'::regclass`, the OID) and OID out (`c.oid::regclass`,
/// the name).
const REG_TYPES: &[(&str, &str, &str)] = &[
    ("regclass", "regclass_in", "regclass_out"),
    ("regtype", "regtype_in", "regtype_out"),
    ("regnamespace", "regnamespace_in", "regnamespace_out"),
    ("regrole", "regrole_in", "regrole_out"),
    ("regproc", "regproc_in", "regproc_out"),
    ("regprocedure", "regproc_in", "regproc_out"),
];

/// `x::regclass` and the other reg* casts, which DuckDB has no types for, as calls of
/// the catalog's functions. Which direction is read from the operand: a literal, a
/// parameter or a value cast to text is a name to look up; anything else is an OID to
/// print by name. (PostgreSQL's reg* values are OIDs that print as names; a DuckDB
/// value cannot be both, so each cast becomes the one its use needs.)
pub(super) fn reg_casts(s: &Piece<'_>) -> Option<Rewrite> {
    if !s.mentions("reg") {
        return None;
    }
    let tokens = s.tokens();
    let mut edits: Vec<(Range<usize>, String)> = Vec::new();
    for i in 2..tokens.len() {
        let Token::Word(w) = tokens[i].1 else { continue };
        let Some((_, input, output)) = REG_TYPES.iter().find(|(t, ..)| w.eq_ignore_ascii_case(t)) else {
            continue;
        };
        if !(is_punct(tokens.get(i - 1), ':') && is_punct(tokens.get(i - 2), ':')) {
            continue;
        }
        let Some((start, is_name)) = cast_operand(tokens, i - 2) else { continue };
        if edits.last().is_some_and(|(r, _)| r.end > tokens[start].0) {
            continue; // nested in an operand already rewritten
        }
        let operand = &s.sql[tokens[start].0..tokens[i - 3].0 + token_len(tokens[i - 3].1)];
        let call = match is_name {
            // `'t'::regclass::text`: a name looked up and printed again, as PostgreSQL
            // prints the object's name (schema-qualified where not visible).
            true if is_punct(tokens.get(i + 1), ':')
                && is_punct(tokens.get(i + 2), ':')
                && is_text_type(tokens.get(i + 3)) =>
            {
                format!("{output}({input}({operand}))")
            }
            true => format!("{input}({operand})"),
            false => format!("{output}({operand})"),
        };
        edits.push((tokens[start].0..s.end_of(i), call));
    }
    let mut sql = (!edits.is_empty()).then(|| splice(s.sql, &edits));
    // Then `CAST(x AS REGCLASS)`, SQLAlchemy's spelling, one at a time, innermost first.
    loop {
        let text = sql.as_deref().unwrap_or(s.sql);
        let edits = cast_calls(&Piece::new(text, None));
        if edits.is_empty() {
            return sql.map(Rewrite::Replace);
        }
        sql = Some(splice(text, &edits));
    }
}

/// The innermost `CAST(x AS REGCLASS)` as a call.
fn cast_calls(s: &Piece<'_>) -> Vec<(Range<usize>, String)> {
    let tokens = s.tokens();
    for i in 0..tokens.len() {
        if !(is_word(tokens.get(i), "cast") && is_punct(tokens.get(i + 1), '(')) {
            continue;
        }
        let Some(close) = matching_paren(tokens, i + 1) else { continue };
        let Some((_, Token::Word(ty))) = tokens.get(close - 1) else { continue };
        let Some((_, input, output)) = REG_TYPES.iter().find(|(t, ..)| ty.eq_ignore_ascii_case(t)) else {
            continue;
        };
        if !is_word(tokens.get(close - 2), "as") || close < i + 5 {
            continue;
        }
        // Only the innermost: an operand with a reg cast of its own goes first.
        let operand = (i + 2)..(close - 2);
        if operand.clone().any(|j| is_word(tokens.get(j), "cast"))
            && cast_calls_inside(tokens, operand.clone())
        {
            continue;
        }
        let text = &s.sql[tokens[operand.start].0..tokens[operand.end].0];
        let is_name = match tokens[operand.start].1 {
            Token::Literal(_) | Token::Param(_) => true,
            Token::Word(w) => {
                w.eq_ignore_ascii_case("cast") && is_text_type(tokens.get(operand.end - 1)) || returns_name(w)
            }
            _ => false,
        };
        let function = if is_name { input } else { output };
        return vec![(tokens[i].0..s.end_of(close), format!("{function}({})", text.trim_end()))];
    }
    Vec::new()
}

fn cast_calls_inside(tokens: &[(usize, Token<'_>)], range: Range<usize>) -> bool {
    range.clone().any(|j| {
        is_word(tokens.get(j), "cast")
            && matching_paren(tokens, j + 1).is_some_and(|close| {
                close < range.end
                    && matches!(tokens.get(close - 1), Some((_, Token::Word(t))) if REG_TYPES.iter().any(|(r, ..)| t.eq_ignore_ascii_case(r)))
            })
    })
}

fn is_text_type(token: Option<&(usize, Token<'_>)>) -> bool {
    matches!(token, Some((_, Token::Word(w))) if ["text", "varchar", "name"].iter().any(|t| w.eq_ignore_ascii_case(t)))
}

/// Functions that return a relation's name, whose result a reg cast looks up.
fn returns_name(function: &str) -> bool {
    ["pg_get_serial_sequence", "quote_ident", "format", "concat"]
        .iter()
        .any(|f| function.eq_ignore_ascii_case(f))
}

/// Keywords that can stand before a parenthesis without naming a function.
const NOT_FUNCTIONS: &[&str] = &[
    "select", "where", "and", "or", "not", "on", "when", "then", "else", "in", "as", "by", "from", "case",
    "is",
];

/// The first token of the operand of the cast whose `::` starts at `colons`, and
/// whether that operand is a name (a literal, a parameter, or a cast to a text type).
fn cast_operand(tokens: &[(usize, Token<'_>)], colons: usize) -> Option<(usize, bool)> {
    let last = colons.checked_sub(1)?;
    let (start, is_name) = match tokens[last].1 {
        Token::Literal(_) | Token::Param(_) => (last, true),
        Token::Number(_) => (last, false),
        Token::Word(w) | Token::QuotedIdent(w) => {
            let mut start = last;
            while start >= 2
                && is_punct(tokens.get(start - 1), '.')
                && matches!(tokens[start - 2].1, Token::Word(_) | Token::QuotedIdent(_))
            {
                start -= 2;
            }
            if returns_name(w) {
                return None; // not an operand: `f(...)` is matched at its `)`
            }
            // `x::text::regclass`: the operand is the earlier cast's.
            if start >= 2 && is_punct(tokens.get(start - 1), ':') && is_punct(tokens.get(start - 2), ':') {
                let is_text =
                    ["text", "varchar", "name", "\"text\""].iter().any(|t| w.eq_ignore_ascii_case(t));
                let (inner, inner_is_name) = cast_operand(tokens, start - 2)?;
                return Some((inner, inner_is_name || is_text));
            }
            (start, false)
        }
        Token::Punct(')') => {
            let mut depth = 0usize;
            let mut open = last;
            loop {
                match tokens[open].1 {
                    Token::Punct(')') => depth += 1,
                    Token::Punct('(') => {
                        depth -= 1;
                        if depth == 0 {
                            break;
                        }
                    }
                    _ => {}
                }
                open = open.checked_sub(1)?;
            }
            let function = match tokens.get(open.wrapping_sub(1)) {
                Some((_, Token::Word(w))) => !NOT_FUNCTIONS.iter().any(|k| w.eq_ignore_ascii_case(k)),
                _ => false,
            };
            let start = if function { open - 1 } else { open };
            let is_name = function && matches!(tokens[start].1, Token::Word(w) if returns_name(w));
            (start, is_name)
        }
        _ => return None,
    };
    Some((start, is_name))
}

#[cfg(test)]
mod tests {
    use super::super::tests::{one, run};

    #[test]
    fn pg_catalog_qualifiers_are_dropped() {
        assert_eq!(
            run("select pg_catalog.count(i.x), pg_catalog.array_position(a, b) from pg_catalog.pg_class"),
            vec!["select count(i.x), array_position(a, b) from pg_class"]
        );
        let quoted = "select 'pg_catalog.count(1)', x.pg_catalog.y from t";
        assert_eq!(run(quoted), vec![quoted]);
    }

    #[test]
    fn the_public_schema_is_duckdbs_main() {
        assert_eq!(
            one("insert into public.t select * from mallard.\"public\".u where public = 'public.t'"),
            "insert into main.t select * from mallard.main.u where public = 'public.t'"
        );
        let untouched = "select public, 'public.x' from t";
        assert_eq!(run(untouched), vec![untouched]);
    }

    #[test]
    fn pgjdbc_expandarray_and_array_literals() {
        assert_eq!(
            one("select (information_schema._pg_expandarray(i.indkey)).n from pg_catalog.pg_policy p where p.polroles = '{0}'"),
            "select (_pg_expandarray(i.indkey)).n from pg_policy p where p.polroles = '[0]'"
        );
        let json = "select * from pg_catalog.t where doc = '{\"a\": 1}'";
        assert_eq!(one(json), "select * from t where doc = '{\"a\": 1}'");
    }

    #[test]
    fn set_returning_functions_name_their_column_after_the_alias() {
        assert_eq!(
            one("SELECT x FROM pg_catalog.generate_series(0, 3) s, pg_attribute WHERE attnum = prattrs[s]"),
            "SELECT x FROM generate_series(0, 3) s(s), pg_attribute WHERE attnum = prattrs[s]"
        );
        let listed = "select * from generate_series(1, 3) as g(n) join unnest(a) where true";
        assert_eq!(run(listed), vec![listed]);
        let listed = "select x, unnest(k) AS attnum, generate_subscripts(k, 1) AS ord from (select 1) t";
        assert_eq!(run(listed), vec![listed]);
        assert_eq!(one("select json_build_object('a', 1)"), "select json_object('a', 1)");
    }

    #[test]
    fn information_schema_is_the_catalogs() {
        assert_eq!(
            one("select table_name from information_schema.tables t join INFORMATION_SCHEMA.columns c using (table_name)"),
            "select table_name from memory.mallard_information_schema.tables t join memory.mallard_information_schema.columns c using (table_name)"
        );
        assert_eq!(
            one("select 1 from \"information_schema\".\"columns\" c"),
            "select 1 from memory.mallard_information_schema.\"columns\" c"
        );
    }

    #[test]
    fn scalar_calls_in_from_are_one_row() {
        assert_eq!(
            one("select s[i] from generate_series(1, 2) as i, string_to_array(current_setting('search_path'), ',') s"),
            "select s[i] from generate_series(1, 2) as i(i), (SELECT string_to_array(current_setting('search_path'), ',') AS s) AS s"
        );
        let plain = "select string_to_array(a, ',') from t";
        assert_eq!(run(plain), vec![plain]);
    }

    #[test]
    fn psql_operators_and_collations() {
        assert_eq!(
            one("WHERE c.relname OPERATOR(pg_catalog.~) '^(t)$' COLLATE pg_catalog.default AND a OPERATOR(pg_catalog.!~) b"),
            "WHERE c.relname  ~  '(?s).*(?:^(t)$).*'  AND a  !~  b"
        );
        assert_eq!(one("select 'x' collate \"default\", y collate \"C\""), "select 'x' , y collate \"C\"");
    }

    #[test]
    fn reg_casts_become_lookups_or_names() {
        assert_eq!(one("select 'orders'::regclass"), "select regclass_in('orders')");
        assert_eq!(
            one("select 'orders'::regclass::text, 'int4'::regtype::oid"),
            "select regclass_out(regclass_in('orders'))::text, regtype_in('int4')::UINTEGER"
        );
        assert_eq!(
            one("select c.oid::pg_catalog.regclass::pg_catalog.text"),
            "select regclass_out(c.oid)::text"
        );
        assert_eq!(one("where a.attrelid = $1::regclass"), "where a.attrelid = regclass_in($1)");
        assert_eq!(
            one("select 'int4'::regtype::oid, f(x)::regtype"),
            "select regtype_in('int4')::UINTEGER, regtype_out(f(x))"
        );
        assert_eq!(one("select c.relname::text::regclass"), "select regclass_in(c.relname::text)");
        assert_eq!(one("select (a.b)::regnamespace"), "select regnamespace_out((a.b))");
        assert_eq!(
            one("SELECT CAST(CAST(pg_get_serial_sequence(CAST(CAST(a.attrelid AS REGCLASS) AS TEXT), a.attname) AS REGCLASS) AS OID)"),
            "SELECT CAST(regclass_in(pg_get_serial_sequence(CAST(regclass_out(a.attrelid) AS TEXT), a.attname)) AS UINTEGER)"
        );
        assert_eq!(one("select CAST('t' AS pg_catalog.regclass)"), "select regclass_in('t')");
        let plain = "select x::integer, 'regclass' from regclass";
        assert_eq!(run(plain), vec![plain]);
    }

    #[test]
    fn pg_catalog_type_qualifiers_go() {
        assert_eq!(
            one(r#"SELECT quote_literal($1::"pg_catalog"."int4"::text), $2::pg_catalog.text"#),
            r#"SELECT quote_literal($1::"int4"::text), $2::text"#
        );
    }

    #[test]
    fn set_returning_functions_in_the_select_list_make_rows() {
        use super::super::tests::{one, run};
        assert_eq!(
            one("select generate_series(1, 3)"),
            "select unnest(generate_series(1, 3)) AS generate_series"
        );
        assert_eq!(
            one("select x, generate_series(1, x) as n from t"),
            "select x, unnest(generate_series(1, x)) as n from t"
        );
        assert_eq!(one("select generate_series(1, 2) * 2"), "select unnest(generate_series(1, 2)) * 2");
        let from = "select * from generate_series(1, 3) g(g)";
        assert_eq!(run(from), vec![from]);
    }
}
