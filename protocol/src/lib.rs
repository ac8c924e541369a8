//! Wire formats shared by every mallard process, with no I/O at all.
//!
//! - [`pg`]: the PostgreSQL v3 protocol as a client and a server speak it: startup
//!   packets, frontend messages (borrowed from the read buffer), backend messages (owned,
//!   encoded into a caller's buffer) and typed SQLSTATEs.
//! - [`channel`]: the packets the supervisor and its workers exchange over their
//!   `SOCK_SEQPACKET` socketpair.
//! - [`stats`]: the statement counts and durations a worker reports over its channel.
//! - [`admin`]: the admin socket's requests and answers (`mallard status`, `reload`,
//!   `stop`), as the supervisor, the CLI and the test harness read them.
//!
//! - [`activity`]: the server's session table in shared memory (`pg_stat_activity`),
//!   laid out over atomic words.
//!
//! Decoders work on byte slices and answer *need more bytes*, *here is a message* or
//! *this is invalid*; the processes own the sockets.
#![forbid(unsafe_code)]

pub mod activity;
pub mod admin;
pub mod channel;
pub mod pg;
pub mod stats;
