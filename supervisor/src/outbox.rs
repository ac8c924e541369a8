//! Packets for a worker that its channel could not take at once. The supervisor's loop
//! never waits on a worker: a packet the channel refuses with `EAGAIN` waits here, behind
//! any older one, and goes out when the channel is writable again. The loop watches
//! the channel for writability only while something waits.
//!
//! A worker that stops reading its channel misses its health pings and is killed after
//! `health_timeout`; until then the outbox holds at most [`MAX_BYTES`], and drops what
//! would go beyond, with a warning.

use std::collections::VecDeque;
use std::io;

use tracing::warn;

/// What one worker's outbox may hold.
pub const MAX_BYTES: usize = 64 << 20;

#[derive(Default)]
pub struct Outbox {
    packets: VecDeque<Vec<u8>>,
    bytes: usize,
    /// Packets dropped since the outbox was last empty.
    dropped: u64,
}

/// What became of a packet given to [`Outbox::send`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sent {
    Now,
    /// It waits; the channel must be watched for writability.
    Queued,
    Dropped,
}

impl Outbox {
    pub fn is_empty(&self) -> bool {
        self.packets.is_empty()
    }

    /// Sends `packet` with `send` unless older packets wait or the channel is full, in
    /// which case it waits. An error other than a full channel (the worker is gone) is
    /// returned, and the packet is not kept.
    pub fn send(
        &mut self,
        packet: Vec<u8>,
        mut send: impl FnMut(&[u8]) -> io::Result<()>,
    ) -> io::Result<Sent> {
        if self.packets.is_empty() {
            match send(&packet) {
                Ok(()) => return Ok(Sent::Now),
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                Err(e) => return Err(e),
            }
        }
        if self.bytes + packet.len() > MAX_BYTES {
            self.dropped += 1;
            if self.dropped == 1 {
                warn!(
                    limit_bytes = MAX_BYTES,
                    "a worker's channel is full and its outbox too; dropping packets for it"
                );
            }
            return Ok(Sent::Dropped);
        }
        self.bytes += packet.len();
        self.packets.push_back(packet);
        Ok(Sent::Queued)
    }

    /// Sends what waits, oldest first, until the channel is full. Returns whether the
    /// outbox is empty now.
    pub fn flush(&mut self, mut send: impl FnMut(&[u8]) -> io::Result<()>) -> io::Result<bool> {
        while let Some(packet) = self.packets.front() {
            match send(packet) {
                Ok(()) => {
                    self.bytes -= packet.len();
                    self.packets.pop_front();
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(false),
                Err(e) => return Err(e),
            }
        }
        if self.dropped > 0 {
            warn!(dropped = self.dropped, "a worker's outbox overflowed; its packets were dropped");
            self.dropped = 0;
        }
        Ok(true)
    }

    /// What waits, oldest first: a re-executed supervisor takes it over.
    pub fn packets(&self) -> impl Iterator<Item = &[u8]> {
        self.packets.iter().map(Vec::as_slice)
    }

    /// An outbox holding what a previous image's did.
    pub fn restore(packets: Vec<Vec<u8>>) -> Outbox {
        let bytes = packets.iter().map(Vec::len).sum();
        Outbox { packets: packets.into(), bytes, dropped: 0 }
    }

    /// Forgets what waits: the worker is gone.
    pub fn clear(&mut self) {
        self.packets.clear();
        self.bytes = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn packets_wait_in_order_and_go_when_there_is_room() {
        let mut sent = Vec::new();
        let mut room = 1;
        let mut outbox = Outbox::default();
        // A channel with room for `room` more packets.
        let send = |p: &[u8], sent: &mut Vec<Vec<u8>>, room: &mut usize| {
            if *room == 0 {
                return Err(io::Error::from(io::ErrorKind::WouldBlock));
            }
            *room -= 1;
            sent.push(p.to_vec());
            Ok(())
        };
        assert_eq!(outbox.send(vec![1], |p| send(p, &mut sent, &mut room)).unwrap(), Sent::Now);
        assert_eq!(outbox.send(vec![2], |p| send(p, &mut sent, &mut room)).unwrap(), Sent::Queued);
        room = 5;
        // Even with room, a newer packet does not pass one that waits.
        assert_eq!(outbox.send(vec![3], |p| send(p, &mut sent, &mut room)).unwrap(), Sent::Queued);
        assert!(outbox.flush(|p| send(p, &mut sent, &mut room)).unwrap());
        assert_eq!(sent, [vec![1], vec![2], vec![3]]);
        assert!(outbox.is_empty());
    }

    #[test]
    fn a_restored_outbox_sends_what_the_previous_one_held() {
        let mut outbox = Outbox::default();
        let full = |_: &[u8]| Err(io::Error::from(io::ErrorKind::WouldBlock));
        for p in [vec![1], vec![2, 2]] {
            assert_eq!(outbox.send(p, full).unwrap(), Sent::Queued);
        }
        let mut restored = Outbox::restore(outbox.packets().map(<[u8]>::to_vec).collect());
        let mut sent = Vec::new();
        assert!(restored
            .flush(|p| {
                sent.push(p.to_vec());
                Ok(())
            })
            .unwrap());
        assert_eq!(sent, [vec![1], vec![2, 2]]);
    }

    #[test]
    fn a_full_outbox_drops_and_a_dead_channel_is_an_error() {
        let mut outbox = Outbox::default();
        let full = |_: &[u8]| Err(io::Error::from(io::ErrorKind::WouldBlock));
        let big = vec![0u8; 1 << 20];
        for _ in 0..MAX_BYTES >> 20 {
            assert_eq!(outbox.send(big.clone(), full).unwrap(), Sent::Queued);
        }
        assert_eq!(outbox.send(vec![0], full).unwrap(), Sent::Dropped);
        let gone = |_: &[u8]| Err(io::Error::from(io::ErrorKind::BrokenPipe));
        assert!(outbox.flush(gone).is_err());
        outbox.clear();
        assert!(outbox.send(vec![0], gone).is_err());
    }
}
