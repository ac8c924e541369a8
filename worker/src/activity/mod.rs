//! The server's session table (`pg_stat_activity`, `mallard sessions`, admission under
//! `max_connections`): a memfd the supervisor creates once and every worker maps
//! shared, laid out by [`mallard_protocol::activity`]. The supervisor keeps it across
//! its re-executions, so the sessions of a draining generation stay listed.
//!
//! Each session writes only its own slot ([`Slot`]), at most twice per statement; a
//! reader copies the slots without a lock, so listing the sessions never stops one.

pub mod functions;

use std::io;
use std::os::fd::{BorrowedFd, OwnedFd};
use std::time::{SystemTime, UNIX_EPOCH};

pub use mallard_protocol::activity::{Activity, Image, State, Table};

use crate::sys::SharedWords;

/// The segment, mapped.
pub struct Segment {
    memory: SharedWords,
}

impl Segment {
    /// A new segment with room for `slots` sessions keeping `query_bytes` of their query.
    pub fn create(slots: usize, query_bytes: usize) -> io::Result<Segment> {
        let words = mallard_protocol::activity::segment_words(slots, query_bytes);
        let memory = SharedWords::create(c"mallard-activity", words)?;
        Table::format(memory.words(), query_bytes)
            .ok_or_else(|| io::Error::other("activity segment too small"))?;
        Ok(Segment { memory })
    }

    /// Maps a segment the supervisor created.
    pub fn open(fd: OwnedFd) -> io::Result<Segment> {
        let segment = Segment { memory: SharedWords::open(fd)? };
        if segment.table().is_none() {
            return Err(io::Error::other("not an activity segment"));
        }
        Ok(segment)
    }

    /// The table, if the segment holds one.
    pub fn table(&self) -> Option<Table<'_>> {
        Table::open(self.memory.words())
    }

    pub fn fd(&self) -> BorrowedFd<'_> {
        self.memory.fd()
    }

    /// Every session the table lists now.
    pub fn snapshot(&self) -> Vec<Activity> {
        self.table().map(|t| t.snapshot()).unwrap_or_default()
    }
}

/// Microseconds since the Unix epoch.
pub fn now_micros() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_micros() as i64)
}

/// A session's own slot, and what it last wrote there.
pub struct Slot<'s> {
    table: Table<'s>,
    index: usize,
    /// `track_activities`: keep the state and statement current.
    track: bool,
    pub activity: Activity,
    /// What the slot holds, so that a write stores only what changed.
    image: Image,
}

impl<'s> Slot<'s> {
    /// Admits a session if fewer than `max_connections` are, and claims its slot;
    /// `None` when the server is full.
    pub fn admit(
        segment: &'s Segment,
        max_connections: u32,
        track: bool,
        activity: Activity,
    ) -> Option<Slot<'s>> {
        let table = segment.table()?;
        if !table.admit(max_connections) {
            return None;
        }
        let Some(index) = table.claim(activity.pid) else {
            // More sessions than the segment has slots: a reload raised max_connections
            // above what the segment was made for.
            tracing::warn!(slots = table.slots(), "every session slot is taken; refusing the session");
            table.leave();
            return None;
        };
        let mut slot = Slot { table, index, track, activity, image: Image::default() };
        slot.publish();
        Some(slot)
    }

    pub fn publish(&mut self) {
        self.table.publish_image(self.index, &self.activity, &mut self.image);
    }

    /// A statement starts: `active`, with its text. A transaction starts with it unless
    /// a block is open.
    pub fn statement(&mut self, query: &str, in_block: bool) {
        if !self.track {
            return;
        }
        let now = now_micros();
        let a = &mut self.activity;
        a.state = State::Active;
        a.query_start = Some(now);
        a.state_change = Some(now);
        if !in_block || a.xact_start.is_none() {
            a.xact_start = Some(now);
        }
        a.query.clear();
        a.query.push_str(mallard_protocol::activity::clip(query, self.table.query_bytes()));
        self.publish();
    }

    /// The session waits for the client in `state`; written only when it changed.
    pub fn idle(&mut self, state: State) {
        let state = if self.track { state } else { State::Disabled };
        if self.activity.state == state {
            return;
        }
        let a = &mut self.activity;
        a.state = state;
        a.state_change = Some(now_micros());
        if state == State::Idle {
            a.xact_start = None;
        }
        self.publish();
    }
}

impl Drop for Slot<'_> {
    fn drop(&mut self) {
        self.table.release(self.index);
        self.table.leave();
    }
}
