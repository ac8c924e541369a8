//! The SQL functions that reach the server's other sessions: `pg_cancel_backend()`,
//! `pg_terminate_backend()`, and `mallard_stat_activity()` under `pg_stat_activity`.
//!
//! A call learns its session from the DuckDB connection that made it ([`Registration`]).
//! It finds the target in the session table, checks PostgreSQL's rules (a user may
//! signal their own user's sessions; the configured superusers any, and only they a
//! superuser's), then signals a session of this worker directly and any other through
//! the supervisor, which knows the owner of every backend pid.

use std::collections::HashMap;
use std::sync::{Arc, LazyLock, Mutex, MutexGuard, OnceLock, PoisonError};
use std::time::{Duration, Instant};

use mallard_protocol::channel::{FromWorker, Signal};
use mallard_protocol::pg::backend::ErrorInfo;
use mallard_protocol::pg::{Severity, SqlState};

use super::Activity;
use crate::duck::{self, Arg, Connection, DuckError, Output, Param, Returns, Strictness};
use crate::shared::Shared;

/// The worker's shared state, for calls that run on DuckDB's threads.
static WORKER: OnceLock<Arc<Shared>> = OnceLock::new();

/// Who each DuckDB connection acts for, and the warnings its statement raised.
static CALLERS: LazyLock<Mutex<HashMap<u64, Caller>>> = LazyLock::new(Default::default);

struct Caller {
    pid: u32,
    user: String,
    notices: Vec<ErrorInfo>,
}

fn callers() -> MutexGuard<'static, HashMap<u64, Caller>> {
    CALLERS.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Makes the worker's sessions, channel and session table reachable from the functions.
pub fn serve_for(shared: &Arc<Shared>) {
    let _ = WORKER.set(Arc::clone(shared));
}

/// A session's entry, removed when the session ends.
pub struct Registration {
    connection_id: u64,
}

impl Registration {
    pub fn new(duck: &Connection, pid: u32, user: &str) -> Registration {
        let connection_id = duck.id();
        callers().insert(connection_id, Caller { pid, user: user.to_owned(), notices: Vec::new() });
        Registration { connection_id }
    }

    /// The warnings raised since the last call (an unknown pid, a timeout).
    pub fn take_notices(&self) -> Vec<ErrorInfo> {
        callers().get_mut(&self.connection_id).map(|c| std::mem::take(&mut c.notices)).unwrap_or_default()
    }
}

impl Drop for Registration {
    fn drop(&mut self) {
        callers().remove(&self.connection_id);
    }
}

/// Registers the functions, once per worker database.
pub fn register(conn: &Connection) -> Result<(), DuckError> {
    use Param::{BigInt, Integer};
    duck::register_function(
        conn,
        "pg_cancel_backend",
        &[(&[Integer], Returns::Boolean)],
        Strictness::Strict,
        |c, args| signal(c, args, Signal::Cancel),
    )?;
    duck::register_function(
        conn,
        "pg_terminate_backend",
        &[(&[Integer], Returns::Boolean), (&[Integer, BigInt], Returns::Boolean)],
        Strictness::Strict,
        |c, args| signal(c, args, Signal::Terminate),
    )?;
    // Under `pg_backend_pid()`.
    duck::register_function(
        conn,
        "mallard_backend_pid",
        &[(&[], Returns::BigInt)],
        Strictness::Strict,
        |c, _| match callers().get(&c) {
            Some(caller) => Ok(Output::Int(i64::from(caller.pid))),
            None => Err("no backend pid outside a client session".into()),
        },
    )?;
    duck::register_function(
        conn,
        "mallard_stat_activity",
        &[(&[], Returns::Varchar)],
        Strictness::Strict,
        |c, _| stat_activity(c),
    )
}

fn superuser(shared: &Shared, user: &str) -> bool {
    shared.config.auth.superusers.iter().any(|s| s == user)
}

fn warn(connection_id: u64, message: String) {
    if let Some(caller) = callers().get_mut(&connection_id) {
        caller.notices.push(ErrorInfo::new(Severity::Warning, SqlState::WARNING, message));
    }
}

/// The live session with this backend pid, from the session table.
fn find(shared: &Shared, pid: u32) -> Option<Activity> {
    shared.activity.snapshot().into_iter().find(|a| a.pid == pid)
}

fn signal(connection_id: u64, args: &[Arg<'_>], signal: Signal) -> Result<Output, String> {
    let Some(shared) = WORKER.get() else { return Err("no sessions to signal outside a worker".into()) };
    let Some(user) = callers().get(&connection_id).map(|c| c.user.clone()) else {
        return Err("sessions can only be signalled from a client session".into());
    };
    let pid = args[0].int();
    let timeout = args.get(1).map_or(0, |a| a.int());
    if timeout < 0 {
        return Err("\"timeout\" must not be negative".into());
    }
    let target = u32::try_from(pid).ok().and_then(|pid| find(shared, pid));
    let Some(target) = target else {
        warn(connection_id, format!("PID {pid} is not a PostgreSQL backend process"));
        return Ok(Output::Bool(false));
    };
    let (what, whose) = match signal {
        Signal::Cancel => ("cancel superuser query", "whose query is being canceled"),
        Signal::Terminate => ("terminate superuser process", "whose process is being terminated"),
    };
    if superuser(shared, &target.user) && !superuser(shared, &user) {
        return Err(format!("must be a superuser to {what}"));
    }
    if target.user != user && !superuser(shared, &user) {
        return Err(format!("must be a member of the role {whose} or member of pg_signal_backend"));
    }
    if !shared.sessions.signal(target.pid, signal) {
        let forwarded = shared.channel.send(&FromWorker::Signal { pid: target.pid, signal });
        if let Err(e) = forwarded {
            return Err(format!("could not signal backend {pid}: {e}"));
        }
    }
    if signal == Signal::Terminate && timeout > 0 {
        let deadline = Instant::now() + Duration::from_millis(timeout as u64);
        while find(shared, target.pid).is_some() {
            if Instant::now() >= deadline {
                warn(
                    connection_id,
                    format!("backend with PID {pid} did not terminate within {timeout} milliseconds"),
                );
                return Ok(Output::Bool(false));
            }
            std::thread::sleep(Duration::from_millis(5));
        }
    }
    Ok(Output::Bool(true))
}

/// Every session of the server as a JSON array, which the `pg_stat_activity` view
/// unpacks. As in PostgreSQL, what another user's session does (its statement, state
/// and times) is shown only to that user and to superusers.
fn stat_activity(connection_id: u64) -> Result<Output, String> {
    let Some(shared) = WORKER.get() else { return Ok(Output::Text("[]".into())) };
    let (me, user) = callers().get(&connection_id).map(|c| (c.pid, c.user.clone())).unwrap_or_default();
    let all = superuser(shared, &user);
    let rows: Vec<serde_json::Value> = shared
        .activity
        .snapshot()
        .into_iter()
        .map(|a| {
            let visible = all || a.user == user || a.pid == me;
            row(&a, visible)
        })
        .collect();
    Ok(Output::Text(serde_json::Value::Array(rows).to_string()))
}

fn row(a: &Activity, visible: bool) -> serde_json::Value {
    use serde_json::json;
    let (addr, port) = a.client();
    let waiting = matches!(a.state.name(), Some(s) if s.starts_with("idle"));
    if !visible {
        return json!({
            "pid": a.pid, "usename": a.user, "application_name": a.application_name,
            "query": "<insufficient privilege>", "visible": false,
            "worker_pid": a.worker_pid, "worker_generation": a.generation, "tls": null,
        });
    }
    json!({
        "pid": a.pid,
        "datname": a.database,
        "usename": a.user,
        "application_name": a.application_name,
        "client_addr": addr,
        "client_port": port,
        "backend_start": a.backend_start,
        "xact_start": a.xact_start,
        "query_start": a.query_start,
        "state_change": a.state_change,
        "wait_event_type": waiting.then_some("Client"),
        "wait_event": waiting.then_some("ClientRead"),
        "state": a.state.name(),
        "query": a.query,
        "visible": true,
        "worker_pid": a.worker_pid,
        "worker_generation": a.generation,
        "tls": a.tls,
    })
}
