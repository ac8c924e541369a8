//! Date and time input beyond ISO 8601, as PostgreSQL reads it in every `DateStyle`:
//! `12/03/2026` and `03.12.2026` (fields in `DateStyle`'s order unless the first has
//! three or more digits), month and weekday names (`Thu Dec 03 14:30:00 2026`,
//! `3 December 2026`, `1999-Jan-08`), `AM`/`PM`, `YYYYMMDD`, two-digit years (`69` is
//! 2069, `70` is 1970), and the time zone abbreviations of PostgreSQL's `Default` set
//! that have a fixed offset (`CET`, `EST`, `PDT`, `JST`).
//!
//! [`super::datetime_in`] tries its ISO reader first and comes here when that fails.

use super::datetime_in::{Bad, Cursor, Parts};
use super::style::DateOrder;

/// Weekday names and their accepted abbreviations, which add nothing to a date.
const WEEKDAYS: &[&str] = &[
    "sun",
    "sunday",
    "mon",
    "monday",
    "tue",
    "tues",
    "tuesday",
    "wed",
    "wednesday",
    "thu",
    "thur",
    "thurs",
    "thursday",
    "fri",
    "friday",
    "sat",
    "saturday",
];

const MONTHS: [&str; 12] = [
    "january",
    "february",
    "march",
    "april",
    "may",
    "june",
    "july",
    "august",
    "september",
    "october",
    "november",
    "december",
];

/// The fixed-offset abbreviations of PostgreSQL 15's `Default` abbreviation set, in
/// seconds east of UTC, sorted by name.
const ABBREVIATIONS: &[(&str, i32)] = &[
    ("acdt", 37800),
    ("acsst", 37800),
    ("acst", 34200),
    ("act", -18000),
    ("acwst", 31500),
    ("adt", -10800),
    ("aedt", 39600),
    ("aesst", 39600),
    ("aest", 36000),
    ("aft", 16200),
    ("akdt", -28800),
    ("akst", -32400),
    ("almst", 25200),
    ("almt", 21600),
    ("amt", -14400),
    ("ast", -14400),
    ("awsst", 32400),
    ("awst", 28800),
    ("azost", 0),
    ("azot", -3600),
    ("bdst", 7200),
    ("bdt", 21600),
    ("bnt", 28800),
    ("bort", 28800),
    ("bot", -14400),
    ("bra", -10800),
    ("brst", -7200),
    ("brt", -10800),
    ("bst", 3600),
    ("btt", 21600),
    ("cadt", 37800),
    ("cast", 34200),
    ("cct", 28800),
    ("cdt", -18000),
    ("cest", 7200),
    ("cet", 3600),
    ("cetdst", 7200),
    ("chadt", 49500),
    ("chast", 45900),
    ("chut", 36000),
    ("clst", -10800),
    ("cot", -18000),
    ("cst", -21600),
    ("cxt", 25200),
    ("ddut", 36000),
    ("eat", 10800),
    ("edt", -14400),
    ("eest", 10800),
    ("eet", 7200),
    ("eetdst", 10800),
    ("egst", 0),
    ("egt", -3600),
    ("est", -18000),
    ("fet", 10800),
    ("fjst", 46800),
    ("fjt", 43200),
    ("fnst", -3600),
    ("fnt", -7200),
    ("galt", -21600),
    ("gamt", -32400),
    ("gft", -10800),
    ("gilt", 43200),
    ("gmt", 0),
    ("hkt", 28800),
    ("hst", -36000),
    ("ict", 25200),
    ("idt", 10800),
    ("irt", 12600),
    ("ist", 7200),
    ("jayt", 32400),
    ("jst", 32400),
    ("kdt", 36000),
    ("kgst", 21600),
    ("kst", 32400),
    ("lhst", 37800),
    ("ligt", 36000),
    ("mart", -34200),
    ("mdt", -21600),
    ("mest", 7200),
    ("mesz", 7200),
    ("met", 3600),
    ("metdst", 7200),
    ("mez", 3600),
    ("mht", 43200),
    ("mmt", 23400),
    ("mpt", 36000),
    ("msd", 14400),
    ("mst", -25200),
    ("must", 18000),
    ("mut", 14400),
    ("mvt", 18000),
    ("myt", 28800),
    ("ndt", -9000),
    ("nft", -12600),
    ("npt", 20700),
    ("nst", -12600),
    ("nzdt", 46800),
    ("nzst", 43200),
    ("nzt", 43200),
    ("pdt", -25200),
    ("pet", -18000),
    ("pgt", 36000),
    ("pht", 28800),
    ("pkst", 21600),
    ("pkt", 18000),
    ("pmdt", -7200),
    ("pmst", -10800),
    ("pont", 39600),
    ("pst", -28800),
    ("pwt", 32400),
    ("pyst", -10800),
    ("ret", 14400),
    ("sadt", 37800),
    ("sast", 7200),
    ("sct", 14400),
    ("taht", -36000),
    ("tft", 18000),
    ("tjt", 18000),
    ("tot", 46800),
    ("trut", 36000),
    ("tvt", 43200),
    ("uct", 0),
    ("ulast", 32400),
    ("ut", 0),
    ("utc", 0),
    ("uyst", -7200),
    ("uyt", -10800),
    ("uzst", 21600),
    ("uzt", 18000),
    ("vut", 39600),
    ("wadt", 28800),
    ("wakt", 43200),
    ("wast", 25200),
    ("wat", 3600),
    ("wdt", 32400),
    ("wet", 0),
    ("wetdst", 3600),
    ("wft", 43200),
    ("wgst", -7200),
    ("wgt", -10800),
    ("xjt", 21600),
    ("yapt", 36000),
    ("yekst", 21600),
    ("z", 0),
    ("zulu", 0),
];

/// Seconds east of UTC of a zone abbreviation PostgreSQL's `Default` set fixes.
pub(super) fn abbreviation(word: &str) -> Option<i64> {
    let lower = word.to_ascii_lowercase();
    ABBREVIATIONS
        .binary_search_by(|(name, _)| (*name).cmp(lower.as_str()))
        .ok()
        .map(|i| i64::from(ABBREVIATIONS[i].1))
}

fn month(word: &str) -> Option<u32> {
    if word.len() < 3 {
        return None;
    }
    let found = MONTHS.iter().position(|m| m.starts_with(word) && (word.len() == 3 || word.len() == m.len()));
    let found = found.or_else(|| (word == "sept").then_some(8));
    found.map(|i| i as u32 + 1)
}

/// A date field: a number with its digit count, or a month named.
#[derive(Clone, Copy)]
enum Field {
    Number(i64, usize),
    Month(u32),
}

/// The time, zone, and date fields of `text`, which the ISO reader did not take.
pub(super) fn parse(text: &str, order: DateOrder) -> Result<Parts, Bad> {
    let mut parts = Parts::default();
    let mut fields: Vec<Field> = Vec::new();
    // Whether the fields came from one `a/b/c` token, whose order is DateStyle's.
    let mut separated = false;
    let (mut meridian, mut bc) = (None, false);
    for token in text.split(|c: char| c.is_ascii_whitespace() || c == ',').filter(|t| !t.is_empty()) {
        let lower = token.to_ascii_lowercase();
        let word = lower.trim_end_matches('.');
        if token.contains(':') {
            if parts.micros.is_some() {
                return Err(Bad::Syntax);
            }
            let mut c = Cursor::new(token);
            parts.micros = Some(super::datetime_in::parse_time(&mut c)?);
            if let Some(offset) = super::datetime_in::parse_zone(&mut c)? {
                parts.offset = Some(offset);
            }
            if !c.done() {
                return Err(Bad::Syntax);
            }
        } else if token.starts_with(['+', '-']) && !fields.is_empty() {
            let mut c = Cursor::new(token);
            parts.offset = super::datetime_in::parse_zone(&mut c)?;
            if !c.done() {
                return Err(Bad::Syntax);
            }
        } else if word.bytes().all(|b| b.is_ascii_alphabetic()) {
            if WEEKDAYS.contains(&word) {
                continue;
            }
            if let Some(m) = month(word) {
                fields.push(Field::Month(m));
                continue;
            }
            match word {
                "am" | "a.m" => meridian = Some(false),
                "pm" | "p.m" => meridian = Some(true),
                "bc" => bc = true,
                "ad" => {}
                _ => parts.offset = Some(abbreviation(word).ok_or(Bad::Syntax)?),
            }
        } else if let Some(sep) = ['/', '-', '.'].into_iter().find(|s| token.contains(*s)) {
            if !fields.is_empty() {
                return Err(Bad::Syntax);
            }
            for part in token.split(sep) {
                fields.push(date_field(part)?);
            }
            if fields.len() != 3 {
                return Err(Bad::Syntax);
            }
            separated = true;
        } else if token.bytes().all(|b| b.is_ascii_digit()) {
            if token.len() == 8 && fields.is_empty() {
                // YYYYMMDD
                let v: i64 = token.parse().map_err(|_| Bad::Syntax)?;
                fields = vec![
                    Field::Number(v / 10_000, 4),
                    Field::Number(v / 100 % 100, 2),
                    Field::Number(v % 100, 2),
                ];
                separated = true;
            } else {
                fields.push(date_field(token)?);
            }
        } else {
            return Err(Bad::Syntax);
        }
    }
    if let Some(pm) = meridian {
        // 12 AM is midnight, 12 PM noon; a 24-hour clock's 13 takes neither.
        let micros = parts.micros.ok_or(Bad::Syntax)?;
        let hour = micros / 3_600_000_000;
        if hour > 12 {
            return Err(Bad::Field);
        }
        let shift = match (pm, hour == 12) {
            (true, false) => 12,
            (false, true) => -12,
            _ => 0,
        };
        parts.micros = Some(micros + shift * 3_600_000_000);
    }
    if fields.is_empty() {
        return if bc { Err(Bad::Syntax) } else { Ok(parts) };
    }
    let (year, month, day) = resolve(&fields, separated, order)?;
    parts.days = Some(super::datetime_in::checked_days(year, month, day, bc)?);
    Ok(parts)
}

fn date_field(part: &str) -> Result<Field, Bad> {
    if !part.is_empty() && part.bytes().all(|b| b.is_ascii_digit()) {
        let v = part.parse().map_err(|_| Bad::Field)?;
        return Ok(Field::Number(v, part.len()));
    }
    month(&part.to_ascii_lowercase()).map(Field::Month).ok_or(Bad::Syntax)
}

/// Year, month and day from three fields (or a named month and two numbers).
fn resolve(fields: &[Field], separated: bool, order: DateOrder) -> Result<(i64, u32, u32), Bad> {
    let named = fields.iter().filter(|f| matches!(f, Field::Month(_))).count();
    let numbers: Vec<(i64, usize)> = fields
        .iter()
        .filter_map(|f| if let Field::Number(v, n) = f { Some((*v, *n)) } else { None })
        .collect();
    let (year, month, day) = match (named, numbers.as_slice()) {
        (1, [a, b]) => {
            let month = fields.iter().find_map(|f| if let Field::Month(m) = f { Some(*m) } else { None });
            // A year has three or more digits or cannot be a day; else the order says.
            let year_first = a.1 > 2 || a.0 > 31 || (order == DateOrder::Ymd && b.1 <= 2 && b.0 <= 31);
            let (year, day) = if year_first { (*a, *b) } else { (*b, *a) };
            (year, month.unwrap_or(0), day.0)
        }
        (0, [a, b, c]) if separated => {
            let (year, month, day) = if a.1 > 2 {
                (*a, b.0, c.0)
            } else {
                match order {
                    DateOrder::Mdy => (*c, a.0, b.0),
                    DateOrder::Dmy => (*c, b.0, a.0),
                    DateOrder::Ymd => (*a, b.0, c.0),
                }
            };
            (year, month as u32, day)
        }
        _ => return Err(Bad::Syntax),
    };
    let year = match year {
        (y, digits) if digits <= 2 && y < 70 => y + 2000,
        (y, digits) if digits <= 2 => y + 1900,
        (y, _) => y,
    };
    if !(1..=31).contains(&day) {
        return Err(Bad::Field);
    }
    Ok((year, month, day as u32))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn abbreviations_are_sorted_for_the_binary_search() {
        assert!(ABBREVIATIONS.windows(2).all(|w| w[0].0 < w[1].0));
        assert_eq!(abbreviation("CET"), Some(3600));
        assert_eq!(abbreviation("pdt"), Some(-25200));
        assert_eq!(abbreviation("XYZ"), None);
    }

    #[test]
    fn parameters_read_every_style_in_the_sessions_order() {
        use crate::duck::Value;
        use crate::types::datetime_in::{date, timestamp};
        use crate::types::TextStyle;
        // 2003-01-02 and 2003-02-01 as days since 1970.
        let (jan2, feb1) = (Value::Date(12_054), Value::Date(12_084));
        assert_eq!(date("01/02/2003", DateOrder::Mdy).ok(), Some(jan2.clone()));
        assert_eq!(date("01/02/2003", DateOrder::Dmy).ok(), Some(feb1.clone()));
        assert_eq!(date("01.02.2003", DateOrder::Dmy).ok(), Some(feb1));
        assert_eq!(date("Thu Jan 02 2003", DateOrder::Dmy).ok(), Some(jan2.clone()));
        assert_eq!(date("2003-Jan-02", DateOrder::Ymd).ok(), Some(jan2));
        assert_eq!(date("13/02/2003", DateOrder::Mdy).unwrap_err().code.code(), "22008");
        // Years of any length are refused, not overflowed.
        for huge in ["01/01/99999999999999999", "99999999999999999/01/01", "Jan 01 999999999999999999"] {
            assert_eq!(date(huge, DateOrder::Mdy).unwrap_err().code.code(), "22008", "{huge}");
        }
        let mut style = TextStyle::fixed(3600, "CET");
        style.order = DateOrder::Mdy;
        // Postgres style, as mallard writes it, reads back: 2026-12-03 14:30:00.5 CET.
        let written = "Thu Dec 03 14:30:00.5 2026 CET";
        let micros = (1_796_308_200 - 3600) * 1_000_000 + 500_000;
        assert_eq!(timestamp(written, &style, true).ok(), Some(Value::TimestampTz(micros)));
        assert_eq!(timestamp("12/03/2026 2:30:00.5 PM", &style, true).ok(), Some(Value::TimestampTz(micros)));
        assert_eq!(timestamp("12/03/2026 13:00 PM", &style, false).unwrap_err().code.code(), "22008");
    }

    #[test]
    fn month_names() {
        assert_eq!(month("dec"), Some(12));
        assert_eq!(month("december"), Some(12));
        assert_eq!(month("sept"), Some(9));
        assert_eq!(month("decem"), None);
        assert_eq!(month("ma"), None);
    }
}
