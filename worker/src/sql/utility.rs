//! Parsers for the utility statements the session answers itself instead of handing them
//! to DuckDB: `SET`/`RESET`/`SHOW` (session settings), `DISCARD`, the cursor and
//! prepared-statement commands (`DECLARE`, `FETCH`, `MOVE`, `CLOSE`, `DEALLOCATE`) and
//! `LISTEN`/`UNLISTEN`/`NOTIFY`, following PostgreSQL 15's grammar for each.
//!
//! Each parser gets the statement's tokens after its leading keyword and returns the
//! structured command, or a syntax error worded and positioned as PostgreSQL's.

use mallard_protocol::pg::SqlState;

use super::lexer::Token;
use super::statement::Statement;

/// A statement that does not parse: PostgreSQL's `42601 syntax error at or near "x"`, or
/// a form mallard does not support (`0A000`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseError {
    pub code: SqlState,
    pub message: String,
    /// 1-based character position in the statement, as in `ErrorResponse`.
    pub position: Option<u32>,
}

/// A setting's new value in `SET name TO value`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SetValue {
    /// `DEFAULT` (and `SET TIME ZONE LOCAL`): back to the session's reset value.
    Default,
    /// One or more comma-separated values: identifiers are folded to lower case unless
    /// quoted, string literals are unescaped, numbers are kept as written (with sign).
    List(Vec<String>),
}

/// One mode of `SET TRANSACTION` / `BEGIN` / `SET SESSION CHARACTERISTICS AS TRANSACTION`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TransactionMode {
    /// `ISOLATION LEVEL ...`, as PostgreSQL spells it in `transaction_isolation`.
    Isolation(&'static str),
    ReadOnly(bool),
    Deferrable(bool),
}

/// `SET ...`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Set {
    /// `SET [SESSION|LOCAL] name {TO|=} value`, `SET TIME ZONE`, `SET NAMES`, `SET SCHEMA`.
    Param { name: String, local: bool, value: SetValue },
    /// `SET TRANSACTION ...` (`session_default` false) or
    /// `SET SESSION CHARACTERISTICS AS TRANSACTION ...` (true).
    Transaction { session_default: bool, modes: Vec<TransactionMode> },
    /// `SET ROLE NONE`, `SET SESSION AUTHORIZATION DEFAULT`: already in force.
    Nothing,
}

/// `RESET ...`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reset {
    Param(String),
    All,
    /// `RESET ROLE`, `RESET SESSION AUTHORIZATION`.
    Nothing,
}

/// `SHOW ...`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Show {
    Param(String),
    All,
}

/// `DISCARD ...`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Discard {
    All,
    Plans,
    Sequences,
    Temp,
}

/// How many rows a `FETCH` or `MOVE` takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FetchCount {
    Rows(u64),
    All,
}

/// Where a `FETCH`/`MOVE` goes, normalized: `NEXT` is `Forward(Rows(1))`, `PRIOR` is
/// `Backward(Rows(1))`, `FIRST` is `Absolute(1)`, `LAST` is `Absolute(-1)`, a bare
/// negative count goes backward.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FetchDirection {
    Forward(FetchCount),
    Backward(FetchCount),
    Absolute(i64),
    Relative(i64),
}

/// `FETCH`/`MOVE [direction] [FROM|IN] cursor`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fetch {
    pub cursor: String,
    pub direction: FetchDirection,
}

/// `DECLARE name [BINARY] [ASENSITIVE|INSENSITIVE] [[NO] SCROLL] CURSOR [WITH[OUT] HOLD] FOR query`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeclareCursor {
    pub name: String,
    pub binary: bool,
    /// `Some(true)` for `SCROLL`, `Some(false)` for `NO SCROLL`, `None` if unsaid.
    pub scroll: Option<bool>,
    pub hold: bool,
    /// The query text after `FOR`, as written.
    pub query: String,
}

/// A statement's tokens with a cursor, for the small recursive-descent parsers below.
pub(crate) struct Parser<'a> {
    sql: &'a str,
    tokens: Vec<(usize, Token<'a>)>,
    at: usize,
}

impl<'a> Parser<'a> {
    pub(crate) fn new(statement: &Statement<'a>) -> Self {
        Parser { sql: statement.sql(), tokens: statement.tokens().to_vec(), at: 0 }
    }

    fn peek(&self) -> Option<Token<'a>> {
        self.tokens.get(self.at).map(|(_, t)| *t)
    }

    fn next(&mut self) -> Option<Token<'a>> {
        let t = self.peek();
        self.at += usize::from(t.is_some());
        t
    }

    /// Whether the next token is the keyword `word` (consumed if so).
    pub(crate) fn eat(&mut self, word: &str) -> bool {
        if matches!(self.peek(), Some(Token::Word(w)) if w.eq_ignore_ascii_case(word)) {
            self.at += 1;
            true
        } else {
            false
        }
    }

    fn eat_punct(&mut self, c: char) -> bool {
        if self.peek() == Some(Token::Punct(c)) {
            self.at += 1;
            true
        } else {
            false
        }
    }

    fn peek_word(&self) -> Option<String> {
        match self.peek() {
            Some(Token::Word(w)) => Some(w.to_ascii_lowercase()),
            _ => None,
        }
    }

    fn at_end(&self) -> bool {
        self.at >= self.tokens.len()
    }

    /// PostgreSQL's `syntax error at or near "tok"` (or `at end of input`).
    fn error(&self) -> ParseError {
        match self.tokens.get(self.at) {
            Some(&(offset, token)) => ParseError {
                code: SqlState::SYNTAX_ERROR,
                message: format!("syntax error at or near \"{}\"", token_text(token)),
                position: Some(self.sql[..offset].chars().count() as u32 + 1),
            },
            None => ParseError {
                code: SqlState::SYNTAX_ERROR,
                message: "syntax error at end of input".into(),
                position: Some(self.sql.chars().count() as u32 + 1),
            },
        }
    }

    fn expect(&mut self, word: &str) -> Result<(), ParseError> {
        if self.eat(word) {
            Ok(())
        } else {
            Err(self.error())
        }
    }

    fn end(&self) -> Result<(), ParseError> {
        if self.at_end() {
            Ok(())
        } else {
            Err(self.error())
        }
    }

    /// An identifier: folded to lower case, or unquoted if quoted.
    fn ident(&mut self) -> Result<String, ParseError> {
        match self.peek() {
            Some(Token::Word(w)) => {
                self.at += 1;
                Ok(w.to_ascii_lowercase())
            }
            // PostgreSQL's scanner refuses `""` before any grammar sees it.
            Some(Token::QuotedIdent("\"\"")) => Err(ParseError {
                message: "zero-length delimited identifier at or near \"\"\"\"".into(),
                ..self.error()
            }),
            Some(Token::QuotedIdent(q)) => {
                self.at += 1;
                Ok(unquote(q, '"'))
            }
            _ => Err(self.error()),
        }
    }

    /// A dotted name (`a.b.c`), as setting names may be (`myapp.flag`).
    fn dotted_name(&mut self) -> Result<String, ParseError> {
        let mut name = self.ident()?;
        while self.eat_punct('.') {
            name.push('.');
            name.push_str(&self.ident()?);
        }
        Ok(name)
    }

    /// One `SET` value: a string, a (signed) number, an identifier or keyword.
    fn value(&mut self) -> Result<String, ParseError> {
        let sign = if self.eat_punct('-') {
            "-"
        } else {
            self.eat_punct('+');
            ""
        };
        match self.peek() {
            Some(Token::Number(n)) => {
                self.at += 1;
                Ok(format!("{sign}{n}"))
            }
            _ if !sign.is_empty() => Err(self.error()),
            Some(Token::Literal(l)) => {
                self.at += 1;
                Ok(literal_value(l))
            }
            _ => self.ident(),
        }
    }

    fn value_list(&mut self) -> Result<SetValue, ParseError> {
        if self.eat("default") {
            self.end()?;
            return Ok(SetValue::Default);
        }
        let mut values = vec![self.value()?];
        while self.eat_punct(',') {
            values.push(self.value()?);
        }
        self.end()?;
        Ok(SetValue::List(values))
    }

    /// The rest of the statement from the current token on, as written.
    fn rest(&self) -> &'a str {
        self.tokens.get(self.at).map_or("", |&(offset, _)| &self.sql[offset..])
    }
}

fn unsupported(message: &str) -> ParseError {
    ParseError { code: SqlState::FEATURE_NOT_SUPPORTED, message: message.into(), position: None }
}

fn token_text(token: Token<'_>) -> String {
    match token {
        Token::Word(s) | Token::QuotedIdent(s) | Token::Literal(s) | Token::Number(s) | Token::Param(s) => {
            s.to_owned()
        }
        Token::Punct(c) => c.to_string(),
    }
}

/// `'it''s'` → `it's`; `"a""b"` → `a"b`.
fn unquote(quoted: &str, quote: char) -> String {
    let inner = quoted.strip_prefix(quote).unwrap_or(quoted);
    let inner = inner.strip_suffix(quote).unwrap_or(inner);
    let doubled: String = [quote, quote].iter().collect();
    inner.replace(&doubled, &quote.to_string())
}

/// The value of a string literal: `'..'`, `E'..'` (common escapes) or `$$..$$`.
pub(crate) fn literal_value(literal: &str) -> String {
    if let Some(rest) = literal.strip_prefix(['e', 'E']) {
        let inner = unquote(rest, '\'');
        let mut out = String::new();
        let mut chars = inner.chars();
        while let Some(c) = chars.next() {
            if c != '\\' {
                out.push(c);
                continue;
            }
            match chars.next() {
                Some('n') => out.push('\n'),
                Some('t') => out.push('\t'),
                Some(other) => out.push(other),
                None => {}
            }
        }
        out
    } else if let Some(rest) = literal.strip_prefix('$') {
        let tag_len = rest.find('$').map_or(0, |p| p + 2);
        literal.get(tag_len..literal.len().saturating_sub(tag_len)).unwrap_or("").to_owned()
    } else {
        unquote(literal, '\'')
    }
}

/// `SET ...` after the `SET` keyword.
pub fn parse_set(statement: &Statement<'_>) -> Result<Set, ParseError> {
    let mut p = Parser::new(statement);
    p.expect("set")?;
    let local = p.eat("local");
    if !local && p.eat("session") {
        if p.eat("characteristics") {
            p.expect("as")?;
            p.expect("transaction")?;
            return Ok(Set::Transaction { session_default: true, modes: transaction_modes(&mut p)? });
        }
        if p.eat("authorization") {
            return nothing_but_default(&mut p).map(|()| Set::Nothing);
        }
    }
    if p.eat("transaction") {
        if p.peek_word().as_deref() == Some("snapshot") {
            return Err(unsupported("SET TRANSACTION SNAPSHOT is not supported"));
        }
        return Ok(Set::Transaction { session_default: false, modes: transaction_modes(&mut p)? });
    }
    if p.eat("role") {
        p.expect("none")?;
        p.end()?;
        return Ok(Set::Nothing);
    }
    let name = match p.peek_word().as_deref() {
        Some("time") => {
            p.next();
            p.expect("zone")?;
            let value = if p.eat("local") || p.eat("default") {
                p.end()?;
                SetValue::Default
            } else if p.peek_word().as_deref() == Some("interval") {
                return Err(unsupported(
                    "SET TIME ZONE INTERVAL is not supported; use a zone name or an offset in hours",
                ));
            } else {
                let v = p.value()?;
                p.end()?;
                SetValue::List(vec![v])
            };
            return Ok(Set::Param { name: "timezone".into(), local, value });
        }
        Some("names") => {
            p.next();
            let value = if p.at_end() { SetValue::Default } else { p.value_list()? };
            return Ok(Set::Param { name: "client_encoding".into(), local, value });
        }
        Some("schema") => {
            p.next();
            let v = p.value()?;
            p.end()?;
            return Ok(Set::Param { name: "search_path".into(), local, value: SetValue::List(vec![v]) });
        }
        _ => p.dotted_name()?,
    };
    if !(p.eat("to") || p.eat_punct('=')) {
        return Err(p.error());
    }
    Ok(Set::Param { name, local, value: p.value_list()? })
}

/// `... DEFAULT` and the end: the only `SET ROLE`/`SESSION AUTHORIZATION` form accepted.
fn nothing_but_default(p: &mut Parser<'_>) -> Result<(), ParseError> {
    p.expect("default")?;
    p.end()
}

/// `ISOLATION LEVEL ... | READ {ONLY|WRITE} | [NOT] DEFERRABLE`, optionally comma-separated.
pub(crate) fn transaction_modes(p: &mut Parser<'_>) -> Result<Vec<TransactionMode>, ParseError> {
    let mut modes = Vec::new();
    while !p.at_end() {
        if !modes.is_empty() {
            p.eat_punct(',');
        }
        let mode = if p.eat("isolation") {
            p.expect("level")?;
            TransactionMode::Isolation(if p.eat("serializable") {
                "serializable"
            } else if p.eat("repeatable") {
                p.expect("read")?;
                "repeatable read"
            } else if p.eat("read") {
                if p.eat("committed") {
                    "read committed"
                } else {
                    p.expect("uncommitted")?;
                    "read uncommitted"
                }
            } else {
                return Err(p.error());
            })
        } else if p.eat("read") {
            if p.eat("only") {
                TransactionMode::ReadOnly(true)
            } else {
                p.expect("write")?;
                TransactionMode::ReadOnly(false)
            }
        } else if p.eat("not") {
            p.expect("deferrable")?;
            TransactionMode::Deferrable(false)
        } else if p.eat("deferrable") {
            TransactionMode::Deferrable(true)
        } else {
            return Err(p.error());
        };
        modes.push(mode);
    }
    if modes.is_empty() {
        return Err(p.error());
    }
    Ok(modes)
}

/// The transaction modes of a `BEGIN [WORK|TRANSACTION] ...` or `START TRANSACTION ...`.
pub fn parse_begin_modes(sql: &str) -> Result<Vec<TransactionMode>, ParseError> {
    let statement = Statement::new(sql);
    let mut p = Parser::new(&statement);
    if p.eat("start") {
        p.expect("transaction")?;
    } else {
        p.expect("begin")?;
        let _ = p.eat("work") || p.eat("transaction");
    }
    if p.at_end() {
        return Ok(Vec::new());
    }
    transaction_modes(&mut p)
}

/// `RESET name | ALL | TIME ZONE | ROLE | SESSION AUTHORIZATION`.
pub fn parse_reset(statement: &Statement<'_>) -> Result<Reset, ParseError> {
    let mut p = Parser::new(statement);
    p.expect("reset")?;
    let reset = if p.eat("all") {
        Reset::All
    } else if p.eat("time") {
        p.expect("zone")?;
        Reset::Param("timezone".into())
    } else if p.eat("role") {
        Reset::Nothing
    } else if p.eat("session") {
        p.expect("authorization")?;
        Reset::Nothing
    } else if p.eat("transaction") {
        p.expect("isolation")?;
        p.expect("level")?;
        Reset::Param("transaction_isolation".into())
    } else {
        Reset::Param(p.dotted_name()?)
    };
    p.end()?;
    Ok(reset)
}

/// `SHOW name | ALL | TIME ZONE | TRANSACTION ISOLATION LEVEL | SESSION AUTHORIZATION`.
pub fn parse_show(statement: &Statement<'_>) -> Result<Show, ParseError> {
    let mut p = Parser::new(statement);
    p.expect("show")?;
    let show = if p.eat("all") {
        Show::All
    } else if p.eat("time") {
        p.expect("zone")?;
        Show::Param("timezone".into())
    } else if p.eat("transaction") {
        p.expect("isolation")?;
        p.expect("level")?;
        Show::Param("transaction_isolation".into())
    } else if p.eat("session") {
        p.expect("authorization")?;
        Show::Param("session_authorization".into())
    } else {
        Show::Param(p.dotted_name()?)
    };
    p.end()?;
    Ok(show)
}

/// `DISCARD ALL | PLANS | SEQUENCES | TEMP | TEMPORARY`.
pub fn parse_discard(statement: &Statement<'_>) -> Result<Discard, ParseError> {
    let mut p = Parser::new(statement);
    p.expect("discard")?;
    let what = if p.eat("all") {
        Discard::All
    } else if p.eat("plans") {
        Discard::Plans
    } else if p.eat("sequences") {
        Discard::Sequences
    } else if p.eat("temp") || p.eat("temporary") {
        Discard::Temp
    } else {
        return Err(p.error());
    };
    p.end()?;
    Ok(what)
}

/// `DEALLOCATE [PREPARE] name | ALL`: `None` is ALL.
pub fn parse_deallocate(statement: &Statement<'_>) -> Result<Option<String>, ParseError> {
    let mut p = Parser::new(statement);
    p.expect("deallocate")?;
    p.eat("prepare");
    let name = if p.eat("all") { None } else { Some(p.ident()?) };
    p.end()?;
    Ok(name)
}

/// What a savepoint statement does, and to which savepoint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Savepoint {
    /// `SAVEPOINT name`
    Define(String),
    /// `RELEASE [SAVEPOINT] name`
    Release(String),
    /// `ROLLBACK [WORK | TRANSACTION] TO [SAVEPOINT] name`
    RollbackTo(String),
}

/// `SAVEPOINT name`, `RELEASE [SAVEPOINT] name`, `ROLLBACK [WORK|TRANSACTION] TO
/// [SAVEPOINT] name` (also `ABORT`-less: PostgreSQL has no `ABORT TO`).
pub fn parse_savepoint(statement: &Statement<'_>) -> Result<Savepoint, ParseError> {
    let mut p = Parser::new(statement);
    let savepoint = if p.eat("savepoint") {
        Savepoint::Define(p.ident()?)
    } else if p.eat("release") {
        p.eat("savepoint");
        Savepoint::Release(p.ident()?)
    } else {
        p.expect("rollback")?;
        let _ = p.eat("work") || p.eat("transaction");
        p.expect("to")?;
        p.eat("savepoint");
        Savepoint::RollbackTo(p.ident()?)
    };
    p.end()?;
    Ok(savepoint)
}

/// `CLOSE name | ALL`: `None` is ALL.
pub fn parse_close(statement: &Statement<'_>) -> Result<Option<String>, ParseError> {
    let mut p = Parser::new(statement);
    p.expect("close")?;
    let name = if p.eat("all") { None } else { Some(p.ident()?) };
    p.end()?;
    Ok(name)
}

/// `LISTEN channel`.
pub fn parse_listen(statement: &Statement<'_>) -> Result<String, ParseError> {
    let mut p = Parser::new(statement);
    p.expect("listen")?;
    let channel = p.ident()?;
    p.end()?;
    Ok(channel)
}

/// `UNLISTEN channel | *`: `None` is `*`.
pub fn parse_unlisten(statement: &Statement<'_>) -> Result<Option<String>, ParseError> {
    let mut p = Parser::new(statement);
    p.expect("unlisten")?;
    let channel = if p.eat_punct('*') { None } else { Some(p.ident()?) };
    p.end()?;
    Ok(channel)
}

/// `NOTIFY channel [, 'payload']`: the payload is a string constant, as in PostgreSQL's
/// grammar (no expression, no parameter).
pub fn parse_notify(statement: &Statement<'_>) -> Result<(String, String), ParseError> {
    let mut p = Parser::new(statement);
    p.expect("notify")?;
    let channel = p.ident()?;
    let payload = if p.eat_punct(',') {
        match p.peek() {
            Some(Token::Literal(l)) => {
                p.next();
                literal_value(l)
            }
            _ => return Err(p.error()),
        }
    } else {
        String::new()
    };
    p.end()?;
    Ok((channel, payload))
}

/// PostgreSQL's identifier rule (`NAMEDATALEN` 64): a name of 64 bytes or more is cut to
/// at most 63, at a character boundary. `None` when it is short enough as it is.
pub fn truncate_identifier(name: &str) -> Option<&str> {
    const MAX: usize = 63;
    if name.len() <= MAX {
        return None;
    }
    let end = (0..=MAX).rev().find(|&i| name.is_char_boundary(i)).unwrap_or(0);
    Some(&name[..end])
}

/// `DECLARE name ... CURSOR ... FOR query`.
pub fn parse_declare(statement: &Statement<'_>) -> Result<DeclareCursor, ParseError> {
    let mut p = Parser::new(statement);
    p.expect("declare")?;
    let name = p.ident()?;
    let (mut binary, mut scroll) = (false, None);
    loop {
        if p.eat("binary") {
            binary = true;
        } else if p.eat("insensitive") || p.eat("asensitive") {
        } else if p.eat("scroll") {
            scroll = Some(true);
        } else if p.eat("no") {
            p.expect("scroll")?;
            scroll = Some(false);
        } else {
            break;
        }
    }
    p.expect("cursor")?;
    let hold = if p.eat("with") {
        p.expect("hold")?;
        true
    } else {
        if p.eat("without") {
            p.expect("hold")?;
        }
        false
    };
    p.expect("for")?;
    if p.at_end() {
        return Err(p.error());
    }
    Ok(DeclareCursor { name, binary, scroll, hold, query: p.rest().to_owned() })
}

/// `FETCH`/`MOVE` (`verb` says which) `[direction] [FROM|IN] cursor`.
pub fn parse_fetch(statement: &Statement<'_>, verb: &str) -> Result<Fetch, ParseError> {
    use FetchCount::{All, Rows};
    use FetchDirection::{Absolute, Backward, Forward, Relative};
    let mut p = Parser::new(statement);
    p.expect(verb)?;
    let count = |p: &mut Parser<'_>| -> Result<Option<i64>, ParseError> {
        let negative = p.eat_punct('-');
        if !negative {
            p.eat_punct('+');
        }
        match p.peek() {
            Some(Token::Number(n)) => {
                let v: i64 = n.parse().map_err(|_| p.error())?;
                p.next();
                Ok(Some(if negative { -v } else { v }))
            }
            _ if negative => Err(p.error()),
            _ => Ok(None),
        }
    };
    let signed = |n: i64| if n < 0 { Backward(Rows(n.unsigned_abs())) } else { Forward(Rows(n as u64)) };
    let direction = if p.eat("next") {
        Forward(Rows(1))
    } else if p.eat("prior") {
        Backward(Rows(1))
    } else if p.eat("first") {
        Absolute(1)
    } else if p.eat("last") {
        Absolute(-1)
    } else if p.eat("absolute") {
        Absolute(count(&mut p)?.ok_or_else(|| p.error())?)
    } else if p.eat("relative") {
        Relative(count(&mut p)?.ok_or_else(|| p.error())?)
    } else if p.eat("all") {
        Forward(All)
    } else if p.eat("forward") {
        if p.eat("all") {
            Forward(All)
        } else {
            count(&mut p)?.map_or(Forward(Rows(1)), signed)
        }
    } else if p.eat("backward") {
        if p.eat("all") {
            Backward(All)
        } else {
            match count(&mut p)? {
                None => Backward(Rows(1)),
                Some(n) if n < 0 => Forward(Rows(n.unsigned_abs())),
                Some(n) => Backward(Rows(n as u64)),
            }
        }
    } else {
        count(&mut p)?.map_or(Forward(Rows(1)), signed)
    };
    let _ = p.eat("from") || p.eat("in");
    let cursor = p.ident()?;
    p.end()?;
    Ok(Fetch { cursor, direction })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn list(values: &[&str]) -> SetValue {
        SetValue::List(values.iter().map(|v| (*v).to_owned()).collect())
    }

    fn param(name: &str, local: bool, value: SetValue) -> Set {
        Set::Param { name: name.into(), local, value }
    }

    #[test]
    fn set_forms() {
        let cases = [
            ("SET search_path TO a, \"B\"", param("search_path", false, list(&["a", "B"]))),
            ("set session DateStyle = 'ISO, MDY'", param("datestyle", false, list(&["ISO, MDY"]))),
            ("set local statement_timeout = '5s'", param("statement_timeout", true, list(&["5s"]))),
            ("SET extra_float_digits = -3", param("extra_float_digits", false, list(&["-3"]))),
            ("SET x.y = on", param("x.y", false, list(&["on"]))),
            ("set application_name to default", param("application_name", false, SetValue::Default)),
            ("SET TIME ZONE 'Europe/Paris'", param("timezone", false, list(&["Europe/Paris"]))),
            ("SET TIME ZONE -5", param("timezone", false, list(&["-5"]))),
            ("set time zone local", param("timezone", false, SetValue::Default)),
            ("SET NAMES 'UTF8'", param("client_encoding", false, list(&["UTF8"]))),
            ("SET SCHEMA 'public'", param("search_path", false, list(&["public"]))),
            ("set application_name = E'a\\'b'", param("application_name", false, list(&["a'b"]))),
            ("set application_name = 'it''s'", param("application_name", false, list(&["it's"]))),
            ("SET ROLE NONE", Set::Nothing),
            ("SET SESSION AUTHORIZATION DEFAULT", Set::Nothing),
        ];
        for (sql, expected) in cases {
            assert_eq!(parse_set(&Statement::new(sql)), Ok(expected), "{sql}");
        }
    }

    #[test]
    fn set_transaction_modes() {
        assert_eq!(
            parse_set(&Statement::new("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")),
            Ok(Set::Transaction {
                session_default: false,
                modes: vec![TransactionMode::Isolation("repeatable read"), TransactionMode::ReadOnly(true)]
            })
        );
        assert_eq!(
            parse_set(&Statement::new(
                "set session characteristics as transaction isolation level read committed"
            )),
            Ok(Set::Transaction {
                session_default: true,
                modes: vec![TransactionMode::Isolation("read committed")]
            })
        );
        assert_eq!(
            parse_begin_modes("begin isolation level serializable not deferrable"),
            Ok(vec![TransactionMode::Isolation("serializable"), TransactionMode::Deferrable(false)])
        );
        assert_eq!(parse_begin_modes("START TRANSACTION"), Ok(vec![]));
        assert!(parse_set(&Statement::new("set transaction isolation level bogus")).is_err());
    }

    #[test]
    fn syntax_errors_say_where() {
        let e = parse_set(&Statement::new("set application_name to")).unwrap_err();
        assert_eq!(e.message, "syntax error at end of input");
        let e = parse_set(&Statement::new("set application_name")).unwrap_err();
        assert_eq!((e.message.as_str(), e.position), ("syntax error at end of input", Some(21)));
        let e = parse_set(&Statement::new("set statement_timeout = 1 2")).unwrap_err();
        assert_eq!((e.message.as_str(), e.position), ("syntax error at or near \"2\"", Some(27)));
    }

    #[test]
    fn reset_and_show() {
        assert_eq!(parse_reset(&Statement::new("RESET ALL")), Ok(Reset::All));
        assert_eq!(parse_reset(&Statement::new("reset DateStyle")), Ok(Reset::Param("datestyle".into())));
        assert_eq!(parse_reset(&Statement::new("reset time zone")), Ok(Reset::Param("timezone".into())));
        assert_eq!(parse_reset(&Statement::new("reset role")), Ok(Reset::Nothing));
        assert_eq!(parse_show(&Statement::new("show all")), Ok(Show::All));
        assert_eq!(parse_show(&Statement::new("SHOW TimeZone")), Ok(Show::Param("timezone".into())));
        assert_eq!(parse_show(&Statement::new("show time zone")), Ok(Show::Param("timezone".into())));
        assert_eq!(
            parse_show(&Statement::new("show transaction isolation level")),
            Ok(Show::Param("transaction_isolation".into()))
        );
        assert!(parse_show(&Statement::new("show")).is_err());
    }

    #[test]
    fn cursors_and_prepared_statements() {
        assert_eq!(parse_discard(&Statement::new("discard all")), Ok(Discard::All));
        assert_eq!(parse_discard(&Statement::new("DISCARD TEMPORARY")), Ok(Discard::Temp));
        assert_eq!(parse_deallocate(&Statement::new("DEALLOCATE PREPARE s1")), Ok(Some("s1".into())));
        assert_eq!(parse_deallocate(&Statement::new("deallocate all")), Ok(None));
        assert_eq!(parse_close(&Statement::new("close \"My\"")), Ok(Some("My".into())));
        assert_eq!(parse_close(&Statement::new("CLOSE ALL")), Ok(None));
        assert_eq!(
            parse_declare(&Statement::new("DECLARE c BINARY NO SCROLL CURSOR WITH HOLD FOR select * from t")),
            Ok(DeclareCursor {
                name: "c".into(),
                binary: true,
                scroll: Some(false),
                hold: true,
                query: "select * from t".into()
            })
        );
        assert!(parse_declare(&Statement::new("declare c cursor for")).is_err());
    }

    #[test]
    fn listen_unlisten_notify() {
        assert_eq!(parse_listen(&Statement::new("LISTEN Jobs")), Ok("jobs".into()));
        assert_eq!(parse_listen(&Statement::new("listen \"Mixed Case\"")), Ok("Mixed Case".into()));
        assert_eq!(parse_unlisten(&Statement::new("unlisten *")), Ok(None));
        assert_eq!(parse_unlisten(&Statement::new("UNLISTEN c")), Ok(Some("c".into())));
        assert_eq!(parse_notify(&Statement::new("notify c")), Ok(("c".into(), String::new())));
        assert_eq!(parse_notify(&Statement::new("NOTIFY c, 'it''s'")), Ok(("c".into(), "it's".into())));
        assert_eq!(parse_notify(&Statement::new("notify c, E'a\\tb'")), Ok(("c".into(), "a\tb".into())));
        assert_eq!(parse_notify(&Statement::new("notify c, $$d$$")), Ok(("c".into(), "d".into())));
        // PostgreSQL's answers: the payload is a string constant, the channel a name.
        let e = parse_notify(&Statement::new("notify a, 1")).unwrap_err();
        assert_eq!((e.message.as_str(), e.position), ("syntax error at or near \"1\"", Some(11)));
        let e = parse_listen(&Statement::new("listen 'quoted'")).unwrap_err();
        assert_eq!((e.message.as_str(), e.position), ("syntax error at or near \"'quoted'\"", Some(8)));
        let e = parse_listen(&Statement::new("listen a b")).unwrap_err();
        assert_eq!(e.message, "syntax error at or near \"b\"");
        assert!(parse_notify(&Statement::new("notify")).is_err());
        let e = parse_notify(&Statement::new("notify \"\"")).unwrap_err();
        assert_eq!(
            (e.code, e.message.as_str(), e.position),
            (SqlState::SYNTAX_ERROR, "zero-length delimited identifier at or near \"\"\"\"", Some(8))
        );
        assert!(parse_unlisten(&Statement::new("unlisten")).is_err());
    }

    #[test]
    fn identifiers_are_truncated_at_a_character_boundary() {
        assert_eq!(truncate_identifier(&"a".repeat(63)), None);
        assert_eq!(truncate_identifier(&"a".repeat(80)), Some("a".repeat(63).as_str()));
        // 40 two-byte characters: 31 of them fit in 63 bytes.
        assert_eq!(truncate_identifier(&"é".repeat(40)), Some("é".repeat(31).as_str()));
    }

    #[test]
    fn fetch_directions() {
        use FetchCount::{All, Rows};
        use FetchDirection::*;
        let cases = [
            ("fetch c", Forward(Rows(1))),
            ("fetch next from c", Forward(Rows(1))),
            ("FETCH 10 IN c", Forward(Rows(10))),
            ("fetch -2 from c", Backward(Rows(2))),
            ("fetch all c", Forward(All)),
            ("fetch forward all from c", Forward(All)),
            ("fetch forward 5 c", Forward(Rows(5))),
            ("fetch backward c", Backward(Rows(1))),
            ("fetch prior c", Backward(Rows(1))),
            ("fetch first c", Absolute(1)),
            ("fetch last c", Absolute(-1)),
            ("fetch absolute -3 c", Absolute(-3)),
            ("fetch relative 0 c", Relative(0)),
        ];
        for (sql, direction) in cases {
            assert_eq!(
                parse_fetch(&Statement::new(sql), "fetch"),
                Ok(Fetch { cursor: "c".into(), direction }),
                "{sql}"
            );
        }
        assert_eq!(
            parse_fetch(&Statement::new("MOVE ALL IN c"), "move"),
            Ok(Fetch { cursor: "c".into(), direction: Forward(All) })
        );
        assert!(parse_fetch(&Statement::new("fetch 1 from"), "fetch").is_err());
    }
}
