//! The conformance suite's data format: cases of message exchanges, parsed from and
//! written back to the line-based text files under `tests/conformance/` (the README there
//! describes the format for humans), and [`Msg`], a backend message reduced to what the
//! suite compares.
//!
//! A file is a list of cases; a case is a list of steps; a step is the frontend messages
//! sent in one write, the backend message kind that ends the step's reading (`until`) and
//! the backend messages expected in answer.

use std::fmt::{self, Write as _};

use mallard_protocol::pg::backend::{self, FieldDescription};
use mallard_protocol::pg::frontend::{self, Target};
use mallard_protocol::pg::Format;

mod syntax;

use syntax::{known_kind, parse_args, parse_expect, parse_send, tokenize, Arg, Token};

/// A case file: its lines as read (re-recording keeps every line except `expect` lines)
/// and the cases parsed from them.
pub struct CaseFile {
    pub name: String,
    pub lines: Vec<String>,
    pub cases: Vec<Case>,
}

pub struct Case {
    pub name: String,
    /// Message kinds dropped from both sides before comparing (`option ignore KIND`).
    pub ignore: Vec<String>,
    pub steps: Vec<Step>,
}

pub struct Step {
    /// 1-based line of the step's first `send`.
    pub line: usize,
    pub sends: Vec<Send>,
    /// The message kind that ends the step's reading when recording (its `until` line).
    pub until: String,
    pub expects: Vec<Msg>,
    /// 0-based index of the step's `until` line, after which its `expect` lines go.
    anchor: usize,
}

/// A frontend message to send, owning its data.
#[derive(Debug, Clone)]
pub enum Send {
    Query(String),
    Parse {
        name: String,
        sql: String,
        types: Vec<u32>,
    },
    Bind {
        portal: String,
        statement: String,
        formats: Vec<Format>,
        params: Vec<Option<Vec<u8>>>,
        results: Vec<Format>,
    },
    Describe {
        target: Target,
        name: String,
    },
    Execute {
        portal: String,
        max_rows: i32,
    },
    Close {
        target: Target,
        name: String,
    },
    Flush,
    Sync,
    CopyData(Vec<u8>),
    CopyDone,
    CopyFail(String),
}

impl Send {
    /// The codec's message, borrowing from this one.
    pub fn message(&self) -> frontend::Message<'_> {
        use frontend::Message as M;
        match self {
            Send::Query(sql) => M::Query(sql),
            Send::Parse { name, sql, types } => M::Parse { name, query: sql, param_types: types.clone() },
            Send::Bind { portal, statement, formats, params, results } => M::Bind {
                portal,
                statement,
                param_formats: formats.clone(),
                params: params.iter().map(|p| p.as_deref()).collect(),
                result_formats: results.clone(),
            },
            Send::Describe { target, name } => M::Describe { target: *target, name },
            Send::Execute { portal, max_rows } => M::Execute { portal, max_rows: *max_rows },
            Send::Close { target, name } => M::Close { target: *target, name },
            Send::Flush => M::Flush,
            Send::Sync => M::Sync,
            Send::CopyData(data) => M::CopyData(data),
            Send::CopyDone => M::CopyDone,
            Send::CopyFail(reason) => M::CopyFail(reason),
        }
    }
}

/// One column of a `RowDescription`, without the table OID and attribute number (which
/// name catalog rows that exist only in the server that sent them).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Column {
    pub name: String,
    pub type_oid: u32,
    pub size: i16,
    pub modifier: i32,
    pub format: Format,
}

/// A backend message as the suite compares it. Errors and notices compare severity and
/// SQLSTATE only; their message is carried along for people to read.
#[derive(Debug, Clone)]
pub enum Msg {
    ParseComplete,
    BindComplete,
    CloseComplete,
    NoData,
    PortalSuspended,
    EmptyQueryResponse,
    CopyDone,
    ReadyForQuery(char),
    ParameterDescription(Vec<u32>),
    RowDescription(Vec<Column>),
    DataRow(Vec<Option<Vec<u8>>>),
    CommandComplete(String),
    ErrorResponse {
        severity: String,
        code: String,
        message: String,
    },
    NoticeResponse {
        severity: String,
        code: String,
        message: String,
    },
    ParameterStatus {
        name: String,
        value: String,
    },
    CopyInResponse {
        format: Format,
        columns: Vec<Format>,
    },
    CopyOutResponse {
        format: Format,
        columns: Vec<Format>,
    },
    CopyData(Vec<u8>),
    /// Any other message, kept whole.
    Unknown {
        tag: u8,
        body: Vec<u8>,
    },
    /// Not a message: what ended reading early (connection closed, timeout). Only ever
    /// on the actual side, so it never matches.
    Broken(String),
}

impl PartialEq for Msg {
    fn eq(&self, other: &Msg) -> bool {
        use Msg::*;
        match (self, other) {
            (ErrorResponse { severity: s1, code: c1, .. }, ErrorResponse { severity: s2, code: c2, .. })
            | (
                NoticeResponse { severity: s1, code: c1, .. },
                NoticeResponse { severity: s2, code: c2, .. },
            ) => s1 == s2 && c1 == c2,
            (Broken(_), _) | (_, Broken(_)) => false,
            _ => self.to_string() == other.to_string(),
        }
    }
}

impl Msg {
    /// The message's kind, as the files name it.
    pub fn kind(&self) -> &'static str {
        match self {
            Msg::ParseComplete => "ParseComplete",
            Msg::BindComplete => "BindComplete",
            Msg::CloseComplete => "CloseComplete",
            Msg::NoData => "NoData",
            Msg::PortalSuspended => "PortalSuspended",
            Msg::EmptyQueryResponse => "EmptyQueryResponse",
            Msg::CopyDone => "CopyDone",
            Msg::ReadyForQuery(_) => "ReadyForQuery",
            Msg::ParameterDescription(_) => "ParameterDescription",
            Msg::RowDescription(_) => "RowDescription",
            Msg::DataRow(_) => "DataRow",
            Msg::CommandComplete(_) => "CommandComplete",
            Msg::ErrorResponse { .. } => "ErrorResponse",
            Msg::NoticeResponse { .. } => "NoticeResponse",
            Msg::ParameterStatus { .. } => "ParameterStatus",
            Msg::CopyInResponse { .. } => "CopyInResponse",
            Msg::CopyOutResponse { .. } => "CopyOutResponse",
            Msg::CopyData(_) => "CopyData",
            Msg::Unknown { .. } => "Unknown",
            Msg::Broken(_) => "Broken",
        }
    }

    /// Reduces a decoded backend message.
    pub fn from_backend(m: backend::Message) -> Msg {
        use backend::Message as B;
        let tx = |s: mallard_protocol::pg::TransactionStatus| s.byte() as char;
        match m {
            B::ParseComplete => Msg::ParseComplete,
            B::BindComplete => Msg::BindComplete,
            B::CloseComplete => Msg::CloseComplete,
            B::NoData => Msg::NoData,
            B::PortalSuspended => Msg::PortalSuspended,
            B::EmptyQueryResponse => Msg::EmptyQueryResponse,
            B::CopyDone => Msg::CopyDone,
            B::ReadyForQuery(s) => Msg::ReadyForQuery(tx(s)),
            B::ParameterDescription(oids) => Msg::ParameterDescription(oids),
            B::RowDescription(fields) => Msg::RowDescription(fields.iter().map(column).collect()),
            B::DataRow(values) => Msg::DataRow(values),
            B::CommandComplete(tag) => Msg::CommandComplete(tag),
            B::ErrorResponse(e) => Msg::ErrorResponse {
                severity: e.severity.as_str().to_owned(),
                code: e.code.code().to_owned(),
                message: e.message,
            },
            B::NoticeResponse(e) => Msg::NoticeResponse {
                severity: e.severity.as_str().to_owned(),
                code: e.code.code().to_owned(),
                message: e.message,
            },
            B::ParameterStatus { name, value } => Msg::ParameterStatus { name, value },
            B::CopyInResponse { format, columns } => Msg::CopyInResponse { format, columns },
            B::CopyOutResponse { format, columns } => Msg::CopyOutResponse { format, columns },
            B::CopyData(data) => Msg::CopyData(data),
            other => {
                let mut buf = Vec::new();
                other.encode(&mut buf);
                Msg::Unknown { tag: buf[0], body: buf[5..].to_vec() }
            }
        }
    }
}

fn column(f: &FieldDescription) -> Column {
    Column {
        name: f.name.clone(),
        type_oid: f.type_oid,
        size: f.type_size,
        modifier: f.type_modifier,
        format: f.format,
    }
}

/// Type names the files may use instead of OIDs (PostgreSQL's `pg_type.typname`).
const TYPES: &[(&str, u32)] = &[
    ("bool", 16),
    ("bytea", 17),
    ("name", 19),
    ("int8", 20),
    ("int2", 21),
    ("int4", 23),
    ("text", 25),
    ("oid", 26),
    ("json", 114),
    ("float4", 700),
    ("float8", 701),
    ("unknown", 705),
    ("bpchar", 1042),
    ("varchar", 1043),
    ("date", 1082),
    ("time", 1083),
    ("timestamp", 1114),
    ("timestamptz", 1184),
    ("interval", 1186),
    ("numeric", 1700),
    ("uuid", 2950),
    ("jsonb", 3802),
];

fn type_name(oid: u32) -> String {
    TYPES.iter().find(|(_, o)| *o == oid).map_or_else(|| oid.to_string(), |(n, _)| (*n).to_owned())
}

fn format_name(f: Format) -> &'static str {
    match f {
        Format::Text => "text",
        Format::Binary => "binary",
    }
}

/// Writes bytes as a quoted string when they are readable text, else as `x'..'`.
fn write_bytes(out: &mut String, bytes: &[u8]) {
    match std::str::from_utf8(bytes) {
        Ok(s) if !s.chars().any(|c| c.is_control() && !matches!(c, '\n' | '\t' | '\r')) => write_str(out, s),
        _ => {
            out.push_str("x'");
            for b in bytes {
                let _ = write!(out, "{b:02x}");
            }
            out.push('\'');
        }
    }
}

fn write_str(out: &mut String, s: &str) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            c if c.is_control() => {
                let _ = write!(out, "\\x{:02x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

fn write_formats(out: &mut String, formats: &[Format]) {
    let names: Vec<&str> = formats.iter().map(|f| format_name(*f)).collect();
    let _ = write!(out, "[{}]", names.join(" "));
}

/// The `expect` line's arguments, exactly as the file spells them (errors and notices
/// end with their message as a comment).
impl fmt::Display for Msg {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut out = String::from(self.kind());
        match self {
            Msg::ReadyForQuery(s) => {
                let _ = write!(out, " {s}");
            }
            Msg::ParameterDescription(oids) => {
                let names: Vec<String> = oids.iter().map(|o| type_name(*o)).collect();
                let _ = write!(out, " [{}]", names.join(" "));
            }
            Msg::RowDescription(columns) => {
                for c in columns {
                    out.push_str(" (");
                    write_str(&mut out, &c.name);
                    let _ = write!(
                        out,
                        " {} {} {} {})",
                        type_name(c.type_oid),
                        c.size,
                        c.modifier,
                        format_name(c.format)
                    );
                }
            }
            Msg::DataRow(values) => {
                for v in values {
                    out.push(' ');
                    match v {
                        None => out.push_str("NULL"),
                        Some(b) => write_bytes(&mut out, b),
                    }
                }
            }
            Msg::CommandComplete(tag) => {
                out.push(' ');
                write_str(&mut out, tag);
            }
            Msg::ErrorResponse { severity, code, message }
            | Msg::NoticeResponse { severity, code, message } => {
                let _ = write!(out, " {severity} {code}");
                if !message.is_empty() {
                    let _ = write!(out, "  # {}", message.replace(['\n', '\r'], " "));
                }
            }
            Msg::ParameterStatus { name, value } => {
                out.push(' ');
                write_str(&mut out, name);
                out.push(' ');
                write_str(&mut out, value);
            }
            Msg::CopyInResponse { format, columns } | Msg::CopyOutResponse { format, columns } => {
                let _ = write!(out, " {} ", format_name(*format));
                write_formats(&mut out, columns);
            }
            Msg::CopyData(data) => {
                out.push(' ');
                write_bytes(&mut out, data);
            }
            Msg::Unknown { tag, body } => {
                let _ = write!(out, " {tag} ");
                write_bytes(&mut out, body);
            }
            Msg::Broken(why) => {
                let _ = write!(out, " <{why}>");
            }
            _ => {}
        }
        f.write_str(&out)
    }
}

impl CaseFile {
    /// Parses a case file; errors name the file and line.
    pub fn parse(name: &str, text: &str) -> Result<CaseFile, String> {
        let lines: Vec<String> = text.lines().map(str::to_owned).collect();
        let mut cases: Vec<Case> = Vec::new();
        // Whether the last step still takes sends (no `until` or `expect` after them yet).
        let mut open = false;
        for (i, line) in lines.iter().enumerate() {
            let at = |e: String| format!("{name}:{}: {e}", i + 1);
            let (tokens, comment) = tokenize(line).map_err(at)?;
            let Some(Token::Word(keyword)) = tokens.first().cloned() else {
                if tokens.is_empty() {
                    continue;
                }
                return Err(at("a line starts with case, option, send, until or expect".into()));
            };
            let rest = &tokens[1..];
            if keyword == "case" && open {
                return Err(at("the previous step's sends need an until line".into()));
            }
            if keyword == "case" {
                let case_name = match rest {
                    [Token::Word(n)] => n.clone(),
                    _ => return Err(at("case NAME (one word)".into())),
                };
                if cases.iter().any(|c| c.name == case_name) {
                    return Err(at(format!("duplicate case {case_name}")));
                }
                cases.push(Case { name: case_name, ignore: Vec::new(), steps: Vec::new() });
                open = false;
                continue;
            }
            let case = cases.last_mut().ok_or_else(|| at(format!("{keyword} before the first case")))?;
            let (kind, args) = match rest.split_first() {
                Some((Token::Word(kind), args)) => (kind.clone(), parse_args(args).map_err(at)?),
                _ => return Err(at(format!("{keyword} needs a message kind"))),
            };
            match keyword.as_str() {
                "option" => match (kind.as_str(), args.positional.front()) {
                    ("ignore", Some(Arg::Word(k))) => case.ignore.push(known_kind(k.clone()).map_err(at)?),
                    _ => return Err(at("the only option is `option ignore KIND`".into())),
                },
                "send" => {
                    let send = parse_send(&kind, args).map_err(at)?;
                    match case.steps.last_mut() {
                        Some(step) if open => step.sends.push(send),
                        _ => case.steps.push(Step {
                            line: i + 1,
                            sends: vec![send],
                            until: String::new(),
                            expects: Vec::new(),
                            anchor: i,
                        }),
                    }
                    open = true;
                }
                "until" => {
                    let step = case.steps.last_mut().filter(|_| open);
                    let step = step.ok_or_else(|| at("until ends a step's sends".into()))?;
                    step.until = known_kind(kind).map_err(at)?;
                    step.anchor = i;
                    open = false;
                }
                "expect" if open => return Err(at("the step's sends need an until line first".into())),
                "expect" => {
                    let step = case.steps.last_mut().ok_or_else(|| at("expect before any send".into()))?;
                    step.expects.push(parse_expect(&kind, args, comment).map_err(at)?);
                }
                other => return Err(at(format!("unknown keyword {other}"))),
            }
        }
        if open {
            return Err(format!("{name}: the last step's sends need an until line"));
        }
        Ok(CaseFile { name: name.to_owned(), lines, cases })
    }

    /// The file with every step's `expect` lines replaced by `recorded[case][step]`;
    /// all other lines (comments included) stay where they are.
    pub fn rewrite(&self, recorded: &[Vec<Vec<Msg>>]) -> String {
        let mut after: std::collections::HashMap<usize, &Vec<Msg>> = Default::default();
        for (case, steps) in self.cases.iter().zip(recorded) {
            for (step, msgs) in case.steps.iter().zip(steps) {
                after.insert(step.anchor, msgs);
            }
        }
        let mut out = String::new();
        for (i, line) in self.lines.iter().enumerate() {
            if !matches!(tokenize(line).ok().and_then(|(t, _)| t.first().cloned()), Some(Token::Word(w)) if w == "expect")
            {
                out.push_str(line);
                out.push('\n');
            }
            for m in after.get(&i).into_iter().flat_map(|v| v.iter()) {
                let _ = writeln!(out, "  expect {m}");
            }
        }
        out
    }
}
