//! The admin socket, the server's side: its connections, and the commands `mallard
//! status`, `reload` and `stop` send on them (the contract is
//! [`mallard_protocol::admin`]). A `reload` is answered once the reload has succeeded or
//! failed; a `stop` is acknowledged at once, and its connection closes when the
//! supervisor exits.

use std::time::Duration;

use mallard_protocol::admin::{self, Answer, Command};
use mio::net::UnixStream;
use mio::Token;
use serde::Serialize;
use tracing::warn;

use super::Server;
use crate::conns::Request;

impl Server {
    pub(super) fn accept_admin(&mut self) {
        if let Some((listener, _)) = &self.admin {
            self.admin_conns.accept_all(self.poll.registry(), "admin", || listener.accept().map(|(s, _)| s));
        }
    }

    pub(super) fn add_admin_conn(&mut self, stream: UnixStream) -> Option<Token> {
        match self.admin_conns.add(self.poll.registry(), stream) {
            Ok(token) => Some(token),
            Err(e) => {
                warn!(error = %e, "admin connection refused");
                None
            }
        }
    }

    pub(super) fn admin_event(&mut self, token: Token) {
        let request = match self.admin_conns.read(token, admin::line_end) {
            Request::Partial => return,
            Request::Closed => return self.admin_conns.close(self.poll.registry(), token),
            Request::Complete(line) => line,
        };
        match Command::parse(&request) {
            Some(Command::Status) => {
                let status = self.status();
                self.admin_reply(token, &status, false);
            }
            Some(Command::Sessions) => {
                let sessions = self.sessions();
                self.admin_reply(token, &sessions, false);
            }
            Some(Command::Reload) => self.request_reload(Some(token)),
            Some(Command::Stop { fast }) => {
                // Held open: it closes when this process exits, which `mallard stop`
                // waits for.
                self.admin_reply(token, &Answer::stopping(), true);
                if fast {
                    self.begin_shutdown("admin: fast shutdown", Duration::ZERO);
                } else {
                    self.begin_shutdown("admin: smart shutdown", self.config.shutdown_timeout);
                }
            }
            None => {
                let text = String::from_utf8_lossy(&request).trim().to_owned();
                self.admin_reply(token, &Answer::failed(format!("unknown command {text:?}")), false);
            }
        }
    }

    /// Every session in the session table, oldest first.
    fn sessions(&self) -> admin::Sessions {
        let seconds = |us: i64| us as f64 / 1e6;
        let mut rows: Vec<admin::SessionRow> = self
            .activity
            .snapshot()
            .into_iter()
            .map(|a| {
                let (client_addr, client_port) = a.client();
                admin::SessionRow {
                    pid: a.pid,
                    user: a.user,
                    database: a.database,
                    application_name: a.application_name,
                    client_addr,
                    client_port,
                    tls: a.tls,
                    state: a.state.name().map(str::to_owned),
                    backend_start: seconds(a.backend_start),
                    xact_start: a.xact_start.map(seconds),
                    query_start: a.query_start.map(seconds),
                    state_change: a.state_change.map(seconds),
                    query: a.query,
                    worker_pid: a.worker_pid,
                    generation: a.generation,
                }
            })
            .collect();
        rows.sort_by(|a, b| a.backend_start.total_cmp(&b.backend_start).then(a.pid.cmp(&b.pid)));
        admin::Sessions { sessions: rows }
    }

    /// Writes one answer line; the connection stays open if `hold`, else closes.
    pub(super) fn admin_reply(&mut self, token: Token, answer: &impl Serialize, hold: bool) {
        let mut line = admin::to_line(answer);
        line.push('\n');
        self.admin_conns.reply(self.poll.registry(), token, line.as_bytes(), hold);
    }
}
