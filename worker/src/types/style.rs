//! How a session writes and reads dates, times and intervals as text: in its `TimeZone`,
//! with the rules of the system tz database, which PostgreSQL on Debian reads too, and in
//! its `DateStyle` and `IntervalStyle`.

use jiff::civil::DateTime;
use jiff::tz::{AmbiguousOffset, Offset, TimeZone};
use jiff::Timestamp;

/// The system tz database, which PostgreSQL on Debian reads too.
pub const ZONEINFO: &str = "/usr/share/zoneinfo";

/// The session's time zone and styles, for date and time text output and input.
#[derive(Debug, Clone, Default)]
pub struct TextStyle {
    zone: Zone,
    /// `DateStyle`'s output format.
    pub dates: DateFormat,
    /// `DateStyle`'s field order: how `01/02/03` is read, and `SQL` and `Postgres` output.
    pub order: DateOrder,
    pub intervals: IntervalFormat,
}

/// The output half of `DateStyle`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum DateFormat {
    /// `2026-12-03 14:30:00+01`
    #[default]
    Iso,
    /// `12/03/2026 14:30:00 CET`
    Sql,
    /// `Thu Dec 03 14:30:00 2026 CET`
    Postgres,
    /// `03.12.2026 14:30:00 CET`
    German,
}

/// The field-order half of `DateStyle`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum DateOrder {
    #[default]
    Mdy,
    Dmy,
    Ymd,
}

/// `IntervalStyle`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum IntervalFormat {
    /// `1 year 2 mons 3 days 04:05:06`
    #[default]
    Postgres,
    /// `@ 1 year 2 mons 3 days 4 hours 5 mins 6 secs`
    PostgresVerbose,
    /// `+1-2 +3 +4:05:06`
    SqlStandard,
    /// `P1Y2M3DT4H5M6S`
    Iso8601,
}

impl DateFormat {
    /// The word `SHOW DateStyle` starts with.
    pub fn name(self) -> &'static str {
        match self {
            DateFormat::Iso => "ISO",
            DateFormat::Sql => "SQL",
            DateFormat::Postgres => "Postgres",
            DateFormat::German => "German",
        }
    }
}

impl DateOrder {
    pub fn name(self) -> &'static str {
        match self {
            DateOrder::Mdy => "MDY",
            DateOrder::Dmy => "DMY",
            DateOrder::Ymd => "YMD",
        }
    }
}

impl IntervalFormat {
    pub fn name(self) -> &'static str {
        match self {
            IntervalFormat::Postgres => "postgres",
            IntervalFormat::PostgresVerbose => "postgres_verbose",
            IntervalFormat::SqlStandard => "sql_standard",
            IntervalFormat::Iso8601 => "iso_8601",
        }
    }

    pub fn from_name(name: &str) -> Option<IntervalFormat> {
        [
            IntervalFormat::Postgres,
            IntervalFormat::PostgresVerbose,
            IntervalFormat::SqlStandard,
            IntervalFormat::Iso8601,
        ]
        .into_iter()
        .find(|f| f.name().eq_ignore_ascii_case(name))
    }
}

#[derive(Debug, Clone)]
enum Zone {
    /// Seconds east of UTC (`SET TIME ZONE -5`, `UTC+3`), and the abbreviation written
    /// after SQL, German and Postgres style time stamps (`-05`, `UTC`).
    Fixed {
        east: i64,
        abbreviation: String,
    },
    Rules(TimeZone),
}

impl Default for Zone {
    fn default() -> Self {
        Zone::Fixed { east: 0, abbreviation: "UTC".into() }
    }
}

impl TextStyle {
    /// A zone with one offset, in seconds east of UTC, and its abbreviation.
    pub fn fixed(east: i64, abbreviation: &str) -> TextStyle {
        TextStyle {
            zone: Zone::Fixed { east, abbreviation: abbreviation.to_owned() },
            ..TextStyle::default()
        }
    }

    /// A zone of the system tz database; `None` when it has no such zone.
    pub fn named(name: &str) -> Option<TextStyle> {
        zone_named(name).map(|tz| TextStyle { zone: Zone::Rules(tz), ..TextStyle::default() })
    }

    /// The zone's abbreviation at the instant `micros`, as SQL, German and Postgres style
    /// time stamps end (`CET`, `CEST`, `LMT`, `-03`).
    pub fn abbreviation_at(&self, micros: i64) -> String {
        match &self.zone {
            Zone::Fixed { abbreviation, .. } => abbreviation.clone(),
            Zone::Rules(tz) => tz.to_offset_info(timestamp(micros)).abbreviation().to_owned(),
        }
    }

    /// Seconds east of UTC at the instant `micros` (since 1970-01-01 UTC). Instants
    /// beyond the tz library's range (years -9999 to 9999) take the offset at its edge.
    pub fn offset_at(&self, micros: i64) -> i64 {
        match &self.zone {
            Zone::Fixed { east, .. } => *east,
            Zone::Rules(tz) => i64::from(tz.to_offset(timestamp(micros)).seconds()),
        }
    }

    /// Seconds east of UTC for a wall-clock time in this zone (`local_micros`, counted as
    /// if the zone were UTC), chosen as PostgreSQL chooses: in a gap (clocks jump
    /// forward) the offset before the jump, in a fold (clocks go back) the offset after it.
    pub fn offset_for_local(&self, local_micros: i64) -> i64 {
        match &self.zone {
            Zone::Fixed { east, .. } => *east,
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

/// A zone of the system tz database by its file name, also those the tz library does
/// not list (`posix/Europe/Rome`, `right/UTC`), which PostgreSQL takes too.
pub fn zone_named(name: &str) -> Option<TimeZone> {
    if let Ok(tz) = TimeZone::get(name) {
        return Some(tz);
    }
    if name.is_empty()
        || name.starts_with('/')
        || name.split('/').any(|part| part.is_empty() || part.starts_with('.'))
    {
        return None;
    }
    let data = std::fs::read(std::path::Path::new(ZONEINFO).join(name)).ok()?;
    TimeZone::tzif(name, &data).ok()
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
        assert_eq!(TextStyle::fixed(-5 * HOUR, "-05").offset_at(0), -5 * HOUR);
        assert_eq!(rome.abbreviation_at(1_721_044_800 * MICROS), "CEST");
        assert!(TextStyle::named("Mars/Base").is_none());
    }
}
