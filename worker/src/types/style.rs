//! How a session writes and reads time stamps with time zone as text: in its `TimeZone`,
//! with the rules of the system tz database, which PostgreSQL on Debian reads too.

use jiff::civil::DateTime;
use jiff::tz::{AmbiguousOffset, Offset, TimeZone};
use jiff::Timestamp;

/// The session's time zone, for `timestamptz` text output and input.
#[derive(Debug, Clone)]
pub struct TextStyle {
    zone: Zone,
}

#[derive(Debug, Clone)]
enum Zone {
    /// Seconds east of UTC (`SET TIME ZONE -5`, `UTC+3`).
    Fixed(i64),
    Rules(TimeZone),
}

impl Default for TextStyle {
    fn default() -> Self {
        TextStyle { zone: Zone::Fixed(0) }
    }
}

impl TextStyle {
    /// A zone with one offset, in seconds east of UTC.
    pub fn fixed(offset_secs: i64) -> TextStyle {
        TextStyle { zone: Zone::Fixed(offset_secs) }
    }

    /// A zone of the system tz database; `None` when it has no such zone.
    pub fn named(name: &str) -> Option<TextStyle> {
        TimeZone::get(name).ok().map(|tz| TextStyle { zone: Zone::Rules(tz) })
    }

    /// Seconds east of UTC at the instant `micros` (since 1970-01-01 UTC). Instants
    /// beyond the tz library's range (years -9999 to 9999) take the offset at its edge.
    pub fn offset_at(&self, micros: i64) -> i64 {
        match &self.zone {
            Zone::Fixed(secs) => *secs,
            Zone::Rules(tz) => i64::from(tz.to_offset(timestamp(micros)).seconds()),
        }
    }

    /// Seconds east of UTC for a wall-clock time in this zone (`local_micros`, counted as
    /// if the zone were UTC), chosen as PostgreSQL chooses: in a gap (clocks jump
    /// forward) the offset before the jump, in a fold (clocks go back) the offset after it.
    pub fn offset_for_local(&self, local_micros: i64) -> i64 {
        match &self.zone {
            Zone::Fixed(secs) => *secs,
            Zone::Rules(tz) => {
                let wall: DateTime = Offset::UTC.to_datetime(timestamp(local_micros));
                let offset = match tz.to_ambiguous_timestamp(wall).offset() {
                    AmbiguousOffset::Unambiguous { offset } => offset,
                    AmbiguousOffset::Gap { before, .. } => before,
                    AmbiguousOffset::Fold { after, .. } => after,
                };
                i64::from(offset.seconds())
            }
        }
    }
}

fn timestamp(micros: i64) -> Timestamp {
    Timestamp::from_microsecond(micros).unwrap_or(if micros < 0 { Timestamp::MIN } else { Timestamp::MAX })
}

#[cfg(test)]
mod tests {
    use super::*;

    const HOUR: i64 = 3600;
    const MICROS: i64 = 1_000_000;

    #[test]
    fn offsets_follow_daylight_saving() {
        let rome = TextStyle::named("Europe/Rome").expect("the system tz database has Europe/Rome");
        // 2024-01-15 12:00 UTC and 2024-07-15 12:00 UTC.
        assert_eq!(rome.offset_at(1_705_320_000 * MICROS), HOUR);
        assert_eq!(rome.offset_at(1_721_044_800 * MICROS), 2 * HOUR);
        // Wall-clock times are counted as if in UTC.
        // 2024-03-31 02:30 does not exist in Rome: the offset before the jump (+01).
        let gap = 1_711_852_200 * MICROS;
        assert_eq!(rome.offset_for_local(gap), HOUR);
        // 2024-10-27 02:30 happens twice: the offset after the change (+01).
        let fold = 1_729_996_200 * MICROS;
        assert_eq!(rome.offset_for_local(fold), HOUR);
        assert_eq!(TextStyle::fixed(-5 * HOUR).offset_at(0), -5 * HOUR);
        assert!(TextStyle::named("Mars/Base").is_none());
    }
}
