//! Dates, times, timestamps and intervals in PostgreSQL's text formats: every
//! `DateStyle` (`ISO`, `SQL`, `Postgres`, `German`, with its field order) and every
//! `IntervalStyle` (`postgres`, `postgres_verbose`, `sql_standard`, `iso_8601`).

use std::io::Write;

use super::style::{DateFormat, DateOrder, IntervalFormat};
use super::TextStyle;

/// DuckDB's `date_t::infinity()`; minus it is `-infinity`.
const DATE_INFINITY: i32 = i32::MAX;
/// DuckDB's `timestamp_t::infinity()`; minus it is `-infinity`.
const TIMESTAMP_INFINITY: i64 = i64::MAX;
const MICROS_PER_DAY: i64 = 86_400_000_000;

/// The proleptic Gregorian (year, month, day) of a day count since 1970-01-01.
pub fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

/// A calendar date as PostgreSQL shows it: the year counted from 1 BC backwards, never 0.
struct Civil {
    year: i64,
    month: u32,
    day: u32,
    bc: bool,
    /// 0 is Sunday.
    weekday: usize,
}

fn civil(days: i64) -> Civil {
    let (year, month, day) = civil_from_days(days);
    // There is no year 0: astronomical year 0 is 1 BC.
    let (year, bc) = if year <= 0 { (1 - year, true) } else { (year, false) };
    // 1970-01-01 was a Thursday.
    Civil { year, month, day, bc, weekday: (days + 4).rem_euclid(7) as usize }
}

const WEEKDAYS: [&str; 7] = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"];
const MONTHS: [&str; 12] =
    ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];

/// The date part in `DateStyle`'s format and order (`2026-12-03`, `12/03/2026`,
/// `03.12.2026`, `12-03-2026`); the caller appends " BC".
fn write_ymd(out: &mut Vec<u8>, c: &Civil, style: &TextStyle) {
    let Civil { year, month, day, .. } = *c;
    let dmy = style.order == DateOrder::Dmy;
    let _ = match style.dates {
        DateFormat::Iso if (0..10_000).contains(&year) => {
            let digit = |n: u32| b'0' + (n % 10) as u8;
            let y = year as u32;
            out.extend_from_slice(&[
                digit(y / 1000),
                digit(y / 100),
                digit(y / 10),
                digit(y),
                b'-',
                digit(month / 10),
                digit(month),
                b'-',
                digit(day / 10),
                digit(day),
            ]);
            Ok(())
        }
        DateFormat::Iso => write!(out, "{year:04}-{month:02}-{day:02}"),
        DateFormat::Sql if dmy => write!(out, "{day:02}/{month:02}/{year:04}"),
        DateFormat::Sql => write!(out, "{month:02}/{day:02}/{year:04}"),
        DateFormat::German => write!(out, "{day:02}.{month:02}.{year:04}"),
        DateFormat::Postgres if dmy => write!(out, "{day:02}-{month:02}-{year:04}"),
        DateFormat::Postgres => write!(out, "{month:02}-{day:02}-{year:04}"),
    };
}

/// `n` (below 100) as two digits.
fn two_digits(out: &mut Vec<u8>, n: u32) {
    out.extend_from_slice(&[b'0' + (n / 10) as u8, b'0' + (n % 10) as u8]);
}

/// `HH:MM:SS` and, if non-zero, the fraction with trailing zeros removed.
fn write_hms(out: &mut Vec<u8>, micros_of_day: i64) {
    let secs = micros_of_day / 1_000_000;
    let frac = micros_of_day % 1_000_000;
    let hours = secs / 3600;
    if (0..100).contains(&hours) && secs >= 0 {
        two_digits(out, hours as u32);
        out.push(b':');
        two_digits(out, (secs / 60 % 60) as u32);
        out.push(b':');
        two_digits(out, (secs % 60) as u32);
    } else {
        let _ = write!(out, "{:02}:{:02}:{:02}", hours, secs / 60 % 60, secs % 60);
    }
    write_fraction(out, frac);
}

fn write_fraction(out: &mut Vec<u8>, frac: i64) {
    if frac > 0 && frac < 1_000_000 {
        let mut digits = [0u8; 6];
        let mut rest = frac;
        for d in digits.iter_mut().rev() {
            *d = b'0' + (rest % 10) as u8;
            rest /= 10;
        }
        // frac > 0: some digit is not a zero.
        let end = digits.iter().rposition(|&d| d != b'0').map_or(0, |i| i + 1);
        out.push(b'.');
        out.extend_from_slice(&digits[..end]);
    } else if frac != 0 {
        let digits = format!("{frac:06}");
        out.push(b'.');
        out.extend_from_slice(digits.trim_end_matches('0').as_bytes());
    }
}

pub fn write_date(out: &mut Vec<u8>, days: i32, style: &TextStyle) {
    match days {
        DATE_INFINITY => out.extend_from_slice(b"infinity"),
        d if d == -DATE_INFINITY => out.extend_from_slice(b"-infinity"),
        d => {
            let c = civil(i64::from(d));
            write_ymd(out, &c, style);
            if c.bc {
                out.extend_from_slice(b" BC");
            }
        }
    }
}

pub fn write_time(out: &mut Vec<u8>, micros: i64) {
    write_hms(out, micros);
}

/// DuckDB's TIME WITH TIME ZONE: 40 bits of microseconds, then 24 bits of
/// `MAX_OFFSET - offset_seconds`.
pub fn write_time_tz(out: &mut Vec<u8>, bits: u64) {
    const MAX_OFFSET: i64 = 16 * 60 * 60 - 1;
    let micros = (bits >> 24) as i64;
    let offset = MAX_OFFSET - (bits & 0xff_ffff) as i64;
    write_hms(out, micros);
    write_offset(out, offset);
}

/// `+HH`, then `:MM` and `:SS` only where non-zero, as PostgreSQL prints zones.
fn write_offset(out: &mut Vec<u8>, offset_secs: i64) {
    let sign = if offset_secs < 0 { '-' } else { '+' };
    let a = offset_secs.abs();
    let _ = write!(out, "{sign}{:02}", a / 3600);
    if a % 3600 != 0 {
        let _ = write!(out, ":{:02}", a / 60 % 60);
        if a % 60 != 0 {
            let _ = write!(out, ":{:02}", a % 60);
        }
    }
}

/// A timestamp in microseconds since the epoch in `style`'s `DateStyle`; `with_zone`
/// for TIMESTAMP WITH TIME ZONE, shown in `style`'s zone: ISO ends with the offset
/// (`+01`), the other formats with the zone's abbreviation (`CET`).
pub fn write_timestamp(out: &mut Vec<u8>, micros: i64, style: &TextStyle, with_zone: bool) {
    match micros {
        TIMESTAMP_INFINITY => return out.extend_from_slice(b"infinity"),
        m if m == -TIMESTAMP_INFINITY => return out.extend_from_slice(b"-infinity"),
        _ => {}
    }
    let offset = if with_zone { style.offset_at(micros) } else { 0 };
    let local = micros + offset * 1_000_000;
    let c = civil(local.div_euclid(MICROS_PER_DAY));
    let time = local.rem_euclid(MICROS_PER_DAY);
    if style.dates == DateFormat::Postgres {
        // `Thu Dec 03 14:30:00 2026`, or `Thu 03 Dec ...` in DMY order.
        let (weekday, month) = (WEEKDAYS[c.weekday], MONTHS[c.month as usize - 1]);
        let _ = match style.order {
            DateOrder::Dmy => write!(out, "{weekday} {:02} {month} ", c.day),
            _ => write!(out, "{weekday} {month} {:02} ", c.day),
        };
        write_hms(out, time);
        let _ = write!(out, " {:04}", c.year);
    } else {
        write_ymd(out, &c, style);
        out.push(b' ');
        write_hms(out, time);
    }
    if with_zone {
        if style.dates == DateFormat::Iso {
            write_offset(out, offset);
        } else {
            out.push(b' ');
            out.extend_from_slice(style.abbreviation_at(micros).as_bytes());
        }
    }
    if c.bc {
        out.extend_from_slice(b" BC");
    }
}

/// An interval's fields as PostgreSQL splits it: whole years and months from the
/// months, days, then hours, minutes, seconds and microseconds from the time, each
/// carrying the sign of its source.
struct IntervalFields {
    years: i64,
    months: i64,
    days: i64,
    hours: i64,
    minutes: i64,
    seconds: i64,
    micros: i64,
}

impl IntervalFields {
    fn new(months: i32, days: i32, micros: i64) -> IntervalFields {
        IntervalFields {
            years: i64::from(months / 12),
            months: i64::from(months % 12),
            days: i64::from(days),
            hours: micros / 3_600_000_000,
            minutes: micros / 60_000_000 % 60,
            seconds: micros / 1_000_000 % 60,
            micros: micros % 1_000_000,
        }
    }

    fn has_time(&self) -> bool {
        self.hours != 0 || self.minutes != 0 || self.seconds != 0 || self.micros != 0
    }
}

/// Seconds without a sign, zero-padded to two digits if `pad`, with the fraction's
/// trailing zeros removed.
fn write_seconds(out: &mut Vec<u8>, seconds: i64, micros: i64, pad: bool) {
    let _ = if pad { write!(out, "{:02}", seconds.abs()) } else { write!(out, "{}", seconds.abs()) };
    write_fraction(out, micros.abs());
}

/// An interval in `style`'s `IntervalStyle`.
pub fn write_interval(out: &mut Vec<u8>, months: i32, days: i32, micros: i64, style: &TextStyle) {
    let f = IntervalFields::new(months, days, micros);
    match style.intervals {
        IntervalFormat::Postgres => write_postgres_interval(out, &f, micros),
        IntervalFormat::PostgresVerbose => write_verbose_interval(out, &f),
        IntervalFormat::SqlStandard => write_sql_interval(out, &f),
        IntervalFormat::Iso8601 => write_iso_interval(out, &f),
    }
}

/// `1 year 2 mons 3 days 04:05:06.5`. Each field carries its own sign; after a negative
/// field, positive ones get an explicit `+`, so that the text reads back to the same
/// value.
fn write_postgres_interval(out: &mut Vec<u8>, f: &IntervalFields, micros: i64) {
    let mut first = true;
    let mut seen_negative = false;
    let mut field = |out: &mut Vec<u8>, value: i64, unit: &str| {
        if value == 0 {
            return;
        }
        if !first {
            out.push(b' ');
        }
        let plus = if seen_negative && value > 0 { "+" } else { "" };
        let _ = write!(out, "{plus}{value} {unit}{}", if value == 1 { "" } else { "s" });
        seen_negative |= value < 0;
        first = false;
    };
    field(out, f.years, "year");
    field(out, f.months, "mon");
    field(out, f.days, "day");
    if micros != 0 || first {
        if !first {
            out.push(b' ');
        }
        if micros < 0 {
            out.push(b'-');
        } else if seen_negative {
            out.push(b'+');
        }
        let _ = write!(out, "{:02}:{:02}:", f.hours.abs(), f.minutes.abs());
        write_seconds(out, f.seconds, f.micros, true);
    }
}

/// `@ 1 year 2 mons 3 days 4 hours 5 mins 6.5 secs`: the first non-zero field's sign
/// becomes a trailing `ago`, and the later fields are written relative to it.
fn write_verbose_interval(out: &mut Vec<u8>, f: &IntervalFields) {
    out.push(b'@');
    let mut zero = true;
    let mut ago = false;
    let mut field = |out: &mut Vec<u8>, value: i64, unit: &str| {
        if value == 0 {
            return;
        }
        let shown = if zero {
            ago = value < 0;
            value.abs()
        } else if ago {
            -value
        } else {
            value
        };
        let _ = write!(out, " {shown} {unit}{}", if shown == 1 { "" } else { "s" });
        zero = false;
    };
    field(out, f.years, "year");
    field(out, f.months, "mon");
    field(out, f.days, "day");
    field(out, f.hours, "hour");
    field(out, f.minutes, "min");
    if f.seconds != 0 || f.micros != 0 {
        out.push(b' ');
        let negative = f.seconds < 0 || f.micros < 0;
        if zero {
            ago = negative;
        } else if negative != ago {
            out.push(b'-');
        }
        write_seconds(out, f.seconds, f.micros, false);
        let plural = f.seconds.abs() != 1 || f.micros != 0;
        out.extend_from_slice(if plural { b" secs" } else { b" sec" });
        zero = false;
    }
    if zero {
        out.extend_from_slice(b" 0");
    }
    if ago {
        out.extend_from_slice(b" ago");
    }
}

/// SQL standard: `1-2` (years-months), `3 4:05:06` (days and time), or, for values the
/// standard cannot write (mixed signs, or both kinds of field), every field with its
/// sign: `+1-2 +3 +4:05:06`.
fn write_sql_interval(out: &mut Vec<u8>, f: &IntervalFields) {
    let all = [f.years, f.months, f.days, f.hours, f.minutes, f.seconds, f.micros];
    let negative = all.iter().any(|v| *v < 0);
    let positive = all.iter().any(|v| *v > 0);
    let year_month = f.years != 0 || f.months != 0;
    let day_time = f.days != 0 || f.has_time();
    let mixed = (negative && positive) || (year_month && day_time);
    if !negative && !positive {
        out.push(b'0');
        return;
    }
    if mixed {
        let sign = |negative: bool| if negative { '-' } else { '+' };
        let _ = write!(
            out,
            "{}{}-{} {}{} {}{}:{:02}:",
            sign(f.years < 0 || f.months < 0),
            f.years.abs(),
            f.months.abs(),
            sign(f.days < 0),
            f.days.abs(),
            sign(f.hours < 0 || f.minutes < 0 || f.seconds < 0 || f.micros < 0),
            f.hours.abs(),
            f.minutes.abs()
        );
        write_seconds(out, f.seconds, f.micros, true);
        return;
    }
    if negative {
        out.push(b'-');
    }
    if year_month {
        let _ = write!(out, "{}-{}", f.years.abs(), f.months.abs());
        return;
    }
    if f.days != 0 {
        let _ = write!(out, "{} ", f.days.abs());
    }
    let _ = write!(out, "{}:{:02}:", f.hours.abs(), f.minutes.abs());
    write_seconds(out, f.seconds, f.micros, true);
}

/// ISO 8601 with designators: `P1Y2M3DT4H5M6.5S`, each field with its own sign.
fn write_iso_interval(out: &mut Vec<u8>, f: &IntervalFields) {
    if f.years == 0 && f.months == 0 && f.days == 0 && !f.has_time() {
        out.extend_from_slice(b"PT0S");
        return;
    }
    out.push(b'P');
    let part = |out: &mut Vec<u8>, value: i64, unit: char| {
        if value != 0 {
            let _ = write!(out, "{value}{unit}");
        }
    };
    part(out, f.years, 'Y');
    part(out, f.months, 'M');
    part(out, f.days, 'D');
    if f.has_time() {
        out.push(b'T');
    }
    part(out, f.hours, 'H');
    part(out, f.minutes, 'M');
    if f.seconds != 0 || f.micros != 0 {
        if f.seconds < 0 || f.micros < 0 {
            out.push(b'-');
        }
        write_seconds(out, f.seconds, f.micros, false);
        out.push(b'S');
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(f: impl FnOnce(&mut Vec<u8>)) -> String {
        let mut out = Vec::new();
        f(&mut out);
        String::from_utf8(out).unwrap()
    }

    fn style(dates: DateFormat, order: DateOrder, intervals: IntervalFormat) -> TextStyle {
        let mut style = TextStyle::default();
        (style.dates, style.order, style.intervals) = (dates, order, intervals);
        style
    }

    #[test]
    fn dates() {
        let iso = TextStyle::default();
        assert_eq!(text(|o| write_date(o, 0, &iso)), "1970-01-01");
        assert_eq!(text(|o| write_date(o, 19_727, &iso)), "2024-01-05");
        assert_eq!(text(|o| write_date(o, -719_162, &iso)), "0001-01-01");
        assert_eq!(text(|o| write_date(o, -719_163, &iso)), "0001-12-31 BC");
        assert_eq!(text(|o| write_date(o, i32::MAX, &iso)), "infinity");
        assert_eq!(text(|o| write_date(o, -i32::MAX, &iso)), "-infinity");
        let p = IntervalFormat::Postgres;
        let date = |dates, order| text(|o| write_date(o, 19_727, &style(dates, order, p)));
        assert_eq!(date(DateFormat::Sql, DateOrder::Mdy), "01/05/2024");
        assert_eq!(date(DateFormat::Sql, DateOrder::Dmy), "05/01/2024");
        assert_eq!(date(DateFormat::Sql, DateOrder::Ymd), "01/05/2024");
        assert_eq!(date(DateFormat::German, DateOrder::Mdy), "05.01.2024");
        assert_eq!(date(DateFormat::Postgres, DateOrder::Mdy), "01-05-2024");
        assert_eq!(date(DateFormat::Postgres, DateOrder::Dmy), "05-01-2024");
    }

    #[test]
    fn timestamps() {
        let iso = TextStyle::default();
        assert_eq!(text(|o| write_timestamp(o, 1_704_458_096_500_000, &iso, false)), "2024-01-05 12:34:56.5");
        assert_eq!(text(|o| write_timestamp(o, -1, &iso, false)), "1969-12-31 23:59:59.999999");
        assert_eq!(text(|o| write_timestamp(o, 0, &iso, true)), "1970-01-01 00:00:00+00");
        let kolkata = TextStyle::fixed(19_800, "IST");
        assert_eq!(text(|o| write_timestamp(o, 0, &kolkata, true)), "1970-01-01 05:30:00+05:30");
        let p = IntervalFormat::Postgres;
        let stamp = |dates, order| {
            let mut s = TextStyle::fixed(3600, "CET");
            (s.dates, s.order) = (dates, order);
            text(|o| write_timestamp(o, 1_704_458_096_500_000, &s, true))
        };
        assert_eq!(stamp(DateFormat::Sql, DateOrder::Mdy), "01/05/2024 13:34:56.5 CET");
        assert_eq!(stamp(DateFormat::German, DateOrder::Dmy), "05.01.2024 13:34:56.5 CET");
        assert_eq!(stamp(DateFormat::Postgres, DateOrder::Mdy), "Fri Jan 05 13:34:56.5 2024 CET");
        assert_eq!(stamp(DateFormat::Postgres, DateOrder::Dmy), "Fri 05 Jan 13:34:56.5 2024 CET");
        // 0044-03-15 12:00 BC, a Friday.
        let ides = text(|o| {
            write_timestamp(
                o,
                -63_517_780_800_000_000,
                &style(DateFormat::Postgres, DateOrder::Mdy, p),
                false,
            )
        });
        assert_eq!(ides, "Fri Mar 15 12:00:00 0044 BC");
    }

    #[test]
    fn intervals() {
        let each = |format: IntervalFormat, months: i32, days: i32, micros: i64| {
            text(|o| write_interval(o, months, days, micros, &style(DateFormat::Iso, DateOrder::Mdy, format)))
        };
        // (months, days, micros) and PostgreSQL 15's text in the four styles.
        let cases: &[(i32, i32, i64, [&str; 4])] = &[
            (
                14,
                3,
                14_706_500_000,
                [
                    "1 year 2 mons 3 days 04:05:06.5",
                    "@ 1 year 2 mons 3 days 4 hours 5 mins 6.5 secs",
                    "+1-2 +3 +4:05:06.5",
                    "P1Y2M3DT4H5M6.5S",
                ],
            ),
            (0, 0, 0, ["00:00:00", "@ 0", "0", "PT0S"]),
            (0, -1, 0, ["-1 days", "@ 1 day ago", "-1 0:00:00", "P-1D"]),
            (
                0,
                -1,
                3_600_000_000,
                ["-1 days +01:00:00", "@ 1 day -1 hours ago", "+0-0 -1 +1:00:00", "P-1DT1H"],
            ),
            (
                -13,
                0,
                -1,
                [
                    "-1 years -1 mons -00:00:00.000001",
                    "@ 1 year 1 mon 0.000001 secs ago",
                    "-1-1 +0 -0:00:00.000001",
                    "P-1Y-1MT-0.000001S",
                ],
            ),
            (0, 0, -1_500_000, ["-00:00:01.5", "@ 1.5 secs ago", "-0:00:01.5", "PT-1.5S"]),
            (0, 0, -1_000_000, ["-00:00:01", "@ 1 sec ago", "-0:00:01", "PT-1S"]),
            (-12, 1, 0, ["-1 years +1 day", "@ 1 year -1 days ago", "-1-0 +1 +0:00:00", "P-1Y1D"]),
            (-14, 0, 0, ["-1 years -2 mons", "@ 1 year 2 mons ago", "-1-2", "P-1Y-2M"]),
            (0, 1, -1_000_000, ["1 day -00:00:01", "@ 1 day -1 sec", "+0-0 +1 -0:00:01", "P1DT-1S"]),
            (
                0,
                -3,
                -14_706_000_000,
                ["-3 days -04:05:06", "@ 3 days 4 hours 5 mins 6 secs ago", "-3 4:05:06", "P-3DT-4H-5M-6S"],
            ),
            (0, 0, 360_000_000_000, ["100:00:00", "@ 100 hours", "100:00:00", "PT100H"]),
        ];
        let formats = [
            IntervalFormat::Postgres,
            IntervalFormat::PostgresVerbose,
            IntervalFormat::SqlStandard,
            IntervalFormat::Iso8601,
        ];
        for (months, days, micros, expected) in cases {
            for (format, want) in formats.iter().zip(expected) {
                assert_eq!(
                    each(*format, *months, *days, *micros),
                    *want,
                    "{format:?} {months} {days} {micros}"
                );
            }
        }
    }
}
