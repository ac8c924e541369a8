//! The mallard worker: it serves the PostgreSQL sessions the supervisor hands it over
//! its channel, one thread per session, on one DuckDB database per worker.
//!
//! A worker is an ordinary library call ([`run`]), so the supervisor's `mallard worker`
//! subcommand is a thin shell around it.

// `unsafe` lives in two modules only, `sys` and `duck::raw`; the workspace lints make
// each block say why it holds.
#![deny(unsafe_code)]

pub mod auth;
mod channel;
pub mod config;
pub mod copy;
mod database;
pub mod duck;
mod registry;
mod server;
mod session;
pub mod sql;
mod stats;
#[allow(unsafe_code)]
mod sys;
pub mod tls;
pub mod types;

pub use config::{FileAccess, Storage, WorkerConfig};
pub use database::self_test;
pub use server::{run, WorkerError};

/// What `server_version` reports: clients parse the leading `15.0` as the version.
pub const SERVER_VERSION: &str = concat!("15.0 (mallard ", env!("CARGO_PKG_VERSION"), ", DuckDB v1.5.5)");
