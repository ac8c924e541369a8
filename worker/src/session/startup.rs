//! The startup phase: answer `SSLRequest`/`GSSENCRequest`, check the protocol version,
//! the user and the database, or take a cancel request.

use mallard_protocol::pg::backend::{ErrorInfo, Message};
use mallard_protocol::pg::startup::{self, Request};
use mallard_protocol::pg::{SqlState, PROTOCOL_3_0, PROTOCOL_3_2};

use super::conn::{Conn, StartupPacket};
use super::SessionError;
use crate::config::WorkerConfig;

/// A client that got through startup.
pub struct Startup {
    pub user: String,
    pub database: String,
    pub application_name: String,
    /// The protocol minor version in force: 0 or 2.
    pub minor: u16,
    /// Every startup parameter, for the session's settings.
    pub params: Vec<(String, String)>,
}

pub enum Outcome {
    Session(Startup),
    Cancel { pid: u32, secret: Vec<u8> },
}

/// Encodings we accept from a client; we always speak UTF-8.
/// Encoding names that mean UTF-8 to mallard, compared as PostgreSQL compares encoding
/// names: ignoring case and anything not a letter or digit (`'utf-8'`, as asyncpg
/// sends it, is UTF8). SQL_ASCII, which psql sends in a C locale, means no conversion.
const UTF8_NAMES: &[&str] = &["utf8", "unicode", "sqlascii"];

/// Whether `name` names an encoding mallard speaks.
pub fn is_utf8_name(name: &str) -> bool {
    let key: String =
        name.chars().filter(char::is_ascii_alphanumeric).map(|c| c.to_ascii_lowercase()).collect();
    UTF8_NAMES.contains(&key.as_str())
}

pub fn negotiate(conn: &mut Conn, config: &WorkerConfig) -> Result<Outcome, SessionError> {
    // A client may ask for GSS encryption, then SSL, then start: at most two refusals.
    for _ in 0..3 {
        let packet = match conn.read_startup()? {
            StartupPacket::DirectTls => return Err(SessionError::DirectTlsRefused),
            StartupPacket::Packet(p) => p,
        };
        let (request, _) = startup::decode(&packet)
            .map_err(super::conn::ReadError::Startup)?
            .expect("read_startup returns whole packets");
        match request {
            Request::SslRequest | Request::GssEncRequest => {
                conn.send_raw(b"N");
                conn.flush().map_err(SessionError::Io)?;
                refuse_early_data(conn, &request)?;
            }
            Request::Cancel { pid, secret } => return Ok(Outcome::Cancel { pid, secret: secret.to_vec() }),
            Request::Startup { version, params } => {
                return accept(conn, config, version, &params).map(Outcome::Session)
            }
            Request::DirectTls => return Err(SessionError::DirectTlsRefused),
        }
    }
    Err(SessionError::Fatal(ErrorInfo::fatal(SqlState::PROTOCOL_VIOLATION, "too many encryption requests")))
}

/// Bytes that came with an encryption request, before its answer, were sent without
/// knowing whether they would be encrypted, and may have been injected by a man in the
/// middle: PostgreSQL (CVE-2021-23214) refuses them, and so does mallard.
fn refuse_early_data(conn: &Conn, request: &Request<'_>) -> Result<(), SessionError> {
    if !conn.has_unread() {
        return Ok(());
    }
    let what = match request {
        Request::GssEncRequest => "GSSAPI encryption request",
        _ => "SSL request",
    };
    Err(SessionError::Fatal(
        ErrorInfo::fatal(SqlState::PROTOCOL_VIOLATION, format!("received unencrypted data after {what}")).with_detail(
            "This could be either a client-software bug or evidence of an attempted man-in-the-middle attack.",
        ),
    ))
}

fn accept(
    conn: &mut Conn,
    config: &WorkerConfig,
    version: u32,
    params: &[(&str, &str)],
) -> Result<Startup, SessionError> {
    let (major, minor) = (version >> 16, (version & 0xffff) as u16);
    if major != 3 {
        return Err(SessionError::Fatal(ErrorInfo::fatal(
            SqlState::FEATURE_NOT_SUPPORTED,
            format!("unsupported frontend protocol {major}.{minor}: server supports 3.0 to 3.2"),
        )));
    }
    // Options we do not know (`_pq_.*`) and minor versions we do not speak are
    // negotiated down, as PostgreSQL does, rather than refused.
    let unrecognized: Vec<String> =
        params.iter().filter(|(k, _)| k.starts_with("_pq_.")).map(|(k, _)| (*k).to_owned()).collect();
    let chosen = match version {
        PROTOCOL_3_0 => 0,
        PROTOCOL_3_2 => 2,
        _ if minor > 2 => 2,
        _ => 0,
    };
    if chosen != minor || !unrecognized.is_empty() {
        conn.send(&Message::NegotiateProtocolVersion { newest_minor: u32::from(chosen), unrecognized });
    }

    let param = |name: &str| params.iter().find(|(k, _)| *k == name).map(|(_, v)| *v);
    let user = match param("user") {
        Some(u) if !u.is_empty() => u.to_owned(),
        _ => {
            return Err(SessionError::Fatal(ErrorInfo::fatal(
                SqlState::INVALID_AUTHORIZATION_SPECIFICATION,
                "no PostgreSQL user name specified in startup packet",
            )))
        }
    };
    let database = param("database").filter(|d| !d.is_empty()).unwrap_or(&user).to_owned();
    if database != config.database {
        return Err(SessionError::Fatal(ErrorInfo::fatal(
            SqlState::INVALID_CATALOG_NAME,
            format!("database \"{database}\" does not exist"),
        )));
    }
    if let Some(enc) = param("client_encoding") {
        if !is_utf8_name(enc) {
            return Err(SessionError::Fatal(
                ErrorInfo::fatal(
                    SqlState::FEATURE_NOT_SUPPORTED,
                    format!("client encoding \"{enc}\" is not supported"),
                )
                .with_hint("mallard speaks UTF8 only"),
            ));
        }
    }
    Ok(Startup {
        user,
        database,
        application_name: param("application_name").unwrap_or("").to_owned(),
        minor: chosen,
        params: params.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect(),
    })
}
