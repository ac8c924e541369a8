//! LISTEN/NOTIFY across workers. A session's committed notification arrives from its
//! worker, which has already handed it to its own listening sessions, and goes to every
//! other worker that can have sessions: ready or draining, of any generation (listeners
//! on an old generation keep receiving across a reload until they leave), speaking this
//! channel version. Each worker hands it to its sessions listening on the channel and
//! drops it if there are none.
//!
//! Every worker gets every notification, in the order the supervisor read them: one
//! packet per worker, through the worker's outbox, so a slow worker delays only itself.
//! That keeps the supervisor free of any state about who listens, and a committed
//! `LISTEN` free of any race with a notification committed just after it, at the cost
//! of the packets to workers where nobody listens: about 6 µs of the supervisor's CPU
//! per notification with four workers (`benches/notify.sh`).

use mallard_protocol::channel::ToWorker;

use super::Server;
use crate::pool::WorkerState;

impl Server {
    /// Passes a notification that a session of worker `from` (an index) committed to
    /// every other worker.
    pub(super) fn notify_workers(&mut self, from: usize, sender: u32, channel: String, payload: String) {
        let packet = ToWorker::Notify { sender, channel, payload }.encode();
        for index in 0..self.pool.workers.len() {
            let w = &self.pool.workers[index];
            let serves = matches!(w.state, WorkerState::Ready | WorkerState::Draining);
            if index != from && serves && w.killed.is_none() && w.speaks_our_channel() {
                self.send_queued(index, packet.clone());
            }
        }
    }
}
