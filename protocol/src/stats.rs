//! What a worker's sessions did since its last report: statements run, how long they
//! took, and the errors they ended with, by SQLSTATE class.
//!
//! A worker accumulates these between the supervisor's pings and sends what it has as
//! one [`StatsDelta`] in a `FromWorker::Stats` packet; the supervisor adds the deltas
//! into counters that outlive workers. A delta is a difference, never a running total,
//! so a worker that restarts loses nothing already sent.

use std::time::Duration;

use crate::pg::SqlState;

/// Upper bounds of the statement duration buckets, in nanoseconds (0.5 ms to 10 s).
/// A statement falls in the first bucket whose bound is at least its duration, as
/// Prometheus's `le` says; longer ones fall in a last, unbounded bucket.
pub const DURATION_BOUNDS_NS: [u64; 14] = [
    500_000,
    1_000_000,
    2_500_000,
    5_000_000,
    10_000_000,
    25_000_000,
    50_000_000,
    100_000_000,
    250_000_000,
    500_000_000,
    1_000_000_000,
    2_500_000_000,
    5_000_000_000,
    10_000_000_000,
];

/// The number of duration buckets: one per bound, and the unbounded one.
pub const BUCKETS: usize = DURATION_BOUNDS_NS.len() + 1;

/// Error classes one delta carries at most, so that it fits one channel packet. A
/// worker with more keeps the rest for its next delta.
pub const MAX_ERROR_CLASSES: usize = 32;

/// The bucket a statement of this duration counts in.
pub fn bucket_index(elapsed: Duration) -> usize {
    let ns = u64::try_from(elapsed.as_nanos()).unwrap_or(u64::MAX);
    DURATION_BOUNDS_NS.partition_point(|&bound| bound < ns)
}

/// A SQLSTATE class: the first two characters of a code (`42` for `42P01`), digits
/// or upper-case letters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SqlStateClass([u8; 2]);

impl SqlStateClass {
    pub fn of(code: SqlState) -> SqlStateClass {
        let bytes = code.class().as_bytes();
        SqlStateClass([bytes[0], bytes[1]])
    }

    /// A class received on the wire; `None` unless both bytes are digits or upper-case
    /// letters.
    pub fn from_bytes(bytes: [u8; 2]) -> Option<SqlStateClass> {
        bytes.iter().all(|b| b.is_ascii_digit() || b.is_ascii_uppercase()).then_some(SqlStateClass(bytes))
    }

    pub fn bytes(&self) -> [u8; 2] {
        self.0
    }

    pub fn as_str(&self) -> &str {
        // Every constructor admits ASCII only.
        std::str::from_utf8(&self.0).unwrap_or("XX")
    }
}

/// Statements and errors of one worker since its previous delta.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StatsDelta {
    /// Statements by duration, per bucket (not cumulative): `buckets[i]` counts those
    /// over bound `i - 1` and at most bound `i` of [`DURATION_BOUNDS_NS`].
    pub buckets: [u64; BUCKETS],
    /// The statements' durations added up, in nanoseconds.
    pub duration_sum_ns: u64,
    /// Error counts, at most [`MAX_ERROR_CLASSES`] distinct classes.
    pub(crate) errors: Vec<(SqlStateClass, u64)>,
}

impl StatsDelta {
    /// A delta with these statements and no errors yet.
    pub fn new(buckets: [u64; BUCKETS], duration_sum_ns: u64) -> StatsDelta {
        StatsDelta { buckets, duration_sum_ns, errors: Vec::new() }
    }

    /// Statements run: every statement falls in exactly one bucket.
    pub fn statements(&self) -> u64 {
        self.buckets.iter().fold(0u64, |sum, &n| sum.saturating_add(n))
    }

    pub fn errors(&self) -> &[(SqlStateClass, u64)] {
        &self.errors
    }

    /// Adds `count` errors of `class`. Returns `false`, changing nothing, when the
    /// class is new and the delta already holds [`MAX_ERROR_CLASSES`].
    pub fn add_errors(&mut self, class: SqlStateClass, count: u64) -> bool {
        if let Some((_, n)) = self.errors.iter_mut().find(|(c, _)| *c == class) {
            *n = n.saturating_add(count);
            return true;
        }
        if self.errors.len() >= MAX_ERROR_CLASSES {
            return false;
        }
        self.errors.push((class, count));
        true
    }

    /// Nothing happened: no statement and no error.
    pub fn is_empty(&self) -> bool {
        self.buckets.iter().all(|&n| n == 0) && self.duration_sum_ns == 0 && self.errors.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_fall_in_the_first_bucket_whose_bound_holds_them() {
        assert_eq!(bucket_index(Duration::ZERO), 0);
        assert_eq!(bucket_index(Duration::from_micros(500)), 0);
        assert_eq!(bucket_index(Duration::from_nanos(500_001)), 1);
        assert_eq!(bucket_index(Duration::from_secs(1)), 10);
        assert_eq!(bucket_index(Duration::from_secs(10)), BUCKETS - 2);
        assert_eq!(bucket_index(Duration::from_nanos(10_000_000_001)), BUCKETS - 1);
        assert_eq!(bucket_index(Duration::MAX), BUCKETS - 1);
    }

    #[test]
    fn error_classes_are_bounded_and_merged() {
        let mut delta = StatsDelta::default();
        let classes: Vec<SqlStateClass> = (0..MAX_ERROR_CLASSES + 1)
            .map(|i| SqlStateClass::from_bytes([b'A' + (i / 10) as u8, b'0' + (i % 10) as u8]).unwrap())
            .collect();
        for &class in &classes[..MAX_ERROR_CLASSES] {
            assert!(delta.add_errors(class, 1));
        }
        assert!(!delta.add_errors(classes[MAX_ERROR_CLASSES], 1));
        assert!(delta.add_errors(classes[0], 2));
        assert_eq!(delta.errors().len(), MAX_ERROR_CLASSES);
        assert_eq!(delta.errors()[0], (classes[0], 3));
    }

    #[test]
    fn class_of_a_sqlstate() {
        assert_eq!(SqlStateClass::of(SqlState::UNDEFINED_TABLE).as_str(), "42");
        assert_eq!(SqlStateClass::of(SqlState::INTERNAL_ERROR).as_str(), "XX");
        assert_eq!(SqlStateClass::from_bytes(*b"4a"), None);
        assert_eq!(SqlStateClass::from_bytes(*b"4\""), None);
    }
}
