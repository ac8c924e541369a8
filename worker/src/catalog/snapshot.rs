//! The worker's copy of what DuckDB's catalog functions say about the served database,
//! so that a catalog query scans a few small tables instead of every object of every
//! database, several times over (psql's `\d t` sends nine queries or more).
//!
//! `pg_catalog.sql` derives the user objects' rows in [`RELATIONS`], each a `live_`
//! view, a `snapshot_` table and a view that reads one of the two. Which one a statement
//! reads is the session's DuckDB variable [`VARIABLE`], set by the session (see
//! `session::catalog`): the snapshot only while it is current and the session's own
//! transaction changed no catalog object, since only that session sees its changes.
//!
//! Current means built at the worker's latest [`Snapshot::generation`], which sessions
//! bump once a transaction that may have changed the catalog has ended. The tables are
//! rebuilt on a connection of the worker's own, in a transaction of their own, when a
//! catalog query finds them out of date: never inside a client's transaction, and never
//! for the ordinary statements between two catalog queries.
//!
//! A client's transaction sees the tables as they were when it began (DuckDB's MVCC):
//! tables built after that are invisible to it, empty or stale. So a session in a
//! transaction reads the snapshot only when its tables were built before the
//! transaction began ([`Snapshot::builds`]), and DuckDB's functions otherwise.
//!
//! A worker sees every change to its catalog in the `memory` and `duckdb` storage modes
//! (one worker per writable database, or none that writes); not under DuckLake, whose
//! catalog other workers and hosts change, so there the snapshot is off.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use crate::duck::{exec, quote_ident, Connection, Database, DuckError};

/// The derived relations, in the order they are built: each reads only the functions
/// and the relations before it.
pub const RELATIONS: &[&str] = &["constraint_rows", "columns", "indexes", "relations", "index_keys"];

/// The session variable that says a statement's catalog views read the snapshot.
pub const VARIABLE: &str = "mallard_catalog_snapshot";

/// Which rows a session's catalog views read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    /// DuckDB's catalog functions, as the session's transaction sees them.
    Live,
    /// The worker's tables, built at this generation.
    Snapshot(u64),
}

/// The worker's snapshot of its catalog and the generation of its catalog.
pub struct Snapshot {
    /// False where this worker does not see every change to its catalog (DuckLake).
    enabled: bool,
    /// Bumped after every transaction that may have changed the catalog.
    generation: AtomicU64,
    /// How many builds have committed.
    builds: AtomicU64,
    builder: Mutex<Builder>,
}

struct Builder {
    db: Arc<Database>,
    /// The database the sessions are in (`USE`d at connect).
    database: String,
    /// Made at the first build.
    conn: Option<Connection>,
    /// The generation the tables hold; `None` before the first build and after a failed
    /// one. While it is set, the tables are those of the last committed build.
    built: Option<u64>,
}

impl Snapshot {
    pub fn new(db: Arc<Database>, database: &str, enabled: bool) -> Snapshot {
        Snapshot {
            enabled,
            generation: AtomicU64::new(0),
            builds: AtomicU64::new(0),
            builder: Mutex::new(Builder { db, database: database.to_owned(), conn: None, built: None }),
        }
    }

    /// The catalog may have changed: a transaction that ran DDL has ended.
    pub fn invalidate(&self) {
        self.generation.fetch_add(1, Ordering::SeqCst);
    }

    /// The catalog's generation now.
    pub fn generation(&self) -> u64 {
        self.generation.load(Ordering::SeqCst)
    }

    /// Whether the tables hold the catalog of this generation (cheap once the answer is
    /// yes: a session remembers the generation it found current).
    pub fn is_current(&self, generation: u64) -> bool {
        self.enabled && generation == self.generation()
    }

    /// How many builds have committed: read before a client's transaction begins, it
    /// says which tables that transaction can see.
    pub fn builds(&self) -> u64 {
        self.builds.load(Ordering::SeqCst)
    }

    /// The snapshot, current, for a reader outside a transaction (`began` is `None`)
    /// or in one that began when [`Snapshot::builds`] said `began`: rebuilt first when
    /// out of date and the reader would see the new tables. `Live` when it is off,
    /// could not be built, or was built after the reader's transaction began.
    pub fn current(&self, began: Option<u64>) -> Source {
        if !self.enabled {
            return Source::Live;
        }
        let mut builder = self.lock();
        // Read before the build's transaction starts: DDL that commits after that start
        // bumps the generation past this one, so the tables are never taken as newer
        // than they are.
        let generation = self.generation();
        if builder.built == Some(generation) {
            let visible = began.is_none_or(|began| self.builds() <= began);
            return if visible { Source::Snapshot(generation) } else { Source::Live };
        }
        if began.is_some() {
            return Source::Live;
        }
        let started = std::time::Instant::now();
        match builder.build() {
            Ok(()) => {
                builder.built = Some(generation);
                self.builds.fetch_add(1, Ordering::SeqCst);
                tracing::debug!(
                    generation,
                    ms = started.elapsed().as_millis() as u64,
                    "catalog snapshot built"
                );
                Source::Snapshot(generation)
            }
            Err(e) => {
                tracing::warn!(error = %e, "could not build the catalog snapshot; reading DuckDB's catalog");
                builder.built = None;
                Source::Live
            }
        }
    }

    fn lock(&self) -> MutexGuard<'_, Builder> {
        // A failed build leaves `built` as None, which any later call can repair.
        self.builder.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

impl Builder {
    /// Copies each live view into its table, in one transaction: later views read the
    /// tables copied before them (the connection's variable switches them over), so
    /// each of DuckDB's functions is scanned once.
    fn build(&mut self) -> Result<(), DuckError> {
        if self.conn.is_none() {
            let conn = Connection::connect(&self.db)?;
            exec(&conn, &format!("USE {}", quote_ident(&self.database)))?;
            self.conn = Some(conn);
        }
        let conn = self.conn.as_ref().expect("connected above");
        exec(conn, &format!("SET VARIABLE {VARIABLE} = false"))?;
        exec(conn, "BEGIN TRANSACTION")?;
        let copied = RELATIONS.iter().enumerate().try_for_each(|(i, name)| {
            if i == 1 {
                exec(conn, &format!("SET VARIABLE {VARIABLE} = true"))?;
            }
            let started = std::time::Instant::now();
            exec(conn, &copy(name))?;
            tracing::trace!(
                relation = name,
                ms = started.elapsed().as_millis() as u64,
                "catalog snapshot copied"
            );
            Ok(())
        });
        let end = if copied.is_ok() { "COMMIT" } else { "ROLLBACK" };
        let ended = exec(conn, end);
        copied.and(ended)
    }
}

/// The statement that refills one snapshot table from its live view.
fn copy(name: &str) -> String {
    let schema = super::SCHEMA;
    format!("CREATE OR REPLACE TABLE {schema}.snapshot_{name} AS SELECT * FROM {schema}.live_{name}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_relation_has_its_three_parts() {
        let sql = include_str!("pg_catalog.sql");
        for name in RELATIONS {
            for part in [format!("live_{name}"), format!("snapshot_{name}"), name.to_string()] {
                assert!(sql.contains(&format!("{}.{part} AS", crate::catalog::SCHEMA)), "{name}: no {part}");
            }
        }
        assert!(sql.contains(VARIABLE));
    }
}
