//! Configuration: defaults, then the TOML file, then `MALLARD_<KEY>` environment
//! variables, then command-line flags, each overriding the one before. Validation
//! refuses what cannot work, and says what to do instead.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use mallard_worker::auth::{self, AuthSettings, Rule, RuleSpec, Users};
use mallard_worker::tls::{SslMode, TlsSettings};
use mallard_worker::{check_timezone, FileAccess, LakeSettings, Storage, WorkerConfig};
use serde::Deserialize;

/// The file read when `-c` is not given, if it exists.
pub const DEFAULT_CONFIG_FILE: &str = "/etc/mallard/mallard.toml";
const ENV_PREFIX: &str = "MALLARD_";

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("could not read {path}")]
    Read {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("{origin}: {message}")]
    Parse { origin: String, message: String },
    #[error("invalid configuration: {0}")]
    Invalid(String),
    #[error("invalid configuration: [tls]")]
    Tls(#[source] mallard_worker::tls::TlsError),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    Text,
    Json,
}

/// `[tls]`: `ssl = "off" | "allow" | "require"`, and the PEM files when it is not off.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TlsConfig {
    #[serde(default)]
    pub ssl: SslMode,
    pub cert: Option<PathBuf>,
    pub key: Option<PathBuf>,
}

impl TlsConfig {
    fn settings(&self) -> TlsSettings {
        TlsSettings { ssl: self.ssl, cert: self.cert.clone(), key: self.key.clone() }
    }
}

/// `[auth]`: the users file and the access rules. Rules stay TOML tables here so that
/// an error can say which rule is wrong; [`Config::auth_settings`] checks them.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuthConfig {
    pub users_file: Option<PathBuf>,
    #[serde(default)]
    pub rules: Vec<toml::Table>,
    /// Users who may cancel and terminate any session, as PostgreSQL's superusers may;
    /// others only their own user's sessions.
    #[serde(default)]
    pub superusers: Vec<String>,
}

/// The whole configuration, as the file spells it.
/// Keys of later capabilities (drain and health timeouts, privilege drop, TLS files, the
/// users file) are parsed and validated now, so that one config file serves every version.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)]
pub struct Config {
    #[serde(default = "default_listen")]
    pub listen: Vec<SocketAddr>,
    pub socket_dir: Option<PathBuf>,
    /// Default: 1 in `duckdb` read-write mode, else the number of cores.
    pub workers: Option<u32>,
    #[serde(default = "default_storage")]
    pub storage: Storage,
    #[serde(default = "default_data_dir")]
    pub data_dir: PathBuf,
    #[serde(default = "default_database")]
    pub database: String,
    /// Other names a client may connect with to reach `database`: tools that first
    /// connect to PostgreSQL's maintenance database (pgAdmin, DBeaver, asyncpg's
    /// defaults) get in.
    #[serde(default = "default_database_aliases")]
    pub database_aliases: Vec<String>,
    /// The sessions' `TimeZone` unless a client sets its own.
    #[serde(default = "default_timezone")]
    pub timezone: String,
    #[serde(default)]
    pub read_only: bool,
    #[serde(default = "default_auto")]
    pub memory_limit: String,
    #[serde(default)]
    pub threads: u32,
    #[serde(default = "default_max_connections")]
    pub max_connections: u32,
    /// Connections still in startup (TLS, startup packet) beyond `max_connections`:
    /// they count toward `max_connections` only once their startup packet is read, as
    /// in PostgreSQL, so silent sockets cannot lock real clients out. Default: as many
    /// as `max_connections`.
    pub max_startup_connections: Option<u32>,
    /// The bytes of each session's statement `pg_stat_activity` keeps (PostgreSQL's
    /// setting of that name); fixed when the server starts.
    #[serde(default = "default_track_activity_query_size")]
    pub track_activity_query_size: usize,
    /// Keep each session's state and statement current in `pg_stat_activity`.
    #[serde(default = "default_true")]
    pub track_activities: bool,
    #[serde(default = "default_drain_timeout", with = "duration")]
    pub drain_timeout: Duration,
    #[serde(default = "default_shutdown_timeout", with = "duration")]
    pub shutdown_timeout: Duration,
    #[serde(default = "default_health_timeout", with = "duration")]
    pub health_timeout: Duration,
    #[serde(default = "default_startup_timeout", with = "duration")]
    pub startup_timeout: Duration,
    #[serde(default = "default_max_message_size")]
    pub max_message_size: usize,
    /// The default of the `idle_session_timeout` setting; zero is off.
    #[serde(default, with = "duration")]
    pub idle_session_timeout: Duration,
    /// The default of the `idle_in_transaction_session_timeout` setting; zero is off.
    #[serde(default, with = "duration")]
    pub idle_in_transaction_session_timeout: Duration,
    /// `data_dir` (the default): SQL reaches only the data directory and
    /// `allowed_directories`; `all`: whatever the OS user may reach.
    #[serde(default)]
    pub file_access: FileAccess,
    #[serde(default)]
    pub allowed_directories: Vec<PathBuf>,
    pub admin_socket: Option<PathBuf>,
    pub metrics_listen: Option<SocketAddr>,
    pub user: Option<String>,
    pub group: Option<String>,
    #[serde(default = "default_log_format")]
    pub log_format: LogFormat,
    #[serde(default = "default_log_level")]
    pub log_level: String,
    /// DuckDB extensions every worker loads at start (see `WorkerConfig::extensions`).
    #[serde(default)]
    pub extensions: Vec<String>,
    /// Where they are, in DuckDB's layout; default `<data_dir>/extensions`.
    pub extension_directory: Option<PathBuf>,
    /// Whether SQL may `INSTALL` and `LOAD` extensions (off: a client must not load code
    /// into a worker).
    #[serde(default)]
    pub extension_statements: bool,
    pub tls: Option<TlsConfig>,
    pub auth: Option<AuthConfig>,
    pub ducklake: Option<LakeSettings>,
}

fn default_listen() -> Vec<SocketAddr> {
    vec!["127.0.0.1:5432".parse().expect("valid address")]
}
fn default_storage() -> Storage {
    Storage::Duckdb
}
fn default_data_dir() -> PathBuf {
    "./mallard-data".into()
}
fn default_database() -> String {
    "mallard".into()
}
fn default_database_aliases() -> Vec<String> {
    vec!["postgres".into()]
}
fn default_timezone() -> String {
    "UTC".into()
}
fn default_auto() -> String {
    "auto".into()
}
fn default_max_connections() -> u32 {
    100
}
fn default_true() -> bool {
    true
}
fn default_track_activity_query_size() -> usize {
    1024
}
fn default_drain_timeout() -> Duration {
    Duration::from_secs(60)
}
fn default_shutdown_timeout() -> Duration {
    Duration::from_secs(30)
}
fn default_health_timeout() -> Duration {
    Duration::from_secs(5)
}
/// PostgreSQL's `authentication_timeout` default.
fn default_startup_timeout() -> Duration {
    Duration::from_secs(60)
}
fn default_max_message_size() -> usize {
    256 << 20
}
fn default_log_format() -> LogFormat {
    LogFormat::Text
}
fn default_log_level() -> String {
    "info".into()
}

/// Overrides from the command line; `None` leaves the lower layers' value.
#[derive(Debug, Default, Clone, clap::Args)]
pub struct Overrides {
    /// Address to listen on (repeat for several); replaces `listen`.
    #[arg(long = "listen", value_name = "HOST:PORT")]
    pub listen: Vec<SocketAddr>,
    /// Directory for the unix socket `.s.PGSQL.<port>`.
    #[arg(long, value_name = "DIR")]
    pub socket_dir: Option<PathBuf>,
    /// Number of worker processes.
    #[arg(long, value_name = "N")]
    pub workers: Option<u32>,
    /// Storage mode.
    #[arg(long, value_name = "MODE", value_parser = ["duckdb", "memory", "ducklake"])]
    pub storage: Option<String>,
    /// Data directory (database file, spill files).
    #[arg(long, value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
    /// Admin socket path.
    #[arg(long, value_name = "PATH")]
    pub admin_socket: Option<PathBuf>,
    /// Most client connections at once.
    #[arg(long, value_name = "N")]
    pub max_connections: Option<u32>,
    /// Log format.
    #[arg(long, value_enum)]
    pub log_format: Option<LogFormat>,
    /// Log level or tracing filter (`info`, `debug`, `mallard_worker=debug`).
    #[arg(long, value_name = "LEVEL")]
    pub log_level: Option<String>,
}

impl Config {
    /// Loads the configuration from all layers and validates it.
    pub fn load(file: Option<&Path>, overrides: &Overrides) -> Result<Config, ConfigError> {
        let env: BTreeMap<String, String> = std::env::vars().collect();
        Config::load_from(file, &env, overrides)
    }

    pub fn load_from(
        file: Option<&Path>,
        env: &BTreeMap<String, String>,
        o: &Overrides,
    ) -> Result<Config, ConfigError> {
        let mut table = match file {
            Some(path) => read_table(path)?,
            None if Path::new(DEFAULT_CONFIG_FILE).exists() => read_table(Path::new(DEFAULT_CONFIG_FILE))?,
            None => toml::Table::new(),
        };
        apply_env(&mut table, env)?;
        let mut config: Config = table.try_into().map_err(|e: toml::de::Error| ConfigError::Parse {
            origin: "configuration".into(),
            message: e.message().to_owned(),
        })?;
        if !o.listen.is_empty() {
            config.listen = o.listen.clone();
        }
        macro_rules! take {
            ($($field:ident),*) => { $(if let Some(v) = o.$field.clone() { config.$field = v.into(); })* };
        }
        take!(data_dir, max_connections, log_format, log_level);
        if o.socket_dir.is_some() {
            config.socket_dir = o.socket_dir.clone();
        }
        if o.workers.is_some() {
            config.workers = o.workers;
        }
        if o.admin_socket.is_some() {
            config.admin_socket = o.admin_socket.clone();
        }
        if let Some(s) = &o.storage {
            config.storage = toml::Value::String(s.clone())
                .try_into()
                .map_err(|_| ConfigError::Invalid(format!("unknown storage {s}")))?;
        }
        config.validate()?;
        Ok(config)
    }

    fn validate(&self) -> Result<(), ConfigError> {
        let invalid = |m: String| Err(ConfigError::Invalid(m));
        if self.listen.is_empty() && self.socket_dir.is_none() {
            return invalid("nothing to listen on: set `listen` or `socket_dir`".into());
        }
        // The storage mode decides how many workers it can serve, and whether it is
        // implemented; its errors say what to use instead.
        self.storage
            .validate(self.read_only, self.workers, self.ducklake.as_ref())
            .map_err(|e| ConfigError::Invalid(e.to_string()))?;
        if self.database.is_empty() {
            return invalid("`database` must not be empty".into());
        }
        // The files are loaded as a worker will load them, so `mallard check` (and so a
        // reload) refuses a missing file, bad PEM or a key that does not fit.
        if let Some(tls) = &self.tls {
            mallard_worker::tls::load(&tls.settings()).map_err(ConfigError::Tls)?;
        }
        self.auth_settings()?;
        check_timezone(&self.timezone).map_err(|e| ConfigError::Invalid(format!("`timezone`: {e}")))?;
        if !(100..=65536).contains(&self.track_activity_query_size) {
            return invalid("`track_activity_query_size` must be between 100 and 65536 bytes".into());
        }
        if self.max_message_size < 1024 {
            return invalid("`max_message_size` must be at least 1024 bytes".into());
        }
        if tracing_subscriber::EnvFilter::try_new(&self.log_level).is_err() {
            return invalid(format!("invalid log_level {:?}", self.log_level));
        }
        Ok(())
    }

    /// Where a running server's admin socket is, for `mallard status/reload/stop`. Only
    /// `admin_socket` and `data_dir` are read, so that a configuration that is wrong in
    /// other ways (the one a reload is about to refuse) still leads to the server.
    pub fn locate_admin(file: Option<&Path>, data_dir: Option<&Path>) -> Result<PathBuf, ConfigError> {
        let env: BTreeMap<String, String> = std::env::vars().collect();
        let mut table = match file {
            Some(path) => read_table(path)?,
            None if Path::new(DEFAULT_CONFIG_FILE).exists() => read_table(Path::new(DEFAULT_CONFIG_FILE))?,
            None => toml::Table::new(),
        };
        apply_env(&mut table, &env)?;
        let text = |key: &str| table.get(key).and_then(|v| v.as_str()).map(PathBuf::from);
        if let Some(path) = text("admin_socket") {
            return Ok(path);
        }
        let data_dir =
            data_dir.map(Path::to_path_buf).or_else(|| text("data_dir")).unwrap_or_else(default_data_dir);
        Ok(data_dir.join("mallard.sock"))
    }

    /// Where extensions load from: `extension_directory`, else `<data_dir>/extensions`.
    pub fn extension_dir(&self) -> PathBuf {
        self.extension_directory.clone().unwrap_or_else(|| self.data_dir.join("extensions"))
    }

    /// The admin socket: `admin_socket`, else `<data_dir>/mallard.sock`.
    pub fn admin_path(&self) -> PathBuf {
        self.admin_socket.clone().unwrap_or_else(|| self.data_dir.join("mallard.sock"))
    }

    pub fn worker_count(&self) -> u32 {
        self.workers.unwrap_or_else(|| self.storage.default_workers(self.read_only))
    }

    /// What each worker is told: the resolved subset of this configuration.
    pub fn worker_config(&self) -> Result<WorkerConfig, ConfigError> {
        Ok(WorkerConfig {
            storage: self.storage,
            data_dir: self.data_dir.clone(),
            database: self.database.clone(),
            database_aliases: self.database_aliases.clone(),
            timezone: check_timezone(&self.timezone).map_err(ConfigError::Invalid)?,
            read_only: self.read_only,
            memory_limit: self.resolved_memory_limit()?,
            threads: self.threads,
            max_message_size: self.max_message_size,
            max_connections: self.max_connections,
            track_activities: self.track_activities,
            startup_timeout: self.startup_timeout,
            idle_session_timeout: self.idle_session_timeout,
            idle_in_transaction_session_timeout: self.idle_in_transaction_session_timeout,
            file_access: self.file_access,
            allowed_directories: self.allowed_directories.iter().map(|d| absolute(d)).collect(),
            extensions: self.extensions.clone(),
            extension_directory: Some(absolute(&self.extension_dir())),
            extension_statements: self.extension_statements,
            auth: self.auth_settings()?,
            ducklake: self.ducklake.clone(),
            tls: self.tls.as_ref().map(TlsConfig::settings).unwrap_or_default(),
        })
    }

    /// The checked `[auth]` section: every rule valid, the defaults (trust the unix
    /// socket and loopback only) when there are none, and a users file that parses
    /// whenever one is named or a rule needs passwords.
    pub fn auth_settings(&self) -> Result<AuthSettings, ConfigError> {
        let invalid = |m: String| ConfigError::Invalid(m);
        let auth = self.auth.clone().unwrap_or_default();
        let mut rules = Vec::with_capacity(auth.rules.len());
        for (i, table) in auth.rules.into_iter().enumerate() {
            let n = i + 1;
            let spec = RuleSpec::deserialize(toml::Value::Table(table))
                .map_err(|e| invalid(format!("auth rule {n}: {}", e.message())))?;
            let rule = Rule::try_from(spec).map_err(|e| invalid(format!("auth rule {n}: {e}")))?;
            if rule.method.needs_users() && auth.users_file.is_none() {
                return Err(invalid(format!(
                    "auth rule {n} uses method {} but `auth.users_file` is not set (create one with `mallard passwd USER`)",
                    rule.method
                )));
            }
            rules.push(rule);
        }
        if rules.is_empty() {
            rules = auth::rules::default_rules();
        }
        let users_file = match auth.users_file {
            None => None,
            Some(path) => {
                let path = std::path::absolute(&path).unwrap_or(path);
                Users::load(&path).map_err(|e| match std::error::Error::source(&e) {
                    Some(cause) => invalid(format!("{e}: {cause}")),
                    None => invalid(e.to_string()),
                })?;
                Some(path)
            }
        };
        Ok(AuthSettings { users_file, rules, superusers: auth.superusers })
    }

    /// Connections the supervisor takes at once: sessions and connections in startup.
    pub fn connection_cap(&self) -> usize {
        self.max_connections as usize + self.max_startup_connections.unwrap_or(self.max_connections) as usize
    }

    /// The session table's slots and the query bytes each keeps. Sessions beyond
    /// `max_connections` are refused, so twice that leaves room for a reload that
    /// raises it; the memory is only touched where sessions write.
    pub fn session_table(&self) -> (usize, usize) {
        ((self.max_connections as usize * 2).max(1024), self.track_activity_query_size)
    }

    /// `auto` is 75% of RAM shared among the workers: DuckDB would otherwise let each
    /// of N workers claim 80% of RAM.
    fn resolved_memory_limit(&self) -> Result<Option<String>, ConfigError> {
        if self.memory_limit != "auto" {
            return Ok(Some(self.memory_limit.clone()));
        }
        let Some(total_kib) = mem_total_kib() else { return Ok(None) };
        let per_worker_mib = total_kib * 3 / 4 / 1024 / u64::from(self.worker_count());
        Ok(Some(format!("{}MiB", per_worker_mib.max(64))))
    }
}

fn mem_total_kib() -> Option<u64> {
    let meminfo = std::fs::read_to_string("/proc/meminfo").ok()?;
    let line = meminfo.lines().find(|l| l.starts_with("MemTotal:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

fn read_table(path: &Path) -> Result<toml::Table, ConfigError> {
    let text = std::fs::read_to_string(path)
        .map_err(|source| ConfigError::Read { path: path.display().to_string(), source })?;
    text.parse::<toml::Table>()
        .map_err(|e| ConfigError::Parse { origin: path.display().to_string(), message: e.to_string() })
}

/// The top-level keys of [`Config`]: `MALLARD_` variables naming anything else belong to
/// other tools (test runners, scripts) and are left alone.
const CONFIG_KEYS: &[&str] = &[
    "listen",
    "socket_dir",
    "workers",
    "storage",
    "data_dir",
    "database",
    "database_aliases",
    "timezone",
    "read_only",
    "memory_limit",
    "threads",
    "max_connections",
    "max_startup_connections",
    "track_activity_query_size",
    "track_activities",
    "drain_timeout",
    "shutdown_timeout",
    "health_timeout",
    "startup_timeout",
    "max_message_size",
    "idle_session_timeout",
    "idle_in_transaction_session_timeout",
    "file_access",
    "allowed_directories",
    "admin_socket",
    "metrics_listen",
    "user",
    "group",
    "log_format",
    "log_level",
    "extensions",
    "extension_directory",
    "extension_statements",
    "tls",
    "auth",
    "ducklake",
];

/// `MALLARD_WORKERS=4` sets `workers`; `MALLARD_TLS__SSL=off` sets `tls.ssl`. Values are
/// read as TOML where they parse (numbers, booleans, arrays) and as strings otherwise;
/// `MALLARD_LISTEN` also takes a comma-separated list.
fn apply_env(table: &mut toml::Table, env: &BTreeMap<String, String>) -> Result<(), ConfigError> {
    for (name, raw) in env {
        let Some(key) = name.strip_prefix(ENV_PREFIX) else { continue };
        let path: Vec<String> = key.to_ascii_lowercase().split("__").map(str::to_owned).collect();
        if !CONFIG_KEYS.contains(&path[0].as_str()) {
            continue;
        }
        let value = match toml::from_str::<toml::Table>(&format!("v = {raw}")) {
            Ok(mut t) => t.remove("v").expect("parsed key"),
            Err(_) if path == ["listen"] => {
                toml::Value::Array(raw.split(',').map(|s| toml::Value::String(s.trim().to_owned())).collect())
            }
            Err(_) => toml::Value::String(raw.clone()),
        };
        let value = match (path.as_slice(), value) {
            ([k], toml::Value::String(s)) if k == "listen" => {
                toml::Value::Array(vec![toml::Value::String(s)])
            }
            (_, v) => v,
        };
        let (last, parents) = path.split_last().expect("split yields at least one part");
        let mut node = &mut *table;
        for p in parents {
            node = node
                .entry(p.clone())
                .or_insert_with(|| toml::Value::Table(toml::Table::new()))
                .as_table_mut()
                .ok_or_else(|| ConfigError::Invalid(format!("{name}: `{p}` is not a section")))?;
        }
        node.insert(last.clone(), value);
    }
    Ok(())
}

/// Durations as `"500ms"`, `"60s"`, `"5m"`, `"1h"`, or a number of seconds.
mod duration {
    use std::time::Duration;

    use serde::{de::Error, Deserialize, Deserializer};

    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Raw {
        Seconds(u64),
        Text(String),
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
        match Raw::deserialize(d)? {
            Raw::Seconds(s) => Ok(Duration::from_secs(s)),
            Raw::Text(t) => {
                parse(&t).ok_or_else(|| D::Error::custom(format!("invalid duration {t:?} (try \"30s\")")))
            }
        }
    }

    pub fn parse(t: &str) -> Option<Duration> {
        let t = t.trim();
        let split = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
        let (n, unit) = t.split_at(split);
        let n: u64 = n.parse().ok()?;
        Some(match unit.trim() {
            "ms" => Duration::from_millis(n),
            "" | "s" => Duration::from_secs(n),
            "m" | "min" => Duration::from_secs(n * 60),
            "h" => Duration::from_secs(n * 3600),
            _ => return None,
        })
    }
}

/// `path` made absolute against the current directory, as workers need it.
fn absolute(path: &Path) -> PathBuf {
    std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load(toml: &str, env: &[(&str, &str)], o: Overrides) -> Result<Config, ConfigError> {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("mallard.toml");
        std::fs::write(&path, toml).unwrap();
        let env = env.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        Config::load_from(Some(&path), &env, &o)
    }

    #[test]
    fn flags_override_env_override_file() {
        let c = load(
            "workers = 2\nstorage = \"memory\"\ndrain_timeout = \"5s\"",
            &[("MALLARD_WORKERS", "3")],
            Overrides::default(),
        )
        .unwrap();
        assert_eq!((c.workers, c.drain_timeout), (Some(3), Duration::from_secs(5)));
        let c = load(
            "workers = 2\nstorage = \"memory\"",
            &[("MALLARD_WORKERS", "3")],
            Overrides { workers: Some(4), ..Default::default() },
        )
        .unwrap();
        assert_eq!(c.workers, Some(4));
    }

    #[test]
    fn env_sets_lists_and_sections() {
        let c = load(
            "",
            &[("MALLARD_LISTEN", "127.0.0.1:1,127.0.0.1:2"), ("MALLARD_TLS__SSL", "off")],
            Overrides::default(),
        )
        .unwrap();
        assert_eq!(c.listen.len(), 2);
        assert_eq!(c.tls.unwrap().ssl, SslMode::Off);
    }

    #[test]
    fn duckdb_read_write_with_many_workers_is_refused_with_a_reason() {
        let err = load("workers = 4", &[], Overrides::default()).unwrap_err().to_string();
        assert!(err.contains("exactly 1 worker") && err.contains("read_only"), "{err}");
        assert!(load("workers = 4\nread_only = true", &[], Overrides::default()).is_ok());
    }

    #[test]
    fn storage_modes_decide_the_default_workers_and_what_is_refused() {
        let c = load("", &[], Overrides::default()).unwrap();
        assert_eq!(c.worker_count(), 1);
        let c = load("read_only = true", &[], Overrides::default()).unwrap();
        assert_eq!(c.worker_count(), Storage::Memory.default_workers(false));
        let err = load("storage = \"ducklake\"", &[], Overrides::default()).unwrap_err().to_string();
        assert_eq!(
            err,
            "invalid configuration: storage = \"ducklake\" needs a [ducklake] section with `catalog` and `data_path`"
        );
        let lake = "storage = \"ducklake\"\n[ducklake]\ncatalog = \"postgres:host=db1 dbname=lake\"\ndata_path = \"/srv/lake/\"";
        let c = load(lake, &[], Overrides::default()).unwrap();
        assert_eq!(c.worker_count(), Storage::Memory.default_workers(false), "a pool of writers");
        let worker = c.worker_config().unwrap();
        assert_eq!(worker.extensions_to_load(), ["postgres_scanner", "ducklake"]);
        assert!(worker.extension_directory.unwrap().ends_with("mallard-data/extensions"));
        // Environment variables reach the section's keys.
        let c = load(lake, &[("MALLARD_DUCKLAKE__DATA_PATH", "s3://bucket/lake/")], Overrides::default())
            .unwrap();
        assert_eq!(c.ducklake.unwrap().data_path, "s3://bucket/lake/");
        let err = load("workers = 0", &[], Overrides::default()).unwrap_err().to_string();
        assert_eq!(err, "invalid configuration: `workers` must be at least 1");
    }

    #[test]
    fn unknown_keys_and_bad_values_are_errors() {
        assert!(load("wokers = 4", &[], Overrides::default()).is_err());
        assert!(load("drain_timeout = \"soon\"", &[], Overrides::default()).is_err());
        // Variables that name no setting belong to other tools.
        assert!(load("", &[("MALLARD_PYTHON", "/usr/bin/python3")], Overrides::default()).is_ok());
        assert!(load("", &[("MALLARD_TLS__NOPE", "1")], Overrides::default()).is_err());
        assert!(load("nope = 1", &[], Overrides::default()).is_err());
    }

    #[test]
    fn auth_rules_are_checked_and_default_to_loopback_trust() {
        let c = load("", &[], Overrides::default()).unwrap();
        assert_eq!(c.worker_config().unwrap().auth.rules, auth::rules::default_rules());
        let err = load(
            "[auth]\nrules = [\n{ type = 'local', database = 'all', user = 'all', method = 'trust' },\n\
             { type = 'host', database = 'all', user = 'all', address = 'all', method = 'md5' }]",
            &[],
            Overrides::default(),
        )
        .unwrap_err()
        .to_string();
        assert!(err.contains("auth rule 2") && err.contains("md5"), "{err}");
        let err = load(
            "[auth]\nrules = [{ type = 'local', database = 'all', user = 'all', method = 'scram-sha-256' }]",
            &[],
            Overrides::default(),
        )
        .unwrap_err()
        .to_string();
        assert!(err.contains("users_file"), "{err}");
        let err = load("[auth]\nusers_file = '/nonexistent/users'", &[], Overrides::default())
            .unwrap_err()
            .to_string();
        assert!(err.contains("/nonexistent/users"), "{err}");
    }

    #[test]
    fn the_worker_gets_the_rules_and_an_absolute_users_file() {
        let dir = tempfile::tempdir().unwrap();
        let users = dir.path().join("users");
        let line = format!("alice:{}\n", mallard_worker::auth::Verifier::generate("pw").to_text());
        std::fs::write(&users, line).unwrap();
        let c = load(
            &format!(
                "[auth]\nusers_file = '{}'\nrules = [{{ type = 'local', database = 'all', user = 'alice', method = 'password' }}]",
                users.display()
            ),
            &[],
            Overrides::default(),
        )
        .unwrap();
        let auth = c.worker_config().unwrap().auth;
        assert_eq!(auth.rules.len(), 1);
        assert_eq!(auth.rules[0].method, auth::Method::Password);
        assert!(auth.users_file.unwrap().is_absolute());
        // What the worker gets travels as TOML.
        let text = toml::to_string(&c.worker_config().unwrap()).unwrap();
        let back: WorkerConfig = toml::from_str(&text).unwrap();
        assert_eq!(back.auth, c.worker_config().unwrap().auth);
    }

    #[test]
    fn tls_needs_loadable_files_unless_off() {
        let err = |toml: &str| {
            format!("{:#}", anyhow::Error::from(load(toml, &[], Overrides::default()).unwrap_err()))
        };
        assert!(load("[tls]\nssl = \"off\"\ncert = \"/nonexistent\"", &[], Overrides::default()).is_ok());
        let e = err("[tls]\nssl = \"require\"");
        assert!(e.contains("tls.ssl = \"require\" needs tls.cert"), "{e}");
        let e = err(
            "[tls]\nssl = \"allow\"\ncert = \"/nonexistent/server.crt\"\nkey = \"/nonexistent/server.key\"",
        );
        assert!(e.contains("could not read the certificate file /nonexistent/server.crt"), "{e}");
        let e = err("[tls]\nssl = \"on\"");
        assert!(e.contains("unknown variant `on`"), "{e}");
    }

    #[test]
    fn env_keys_are_the_config_keys() {
        for key in CONFIG_KEYS {
            let err = load(&format!("{key} = []"), &[], Overrides::default()).err().map(|e| e.to_string());
            assert!(!err.unwrap_or_default().contains("unknown field"), "{key} is not a Config field");
        }
        let err = load("not_a_key = []", &[], Overrides::default()).unwrap_err().to_string();
        assert!(err.contains("unknown field"), "{err}");
    }
}
