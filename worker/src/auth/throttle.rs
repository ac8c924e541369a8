//! Slows down password guessing: per worker, failed authentications are counted per
//! client address, and once an address has failed more than [`FREE_FAILURES`] times with
//! less than [`WINDOW`] between failures, its failure answers are delayed, doubling each
//! time up to [`MAX_DELAY`]. Successes are never delayed, so a guesser from an address
//! slows down while a legitimate user there does not.
//!
//! The delayed session thread holds its connection slot while it sleeps, which also caps
//! how many guesses in parallel a client can have in flight. The table holds at most
//! [`CAPACITY`] addresses; when full, quiet entries go first, then the oldest.

use std::collections::HashMap;
use std::net::IpAddr;
use std::time::{Duration, Instant};

use mallard_protocol::channel::Peer;

use super::rules::canonical;

/// Failures let through without delay.
pub const FREE_FAILURES: u32 = 5;
/// A failure this long after the previous one starts the count afresh.
pub const WINDOW: Duration = Duration::from_secs(60);
/// The delay of the first throttled failure; each next one doubles it.
pub const FIRST_DELAY: Duration = Duration::from_millis(250);
pub const MAX_DELAY: Duration = Duration::from_secs(4);
/// Addresses tracked at once.
pub const CAPACITY: usize = 10_000;

/// Who failed: an IPv4 address, an IPv6 /64 (one host often owns a whole /64), or the
/// unix socket.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Source {
    V4(u32),
    V6Net(u64),
    Local,
}

impl Source {
    pub fn of(peer: &Peer) -> Source {
        match peer {
            Peer::Unix => Source::Local,
            Peer::Tcp(addr) => match canonical(addr.ip()) {
                IpAddr::V4(v4) => Source::V4(u32::from(v4)),
                IpAddr::V6(v6) => Source::V6Net((u128::from(v6) >> 64) as u64),
            },
        }
    }
}

#[derive(Debug, Clone, Copy)]
struct Entry {
    failures: u32,
    last: Instant,
}

/// The failure table of one worker.
#[derive(Debug, Default)]
pub struct Throttle {
    entries: HashMap<Source, Entry>,
}

impl Throttle {
    /// Records a failure from `source` at `now`; returns how long to wait before saying so.
    pub fn failure(&mut self, source: Source, now: Instant) -> (u32, Duration) {
        if !self.entries.contains_key(&source) && self.entries.len() >= CAPACITY {
            self.evict(now);
        }
        let entry = self.entries.entry(source).or_insert(Entry { failures: 0, last: now });
        if now.saturating_duration_since(entry.last) > WINDOW {
            entry.failures = 0;
        }
        entry.failures = entry.failures.saturating_add(1);
        entry.last = now;
        (entry.failures, delay(entry.failures))
    }

    /// Makes room for one entry.
    fn evict(&mut self, now: Instant) {
        self.entries.retain(|_, e| now.saturating_duration_since(e.last) <= WINDOW);
        if self.entries.len() >= CAPACITY {
            if let Some(oldest) = self.entries.iter().min_by_key(|(_, e)| e.last).map(|(k, _)| *k) {
                self.entries.remove(&oldest);
            }
        }
    }

    #[cfg(test)]
    fn len(&self) -> usize {
        self.entries.len()
    }
}

/// The delay after the `failures`-th failure in a row.
pub fn delay(failures: u32) -> Duration {
    match failures.checked_sub(FREE_FAILURES + 1) {
        None => Duration::ZERO,
        Some(doublings) => {
            FIRST_DELAY.saturating_mul(1u32.checked_shl(doublings).unwrap_or(u32::MAX)).min(MAX_DELAY)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delays_start_after_the_free_failures_and_are_capped() {
        let delays: Vec<u64> = (1..=12).map(|n| delay(n).as_millis() as u64).collect();
        assert_eq!(delays, [0, 0, 0, 0, 0, 250, 500, 1000, 2000, 4000, 4000, 4000]);
        assert_eq!(delay(u32::MAX), MAX_DELAY);
    }

    #[test]
    fn a_quiet_minute_forgives_and_sources_are_separate() {
        let mut t = Throttle::default();
        let a = Source::of(&Peer::Tcp("10.0.0.1:5000".parse().unwrap()));
        let b = Source::of(&Peer::Tcp("10.0.0.2:5000".parse().unwrap()));
        let start = Instant::now();
        for i in 0..7 {
            t.failure(a, start + Duration::from_secs(i * 30));
        }
        assert_eq!(t.failure(a, start + Duration::from_secs(200)), (8, Duration::from_secs(1)));
        assert_eq!(t.failure(b, start + Duration::from_secs(200)).0, 1);
        assert_eq!(t.failure(a, start + Duration::from_secs(261)), (1, Duration::ZERO));
    }

    #[test]
    fn ipv6_counts_per_64_and_mapped_ipv4_as_ipv4() {
        let s = |a: &str| Source::of(&Peer::Tcp(a.parse().unwrap()));
        assert_eq!(s("[2001:db8:1:2::1]:1"), s("[2001:db8:1:2:ffff::9]:1"));
        assert_ne!(s("[2001:db8:1:2::1]:1"), s("[2001:db8:1:3::1]:1"));
        assert_eq!(s("[::ffff:10.0.0.1]:1"), s("10.0.0.1:2"));
        assert_eq!(Source::of(&Peer::Unix), Source::Local);
    }

    #[test]
    fn the_table_stays_bounded() {
        let mut t = Throttle::default();
        let start = Instant::now();
        for i in 0..(CAPACITY as u32 + 500) {
            t.failure(Source::V4(i), start + Duration::from_millis(u64::from(i)));
        }
        assert_eq!(t.len(), CAPACITY);
        // The newest entries survive; the oldest went.
        assert!(t.entries.contains_key(&Source::V4(CAPACITY as u32 + 499)));
        assert!(!t.entries.contains_key(&Source::V4(0)));
    }
}
