//! The extended query protocol: Parse, Bind, Describe, Execute, Close, Sync.
//!
//! After an error the session discards every message up to the next Sync, and the
//! implicit transaction that an extended batch runs in (outside a block) commits at
//! Sync, as PostgreSQL does.

use std::rc::Rc;

use mallard_protocol::pg::backend::Message;
use mallard_protocol::pg::frontend::Target;
use mallard_protocol::pg::{Format, SqlState};

use super::portal::{
    check_formats, check_supported, describe, rename, result_columns, run, Column, DuckStatement, Portal,
    PortalState, RowSink, Rows, Statement, StatementKind,
};
use super::query::{aborted, reads_client_stdio, Transaction};
use super::{Session, SessionError, StepError};
use crate::duck::{ResultKind, Value};
use crate::sql::{
    classify, postgres_names, split_statements, top_level_words, translate, type_oid, Command, Token, Tokens,
    Translation,
};
use crate::types::{decode_binary, decode_text, logical_type_for_oid, oid, pg_type};

/// A `Bind` parameter as the client sent it.
pub struct RawParam<'a> {
    pub format: Format,
    pub bytes: Option<&'a [u8]>,
}

impl Session<'_> {
    pub(super) fn parse(&mut self, name: &str, sql: &str, param_types: &[u32]) -> Result<(), StepError> {
        if !name.is_empty() && self.statements.contains_key(name) {
            return Err(StepError::query(
                SqlState::DUPLICATE_PREPARED_STATEMENT,
                format!("prepared statement \"{name}\" already exists"),
            ));
        }
        let statement = self.parse_statement(sql, param_types)?;
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

    /// Parses one statement and prepares it in DuckDB. Parameter types the client names
    /// are imposed with casts, so that DuckDB types the statement as PostgreSQL would.
    pub(super) fn parse_statement(
        &mut self,
        sql: &str,
        param_types: &[u32],
    ) -> Result<Rc<Statement>, StepError> {
        let statements = split_statements(sql);
        let sql = match statements.as_slice() {
            [] => {
                return Ok(Rc::new(Statement {
                    sql: String::new(),
                    command: Command::Other("EMPTY".into()),
                    kind: StatementKind::Empty,
                }))
            }
            [one] => *one,
            _ => {
                return Err(StepError::query(
                    SqlState::SYNTAX_ERROR,
                    "cannot insert multiple commands into a prepared statement",
                ))
            }
        };
        let command = classify(sql);
        let session = |kind| Ok(Rc::new(Statement { sql: sql.to_owned(), command: command.clone(), kind }));
        match &command {
            Command::Invalid(e) => return Err(e.clone().into()),
            Command::DeclareCursor(declare) => {
                let query = self.parse_statement(&declare.query, param_types)?;
                return session(StatementKind::Declare(query));
            }
            Command::Fetch(_) | Command::Move(_) | Command::Close(_) => {
                return session(StatementKind::Cursor)
            }
            Command::Begin
            | Command::Commit
            | Command::Rollback
            | Command::Set(_)
            | Command::Reset(_)
            | Command::Show(_)
            | Command::Discard(_)
            | Command::Deallocate(_) => return session(StatementKind::Session),
            _ => {}
        }
        match crate::copy::parse(sql) {
            Ok(Some(copy)) => {
                let tag = if copy.direction == crate::copy::Direction::From { "COPY FROM" } else { "COPY" };
                let command = Command::Other(tag.into());
                return Ok(Rc::new(Statement { sql: sql.to_owned(), command, kind: StatementKind::Copy }));
            }
            Ok(None) => {}
            Err(e) => return Err(e.into()),
        }
        if reads_client_stdio(sql) {
            return Err(StepError::query(
                SqlState::FEATURE_NOT_SUPPORTED,
                "COPY FROM STDIN and COPY TO STDOUT are not supported yet",
            ));
        }
        let own_numeric = strip_numeric_casts(sql, param_types);
        let sql = own_numeric.as_deref().unwrap_or(sql);
        let translated = match translate(sql) {
            Translation::Answer(tag) => return session(StatementKind::Answer(tag)),
            Translation::Run(statements) if statements.len() > 1 => {
                let script = statements.into_iter().map(|s| s.into_owned()).collect();
                return session(StatementKind::Script(script));
            }
            Translation::Run(mut statements) => statements.pop().map(|s| s.into_owned()),
        };
        let sql = translated.as_deref().unwrap_or(sql);
        self.settings.sync_duckdb(&self.duck);
        self.park_live()?;
        let mut casts = client_casts(param_types);
        let mut duck_sql = cast_params(sql, &casts);
        let mut prepared = self.duck.prepare(&duck_sql)?;
        let n = prepared.param_count();
        // PostgreSQL infers every parameter's type at Parse, and drivers encode values
        // by what ParameterDescription says. Where DuckDB leaves one open, try types.
        casts.resize(n, None);
        // Statements without parameters are not read again.
        let written = if n == 0 { Vec::new() } else { written_casts(sql, n) };
        for i in 0..n {
            let named = param_types.get(i).is_some_and(|&t| t != 0);
            if named || casts[i].is_some() || prepared.param_type(i).is_some() {
                continue;
            }
            // `$1::T` means T, as in PostgreSQL; DuckDB leaves some such casts open
            // (quoted type names).
            let candidates =
                written[i].iter().map(String::as_str).chain(OPEN_PARAM_CANDIDATES.iter().copied());
            for candidate in candidates {
                casts[i] = Some(candidate.to_owned());
                let sql = cast_params(sql, &casts);
                if let Ok(p) = self.duck.prepare(&sql) {
                    (prepared, duck_sql) = (p, sql);
                    break;
                }
                casts[i] = None;
            }
        }
        let reported = crate::sql::catalog_parameter_types(sql).unwrap_or(&[]);
        let param_oids = (0..n)
            .map(|i| match (param_types.get(i), reported.get(i)) {
                (Some(&oid), _) if oid != 0 => oid,
                (_, Some(&oid)) => oid,
                // `$1::int8::text`: PostgreSQL types $1 by its own cast; DuckDB reports
                // the outer one.
                _ if written[i].as_deref().and_then(type_oid).is_some() => {
                    written[i].as_deref().and_then(type_oid).unwrap_or(oid::TEXT)
                }
                _ => prepared.param_type(i).map_or(oid::TEXT, |t| pg_type(&t).oid),
            })
            .collect();
        let returns_rows = prepared.returns_rows() || has_returning(sql);
        let names = postgres_names(sql);
        let columns = if returns_rows {
            let mut columns: Vec<Column> =
                prepared.columns().into_iter().map(|(name, ty)| Column { name, ty }).collect();
            rename(&mut columns, &names);
            let open = columns.iter().any(|c| matches!(c.ty, crate::duck::LogicalType::Other(_)));
            if !open {
                Some(columns)
            } else if command == Command::Select && (0..n).all(|i| prepared.param_type(i).is_some()) {
                // DuckDB types some queries only once values are bound (a table function
                // of a parameter). Clients need the columns now: run the query on NULLs
                // without rows to learn them.
                self.probe_columns(sql, n).map(|mut columns| {
                    rename(&mut columns, &names);
                    columns
                })
            } else {
                None
            }
        } else {
            Some(Vec::new())
        };
        let duck = DuckStatement { prepared, param_oids, columns, names, returns_rows };
        Ok(Rc::new(Statement { sql: duck_sql, command, kind: StatementKind::Duck(duck) }))
    }

    /// The columns of a query that DuckDB types only at execution, from a run of it on
    /// NULL parameters that returns no rows. `None` if even that does not tell.
    fn probe_columns(&mut self, sql: &str, params: usize) -> Option<Vec<Column>> {
        let probe = self.duck.prepare(&format!("SELECT * FROM ({sql}) AS mallard_probe LIMIT 0")).ok()?;
        for i in 0..params {
            probe.bind(i, &Value::Null).ok()?;
        }
        let mut result = probe.execute().ok()?;
        let columns = result_columns(&mut result, &None);
        (!columns.iter().any(|c| matches!(c.ty, crate::duck::LogicalType::Other(_)))).then_some(columns)
    }

    pub(super) fn bind(
        &mut self,
        portal: &str,
        statement: &str,
        params: Vec<RawParam<'_>>,
        formats: Vec<Format>,
    ) -> Result<(), StepError> {
        let Some(stmt) = self.statements.get(statement).cloned() else {
            return Err(missing_statement(statement));
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
        let values = params
            .iter()
            .zip(oids)
            .enumerate()
            .map(|(i, (p, &oid))| decode_param(i, oid, p))
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

    pub(super) fn describe(&mut self, target: Target, name: &str) -> Result<(), StepError> {
        match target {
            Target::Statement => {
                let Some(stmt) = self.statements.get(name).cloned() else {
                    return Err(missing_statement(name));
                };
                self.conn.send(&Message::ParameterDescription(stmt.param_oids().to_vec()));
                match &stmt.kind {
                    StatementKind::Duck(d) if d.returns_rows => {
                        // Columns DuckDB types only at execution are described as text,
                        // PostgreSQL's type for an unknown.
                        let columns = d.columns.clone().unwrap_or_else(|| {
                            let mut columns: Vec<Column> = d
                                .prepared
                                .columns()
                                .into_iter()
                                .map(|(name, ty)| Column { name, ty: known_or_text(ty) })
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
        let Some(portal) = self.portals.get(name) else { return Err(missing_portal(name)) };
        let statement = Rc::clone(&portal.statement);
        match &statement.kind {
            StatementKind::Empty => {
                self.conn.send(&Message::EmptyQueryResponse);
                return Ok(());
            }
            StatementKind::Session => {
                return self.session_command(&statement.command, &statement.sql, described)
            }
            _ if self.tx == Transaction::Failed => return Err(aborted()),
            StatementKind::Answer(tag) => {
                self.conn.send(&Message::CommandComplete((*tag).into()));
                return Ok(());
            }
            StatementKind::Script(script) => {
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
            if !described && self.tx == Transaction::Idle {
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
        let (sent, ended) = rows.send(&portal.formats, limit, &mut sink)?;
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
                let columns = result_columns(&mut result, &statement.names);
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
            let end = self.duck_exec(if outcome.is_ok() { "COMMIT" } else { "ROLLBACK" });
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
}

/// Whether a statement changes data or schema, which a read-only transaction refuses.
fn writes(command: &Command) -> bool {
    match command {
        Command::Insert | Command::Update | Command::Delete | Command::Merge | Command::CreateTableAs => true,
        Command::Other(tag) => {
            ["CREATE", "DROP", "ALTER", "TRUNCATE", "COPY", "INSERT"].iter().any(|w| tag.starts_with(w))
        }
        _ => false,
    }
}

fn ends_transaction(command: &Command) -> bool {
    matches!(command, Command::Commit | Command::Rollback)
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
fn decode_param(index: usize, oid: u32, param: &RawParam<'_>) -> Result<Value, StepError> {
    let Some(bytes) = param.bytes else { return Ok(Value::Null) };
    let decoded = match param.format {
        Format::Text => match std::str::from_utf8(bytes) {
            Ok(text) => decode_text(oid, text),
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

/// The DuckDB type names that the client's parameter OIDs impose (`None` where the
/// client left the type open, or for numeric, which has no unconstrained DuckDB twin:
/// its values bind as exact decimals).
fn client_casts(param_types: &[u32]) -> Vec<Option<String>> {
    param_types
        .iter()
        .map(|&ty| match ty {
            0 | oid::NUMERIC => None,
            ty => logical_type_for_oid(ty).and_then(|t| t.sql_name()),
        })
        .collect()
}

/// Wraps each `$n` that has a type name in `casts` in a cast to it.
fn cast_params(sql: &str, casts: &[Option<String>]) -> String {
    if casts.iter().all(Option::is_none) {
        return sql.to_owned();
    }
    let mut out = String::with_capacity(sql.len() + 16 * casts.len());
    let mut copied = 0;
    for (at, token) in Tokens::new(sql) {
        let Token::Param(p) = token else { continue };
        let Some(Some(name)) = p[1..].parse::<usize>().ok().and_then(|n| casts.get(n.checked_sub(1)?)) else {
            continue;
        };
        out.push_str(&sql[copied..at]);
        out.push_str(&format!("CAST({p} AS {name})"));
        copied = at + p.len();
    }
    out.push_str(&sql[copied..]);
    out
}

/// `$n::numeric` where the client already typed `$n` as numeric: the cast goes, so the
/// bound value keeps its own precision and scale (DuckDB has no unconstrained numeric;
/// the translation layer would make it DECIMAL(38,10), and `1.25 * 2` would show as
/// `2.5000000000`, where PostgreSQL shows `2.50`). `None` when nothing changes.
fn strip_numeric_casts(sql: &str, param_types: &[u32]) -> Option<String> {
    if !param_types.contains(&oid::NUMERIC) {
        return None;
    }
    let tokens: Vec<(usize, Token<'_>)> = Tokens::new(sql).collect();
    let mut out = String::with_capacity(sql.len());
    let mut copied = 0;
    for (i, (_, token)) in tokens.iter().enumerate() {
        let Token::Param(p) = token else { continue };
        let numeric = p[1..].parse::<usize>().ok().and_then(|n| param_types.get(n.checked_sub(1)?))
            == Some(&oid::NUMERIC);
        let cast = matches!(
            (tokens.get(i + 1), tokens.get(i + 2), tokens.get(i + 3), tokens.get(i + 4)),
            (Some((_, Token::Punct(':'))), Some((_, Token::Punct(':'))), Some((_, Token::Word(w))), next)
                if (w.eq_ignore_ascii_case("numeric") || w.eq_ignore_ascii_case("decimal"))
                    && !matches!(next, Some((_, Token::Punct('(' | '['))))
        );
        if numeric && cast {
            let (start, _) = tokens[i + 1];
            let (at, Token::Word(w)) = tokens[i + 3] else { continue };
            out.push_str(&sql[copied..start]);
            copied = at + w.len();
        }
    }
    (copied > 0).then(|| {
        out.push_str(&sql[copied..]);
        out
    })
}

/// For each of `n` parameters, the type a `$k::type` in the statement casts it to.
fn written_casts(sql: &str, n: usize) -> Vec<Option<String>> {
    let tokens: Vec<Token<'_>> = Tokens::new(sql).map(|(_, t)| t).collect();
    let mut casts = vec![None; n];
    for (i, token) in tokens.iter().enumerate() {
        let Token::Param(p) = token else { continue };
        let Some(k) = p[1..].parse::<usize>().ok().and_then(|k| k.checked_sub(1)).filter(|&k| k < n) else {
            continue;
        };
        if let [Token::Punct(':'), Token::Punct(':'), Token::Word(ty) | Token::QuotedIdent(ty), rest @ ..] =
            &tokens[i + 1..]
        {
            let array = matches!(rest, [Token::Punct('['), Token::Punct(']'), ..]);
            casts[k].get_or_insert_with(|| if array { format!("{ty}[]") } else { (*ty).to_owned() });
        }
    }
    casts
}

/// What an untyped parameter is tried as when DuckDB leaves its type open, in order:
/// text first, which is PostgreSQL's type for an unknown (`select $1`), then numbers,
/// which let `abalance + $1` type as PostgreSQL types it.
const OPEN_PARAM_CANDIDATES: &[&str] = &["VARCHAR", "INTEGER", "BIGINT", "DOUBLE"];

/// Whether DML returns rows: a top-level `RETURNING`.
fn has_returning(sql: &str) -> bool {
    top_level_words(sql).any(|w| w == "RETURNING")
}
