//! The worker's end of the supervisor channel, shared by the main loop (which
//! receives) and the session threads (which report `SessionOpened`/`Closed`).

use std::io;
use std::os::fd::{AsFd, OwnedFd};

use mallard_protocol::channel::{FromWorker, ToWorker, MAX_PACKET};

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
    #[error("a {0} packet came with an fd it should not carry")]
    UnexpectedFd(&'static str),
    #[error("a handoff came without its client socket")]
    MissingFd,
}

impl Channel {
    pub fn new(fd: OwnedFd) -> Self {
        Channel { fd }
    }

    /// The next packet and, for a handoff, its socket. `None` when the supervisor has
    /// closed its end.
    pub fn recv(&self) -> Result<Option<(ToWorker, Option<OwnedFd>)>, ChannelError> {
        let mut buf = [0u8; MAX_PACKET];
        let (n, fd) = sys::recv_packet(self.fd.as_fd(), &mut buf).map_err(ChannelError::Io)?;
        if n == 0 && fd.is_none() {
            return Ok(None);
        }
        let message = ToWorker::decode(&buf[..n]).map_err(ChannelError::Decode)?;
        match (&message, &fd) {
            (ToWorker::Handoff { .. }, None) => return Err(ChannelError::MissingFd),
            (ToWorker::Handoff { .. }, Some(_)) | (_, None) => {}
            (_, Some(_)) => return Err(ChannelError::UnexpectedFd("non-handoff")),
        }
        Ok(Some((message, fd)))
    }

    pub fn send(&self, message: &FromWorker) -> Result<(), ChannelError> {
        sys::send_packet(self.fd.as_fd(), &message.encode()).map_err(ChannelError::Io)
    }
}
