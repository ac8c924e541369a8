//! Messages the server sends. Encoding appends to a caller's buffer and fills in the
//! length prefix; [`Message::decode`] reads them back (tests, conformance replays).

use super::cursor::{BodyError, Cursor};
use super::{Format, Severity, SqlState, TransactionStatus};

/// The fields of an `ErrorResponse` or `NoticeResponse`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ErrorInfo {
    pub severity: Severity,
    pub code: SqlState,
    pub message: String,
    pub detail: Option<String>,
    pub hint: Option<String>,
    /// 1-based character position in the query string.
    pub position: Option<u32>,
    /// The object the error is about, where PostgreSQL names it (fields `s`, `t`, `c`,
    /// `n`): drivers expose these (psycopg's `diag.table_name`, pgjdbc's
    /// `ServerErrorMessage.getConstraint()`) and ORMs read them. Boxed, as most errors
    /// name nothing and errors travel in every `Result` of a session.
    pub object: Box<ErrorObject>,
}

/// The schema, table, column and constraint an error is about.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ErrorObject {
    pub schema: Option<String>,
    pub table: Option<String>,
    pub column: Option<String>,
    pub constraint: Option<String>,
}

impl ErrorInfo {
    pub fn new(severity: Severity, code: SqlState, message: impl Into<String>) -> Self {
        ErrorInfo {
            severity,
            code,
            message: message.into(),
            detail: None,
            hint: None,
            position: None,
            object: Box::default(),
        }
    }

    /// An `ERROR`: the statement failed, the session goes on.
    pub fn error(code: SqlState, message: impl Into<String>) -> Self {
        Self::new(Severity::Error, code, message)
    }

    /// A `FATAL`: the session ends after it.
    pub fn fatal(code: SqlState, message: impl Into<String>) -> Self {
        Self::new(Severity::Fatal, code, message)
    }

    pub fn with_detail(mut self, detail: impl Into<String>) -> Self {
        self.detail = Some(detail.into());
        self
    }

    pub fn with_hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into());
        self
    }
}

/// One column of a `RowDescription`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldDescription {
    pub name: String,
    pub table_oid: u32,
    pub column_attr: i16,
    pub type_oid: u32,
    pub type_size: i16,
    pub type_modifier: i32,
    pub format: Format,
}

/// A message from the server to the client.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Message {
    AuthenticationOk,
    AuthenticationCleartextPassword,
    AuthenticationSasl {
        mechanisms: Vec<String>,
    },
    AuthenticationSaslContinue(Vec<u8>),
    AuthenticationSaslFinal(Vec<u8>),
    ParameterStatus {
        name: String,
        value: String,
    },
    /// The cancel key: 4 secret bytes under protocol 3.0, up to 256 under 3.2.
    BackendKeyData {
        pid: u32,
        secret: Vec<u8>,
    },
    ReadyForQuery(TransactionStatus),
    RowDescription(Vec<FieldDescription>),
    DataRow(Vec<Option<Vec<u8>>>),
    CommandComplete(String),
    EmptyQueryResponse,
    ErrorResponse(ErrorInfo),
    NoticeResponse(ErrorInfo),
    ParseComplete,
    BindComplete,
    CloseComplete,
    NoData,
    PortalSuspended,
    ParameterDescription(Vec<u32>),
    CopyInResponse {
        format: Format,
        columns: Vec<Format>,
    },
    CopyOutResponse {
        format: Format,
        columns: Vec<Format>,
    },
    CopyData(Vec<u8>),
    CopyDone,
    NegotiateProtocolVersion {
        newest_minor: u32,
        unrecognized: Vec<String>,
    },
    /// A `NOTIFY` on a channel the session listens on: the notifying session's backend
    /// pid, the channel and the payload (empty when none was given).
    NotificationResponse {
        pid: u32,
        channel: String,
        payload: String,
    },
    /// A message type this codec does not know, kept whole.
    Unknown {
        tag: u8,
        body: Vec<u8>,
    },
}

/// Starts a message: writes the tag and a length placeholder, returns where the length
/// goes. Pair with [`finish_message`]. Streaming writers (one `DataRow` per row) use this
/// pair directly instead of building a [`Message`].
pub fn begin_message(buf: &mut Vec<u8>, tag: u8) -> usize {
    buf.push(tag);
    let at = buf.len();
    buf.extend_from_slice(&[0; 4]);
    at
}

/// Fills in the length of the message started at `at` (the length counts itself).
pub fn finish_message(buf: &mut [u8], at: usize) {
    let len = (buf.len() - at) as u32;
    buf[at..at + 4].copy_from_slice(&len.to_be_bytes());
}

/// Writes one `DataRow` field by field, without building the row first.
pub struct DataRowWriter<'b> {
    buf: &'b mut Vec<u8>,
    at: usize,
}

impl<'b> DataRowWriter<'b> {
    pub fn begin(buf: &'b mut Vec<u8>, columns: u16) -> Self {
        let at = begin_message(buf, b'D');
        buf.extend_from_slice(&(columns as i16).to_be_bytes());
        DataRowWriter { buf, at }
    }

    pub fn null(&mut self) {
        self.buf.extend_from_slice(&(-1i32).to_be_bytes());
    }

    /// Appends one non-NULL field whose bytes `write` appends to the buffer.
    pub fn field(&mut self, write: impl FnOnce(&mut Vec<u8>)) {
        let at = self.buf.len();
        self.buf.extend_from_slice(&[0; 4]);
        write(self.buf);
        let len = (self.buf.len() - at - 4) as u32;
        self.buf[at..at + 4].copy_from_slice(&len.to_be_bytes());
    }

    pub fn finish(self) {
        finish_message(self.buf, self.at);
    }
}

/// Appends a NUL-terminated string.
pub(crate) fn put_cstr(buf: &mut Vec<u8>, s: &str) {
    buf.extend_from_slice(s.as_bytes());
    buf.push(0);
}

fn put_formats(buf: &mut Vec<u8>, format: Format, columns: &[Format]) {
    buf.push(format.code() as u8);
    buf.extend_from_slice(&(columns.len() as i16).to_be_bytes());
    for c in columns {
        buf.extend_from_slice(&c.code().to_be_bytes());
    }
}

fn put_error_fields(buf: &mut Vec<u8>, e: &ErrorInfo) {
    let mut field = |code: u8, value: &str| {
        buf.push(code);
        put_cstr(buf, value);
    };
    field(b'S', e.severity.as_str());
    field(b'V', e.severity.as_str());
    field(b'C', e.code.code());
    field(b'M', &e.message);
    if let Some(d) = &e.detail {
        field(b'D', d);
    }
    if let Some(h) = &e.hint {
        field(b'H', h);
    }
    if let Some(p) = e.position {
        field(b'P', &p.to_string());
    }
    let o = &e.object;
    for (code, value) in [(b's', &o.schema), (b't', &o.table), (b'c', &o.column), (b'n', &o.constraint)] {
        if let Some(v) = value {
            field(code, v);
        }
    }
    buf.push(0);
}

impl Message {
    /// Appends the encoded message to `buf`.
    pub fn encode(&self, buf: &mut Vec<u8>) {
        let at = begin_message(buf, self.tag());
        match self {
            Message::AuthenticationOk => buf.extend_from_slice(&0i32.to_be_bytes()),
            Message::AuthenticationCleartextPassword => buf.extend_from_slice(&3i32.to_be_bytes()),
            Message::AuthenticationSasl { mechanisms } => {
                buf.extend_from_slice(&10i32.to_be_bytes());
                for m in mechanisms {
                    put_cstr(buf, m);
                }
                buf.push(0);
            }
            Message::AuthenticationSaslContinue(data) => {
                buf.extend_from_slice(&11i32.to_be_bytes());
                buf.extend_from_slice(data);
            }
            Message::AuthenticationSaslFinal(data) => {
                buf.extend_from_slice(&12i32.to_be_bytes());
                buf.extend_from_slice(data);
            }
            Message::ParameterStatus { name, value } => {
                put_cstr(buf, name);
                put_cstr(buf, value);
            }
            Message::BackendKeyData { pid, secret } => {
                buf.extend_from_slice(&pid.to_be_bytes());
                buf.extend_from_slice(secret);
            }
            Message::ReadyForQuery(status) => buf.push(status.byte()),
            Message::RowDescription(fields) => {
                buf.extend_from_slice(&(fields.len() as i16).to_be_bytes());
                for f in fields {
                    put_cstr(buf, &f.name);
                    buf.extend_from_slice(&f.table_oid.to_be_bytes());
                    buf.extend_from_slice(&f.column_attr.to_be_bytes());
                    buf.extend_from_slice(&f.type_oid.to_be_bytes());
                    buf.extend_from_slice(&f.type_size.to_be_bytes());
                    buf.extend_from_slice(&f.type_modifier.to_be_bytes());
                    buf.extend_from_slice(&f.format.code().to_be_bytes());
                }
            }
            Message::DataRow(values) => {
                buf.extend_from_slice(&(values.len() as i16).to_be_bytes());
                for v in values {
                    match v {
                        None => buf.extend_from_slice(&(-1i32).to_be_bytes()),
                        Some(v) => {
                            buf.extend_from_slice(&(v.len() as i32).to_be_bytes());
                            buf.extend_from_slice(v);
                        }
                    }
                }
            }
            Message::CommandComplete(tag) => put_cstr(buf, tag),
            Message::ErrorResponse(e) | Message::NoticeResponse(e) => put_error_fields(buf, e),
            Message::ParameterDescription(oids) => {
                buf.extend_from_slice(&(oids.len() as i16).to_be_bytes());
                for oid in oids {
                    buf.extend_from_slice(&oid.to_be_bytes());
                }
            }
            Message::CopyInResponse { format, columns } | Message::CopyOutResponse { format, columns } => {
                put_formats(buf, *format, columns)
            }
            Message::CopyData(data) => buf.extend_from_slice(data),
            Message::NegotiateProtocolVersion { newest_minor, unrecognized } => {
                buf.extend_from_slice(&newest_minor.to_be_bytes());
                buf.extend_from_slice(&(unrecognized.len() as i32).to_be_bytes());
                for option in unrecognized {
                    put_cstr(buf, option);
                }
            }
            Message::NotificationResponse { pid, channel, payload } => {
                buf.extend_from_slice(&pid.to_be_bytes());
                put_cstr(buf, channel);
                put_cstr(buf, payload);
            }
            Message::Unknown { body, .. } => buf.extend_from_slice(body),
            Message::EmptyQueryResponse
            | Message::ParseComplete
            | Message::BindComplete
            | Message::CloseComplete
            | Message::NoData
            | Message::PortalSuspended
            | Message::CopyDone => {}
        }
        finish_message(buf, at);
    }

    /// The message type byte.
    pub fn tag(&self) -> u8 {
        match self {
            Message::AuthenticationOk
            | Message::AuthenticationCleartextPassword
            | Message::AuthenticationSasl { .. }
            | Message::AuthenticationSaslContinue(_)
            | Message::AuthenticationSaslFinal(_) => b'R',
            Message::ParameterStatus { .. } => b'S',
            Message::BackendKeyData { .. } => b'K',
            Message::ReadyForQuery(_) => b'Z',
            Message::RowDescription(_) => b'T',
            Message::DataRow(_) => b'D',
            Message::CommandComplete(_) => b'C',
            Message::EmptyQueryResponse => b'I',
            Message::ErrorResponse(_) => b'E',
            Message::NoticeResponse(_) => b'N',
            Message::ParseComplete => b'1',
            Message::BindComplete => b'2',
            Message::CloseComplete => b'3',
            Message::NoData => b'n',
            Message::PortalSuspended => b's',
            Message::ParameterDescription(_) => b't',
            Message::CopyInResponse { .. } => b'G',
            Message::CopyOutResponse { .. } => b'H',
            Message::CopyData(_) => b'd',
            Message::CopyDone => b'c',
            Message::NegotiateProtocolVersion { .. } => b'v',
            Message::NotificationResponse { .. } => b'A',
            Message::Unknown { tag, .. } => *tag,
        }
    }

    /// Reads one message from the front of `buf`: `Ok(None)` if more bytes are needed,
    /// otherwise the message and how many bytes it took.
    pub fn decode(buf: &[u8]) -> Result<Option<(Message, usize)>, BackendDecodeError> {
        if buf.len() < 5 {
            return Ok(None);
        }
        let tag = buf[0];
        let len = i32::from_be_bytes([buf[1], buf[2], buf[3], buf[4]]);
        if len < 4 {
            return Err(BackendDecodeError::Length(len));
        }
        let total = 1 + len as usize;
        if buf.len() < total {
            return Ok(None);
        }
        let body = &buf[5..total];
        let message = decode_body(tag, body).map_err(|e| BackendDecodeError::Body { tag, kind: e })?;
        Ok(Some((message, total)))
    }
}

/// Why a backend message could not be decoded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BackendDecodeError {
    #[error("invalid message length {0}")]
    Length(i32),
    #[error("malformed body in message type {:?}: {kind:?}", *tag as char)]
    Body { tag: u8, kind: BodyErrorKind },
}

/// What was wrong inside a body.
pub type BodyErrorKind = &'static str;

fn describe(e: BodyError) -> BodyErrorKind {
    match e {
        BodyError::Short => "short",
        BodyError::Unterminated => "unterminated string",
        BodyError::Utf8 => "invalid UTF-8",
        BodyError::BadCount => "bad count",
    }
}

fn formats(c: &mut Cursor<'_>) -> Result<(Format, Vec<Format>), BodyError> {
    let format = Format::from_code(c.u8()? as i16).ok_or(BodyError::BadCount)?;
    let n = c.count(2)?;
    let columns =
        (0..n).map(|_| Format::from_code(c.i16()?).ok_or(BodyError::BadCount)).collect::<Result<_, _>>()?;
    Ok((format, columns))
}

fn error_fields(c: &mut Cursor<'_>) -> Result<ErrorInfo, BodyError> {
    let mut e = ErrorInfo::error(SqlState::INTERNAL_ERROR, "");
    let mut code: Option<String> = None;
    loop {
        let field = c.u8()?;
        if field == 0 {
            break;
        }
        let value = c.cstr()?;
        match field {
            b'V' => e.severity = Severity::parse(value).ok_or(BodyError::BadCount)?,
            b'C' => code = Some(value.to_owned()),
            b'M' => e.message = value.to_owned(),
            b'D' => e.detail = Some(value.to_owned()),
            b'H' => e.hint = Some(value.to_owned()),
            b'P' => e.position = value.parse().ok(),
            b's' => e.object.schema = Some(value.to_owned()),
            b't' => e.object.table = Some(value.to_owned()),
            b'c' => e.object.column = Some(value.to_owned()),
            b'n' => e.object.constraint = Some(value.to_owned()),
            _ => {}
        }
    }
    if let Some(code) = code {
        e.code = SqlState::from_code(&code).ok_or(BodyError::BadCount)?;
    }
    Ok(e)
}

fn decode_body(tag: u8, body: &[u8]) -> Result<Message, BodyErrorKind> {
    let mut c = Cursor::new(body);
    let m = (|| -> Result<Message, BodyError> {
        Ok(match tag {
            b'R' => match c.i32()? {
                0 => Message::AuthenticationOk,
                3 => Message::AuthenticationCleartextPassword,
                10 => {
                    let mut mechanisms = Vec::new();
                    loop {
                        let m = c.cstr()?;
                        if m.is_empty() {
                            break;
                        }
                        mechanisms.push(m.to_owned());
                    }
                    Message::AuthenticationSasl { mechanisms }
                }
                11 => Message::AuthenticationSaslContinue(c.rest().to_vec()),
                12 => Message::AuthenticationSaslFinal(c.rest().to_vec()),
                _ => Message::Unknown {
                    tag,
                    body: {
                        c.rest();
                        body.to_vec()
                    },
                },
            },
            b'S' => Message::ParameterStatus { name: c.cstr()?.to_owned(), value: c.cstr()?.to_owned() },
            b'K' => Message::BackendKeyData { pid: c.u32()?, secret: c.rest().to_vec() },
            b'Z' => Message::ReadyForQuery(TransactionStatus::from_byte(c.u8()?).ok_or(BodyError::BadCount)?),
            b'T' => {
                let n = c.count(19)?;
                let mut fields = Vec::with_capacity(n);
                for _ in 0..n {
                    fields.push(FieldDescription {
                        name: c.cstr()?.to_owned(),
                        table_oid: c.u32()?,
                        column_attr: c.i16()?,
                        type_oid: c.u32()?,
                        type_size: c.i16()?,
                        type_modifier: c.i32()?,
                        format: Format::from_code(c.i16()?).ok_or(BodyError::BadCount)?,
                    });
                }
                Message::RowDescription(fields)
            }
            b'D' => {
                let n = c.count(4)?;
                let mut values = Vec::with_capacity(n);
                for _ in 0..n {
                    let len = c.i32()?;
                    values.push(match len {
                        -1 => None,
                        l if l < 0 => return Err(BodyError::BadCount),
                        l => Some(c.bytes(l as usize)?.to_vec()),
                    });
                }
                Message::DataRow(values)
            }
            b'C' => Message::CommandComplete(c.cstr()?.to_owned()),
            b'I' => Message::EmptyQueryResponse,
            b'E' => Message::ErrorResponse(error_fields(&mut c)?),
            b'N' => Message::NoticeResponse(error_fields(&mut c)?),
            b'1' => Message::ParseComplete,
            b'2' => Message::BindComplete,
            b'3' => Message::CloseComplete,
            b'n' => Message::NoData,
            b's' => Message::PortalSuspended,
            b't' => {
                let n = c.count(4)?;
                Message::ParameterDescription((0..n).map(|_| c.u32()).collect::<Result<_, _>>()?)
            }
            b'G' => {
                let (format, columns) = formats(&mut c)?;
                Message::CopyInResponse { format, columns }
            }
            b'H' => {
                let (format, columns) = formats(&mut c)?;
                Message::CopyOutResponse { format, columns }
            }
            b'd' => Message::CopyData(c.rest().to_vec()),
            b'c' => Message::CopyDone,
            b'v' => {
                let newest_minor = c.u32()?;
                let n = c.i32()?;
                if n < 0 || n as usize > c.remaining() {
                    return Err(BodyError::BadCount);
                }
                let unrecognized = (0..n).map(|_| c.cstr().map(str::to_owned)).collect::<Result<_, _>>()?;
                Message::NegotiateProtocolVersion { newest_minor, unrecognized }
            }
            b'A' => Message::NotificationResponse {
                pid: c.u32()?,
                channel: c.cstr()?.to_owned(),
                payload: c.cstr()?.to_owned(),
            },
            _ => Message::Unknown { tag, body: c.rest().to_vec() },
        })
    })()
    .map_err(describe)?;
    if c.remaining() != 0 {
        return Err("trailing bytes");
    }
    Ok(m)
}
