//! The startup phase: answer `SSLRequest`/`GSSENCRequest` (and switch to TLS, or take a
//! direct-SSL client's handshake), enforce `ssl = require`, check the protocol version,
//! the user and the database, or take a cancel request.

use std::sync::Arc;
use std::time::Instant;

use mallard_protocol::pg::backend::{ErrorInfo, Message};
use mallard_protocol::pg::startup::{self, Request};
use mallard_protocol::pg::{SqlState, PROTOCOL_3_0, PROTOCOL_3_2};
use rustls::ServerConfig;
use tracing::debug;

use super::conn::{Conn, StartupPacket};
use super::handshake::Negotiation;
use super::SessionError;
use crate::config::WorkerConfig;
use crate::tls::SslMode;

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

/// Whether mallard speaks the client encoding `name`: UTF8 and SQL_ASCII as they are,
/// the encodings of [`crate::encoding`] converted, by any name PostgreSQL accepts.
pub fn is_spoken(name: &str) -> bool {
    use crate::encoding::{canonical, for_client, ForClient};
    canonical(name).is_some_and(|c| !matches!(for_client(c), ForClient::Unsupported))
}

/// What the startup phase may use: the TLS mode and, unless it is off, the server's
/// rustls configuration; and when startup must be done.
pub struct Policy<'a> {
    pub config: &'a WorkerConfig,
    pub tls: Option<&'a Arc<ServerConfig>>,
    pub deadline: Instant,
}

pub fn negotiate(conn: &mut Conn, policy: &Policy<'_>) -> Result<Outcome, SessionError> {
    // A client may ask for GSS encryption, then SSL, then start: at most two refusals.
    for _ in 0..3 {
        let packet = match conn.read_startup()? {
            StartupPacket::DirectTls => {
                start_tls(conn, policy, Negotiation::Direct)?;
                continue;
            }
            StartupPacket::Packet(p) => p,
        };
        let (request, _) = startup::decode(&packet)
            .map_err(super::conn::ReadError::Startup)?
            .expect("read_startup returns whole packets");
        match request {
            Request::SslRequest | Request::GssEncRequest => {
                if request == Request::SslRequest && conn.is_tls() {
                    return Err(SessionError::Fatal(ErrorInfo::fatal(
                        SqlState::PROTOCOL_VIOLATION,
                        "SSLRequest over a connection that already uses SSL",
                    )));
                }
                if request == Request::SslRequest && policy.tls.is_some() && conn.can_start_tls() {
                    // Refused before the `S`, so the error reaches the client in the
                    // plaintext it is still reading.
                    refuse_early_data(conn, &request)?;
                    conn.send_raw(b"S");
                    conn.flush().map_err(SessionError::Io)?;
                    start_tls(conn, policy, Negotiation::SslRequest)?;
                } else {
                    conn.send_raw(b"N");
                    conn.flush().map_err(SessionError::Io)?;
                    refuse_early_data(conn, &request)?;
                }
            }
            // Cancel requests are served in plaintext under `require` too: libpq before
            // 17 never encrypts them.
            Request::Cancel { pid, secret } => return Ok(Outcome::Cancel { pid, secret: secret.to_vec() }),
            Request::Startup { version, params } => {
                if policy.config.tls.ssl == SslMode::Require && conn.can_start_tls() {
                    return Err(SessionError::Fatal(
                        ErrorInfo::fatal(
                            SqlState::INVALID_AUTHORIZATION_SPECIFICATION,
                            "connection requires SSL (ssl = require)",
                        )
                        .with_hint("Connect with sslmode=require or stronger."),
                    ));
                }
                return accept(conn, version, &params).map(Outcome::Session);
            }
            Request::DirectTls => unreachable!("read_startup returns DirectTls as StartupPacket::DirectTls"),
        }
    }
    Err(SessionError::Fatal(ErrorInfo::fatal(SqlState::PROTOCOL_VIOLATION, "too many encryption requests")))
}

/// The one database this server has; checked after authentication, as PostgreSQL does.
pub fn check_database(startup: &Startup, config: &WorkerConfig) -> Result<(), SessionError> {
    if startup.database != config.database && !config.database_aliases.contains(&startup.database) {
        return Err(SessionError::Fatal(ErrorInfo::fatal(
            SqlState::INVALID_CATALOG_NAME,
            format!("database \"{}\" does not exist", startup.database),
        )));
    }
    Ok(())
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

/// Switches to TLS, or refuses a direct-SSL client when TLS is off (or already on, or
/// the connection is a unix socket).
fn start_tls(conn: &mut Conn, policy: &Policy<'_>, how: Negotiation) -> Result<(), SessionError> {
    let config = match policy.tls {
        Some(config) if conn.can_start_tls() => Arc::clone(config),
        None => return Err(SessionError::DirectTlsRefused("ssl = off")),
        Some(_) if conn.is_tls() => return Err(SessionError::DirectTlsRefused("TLS is already in use")),
        Some(_) => return Err(SessionError::DirectTlsRefused("TLS is for TCP connections only")),
    };
    conn.start_tls(config, how, policy.deadline)?;
    if let Some((version, suite)) = conn.tls_description() {
        debug!(version, suite, negotiation = ?how, "TLS established");
    }
    Ok(())
}

fn accept(conn: &mut Conn, version: u32, params: &[(&str, &str)]) -> Result<Startup, SessionError> {
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
    if let Some(enc) = param("client_encoding") {
        if !is_spoken(enc) {
            return Err(SessionError::Fatal(
                ErrorInfo::fatal(
                    SqlState::FEATURE_NOT_SUPPORTED,
                    format!("client encoding \"{enc}\" is not supported"),
                )
                .with_hint("mallard converts UTF8, SQL_ASCII and the single-byte encodings only"),
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
