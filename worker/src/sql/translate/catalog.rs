//! PostgreSQL catalog names in statements DuckDB cannot run as written: `pg_catalog.`
//! qualifiers of functions and types, catalogs DuckDB lacks (empty relations from
//! [`crate::catalog`]), and asyncpg's type introspection, which the catalog answers.

use std::ops::Range;

use super::{is_punct, is_word, splice, Piece, Rewrite};
use crate::catalog::MISSING_RELATIONS;
use crate::sql::Token;

pub(super) fn asyncpg_type_introspection(s: &Piece<'_>) -> Option<Rewrite> {
    let asks = s.mentions("typeinfo_tree") && s.mentions("pg_type") && s.mentions("oid[]");
    asks.then(|| Rewrite::Replace(crate::catalog::asyncpg_typeinfo()))
}

pub(super) fn pg_catalog_functions(s: &Piece<'_>) -> Option<Rewrite> {
    if !s.mentions("pg_catalog") {
        return None;
    }
    let tokens = s.tokens();
    let is_pg_catalog = |i: usize| match tokens.get(i) {
        Some((_, Token::Word(w))) => w.eq_ignore_ascii_case("pg_catalog"),
        Some((_, Token::QuotedIdent(q))) => *q == "\"pg_catalog\"",
        _ => false,
    };
    let edits: Vec<(Range<usize>, &str)> = (0..tokens.len().saturating_sub(2))
        .filter(|&i| {
            let function = is_punct(tokens.get(i + 3), '(') && matches!(tokens[i + 2].1, Token::Word(_));
            // A type in a cast: `$1::"pg_catalog"."int4"` (asyncpg's copy_from_query).
            let cast_type = i >= 2 && is_punct(tokens.get(i - 1), ':') && is_punct(tokens.get(i - 2), ':');
            is_pg_catalog(i)
                && is_punct(tokens.get(i + 1), '.')
                && (function || cast_type)
                // `x.pg_catalog.f(` would be a column, not our qualifier.
                && !(i > 0 && is_punct(tokens.get(i - 1), '.'))
        })
        .map(|i| (tokens[i].0..tokens[i + 2].0, ""))
        .collect();
    (!edits.is_empty()).then(|| Rewrite::Replace(splice(s.sql, &edits)))
}

/// Words that can follow a relation in FROM without being its alias.
const NOT_AN_ALIAS: &[&str] = &[
    "where",
    "join",
    "left",
    "right",
    "full",
    "inner",
    "cross",
    "natural",
    "on",
    "using",
    "group",
    "order",
    "limit",
    "offset",
    "union",
    "except",
    "intersect",
    "window",
    "having",
    "returning",
    "for",
    "fetch",
];

pub(super) fn missing_catalog_relations(s: &Piece<'_>) -> Option<Rewrite> {
    if !s.mentions("pg_inherits") && !s.mentions("pg_partitioned_table") {
        return None;
    }
    let tokens = s.tokens();
    let mut replacements: Vec<(Range<usize>, String)> = Vec::new();
    for (i, (_, t)) in tokens.iter().enumerate() {
        let Token::Word(w) = t else { continue };
        let Some((name, query)) = MISSING_RELATIONS.iter().find(|(n, _)| w.eq_ignore_ascii_case(n)) else {
            continue;
        };
        let qualified =
            i >= 2 && is_punct(tokens.get(i - 1), '.') && is_word(tokens.get(i - 2), "pg_catalog");
        if i >= 1 && is_punct(tokens.get(i - 1), '.') && !qualified {
            continue; // some other schema's relation, or a column
        }
        if is_punct(tokens.get(i + 1), '.') || is_punct(tokens.get(i + 1), '(') {
            continue; // `pg_inherits.col` or a function
        }
        let start = if qualified { tokens[i - 2].0 } else { tokens[i].0 };
        let has_alias = match tokens.get(i + 1) {
            Some((_, Token::Word(next))) => !NOT_AN_ALIAS.iter().any(|k| next.eq_ignore_ascii_case(k)),
            Some((_, Token::QuotedIdent(_))) => true,
            _ => false,
        };
        let alias = if has_alias { String::new() } else { format!(" AS {name}") };
        replacements.push((start..s.end_of(i), format!("({query}){alias}")));
    }
    let edits: Vec<(Range<usize>, &str)> =
        replacements.iter().map(|(r, s)| (r.clone(), s.as_str())).collect();
    (!edits.is_empty()).then(|| Rewrite::Replace(splice(s.sql, &edits)))
}

#[cfg(test)]
mod tests {
    use super::super::tests::{one, run};

    #[test]
    fn pg_catalog_function_qualifiers_are_dropped() {
        assert_eq!(
            run("select pg_catalog.count(i.x), pg_catalog.array_position(a, b) from pg_catalog.pg_class"),
            vec!["select count(i.x), array_position(a, b) from pg_catalog.pg_class"]
        );
        let quoted = "select 'pg_catalog.count(1)'";
        assert_eq!(run(quoted), vec![quoted]);
    }

    #[test]
    fn missing_catalogs_become_empty_relations() {
        let out = run("select 1 from pg_catalog.pg_inherits as i left join pg_partitioned_table where true");
        assert_eq!(out.len(), 1);
        assert!(out[0].starts_with("select 1 from (SELECT CAST(NULL AS BIGINT) AS inhrelid"), "{}", out[0]);
        assert!(out[0].contains("WHERE false) as i left join (SELECT"), "{}", out[0]);
        assert!(out[0].ends_with("WHERE false) AS pg_partitioned_table where true"), "{}", out[0]);
        let column = "select t.pg_inherits from t";
        assert_eq!(run(column), vec![column]);
    }

    #[test]
    fn pg_catalog_type_qualifiers_go() {
        assert_eq!(
            one(r#"SELECT quote_literal($1::"pg_catalog"."int4"::text), $2::pg_catalog.text"#),
            r#"SELECT quote_literal($1::"int4"::text), $2::text"#
        );
    }
}
