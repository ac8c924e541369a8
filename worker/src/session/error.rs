//! How a session's work fails, and the one place where a failure becomes the
//! `ErrorResponse` the client sees: a [`StepError`] is an ERROR and the session goes
//! on, a [`SessionError`] ends the session (with a FATAL when there is one to send).
//!
//! Errors from DuckDB, COPY, value decoding and the utility-statement parsers convert
//! here, each in one `From`, so that SQLSTATE, message, hint and position are carried
//! the same way from every path.

use mallard_protocol::pg::backend::ErrorInfo;
use mallard_protocol::pg::SqlState;

use super::conn::ReadError;
use super::handshake::HandshakeError;
use crate::copy::CopyError;
use crate::duck::{DuckError, LogicalType};
use crate::sql::utility::ParseError;
use crate::types::ValueError;

/// Why a session ended other than by the client's `Terminate`.
#[derive(Debug, thiserror::Error)]
pub enum SessionError {
    #[error(transparent)]
    Read(#[from] ReadError),
    #[error("writing to the client failed")]
    Io(#[source] std::io::Error),
    /// The session ends with this FATAL error sent to the client.
    #[error("{}", .0.message)]
    Fatal(ErrorInfo),
    #[error("direct SSL connection refused: {0}")]
    DirectTlsRefused(&'static str),
    #[error(transparent)]
    Tls(#[from] HandshakeError),
    #[error("terminated by the worker")]
    Terminated,
    /// The session moved to the next generation at a reload; its thread ends silently.
    #[error("moved to the next generation")]
    Moved,
}

impl SessionError {
    /// The FATAL error the client is sent as the session ends, if it is sent one: a
    /// closed or broken socket, or a client that does not speak the protocol, gets none.
    pub fn fatal(&self) -> Option<ErrorInfo> {
        match self {
            SessionError::Fatal(info) => Some(info.clone()),
            SessionError::Read(ReadError::Startup(e)) => Some(ErrorInfo::fatal(e.sqlstate(), e.to_string())),
            SessionError::Read(ReadError::Message(e)) => Some(ErrorInfo::fatal(e.sqlstate(), e.to_string())),
            SessionError::Terminated => Some(ErrorInfo::fatal(
                SqlState::ADMIN_SHUTDOWN,
                "terminating connection due to administrator command",
            )),
            _ => None,
        }
    }
}

/// How one step failed: the client is told and the session goes on, or the
/// connection itself broke.
#[derive(Debug)]
pub enum StepError {
    Query(ErrorInfo),
    Session(SessionError),
}

impl StepError {
    pub fn query(code: SqlState, message: impl Into<String>) -> StepError {
        StepError::Query(ErrorInfo::error(code, message))
    }

    /// `0A000` for a result column whose type mallard cannot encode.
    pub fn unsupported_type(column: &str, ty: &LogicalType) -> StepError {
        StepError::Query(
            ErrorInfo::error(
                SqlState::FEATURE_NOT_SUPPORTED,
                format!("column \"{column}\" has a type mallard cannot send yet ({ty:?})"),
            )
            .with_hint("cast the column to VARCHAR"),
        )
    }

    /// Adds PostgreSQL's `DETAIL` to a client error.
    pub fn with_detail(self, detail: impl Into<String>) -> StepError {
        match self {
            StepError::Query(info) => StepError::Query(info.with_detail(detail)),
            other => other,
        }
    }
}

impl From<SessionError> for StepError {
    fn from(e: SessionError) -> Self {
        StepError::Session(e)
    }
}

impl From<std::io::Error> for StepError {
    fn from(e: std::io::Error) -> Self {
        StepError::Session(SessionError::Io(e))
    }
}

/// DuckDB's error class picks the SQLSTATE; a "Did you mean" becomes the hint.
impl From<DuckError> for StepError {
    fn from(e: DuckError) -> Self {
        let code = e.sqlstate();
        let mut info = ErrorInfo::error(code, e.message);
        info.hint = e.hint;
        info.detail = e.detail;
        info.object = e.object;
        StepError::Query(info)
    }
}

impl From<crate::storage::LakeError> for StepError {
    fn from(e: crate::storage::LakeError) -> Self {
        StepError::Query(ErrorInfo::error(e.sqlstate(), e.to_string()))
    }
}

impl From<CopyError> for StepError {
    fn from(e: CopyError) -> Self {
        let mut info = ErrorInfo::error(e.code, e.message);
        info.hint = e.hint;
        StepError::Query(info)
    }
}

/// A value PostgreSQL's input (or receive) function for its type would reject.
impl From<ValueError> for StepError {
    fn from(e: ValueError) -> Self {
        StepError::query(e.code, e.message)
    }
}

/// A utility statement that does not parse, positioned in the statement.
impl From<ParseError> for StepError {
    fn from(e: ParseError) -> Self {
        let mut info = ErrorInfo::error(e.code, e.message);
        info.position = e.position;
        StepError::Query(info)
    }
}

impl From<crate::encoding::Untranslatable> for StepError {
    fn from(e: crate::encoding::Untranslatable) -> Self {
        StepError::query(SqlState::UNTRANSLATABLE_CHARACTER, e.to_string())
    }
}

impl From<crate::encoding::DecodeError> for StepError {
    fn from(e: crate::encoding::DecodeError) -> Self {
        use crate::encoding::DecodeError;
        match e {
            DecodeError::Untranslatable(e) => e.into(),
            DecodeError::Invalid(e) => StepError::query(SqlState::CHARACTER_NOT_IN_REPERTOIRE, e.to_string()),
        }
    }
}
