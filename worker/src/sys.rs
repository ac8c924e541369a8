//! The worker's raw system calls: receiving a packet with its fd, tying the worker's
//! life to the supervisor's, and the eventfd that wakes a listening session. The only
//! `unsafe` outside the DuckDB binding.

use std::io::{self, IoSliceMut};
use std::os::fd::{AsRawFd, BorrowedFd, FromRawFd, OwnedFd, RawFd};

use nix::sys::socket::{recvmsg, send, ControlMessageOwned, MsgFlags};

/// Receives one packet into `buf`; returns its length (0 at EOF) and the fds that came
/// with it (a client socket; for a moving session also its state and lock files). `MSG_CTRUNC`
/// (an fd the kernel had to drop) is an error: the channel can no longer be trusted.
pub fn recv_packet(channel: BorrowedFd<'_>, buf: &mut [u8]) -> io::Result<(usize, Vec<OwnedFd>)> {
    let mut iov = [IoSliceMut::new(buf)];
    let mut space = nix::cmsg_space!([RawFd; mallard_protocol::channel::MAX_FDS]);
    let msg = loop {
        match recvmsg::<()>(channel.as_raw_fd(), &mut iov, Some(&mut space), MsgFlags::MSG_CMSG_CLOEXEC) {
            Err(nix::errno::Errno::EINTR) => continue,
            other => break other.map_err(io::Error::from)?,
        }
    };
    let mut fds = Vec::new();
    for cmsg in msg.cmsgs().map_err(io::Error::from)? {
        if let ControlMessageOwned::ScmRights(received) = cmsg {
            // SAFETY: the kernel installed these fds in our table for us alone; taking
            // ownership at once means each is closed exactly once.
            fds.extend(received.into_iter().map(|fd| unsafe { OwnedFd::from_raw_fd(fd) }));
        }
    }
    if msg.flags.contains(MsgFlags::MSG_CTRUNC) || msg.flags.contains(MsgFlags::MSG_TRUNC) {
        return Err(io::Error::new(io::ErrorKind::InvalidData, "channel packet or its fds were truncated"));
    }
    Ok((msg.bytes, fds))
}

/// Sends one packet with `fds` as its `SCM_RIGHTS`: a session moving at a reload.
pub fn send_packet_with_fds(
    channel: BorrowedFd<'_>,
    packet: &[u8],
    fds: &[BorrowedFd<'_>],
) -> io::Result<()> {
    use nix::sys::socket::{sendmsg, ControlMessage};
    let raw: Vec<RawFd> = fds.iter().map(|fd| fd.as_raw_fd()).collect();
    let cmsg = [ControlMessage::ScmRights(&raw)];
    let iov = [std::io::IoSlice::new(packet)];
    loop {
        match sendmsg::<()>(channel.as_raw_fd(), &iov, &cmsg, MsgFlags::MSG_NOSIGNAL, None) {
            Err(nix::errno::Errno::EINTR) => continue,
            Err(e) => return Err(e.into()),
            Ok(_) => return Ok(()),
        }
    }
}

/// The signal that wakes a session thread blocked reading an idle client, so that it
/// can hand its session over at a reload: its handler does nothing, and it is installed
/// without `SA_RESTART`, so the read returns `EINTR`.
const WAKE_SIGNAL: nix::sys::signal::Signal = nix::sys::signal::Signal::SIGUSR1;

/// Installs the handler of [`WAKE_SIGNAL`]; called once at worker start.
pub fn install_wake_signal() -> io::Result<()> {
    use nix::sys::signal::{sigaction, SaFlags, SigAction, SigHandler, SigSet};
    extern "C" fn nothing(_: libc::c_int) {}
    let action = SigAction::new(SigHandler::Handler(nothing), SaFlags::empty(), SigSet::empty());
    // SAFETY: the handler is async-signal-safe (it does nothing), and replaces the
    // default action (which would end the process).
    unsafe { sigaction(WAKE_SIGNAL, &action) }.map(drop).map_err(io::Error::from)
}

/// The calling thread, for [`wake_thread`].
pub fn current_thread() -> libc::pthread_t {
    // SAFETY: pthread_self has no preconditions.
    unsafe { libc::pthread_self() }
}

/// Sends [`WAKE_SIGNAL`] to `thread`, which must still be running (its session is
/// registered, and deregisters before its thread ends).
pub fn wake_thread(thread: libc::pthread_t) {
    // SAFETY: the thread id is that of a live thread of this process (see above).
    unsafe {
        libc::pthread_kill(thread, WAKE_SIGNAL as libc::c_int);
    }
}

/// A new memfd holding `bytes`, read from its start: a moving session's state.
pub fn memfd_with(name: &std::ffi::CStr, bytes: &[u8]) -> io::Result<OwnedFd> {
    use std::io::{Seek, Write};
    let mut file = std::fs::File::from(memfd(name)?);
    file.write_all(bytes)?;
    file.rewind()?;
    Ok(OwnedFd::from(file))
}

/// A new empty memfd, closed on exec.
fn memfd(name: &std::ffi::CStr) -> io::Result<OwnedFd> {
    // SAFETY: the name is NUL-terminated; the result is checked before use.
    let raw = unsafe { libc::memfd_create(name.as_ptr(), libc::MFD_CLOEXEC) };
    if raw < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: memfd_create returned a new fd that nothing else owns.
    Ok(unsafe { OwnedFd::from_raw_fd(raw) })
}

/// Sends one packet (no fd).
pub fn send_packet(channel: BorrowedFd<'_>, packet: &[u8]) -> io::Result<()> {
    loop {
        match send(channel.as_raw_fd(), packet, MsgFlags::MSG_NOSIGNAL) {
            Err(nix::errno::Errno::EINTR) => continue,
            Err(e) => return Err(e.into()),
            Ok(_) => return Ok(()),
        }
    }
}

/// Asks the kernel to kill this process when the supervisor dies, so that no worker
/// outlives it; if the supervisor is already gone, exits.
pub fn die_with_parent() {
    let _ = nix::sys::prctl::set_pdeathsig(nix::sys::signal::Signal::SIGKILL);
    if nix::unistd::getppid().as_raw() == 1 {
        std::process::exit(1);
    }
}

/// Memory shared between the supervisor and its workers: a memfd mapped read-write, seen
/// as 64-bit atomic words (see `crate::activity`).
pub struct SharedWords {
    fd: OwnedFd,
    base: *mut std::sync::atomic::AtomicU64,
    words: usize,
}

// SAFETY: the mapping is only ever reached through atomic operations on its words.
unsafe impl Send for SharedWords {}
// SAFETY: as above: concurrent access from threads is atomic word access.
unsafe impl Sync for SharedWords {}

impl SharedWords {
    /// A new zeroed memfd of `words` words, mapped.
    pub fn create(name: &std::ffi::CStr, words: usize) -> io::Result<SharedWords> {
        let fd = memfd(name)?;
        let bytes = libc::off_t::try_from(words * 8).map_err(|_| io::Error::other("segment too large"))?;
        // SAFETY: ftruncate on an fd this function owns.
        if unsafe { libc::ftruncate(fd.as_raw_fd(), bytes) } != 0 {
            return Err(io::Error::last_os_error());
        }
        SharedWords::map(fd, words)
    }

    /// Maps all of a memfd another process created.
    pub fn open(fd: OwnedFd) -> io::Result<SharedWords> {
        let size = std::fs::File::from(fd.try_clone()?).metadata()?.len() as usize;
        SharedWords::map(fd, size / 8)
    }

    fn map(fd: OwnedFd, words: usize) -> io::Result<SharedWords> {
        if words == 0 {
            return Err(io::Error::other("empty shared memory"));
        }
        // SAFETY: a new shared mapping of the file's first `words * 8` bytes; the
        // result is checked, and unmapped once in Drop.
        let base = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                words * 8,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_SHARED,
                fd.as_raw_fd(),
                0,
            )
        };
        if base == libc::MAP_FAILED {
            return Err(io::Error::last_os_error());
        }
        Ok(SharedWords { fd, base: base.cast(), words })
    }

    pub fn words(&self) -> &[std::sync::atomic::AtomicU64] {
        // SAFETY: the mapping holds `words` page-aligned 8-byte words for as long as
        // self lives, and AtomicU64 has the layout of u64.
        unsafe { std::slice::from_raw_parts(self.base, self.words) }
    }

    pub fn fd(&self) -> BorrowedFd<'_> {
        use std::os::fd::AsFd;
        self.fd.as_fd()
    }
}

impl Drop for SharedWords {
    fn drop(&mut self) {
        // SAFETY: unmaps exactly the mapping made in `map`; no borrow of it outlives self.
        unsafe {
            libc::munmap(self.base.cast(), self.words * 8);
        }
    }
}

/// A non-blocking eventfd: a counter one thread bumps to wake another blocked in
/// `poll()` on it (a listening session waiting for its client).
pub fn eventfd() -> io::Result<OwnedFd> {
    // SAFETY: eventfd takes no pointers; a non-negative result is a new fd that nothing
    // else owns, so the `OwnedFd` is its one owner.
    let fd = unsafe { libc::eventfd(0, libc::EFD_NONBLOCK | libc::EFD_CLOEXEC) };
    if fd < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: see above; `fd` is open and ours alone.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

/// Names the calling thread as `ps -L`, `top -H`, gdb and perf show it (at most 15
/// bytes are kept).
pub fn name_thread(name: &str) {
    let mut bytes: Vec<u8> = name.bytes().filter(|&b| b != 0).take(15).collect();
    bytes.push(0);
    // SAFETY: a NUL-terminated name of at most 16 bytes, for the calling thread.
    unsafe {
        libc::pthread_setname_np(libc::pthread_self(), bytes.as_ptr().cast());
    }
}

/// Hands the memory freed in every malloc arena back to the kernel. glibc keeps what a
/// thread freed in its arena; a worker whose sessions have all ended would otherwise
/// stay at the size of its busiest moment.
pub fn release_free_memory() {
    // SAFETY: malloc_trim only reads and adjusts glibc's own allocator state, under its
    // arena locks; it takes no pointer.
    unsafe {
        libc::malloc_trim(0);
    }
}
