//! The client socket with framing: startup packets and tagged messages in, a write
//! buffer out. Reads grow the buffer only as bytes arrive, so a client that claims a
//! large message gets nothing allocated for the claim; the claim is checked against
//! `max_message_size` as soon as its header is in.

use std::io::{self, Read, Write};
use std::net::TcpStream;
use std::os::fd::OwnedFd;
use std::os::unix::net::UnixStream;
use std::time::Duration;

use mallard_protocol::channel::Peer;
use mallard_protocol::pg::{backend, frontend, startup};

/// Flush the write buffer once it holds this much (row streaming).
pub const FLUSH_THRESHOLD: usize = 64 * 1024;
const READ_CHUNK: usize = 16 * 1024;

pub enum Stream {
    Tcp(TcpStream),
    Unix(UnixStream),
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

    fn set_read_timeout(&self, t: Option<Duration>) -> io::Result<()> {
        match self {
            Stream::Tcp(s) => s.set_read_timeout(t),
            Stream::Unix(s) => s.set_read_timeout(t),
        }
    }
}

impl Read for Stream {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            Stream::Tcp(s) => s.read(buf),
            Stream::Unix(s) => s.read(buf),
        }
    }
}

impl Write for Stream {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            Stream::Tcp(s) => s.write(buf),
            Stream::Unix(s) => s.write(buf),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
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
}

impl Conn {
    pub fn new(stream: Stream) -> Conn {
        Conn { stream, input: Vec::with_capacity(READ_CHUNK), start: 0, out: Vec::with_capacity(READ_CHUNK) }
    }

    pub fn set_read_timeout(&self, t: Option<Duration>) -> io::Result<()> {
        self.stream.set_read_timeout(t)
    }

    /// Whether the connection is encrypted. A placeholder until TLS lands in this
    /// branch: the TLS work defines the real one, which replaces this on merge.
    pub fn is_tls(&self) -> bool {
        false
    }

    fn unread(&self) -> &[u8] {
        &self.input[self.start..]
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
            match self.stream.read(&mut self.input[len..]) {
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                other => break other,
            }
        };
        self.input.truncate(len + *n.as_ref().unwrap_or(&0));
        match n {
            Ok(0) => Err(ReadError::Eof),
            Ok(_) => Ok(()),
            Err(e) => Err(ReadError::Io(e)),
        }
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

    /// Reads one whole tagged message (tag and length included).
    pub fn read_message(&mut self, max_len: usize) -> Result<Vec<u8>, ReadError> {
        loop {
            if let Some(len) = frontend::peek_length(self.unread(), max_len).map_err(ReadError::Message)? {
                if self.unread().len() > len {
                    return Ok(self.take(1 + len));
                }
            }
            self.fill()?;
        }
    }

    pub fn send(&mut self, message: &backend::Message) {
        message.encode(&mut self.out);
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
