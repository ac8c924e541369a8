//! What the supervisor hands to the image it re-executes into on a reload: its
//! listeners, its workers with their channels and the clients in flight, the admin
//! connections, and its counters.
//!
//! File descriptors are inherited as numbers (their `FD_CLOEXEC` cleared just before
//! `execv`); the description travels as JSON in a memfd whose number is passed as
//! `serve --resume FD`. The JSON is read by the next binary, which may be another
//! version: field names and meanings stay.
//!
//! [`Saved`] is generic over how it holds an fd: the old image describes fds it still
//! owns ([`Passed`]), the JSON carries numbers, and the new image takes every one into
//! an [`OwnedFd`] in one place, [`Saved::load`].

use std::io::{self, Read};
use std::net::SocketAddr;
use std::os::fd::{AsRawFd, BorrowedFd, OwnedFd, RawFd};
use std::path::PathBuf;

use mallard_protocol::admin::{ReloadOutcome, WorkerState};
use serde::{Deserialize, Serialize, Serializer};

use crate::backends::SavedBackend;
use crate::pool::Restarts;
use crate::sys;

#[derive(Serialize, Deserialize)]
pub struct Saved<F = OwnedFd> {
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
    pub listeners: Vec<SavedListener<F>>,
    pub admin: Option<SavedSocket<F>>,
    pub metrics_listener: Option<F>,
    pub workers: Vec<SavedWorker<F>>,
    pub pending: Vec<SavedClient<F>>,
    /// Admin connections waiting for this reload's outcome, and for the next one's.
    pub reload_waiters: Vec<F>,
    pub queued_reload: Option<Vec<F>>,
    /// Other admin connections, whose request is still to be read.
    #[serde(default = "Vec::new")]
    pub admin_conns: Vec<F>,
    pub ready_notified: bool,
    pub last_reload: Option<ReloadOutcome>,
    pub counters: serde_json::Value,
    /// The session table every worker maps (absent from images older than it).
    #[serde(default)]
    pub activity: Option<F>,
    /// Live sessions' backend pids, and the next pid to hand out.
    #[serde(default)]
    pub backends: Vec<SavedBackend>,
    #[serde(default)]
    pub next_backend_pid: u32,
}

#[derive(Serialize, Deserialize)]
pub struct SavedListener<F> {
    pub fd: F,
    /// For a unix socket: whether the supervisor removes its file when it stops.
    pub owns_path: bool,
}

#[derive(Serialize, Deserialize)]
pub struct SavedSocket<F> {
    pub fd: F,
    pub path: PathBuf,
}

#[derive(Serialize, Deserialize)]
pub struct SavedWorker<F> {
    pub id: u32,
    pub slot: usize,
    pub generation: u32,
    pub pid: u32,
    pub channel: F,
    pub state: WorkerState,
    pub sessions: u32,
    pub in_flight: Vec<SavedClient<F>>,
    pub age_ms: u64,
    /// The channel version the worker speaks: its binary's, which may be older than
    /// the image that reads this.
    #[serde(default = "first_saved_version")]
    pub channel_version: u8,
    /// Packets its channel had not taken yet (notifications), oldest first, in base64.
    #[serde(default = "Vec::new")]
    pub outbox: Vec<String>,
}

/// The channel version of the first images that saved one.
fn first_saved_version() -> u8 {
    3
}

#[derive(Serialize, Deserialize)]
pub struct SavedClient<F> {
    pub session: u64,
    pub fd: F,
    /// `None` for the unix socket.
    pub peer: Option<SocketAddr>,
    /// A live session moving to the new generation, with its state's memfd.
    #[serde(default = "Option::default")]
    pub moving: Option<SavedMoving<F>>,
}

#[derive(Serialize, Deserialize)]
pub struct SavedMoving<F> {
    pub pid: u32,
    pub state: F,
    /// Its advisory lock files.
    #[serde(default = "Vec::new")]
    pub locks: Vec<F>,
}

impl<'a> SavedClient<Passed<'a>> {
    /// The client's socket, and a moving session's state and lock files.
    fn fds(&self) -> impl Iterator<Item = BorrowedFd<'a>> {
        let moving: Vec<BorrowedFd<'a>> = self
            .moving
            .iter()
            .flat_map(|m| std::iter::once(m.state.0).chain(m.locks.iter().map(|l| l.0)))
            .collect();
        std::iter::once(self.fd.0).chain(moving)
    }
}

/// An fd the old image passes on while it still owns it: written as its number.
#[derive(Clone, Copy)]
pub struct Passed<'a>(pub BorrowedFd<'a>);

impl Serialize for Passed<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_i32(self.0.as_raw_fd())
    }
}

impl Saved<Passed<'_>> {
    /// Every fd the new image must inherit.
    pub fn fds(&self) -> Vec<BorrowedFd<'_>> {
        let mut fds: Vec<BorrowedFd<'_>> = self.listeners.iter().map(|l| l.fd.0).collect();
        fds.extend(self.admin.as_ref().map(|a| a.fd.0));
        fds.extend(self.metrics_listener.map(|fd| fd.0));
        for w in &self.workers {
            fds.push(w.channel.0);
            fds.extend(w.in_flight.iter().flat_map(SavedClient::fds));
        }
        fds.extend(self.pending.iter().flat_map(SavedClient::fds));
        fds.extend(self.reload_waiters.iter().map(|fd| fd.0));
        fds.extend(self.queued_reload.iter().flatten().map(|fd| fd.0));
        fds.extend(self.admin_conns.iter().map(|fd| fd.0));
        fds.extend(self.activity.map(|fd| fd.0));
        fds
    }
}

/// Why the previous image's state could not be taken over.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    #[error("could not take fd {fd} the previous image passed on")]
    Fd {
        fd: RawFd,
        #[source]
        source: io::Error,
    },
    #[error("could not read the state")]
    Read(#[source] io::Error),
    #[error("the state is not readable")]
    Parse(#[source] serde_json::Error),
}

impl Saved {
    /// Reads the state the previous image left in memfd `memfd` (closing it), and takes
    /// every fd it names into ownership. The only place an inherited number becomes an
    /// fd.
    pub fn load(memfd: RawFd) -> Result<Saved, LoadError> {
        let mut inherited = sys::Inherited::default();
        let mut take = |fd: RawFd| inherited.take(fd).map_err(|source| LoadError::Fd { fd, source });
        let mut text = String::new();
        std::fs::File::from(take(memfd)?).read_to_string(&mut text).map_err(LoadError::Read)?;
        let numbers: Saved<RawFd> = serde_json::from_str(&text).map_err(LoadError::Parse)?;
        numbers.adopt(&mut take)
    }
}

impl Saved<RawFd> {
    fn adopt<E>(self, take: &mut impl FnMut(RawFd) -> Result<OwnedFd, E>) -> Result<Saved, E> {
        let clients = |clients: Vec<SavedClient<RawFd>>,
                       take: &mut dyn FnMut(RawFd) -> Result<OwnedFd, E>| {
            clients
                .into_iter()
                .map(|c| {
                    let moving = match c.moving {
                        Some(m) => {
                            let locks = m.locks.into_iter().map(&mut *take).collect::<Result<Vec<_>, E>>()?;
                            Some(SavedMoving { pid: m.pid, state: take(m.state)?, locks })
                        }
                        None => None,
                    };
                    Ok(SavedClient { session: c.session, fd: take(c.fd)?, peer: c.peer, moving })
                })
                .collect::<Result<Vec<_>, E>>()
        };
        let fds = |fds: Vec<RawFd>, take: &mut dyn FnMut(RawFd) -> Result<OwnedFd, E>| {
            fds.into_iter().map(take).collect::<Result<Vec<_>, E>>()
        };
        let mut listeners = Vec::new();
        for l in self.listeners {
            listeners.push(SavedListener { fd: take(l.fd)?, owns_path: l.owns_path });
        }
        let admin = match self.admin {
            Some(a) => Some(SavedSocket { fd: take(a.fd)?, path: a.path }),
            None => None,
        };
        let metrics_listener = self.metrics_listener.map(&mut *take).transpose()?;
        let mut workers = Vec::new();
        for w in self.workers {
            workers.push(SavedWorker {
                id: w.id,
                slot: w.slot,
                generation: w.generation,
                pid: w.pid,
                channel: take(w.channel)?,
                state: w.state,
                sessions: w.sessions,
                in_flight: clients(w.in_flight, take)?,
                age_ms: w.age_ms,
                channel_version: w.channel_version,
                outbox: w.outbox,
            });
        }
        Ok(Saved {
            exe: self.exe,
            args: self.args,
            started_unix_ms: self.started_unix_ms,
            generation: self.generation,
            worker_config: self.worker_config,
            slots: self.slots,
            next_worker: self.next_worker,
            next_generation: self.next_generation,
            next_session: self.next_session,
            next_ping: self.next_ping,
            listeners,
            admin,
            metrics_listener,
            workers,
            pending: clients(self.pending, take)?,
            reload_waiters: fds(self.reload_waiters, take)?,
            queued_reload: self.queued_reload.map(|q| fds(q, take)).transpose()?,
            admin_conns: fds(self.admin_conns, take)?,
            ready_notified: self.ready_notified,
            last_reload: self.last_reload,
            counters: self.counters,
            activity: self.activity.map(&mut *take).transpose()?,
            backends: self.backends,
            next_backend_pid: self.next_backend_pid,
        })
    }
}
