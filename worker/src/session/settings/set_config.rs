//! `set_config(name, value, is_local)`: a function a statement calls inside DuckDB,
//! while the settings are the session's. A call checks the value as `SET` would (an
//! unknown name, a value the setting refuses and a setting that cannot change fail the
//! statement with PostgreSQL's error), records the change for its session, and returns
//! the value as `SHOW` will show it. The session applies what its statement recorded
//! once the statement has run ([`Registration::take`], [`super::Settings::apply`]), and
//! drops it if the statement failed, as PostgreSQL undoes it with the transaction.

use std::collections::HashMap;
use std::sync::{LazyLock, Mutex};

use crate::duck::{self, Arg, Connection, DuckError, Output, Param, Returns, Strictness};

/// One `set_config` call: what `SET [LOCAL] name = value` it stands for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Call {
    pub name: String,
    pub value: String,
    pub local: bool,
}

/// The calls of each session's running statement, by DuckDB connection id.
static CALLS: LazyLock<Mutex<HashMap<u64, Vec<Call>>>> = LazyLock::new(Default::default);

fn calls() -> std::sync::MutexGuard<'static, HashMap<u64, Vec<Call>>> {
    CALLS.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// A session's entry in the registry, removed when the session ends.
pub struct Registration {
    connection_id: u64,
}

impl Registration {
    pub fn new(duck: &Connection) -> Registration {
        let connection_id = duck.id();
        calls().insert(connection_id, Vec::new());
        Registration { connection_id }
    }

    /// The calls made since the last `take`, in order.
    pub fn take(&self) -> Vec<Call> {
        calls().get_mut(&self.connection_id).map(std::mem::take).unwrap_or_default()
    }
}

impl Drop for Registration {
    fn drop(&mut self) {
        calls().remove(&self.connection_id);
    }
}

/// Registers `set_config(text, text, boolean)`, once per worker database.
pub fn register(conn: &Connection) -> Result<(), DuckError> {
    const OVERLOADS: &[(&[Param], Returns)] =
        &[(&[Param::Varchar, Param::Varchar, Param::Boolean], Returns::Varchar)];
    duck::register_function(conn, "set_config", OVERLOADS, Strictness::CalledOnNull, call)
}

fn call(connection_id: u64, args: &[Arg<'_>]) -> Result<Output, String> {
    let name = match args.first() {
        Some(Arg::Text(name)) => *name,
        _ => return Err("SET requires parameter name".into()),
    };
    // PostgreSQL: a NULL value sets the empty string, a NULL is_local means false.
    let value = match args.get(1) {
        Some(Arg::Text(value)) => *value,
        _ => "",
    };
    let local = matches!(args.get(2), Some(Arg::Bool(true)));
    let shown = super::Settings::check(name, value).map_err(|e| e.message)?;
    let mut calls = calls();
    let Some(pending) = calls.get_mut(&connection_id) else {
        return Err("set_config() is only available in client sessions".into());
    };
    pending.push(Call { name: name.to_owned(), value: value.to_owned(), local });
    Ok(Output::Text(shown))
}
