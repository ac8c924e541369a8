//! The sessions a worker serves, as cancel requests and draining need to find them.

use std::collections::HashMap;
use std::net::Shutdown;
use std::os::fd::OwnedFd;
use std::os::unix::net::UnixStream;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use mallard_protocol::channel::SessionId;
use subtle::ConstantTimeEq;

use crate::duck::Interrupter;

/// What other threads may do to a running session.
pub struct Control {
    /// The session's cancel key secret.
    secret: Vec<u8>,
    interrupter: Arc<Interrupter>,
    /// Set while a statement runs, so that a cancel arriving between statements does
    /// not leave an interrupt behind for the next one.
    busy: AtomicBool,
    /// Set when the worker ends the session (drain timeout, shutdown).
    terminating: AtomicBool,
    /// A duplicate of the client socket, to wake a session blocked reading it.
    socket: OwnedFd,
}

impl Control {
    pub fn new(secret: Vec<u8>, interrupter: Arc<Interrupter>, socket: OwnedFd) -> Self {
        Control {
            secret,
            interrupter,
            busy: AtomicBool::new(false),
            terminating: AtomicBool::new(false),
            socket,
        }
    }

    pub fn set_busy(&self, busy: bool) {
        self.busy.store(busy, Ordering::SeqCst);
    }

    pub fn is_terminating(&self) -> bool {
        self.terminating.load(Ordering::SeqCst)
    }

    fn terminate(&self) {
        self.terminating.store(true, Ordering::SeqCst);
        self.interrupter.interrupt();
        if let Ok(socket) = self.socket.try_clone() {
            let _ = UnixStream::from(socket).shutdown(Shutdown::Read);
        }
    }
}

#[derive(Default)]
pub struct Registry {
    sessions: Mutex<HashMap<SessionId, Arc<Control>>>,
}

impl Registry {
    pub fn insert(&self, id: SessionId, control: Arc<Control>) {
        self.lock().insert(id, control);
    }

    pub fn remove(&self, id: SessionId) {
        self.lock().remove(&id);
    }

    pub fn len(&self) -> usize {
        self.lock().len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Interrupts the running statement of the session with this secret. Every secret
    /// is compared, in constant time, so timing tells nothing about which matched.
    pub fn cancel(&self, secret: &[u8]) -> bool {
        let mut hit = None;
        for control in self.lock().values() {
            if bool::from(control.secret.as_slice().ct_eq(secret)) {
                hit = Some(Arc::clone(control));
            }
        }
        match hit {
            Some(control) if control.busy.load(Ordering::SeqCst) => {
                control.interrupter.interrupt();
                true
            }
            _ => false,
        }
    }

    /// Ends every session: each gets `FATAL 57P01` from its own thread.
    pub fn terminate_all(&self) {
        for control in self.lock().values() {
            control.terminate();
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<SessionId, Arc<Control>>> {
        self.sessions.lock().unwrap_or_else(|e| e.into_inner())
    }
}
