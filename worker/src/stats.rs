//! The worker's statement counters, shared by its session threads and emptied into a
//! [`StatsDelta`] for the supervisor on every ping.
//!
//! What counts as a statement (see the session's `counted`): each statement of a simple
//! `Query` that was run (those after a failed one are not), and each `Execute` message
//! (one that continues a suspended portal too; messages skipped after an error until
//! `Sync` are not). COPY, SET, BEGIN, FETCH and the like count as any statement. Its
//! duration runs from the start of the statement until its last message is queued for
//! the client, rows and COPY data included.
//!
//! An error is every `ErrorResponse` a session sends and survives: of a statement, of a
//! `Parse`, `Bind` or `Describe`, or of the implicit COMMIT that ends a batch. So a
//! statement refused at `Parse` counts as an error without counting as a statement.
//! FATAL errors that end a session are not counted here.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::{Mutex, PoisonError};
use std::time::Duration;

use mallard_protocol::pg::SqlState;
use mallard_protocol::stats::{bucket_index, SqlStateClass, StatsDelta, BUCKETS};

/// Statements on the query path are counted with atomics alone; errors take a lock.
#[derive(Default)]
pub struct Stats {
    buckets: [AtomicU64; BUCKETS],
    duration_sum_ns: AtomicU64,
    errors: Mutex<BTreeMap<SqlStateClass, u64>>,
}

impl Stats {
    /// One statement ran, for `elapsed`.
    pub fn statement(&self, elapsed: Duration) {
        self.buckets[bucket_index(elapsed)].fetch_add(1, Relaxed);
        let ns = u64::try_from(elapsed.as_nanos()).unwrap_or(u64::MAX);
        self.duration_sum_ns.fetch_add(ns, Relaxed);
    }

    /// The session sent an `ErrorResponse` with this code.
    pub fn error(&self, code: SqlState) {
        let mut errors = self.errors.lock().unwrap_or_else(PoisonError::into_inner);
        let n = errors.entry(SqlStateClass::of(code)).or_default();
        *n = n.saturating_add(1);
    }

    /// What accumulated since the previous call. Error classes beyond what one packet
    /// holds stay for the next delta, so counts are late, never lost. A statement that
    /// ends during the call may have its bucket in one delta and its duration in the next.
    pub fn take_delta(&self) -> StatsDelta {
        let mut delta = StatsDelta::new(
            std::array::from_fn(|i| self.buckets[i].swap(0, Relaxed)),
            self.duration_sum_ns.swap(0, Relaxed),
        );
        let mut errors = self.errors.lock().unwrap_or_else(PoisonError::into_inner);
        while let Some(entry) = errors.first_entry() {
            if !delta.add_errors(*entry.key(), *entry.get()) {
                break;
            }
            entry.remove();
        }
        delta
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use mallard_protocol::stats::MAX_ERROR_CLASSES;

    #[test]
    fn a_delta_holds_what_happened_since_the_last_one() {
        let stats = Stats::default();
        stats.statement(Duration::from_micros(100));
        stats.statement(Duration::from_secs(20));
        stats.error(SqlState::UNDEFINED_TABLE);
        stats.error(SqlState::SYNTAX_ERROR);
        stats.error(SqlState::DIVISION_BY_ZERO);

        let delta = stats.take_delta();
        assert_eq!(delta.statements(), 2);
        assert_eq!(delta.buckets[0], 1);
        assert_eq!(delta.buckets[BUCKETS - 1], 1);
        assert_eq!(delta.duration_sum_ns, 20_000_100_000);
        let class = |s: &[u8; 2]| SqlStateClass::from_bytes(*s).unwrap();
        assert_eq!(delta.errors(), [(class(b"22"), 1), (class(b"42"), 2)]);

        assert!(stats.take_delta().is_empty());
    }

    #[test]
    fn error_classes_beyond_one_packet_wait_for_the_next_delta() {
        let stats = Stats::default();
        let classes = MAX_ERROR_CLASSES + 5;
        for i in 0..classes {
            let code = format!("{}{}000", (b'A' + (i / 10) as u8) as char, i % 10);
            stats.error(SqlState::from_code(&code).unwrap());
        }
        let first = stats.take_delta();
        let second = stats.take_delta();
        assert_eq!(first.errors().len(), MAX_ERROR_CLASSES);
        assert_eq!(second.errors().len(), 5);
        assert!(stats.take_delta().is_empty());
    }
}
