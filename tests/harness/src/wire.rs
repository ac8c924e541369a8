//! A protocol-level client for replaying message exchanges: it sends encoded frontend
//! messages exactly as given and hands back every backend message one by one, with no
//! driver logic in between (no implicit Sync, no state tracking). Built on mallard's own
//! codec; it speaks to mallard and to PostgreSQL alike.

use std::io::{ErrorKind, Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use mallard_protocol::pg::backend::Message;
use mallard_protocol::pg::{frontend, startup, PROTOCOL_3_0};

/// Why no message could be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WireError {
    /// The server closed the connection.
    Closed,
    /// Nothing (or only part of a message) arrived in time.
    Timeout,
    /// Bytes that are not a backend message.
    Garbage(String),
    Io(String),
}

impl std::fmt::Display for WireError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            WireError::Closed => write!(f, "the server closed the connection"),
            WireError::Timeout => write!(f, "no message arrived in time"),
            WireError::Garbage(e) => write!(f, "undecodable backend message: {e}"),
            WireError::Io(e) => write!(f, "socket error: {e}"),
        }
    }
}

pub struct WireClient {
    stream: TcpStream,
    buf: Vec<u8>,
}

impl WireClient {
    /// Connects to 127.0.0.1:`port`, completes a trust-authenticated startup and drops
    /// what startup answers (ParameterStatus, BackendKeyData): exchanges begin after it.
    pub fn connect(port: u16, user: &str, database: &str) -> Result<WireClient, String> {
        let stream = TcpStream::connect(("127.0.0.1", port)).map_err(|e| format!("connect: {e}"))?;
        stream.set_nodelay(true).map_err(|e| e.to_string())?;
        let mut client = WireClient { stream, buf: Vec::new() };
        let mut packet = Vec::new();
        let params = vec![("user", user), ("database", database), ("client_encoding", "UTF8")];
        startup::encode(&startup::Request::Startup { version: PROTOCOL_3_0, params }, &mut packet);
        client.send_raw(&packet).map_err(|e| format!("send startup: {e}"))?;
        loop {
            match client.recv(Duration::from_secs(30)) {
                Ok(Message::ReadyForQuery(_)) => return Ok(client),
                Ok(Message::ErrorResponse(e)) => return Err(format!("startup refused: {e:?}")),
                Ok(_) => {}
                Err(e) => return Err(format!("startup: {e}")),
            }
        }
    }

    /// Sends the messages in one write, as a pipelining client does.
    pub fn send(&mut self, messages: &[frontend::Message<'_>]) -> Result<(), WireError> {
        let mut packet = Vec::new();
        for m in messages {
            m.encode(&mut packet);
        }
        self.send_raw(&packet)
    }

    fn send_raw(&mut self, bytes: &[u8]) -> Result<(), WireError> {
        self.stream.write_all(bytes).map_err(|e| WireError::Io(e.to_string()))
    }

    /// The next backend message, waiting at most `timeout` for it.
    pub fn recv(&mut self, timeout: Duration) -> Result<Message, WireError> {
        let deadline = Instant::now() + timeout;
        let mut chunk = [0u8; 16384];
        loop {
            if let Some((m, n)) = Message::decode(&self.buf).map_err(|e| WireError::Garbage(e.to_string()))? {
                self.buf.drain(..n);
                return Ok(m);
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Err(WireError::Timeout);
            }
            self.stream.set_read_timeout(Some(left)).map_err(|e| WireError::Io(e.to_string()))?;
            match self.stream.read(&mut chunk) {
                Ok(0) => return Err(WireError::Closed),
                Ok(n) => self.buf.extend_from_slice(&chunk[..n]),
                Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {
                    return Err(WireError::Timeout)
                }
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                Err(e) => return Err(WireError::Io(e.to_string())),
            }
        }
    }

    /// Says goodbye; errors do not matter any more.
    pub fn terminate(mut self) {
        let _ = self.send(&[frontend::Message::Terminate]);
    }
}
