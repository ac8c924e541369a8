//! Session settings (PostgreSQL's GUCs) as a client sees them: `SET`, `SET LOCAL`,
//! `RESET`, `SHOW`, startup-packet parameters, and `ParameterStatus` reports, with
//! PostgreSQL 15's transactional behaviour: a `SET` in a transaction that rolls back is
//! undone, a `SET LOCAL` lasts until the transaction ends.
//!
//! The session tells [`Settings`] when transactions begin and end ([`Settings::begin`],
//! [`Settings::end_transaction`]), sends what [`Settings::take_reports`] returns before
//! each `ReadyForQuery`, and calls [`Settings::sync_duckdb`] before running SQL so that
//! the settings DuckDB also has (`search_path`, `TimeZone`) follow.
//!
//! What mallard reports and does not do:
//! - `transaction_isolation`: the level a client asked for (default `read committed`).
//!   Every DuckDB transaction runs under snapshot isolation, which is PostgreSQL's
//!   `REPEATABLE READ`: stronger than read committed, weaker than serializable (write
//!   skew is possible). PostgreSQL too reports `read uncommitted` while running it as
//!   read committed; mallard follows that precedent.
//! - `transaction_read_only` / `default_transaction_read_only` are kept and reported but
//!   not enforced.
//! - `TimeZone` is validated against the system tz database, reported, and handed to
//!   DuckDB's ICU extension, so that DuckDB's `now()`, `date_trunc`, casts and
//!   `AT TIME ZONE` follow it; mallard itself writes and reads `timestamptz` text in it
//!   ([`Settings::text_style`]), with the system tz database's rules.
//! - `extra_float_digits`: floats are always written in the shortest exact form, which
//!   is PostgreSQL's output for the default 1 and up; values below 1 are kept only.
//! - `statement_timeout`, `idle_session_timeout` and `idle_in_transaction_session_timeout`
//!   are parsed here and enforced by the session; `lock_timeout` is kept.
//! - Custom settings (`SET myapp.tenant = 7`, `set_config('myapp.tenant', '7', true)`):
//!   any name of two or more identifiers joined by dots holds text, as PostgreSQL's
//!   placeholders do; `SHOW`, `current_setting` and `RESET` know them, `SHOW ALL` does
//!   not list them.

pub mod set_config;
mod values;

use std::collections::BTreeMap;
use std::sync::LazyLock;
use std::time::Duration;

use mallard_protocol::pg::backend::{ErrorInfo, FieldDescription, Message};
use mallard_protocol::pg::{Format, Severity, SqlState};
use tracing::debug;

use crate::duck::Connection;
use crate::duck::{exec, quote_literal};
use crate::sql::utility::{Discard, Reset, Set, SetValue, Show, TransactionMode};
use crate::sql::Command;
use crate::types::{IntervalFormat, TextStyle};
use values::ShownZone;

/// How a setting's values are checked and shown.
#[derive(Debug, Clone, Copy)]
enum Kind {
    /// Set by the server; `SET` fails with 55P02.
    Fixed,
    /// Any text.
    Text,
    ApplicationName,
    ClientEncoding,
    DateStyle,
    IntervalStyle,
    TimeZone,
    SearchPath,
    Int {
        min: i64,
        max: i64,
    },
    /// A duration in milliseconds with PostgreSQL's units.
    Millis,
    Bool,
    /// A boolean that mallard supports only `on` for.
    OnlyOn,
    Choice(&'static [&'static str]),
    Isolation,
}

/// One setting: its canonical name, kind, built-in default, whether its changes go to
/// the client as `ParameterStatus`, and the `SHOW ALL` description.
struct Def {
    name: &'static str,
    kind: Kind,
    default: &'static str,
    report: bool,
    /// Transaction settings follow their session default unless set in the transaction.
    follows: Option<&'static str>,
    description: &'static str,
}

const fn def(
    name: &'static str,
    kind: Kind,
    default: &'static str,
    report: bool,
    description: &'static str,
) -> Def {
    Def { name, kind, default, report, follows: None, description }
}

const fn per_transaction(
    name: &'static str,
    kind: Kind,
    follows: &'static str,
    description: &'static str,
) -> Def {
    Def { name, kind, default: "", report: false, follows: Some(follows), description }
}

const ISOLATION_LEVELS: &[&str] = &["serializable", "repeatable read", "read committed", "read uncommitted"];

/// The settings mallard knows, sorted as `SHOW ALL` lists them.
const DEFS: &[Def] = &[
    def("application_name", Kind::ApplicationName, "", true, "Sets the application name to be reported in statistics and logs."),
    def("block_size", Kind::Fixed, "8192", false, "Shows the size of a disk block."),
    def("bytea_output", Kind::Choice(&["hex"]), "hex", false, "Sets the output format for bytea."),
    def("check_function_bodies", Kind::Bool, "on", false, "Check routine bodies during CREATE FUNCTION and CREATE PROCEDURE."),
    def("client_encoding", Kind::ClientEncoding, "UTF8", true, "Sets the client's character set encoding."),
    def("client_min_messages", Kind::Choice(&["debug5", "debug4", "debug3", "debug2", "debug1", "log", "notice", "warning", "error"]), "notice", false, "Sets the message levels that are sent to the client."),
    def("DateStyle", Kind::DateStyle, "ISO, MDY", true, "Sets the display format for date and time values."),
    def("default_table_access_method", Kind::Text, "heap", false, "Sets the default table access method for new tables."),
    def("default_tablespace", Kind::Text, "", false, "Sets the default tablespace to create tables and indexes in."),
    def("default_transaction_deferrable", Kind::Bool, "off", false, "Sets the default deferrable status of new transactions."),
    def("default_transaction_isolation", Kind::Isolation, "read committed", false, "Sets the transaction isolation level of each new transaction."),
    def("default_transaction_read_only", Kind::Bool, "off", true, "Sets the default read-only status of new transactions."),
    def("extra_float_digits", Kind::Int { min: -15, max: 3 }, "1", false, "Sets the number of digits displayed for floating-point values."),
    def("idle_in_transaction_session_timeout", Kind::Millis, "0", false, "Sets the maximum allowed idle time between queries, when in a transaction."),
    def("idle_session_timeout", Kind::Millis, "0", false, "Sets the maximum allowed idle time between queries, when not in a transaction."),
    def("in_hot_standby", Kind::Fixed, "off", true, "Shows whether hot standby is currently active."),
    def("integer_datetimes", Kind::Fixed, "on", true, "Shows whether datetimes are integer based."),
    def("IntervalStyle", Kind::IntervalStyle, "postgres", true, "Sets the display format for interval values."),
    def("is_superuser", Kind::Fixed, "on", true, "Shows whether the current user is a superuser."),
    // DuckDB compiles no queries: as in a PostgreSQL built without LLVM, `on` changes nothing.
    def("jit", Kind::Bool, "on", false, "Allow JIT compilation."),
    def("lc_collate", Kind::Fixed, "C", false, "Shows the collation order locale."),
    def("lc_ctype", Kind::Fixed, "C", false, "Shows the character classification and case conversion locale."),
    def("lc_messages", Kind::Text, "C", false, "Sets the language in which messages are displayed."),
    def("lock_timeout", Kind::Millis, "0", false, "Sets the maximum allowed duration of any wait for a lock."),
    def("max_identifier_length", Kind::Fixed, "63", false, "Shows the maximum identifier length."),
    def("max_index_keys", Kind::Fixed, "32", false, "Shows the maximum number of index keys."),
    def("max_prepared_transactions", Kind::Fixed, "0", false, "Sets the maximum number of simultaneously prepared transactions."),
    def("row_security", Kind::Bool, "on", false, "Enable row security."),
    def("search_path", Kind::SearchPath, "\"$user\", public", false, "Sets the schema search order for names that are not schema-qualified."),
    def("server_encoding", Kind::Fixed, "UTF8", true, "Shows the server (database) character set encoding."),
    def("server_version", Kind::Fixed, crate::SERVER_VERSION, true, "Shows the server version."),
    def("server_version_num", Kind::Fixed, "150000", false, "Shows the server version as an integer."),
    def("session_authorization", Kind::Fixed, "", true, "Sets the session user name."),
    def("standard_conforming_strings", Kind::OnlyOn, "on", true, "Causes '...' strings to treat backslashes literally."),
    def("statement_timeout", Kind::Millis, "0", false, "Sets the maximum allowed duration of any statement."),
    def("synchronous_commit", Kind::Choice(&["local", "remote_write", "remote_apply", "on", "off"]), "on", false, "Sets the current transaction's synchronization level."),
    def("TimeZone", Kind::TimeZone, DUCKDB_TIMEZONE, true, "Sets the time zone for displaying and interpreting time stamps."),
    def("timezone_abbreviations", Kind::Text, "Default", false, "Selects a file of time zone abbreviations."),
    per_transaction("transaction_deferrable", Kind::Bool, "default_transaction_deferrable", "Whether to defer a read-only serializable transaction until it can be executed with no possible serialization failures."),
    per_transaction("transaction_isolation", Kind::Isolation, "default_transaction_isolation", "Sets the current transaction's isolation level."),
    per_transaction("transaction_read_only", Kind::Bool, "default_transaction_read_only", "Sets the current transaction's read-only status."),
    def("work_mem", Kind::Text, "4MB", false, "Sets the maximum memory to be used for query workspaces."),
    def("xmloption", Kind::Choice(&["content", "document"]), "content", false, "Sets whether XML data in implicit parsing and serialization operations is to be considered as documents or content fragments."),
];

fn index_of(name: &str) -> Option<usize> {
    DEFS.iter().position(|d| d.name.eq_ignore_ascii_case(name))
}

/// Where the settings the session reads around every statement are in [`DEFS`], found
/// once instead of by name each time.
static CLIENT_ENCODING: LazyLock<Option<usize>> = LazyLock::new(|| index_of("client_encoding"));
/// `TimeZone`, `DateStyle` and `IntervalStyle`: what [`Settings::text_style`] is made of.
static STYLE_SETTINGS: LazyLock<[Option<usize>; 3]> =
    LazyLock::new(|| ["TimeZone", "DateStyle", "IntervalStyle"].map(index_of));
/// What a statement's plan depends on: its text style, and `search_path`, by which
/// DuckDB finds the relations it names.
static PLAN_SETTINGS: LazyLock<[Option<usize>; 4]> =
    LazyLock::new(|| ["search_path", "TimeZone", "DateStyle", "IntervalStyle"].map(index_of));
/// `search_path` and `TimeZone`: the settings DuckDB keeps per connection too.
static DUCKDB_SETTINGS: LazyLock<[Option<usize>; 2]> =
    LazyLock::new(|| ["search_path", "TimeZone"].map(index_of));
/// Per setting, the one whose value it has until set in a transaction
/// ([`Def::follows`]).
static FOLLOWED: LazyLock<Vec<Option<usize>>> =
    LazyLock::new(|| DEFS.iter().map(|d| d.follows.and_then(index_of)).collect());
/// The timeouts the session reads around every statement.
static STATEMENT_TIMEOUT: LazyLock<Option<usize>> = LazyLock::new(|| index_of("statement_timeout"));
static IDLE_IN_TRANSACTION_TIMEOUT: LazyLock<Option<usize>> =
    LazyLock::new(|| index_of("idle_in_transaction_session_timeout"));
static IDLE_SESSION_TIMEOUT: LazyLock<Option<usize>> = LazyLock::new(|| index_of("idle_session_timeout"));

/// The time zone every DuckDB connection of the worker starts in: PostgreSQL's default,
/// `TimeZone`'s default in [`DEFS`].
pub const DUCKDB_TIMEZONE: &str = "UTC";

fn unknown(name: &str) -> ErrorInfo {
    ErrorInfo::error(SqlState::UNDEFINED_OBJECT, format!("unrecognized configuration parameter \"{name}\""))
}

/// What a settings command answers: an optional warning, optional rows, and a tag.
#[derive(Debug, Default)]
pub struct Reply {
    pub notice: Option<ErrorInfo>,
    /// Column names and rows of text (`SHOW`).
    pub rows: Option<(Vec<String>, Vec<Vec<String>>)>,
    pub tag: &'static str,
}

impl Reply {
    /// The messages to send, in order, ending with `CommandComplete`.
    pub fn messages(&self) -> Vec<Message> {
        let mut out = Vec::new();
        if let Some(notice) = &self.notice {
            out.push(Message::NoticeResponse(notice.clone()));
        }
        if let Some((columns, rows)) = &self.rows {
            let fields = columns
                .iter()
                .map(|name| FieldDescription {
                    name: name.clone(),
                    table_oid: 0,
                    column_attr: 0,
                    type_oid: crate::types::oid::TEXT,
                    type_size: -1,
                    type_modifier: -1,
                    format: Format::Text,
                })
                .collect();
            out.push(Message::RowDescription(fields));
            for row in rows {
                out.push(Message::DataRow(row.iter().map(|v| Some(v.clone().into_bytes())).collect()));
            }
        }
        out.push(Message::CommandComplete(self.tag.into()));
        out
    }
}

fn warning(code: SqlState, message: &str) -> ErrorInfo {
    ErrorInfo::new(Severity::Warning, code, message)
}

/// A setting's value as `SHOW` prints it: most stay at their built-in default, which a
/// new session and each transaction's saved copy then share instead of copying.
type Shown = std::borrow::Cow<'static, str>;

/// One session's settings.
pub struct Settings {
    /// Per setting: what `RESET` returns to (the default, or the startup packet's value).
    reset: Vec<Shown>,
    session: Vec<Shown>,
    /// `SET LOCAL` values of the open transaction.
    local: Vec<Option<String>>,
    /// Session values when the open transaction began; `Some` exactly while in one.
    saved: Option<Vec<Shown>>,
    reported: Vec<Option<String>>,
    /// What DuckDB was last given, for the settings it shares.
    applied: Vec<Option<String>>,
    /// Every setting's value as the catalog (`pg_settings`, `current_setting`) last got it.
    published: Vec<String>,
    /// The text style and the `TimeZone`, `DateStyle` and `IntervalStyle` values it was
    /// made for: looking a zone up costs a tz database lookup, and every Bind and
    /// Execute asks.
    style: std::cell::RefCell<Option<([String; 3], TextStyle)>>,
    customs: Customs,
}

/// A session's settings as [`Settings::save`] writes them: per setting its name, the
/// value `RESET` returns to and the session's value; and the custom settings.
#[derive(Debug, serde::Serialize, serde::Deserialize)]
pub struct Saved {
    values: Vec<(String, String, String)>,
    customs: BTreeMap<String, String>,
}

/// Custom settings by lower-case name, with the same transactional life as the others;
/// a name once set stays defined (empty after `RESET`), as PostgreSQL's placeholders do.
#[derive(Debug, Default)]
struct Customs {
    session: BTreeMap<String, String>,
    local: BTreeMap<String, String>,
    saved: Option<BTreeMap<String, String>>,
    /// What the catalog last got.
    published: Option<BTreeMap<String, String>>,
}

impl Customs {
    fn get(&self, name: &str) -> Option<&str> {
        self.local.get(name).or_else(|| self.session.get(name)).map(String::as_str)
    }

    fn effective(&self) -> BTreeMap<String, String> {
        let mut all = self.session.clone();
        all.extend(self.local.iter().map(|(k, v)| (k.clone(), v.clone())));
        all
    }

    fn end_transaction(&mut self, committed: bool) {
        if let Some(saved) = self.saved.take() {
            if !committed {
                let defined: Vec<String> = self.session.keys().cloned().collect();
                self.session = saved;
                for name in defined {
                    self.session.entry(name).or_default();
                }
            }
        }
        for name in std::mem::take(&mut self.local).into_keys() {
            self.session.entry(name).or_default();
        }
    }

    fn reset_all(&mut self) {
        self.session.values_mut().for_each(String::clear);
        for name in std::mem::take(&mut self.local).into_keys() {
            self.session.entry(name).or_default();
        }
    }
}

/// A custom setting's name in lower case, when `name` is one: two or more identifiers
/// joined by dots (`myapp.tenant`).
fn custom_name(name: &str) -> Option<String> {
    let ok = name.contains('.')
        && name.split('.').all(|part| {
            part.chars().next().is_some_and(|c| c.is_alphabetic() || c == '_')
                && part.chars().all(|c| c.is_alphanumeric() || c == '_' || c == '$')
        });
    ok.then(|| name.to_lowercase())
}

/// Why a name is neither a setting nor a custom one.
fn not_a_setting(name: &str) -> ErrorInfo {
    if name.contains('.') {
        ErrorInfo::error(SqlState::INVALID_NAME, format!("invalid configuration parameter name \"{name}\""))
            .with_detail("Custom parameter names must be two or more simple identifiers separated by dots.")
    } else {
        unknown(name)
    }
}

/// Startup-packet keys that are not settings.
const NOT_SETTINGS: &[&str] = &["user", "database", "replication", "options"];

impl Settings {
    /// The settings of a new session for `user`, with the startup packet's parameters
    /// applied (including `options=-c name=value`). Unknown names are ignored, as no
    /// client can be expected to know mallard's list; bad values are FATAL, as in
    /// PostgreSQL.
    pub fn new(user: &str, startup: &[(String, String)]) -> Result<Settings, ErrorInfo> {
        let mut reset: Vec<Shown> = DEFS.iter().map(|d| Shown::Borrowed(d.default)).collect();
        reset[index_of("session_authorization").expect("defined")] = Shown::Owned(user.to_owned());
        let mut settings = Settings {
            session: reset.clone(),
            reset,
            local: vec![None; DEFS.len()],
            saved: None,
            reported: vec![None; DEFS.len()],
            applied: vec![None; DEFS.len()],
            published: Vec::new(),
            style: std::cell::RefCell::default(),
            customs: Customs::default(),
        };
        let mut pairs: Vec<(String, String)> = Vec::new();
        for (key, value) in startup {
            if key == "options" {
                pairs.extend(command_line_options(value));
            } else if !NOT_SETTINGS.contains(&key.as_str()) && !key.starts_with("_pq_.") {
                pairs.push((key.clone(), value.clone()));
            }
        }
        for (key, value) in pairs {
            let Some(i) = index_of(&key) else {
                debug!(parameter = key.as_str(), "ignoring an unknown startup parameter");
                continue;
            };
            if matches!(DEFS[i].kind, Kind::Fixed) || DEFS[i].follows.is_some() {
                continue;
            }
            let values = match DEFS[i].kind {
                Kind::SearchPath => values::split_search_path(&value),
                _ => vec![value],
            };
            let shown = settings.normalize(i, &values).map_err(|mut e| {
                e.severity = Severity::Fatal;
                e
            })?;
            settings.reset[i] = Shown::Owned(shown.clone());
            settings.session[i] = Shown::Owned(shown);
        }
        Ok(settings)
    }

    /// The session's values outside a transaction block, by name, for the worker that
    /// resumes the session after a reload (see `session::handover`).
    pub fn save(&self) -> Saved {
        Saved {
            values: DEFS
                .iter()
                .enumerate()
                .map(|(i, d)| (d.name.to_owned(), self.reset[i].to_string(), self.session[i].to_string()))
                .collect(),
            customs: self.customs.session.clone(),
        }
    }

    /// The settings of a session another worker saved: its values and what `RESET`
    /// returns to, as they were. The client already knows every reported value, so
    /// none is reported again. A name this binary does not know is left out.
    pub fn restore(user: &str, saved: Saved) -> Settings {
        let mut settings = Settings::new(user, &[]).expect("the defaults are valid settings");
        for (name, reset, session) in saved.values {
            if let Some(i) = index_of(&name) {
                settings.reset[i] = Shown::Owned(reset);
                settings.session[i] = Shown::Owned(session);
            }
        }
        settings.customs.session = saved.customs;
        for (i, d) in DEFS.iter().enumerate() {
            if d.report {
                settings.reported[i] = Some(settings.effective(i).to_owned());
            }
        }
        settings
    }

    fn effective(&self, i: usize) -> &str {
        if let Some(v) = &self.local[i] {
            return v;
        }
        match FOLLOWED[i] {
            Some(default) => self.effective(default),
            None => self.session[i].as_ref(),
        }
    }

    /// The current value of a setting as `SHOW` prints it.
    pub fn get(&self, name: &str) -> Option<&str> {
        index_of(name).map(|i| self.effective(i))
    }

    /// `client_encoding`, as `SHOW` prints it; without a search of the settings, for the
    /// session asks after every statement.
    pub fn client_encoding(&self) -> &str {
        CLIENT_ENCODING.map_or("UTF8", |i| self.effective(i))
    }

    /// `statement_timeout`, when one is set.
    pub fn statement_timeout(&self) -> Option<Duration> {
        self.millis(*STATEMENT_TIMEOUT)
    }

    /// `idle_in_transaction_session_timeout`, when one is set.
    pub fn idle_in_transaction_timeout(&self) -> Option<Duration> {
        self.millis(*IDLE_IN_TRANSACTION_TIMEOUT)
    }

    /// `idle_session_timeout`, when one is set.
    pub fn idle_session_timeout(&self) -> Option<Duration> {
        self.millis(*IDLE_SESSION_TIMEOUT)
    }

    fn millis(&self, setting: Option<usize>) -> Option<Duration> {
        let i = setting?;
        let ms = values::millis(DEFS[i].name, self.effective(i)).ok()?;
        (ms > 0).then(|| Duration::from_millis(ms as u64))
    }

    /// Answers `SET`, `RESET`, `SHOW` and the settings part of `DISCARD ALL` (the session
    /// still has to drop its prepared statements, portals and temporary objects); `None`
    /// for any other command.
    pub fn execute(&mut self, command: &Command) -> Option<Result<Reply, ErrorInfo>> {
        Some(match command {
            Command::Set(set) => self.set(set),
            Command::Reset(reset) => self.reset(reset).map(|()| Reply { tag: "RESET", ..Reply::default() }),
            Command::Show(show) => self.show(show),
            Command::Discard(Discard::All) => {
                if self.saved.is_some() {
                    Err(ErrorInfo::error(
                        SqlState::ACTIVE_SQL_TRANSACTION,
                        "DISCARD ALL cannot run inside a transaction block",
                    ))
                } else {
                    self.reset_all();
                    Ok(Reply { tag: "DISCARD ALL", ..Reply::default() })
                }
            }
            _ => return None,
        })
    }

    fn set(&mut self, set: &Set) -> Result<Reply, ErrorInfo> {
        let reply = |notice| Ok(Reply { notice, tag: "SET", rows: None });
        match set {
            Set::Nothing => reply(None),
            Set::Param { name, local, value } if index_of(name).is_none() => {
                let custom = custom_name(name).ok_or_else(|| not_a_setting(name))?;
                let shown = match value {
                    SetValue::Default => String::new(),
                    SetValue::List(values) => values.join(", "),
                };
                if !*local {
                    self.customs.local.remove(&custom);
                    self.customs.session.insert(custom, shown);
                    return reply(None);
                }
                if self.saved.is_none() {
                    return reply(Some(warning(
                        SqlState::NO_ACTIVE_SQL_TRANSACTION,
                        "SET LOCAL can only be used in transaction blocks",
                    )));
                }
                self.customs.session.entry(custom.clone()).or_default();
                self.customs.local.insert(custom, shown);
                reply(None)
            }
            Set::Param { name, local, value } => {
                let i = index_of(name).ok_or_else(|| unknown(name))?;
                if matches!(DEFS[i].kind, Kind::Fixed) {
                    return Err(ErrorInfo::error(
                        SqlState::CANT_CHANGE_RUNTIME_PARAM,
                        format!("parameter \"{}\" cannot be changed", DEFS[i].name),
                    ));
                }
                let shown = match value {
                    SetValue::Default => self.reset[i].to_string(),
                    SetValue::List(values) => self.normalize(i, values)?,
                };
                if *local || DEFS[i].follows.is_some() {
                    reply(self.set_local(i, shown, "SET LOCAL"))
                } else {
                    self.session[i] = Shown::Owned(shown);
                    self.local[i] = None;
                    reply(None)
                }
            }
            Set::Transaction { session_default, modes } => {
                let mut notice = None;
                for mode in modes {
                    let (name, value) = match mode {
                        TransactionMode::Isolation(level) => ("transaction_isolation", *level),
                        TransactionMode::ReadOnly(on) => {
                            ("transaction_read_only", if *on { "on" } else { "off" })
                        }
                        TransactionMode::Deferrable(on) => {
                            ("transaction_deferrable", if *on { "on" } else { "off" })
                        }
                    };
                    let i = index_of(name).expect("defined");
                    if *session_default {
                        let default = FOLLOWED[i].expect("transaction settings follow one");
                        self.session[default] = Shown::Owned(value.to_owned());
                        self.local[default] = None;
                    } else {
                        notice = notice.or(self.set_local(i, value.to_owned(), "SET TRANSACTION"));
                    }
                }
                reply(notice)
            }
        }
    }

    /// `SET LOCAL` outside a transaction block warns and does nothing, as in PostgreSQL.
    fn set_local(&mut self, i: usize, shown: String, what: &str) -> Option<ErrorInfo> {
        if self.saved.is_none() {
            return Some(warning(
                SqlState::NO_ACTIVE_SQL_TRANSACTION,
                &format!("{what} can only be used in transaction blocks"),
            ));
        }
        self.local[i] = Some(shown);
        None
    }

    fn reset(&mut self, reset: &Reset) -> Result<(), ErrorInfo> {
        match reset {
            Reset::Nothing => {}
            Reset::All => self.reset_all(),
            Reset::Param(name) if index_of(name).is_none() => {
                let custom = custom_name(name).ok_or_else(|| not_a_setting(name))?;
                self.customs.local.remove(&custom);
                self.customs.session.insert(custom, String::new());
            }
            Reset::Param(name) => {
                let i = index_of(name).ok_or_else(|| unknown(name))?;
                if matches!(DEFS[i].kind, Kind::Fixed) {
                    return Err(ErrorInfo::error(
                        SqlState::CANT_CHANGE_RUNTIME_PARAM,
                        format!("parameter \"{}\" cannot be changed", DEFS[i].name),
                    ));
                }
                if DEFS[i].follows.is_some() {
                    self.local[i] = None;
                } else {
                    self.session[i] = self.reset[i].clone();
                    self.local[i] = None;
                }
            }
        }
        Ok(())
    }

    /// `RESET ALL`: every settable setting back to its session-start value.
    pub fn reset_all(&mut self) {
        self.customs.reset_all();
        for (i, d) in DEFS.iter().enumerate() {
            if !matches!(d.kind, Kind::Fixed) && d.follows.is_none() {
                self.session[i] = self.reset[i].clone();
                self.local[i] = None;
            }
        }
    }

    fn show(&self, show: &Show) -> Result<Reply, ErrorInfo> {
        let rows = match show {
            Show::Param(name) if index_of(name).is_none() => {
                let value =
                    custom_name(name).and_then(|c| self.customs.get(&c)).ok_or_else(|| unknown(name))?;
                (vec![name.to_lowercase()], vec![vec![value.to_owned()]])
            }
            Show::Param(name) => {
                let i = index_of(name).ok_or_else(|| unknown(name))?;
                (vec![DEFS[i].name.to_owned()], vec![vec![self.effective(i).to_owned()]])
            }
            Show::All => {
                let mut rows: Vec<Vec<String>> = (0..DEFS.len())
                    .map(|i| {
                        vec![
                            DEFS[i].name.to_owned(),
                            self.effective(i).to_owned(),
                            DEFS[i].description.to_owned(),
                        ]
                    })
                    .collect();
                rows.sort_by_key(|r| r[0].to_ascii_lowercase());
                (vec!["name".into(), "setting".into(), "description".into()], rows)
            }
        };
        Ok(Reply { notice: None, rows: Some(rows), tag: "SHOW" })
    }

    /// Checks `values` for setting `i`; returns the text `SHOW` will print.
    fn normalize(&self, i: usize, values: &[String]) -> Result<String, ErrorInfo> {
        let d = &DEFS[i];
        let takes_list = matches!(d.kind, Kind::DateStyle | Kind::SearchPath);
        if values.len() > 1 && !takes_list {
            return Err(ErrorInfo::error(
                SqlState::INVALID_PARAMETER_VALUE,
                format!("SET {} takes only one argument", d.name),
            ));
        }
        let value = values.first().map_or("", String::as_str);
        Ok(match d.kind {
            Kind::Fixed => self.session[i].to_string(),
            Kind::Text => value.to_owned(),
            Kind::ApplicationName => values::application_name(value),
            Kind::ClientEncoding => values::client_encoding(value)?,
            Kind::DateStyle => values::datestyle(&self.session[i], values)?,
            Kind::IntervalStyle => values::intervalstyle(value)?,
            Kind::TimeZone => values::timezone(value)?,
            Kind::SearchPath => values::search_path(values),
            Kind::Int { min, max } => values::integer(d.name, value, min, max)?,
            Kind::Millis => values::show_millis(values::millis(d.name, value)?),
            Kind::Bool => if values::boolean(d.name, value)? { "on" } else { "off" }.to_owned(),
            Kind::OnlyOn => {
                if !values::boolean(d.name, value)? {
                    return Err(ErrorInfo::error(
                        SqlState::FEATURE_NOT_SUPPORTED,
                        format!("invalid value for parameter \"{}\": \"{value}\"", d.name),
                    )
                    .with_detail("mallard supports only standard-conforming strings."));
                }
                "on".to_owned()
            }
            Kind::Choice(allowed) => values::choice(d.name, value, allowed)?,
            Kind::Isolation => {
                let lower = value.to_ascii_lowercase();
                match ISOLATION_LEVELS.iter().find(|l| **l == lower) {
                    Some(level) => (*level).to_owned(),
                    None => return Err(values::invalid(d.name, value).with_hint(
                        "Available values: serializable, repeatable read, read committed, read uncommitted.",
                    )),
                }
            }
        })
    }

    /// What `SET name = value` would show, or its error, for a session with the default
    /// settings: `set_config`'s answer, given inside DuckDB where the session's own
    /// settings are out of reach.
    pub fn check(name: &str, value: &str) -> Result<String, ErrorInfo> {
        let mut scratch = Settings::new("", &[])?;
        scratch.apply(&[set_config::Call {
            name: name.to_owned(),
            value: value.to_owned(),
            local: false,
        }])?;
        match index_of(name) {
            Some(i) => Ok(scratch.effective(i).to_owned()),
            None => Ok(custom_name(name)
                .and_then(|c| scratch.customs.get(&c).map(str::to_owned))
                .unwrap_or_default()),
        }
    }

    /// Applies the `set_config` calls of a statement that ran, in order, as `SET` and
    /// `SET LOCAL`; a local one outside a transaction block lasted only for its
    /// statement, as in PostgreSQL.
    pub fn apply(&mut self, calls: &[set_config::Call]) -> Result<(), ErrorInfo> {
        for call in calls {
            if call.local && self.saved.is_none() {
                continue;
            }
            let values = match index_of(&call.name).map(|i| DEFS[i].kind) {
                Some(Kind::SearchPath) => values::split_search_path(&call.value),
                _ => vec![call.value.clone()],
            };
            let set =
                Set::Param { name: call.name.clone(), local: call.local, value: SetValue::List(values) };
            self.set(&set)?;
        }
        Ok(())
    }

    /// A transaction began (`BEGIN`, or the implicit transaction of a multi-statement
    /// query). `modes` are those of `BEGIN ISOLATION LEVEL ...` and the like.
    pub fn begin(&mut self, modes: &[TransactionMode]) {
        self.saved = Some(self.session.clone());
        self.customs.saved = Some(self.customs.session.clone());
        if !modes.is_empty() {
            let _ = self.set(&Set::Transaction { session_default: false, modes: modes.to_vec() });
        }
    }

    /// The transaction ended: committed keeps its `SET`s, rolled back undoes them; either
    /// way its `SET LOCAL`s end.
    pub fn end_transaction(&mut self, committed: bool) {
        self.customs.end_transaction(committed);
        if let Some(saved) = self.saved.take() {
            if !committed {
                self.session = saved;
            }
        }
        self.local.iter_mut().for_each(|l| *l = None);
    }

    /// The `ParameterStatus` messages owed: every reported setting whose value differs
    /// from what the client was last told (all of them, the first time).
    pub fn take_reports(&mut self) -> Vec<Message> {
        let mut out = Vec::new();
        for (i, d) in DEFS.iter().enumerate().filter(|(_, d)| d.report) {
            let value = self.effective(i);
            if self.reported[i].as_deref() != Some(value) {
                let value = value.to_owned();
                out.push(Message::ParameterStatus { name: d.name.into(), value: value.clone() });
                self.reported[i] = Some(value);
            }
        }
        out
    }

    /// The settings a prepared statement was planned under (see [`PLAN_SETTINGS`]):
    /// another statement of the same text planned under other values may differ.
    pub fn plan_inputs(&self) -> [&str; 4] {
        PLAN_SETTINGS.map(|i| i.map_or("", |i| self.effective(i)))
    }

    /// How values are written and read as text in this session: its time zone,
    /// `DateStyle` and `IntervalStyle`.
    pub fn text_style(&self) -> TextStyle {
        let [zone, dates, intervals] = STYLE_SETTINGS.map(|i| i.map_or("", |i| self.effective(i)));
        let mut cached = self.style.borrow_mut();
        match cached.as_ref() {
            Some((made_for, style)) if made_for.iter().eq([zone, dates, intervals]) => style.clone(),
            _ => {
                let mut style = match values::zone_of_shown(zone) {
                    ShownZone::Fixed { east, abbreviation } => TextStyle::fixed(east, abbreviation),
                    ShownZone::Named(name) => TextStyle::named(name).unwrap_or_default(),
                };
                (style.dates, style.order) = values::datestyle_of_shown(dates);
                style.intervals = IntervalFormat::from_name(intervals).unwrap_or_default();
                *cached = Some(([zone, dates, intervals].map(str::to_owned), style.clone()));
                style
            }
        }
    }

    /// Readies a session's DuckDB connection: its `search_path` (whose schemas are
    /// `database`'s, which so becomes the current database), and its time zone unless it
    /// is the one every connection starts in ([`DUCKDB_TIMEZONE`]). One DuckDB statement
    /// for a new connection and a session that keeps the defaults; none for a connection
    /// an earlier session left with the same settings (`left`: its
    /// [`Self::duckdb_left`]).
    pub fn open_duckdb(
        &mut self,
        duck: &Connection,
        database: &str,
        left: Option<&[String; 2]>,
    ) -> Result<(), crate::duck::DuckError> {
        let [search_path, zone] = *DUCKDB_SETTINGS;
        let (left_path, left_zone) = match left {
            Some([path, zone]) => (Some(path.as_str()), zone.as_str()),
            None => (None, DUCKDB_TIMEZONE),
        };
        if let Some(i) = search_path {
            let value = self.effective(i).to_owned();
            if left_path != Some(value.as_str()) {
                apply_search_path(duck, &value, Some(database))?;
            }
            self.applied[i] = Some(value);
        }
        if let Some(i) = zone {
            self.applied[i] = Some(left_zone.to_owned());
        }
        self.sync_duckdb(duck, false);
        Ok(())
    }

    /// The `search_path` and `TimeZone` this session leaves its DuckDB connection
    /// with, as the settings show them: what [`Self::open_duckdb`] of the next session
    /// that takes the connection needs to know.
    pub fn duckdb_left(&self) -> Option<[String; 2]> {
        let [search_path, zone] = DUCKDB_SETTINGS.map(|i| i.and_then(|i| self.applied[i].clone()));
        Some([search_path?, zone?])
    }

    /// Hands DuckDB the settings it shares with the session, when they changed since the
    /// last call, and to a statement that reads the `catalog`, every setting. Failures
    /// are not the client's statement's: they are logged.
    pub fn sync_duckdb(&mut self, duck: &Connection, catalog: bool) {
        // Every statement asks: the usual answer (no change) allocates nothing.
        for i in DUCKDB_SETTINGS.into_iter().flatten() {
            if self.applied[i].as_deref() == Some(self.effective(i)) {
                continue;
            }
            let value = self.effective(i).to_owned();
            match DEFS[i].kind {
                Kind::SearchPath => {
                    if let Err(e) = apply_search_path(duck, &value, None) {
                        debug!(error = %e, "DuckDB did not take the search_path");
                    }
                }
                _ => apply_timezone(duck, &value),
            }
            self.applied[i] = Some(value);
        }
        if catalog {
            self.publish(duck);
        }
    }

    /// Hands the catalog every setting's value (and so the user's name, which it shows
    /// as every object's owner) when one changed since the last call, as
    /// the session variable `mallard_settings` (a map from lower-case name to value) that
    /// `pg_settings` and `current_setting()` read.
    fn publish(&mut self, duck: &Connection) {
        let customs = self.customs.effective();
        let unchanged = self.published.len() == DEFS.len()
            && (0..DEFS.len()).all(|i| self.published[i] == self.effective(i))
            && self.customs.published.as_ref() == Some(&customs);
        if unchanged {
            return;
        }
        self.published = (0..DEFS.len()).map(|i| self.effective(i).to_owned()).collect();
        let entries: Vec<String> = DEFS
            .iter()
            .map(|d| d.name.to_ascii_lowercase())
            .zip(self.published.iter().cloned())
            .chain(customs.clone())
            .map(|(name, v)| format!("{}: {}", quote_literal(&name), quote_literal(&v)))
            .collect();
        self.customs.published = Some(customs);
        if let Err(e) = exec(duck, &format!("SET VARIABLE mallard_settings = MAP {{{}}}", entries.join(", ")))
        {
            debug!(error = %e, "DuckDB did not take the settings");
        }
    }
}

/// Checks a configured time zone (config `timezone`) as `SET TimeZone` would: the
/// name the session shows, or why it is refused.
pub fn check_timezone(value: &str) -> Result<String, String> {
    values::timezone(value).map_err(|e| match e.detail {
        Some(detail) => format!("{} ({detail})", e.message),
        None => e.message,
    })
}

/// One row of `pg_settings` that does not change: name, boot value, unit, description,
/// type and context.
pub struct CatalogRow {
    pub name: &'static str,
    pub boot_val: &'static str,
    pub unit: Option<&'static str>,
    pub short_desc: &'static str,
    pub vartype: &'static str,
    pub context: &'static str,
}

/// Every setting, for the catalog's `pg_settings`.
pub fn catalog_rows() -> impl Iterator<Item = CatalogRow> {
    DEFS.iter().map(|d| CatalogRow {
        name: d.name,
        boot_val: d.default,
        unit: matches!(d.kind, Kind::Millis).then_some("ms"),
        short_desc: d.description,
        vartype: match d.kind {
            Kind::Bool | Kind::OnlyOn => "bool",
            Kind::Int { .. } | Kind::Millis => "integer",
            Kind::Choice(_) | Kind::Isolation => "enum",
            Kind::Fixed if d.default.parse::<i64>().is_ok() => "integer",
            _ => "string",
        },
        context: match d.kind {
            Kind::Fixed => "internal",
            _ => "user",
        },
    })
}

/// DuckDB's `search_path` from PostgreSQL's: `$user` has no meaning, `public` is DuckDB's
/// `main`, and schemas that do not exist are skipped (PostgreSQL ignores them; DuckDB
/// would refuse the whole list). The catalog comes last, where PostgreSQL searches
/// `pg_catalog` when the path does not name it (DuckDB's own system schemas follow).
/// With `database`, the schemas are that database's, which so becomes the current one
/// (as `USE` would make it); without, DuckDB finds them in the current one.
fn apply_search_path(
    duck: &Connection,
    shown: &str,
    database: Option<&str>,
) -> Result<(), crate::duck::DuckError> {
    let wanted: Vec<String> = values::split_search_path(shown)
        .into_iter()
        .filter(|s| s != "$user")
        .map(|s| if s == "public" { "main".to_owned() } else { s })
        .collect();
    let set = |list: &[String]| {
        let qualify = |schema: &str| match database {
            Some(db) => format!("{}.{}", crate::duck::quote_ident(db), crate::duck::quote_ident(schema)),
            None => crate::duck::quote_ident(schema),
        };
        let mut names: Vec<String> = list.iter().map(|s| qualify(s)).collect();
        names.push(crate::catalog::SCHEMA.to_owned());
        let text = names.join(",");
        exec(duck, &format!("SET search_path = '{}'", text.replace('\'', "''")))
    };
    if set(&wanted).is_ok() {
        return Ok(());
    }
    let existing: Vec<String> = wanted.into_iter().filter(|s| set(std::slice::from_ref(s)).is_ok()).collect();
    set(&existing)
}

/// DuckDB's (ICU's) `TimeZone`: the tz database name, or for a fixed offset (whole hours,
/// see [`values::timezone`]) the tz database's `Etc/GMT-3`, whose sign counts west.
fn apply_timezone(duck: &Connection, shown: &str) {
    let name = match values::zone_of_shown(shown) {
        ShownZone::Named(name) => name.to_owned(),
        ShownZone::Fixed { east: 0, .. } => "UTC".to_owned(),
        ShownZone::Fixed { east, .. } => format!("Etc/GMT{:+}", -east / 3600),
    };
    if let Err(e) = exec(duck, &format!("SET TimeZone = {}", quote_literal(&name))) {
        debug!(error = %e, "DuckDB did not take the time zone");
    }
}

/// `-c name=value` and `--name=value` pairs from the startup `options` string (with
/// backslash-escaped spaces, as libpq writes them).
fn command_line_options(options: &str) -> Vec<(String, String)> {
    let mut words = Vec::new();
    let mut word = String::new();
    let mut chars = options.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => word.extend(chars.next()),
            c if c.is_whitespace() => {
                if !word.is_empty() {
                    words.push(std::mem::take(&mut word));
                }
            }
            c => word.push(c),
        }
    }
    if !word.is_empty() {
        words.push(word);
    }
    let mut pairs = Vec::new();
    let mut words = words.into_iter();
    while let Some(w) = words.next() {
        let assignment = if w == "-c" {
            words.next()
        } else {
            w.strip_prefix("-c").or_else(|| w.strip_prefix("--")).map(str::to_owned)
        };
        if let Some((name, value)) = assignment.as_deref().and_then(|a| a.split_once('=')) {
            pairs.push((name.replace('-', "_"), value.to_owned()));
        }
    }
    pairs
}

#[cfg(test)]
mod tests;
