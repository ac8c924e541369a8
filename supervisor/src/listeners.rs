//! The sockets the supervisor listens on: for clients, TCP addresses and the unix socket
//! `.s.PGSQL.<port>`; for `mallard status`, `reload` and `stop`, the admin socket.

use std::io;
use std::net::{SocketAddr, TcpListener};
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd, RawFd};
use std::os::unix::fs::PermissionsExt;
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};

use mallard_protocol::channel::Peer;

pub enum Listener {
    Tcp(TcpListener),
    /// `owned`: this process created the socket file and removes it when it stops; a
    /// socket passed in by systemd belongs to systemd.
    Unix {
        listener: UnixListener,
        path: PathBuf,
        owned: bool,
    },
}

#[derive(Debug, thiserror::Error)]
#[error("could not listen on {what}")]
pub struct BindError {
    what: String,
    #[source]
    source: io::Error,
}

impl Listener {
    pub fn tcp(addr: SocketAddr) -> Result<Listener, BindError> {
        let err = |source| BindError { what: addr.to_string(), source };
        let l = TcpListener::bind(addr).map_err(err)?;
        l.set_nonblocking(true).map_err(err)?;
        Ok(Listener::Tcp(l))
    }

    /// `<dir>/.s.PGSQL.<port>`, as libpq looks for it with `-h <dir>`. A stale socket
    /// file (nothing answering) is replaced; a live one is an error.
    pub fn unix(dir: &Path, port: u16) -> Result<Listener, BindError> {
        let path = dir.join(format!(".s.PGSQL.{port}"));
        let err = |source| BindError { what: path.display().to_string(), source };
        if path.exists() {
            if UnixStream::connect(&path).is_ok() {
                return Err(err(io::Error::new(
                    io::ErrorKind::AddrInUse,
                    "another server is listening there",
                )));
            }
            std::fs::remove_file(&path).map_err(err)?;
        }
        let listener = UnixListener::bind(&path).map_err(err)?;
        listener.set_nonblocking(true).map_err(err)?;
        // PostgreSQL's default unix_socket_permissions: anyone may connect; access
        // rules decide the rest.
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o777)).map_err(err)?;
        Ok(Listener::Unix { listener, path, owned: true })
    }

    /// Adopts a listening socket this process inherited: from systemd (`LISTEN_FDS`), or
    /// from its previous image across a reload. Its kind comes from the socket itself.
    pub fn adopt(fd: OwnedFd, owned_path: bool) -> io::Result<Listener> {
        use nix::sys::socket::{getsockname, AddressFamily, SockaddrLike, SockaddrStorage};
        let addr: SockaddrStorage = getsockname(fd.as_raw_fd())?;
        crate::sys::set_cloexec(fd.as_fd(), true)?;
        let listener = match addr.family() {
            Some(AddressFamily::Inet | AddressFamily::Inet6) => Listener::Tcp(TcpListener::from(fd)),
            Some(AddressFamily::Unix) => {
                let path = addr
                    .as_unix_addr()
                    .and_then(|u| u.path())
                    .map(Path::to_path_buf)
                    .unwrap_or_else(|| PathBuf::from("[unnamed unix socket]"));
                Listener::Unix { listener: UnixListener::from(fd), path, owned: owned_path }
            }
            other => {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidInput,
                    format!("inherited fd {} is not a TCP or unix socket ({other:?})", fd.as_raw_fd()),
                ))
            }
        };
        crate::sys::set_nonblocking(listener.fd())?;
        Ok(listener)
    }

    /// The sockets systemd passed in (`LISTEN_FDS`, for this pid), if any.
    pub fn from_systemd() -> io::Result<Vec<Listener>> {
        crate::sys::systemd_sockets()?.into_iter().map(|fd| Listener::adopt(fd, false)).collect()
    }

    pub fn fd(&self) -> BorrowedFd<'_> {
        match self {
            Listener::Tcp(l) => l.as_fd(),
            Listener::Unix { listener, .. } => listener.as_fd(),
        }
    }

    /// Whether this process removes the unix socket file when it stops.
    pub fn owns_path(&self) -> bool {
        matches!(self, Listener::Unix { owned: true, .. })
    }

    pub fn raw_fd(&self) -> RawFd {
        match self {
            Listener::Tcp(l) => l.as_raw_fd(),
            Listener::Unix { listener, .. } => listener.as_raw_fd(),
        }
    }

    /// Accepts one connection; `WouldBlock` when none is waiting.
    pub fn accept(&self) -> io::Result<(OwnedFd, Peer)> {
        match self {
            Listener::Tcp(l) => l.accept().map(|(s, addr)| (OwnedFd::from(s), Peer::Tcp(addr))),
            Listener::Unix { listener, .. } => listener.accept().map(|(s, _)| (OwnedFd::from(s), Peer::Unix)),
        }
    }

    pub fn describe(&self) -> String {
        match self {
            Listener::Tcp(l) => l.local_addr().map_or_else(|_| "tcp".into(), |a| a.to_string()),
            Listener::Unix { path, .. } => path.display().to_string(),
        }
    }
}

impl Drop for Listener {
    fn drop(&mut self) {
        if let Listener::Unix { path, owned: true, .. } = self {
            let _ = std::fs::remove_file(path);
        }
    }
}

/// Binds the admin socket, readable and writable by the owner only. A stale socket file
/// is replaced; one that answers belongs to a running server, and is an error.
pub fn bind_admin(path: &Path) -> io::Result<UnixListener> {
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
    let bound = UnixListener::bind(path);
    nix::sys::stat::umask(old);
    let listener = bound?;
    listener.set_nonblocking(true)?;
    Ok(listener)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn admin_socket_is_private_and_stale_files_are_replaced() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("run/admin.sock");
        let first = bind_admin(&path).unwrap();
        assert_eq!(std::fs::metadata(&path).unwrap().permissions().mode() & 0o777, 0o600);
        assert_eq!(bind_admin(&path).unwrap_err().kind(), io::ErrorKind::AddrInUse);
        drop(first);
        bind_admin(&path).expect("a stale socket file is replaced");
    }
}
