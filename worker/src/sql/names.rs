//! Result column names as PostgreSQL chooses them. DuckDB names an unaliased column
//! after its whole expression (`count_star()`, `(a + 1)`, `CAST(x AS VARCHAR)`);
//! PostgreSQL names it after the function, the column or the type, and `?column?`
//! otherwise. Clients see the difference: psql headers, and drivers that key rows by
//! column name (`row["count"]`).
//!
//! The select list of a plain `SELECT` is read token by token; each item without an
//! alias gets PostgreSQL's name. Anything this cannot read keeps DuckDB's names.

use super::lexer::Token;
use super::statement::Statement;

/// Words that end a select list.
const LIST_END: &[&str] = &[
    "FROM",
    "WHERE",
    "GROUP",
    "HAVING",
    "WINDOW",
    "ORDER",
    "LIMIT",
    "OFFSET",
    "UNION",
    "INTERSECT",
    "EXCEPT",
    "FETCH",
    "FOR",
    "INTO",
    "QUALIFY",
];

/// Words after which a following identifier continues the expression rather than
/// naming it (`a IS NULL`, `x::double precision`).
const NOT_ALIAS: &[&str] = &[
    "AND",
    "OR",
    "NOT",
    "IS",
    "NULL",
    "TRUE",
    "FALSE",
    "IN",
    "LIKE",
    "ILIKE",
    "BETWEEN",
    "SIMILAR",
    "DISTINCT",
    "END",
    "THEN",
    "ELSE",
    "WHEN",
    "CASE",
    "PRECISION",
    "VARYING",
    "ZONE",
    "TIME",
    "TIMESTAMP",
    "WITH",
    "WITHOUT",
    "ESCAPE",
    "COLLATE",
    "INTERVAL",
    "DATE",
    "ANY",
    "ALL",
    "SOME",
    "ARRAY",
    "ROW",
    "OVER",
    "FILTER",
    "WITHIN",
];

/// Bare words PostgreSQL treats as functions and names after themselves.
pub(super) const VALUE_FUNCTIONS: &[&str] = &[
    "CURRENT_DATE",
    "CURRENT_TIME",
    "CURRENT_TIMESTAMP",
    "LOCALTIME",
    "LOCALTIMESTAMP",
    "CURRENT_USER",
    "CURRENT_ROLE",
    "SESSION_USER",
    "USER",
    "CURRENT_CATALOG",
    "CURRENT_SCHEMA",
];

/// PostgreSQL's name for each column of a plain `SELECT`, `None` where the item has an
/// alias (DuckDB already uses it). `None` overall when the list cannot be read, or
/// holds a `*` (its width is unknown here).
pub fn postgres_names(statement: &Statement<'_>) -> Option<Vec<Option<String>>> {
    let tokens: Vec<Token<'_>> = statement.tokens().iter().map(|(_, t)| *t).collect();
    let (items, _) = select_list(&tokens)?;
    items.iter().map(|item| item_name(item)).collect()
}

/// The items of a `SELECT`'s select list, and the index of the token that ends it
/// (`FROM`, `WHERE`, ..., `;` or the end). `None` if the tokens are no `SELECT`.
pub(super) fn select_list<'t, 'a>(tokens: &'t [Token<'a>]) -> Option<(Vec<&'t [Token<'a>]>, usize)> {
    let mut i = match tokens.first() {
        Some(Token::Word(w)) if w.eq_ignore_ascii_case("SELECT") => 1,
        _ => return None,
    };
    // DISTINCT [ON (...)] / ALL
    if let Some(Token::Word(w)) = tokens.get(i) {
        if w.eq_ignore_ascii_case("ALL") {
            i += 1;
        } else if w.eq_ignore_ascii_case("DISTINCT") {
            i += 1;
            if matches!(tokens.get(i), Some(Token::Word(w)) if w.eq_ignore_ascii_case("ON")) {
                i = skip_group(tokens, i + 1)?;
            }
        }
    }
    let mut items: Vec<&[Token<'_>]> = Vec::new();
    let mut depth = 0i32;
    let mut start = i;
    while i < tokens.len() {
        match &tokens[i] {
            Token::Punct('(' | '[') => depth += 1,
            Token::Punct(')' | ']') => depth -= 1,
            Token::Punct(',') if depth == 0 => {
                items.push(&tokens[start..i]);
                start = i + 1;
            }
            Token::Punct(';') if depth == 0 => break,
            Token::Word(w) if depth == 0 && LIST_END.iter().any(|e| w.eq_ignore_ascii_case(e)) => break,
            _ => {}
        }
        i += 1;
    }
    items.push(&tokens[start..i]);
    Some((items, i))
}

/// Skips a parenthesised group starting at `i`; returns the index after it.
pub(super) fn skip_group(tokens: &[Token<'_>], i: usize) -> Option<usize> {
    if tokens.get(i) != Some(&Token::Punct('(')) {
        return None;
    }
    let mut depth = 0;
    for (j, t) in tokens.iter().enumerate().skip(i) {
        match t {
            Token::Punct('(') => depth += 1,
            Token::Punct(')') => {
                depth -= 1;
                if depth == 0 {
                    return Some(j + 1);
                }
            }
            _ => {}
        }
    }
    None
}

/// `Some(None)`: aliased. `Some(Some(name))`: PostgreSQL's name. `None`: unreadable,
/// or a star.
fn item_name(item: &[Token<'_>]) -> Option<Option<String>> {
    if item.is_empty() || item.contains(&Token::Punct('*')) && is_star(item) {
        return None;
    }
    if has_alias(item) {
        // An unquoted alias is folded to lower case (`AS TABLE_SCHEM`, as pgjdbc writes
        // it); DuckDB keeps its case.
        return Some(match item.last() {
            Some(Token::Word(w)) if w.bytes().any(|b| b.is_ascii_uppercase()) => Some(w.to_lowercase()),
            _ => None,
        });
    }
    Some(Some(expression_name(item).unwrap_or_else(|| "?column?".to_owned())))
}

fn is_star(item: &[Token<'_>]) -> bool {
    matches!(item.last(), Some(Token::Punct('*')))
        && (item.len() == 1 || matches!(item.get(item.len() - 2), Some(Token::Punct('.'))))
}

pub(super) fn has_alias(item: &[Token<'_>]) -> bool {
    let n = item.len();
    if n < 2 {
        return false;
    }
    let last_is_name = match &item[n - 1] {
        Token::Word(w) => !NOT_ALIAS.iter().any(|k| w.eq_ignore_ascii_case(k)),
        Token::QuotedIdent(_) => true,
        _ => false,
    };
    if !last_is_name {
        return false;
    }
    match &item[n - 2] {
        Token::Word(w) if w.eq_ignore_ascii_case("AS") => true,
        // `expr name`: an expression ends in a name, literal, number or bracket, and
        // the name is not part of a type after `::`.
        Token::Punct(')' | ']') | Token::Literal(_) | Token::Number(_) => true,
        Token::Word(w) => !(NOT_ALIAS.iter().any(|k| w.eq_ignore_ascii_case(k)) || in_cast_type(item, n - 2)),
        Token::QuotedIdent(_) => !in_cast_type(item, n - 2),
        _ => false,
    }
}

/// Whether the name at `i` is part of a type after `::` (`x::double precision`,
/// `x::pg_catalog.int4`), so that a name after it is still the type's (`precision`),
/// not an alias; a qualified column (`t.a b`) is followed by its alias.
fn in_cast_type(item: &[Token<'_>], i: usize) -> bool {
    let mut at = i;
    // Back over a dotted name: `pg_catalog.int4`, `t.a`.
    while at >= 2
        && item[at - 1] == Token::Punct('.')
        && matches!(item[at - 2], Token::Word(_) | Token::QuotedIdent(_))
    {
        at -= 2;
    }
    at >= 1 && item[at - 1] == Token::Punct(':')
}

/// The name PostgreSQL gives an expression, `None` for `?column?`.
fn expression_name(item: &[Token<'_>]) -> Option<String> {
    named(item, false)
}

/// The name of an expression; with `strong`, only a name PostgreSQL ranks above a type's
/// or `case` (a column's, a function's), which is what a CASE takes from its ELSE.
fn named(item: &[Token<'_>], strong: bool) -> Option<String> {
    // A trailing cast: the inner expression's name, else the type's. A cast binds
    // tighter than any operator: `a = b::regclass` casts b only, and is `?column?`.
    if let Some(at) = last_top_level_cast(item) {
        if !is_operand(&item[..at]) {
            return None;
        }
        // A type's name or `case` inside gives way to the outer type's (`1::int::text`).
        return named(&item[..at], true).or_else(|| if strong { None } else { type_name(&item[at + 2..]) });
    }
    // `(a)`: the name of what the brackets hold; `(SELECT x ...)`, of its first column.
    if item.first() == Some(&Token::Punct('(')) && skip_group(item, 0) == Some(item.len()) && item.len() > 2 {
        let inner = &item[1..item.len() - 1];
        if let Some((columns, _)) = select_list(inner) {
            let first = columns.first()?;
            return if has_alias(first) { name_of(first.last()?) } else { named(first, strong) };
        }
        return named(inner, strong);
    }
    match item {
        [Token::Word(w)] => {
            let upper = w.to_ascii_uppercase();
            if VALUE_FUNCTIONS.contains(&upper.as_str()) {
                return Some(w.to_ascii_lowercase());
            }
            (!matches!(upper.as_str(), "NULL" | "TRUE" | "FALSE")).then(|| w.to_ascii_lowercase())
        }
        [Token::QuotedIdent(q)] => Some(unquote(q)),
        // Qualified column: `t.a`, `s.t.a`.
        [.., Token::Punct('.'), last @ (Token::Word(_) | Token::QuotedIdent(_))] if is_dotted(item) => {
            name_of(last)
        }
        // CASE is named after its ELSE, if that has a name of its own.
        [Token::Word(w), ..] if w.eq_ignore_ascii_case("CASE") => {
            case_else(item).and_then(|e| named(e, true)).or_else(|| (!strong).then(|| "case".into()))
        }
        [Token::Word(w), Token::Punct('[' | '('), ..] if w.eq_ignore_ascii_case("ARRAY") => {
            Some("array".into())
        }
        [Token::Word(_), Token::Literal(_)] if !strong => type_name(&item[..1]),
        [Token::Word(_), Token::Literal(_)] => None,
        _ => function_name(item, strong),
    }
}

/// The ELSE expression of `CASE ... ELSE e END` spanning the whole item.
fn case_else<'t, 'a>(item: &'t [Token<'a>]) -> Option<&'t [Token<'a>]> {
    let is = |t: &Token<'_>, w: &str| matches!(t, Token::Word(x) if x.eq_ignore_ascii_case(w));
    if !item.last().is_some_and(|t| is(t, "END")) {
        return None;
    }
    let (mut depth, mut cases, mut at) = (0i32, 0i32, None);
    for (i, t) in item.iter().enumerate() {
        match t {
            Token::Punct('(' | '[') => depth += 1,
            Token::Punct(')' | ']') => depth -= 1,
            _ if depth == 0 && is(t, "CASE") => cases += 1,
            _ if depth == 0 && is(t, "END") => cases -= 1,
            _ if depth == 0 && cases == 1 && is(t, "ELSE") => at = Some(i),
            _ => {}
        }
    }
    at.map(|i| &item[i + 1..item.len() - 1])
}

/// `f(...)` or `schema.f(...)` spanning the whole item: the function's name, with
/// PostgreSQL's spelling for the special forms.
fn function_name(item: &[Token<'_>], strong: bool) -> Option<String> {
    let open = item.iter().position(|t| *t == Token::Punct('('))?;
    if open == 0 || skip_group(item, open)? != item.len() || !is_dotted(&item[..open]) {
        return None;
    }
    let name = name_of(&item[open - 1])?;
    Some(match name.as_str() {
        "cast" => {
            let inner = &item[open + 1..item.len() - 1];
            let as_at =
                inner.iter().rposition(|t| matches!(t, Token::Word(w) if w.eq_ignore_ascii_case("AS")))?;
            return named(&inner[..as_at], strong).or_else(|| {
                if strong {
                    None
                } else {
                    type_name(&inner[as_at + 1..])
                }
            });
        }
        "count_star" => "count".into(),
        // `trim(trailing ';' from x)` is rtrim to PostgreSQL.
        "trim" => match item.get(open + 1) {
            Some(Token::Word(w)) if w.eq_ignore_ascii_case("LEADING") => "ltrim".into(),
            Some(Token::Word(w)) if w.eq_ignore_ascii_case("TRAILING") => "rtrim".into(),
            _ => "btrim".into(),
        },
        _ => name,
    })
}

/// Index of the first `:` of the last `::` at depth 0.
fn last_top_level_cast(item: &[Token<'_>]) -> Option<usize> {
    let mut depth = 0i32;
    let mut found = None;
    for (i, t) in item.iter().enumerate() {
        match t {
            // CASE ... END brackets its casts too.
            Token::Punct('(' | '[') => depth += 1,
            Token::Word(w) if w.eq_ignore_ascii_case("CASE") => depth += 1,
            Token::Punct(')' | ']') => depth -= 1,
            Token::Word(w) if w.eq_ignore_ascii_case("END") => depth -= 1,
            Token::Punct(':') if depth == 0 && item.get(i + 1) == Some(&Token::Punct(':')) => {
                found = Some(i);
            }
            _ => {}
        }
    }
    found.filter(|&i| i > 0)
}

/// Whether `tokens` are one operand, with no operator at the top level (in or out of
/// brackets, CASE ... END): what a `::` after them casts as a whole.
fn is_operand(tokens: &[Token<'_>]) -> bool {
    const OPERATORS: &[&str] =
        &["AND", "OR", "NOT", "IS", "LIKE", "ILIKE", "IN", "BETWEEN", "SIMILAR", "COLLATE"];
    let mut depth = 0i32;
    tokens.iter().all(|t| {
        match t {
            Token::Punct('(' | '[') => depth += 1,
            Token::Word(w) if w.eq_ignore_ascii_case("CASE") => depth += 1,
            Token::Punct(')' | ']') => depth -= 1,
            Token::Word(w) if w.eq_ignore_ascii_case("END") => depth -= 1,
            // `.` qualifies a name; `:` is an earlier cast of the same operand.
            Token::Punct(c) if depth == 0 => return matches!(c, '.' | ':'),
            Token::Word(w) if depth == 0 => return !OPERATORS.iter().any(|o| w.eq_ignore_ascii_case(o)),
            _ => {}
        }
        true
    })
}

/// PostgreSQL's internal name for a type as written (`integer` is `int4`).
fn type_name(tokens: &[Token<'_>]) -> Option<String> {
    let words: Vec<String> = tokens
        .iter()
        .take_while(|t| !matches!(t, Token::Punct('(' | '[')))
        .filter_map(|t| match t {
            Token::Word(w) => Some(w.to_ascii_lowercase()),
            Token::QuotedIdent(q) => Some(unquote(q)),
            _ => None,
        })
        .collect();
    let last = words.last()?;
    // `"char"`, quoted, is PostgreSQL's one-byte type, not `char` (bpchar).
    if matches!(tokens.first(), Some(Token::QuotedIdent(q)) if q.eq_ignore_ascii_case("\"char\"")) {
        return Some("char".to_owned());
    }
    let joined = words.join(" ");
    Some(
        match joined.as_str() {
            "int" | "integer" | "int4" => "int4",
            "smallint" | "int2" => "int2",
            "bigint" | "int8" => "int8",
            "real" | "float4" => "float4",
            "double precision" | "float8" | "float" => "float8",
            "boolean" | "bool" => "bool",
            "decimal" | "numeric" => "numeric",
            "character varying" | "varchar" => "varchar",
            "character" | "char" | "bpchar" => "bpchar",
            "timestamp with time zone" | "timestamptz" => "timestamptz",
            "timestamp without time zone" | "timestamp" => "timestamp",
            "time with time zone" | "timetz" => "timetz",
            "time without time zone" | "time" => "time",
            _ => last.as_str(),
        }
        .to_owned(),
    )
}

fn is_dotted(tokens: &[Token<'_>]) -> bool {
    tokens.iter().enumerate().all(|(i, t)| match i % 2 {
        0 => matches!(t, Token::Word(_) | Token::QuotedIdent(_)),
        _ => *t == Token::Punct('.'),
    })
}

fn name_of(token: &Token<'_>) -> Option<String> {
    match token {
        Token::Word(w) => Some(w.to_ascii_lowercase()),
        Token::QuotedIdent(q) => Some(unquote(q)),
        _ => None,
    }
}

pub(super) fn unquote(q: &str) -> String {
    q[1..q.len() - 1].replace("\"\"", "\"")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn postgres_names(sql: &str) -> Option<Vec<Option<String>>> {
        super::postgres_names(&Statement::new(sql))
    }

    fn names(sql: &str) -> Vec<Option<String>> {
        postgres_names(sql).unwrap_or_else(|| panic!("unreadable: {sql}"))
    }

    fn one(sql: &str) -> String {
        names(sql).remove(0).unwrap_or_else(|| panic!("aliased: {sql}"))
    }

    #[test]
    fn names_follow_postgres() {
        // Each expected name is what PostgreSQL 15 reports for the same select list.
        let cases = [
            ("select count(*) from t", "count"),
            ("select pg_catalog.count(*)", "count"),
            ("select sum(x) from t", "sum"),
            ("select 1", "?column?"),
            ("select 1 + 1", "?column?"),
            ("select 'a'", "?column?"),
            ("select null", "?column?"),
            ("select a from t", "a"),
            ("select t.A from t", "a"),
            ("select \"Mixed Case\" from t", "Mixed Case"),
            ("select a::text from t", "a"),
            ("select '1'::int", "int4"),
            ("select 1::bigint", "int8"),
            ("select 2.5::double precision", "float8"),
            ("select cast(1 as integer)", "int4"),
            ("select cast(a as text) from t", "a"),
            ("select now()", "now"),
            ("select now()::date", "now"),
            ("select current_date", "current_date"),
            ("select case when a then 1 end from t", "case"),
            ("select (select pg_get_expr(d.adbin, d.adrelid) from d) from t", "pg_get_expr"),
            ("select (select x.b as bee from x limit 1) from t", "bee"),
            ("select trim(trailing ';' from f(x)) from t", "rtrim"),
            ("select trim(both from x) from t", "btrim"),
            ("select case when a then '' else c.reloftype::regtype::text end from c", "reloftype"),
            ("select case when a then 1 else 'x'::text end from t", "case"),
            ("select case when a then 1 else lower(b) end from t", "lower"),
            ("select case when a then case when b then 1 else x end else 2 end from t", "case"),
            ("select array[1, 2]", "array"),
            ("select coalesce(a, 0) from t", "coalesce"),
            ("select date '2024-01-01'", "date"),
            ("select a is null from t", "?column?"),
            ("select distinct on (a) b from t", "b"),
            ("select c.oid = 'x'::regclass from c", "?column?"),
            ("select -1::int", "?column?"),
            ("select 'a' || 'b'::text", "?column?"),
            ("select not true::bool", "?column?"),
            ("select (1 + 2)::int", "int4"),
            ("select 1::int::text", "text"),
            ("select array[1]::int[]", "array"),
            ("select case when a then 1 end::text from t", "text"),
            ("select now()::date::text", "now"),
            ("select x.oid::regclass from x", "oid"),
        ];
        for (sql, name) in cases {
            assert_eq!(one(sql), name, "{sql}");
        }
    }

    #[test]
    fn aliases_and_lists() {
        assert_eq!(
            names("select a as x, b y, count(*) c, 1 + 1, upper(s) from t where q"),
            vec![None, None, None, Some("?column?".into()), Some("upper".into())]
        );
        assert_eq!(names("select (1 + 2) \"Total\""), vec![None]);
        assert_eq!(
            names("select n AS TABLE_SCHEM, m Mixed from t"),
            vec![Some("table_schem".into()), Some("mixed".into())]
        );
        assert_eq!(postgres_names("select * from t"), None);
        assert_eq!(postgres_names("select t.*, 1 from t"), None);
        assert_eq!(postgres_names("insert into t values (1)"), None);
        assert_eq!(names("select 2 * 3"), vec![Some("?column?".into())]);
    }
}
