//! The authenticating phase: the first access rule that matches the connection picks the
//! method, and the method runs over the connection. It ends before `AuthenticationOk`,
//! which the session sends with the rest of its greeting.
//!
//! A wrong password and an unknown user get the same answer after the same work: an
//! unknown user's exchange runs on a mock verifier (see [`auth::Verifier::mock`]).
//! Failures are throttled per address. Logs name the user (in the session span), the
//! method and the outcome, never a password, proof or verifier.

use std::net::IpAddr;

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use mallard_protocol::channel::Peer;
use mallard_protocol::pg::backend::{ErrorInfo, Message};
use mallard_protocol::pg::SqlState;
use rand::RngCore;
use tracing::{debug, info, warn};

use super::conn::Conn;
use super::startup::Startup;
use super::SessionError;
use crate::auth::rules::{self, Method};
use crate::auth::scram::{self, ScramError};
use crate::auth::{Authenticator, Candidate};

/// The largest password, SASLInitialResponse or SASLResponse message accepted. SCRAM
/// messages are about a hundred bytes; this leaves room for long passwords and SCRAM
/// user names while keeping what a client can make us buffer before it is known small.
pub const MAX_AUTH_MESSAGE: usize = 8192;
/// Random bytes in the server's part of the SCRAM nonce, as in PostgreSQL.
const SERVER_NONCE_LEN: usize = 18;

/// How a password method ended, other than with success.
enum Failure {
    /// Wrong password, or unknown user: the same 28P01 either way.
    Denied,
    /// The session ends for another reason (protocol violation, EOF, I/O).
    Session(SessionError),
}

impl From<SessionError> for Failure {
    fn from(e: SessionError) -> Self {
        Failure::Session(e)
    }
}

/// Authenticates the client of `startup` as the rules say; `Ok` means let it in.
pub fn authenticate(
    conn: &mut Conn,
    auth: &Authenticator,
    peer: &Peer,
    startup: &Startup,
) -> Result<(), SessionError> {
    let ip = match peer {
        Peer::Tcp(addr) => Some(rules::canonical(addr.ip())),
        Peer::Unix => None,
    };
    let tls = conn.is_tls();
    let client = rules::Client { ip, tls, user: &startup.user, database: &startup.database };
    let Some(rule) = auth.rule_for(&client) else {
        info!(outcome = "no matching rule", "connection refused");
        return Err(refused(&client, "no [auth] rules entry for"));
    };
    let method = rule.method;
    match method {
        Method::Trust => {
            debug!(method = method.as_str(), "authenticated");
            Ok(())
        }
        Method::Reject => {
            info!(method = method.as_str(), outcome = "rejected by rule", "connection refused");
            Err(refused(&client, "[auth] rules reject connection for"))
        }
        Method::Password if ip.is_some() && !tls => {
            info!(method = method.as_str(), outcome = "password method without TLS", "connection refused");
            Err(SessionError::Fatal(
                ErrorInfo::fatal(
                    SqlState::INVALID_AUTHORIZATION_SPECIFICATION,
                    format!(
                        "cleartext password authentication for user \"{}\" is only allowed over SSL",
                        startup.user
                    ),
                )
                .with_hint("connect with sslmode=require"),
            ))
        }
        Method::Password | Method::ScramSha256 => {
            let candidate = auth.candidate(&startup.user);
            let known = candidate.known;
            let outcome = match method {
                Method::Password => cleartext(conn, candidate),
                _ => scram_exchange(conn, candidate),
            };
            match outcome {
                Ok(()) => {
                    info!(method = method.as_str(), "authenticated");
                    Ok(())
                }
                Err(Failure::Session(e)) => Err(e),
                Err(Failure::Denied) => {
                    let (failures, delay) = auth.failed(peer);
                    warn!(
                        method = method.as_str(),
                        reason = if known { "wrong password" } else { "unknown user" },
                        failures,
                        delay_ms = delay.as_millis() as u64,
                        "password authentication failed"
                    );
                    std::thread::sleep(delay);
                    Err(SessionError::Fatal(ErrorInfo::fatal(
                        SqlState::INVALID_PASSWORD,
                        format!("password authentication failed for user \"{}\"", startup.user),
                    )))
                }
            }
        }
    }
}

/// PostgreSQL's 28000 shape: `<what> host "…", user "…", database "…", no encryption`.
fn refused(client: &rules::Client<'_>, what: &str) -> SessionError {
    let host = client.ip.as_ref().map_or_else(|| "[local]".to_owned(), IpAddr::to_string);
    let encryption = if client.tls { "SSL encryption" } else { "no encryption" };
    SessionError::Fatal(ErrorInfo::fatal(
        SqlState::INVALID_AUTHORIZATION_SPECIFICATION,
        format!(
            "{what} host \"{host}\", user \"{}\", database \"{}\", {encryption}",
            client.user, client.database
        ),
    ))
}

fn protocol_violation(message: impl Into<String>) -> SessionError {
    SessionError::Fatal(ErrorInfo::fatal(SqlState::PROTOCOL_VIOLATION, message))
}

/// Reads the body of the client's next `p` message, bounded by [`MAX_AUTH_MESSAGE`].
fn read_password_message(conn: &mut Conn, expected: &str) -> Result<Vec<u8>, SessionError> {
    let frame = conn.read_message(MAX_AUTH_MESSAGE)?;
    if frame[0] != b'p' {
        return Err(protocol_violation(format!(
            "expected {expected} response, got message type {}",
            frame[0]
        )));
    }
    Ok(frame[5..].to_vec())
}

fn send(conn: &mut Conn, message: &Message) -> Result<(), SessionError> {
    conn.send(message);
    conn.flush().map_err(SessionError::Io)
}

/// The `password` method: the client sends the password itself, NUL-terminated.
fn cleartext(conn: &mut Conn, candidate: Candidate) -> Result<(), Failure> {
    send(conn, &Message::AuthenticationCleartextPassword)?;
    let body = read_password_message(conn, "password")?;
    let Some((&0, password)) = body.split_last().filter(|(_, p)| !p.contains(&0)) else {
        return Err(protocol_violation("invalid password packet size").into());
    };
    // The derivation runs whatever the input, so every refusal costs the same.
    let text = std::str::from_utf8(password);
    let matches = candidate.verifier.check_password(text.unwrap_or(""));
    if matches & text.is_ok() & !password.is_empty() & candidate.known {
        Ok(())
    } else {
        Err(Failure::Denied)
    }
}

/// SCRAM-SHA-256: `AuthenticationSASL`, client-first, server-first, client-final,
/// server-final.
fn scram_exchange(conn: &mut Conn, candidate: Candidate) -> Result<(), Failure> {
    send(conn, &Message::AuthenticationSasl { mechanisms: vec![scram::MECHANISM.to_owned()] })?;
    let body = read_password_message(conn, "SASL")?;
    let first = match initial_response(&body)? {
        Some(data) => data.to_vec(),
        // No initial response: the client sends client-first after an empty challenge.
        None => {
            send(conn, &Message::AuthenticationSaslContinue(Vec::new()))?;
            read_password_message(conn, "SASL")?
        }
    };
    let mut nonce = [0u8; SERVER_NONCE_LEN];
    rand::thread_rng().fill_bytes(&mut nonce);
    let (state, server_first) = scram::ExpectClientFirst::new(candidate.verifier, !candidate.known)
        .client_first(&first, &B64.encode(nonce))
        .map_err(scram_failure)?;
    send(conn, &Message::AuthenticationSaslContinue(server_first.into_bytes()))?;
    let last = read_password_message(conn, "SASL")?;
    let server_final = state.client_final(&last).map_err(scram_failure)?;
    // Sent with AuthenticationOk and the rest of the greeting.
    conn.send(&Message::AuthenticationSaslFinal(server_final.into_bytes()));
    Ok(())
}

/// Splits SASLInitialResponse: mechanism name, then the initial response, whose length
/// -1 means none.
fn initial_response(body: &[u8]) -> Result<Option<&[u8]>, SessionError> {
    let nul =
        body.iter().position(|&b| b == 0).ok_or_else(|| protocol_violation("invalid string in message"))?;
    let (mechanism, rest) = (&body[..nul], &body[nul + 1..]);
    if mechanism != scram::MECHANISM.as_bytes() {
        return Err(protocol_violation("client selected an invalid SASL authentication mechanism"));
    }
    let Some((len, data)) = rest.split_first_chunk::<4>() else {
        return Err(protocol_violation("insufficient data left in message"));
    };
    match i32::from_be_bytes(*len) {
        -1 if data.is_empty() => Ok(None),
        n if n >= 0 && n as usize == data.len() => Ok(Some(data)),
        n if n < -1 || n as usize > data.len() => {
            Err(protocol_violation("insufficient data left in message"))
        }
        _ => Err(protocol_violation("invalid message format")),
    }
}

fn scram_failure(e: ScramError) -> Failure {
    let code = match e {
        ScramError::Failed => return Failure::Denied,
        ScramError::AuthorizationIdentity | ScramError::MandatoryExtension => SqlState::FEATURE_NOT_SUPPORTED,
        _ => SqlState::PROTOCOL_VIOLATION,
    };
    let mut info = ErrorInfo::fatal(code, e.to_string());
    if let Some(detail) = e.detail() {
        info = info.with_detail(detail);
    }
    Failure::Session(SessionError::Fatal(info))
}
