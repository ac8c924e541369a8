//! What one statement is and what the session must do with it, decided from its
//! tokens and the parameter types the client named, by one pure function
//! ([`analyze`]). The session then only carries the analysis out: it prepares the
//! statement in DuckDB and asks DuckDB what the text cannot tell (the parameter count,
//! types DuckDB infers, result columns).
//!
//! Every text is tokenized once: the statement (by [`super::split`]), and a text the
//! analysis writes (a numeric cast dropped, a translation) once more, as its own text.

use std::borrow::Cow;

use super::command::{classify, Command};
use super::lexer::Token;
use super::names::postgres_names;
use super::origins::{column_sources, Sources};
use super::statement::Statement;
use super::translate::{datetime_literals, translate, Translation};
use super::utility::ParseError;
use crate::copy::{CopyError, Direction};
use crate::types::{builtin, logical_type_for_oid, oid, TextStyle, ValueError};

/// What a statement is, and how the session runs it.
#[derive(Debug)]
pub struct Analysis {
    /// Its class, which gives the command tag.
    pub command: Command,
    pub plan: Plan,
}

#[derive(Debug)]
pub enum Plan {
    /// Answered by the session itself: transaction control, settings, `DEALLOCATE`.
    Session,
    /// `DECLARE name CURSOR FOR <query>`: the query (in the command) is prepared in turn.
    Declare,
    /// `FETCH`, `MOVE`, `CLOSE`.
    Cursor,
    /// `COPY ... FROM STDIN` / `TO STDOUT`, which the session runs with the client.
    Copy,
    /// Answered without DuckDB, with this tag (`VACUUM`).
    Answer(&'static str),
    /// Several DuckDB statements that the statement became (`DROP TABLE a, b`).
    Script(Vec<String>),
    /// One statement for DuckDB to prepare.
    Duck(DuckPlan),
}

/// Why a statement is refused before DuckDB sees it.
#[derive(Debug)]
pub enum Refusal {
    /// A statement the session parses itself (`SET`, `FETCH`, ...) that does not parse.
    Invalid(ParseError),
    /// A `COPY` with the client that does not parse.
    Copy(CopyError),
    /// A `COPY` that names the server's stdio but is not a COPY with the client.
    ClientStdio,
    /// A literal that is not a value of its type (`date '13/02/2003'` in MDY order).
    Value(ValueError),
    /// A statement for something DuckDB cannot hold (0A000, this message).
    Unsupported(&'static str),
}

/// A statement DuckDB prepares, with what its text tells about its parameters and
/// results.
#[derive(Debug, PartialEq, Eq)]
pub struct DuckPlan {
    /// The SQL to prepare, before parameter casts: translated, and without the
    /// `::numeric` of parameters the client typed as numeric.
    pub sql: String,
    /// Where each `$n` is in `sql`: byte offset, length, and n - 1.
    params: Vec<(usize, usize, usize)>,
    /// `$n::type` as written: (n - 1, type), the first cast of each parameter.
    written: Vec<(usize, String)>,
    /// The DuckDB type each parameter is cast to because the client named its type
    /// (`None` where the client left it open, and for numeric, whose values bind as
    /// exact decimals).
    pub casts: Vec<Option<String>>,
    /// A top-level `RETURNING`: DML that returns rows.
    pub returning: bool,
    /// PostgreSQL's names for the result columns (see [`postgres_names`]).
    pub names: Option<Vec<Option<String>>>,
    /// The relations and column references the result columns come from, for
    /// `RowDescription` (see [`column_sources`]).
    pub sources: Option<Sources>,
}

/// What an untyped parameter is tried as when DuckDB leaves its type open, in order:
/// text first, which is PostgreSQL's type for an unknown (`select $1`), then numbers,
/// which let `abalance + $1` type as PostgreSQL types it.
const OPEN_PARAM_CANDIDATES: &[&str] = &["VARCHAR", "INTEGER", "BIGINT", "DOUBLE"];

/// Analyses one statement; `param_types` are the OIDs the client named in `Parse`
/// (0: unspecified).
pub fn analyze(
    statement: &Statement<'_>,
    param_types: &[u32],
    style: &TextStyle,
) -> Result<Analysis, Refusal> {
    let command = classify(statement);
    let own = match &command {
        Command::Invalid(e) => return Err(Refusal::Invalid(e.clone())),
        Command::DeclareCursor(_) => Some(Plan::Declare),
        Command::Fetch(_) | Command::Move(_) | Command::Close(_) => Some(Plan::Cursor),
        Command::Begin
        | Command::Commit
        | Command::Rollback
        | Command::Savepoint(_)
        | Command::PrepareTransaction
        | Command::FinishPrepared { .. }
        | Command::Set(_)
        | Command::Reset(_)
        | Command::Show(_)
        | Command::Discard(_)
        | Command::Deallocate(_)
        | Command::Listen(_)
        | Command::Unlisten(_)
        | Command::Notify { .. } => Some(Plan::Session),
        _ => None,
    };
    if let Some(message) = unsupported(statement) {
        return Err(Refusal::Unsupported(message));
    }
    let plan = match own {
        Some(plan) => plan,
        None if statement.starts_with("COPY") => return copy(statement, param_types, command, style),
        None => duck_plan(statement, param_types, style)?,
    };
    Ok(Analysis { command, plan })
}

/// Why a statement asks for something DuckDB has no room for: composite and range types
/// (`CREATE TYPE t AS (a int, b text)`, `CREATE TYPE r AS RANGE (...)`), functions that
/// cannot be macros (PL/pgSQL) and procedures; DuckDB would answer with a syntax error.
fn unsupported(statement: &Statement<'_>) -> Option<&'static str> {
    if !statement.starts_with("CREATE") {
        return None;
    }
    if let Some(why) = super::translate::function_refusal(statement) {
        return Some(why);
    }
    let tokens = statement.tokens();
    let word =
        |i: usize, w: &str| matches!(tokens.get(i), Some((_, Token::Word(t))) if t.eq_ignore_ascii_case(w));
    if !word(1, "TYPE") {
        return None;
    }
    // CREATE TYPE name AS ..., the name possibly qualified.
    let after_as = (3..tokens.len().min(8)).find(|&i| word(i, "AS"))? + 1;
    if matches!(tokens.get(after_as), Some((_, Token::Punct('(')))) {
        Some("composite types are not supported: DuckDB has none (a STRUCT column holds such values)")
    } else if word(after_as, "RANGE") {
        Some("range types are not supported: DuckDB has none")
    } else {
        None
    }
}

/// A `COPY`: with the client, it is the session's; a COPY of files is DuckDB's, but
/// DuckDB's own `STDIN`/`STDOUT` would be the worker's stdio and never runs.
fn copy(
    statement: &Statement<'_>,
    param_types: &[u32],
    command: Command,
    style: &TextStyle,
) -> Result<Analysis, Refusal> {
    match crate::copy::statement::parse_statement(statement) {
        Ok(Some(copy)) => {
            let tag = if copy.direction == Direction::From { "COPY FROM" } else { "COPY" };
            return Ok(Analysis { command: Command::Other(tag.into()), plan: Plan::Copy });
        }
        Ok(None) => {}
        Err(e) => return Err(Refusal::Copy(e)),
    }
    let stdio = statement.tokens()[1..].iter().any(
        |(_, t)| matches!(t, Token::Word(w) if w.eq_ignore_ascii_case("STDIN") || w.eq_ignore_ascii_case("STDOUT")),
    );
    if stdio {
        return Err(Refusal::ClientStdio);
    }
    Ok(Analysis { command, plan: duck_plan(statement, param_types, style)? })
}

/// A statement for DuckDB: rewritten for it, and read for what Parse must report.
/// `style` is the session's, for date and interval literals.
fn duck_plan(statement: &Statement<'_>, param_types: &[u32], style: &TextStyle) -> Result<Plan, Refusal> {
    let own_numeric = strip_numeric_casts(statement, param_types);
    let own_numeric = own_numeric.as_deref().map(Statement::new);
    let statement = own_numeric.as_ref().unwrap_or(statement);
    let iso_dates = datetime_literals(statement, style).map_err(Refusal::Value)?;
    let iso_dates = iso_dates.as_deref().map(Statement::new);
    let statement = iso_dates.as_ref().unwrap_or(statement);
    // Named as the client wrote it: a translated `c.oid::regclass` is a call to
    // regclass_out, which PostgreSQL names `oid`.
    let names = postgres_names(statement);
    let translated = match translate(statement) {
        Translation::Answer(tag) => return Ok(Plan::Answer(tag)),
        Translation::Run(pieces) if pieces.len() > 1 => {
            return Ok(Plan::Script(pieces.into_iter().map(Cow::into_owned).collect()))
        }
        Translation::Run(mut pieces) => match pieces.pop() {
            Some(Cow::Owned(sql)) => Some(sql),
            // Borrowed: the statement itself, unchanged.
            Some(Cow::Borrowed(_)) | None => None,
        },
    };
    let translated = translated.as_deref().map(Statement::new);
    let statement = translated.as_ref().unwrap_or(statement);
    Ok(Plan::Duck(DuckPlan {
        sql: statement.sql().to_owned(),
        params: param_sites(statement),
        written: written_casts(statement),
        casts: client_casts(param_types),
        returning: statement.has_top_level_word("RETURNING"),
        names,
        sources: column_sources(statement),
    }))
}

impl DuckPlan {
    /// The SQL with each `$n` that has a type name in `casts` wrapped in a cast to it.
    pub fn with_casts(&self, casts: &[Option<String>]) -> String {
        if casts.iter().all(Option::is_none) {
            return self.sql.clone();
        }
        let mut out = String::with_capacity(self.sql.len() + 16 * casts.len());
        let mut copied = 0;
        for &(at, len, index) in &self.params {
            let Some(Some(name)) = casts.get(index) else { continue };
            let p = &self.sql[at..at + len];
            out.push_str(&self.sql[copied..at]);
            out.push_str(&format!("CAST({p} AS {name})"));
            copied = at + len;
        }
        out.push_str(&self.sql[copied..]);
        out
    }

    /// The type written in `$n::type` for parameter `index` (n - 1).
    pub fn written_cast(&self, index: usize) -> Option<&str> {
        self.written.iter().find(|(k, _)| *k == index).map(|(_, ty)| ty.as_str())
    }

    /// The types to try, in order, for parameter `index` when DuckDB leaves its type
    /// open: `$1::T` means T, as in PostgreSQL (DuckDB leaves some such casts open:
    /// quoted type names), then [`OPEN_PARAM_CANDIDATES`].
    pub fn candidates(&self, index: usize) -> impl Iterator<Item = &str> {
        self.written_cast(index).into_iter().chain(OPEN_PARAM_CANDIDATES.iter().copied())
    }

    /// The type `ParameterDescription` reports for parameter `index`: the client's,
    /// else the type written in a cast (`$1::int8::text`: PostgreSQL types $1 by its own cast, DuckDB
    /// reports the outer one), else DuckDB's (`duck`: its name in `pg_type`), else text.
    pub fn param_oid(&self, index: usize, param_types: &[u32], duck: Option<u32>) -> u32 {
        match param_types.get(index) {
            Some(&oid) if oid != 0 => oid,
            _ => self.written_cast(index).and_then(builtin::oid_by_name).or(duck).unwrap_or(oid::TEXT),
        }
    }
}

/// Each `$n` of the statement: byte offset, length and n - 1.
fn param_sites(statement: &Statement<'_>) -> Vec<(usize, usize, usize)> {
    statement
        .tokens()
        .iter()
        .filter_map(|&(at, token)| match token {
            Token::Param(p) => Some((at, p.len(), p[1..].parse::<usize>().ok()?.checked_sub(1)?)),
            _ => None,
        })
        .collect()
}

/// The DuckDB type names that the client's parameter OIDs impose (`None` where the
/// client left the type open, or for numeric, which has no unconstrained DuckDB twin:
/// its values bind as exact decimals).
fn client_casts(param_types: &[u32]) -> Vec<Option<String>> {
    param_types
        .iter()
        .map(|&ty| match ty {
            0 | oid::NUMERIC => None,
            ty => logical_type_for_oid(ty).and_then(|t| t.sql_name()),
        })
        .collect()
}

/// `$n::numeric` where the client already typed `$n` as numeric: the cast goes, so the
/// bound value keeps its own precision and scale (DuckDB has no unconstrained numeric;
/// the translation layer would make it DECIMAL(38,10), and `1.25 * 2` would show as
/// `2.5000000000`, where PostgreSQL shows `2.50`). `None` when nothing changes.
fn strip_numeric_casts(statement: &Statement<'_>, param_types: &[u32]) -> Option<String> {
    if !param_types.contains(&oid::NUMERIC) {
        return None;
    }
    let (sql, tokens) = (statement.sql(), statement.tokens());
    let mut out = String::with_capacity(sql.len());
    let mut copied = 0;
    for (i, (_, token)) in tokens.iter().enumerate() {
        let Token::Param(p) = token else { continue };
        let numeric = p[1..].parse::<usize>().ok().and_then(|n| param_types.get(n.checked_sub(1)?))
            == Some(&oid::NUMERIC);
        let cast = matches!(
            (tokens.get(i + 1), tokens.get(i + 2), tokens.get(i + 3), tokens.get(i + 4)),
            (Some((_, Token::Punct(':'))), Some((_, Token::Punct(':'))), Some((_, Token::Word(w))), next)
                if (w.eq_ignore_ascii_case("numeric") || w.eq_ignore_ascii_case("decimal"))
                    && !matches!(next, Some((_, Token::Punct('(' | '['))))
        );
        if numeric && cast {
            let (start, _) = tokens[i + 1];
            let (at, Token::Word(w)) = tokens[i + 3] else { continue };
            out.push_str(&sql[copied..start]);
            copied = at + w.len();
        }
    }
    (copied > 0).then(|| {
        out.push_str(&sql[copied..]);
        out
    })
}

/// For each parameter, the type the first `$k::type` in the statement casts it to.
fn written_casts(statement: &Statement<'_>) -> Vec<(usize, String)> {
    let tokens: Vec<Token<'_>> = statement.tokens().iter().map(|(_, t)| *t).collect();
    let mut casts: Vec<(usize, String)> = Vec::new();
    for (i, token) in tokens.iter().enumerate() {
        let Token::Param(p) = token else { continue };
        let Some(k) = p[1..].parse::<usize>().ok().and_then(|k| k.checked_sub(1)) else { continue };
        if casts.iter().any(|(seen, _)| *seen == k) {
            continue;
        }
        if let [Token::Punct(':'), Token::Punct(':'), Token::Word(ty) | Token::QuotedIdent(ty), rest @ ..] =
            &tokens[i + 1..]
        {
            // `DECIMAL(38,10)[]`: the brackets follow the type's modifiers.
            let modifiers = super::names::skip_group(rest, 0).unwrap_or(0);
            let array = matches!(rest[modifiers..], [Token::Punct('['), Token::Punct(']'), ..]);
            casts.push((k, if array { format!("{ty}[]") } else { (*ty).to_owned() }));
        }
    }
    casts
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sql::lexer::passes;
    use crate::sql::split;

    fn duck(sql: &str, param_types: &[u32]) -> DuckPlan {
        match analyze(&Statement::new(sql), param_types, &TextStyle::default()) {
            Ok(Analysis { plan: Plan::Duck(plan), .. }) => plan,
            other => panic!("{sql}: {other:?}"),
        }
    }

    const PGBENCH_UPDATE: &str = "UPDATE pgbench_accounts SET abalance = abalance + $1 WHERE aid = $2;";

    /// A `Parse` of pgbench's statement reads its text once: the split. (Before the
    /// analysis existed it took six full passes: the split, `written_casts`, one
    /// `cast_params` per candidate type tried for `$1` (two), `has_returning` and
    /// `postgres_names`; plus nine short ones for leading keywords: `classify`, the COPY
    /// parser, the stdio check and six translation rules.)
    #[test]
    fn pgbench_parse_tokenizes_once() {
        let ((plan, casts), passes) = passes::during(|| {
            let statements = split(PGBENCH_UPDATE);
            let Ok(Analysis { command, plan: Plan::Duck(plan) }) =
                analyze(&statements[0], &[], &TextStyle::default())
            else {
                panic!("not for DuckDB")
            };
            assert_eq!(command, Command::Update);
            // What the session does with DuckDB's answers: try types for `$1`.
            let mut casts = plan.casts.clone();
            casts.resize(2, None);
            for candidate in plan.candidates(0).take(2) {
                casts[0] = Some(candidate.to_owned());
                let _ = plan.with_casts(&casts);
            }
            (plan, casts)
        });
        assert_eq!(passes, 1);
        assert_eq!(
            plan.with_casts(&casts),
            "UPDATE pgbench_accounts SET abalance = abalance + CAST($1 AS INTEGER) WHERE aid = $2"
        );
        assert!(!plan.returning);
        assert_eq!(plan.names, None);
    }

    #[test]
    fn a_rewritten_statement_is_tokenized_once_more() {
        let (_, passes) = passes::during(|| duck("select $1::jsonb", &[]));
        assert_eq!(passes, 2);
        let (_, passes) = passes::during(|| duck("select $1::numeric * 2", &[oid::NUMERIC]));
        assert_eq!(passes, 2, "the stripped text, which translation leaves alone");
    }

    #[test]
    fn commands_and_plans() {
        let plan = |sql: &str| analyze(&Statement::new(sql), &[], &TextStyle::default()).map(|a| a.plan);
        assert!(matches!(plan("begin"), Ok(Plan::Session)));
        assert!(matches!(plan("show all"), Ok(Plan::Session)));
        assert!(matches!(plan("fetch 1 from c"), Ok(Plan::Cursor)));
        assert!(matches!(plan("declare c cursor for select 1"), Ok(Plan::Declare)));
        assert!(matches!(plan("vacuum t"), Ok(Plan::Answer("VACUUM"))));
        assert!(matches!(plan("drop table a, b"), Ok(Plan::Script(s)) if s.len() == 2));
        assert!(matches!(plan("set"), Err(Refusal::Invalid(_))));
        assert!(matches!(plan("select 1"), Ok(Plan::Duck(_))));
    }

    #[test]
    fn copy_with_the_client_is_the_sessions() {
        let analysis = |sql: &str| analyze(&Statement::new(sql), &[], &TextStyle::default());
        let from = analysis("copy t from stdin").ok().unwrap();
        assert!(matches!(from.plan, Plan::Copy));
        assert_eq!(from.command.tag(0), "COPY FROM");
        let to = analysis("COPY (select 1) TO STDOUT").ok().unwrap();
        assert_eq!(to.command.tag(3), "COPY 3");
        assert!(matches!(analysis("copy t to 'f.csv'"), Ok(Analysis { plan: Plan::Duck(_), .. })));
        assert!(matches!(analysis("copy (select stdin from t) to 'f'"), Err(Refusal::ClientStdio)));
        assert!(matches!(analysis("copy (select 1) from stdin"), Err(Refusal::Copy(_))));
    }

    /// Statements no rule rewrites: one pass. (Text a rule writes, like the two
    /// statements of `drop table a, b`, is read again by the rules after it.)
    #[test]
    fn every_kind_of_statement_is_tokenized_once() {
        for sql in [
            "copy t (a, b) from stdin with (format csv, header)",
            "set statement_timeout = '1s'",
            "declare c cursor for select 1",
            "with a as (select $1::int) select * from a",
        ] {
            let (_, passes) =
                passes::during(|| analyze(&split(sql)[0], &[], &TextStyle::default()).ok().map(|a| a.plan));
            assert_eq!(passes, 1, "{sql}");
        }
    }

    #[test]
    fn client_types_become_casts_except_numeric() {
        let plan = duck("select $1, $2, $3 + $1", &[oid::INT8, oid::NUMERIC, 0]);
        assert_eq!(plan.casts, [Some("BIGINT".to_owned()), None, None]);
        assert_eq!(plan.with_casts(&plan.casts), "select CAST($1 AS BIGINT), $2, $3 + CAST($1 AS BIGINT)");
        let plan = duck("select 1", &[]);
        assert_eq!(plan.with_casts(&[None]), "select 1");
    }

    #[test]
    fn numeric_casts_of_numeric_parameters_go() {
        let plan = duck("select $1::numeric * 2, $2::numeric, $1::numeric(5,2)", &[oid::NUMERIC, 0]);
        assert_eq!(plan.sql, "select $1 * 2, $2::DECIMAL(38,10), $1::numeric(5,2)");
    }

    #[test]
    fn written_casts_type_parameters() {
        let plan = duck(r#"select $1::int8::text, $2::"int4", $3::text[], $1::bool, $4 + 1"#, &[]);
        assert_eq!(plan.written_cast(0), Some("int8"));
        assert_eq!(plan.written_cast(1), Some("\"int4\""));
        assert_eq!(plan.written_cast(2), Some("text[]"));
        assert_eq!(plan.written_cast(3), None);
        assert_eq!(plan.param_oid(0, &[], Some(oid::TEXT)), oid::INT8);
        assert_eq!(plan.param_oid(1, &[], None), oid::INT4);
        assert_eq!(plan.param_oid(2, &[], None), 1009);
        assert_eq!(plan.param_oid(3, &[], Some(oid::INT4)), oid::INT4);
        assert_eq!(plan.param_oid(3, &[], None), oid::TEXT);
        assert_eq!(plan.param_oid(3, &[0, 0, 0, oid::INT2], None), oid::INT2);
        let candidates: Vec<&str> = plan.candidates(1).collect();
        assert_eq!(candidates, ["\"int4\"", "VARCHAR", "INTEGER", "BIGINT", "DOUBLE"]);
        // Translation runs first: jsonb is JSON to DuckDB, and so reported as json;
        // numeric[] is DECIMAL(38,10)[], still numeric[].
        assert_eq!(duck("select $1::jsonb", &[]).param_oid(0, &[], None), oid::JSON);
        assert_eq!(duck("select $1::numeric[]", &[]).param_oid(0, &[], None), 1231);
    }

    #[test]
    fn returning_and_names() {
        assert!(duck("insert into t values ($1) returning id", &[]).returning);
        assert!(!duck("insert into t select x from (select 1 returning) s", &[]).returning);
        assert_eq!(duck("select count(*) from t", &[]).names, Some(vec![Some("count".into())]));
    }
}
