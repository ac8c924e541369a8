//! SQL cursors: `DECLARE`, `FETCH`, `MOVE`, `CLOSE`. A cursor is a portal named by
//! SQL, so the protocol's `Describe` of a portal sees it too (psycopg describes its
//! server-side cursors that way). Cursors scan forward only, as PostgreSQL's do
//! without `SCROLL`.

use std::rc::Rc;

use mallard_protocol::pg::backend::Message;
use mallard_protocol::pg::{Format, SqlState};

use super::portal::{
    check_supported, describe, result_columns, run, Column, PortalState, RowSink, Rows, Statement,
    StatementKind,
};
use super::query::Transaction;
use super::Session;
use super::StepError;
use crate::duck::{ResultKind, Value};
use crate::sql::utility::{DeclareCursor, Fetch, FetchCount, FetchDirection};

impl Session<'_> {
    /// `DECLARE name CURSOR FOR query`, the query parsed and its values bound.
    pub(super) fn declare_cursor(
        &mut self,
        declare: &DeclareCursor,
        query: Rc<Statement>,
        values: Vec<Value>,
    ) -> Result<(), StepError> {
        if !declare.hold && self.tx == Transaction::Idle {
            return Err(StepError::query(
                SqlState::NO_ACTIVE_SQL_TRANSACTION,
                "DECLARE CURSOR can only be used in transaction blocks",
            ));
        }
        if self.portals.contains_key(&declare.name) {
            return Err(StepError::query(
                SqlState::DUPLICATE_CURSOR,
                format!("cursor \"{}\" already exists", declare.name),
            ));
        }
        if !matches!(&query.kind, StatementKind::Duck(d) if d.returns_rows) {
            return Err(StepError::query(SqlState::SYNTAX_ERROR, "cursor query must return rows"));
        }
        let formats = if declare.binary { vec![Format::Binary] } else { Vec::new() };
        self.bind_portal(&declare.name, query, values, formats, declare.hold)?;
        self.conn.send(&Message::CommandComplete("DECLARE CURSOR".into()));
        Ok(())
    }

    /// `FETCH` and `MOVE`: rows from the cursor's current position, in `formats` (the
    /// FETCH statement's own result formats), described first for the simple protocol.
    pub(super) fn fetch(
        &mut self,
        fetch: &Fetch,
        moving: bool,
        formats: &[Format],
        described: bool,
    ) -> Result<(), StepError> {
        let name = fetch.cursor.as_str();
        let limit = match fetch.direction {
            FetchDirection::Forward(FetchCount::Rows(n)) => Some(n),
            FetchDirection::Forward(FetchCount::All) => None,
            FetchDirection::Relative(n) if n >= 0 => Some(n.unsigned_abs().min(1)),
            _ => {
                return Err(StepError::Query(
                    mallard_protocol::pg::backend::ErrorInfo::error(
                        SqlState::OBJECT_NOT_IN_PREREQUISITE_STATE,
                        "cursor can only scan forward",
                    )
                    .with_hint("Declare it with SCROLL option to enable backward scan."),
                ))
            }
        };
        let columns = self.open_cursor(name)?;
        if described && !moving {
            self.conn.send(&Message::RowDescription(describe(&columns, formats)));
        }
        let style = self.settings.text_style();
        let portal = self.portals.get_mut(name).expect("opened above");
        let sent = match &mut portal.state {
            PortalState::Open(rows) if limit != Some(0) && moving => {
                rows.send(formats, limit, &style, &mut Discard(Vec::new()))?.0
            }
            PortalState::Open(rows) if limit != Some(0) => {
                let mut sink = super::extended::ConnSink(self.conn, &self.control);
                rows.send(formats, limit, &style, &mut sink)?.0
            }
            _ => 0,
        };
        let verb = if moving { "MOVE" } else { "FETCH" };
        self.conn.send(&Message::CommandComplete(format!("{verb} {sent}")));
        Ok(())
    }

    /// Starts a cursor's query if it has not run yet; returns its columns.
    pub(super) fn open_cursor(&mut self, name: &str) -> Result<Vec<Column>, StepError> {
        let Some(portal) = self.portals.get(name) else {
            return Err(StepError::query(
                SqlState::INVALID_CURSOR_NAME,
                format!("cursor \"{name}\" does not exist"),
            ));
        };
        match &portal.state {
            PortalState::Open(rows) => return Ok(rows.columns.clone()),
            PortalState::Done => return Ok(Vec::new()),
            PortalState::Ready => {}
        }
        self.park_live()?;
        let statement = Rc::clone(&self.portals.get(name).expect("checked above").statement);
        self.plan_catalog(&statement)?;
        let portal = self.portals.get_mut(name).expect("checked above");
        let StatementKind::Duck(statement) = &portal.statement.kind else {
            return Ok(Vec::new());
        };
        let mut result = run(statement, &portal.values)?;
        self.control.reinterrupt();
        if !matches!(result.kind(), ResultKind::Rows) {
            portal.state = PortalState::Done;
            return Ok(Vec::new());
        }
        let columns = result_columns(&mut result, &statement.names, &statement.origins);
        check_supported(&columns)?;
        portal.state = PortalState::Open(Rows::new(result, columns.clone()));
        self.live = Some(name.to_owned());
        Ok(columns)
    }

    /// `CLOSE name` / `CLOSE ALL`.
    pub(super) fn close_cursor(&mut self, name: Option<&str>) -> Result<(), StepError> {
        match name {
            None => {
                let names: Vec<String> = self.portals.keys().filter(|n| !n.is_empty()).cloned().collect();
                for n in names {
                    self.drop_portal(&n);
                }
            }
            Some(n) if self.portals.contains_key(n) => self.drop_portal(n),
            Some(n) => {
                return Err(StepError::query(
                    SqlState::INVALID_CURSOR_NAME,
                    format!("cursor \"{n}\" does not exist"),
                ))
            }
        }
        self.conn.send(&Message::CommandComplete("CLOSE CURSOR".into()));
        Ok(())
    }
}

/// Where `MOVE` sends the rows it skips.
struct Discard(Vec<u8>);

impl RowSink for Discard {
    fn buffer(&mut self) -> &mut Vec<u8> {
        &mut self.0
    }

    fn flushed(&mut self) -> std::io::Result<()> {
        self.0.clear();
        Ok(())
    }

    fn interrupted(&self) -> bool {
        false
    }
}
