//! Which rows the session's catalog views read (see [`crate::catalog::snapshot`]): the
//! worker's snapshot when it is current and the session's own transaction changed no
//! catalog object, DuckDB's catalog functions otherwise. The choice is a DuckDB
//! variable, which DuckDB reads when it plans a statement; a statement planned over
//! the source that is no longer right is planned again before it runs.
//!
//! Ordinary statements pay one comparison for this; only a statement that names the
//! catalog may wait for the snapshot to be built.
//!
//! A transaction sees the snapshot's tables as they were when it began, so inside one
//! the snapshot is read only when it was built before: never built there (it would be
//! invisible), and built before the session's next transaction when the last one had
//! to read the functions for want of it.

use std::cell::Cell;

use tracing::debug;

use super::portal::{Statement, StatementKind};
use super::query::Transaction;
use super::{Session, StepError};
use crate::catalog::snapshot::{Snapshot, Source, VARIABLE};
use crate::duck::exec;

/// The session's side of the snapshot.
pub(super) struct CatalogView<'s> {
    snapshot: &'s Snapshot,
    /// The open transaction (or the statement before its end) may have changed the
    /// catalog: only this session's own reads of DuckDB's functions show it. Ends, and
    /// makes the worker's snapshot out of date, when the transaction does.
    written: bool,
    /// The session `USE`d a database: the snapshot is of the one sessions start in.
    elsewhere: bool,
    /// The session made temporary objects, which only its own DuckDB connection sees:
    /// the snapshot, built on another, lacks them.
    temporary: bool,
    /// What the DuckDB variable says; `None` when setting it failed.
    source: Option<Source>,
    /// What [`Snapshot::builds`] said when the session's transaction began.
    began: Option<u64>,
    /// A statement in the transaction read DuckDB's functions because the snapshot
    /// was out of date or built after the transaction began.
    missed: bool,
}

impl<'s> CatalogView<'s> {
    /// The view of a session whose DuckDB connection's variable says `source`: on a new
    /// connection, `Source::Live` (an unset variable reads as false, the live
    /// functions); on one an earlier session left, what that session's view said.
    pub(super) fn new(snapshot: &'s Snapshot, source: Option<Source>) -> CatalogView<'s> {
        CatalogView {
            snapshot,
            written: false,
            elsewhere: false,
            temporary: false,
            source,
            began: None,
            missed: false,
        }
    }

    /// Notes a statement that may change the catalog (`writes`) or switches databases.
    pub(super) fn note(&mut self, writes: bool, switches_database: bool) {
        self.written |= writes;
        self.elsewhere |= switches_database;
    }

    /// The transaction ended: what it changed is everyone's now.
    pub(super) fn end_transaction(&mut self) {
        if std::mem::take(&mut self.written) {
            self.snapshot.invalidate();
        }
    }

    /// Whether statements prepared before may run again (see [`super::plans`]): not
    /// while the session's transaction has changed the catalog, which a rollback
    /// takes back, nor in a database it `USE`d, which the catalog's generation does
    /// not follow.
    pub(super) fn may_reuse_plans(&self) -> bool {
        !self.written && !self.elsewhere
    }

    /// Whether the snapshot may show this session its catalog.
    fn may_read_snapshot(&self) -> bool {
        !self.written && !self.elsewhere && !self.temporary
    }

    /// Whether the session ever made a temporary object.
    pub(super) fn made_temporary(&self) -> bool {
        self.temporary
    }

    /// What the variable that chooses the catalog's source says, if the session's
    /// DuckDB connection is otherwise left as a new one is: no temporary objects, no
    /// other current database, no transaction's catalog changes pending.
    pub(super) fn left_clean(&self) -> Option<Option<Source>> {
        (!self.temporary && !self.elsewhere && !self.written).then_some(self.source)
    }
}

impl Drop for CatalogView<'_> {
    /// A session that ends inside a statement has not reached the end of its
    /// transaction, but an autocommitted DDL statement has changed the catalog.
    fn drop(&mut self) {
        self.end_transaction();
    }
}

impl Session<'_> {
    /// Sets what the next statement's catalog views read, and returns it: the worker's
    /// snapshot when this session may read it (built first when out of date), DuckDB's
    /// functions otherwise.
    pub(super) fn choose_catalog(&mut self) -> Source {
        let wanted = if self.catalog.may_read_snapshot() {
            // A transaction begun by no path that noted it sees no snapshot.
            let began = (self.tx != Transaction::Idle).then(|| self.catalog.began.unwrap_or(0));
            let source = self.shared.snapshot.current(began);
            self.catalog.missed |= source == Source::Live && began.is_some();
            source
        } else {
            Source::Live
        };
        self.set_catalog_source(wanted);
        wanted
    }

    /// Just before the session's DuckDB transaction begins: notes which snapshot it
    /// will see, built first when the session's last transaction went without one.
    pub(super) fn catalog_before_begin(&mut self) {
        if std::mem::take(&mut self.catalog.missed) && self.catalog.may_read_snapshot() {
            self.shared.snapshot.current(None);
        }
        self.catalog.began = Some(self.shared.snapshot.builds());
    }

    /// Before every statement (see `note_catalog_change`): a variable that says
    /// "snapshot" when the snapshot is out of date, or when the session has changed
    /// the catalog since, goes back to the live functions, so that a statement that
    /// reads the catalog without naming it reads no stale rows. A comparison, unless so.
    pub(super) fn guard_catalog(&mut self) {
        let stale = match self.catalog.source {
            Some(Source::Live) => false,
            Some(Source::Snapshot(generation)) => {
                !self.catalog.may_read_snapshot() || !self.shared.snapshot.is_current(generation)
            }
            None => true,
        };
        if stale {
            self.set_catalog_source(Source::Live);
        }
    }

    /// Before a prepared statement runs: its catalog views read what they may now, and
    /// a statement DuckDB planned over the other source is planned again.
    pub(super) fn plan_catalog(&mut self, statement: &Statement) -> Result<(), StepError> {
        let planned = match &statement.kind {
            StatementKind::Duck(duck) => duck.catalog.as_ref().map(|planned| (duck, planned)),
            _ => None,
        };
        let Some((duck, planned)) = planned else { return Ok(()) };
        let source = self.choose_catalog();
        if same_plan(source, planned.get()) {
            return Ok(());
        }
        *duck.prepared.borrow_mut() = self.duck.prepare(&statement.sql)?;
        planned.set(source);
        Ok(())
    }

    /// The session made a temporary object: from now on its catalog is read live, and
    /// `pg_namespace` lists its temporary schema.
    pub(super) fn note_temporary_objects(&mut self) {
        if std::mem::replace(&mut self.catalog.temporary, true) {
            return;
        }
        if let Err(e) = exec(&self.duck, "SET VARIABLE mallard_temp_objects = true") {
            debug!(error = %e, "could not note the session's temporary objects");
        }
    }

    fn set_catalog_source(&mut self, source: Source) {
        if self.catalog.source.is_some_and(|s| same_plan(s, source)) {
            self.catalog.source = Some(source);
            return;
        }
        let snapshot = matches!(source, Source::Snapshot(_));
        match exec(&self.duck, &format!("SET VARIABLE {VARIABLE} = {snapshot}")) {
            Ok(()) => self.catalog.source = Some(source),
            Err(e) => {
                debug!(error = %e, "could not choose the catalog's source");
                self.catalog.source = None;
            }
        }
    }
}

/// Whether a statement planned over one source reads what it should from the other:
/// any two generations of the snapshot are the same tables (DuckDB plans a statement
/// again when they are replaced).
fn same_plan(a: Source, b: Source) -> bool {
    matches!((a, b), (Source::Live, Source::Live) | (Source::Snapshot(_), Source::Snapshot(_)))
}

/// A statement's catalog source as planned, for [`super::portal::DuckStatement`].
pub(super) type Planned = Option<Cell<Source>>;
