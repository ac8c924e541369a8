//! The SQL functions of LISTEN/NOTIFY that run inside DuckDB: `pg_notify(channel,
//! payload)`, and the two that the catalog's `pg_listening_channels()` reads the
//! session's channels with. A function finds its session by DuckDB connection id, as
//! `set_config()` does. `pg_notify` only records the call: the session takes what its
//! statement recorded once the statement has run ([`Registration::take`]), and drops it
//! if the statement failed.

use std::collections::HashMap;
use std::sync::{LazyLock, Mutex, MutexGuard, PoisonError};

use mallard_protocol::channel::{MAX_CHANNEL, MAX_PAYLOAD};

use crate::duck::{self, Arg, Connection, DuckError, Output, Param, Returns, Strictness};

/// What the functions know of one session.
#[derive(Default)]
struct Entry {
    /// `pg_notify` calls of the running statement: (channel, payload).
    calls: Vec<(String, String)>,
    /// The channels the session listens on (committed), in order.
    channels: Vec<String>,
}

static SESSIONS: LazyLock<Mutex<HashMap<u64, Entry>>> = LazyLock::new(Default::default);

fn sessions() -> MutexGuard<'static, HashMap<u64, Entry>> {
    SESSIONS.lock().unwrap_or_else(PoisonError::into_inner)
}

/// A session's entry, removed when the session ends.
pub struct Registration {
    connection_id: u64,
}

impl Registration {
    pub fn new(duck: &Connection) -> Registration {
        let connection_id = duck.id();
        sessions().insert(connection_id, Entry::default());
        Registration { connection_id }
    }

    /// The `pg_notify` calls since the last `take`, in order.
    pub fn take(&self) -> Vec<(String, String)> {
        sessions().get_mut(&self.connection_id).map(|e| std::mem::take(&mut e.calls)).unwrap_or_default()
    }

    /// What `pg_listening_channels()` answers from now on.
    pub fn set_channels(&self, channels: &[String]) {
        if let Some(entry) = sessions().get_mut(&self.connection_id) {
            entry.channels = channels.to_vec();
        }
    }
}

impl Drop for Registration {
    fn drop(&mut self) {
        sessions().remove(&self.connection_id);
    }
}

/// Why PostgreSQL refuses a notification: the checks of `Async_Notify`, in its words.
/// Both limits are in bytes.
pub fn check(channel: &str, payload: &str) -> Result<(), &'static str> {
    if channel.is_empty() {
        Err("channel name cannot be empty")
    } else if channel.len() > MAX_CHANNEL {
        Err("channel name too long")
    } else if payload.len() > MAX_PAYLOAD {
        Err("payload string too long")
    } else {
        Ok(())
    }
}

/// Registers the functions, once per worker database.
pub fn register(conn: &Connection) -> Result<(), DuckError> {
    duck::register_function(
        conn,
        "pg_notify",
        &[(&[Param::Varchar, Param::Varchar], Returns::Void)],
        Strictness::CalledOnNull,
        pg_notify,
    )?;
    duck::register_function(
        conn,
        "mallard_listening_count",
        &[(&[], Returns::BigInt)],
        Strictness::Strict,
        |id, _| Ok(Output::Int(sessions().get(&id).map_or(0, |e| e.channels.len() as i64))),
    )?;
    duck::register_function(
        conn,
        "mallard_listening_channel",
        &[(&[Param::BigInt], Returns::Varchar)],
        Strictness::Strict,
        |id, args| {
            let i = args.first().map_or(-1, |a| a.int());
            let sessions = sessions();
            let channel = usize::try_from(i).ok().and_then(|i| sessions.get(&id)?.channels.get(i).cloned());
            Ok(Output::Text(channel.unwrap_or_default()))
        },
    )
}

/// `pg_notify(channel, payload)`: a NULL channel is an empty one, a NULL payload the
/// empty payload, as in PostgreSQL.
fn pg_notify(connection_id: u64, args: &[Arg<'_>]) -> Result<Output, String> {
    let text = |i: usize| match args.get(i) {
        Some(Arg::Text(t)) => *t,
        _ => "",
    };
    let (channel, payload) = (text(0), text(1));
    check(channel, payload)?;
    let mut sessions = sessions();
    let Some(entry) = sessions.get_mut(&connection_id) else {
        return Err("pg_notify() is only available in client sessions".into());
    };
    entry.calls.push((channel.to_owned(), payload.to_owned()));
    Ok(Output::Text(String::new()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_are_in_bytes() {
        assert_eq!(check("", "x"), Err("channel name cannot be empty"));
        assert_eq!(check(&"é".repeat(32), ""), Err("channel name too long"));
        assert_eq!(check(&format!("{}a", "é".repeat(31)), ""), Ok(()));
        assert_eq!(check("c", &"é".repeat(4000)), Err("payload string too long"));
        assert_eq!(check("c", &format!("{}a", "é".repeat(3999))), Ok(()));
    }
}
