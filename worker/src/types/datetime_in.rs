//! Dates, times, timestamps and intervals in the text forms PostgreSQL accepts and
//! drivers send (psycopg, pgjdbc, node-postgres), where DuckDB's cast disagrees: a zone
//! after a date (`2024-01-05 +02`, pgjdbc), `BC`, `infinity`/`epoch`, a zone on a
//! TIMESTAMP (ignored, as PostgreSQL does), intervals like `@ 1 hour ago`,
//! `1 day 02:03:04`, `3 days 4.5 seconds` or ISO 8601 `P1DT2H`.
//!
//! Input this parser does not understand but that has words in it (zone names, month
//! names, `today`) goes to DuckDB as text, whose cast may know it. TIMESTAMP WITH TIME
//! ZONE without a zone is read in UTC, the session time zone mallard reports.

use super::datetime_fields;
use super::datetime_out::civil_from_days;
use super::decode::{is_space, trim, ValueError};
use super::style::{DateOrder, IntervalFormat};
use super::TextStyle;
use crate::duck::Value;

const MICROS_PER_SECOND: i64 = 1_000_000;
const MICROS_PER_DAY: i64 = 86_400 * MICROS_PER_SECOND;
/// PostgreSQL's first date (4714-11-24 BC) and the day after its last (5874898-01-01),
/// as days since 1970-01-01.
const MIN_DAYS: i64 = -2_440_588;
const END_DAYS: i64 = 2_147_483_494 - 2_440_588;
/// PostgreSQL's first timestamp, in microseconds since 1970.
const MIN_MICROS: i128 = MIN_DAYS as i128 * MICROS_PER_DAY as i128;

/// What a date/time string holds.
#[derive(Default)]
pub(super) struct Parts {
    /// Days since 1970-01-01.
    pub days: Option<i64>,
    /// Microseconds since midnight (up to 24:00:00).
    pub micros: Option<i64>,
    /// The zone, in seconds east of UTC.
    pub offset: Option<i64>,
}

enum Special {
    Infinity,
    MinusInfinity,
    Epoch,
}

fn special(text: &str) -> Option<Special> {
    const WORDS: [(&str, Special); 4] = [
        ("infinity", Special::Infinity),
        ("+infinity", Special::Infinity),
        ("-infinity", Special::MinusInfinity),
        ("epoch", Special::Epoch),
    ];
    let t = trim(text);
    WORDS.into_iter().find(|(word, _)| t.eq_ignore_ascii_case(word)).map(|(_, special)| special)
}

/// Why a string is not a value: syntax (or words for DuckDB), or a field out of range.
pub(super) enum Bad {
    Syntax,
    Field,
    /// A zone offset of 16 hours or more.
    Zone,
}

fn fail(type_name: &str, text: &str, bad: Bad) -> Result<Value, ValueError> {
    match bad {
        Bad::Zone => {
            Err(ValueError::new("22009", format!("time zone displacement out of range: \"{text}\"")))
        }
        Bad::Field => {
            Err(ValueError::new("22008", format!("date/time field value out of range: \"{text}\"")))
        }
        // Words we do not know may be ones DuckDB does.
        Bad::Syntax if has_unknown_word(text) => Ok(Value::Text(text.to_owned())),
        Bad::Syntax => {
            Err(ValueError::new("22007", format!("invalid input syntax for type {type_name}: \"{text}\"")))
        }
    }
}

/// Whether `text` has a word that is not one this parser knows (units, `ago`, `BC`,
/// `AD`, `T`, `Z`, `UTC`, `GMT`, ISO 8601 designators).
fn has_unknown_word(text: &str) -> bool {
    text.split(|c: char| !c.is_ascii_alphabetic()).filter(|w| !w.is_empty()).any(|w| {
        let w = w.to_ascii_lowercase();
        let iso = w.starts_with('p') && w.chars().all(|c| "pymwdthms".contains(c));
        !(iso || unit(&w).is_some() || matches!(w.as_str(), "ago" | "bc" | "ad" | "t" | "z" | "utc" | "gmt"))
    })
}

/// A date; `order` is `DateStyle`'s, for `01/02/03`.
pub fn date(text: &str, order: DateOrder) -> Result<Value, ValueError> {
    match special(text) {
        Some(Special::Infinity) => return Ok(Value::Date(i32::MAX)),
        Some(Special::MinusInfinity) => return Ok(Value::Date(-i32::MAX)),
        Some(Special::Epoch) => return Ok(Value::Date(0)),
        None => {}
    }
    match parse(text, order) {
        Ok(Parts { days: Some(d), .. }) if (MIN_DAYS..END_DAYS).contains(&d) => Ok(Value::Date(d as i32)),
        Ok(Parts { days: Some(_), .. }) => {
            Err(ValueError::new("22008", format!("date out of range: \"{text}\"")))
        }
        Ok(_) => fail("date", text, Bad::Syntax),
        Err(bad) => fail("date", text, bad),
    }
}

pub fn time(text: &str) -> Result<Value, ValueError> {
    if trim(text).eq_ignore_ascii_case("allballs") {
        return Ok(Value::Time(0));
    }
    match parse(text, DateOrder::default()) {
        Ok(Parts { micros: Some(m), .. }) => Ok(Value::Time(m)),
        Ok(_) => fail("time without time zone", text, Bad::Syntax),
        Err(bad) => fail("time without time zone", text, bad),
    }
}

/// TIMESTAMP (not `with_zone`) ignores a zone in its input; TIMESTAMPTZ converts to UTC
/// with the input's zone, or else with the session's (`style`'s).
pub fn timestamp(text: &str, style: &TextStyle, with_zone: bool) -> Result<Value, ValueError> {
    let wrap = if with_zone { Value::TimestampTz } else { Value::Timestamp };
    match special(text) {
        Some(Special::Infinity) => return Ok(wrap(i64::MAX)),
        Some(Special::MinusInfinity) => return Ok(wrap(-i64::MAX)),
        Some(Special::Epoch) => return Ok(wrap(0)),
        None => {}
    }
    let type_name = if with_zone { "timestamp with time zone" } else { "timestamp without time zone" };
    let parts = match parse(text, style.order) {
        Ok(p) => p,
        Err(bad) => return fail(type_name, text, bad),
    };
    let Some(days) = parts.days else { return fail(type_name, text, Bad::Syntax) };
    let local = i128::from(days) * i128::from(MICROS_PER_DAY) + i128::from(parts.micros.unwrap_or(0));
    let offset = match with_zone {
        false => 0,
        true => parts.offset.unwrap_or_else(|| {
            style.offset_for_local(local.clamp(i128::from(i64::MIN), i128::from(i64::MAX)) as i64)
        }),
    };
    let micros = local - i128::from(offset) * i128::from(MICROS_PER_SECOND);
    // DuckDB's range ends before PostgreSQL's; its infinities are not timestamps.
    if micros < MIN_MICROS || micros >= i128::from(i64::MAX) {
        return Err(ValueError::new("22008", format!("timestamp out of range: \"{text}\"")));
    }
    Ok(wrap(micros as i64))
}

/// What a typed literal is, for [`iso_spelling`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DateTimeType {
    Date,
    Timestamp,
    TimestampTz,
    Interval,
}

/// The ISO 8601 spelling of a date or time stamp written in one of PostgreSQL's other
/// forms (`12/03/2026`, `Thu Dec 03 14:30:00 2026 CET`, `3 Dec 2026 2:30 PM`), for
/// DuckDB, which reads ISO only; `order` is `DateStyle`'s. `None` when the text is ISO
/// already, not a date or time stamp of the current era, or something only DuckDB
/// reads (`today`): it then goes to DuckDB as written; an ISO time stamp with an offset
/// is respelled too, with seconds, which DuckDB needs. A field out of range
/// (`13/02/2003` in MDY order, `2026-02-30`) is PostgreSQL's error.
///
/// An interval is respelled in months, days and microseconds whenever this module
/// reads it: DuckDB does not read PostgreSQL's signed fields (`-1 days +01:00:00`).
pub fn iso_spelling(text: &str, style: &TextStyle, kind: DateTimeType) -> Result<Option<String>, ValueError> {
    let order = style.order;
    if kind == DateTimeType::Interval {
        return match interval(text, style.intervals == IntervalFormat::SqlStandard) {
            Ok(Value::Interval { months, days, micros }) => {
                Ok(Some(format!("{months} months {days} days {micros} microseconds")))
            }
            Err(e) if e.code.code() == "22015" => Err(e),
            _ => Ok(None),
        };
    }
    let parts = match parse_iso(text) {
        Err(Bad::Syntax) => match datetime_fields::parse(trim(text), order) {
            Ok(parts) => parts,
            Err(Bad::Syntax) => return Ok(None),
            Err(bad) => return fail("", text, bad).map(|_| None),
        },
        Err(bad) => return fail("", text, bad).map(|_| None),
        // DuckDB reads ISO itself, but not an offset after a time without seconds.
        Ok(parts) if parts.offset.is_some() && kind == DateTimeType::TimestampTz => parts,
        Ok(_) => return Ok(None),
    };
    let Some(days) = parts.days else { return Ok(None) };
    // PostgreSQL's ranges, which DuckDB's exceed for dates.
    if kind == DateTimeType::Date && !(MIN_DAYS..END_DAYS).contains(&days) {
        return Err(ValueError::new("22008", format!("date out of range: \"{text}\"")));
    }
    let micros = i128::from(days) * i128::from(MICROS_PER_DAY) + i128::from(parts.micros.unwrap_or(0));
    if kind != DateTimeType::Date && (micros < MIN_MICROS || micros >= i128::from(i64::MAX)) {
        return Err(ValueError::new("22008", format!("timestamp out of range: \"{text}\"")));
    }
    Ok(iso_text(days, parts.micros, parts.offset, kind))
}

fn iso_text(days: i64, micros: Option<i64>, offset: Option<i64>, kind: DateTimeType) -> Option<String> {
    let (year, month, day) = civil_from_days(days);
    if year <= 0 {
        return None;
    }
    let mut out = format!("{year:04}-{month:02}-{day:02}");
    if kind == DateTimeType::Date {
        return Some(out);
    }
    let micros = micros.unwrap_or(0);
    let secs = micros / MICROS_PER_SECOND;
    out.push_str(&format!(
        " {:02}:{:02}:{:02}.{:06}",
        secs / 3600,
        secs / 60 % 60,
        secs % 60,
        micros % MICROS_PER_SECOND
    ));
    if let (DateTimeType::TimestampTz, Some(offset)) = (kind, offset) {
        let sign = if offset < 0 { '-' } else { '+' };
        let a = offset.abs();
        out.push_str(&format!("{sign}{:02}:{:02}:{:02}", a / 3600, a / 60 % 60, a % 60));
    }
    Some(out)
}

/// Days since 1970-01-01 of a proleptic Gregorian date (astronomical year numbering).
fn days_from_civil(year: i64, month: u32, day: u32) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let m = i64::from(month);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(day) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// A small cursor over ASCII input.
pub(super) struct Cursor<'a> {
    s: &'a [u8],
    pos: usize,
}

impl<'a> Cursor<'a> {
    pub(super) fn new(s: &'a str) -> Cursor<'a> {
        Cursor { s: s.as_bytes(), pos: 0 }
    }

    pub(super) fn done(&self) -> bool {
        self.pos == self.s.len()
    }

    fn peek(&self) -> Option<u8> {
        self.s.get(self.pos).copied()
    }

    fn eat(&mut self, b: u8) -> bool {
        let hit = self.peek() == Some(b);
        self.pos += usize::from(hit);
        hit
    }

    fn spaces(&mut self) -> bool {
        let start = self.pos;
        while self.peek().is_some_and(|b| is_space(char::from(b))) {
            self.pos += 1;
        }
        self.pos > start
    }

    /// Up to `max` digits (at least one), as a number and their count.
    fn digits(&mut self, max: usize) -> Option<(i64, usize)> {
        let start = self.pos;
        let mut v: i64 = 0;
        while self.pos - start < max && self.peek().is_some_and(|b| b.is_ascii_digit()) {
            v = v.checked_mul(10)?.checked_add(i64::from(self.s[self.pos] - b'0'))?;
            self.pos += 1;
        }
        (self.pos > start).then_some((v, self.pos - start))
    }

    fn word(&mut self, w: &str) -> bool {
        let end = self.pos + w.len();
        let hit = self.s.get(self.pos..end).is_some_and(|s| s.eq_ignore_ascii_case(w.as_bytes()))
            && !self.s.get(end).is_some_and(|b| b.is_ascii_alphabetic());
        if hit {
            self.pos = end;
        }
        hit
    }
}

/// `[Y-M-D][(T| )H:M[:S[.f]]][ ][zone][ BC|AD]`, or else the other forms PostgreSQL
/// reads ([`datetime_fields`]).
fn parse(text: &str, order: DateOrder) -> Result<Parts, Bad> {
    match parse_iso(text) {
        Err(Bad::Syntax) => datetime_fields::parse(trim(text), order),
        parsed => parsed,
    }
}

/// `[Y-M-D][(T| )H:M[:S[.f]]][ ][zone][ BC|AD]`, in ISO order.
fn parse_iso(text: &str) -> Result<Parts, Bad> {
    let mut c = Cursor { s: trim(text).as_bytes(), pos: 0 };
    let mut parts = Parts::default();
    let mut ymd = None;
    // A date is digits followed by '-'; otherwise this is a time.
    let save = c.pos;
    if let Some((year, _)) = c.digits(9) {
        if c.eat(b'-') {
            let (month, _) = c.digits(2).ok_or(Bad::Syntax)?;
            if !c.eat(b'-') {
                return Err(Bad::Syntax);
            }
            let (day, _) = c.digits(2).ok_or(Bad::Syntax)?;
            ymd = Some((year, month as u32, day as u32));
            let before = c.pos;
            if !(c.eat(b'T') || c.eat(b't') || c.spaces()) {
                c.pos = before;
            }
        } else {
            c.pos = save;
        }
    }
    let save = c.pos;
    if c.digits(2).is_some() && c.peek() == Some(b':') {
        c.pos = save;
        parts.micros = Some(parse_time(&mut c)?);
        c.spaces();
    } else {
        c.pos = save;
    }
    parts.offset = parse_zone(&mut c)?;
    c.spaces();
    let bc = if c.word("BC") {
        true
    } else {
        c.word("AD");
        false
    };
    if c.pos != c.s.len() {
        return Err(Bad::Syntax);
    }
    if let Some((year, month, day)) = ymd {
        parts.days = Some(checked_days(year, month, day, bc)?);
    } else if bc {
        return Err(Bad::Syntax);
    }
    Ok(parts)
}

/// Days since 1970-01-01 of a date as written (year 1 BC is `1` with `bc`), checked.
pub(super) fn checked_days(year: i64, month: u32, day: u32, bc: bool) -> Result<i64, Bad> {
    // Nine digits of year keep the day arithmetic far from overflow; PostgreSQL's own
    // range (to 5874897) is checked by the caller.
    if year == 0 || year > 999_999_999 || !(1..=12).contains(&month) || day == 0 {
        return Err(Bad::Field);
    }
    let year = if bc { 1 - year } else { year };
    let days = days_from_civil(year, month, day);
    // Day 31 of a 30-day month would silently roll over: check it maps back.
    if civil_from_days(days) != (year, month, day) {
        return Err(Bad::Field);
    }
    Ok(days)
}

/// `H:MM[:SS[.ffffff]]`, rounded to microseconds; 24:00:00 is the end of the day.
pub(super) fn parse_time(c: &mut Cursor<'_>) -> Result<i64, Bad> {
    let (h, _) = c.digits(2).ok_or(Bad::Syntax)?;
    if !c.eat(b':') {
        return Err(Bad::Syntax);
    }
    let (m, _) = c.digits(2).ok_or(Bad::Syntax)?;
    let (mut s, mut frac) = (0, 0);
    if c.eat(b':') {
        s = c.digits(2).ok_or(Bad::Syntax)?.0;
        if c.eat(b'.') {
            frac = fraction_micros(c);
        }
    }
    let micros = ((h * 60 + m) * 60 + s) * MICROS_PER_SECOND + frac;
    if m > 59 || s > 60 || micros > MICROS_PER_DAY {
        return Err(Bad::Field);
    }
    Ok(micros)
}

/// The digits after a decimal point as microseconds, rounded half up.
fn fraction_micros(c: &mut Cursor<'_>) -> i64 {
    let (mut micros, mut n) = (0, 0);
    let mut round_up = false;
    while let Some(b) = c.peek().filter(u8::is_ascii_digit) {
        if n < 6 {
            micros = micros * 10 + i64::from(b - b'0');
        } else if n == 6 {
            round_up = b >= b'5';
        }
        n += 1;
        c.pos += 1;
    }
    for _ in n..6 {
        micros *= 10;
    }
    micros + i64::from(round_up)
}

/// `Z`, `UTC`, `GMT`, or `±HH[[:]MM[[:]SS]]`, as seconds east.
pub(super) fn parse_zone(c: &mut Cursor<'_>) -> Result<Option<i64>, Bad> {
    if c.word("Z") || c.word("UTC") || c.word("GMT") {
        return Ok(Some(0));
    }
    let sign = match c.peek() {
        Some(b'+') => 1,
        Some(b'-') => -1,
        _ => return Ok(None),
    };
    c.pos += 1;
    let (first, n) = c.digits(6).ok_or(Bad::Syntax)?;
    let (h, m, s) = match n {
        1 | 2 => {
            let m = if c.eat(b':') { c.digits(2).ok_or(Bad::Syntax)?.0 } else { 0 };
            let s = if m != 0 && c.eat(b':') { c.digits(2).ok_or(Bad::Syntax)?.0 } else { 0 };
            (first, m, s)
        }
        4 => (first / 100, first % 100, 0),
        6 => (first / 10_000, first / 100 % 100, first % 100),
        _ => return Err(Bad::Syntax),
    };
    if m > 59 || s > 59 {
        return Err(Bad::Field);
    }
    if h > 15 {
        return Err(Bad::Zone);
    }
    Ok(Some(sign * (h * 3600 + m * 60 + s)))
}

/// `interval_in` for the postgres (`@ 1 day 02:03:04 ago`, `1 year 2 mons`,
/// `-1 days +01:00:00`, `3 4:05:06`), SQL (`1-2`) and ISO 8601 (`P1Y2M3DT4H5M6S`) forms.
/// `sql_standard` is `IntervalStyle = sql_standard`, where a leading minus with no other
/// sign applies to every field (`-1 2:03:04` is minus one day, two hours ...), as
/// PostgreSQL reads it in that style.
pub fn interval(text: &str, sql_standard: bool) -> Result<Value, ValueError> {
    let mut acc = Interval::default();
    let parsed = {
        let t = trim(text).to_ascii_lowercase();
        match t.strip_prefix('p') {
            Some(iso) => parse_iso_interval(iso, &mut acc),
            None => parse_postgres_interval(&t, &mut acc),
        }
    };
    let mut fields = trim(text).split(|c: char| is_space(c));
    let leading_minus = fields.next().is_some_and(|f| f.starts_with('-'));
    if parsed.is_ok() && sql_standard && leading_minus && !fields.any(|f| f.starts_with(['+', '-'])) {
        acc.months = -acc.months.abs();
        acc.days = -acc.days.abs();
        acc.micros = -acc.micros.abs();
    }
    match parsed {
        Ok(()) => Ok(Value::Interval { months: acc.months, days: acc.days, micros: acc.micros }),
        Err(Bad::Field) => {
            Err(ValueError::new("22015", format!("interval field value out of range: \"{text}\"")))
        }
        Err(bad) => fail("interval", text, bad),
    }
}

#[derive(Default)]
struct Interval {
    months: i32,
    days: i32,
    micros: i64,
}

/// How one unit adds to an interval.
#[derive(Clone, Copy)]
enum Unit {
    Micros(i64),
    /// Days; a fraction goes to microseconds.
    Days(i64),
    /// Months; a fraction goes to 30-day days, then microseconds.
    Months(i64),
    /// Years (in months); a fraction goes to whole months.
    Years(i64),
}

fn unit(word: &str) -> Option<Unit> {
    Some(match word {
        "microsecond" | "microseconds" | "microsecon" | "us" | "usec" | "usecs" | "useconds" => {
            Unit::Micros(1)
        }
        "millisecond" | "milliseconds" | "millisecon" | "ms" | "msec" | "msecs" | "mseconds" => {
            Unit::Micros(1000)
        }
        "second" | "seconds" | "s" | "sec" | "secs" => Unit::Micros(MICROS_PER_SECOND),
        "minute" | "minutes" | "m" | "min" | "mins" => Unit::Micros(60 * MICROS_PER_SECOND),
        "hour" | "hours" | "h" | "hr" | "hrs" => Unit::Micros(3600 * MICROS_PER_SECOND),
        "day" | "days" | "d" => Unit::Days(1),
        "week" | "weeks" | "w" => Unit::Days(7),
        "month" | "months" | "mon" | "mons" => Unit::Months(1),
        "year" | "years" | "y" | "yr" | "yrs" => Unit::Years(12),
        "decade" | "decades" | "dec" | "decs" => Unit::Years(120),
        "century" | "centuries" | "cent" | "c" => Unit::Years(1200),
        "millennium" | "millennia" | "mil" | "mils" => Unit::Years(12_000),
        _ => return None,
    })
}

/// A signed decimal number: its integer part and its fraction (same sign).
fn number(s: &str) -> Option<(i64, f64)> {
    let (negative, unsigned) = match s.as_bytes().first()? {
        b'-' => (true, &s[1..]),
        b'+' => (false, &s[1..]),
        _ => (false, s),
    };
    let (int_part, frac) = unsigned.split_once('.').unwrap_or((unsigned, ""));
    let digits = |d: &str| d.bytes().all(|b| b.is_ascii_digit());
    if int_part.len() + frac.len() == 0 || !digits(int_part) || !digits(frac) {
        return None;
    }
    let i: i64 = if int_part.is_empty() { 0 } else { int_part.parse().ok()? };
    let f: f64 = if frac.is_empty() { 0.0 } else { format!("0.{frac}").parse().ok()? };
    Some(if negative { (-i, -f) } else { (i, f) })
}

impl Interval {
    fn add(&mut self, (i, f): (i64, f64), unit: Unit) -> Result<(), Bad> {
        let micros_of = |f: f64, per: i64| (f * per as f64).round() as i64;
        match unit {
            Unit::Micros(per) => self.add_micros(
                i.checked_mul(per).ok_or(Bad::Field)?.checked_add(micros_of(f, per)).ok_or(Bad::Field)?,
            ),
            Unit::Days(per) => {
                self.add_days(i.checked_mul(per).ok_or(Bad::Field)?)?;
                let extra = f * per as f64;
                self.add_days(extra.trunc() as i64)?;
                self.add_micros(micros_of(extra.fract(), MICROS_PER_DAY))
            }
            Unit::Months(per) => {
                self.add_months(i.checked_mul(per).ok_or(Bad::Field)?)?;
                let days = f * per as f64 * 30.0;
                self.add_days(days.trunc() as i64)?;
                self.add_micros(micros_of(days.fract(), MICROS_PER_DAY))
            }
            Unit::Years(per) => {
                self.add_months(i.checked_mul(per).ok_or(Bad::Field)?)?;
                self.add_months((f * per as f64).round() as i64)
            }
        }
    }

    fn add_micros(&mut self, v: i64) -> Result<(), Bad> {
        self.micros = self.micros.checked_add(v).ok_or(Bad::Field)?;
        Ok(())
    }

    fn add_days(&mut self, v: i64) -> Result<(), Bad> {
        self.days =
            i64::from(self.days).checked_add(v).and_then(|d| i32::try_from(d).ok()).ok_or(Bad::Field)?;
        Ok(())
    }

    fn add_months(&mut self, v: i64) -> Result<(), Bad> {
        self.months =
            i64::from(self.months).checked_add(v).and_then(|m| i32::try_from(m).ok()).ok_or(Bad::Field)?;
        Ok(())
    }

    fn negate(&mut self) -> Result<(), Bad> {
        self.months = self.months.checked_neg().ok_or(Bad::Field)?;
        self.days = self.days.checked_neg().ok_or(Bad::Field)?;
        self.micros = self.micros.checked_neg().ok_or(Bad::Field)?;
        Ok(())
    }
}

/// Splits a token like `10days` into its number and unit.
fn split_number(token: &str) -> (&str, &str) {
    let end = token
        .char_indices()
        .find(|&(i, ch)| !(ch.is_ascii_digit() || ch == '.' || (i == 0 && (ch == '+' || ch == '-'))))
        .map_or(token.len(), |(i, _)| i);
    token.split_at(end)
}

fn parse_postgres_interval(text: &str, acc: &mut Interval) -> Result<(), Bad> {
    let text = text.strip_prefix('@').unwrap_or(text);
    // Python's `str(timedelta)` puts a comma after the days; PostgreSQL reads it too.
    let tokens: Vec<&str> = text.split(|c| is_space(c) || c == ',').filter(|t| !t.is_empty()).collect();
    if tokens.is_empty() {
        return Err(Bad::Syntax);
    }
    let mut i = 0;
    let mut ago = false;
    while i < tokens.len() {
        let token = tokens[i];
        i += 1;
        if token == "ago" && i == tokens.len() {
            ago = true;
        } else if token.contains(':') {
            acc.add_micros(time_field(token)?)?;
        } else if let Some((years, months)) = year_month(token) {
            acc.add_months(years.checked_mul(12).and_then(|y| y.checked_add(months)).ok_or(Bad::Field)?)?;
        } else {
            let (num, glued) = split_number(token);
            let value = number(num).ok_or(Bad::Syntax)?;
            let unit_word = if !glued.is_empty() {
                Some(glued)
            } else if tokens.get(i).is_some_and(|t| unit(t).is_some()) {
                i += 1;
                Some(tokens[i - 1])
            } else {
                None
            };
            let u = match unit_word {
                Some(w) => unit(w).ok_or(Bad::Syntax)?,
                // A bare number before a time is days ("3 04:05:06"), else seconds.
                None if tokens.get(i).is_some_and(|t| t.contains(':')) => Unit::Days(1),
                None => Unit::Micros(MICROS_PER_SECOND),
            };
            acc.add(value, u)?;
        }
    }
    if ago {
        acc.negate()?;
    }
    Ok(())
}

/// `[+-]H:MM[:SS[.f]]`, or `M:SS.f` when two fields carry a fraction, as microseconds.
fn time_field(token: &str) -> Result<i64, Bad> {
    let (negative, unsigned) = match token.as_bytes()[0] {
        b'-' => (true, &token[1..]),
        b'+' => (false, &token[1..]),
        _ => (false, token),
    };
    let fields: Vec<&str> = unsigned.split(':').collect();
    // Each field as microseconds: whole units of `per`, a fraction only on seconds.
    let field = |s: &str, per: i64| -> Result<i64, Bad> {
        let (w, f) = s.split_once('.').unwrap_or((s, ""));
        if w.is_empty()
            || !w.bytes().all(|b| b.is_ascii_digit())
            || (!f.is_empty() && per != MICROS_PER_SECOND)
        {
            return Err(Bad::Syntax);
        }
        let mut c = Cursor { s: f.as_bytes(), pos: 0 };
        let frac = fraction_micros(&mut c);
        if c.pos != f.len() {
            return Err(Bad::Syntax);
        }
        let whole: i64 = w.parse().map_err(|_| Bad::Field)?;
        whole.checked_mul(per).and_then(|v| v.checked_add(frac)).ok_or(Bad::Field)
    };
    const MINUTE: i64 = 60 * MICROS_PER_SECOND;
    let (h, m, s) = match fields.as_slice() {
        [m, s] if s.contains('.') => (0, field(m, MINUTE)?, field(s, MICROS_PER_SECOND)?),
        [h, m] => (field(h, 60 * MINUTE)?, field(m, MINUTE)?, 0),
        [h, m, s] => (field(h, 60 * MINUTE)?, field(m, MINUTE)?, field(s, MICROS_PER_SECOND)?),
        _ => return Err(Bad::Syntax),
    };
    let micros = h.checked_add(m).and_then(|v| v.checked_add(s)).ok_or(Bad::Field)?;
    Ok(if negative { -micros } else { micros })
}

/// SQL's year-month literal, `1-2` (or `-1-2`).
fn year_month(token: &str) -> Option<(i64, i64)> {
    let (negative, unsigned) = match token.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, token.strip_prefix('+').unwrap_or(token)),
    };
    let (y, m) = unsigned.split_once('-')?;
    let all = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    if !all(y) || !all(m) {
        return None;
    }
    let (y, m): (i64, i64) = (y.parse().ok()?, m.parse().ok()?);
    Some(if negative { (-y, -m) } else { (y, m) })
}

/// ISO 8601 durations after the `P`: `1Y2M3W4DT5H6M7.5S`; `M` is months before `T` and
/// minutes after it.
fn parse_iso_interval(iso: &str, acc: &mut Interval) -> Result<(), Bad> {
    let (date_part, time_part) = match iso.split_once('t') {
        Some((d, t)) if !t.is_empty() => (d, Some(t)),
        Some(_) => return Err(Bad::Syntax),
        None => (iso, None),
    };
    if date_part.is_empty() && time_part.is_none() {
        return Err(Bad::Syntax);
    }
    let fields = |mut s: &str, time: bool, acc: &mut Interval| -> Result<(), Bad> {
        while !s.is_empty() {
            let (num, rest) = split_number(s);
            let designator = rest.chars().next().ok_or(Bad::Syntax)?;
            let u = match (designator, time) {
                ('y', false) => Unit::Years(12),
                ('m', false) => Unit::Months(1),
                ('w', false) => Unit::Days(7),
                ('d', false) => Unit::Days(1),
                ('h', true) => Unit::Micros(3600 * MICROS_PER_SECOND),
                ('m', true) => Unit::Micros(60 * MICROS_PER_SECOND),
                ('s', true) => Unit::Micros(MICROS_PER_SECOND),
                _ => return Err(Bad::Syntax),
            };
            acc.add(number(num).ok_or(Bad::Syntax)?, u)?;
            s = &rest[1..];
        }
        Ok(())
    };
    fields(date_part, false, acc)?;
    if let Some(t) = time_part {
        fields(t, true, acc)?;
    }
    Ok(())
}
