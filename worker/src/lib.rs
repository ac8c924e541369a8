//! The mallard worker: it serves the PostgreSQL sessions the supervisor hands it over
//! its channel, one thread per session, on one DuckDB database per worker.
//!
//! A worker is an ordinary library call ([`run`]), so the supervisor's `mallard worker`
//! subcommand is a thin shell around it.
//!
//! Process-level rooms: [`main_loop`] takes the supervisor's packets, [`shared`] is what
//! all sessions of the worker share, [`sessions`] finds a live session for a cancel or
//! a drain, [`notifications`] holds what its listening sessions are sent, [`storage`] decides and opens what the worker serves, [`sys`] holds its raw
//! system calls. A session itself lives in `session/`.

// `unsafe` lives in two modules only, `sys` and `duck::raw`; the workspace lints make
// each block say why it holds.
#![deny(unsafe_code)]

pub mod activity;
mod advisory;
pub mod auth;
mod catalog;
mod channel;
pub mod config;
mod copy;
mod duck;
#[doc(hidden)]
pub mod embedded;
mod encoding;
mod main_loop;
mod notifications;
mod session;
mod session_threads;
mod sessions;
mod shared;
mod sql;
mod stats;
mod storage;
#[allow(unsafe_code)]
mod sys;
mod threads;
pub mod tls;
mod types;

pub use config::{FileAccess, WorkerConfig};
pub use main_loop::{run, WorkerError};
pub use session::settings::check_timezone;
pub use storage::{self_test, LakeSettings, PolicyError, Storage, StorageError};
pub use sys::memfd_with;

/// What `server_version` reports: clients parse the leading `15.0` as the version.
pub const SERVER_VERSION: &str = concat!("15.0 (mallard ", env!("CARGO_PKG_VERSION"), ", DuckDB v1.5.5)");

/// Reads and translates `sql` as a Parse without parameter types does, in the default
/// text style; whether mallard would run it. For `benches/analyze_cost.rs`, which
/// measures what this costs per statement.
#[doc(hidden)]
pub fn analyze_for_bench(sql: &str) -> bool {
    sql::analyze(&sql::Statement::new(sql), &[], &types::TextStyle::default()).is_ok()
}
