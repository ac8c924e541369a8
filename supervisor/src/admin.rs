//! The admin socket: a unix socket (mode 0600) on which `mallard status`, `reload` and
//! `stop` talk to the running supervisor. A request is one line (`status`, `reload`,
//! `stop`, `stop fast`); the answer is one line of JSON. A `reload` is answered once the
//! reload has succeeded or failed; a `stop` is acknowledged at once, and the connection
//! closes when the supervisor exits.

use std::io::{self, BufRead, BufReader, Write};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde_json::Value;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Command {
    Status,
    Reload,
    Stop { fast: bool },
}

impl Command {
    pub fn parse(line: &[u8]) -> Option<Command> {
        match std::str::from_utf8(line).ok()?.trim() {
            "status" => Some(Command::Status),
            "reload" => Some(Command::Reload),
            "stop" => Some(Command::Stop { fast: false }),
            "stop fast" => Some(Command::Stop { fast: true }),
            _ => None,
        }
    }

    fn line(self) -> &'static str {
        match self {
            Command::Status => "status\n",
            Command::Reload => "reload\n",
            Command::Stop { fast: false } => "stop\n",
            Command::Stop { fast: true } => "stop fast\n",
        }
    }
}

/// The length of the first line in `buf`, newline included, once it is there.
pub fn line_end(buf: &[u8]) -> Option<usize> {
    buf.iter().position(|&b| b == b'\n').map(|i| i + 1)
}

/// Binds the admin socket, readable and writable by the owner only. A stale socket file
/// is replaced; one that answers belongs to a running server, and is an error.
pub fn bind(path: &Path) -> io::Result<std::os::unix::net::UnixListener> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)?;
    }
    if path.exists() {
        if UnixStream::connect(path).is_ok() {
            return Err(io::Error::new(io::ErrorKind::AddrInUse, "a running mallard already answers there"));
        }
        std::fs::remove_file(path)?;
    }
    // The mode is set by the umask at bind time, so the socket is never open to others,
    // not even for a moment. The supervisor is one thread here.
    let old = nix::sys::stat::umask(nix::sys::stat::Mode::from_bits_truncate(0o177));
    let bound = std::os::unix::net::UnixListener::bind(path);
    nix::sys::stat::umask(old);
    let listener = bound?;
    listener.set_nonblocking(true)?;
    Ok(listener)
}

/// How a `mallard` command talking to the admin socket ended.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// Nothing listens at the path: the server is not running.
    #[error("mallard is not running (no server at {0})")]
    NotRunning(PathBuf),
    #[error("could not talk to mallard at {path}")]
    Io {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("mallard answered something unreadable: {0}")]
    Garbled(String),
}

/// A connection to a running supervisor.
pub struct Client {
    path: PathBuf,
    reader: BufReader<UnixStream>,
}

impl Client {
    pub fn connect(path: &Path) -> Result<Client, ClientError> {
        let stream = UnixStream::connect(path).map_err(|e| match e.kind() {
            io::ErrorKind::NotFound | io::ErrorKind::ConnectionRefused => {
                ClientError::NotRunning(path.to_path_buf())
            }
            _ => ClientError::Io { path: path.to_path_buf(), source: e },
        })?;
        Ok(Client { path: path.to_path_buf(), reader: BufReader::new(stream) })
    }

    /// Sends `command` and reads the one-line answer, waiting at most `timeout` (none:
    /// forever).
    pub fn request(&mut self, command: Command, timeout: Option<Duration>) -> Result<Value, ClientError> {
        let io_err = |source| ClientError::Io { path: self.path.clone(), source };
        let stream = self.reader.get_mut();
        stream.set_read_timeout(timeout).map_err(io_err)?;
        stream.write_all(command.line().as_bytes()).map_err(io_err)?;
        let mut line = String::new();
        let n = self.reader.read_line(&mut line).map_err(io_err)?;
        if n == 0 {
            return Err(io_err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "mallard closed the connection",
            )));
        }
        serde_json::from_str(&line).map_err(|_| ClientError::Garbled(line.trim().to_owned()))
    }

    /// Waits until the supervisor closes the connection, which it does by exiting.
    pub fn wait_closed(mut self) -> Result<(), ClientError> {
        let _ = self.reader.get_mut().set_read_timeout(None);
        let mut rest = Vec::new();
        match io::Read::read_to_end(&mut self.reader, &mut rest) {
            Ok(_) => Ok(()),
            Err(e) if e.kind() == io::ErrorKind::ConnectionReset => Ok(()),
            Err(source) => Err(ClientError::Io { path: self.path, source }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commands_parse_and_print_back() {
        for c in
            [Command::Status, Command::Reload, Command::Stop { fast: false }, Command::Stop { fast: true }]
        {
            assert_eq!(Command::parse(c.line().as_bytes()), Some(c));
        }
        assert_eq!(Command::parse(b"STATUS\n"), None);
        assert_eq!(Command::parse(b"\xff\n"), None);
    }

    #[test]
    fn socket_is_private_and_stale_files_are_replaced() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("run/admin.sock");
        let first = bind(&path).unwrap();
        assert_eq!(std::fs::metadata(&path).unwrap().permissions().mode() & 0o777, 0o600);
        assert_eq!(bind(&path).unwrap_err().kind(), io::ErrorKind::AddrInUse);
        drop(first);
        bind(&path).expect("a stale socket file is replaced");
    }
}
