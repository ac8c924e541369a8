//! DuckDB errors and their PostgreSQL SQLSTATEs.

use mallard_protocol::pg::backend::ErrorObject;
use mallard_protocol::pg::SqlState;

use super::words::{self, Words};

/// DuckDB's error class (`duckdb_error_type`), or the prefix of its message where the
/// C API gives only text (prepare errors).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorClass {
    Parser,
    Catalog,
    Binder,
    Conversion,
    OutOfRange,
    DivideByZero,
    Constraint,
    Transaction,
    Interrupt,
    NotImplemented,
    InvalidInput,
    MismatchType,
    Permission,
    OutOfMemory,
    Io,
    Other,
}

/// An error from DuckDB: its class and its message, without the `"<Class> Error: "`
/// prefix and the `LINE 1:` caret context, which PostgreSQL clients do not expect.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct DuckError {
    pub class: ErrorClass,
    pub message: String,
    /// DuckDB's "Did you mean ..." suggestion, or PostgreSQL's hint, sent as a HINT.
    pub hint: Option<String>,
    pub detail: Option<String>,
    /// The schema, table, column or constraint PostgreSQL would name (boxed: errors
    /// travel in every `Result` of the DuckDB layer, and are rarely this rich).
    pub object: Box<ErrorObject>,
}

impl ErrorClass {
    pub(crate) fn from_code(code: u32) -> ErrorClass {
        use libduckdb_sys as ffi;
        match code {
            ffi::duckdb_error_type_DUCKDB_ERROR_PARSER | ffi::duckdb_error_type_DUCKDB_ERROR_SYNTAX => {
                ErrorClass::Parser
            }
            ffi::duckdb_error_type_DUCKDB_ERROR_CATALOG => ErrorClass::Catalog,
            ffi::duckdb_error_type_DUCKDB_ERROR_BINDER => ErrorClass::Binder,
            ffi::duckdb_error_type_DUCKDB_ERROR_CONVERSION => ErrorClass::Conversion,
            ffi::duckdb_error_type_DUCKDB_ERROR_OUT_OF_RANGE
            | ffi::duckdb_error_type_DUCKDB_ERROR_DECIMAL => ErrorClass::OutOfRange,
            ffi::duckdb_error_type_DUCKDB_ERROR_DIVIDE_BY_ZERO => ErrorClass::DivideByZero,
            ffi::duckdb_error_type_DUCKDB_ERROR_CONSTRAINT => ErrorClass::Constraint,
            ffi::duckdb_error_type_DUCKDB_ERROR_TRANSACTION => ErrorClass::Transaction,
            ffi::duckdb_error_type_DUCKDB_ERROR_INTERRUPT => ErrorClass::Interrupt,
            ffi::duckdb_error_type_DUCKDB_ERROR_NOT_IMPLEMENTED => ErrorClass::NotImplemented,
            ffi::duckdb_error_type_DUCKDB_ERROR_INVALID_INPUT
            | ffi::duckdb_error_type_DUCKDB_ERROR_PARAMETER_NOT_RESOLVED => ErrorClass::InvalidInput,
            ffi::duckdb_error_type_DUCKDB_ERROR_MISMATCH_TYPE
            | ffi::duckdb_error_type_DUCKDB_ERROR_INVALID_TYPE => ErrorClass::MismatchType,
            ffi::duckdb_error_type_DUCKDB_ERROR_PERMISSION => ErrorClass::Permission,
            ffi::duckdb_error_type_DUCKDB_ERROR_OUT_OF_MEMORY => ErrorClass::OutOfMemory,
            ffi::duckdb_error_type_DUCKDB_ERROR_IO => ErrorClass::Io,
            _ => ErrorClass::Other,
        }
    }

    fn from_prefix(prefix: &str) -> Option<ErrorClass> {
        Some(match prefix {
            "Parser" | "Syntax" => ErrorClass::Parser,
            "Catalog" => ErrorClass::Catalog,
            "Binder" => ErrorClass::Binder,
            "Conversion" => ErrorClass::Conversion,
            "Out of Range" | "Decimal" => ErrorClass::OutOfRange,
            "Divide by Zero" => ErrorClass::DivideByZero,
            "Constraint" => ErrorClass::Constraint,
            "TransactionContext" | "Transaction" => ErrorClass::Transaction,
            "INTERRUPT" | "Interrupt" => ErrorClass::Interrupt,
            "Not implemented" => ErrorClass::NotImplemented,
            "Invalid Input" | "Parameter Not Resolved" | "Parameter Not Allowed" => ErrorClass::InvalidInput,
            "Mismatch Type" | "Invalid type" => ErrorClass::MismatchType,
            "Permission" => ErrorClass::Permission,
            "Out of Memory" => ErrorClass::OutOfMemory,
            "IO" => ErrorClass::Io,
            _ => return None,
        })
    }
}

impl DuckError {
    /// Builds an error from DuckDB's message text; `class` is the typed class when the C
    /// API has one, otherwise the message's own prefix decides.
    pub(crate) fn from_message(class: Option<ErrorClass>, text: &str) -> DuckError {
        let (prefix_class, body) = match text.split_once(" Error: ") {
            Some((prefix, body)) if !prefix.contains('\n') => (ErrorClass::from_prefix(prefix), body),
            _ => (None, text),
        };
        let class = class.filter(|c| *c != ErrorClass::Other).or(prefix_class).unwrap_or(ErrorClass::Other);
        // DuckDB appends "\n\nLINE 1: ..." with a caret; PostgreSQL sends a position.
        let body = body.split("\n\nLINE ").next().unwrap_or(body).trim_end();
        let (message, hint) = match body.split_once("\nDid you mean") {
            Some((m, h)) => (m.trim_end(), Some(format!("Did you mean{}", h.trim_end()))),
            None => (body, None),
        };
        if let Some(message) = declared_length_exceeded(message).filter(|_| class == ErrorClass::Constraint) {
            return DuckError { class, message, hint: None, detail: None, object: Box::default() };
        }
        if let Some(words) = words::postgres_words(message) {
            let Words { message, detail, hint, object } = words;
            return DuckError { class, message, hint, detail, object: Box::new(object) };
        }
        DuckError { class, message: message.to_owned(), hint, detail: None, object: Box::default() }
    }

    /// The SQLSTATE a PostgreSQL client gets for this error.
    pub fn sqlstate(&self) -> SqlState {
        let m = self.message.as_str();
        if m.starts_with("type \"") && m.ends_with("\" is not supported") {
            return SqlState::FEATURE_NOT_SUPPORTED;
        }
        if m == "numeric field overflow" {
            return SqlState::NUMERIC_VALUE_OUT_OF_RANGE;
        }
        match self.class {
            ErrorClass::Parser => SqlState::SYNTAX_ERROR,
            ErrorClass::Catalog => {
                if m.contains("configuration parameter") {
                    SqlState::UNDEFINED_OBJECT
                } else if m.contains("Function") || m.contains("function") || m.contains("Macro") {
                    SqlState::UNDEFINED_FUNCTION
                } else if m.starts_with("schema \"") && m.ends_with("already exists") {
                    SqlState::DUPLICATE_SCHEMA
                } else if m.contains("already exists") {
                    SqlState::DUPLICATE_TABLE
                } else if m.starts_with("schema \"") {
                    SqlState::INVALID_SCHEMA_NAME
                } else if m.starts_with("Type with name") || m.starts_with("type \"") {
                    SqlState::UNDEFINED_OBJECT
                } else {
                    SqlState::UNDEFINED_TABLE
                }
            }
            ErrorClass::Binder => {
                if m.starts_with("missing FROM-clause entry") {
                    SqlState::UNDEFINED_TABLE
                } else if m.starts_with("Prepared statement \"") && m.ends_with("does not exist") {
                    // EXECUTE of a name no PREPARE of the session made.
                    SqlState::INVALID_SQL_STATEMENT_NAME
                } else if m.contains("No function matches")
                    || m.contains("function") && m.contains("does not exist")
                {
                    SqlState::UNDEFINED_FUNCTION
                } else {
                    SqlState::UNDEFINED_COLUMN
                }
            }
            ErrorClass::Conversion => SqlState::INVALID_TEXT_REPRESENTATION,
            ErrorClass::OutOfRange => SqlState::NUMERIC_VALUE_OUT_OF_RANGE,
            ErrorClass::DivideByZero => SqlState::DIVISION_BY_ZERO,
            ErrorClass::Constraint => constraint_sqlstate(m),
            ErrorClass::Transaction => {
                if is_write_conflict(m) {
                    SqlState::SERIALIZATION_FAILURE
                } else if m.contains("read-only") || m.contains("read only") {
                    SqlState::READ_ONLY_SQL_TRANSACTION
                } else {
                    SqlState::ACTIVE_SQL_TRANSACTION
                }
            }
            ErrorClass::Interrupt => SqlState::QUERY_CANCELED,
            ErrorClass::NotImplemented => SqlState::FEATURE_NOT_SUPPORTED,
            // The catalog's lookups (`'x'::regclass`, `current_setting('x')`) raise these.
            ErrorClass::InvalidInput if m.starts_with("relation \"") && m.ends_with("does not exist") => {
                SqlState::UNDEFINED_TABLE
            }
            ErrorClass::InvalidInput
                if (m.starts_with("type \"") || m.starts_with("role \""))
                    && m.ends_with("does not exist")
                    || m.starts_with("unrecognized configuration parameter") =>
            {
                SqlState::UNDEFINED_OBJECT
            }
            // pg_cancel_backend() and pg_terminate_backend() of another user's session.
            ErrorClass::InvalidInput
                if m.starts_with("must be a superuser to")
                    || m.starts_with("must be a member of the role") =>
            {
                SqlState::INSUFFICIENT_PRIVILEGE
            }
            ErrorClass::InvalidInput if m == "\"timeout\" must not be negative" => {
                SqlState::NUMERIC_VALUE_OUT_OF_RANGE
            }
            // set_config() refuses as SET does.
            ErrorClass::InvalidInput if m.starts_with("parameter \"") && m.ends_with("cannot be changed") => {
                SqlState::CANT_CHANGE_RUNTIME_PARAM
            }
            ErrorClass::InvalidInput if m.starts_with("invalid configuration parameter name") => {
                SqlState::INVALID_NAME
            }
            ErrorClass::InvalidInput if m == "SET requires parameter name" => {
                SqlState::NULL_VALUE_NOT_ALLOWED
            }
            // The catalog's `mallard_divisor` (translation rule checked_division).
            ErrorClass::InvalidInput if m == "division by zero" => SqlState::DIVISION_BY_ZERO,
            ErrorClass::InvalidInput => SqlState::INVALID_PARAMETER_VALUE,
            ErrorClass::MismatchType => SqlState::DATA_EXCEPTION,
            ErrorClass::Permission => SqlState::INSUFFICIENT_PRIVILEGE,
            ErrorClass::OutOfMemory => SqlState::OUT_OF_MEMORY,
            ErrorClass::Io => SqlState::IO_ERROR,
            ErrorClass::Other if is_write_conflict(m) => SqlState::SERIALIZATION_FAILURE,
            ErrorClass::Other => SqlState::INTERNAL_ERROR,
        }
    }
}

/// DuckDB's optimistic concurrency control reports lost races with these phrases; they
/// become 40001 so that `pgbench --max-tries` and driver retry loops retry them.
fn is_write_conflict(message: &str) -> bool {
    [
        "Conflict on update",
        "Conflict on tuple deletion",
        "has been altered by a different transaction",
        "write-write conflict",
        "Transaction conflict",
        // DuckLake gave up retrying a commit that others kept overtaking.
        "Exceeded the maximum retry count",
    ]
    .iter()
    .any(|p| message.contains(p))
}

/// PostgreSQL's words for a failed check of a declared length (the checks
/// `translate::types::length_check` writes): `value too long for type character
/// varying(20)`.
fn declared_length_exceeded(message: &str) -> Option<String> {
    let check =
        message.strip_prefix("CHECK constraint failed on table ")?.split_once(" with expression CHECK(")?.1;
    let (padded, rest) = match check.strip_prefix("(char_length(rtrim(") {
        Some(rest) => (true, rest),
        None => (false, check.strip_prefix("(char_length(")?),
    };
    let length = rest.rsplit_once(" <= ")?.1.strip_suffix("))")?;
    length.bytes().all(|b| b.is_ascii_digit()).then_some(())?;
    let ty = if padded { "character" } else { "character varying" };
    Some(format!("value too long for type {ty}({length})"))
}

fn constraint_sqlstate(message: &str) -> SqlState {
    let m = message.to_ascii_lowercase();
    if m.starts_with("value too long for type") {
        SqlState::STRING_DATA_RIGHT_TRUNCATION
    } else if m.contains("not null") || m.contains("not-null") {
        SqlState::NOT_NULL_VIOLATION
    } else if m.contains("foreign key") {
        SqlState::FOREIGN_KEY_VIOLATION
    } else if m.contains("check constraint") {
        SqlState::CHECK_VIOLATION
    } else if m.contains("duplicate key") || m.contains("unique") || m.contains("primary key") {
        SqlState::UNIQUE_VIOLATION
    } else {
        SqlState::INTEGRITY_CONSTRAINT_VIOLATION
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn declared_lengths_fail_as_in_postgres() {
        let e = DuckError::from_message(
            None,
            "Constraint Error: CHECK constraint failed on table t with expression CHECK((char_length(\"Note\") <= 20))",
        );
        assert_eq!(
            (e.message.as_str(), e.sqlstate()),
            ("value too long for type character varying(20)", SqlState::STRING_DATA_RIGHT_TRUNCATION)
        );
        let e = DuckError::from_message(
            None,
            "Constraint Error: CHECK constraint failed on table t with expression CHECK((char_length(rtrim(code)) <= 2))",
        );
        assert_eq!(e.message, "value too long for type character(2)");
        let e = DuckError::from_message(
            None,
            "Constraint Error: CHECK constraint failed on table t with expression CHECK((x > 0))",
        );
        assert_eq!(e.sqlstate(), SqlState::CHECK_VIOLATION);
    }

    #[test]
    fn prefix_and_context_are_stripped() {
        let e = DuckError::from_message(
            None,
            "Catalog Error: Table with name nope does not exist!\nDid you mean \"note\"?\n\nLINE 1: select * from nope\n                      ^",
        );
        assert_eq!(e.class, ErrorClass::Catalog);
        assert_eq!(e.message, "relation \"nope\" does not exist");
        assert_eq!(e.sqlstate(), SqlState::UNDEFINED_TABLE);
        let e = DuckError::from_message(
            None,
            "Catalog Error: Table with name nope does not exist!\nDid you mean \"note\"?",
        );
        assert_eq!(
            e.hint, None,
            "PostgreSQL has no hint here, and DuckDB's suggests its own catalog's names"
        );
        let e = DuckError::from_message(None, "Binder Error: Something odd\nDid you mean \"x\"?");
        assert_eq!(e.hint.as_deref(), Some("Did you mean \"x\"?"));
    }

    #[test]
    fn typed_class_wins_over_prefix() {
        let e = DuckError::from_message(Some(ErrorClass::Interrupt), "INTERRUPT Error: Interrupted!");
        assert_eq!(e.sqlstate(), SqlState::QUERY_CANCELED);
    }

    #[test]
    fn sqlstates_follow_the_design_table() {
        let cases = [
            ("Parser Error: syntax error at or near \"selec\"", "42601"),
            ("Binder Error: Referenced column \"x\" not found in FROM clause!", "42703"),
            ("Catalog Error: Scalar Function with name nope does not exist!", "42883"),
            ("Binder Error: Prepared statement \"p\" does not exist", "26000"),
            ("Conversion Error: Could not convert string 'a' to INT32", "22P02"),
            ("Out of Range Error: Overflow in addition of INT32 (2147483647 + 1)!", "22003"),
            ("Constraint Error: Duplicate key \"id: 1\" violates primary key constraint.", "23505"),
            ("Constraint Error: NOT NULL constraint failed: t.x", "23502"),
            ("TransactionContext Error: Conflict on update!", "40001"),
            (
                "TransactionContext Error: Failed to commit: Failed to commit DuckLake transaction.\nExceeded the maximum retry count of 10 set by the ducklake_max_retry_count setting.",
                "40001",
            ),
            (
                "TransactionContext Error: Failed to commit: Failed to commit DuckLake transaction.\nTransaction conflict - attempting to insert into table with index \"2\" - but another transaction has deleted inlined data from it",
                "40001",
            ),
            ("Not implemented Error: nope", "0A000"),
            ("Something odd", "XX000"),
        ];
        for (text, code) in cases {
            assert_eq!(DuckError::from_message(None, text).sqlstate().code(), code, "{text}");
        }
    }
}
