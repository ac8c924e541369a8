//! SQL as the session sees it before DuckDB does: statements split the way PostgreSQL
//! splits a simple-query string, and each statement classified by its leading keywords
//! so the session can keep transaction state and write PostgreSQL command tags.
//!
//! This is the place later client-compatibility translation grows in; it works on
//! tokens, never on ad-hoc string searches in session code.

mod command;
mod lexer;
mod names;
pub mod translate;
pub mod utility;

pub use command::{classify, top_level_words, Command};
pub use lexer::{split_statements, Token, Tokens};
pub use names::postgres_names;
pub use translate::{translate, Translation};
