//! The extended query protocol: Parse, Bind, Describe, Execute, Close, Sync.
//!
//! After an error the session discards every message up to the next Sync, and the
//! implicit transaction that an extended batch runs in (outside a block) commits at
//! Sync, as PostgreSQL does.

use std::rc::Rc;

use mallard_protocol::pg::backend::{ErrorInfo, Message};
use mallard_protocol::pg::frontend::Target;
use mallard_protocol::pg::{Format, Severity, SqlState};

use super::portal::{
    check_formats, check_supported, describe, rename, result_columns, run, Column, DuckStatement, Portal,
    PortalState, RowSink, Rows, Statement, StatementKind,
};
use super::query::{aborted, Transaction};
use super::{Session, SessionError, StepError};
use crate::duck::{ResultKind, Value};
use crate::sql::utility::Savepoint;
use crate::sql::Command;
use crate::types::{decode_binary, decode_text, TextStyle};

/// A `Bind` parameter as the client sent it.
pub struct RawParam<'a> {
    pub format: Format,
    pub bytes: Option<&'a [u8]>,
}

impl Session<'_> {
    pub(super) fn parse(&mut self, name: &str, sql: &str, param_types: &[u32]) -> Result<(), StepError> {
        if !name.is_empty() && (self.statements.contains_key(name) || self.stale.contains(name)) {
            return Err(StepError::query(
                SqlState::DUPLICATE_PREPARED_STATEMENT,
                format!("prepared statement \"{name}\" already exists"),
            ));
        }
        let statement = self.parse_statement(sql, param_types, name.is_empty())?;
        if self.tx == Transaction::Failed && !ends_transaction(&statement.command) {
            return Err(aborted());
        }
        if let StatementKind::Duck(d) = &statement.kind {
            tracing::debug!(statement = name, params = ?d.param_oids, columns = ?d.columns, "prepared in DuckDB");
        }
        self.statements.insert(name.to_owned(), statement);
        self.conn.send(&Message::ParseComplete);
        Ok(())
    }

    pub(super) fn bind(
        &mut self,
        portal: &str,
        statement: &str,
        params: Vec<RawParam<'_>>,
        formats: Vec<Format>,
    ) -> Result<(), StepError> {
        let Some(stmt) = self.statements.get(statement).cloned() else {
            return Err(self.missing_or_stale(statement));
        };
        if self.tx == Transaction::Failed && !ends_transaction(&stmt.command) {
            return Err(aborted());
        }
        let oids = stmt.param_oids();
        if params.len() != oids.len() {
            return Err(StepError::query(
                SqlState::PROTOCOL_VIOLATION,
                format!(
                    "bind message supplies {} parameters, but prepared statement \"{statement}\" requires {}",
                    params.len(),
                    oids.len()
                ),
            ));
        }
        let style = self.settings.text_style();
        let values = params
            .iter()
            .zip(oids)
            .enumerate()
            .map(|(i, (p, &oid))| decode_param(i, oid, p, &style, self.conn.encoding()))
            .collect::<Result<Vec<_>, _>>()?;
        self.bind_portal(portal, stmt, values, formats, false)?;
        self.conn.send(&Message::BindComplete);
        Ok(())
    }

    /// Creates a portal; the unnamed one replaces its predecessor.
    pub(super) fn bind_portal(
        &mut self,
        name: &str,
        statement: Rc<Statement>,
        values: Vec<Value>,
        formats: Vec<Format>,
        holdable: bool,
    ) -> Result<(), StepError> {
        if !name.is_empty() && self.portals.contains_key(name) {
            return Err(StepError::query(
                SqlState::DUPLICATE_CURSOR,
                format!("cursor \"{name}\" already exists"),
            ));
        }
        if let StatementKind::Duck(DuckStatement { columns: Some(columns), .. }) = &statement.kind {
            check_formats(&formats, columns.len())?;
        }
        self.drop_portal(name);
        self.portals.insert(
            name.to_owned(),
            Portal { statement, values, formats, state: PortalState::Ready, holdable },
        );
        Ok(())
    }

    /// A statement's absence: stale after a reload's move, or never prepared.
    fn missing_or_stale(&self, name: &str) -> StepError {
        if self.stale.contains(name) {
            Self::stale_statement()
        } else {
            missing_statement(name)
        }
    }

    pub(super) fn describe(&mut self, target: Target, name: &str) -> Result<(), StepError> {
        match target {
            Target::Statement => {
                let Some(stmt) = self.statements.get(name).cloned() else {
                    return Err(self.missing_or_stale(name));
                };
                self.conn.send(&Message::ParameterDescription(stmt.param_oids().to_vec()));
                match &stmt.kind {
                    StatementKind::Duck(d) if d.returns_rows => {
                        // Columns DuckDB types only at execution are described as text,
                        // PostgreSQL's type for an unknown.
                        let columns = d.columns.clone().unwrap_or_else(|| {
                            let mut columns: Vec<Column> = d
                                .prepared
                                .borrow()
                                .columns()
                                .into_iter()
                                .map(|(name, ty)| Column::new(name, known_or_text(ty)))
                                .collect();
                            rename(&mut columns, &d.names);
                            columns
                        });
                        self.conn.send(&Message::RowDescription(describe(&columns, &[])));
                    }
                    StatementKind::Cursor => match &stmt.command {
                        Command::Fetch(fetch) => {
                            let columns = self.open_cursor(&fetch.cursor)?;
                            self.conn.send(&Message::RowDescription(describe(&columns, &[])));
                        }
                        _ => self.conn.send(&Message::NoData),
                    },
                    StatementKind::Session => self.describe_session(&stmt.command)?,
                    _ => self.conn.send(&Message::NoData),
                }
            }
            Target::Portal => {
                let Some(portal) = self.portals.get(name) else { return Err(missing_portal(name)) };
                if matches!(portal.statement.kind, StatementKind::Session) {
                    let statement = Rc::clone(&portal.statement);
                    return self.describe_session(&statement.command);
                }
                let columns = match (&portal.statement.kind, &portal.state) {
                    (StatementKind::Cursor, _) => match &portal.statement.command {
                        Command::Fetch(fetch) => {
                            let cursor = fetch.cursor.clone();
                            Some(self.open_cursor(&cursor)?)
                        }
                        _ => None,
                    },
                    (_, PortalState::Open(rows)) => Some(rows.columns.clone()),
                    (StatementKind::Duck(d), _) if !d.returns_rows => None,
                    (StatementKind::Duck(d), _) => match &d.columns {
                        Some(columns) => Some(columns.clone()),
                        // Only execution tells: start it now, as Execute follows anyway.
                        None => {
                            self.start_portal(name, false)?;
                            match &self.portals[name].state {
                                PortalState::Open(rows) => Some(rows.columns.clone()),
                                _ => None,
                            }
                        }
                    },
                    _ => None,
                };
                match columns {
                    Some(columns) => {
                        let formats = self.portals[name].formats.clone();
                        check_formats(&formats, columns.len())?;
                        self.conn.send(&Message::RowDescription(describe(&columns, &formats)));
                    }
                    None => self.conn.send(&Message::NoData),
                }
            }
        }
        Ok(())
    }

    /// Runs a portal, or continues it: up to `limit` rows, then `PortalSuspended`.
    /// `described` sends the `RowDescription` first, as the simple protocol does.
    pub(super) fn execute_portal(
        &mut self,
        name: &str,
        limit: Option<u64>,
        described: bool,
    ) -> Result<(), StepError> {
        let statement = self.portals.get(name).map(|p| Rc::clone(&p.statement));
        if let Some(statement) = &statement {
            self.note_catalog_change(&statement.command, &statement.sql);
        }
        let outcome = self.execute_named_portal(name, limit, described).map_err(|e| match (e, statement) {
            // A duplicate key names its constraint after the table the statement writes.
            (StepError::Query(mut info), Some(statement)) if info.code == SqlState::UNIQUE_VIOLATION => {
                crate::duck::constraint_of_statement(&mut info.object, &mut info.message, &statement.sql);
                StepError::Query(info)
            }
            (e, _) => e,
        });
        for notice in self.caller.take_notices() {
            self.conn.send(&Message::NoticeResponse(notice));
        }
        self.take_notify_calls(outcome.is_ok());
        // What set_config() asked for holds once its statement ran, and never if it failed.
        let calls = self.config_calls.take();
        match outcome {
            Ok(()) if !calls.is_empty() => self.settings.apply(&calls).map_err(StepError::Query),
            other => other,
        }
    }

    fn execute_named_portal(
        &mut self,
        name: &str,
        limit: Option<u64>,
        described: bool,
    ) -> Result<(), StepError> {
        let Some(portal) = self.portals.get(name) else { return Err(missing_portal(name)) };
        let statement = Rc::clone(&portal.statement);
        if writes(&statement.command) {
            self.savepoints.wrote();
        }
        match &statement.kind {
            StatementKind::Empty => {
                self.conn.send(&Message::EmptyQueryResponse);
                return Ok(());
            }
            StatementKind::Session => {
                return self.session_command(&statement.command, &statement.sql, described)
            }
            _ if self.tx == Transaction::Failed => return Err(aborted()),
            StatementKind::Answer(tag, warning) => {
                if let Some(warning) = warning {
                    let notice =
                        ErrorInfo::new(Severity::Warning, SqlState::FEATURE_NOT_SUPPORTED, warning.clone());
                    self.conn.send(&Message::NoticeResponse(notice));
                }
                self.conn.send(&Message::CommandComplete((*tag).into()));
                return Ok(());
            }
            StatementKind::Script(script) => {
                self.note_lake_write(&statement.command)?;
                self.run_script(script)?;
                self.conn.send(&Message::CommandComplete(statement.command.tag(0)));
                return Ok(());
            }
            StatementKind::Declare(query) => {
                let Command::DeclareCursor(declare) = &statement.command else { unreachable!("declare") };
                let values = self.portals[name].values.clone();
                return self.declare_cursor(declare, Rc::clone(query), values);
            }
            StatementKind::Cursor if matches!(statement.command, Command::Close(_)) => {
                let Command::Close(cursor) = &statement.command else { unreachable!("close") };
                return self.close_cursor(cursor.as_deref());
            }
            StatementKind::Copy if self.read_only && statement.command.tag(0) == "COPY FROM" => {
                return Err(StepError::query(
                    SqlState::READ_ONLY_SQL_TRANSACTION,
                    "cannot execute COPY FROM in a read-only transaction",
                ))
            }
            StatementKind::Copy => {
                self.park_live()?;
                return match self.copy_statement(&statement.sql) {
                    Some(outcome) => outcome,
                    None => Err(StepError::query(SqlState::INTERNAL_ERROR, "not a COPY with the client")),
                };
            }
            StatementKind::Duck(_) if self.read_only && writes(&statement.command) => {
                return Err(StepError::query(
                    SqlState::READ_ONLY_SQL_TRANSACTION,
                    format!(
                        "cannot execute {} in a read-only transaction",
                        statement.command.tag(0).trim_end_matches(" 0")
                    ),
                ))
            }
            StatementKind::Cursor | StatementKind::Duck(_) => {}
        }
        self.control.begin_statement(self.statement_timeout());
        let outcome = match &statement.command {
            Command::Fetch(fetch) | Command::Move(fetch) => {
                let formats = self.portals[name].formats.clone();
                let moving = matches!(statement.command, Command::Move(_));
                self.fetch(fetch, moving, &formats, described)
            }
            _ => self.run_portal(name, &statement.command, limit, described),
        };
        match (outcome, self.control.end_statement()) {
            (Err(StepError::Query(_)), Some(why)) => {
                Err(StepError::query(SqlState::QUERY_CANCELED, why.message()))
            }
            (outcome, _) => outcome,
        }
    }

    fn run_portal(
        &mut self,
        name: &str,
        command: &Command,
        limit: Option<u64>,
        described: bool,
    ) -> Result<(), StepError> {
        if matches!(self.portals[name].state, PortalState::Ready) {
            // An extended batch runs in one implicit transaction, as in PostgreSQL. A
            // batch of one statement that runs to its end needs none of its own: DuckDB
            // gives the statement its own transaction, as it does a simple query's.
            // That is known when the batch's Sync is already here.
            let alone = limit.is_none() && self.conn.next_tag() == Some(b'S');
            let lake_write = self.note_lake_write(command)?;
            if (lake_write || !described && !alone) && self.tx == Transaction::Idle {
                self.begin_implicit()?;
            }
            let started = self.start_portal(name, described)?;
            self.control.reinterrupt();
            if let Some(tag) = started {
                self.conn.send(&Message::CommandComplete(tag));
                return Ok(());
            }
        } else if self.live.as_deref() != Some(name) {
            self.park_live()?;
        }
        let portal = self.portals.get_mut(name).expect("checked above");
        let PortalState::Open(rows) = &mut portal.state else {
            // Ran to the end already: nothing more to fetch.
            self.conn.send(&Message::CommandComplete(command.tag(0)));
            return Ok(());
        };
        let mut sink = ConnSink(self.conn, &self.control);
        let (sent, ended) = rows.send(&portal.formats, limit, &self.settings.text_style(), &mut sink)?;
        if ended {
            portal.state = PortalState::Done;
            if self.live.as_deref() == Some(name) {
                self.live = None;
            }
            self.conn.send(&Message::CommandComplete(command.tag(sent)));
        } else {
            self.conn.send(&Message::PortalSuspended);
        }
        Ok(())
    }

    /// Executes a ready portal in DuckDB. Returns the tag when it produced no rows;
    /// otherwise the portal is open and holds the live result.
    fn start_portal(&mut self, name: &str, described: bool) -> Result<Option<String>, StepError> {
        self.park_live()?;
        let statement = Rc::clone(&self.portals.get(name).expect("caller checked").statement);
        self.plan_catalog(&statement)?;
        let portal = self.portals.get_mut(name).expect("caller checked");
        let StatementKind::Duck(statement) = &portal.statement.kind else {
            return Ok(None);
        };
        let mut result = run(statement, &portal.values)?;
        let rows = match result.kind() {
            ResultKind::Changed(n) => return Ok(Some(portal.statement.command.tag(n))),
            ResultKind::Nothing if portal.statement.command == Command::CreateTableAs => {
                return Ok(Some(portal.statement.command.tag(result.single_count().unwrap_or(0))))
            }
            ResultKind::Nothing => return Ok(Some(portal.statement.command.tag(0))),
            ResultKind::Rows => {
                let columns = result_columns(&mut result, &statement.names, &statement.origins);
                check_supported(&columns)?;
                check_formats(&portal.formats, columns.len())?;
                if described {
                    self.conn.send(&Message::RowDescription(describe(&columns, &portal.formats)));
                }
                Rows::new(result, columns)
            }
        };
        portal.state = PortalState::Open(rows);
        self.live = Some(name.to_owned());
        Ok(None)
    }

    /// The DuckDB statements one client statement became, run as one unit: inside the
    /// open transaction, or in their own.
    fn run_script(&mut self, script: &[String]) -> Result<(), StepError> {
        self.park_live()?;
        let own = self.tx == Transaction::Idle;
        if own {
            self.duck_exec("BEGIN TRANSACTION")?;
        }
        let outcome = script.iter().try_for_each(|sql| self.duck_exec(sql));
        if own {
            let end = if outcome.is_ok() { self.duck_commit() } else { self.duck_rollback() };
            return outcome.and(end);
        }
        outcome
    }

    /// `Describe` of a settings command: `SHOW` has rows, the rest none.
    fn describe_session(&mut self, command: &Command) -> Result<(), StepError> {
        let description = match command {
            Command::Show(_) => self.settings.execute(command).and_then(Result::ok).and_then(|reply| {
                reply.messages().into_iter().find(|m| matches!(m, Message::RowDescription(_)))
            }),
            _ => None,
        };
        self.conn.send(&description.unwrap_or(Message::NoData));
        Ok(())
    }

    /// Moves the rows of the portal whose DuckDB result is live into memory, so the
    /// connection can run something else.
    pub(super) fn park_live(&mut self) -> Result<(), StepError> {
        let Some(name) = self.live.take() else { return Ok(()) };
        if let Some(Portal { state: PortalState::Open(rows), .. }) = self.portals.get_mut(&name) {
            if rows.is_live() {
                self.control.begin_statement(None);
                let parked = rows.park();
                if let Some(why) = self.control.end_statement() {
                    return Err(StepError::query(SqlState::QUERY_CANCELED, why.message()));
                }
                parked?;
            }
        }
        Ok(())
    }

    pub(super) fn drop_portal(&mut self, name: &str) {
        if self.portals.remove(name).is_some() && self.live.as_deref() == Some(name) {
            self.live = None;
        }
    }

    pub(super) fn close(&mut self, target: Target, name: &str) {
        match target {
            Target::Statement => {
                self.statements.remove(name);
                self.stale.remove(name);
            }
            Target::Portal => self.drop_portal(name),
        }
        self.conn.send(&Message::CloseComplete);
    }

    /// Ends an extended batch: commits its implicit transaction, then ReadyForQuery.
    pub(super) fn sync(&mut self) -> Result<(), SessionError> {
        self.skip_to_sync = false;
        if self.tx == Transaction::Implicit {
            if let Err(e) = self.end_transaction(true) {
                self.report(e)?;
            }
        } else if self.tx == Transaction::Idle && !self.portals.is_empty() {
            // No transaction outlives the batch, and no portal but a holdable cursor
            // outlives its transaction: one bound and never run, or one that ran alone in
            // its own transaction, ends here too, as in PostgreSQL.
            self.portals.retain(|_, p| p.holdable);
            if self.live.as_ref().is_some_and(|name| !self.portals.contains_key(name)) {
                self.live = None;
            }
        }
        self.ready_for_query()
    }
}

pub(super) struct ConnSink<'a>(pub &'a mut super::conn::Conn, pub &'a crate::sessions::Control);

impl RowSink for ConnSink<'_> {
    fn buffer(&mut self) -> &mut Vec<u8> {
        self.0.out()
    }

    fn flushed(&mut self) -> std::io::Result<()> {
        self.0.flush_if_full()
    }

    fn interrupted(&self) -> bool {
        self.1.interruption().is_some()
    }

    fn encoding(&self) -> Option<&'static crate::encoding::Encoding> {
        self.0.encoding()
    }
}

/// Whether a statement changes data or schema, which a read-only transaction refuses.
pub(super) fn writes(command: &Command) -> bool {
    match command {
        Command::Insert | Command::Update | Command::Delete | Command::Merge | Command::CreateTableAs => true,
        Command::Other(tag) => {
            ["CREATE", "DROP", "ALTER", "TRUNCATE", "COPY", "INSERT"].iter().any(|w| tag.starts_with(w))
        }
        _ => false,
    }
}

/// What a failed block still accepts.
fn ends_transaction(command: &Command) -> bool {
    matches!(command, Command::Commit | Command::Rollback | Command::Savepoint(Savepoint::RollbackTo(_)))
}

fn missing_statement(name: &str) -> StepError {
    let message = if name.is_empty() {
        "unnamed prepared statement does not exist".to_owned()
    } else {
        format!("prepared statement \"{name}\" does not exist")
    };
    StepError::query(SqlState::INVALID_SQL_STATEMENT_NAME, message)
}

fn missing_portal(name: &str) -> StepError {
    StepError::query(SqlState::INVALID_CURSOR_NAME, format!("portal \"{name}\" does not exist"))
}

fn known_or_text(ty: crate::duck::LogicalType) -> crate::duck::LogicalType {
    match ty {
        crate::duck::LogicalType::Other(_) => crate::duck::LogicalType::Varchar,
        ty => ty,
    }
}

/// Decodes parameter `index` (0-based) of type `oid` as the client sent it.
/// Text, in either format, comes in the client's `encoding` when there is one.
fn decode_param(
    index: usize,
    oid: u32,
    param: &RawParam<'_>,
    style: &TextStyle,
    encoding: Option<&'static crate::encoding::Encoding>,
) -> Result<Value, StepError> {
    let Some(bytes) = param.bytes else { return Ok(Value::Null) };
    let converted;
    let bytes = match encoding {
        Some(e) if param.format == Format::Text || binary_is_text(oid) => {
            converted = e.decode(bytes)?;
            &converted[..]
        }
        _ => bytes,
    };
    let decoded = match param.format {
        Format::Text => match std::str::from_utf8(bytes) {
            Ok(text) => decode_text(oid, text, style),
            Err(_) => {
                return Err(StepError::query(
                    SqlState::CHARACTER_NOT_IN_REPERTOIRE,
                    "invalid byte sequence for encoding \"UTF8\"",
                ))
            }
        },
        Format::Binary => decode_binary(oid, bytes),
    };
    decoded.map_err(|e| match param.format {
        Format::Binary => {
            StepError::from(e).with_detail(format!("in binary data of bind parameter {}", index + 1))
        }
        Format::Text => e.into(),
    })
}

/// Whether a parameter type's binary form is its text, which PostgreSQL's `textrecv`
/// reads in the client's encoding.
fn binary_is_text(oid: u32) -> bool {
    use crate::types::oid;
    matches!(oid, oid::TEXT | oid::VARCHAR | oid::BPCHAR | oid::NAME | oid::CHAR | oid::UNKNOWN | oid::JSON)
}
