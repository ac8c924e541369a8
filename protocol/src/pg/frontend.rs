//! Messages the client sends after startup, borrowed from the read buffer.
//!
//! [`decode`] checks the claimed length against a maximum before waiting for the body,
//! so a client cannot make the server buffer what it merely announces. [`Message::encode`]
//! exists for test clients and round-trip tests.

use super::backend::put_cstr;
use super::cursor::{BodyError, Cursor};
use super::{Format, SqlState};

/// What `Describe` and `Close` name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target {
    Statement,
    Portal,
}

impl Target {
    fn byte(self) -> u8 {
        match self {
            Target::Statement => b'S',
            Target::Portal => b'P',
        }
    }
}

/// A message from the client, after startup.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Message<'a> {
    /// `Q`: a simple query string, possibly several statements.
    Query(&'a str),
    /// `P`
    Parse { name: &'a str, query: &'a str, param_types: Vec<u32> },
    /// `B`
    Bind {
        portal: &'a str,
        statement: &'a str,
        param_formats: Vec<Format>,
        params: Vec<Option<&'a [u8]>>,
        result_formats: Vec<Format>,
    },
    /// `D`
    Describe { target: Target, name: &'a str },
    /// `E`: `max_rows` 0 means all.
    Execute { portal: &'a str, max_rows: i32 },
    /// `C`
    Close { target: Target, name: &'a str },
    /// `S`
    Sync,
    /// `H`
    Flush,
    /// `X`
    Terminate,
    /// `d`
    CopyData(&'a [u8]),
    /// `c`
    CopyDone,
    /// `f`
    CopyFail(&'a str),
    /// `p`: a password, SASLInitialResponse or SASLResponse; which one depends on the
    /// authentication exchange, so the body stays raw.
    Password(&'a [u8]),
    /// A type this codec does not know (`F` function calls among them).
    Unknown { tag: u8, body: &'a [u8] },
}

/// Why a frontend message was rejected. Each maps to the error the client is sent.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    /// A type a client may not send at this point; PostgreSQL's words for it.
    #[error("invalid frontend message type {tag}")]
    UnexpectedType { tag: u8 },
    #[error("invalid message length {len}")]
    InvalidLength { len: i32 },
    #[error("message of type {:?} is {len} bytes, over the limit of {max}", *tag as char)]
    TooLarge { tag: u8, len: usize, max: usize },
    #[error("invalid message format in message type {:?}: {what}", *tag as char)]
    Malformed { tag: u8, what: &'static str },
    #[error("invalid byte sequence for encoding \"UTF8\" in message type {:?}", *tag as char)]
    InvalidUtf8 { tag: u8 },
}

impl DecodeError {
    /// The SQLSTATE the client gets for this error.
    pub fn sqlstate(&self) -> SqlState {
        match self {
            DecodeError::InvalidUtf8 { .. } => SqlState::CHARACTER_NOT_IN_REPERTOIRE,
            _ => SqlState::PROTOCOL_VIOLATION,
        }
    }
}

/// PostgreSQL's bound on the messages that never carry a query, parameters or data
/// (`PQ_SMALL_MESSAGE_LIMIT`; the length word counts, the type byte does not).
pub const SMALL_MESSAGE_LIMIT: usize = 10_000;

/// The longest a message of type `tag` may be once a session runs (after
/// authentication), as PostgreSQL bounds them: `max_len` for the types that carry
/// queries, parameters or data, [`SMALL_MESSAGE_LIMIT`] for the rest. The other types
/// (a `p` password message among them, or the first byte of a second startup packet)
/// are refused from the type byte alone, so the server never waits for the body of a
/// message it would refuse: the client has lost track of the protocol, and PostgreSQL
/// too ends the connection there.
pub fn session_limit(tag: u8, max_len: usize) -> Result<usize, DecodeError> {
    match tag {
        b'Q' | b'P' | b'B' | b'd' | b'F' => Ok(max_len),
        b'D' | b'E' | b'C' | b'S' | b'H' | b'X' | b'c' | b'f' => Ok(SMALL_MESSAGE_LIMIT.min(max_len)),
        _ => Err(DecodeError::UnexpectedType { tag }),
    }
}

/// Reads one message from the front of `buf`.
///
/// `Ok(None)`: more bytes are needed (the header is checked first, so the caller never
/// waits for a body over `max_len`). `Ok(Some((message, n)))`: the message took `n` bytes.
pub fn decode(buf: &[u8], max_len: usize) -> Result<Option<(Message<'_>, usize)>, DecodeError> {
    let Some(len) = peek_length(buf, max_len)? else {
        return Ok(None);
    };
    let total = 1 + len;
    if buf.len() < total {
        return Ok(None);
    }
    let tag = buf[0];
    let message = decode_body(tag, &buf[5..total])?;
    Ok(Some((message, total)))
}

/// Validates the header at the front of `buf` and returns the claimed length (which
/// counts itself but not the tag), or `None` if the header is incomplete.
pub fn peek_length(buf: &[u8], max_len: usize) -> Result<Option<usize>, DecodeError> {
    if buf.len() < 5 {
        return Ok(None);
    }
    let tag = buf[0];
    let len = i32::from_be_bytes([buf[1], buf[2], buf[3], buf[4]]);
    if len < 4 {
        return Err(DecodeError::InvalidLength { len });
    }
    let len = len as usize;
    if len > max_len {
        return Err(DecodeError::TooLarge { tag, len, max: max_len });
    }
    Ok(Some(len))
}

fn decode_body(tag: u8, body: &[u8]) -> Result<Message<'_>, DecodeError> {
    let mut c = Cursor::new(body);
    let message = read_body(tag, body, &mut c).map_err(|e| match e {
        BodyError::Utf8 => DecodeError::InvalidUtf8 { tag },
        BodyError::Short => DecodeError::Malformed { tag, what: "insufficient data left in message" },
        BodyError::Unterminated => DecodeError::Malformed { tag, what: "unterminated string" },
        BodyError::BadCount => DecodeError::Malformed { tag, what: "invalid count or format code" },
    })?;
    if c.remaining() != 0 {
        return Err(DecodeError::Malformed { tag, what: "trailing bytes after message" });
    }
    Ok(message)
}

fn read_formats(c: &mut Cursor<'_>) -> Result<Vec<Format>, BodyError> {
    let n = c.count(2)?;
    (0..n).map(|_| Format::from_code(c.i16()?).ok_or(BodyError::BadCount)).collect()
}

fn read_target(c: &mut Cursor<'_>) -> Result<Target, BodyError> {
    match c.u8()? {
        b'S' => Ok(Target::Statement),
        b'P' => Ok(Target::Portal),
        _ => Err(BodyError::BadCount),
    }
}

fn read_body<'a>(tag: u8, body: &'a [u8], c: &mut Cursor<'a>) -> Result<Message<'a>, BodyError> {
    Ok(match tag {
        b'Q' => Message::Query(c.cstr()?),
        b'P' => {
            let name = c.cstr()?;
            let query = c.cstr()?;
            let n = c.count(4)?;
            let param_types = (0..n).map(|_| c.u32()).collect::<Result<_, _>>()?;
            Message::Parse { name, query, param_types }
        }
        b'B' => {
            let portal = c.cstr()?;
            let statement = c.cstr()?;
            let param_formats = read_formats(c)?;
            let n = c.count(4)?;
            let mut params = Vec::with_capacity(n);
            for _ in 0..n {
                params.push(match c.i32()? {
                    -1 => None,
                    len if len < 0 => return Err(BodyError::BadCount),
                    len => Some(c.bytes(len as usize)?),
                });
            }
            let result_formats = read_formats(c)?;
            Message::Bind { portal, statement, param_formats, params, result_formats }
        }
        b'D' => Message::Describe { target: read_target(c)?, name: c.cstr()? },
        b'E' => Message::Execute { portal: c.cstr()?, max_rows: c.i32()? },
        b'C' => Message::Close { target: read_target(c)?, name: c.cstr()? },
        b'S' => Message::Sync,
        b'H' => Message::Flush,
        b'X' => Message::Terminate,
        b'd' => Message::CopyData(c.rest()),
        b'c' => Message::CopyDone,
        b'f' => Message::CopyFail(c.cstr()?),
        b'p' => Message::Password(c.rest()),
        _ => Message::Unknown {
            tag,
            body: {
                c.rest();
                body
            },
        },
    })
}

fn put_formats(buf: &mut Vec<u8>, formats: &[Format]) {
    buf.extend_from_slice(&(formats.len() as i16).to_be_bytes());
    for f in formats {
        buf.extend_from_slice(&f.code().to_be_bytes());
    }
}

impl Message<'_> {
    /// The message type byte.
    pub fn tag(&self) -> u8 {
        match self {
            Message::Query(_) => b'Q',
            Message::Parse { .. } => b'P',
            Message::Bind { .. } => b'B',
            Message::Describe { .. } => b'D',
            Message::Execute { .. } => b'E',
            Message::Close { .. } => b'C',
            Message::Sync => b'S',
            Message::Flush => b'H',
            Message::Terminate => b'X',
            Message::CopyData(_) => b'd',
            Message::CopyDone => b'c',
            Message::CopyFail(_) => b'f',
            Message::Password(_) => b'p',
            Message::Unknown { tag, .. } => *tag,
        }
    }

    /// Appends the encoded message to `buf`, as a client would send it.
    pub fn encode(&self, buf: &mut Vec<u8>) {
        let at = super::backend::begin_message(buf, self.tag());
        match self {
            Message::Query(q) => put_cstr(buf, q),
            Message::Parse { name, query, param_types } => {
                put_cstr(buf, name);
                put_cstr(buf, query);
                buf.extend_from_slice(&(param_types.len() as i16).to_be_bytes());
                for oid in param_types {
                    buf.extend_from_slice(&oid.to_be_bytes());
                }
            }
            Message::Bind { portal, statement, param_formats, params, result_formats } => {
                put_cstr(buf, portal);
                put_cstr(buf, statement);
                put_formats(buf, param_formats);
                buf.extend_from_slice(&(params.len() as i16).to_be_bytes());
                for p in params {
                    match p {
                        None => buf.extend_from_slice(&(-1i32).to_be_bytes()),
                        Some(v) => {
                            buf.extend_from_slice(&(v.len() as i32).to_be_bytes());
                            buf.extend_from_slice(v);
                        }
                    }
                }
                put_formats(buf, result_formats);
            }
            Message::Describe { target, name } | Message::Close { target, name } => {
                buf.push(target.byte());
                put_cstr(buf, name);
            }
            Message::Execute { portal, max_rows } => {
                put_cstr(buf, portal);
                buf.extend_from_slice(&max_rows.to_be_bytes());
            }
            Message::CopyFail(reason) => put_cstr(buf, reason),
            Message::CopyData(data) | Message::Password(data) => buf.extend_from_slice(data),
            Message::Unknown { body, .. } => buf.extend_from_slice(body),
            Message::Sync | Message::Flush | Message::Terminate | Message::CopyDone => {}
        }
        super::backend::finish_message(buf, at);
    }
}
