//! The syntax of one line of a case file: tokens (quoted strings with escapes, `x'hex'`,
//! words, brackets, `=`), arguments built from them, and the `send` and `expect` messages
//! those arguments spell.

use mallard_protocol::pg::frontend::Target;
use mallard_protocol::pg::Format;

use super::{Column, Msg, Send, TYPES};

#[derive(Debug, Clone, PartialEq)]
pub(super) enum Token {
    Str(Vec<u8>),
    Hex(Vec<u8>),
    Word(String),
    Open(char),
    Close(char),
    Eq,
}

/// The tokens of a line and its trailing `# comment`, if any.
pub(super) fn tokenize(line: &str) -> Result<(Vec<Token>, Option<String>), String> {
    let mut tokens = Vec::new();
    let mut chars = line.chars().peekable();
    while let Some(&c) = chars.peek() {
        match c {
            c if c.is_whitespace() => {
                chars.next();
            }
            '#' => {
                chars.next();
                return Ok((tokens, Some(chars.collect::<String>().trim().to_owned())));
            }
            '"' => {
                chars.next();
                tokens.push(Token::Str(read_quoted(&mut chars)?));
            }
            '[' | '(' => {
                chars.next();
                tokens.push(Token::Open(c));
            }
            ']' | ')' => {
                chars.next();
                tokens.push(Token::Close(c));
            }
            '=' => {
                chars.next();
                tokens.push(Token::Eq);
            }
            _ => {
                let mut word = String::new();
                while let Some(&c) = chars.peek() {
                    if c.is_whitespace() || "#\"[]()='".contains(c) {
                        break;
                    }
                    word.push(c);
                    chars.next();
                }
                if word == "x" && chars.peek() == Some(&'\'') {
                    chars.next();
                    tokens.push(Token::Hex(read_hex(&mut chars)?));
                } else if word.is_empty() {
                    return Err(format!("unexpected character {c:?}"));
                } else {
                    tokens.push(Token::Word(word));
                }
            }
        }
    }
    Ok((tokens, None))
}

fn read_quoted(chars: &mut std::iter::Peekable<std::str::Chars<'_>>) -> Result<Vec<u8>, String> {
    let mut out = Vec::new();
    loop {
        match chars.next().ok_or("unterminated string")? {
            '"' => return Ok(out),
            '\\' => match chars.next().ok_or("unterminated escape")? {
                'n' => out.push(b'\n'),
                't' => out.push(b'\t'),
                'r' => out.push(b'\r'),
                '\\' => out.push(b'\\'),
                '"' => out.push(b'"'),
                'x' => {
                    let hex: String = [chars.next(), chars.next()].iter().flatten().collect();
                    out.push(u8::from_str_radix(&hex, 16).map_err(|_| format!("bad escape \\x{hex}"))?);
                }
                other => return Err(format!("unknown escape \\{other}")),
            },
            c => {
                let mut utf8 = [0; 4];
                out.extend_from_slice(c.encode_utf8(&mut utf8).as_bytes());
            }
        }
    }
}

fn read_hex(chars: &mut std::iter::Peekable<std::str::Chars<'_>>) -> Result<Vec<u8>, String> {
    let mut digits = String::new();
    loop {
        match chars.next().ok_or("unterminated hex string")? {
            '\'' => break,
            c if c.is_whitespace() => {}
            c => digits.push(c),
        }
    }
    if !digits.len().is_multiple_of(2) {
        return Err("odd number of hex digits".into());
    }
    (0..digits.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&digits[i..i + 2], 16).map_err(|_| format!("bad hex {digits:?}")))
        .collect()
}

/// A parsed argument: a scalar token, a `[list]` or a `(tuple)`.
#[derive(Debug, Clone, PartialEq)]
pub(super) enum Arg {
    Str(Vec<u8>),
    Hex(Vec<u8>),
    Word(String),
    List(Vec<Arg>),
    Tuple(Vec<Arg>),
}

/// Positional arguments and `key=value` ones.
pub(super) struct Args {
    pub(super) positional: std::collections::VecDeque<Arg>,
    keyed: Vec<(String, Arg)>,
}

pub(super) fn parse_args(tokens: &[Token]) -> Result<Args, String> {
    let mut pos = 0;
    let mut args = Args { positional: Default::default(), keyed: Vec::new() };
    while pos < tokens.len() {
        if let (Token::Word(key), Some(Token::Eq)) = (&tokens[pos], tokens.get(pos + 1)) {
            pos += 2;
            let value = parse_arg(tokens, &mut pos)?;
            args.keyed.push((key.clone(), value));
        } else {
            let value = parse_arg(tokens, &mut pos)?;
            args.positional.push_back(value);
        }
    }
    Ok(args)
}

fn parse_arg(tokens: &[Token], pos: &mut usize) -> Result<Arg, String> {
    let token = tokens.get(*pos).ok_or("missing argument")?.clone();
    *pos += 1;
    Ok(match token {
        Token::Str(s) => Arg::Str(s),
        Token::Hex(h) => Arg::Hex(h),
        Token::Word(w) => Arg::Word(w),
        Token::Open(open) => {
            let close = if open == '[' { ']' } else { ')' };
            let mut items = Vec::new();
            loop {
                match tokens.get(*pos) {
                    Some(Token::Close(c)) if *c == close => {
                        *pos += 1;
                        break;
                    }
                    Some(_) => items.push(parse_arg(tokens, pos)?),
                    None => return Err(format!("missing {close:?}")),
                }
            }
            if open == '[' {
                Arg::List(items)
            } else {
                Arg::Tuple(items)
            }
        }
        other => return Err(format!("unexpected {other:?}")),
    })
}

impl Args {
    fn next(&mut self, what: &str) -> Result<Arg, String> {
        self.positional.pop_front().ok_or_else(|| format!("missing {what}"))
    }

    fn key(&mut self, key: &str) -> Option<Arg> {
        let i = self.keyed.iter().position(|(k, _)| k == key)?;
        Some(self.keyed.remove(i).1)
    }

    fn done(&self) -> Result<(), String> {
        match (self.positional.front(), self.keyed.first()) {
            (Some(a), _) => Err(format!("unexpected argument {a:?}")),
            (_, Some((k, _))) => Err(format!("unknown key {k}")),
            _ => Ok(()),
        }
    }
}

impl Arg {
    fn bytes(self) -> Result<Vec<u8>, String> {
        match self {
            Arg::Str(b) | Arg::Hex(b) => Ok(b),
            other => Err(format!("expected a string or x'hex', got {other:?}")),
        }
    }

    fn string(self) -> Result<String, String> {
        match self {
            Arg::Str(b) => String::from_utf8(b).map_err(|_| "string is not UTF-8".to_owned()),
            other => Err(format!("expected a quoted string, got {other:?}")),
        }
    }

    fn word(self) -> Result<String, String> {
        match self {
            Arg::Word(w) => Ok(w),
            other => Err(format!("expected a word, got {other:?}")),
        }
    }

    fn list(self) -> Result<Vec<Arg>, String> {
        match self {
            Arg::List(items) => Ok(items),
            other => Err(format!("expected a [list], got {other:?}")),
        }
    }

    fn number<T: std::str::FromStr>(self) -> Result<T, String> {
        let w = self.word()?;
        w.parse().map_err(|_| format!("expected a number, got {w}"))
    }

    fn type_oid(self) -> Result<u32, String> {
        let w = self.word()?;
        TYPES.iter().find(|(n, _)| *n == w).map(|(_, o)| Ok(*o)).unwrap_or_else(|| {
            w.parse().map_err(|_| format!("unknown type {w} (use a name from the README or an OID)"))
        })
    }

    fn format(self) -> Result<Format, String> {
        match self.word()?.as_str() {
            "text" => Ok(Format::Text),
            "binary" => Ok(Format::Binary),
            other => Err(format!("expected text or binary, got {other}")),
        }
    }

    fn target(self) -> Result<Target, String> {
        match self.word()?.as_str() {
            "S" => Ok(Target::Statement),
            "P" => Ok(Target::Portal),
            other => Err(format!("expected S or P, got {other}")),
        }
    }
}

fn formats(arg: Option<Arg>) -> Result<Vec<Format>, String> {
    arg.map_or(Ok(Vec::new()), |a| a.list()?.into_iter().map(Arg::format).collect())
}

pub(super) fn parse_send(kind: &str, mut a: Args) -> Result<Send, String> {
    let send = match kind {
        "Query" => Send::Query(a.next("query")?.string()?),
        "Parse" => Send::Parse {
            name: a.next("statement name")?.string()?,
            sql: a.next("query")?.string()?,
            types: a
                .key("types")
                .map_or(Ok(Vec::new()), |t| t.list()?.into_iter().map(Arg::type_oid).collect())?,
        },
        "Bind" => Send::Bind {
            portal: a.next("portal name")?.string()?,
            statement: a.next("statement name")?.string()?,
            formats: formats(a.key("formats"))?,
            params: a.key("params").map_or(Ok(Vec::new()), |p| {
                p.list()?
                    .into_iter()
                    .map(|v| match v {
                        Arg::Word(w) if w == "NULL" => Ok(None),
                        v => v.bytes().map(Some),
                    })
                    .collect()
            })?,
            results: formats(a.key("results"))?,
        },
        "Describe" => Send::Describe { target: a.next("S or P")?.target()?, name: a.next("name")?.string()? },
        "Execute" => Send::Execute {
            portal: a.next("portal name")?.string()?,
            max_rows: a.positional.pop_front().map_or(Ok(0), Arg::number)?,
        },
        "Close" => Send::Close { target: a.next("S or P")?.target()?, name: a.next("name")?.string()? },
        "Flush" => Send::Flush,
        "Sync" => Send::Sync,
        "CopyData" => Send::CopyData(a.next("data")?.bytes()?),
        "CopyDone" => Send::CopyDone,
        "CopyFail" => Send::CopyFail(a.next("reason")?.string()?),
        other => return Err(format!("unknown frontend message {other}")),
    };
    a.done()?;
    Ok(send)
}

/// An `expect` line's message; `comment` is an error's or notice's message text.
pub(super) fn parse_expect(kind: &str, mut a: Args, comment: Option<String>) -> Result<Msg, String> {
    let msg = match kind {
        "ParseComplete" => Msg::ParseComplete,
        "BindComplete" => Msg::BindComplete,
        "CloseComplete" => Msg::CloseComplete,
        "NoData" => Msg::NoData,
        "PortalSuspended" => Msg::PortalSuspended,
        "EmptyQueryResponse" => Msg::EmptyQueryResponse,
        "CopyDone" => Msg::CopyDone,
        "ReadyForQuery" => match a.next("status")?.word()?.as_str() {
            s @ ("I" | "T" | "E") => Msg::ReadyForQuery(s.chars().next().unwrap_or('I')),
            other => return Err(format!("status must be I, T or E, not {other}")),
        },
        "ParameterDescription" => Msg::ParameterDescription(
            a.next("types")?.list()?.into_iter().map(Arg::type_oid).collect::<Result<_, _>>()?,
        ),
        "RowDescription" => {
            let mut columns = Vec::new();
            while let Some(arg) = a.positional.pop_front() {
                let Arg::Tuple(items) = arg else {
                    return Err("columns are (name type size modifier format)".into());
                };
                let [name, ty, size, modifier, format]: [Arg; 5] =
                    items.try_into().map_err(|_| "a column is (name type size modifier format)")?;
                columns.push(Column {
                    name: name.string()?,
                    type_oid: ty.type_oid()?,
                    size: size.number()?,
                    modifier: modifier.number()?,
                    format: format.format()?,
                });
            }
            Msg::RowDescription(columns)
        }
        "DataRow" => Msg::DataRow(
            std::mem::take(&mut a.positional)
                .into_iter()
                .map(|v| match v {
                    Arg::Word(w) if w == "NULL" => Ok(None),
                    v => v.bytes().map(Some),
                })
                .collect::<Result<_, _>>()?,
        ),
        "CommandComplete" => Msg::CommandComplete(a.next("tag")?.string()?),
        "ErrorResponse" | "NoticeResponse" => {
            let severity = a.next("severity")?.word()?;
            let code = a.next("SQLSTATE")?.word()?;
            let message = comment.unwrap_or_default();
            if kind == "ErrorResponse" {
                Msg::ErrorResponse { severity, code, message }
            } else {
                Msg::NoticeResponse { severity, code, message }
            }
        }
        "ParameterStatus" => {
            Msg::ParameterStatus { name: a.next("name")?.string()?, value: a.next("value")?.string()? }
        }
        "CopyInResponse" | "CopyOutResponse" => {
            let format = a.next("format")?.format()?;
            let columns = formats(Some(a.next("column formats")?))?;
            if kind == "CopyInResponse" {
                Msg::CopyInResponse { format, columns }
            } else {
                Msg::CopyOutResponse { format, columns }
            }
        }
        "CopyData" => Msg::CopyData(a.next("data")?.bytes()?),
        "Unknown" => Msg::Unknown { tag: a.next("tag")?.number()?, body: a.next("body")?.bytes()? },
        other => return Err(format!("unknown backend message {other}")),
    };
    a.done()?;
    Ok(msg)
}

/// Every kind an `until` or `option ignore` may name.
const KINDS: &[&str] = &[
    "ParseComplete",
    "BindComplete",
    "CloseComplete",
    "NoData",
    "PortalSuspended",
    "EmptyQueryResponse",
    "CopyDone",
    "ReadyForQuery",
    "ParameterDescription",
    "RowDescription",
    "DataRow",
    "CommandComplete",
    "ErrorResponse",
    "NoticeResponse",
    "ParameterStatus",
    "CopyInResponse",
    "CopyOutResponse",
    "CopyData",
];

pub(super) fn known_kind(kind: String) -> Result<String, String> {
    if KINDS.contains(&kind.as_str()) {
        Ok(kind)
    } else {
        Err(format!("unknown backend message kind {kind}"))
    }
}
