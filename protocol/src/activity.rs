//! The server's session table: one slot per session, in a shared memory segment the
//! supervisor creates and every worker maps, so that `pg_stat_activity` on any worker
//! (and `mallard sessions` in the supervisor) sees every session of every worker
//! without asking anyone, and admitting a session costs one atomic add.
//!
//! The segment is a slice of `AtomicU64` words: a header, then `slots` slots of
//! `stride` words each. A slot's first word is its seqlock counter (odd while its
//! session rewrites it), its second the owner's backend pid (0: free; a session claims
//! a slot by compare-and-swap), and the rest the [`Activity`] encoded as bytes. Only
//! the owning session writes its slot; readers copy it and retry when the counter
//! moved. Nothing here blocks a writer.
//!
//! This module only lays out and reads the words; the processes map the memory.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::atomic::{fence, AtomicU64, Ordering};

use crate::channel::Peer;

/// The first word of a segment: "mallard" and a layout version.
pub const MAGIC: u64 = u64::from_le_bytes(*b"mallard\x01");
/// Words before the first slot.
const HEADER_WORDS: usize = 8;
/// Header word: the number of slots.
const SLOTS: usize = 1;
/// Header word: the words per slot.
const STRIDE: usize = 2;
/// Header word: the sessions admitted (those that hold a slot or are claiming one).
const ADMITTED: usize = 3;
/// Slot words before the encoded activity: the seqlock counter, the owner's pid.
const SLOT_HEADER: usize = 2;
/// Bytes of the fixed fields of an encoded activity.
const FIXED_BYTES: usize = 3 * 4 + 4 * 8 + 4 + 2 + 16 + 3 * 64 + 2;
/// The longest name (database, user, application) kept: PostgreSQL's NAMEDATALEN - 1.
pub const NAME_BYTES: usize = 63;
/// How many times a reader retries a slot that keeps changing under it.
const READ_TRIES: usize = 64;

/// The words a segment needs for `slots` sessions keeping `query_bytes` of their query.
pub fn segment_words(slots: usize, query_bytes: usize) -> usize {
    HEADER_WORDS + slots * stride(query_bytes)
}

fn stride(query_bytes: usize) -> usize {
    SLOT_HEADER + (FIXED_BYTES + query_bytes).div_ceil(8)
}

/// `pg_stat_activity.state`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum State {
    /// Admitted, not yet authenticated: no state yet (PostgreSQL shows NULL).
    Starting,
    Active,
    Idle,
    IdleInTransaction,
    IdleInTransactionAborted,
    /// `track_activities` is off: nothing but the session itself is kept.
    Disabled,
}

impl State {
    pub fn name(self) -> Option<&'static str> {
        Some(match self {
            State::Starting => return None,
            State::Active => "active",
            State::Idle => "idle",
            State::IdleInTransaction => "idle in transaction",
            State::IdleInTransactionAborted => "idle in transaction (aborted)",
            State::Disabled => "disabled",
        })
    }

    fn code(self) -> u8 {
        self as u8
    }

    fn from_code(code: u8) -> State {
        match code {
            1 => State::Active,
            2 => State::Idle,
            3 => State::IdleInTransaction,
            4 => State::IdleInTransactionAborted,
            5 => State::Disabled,
            _ => State::Starting,
        }
    }
}

/// What one session is doing. Times are microseconds since the Unix epoch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Activity {
    pub pid: u32,
    /// The OS pid of the worker serving it, and that worker's generation.
    pub worker_pid: u32,
    pub generation: u32,
    pub backend_start: i64,
    pub xact_start: Option<i64>,
    pub query_start: Option<i64>,
    pub state_change: Option<i64>,
    pub state: State,
    pub tls: bool,
    pub peer: Peer,
    pub database: String,
    pub user: String,
    pub application_name: String,
    /// The current or last statement, cut to the segment's query size.
    pub query: String,
}

impl Activity {
    /// `client_addr` and `client_port` as PostgreSQL shows them: no address and port -1
    /// on the unix socket.
    pub fn client(&self) -> (Option<String>, i32) {
        match self.peer {
            Peer::Tcp(s) => (Some(s.ip().to_string()), i32::from(s.port())),
            Peer::Unix => (None, -1),
        }
    }
}

/// What a session last wrote to its slot, so that the next write stores only the words
/// that changed (a statement's start changes its times, state and text; going idle, a
/// time and the state).
#[derive(Debug, Default)]
pub struct Image {
    last: Vec<u8>,
    next: Vec<u8>,
}

/// A mapped segment, as words. The memory must stay mapped while this lives.
pub struct Table<'a> {
    words: &'a [AtomicU64],
    slots: usize,
    stride: usize,
}

impl<'a> Table<'a> {
    /// Lays a fresh segment out (its memory zeroed, as a new memfd's is).
    pub fn format(words: &'a [AtomicU64], query_bytes: usize) -> Option<Table<'a>> {
        let stride = stride(query_bytes);
        let slots = words.len().checked_sub(HEADER_WORDS)? / stride;
        words[SLOTS].store(slots as u64, Ordering::Relaxed);
        words[STRIDE].store(stride as u64, Ordering::Relaxed);
        words[0].store(MAGIC, Ordering::Release);
        Some(Table { words, slots, stride })
    }

    /// Reads the layout of a segment another process formatted.
    pub fn open(words: &'a [AtomicU64]) -> Option<Table<'a>> {
        if words.len() < HEADER_WORDS || words[0].load(Ordering::Acquire) != MAGIC {
            return None;
        }
        let slots = words[SLOTS].load(Ordering::Relaxed) as usize;
        let stride = words[STRIDE].load(Ordering::Relaxed) as usize;
        if stride <= SLOT_HEADER + FIXED_BYTES / 8 || HEADER_WORDS + slots.checked_mul(stride)? > words.len()
        {
            return None;
        }
        Some(Table { words, slots, stride })
    }

    pub fn slots(&self) -> usize {
        self.slots
    }

    /// The bytes of a query a slot keeps.
    pub fn query_bytes(&self) -> usize {
        (self.stride - SLOT_HEADER) * 8 - FIXED_BYTES
    }

    fn slot(&self, index: usize) -> &'a [AtomicU64] {
        let start = HEADER_WORDS + index * self.stride;
        &self.words[start..start + self.stride]
    }

    /// Counts a session in if fewer than `limit` are; `false` when the server is full.
    pub fn admit(&self, limit: u32) -> bool {
        let admitted = &self.words[ADMITTED];
        if admitted.fetch_add(1, Ordering::AcqRel) >= u64::from(limit) {
            admitted.fetch_sub(1, Ordering::AcqRel);
            return false;
        }
        true
    }

    /// Counts an admitted session out.
    pub fn leave(&self) {
        let admitted = &self.words[ADMITTED];
        let _ = admitted.fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| n.checked_sub(1));
    }

    pub fn admitted(&self) -> u64 {
        self.words[ADMITTED].load(Ordering::Acquire)
    }

    /// Claims a free slot for `pid`, looking first where the pid points; `None` when
    /// every slot is taken.
    pub fn claim(&self, pid: u32) -> Option<usize> {
        if self.slots == 0 || pid == 0 {
            return None;
        }
        let first = pid as usize % self.slots;
        (0..self.slots).map(|k| (first + k) % self.slots).find(|&i| {
            self.slot(i)[1].compare_exchange(0, u64::from(pid), Ordering::AcqRel, Ordering::Relaxed).is_ok()
        })
    }

    /// Writes a claimed slot; only its owner calls this. The owner keeps its [`Image`]:
    /// only the words that changed since its last write are stored, and nothing is
    /// allocated.
    pub fn publish_image(&self, index: usize, activity: &Activity, image: &mut Image) {
        let slot = self.slot(index);
        encode(activity, self.query_bytes(), &mut image.next);
        let seq = slot[0].load(Ordering::Relaxed);
        slot[0].store(seq.wrapping_add(1), Ordering::Relaxed);
        fence(Ordering::Release);
        // Whole words on both sides, so that they compare as integers.
        image.next.resize(image.next.len().div_ceil(8) * 8, 0);
        let word = |bytes: &[u8], i: usize| {
            bytes.get(i * 8..i * 8 + 8).map(|b| u64::from_le_bytes(b.try_into().expect("8 bytes")))
        };
        for (i, target) in slot[SLOT_HEADER..].iter().take(image.next.len() / 8).enumerate() {
            let value = word(&image.next, i).expect("within the encoding");
            if word(&image.last, i) != Some(value) {
                target.store(value, Ordering::Relaxed);
            }
        }
        slot[0].store(seq.wrapping_add(2), Ordering::Release);
        std::mem::swap(&mut image.last, &mut image.next);
    }

    /// Frees a slot: its owner when the session ends, or the supervisor for a worker
    /// that died.
    pub fn release(&self, index: usize) {
        let slot = self.slot(index);
        let seq = slot[0].load(Ordering::Relaxed);
        slot[0].store(seq.wrapping_add(1), Ordering::Relaxed);
        fence(Ordering::Release);
        slot[SLOT_HEADER].store(0, Ordering::Relaxed);
        slot[0].store(seq.wrapping_add(2), Ordering::Release);
        slot[1].store(0, Ordering::Release);
    }

    /// One slot's activity, if a session holds it and has published it.
    pub fn read(&self, index: usize) -> Option<Activity> {
        let slot = self.slot(index);
        let mut bytes = vec![0u8; (self.stride - SLOT_HEADER) * 8];
        for _ in 0..READ_TRIES {
            let before = slot[0].load(Ordering::Acquire);
            if before % 2 == 1 {
                std::hint::spin_loop();
                continue;
            }
            if slot[1].load(Ordering::Acquire) == 0 {
                return None;
            }
            for (word, out) in slot[SLOT_HEADER..].iter().zip(bytes.chunks_mut(8)) {
                out.copy_from_slice(&word.load(Ordering::Relaxed).to_le_bytes());
            }
            fence(Ordering::Acquire);
            if slot[0].load(Ordering::Relaxed) == before {
                return decode(&bytes);
            }
        }
        None
    }

    /// Every published session, in slot order.
    pub fn snapshot(&self) -> Vec<Activity> {
        (0..self.slots).filter_map(|i| self.read(i)).collect()
    }

    /// The slots whose sessions the worker with this OS pid served: the supervisor frees
    /// them when it died.
    pub fn slots_of_worker(&self, worker_pid: u32) -> Vec<usize> {
        (0..self.slots)
            .filter(|&i| self.slot(i)[1].load(Ordering::Acquire) != 0)
            .filter(|&i| self.read(i).is_some_and(|a| a.worker_pid == worker_pid))
            .collect()
    }
}

fn put_name(out: &mut Vec<u8>, name: &str) {
    let cut = clip(name, NAME_BYTES);
    out.push(cut.len() as u8);
    out.extend_from_slice(cut.as_bytes());
    out.resize(out.len() + NAME_BYTES - cut.len(), 0);
}

/// The longest prefix of `s` of at most `max` bytes that ends on a character boundary,
/// as PostgreSQL clips names and queries.
pub fn clip(s: &str, max: usize) -> &str {
    if s.len() <= max {
        return s;
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

const NULL_TIME: i64 = i64::MIN;

fn encode(a: &Activity, query_bytes: usize, out: &mut Vec<u8>) {
    let query = clip(&a.query, query_bytes);
    out.clear();
    out.extend_from_slice(&a.pid.to_le_bytes());
    out.extend_from_slice(&a.worker_pid.to_le_bytes());
    out.extend_from_slice(&a.generation.to_le_bytes());
    for t in [Some(a.backend_start), a.xact_start, a.query_start, a.state_change] {
        out.extend_from_slice(&t.unwrap_or(NULL_TIME).to_le_bytes());
    }
    let (family, addr, port) = match a.peer {
        Peer::Unix => (0u8, [0u8; 16], 0u16),
        Peer::Tcp(SocketAddr::V4(s)) => {
            let mut addr = [0u8; 16];
            addr[..4].copy_from_slice(&s.ip().octets());
            (4, addr, s.port())
        }
        Peer::Tcp(SocketAddr::V6(s)) => (6, s.ip().octets(), s.port()),
    };
    out.extend_from_slice(&[a.state.code(), u8::from(a.tls), family, 0]);
    out.extend_from_slice(&port.to_le_bytes());
    out.extend_from_slice(&addr);
    put_name(out, &a.database);
    put_name(out, &a.user);
    put_name(out, &a.application_name);
    out.extend_from_slice(&(query.len() as u16).to_le_bytes());
    debug_assert_eq!(out.len(), FIXED_BYTES);
    out.extend_from_slice(query.as_bytes());
}

fn decode(bytes: &[u8]) -> Option<Activity> {
    let mut r = Cursor { bytes, at: 0 };
    let pid = r.u32()?;
    if pid == 0 {
        return None;
    }
    let worker_pid = r.u32()?;
    let generation = r.u32()?;
    let mut times = [0i64; 4];
    for t in &mut times {
        *t = r.i64()?;
    }
    let time = |t: i64| (t != NULL_TIME).then_some(t);
    let [state, tls, family, _] = r.take(4)?.try_into().ok()?;
    let port = r.u16()?;
    let addr: [u8; 16] = r.take(16)?.try_into().ok()?;
    let peer = match family {
        4 => Peer::Tcp(SocketAddr::new(IpAddr::V4(Ipv4Addr::new(addr[0], addr[1], addr[2], addr[3])), port)),
        6 => Peer::Tcp(SocketAddr::new(IpAddr::V6(Ipv6Addr::from(addr)), port)),
        _ => Peer::Unix,
    };
    let database = r.name()?;
    let user = r.name()?;
    let application_name = r.name()?;
    let len = r.u16()? as usize;
    let query = String::from_utf8_lossy(r.take(len)?).into_owned();
    Some(Activity {
        pid,
        worker_pid,
        generation,
        backend_start: times[0],
        xact_start: time(times[1]),
        query_start: time(times[2]),
        state_change: time(times[3]),
        state: State::from_code(state),
        tls: tls != 0,
        peer,
        database,
        user,
        application_name,
        query,
    })
}

struct Cursor<'b> {
    bytes: &'b [u8],
    at: usize,
}

impl<'b> Cursor<'b> {
    fn take(&mut self, n: usize) -> Option<&'b [u8]> {
        let out = self.bytes.get(self.at..self.at + n)?;
        self.at += n;
        Some(out)
    }
    fn u16(&mut self) -> Option<u16> {
        Some(u16::from_le_bytes(self.take(2)?.try_into().ok()?))
    }
    fn u32(&mut self) -> Option<u32> {
        Some(u32::from_le_bytes(self.take(4)?.try_into().ok()?))
    }
    fn i64(&mut self) -> Option<i64> {
        Some(i64::from_le_bytes(self.take(8)?.try_into().ok()?))
    }
    fn name(&mut self) -> Option<String> {
        let len = (self.take(1)?[0] as usize).min(NAME_BYTES);
        let field = self.take(NAME_BYTES)?;
        Some(String::from_utf8_lossy(&field[..len]).into_owned())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(n: usize) -> Vec<AtomicU64> {
        (0..n).map(|_| AtomicU64::new(0)).collect()
    }

    fn activity(pid: u32, query: &str) -> Activity {
        Activity {
            pid,
            worker_pid: 4242,
            generation: 3,
            backend_start: 1_700_000_000_000_000,
            xact_start: None,
            query_start: Some(1_700_000_000_000_123),
            state_change: Some(1_700_000_000_000_456),
            state: State::IdleInTransactionAborted,
            tls: true,
            peer: Peer::Tcp("[2001:db8::1]:5433".parse().unwrap()),
            database: "mallard".into(),
            user: "ü".repeat(40),
            application_name: "psql".into(),
            query: query.into(),
        }
    }

    #[test]
    fn a_published_slot_reads_back_with_names_and_query_clipped() {
        let memory = words(segment_words(4, 100));
        let table = Table::format(&memory, 100).unwrap();
        let table = Table::open(table.words).unwrap();
        assert_eq!((table.slots(), table.query_bytes() >= 100), (4, true));
        let slot = table.claim(7).unwrap();
        assert_eq!(table.read(slot), None, "claimed, not yet published");
        let long = "é".repeat(200);
        table.publish_image(slot, &activity(7, &long), &mut Image::default());
        let read = table.read(slot).unwrap();
        let mut expected = activity(7, clip(&long, table.query_bytes()));
        expected.user = clip(&expected.user, NAME_BYTES).to_string();
        assert_eq!(read, expected);
        assert_eq!(read.user.len(), 62, "cut on a character boundary");
        assert_eq!(table.slots_of_worker(4242), vec![slot]);
        table.release(slot);
        assert_eq!(table.snapshot(), vec![]);
        assert_eq!(table.claim(7), Some(slot), "a freed slot is taken again");
    }

    #[test]
    fn claims_fill_every_slot_then_fail() {
        let memory = words(segment_words(3, 16));
        let table = Table::format(&memory, 16).unwrap();
        let mut got: Vec<usize> = (1..=3).map(|pid| table.claim(pid).unwrap()).collect();
        got.sort();
        assert_eq!(got, vec![0, 1, 2]);
        assert_eq!(table.claim(9), None);
    }

    #[test]
    fn admission_stops_at_the_limit_and_leaving_makes_room() {
        let memory = words(segment_words(1, 16));
        let table = Table::format(&memory, 16).unwrap();
        assert!(table.admit(2) && table.admit(2));
        assert!(!table.admit(2));
        assert_eq!(table.admitted(), 2);
        table.leave();
        assert!(table.admit(2));
        table.leave();
        table.leave();
        table.leave();
        assert_eq!(table.admitted(), 0, "never below zero");
    }

    #[test]
    fn readers_never_see_a_torn_slot() {
        let memory = words(segment_words(1, 64));
        let table = Table::format(&memory, 64).unwrap();
        let slot = table.claim(1).unwrap();
        table.publish_image(slot, &activity(1, &"a".repeat(64)), &mut Image::default());
        std::thread::scope(|s| {
            s.spawn(|| {
                let mut image = Image::default();
                for i in 0..20_000 {
                    let c = if i % 2 == 0 { "b" } else { "c" };
                    table.publish_image(slot, &activity(1, &c.repeat(64)), &mut image);
                }
            });
            for _ in 0..20_000 {
                if let Some(a) = table.read(slot) {
                    let first = a.query.as_bytes()[0];
                    assert!(a.query.bytes().all(|b| b == first), "torn: {}", a.query);
                }
            }
        });
    }

    #[test]
    fn a_foreign_segment_is_refused() {
        let memory = words(64);
        assert!(Table::open(&memory).is_none());
    }
}
