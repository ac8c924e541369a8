//! Dates, times, timestamps and intervals in PostgreSQL's ISO text format
//! (`DateStyle = ISO, MDY`, `IntervalStyle = postgres`).

use std::io::Write;

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

/// Writes `YYYY-MM-DD`; returns whether the year is BC (the caller appends " BC" after
/// any time part, as PostgreSQL does).
fn write_ymd(out: &mut Vec<u8>, days: i64) -> bool {
    let (year, month, day) = civil_from_days(days);
    // There is no year 0: astronomical year 0 is 1 BC.
    let (shown, bc) = if year <= 0 { (1 - year, true) } else { (year, false) };
    let _ = write!(out, "{shown:04}-{month:02}-{day:02}");
    bc
}

/// `HH:MM:SS` and, if non-zero, the fraction with trailing zeros removed.
fn write_hms(out: &mut Vec<u8>, micros_of_day: i64) {
    let secs = micros_of_day / 1_000_000;
    let frac = micros_of_day % 1_000_000;
    let _ = write!(out, "{:02}:{:02}:{:02}", secs / 3600, secs / 60 % 60, secs % 60);
    write_fraction(out, frac);
}

fn write_fraction(out: &mut Vec<u8>, frac: i64) {
    if frac != 0 {
        let digits = format!("{frac:06}");
        out.push(b'.');
        out.extend_from_slice(digits.trim_end_matches('0').as_bytes());
    }
}

pub fn write_date(out: &mut Vec<u8>, days: i32) {
    match days {
        DATE_INFINITY => out.extend_from_slice(b"infinity"),
        d if d == -DATE_INFINITY => out.extend_from_slice(b"-infinity"),
        d => {
            if write_ymd(out, i64::from(d)) {
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

/// A timestamp in microseconds since the epoch; `utc_offset` is `Some` for
/// TIMESTAMP WITH TIME ZONE shown in a zone with that offset (seconds east).
pub fn write_timestamp(out: &mut Vec<u8>, micros: i64, utc_offset: Option<i64>) {
    match micros {
        TIMESTAMP_INFINITY => return out.extend_from_slice(b"infinity"),
        m if m == -TIMESTAMP_INFINITY => return out.extend_from_slice(b"-infinity"),
        _ => {}
    }
    let local = micros + utc_offset.unwrap_or(0) * 1_000_000;
    let days = local.div_euclid(MICROS_PER_DAY);
    let bc = write_ymd(out, days);
    out.push(b' ');
    write_hms(out, local.rem_euclid(MICROS_PER_DAY));
    if let Some(offset) = utc_offset {
        write_offset(out, offset);
    }
    if bc {
        out.extend_from_slice(b" BC");
    }
}

/// An interval in `IntervalStyle = postgres`: `1 year 2 mons 3 days 04:05:06.5`.
///
/// Each field carries its own sign; after a negative field, positive ones get an
/// explicit `+`, so that the text reads back to the same value.
pub fn write_interval(out: &mut Vec<u8>, months: i32, days: i32, micros: i64) {
    let mut first = true;
    let mut seen_negative = false;
    let mut field = |out: &mut Vec<u8>, value: i64, unit: &str, plural: &str| {
        if value == 0 {
            return;
        }
        if !first {
            out.push(b' ');
        }
        let plus = if seen_negative && value > 0 { "+" } else { "" };
        let _ = write!(out, "{plus}{value} {unit}{}", if value == 1 { "" } else { plural });
        seen_negative |= value < 0;
        first = false;
    };
    field(out, i64::from(months / 12), "year", "s");
    field(out, i64::from(months % 12), "mon", "s");
    field(out, i64::from(days), "day", "s");
    if micros != 0 || first {
        if !first {
            out.push(b' ');
        }
        if micros < 0 {
            out.push(b'-');
        } else if seen_negative {
            out.push(b'+');
        }
        let a = micros.unsigned_abs() as i64;
        let secs = a / 1_000_000;
        let _ = write!(out, "{:02}:{:02}:{:02}", secs / 3600, secs / 60 % 60, secs % 60);
        write_fraction(out, a % 1_000_000);
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

    #[test]
    fn dates() {
        assert_eq!(text(|o| write_date(o, 0)), "1970-01-01");
        assert_eq!(text(|o| write_date(o, 19_727)), "2024-01-05");
        assert_eq!(text(|o| write_date(o, -719_162)), "0001-01-01");
        assert_eq!(text(|o| write_date(o, -719_163)), "0001-12-31 BC");
        assert_eq!(text(|o| write_date(o, i32::MAX)), "infinity");
        assert_eq!(text(|o| write_date(o, -i32::MAX)), "-infinity");
    }

    #[test]
    fn timestamps() {
        assert_eq!(text(|o| write_timestamp(o, 1_704_458_096_500_000, None)), "2024-01-05 12:34:56.5");
        assert_eq!(text(|o| write_timestamp(o, -1, None)), "1969-12-31 23:59:59.999999");
        assert_eq!(text(|o| write_timestamp(o, 0, Some(0))), "1970-01-01 00:00:00+00");
        assert_eq!(text(|o| write_timestamp(o, 0, Some(19_800))), "1970-01-01 05:30:00+05:30");
    }

    #[test]
    fn intervals() {
        assert_eq!(text(|o| write_interval(o, 14, 3, 14_706_500_000)), "1 year 2 mons 3 days 04:05:06.5");
        assert_eq!(text(|o| write_interval(o, 0, 0, 0)), "00:00:00");
        assert_eq!(text(|o| write_interval(o, 0, -1, 0)), "-1 days");
        assert_eq!(text(|o| write_interval(o, 0, -1, 3_600_000_000)), "-1 days +01:00:00");
        assert_eq!(text(|o| write_interval(o, -13, 0, -1)), "-1 years -1 mons -00:00:00.000001");
        assert_eq!(text(|o| write_interval(o, 1, 1, 0)), "1 mon 1 day");
    }
}
