//! Short request/response connections served by the supervisor's loop: `mallard`
//! commands on the admin socket and Prometheus scrapes. Each sends one small request
//! and gets one reply. Everything is non-blocking; a client that sends too much, or
//! whose reply does not fit its socket buffer at once, is dropped rather than waited
//! for.

use std::collections::HashMap;
use std::io::{self, Read, Write};
use std::os::fd::AsRawFd;

use mio::event::Source;
use mio::{Interest, Registry, Token};
use tracing::{debug, warn};

/// The longest request either kind of client has reason to send.
const MAX_REQUEST: usize = 8 << 10;
/// Connections of one kind at once; more are closed at accept.
const MAX_CONNS: usize = 256;

pub struct Conn<S> {
    pub stream: S,
    buf: Vec<u8>,
}

/// What reading a connection gave.
pub enum Request {
    /// The request is not complete yet.
    Partial,
    Complete(Vec<u8>),
    /// The peer closed, failed, or sent more than a request.
    Closed,
}

pub struct Conns<S> {
    base: usize,
    next: usize,
    conns: HashMap<usize, Conn<S>>,
}

impl<S: Read + Write + Source + AsRawFd> Conns<S> {
    /// Tokens `base..base + (1 << 16)` belong to this table.
    pub fn new(base: usize) -> Self {
        Conns { base, next: 0, conns: HashMap::new() }
    }

    pub fn owns(&self, token: Token) -> bool {
        (self.base..self.base + (1 << 16)).contains(&token.0)
    }

    pub fn add(&mut self, registry: &Registry, mut stream: S) -> io::Result<Token> {
        if self.conns.len() >= MAX_CONNS {
            return Err(io::Error::other("too many connections"));
        }
        while self.conns.contains_key(&self.next) {
            self.next = (self.next + 1) % (1 << 16);
        }
        let token = Token(self.base + self.next);
        registry.register(&mut stream, token, Interest::READABLE)?;
        self.conns.insert(self.next, Conn { stream, buf: Vec::new() });
        self.next = (self.next + 1) % (1 << 16);
        Ok(token)
    }

    /// Takes every connection `accept` has waiting into the table.
    pub fn accept_all(&mut self, registry: &Registry, what: &str, mut accept: impl FnMut() -> io::Result<S>) {
        loop {
            match accept() {
                Ok(stream) => {
                    if let Err(e) = self.add(registry, stream) {
                        debug!(error = %e, what, "connection refused");
                    }
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return warn!(error = %e, what, "accept failed"),
            }
        }
    }

    /// Reads what arrived. `end` says how long the request is once `buf` holds all of it.
    pub fn read(&mut self, token: Token, end: impl Fn(&[u8]) -> Option<usize>) -> Request {
        let Some(conn) = self.conns.get_mut(&(token.0 - self.base)) else { return Request::Closed };
        let mut chunk = [0u8; 1024];
        loop {
            match conn.stream.read(&mut chunk) {
                Ok(0) => return Request::Closed,
                Ok(n) => {
                    conn.buf.extend_from_slice(&chunk[..n]);
                    if let Some(len) = end(&conn.buf) {
                        let request = conn.buf[..len].to_vec();
                        conn.buf.clear();
                        return Request::Complete(request);
                    }
                    if conn.buf.len() > MAX_REQUEST {
                        return Request::Closed;
                    }
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Request::Partial,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(_) => return Request::Closed,
            }
        }
    }

    /// Writes `reply` without waiting. The connection stays open if `hold`, else closes.
    pub fn reply(&mut self, registry: &Registry, token: Token, reply: &[u8], hold: bool) {
        let Some(conn) = self.conns.get_mut(&(token.0 - self.base)) else { return };
        let written = loop {
            match conn.stream.write(reply) {
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                other => break other,
            }
        };
        if !matches!(written, Ok(n) if n == reply.len()) {
            debug!(token = token.0, "reply did not fit the client's socket; closing");
            return self.close(registry, token);
        }
        if !hold {
            self.close(registry, token);
        }
    }

    pub fn close(&mut self, registry: &Registry, token: Token) {
        if let Some(mut conn) = self.conns.remove(&(token.0 - self.base)) {
            let _ = registry.deregister(&mut conn.stream);
        }
    }

    pub fn tokens(&self) -> Vec<Token> {
        self.conns.keys().map(|k| Token(self.base + k)).collect()
    }

    /// Removes a connection without closing it, to hand its socket on.
    pub fn take(&mut self, registry: &Registry, token: Token) -> Option<S> {
        let mut conn = self.conns.remove(&(token.0 - self.base))?;
        let _ = registry.deregister(&mut conn.stream);
        Some(conn.stream)
    }
}
