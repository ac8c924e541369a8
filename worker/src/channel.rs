//! The worker's end of the supervisor channel, shared by the main loop (which
//! receives) and the session threads (which report `SessionOpened`/`Closed`).

use std::io;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};

use mallard_protocol::channel::{FromWorker, ToWorker, MAX_FDS, MAX_PACKET};

/// A moving session's advisory lock files, at most.
const MAX_LOCK_FILES: usize = MAX_FDS - 2;

use crate::sys;

pub struct Channel {
    fd: OwnedFd,
}

/// Why the channel failed; any of these ends the worker.
#[derive(Debug, thiserror::Error)]
pub enum ChannelError {
    #[error("channel I/O failed")]
    Io(#[source] io::Error),
    #[error("undecodable packet from the supervisor")]
    Decode(#[source] mallard_protocol::channel::ChannelError),
    #[error("a {0} packet came with {1} fds")]
    WrongFds(&'static str, usize),
}

impl Channel {
    pub fn new(fd: OwnedFd) -> Self {
        Channel { fd }
    }

    /// The next packet and its fds: a handoff's socket, a resumed session's socket and
    /// state. `None` when the supervisor has closed its end.
    pub fn recv(&self) -> Result<Option<(ToWorker, Vec<OwnedFd>)>, ChannelError> {
        let mut buf = [0u8; MAX_PACKET];
        let (n, fds) = sys::recv_packet(self.fd.as_fd(), &mut buf).map_err(ChannelError::Io)?;
        if n == 0 && fds.is_empty() {
            return Ok(None);
        }
        let message = ToWorker::decode(&buf[..n]).map_err(ChannelError::Decode)?;
        // A resumed session: its socket, its state, and its advisory lock files if it
        // had any.
        let (kind, wanted) = match &message {
            ToWorker::Handoff { .. } => ("handoff", 1..=1),
            ToWorker::Resume { .. } => ("resume", 2..=2 + MAX_LOCK_FILES),
            _ => ("other", 0..=0),
        };
        if !wanted.contains(&fds.len()) {
            return Err(ChannelError::WrongFds(kind, fds.len()));
        }
        Ok(Some((message, fds)))
    }

    pub fn send(&self, message: &FromWorker) -> Result<(), ChannelError> {
        sys::send_packet(self.fd.as_fd(), &message.encode()).map_err(ChannelError::Io)
    }

    /// Sends a packet with fds: a session moving to the next generation.
    pub fn send_with_fds(&self, message: &FromWorker, fds: &[BorrowedFd<'_>]) -> Result<(), ChannelError> {
        sys::send_packet_with_fds(self.fd.as_fd(), &message.encode(), fds).map_err(ChannelError::Io)
    }
}
