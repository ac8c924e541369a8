//! The client socket with framing: startup packets and tagged messages in, a write
//! buffer out. Reads grow the buffer only as bytes arrive, so a client that claims a
//! large message gets nothing allocated for the claim; the claim is checked against
//! `max_message_size` as soon as its header is in. A TCP connection may switch to TLS
//! during startup ([`Conn::start_tls`]); everything above `Conn` is the same either way.
//!
//! A deadline bounds the total time of the reads made while it is set, however slowly
//! the bytes trickle in: the socket's read timeout is recomputed before each read.
//!
//! A listening session waits for its client and for notifications at once
//! ([`Conn::wait`]): `poll()` on the socket and the session's eventfd, and only when no
//! message is buffered already, here or (over TLS) as plaintext inside rustls.
//!
//! For a client that does not speak UTF-8, the strings of the messages sent through
//! [`Conn::send`] are converted to its encoding here, once, whichever part of the
//! session built them; a UTF-8 client's messages are not looked at again.

use std::convert::Infallible;
use std::io::{self, Read, Write};
use std::net::TcpStream;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::os::unix::net::UnixStream;
use std::sync::Arc;
use std::time::{Duration, Instant};

use mallard_protocol::channel::Peer;
use mallard_protocol::pg::backend::{ErrorInfo, Message};
use mallard_protocol::pg::{frontend, startup, transcode, SqlState};
use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
use rustls::{ServerConfig, ServerConnection, StreamOwned};

use super::handshake::{self, HandshakeError, Negotiation};
use crate::encoding::Encoding;

/// Flush the write buffer once it holds this much (row streaming).
pub const FLUSH_THRESHOLD: usize = 64 * 1024;
const READ_CHUNK: usize = 16 * 1024;

pub enum Stream {
    Tcp(TcpStream),
    Unix(UnixStream),
    Tls(Box<StreamOwned<ServerConnection, TcpStream>>),
    /// A TLS handshake failed and the socket is closed: nothing more, least of all
    /// plaintext, goes to this client.
    Closed,
}

impl Stream {
    pub fn new(fd: OwnedFd, peer: Peer) -> Stream {
        match peer {
            Peer::Tcp(_) => {
                let s = TcpStream::from(fd);
                // O_NONBLOCK is shared with the supervisor's copy; sessions block.
                let _ = s.set_nonblocking(false);
                // Small replies (ReadyForQuery) must not wait for Nagle.
                let _ = s.set_nodelay(true);
                Stream::Tcp(s)
            }
            Peer::Unix => {
                let s = UnixStream::from(fd);
                let _ = s.set_nonblocking(false);
                Stream::Unix(s)
            }
        }
    }

    /// The client socket, to poll.
    fn socket(&self) -> Option<BorrowedFd<'_>> {
        match self {
            Stream::Tcp(s) => Some(s.as_fd()),
            Stream::Unix(s) => Some(s.as_fd()),
            Stream::Tls(s) => Some(s.sock.as_fd()),
            Stream::Closed => None,
        }
    }

    /// Over TLS: whether rustls holds plaintext to read (or the client's close, or an
    /// error), after processing the records it has and sending what it owes the client
    /// (a key update's answer). A plain socket buffers nothing.
    fn tls_has_input(&mut self) -> bool {
        let Stream::Tls(s) = self else { return false };
        let ready = match s.conn.process_new_packets() {
            Ok(state) => state.plaintext_bytes_to_read() > 0 || state.peer_has_closed(),
            Err(_) => true,
        };
        while s.conn.wants_write() {
            if s.conn.write_tls(&mut s.sock).is_err() {
                return true;
            }
        }
        ready
    }

    /// Over TLS, after `poll()` found the socket readable: takes the records that
    /// arrived into rustls without blocking. Returns false when a read would have
    /// something to tell (the bytes of a plain socket, the end of the connection, an
    /// error).
    fn take_tls_records(&mut self) -> bool {
        let Stream::Tls(s) = self else { return false };
        match s.conn.read_tls(&mut s.sock) {
            Ok(0) => false,
            Ok(_) => true,
            Err(e) => matches!(e.kind(), io::ErrorKind::WouldBlock | io::ErrorKind::Interrupted),
        }
    }

    fn set_read_timeout(&self, t: Option<Duration>) -> io::Result<()> {
        match self {
            Stream::Tcp(s) => s.set_read_timeout(t),
            Stream::Unix(s) => s.set_read_timeout(t),
            Stream::Tls(s) => s.sock.set_read_timeout(t),
            Stream::Closed => Ok(()),
        }
    }
}

fn closed() -> io::Error {
    io::Error::new(io::ErrorKind::NotConnected, "connection closed after a failed TLS handshake")
}

impl Read for Stream {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            Stream::Tcp(s) => s.read(buf),
            Stream::Unix(s) => s.read(buf),
            Stream::Tls(s) => s.read(buf),
            Stream::Closed => Err(closed()),
        }
    }
}

impl Write for Stream {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            Stream::Tcp(s) => s.write(buf),
            Stream::Unix(s) => s.write(buf),
            Stream::Tls(s) => s.write(buf),
            Stream::Closed => Err(closed()),
        }
    }

    /// Sockets have nothing to flush; TLS may hold encrypted records back.
    fn flush(&mut self) -> io::Result<()> {
        match self {
            Stream::Tls(s) => s.flush(),
            _ => Ok(()),
        }
    }
}

/// Why reading from the client stopped.
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    #[error("client closed the connection")]
    Eof,
    #[error("client connection failed")]
    Io(#[source] io::Error),
    #[error(transparent)]
    Startup(startup::StartupError),
    #[error(transparent)]
    Message(frontend::DecodeError),
    /// The deadline passed before the bytes did.
    #[error("the client did not send in time")]
    TimedOut,
    /// A wakeable read was interrupted (see [`Conn::set_wakeable`]).
    #[error("woken while waiting for the client")]
    Woken,
}

/// What ended a [`Conn::wait`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ready {
    /// The client sent something, closed the connection, or it failed: read to learn.
    Client,
    /// The other fd became readable.
    Woken,
}

/// What the first bytes of a connection were.
pub enum StartupPacket {
    /// A whole startup-phase packet, length prefix included.
    Packet(Vec<u8>),
    /// A TLS ClientHello: a direct-SSL client.
    DirectTls,
}

pub struct Conn {
    stream: Stream,
    input: Vec<u8>,
    /// Where unread input starts.
    start: usize,
    out: Vec<u8>,
    /// Reads fail with [`ReadError::TimedOut`] once this passes.
    deadline: Option<Instant>,
    /// Whether the socket has a read timeout set, so that clearing a deadline costs a
    /// system call only when there is something to clear.
    timeout_set: bool,
    /// The client's encoding, when it is not UTF-8 (or SQL_ASCII, passed as it is).
    encoding: Option<&'static Encoding>,
    /// A signal interrupting a read ends it with [`ReadError::Woken`] instead of
    /// restarting it: the session waits for an idle client during a reload's drain.
    wakeable: bool,
}

impl Conn {
    pub fn new(stream: Stream) -> Conn {
        Conn {
            stream,
            input: Vec::with_capacity(READ_CHUNK),
            start: 0,
            out: Vec::with_capacity(READ_CHUNK),
            deadline: None,
            timeout_set: false,
            encoding: None,
            wakeable: false,
        }
    }

    /// See [`Conn::wakeable`](Conn).
    pub fn set_wakeable(&mut self, wakeable: bool) {
        self.wakeable = wakeable;
    }

    /// The plaintext client socket, which moves to another worker with its session;
    /// `None` over TLS, whose state cannot leave this process.
    pub fn plain_socket(&self) -> Option<BorrowedFd<'_>> {
        match &self.stream {
            Stream::Tcp(_) | Stream::Unix(_) => self.stream.socket(),
            Stream::Tls(_) | Stream::Closed => None,
        }
    }

    /// Bounds the reads that follow, in total, until the deadline is cleared.
    pub fn set_deadline(&mut self, deadline: Option<Instant>) -> io::Result<()> {
        self.deadline = deadline;
        if deadline.is_none() && self.timeout_set {
            self.stream.set_read_timeout(None)?;
            self.timeout_set = false;
        }
        Ok(())
    }

    /// Whether the client talks to us over TLS (for `hostssl` rules and for cleartext
    /// passwords, which are accepted only over TLS).
    pub fn is_tls(&self) -> bool {
        matches!(self.stream, Stream::Tls(_))
    }

    /// Whether this is a plaintext TCP connection, the only kind that can start TLS.
    pub fn can_start_tls(&self) -> bool {
        matches!(self.stream, Stream::Tcp(_))
    }

    /// Whether the client sent bytes we have not read as a packet yet: after an
    /// `SSLRequest`, those were sent before encryption was agreed on.
    pub fn has_unread(&self) -> bool {
        !self.unread().is_empty()
    }

    /// The type byte of the next message, if the client has sent it already.
    pub fn next_tag(&self) -> Option<u8> {
        self.unread().first().copied()
    }

    /// Switches this TCP connection to TLS: runs the handshake, fed first with any bytes
    /// already read (a direct-SSL ClientHello). On failure the socket is closed.
    pub fn start_tls(
        &mut self,
        config: Arc<ServerConfig>,
        how: Negotiation,
        deadline: Instant,
    ) -> Result<(), HandshakeError> {
        let Stream::Tcp(mut socket) = std::mem::replace(&mut self.stream, Stream::Closed) else {
            unreachable!("start_tls on a connection that is not plaintext TCP")
        };
        let buffered = self.take(self.unread().len());
        let tls = handshake::run(&mut socket, config, &buffered, how, deadline)?;
        // The rest of startup has what is left of the deadline, read by read.
        socket.set_read_timeout(Some(handshake::remaining(deadline))).map_err(HandshakeError::Io)?;
        self.stream = Stream::Tls(Box::new(StreamOwned::new(tls, socket)));
        Ok(())
    }

    /// Ends TLS with a `close_notify`, so the client can tell our close from a cut
    /// connection; a plaintext connection has nothing to say.
    pub fn close(&mut self) {
        if let Stream::Tls(s) = &mut self.stream {
            s.conn.send_close_notify();
            while s.conn.wants_write() && s.conn.write_tls(&mut s.sock).is_ok() {}
        }
    }

    /// The TLS protocol version and cipher suite in use, for the log.
    pub fn tls_description(&self) -> Option<(String, String)> {
        let Stream::Tls(s) = &self.stream else { return None };
        let version = s.conn.protocol_version().map(|v| format!("{v:?}")).unwrap_or_default();
        let suite = s.conn.negotiated_cipher_suite().map(|c| format!("{:?}", c.suite())).unwrap_or_default();
        Some((version, suite))
    }

    fn unread(&self) -> &[u8] {
        &self.input[self.start..]
    }

    /// Waits until the client has sent something or `wake` is readable, within the
    /// deadline, without reading a message: what is already buffered (here, or as TLS
    /// plaintext) counts as sent. Ends with [`ReadError::TimedOut`] when the deadline
    /// passes first.
    pub fn wait(&mut self, wake: BorrowedFd<'_>) -> Result<Ready, ReadError> {
        loop {
            if self.has_unread() || self.stream.tls_has_input() {
                return Ok(Ready::Client);
            }
            let timeout = match self.deadline {
                None => PollTimeout::NONE,
                Some(deadline) => {
                    let left = deadline.saturating_duration_since(Instant::now());
                    if left < Duration::from_millis(1) {
                        return Err(ReadError::TimedOut);
                    }
                    PollTimeout::try_from(left).unwrap_or(PollTimeout::MAX)
                }
            };
            let Some(socket) = self.stream.socket() else { return Ok(Ready::Client) };
            let mut fds = [PollFd::new(socket, PollFlags::POLLIN), PollFd::new(wake, PollFlags::POLLIN)];
            match poll(&mut fds, timeout) {
                Err(nix::errno::Errno::EINTR) if self.wakeable => return Err(ReadError::Woken),
                Err(nix::errno::Errno::EINTR) => continue,
                Err(e) => return Err(ReadError::Io(e.into())),
                Ok(0) => return Err(ReadError::TimedOut),
                Ok(_) => {}
            }
            let ready = |fd: &PollFd<'_>| fd.revents().is_some_and(|r| !r.is_empty());
            let (client, woken) = (ready(&fds[0]), ready(&fds[1]));
            if woken {
                return Ok(Ready::Woken);
            }
            if client && !self.stream.take_tls_records() {
                return Ok(Ready::Client);
            }
        }
    }

    /// Reads more input; EOF is an error here because every caller needs more bytes.
    fn fill(&mut self) -> Result<(), ReadError> {
        if self.start > 0 && self.start == self.input.len() {
            self.input.clear();
            self.start = 0;
        } else if self.start > READ_CHUNK {
            self.input.drain(..self.start);
            self.start = 0;
        }
        let len = self.input.len();
        self.input.resize(len + READ_CHUNK, 0);
        let n = loop {
            if let Err(e) = self.arm_timeout() {
                break Err(e);
            }
            match self.stream.read(&mut self.input[len..]) {
                Err(e) if e.kind() == io::ErrorKind::Interrupted && self.wakeable => {
                    break Err(ReadError::Woken)
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                other => break other.map_err(ReadError::Io),
            }
        };
        self.input.truncate(len + *n.as_ref().unwrap_or(&0));
        match n {
            Ok(0) => Err(ReadError::Eof),
            Ok(_) => Ok(()),
            Err(ReadError::Io(e))
                if self.deadline.is_some()
                    && matches!(e.kind(), io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut) =>
            {
                Err(ReadError::TimedOut)
            }
            Err(e) => Err(e),
        }
    }

    /// Sets the socket's read timeout to what is left until the deadline.
    fn arm_timeout(&mut self) -> Result<(), ReadError> {
        let Some(deadline) = self.deadline else { return Ok(()) };
        let left = deadline.saturating_duration_since(Instant::now());
        // A zero timeout would mean "none" to the socket.
        if left < Duration::from_millis(1) {
            return Err(ReadError::TimedOut);
        }
        self.stream.set_read_timeout(Some(left)).map_err(ReadError::Io)?;
        self.timeout_set = true;
        Ok(())
    }

    /// Takes `n` unread bytes out of the buffer.
    fn take(&mut self, n: usize) -> Vec<u8> {
        let frame = self.input[self.start..self.start + n].to_vec();
        self.start += n;
        frame
    }

    pub fn read_startup(&mut self) -> Result<StartupPacket, ReadError> {
        loop {
            match startup::decode(self.unread()).map_err(ReadError::Startup)? {
                Some((startup::Request::DirectTls, _)) => return Ok(StartupPacket::DirectTls),
                Some((_, n)) => return Ok(StartupPacket::Packet(self.take(n))),
                None => self.fill()?,
            }
        }
    }

    /// Reads one whole tagged message (tag and length included) of any type, for a phase
    /// whose caller checks the type itself (authentication's password messages).
    #[allow(dead_code)] // trust is the only method so far
    pub fn read_message(&mut self, max_len: usize) -> Result<Vec<u8>, ReadError> {
        self.read_tagged(|_| Ok(max_len))
    }

    /// Reads one whole message of a running session: a type the session may not get is
    /// refused as soon as its byte arrives, and each type is bounded as PostgreSQL
    /// bounds it ([`frontend::session_limit`]).
    pub fn read_session_message(&mut self, max_len: usize) -> Result<Vec<u8>, ReadError> {
        self.read_tagged(|tag| frontend::session_limit(tag, max_len))
    }

    fn read_tagged(
        &mut self,
        limit: impl Fn(u8) -> Result<usize, frontend::DecodeError>,
    ) -> Result<Vec<u8>, ReadError> {
        loop {
            if let Some(&tag) = self.unread().first() {
                let max_len = limit(tag).map_err(ReadError::Message)?;
                if let Some(len) =
                    frontend::peek_length(self.unread(), max_len).map_err(ReadError::Message)?
                {
                    if self.unread().len() > len {
                        return Ok(self.take(1 + len));
                    }
                }
            }
            self.fill()?;
        }
    }

    pub fn send(&mut self, message: &Message) {
        let at = self.out.len();
        message.encode(&mut self.out);
        if let Some(encoding) = self.encoding {
            self.convert_sent(encoding, message, at);
        }
    }

    /// The client encoding that values and messages are converted to, if any.
    pub fn encoding(&self) -> Option<&'static Encoding> {
        self.encoding
    }

    pub fn set_encoding(&mut self, encoding: Option<&'static Encoding>) {
        self.encoding = encoding;
    }

    /// Converts the strings of the message just encoded at `out[at..]`. An error whose
    /// text the client's encoding cannot hold becomes the conversion error, as in
    /// PostgreSQL; other texts (a notice, a column name, a setting's value) reach the
    /// client with `?` for what its encoding lacks.
    fn convert_sent(&mut self, encoding: &'static Encoding, message: &Message, at: usize) {
        let strict = |text: &[u8]| encoding.encode(text).map(|t| t.into_owned());
        let converted = match (transcode::backend(&self.out[at..], strict), message) {
            (Ok(converted), _) => converted,
            (Err(e), Message::ErrorResponse(info)) => {
                self.out.truncate(at);
                let info = ErrorInfo::new(info.severity, SqlState::UNTRANSLATABLE_CHARACTER, e.to_string());
                Message::ErrorResponse(info).encode(&mut self.out);
                return;
            }
            (Err(_), _) => {
                let lossy = |text: &[u8]| Ok::<_, Infallible>(encoding.encode_lossy(text).into_owned());
                match transcode::backend(&self.out[at..], lossy) {
                    Ok(converted) => converted,
                    Err(never) => match never {},
                }
            }
        };
        if let Some(converted) = converted {
            self.out.truncate(at);
            self.out.extend_from_slice(&converted);
        }
    }

    /// The write buffer, for writers that encode in place (`DataRowWriter`).
    pub fn out(&mut self) -> &mut Vec<u8> {
        &mut self.out
    }

    /// Appends raw bytes (the one-byte SSL/GSSENC answers).
    pub fn send_raw(&mut self, bytes: &[u8]) {
        self.out.extend_from_slice(bytes);
    }

    pub fn flush(&mut self) -> io::Result<()> {
        if !self.out.is_empty() {
            self.stream.write_all(&self.out)?;
            self.out.clear();
            self.stream.flush()?;
        }
        Ok(())
    }

    /// Flushes only once enough is buffered to be worth a write.
    pub fn flush_if_full(&mut self) -> io::Result<()> {
        if self.out.len() >= FLUSH_THRESHOLD {
            self.flush()?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use std::io::Write as _;
    use std::os::unix::net::UnixStream;
    use std::thread;

    use mallard_protocol::pg::frontend::DecodeError;

    use super::*;

    fn pair() -> (Conn, UnixStream) {
        let (ours, theirs) = UnixStream::pair().unwrap();
        (Conn::new(Stream::new(OwnedFd::from(ours), Peer::Unix)), theirs)
    }

    #[test]
    fn a_deadline_bounds_all_reads_together() {
        let (mut conn, mut client) = pair();
        // A startup packet, a byte every 50 ms: each read alone would be quick.
        let mut packet = Vec::new();
        let params = vec![("user", "slow"), ("database", "mallard")];
        startup::encode(&startup::Request::Startup { version: 3 << 16, params }, &mut packet);
        let trickle = thread::spawn(move || {
            for byte in packet {
                if client.write_all(&[byte]).is_err() {
                    return;
                }
                thread::sleep(Duration::from_millis(50));
            }
        });
        let started = Instant::now();
        conn.set_deadline(Some(started + Duration::from_millis(300))).unwrap();
        assert!(matches!(conn.read_startup(), Err(ReadError::TimedOut)));
        let took = started.elapsed();
        assert!(took >= Duration::from_millis(300) && took < Duration::from_millis(1500), "{took:?}");
        drop(conn);
        trickle.join().unwrap();
    }

    #[test]
    fn clearing_the_deadline_lets_reads_wait() {
        let (mut conn, mut client) = pair();
        conn.set_deadline(Some(Instant::now() + Duration::from_millis(50))).unwrap();
        conn.set_deadline(None).unwrap();
        let late = thread::spawn(move || {
            thread::sleep(Duration::from_millis(200));
            client.write_all(b"S\0\0\0\x04").unwrap();
            client
        });
        assert_eq!(conn.read_session_message(1 << 20).unwrap(), b"S\0\0\0\x04");
        drop(late.join().unwrap());
    }

    #[test]
    fn wait_wakes_for_the_other_fd_the_client_and_the_deadline() {
        let (mut conn, mut client) = pair();
        let (wake, mut waker) = UnixStream::pair().unwrap();
        waker.write_all(b"!").unwrap();
        assert_eq!(conn.wait(wake.as_fd()).unwrap(), Ready::Woken);
        let (quiet, _keep) = UnixStream::pair().unwrap();
        client.write_all(b"S\0\0\0\x04").unwrap();
        assert_eq!(conn.wait(quiet.as_fd()).unwrap(), Ready::Client);
        assert_eq!(conn.read_session_message(1 << 20).unwrap(), b"S\0\0\0\x04");
        // Half a message is buffered: the rest is the client's to send, not a wait.
        client.write_all(b"S\0").unwrap();
        conn.set_deadline(Some(Instant::now() + Duration::from_millis(100))).unwrap();
        assert!(matches!(conn.read_session_message(1 << 20), Err(ReadError::TimedOut)));
        assert_eq!(conn.wait(quiet.as_fd()).unwrap(), Ready::Client);
        let (mut idle, _client) = pair();
        idle.set_deadline(Some(Instant::now() + Duration::from_millis(100))).unwrap();
        let started = Instant::now();
        assert!(matches!(idle.wait(quiet.as_fd()), Err(ReadError::TimedOut)));
        assert!(started.elapsed() >= Duration::from_millis(90), "{:?}", started.elapsed());
    }

    #[test]
    fn a_claimed_length_is_not_allocated() {
        let (mut conn, mut client) = pair();
        // Claims a 100 MB query and sends 20 bytes of it.
        client.write_all(b"Q\x05\xf5\xe1\x00SELECT 'aaaaaaaaaa").unwrap();
        conn.set_deadline(Some(Instant::now() + Duration::from_millis(200))).unwrap();
        assert!(matches!(conn.read_session_message(256 << 20), Err(ReadError::TimedOut)));
        assert!(conn.input.capacity() <= 2 * READ_CHUNK, "{} bytes reserved", conn.input.capacity());
    }

    #[test]
    fn a_type_the_session_may_not_get_is_refused_from_its_first_byte() {
        let (mut conn, mut client) = pair();
        // The first byte of a second startup packet; the rest never comes.
        client.write_all(&[0]).unwrap();
        assert!(matches!(
            conn.read_session_message(1 << 20),
            Err(ReadError::Message(DecodeError::UnexpectedType { tag: 0 }))
        ));
    }
}
