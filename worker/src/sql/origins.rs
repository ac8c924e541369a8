//! Which table column each result column of a statement is, as far as its text tells.
//! PostgreSQL's `RowDescription` names the table and the column number of a result
//! column that is a plain reference to a table column, and reports the column's
//! declared type; pgjdbc's `ResultSetMetaData` and updatable result sets, and BI tools,
//! look the table up by them.
//!
//! This reads the select list and `FROM` clause of a plain `SELECT` (and of the subqueries
//! in its `FROM` and the queries of its `WITH`, as PostgreSQL follows a column through
//! them: BI tools wrap a user's query in `SELECT * FROM (...) AS source`), and the target
//! and `RETURNING` list of `INSERT`, `UPDATE` and `DELETE`, token by token. The session
//! resolves the names in the catalog ([`crate::catalog::relations`]). A statement this
//! cannot read (`WITH RECURSIVE`, a function in `FROM`, a set operation, `USING` joins,
//! column aliases of a subquery or a `WITH` query) attributes nothing, and its columns
//! keep the result type alone.

use super::lexer::Token;
use super::names::{select_list, skip_group, unquote};
use super::statement::Statement;

/// A relation the statement reads or writes, as written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Source {
    /// The schema, folded as PostgreSQL folds an identifier.
    pub schema: Option<String>,
    pub name: String,
    /// The alias the statement gives it.
    pub alias: Option<String>,
    /// A subquery in `FROM`: what it reads and returns. Its alias is its name.
    pub derived: Option<Box<Sources>>,
}

impl Source {
    /// Whether `qualifier` (the `t` of `t.a`) names this relation.
    pub fn is_called(&self, qualifier: &str) -> bool {
        self.alias.as_deref().unwrap_or(&self.name).eq_ignore_ascii_case(qualifier)
    }
}

/// What one result column is, as written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Item {
    /// `a`, `t.a`, `a AS x`: `label` is the result column's name as written (the alias,
    /// else the column).
    Column { qualifier: Option<String>, name: String, label: String },
    /// `*`, `t.*`: every column of the relations named, in order.
    Star { qualifier: Option<String> },
    /// Anything else: PostgreSQL attributes it to no table.
    Computed,
}

/// The relations of a statement and its result columns as written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sources {
    pub relations: Vec<Source>,
    pub items: Vec<Item>,
}

/// Words that end a `FROM` clause or a join's condition.
const FROM_END: &[&str] = &[
    "WHERE",
    "GROUP",
    "HAVING",
    "WINDOW",
    "ORDER",
    "LIMIT",
    "OFFSET",
    "FETCH",
    "FOR",
    "QUALIFY",
    "UNION",
    "INTERSECT",
    "EXCEPT",
    "RETURNING",
];

/// Words that are never a relation's alias.
const NOT_ALIAS: &[&str] = &[
    "JOIN",
    "INNER",
    "LEFT",
    "RIGHT",
    "FULL",
    "CROSS",
    "NATURAL",
    "ON",
    "USING",
    "TABLESAMPLE",
    "SET",
    "LATERAL",
    "AS",
    "DEFAULT",
    "VALUES",
    "SELECT",
];

/// Bare words that are values, not column references (with the value functions).
const NOT_COLUMN: &[&str] = &["NULL", "TRUE", "FALSE", "DEFAULT"];

/// The relations and result columns of a statement, `None` when it has no result
/// column that can be a table's or its text cannot be read.
pub fn column_sources(statement: &Statement<'_>) -> Option<Sources> {
    let tokens: Vec<Token<'_>> = statement.tokens().iter().map(|(_, t)| *t).collect();
    let Some(Token::Word(first)) = tokens.first() else { return None };
    let sources = match first.to_ascii_uppercase().as_str() {
        "SELECT" => select(&tokens)?,
        "WITH" => with(&tokens)?,
        "INSERT" | "UPDATE" | "DELETE" => returning(&tokens)?,
        _ => return None,
    };
    sources.items.iter().any(|i| *i != Item::Computed).then_some(sources)
}

fn select(tokens: &[Token<'_>]) -> Option<Sources> {
    let (list, end) = select_list(tokens)?;
    let items: Vec<Item> = list.iter().map(|item| read_item(item)).collect();
    if items.iter().all(|i| *i == Item::Computed) || !is_word(tokens.get(end), "FROM") {
        return None;
    }
    let (relations, rest) = from_list(tokens, end + 1)?;
    // A set operation's columns are no table's.
    if top_level(&tokens[rest..]).any(|t| is_any(Some(t), &["UNION", "INTERSECT", "EXCEPT"])) {
        return None;
    }
    Some(Sources { relations, items })
}

/// `WITH q AS ([NOT] [MATERIALIZED] (SELECT ...)), ... SELECT ...`: the final `SELECT`,
/// whose unqualified relations named like a `WITH` query are that query (as are those
/// of later `WITH` queries).
fn with(tokens: &[Token<'_>]) -> Option<Sources> {
    let mut queries: Vec<(String, Sources)> = Vec::new();
    let mut i = 1;
    loop {
        let name = ident(tokens.get(i)?).filter(|_| !is_word(tokens.get(i), "RECURSIVE"))?;
        i += 1;
        if !is_word(tokens.get(i), "AS") {
            return None;
        }
        i += 1;
        if is_word(tokens.get(i), "NOT") {
            i += 1;
        }
        if is_word(tokens.get(i), "MATERIALIZED") {
            i += 1;
        }
        let close = skip_group(tokens, i)? - 1;
        let mut query = select(&tokens[i + 1..close])?;
        name_queries(&mut query, &queries);
        queries.push((name, query));
        i = close + 1;
        if tokens.get(i) != Some(&Token::Punct(',')) {
            break;
        }
        i += 1;
    }
    if !is_word(tokens.get(i), "SELECT") {
        return None;
    }
    let mut sources = select(&tokens[i..])?;
    name_queries(&mut sources, &queries);
    Some(sources)
}

/// Makes each unqualified relation of `sources` called like one of `queries` that query.
fn name_queries(sources: &mut Sources, queries: &[(String, Sources)]) {
    for source in sources.relations.iter_mut().filter(|s| s.schema.is_none() && s.derived.is_none()) {
        if let Some((_, query)) = queries.iter().rev().find(|(name, _)| *name == source.name) {
            source.derived = Some(Box::new(query.clone()));
        }
    }
}

/// `INSERT INTO t [AS a] ... RETURNING`, `UPDATE [ONLY] t [[AS] a] SET ... RETURNING`,
/// `DELETE FROM t [[AS] a] ... RETURNING`: the target's columns. An `UPDATE ... FROM`
/// or `DELETE ... USING` may return other tables' columns too; those are not read.
fn returning(tokens: &[Token<'_>]) -> Option<Sources> {
    let mut depth = 0i32;
    let at = tokens
        .iter()
        .enumerate()
        .filter(|(_, t)| {
            match t {
                Token::Punct('(' | '[') => depth += 1,
                Token::Punct(')' | ']') => depth -= 1,
                _ => {}
            }
            depth == 0 && is_word(Some(t), "RETURNING")
        })
        .map(|(i, _)| i)
        .last()?;
    let mut i = 1;
    let update = is_word(tokens.first(), "UPDATE");
    if update {
        if is_word(tokens.get(i), "ONLY") {
            i += 1;
        }
    } else if is_any(tokens.get(i), &["INTO", "FROM"]) {
        i += 1;
    } else {
        return None;
    }
    let (target, _) = named(tokens, i)?;
    let joined = if update { "FROM" } else { "USING" };
    if top_level(&tokens[i..at]).any(|t| is_word(Some(t), joined)) {
        return None;
    }
    let items = split_items(&tokens[at + 1..]).into_iter().map(read_item).collect();
    Some(Sources { relations: vec![target], items })
}

/// The tokens at parenthesis depth 0 (the brackets themselves excluded).
fn top_level<'t, 'a>(tokens: &'t [Token<'a>]) -> impl Iterator<Item = &'t Token<'a>> + 't {
    let mut depth = 0i32;
    tokens.iter().filter(move |t| {
        match t {
            Token::Punct('(' | '[') => depth += 1,
            Token::Punct(')' | ']') => {
                depth -= 1;
                return false;
            }
            _ => {}
        }
        depth == 0
    })
}

/// Splits a list at its top-level commas, up to a `;`.
fn split_items<'t, 'a>(tokens: &'t [Token<'a>]) -> Vec<&'t [Token<'a>]> {
    let mut items = Vec::new();
    let (mut depth, mut start) = (0i32, 0);
    for (i, t) in tokens.iter().enumerate() {
        match t {
            Token::Punct('(' | '[') => depth += 1,
            Token::Punct(')' | ']') => depth -= 1,
            Token::Punct(',') if depth == 0 => {
                items.push(&tokens[start..i]);
                start = i + 1;
            }
            Token::Punct(';') if depth == 0 => {
                items.push(&tokens[start..i]);
                return items;
            }
            _ => {}
        }
    }
    items.push(&tokens[start..]);
    items
}

/// A select list or `RETURNING` item: a column reference, a star, or computed.
fn read_item(item: &[Token<'_>]) -> Item {
    // `(a)` is still the column.
    if let [Token::Punct('('), inner @ .., Token::Punct(')')] = item {
        if !inner.contains(&Token::Punct('(')) {
            return match read_item(inner) {
                column @ Item::Column { .. } => column,
                _ => Item::Computed,
            };
        }
    }
    let alias = |t: &Token<'_>| ident(t).filter(|_| !is_any(Some(t), NOT_ALIAS));
    let (expr, label) = match item {
        [expr @ .., as_, a] if is_word(Some(as_), "AS") && ident(a).is_some() => (expr, ident(a)),
        // `a x`, `t.a x`
        [.., a] if item.len() == 2 || item.len() == 4 && item[1] == Token::Punct('.') => match alias(a) {
            Some(a) => (&item[..item.len() - 1], Some(a)),
            None => return Item::Computed,
        },
        _ => (item, None),
    };
    let column = |t: &Token<'_>| {
        ident(t).filter(|_| !is_any(Some(t), NOT_COLUMN) && !is_any(Some(t), super::names::VALUE_FUNCTIONS))
    };
    let (qualifier, name) = match expr {
        [Token::Punct('*')] if label.is_none() => return Item::Star { qualifier: None },
        [q, Token::Punct('.'), Token::Punct('*')] if label.is_none() => {
            return ident(q).map_or(Item::Computed, |q| Item::Star { qualifier: Some(q) })
        }
        [c] => (None, column(c)),
        [q, Token::Punct('.'), c] => match ident(q) {
            Some(q) => (Some(q), ident(c)),
            None => return Item::Computed,
        },
        _ => return Item::Computed,
    };
    match name {
        Some(name) => Item::Column { qualifier, label: label.unwrap_or_else(|| name.clone()), name },
        None => Item::Computed,
    }
}

/// `FROM a [, b] [[INNER | LEFT | RIGHT | FULL [OUTER] | CROSS] JOIN c [ON ...]] ...`,
/// from `i`: the relations and the index where the clause ends.
fn from_list(tokens: &[Token<'_>], mut i: usize) -> Option<(Vec<Source>, usize)> {
    let mut relations = Vec::new();
    loop {
        let (source, next) = relation(tokens, i)?;
        relations.push(source);
        i = next;
        if is_word(tokens.get(i), "ON") {
            i = skip_condition(tokens, i + 1);
        }
        match tokens.get(i) {
            None | Some(Token::Punct(';')) => return Some((relations, i)),
            Some(Token::Punct(',')) => i += 1,
            t if is_any(t, FROM_END) => return Some((relations, i)),
            _ => i = join(tokens, i)?,
        }
    }
}

/// Past the words of a join at `i` (`LEFT OUTER JOIN`), `None` if `i` starts none that
/// keeps each side's columns as they are (`NATURAL`, or anything unknown).
fn join(tokens: &[Token<'_>], mut i: usize) -> Option<usize> {
    if is_any(tokens.get(i), &["INNER", "CROSS"]) {
        i += 1;
    } else if is_any(tokens.get(i), &["LEFT", "RIGHT", "FULL"]) {
        i += 1;
        if is_word(tokens.get(i), "OUTER") {
            i += 1;
        }
    }
    is_word(tokens.get(i), "JOIN").then_some(i + 1)
}

/// Past a join's `ON` condition: to the next join, comma or clause at depth 0.
fn skip_condition(tokens: &[Token<'_>], mut i: usize) -> usize {
    let mut depth = 0i32;
    while let Some(t) = tokens.get(i) {
        match t {
            Token::Punct('(' | '[') => depth += 1,
            Token::Punct(')' | ']') => depth -= 1,
            Token::Punct(',' | ';') if depth == 0 => return i,
            _ if depth == 0 && (is_any(Some(t), FROM_END) || join(tokens, i).is_some()) => return i,
            _ => {}
        }
        i += 1;
    }
    i
}

/// `[schema.]name [[AS] alias]` or `(SELECT ...) [AS] alias` at `i` in `FROM`, and the
/// index after it. `None` for anything else: a table function, a column alias list,
/// `USING`.
fn relation(tokens: &[Token<'_>], i: usize) -> Option<(Source, usize)> {
    if tokens.get(i) == Some(&Token::Punct('(')) {
        return derived(tokens, i);
    }
    let (source, i) = named(tokens, i)?;
    if tokens.get(i) == Some(&Token::Punct('(')) || is_word(tokens.get(i), "USING") {
        return None;
    }
    Some((source, i))
}

/// `(SELECT ...) [AS] alias` at `i` (PostgreSQL 15 requires the alias), and the index
/// after it.
fn derived(tokens: &[Token<'_>], i: usize) -> Option<(Source, usize)> {
    let close = skip_group(tokens, i)? - 1;
    let inner = select(&tokens[i + 1..close])?;
    let mut at = close + 1;
    if is_word(tokens.get(at), "AS") {
        at += 1;
    }
    let alias = tokens.get(at).filter(|t| !is_any(Some(*t), NOT_ALIAS) && !is_any(Some(*t), FROM_END));
    let alias = ident(alias?)?;
    if tokens.get(at + 1) == Some(&Token::Punct('(')) {
        return None;
    }
    let source =
        Source { schema: None, name: alias.clone(), alias: Some(alias), derived: Some(Box::new(inner)) };
    Some((source, at + 1))
}

/// `[schema.]name [[AS] alias]` at `i`, and the index after it.
fn named(tokens: &[Token<'_>], mut i: usize) -> Option<(Source, usize)> {
    let first = ident(tokens.get(i)?).filter(|_| !is_any(tokens.get(i), NOT_ALIAS))?;
    i += 1;
    let (schema, name) = if tokens.get(i) == Some(&Token::Punct('.')) {
        let name = ident(tokens.get(i + 1)?)?;
        i += 2;
        (Some(first), name)
    } else {
        (None, first)
    };
    match tokens.get(i) {
        Some(Token::Punct('.')) => return None,
        Some(Token::Punct('(')) => return Some((Source { schema, name, alias: None, derived: None }, i)),
        _ => {}
    }
    let mut alias = None;
    let explicit = is_word(tokens.get(i), "AS");
    let at = if explicit { i + 1 } else { i };
    match tokens.get(at) {
        Some(t) if ident(t).is_some() && !is_any(Some(t), NOT_ALIAS) && !is_any(Some(t), FROM_END) => {
            alias = ident(t);
            i = at + 1;
        }
        _ if explicit => return None,
        _ => {}
    }
    Some((Source { schema, name, alias, derived: None }, i))
}

/// An identifier as PostgreSQL folds it.
fn ident(token: &Token<'_>) -> Option<String> {
    match token {
        Token::Word(w) => Some(w.to_ascii_lowercase()),
        Token::QuotedIdent(q) => Some(unquote(q)),
        _ => None,
    }
}

fn is_word(token: Option<&Token<'_>>, word: &str) -> bool {
    matches!(token, Some(Token::Word(w)) if w.eq_ignore_ascii_case(word))
}

fn is_any(token: Option<&Token<'_>>, words: &[&str]) -> bool {
    words.iter().any(|w| is_word(token, w))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(sql: &str) -> Option<Sources> {
        column_sources(&Statement::new(sql))
    }

    fn col(qualifier: Option<&str>, name: &str, label: &str) -> Item {
        Item::Column {
            qualifier: qualifier.map(str::to_owned),
            name: name.to_owned(),
            label: label.to_owned(),
        }
    }

    fn source(schema: Option<&str>, name: &str, alias: Option<&str>) -> Source {
        Source {
            schema: schema.map(str::to_owned),
            name: name.to_owned(),
            alias: alias.map(str::to_owned),
            derived: None,
        }
    }

    #[test]
    fn select_lists_and_from_clauses() {
        let s = read("select a, t.B, x as y, a + 1, *, t.* from t where a = $1").expect("read");
        assert_eq!(s.relations, vec![source(None, "t", None)]);
        assert_eq!(
            s.items,
            vec![
                col(None, "a", "a"),
                col(Some("t"), "b", "b"),
                col(None, "x", "y"),
                Item::Computed,
                Item::Star { qualifier: None },
                Item::Star { qualifier: Some("t".into()) }
            ]
        );
        let s = read(
            "select u.a z from s.t as u left outer join \"V\" v on u.id = v.id and left(u.a, 1) = 'x', w",
        )
        .expect("read");
        assert_eq!(s.items, vec![col(Some("u"), "a", "z")]);
        assert_eq!(
            s.relations,
            vec![source(Some("s"), "t", Some("u")), source(None, "V", Some("v")), source(None, "w", None)]
        );
        let s = read("select a from t order by a limit 3").expect("read");
        assert_eq!(s.relations, vec![source(None, "t", None)]);
    }

    #[test]
    fn what_is_not_read() {
        for sql in [
            "select 1",
            "select a::text, count(*) from t",
            "select a from t union select b from u",
            "select a from (select a from t) q(b)",
            "select a from (select a from t union select b from u) q",
            "select a from generate_series(1, 3) g(a)",
            "select a from t join u using (a)",
            "select a from t natural join u",
            "with recursive q as (select 1 a) select a from q",
            "with q(b) as (select a from t) select b from q",
            "select null, true, current_date, (a + 1), (*) from t",
            "insert into t values (1)",
            "update t set a = 1 from u where t.id = u.id returning t.a",
            "delete from t using u where t.id = u.id returning a",
        ] {
            assert_eq!(read(sql), None, "{sql}");
        }
    }

    #[test]
    fn subqueries_in_from() {
        let s = read("select q.x, * from (select a as x, b + 1 from t) as q, u").expect("read");
        assert_eq!(s.items, vec![col(Some("q"), "x", "x"), Item::Star { qualifier: None }]);
        let inner = Sources {
            relations: vec![source(None, "t", None)],
            items: vec![col(None, "a", "x"), Item::Computed],
        };
        let q = Source { derived: Some(Box::new(inner)), ..source(None, "q", Some("q")) };
        assert_eq!(s.relations, vec![q, source(None, "u", None)]);
        let s = read("select * from (select * from (select c from t) a) b limit 1").expect("read");
        let Some(b) = &s.relations[0].derived else { panic!("{s:?}") };
        assert_eq!(b.relations[0].name, "a");
        assert!(b.relations[0].derived.is_some());
    }

    #[test]
    fn with_queries() {
        let s = read("with a as (select x, y from t), b as materialized (select x as z from a) select b.z, c.y from b, a c")
            .expect("read");
        assert_eq!(s.items, vec![col(Some("b"), "z", "z"), col(Some("c"), "y", "y")]);
        let Some(b) = &s.relations[0].derived else { panic!("{s:?}") };
        assert_eq!(b.items, vec![col(None, "x", "z")]);
        let Some(a) = &b.relations[0].derived else { panic!("{b:?}") };
        assert_eq!(a.relations, vec![source(None, "t", None)]);
        assert!(s.relations[1].derived.is_some(), "{s:?}");
        // A qualified name is a table, not the WITH query.
        let s = read("with t as (select y from u) select a from s.t").expect("read");
        assert!(s.relations[0].derived.is_none());
    }

    #[test]
    fn returning_lists() {
        let s = read("insert into s.t (a, b) values (1, 'x') returning id, b as bee, a * 2").expect("read");
        assert_eq!(s.relations, vec![source(Some("s"), "t", None)]);
        assert_eq!(s.items, vec![col(None, "id", "id"), col(None, "b", "bee"), Item::Computed]);
        let s = read("update t x set a = 1 where id = (select max(id) from u) returning *").expect("read");
        assert_eq!(s.relations, vec![source(None, "t", Some("x"))]);
        assert_eq!(s.items, vec![Item::Star { qualifier: None }]);
        let s = read("delete from t where a = 1 returning t.a").expect("read");
        assert_eq!(s.items, vec![col(Some("t"), "a", "a")]);
    }
}
