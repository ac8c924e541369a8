//! The untagged packets that open a connection: a startup message, `SSLRequest`,
//! `GSSENCRequest` or `CancelRequest`, and the TLS ClientHello of a direct-SSL client.

use super::cursor::{BodyError, Cursor};
use super::SqlState;

/// PostgreSQL refuses startup packets whose body, after the 4-byte length word, is longer
/// than this (`MAX_STARTUP_PACKET_LENGTH`): the whole packet may be 10,004 bytes.
pub const MAX_STARTUP_PACKET: usize = 10_000;

const CANCEL_REQUEST_CODE: u32 = (1234 << 16) | 5678;
const SSL_REQUEST_CODE: u32 = (1234 << 16) | 5679;
const GSSENC_REQUEST_CODE: u32 = (1234 << 16) | 5680;
/// A TLS record of type handshake: what a direct-SSL client sends first.
const TLS_HANDSHAKE_RECORD: u8 = 0x16;
/// The longest cancel secret protocol 3.2 allows.
pub const MAX_CANCEL_SECRET: usize = 256;

/// The first packet of a connection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Request<'a> {
    /// A startup message; the version is not checked here (that is policy).
    Startup {
        version: u32,
        params: Vec<(&'a str, &'a str)>,
    },
    SslRequest,
    GssEncRequest,
    Cancel {
        pid: u32,
        secret: &'a [u8],
    },
    /// The first byte was a TLS handshake record: a PostgreSQL 17 client with
    /// `sslnegotiation=direct`. Nothing was consumed.
    DirectTls,
}

/// Why a startup packet was rejected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StartupError {
    #[error("invalid length of startup packet")]
    InvalidLength { len: i32 },
    #[error("invalid startup packet layout: expected terminator as last byte")]
    Layout,
    #[error("invalid byte sequence for encoding \"UTF8\" in startup packet")]
    InvalidUtf8,
    #[error("invalid length of cancel request")]
    CancelLength,
}

impl StartupError {
    /// Whether the peer deserves an answer: a length that is nonsense means it does not
    /// speak PostgreSQL, and PostgreSQL itself then closes without a word. A cancel
    /// request never gets an answer, so a malformed one is closed silently too, as
    /// PostgreSQL does.
    pub fn answerable(&self) -> bool {
        !matches!(self, StartupError::InvalidLength { .. } | StartupError::CancelLength)
    }

    pub fn sqlstate(&self) -> SqlState {
        match self {
            StartupError::InvalidUtf8 => SqlState::CHARACTER_NOT_IN_REPERTOIRE,
            _ => SqlState::PROTOCOL_VIOLATION,
        }
    }
}

/// Reads the first packet from the front of `buf`: `Ok(None)` if more bytes are needed,
/// otherwise the request and how many bytes it took.
pub fn decode(buf: &[u8]) -> Result<Option<(Request<'_>, usize)>, StartupError> {
    if buf.first() == Some(&TLS_HANDSHAKE_RECORD) {
        return Ok(Some((Request::DirectTls, 0)));
    }
    if buf.len() < 4 {
        return Ok(None);
    }
    let len = i32::from_be_bytes([buf[0], buf[1], buf[2], buf[3]]);
    if len < 8 || len as usize - 4 > MAX_STARTUP_PACKET {
        return Err(StartupError::InvalidLength { len });
    }
    let len = len as usize;
    if buf.len() < len {
        return Ok(None);
    }
    let mut c = Cursor::new(&buf[4..len]);
    let code = c.u32().map_err(|_| StartupError::InvalidLength { len: len as i32 })?;
    let request = match code {
        SSL_REQUEST_CODE if c.remaining() == 0 => Request::SslRequest,
        GSSENC_REQUEST_CODE if c.remaining() == 0 => Request::GssEncRequest,
        SSL_REQUEST_CODE | GSSENC_REQUEST_CODE => return Err(StartupError::Layout),
        CANCEL_REQUEST_CODE => {
            let pid = c.u32().map_err(|_| StartupError::CancelLength)?;
            let secret = c.rest();
            if secret.len() < 4 || secret.len() > MAX_CANCEL_SECRET {
                return Err(StartupError::CancelLength);
            }
            Request::Cancel { pid, secret }
        }
        version => Request::Startup { version, params: read_params(&mut c)? },
    };
    Ok(Some((request, len)))
}

fn read_params<'a>(c: &mut Cursor<'a>) -> Result<Vec<(&'a str, &'a str)>, StartupError> {
    let map = |e| match e {
        BodyError::Utf8 => StartupError::InvalidUtf8,
        _ => StartupError::Layout,
    };
    let mut params = Vec::new();
    loop {
        let name = c.cstr().map_err(map)?;
        if name.is_empty() {
            break;
        }
        params.push((name, c.cstr().map_err(map)?));
    }
    if c.remaining() != 0 {
        return Err(StartupError::Layout);
    }
    Ok(params)
}

/// Encodes a request as a client sends it (test clients, fuzz seeds).
pub fn encode(request: &Request<'_>, buf: &mut Vec<u8>) {
    let at = buf.len();
    buf.extend_from_slice(&[0; 4]);
    match request {
        Request::Startup { version, params } => {
            buf.extend_from_slice(&version.to_be_bytes());
            for (k, v) in params {
                for s in [k, v] {
                    buf.extend_from_slice(s.as_bytes());
                    buf.push(0);
                }
            }
            buf.push(0);
        }
        Request::SslRequest => buf.extend_from_slice(&SSL_REQUEST_CODE.to_be_bytes()),
        Request::GssEncRequest => buf.extend_from_slice(&GSSENC_REQUEST_CODE.to_be_bytes()),
        Request::Cancel { pid, secret } => {
            buf.extend_from_slice(&CANCEL_REQUEST_CODE.to_be_bytes());
            buf.extend_from_slice(&pid.to_be_bytes());
            buf.extend_from_slice(secret);
        }
        Request::DirectTls => {
            buf.truncate(at);
            return;
        }
    }
    let len = (buf.len() - at) as u32;
    buf[at..at + 4].copy_from_slice(&len.to_be_bytes());
}
