//! LISTEN/NOTIFY inside one worker: which of its sessions listen on which channel, and
//! each listening session's mailbox, where notifications wait until the session can
//! send them to its client.
//!
//! A notification reaches a worker from one of its own sessions when that session
//! commits, and from the supervisor (`ToWorker::Notify`) when a session of another
//! worker did. Either way [`Listeners::deliver`] only queues it and wakes the session:
//! the worker's main loop must never wait for a session. A session sends what waits in
//! its mailbox while it is idle outside a transaction block, and just before a
//! `ReadyForQuery` that says so (see the session's `notify`).
//!
//! A worker with no session listening on a channel drops that channel's notifications.

use std::collections::{HashMap, VecDeque};
use std::fs::File;
use std::io::{self, Read, Write};
use std::os::fd::{AsFd, BorrowedFd};
use std::sync::{Arc, Mutex, MutexGuard};

use mallard_protocol::channel::SessionId;
use tracing::warn;

/// What one mailbox may hold, in bytes of channel names and payloads, before newer
/// notifications are dropped (with a warning). PostgreSQL's queue holds 8 GB for the
/// whole server; this bounds what one session that sits in a transaction block (or whose
/// client stopped reading) can make its worker keep.
pub const MAILBOX_BYTES: usize = 128 << 20;

/// What a notification costs in a mailbox beyond its text.
const OVERHEAD: usize = 64;

/// One committed notification.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Notification {
    /// The notifying session's backend pid.
    pub sender: u32,
    pub channel: String,
    pub payload: String,
}

impl Notification {
    fn size(&self) -> usize {
        self.channel.len() + self.payload.len() + OVERHEAD
    }
}

/// The sessions of this worker that listen, by channel.
pub struct Listeners {
    channels: Mutex<HashMap<String, Vec<Arc<Mailbox>>>>,
    /// [`MAILBOX_BYTES`], but for tests.
    mailbox_bytes: usize,
}

impl Default for Listeners {
    fn default() -> Self {
        Listeners { channels: Mutex::default(), mailbox_bytes: MAILBOX_BYTES }
    }
}

impl Listeners {
    /// Queues a notification for every session of this worker listening on `channel`.
    pub fn deliver(&self, sender: u32, channel: &str, payload: &str) {
        let channels = self.lock();
        let Some(mailboxes) = channels.get(channel) else { return };
        let notification =
            Arc::new(Notification { sender, channel: channel.to_owned(), payload: payload.to_owned() });
        for mailbox in mailboxes {
            mailbox.push(Arc::clone(&notification));
        }
    }

    fn add(&self, channel: &str, mailbox: &Arc<Mailbox>) {
        let mut channels = self.lock();
        let listening = channels.entry(channel.to_owned()).or_default();
        if !listening.iter().any(|m| Arc::ptr_eq(m, mailbox)) {
            listening.push(Arc::clone(mailbox));
        }
    }

    fn remove(&self, channel: &str, mailbox: &Arc<Mailbox>) {
        let mut channels = self.lock();
        if let Some(listening) = channels.get_mut(channel) {
            listening.retain(|m| !Arc::ptr_eq(m, mailbox));
            if listening.is_empty() {
                channels.remove(channel);
            }
        }
    }

    /// How many channels some session of this worker listens on.
    #[cfg(test)]
    fn channels(&self) -> usize {
        self.lock().len()
    }

    fn lock(&self) -> MutexGuard<'_, HashMap<String, Vec<Arc<Mailbox>>>> {
        self.channels.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// A listening session's queue of notifications, and the eventfd that wakes it.
pub struct Mailbox {
    session: SessionId,
    limit: usize,
    queue: Mutex<Queue>,
    wake: File,
}

#[derive(Default)]
struct Queue {
    waiting: VecDeque<Arc<Notification>>,
    bytes: usize,
    /// Notifications dropped because the mailbox was full, since the last take.
    dropped: u64,
}

impl Mailbox {
    fn new(session: SessionId, limit: usize) -> io::Result<Mailbox> {
        Ok(Mailbox { session, limit, queue: Mutex::default(), wake: File::from(crate::sys::eventfd()?) })
    }

    fn push(&self, notification: Arc<Notification>) {
        let mut queue = self.lock();
        if queue.bytes + notification.size() > self.limit {
            queue.dropped += 1;
            if queue.dropped == 1 {
                warn!(session = %self.session, limit_bytes = self.limit, "a listening session's notifications are not being sent (it is in a transaction block, or its client does not read); dropping new ones");
            }
            return;
        }
        queue.bytes += notification.size();
        queue.waiting.push_back(notification);
        drop(queue);
        // A full counter still wakes the session; nothing else can fail here.
        let _ = (&self.wake).write(&1u64.to_ne_bytes());
    }

    /// Everything waiting, oldest first.
    fn take(&self) -> Vec<Arc<Notification>> {
        let mut queue = self.lock();
        if queue.dropped > 0 {
            warn!(session = %self.session, dropped = queue.dropped, "notifications were dropped for this session");
            queue.dropped = 0;
        }
        queue.bytes = 0;
        queue.waiting.drain(..).collect()
    }

    /// Resets the wake-up counter. Call it before [`Mailbox::take`], so that a
    /// notification queued in between wakes the session again.
    fn reset(&self) {
        let mut counter = [0u8; 8];
        let _ = (&self.wake).read(&mut counter);
    }

    fn lock(&self) -> MutexGuard<'_, Queue> {
        self.queue.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// One session's committed listening state: the channels in the order it began to
/// listen (as `pg_listening_channels()` lists them), and its mailbox in the worker's
/// [`Listeners`]. Dropping it stops the listening.
pub struct Subscriber<'w> {
    listeners: &'w Listeners,
    session: SessionId,
    channels: Vec<String>,
    /// Made at the first `LISTEN`: most sessions never listen.
    mailbox: Option<Arc<Mailbox>>,
}

impl<'w> Subscriber<'w> {
    pub fn new(listeners: &'w Listeners, session: SessionId) -> Self {
        Subscriber { listeners, session, channels: Vec::new(), mailbox: None }
    }

    pub fn listen(&mut self, channel: &str) -> io::Result<()> {
        if self.channels.iter().any(|c| c == channel) {
            return Ok(());
        }
        let mailbox = match &self.mailbox {
            Some(m) => m,
            None => {
                let mailbox = Mailbox::new(self.session, self.listeners.mailbox_bytes)?;
                self.mailbox.insert(Arc::new(mailbox))
            }
        };
        self.listeners.add(channel, mailbox);
        self.channels.push(channel.to_owned());
        Ok(())
    }

    pub fn unlisten(&mut self, channel: &str) {
        if let Some(mailbox) = &self.mailbox {
            self.listeners.remove(channel, mailbox);
        }
        self.channels.retain(|c| c != channel);
    }

    pub fn unlisten_all(&mut self) {
        for channel in std::mem::take(&mut self.channels) {
            if let Some(mailbox) = &self.mailbox {
                self.listeners.remove(&channel, mailbox);
            }
        }
    }

    pub fn channels(&self) -> &[String] {
        &self.channels
    }

    pub fn is_listening(&self) -> bool {
        !self.channels.is_empty()
    }

    /// The fd that becomes readable when a notification arrives, while the session
    /// listens.
    pub fn wake_fd(&self) -> Option<BorrowedFd<'_>> {
        self.mailbox.as_ref().filter(|_| self.is_listening()).map(|m| m.wake.as_fd())
    }

    /// The notifications to send now, oldest first: those on channels the session still
    /// listens on (as PostgreSQL decides when it reads its queue, so an `UNLISTEN`
    /// committed meanwhile drops what waited for that channel).
    pub fn take(&self, woken: bool) -> Vec<Arc<Notification>> {
        let Some(mailbox) = &self.mailbox else { return Vec::new() };
        if woken {
            mailbox.reset();
        }
        let mut waiting = mailbox.take();
        waiting.retain(|n| self.channels.contains(&n.channel));
        waiting
    }
}

impl Drop for Subscriber<'_> {
    fn drop(&mut self) {
        self.unlisten_all();
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use nix::poll::{poll, PollFd, PollFlags, PollTimeout};

    use super::*;

    fn woken(subscriber: &Subscriber<'_>) -> bool {
        let fd = subscriber.wake_fd().expect("listening");
        let mut fds = [PollFd::new(fd, PollFlags::POLLIN)];
        poll(&mut fds, PollTimeout::try_from(Duration::from_millis(10)).unwrap()).unwrap() == 1
    }

    fn payloads(notifications: &[Arc<Notification>]) -> Vec<&str> {
        notifications.iter().map(|n| n.payload.as_str()).collect()
    }

    #[test]
    fn only_listeners_of_the_channel_get_it_in_order() {
        let listeners = Listeners::default();
        let mut a = Subscriber::new(&listeners, SessionId(1));
        let mut b = Subscriber::new(&listeners, SessionId(2));
        a.listen("jobs").unwrap();
        b.listen("other").unwrap();
        listeners.deliver(7, "jobs", "1");
        listeners.deliver(7, "nobody", "x");
        listeners.deliver(8, "jobs", "2");
        assert!(woken(&a));
        assert!(!woken(&b));
        let got = a.take(true);
        assert_eq!(payloads(&got), ["1", "2"]);
        assert_eq!(got[1].sender, 8);
        assert!(!woken(&a), "taking reset the wake-up");
        assert!(b.take(true).is_empty());
    }

    #[test]
    fn unlisten_drops_what_waited_and_a_dropped_subscriber_leaves_no_trace() {
        let listeners = Listeners::default();
        let mut a = Subscriber::new(&listeners, SessionId(1));
        a.listen("x").unwrap();
        a.listen("y").unwrap();
        a.listen("x").unwrap();
        assert_eq!(a.channels(), ["x", "y"]);
        listeners.deliver(1, "x", "a");
        listeners.deliver(1, "y", "b");
        a.unlisten("x");
        assert_eq!(payloads(&a.take(true)), ["b"]);
        drop(a);
        assert_eq!(listeners.channels(), 0);
    }

    #[test]
    fn a_full_mailbox_drops_newer_notifications() {
        let listeners = Listeners { mailbox_bytes: 100_000, ..Listeners::default() };
        let mut a = Subscriber::new(&listeners, SessionId(1));
        a.listen("c").unwrap();
        let payload = "p".repeat(7999);
        let fits = listeners.mailbox_bytes / (1 + payload.len() + OVERHEAD);
        for _ in 0..fits + 10 {
            listeners.deliver(1, "c", &payload);
        }
        assert_eq!(a.take(true).len(), fits);
        listeners.deliver(1, "c", "after");
        assert_eq!(payloads(&a.take(true)), ["after"]);
    }
}
