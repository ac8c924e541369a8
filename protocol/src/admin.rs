//! The admin socket's contract: what `mallard status`, `sessions`, `reload` and `stop`
//! send to the running supervisor, and what it answers. A request is one line
//! ([`Command`]); the answer is one line of JSON: a [`Status`] to `status`, a
//! [`Sessions`] to `sessions`, an [`Answer`] to anything else.
//!
//! `mallard status --json` prints the [`Status`] as it came, and operators' scripts read
//! it, so its field names and meanings are an interface: add fields, never rename one.
//! Both ends write JSON with [`to_line`], whose keys come out sorted, the order the
//! answers have always had.

use serde::{Deserialize, Serialize};

/// A request on the admin socket.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Command {
    Status,
    Sessions,
    Reload,
    Stop { fast: bool },
}

impl Command {
    /// Reads a request line (its newline included or not); `None` if it is no command.
    pub fn parse(line: &[u8]) -> Option<Command> {
        match std::str::from_utf8(line).ok()?.trim() {
            "status" => Some(Command::Status),
            "sessions" => Some(Command::Sessions),
            "reload" => Some(Command::Reload),
            "stop" => Some(Command::Stop { fast: false }),
            "stop fast" => Some(Command::Stop { fast: true }),
            _ => None,
        }
    }

    /// The request line, newline included.
    pub fn line(self) -> &'static str {
        match self {
            Command::Status => "status\n",
            Command::Sessions => "sessions\n",
            Command::Reload => "reload\n",
            Command::Stop { fast: false } => "stop\n",
            Command::Stop { fast: true } => "stop fast\n",
        }
    }
}

/// The length of the first line in `buf`, newline included, once it is there.
pub fn line_end(buf: &[u8]) -> Option<usize> {
    buf.iter().position(|&b| b == b'\n').map(|i| i + 1)
}

/// `value` as one line of JSON with its object keys sorted, without the newline.
pub fn to_line<T: Serialize>(value: &T) -> String {
    // Through a `Value`, whose maps are sorted: the byte order of the answers stays what
    // it was when they were written by hand, whatever order the fields are declared in.
    serde_json::to_value(value).map(|v| v.to_string()).unwrap_or_else(|e| {
        Answer::failed(format!("the answer could not be encoded: {e}")).to_line_unsorted()
    })
}

/// What the supervisor as a whole is doing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ServerState {
    /// The first generation is not ready yet.
    Starting,
    Running,
    Reloading,
    Stopping,
}

impl ServerState {
    pub fn as_str(self) -> &'static str {
        match self {
            ServerState::Starting => "starting",
            ServerState::Running => "running",
            ServerState::Reloading => "reloading",
            ServerState::Stopping => "stopping",
        }
    }
}

/// Where a worker is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum WorkerState {
    /// Spawned; its database is not open yet.
    Starting,
    Ready,
    /// Takes nothing new; exits when its sessions end.
    Draining,
}

impl WorkerState {
    pub fn as_str(self) -> &'static str {
        match self {
            WorkerState::Starting => "starting",
            WorkerState::Ready => "ready",
            WorkerState::Draining => "draining",
        }
    }
}

/// The answer to `status`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Status {
    /// The supervisor's pid; a reload keeps it.
    pub pid: u32,
    /// The server version the workers report to clients.
    pub version: String,
    pub state: ServerState,
    /// Since the supervisor first started; a reload does not reset it.
    pub uptime_seconds: f64,
    /// The generation new clients go to.
    pub generation: u32,
    pub storage: String,
    /// Every worker, of every generation still alive.
    pub workers: Vec<WorkerStatus>,
    pub totals: Totals,
    /// The last reload's outcome; `null` before the first.
    pub last_reload: Option<ReloadOutcome>,
}

/// One worker's row in [`Status::workers`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WorkerStatus {
    pub id: u32,
    /// The worker's OS pid.
    pub pid: u32,
    pub generation: u32,
    pub state: WorkerState,
    /// Sessions it has acknowledged and still serves.
    pub sessions: u32,
    /// Client sockets sent to it that it has not acknowledged yet.
    pub in_flight: u64,
    /// False while a health ping has gone unanswered too long; it gets no new clients.
    pub responsive: bool,
    pub uptime_seconds: f64,
}

/// Sums over [`Status::workers`], and the supervisor's own queue.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Totals {
    pub workers: u64,
    /// Ready workers of the serving generation.
    pub ready: u64,
    pub draining: u64,
    pub sessions: u64,
    pub in_flight: u64,
    /// Clients waiting in the supervisor for a ready worker.
    pub waiting: u64,
    pub max_connections: u32,
    /// Live sessions handed to a new generation at reloads, since the server started.
    #[serde(default)]
    pub sessions_moved: u64,
    /// Sessions a drain's timeout ended with 57P01, since the server started.
    #[serde(default)]
    pub sessions_terminated: u64,
}

/// How a reload ended, as [`Status::last_reload`] shows it: `ok`, then `generation` (the
/// one that serves now) or `error`, and `at` in seconds since the epoch.
/// `mallard sessions --json`: every session of every worker, as `pg_stat_activity`
/// lists them (PgBouncer's `SHOW CLIENTS`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Sessions {
    pub sessions: Vec<SessionRow>,
}

/// One session. Times are seconds since the Unix epoch; `null` where there is none.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SessionRow {
    /// The backend pid: `pg_backend_pid()`, `pg_cancel_backend()`'s argument.
    pub pid: u32,
    pub user: String,
    pub database: String,
    pub application_name: String,
    /// The client's address and port; `null` and -1 on the unix socket.
    pub client_addr: Option<String>,
    pub client_port: i32,
    pub tls: bool,
    /// `active`, `idle`, `idle in transaction`, `idle in transaction (aborted)`; `null`
    /// while the session authenticates.
    pub state: Option<String>,
    pub backend_start: f64,
    pub xact_start: Option<f64>,
    pub query_start: Option<f64>,
    pub state_change: Option<f64>,
    /// The current or last statement, cut at `track_activity_query_size` bytes.
    pub query: String,
    /// The OS pid of the worker that serves it, and that worker's generation.
    pub worker_pid: u32,
    pub generation: u32,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReloadOutcome {
    pub ok: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub generation: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    pub at: u64,
}

impl ReloadOutcome {
    pub fn succeeded(generation: u32, at: u64) -> ReloadOutcome {
        ReloadOutcome { ok: true, generation: Some(generation), error: None, at }
    }

    pub fn failed(error: String, at: u64) -> ReloadOutcome {
        ReloadOutcome { ok: false, generation: None, error: Some(error), at }
    }

    /// What `mallard reload` is answered: the same, without the time.
    pub fn answer(&self) -> Answer {
        Answer { ok: self.ok, generation: self.generation, error: self.error.clone(), stopping: None }
    }
}

/// The answer to `reload`, `stop` and an unknown command: `ok`, and `generation` (the
/// reload's), `stopping` or `error`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Answer {
    pub ok: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub generation: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stopping: Option<bool>,
}

impl Answer {
    pub fn failed(error: impl Into<String>) -> Answer {
        Answer { ok: false, generation: None, error: Some(error.into()), stopping: None }
    }

    /// `stop` was accepted.
    pub fn stopping() -> Answer {
        Answer { ok: true, generation: None, error: None, stopping: Some(true) }
    }

    /// The error, or `?` when a failed answer carries none.
    pub fn error_text(&self) -> &str {
        self.error.as_deref().unwrap_or("?")
    }

    fn to_line_unsorted(&self) -> String {
        // Cannot fail: strings and numbers only.
        serde_json::to_string(self).unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commands_parse_and_print_back() {
        for c in [
            Command::Status,
            Command::Sessions,
            Command::Reload,
            Command::Stop { fast: false },
            Command::Stop { fast: true },
        ] {
            assert_eq!(Command::parse(c.line().as_bytes()), Some(c));
        }
        assert_eq!(Command::parse(b"STATUS\n"), None);
        assert_eq!(Command::parse(b"\xff\n"), None);
    }

    /// The bytes the supervisor sent when it built these answers with `json!`.
    #[test]
    fn answers_are_the_lines_scripts_know() {
        assert_eq!(to_line(&ReloadOutcome::succeeded(3, 1700).answer()), r#"{"generation":3,"ok":true}"#);
        assert_eq!(to_line(&Answer::failed("no")), r#"{"error":"no","ok":false}"#);
        assert_eq!(to_line(&Answer::stopping()), r#"{"ok":true,"stopping":true}"#);
        assert_eq!(
            to_line(&ReloadOutcome::failed("bad".into(), 1700)),
            r#"{"at":1700,"error":"bad","ok":false}"#
        );
    }

    #[test]
    fn status_keeps_its_field_names_and_round_trips() {
        let status = Status {
            pid: 10,
            version: "15.0".into(),
            state: ServerState::Running,
            uptime_seconds: 1.5,
            generation: 2,
            storage: "memory".into(),
            workers: vec![WorkerStatus {
                id: 3,
                pid: 11,
                generation: 2,
                state: WorkerState::Ready,
                sessions: 1,
                in_flight: 0,
                responsive: true,
                uptime_seconds: 0.25,
            }],
            totals: Totals {
                workers: 1,
                ready: 1,
                draining: 0,
                sessions: 1,
                in_flight: 0,
                waiting: 0,
                max_connections: 100,
                sessions_moved: 4,
                sessions_terminated: 1,
            },
            last_reload: Some(ReloadOutcome::succeeded(2, 1700)),
        };
        let line = to_line(&status);
        assert_eq!(
            line,
            concat!(
                r#"{"generation":2,"last_reload":{"at":1700,"generation":2,"ok":true},"pid":10,"#,
                r#""state":"running","storage":"memory","totals":{"draining":0,"in_flight":0,"#,
                r#""max_connections":100,"ready":1,"sessions":1,"sessions_moved":4,"sessions_terminated":1,"#,
                r#""waiting":0,"workers":1},"#,
                r#""uptime_seconds":1.5,"version":"15.0","workers":[{"generation":2,"id":3,"#,
                r#""in_flight":0,"pid":11,"responsive":true,"sessions":1,"state":"ready","#,
                r#""uptime_seconds":0.25}]}"#
            )
        );
        assert_eq!(serde_json::from_str::<Status>(&line).unwrap(), status);
        let before_any_reload = Status { last_reload: None, ..status };
        assert!(to_line(&before_any_reload).contains(r#""last_reload":null"#));
    }
}
