//! SQL as the session sees it before DuckDB does: a query string split the way
//! PostgreSQL splits it, each statement tokenized once ([`Statement`]) and analysed by
//! one pure function ([`analyze`]): its class and command tag, what must be rewritten
//! for DuckDB ([`translate`](translate::translate)), and what Parse reports about its parameters and columns.
//!
//! Client-compatibility work grows here; it works on tokens, never on ad-hoc string
//! searches in session code.

mod analyze;
mod command;
mod lexer;
mod names;
mod statement;
pub mod translate;
pub mod utility;

pub use analyze::{analyze, Analysis, DuckPlan, Plan, Refusal};
#[cfg(test)]
pub use command::classify;
pub use command::Command;
pub use lexer::Token;
pub use statement::{split, Statement};

/// Whether `needle` (ASCII, lower case) occurs anywhere in `sql`, ignoring case: a cheap
/// filter before tokenizing.
pub fn mentions(sql: &str, needle: &str) -> bool {
    sql.as_bytes().windows(needle.len()).any(|w| w.eq_ignore_ascii_case(needle.as_bytes()))
}
