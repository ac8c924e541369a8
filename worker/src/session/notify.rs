//! LISTEN, UNLISTEN, NOTIFY and `pg_notify()` in a session, with PostgreSQL's
//! transaction semantics:
//!
//! - `LISTEN`/`UNLISTEN` take effect when their transaction commits, in the order they
//!   ran; a rolled-back transaction (or savepoint) leaves the listening as it was.
//! - A notification is sent only once its transaction commits (a statement outside a
//!   block commits at its end), never from a rolled-back transaction or savepoint, and
//!   a transaction sends each (channel, payload) once, where it was first notified.
//! - At commit the notifications go, in order, to the listening sessions of this worker
//!   (this one included) and, through the supervisor, to every other worker.
//! - A listening session sends what it received while it is idle outside a transaction
//!   block ([`Session::await_client`]) and just before a `ReadyForQuery` that says so,
//!   never inside a block.
//!
//! The worker-wide half (who listens on what, the mailboxes) is [`crate::notifications`].

pub mod function;

use std::collections::HashSet;
use std::sync::Arc;

use mallard_protocol::channel::FromWorker;
use mallard_protocol::pg::backend::{ErrorInfo, Message};
use mallard_protocol::pg::{Severity, SqlState};
use tracing::warn;

use super::conn::{ReadError, Ready};
use super::error::StepError;
use super::query::Transaction;
use super::Session;
use crate::notifications::{Notification, Subscriber};
use crate::sql::utility::truncate_identifier;

/// A `LISTEN` or `UNLISTEN` waiting for its transaction to commit.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Action {
    Listen(String),
    Unlisten(String),
    UnlistenAll,
}

/// Where a savepoint was, to roll back to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Mark {
    actions: usize,
    pending: usize,
}

/// A session's listening, and its transaction's LISTEN, UNLISTEN and notifications.
pub(super) struct Notify<'w> {
    pub(super) subscriber: Subscriber<'w>,
    actions: Vec<Action>,
    /// The transaction's notifications, each (channel, payload) once, in the order
    /// each was first sent.
    pending: Vec<(String, String)>,
    seen: HashSet<(String, String)>,
    /// The session's entry for the SQL functions.
    functions: function::Registration,
}

impl<'w> Notify<'w> {
    pub(super) fn new(subscriber: Subscriber<'w>, functions: function::Registration) -> Self {
        Notify { subscriber, actions: Vec::new(), pending: Vec::new(), seen: HashSet::new(), functions }
    }

    fn notify(&mut self, channel: String, payload: String) {
        let key = (channel, payload);
        if !self.seen.contains(&key) {
            self.seen.insert(key.clone());
            self.pending.push(key);
        }
    }

    /// `DISCARD ALL` unlistens everything, as `UNLISTEN *` in its transaction.
    pub(super) fn discard_all(&mut self) {
        self.actions.push(Action::UnlistenAll);
    }

    pub(super) fn mark(&self) -> Mark {
        Mark { actions: self.actions.len(), pending: self.pending.len() }
    }

    /// `ROLLBACK TO SAVEPOINT`: what came after the savepoint goes.
    pub(super) fn roll_back_to(&mut self, mark: Mark) {
        self.actions.truncate(mark.actions);
        for dropped in self.pending.drain(mark.pending..) {
            self.seen.remove(&dropped);
        }
    }

    /// The transaction rolled back: nothing of it happens.
    pub(super) fn roll_back(&mut self) {
        self.actions.clear();
        self.pending.clear();
        self.seen.clear();
    }

    /// The transaction committed: its LISTEN and UNLISTEN take effect; returns its
    /// notifications, to send.
    fn commit(&mut self) -> Vec<(String, String)> {
        let changed = !self.actions.is_empty();
        for action in std::mem::take(&mut self.actions) {
            match action {
                Action::Listen(channel) => {
                    if let Err(e) = self.subscriber.listen(&channel) {
                        warn!(channel, error = %e, "could not listen: no eventfd for the session");
                    }
                }
                Action::Unlisten(channel) => self.subscriber.unlisten(&channel),
                Action::UnlistenAll => self.subscriber.unlisten_all(),
            }
        }
        if changed {
            self.functions.set_channels(self.subscriber.channels());
        }
        self.seen.clear();
        std::mem::take(&mut self.pending)
    }
}

impl Session<'_> {
    /// `LISTEN`, `UNLISTEN` or `NOTIFY`, recorded for the transaction's commit. A
    /// channel name of 64 bytes or more is cut to 63, with PostgreSQL's notice.
    pub(super) fn listen_command(&mut self, command: &crate::sql::Command) -> Result<(), StepError> {
        use crate::sql::Command;
        let channel = match command {
            Command::Listen(c) | Command::Notify { channel: c, .. } | Command::Unlisten(Some(c)) => {
                Some(self.channel_name(c))
            }
            _ => None,
        };
        match (command, channel) {
            (Command::Listen(_), Some(channel)) => self.notify.actions.push(Action::Listen(channel)),
            (Command::Unlisten(_), Some(channel)) => self.notify.actions.push(Action::Unlisten(channel)),
            (Command::Unlisten(None), None) => self.notify.actions.push(Action::UnlistenAll),
            (Command::Notify { payload, .. }, Some(channel)) => {
                function::check(&channel, payload)
                    .map_err(|message| StepError::query(SqlState::INVALID_PARAMETER_VALUE, message))?;
                self.notify.notify(channel, payload.clone());
            }
            _ => unreachable!("listen_command on {command:?}"),
        }
        self.conn.send(&Message::CommandComplete(command.tag(0)));
        Ok(())
    }

    fn channel_name(&mut self, name: &str) -> String {
        let Some(truncated) = truncate_identifier(name) else { return name.to_owned() };
        self.conn.send(&Message::NoticeResponse(ErrorInfo::new(
            Severity::Notice,
            SqlState::NAME_TOO_LONG,
            format!("identifier \"{name}\" will be truncated to \"{truncated}\""),
        )));
        truncated.to_owned()
    }

    /// What `pg_notify()` recorded during the statement that just ran: kept if it
    /// succeeded, dropped if it failed.
    pub(super) fn take_notify_calls(&mut self, succeeded: bool) {
        let calls = self.notify.functions.take();
        if succeeded {
            for (channel, payload) in calls {
                self.notify.notify(channel, payload);
            }
        }
    }

    /// The transaction committed: LISTEN and UNLISTEN take effect, and its
    /// notifications go to every listening session, here and on the other workers.
    pub(super) fn commit_notifications(&mut self) {
        let sender = self.backend_pid();
        for (channel, payload) in self.notify.commit() {
            self.shared.listeners.deliver(sender, &channel, &payload);
            let packet = FromWorker::Notify { sender, channel, payload };
            if let Err(e) = self.shared.channel.send(&packet) {
                warn!(error = %e, "could not pass a notification to the supervisor; other workers' sessions miss it");
            }
        }
    }

    /// Sends the client the notifications that arrived for it. `woken`: the session's
    /// eventfd said so (and is reset).
    pub(super) fn send_notifications(&mut self, woken: bool) {
        for n in self.notify.subscriber.take(woken) {
            let Notification { sender, channel, payload } = Arc::unwrap_or_clone(n);
            self.conn.send(&Message::NotificationResponse { pid: sender, channel, payload });
        }
    }

    /// Waits until the client sends something. A listening session idle outside a
    /// transaction block sends notifications meanwhile, as they arrive; the idle
    /// timeout still runs (the connection's deadline).
    pub(super) fn await_client(&mut self) -> Result<(), ReadError> {
        if !self.awaiting_command || self.tx != Transaction::Idle {
            return Ok(());
        }
        loop {
            let Some(wake) = self.notify.subscriber.wake_fd() else { return Ok(()) };
            match self.conn.wait(wake)? {
                Ready::Client => return Ok(()),
                Ready::Woken => {
                    self.send_notifications(true);
                    self.conn.flush().map_err(ReadError::Io)?;
                }
            }
        }
    }
}
