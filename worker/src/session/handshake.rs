//! The TLS handshake on a client's TCP socket, after `SSLRequest` or, for a direct-SSL
//! client, from its first byte. Driven step by step rather than by rustls'
//! `complete_io`, so that the whole handshake, not each read, is bounded by the startup
//! deadline: a client that trickles its handshake out byte by byte is still cut off.

use std::io;
use std::net::TcpStream;
use std::sync::Arc;
use std::time::{Duration, Instant};

use rustls::{ServerConfig, ServerConnection};

use crate::tls::ALPN_POSTGRESQL;

/// How the client started TLS.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Negotiation {
    /// `SSLRequest`, answered `S`: ALPN is optional (libpq before 17 sends none).
    SslRequest,
    /// A ClientHello as the first bytes (PostgreSQL 17 `sslnegotiation=direct`): ALPN
    /// `postgresql` is required, so that a TLS client of another protocol is not taken
    /// for a PostgreSQL one.
    Direct,
}

/// Why a TLS handshake failed. After any of these nothing more is said on the socket:
/// a plaintext error could not be trusted by the client, and rustls has already sent
/// its alert where there is one.
#[derive(Debug, thiserror::Error)]
pub enum HandshakeError {
    #[error("TLS handshake not finished within the startup timeout")]
    Timeout,
    #[error("client closed the connection during the TLS handshake")]
    Eof,
    #[error("TLS handshake failed")]
    Io(#[source] io::Error),
    #[error("TLS handshake failed")]
    Tls(#[source] rustls::Error),
    #[error("direct SSL connection without the ALPN protocol \"postgresql\"")]
    NoAlpn,
}

/// Runs the server side of a handshake to completion. `buffered` is what was already
/// read from the socket (the start of a direct-SSL ClientHello); it is fed to rustls
/// first.
pub fn run(
    socket: &mut TcpStream,
    config: Arc<ServerConfig>,
    mut buffered: &[u8],
    how: Negotiation,
    deadline: Instant,
) -> Result<ServerConnection, HandshakeError> {
    let mut tls = ServerConnection::new(config).map_err(HandshakeError::Tls)?;
    loop {
        while tls.wants_write() {
            tls.write_tls(socket).map_err(HandshakeError::Io)?;
        }
        if !tls.is_handshaking() {
            break;
        }
        if buffered.is_empty() {
            read_socket(&mut tls, socket, deadline)?;
        } else {
            tls.read_tls(&mut buffered).map_err(HandshakeError::Io)?;
        }
        if let Err(e) = tls.process_new_packets() {
            // Tell the client why, as an alert, before closing.
            while tls.wants_write() && tls.write_tls(socket).is_ok() {}
            return Err(HandshakeError::Tls(e));
        }
    }
    if how == Negotiation::Direct && tls.alpn_protocol() != Some(ALPN_POSTGRESQL) {
        return Err(HandshakeError::NoAlpn);
    }
    Ok(tls)
}

/// One read from the socket into rustls, waiting no longer than the deadline allows.
fn read_socket(
    tls: &mut ServerConnection,
    socket: &mut TcpStream,
    deadline: Instant,
) -> Result<(), HandshakeError> {
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(HandshakeError::Timeout);
        }
        socket.set_read_timeout(Some(left)).map_err(HandshakeError::Io)?;
        return match tls.read_tls(socket) {
            Ok(0) => Err(HandshakeError::Eof),
            Ok(_) => Ok(()),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) if matches!(e.kind(), io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut) => {
                Err(HandshakeError::Timeout)
            }
            Err(e) => Err(HandshakeError::Io(e)),
        };
    }
}

/// What is left of the startup deadline, as a socket read timeout (which cannot be 0).
pub fn remaining(deadline: Instant) -> Duration {
    deadline.saturating_duration_since(Instant::now()).max(Duration::from_millis(1))
}
