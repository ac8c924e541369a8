//! The supervisor's raw system calls: worker channels, spawning a worker with its end
//! of the channel as fd 3, the `SCM_RIGHTS` handoff, and taking ownership of the fds a
//! process inherits (from systemd, from the supervisor, from a previous image). Every
//! `unsafe` of the `mallard` binary is in this file; other modules call its safe
//! functions.

use std::collections::HashSet;
use std::io::{self, IoSlice, IoSliceMut, Write};
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, FromRawFd, OwnedFd, RawFd};
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Child, Command, Stdio};

use nix::fcntl::{fcntl, FcntlArg, FdFlag, OFlag};
use nix::sys::socket::{sendmsg, socketpair, AddressFamily, ControlMessage, MsgFlags, SockFlag, SockType};

/// The fd number a worker finds its channel on.
pub const WORKER_CHANNEL_FD: RawFd = 3;
/// Where a worker finds the server's session table (see `mallard_worker::activity`).
pub const WORKER_ACTIVITY_FD: RawFd = 4;

/// A new channel: the supervisor's end (non-blocking) and the worker's end.
pub fn channel_pair() -> io::Result<(OwnedFd, OwnedFd)> {
    let (ours, theirs) = socketpair(AddressFamily::Unix, SockType::SeqPacket, None, SockFlag::SOCK_CLOEXEC)
        .map_err(io::Error::from)?;
    set_nonblocking(ours.as_fd())?;
    Ok((ours, theirs))
}

pub fn set_nonblocking(fd: BorrowedFd<'_>) -> io::Result<()> {
    let flags = OFlag::from_bits_truncate(fcntl(fd.as_raw_fd(), FcntlArg::F_GETFL)?);
    fcntl(fd.as_raw_fd(), FcntlArg::F_SETFL(flags | OFlag::O_NONBLOCK))?;
    Ok(())
}

/// What systemd hands the supervisor alone: a child must neither notify systemd nor
/// take the listening sockets for its own.
const SUPERVISOR_ONLY_ENV: &[&str] =
    &["NOTIFY_SOCKET", "WATCHDOG_USEC", "WATCHDOG_PID", "LISTEN_PID", "LISTEN_FDS", "LISTEN_FDNAMES"];

/// A command for a child process of the supervisor, without the supervisor's systemd
/// environment.
pub fn child_command(exe: &Path) -> Command {
    let mut command = Command::new(exe);
    for name in SUPERVISOR_ONLY_ENV {
        command.env_remove(name);
    }
    command
}

/// Starts `exe worker ...` with `channel` as its fd 3 and `config` on its stdin; returns
/// its pid. The supervisor reaps it with `waitpid`, also after re-executing itself.
pub fn spawn_worker(
    exe: &Path,
    args: &[String],
    channel: OwnedFd,
    activity: BorrowedFd<'_>,
    config: &[u8],
) -> io::Result<u32> {
    let raw = channel.as_raw_fd();
    let activity = activity.as_raw_fd();
    let mut command = child_command(exe);
    command.args(args).stdin(Stdio::piped());
    // SAFETY: the closure runs in the child between fork and exec and calls only
    // async-signal-safe functions (fcntl, dup2) on fds the child inherited.
    unsafe {
        command.pre_exec(move || {
            // Both go above the targets first, so that neither overwrites the other.
            let high = |fd: RawFd| {
                let copy = libc::fcntl(fd, libc::F_DUPFD_CLOEXEC, 10);
                if copy < 0 {
                    Err(io::Error::last_os_error())
                } else {
                    Ok(copy)
                }
            };
            let (channel, activity) = (high(raw)?, high(activity)?);
            // dup2 clears FD_CLOEXEC on the copy it makes.
            for (from, to) in [(channel, WORKER_CHANNEL_FD), (activity, WORKER_ACTIVITY_FD)] {
                if libc::dup2(from, to) < 0 {
                    return Err(io::Error::last_os_error());
                }
            }
            Ok(())
        });
    }
    let mut child: Child = command.spawn()?;
    drop(channel);
    if let Some(mut stdin) = child.stdin.take() {
        // A pipe buffer holds far more than a config; the worker reads it all first.
        stdin.write_all(config)?;
    }
    Ok(child.id())
}

/// Sets or clears `FD_CLOEXEC`: what the supervisor keeps across its re-execution must
/// be inherited by the new image.
pub fn set_cloexec(fd: BorrowedFd<'_>, on: bool) -> io::Result<()> {
    let flags = if on { FdFlag::FD_CLOEXEC } else { FdFlag::empty() };
    fcntl(fd.as_raw_fd(), FcntlArg::F_SETFD(flags))?;
    Ok(())
}

/// The fds a re-executed supervisor inherited from its previous image, taken into
/// ownership one by one as its saved state names them.
#[derive(Default)]
pub struct Inherited {
    taken: HashSet<RawFd>,
}

impl Inherited {
    /// Takes ownership of inherited fd `fd` and sets `FD_CLOEXEC` on it again. Call it only
    /// with numbers the previous image passed on (its saved state, `--resume FD`): a
    /// number named twice is refused rather than given two owners, and one that is not
    /// open is refused too.
    pub fn take(&mut self, fd: RawFd) -> io::Result<OwnedFd> {
        if !self.taken.insert(fd) {
            return Err(io::Error::new(io::ErrorKind::InvalidData, format!("fd {fd} is named twice")));
        }
        fcntl(fd, FcntlArg::F_GETFD)?;
        // SAFETY: `fd` is open (checked just above) and was passed on across `execv` by
        // the previous image, which cleared `FD_CLOEXEC` on exactly the fds its saved
        // state names. Nothing in this image has opened it or taken it before (`taken`
        // refuses a second claim), so the `OwnedFd` is its one owner.
        let owned = unsafe { OwnedFd::from_raw_fd(fd) };
        let _ = set_cloexec(owned.as_fd(), true);
        Ok(owned)
    }
}

/// The sockets systemd passed in (`LISTEN_FDS`, for this pid), if any. The variables are
/// removed, so that no child takes them for its own, and a second call finds none.
pub fn systemd_sockets() -> io::Result<Vec<OwnedFd>> {
    let fds = sd_notify::listen_fds()?;
    Ok(fds
        .map(|fd| {
            // SAFETY: `listen_fds` yields fds only when `LISTEN_PID` names this process,
            // i.e. systemd opened them for it, and it unsets the variables, so each fd
            // is yielded once in the process's life. Nothing else here refers to them.
            unsafe { OwnedFd::from_raw_fd(fd) }
        })
        .collect())
}

/// In `mallard worker`: takes fd 3, the worker's end of the channel, and marks it
/// close-on-exec. An error when fd 3 is not open: the worker was not started by
/// `mallard serve`.
/// The session table the supervisor passed on fd 4 (see [`worker_channel`]).
pub fn worker_activity() -> io::Result<OwnedFd> {
    let fd = WORKER_ACTIVITY_FD;
    fcntl(fd, FcntlArg::F_GETFD)?;
    fcntl(fd, FcntlArg::F_SETFD(FdFlag::FD_CLOEXEC))?;
    // SAFETY: as for fd 3 below: set up by `spawn_worker`, taken once at start.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

pub fn worker_channel() -> io::Result<OwnedFd> {
    let fd = WORKER_CHANNEL_FD;
    fcntl(fd, FcntlArg::F_GETFD)?;
    fcntl(fd, FcntlArg::F_SETFD(FdFlag::FD_CLOEXEC))?;
    // SAFETY: fd 3 is open (checked above); the supervisor set it up for this process in
    // `spawn_worker`, and this is called once, at the worker's start, before anything
    // else could open fd 3, so the `OwnedFd` is its one owner.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

/// Milliseconds since the Unix epoch, by the wall clock.
pub fn unix_millis() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::SystemTime::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

/// Sends a handoff packet with its fds as `SCM_RIGHTS`: the client socket, and for a
/// session resumed after a reload its state.
pub fn send_with_fds(channel: BorrowedFd<'_>, packet: &[u8], fds: &[BorrowedFd<'_>]) -> io::Result<()> {
    let mut raw = [-1 as RawFd; mallard_protocol::channel::MAX_FDS];
    let raw = raw.get_mut(..fds.len()).ok_or_else(|| io::Error::other("more fds than a packet carries"))?;
    for (slot, fd) in raw.iter_mut().zip(fds) {
        *slot = fd.as_raw_fd();
    }
    let cmsg = [ControlMessage::ScmRights(raw)];
    let iov = [IoSlice::new(packet)];
    loop {
        match sendmsg::<()>(
            channel.as_raw_fd(),
            &iov,
            &cmsg,
            MsgFlags::MSG_NOSIGNAL | MsgFlags::MSG_DONTWAIT,
            None,
        ) {
            Err(nix::errno::Errno::EINTR) => continue,
            Err(e) => return Err(e.into()),
            Ok(_) => return Ok(()),
        }
    }
}

pub fn send(channel: BorrowedFd<'_>, packet: &[u8]) -> io::Result<()> {
    loop {
        match nix::sys::socket::send(
            channel.as_raw_fd(),
            packet,
            MsgFlags::MSG_NOSIGNAL | MsgFlags::MSG_DONTWAIT,
        ) {
            Err(nix::errno::Errno::EINTR) => continue,
            Err(e) => return Err(e.into()),
            Ok(_) => return Ok(()),
        }
    }
}

/// Room for the most fds a worker's packet carries.
pub fn fd_space() -> Vec<u8> {
    nix::cmsg_space!([RawFd; mallard_protocol::channel::MAX_FDS])
}

/// Receives one packet and the fds that came with it; `Ok(None)` when none is waiting.
/// Only a session moving at a reload comes with fds (its socket, its state, its
/// advisory lock files); more than `MAX_FDS` are cut (`MSG_CTRUNC`) and reported as an
/// error, the fds that did arrive closed. `space` is the control buffer, from
/// [`fd_space`], made once per read of a channel.
pub fn recv_packet(
    channel: BorrowedFd<'_>,
    buf: &mut [u8],
    space: &mut Vec<u8>,
) -> io::Result<Option<(usize, Vec<OwnedFd>)>> {
    let mut iov = [IoSliceMut::new(buf)];
    loop {
        match nix::sys::socket::recvmsg::<()>(
            channel.as_raw_fd(),
            &mut iov,
            Some(&mut *space),
            MsgFlags::MSG_DONTWAIT | MsgFlags::MSG_CMSG_CLOEXEC,
        ) {
            Err(nix::errno::Errno::EINTR) => continue,
            Err(nix::errno::Errno::EAGAIN) => return Ok(None),
            Err(e) => return Err(e.into()),
            Ok(msg) => {
                let mut fds = Vec::new();
                for cmsg in msg.cmsgs().map_err(io::Error::from)? {
                    if let nix::sys::socket::ControlMessageOwned::ScmRights(received) = cmsg {
                        // SAFETY: the kernel installed these fds in our table for us
                        // alone; owning them at once closes each exactly once.
                        fds.extend(received.into_iter().map(|fd| unsafe { OwnedFd::from_raw_fd(fd) }));
                    }
                }
                if msg.flags.intersects(MsgFlags::MSG_CTRUNC | MsgFlags::MSG_TRUNC) {
                    return Err(io::Error::new(io::ErrorKind::InvalidData, "worker packet truncated"));
                }
                return Ok(Some((msg.bytes, fds)));
            }
        }
    }
}

/// Writes `bytes` to a client socket if its buffer takes them at once; never waits.
pub fn send_now(socket: BorrowedFd<'_>, bytes: &[u8]) -> io::Result<usize> {
    nix::sys::socket::send(socket.as_raw_fd(), bytes, MsgFlags::MSG_NOSIGNAL | MsgFlags::MSG_DONTWAIT)
        .map_err(io::Error::from)
}
