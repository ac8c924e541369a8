//! The SQL translation layer: PostgreSQL statements that clients send unchanged, turned
//! into what DuckDB runs, or answered without DuckDB.
//!
//! Translation is an ordered list of [`RULES`]. Each rule names the client that needs
//! it, says why, and works on tokens from [`super::lexer`] (never on raw substrings, so
//! nothing inside a string literal, quoted identifier or comment is ever touched). A rule
//! either answers the statement itself (with PostgreSQL's command tag), splits it into
//! several DuckDB statements, or rewrites it. Rules run in order; the pieces a split
//! produces go through the rules after it.
//!
//! A new compatibility need is a new rule here with its unit test: find what the client
//! sends (run it against PostgreSQL with `log_statement = all`), then what DuckDB rejects.
//!
//! The command tag is still the original statement's (see [`super::classify`]): a
//! `DROP TABLE a, b` split into two DuckDB statements completes as one `DROP TABLE`.

use std::borrow::Cow;
use std::ops::Range;

use super::lexer::{Token, Tokens};

/// What to do with one client statement.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Translation<'a> {
    /// Run these statements in DuckDB, in order, as one unit (the session wraps several
    /// in a transaction when none is open); the last one's result is the statement's.
    Run(Vec<Cow<'a, str>>),
    /// Do not run anything: complete with this command tag.
    Answer(&'static str),
}

/// What one rule does to a statement it applies to.
enum Rewrite {
    Answer(&'static str),
    Replace(String),
    Split(Vec<String>),
}

/// One documented translation.
pub struct Rule {
    pub name: &'static str,
    /// The client that sends what DuckDB rejects.
    pub client: &'static str,
    pub why: &'static str,
    apply: fn(&Statement<'_>) -> Option<Rewrite>,
}

/// The rules, in the order they apply.
pub const RULES: &[Rule] = &[
    Rule {
        name: "asyncpg_type_introspection",
        client: "asyncpg (`WITH RECURSIVE typeinfo_tree ...`, before using any array type)",
        why: "DuckDB's pg_catalog has its own type OIDs; the answer comes from mallard's builtin types",
        apply: asyncpg_type_introspection,
    },
    Rule {
        name: "vacuum",
        client: "pgbench (`vacuum pgbench_branches` before a run, `vacuum analyze t` in -i)",
        why: "DuckDB has no PostgreSQL VACUUM options or table lists; it reclaims space by itself",
        apply: vacuum,
    },
    Rule {
        name: "analyze",
        client: "pgbench, pg_restore, BI tools",
        why: "ANALYZE [VERBOSE] (options) a, b is PostgreSQL syntax; DuckDB keeps its statistics itself",
        apply: analyze,
    },
    Rule {
        name: "drop_many",
        client: "pgbench -i (`drop table if exists pgbench_accounts, pgbench_branches, ...`)",
        why: "DuckDB drops one object per statement",
        apply: drop_many,
    },
    Rule {
        name: "truncate_many",
        client: "pgbench -i (`truncate table pgbench_accounts, pgbench_branches, ...`)",
        why: "DuckDB truncates one table per statement and knows no ONLY/RESTART IDENTITY/CASCADE",
        apply: truncate_many,
    },
    Rule {
        name: "storage_parameters",
        client: "pgbench -i (`create table ... with (fillfactor=100)`), pg_dump",
        why: "DuckDB tables take no storage parameters (`WITH (...)`, `WITHOUT OIDS`)",
        apply: storage_parameters,
    },
    Rule {
        name: "pg_catalog_functions",
        client: "pgbench (`pg_catalog.count(...)`, `pg_catalog.array_position(...)`), psql \\d",
        why: "DuckDB's built-in functions live outside its pg_catalog schema; unqualified they resolve",
        apply: pg_catalog_functions,
    },
    Rule {
        name: "bytea_hex_literals",
        client: "psycopg, hand-written SQL (`'\\x0102'::bytea`)",
        why: "PostgreSQL reads `\\x` followed by hex digits as the hex format of bytea; DuckDB reads `\\x01` escapes, so `'\\x0102'` would be one byte and two characters",
        apply: bytea_hex_literals,
    },
    Rule {
        name: "unconstrained_numeric",
        client: "psycopg, asyncpg, pgjdbc, BI tools (`'12.50'::numeric`, `$1::numeric`, `x numeric` columns)",
        why: "PostgreSQL's numeric without a typmod keeps every digit; DuckDB's is DECIMAL(18,3), which rounds to 3 places and overflows at 10^15. A decimal literal keeps its own precision; anything else becomes DECIMAL(38,10)",
        apply: unconstrained_numeric,
    },
    Rule {
        name: "jsonb_type",
        client: "asyncpg, psycopg (`$1::jsonb`), schemas from PostgreSQL (`doc jsonb`)",
        why: "DuckDB has one JSON type; jsonb values are JSON text to it",
        apply: jsonb_type,
    },
    Rule {
        name: "missing_catalog_relations",
        client: "pgbench (partition probe on pg_partitioned_table and pg_inherits)",
        why: "DuckDB has no partitioning or inheritance catalogs; empty ones with the same columns answer truly",
        apply: missing_catalog_relations,
    },
];

/// Translates one statement (as split by [`super::split_statements`]).
pub fn translate(sql: &str) -> Translation<'_> {
    let mut pieces: Vec<Cow<'_, str>> = vec![Cow::Borrowed(sql)];
    for rule in RULES {
        let mut next = Vec::with_capacity(pieces.len());
        for piece in pieces {
            match (rule.apply)(&Statement::new(&piece)) {
                None => next.push(piece),
                Some(Rewrite::Answer(tag)) => return Translation::Answer(tag),
                Some(Rewrite::Replace(sql)) => next.push(Cow::Owned(sql)),
                Some(Rewrite::Split(sqls)) => next.extend(sqls.into_iter().map(Cow::Owned)),
            }
        }
        pieces = next;
    }
    Translation::Run(pieces)
}

/// A statement and its tokens (computed on first use: most rules look only at the
/// first keyword).
struct Statement<'a> {
    sql: &'a str,
    tokens: std::cell::OnceCell<Vec<(usize, Token<'a>)>>,
}

impl<'a> Statement<'a> {
    fn new(sql: &'a str) -> Self {
        Statement { sql, tokens: std::cell::OnceCell::new() }
    }

    fn tokens(&self) -> &[(usize, Token<'a>)] {
        self.tokens.get_or_init(|| Tokens::new(self.sql).collect())
    }

    /// Whether the statement starts with `word`.
    fn starts_with(&self, word: &str) -> bool {
        matches!(Tokens::new(self.sql).next(), Some((_, Token::Word(w))) if w.eq_ignore_ascii_case(word))
    }

    /// Whether `needle` (ASCII, lower case) occurs anywhere, ignoring case: a cheap
    /// filter before tokenizing.
    fn mentions(&self, needle: &str) -> bool {
        self.sql.as_bytes().windows(needle.len()).any(|w| w.eq_ignore_ascii_case(needle.as_bytes()))
    }

    fn text(&self, i: usize) -> &'a str {
        let (start, token) = self.tokens()[i];
        &self.sql[start..start + token_len(token)]
    }

    fn end_of(&self, i: usize) -> usize {
        let (start, token) = self.tokens()[i];
        start + token_len(token)
    }
}

fn token_len(token: Token<'_>) -> usize {
    match token {
        Token::Word(s) | Token::QuotedIdent(s) | Token::Literal(s) | Token::Number(s) | Token::Param(s) => {
            s.len()
        }
        Token::Punct(c) => c.len_utf8(),
    }
}

fn is_word(token: Option<&(usize, Token<'_>)>, word: &str) -> bool {
    matches!(token, Some((_, Token::Word(w))) if w.eq_ignore_ascii_case(word))
}

fn is_punct(token: Option<&(usize, Token<'_>)>, c: char) -> bool {
    matches!(token, Some((_, Token::Punct(p))) if *p == c)
}

/// Applies `edits` (non-overlapping byte ranges, in order) to `sql`.
fn splice(sql: &str, edits: &[(Range<usize>, &str)]) -> String {
    let mut out = String::with_capacity(sql.len());
    let mut at = 0;
    for (range, replacement) in edits {
        out.push_str(&sql[at..range.start]);
        out.push_str(replacement);
        at = range.end;
    }
    out.push_str(&sql[at..]);
    out
}

fn vacuum(s: &Statement<'_>) -> Option<Rewrite> {
    s.starts_with("vacuum").then_some(Rewrite::Answer("VACUUM"))
}

fn analyze(s: &Statement<'_>) -> Option<Rewrite> {
    (s.starts_with("analyze") || s.starts_with("analyse")).then_some(Rewrite::Answer("ANALYZE"))
}

/// The comma-separated object names of a statement from token `from` on, each as
/// written (qualified names and quoting kept), up to the first trailing keyword.
fn name_list<'a>(s: &Statement<'a>, from: usize, stop: &[&str]) -> Option<(Vec<&'a str>, usize)> {
    let tokens = s.tokens();
    let mut names = Vec::new();
    let mut i = from;
    loop {
        let start = i;
        while i < tokens.len()
            && !is_punct(tokens.get(i), ',')
            && !stop.iter().any(|w| is_word(tokens.get(i), w))
        {
            i += 1;
        }
        if i == start {
            return None;
        }
        names.push(&s.sql[tokens[start].0..s.end_of(i - 1)]);
        if !is_punct(tokens.get(i), ',') {
            return Some((names, i));
        }
        i += 1;
    }
}

fn drop_many(s: &Statement<'_>) -> Option<Rewrite> {
    if !s.starts_with("drop") {
        return None;
    }
    let tokens = s.tokens();
    if !tokens.iter().any(|(_, t)| *t == Token::Punct(',')) {
        return None;
    }
    let kind = s.text(1);
    if !["table", "view", "index", "sequence", "schema", "type"].iter().any(|k| kind.eq_ignore_ascii_case(k))
    {
        return None;
    }
    let mut i = 2;
    let if_exists = is_word(tokens.get(2), "if") && is_word(tokens.get(3), "exists");
    if if_exists {
        i = 4;
    }
    let (names, end) = name_list(s, i, &["cascade", "restrict"])?;
    let tail = if end < tokens.len() { format!(" {}", &s.sql[tokens[end].0..]) } else { String::new() };
    let exists = if if_exists { " IF EXISTS" } else { "" };
    let kind = kind.to_ascii_uppercase();
    Some(Rewrite::Split(names.iter().map(|n| format!("DROP {kind}{exists} {n}{tail}")).collect()))
}

fn truncate_many(s: &Statement<'_>) -> Option<Rewrite> {
    if !s.starts_with("truncate") {
        return None;
    }
    let tokens = s.tokens();
    let mut i = 1 + usize::from(is_word(tokens.get(1), "table"));
    i += usize::from(is_word(tokens.get(i), "only"));
    let trailing = ["restart", "continue", "cascade", "restrict"];
    let (names, end) = name_list(s, i, &trailing)?;
    if names.len() == 1 && end == tokens.len() && i == 1 + usize::from(is_word(tokens.get(1), "table")) {
        return None; // `TRUNCATE [TABLE] t`: DuckDB's own syntax.
    }
    // `t *` (descendant tables too) is plain `t` without inheritance.
    let names = names.iter().map(|n| n.trim_end_matches('*').trim_end());
    Some(Rewrite::Split(names.map(|n| format!("TRUNCATE TABLE {n}")).collect()))
}

fn storage_parameters(s: &Statement<'_>) -> Option<Rewrite> {
    if !s.starts_with("create") || !(s.mentions("with") || s.mentions("oids")) {
        return None;
    }
    let tokens = s.tokens();
    let table = tokens
        .iter()
        .take(6)
        .position(|(_, t)| matches!(t, Token::Word(w) if w.eq_ignore_ascii_case("table")))?;
    let mut depth = 0i32;
    let mut edits: Vec<(Range<usize>, &str)> = Vec::new();
    let mut i = table + 1;
    while i < tokens.len() {
        match tokens[i].1 {
            Token::Punct('(') => depth += 1,
            Token::Punct(')') => depth -= 1,
            // A top-level AS starts the query of CREATE TABLE AS: stop there.
            Token::Word(w) if depth == 0 && w.eq_ignore_ascii_case("as") => break,
            Token::Word(w)
                if depth == 0 && w.eq_ignore_ascii_case("without") && is_word(tokens.get(i + 1), "oids") =>
            {
                edits.push((tokens[i].0..s.end_of(i + 1), ""));
                i += 1;
            }
            Token::Word(w)
                if depth == 0 && w.eq_ignore_ascii_case("with") && is_punct(tokens.get(i + 1), '(') =>
            {
                let close = matching_paren(tokens, i + 1)?;
                edits.push((tokens[i].0..s.end_of(close), ""));
                i = close;
            }
            _ => {}
        }
        i += 1;
    }
    (!edits.is_empty()).then(|| Rewrite::Replace(splice(s.sql, &edits)))
}

/// The index of the `)` that closes the `(` at `open`.
fn matching_paren(tokens: &[(usize, Token<'_>)], open: usize) -> Option<usize> {
    let mut depth = 0;
    for (i, (_, t)) in tokens.iter().enumerate().skip(open) {
        match t {
            Token::Punct('(') => depth += 1,
            Token::Punct(')') => {
                depth -= 1;
                if depth == 0 {
                    return Some(i);
                }
            }
            _ => {}
        }
    }
    None
}

fn pg_catalog_functions(s: &Statement<'_>) -> Option<Rewrite> {
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

fn bytea_hex_literals(s: &Statement<'_>) -> Option<Rewrite> {
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

fn unconstrained_numeric(s: &Statement<'_>) -> Option<Rewrite> {
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

fn asyncpg_type_introspection(s: &Statement<'_>) -> Option<Rewrite> {
    let asks = s.mentions("typeinfo_tree") && s.mentions("pg_type") && s.mentions("oid[]");
    asks.then(|| Rewrite::Replace(crate::catalog::asyncpg_typeinfo()))
}

fn jsonb_type(s: &Statement<'_>) -> Option<Rewrite> {
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

fn is_create_table(s: &Statement<'_>) -> bool {
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

/// PostgreSQL catalogs DuckDB lacks, as empty relations with their columns.
const MISSING_RELATIONS: &[(&str, &str)] = &[
    (
        "pg_inherits",
        "SELECT CAST(NULL AS BIGINT) AS inhrelid, CAST(NULL AS BIGINT) AS inhparent, \
         CAST(NULL AS INTEGER) AS inhseqno, CAST(NULL AS BOOLEAN) AS inhdetachpending WHERE false",
    ),
    (
        "pg_partitioned_table",
        "SELECT CAST(NULL AS BIGINT) AS partrelid, CAST(NULL AS VARCHAR) AS partstrat, \
         CAST(NULL AS SMALLINT) AS partnatts, CAST(NULL AS BIGINT) AS partdefid WHERE false",
    ),
];

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

fn missing_catalog_relations(s: &Statement<'_>) -> Option<Rewrite> {
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
    use super::*;

    fn one(sql: &str) -> String {
        let mut pieces = run(sql);
        assert_eq!(pieces.len(), 1, "{sql}");
        pieces.remove(0)
    }

    fn run(sql: &str) -> Vec<String> {
        match translate(sql) {
            Translation::Run(pieces) => pieces.into_iter().map(Cow::into_owned).collect(),
            Translation::Answer(tag) => panic!("{sql}: answered {tag}"),
        }
    }

    #[test]
    fn plain_statements_pass_unchanged_and_unallocated() {
        let sql = "UPDATE pgbench_accounts SET abalance = abalance + 1 WHERE aid = 2";
        assert_eq!(translate(sql), Translation::Run(vec![Cow::Borrowed(sql)]));
        assert!(matches!(&translate(sql), Translation::Run(p) if matches!(p[0], Cow::Borrowed(_))));
    }

    #[test]
    fn vacuum_and_analyze_are_answered() {
        for (sql, tag) in [
            ("vacuum analyze pgbench_branches", "VACUUM"),
            ("VACUUM", "VACUUM"),
            ("vacuum (verbose, analyze) t", "VACUUM"),
            ("analyze", "ANALYZE"),
            ("ANALYSE verbose t", "ANALYZE"),
        ] {
            assert_eq!(translate(sql), Translation::Answer(tag), "{sql}");
        }
    }

    #[test]
    fn drop_many_splits() {
        assert_eq!(
            run("drop table if exists pgbench_accounts, pgbench_branches, \"Odd, name\""),
            vec![
                "DROP TABLE IF EXISTS pgbench_accounts",
                "DROP TABLE IF EXISTS pgbench_branches",
                "DROP TABLE IF EXISTS \"Odd, name\""
            ]
        );
        assert_eq!(run("DROP VIEW s.a, b CASCADE"), vec!["DROP VIEW s.a CASCADE", "DROP VIEW b CASCADE"]);
        assert_eq!(run("drop table t"), vec!["drop table t"]);
        assert_eq!(run("drop function f(int, int)"), vec!["drop function f(int, int)"]);
    }

    #[test]
    fn truncate_many_splits() {
        assert_eq!(
            run("truncate table pgbench_accounts, pgbench_branches"),
            vec!["TRUNCATE TABLE pgbench_accounts", "TRUNCATE TABLE pgbench_branches"]
        );
        assert_eq!(run("TRUNCATE ONLY t RESTART IDENTITY CASCADE"), vec!["TRUNCATE TABLE t"]);
        assert_eq!(run("truncate pgbench_history"), vec!["truncate pgbench_history"]);
        assert_eq!(run("truncate table t"), vec!["truncate table t"]);
    }

    #[test]
    fn storage_parameters_are_dropped() {
        assert_eq!(
            run("create table pgbench_tellers(tid int not null,bid int) with (fillfactor=100)"),
            vec!["create table pgbench_tellers(tid int not null,bid int) "]
        );
        assert_eq!(run("CREATE TABLE t (x int) WITHOUT OIDS"), vec!["CREATE TABLE t (x int) "]);
        let ctas = "create table t as with a as (select 1) select * from a";
        assert_eq!(run(ctas), vec![ctas]);
        let literal = "create table t (x varchar default 'with (a)')";
        assert_eq!(run(literal), vec![literal]);
    }

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
    fn every_rule_is_documented() {
        for rule in RULES {
            assert!(!rule.client.is_empty() && !rule.why.is_empty(), "{}", rule.name);
        }
    }

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

    #[test]
    fn pg_catalog_type_qualifiers_go() {
        assert_eq!(
            one(r#"SELECT quote_literal($1::"pg_catalog"."int4"::text), $2::pg_catalog.text"#),
            r#"SELECT quote_literal($1::"int4"::text), $2::text"#
        );
    }
}
