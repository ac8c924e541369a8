//! `SAVEPOINT`, `RELEASE` and `ROLLBACK TO` as far as DuckDB can honour them. DuckDB has
//! no nested transactions, so a savepoint is a mark in the count of statements that
//! wrote: rolling back to it is exactly right when nothing wrote since (psycopg's and
//! SQLAlchemy's nested blocks around reads, a failed read, a probe), and is refused
//! with a clear error, leaving the block failed, when something did. Never a silent
//! partial rollback. A failed statement may also have aborted DuckDB's transaction
//! itself; then too the rollback is refused.

use mallard_protocol::pg::backend::Message;
use mallard_protocol::pg::SqlState;

use super::error::StepError;
use super::notify;
use super::query::Transaction;
use super::Session;
use crate::sql::utility::Savepoint;

/// The savepoints of the open block, oldest first, each with the count of writing
/// statements when it was defined and where the block's LISTEN/NOTIFY stood.
#[derive(Debug, Default)]
pub(super) struct Savepoints {
    marks: Vec<(String, u64, notify::Mark)>,
    writes: u64,
}

impl Savepoints {
    /// A statement that changes data or schema is about to run.
    pub(super) fn wrote(&mut self) {
        self.writes += 1;
    }

    /// The block ended.
    pub(super) fn clear(&mut self) {
        self.marks.clear();
        self.writes = 0;
    }

    /// The newest savepoint of that name, as PostgreSQL finds it.
    fn find(&self, name: &str) -> Option<usize> {
        self.marks.iter().rposition(|(n, _, _)| n == name)
    }
}

impl Session<'_> {
    pub(super) fn savepoint(&mut self, command: &Savepoint) -> Result<(), StepError> {
        let (verb, name) = match command {
            Savepoint::Define(n) => ("SAVEPOINT", n),
            Savepoint::Release(n) => ("RELEASE SAVEPOINT", n),
            Savepoint::RollbackTo(n) => ("ROLLBACK TO SAVEPOINT", n),
        };
        match self.tx {
            Transaction::Idle | Transaction::Implicit => {
                return Err(StepError::query(
                    SqlState::NO_ACTIVE_SQL_TRANSACTION,
                    format!("{verb} can only be used in transaction blocks"),
                ))
            }
            Transaction::Failed if !matches!(command, Savepoint::RollbackTo(_)) => {
                return Err(super::query::aborted())
            }
            Transaction::Block | Transaction::Failed => {}
        }
        let missing = || {
            StepError::query(
                SqlState::INVALID_SAVEPOINT_SPECIFICATION,
                format!("savepoint \"{name}\" does not exist"),
            )
        };
        let tag = match command {
            Savepoint::Define(_) => {
                let writes = self.savepoints.writes;
                self.savepoints.marks.push((name.clone(), writes, self.notify.mark()));
                "SAVEPOINT"
            }
            Savepoint::Release(_) => {
                let at = self.savepoints.find(name).ok_or_else(missing)?;
                self.savepoints.marks.truncate(at);
                "RELEASE"
            }
            Savepoint::RollbackTo(_) => {
                let at = self.savepoints.find(name).ok_or_else(missing)?;
                let since = self.savepoints.writes - self.savepoints.marks[at].1;
                if since > 0 {
                    return Err(StepError::query(
                        SqlState::FEATURE_NOT_SUPPORTED,
                        format!(
                            "cannot roll back to savepoint \"{name}\": {since} statement(s) since it changed data or \
                             schema, and DuckDB has no nested transactions; roll back the whole transaction"
                        ),
                    ));
                }
                if self.tx == Transaction::Failed && self.duck_exec("SELECT 1").is_err() {
                    return Err(StepError::query(
                        SqlState::FEATURE_NOT_SUPPORTED,
                        format!(
                            "cannot roll back to savepoint \"{name}\": the failed statement aborted DuckDB's \
                             transaction; roll back the whole transaction"
                        ),
                    ));
                }
                // The savepoint stays, later ones go, as in PostgreSQL.
                self.savepoints.marks.truncate(at + 1);
                self.notify.roll_back_to(self.savepoints.marks[at].2);
                self.tx = Transaction::Block;
                "ROLLBACK"
            }
        };
        self.conn.send(&Message::CommandComplete(tag.into()));
        Ok(())
    }
}
