//! Packets between the supervisor and a worker over their `SOCK_SEQPACKET` socketpair.
//!
//! Every message is exactly one packet of at most [`MAX_PACKET`] bytes: a version byte,
//! a kind byte and a little-endian body (variable-length fields carry a `u16` length).
//! A supervisor that a reload re-executed may find workers of an older binary that
//! speak another version; it closes their channels, which any version reads as "drain
//! and exit" (see the supervisor's `server/reexec.rs`). A handed-off client socket travels as the single `SCM_RIGHTS` fd
//! of its `Handoff` packet, so the fd and its description can never be separated. A
//! session moving to a new generation at a reload travels the same way with a second
//! fd, a sealed memfd holding its state (`Moved` from the old worker, `Resume` to the
//! new one). The processes do the `sendmsg`/`recvmsg`; this module only encodes.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, SocketAddrV6};

use crate::stats::{SqlStateClass, StatsDelta, MAX_ERROR_CLASSES};

/// Bumped whenever a packet layout changes. A worker announces it in `Ready`, and every
/// packet carries it, so a supervisor never talks to a worker built from other code.
pub const VERSION: u8 = 6;

/// No packet is longer than this; receivers size their buffers with it. The largest is a
/// `Notify` with the longest channel name and payload PostgreSQL allows.
pub const MAX_PACKET: usize = 8192;

/// The most fds a packet carries: a moving session's socket, its state, and its four
/// advisory lock files.
pub const MAX_FDS: usize = 6;

/// The longest channel name, in bytes: PostgreSQL's `NAMEDATALEN - 1`.
pub const MAX_CHANNEL: usize = 63;

/// The longest notification payload, in bytes: PostgreSQL refuses 8000 and more.
pub const MAX_PAYLOAD: usize = 7999;

/// The slot of a worker in the supervisor's table.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct WorkerId(pub u32);

/// A client session, numbered by the supervisor at accept time. It names the session in
/// both processes' logs, and it correlates a handoff with its `SessionOpened`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SessionId(pub u64);

/// A generation of workers: it grows by one on every reload.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Generation(pub u32);

impl fmt::Display for WorkerId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

impl fmt::Display for SessionId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

impl fmt::Display for Generation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// Where a client connected from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Peer {
    Tcp(SocketAddr),
    /// The unix-domain socket `.s.PGSQL.<port>`.
    Unix,
}

impl fmt::Display for Peer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Peer::Tcp(addr) => addr.fmt(f),
            Peer::Unix => f.write_str("[local]"),
        }
    }
}

/// Supervisor to worker.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ToWorker {
    /// A client socket travels with this packet as its one `SCM_RIGHTS` fd. `full`: the
    /// server holds as many connections as it takes (sessions and connections still in
    /// startup), so the worker answers the client's startup with `FATAL 53300` (after
    /// TLS, so the client can read it) instead of a session. `pid` is the session's
    /// backend pid, unique among the server's live sessions.
    Handoff { session: SessionId, pid: u32, peer: Peer, full: bool },
    /// Health check; answered with `Pong` carrying the same number.
    Ping { seq: u64 },
    /// Take no new sessions; end open ones after `timeout_ms`, then exit. With
    /// `hand_over` (a reload), each session that can move is sent back in a `Moved`
    /// packet at its first quiet moment instead of being waited for.
    Drain { timeout_ms: u64, hand_over: bool },
    /// A session another worker handed over at a reload: its client socket and its
    /// state travel with this packet as its first two `SCM_RIGHTS` fds, then its
    /// advisory lock files if it holds locks. The worker resumes it without a byte to
    /// the client; `pid` stays its backend pid.
    Resume { session: SessionId, pid: u32, peer: Peer },
    /// A cancel request that reached another worker, for the session with this key.
    Cancel { pid: u32, secret: Vec<u8> },
    /// `pg_cancel_backend` or `pg_terminate_backend` of another worker's session, allowed
    /// by the worker that asked.
    Signal { pid: u32, signal: Signal },
    /// A notification another worker's session committed (`NOTIFY`, `pg_notify()`), for
    /// this worker's sessions that listen on `channel`. `sender` is the notifying
    /// session's backend pid.
    Notify { sender: u32, channel: String, payload: String },
}

/// What `pg_cancel_backend` and `pg_terminate_backend` do to a session.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Signal {
    /// Interrupt the running statement (57014).
    Cancel,
    /// End the session (`FATAL 57P01`).
    Terminate,
}

/// Worker to supervisor.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FromWorker {
    /// The database is open and sessions can be handed over.
    Ready {
        pid: u32,
    },
    /// The handoff of `session` arrived; the worker owns the client now.
    SessionOpened {
        session: SessionId,
    },
    SessionClosed {
        session: SessionId,
    },
    Pong {
        seq: u64,
    },
    /// Every session ended after a `Drain`; the worker exits next. `terminated`: how
    /// many the drain timeout ended with 57P01 (the others moved or ended by themselves).
    Drained {
        terminated: u32,
    },
    /// After a `Drain` with `hand_over`: the session left this worker, quiet, to be
    /// resumed by the next generation. Its client socket, its state and its advisory
    /// lock files travel with the packet as its fds, as in `Resume`; it counts as
    /// closed here.
    Moved {
        session: SessionId,
        pid: u32,
        peer: Peer,
    },
    /// A cancel request for a pid that is not this worker's.
    Cancel {
        pid: u32,
        secret: Vec<u8>,
    },
    /// A signal for a session that is not this worker's.
    Signal {
        pid: u32,
        signal: Signal,
    },
    /// Statements and errors since the previous `Stats`, sent before a `Pong` and
    /// before `Drained` when there is anything to report.
    Stats(StatsDelta),
    /// A session of this worker committed a notification; the supervisor passes it to
    /// every other worker. One packet per notification, in commit order.
    Notify {
        sender: u32,
        channel: String,
        payload: String,
    },
}

/// Why a packet could not be decoded. Any of these is a fatal channel error.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ChannelError {
    #[error("channel packet is empty or truncated")]
    Truncated,
    #[error("channel version {got}, expected {VERSION}")]
    Version { got: u8 },
    #[error("unknown channel packet kind {0}")]
    Kind(u8),
    #[error("malformed channel packet of kind {0}")]
    Malformed(u8),
}

struct Writer(Vec<u8>);

impl Writer {
    fn new(kind: u8) -> Self {
        Writer(vec![VERSION, kind])
    }
    fn u8(mut self, v: u8) -> Self {
        self.0.push(v);
        self
    }
    fn u16(mut self, v: u16) -> Self {
        self.0.extend_from_slice(&v.to_le_bytes());
        self
    }
    fn u32(mut self, v: u32) -> Self {
        self.0.extend_from_slice(&v.to_le_bytes());
        self
    }
    fn u64(mut self, v: u64) -> Self {
        self.0.extend_from_slice(&v.to_le_bytes());
        self
    }
    fn bytes(mut self, v: &[u8]) -> Self {
        self = self.u16(v.len() as u16);
        self.0.extend_from_slice(v);
        self
    }
    fn stats(mut self, delta: &StatsDelta) -> Self {
        for &n in &delta.buckets {
            self = self.u64(n);
        }
        self = self.u64(delta.duration_sum_ns).u8(delta.errors.len() as u8);
        for (class, n) in &delta.errors {
            self.0.extend_from_slice(&class.bytes());
            self = self.u64(*n);
        }
        self
    }
    fn signal(self, signal: Signal) -> Self {
        self.u8(match signal {
            Signal::Cancel => 1,
            Signal::Terminate => 2,
        })
    }
    fn peer(self, peer: &Peer) -> Self {
        match peer {
            Peer::Unix => self.u8(0),
            Peer::Tcp(SocketAddr::V4(a)) => {
                let mut w = self.u8(4);
                w.0.extend_from_slice(&a.ip().octets());
                w.u16(a.port())
            }
            Peer::Tcp(SocketAddr::V6(a)) => {
                let mut w = self.u8(6);
                w.0.extend_from_slice(&a.ip().octets());
                w.u16(a.port()).u32(a.flowinfo()).u32(a.scope_id())
            }
        }
    }
}

struct Reader<'a> {
    buf: &'a [u8],
    kind: u8,
}

impl<'a> Reader<'a> {
    /// Checks the version and returns the kind and a reader over the body.
    fn open(buf: &'a [u8]) -> Result<Self, ChannelError> {
        match buf {
            [VERSION, kind, ..] => Ok(Reader { buf: &buf[2..], kind: *kind }),
            [got, _, ..] => Err(ChannelError::Version { got: *got }),
            _ => Err(ChannelError::Truncated),
        }
    }
    fn take(&mut self, n: usize) -> Result<&'a [u8], ChannelError> {
        if self.buf.len() < n {
            return Err(ChannelError::Malformed(self.kind));
        }
        let (head, tail) = self.buf.split_at(n);
        self.buf = tail;
        Ok(head)
    }
    fn u8(&mut self) -> Result<u8, ChannelError> {
        Ok(self.take(1)?[0])
    }
    fn u16(&mut self) -> Result<u16, ChannelError> {
        Ok(u16::from_le_bytes(self.take(2)?.try_into().expect("2 bytes")))
    }
    fn u32(&mut self) -> Result<u32, ChannelError> {
        Ok(u32::from_le_bytes(self.take(4)?.try_into().expect("4 bytes")))
    }
    fn u64(&mut self) -> Result<u64, ChannelError> {
        Ok(u64::from_le_bytes(self.take(8)?.try_into().expect("8 bytes")))
    }
    fn bytes(&mut self) -> Result<Vec<u8>, ChannelError> {
        let n = self.u16()? as usize;
        Ok(self.take(n)?.to_vec())
    }
    fn signal(&mut self) -> Result<Signal, ChannelError> {
        match self.u8()? {
            1 => Ok(Signal::Cancel),
            2 => Ok(Signal::Terminate),
            _ => Err(ChannelError::Malformed(self.kind)),
        }
    }
    /// UTF-8 text of at most `max` bytes.
    fn text(&mut self, max: usize) -> Result<String, ChannelError> {
        let n = self.u16()? as usize;
        if n > max {
            return Err(ChannelError::Malformed(self.kind));
        }
        let bytes = self.take(n)?;
        String::from_utf8(bytes.to_vec()).map_err(|_| ChannelError::Malformed(self.kind))
    }
    /// A `Notify` body; the channel name must not be empty.
    fn notification(&mut self) -> Result<(u32, String, String), ChannelError> {
        let sender = self.u32()?;
        let channel = self.text(MAX_CHANNEL)?;
        if channel.is_empty() {
            return Err(ChannelError::Malformed(self.kind));
        }
        Ok((sender, channel, self.text(MAX_PAYLOAD)?))
    }
    fn peer(&mut self) -> Result<Peer, ChannelError> {
        Ok(match self.u8()? {
            0 => Peer::Unix,
            4 => {
                let ip: [u8; 4] = self.take(4)?.try_into().expect("4 bytes");
                Peer::Tcp(SocketAddr::new(IpAddr::V4(Ipv4Addr::from(ip)), self.u16()?))
            }
            6 => {
                let ip: [u8; 16] = self.take(16)?.try_into().expect("16 bytes");
                let (port, flowinfo, scope_id) = (self.u16()?, self.u32()?, self.u32()?);
                Peer::Tcp(SocketAddr::V6(SocketAddrV6::new(Ipv6Addr::from(ip), port, flowinfo, scope_id)))
            }
            _ => return Err(ChannelError::Malformed(self.kind)),
        })
    }
    fn stats(&mut self) -> Result<StatsDelta, ChannelError> {
        let mut delta = StatsDelta::default();
        for n in delta.buckets.iter_mut() {
            *n = self.u64()?;
        }
        delta.duration_sum_ns = self.u64()?;
        let classes = self.u8()? as usize;
        if classes > MAX_ERROR_CLASSES {
            return Err(ChannelError::Malformed(self.kind));
        }
        for _ in 0..classes {
            let bytes = self.take(2)?.try_into().expect("2 bytes");
            let class = SqlStateClass::from_bytes(bytes).ok_or(ChannelError::Malformed(self.kind))?;
            let n = self.u64()?;
            if delta.errors.iter().any(|(c, _)| *c == class) {
                return Err(ChannelError::Malformed(self.kind));
            }
            delta.errors.push((class, n));
        }
        Ok(delta)
    }
    /// Every byte must have been read.
    fn end<T>(self, value: T) -> Result<T, ChannelError> {
        if self.buf.is_empty() {
            Ok(value)
        } else {
            Err(ChannelError::Malformed(self.kind))
        }
    }
}

impl ToWorker {
    pub fn encode(&self) -> Vec<u8> {
        match self {
            ToWorker::Handoff { session, pid, peer, full } => {
                Writer::new(1).u64(session.0).u32(*pid).peer(peer).u8(u8::from(*full))
            }
            ToWorker::Ping { seq } => Writer::new(2).u64(*seq),
            ToWorker::Drain { timeout_ms, hand_over } => {
                Writer::new(3).u64(*timeout_ms).u8(u8::from(*hand_over))
            }
            ToWorker::Cancel { pid, secret } => Writer::new(4).u32(*pid).bytes(secret),
            ToWorker::Signal { pid, signal } => Writer::new(5).u32(*pid).signal(*signal),
            ToWorker::Notify { sender, channel, payload } => {
                Writer::new(6).u32(*sender).bytes(channel.as_bytes()).bytes(payload.as_bytes())
            }
            ToWorker::Resume { session, pid, peer } => Writer::new(7).u64(session.0).u32(*pid).peer(peer),
        }
        .0
    }

    pub fn decode(buf: &[u8]) -> Result<ToWorker, ChannelError> {
        let mut r = Reader::open(buf)?;
        let message = match r.kind {
            1 => ToWorker::Handoff {
                session: SessionId(r.u64()?),
                pid: r.u32()?,
                peer: r.peer()?,
                full: r.u8()? != 0,
            },
            2 => ToWorker::Ping { seq: r.u64()? },
            3 => ToWorker::Drain { timeout_ms: r.u64()?, hand_over: r.u8()? != 0 },
            4 => ToWorker::Cancel { pid: r.u32()?, secret: r.bytes()? },
            5 => ToWorker::Signal { pid: r.u32()?, signal: r.signal()? },
            6 => {
                let (sender, channel, payload) = r.notification()?;
                ToWorker::Notify { sender, channel, payload }
            }
            7 => ToWorker::Resume { session: SessionId(r.u64()?), pid: r.u32()?, peer: r.peer()? },
            kind => return Err(ChannelError::Kind(kind)),
        };
        r.end(message)
    }
}

impl FromWorker {
    pub fn encode(&self) -> Vec<u8> {
        match self {
            FromWorker::Ready { pid } => Writer::new(1).u32(*pid),
            FromWorker::SessionOpened { session } => Writer::new(2).u64(session.0),
            FromWorker::SessionClosed { session } => Writer::new(3).u64(session.0),
            FromWorker::Pong { seq } => Writer::new(4).u64(*seq),
            FromWorker::Drained { terminated } => Writer::new(5).u32(*terminated),
            FromWorker::Cancel { pid, secret } => Writer::new(6).u32(*pid).bytes(secret),
            FromWorker::Stats(delta) => Writer::new(7).stats(delta),
            FromWorker::Signal { pid, signal } => Writer::new(8).u32(*pid).signal(*signal),
            FromWorker::Notify { sender, channel, payload } => {
                Writer::new(9).u32(*sender).bytes(channel.as_bytes()).bytes(payload.as_bytes())
            }
            FromWorker::Moved { session, pid, peer } => Writer::new(10).u64(session.0).u32(*pid).peer(peer),
        }
        .0
    }

    pub fn decode(buf: &[u8]) -> Result<FromWorker, ChannelError> {
        let mut r = Reader::open(buf)?;
        let message = match r.kind {
            1 => FromWorker::Ready { pid: r.u32()? },
            2 => FromWorker::SessionOpened { session: SessionId(r.u64()?) },
            3 => FromWorker::SessionClosed { session: SessionId(r.u64()?) },
            4 => FromWorker::Pong { seq: r.u64()? },
            5 => FromWorker::Drained { terminated: r.u32()? },
            6 => FromWorker::Cancel { pid: r.u32()?, secret: r.bytes()? },
            7 => FromWorker::Stats(r.stats()?),
            8 => FromWorker::Signal { pid: r.u32()?, signal: r.signal()? },
            9 => {
                let (sender, channel, payload) = r.notification()?;
                FromWorker::Notify { sender, channel, payload }
            }
            10 => FromWorker::Moved { session: SessionId(r.u64()?), pid: r.u32()?, peer: r.peer()? },
            kind => return Err(ChannelError::Kind(kind)),
        };
        r.end(message)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stats::BUCKETS;
    use proptest::prelude::*;

    fn peer() -> impl Strategy<Value = Peer> {
        prop_oneof![Just(Peer::Unix), any::<SocketAddr>().prop_map(Peer::Tcp),]
    }

    fn signal() -> impl Strategy<Value = Signal> {
        prop_oneof![Just(Signal::Cancel), Just(Signal::Terminate)]
    }

    fn secret() -> impl Strategy<Value = Vec<u8>> {
        proptest::collection::vec(any::<u8>(), 4..=256)
    }

    /// A channel name and payload within PostgreSQL's limits (bytes, not characters).
    fn notification() -> impl Strategy<Value = (u32, String, String)> {
        let within = |max: usize| move |s: &String| s.len() <= max;
        (
            any::<u32>(),
            "\\PC{1,63}".prop_filter("63 bytes at most", within(MAX_CHANNEL)),
            prop_oneof!["\\PC{0,40}", "x{7999}"].prop_filter("7999 bytes at most", within(MAX_PAYLOAD)),
        )
    }

    fn to_worker() -> impl Strategy<Value = ToWorker> {
        prop_oneof![
            (any::<u64>(), any::<u32>(), peer(), any::<bool>()).prop_map(|(s, pid, peer, full)| {
                ToWorker::Handoff { session: SessionId(s), pid, peer, full }
            }),
            any::<u64>().prop_map(|seq| ToWorker::Ping { seq }),
            (any::<u64>(), any::<bool>())
                .prop_map(|(timeout_ms, hand_over)| ToWorker::Drain { timeout_ms, hand_over }),
            (any::<u64>(), any::<u32>(), peer()).prop_map(|(s, pid, peer)| ToWorker::Resume {
                session: SessionId(s),
                pid,
                peer
            }),
            (any::<u32>(), secret()).prop_map(|(pid, secret)| ToWorker::Cancel { pid, secret }),
            (any::<u32>(), signal()).prop_map(|(pid, signal)| ToWorker::Signal { pid, signal }),
            notification().prop_map(|(sender, channel, payload)| ToWorker::Notify {
                sender,
                channel,
                payload
            }),
        ]
    }

    fn stats() -> impl Strategy<Value = StatsDelta> {
        let class = proptest::array::uniform2(prop_oneof![b'0'..=b'9', b'A'..=b'Z'])
            .prop_map(|bytes| SqlStateClass::from_bytes(bytes).expect("digits and letters"));
        let errors = proptest::collection::btree_map(class, any::<u64>(), 0..=MAX_ERROR_CLASSES);
        (any::<[u64; BUCKETS]>(), any::<u64>(), errors).prop_map(|(buckets, duration_sum_ns, errors)| {
            let mut delta = StatsDelta::new(buckets, duration_sum_ns);
            for (class, n) in errors {
                assert!(delta.add_errors(class, n));
            }
            delta
        })
    }

    fn from_worker() -> impl Strategy<Value = FromWorker> {
        prop_oneof![
            any::<u32>().prop_map(|pid| FromWorker::Ready { pid }),
            any::<u64>().prop_map(|s| FromWorker::SessionOpened { session: SessionId(s) }),
            any::<u64>().prop_map(|s| FromWorker::SessionClosed { session: SessionId(s) }),
            any::<u64>().prop_map(|seq| FromWorker::Pong { seq }),
            any::<u32>().prop_map(|terminated| FromWorker::Drained { terminated }),
            (any::<u64>(), any::<u32>(), peer()).prop_map(|(s, pid, peer)| FromWorker::Moved {
                session: SessionId(s),
                pid,
                peer
            }),
            (any::<u32>(), secret()).prop_map(|(pid, secret)| FromWorker::Cancel { pid, secret }),
            stats().prop_map(FromWorker::Stats),
            (any::<u32>(), signal()).prop_map(|(pid, signal)| FromWorker::Signal { pid, signal }),
            notification().prop_map(|(sender, channel, payload)| FromWorker::Notify {
                sender,
                channel,
                payload
            }),
        ]
    }

    proptest! {
        #[test]
        fn to_worker_round_trips(m in to_worker()) {
            let packet = m.encode();
            prop_assert!(packet.len() <= MAX_PACKET);
            prop_assert_eq!(ToWorker::decode(&packet), Ok(m));
        }

        #[test]
        fn from_worker_round_trips(m in from_worker()) {
            let packet = m.encode();
            prop_assert!(packet.len() <= MAX_PACKET);
            prop_assert_eq!(FromWorker::decode(&packet), Ok(m));
        }

        #[test]
        fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..64)) {
            let _ = ToWorker::decode(&bytes);
            let _ = FromWorker::decode(&bytes);
        }
    }

    #[test]
    fn other_version_is_refused() {
        let mut packet = ToWorker::Ping { seq: 1 }.encode();
        packet[0] = VERSION + 1;
        assert_eq!(ToWorker::decode(&packet), Err(ChannelError::Version { got: VERSION + 1 }));
    }

    #[test]
    fn the_largest_stats_packet_fits() {
        let mut delta = StatsDelta::new([u64::MAX; BUCKETS], u64::MAX);
        for i in 0..MAX_ERROR_CLASSES {
            let class = SqlStateClass::from_bytes([b'A' + (i / 10) as u8, b'0' + (i % 10) as u8]).unwrap();
            assert!(delta.add_errors(class, u64::MAX));
        }
        let packet = FromWorker::Stats(delta.clone()).encode();
        assert!(packet.len() <= MAX_PACKET, "{} bytes", packet.len());
        assert_eq!(FromWorker::decode(&packet), Ok(FromWorker::Stats(delta)));
    }

    #[test]
    fn the_largest_notification_fits() {
        let longest = FromWorker::Notify {
            sender: u32::MAX,
            channel: "c".repeat(MAX_CHANNEL),
            payload: "p".repeat(MAX_PAYLOAD),
        };
        let packet = longest.encode();
        assert!(packet.len() <= MAX_PACKET, "{} bytes", packet.len());
        assert_eq!(FromWorker::decode(&packet), Ok(longest));
    }

    #[test]
    fn notifications_beyond_the_limits_are_refused() {
        let packet = |channel: &str, payload: &str| {
            ToWorker::Notify { sender: 1, channel: channel.into(), payload: payload.into() }.encode()
        };
        let long_channel = "c".repeat(MAX_CHANNEL + 1);
        let long_payload = "p".repeat(MAX_PAYLOAD + 1);
        for bad in [packet(&long_channel, ""), packet("c", &long_payload), packet("", "p")] {
            assert_eq!(ToWorker::decode(&bad), Err(ChannelError::Malformed(6)));
        }
        let mut not_utf8 = packet("ab", "");
        not_utf8[8] = 0xff;
        assert_eq!(ToWorker::decode(&not_utf8), Err(ChannelError::Malformed(6)));
    }

    #[test]
    fn stats_with_a_bad_or_repeated_class_are_refused() {
        let mut delta = StatsDelta::default();
        delta.add_errors(SqlStateClass::from_bytes(*b"42").unwrap(), 1);
        let packet = FromWorker::Stats(delta).encode();
        let class_at = packet.len() - 10;
        let mut bad = packet.clone();
        bad[class_at] = b'a';
        assert_eq!(FromWorker::decode(&bad), Err(ChannelError::Malformed(7)));
        // The same class twice.
        let mut twice = packet.clone();
        twice[class_at - 1] = 2;
        twice.extend_from_slice(&packet[class_at..]);
        assert_eq!(FromWorker::decode(&twice), Err(ChannelError::Malformed(7)));
    }

    #[test]
    fn truncated_and_trailing_bytes_are_refused() {
        let packet = ToWorker::Ping { seq: 7 }.encode();
        assert!(ToWorker::decode(&packet[..packet.len() - 1]).is_err());
        let mut longer = packet.clone();
        longer.push(0);
        assert!(ToWorker::decode(&longer).is_err());
    }
}
