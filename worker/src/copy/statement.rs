//! The `COPY` statement, as PostgreSQL 15 parses it: the table and column list or
//! the query, the direction, and the options in both the modern form
//! (`WITH (FORMAT csv, HEADER true)`) and the legacy one (`WITH CSV HEADER`,
//! `BINARY`, `DELIMITER AS ','`). Only `STDIN`/`STDOUT` copies are the session's;
//! copies to and from files go to DuckDB unchanged.

use mallard_protocol::pg::SqlState;

use super::CopyError;
use crate::sql::{Statement, Token};

/// `FROM` (the client sends rows) or `TO` (the server sends them).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    From,
    To,
}

/// What is copied.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    /// A table: its name parts (`[catalog.][schema.]table`, unquoted) and the listed
    /// columns, if any.
    Table { name: Vec<String>, columns: Option<Vec<String>> },
    /// `COPY (query) TO`: the query text.
    Query(String),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CopyFormat {
    Text,
    Csv,
    Binary,
}

/// `HEADER`: off, on (skip the first line in, write names out) or `MATCH` (check the
/// first line against the column names).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Header {
    Off,
    On,
    Match,
}

/// Columns named by `FORCE_QUOTE`, `FORCE_NOT_NULL` or `FORCE_NULL`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum ForceColumns {
    #[default]
    None,
    /// `*`: every column.
    All,
    Some(Vec<String>),
}

impl ForceColumns {
    /// Per column of `names`: whether it is named. Unknown names are an error.
    pub fn flags(&self, names: &[String], option: &str) -> Result<Vec<bool>, CopyError> {
        match self {
            ForceColumns::None => Ok(vec![false; names.len()]),
            ForceColumns::All => Ok(vec![true; names.len()]),
            ForceColumns::Some(listed) => {
                let mut flags = vec![false; names.len()];
                for l in listed {
                    match names.iter().position(|n| n.eq_ignore_ascii_case(l)) {
                        Some(i) => flags[i] = true,
                        None => {
                            return Err(CopyError::new(
                                SqlState::INVALID_COLUMN_REFERENCE,
                                format!("{option} column \"{l}\" not referenced by COPY"),
                            ))
                        }
                    }
                }
                Ok(flags)
            }
        }
    }
}

/// The options, validated and with PostgreSQL's defaults filled in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CopyOptions {
    pub format: CopyFormat,
    /// Accepted and ignored: DuckDB has no tuple visibility to freeze.
    pub freeze: bool,
    pub delimiter: u8,
    /// The NULL marker: `\N` in text, empty in CSV.
    pub null: Vec<u8>,
    pub header: Header,
    pub quote: u8,
    pub escape: u8,
    pub force_quote: ForceColumns,
    pub force_not_null: ForceColumns,
    pub force_null: ForceColumns,
}

/// A parsed `COPY ... FROM STDIN` or `COPY ... TO STDOUT`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CopyStatement {
    pub source: Source,
    pub direction: Direction,
    pub options: CopyOptions,
}

/// Parses a COPY statement. `Ok(None)`: not a COPY, or a COPY that does not use the
/// client's stdio (a file), which DuckDB runs itself.
pub fn parse(sql: &str) -> Result<Option<CopyStatement>, CopyError> {
    parse_statement(&Statement::new(sql))
}

/// [`parse`] of a statement already tokenized.
pub fn parse_statement(statement: &Statement<'_>) -> Result<Option<CopyStatement>, CopyError> {
    let tokens = statement.tokens().to_vec().into_iter().peekable();
    let mut p = Parser { sql: statement.sql(), tokens };
    if !p.eat_word("COPY") {
        return Ok(None);
    }
    let mut raw = RawOptions::default();
    if p.eat_word("BINARY") {
        raw.set("format", Arg::Word("binary".into()))?;
    }
    let source = p.source()?;
    let direction = match p.word().as_deref() {
        Some("FROM") => Direction::From,
        Some("TO") => Direction::To,
        _ => return Err(syntax("syntax error in COPY: expected FROM or TO")),
    };
    if matches!(source, Source::Query(_)) && direction == Direction::From {
        return Err(syntax("syntax error at or near \"FROM\": COPY (query) only supports TO"));
    }
    // STDIN and STDOUT both mean the client, either way round, as in PostgreSQL.
    if !(p.eat_word("STDIN") || p.eat_word("STDOUT")) {
        return Ok(None);
    }
    // The pre-7.3 `[USING] DELIMITERS 'x'` clause.
    p.eat_word("USING");
    if p.eat_word("DELIMITERS") {
        raw.set("delimiter", Arg::Str(p.string()?))?;
    }
    p.eat_word("WITH");
    if p.eat_punct('(') {
        p.generic_options(&mut raw)?;
    } else {
        p.legacy_options(&mut raw)?;
    }
    match p.tokens.next() {
        None => {}
        Some((_, Token::Word(w))) if w.eq_ignore_ascii_case("WHERE") => {
            return Err(CopyError::new(
                SqlState::FEATURE_NOT_SUPPORTED,
                "COPY FROM ... WHERE is not supported",
            ))
        }
        Some((at, _)) => return Err(syntax(&format!("syntax error at or near \"{}\"", p.near(at)))),
    }
    let options = raw.validate(direction)?;
    Ok(Some(CopyStatement { source, direction, options }))
}

fn syntax(message: &str) -> CopyError {
    CopyError::new(SqlState::SYNTAX_ERROR, message)
}

/// An option's argument as written.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Arg {
    None,
    Word(String),
    Str(String),
    Number(String),
    Star,
    List(Vec<String>),
}

impl Arg {
    /// The argument as text (PostgreSQL's `defGetString`).
    fn text(&self) -> Option<&str> {
        match self {
            Arg::Word(s) | Arg::Str(s) | Arg::Number(s) => Some(s),
            _ => None,
        }
    }
}

/// Options as given, before validation; each may appear once.
#[derive(Debug, Default)]
struct RawOptions(Vec<(String, Arg)>);

impl RawOptions {
    fn set(&mut self, name: &str, arg: Arg) -> Result<(), CopyError> {
        if self.0.iter().any(|(n, _)| n == name) {
            return Err(syntax("conflicting or redundant options"));
        }
        self.0.push((name.to_owned(), arg));
        Ok(())
    }

    fn validate(self, direction: Direction) -> Result<CopyOptions, CopyError> {
        let mut o = CopyOptions {
            format: CopyFormat::Text,
            freeze: false,
            delimiter: b'\t',
            null: b"\\N".to_vec(),
            header: Header::Off,
            quote: b'"',
            escape: b'"',
            force_quote: ForceColumns::None,
            force_not_null: ForceColumns::None,
            force_null: ForceColumns::None,
        };
        let (mut delimiter, mut null, mut quote, mut escape) = (None, None, None, None);
        for (name, arg) in &self.0 {
            match name.as_str() {
                "format" => {
                    o.format = match arg.text().map(str::to_ascii_lowercase).as_deref() {
                        Some("text") => CopyFormat::Text,
                        Some("csv") => CopyFormat::Csv,
                        Some("binary") => CopyFormat::Binary,
                        other => {
                            return Err(CopyError::new(
                                SqlState::INVALID_PARAMETER_VALUE,
                                format!("COPY format \"{}\" not recognized", other.unwrap_or("")),
                            ))
                        }
                    }
                }
                "freeze" => o.freeze = boolean(name, arg)?,
                "delimiter" => delimiter = Some(string(name, arg)?),
                "null" => null = Some(string(name, arg)?),
                "quote" => quote = Some(string(name, arg)?),
                "escape" => escape = Some(string(name, arg)?),
                "header" => {
                    o.header = match arg.text().map(str::to_ascii_lowercase).as_deref() {
                        Some("match") => Header::Match,
                        _ if boolean(name, arg)? => Header::On,
                        _ => Header::Off,
                    }
                }
                "force_quote" => o.force_quote = columns(name, arg, true)?,
                "force_not_null" => o.force_not_null = columns(name, arg, false)?,
                "force_null" => o.force_null = columns(name, arg, false)?,
                "encoding" => {
                    let e = string(name, arg)?.to_ascii_lowercase().replace(['-', '_'], "");
                    if e != "utf8" && e != "unicode" {
                        return Err(CopyError::new(
                            SqlState::FEATURE_NOT_SUPPORTED,
                            "COPY ENCODING other than UTF8 is not supported",
                        ));
                    }
                }
                _ => return Err(syntax(&format!("option \"{name}\" not recognized"))),
            }
        }
        let csv = o.format == CopyFormat::Csv;
        let binary = o.format == CopyFormat::Binary;
        if binary {
            for (given, what) in [(delimiter.is_some(), "DELIMITER"), (null.is_some(), "NULL")] {
                if given {
                    return Err(syntax(&format!("cannot specify {what} in BINARY mode")));
                }
            }
            if o.header != Header::Off {
                return Err(syntax("cannot specify HEADER in BINARY mode"));
            }
        }
        if csv {
            o.delimiter = b',';
            o.null = Vec::new();
        }
        if let Some(d) = delimiter {
            o.delimiter = single_byte(&d, "COPY delimiter must be a single one-byte character")?;
        }
        if let Some(n) = null {
            o.null = n.into_bytes();
        }
        if matches!(o.delimiter, b'\n' | b'\r') {
            return Err(invalid("COPY delimiter cannot be newline or carriage return"));
        }
        if o.null.contains(&b'\n') || o.null.contains(&b'\r') {
            return Err(invalid("COPY null representation cannot use newline or carriage return"));
        }
        if !csv && b"\\.abcdefghijklmnopqrstuvwxyz0123456789".contains(&o.delimiter) {
            return Err(invalid(&format!("COPY delimiter cannot be \"{}\"", o.delimiter as char)));
        }
        if o.header == Header::Match && direction == Direction::To {
            return Err(CopyError::new(
                SqlState::FEATURE_NOT_SUPPORTED,
                "cannot use \"match\" with HEADER in COPY TO",
            ));
        }
        let only_csv = |given: bool, what: &str| {
            if given && !csv {
                Err(CopyError::new(
                    SqlState::FEATURE_NOT_SUPPORTED,
                    format!("COPY {what} available only in CSV mode"),
                ))
            } else {
                Ok(())
            }
        };
        only_csv(quote.is_some(), "quote")?;
        only_csv(escape.is_some(), "escape")?;
        only_csv(o.force_quote != ForceColumns::None, "force quote")?;
        only_csv(o.force_not_null != ForceColumns::None, "force not null")?;
        only_csv(o.force_null != ForceColumns::None, "force null")?;
        let only = |given: bool, what: &str, dir: Direction, name: &str| {
            if given && direction != dir {
                Err(CopyError::new(
                    SqlState::FEATURE_NOT_SUPPORTED,
                    format!("COPY {what} only available using COPY {name}"),
                ))
            } else {
                Ok(())
            }
        };
        only(o.force_quote != ForceColumns::None, "force quote", Direction::To, "TO")?;
        only(o.force_not_null != ForceColumns::None, "force not null", Direction::From, "FROM")?;
        only(o.force_null != ForceColumns::None, "force null", Direction::From, "FROM")?;
        if let Some(q) = quote {
            o.quote = single_byte(&q, "COPY quote must be a single one-byte character")?;
        }
        o.escape = match escape {
            Some(e) => single_byte(&e, "COPY escape must be a single one-byte character")?,
            None => o.quote,
        };
        if csv && o.delimiter == o.quote {
            return Err(invalid("COPY delimiter and quote must be different"));
        }
        if !binary && o.null.contains(&o.delimiter) {
            return Err(invalid("COPY delimiter must not appear in the NULL specification"));
        }
        if csv && o.null.contains(&o.quote) {
            return Err(invalid("CSV quote character must not appear in the NULL specification"));
        }
        Ok(o)
    }
}

fn invalid(message: &str) -> CopyError {
    CopyError::new(SqlState::INVALID_PARAMETER_VALUE, message)
}

fn single_byte(s: &str, message: &str) -> Result<u8, CopyError> {
    match s.as_bytes() {
        [b] if b.is_ascii() => Ok(*b),
        _ => Err(CopyError::new(SqlState::FEATURE_NOT_SUPPORTED, message)),
    }
}

fn string(name: &str, arg: &Arg) -> Result<String, CopyError> {
    arg.text().map(str::to_owned).ok_or_else(|| syntax(&format!("{name} requires a parameter")))
}

/// PostgreSQL's `defGetBoolean`: no argument is true.
fn boolean(name: &str, arg: &Arg) -> Result<bool, CopyError> {
    let Some(text) = arg.text() else {
        return match arg {
            Arg::None => Ok(true),
            _ => Err(invalid(&format!("{name} requires a Boolean value"))),
        };
    };
    match text.to_ascii_lowercase().as_str() {
        "true" | "on" | "1" => Ok(true),
        "false" | "off" | "0" => Ok(false),
        _ => Err(invalid(&format!("{name} requires a Boolean value"))),
    }
}

fn columns(name: &str, arg: &Arg, star: bool) -> Result<ForceColumns, CopyError> {
    match arg {
        Arg::Star if star => Ok(ForceColumns::All),
        Arg::List(cols) => Ok(ForceColumns::Some(cols.clone())),
        _ => Err(syntax(&format!("argument to option \"{name}\" must be a list of column names"))),
    }
}

struct Parser<'a> {
    sql: &'a str,
    tokens: std::iter::Peekable<std::vec::IntoIter<(usize, Token<'a>)>>,
}

impl<'a> Parser<'a> {
    fn near(&self, at: usize) -> String {
        self.sql[at..].split_whitespace().next().unwrap_or("").to_owned()
    }

    fn peek(&mut self) -> Option<Token<'a>> {
        self.tokens.peek().map(|(_, t)| *t)
    }

    /// The next token if it is a bare word, upper-cased (and consumed).
    fn word(&mut self) -> Option<String> {
        match self.peek() {
            Some(Token::Word(w)) => {
                self.tokens.next();
                Some(w.to_ascii_uppercase())
            }
            _ => None,
        }
    }

    fn eat_word(&mut self, kw: &str) -> bool {
        if matches!(self.peek(), Some(Token::Word(w)) if w.eq_ignore_ascii_case(kw)) {
            self.tokens.next();
            return true;
        }
        false
    }

    fn expect_word(&mut self, kw: &str) -> Result<(), CopyError> {
        if self.eat_word(kw) {
            Ok(())
        } else {
            Err(syntax(&format!("syntax error: expected {kw}")))
        }
    }

    fn eat_punct(&mut self, c: char) -> bool {
        if self.peek() == Some(Token::Punct(c)) {
            self.tokens.next();
            return true;
        }
        false
    }

    fn error_here(&mut self) -> CopyError {
        match self.tokens.peek() {
            Some(&(at, _)) => syntax(&format!("syntax error at or near \"{}\"", self.near(at))),
            None => syntax("syntax error at end of input"),
        }
    }

    /// An identifier: a bare word folds to lower case, a quoted one keeps its case.
    fn ident(&mut self) -> Result<String, CopyError> {
        match self.peek() {
            Some(Token::Word(w)) => {
                self.tokens.next();
                Ok(w.to_lowercase())
            }
            Some(Token::QuotedIdent(q)) => {
                self.tokens.next();
                Ok(q[1..q.len().saturating_sub(1).max(1)].replace("\"\"", "\""))
            }
            _ => Err(self.error_here()),
        }
    }

    fn string(&mut self) -> Result<String, CopyError> {
        match self.peek() {
            Some(Token::Literal(l)) => {
                self.tokens.next();
                Ok(unquote_literal(l))
            }
            _ => Err(self.error_here()),
        }
    }

    fn source(&mut self) -> Result<Source, CopyError> {
        if let Some(&(open, Token::Punct('('))) = self.tokens.peek() {
            self.tokens.next();
            let mut depth = 1;
            for (at, t) in self.tokens.by_ref() {
                match t {
                    Token::Punct('(') => depth += 1,
                    Token::Punct(')') => {
                        depth -= 1;
                        if depth == 0 {
                            return Ok(Source::Query(self.sql[open + 1..at].trim().to_owned()));
                        }
                    }
                    _ => {}
                }
            }
            return Err(syntax("syntax error at end of input"));
        }
        let mut name = vec![self.ident()?];
        while self.eat_punct('.') {
            name.push(self.ident()?);
        }
        if name.len() > 3 {
            return Err(syntax(&format!(
                "improper qualified name (too many dotted names): {}",
                name.join(".")
            )));
        }
        let columns = if self.eat_punct('(') { Some(self.ident_list()?) } else { None };
        Ok(Source::Table { name, columns })
    }

    /// `a, b, c)` after an opening parenthesis.
    fn ident_list(&mut self) -> Result<Vec<String>, CopyError> {
        let mut list = Vec::new();
        if self.eat_punct(')') {
            return Ok(list);
        }
        loop {
            list.push(self.ident()?);
            if self.eat_punct(')') {
                return Ok(list);
            }
            if !self.eat_punct(',') {
                return Err(self.error_here());
            }
        }
    }

    /// `name [arg], ...)`: the modern option list after its opening parenthesis.
    fn generic_options(&mut self, raw: &mut RawOptions) -> Result<(), CopyError> {
        loop {
            let name = self.ident()?;
            let arg = match self.peek() {
                Some(Token::Punct(',' | ')')) => Arg::None,
                Some(Token::Word(_)) => Arg::Word(self.ident()?),
                Some(Token::Literal(_)) => Arg::Str(self.string()?),
                Some(Token::Number(n)) => {
                    self.tokens.next();
                    Arg::Number(n.to_owned())
                }
                Some(Token::Punct('*')) => {
                    self.tokens.next();
                    Arg::Star
                }
                Some(Token::Punct('(')) => {
                    self.tokens.next();
                    Arg::List(self.ident_list()?)
                }
                _ => return Err(self.error_here()),
            };
            raw.set(&name, arg)?;
            if self.eat_punct(')') {
                return Ok(());
            }
            if !self.eat_punct(',') {
                return Err(self.error_here());
            }
        }
    }

    /// `BINARY`, `CSV`, `HEADER`, `FREEZE`, `DELIMITER [AS] 'x'`, ... until the end.
    fn legacy_options(&mut self, raw: &mut RawOptions) -> Result<(), CopyError> {
        loop {
            let Some(Token::Word(w)) = self.peek() else { return Ok(()) };
            let kw = w.to_ascii_uppercase();
            let (name, arg) = match kw.as_str() {
                "BINARY" => ("format", Arg::Word("binary".into())),
                "CSV" => ("format", Arg::Word("csv".into())),
                "HEADER" => ("header", Arg::None),
                "FREEZE" => ("freeze", Arg::None),
                "DELIMITER" | "NULL" | "QUOTE" | "ESCAPE" | "ENCODING" => {
                    self.tokens.next();
                    self.eat_word("AS");
                    let name = kw.to_ascii_lowercase();
                    raw.set(&name, Arg::Str(self.string()?))?;
                    continue;
                }
                "FORCE" => {
                    self.tokens.next();
                    let name = if self.eat_word("QUOTE") {
                        "force_quote"
                    } else if self.eat_word("NOT") {
                        self.expect_word("NULL")?;
                        "force_not_null"
                    } else if self.eat_word("NULL") {
                        "force_null"
                    } else {
                        return Err(self.error_here());
                    };
                    let arg =
                        if self.eat_punct('*') { Arg::Star } else { Arg::List(self.bare_ident_list()?) };
                    raw.set(name, arg)?;
                    continue;
                }
                "OIDS" => {
                    return Err(CopyError::new(
                        SqlState::FEATURE_NOT_SUPPORTED,
                        "COPY WITH OIDS is not supported",
                    ))
                }
                _ => return Ok(()),
            };
            self.tokens.next();
            raw.set(name, arg)?;
        }
    }

    /// `a, b` without parentheses (legacy `FORCE QUOTE a, b`).
    fn bare_ident_list(&mut self) -> Result<Vec<String>, CopyError> {
        let mut list = vec![self.ident()?];
        while self.eat_punct(',') {
            list.push(self.ident()?);
        }
        Ok(list)
    }
}

/// The value of a string literal token: `'..'` with doubled quotes, `E'..'` with
/// backslash escapes, or `$tag$..$tag$`.
fn unquote_literal(l: &str) -> String {
    if let Some(body) = l.strip_prefix('$') {
        let tag_end = body.find('$').map_or(0, |i| i + 2);
        let close = l.len().saturating_sub(tag_end).max(tag_end);
        return l[tag_end..close].to_owned();
    }
    let escaped = l.starts_with(['e', 'E']);
    let body = l.trim_start_matches(['e', 'E']);
    let body = body.strip_prefix('\'').unwrap_or(body);
    let body = body.strip_suffix('\'').unwrap_or(body);
    if !escaped {
        return body.replace("''", "'");
    }
    let mut out = Vec::new();
    let b = body.as_bytes();
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'\'' if b.get(i + 1) == Some(&b'\'') => {
                out.push(b'\'');
                i += 2;
            }
            b'\\' if i + 1 < b.len() => {
                i += 1;
                let (byte, used) = match b[i] {
                    b'b' => (8, 1),
                    b'f' => (12, 1),
                    b'n' => (b'\n', 1),
                    b'r' => (b'\r', 1),
                    b't' => (b'\t', 1),
                    b'0'..=b'7' => {
                        let n = b[i..].iter().take(3).take_while(|c| (b'0'..=b'7').contains(c)).count();
                        (b[i..i + n].iter().fold(0u32, |v, d| v * 8 + u32::from(d - b'0')) as u8, n)
                    }
                    b'x' if b.get(i + 1).is_some_and(u8::is_ascii_hexdigit) => {
                        let n = b[i + 1..].iter().take(2).take_while(|c| c.is_ascii_hexdigit()).count();
                        let s = std::str::from_utf8(&b[i + 1..i + 1 + n]).unwrap_or("0");
                        (u8::from_str_radix(s, 16).unwrap_or(0), n + 1)
                    }
                    other => (other, 1),
                };
                out.push(byte);
                i += used;
            }
            other => {
                out.push(other);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn copy(sql: &str) -> CopyStatement {
        parse(sql).unwrap_or_else(|e| panic!("{sql}: {e}")).unwrap_or_else(|| panic!("{sql}: not stdio"))
    }

    fn error(sql: &str) -> (SqlState, String) {
        let e = parse(sql).expect_err(sql);
        (e.code, e.message)
    }

    fn table(name: &[&str], columns: Option<&[&str]>) -> Source {
        Source::Table {
            name: name.iter().map(|s| s.to_string()).collect(),
            columns: columns.map(|c| c.iter().map(|s| s.to_string()).collect()),
        }
    }

    #[test]
    fn tables_columns_and_queries() {
        let c = copy("copy T from stdin");
        assert_eq!((c.source, c.direction), (table(&["t"], None), Direction::From));
        let c = copy(r#"COPY s."My Table" (a, "B") TO STDOUT"#);
        assert_eq!(c.source, table(&["s", "My Table"], Some(&["a", "B"])));
        assert_eq!(c.direction, Direction::To);
        let c = copy("copy (select a, (b) from t where x = ')') to stdout with csv");
        assert_eq!(c.source, Source::Query("select a, (b) from t where x = ')'".into()));
        assert_eq!(c.options.format, CopyFormat::Csv);
        assert_eq!(copy("copy db.s.t from stdout").source, table(&["db", "s", "t"], None));
    }

    #[test]
    fn files_and_other_statements_are_not_ours() {
        assert_eq!(parse("select 1"), Ok(None));
        assert_eq!(parse("copy t from '/tmp/x.csv' (format csv)"), Ok(None));
        assert_eq!(parse("copy (select 1) to 'out.parquet' (format parquet)"), Ok(None));
    }

    #[test]
    fn defaults_per_format() {
        let o = copy("copy t from stdin").options;
        assert_eq!(
            (o.format, o.delimiter, o.null.as_slice(), o.header),
            (CopyFormat::Text, b'\t', &b"\\N"[..], Header::Off)
        );
        let o = copy("copy t from stdin (format csv)").options;
        assert_eq!((o.delimiter, o.null.as_slice(), o.quote, o.escape), (b',', &b""[..], b'"', b'"'));
    }

    #[test]
    fn modern_options() {
        let o = copy("copy t from stdin with (format csv, header true, freeze on, delimiter ';', null 'NA', quote '''', escape E'\\\\')").options;
        assert_eq!(o.format, CopyFormat::Csv);
        assert_eq!(o.header, Header::On);
        assert!(o.freeze);
        assert_eq!((o.delimiter, o.null.as_slice(), o.quote, o.escape), (b';', &b"NA"[..], b'\'', b'\\'));
        assert_eq!(copy("copy t from stdin (format csv, header match)").options.header, Header::Match);
        assert_eq!(copy("copy t from stdin (header 0)").options.header, Header::Off);
        assert_eq!(copy("copy t from stdin (header)").options.header, Header::On);
        assert_eq!(copy("copy t from stdin (delimiter E'\\t')").options.delimiter, b'\t');
        let o = copy("copy t to stdout (format csv, force_quote *)").options;
        assert_eq!(o.force_quote, ForceColumns::All);
        let o = copy("copy t to stdout (format csv, force_quote (a, \"B\"))").options;
        assert_eq!(o.force_quote, ForceColumns::Some(vec!["a".into(), "B".into()]));
        assert!(copy("copy pgbench_accounts from stdin with (freeze on)").options.freeze);
    }

    #[test]
    fn legacy_options() {
        let o = copy("COPY t FROM STDIN WITH CSV HEADER DELIMITER ',' NULL AS 'x' QUOTE AS '\"'").options;
        assert_eq!(
            (o.format, o.header, o.delimiter, o.null.as_slice()),
            (CopyFormat::Csv, Header::On, b',', &b"x"[..])
        );
        assert_eq!(copy("copy t from stdin with binary").options.format, CopyFormat::Binary);
        assert_eq!(copy("copy binary t from stdin").options.format, CopyFormat::Binary);
        assert_eq!(copy("copy t from stdin using delimiters '|'").options.delimiter, b'|');
        let o = copy("copy t to stdout csv force quote a, b").options;
        assert_eq!(o.force_quote, ForceColumns::Some(vec!["a".into(), "b".into()]));
        let o = copy("copy t from stdin csv force not null a").options;
        assert_eq!(o.force_not_null, ForceColumns::Some(vec!["a".into()]));
    }

    #[test]
    fn rejected_like_postgres() {
        let s = SqlState::SYNTAX_ERROR;
        let i = SqlState::INVALID_PARAMETER_VALUE;
        let n = SqlState::FEATURE_NOT_SUPPORTED;
        let cases: &[(&str, SqlState, &str)] = &[
            ("copy t from stdin (format csv, format text)", s, "conflicting or redundant options"),
            ("copy t from stdin csv binary", s, "conflicting or redundant options"),
            ("copy t from stdin (format xml)", i, "COPY format \"xml\" not recognized"),
            ("copy t from stdin (bogus 1)", s, "option \"bogus\" not recognized"),
            (
                "copy t from stdin (format binary, delimiter ',')",
                s,
                "cannot specify DELIMITER in BINARY mode",
            ),
            ("copy t from stdin (format binary, header)", s, "cannot specify HEADER in BINARY mode"),
            ("copy t from stdin (delimiter ',,')", n, "COPY delimiter must be a single one-byte character"),
            (
                "copy t from stdin (delimiter E'\\n')",
                i,
                "COPY delimiter cannot be newline or carriage return",
            ),
            ("copy t from stdin (delimiter 'a')", i, "COPY delimiter cannot be \"a\""),
            ("copy t from stdin (quote '''')", n, "COPY quote available only in CSV mode"),
            ("copy t from stdin (format csv, quote ',')", i, "COPY delimiter and quote must be different"),
            ("copy t from stdin (freeze maybe)", i, "freeze requires a Boolean value"),
            (
                "copy t from stdin (format csv, force_quote *)",
                n,
                "COPY force quote only available using COPY TO",
            ),
            ("copy t to stdout (format csv, header match)", n, "cannot use \"match\" with HEADER in COPY TO"),
            (
                "copy t from stdin (null E'a\\tb')",
                i,
                "COPY delimiter must not appear in the NULL specification",
            ),
        ];
        for (sql, code, message) in cases {
            assert_eq!(error(sql), (*code, message.to_string()), "{sql}");
        }
        assert_eq!(error("copy t from stdin where a > 1").0, n);
        assert_eq!(error("copy (select 1) from stdin").0, s);
        assert_eq!(error("copy t from stdin (format csv").0, s);
        assert_eq!(error("copy t stdin").0, s);
    }

    #[test]
    fn literals() {
        assert_eq!(unquote_literal("'it''s'"), "it's");
        assert_eq!(unquote_literal("E'\\t\\x41\\101\\\\'"), "\tAA\\");
        assert_eq!(unquote_literal("$$a'b$$"), "a'b");
        assert_eq!(unquote_literal("$q$x$q$"), "x");
    }
}
