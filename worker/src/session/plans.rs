//! The statements a session prepared for simple queries and unnamed `Parse`s, kept for
//! the next time the same text comes. psql, pgbench `-M simple` and `-M extended`,
//! psycopg, node-postgres and pgjdbc below its prepare threshold send the same few
//! statements again and again as text; each one analysed and prepared in DuckDB costs
//! more than running it (a third of a `select 1`). PostgreSQL plans such statements
//! each time too, but its planner is cheaper than DuckDB's.
//!
//! An entry is used again only while everything its plan read is unchanged:
//! - the text and the parameter types the client named;
//! - the settings the analysis and DuckDB's binding read (`search_path`, `TimeZone`,
//!   `DateStyle`, `IntervalStyle`, see [`super::settings::Settings::plan_inputs`]);
//! - the worker's catalog: the snapshot's generation moves when any session's
//!   transaction that changed the catalog ends, and the session's own catalog changes
//!   empty its cache at once (and stop it for the rest of such a transaction, whose
//!   changes a rollback takes back).
//!
//! Only statements DuckDB runs that read and write rows are kept; not those that read
//! the session's settings or the catalog views, which DuckDB plans with the values of
//! their variables at the time. A kept statement is shared as a named one bound to
//! several portals is: a portal still streaming from it is read into memory before it
//! runs again.
//!
//! A session that leaves its DuckDB connection to the worker's next session (see
//! `Session::serve_to_end`) leaves its statements with it, parked: a client that
//! connects for a few statements, as `pgbench -C` and web requests do, finds them
//! prepared. The same rules say when they are used again: the settings are the next
//! session's, and the catalog's generation is the worker's. They stay with a user:
//! another user's session starts without them.

use std::collections::HashMap;
use std::rc::Rc;

use super::portal::{ParkedStatement, Statement, StatementKind};
use crate::duck::Connection;
use crate::sql::Command;

/// At most this many statements per session; the least recently used one goes first.
/// An ORM's or a dashboard's working set of statements fits, and a session that sends
/// every statement with new literals in it costs a bounded amount of memory.
const CAPACITY: usize = 16;

#[derive(Default)]
pub(super) struct Plans {
    entries: HashMap<String, Entry>,
    /// Counts lookups, for finding the least recently used entry.
    clock: u64,
}

struct Entry<S = Rc<Statement>> {
    param_types: Vec<u32>,
    settings: [String; 4],
    /// The catalog's generation when the statement was prepared.
    generation: u64,
    used: u64,
    statement: S,
}

impl<S> Entry<S> {
    fn with_statement<T>(self, f: impl FnOnce(S) -> Option<T>) -> Option<Entry<T>> {
        let Entry { param_types, settings, generation, used, statement } = self;
        Some(Entry { param_types, settings, generation, used, statement: f(statement)? })
    }
}

/// A session's statements, parked with its DuckDB connection for the next session.
pub(super) struct Parked {
    /// The user whose session prepared them.
    user: String,
    entries: Vec<(String, Entry<ParkedStatement>)>,
}

impl Plans {
    /// The statement prepared for this text, parameter types and settings, if the
    /// catalog is still at the generation it was prepared at.
    pub(super) fn get(
        &mut self,
        sql: &str,
        param_types: &[u32],
        settings: [&str; 4],
        generation: u64,
    ) -> Option<Rc<Statement>> {
        let entry = self.entries.get_mut(sql)?;
        if entry.generation != generation {
            // The catalog changed under every entry of an older generation.
            self.entries.retain(|_, e| e.generation == generation);
            return None;
        }
        if entry.param_types != param_types || !entry.settings.iter().eq(settings.iter()) {
            return None;
        }
        self.clock += 1;
        entry.used = self.clock;
        Some(Rc::clone(&entry.statement))
    }

    /// Keeps a statement just prepared under these settings at this generation, if it
    /// is of a kind that is kept.
    pub(super) fn insert(
        &mut self,
        sql: &str,
        param_types: &[u32],
        settings: [&str; 4],
        generation: u64,
        statement: &Rc<Statement>,
    ) {
        if !kept(statement) {
            return;
        }
        if self.entries.len() >= CAPACITY && !self.entries.contains_key(sql) {
            let oldest = self.entries.iter().min_by_key(|(_, e)| e.used).map(|(k, _)| k.clone());
            if let Some(oldest) = oldest {
                self.entries.remove(&oldest);
            }
        }
        self.clock += 1;
        let entry = Entry {
            param_types: param_types.to_vec(),
            settings: settings.map(str::to_owned),
            generation,
            used: self.clock,
            statement: Rc::clone(statement),
        };
        self.entries.insert(sql.to_owned(), entry);
    }

    /// Forgets every statement: the session changed the catalog.
    pub(super) fn clear(&mut self) {
        self.entries.clear();
    }

    /// The statements a session of `user` leaves, each one that nothing else holds
    /// (the session's portals and named statements are gone by then).
    pub(super) fn park(self, user: &str) -> Parked {
        let entries = self
            .entries
            .into_iter()
            .filter_map(|(sql, entry)| {
                let entry = entry.with_statement(|s| Rc::into_inner(s)?.park())?;
                Some((sql, entry))
            })
            .collect();
        Parked { user: user.to_owned(), entries }
    }

    /// The statements the last session of `conn` parked, if it was `user`'s.
    pub(super) fn take_up(parked: Parked, user: &str, conn: &Connection) -> Plans {
        if parked.user != user {
            return Plans::default();
        }
        let entries: HashMap<_, _> = parked
            .entries
            .into_iter()
            .filter_map(|(sql, entry)| {
                let entry = entry.with_statement(|s| Statement::take_up(s, conn).map(Rc::new))?;
                Some((sql, entry))
            })
            .collect();
        let clock = entries.values().map(|e| e.used).max().unwrap_or(0);
        Plans { entries, clock }
    }

    pub(super) fn len(&self) -> usize {
        self.entries.len()
    }
}

/// Whether a statement may be kept: DuckDB runs it, it changes no catalog object, and
/// its plan holds no value of the session's variables.
fn kept(statement: &Statement) -> bool {
    let rows = matches!(
        statement.command,
        Command::Select | Command::Insert | Command::Update | Command::Delete | Command::Merge
    );
    rows && matches!(statement.kind, StatementKind::Duck(_))
        && !crate::catalog::reads_settings(&statement.sql)
        && !crate::catalog::reads_catalog(&statement.sql)
}
