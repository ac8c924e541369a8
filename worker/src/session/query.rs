//! The simple query protocol, and the transaction state both protocols share: split
//! the string into statements, run each to the end, keep the transaction state exact.
//!
//! Like PostgreSQL, a multi-statement string outside a transaction block runs as one
//! implicit transaction: an error rolls back the statements before it.

use mallard_protocol::pg::backend::{ErrorInfo, Message};
use mallard_protocol::pg::{Severity, SqlState, TransactionStatus};
use tracing::info;

use super::{Session, SessionError, StepError};
use crate::activity::State;
use crate::duck::exec;
use crate::sql::utility::{parse_begin_modes, Discard, TransactionMode};
use crate::sql::{self, Command};

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

impl Session<'_> {
    pub(super) fn simple_query(&mut self, sql: &str) -> Result<(), SessionError> {
        // A simple query replaces the unnamed statement and portal, as in PostgreSQL.
        self.statements.remove("");
        self.drop_portal("");
        let statements = sql::split(sql);
        if statements.is_empty() {
            self.conn.send(&Message::EmptyQueryResponse);
        }
        let mut outcome = Ok(());
        if statements.len() > 1 && self.tx == Transaction::Idle {
            outcome = self.begin_implicit();
        }
        for statement in &statements {
            if outcome.is_err() {
                break;
            }
            outcome = self.counted(|s| s.simple_statement(statement));
        }
        if outcome.is_ok() && self.tx == Transaction::Implicit {
            outcome = self.end_transaction(true);
        }
        if let Err(e) = outcome {
            self.report(e)?;
        }
        self.ready_for_query()
    }

    pub(super) fn ready_for_query(&mut self) -> Result<(), SessionError> {
        if self.tx == Transaction::Idle {
            // A statement outside a transaction block was its own transaction; whatever
            // ended it, the lake's commit lock is not held past it.
            self.lake_token = None;
            self.advisory.end_transaction();
            self.commit_notifications();
            if std::mem::take(&mut self.catalog_changed) {
                self.shared.relations.invalidate();
            }
            self.catalog.end_transaction();
        }
        self.sync_encoding();
        if self.tx == Transaction::Idle {
            // As PostgreSQL does, before the settings it reports.
            self.send_notifications(false);
        }
        for status in self.settings.take_reports() {
            self.conn.send(&status);
        }
        self.conn.send(&Message::ReadyForQuery(self.tx.status()));
        self.activity.idle(match self.tx.status() {
            TransactionStatus::Idle => State::Idle,
            TransactionStatus::InBlock => State::IdleInTransaction,
            TransactionStatus::Failed => State::IdleInTransactionAborted,
        });
        self.awaiting_command = true;
        self.conn.flush().map_err(SessionError::Io)
    }

    /// Sends a failed step's error and leaves the transaction as PostgreSQL does: a
    /// block becomes failed, an implicit transaction rolls back.
    pub(super) fn report(&mut self, error: StepError) -> Result<(), SessionError> {
        let info = match error {
            StepError::Session(e) => return Err(e),
            StepError::Query(_) if self.control.is_terminating() => return Err(SessionError::Terminated),
            StepError::Query(info) => info,
        };
        info!(sqlstate = %info.code, error = %info.message, "statement failed");
        self.shared.stats.error(info.code);
        self.conn.send(&Message::ErrorResponse(info));
        match self.tx {
            Transaction::Block | Transaction::Failed => self.tx = Transaction::Failed,
            Transaction::Implicit => {
                let _ = self.end_transaction(false);
            }
            // What the failed statement (or an extended batch before it) recorded goes.
            Transaction::Idle => self.notify.roll_back(),
        }
        Ok(())
    }

    /// One statement of a simple query: parsed, bound to no values, run to the end
    /// with its rows described.
    fn simple_statement(&mut self, statement: &sql::Statement<'_>) -> Result<(), StepError> {
        let statement = self.prepare_reusable(statement, &[])?;
        self.bind_portal("", statement, Vec::new(), Vec::new(), false)?;
        let outcome = self.execute_portal("", None, true);
        self.drop_portal("");
        outcome
    }

    /// Opens the implicit transaction of a multi-statement query or extended batch.
    pub(super) fn begin_implicit(&mut self) -> Result<(), StepError> {
        self.park_live()?;
        self.catalog_before_begin();
        self.duck_exec("BEGIN TRANSACTION")?;
        self.tx = Transaction::Implicit;
        self.settings.begin(&[]);
        Ok(())
    }

    /// Commits or rolls back the open transaction and closes its portals. The state is
    /// idle afterwards whatever DuckDB says (a failed COMMIT has rolled back).
    pub(super) fn end_transaction(&mut self, commit: bool) -> Result<(), StepError> {
        self.tx = Transaction::Idle;
        self.read_only = false;
        self.portals.retain(|_, p| p.holdable);
        let outcome =
            self.park_live().and_then(|()| if commit { self.duck_commit() } else { self.duck_rollback() });
        if outcome.is_err() && commit {
            let _ = self.duck_exec("ROLLBACK");
        }
        self.settings.end_transaction(commit && outcome.is_ok());
        self.savepoints.clear();
        self.advisory.end_transaction();
        if commit && outcome.is_ok() {
            self.commit_notifications();
        } else {
            self.notify.roll_back();
        }
        outcome
    }

    /// Commands the session answers itself: transaction control, settings, and the
    /// release of prepared statements. `described`: a `SHOW` sends its
    /// `RowDescription` (the simple protocol; the extended one has `Describe`).
    pub(super) fn session_command(
        &mut self,
        command: &Command,
        sql: &str,
        described: bool,
    ) -> Result<(), StepError> {
        match (command, self.tx) {
            (Command::Begin, Transaction::Idle | Transaction::Implicit) => {
                // Without the position PostgreSQL would give, as before.
                let modes = parse_begin_modes(sql)
                    .map_err(|e| StepError::from(crate::sql::utility::ParseError { position: None, ..e }))?;
                if self.tx == Transaction::Idle {
                    self.park_live()?;
                    self.catalog_before_begin();
                    self.duck_exec("BEGIN TRANSACTION")?;
                }
                self.tx = Transaction::Block;
                self.read_only = modes.iter().rev().find_map(|m| match m {
                    TransactionMode::ReadOnly(read_only) => Some(*read_only),
                    _ => None,
                }) == Some(true);
                self.settings.begin(&modes);
            }
            (Command::Begin, Transaction::Block) => {
                self.notice(SqlState::ACTIVE_SQL_TRANSACTION, "there is already a transaction in progress")
            }
            (Command::Commit | Command::Rollback, Transaction::Idle) => {
                self.notice(SqlState::NO_ACTIVE_SQL_TRANSACTION, "there is no transaction in progress")
            }
            (Command::Commit, Transaction::Block | Transaction::Implicit) => self.end_transaction(true)?,
            (Command::Rollback, Transaction::Block | Transaction::Implicit) => self.end_transaction(false)?,
            // COMMIT of a failed block rolls back, and says so in its tag.
            (Command::Commit | Command::Rollback, Transaction::Failed) => {
                self.end_transaction(false)?;
                self.conn.send(&Message::CommandComplete("ROLLBACK".into()));
                return Ok(());
            }
            (Command::Savepoint(savepoint), _) => return self.savepoint(savepoint),
            // As PostgreSQL with max_prepared_transactions = 0: the transaction ends
            // (rolled back) and the statement fails.
            (Command::PrepareTransaction, Transaction::Idle) => {
                self.notice(SqlState::NO_ACTIVE_SQL_TRANSACTION, "there is no transaction in progress");
                self.conn.send(&Message::CommandComplete("ROLLBACK".into()));
                return Ok(());
            }
            (Command::PrepareTransaction, _) => {
                self.end_transaction(false)?;
                return Err(StepError::Query(
                    ErrorInfo::error(
                        SqlState::OBJECT_NOT_IN_PREREQUISITE_STATE,
                        "prepared transactions are disabled",
                    )
                    .with_hint("Set max_prepared_transactions to a nonzero value."),
                ));
            }
            (Command::FinishPrepared { commit, .. }, Transaction::Block | Transaction::Implicit) => {
                let what = if *commit { "COMMIT PREPARED" } else { "ROLLBACK PREPARED" };
                return Err(StepError::query(
                    SqlState::ACTIVE_SQL_TRANSACTION,
                    format!("{what} cannot run inside a transaction block"),
                ));
            }
            (Command::FinishPrepared { gid, .. }, Transaction::Idle) => {
                return Err(StepError::query(
                    SqlState::UNDEFINED_OBJECT,
                    format!("prepared transaction with identifier \"{gid}\" does not exist"),
                ));
            }
            (_, Transaction::Failed) => return Err(aborted()),
            (Command::Listen(_) | Command::Unlisten(_) | Command::Notify { .. }, _) => {
                return self.listen_command(command)
            }
            (Command::Deallocate(name), _) => match name {
                None => self.statements.clear(),
                Some(name) if self.statements.remove(name).is_some() => {}
                Some(name) => {
                    return Err(StepError::query(
                        SqlState::INVALID_SQL_STATEMENT_NAME,
                        format!("prepared statement \"{name}\" does not exist"),
                    ))
                }
            },
            (other, _) => {
                let Some(reply) = self.settings.execute(other) else {
                    return Err(StepError::query(
                        SqlState::INTERNAL_ERROR,
                        format!("{} is not a session command", other.tag(0)),
                    ));
                };
                let reply = reply.map_err(StepError::Query)?;
                if matches!(other, Command::Discard(Discard::All)) {
                    // Everything the session holds goes, as in PostgreSQL.
                    self.statements.clear();
                    self.portals.clear();
                    self.live = None;
                    self.advisory.unlock_all();
                    self.notify.discard_all();
                }
                for message in reply.messages() {
                    if described || !matches!(message, Message::RowDescription(_)) {
                        self.conn.send(&message);
                    }
                }
                return Ok(());
            }
        }
        self.conn.send(&Message::CommandComplete(command.tag(0)));
        Ok(())
    }

    fn notice(&mut self, code: SqlState, message: &str) {
        self.conn.send(&Message::NoticeResponse(ErrorInfo::new(Severity::Warning, code, message)));
    }

    pub(super) fn duck_exec(&mut self, sql: &str) -> Result<(), StepError> {
        Ok(exec(&self.duck, sql)?)
    }

    /// Commits DuckDB's open transaction; one that wrote to the lake commits holding the
    /// lake's commit lock (see `storage::ducklake`).
    pub(super) fn duck_commit(&mut self) -> Result<(), StepError> {
        let wrote = std::mem::take(&mut self.lake_wrote);
        let _token = match (self.lake_token.take(), &self.shared.lake) {
            (Some(held), _) => Some(held),
            (None, Some(lock)) if wrote => lock.for_commit()?,
            _ => None,
        };
        self.duck_exec("COMMIT")
    }

    pub(super) fn duck_rollback(&mut self) -> Result<(), StepError> {
        self.lake_wrote = false;
        let outcome = self.duck_exec("ROLLBACK");
        self.lake_token = None;
        outcome
    }

    /// Notes that the transaction runs `command`, and says whether it may write to the
    /// lake. In `ducklake` mode such a statement outside a block runs in a transaction
    /// of the session's rather than in DuckDB's autocommit, so that its commit is one the
    /// session makes, under the lake's commit lock. For `INSERT`, `UPDATE`, `DELETE` and
    /// `MERGE` the session takes the lock before that transaction begins: DuckLake's
    /// first attempt at a commit writes the snapshot after the one the transaction
    /// read, which fails and is retried whenever another commit came in between, as
    /// nearly always under concurrent writers; under the lock none can (8 clients
    /// inserting one row each: 69 -> 154 tps, `benches/lake.sh`). DDL, `CREATE TABLE
    /// AS` and `COPY` take it only to commit, so that a long load does not hold every
    /// other commit of the lake back.
    pub(super) fn note_lake_write(&mut self, command: &Command) -> Result<bool, StepError> {
        let Some(lock) = self.shared.lake.as_ref().filter(|_| lake_writes(command)) else {
            return Ok(false);
        };
        self.lake_wrote = true;
        let dml = matches!(command, Command::Insert | Command::Update | Command::Delete | Command::Merge);
        if dml && self.tx == Transaction::Idle && self.lake_token.is_none() {
            self.lake_token = lock.for_commit()?;
        }
        Ok(true)
    }
}

/// Whether a statement may change the lake: what a read-only transaction refuses, and
/// `CALL` (DuckLake's maintenance functions) and `COMMENT`. A statement that writes by
/// other means commits through DuckLake's own retry loop, without the lock.
fn lake_writes(command: &Command) -> bool {
    super::extended::writes(command)
        || matches!(command, Command::Other(tag) if tag.starts_with("CALL") || tag.starts_with("COMMENT"))
}

/// The error for anything but ROLLBACK in a failed transaction block.
pub fn aborted() -> StepError {
    StepError::query(
        SqlState::IN_FAILED_SQL_TRANSACTION,
        "current transaction is aborted, commands ignored until end of transaction block",
    )
}
