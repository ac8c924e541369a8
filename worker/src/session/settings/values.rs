//! What each kind of setting accepts, and the canonical text PostgreSQL 15 shows for it
//! (`SHOW`, `ParameterStatus`): the checks and spellings of its GUC check hooks, with
//! the same SQLSTATEs and messages. Values PostgreSQL accepts but mallard cannot honour
//! are refused with `0A000` and a detail that says why, the way PostgreSQL refuses a
//! client encoding it cannot convert.

use std::path::Path;

use mallard_protocol::pg::backend::ErrorInfo;
use mallard_protocol::pg::SqlState;

use crate::types::{DateFormat, DateOrder, IntervalFormat, ZONEINFO};

pub(super) fn invalid(name: &str, value: &str) -> ErrorInfo {
    ErrorInfo::error(
        SqlState::INVALID_PARAMETER_VALUE,
        format!("invalid value for parameter \"{name}\": \"{value}\""),
    )
}

/// A value PostgreSQL would take that mallard cannot honour.
fn unsupported(name: &str, value: &str, detail: &str) -> ErrorInfo {
    ErrorInfo::error(
        SqlState::FEATURE_NOT_SUPPORTED,
        format!("invalid value for parameter \"{name}\": \"{value}\""),
    )
    .with_detail(detail)
}

/// `on`/`off` and PostgreSQL's other spellings (`parse_bool`).
pub(super) fn boolean(name: &str, value: &str) -> Result<bool, ErrorInfo> {
    let v = value.trim().to_ascii_lowercase();
    let prefix_of = |word: &str, min: usize| v.len() >= min && word.starts_with(v.as_str());
    if prefix_of("true", 1) || prefix_of("yes", 1) || v == "on" || v == "1" {
        Ok(true)
    } else if prefix_of("false", 1) || prefix_of("no", 1) || prefix_of("off", 2) || v == "0" {
        Ok(false)
    } else {
        Err(ErrorInfo::error(
            SqlState::INVALID_PARAMETER_VALUE,
            format!("parameter \"{name}\" requires a Boolean value"),
        ))
    }
}

pub(super) fn integer(name: &str, value: &str, min: i64, max: i64) -> Result<String, ErrorInfo> {
    let n: f64 = value.trim().parse().map_err(|_| invalid(name, value))?;
    let n = n.round_ties_even();
    if !n.is_finite() || n < min as f64 || n > max as f64 {
        return Err(ErrorInfo::error(
            SqlState::INVALID_PARAMETER_VALUE,
            format!("{n} is outside the valid range for parameter \"{name}\" ({min} .. {max})"),
        ));
    }
    Ok((n as i64).to_string())
}

const MS_UNITS: &[(&str, f64)] =
    &[("us", 0.001), ("ms", 1.0), ("s", 1000.0), ("min", 60_000.0), ("h", 3_600_000.0), ("d", 86_400_000.0)];

/// Milliseconds from a duration setting: a number with an optional unit (ms when none).
pub(super) fn millis(name: &str, value: &str) -> Result<i64, ErrorInfo> {
    let v = value.trim();
    let split = v
        .find(|c: char| !(c.is_ascii_digit() || matches!(c, '.' | '-' | '+' | 'e' | 'E')))
        .unwrap_or(v.len());
    // `e` belongs to the number only when digits follow it; a unit never starts with it.
    let (number, unit) = (v[..split].trim(), v[split..].trim());
    let n: f64 = number.parse().map_err(|_| invalid(name, value))?;
    let Some((_, factor)) =
        MS_UNITS.iter().find(|(u, _)| unit == *u).or((unit.is_empty()).then_some(&("ms", 1.0)))
    else {
        return Err(invalid(name, value).with_hint(
            "Valid units for this parameter are \"us\", \"ms\", \"s\", \"min\", \"h\", and \"d\".",
        ));
    };
    let ms = (n * factor).round_ties_even();
    if !ms.is_finite() || ms < 0.0 || ms > f64::from(i32::MAX) {
        return Err(ErrorInfo::error(
            SqlState::INVALID_PARAMETER_VALUE,
            format!("{ms} ms is outside the valid range for parameter \"{name}\" (0 .. 2147483647)"),
        ));
    }
    Ok(ms as i64)
}

/// How PostgreSQL shows milliseconds: in the largest unit that divides them exactly.
pub(super) fn show_millis(ms: i64) -> String {
    if ms == 0 {
        return "0".into();
    }
    for (unit, factor) in [("d", 86_400_000), ("h", 3_600_000), ("min", 60_000), ("s", 1000)] {
        if ms % factor == 0 {
            return format!("{}{unit}", ms / factor);
        }
    }
    format!("{ms}ms")
}

/// `client_encoding`: PostgreSQL's canonical name for any of its spellings, except that
/// the exact spelling `UNICODE` is kept, as PostgreSQL keeps it for old drivers.
pub(super) fn client_encoding(value: &str) -> Result<String, ErrorInfo> {
    use crate::encoding::{canonical, for_client, ForClient};
    let Some(name) = canonical(value) else { return Err(invalid("client_encoding", value)) };
    match for_client(name) {
        ForClient::Unsupported => Err(ErrorInfo::error(
            SqlState::FEATURE_NOT_SUPPORTED,
            format!("invalid value for parameter \"client_encoding\": \"{value}\""),
        )
        .with_detail(format!("Conversion between {name} and UTF8 is not supported."))),
        _ if value == "UNICODE" => Ok("UNICODE".into()),
        _ => Ok(name.into()),
    }
}

/// `DateStyle`: an output format and a field order, either or both, in any order, as
/// PostgreSQL reads them: a word for a half already given is a conflict unless it
/// agrees; `German` alone also means `DMY`; `DEFAULT` fills the halves not given with
/// `ISO, MDY`. The half not given keeps its value from `current`.
pub(super) fn datestyle(current: &str, values: &[String]) -> Result<String, ErrorInfo> {
    let raw = values.join(", ");
    let (mut format, mut order) = datestyle_of_shown(current);
    let (mut have_format, mut have_order) = (false, false);
    let conflict = || invalid("DateStyle", &raw).with_detail("Conflicting \"datestyle\" specifications.");
    for word in raw.split([',', ' ', '\t']).filter(|w| !w.is_empty()) {
        let new_format = match word.to_ascii_lowercase().as_str() {
            "iso" => Some(DateFormat::Iso),
            "sql" => Some(DateFormat::Sql),
            "postgres" => Some(DateFormat::Postgres),
            "german" => Some(DateFormat::German),
            _ => None,
        };
        let new_order = match word.to_ascii_lowercase().as_str() {
            "ymd" => Some(DateOrder::Ymd),
            "dmy" | "euro" | "european" => Some(DateOrder::Dmy),
            "mdy" | "us" | "noneuro" | "noneuropean" => Some(DateOrder::Mdy),
            _ => None,
        };
        if let Some(f) = new_format {
            if have_format && format != f {
                return Err(conflict());
            }
            (format, have_format) = (f, true);
            if f == DateFormat::German && !have_order {
                order = DateOrder::Dmy;
            }
        } else if let Some(o) = new_order {
            if have_order && order != o {
                return Err(conflict());
            }
            (order, have_order) = (o, true);
        } else if word.eq_ignore_ascii_case("default") {
            if !have_format {
                format = DateFormat::Iso;
            }
            if !have_order {
                order = DateOrder::Mdy;
            }
        } else {
            return Err(invalid("DateStyle", &raw).with_detail(format!("Unrecognized key word: \"{word}\".")));
        }
    }
    Ok(format!("{}, {}", format.name(), order.name()))
}

/// The format and order of a `DateStyle` as [`datestyle`] showed it (`SQL, DMY`).
pub(super) fn datestyle_of_shown(shown: &str) -> (DateFormat, DateOrder) {
    let (format, order) = shown.split_once(", ").unwrap_or((shown, ""));
    let format = [DateFormat::Iso, DateFormat::Sql, DateFormat::Postgres, DateFormat::German]
        .into_iter()
        .find(|f| f.name() == format)
        .unwrap_or_default();
    let order = [DateOrder::Mdy, DateOrder::Dmy, DateOrder::Ymd]
        .into_iter()
        .find(|o| o.name() == order)
        .unwrap_or_default();
    (format, order)
}

pub(super) fn intervalstyle(value: &str) -> Result<String, ErrorInfo> {
    match IntervalFormat::from_name(value) {
        Some(format) => Ok(format.name().to_owned()),
        None => Err(invalid("intervalstyle", value)
            .with_hint("Available values: postgres, postgres_verbose, sql_standard, iso_8601.")),
    }
}

/// One of a fixed set of words (enum GUCs), shown in lower case.
pub(super) fn choice(name: &str, value: &str, allowed: &[&str]) -> Result<String, ErrorInfo> {
    let lower = value.to_ascii_lowercase();
    if allowed.contains(&lower.as_str()) {
        Ok(lower)
    } else {
        Err(invalid(name, value).with_hint(format!("Available values: {}.", allowed.join(", "))))
    }
}

/// `application_name`: PostgreSQL replaces every non-ASCII byte with `?`.
pub(super) fn application_name(value: &str) -> String {
    value.bytes().map(|b| if (32..127).contains(&b) { b as char } else { '?' }).collect()
}

/// `search_path`: each element an identifier, shown quoted when it needs quotes.
pub(super) fn search_path(values: &[String]) -> String {
    values
        .iter()
        .map(|v| {
            let plain = v.chars().next().is_some_and(|c| c.is_ascii_lowercase() || c == '_')
                && v.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
            if plain {
                v.clone()
            } else {
                format!("\"{}\"", v.replace('"', "\"\""))
            }
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// Splits a `search_path` as written in a startup packet or `SHOW` (`a, "B C"`) into
/// its identifiers.
pub(super) fn split_search_path(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut chars = text.chars().peekable();
    loop {
        while chars.next_if(|c| c.is_whitespace()).is_some() {}
        let mut item = String::new();
        if chars.next_if_eq(&'"').is_some() {
            while let Some(c) = chars.next() {
                if c == '"' && chars.next_if_eq(&'"').is_none() {
                    break;
                }
                item.push(c);
            }
        } else {
            while let Some(c) = chars.next_if(|c| *c != ',') {
                item.push(c);
            }
            item = item.trim().to_ascii_lowercase();
        }
        while chars.next_if(|c| *c != ',').is_some() {}
        if !(item.is_empty() && out.is_empty() && chars.peek().is_none()) {
            out.push(item);
        }
        if chars.next().is_none() {
            return out;
        }
    }
}

/// A `TimeZone` value, as `SHOW` spells it: a zone of the system tz database (matched without regard to case
/// and shown as the database spells it), a number of hours east of UTC (shown the way
/// PostgreSQL shows it, `<+03>-03`), or a POSIX-style `ABC[+-]h[:mm]` offset.
///
/// Fixed offsets must be whole hours: DuckDB's time zones (ICU's, as DuckDB accepts them)
/// have no others, and a session whose DuckDB computed in another zone than the one its
/// values are shown in would give wrong answers.
pub(super) fn timezone(value: &str) -> Result<String, ErrorInfo> {
    let v = value.trim();
    let fixed = |east: i64, shown: String| {
        if east % 3600 != 0 {
            return Err(unsupported(
                "TimeZone",
                value,
                "mallard takes fixed offsets in whole hours only; name a zone instead, such as Asia/Kolkata.",
            ));
        }
        Ok(shown)
    };
    if let Ok(hours) = v.parse::<f64>() {
        let secs = (hours * 3600.0).round();
        if secs.abs() > 15.0 * 3600.0 {
            return Err(invalid("TimeZone", value));
        }
        let secs = secs as i64;
        let (h, m) = (secs.abs() / 3600, secs.abs() % 3600 / 60);
        let hm = if m == 0 { format!("{h:02}") } else { format!("{h:02}:{m:02}") };
        let (east, west) = if secs < 0 { ('-', '+') } else { ('+', '-') };
        return fixed(secs, format!("<{east}{hm}>{west}{hm}"));
    }
    if let Some(offset) = posix_offset(v) {
        return fixed(offset, v.to_owned());
    }
    match zoneinfo_name(v) {
        Some(name) => Ok(name),
        None => Err(invalid("TimeZone", value)),
    }
}

/// `UTC+3`, `-02:30`: POSIX offsets count hours *west* of UTC.
fn posix_offset(v: &str) -> Option<i64> {
    let letters = v.chars().take_while(char::is_ascii_alphabetic).count();
    if letters != 0 && letters < 3 {
        return None;
    }
    let rest = &v[letters..];
    let (sign, digits) = match rest.as_bytes().first()? {
        b'+' => (-1, &rest[1..]),
        b'-' => (1, &rest[1..]),
        _ if letters > 0 => (-1, rest),
        _ => return None,
    };
    let (h, m) = digits.split_once(':').unwrap_or((digits, "0"));
    if h.is_empty() || h.len() > 2 || m.len() > 2 || !(h.chars().chain(m.chars()).all(|c| c.is_ascii_digit()))
    {
        return None;
    }
    let (h, m): (i64, i64) = (h.parse().ok()?, m.parse().ok()?);
    (h <= 24 && m < 60).then_some(sign * (h * 3600 + m * 60))
}

/// The time zone a `TimeZone` value as shown (what [`timezone`] returned) stands for:
/// `<+03>-03` and POSIX offsets are fixed, other values name a zone of the tz database.
pub(super) fn zone_of_shown(shown: &str) -> ShownZone<'_> {
    let bracketed = shown.strip_prefix('<').and_then(|rest| rest.split_once('>')).map(|(inside, _)| inside);
    let (fixed, abbreviation) = match bracketed {
        Some(inside) => (posix_offset(&format!("UTC{}", flip_sign(inside))), inside),
        None => (posix_offset(shown), shown.trim_end_matches(|c: char| !c.is_ascii_alphabetic())),
    };
    match fixed {
        Some(east) => ShownZone::Fixed { east, abbreviation },
        None => ShownZone::Named(shown),
    }
}

/// A time zone as [`zone_of_shown`] reads it.
pub(super) enum ShownZone<'a> {
    /// Seconds east of UTC, and what SQL, German and Postgres style time stamps end with
    /// (`<-05>+05` is `-05`, `UTC+3` is `UTC`).
    Fixed { east: i64, abbreviation: &'a str },
    /// A tz database name.
    Named(&'a str),
}

/// `+03` to `-03` (the bracketed part counts east, POSIX offsets west).
fn flip_sign(offset: &str) -> String {
    match offset.as_bytes().first() {
        Some(b'+') => format!("-{}", &offset[1..]),
        Some(b'-') => format!("+{}", &offset[1..]),
        _ => offset.to_owned(),
    }
}

/// The tz database's spelling of `name`, if a zone file of that name exists. Names
/// found are remembered for the worker's life: every session sets its `TimeZone`, and
/// looking through the zone directories cost a tenth of a short connection.
fn zoneinfo_name(name: &str) -> Option<String> {
    static FOUND: std::sync::LazyLock<std::sync::Mutex<std::collections::HashMap<String, String>>> =
        std::sync::LazyLock::new(Default::default);
    if name.is_empty()
        || name.len() > 64
        || name.split('/').any(|part| part.is_empty() || part.starts_with('.'))
    {
        return None;
    }
    let key = name.to_ascii_lowercase();
    if let Some(spelled) = FOUND.lock().unwrap_or_else(|p| p.into_inner()).get(&key).cloned() {
        return Some(spelled);
    }
    // Only names that exist are kept, so the map is bounded by the tz database.
    let spelled = zoneinfo_lookup(name)?;
    FOUND.lock().unwrap_or_else(|p| p.into_inner()).insert(key, spelled.clone());
    Some(spelled)
}

fn zoneinfo_lookup(name: &str) -> Option<String> {
    let root = Path::new(ZONEINFO);
    let mut dir = root.to_path_buf();
    let mut spelled = Vec::new();
    for part in name.split('/') {
        let entry = std::fs::read_dir(&dir)
            .ok()?
            .filter_map(Result::ok)
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .find(|n| n.eq_ignore_ascii_case(part))?;
        dir.push(&entry);
        spelled.push(entry);
    }
    let mut magic = [0u8; 4];
    let mut file = std::fs::File::open(&dir).ok()?;
    std::io::Read::read_exact(&mut file, &mut magic).ok()?;
    (&magic == b"TZif").then(|| spelled.join("/"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_parse_and_show_as_postgres_does() {
        let cases = [
            ("1.5", "2ms"),
            ("1.5s", "1500ms"),
            ("90s", "90s"),
            ("2min", "2min"),
            ("3600000", "1h"),
            ("1d", "1d"),
            ("100us", "0"),
            ("1000us", "1ms"),
            ("60000ms", "1min"),
            (" 5 s ", "5s"),
            ("0", "0"),
        ];
        for (input, shown) in cases {
            assert_eq!(show_millis(millis("statement_timeout", input).unwrap()), shown, "{input}");
        }
        for bad in ["5x", "abc", "5 S", "", "-1", "1e12"] {
            let e = millis("statement_timeout", bad).unwrap_err();
            assert_eq!(e.code, SqlState::INVALID_PARAMETER_VALUE, "{bad}");
        }
        assert!(millis("statement_timeout", "5x").unwrap_err().hint.is_some());
    }

    #[test]
    fn booleans() {
        for t in ["on", "ON", "true", "t", "yes", "1"] {
            assert_eq!(boolean("x", t), Ok(true), "{t}");
        }
        for f in ["off", "of", "false", "f", "no", "n", "0"] {
            assert_eq!(boolean("x", f), Ok(false), "{f}");
        }
        assert!(boolean("x", "maybe").is_err());
        assert!(boolean("x", "o").is_err());
    }

    #[test]
    fn encodings() {
        for utf8 in ["UTF8", "utf-8", "Unicode", "utf_8"] {
            assert_eq!(client_encoding(utf8).unwrap(), "UTF8");
        }
        assert_eq!(client_encoding("UNICODE").unwrap(), "UNICODE");
        assert_eq!(client_encoding("sql_ascii").unwrap(), "SQL_ASCII");
        assert_eq!(client_encoding("latin1").unwrap(), "LATIN1");
        assert_eq!(client_encoding("windows-1252").unwrap(), "WIN1252");
        assert_eq!(client_encoding("JOHAB").unwrap_err().code, SqlState::FEATURE_NOT_SUPPORTED);
        assert_eq!(client_encoding("bogus").unwrap_err().code, SqlState::INVALID_PARAMETER_VALUE);
    }

    #[test]
    fn datestyles() {
        let set = |current: &str, v: &str| datestyle(current, &[v.to_owned()]);
        assert_eq!(set("ISO, MDY", "iso").unwrap(), "ISO, MDY");
        assert_eq!(set("ISO, MDY", "dmy").unwrap(), "ISO, DMY");
        assert_eq!(set("ISO, DMY", "ISO").unwrap(), "ISO, DMY");
        assert_eq!(set("ISO, MDY", "ymd,iso").unwrap(), "ISO, YMD");
        assert_eq!(set("ISO, DMY", "default").unwrap(), "ISO, MDY");
        assert_eq!(datestyle("ISO, MDY", &["iso".into(), "euro".into()]).unwrap(), "ISO, DMY");
        // As PostgreSQL 15 answers them.
        assert_eq!(set("SQL, YMD", "German").unwrap(), "German, DMY");
        assert_eq!(set("SQL, YMD", "Postgres").unwrap(), "Postgres, YMD");
        assert_eq!(set("SQL, YMD", "German, MDY").unwrap(), "German, MDY");
        assert_eq!(set("ISO, YMD", "MDY, German").unwrap(), "German, MDY");
        assert_eq!(set("SQL, YMD", "us").unwrap(), "SQL, MDY");
        assert_eq!(set("SQL, YMD", "Postgres, default").unwrap(), "Postgres, MDY");
        assert_eq!(set("SQL, YMD", "default, sql").unwrap(), "SQL, MDY");
        assert!(set("ISO, MDY", "sql, german").is_err());
        let e = set("ISO, MDY", "bogus").unwrap_err();
        assert_eq!(
            (e.code, e.detail.as_deref()),
            (SqlState::INVALID_PARAMETER_VALUE, Some("Unrecognized key word: \"bogus\"."))
        );
        assert!(set("ISO, MDY", "ymd, dmy").is_err());
    }

    #[test]
    fn time_zones() {
        assert_eq!(timezone("-5").unwrap(), "<-05>+05");
        for (value, east) in [("-5", -5 * 3600), ("+3", 3 * 3600), ("UTC+3", -3 * 3600)] {
            let shown = timezone(value).unwrap();
            assert!(
                matches!(zone_of_shown(&shown), ShownZone::Fixed { east: e, .. } if e == east),
                "{value}: {shown}"
            );
        }
        assert!(matches!(zone_of_shown("Europe/Rome"), ShownZone::Named("Europe/Rome")));
        assert_eq!(timezone("+3").unwrap(), "<+03>-03");
        assert!(matches!(
            zone_of_shown(&timezone("-02").unwrap()),
            ShownZone::Fixed { east: -7200, abbreviation: "-02" }
        ));
        assert!(matches!(zone_of_shown("UTC+3"), ShownZone::Fixed { east: -10800, abbreviation: "UTC" }));
        // DuckDB has no fixed offsets but whole hours.
        assert_eq!(timezone("5.5").unwrap_err().code, SqlState::FEATURE_NOT_SUPPORTED);
        assert!(timezone("-02:30").is_err());
        assert!(timezone("Mars/Base").is_err());
        assert!(timezone("../../etc/passwd").is_err());
        if Path::new(ZONEINFO).join("America/New_York").exists() {
            assert_eq!(timezone("america/new_york").unwrap(), "America/New_York");
            assert_eq!(timezone("utc").unwrap(), "UTC");
        }
    }

    #[test]
    fn search_paths() {
        assert_eq!(search_path(&["$user".into(), "public".into()]), "\"$user\", public");
        assert_eq!(search_path(&["a".into(), "B".into(), "".into()]), "a, \"B\", \"\"");
        assert_eq!(split_search_path("\"$user\", public"), vec!["$user", "public"]);
        assert_eq!(split_search_path("A,\"b \"\"c\"\"\""), vec!["a", "b \"c\""]);
        assert_eq!(split_search_path(""), Vec::<String>::new());
    }

    #[test]
    fn application_names_are_ascii() {
        assert_eq!(application_name("my app"), "my app");
        assert_eq!(application_name("éé"), "????");
    }
}
