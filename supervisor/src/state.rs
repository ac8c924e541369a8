//! What the supervisor hands to the image it re-executes into on a reload: its
//! listeners, its workers with their channels and the clients in flight, and its
//! counters. File descriptors are inherited as numbers (their `FD_CLOEXEC` cleared
//! just before `execv`); the description travels as JSON in a memfd whose number is
//! passed as `serve --resume FD`.

use std::io::Read;
use std::net::SocketAddr;
use std::os::fd::{FromRawFd, OwnedFd, RawFd};
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use crate::pool::{Restarts, WorkerState};

#[derive(Serialize, Deserialize)]
pub struct Saved {
    /// The binary on disk, and the arguments of `serve` after it.
    pub exe: PathBuf,
    pub args: Vec<String>,
    /// When the supervisor first started, in milliseconds since the epoch.
    pub started_unix_ms: u64,
    /// The generation clients are routed to, its worker config and its slots.
    pub generation: u32,
    pub worker_config: String,
    pub slots: Vec<Restarts>,
    pub next_worker: u32,
    pub next_generation: u32,
    pub next_session: u64,
    pub next_ping: u64,
    pub listeners: Vec<SavedListener>,
    pub admin: Option<SavedSocket>,
    pub metrics_listener: Option<RawFd>,
    pub workers: Vec<SavedWorker>,
    pub pending: Vec<SavedClient>,
    /// Admin connections waiting for this reload's outcome, and for the next one's.
    pub reload_waiters: Vec<RawFd>,
    pub queued_reload: Option<Vec<RawFd>>,
    /// Other admin connections, whose request is still to be read.
    #[serde(default)]
    pub admin_conns: Vec<RawFd>,
    pub ready_notified: bool,
    pub last_reload: Option<mallard_protocol::admin::ReloadOutcome>,
    pub counters: serde_json::Value,
}

#[derive(Serialize, Deserialize)]
pub struct SavedListener {
    pub fd: RawFd,
    /// For a unix socket: whether the supervisor removes its file when it stops.
    pub owns_path: bool,
}

#[derive(Serialize, Deserialize)]
pub struct SavedSocket {
    pub fd: RawFd,
    pub path: PathBuf,
}

#[derive(Serialize, Deserialize)]
pub struct SavedWorker {
    pub id: u32,
    pub slot: usize,
    pub generation: u32,
    pub pid: u32,
    pub channel: RawFd,
    pub state: WorkerState,
    pub sessions: u32,
    pub in_flight: Vec<SavedClient>,
    pub age_ms: u64,
    /// The channel version the worker speaks: its binary's, which may be older than
    /// the image that reads this.
    #[serde(default = "first_saved_version")]
    pub channel_version: u8,
}

/// The channel version of the first images that saved one.
fn first_saved_version() -> u8 {
    3
}

#[derive(Serialize, Deserialize)]
pub struct SavedClient {
    pub session: u64,
    pub fd: RawFd,
    /// `None` for the unix socket.
    pub peer: Option<SocketAddr>,
}

impl Saved {
    /// Every fd the new image must inherit.
    pub fn fds(&self) -> Vec<RawFd> {
        let mut fds: Vec<RawFd> = self.listeners.iter().map(|l| l.fd).collect();
        fds.extend(self.admin.as_ref().map(|a| a.fd));
        fds.extend(self.metrics_listener);
        for w in &self.workers {
            fds.push(w.channel);
            fds.extend(w.in_flight.iter().map(|c| c.fd));
        }
        fds.extend(self.pending.iter().map(|c| c.fd));
        fds.extend(&self.reload_waiters);
        fds.extend(self.queued_reload.iter().flatten());
        fds.extend(&self.admin_conns);
        fds
    }

    /// Reads the state the previous image left in memfd `fd`, and closes it.
    pub fn load(fd: RawFd) -> anyhow::Result<Saved> {
        // SAFETY: `--resume FD` names the memfd the previous image created for exactly
        // this; nothing else in this process refers to it.
        let mut file = std::fs::File::from(unsafe { OwnedFd::from_raw_fd(fd) });
        let mut text = String::new();
        file.read_to_string(&mut text)?;
        Ok(serde_json::from_str(&text)?)
    }
}

/// Takes ownership of an fd named in the saved state.
///
/// # Safety
/// `fd` must be one the previous image passed on, taken exactly once.
pub unsafe fn adopt(fd: RawFd) -> OwnedFd {
    let owned = OwnedFd::from_raw_fd(fd);
    let _ = crate::sys::set_cloexec(fd, true);
    owned
}
