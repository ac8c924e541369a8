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
//! The rules live by theme: [`ddl`] (maintenance and DDL statements DuckDB spells
//! differently), [`types`] (type names and literals), [`catalog`] (PostgreSQL catalog
//! names DuckDB lacks). A new compatibility need is a new rule there with its unit test:
//! find what the client sends (run it against PostgreSQL with `log_statement = all`),
//! then what DuckDB rejects.
//!
//! The command tag is still the original statement's (see [`super::classify`]): a
//! `DROP TABLE a, b` split into two DuckDB statements completes as one `DROP TABLE`.

use std::borrow::Cow;
use std::ops::Range;

mod catalog;
mod ddl;
mod operators;
mod types;

use super::lexer::{Token, Tokens};
use super::statement::Statement;

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
    apply: fn(&Piece<'_>) -> Option<Rewrite>,
}

/// The rules, in the order they apply.
pub const RULES: &[Rule] = &[
    Rule {
        name: "asyncpg_type_introspection",
        client: "asyncpg (`WITH RECURSIVE typeinfo_tree ...`, before using any array type)",
        why: "DuckDB's pg_catalog has its own type OIDs; the answer comes from mallard's builtin types",
        apply: catalog::asyncpg_type_introspection,
    },
    Rule {
        name: "vacuum",
        client: "pgbench (`vacuum pgbench_branches` before a run, `vacuum analyze t` in -i)",
        why: "DuckDB has no PostgreSQL VACUUM options or table lists; it reclaims space by itself",
        apply: ddl::vacuum,
    },
    Rule {
        name: "analyze",
        client: "pgbench, pg_restore, BI tools",
        why: "ANALYZE [VERBOSE] (options) a, b is PostgreSQL syntax; DuckDB keeps its statistics itself",
        apply: ddl::analyze,
    },
    Rule {
        name: "drop_many",
        client: "pgbench -i (`drop table if exists pgbench_accounts, pgbench_branches, ...`)",
        why: "DuckDB drops one object per statement",
        apply: ddl::drop_many,
    },
    Rule {
        name: "truncate_many",
        client: "pgbench -i (`truncate table pgbench_accounts, pgbench_branches, ...`)",
        why: "DuckDB truncates one table per statement and knows no ONLY/RESTART IDENTITY/CASCADE",
        apply: ddl::truncate_many,
    },
    Rule {
        name: "storage_parameters",
        client: "pgbench -i (`create table ... with (fillfactor=100)`), pg_dump",
        why: "DuckDB tables take no storage parameters (`WITH (...)`, `WITHOUT OIDS`)",
        apply: ddl::storage_parameters,
    },
    Rule {
        name: "pg_catalog_names",
        client: "psql \\d (`pg_catalog.pg_class`, `OPERATOR(pg_catalog.~)`, `COLLATE pg_catalog.default`), pgbench, pgjdbc",
        why: "DuckDB's pg_catalog schema is its own and cannot be replaced; mallard's catalog is on the search path, so unqualified names resolve to it",
        apply: catalog::pg_catalog_names,
    },
    Rule {
        name: "regex_match",
        client: "psql \\dn and pgjdbc (`nspname !~ '^pg_'`), hand-written SQL",
        why: "PostgreSQL's ~ finds the pattern anywhere; DuckDB's ~ must match the whole string",
        apply: operators::regex_match,
    },
    Rule {
        name: "checked_division",
        client: "every client (`select 1/0`, `x % 0`), ORMs and drivers' test suites",
        why: "PostgreSQL fails with division by zero (22012); DuckDB answers NULL or infinity",
        apply: operators::checked_division,
    },
    Rule {
        name: "set_returning_aliases",
        client: "psql \\d (`FROM generate_series(0, n) s ... prattrs[s]`), hand-written SQL",
        why: "PostgreSQL names a set-returning function's column after its alias in FROM; DuckDB after the function",
        apply: catalog::set_returning_aliases,
    },
    Rule {
        name: "scalar_functions_in_from",
        client: "BI tools' table lists (`FROM generate_series(...) i, string_to_array(current_setting('search_path'), ',') s`)",
        why: "PostgreSQL takes a scalar function in FROM as one row; DuckDB wants a table function",
        apply: catalog::scalar_functions_in_from,
    },
    Rule {
        name: "renamed_functions",
        client: "SQLAlchemy column reflection (`json_build_object(...)`)",
        why: "DuckDB has these functions under other names",
        apply: catalog::renamed_functions,
    },
    Rule {
        name: "reg_casts",
        client: "psql \\d (`c.oid::pg_catalog.regclass`), pgjdbc (`'t'::regclass`), SQLAlchemy",
        why: "DuckDB has no reg* types; the catalog's functions look a name up or print an OID's name",
        apply: catalog::reg_casts,
    },
    Rule {
        name: "bytea_hex_literals",
        client: "psycopg, hand-written SQL (`'\\x0102'::bytea`)",
        why: "PostgreSQL reads `\\x` followed by hex digits as the hex format of bytea; DuckDB reads `\\x01` escapes, so `'\\x0102'` would be one byte and two characters",
        apply: types::bytea_hex_literals,
    },
    Rule {
        name: "unconstrained_numeric",
        client: "psycopg, asyncpg, pgjdbc, BI tools (`'12.50'::numeric`, `$1::numeric`, `x numeric` columns)",
        why: "PostgreSQL's numeric without a typmod keeps every digit; DuckDB's is DECIMAL(18,3), which rounds to 3 places and overflows at 10^15. A decimal literal keeps its own precision; anything else becomes DECIMAL(38,10)",
        apply: types::unconstrained_numeric,
    },
    Rule {
        name: "declared_lengths",
        client: "schemas from PostgreSQL, ORMs, pgjdbc getColumns (`name varchar(80)`, `code char(2)`)",
        why: "DuckDB forgets a varchar or char length and does not enforce it; a check keeps it, and the catalog reports it",
        apply: types::declared_lengths,
    },
    Rule {
        name: "jsonb_type",
        client: "asyncpg, psycopg (`$1::jsonb`), schemas from PostgreSQL (`doc jsonb`)",
        why: "DuckDB has one JSON type; jsonb values are JSON text to it",
        apply: types::jsonb_type,
    },
];

/// Translates one statement.
pub fn translate<'a>(statement: &Statement<'a>) -> Translation<'a> {
    let mut pieces: Vec<Cow<'a, str>> = vec![Cow::Borrowed(statement.sql())];
    for rule in RULES {
        let mut next = Vec::with_capacity(pieces.len());
        for piece in pieces {
            // Only rules write new text: a borrowed piece is the statement, whose tokens
            // are made already.
            let given = matches!(piece, Cow::Borrowed(_)).then(|| statement.tokens());
            let Some(rewrite) = (rule.apply)(&Piece::new(&piece, given)) else {
                next.push(piece);
                continue;
            };
            tracing::debug!(rule = rule.name, client = rule.client, why = rule.why, "statement translated");
            match rewrite {
                Rewrite::Answer(tag) => return Translation::Answer(tag),
                Rewrite::Replace(sql) => next.push(Cow::Owned(sql)),
                Rewrite::Split(sqls) => next.extend(sqls.into_iter().map(Cow::Owned)),
            }
        }
        pieces = next;
    }
    Translation::Run(pieces)
}

/// A piece of SQL a rule reads: the statement with its tokens, or text an earlier rule
/// wrote, tokenized on first use (most rules look only at the first keyword, or at no
/// token when the text does not mention theirs).
struct Piece<'a> {
    sql: &'a str,
    given: Option<&'a [(usize, Token<'a>)]>,
    tokens: std::cell::OnceCell<Vec<(usize, Token<'a>)>>,
}

impl<'a> Piece<'a> {
    fn new(sql: &'a str, given: Option<&'a [(usize, Token<'a>)]>) -> Self {
        Piece { sql, given, tokens: std::cell::OnceCell::new() }
    }

    fn tokens(&self) -> &[(usize, Token<'a>)] {
        match self.given {
            Some(tokens) => tokens,
            None => self.tokens.get_or_init(|| Tokens::new(self.sql).collect()),
        }
    }

    /// Whether the piece starts with `word`.
    fn starts_with(&self, word: &str) -> bool {
        let first = match self.given {
            Some(tokens) => tokens.first().copied(),
            None => self.tokens.get().map_or_else(|| Tokens::new(self.sql).next(), |t| t.first().copied()),
        };
        is_word(first.as_ref(), word)
    }

    /// Whether `needle` (ASCII, lower case) occurs anywhere, ignoring case: a cheap
    /// filter before tokenizing.
    fn mentions(&self, needle: &str) -> bool {
        super::mentions(self.sql, needle)
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
fn splice<S: AsRef<str>>(sql: &str, edits: &[(Range<usize>, S)]) -> String {
    let mut out = String::with_capacity(sql.len());
    let mut at = 0;
    for (range, replacement) in edits {
        out.push_str(&sql[at..range.start]);
        out.push_str(replacement.as_ref());
        at = range.end;
    }
    out.push_str(&sql[at..]);
    out
}

/// The rewrite that applies `edits` to `sql`, or none when there are none.
fn replaced<S: AsRef<str>>(sql: &str, edits: &[(Range<usize>, S)]) -> Option<Rewrite> {
    (!edits.is_empty()).then(|| Rewrite::Replace(splice(sql, edits)))
}

/// The index of the `)` that closes the `(` at `open`.
fn matching_paren(tokens: &[(usize, Token<'_>)], open: usize) -> Option<usize> {
    if !is_punct(tokens.get(open), '(') {
        return None;
    }
    let mut depth = 0usize;
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

#[cfg(test)]
mod tests {
    use super::*;

    pub(super) fn translate(sql: &str) -> Translation<'_> {
        super::translate(&Statement::new(sql))
    }

    pub(super) fn one(sql: &str) -> String {
        let mut pieces = run(sql);
        assert_eq!(pieces.len(), 1, "{sql}");
        pieces.remove(0)
    }

    pub(super) fn run(sql: &str) -> Vec<String> {
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
    fn every_rule_is_documented() {
        for rule in RULES {
            assert!(!rule.client.is_empty() && !rule.why.is_empty(), "{}", rule.name);
        }
    }
}
