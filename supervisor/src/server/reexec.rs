//! Re-executing in place, the server's side: describing everything the next image
//! inherits ([`Saved`]), `execv` with the handled signals blocked, taking everything
//! back when `execv` fails, and, in the next image, resuming from what the previous one
//! saved.

use std::ffi::CString;
use std::os::fd::{AsFd, AsRawFd, OwnedFd};
use std::time::{Duration, Instant};

use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine as _;
use mallard_protocol::channel::{Generation, Peer, SessionId, WorkerId, VERSION};
use mallard_worker::activity::Segment;
use mio::net::{TcpListener, UnixListener, UnixStream};
use mio::Token;
use nix::sys::signal::{SigSet, SigmaskHow};
use tracing::{info, warn};

use super::clients::Pending;
use super::workers::Slot;
use super::{Server, ServerError};
use crate::backends::Backends;
use crate::config::Config;
use crate::listeners::Listener;
use crate::metrics::Metrics;
use crate::outbox::Outbox;
use crate::pool::{InFlight, Moving, Pool, Worker, WorkerState};
use crate::reload::saved::{
    Passed, Saved, SavedClient, SavedListener, SavedMoving, SavedSocket, SavedWorker,
};
use crate::reload::Launch;
use crate::{signals, sys};

/// Admin connections taken out of the table to pass on: those waiting for this reload,
/// those waiting for the queued one, and the rest.
struct TakenConns {
    waiters: Vec<OwnedFd>,
    queued: Option<Vec<OwnedFd>>,
    others: Vec<OwnedFd>,
}

impl Server {
    /// The image a reload re-executed: takes over the previous image's state, then
    /// starts the new generation.
    pub fn resume(
        config: Config,
        launch: Launch,
        worker_config: String,
        saved: Saved,
    ) -> Result<Server, ServerError> {
        let mut listeners = Vec::new();
        for l in saved.listeners {
            listeners.push(Listener::adopt(l.fd, l.owns_path).map_err(ServerError::Resume)?);
        }
        let admin = saved.admin.map(|a| {
            let listener = std::os::unix::net::UnixListener::from(a.fd);
            (UnixListener::from_std(listener), a.path)
        });
        let metrics_listener =
            saved.metrics_listener.map(|fd| TcpListener::from_std(std::net::TcpListener::from(fd)));
        let now = Instant::now();
        let mut pool = Pool::default();
        for w in saved.workers {
            pool.workers.push(if w.channel_version == VERSION {
                adopt_worker(w, now)
            } else {
                foreign_worker(w, now)
            });
        }
        // The session table the previous image kept, so the sessions it lists stay
        // listed; a new one if it had none (an older binary) or it is unreadable.
        let opened = saved.activity.map(Segment::open).transpose().unwrap_or_else(|e| {
            warn!(error = %e, "the previous image's session table is unreadable; a new one lists only new sessions");
            None
        });
        let activity = match opened {
            Some(segment) => segment,
            None => {
                let (slots, query_bytes) = config.session_table();
                Segment::create(slots, query_bytes).map_err(ServerError::Activity)?
            }
        };
        let mut server = Server::assemble(
            config,
            launch,
            saved.worker_config,
            listeners,
            admin,
            metrics_listener,
            activity,
        )?;
        server.metrics = serde_json::from_value(saved.counters).unwrap_or_else(|e| {
            warn!(error = %e, "the previous image's counters are unreadable; they start again from zero");
            Metrics::default()
        });
        server.pool = pool;
        server.slots = saved.slots.iter().map(|r| Slot { restarts: *r, respawn_at: None }).collect();
        server.pending = saved.pending.into_iter().map(|c| pending(c, now)).collect();
        server.next_session = saved.next_session;
        server.next_worker = saved.next_worker;
        server.next_ping = saved.next_ping;
        server.serving = Generation(saved.generation);
        server.ready_notified = saved.ready_notified;
        server.started_unix_ms = saved.started_unix_ms;
        server.backends = Backends::restore(&saved.backends, saved.next_backend_pid);
        server = server.register_sources()?;
        for w in &server.pool.workers {
            server.watch_worker(w.id, &w.channel);
        }
        let taken = TakenConns {
            waiters: saved.reload_waiters,
            queued: saved.queued_reload,
            others: saved.admin_conns,
        };
        let (waiters, queued) = server.adopt_admin_conns(taken);
        server.reload.resume(Generation(saved.next_generation), saved.last_reload, waiters, queued);
        // Packets that arrived while the image changed are waiting, and some may
        // still wait to go.
        for i in 0..server.pool.workers.len() {
            server.drain_channel(i);
            server.resume_outbox(i);
        }
        server.start_generation(worker_config);
        Ok(server)
    }

    /// Replaces this process's image with the binary on disk, passing everything on.
    /// Returns only if that failed, with everything given back and the reload failed.
    pub(super) fn reexec(&mut self, waiters: Vec<Token>, queued: Option<Vec<Token>>) {
        let taken = self.take_admin_conns(&waiters, queued.as_deref());
        let error = self.exec(&taken);
        let (waiters, queued) = self.adopt_admin_conns(taken);
        let steps = self.reload.exec_failed(waiters, queued, error);
        self.carry_out(steps);
    }

    /// Takes the admin connections out of the table, to pass them on.
    fn take_admin_conns(&mut self, waiters: &[Token], queued: Option<&[Token]>) -> TakenConns {
        let others: Vec<Token> = self
            .admin_conns
            .tokens()
            .into_iter()
            .filter(|t| !waiters.contains(t) && !queued.is_some_and(|q| q.contains(t)))
            .collect();
        let registry = self.poll.registry();
        let mut take = |token: &Token| {
            self.admin_conns
                .take(registry, *token)
                .map(|s| OwnedFd::from(std::os::unix::net::UnixStream::from(s)))
        };
        TakenConns {
            waiters: waiters.iter().filter_map(&mut take).collect(),
            queued: queued.map(|q| q.iter().filter_map(&mut take).collect()),
            others: others.iter().filter_map(&mut take).collect(),
        }
    }

    /// Takes admin connections into the table: this image's after a re-execution, or
    /// its own back after a failed `execv`. Returns the tokens of the reload waiters and
    /// of the queued reload's.
    fn adopt_admin_conns(&mut self, taken: TakenConns) -> (Vec<Token>, Option<Vec<Token>>) {
        let mut adopt = |fd: OwnedFd| {
            let _ = sys::set_cloexec(fd.as_fd(), true);
            let stream = std::os::unix::net::UnixStream::from(fd);
            self.add_admin_conn(UnixStream::from_std(stream))
        };
        for fd in taken.others {
            adopt(fd);
        }
        let waiters = taken.waiters.into_iter().filter_map(&mut adopt).collect();
        let queued = taken.queued.map(|q| q.into_iter().filter_map(&mut adopt).collect());
        (waiters, queued)
    }

    /// Describes everything the next image inherits, clears `FD_CLOEXEC` on it and
    /// executes the binary on disk. Returns why that failed, with `FD_CLOEXEC` set again.
    fn exec(&self, conns: &TakenConns) -> String {
        let saved = self.describe(conns);
        let exe = &self.reload.launch().exe;
        let memfd = match serde_json::to_vec(&saved)
            .map_err(std::io::Error::other)
            .and_then(|j| mallard_worker::memfd_with(c"mallard-state", &j))
        {
            Ok(fd) => fd,
            Err(e) => return format!("could not save the supervisor's state: {e}"),
        };
        let mut argv = vec![exe.as_os_str().as_encoded_bytes().to_vec()];
        argv.extend(saved.args.iter().map(|a| a.clone().into_bytes()));
        argv.push(format!("--resume={}", memfd.as_raw_fd()).into_bytes());
        let Ok(argv) = argv.into_iter().map(CString::new).collect::<Result<Vec<CString>, _>>() else {
            return "an argument contains a NUL byte".into();
        };
        let inherited = saved.fds();
        let error = match inherited.iter().copied().chain([memfd.as_fd()]).try_for_each(|fd| {
            sys::set_cloexec(fd, false).map_err(|e| format!("could not pass fd {} on: {e}", fd.as_raw_fd()))
        }) {
            Err(why) => why,
            Ok(()) => {
                info!(exe = %exe.display(), workers = saved.workers.len(), "reload: re-executing the supervisor in place");
                let mut previous = SigSet::empty();
                let _ = nix::sys::signal::sigprocmask(
                    SigmaskHow::SIG_BLOCK,
                    Some(&signals::handled()),
                    Some(&mut previous),
                );
                let error = nix::unistd::execv(&argv[0], &argv).unwrap_err();
                let _ = nix::sys::signal::sigprocmask(SigmaskHow::SIG_SETMASK, Some(&previous), None);
                format!("could not execute {}: {error}", exe.display())
            }
        };
        for fd in inherited {
            let _ = sys::set_cloexec(fd, true);
        }
        error
    }

    /// The state the next image takes over, naming the fds it inherits.
    fn describe<'a>(&'a self, conns: &'a TakenConns) -> Saved<Passed<'a>> {
        let passed = |fd: &'a OwnedFd| Passed(fd.as_fd());
        let client =
            |session: SessionId, socket: &'a OwnedFd, peer: Peer, moving: &'a Option<Moving>| SavedClient {
                session: session.0,
                fd: passed(socket),
                peer: match peer {
                    Peer::Tcp(a) => Some(a),
                    Peer::Unix => None,
                },
                moving: moving.as_ref().map(|m| SavedMoving {
                    pid: m.pid,
                    state: passed(&m.state),
                    locks: m.locks.iter().map(passed).collect(),
                }),
            };
        let launch = self.reload.launch();
        let (backends, next_backend_pid) = self.backends.save();
        Saved {
            exe: launch.exe.clone(),
            args: launch.args.clone(),
            started_unix_ms: self.started_unix_ms,
            generation: self.serving.0,
            worker_config: self.worker_config.clone(),
            slots: self.slots.iter().map(|s| s.restarts).collect(),
            next_worker: self.next_worker,
            next_generation: self.reload.next_generation().0,
            next_session: self.next_session,
            next_ping: self.next_ping,
            listeners: self
                .listeners
                .iter()
                .map(|l| SavedListener { fd: Passed(l.fd()), owns_path: l.owns_path() })
                .collect(),
            admin: self
                .admin
                .as_ref()
                .map(|(l, path)| SavedSocket { fd: Passed(l.as_fd()), path: path.clone() }),
            metrics_listener: self.metrics_listener.as_ref().map(|l| Passed(l.as_fd())),
            workers: self
                .pool
                .workers
                .iter()
                .map(|w| SavedWorker {
                    id: w.id.0,
                    slot: w.slot,
                    generation: w.generation.0,
                    pid: w.pid,
                    channel: passed(&w.channel),
                    state: w.state,
                    sessions: w.sessions,
                    in_flight: w
                        .in_flight
                        .iter()
                        .map(|(s, f)| client(*s, &f.socket, f.peer, &f.moving))
                        .collect(),
                    age_ms: w.started.elapsed().as_millis() as u64,
                    channel_version: w.channel_version,
                    outbox: w.outbox.packets().map(|p| BASE64.encode(p)).collect(),
                })
                .collect(),
            pending: self.pending.iter().map(|p| client(p.session, &p.socket, p.peer, &p.moving)).collect(),
            reload_waiters: conns.waiters.iter().map(passed).collect(),
            queued_reload: conns.queued.as_ref().map(|q| q.iter().map(passed).collect()),
            admin_conns: conns.others.iter().map(passed).collect(),
            ready_notified: self.ready_notified,
            activity: Some(Passed(self.activity.fd())),
            backends,
            next_backend_pid,
            last_reload: self.reload.last().cloned(),
            counters: serde_json::to_value(&self.metrics).unwrap_or_default(),
        }
    }
}

fn pending(c: SavedClient<OwnedFd>, since: Instant) -> Pending {
    Pending {
        session: SessionId(c.session),
        socket: c.fd,
        peer: c.peer.map_or(Peer::Unix, Peer::Tcp),
        since,
        moving: c.moving.map(|m| Moving { pid: m.pid, state: m.state, locks: m.locks }),
    }
}

fn started(age_ms: u64, now: Instant) -> Instant {
    now.checked_sub(Duration::from_millis(age_ms)).unwrap_or(now)
}

/// A worker of the previous image that speaks our channel version: it goes on as it was.
fn adopt_worker(w: SavedWorker<OwnedFd>, now: Instant) -> Worker {
    let in_flight = w
        .in_flight
        .into_iter()
        .map(|c| {
            let p = pending(c, now);
            (p.session, InFlight { socket: p.socket, peer: p.peer, moving: p.moving })
        })
        .collect();
    let mut worker = Worker::new(
        WorkerId(w.id),
        w.slot,
        Generation(w.generation),
        w.pid,
        w.channel,
        w.state,
        started(w.age_ms, now),
    );
    worker.sessions = w.sessions;
    worker.in_flight = in_flight;
    let packets: Result<Vec<Vec<u8>>, _> = w.outbox.iter().map(|p| BASE64.decode(p)).collect();
    match packets {
        Ok(packets) => worker.outbox = Outbox::restore(packets),
        Err(e) => {
            warn!(worker = w.id, error = %e, "the previous image's outbox for a worker is unreadable; its packets are lost")
        }
    }
    worker
}

/// A worker of a binary whose channel version differs from ours: neither side could
/// read the other's packets. Closing its channel is the one signal every version
/// understands: the worker lets its sessions finish (for at most 30 s) and exits. Its
/// channel is replaced by a dead end, and it gets no clients and no pings. Clients in
/// flight to it are its own once it reads them, so our copies go.
fn foreign_worker(w: SavedWorker<OwnedFd>, now: Instant) -> Worker {
    drop(w.channel);
    drop(w.in_flight);
    warn!(worker = w.id, pid = w.pid, speaks = w.channel_version, ours = VERSION, "a worker of the previous binary speaks another channel version; closing its channel so it drains on its own");
    let channel = match sys::channel_pair() {
        Ok((ours, theirs)) => {
            drop(theirs);
            ours
        }
        // Out of fds: any closed-off fd will do; /dev/null never reads as a packet.
        Err(_) => std::fs::File::open("/dev/null").map(OwnedFd::from).expect("open /dev/null"),
    };
    let mut worker = Worker::new(
        WorkerId(w.id),
        w.slot,
        Generation(w.generation),
        w.pid,
        channel,
        WorkerState::Draining,
        started(w.age_ms, now),
    );
    worker.sessions = w.sessions;
    worker.channel_version = w.channel_version;
    worker
}
