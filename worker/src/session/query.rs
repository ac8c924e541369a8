//! The simple query protocol: split the string into statements, run each in DuckDB
//! with rows streamed out as they come, and keep the transaction state exact.
//!
//! Like PostgreSQL, a multi-statement string outside a transaction block runs as one
//! implicit transaction: an error rolls back the statements before it.

use mallard_protocol::pg::backend::{DataRowWriter, ErrorInfo, FieldDescription, Message};
use mallard_protocol::pg::{Format, Severity, SqlState, TransactionStatus};
use tracing::info;

use super::{Session, SessionError};
use crate::database::exec;
use crate::duck::{DuckError, LogicalType, ResultKind};
use crate::sql::utility::parse_begin_modes;
use crate::sql::{classify, split_statements, translate, Command, Token, Tokens, Translation};
use crate::types::{encode_text, is_supported, pg_type};

/// Transaction state as the client sees it.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub enum Transaction {
    #[default]
    Idle,
    /// In `BEGIN ... COMMIT`.
    Block,
    /// In a block that failed; only ROLLBACK (or COMMIT, which rolls back) ends it.
    Failed,
    /// The implicit transaction of a multi-statement query string.
    Implicit,
}

impl Transaction {
    pub fn status(self) -> TransactionStatus {
        match self {
            Transaction::Idle | Transaction::Implicit => TransactionStatus::Idle,
            Transaction::Block => TransactionStatus::InBlock,
            Transaction::Failed => TransactionStatus::Failed,
        }
    }
}

/// How one statement failed: the client is told and the session goes on, or the
/// connection itself broke.
enum StepError {
    Query(ErrorInfo),
    Session(SessionError),
}

impl From<DuckError> for StepError {
    fn from(e: DuckError) -> Self {
        let mut info = ErrorInfo::error(e.sqlstate(), e.message.clone());
        info.hint = e.hint;
        StepError::Query(info)
    }
}

impl From<std::io::Error> for StepError {
    fn from(e: std::io::Error) -> Self {
        StepError::Session(SessionError::Io(e))
    }
}

fn error(code: SqlState, message: &str) -> StepError {
    StepError::Query(ErrorInfo::error(code, message))
}

impl Session<'_> {
    pub(super) fn simple_query(&mut self, sql: &str) -> Result<(), SessionError> {
        let statements = split_statements(sql);
        if statements.is_empty() {
            self.conn.send(&Message::EmptyQueryResponse);
        }
        if statements.len() > 1 && self.tx == Transaction::Idle {
            match self.duck_exec("BEGIN TRANSACTION") {
                Ok(()) => {
                    self.tx = Transaction::Implicit;
                    self.settings.begin(&[]);
                }
                Err(e) => return self.finish_with(Err(e)),
            }
        }
        let mut outcome = Ok(());
        for statement in statements {
            outcome = self.statement(statement);
            if outcome.is_err() {
                break;
            }
        }
        if outcome.is_ok() && self.tx == Transaction::Implicit {
            outcome = self.duck_exec("COMMIT");
            self.tx = Transaction::Idle;
            self.settings.end_transaction(outcome.is_ok());
        }
        self.finish_with(outcome)
    }

    /// Reports the outcome, fixes up the transaction state, and sends ReadyForQuery.
    fn finish_with(&mut self, outcome: Result<(), StepError>) -> Result<(), SessionError> {
        match outcome {
            Ok(()) => {}
            Err(StepError::Session(e)) => return Err(e),
            Err(StepError::Query(_)) if self.control.is_terminating() => {
                return Err(SessionError::Terminated)
            }
            Err(StepError::Query(info)) => {
                info!(sqlstate = %info.code, error = %info.message, "statement failed");
                self.conn.send(&Message::ErrorResponse(info));
                self.tx = match self.tx {
                    Transaction::Block | Transaction::Failed => Transaction::Failed,
                    Transaction::Implicit => {
                        let _ = self.duck_exec("ROLLBACK");
                        self.settings.end_transaction(false);
                        Transaction::Idle
                    }
                    Transaction::Idle => Transaction::Idle,
                };
            }
        }
        for status in self.settings.take_reports() {
            self.conn.send(&status);
        }
        self.conn.send(&Message::ReadyForQuery(self.tx.status()));
        self.conn.flush().map_err(SessionError::Io)
    }

    fn statement(&mut self, sql: &str) -> Result<(), StepError> {
        let command = classify(sql);
        match (&command, self.tx) {
            (Command::Begin, Transaction::Idle) => {
                let modes = parse_begin_modes(sql)
                    .map_err(|e| StepError::Query(ErrorInfo::error(e.code, e.message)))?;
                self.duck_exec("BEGIN TRANSACTION")?;
                self.tx = Transaction::Block;
                self.settings.begin(&modes);
            }
            (Command::Begin, Transaction::Implicit) => self.tx = Transaction::Block,
            (Command::Begin, Transaction::Block) => {
                self.notice(SqlState::ACTIVE_SQL_TRANSACTION, "there is already a transaction in progress")
            }
            (Command::Commit | Command::Rollback, Transaction::Idle) => {
                self.notice(SqlState::NO_ACTIVE_SQL_TRANSACTION, "there is no transaction in progress")
            }
            (Command::Commit, Transaction::Block | Transaction::Implicit) => {
                self.tx = Transaction::Idle;
                let committed = self.duck_exec("COMMIT");
                self.settings.end_transaction(committed.is_ok());
                committed?;
            }
            (Command::Rollback, Transaction::Block | Transaction::Implicit) => {
                self.tx = Transaction::Idle;
                self.settings.end_transaction(false);
                self.duck_exec("ROLLBACK")?;
            }
            // COMMIT of a failed block rolls back, and says so in its tag.
            (Command::Commit | Command::Rollback, Transaction::Failed) => {
                self.tx = Transaction::Idle;
                self.settings.end_transaction(false);
                self.duck_exec("ROLLBACK")?;
                self.conn.send(&Message::CommandComplete("ROLLBACK".into()));
                return Ok(());
            }
            (_, Transaction::Failed) => {
                return Err(error(
                    SqlState::IN_FAILED_SQL_TRANSACTION,
                    "current transaction is aborted, commands ignored until end of transaction block",
                ))
            }
            (Command::Invalid(e), _) => {
                let mut info = ErrorInfo::error(e.code, e.message.clone());
                info.position = e.position;
                return Err(StepError::Query(info));
            }
            _ => match self.settings.execute(&command) {
                Some(reply) => {
                    for message in reply.map_err(StepError::Query)?.messages() {
                        self.conn.send(&message);
                    }
                    return Ok(());
                }
                None => return self.execute(sql, &command),
            },
        }
        self.conn.send(&Message::CommandComplete(command.tag(0)));
        Ok(())
    }

    fn notice(&mut self, code: SqlState, message: &str) {
        self.conn.send(&Message::NoticeResponse(ErrorInfo::new(Severity::Warning, code, message)));
    }

    fn duck_exec(&mut self, sql: &str) -> Result<(), StepError> {
        Ok(exec(&self.duck, sql)?)
    }

    /// Runs one statement in DuckDB and streams its rows to the client.
    fn execute(&mut self, sql: &str, command: &Command) -> Result<(), StepError> {
        if reads_client_stdio(sql) {
            return Err(error(
                SqlState::FEATURE_NOT_SUPPORTED,
                "COPY FROM STDIN and COPY TO STDOUT are not supported yet",
            ));
        }
        let statements = match translate(sql) {
            Translation::Answer(tag) => {
                self.conn.send(&Message::CommandComplete(tag.into()));
                return Ok(());
            }
            Translation::Run(statements) => statements,
        };
        self.settings.sync_duckdb(&self.duck);
        self.control.set_busy(true);
        let outcome = self.execute_translated(&statements, command);
        self.control.set_busy(false);
        outcome
    }

    /// Runs the DuckDB statements one client statement became; several run as one unit.
    fn execute_translated(
        &mut self,
        statements: &[std::borrow::Cow<'_, str>],
        command: &Command,
    ) -> Result<(), StepError> {
        let (last, before) = statements.split_last().expect("translation yields a statement");
        let own_transaction = !before.is_empty() && self.tx == Transaction::Idle;
        if own_transaction {
            self.duck_exec("BEGIN TRANSACTION")?;
        }
        let mut outcome = before.iter().try_for_each(|s| self.duck_exec(s));
        if outcome.is_ok() {
            outcome = self.execute_in_duckdb(last, command);
        }
        if own_transaction {
            let end = if outcome.is_ok() { self.duck_exec("COMMIT") } else { self.duck_exec("ROLLBACK") };
            outcome = outcome.and(end);
        }
        outcome
    }

    fn execute_in_duckdb(&mut self, sql: &str, command: &Command) -> Result<(), StepError> {
        let mut stmt = self.duck.prepare(sql)?;
        let mut result = stmt.execute()?;
        let rows = match result.kind() {
            ResultKind::Changed(n) => n,
            ResultKind::Nothing if *command == Command::CreateTableAs => result.single_count().unwrap_or(0),
            ResultKind::Nothing => 0,
            ResultKind::Rows => {
                let columns: Vec<(String, LogicalType)> = (0..result.column_count())
                    .map(|c| (result.column_name(c), result.column_type(c)))
                    .collect();
                if let Some((name, ty)) = columns.iter().find(|(_, ty)| !is_supported(ty)) {
                    return Err(StepError::Query(
                        ErrorInfo::error(
                            SqlState::FEATURE_NOT_SUPPORTED,
                            format!("column \"{name}\" has a type mallard cannot send yet ({ty:?})"),
                        )
                        .with_hint("cast the column to VARCHAR"),
                    ));
                }
                self.conn.send(&Message::RowDescription(describe(&columns)));
                let mut rows = 0u64;
                while let Some(chunk) = result.next_chunk()? {
                    let vectors: Vec<_> = (0..columns.len()).map(|c| chunk.vector(c)).collect();
                    for row in 0..chunk.len() {
                        let mut w = DataRowWriter::begin(self.conn.out(), columns.len() as u16);
                        for (vector, (_, ty)) in vectors.iter().zip(&columns) {
                            if vector.is_valid(row) {
                                w.field(|out| encode_text(ty, vector, row, out));
                            } else {
                                w.null();
                            }
                        }
                        w.finish();
                    }
                    rows += chunk.len() as u64;
                    self.conn.flush_if_full()?;
                }
                rows
            }
        };
        self.conn.send(&Message::CommandComplete(command.tag(rows)));
        Ok(())
    }
}

fn describe(columns: &[(String, LogicalType)]) -> Vec<FieldDescription> {
    columns
        .iter()
        .map(|(name, ty)| {
            let t = pg_type(ty);
            FieldDescription {
                name: name.clone(),
                table_oid: 0,
                column_attr: 0,
                type_oid: t.oid,
                type_size: t.size,
                type_modifier: t.modifier,
                format: Format::Text,
            }
        })
        .collect()
}

/// `COPY ... FROM STDIN` / `TO STDOUT` must never reach DuckDB: it would use the
/// worker's own stdio, not the client's.
fn reads_client_stdio(sql: &str) -> bool {
    let mut tokens = Tokens::new(sql).map(|(_, t)| t);
    matches!(tokens.next(), Some(Token::Word(w)) if w.eq_ignore_ascii_case("COPY"))
        && tokens.any(|t| matches!(t, Token::Word(w) if w.eq_ignore_ascii_case("STDIN") || w.eq_ignore_ascii_case("STDOUT")))
}
