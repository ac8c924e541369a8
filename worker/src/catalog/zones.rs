//! `pg_timezone_names`: every zone of the system tz database, as PostgreSQL on Debian
//! lists them (it reads the same directory), with each zone's abbreviation, offset and
//! daylight-saving flag now. The names are read once per worker; the rest is computed
//! by three functions at query time, so a worker that runs across a DST change answers
//! with the rules in force when asked.

use std::path::Path;

use jiff::{tz::TimeZone, Timestamp};

use super::SCHEMA;
use crate::duck::{self, exec, Arg, Connection, DuckError, Output, Param, Returns, Strictness};
use crate::types::{zone_named, ZONEINFO};

/// Creates the names table, the functions and the view.
pub(super) fn install(conn: &Connection) -> Result<(), DuckError> {
    let mut names = Vec::new();
    collect(Path::new(ZONEINFO), "", &mut names);
    names.sort();
    exec(conn, &format!("CREATE TABLE {SCHEMA}.timezone_names (name VARCHAR)"))?;
    let (catalog, schema) = SCHEMA.split_once('.').unwrap_or(("memory", SCHEMA));
    let mut appender = conn.appender(Some(catalog), Some(schema), "timezone_names")?;
    for name in &names {
        appender.append_text(name)?;
        appender.end_row()?;
    }
    appender.close()?;
    const TEXT: &[(&[Param], Returns)] = &[(&[Param::Varchar], Returns::Varchar)];
    const FLAG: &[(&[Param], Returns)] = &[(&[Param::Varchar], Returns::Boolean)];
    duck::register_function(conn, "mallard_zone_abbrev", TEXT, Strictness::Strict, |_, args| {
        now_in(args).map(|(tz, now)| Output::Text(tz.to_offset_info(now).abbreviation().to_owned()))
    })?;
    duck::register_function(conn, "mallard_zone_offset", TEXT, Strictness::Strict, |_, args| {
        now_in(args).map(|(tz, now)| {
            let secs = tz.to_offset(now).seconds();
            let (sign, a) = if secs < 0 { ("-", -secs) } else { ("", secs) };
            Output::Text(format!("{sign}{:02}:{:02}:{:02}", a / 3600, a / 60 % 60, a % 60))
        })
    })?;
    duck::register_function(conn, "mallard_zone_is_dst", FLAG, Strictness::Strict, |_, args| {
        now_in(args).map(|(tz, now)| Output::Bool(tz.to_offset_info(now).dst().is_dst()))
    })?;
    exec(
        conn,
        &format!(
            "CREATE VIEW {SCHEMA}.pg_timezone_names AS \
             SELECT name, mallard_zone_abbrev(name) AS abbrev, \
                    CAST(mallard_zone_offset(name) AS INTERVAL) AS utc_offset, \
                    mallard_zone_is_dst(name) AS is_dst \
             FROM {SCHEMA}.timezone_names"
        ),
    )
}

fn now_in(args: &[Arg<'_>]) -> Result<(TimeZone, Timestamp), String> {
    let Some(Arg::Text(name)) = args.first() else { return Err("a time zone name is needed".into()) };
    let tz = zone_named(name).ok_or_else(|| format!("time zone \"{name}\" not recognized"))?;
    Ok((tz, Timestamp::now()))
}

/// The zone files under `dir` (following links, as PostgreSQL does), by their names
/// relative to the root; files that are not time zone data (`zone.tab`) are skipped, and
/// so is `right/`, whose zones count leap seconds, which PostgreSQL refuses.
fn collect(dir: &Path, prefix: &str, names: &mut Vec<String>) {
    let Ok(entries) = std::fs::read_dir(dir) else { return };
    for entry in entries.flatten() {
        let Some(file) = entry.file_name().to_str().map(str::to_owned) else { continue };
        if file.starts_with('.') || (prefix.is_empty() && file == "right") {
            continue;
        }
        let name = if prefix.is_empty() { file } else { format!("{prefix}/{file}") };
        let path = entry.path();
        match std::fs::metadata(&path) {
            // A link to a directory above (some systems link `posix` to `.`) would loop.
            Ok(m) if m.is_dir() && name.matches('/').count() < 4 => collect(&path, &name, names),
            Ok(m) if m.is_file() && is_zone_file(&path) => names.push(name),
            _ => {}
        }
    }
}

fn is_zone_file(path: &Path) -> bool {
    use std::io::Read;
    let mut magic = [0u8; 4];
    std::fs::File::open(path).and_then(|mut f| f.read_exact(&mut magic)).is_ok() && &magic == b"TZif"
}
