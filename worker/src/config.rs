//! What a worker needs to know, resolved by the supervisor (which reads the config
//! file, environment and flags) and sent to the worker on its stdin as TOML.

use std::path::PathBuf;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::auth::AuthSettings;
pub use crate::storage::Storage;
use crate::tls::TlsSettings;

/// What SQL may do with files: DuckDB's `read_csv`, `COPY ... TO 'file'`, `ATTACH` and
/// the like run as the server's OS user, who can read its own TLS key and users file.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FileAccess {
    /// Only the data directory and `allowed_directories`.
    #[default]
    DataDir,
    /// Whatever the OS user may reach: DuckDB's own default.
    All,
}

/// A worker's resolved configuration.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct WorkerConfig {
    pub storage: Storage,
    pub data_dir: PathBuf,
    /// The one database clients are served.
    pub database: String,
    /// Other names that reach it (`postgres`, PostgreSQL's maintenance database).
    #[serde(default)]
    pub database_aliases: Vec<String>,
    /// The sessions' `TimeZone` unless the client sets one (config `timezone`).
    #[serde(default = "utc")]
    pub timezone: String,
    pub read_only: bool,
    /// DuckDB `memory_limit` for this worker, e.g. `"4096MiB"`.
    pub memory_limit: Option<String>,
    /// DuckDB `threads`; 0 leaves DuckDB's default (the number of cores).
    pub threads: u32,
    /// The largest frontend message accepted after startup.
    pub max_message_size: usize,
    /// Sessions the whole server admits at once, counted in the session table.
    #[serde(default = "default_max_connections")]
    pub max_connections: u32,
    /// Keep each session's state and statement in the session table (PostgreSQL's
    /// `track_activities`); off lists sessions as `disabled`.
    #[serde(default = "yes")]
    pub track_activities: bool,
    /// How long a client may take from connecting to finishing startup.
    #[serde(with = "millis")]
    pub startup_timeout: Duration,
    /// The default `idle_session_timeout`; zero is off.
    #[serde(default, with = "millis")]
    pub idle_session_timeout: Duration,
    /// The default `idle_in_transaction_session_timeout`; zero is off.
    #[serde(default, with = "millis")]
    pub idle_in_transaction_session_timeout: Duration,
    /// Which files SQL may read and write.
    #[serde(default)]
    pub file_access: FileAccess,
    /// Directories SQL may use besides the data directory, under `file_access = "data_dir"`.
    #[serde(default)]
    pub allowed_directories: Vec<PathBuf>,
    /// DuckDB extensions every worker loads at start, by name, from
    /// `extension_directory` (`ducklake` mode adds `ducklake` and `postgres_scanner`).
    #[serde(default)]
    pub extensions: Vec<String>,
    /// DuckDB's extension directory: `<dir>/v1.5.5/linux_amd64/<name>.duckdb_extension`.
    pub extension_directory: Option<PathBuf>,
    /// Whether SQL may `INSTALL` and `LOAD` extensions: off, a client must not load
    /// code into a worker.
    #[serde(default)]
    pub extension_statements: bool,
    /// Access rules and the users file.
    pub auth: AuthSettings,
    /// `[ducklake]`, in `ducklake` mode.
    #[serde(default)]
    pub ducklake: Option<crate::storage::LakeSettings>,
    /// `[tls]`: the worker loads the files itself, so a new generation reads new ones.
    /// Last, as TOML wants tables after plain values.
    #[serde(default)]
    pub tls: TlsSettings,
}

fn yes() -> bool {
    true
}

fn default_max_connections() -> u32 {
    100
}

impl WorkerConfig {
    /// The extensions a worker loads at start: the storage mode's, then the configured
    /// ones, each once (`postgres` is DuckDB's alias of `postgres_scanner`).
    pub fn extensions_to_load(&self) -> Vec<String> {
        let mut names: Vec<String> = Vec::new();
        // An `s3://` lake reads its files through httpfs.
        let s3 = self.ducklake.as_ref().filter(|l| self.storage == Storage::Ducklake && l.in_s3());
        let configured = self.extensions.iter().map(|n| match n.trim().to_ascii_lowercase().as_str() {
            "postgres" => "postgres_scanner".to_owned(),
            other => other.to_owned(),
        });
        let listed = (self.storage.extensions().iter().map(|n| n.to_string()))
            .chain(s3.map(|_| "httpfs".to_owned()))
            .chain(configured);
        for name in listed {
            if !names.contains(&name) {
                names.push(name);
            }
        }
        names
    }

    /// The database file of `duckdb` mode.
    pub fn database_file(&self) -> PathBuf {
        self.data_dir.join("mallard.duckdb")
    }

    /// Session settings whose defaults the configuration sets, as startup parameters
    /// (PostgreSQL's `postgresql.conf` values): the ones set to something other than off.
    pub fn setting_defaults(&self) -> Vec<(String, String)> {
        let timezone = ("TimeZone".to_owned(), self.timezone.clone());
        let timeouts = [
            ("idle_session_timeout", self.idle_session_timeout),
            ("idle_in_transaction_session_timeout", self.idle_in_transaction_session_timeout),
        ]
        .into_iter()
        .filter(|(_, d)| !d.is_zero())
        // Whole milliseconds, as the settings take them; never round a timeout down to off.
        .map(|(name, d)| (name.to_owned(), d.as_millis().max(1).to_string()));
        std::iter::once(timezone).chain(timeouts).collect()
    }
}

fn utc() -> String {
    "UTC".into()
}

mod millis {
    use std::time::Duration;

    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_u64(d.as_millis() as u64)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
        Ok(Duration::from_millis(u64::deserialize(d)?))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(idle: Duration, idle_in_transaction: Duration) -> WorkerConfig {
        WorkerConfig {
            storage: Storage::Memory,
            data_dir: PathBuf::from("data"),
            database: "mallard".into(),
            database_aliases: Vec::new(),
            timezone: utc(),
            read_only: false,
            memory_limit: None,
            threads: 0,
            max_message_size: 1 << 20,
            max_connections: 100,
            track_activities: true,
            startup_timeout: Duration::from_secs(60),
            idle_session_timeout: idle,
            idle_in_transaction_session_timeout: idle_in_transaction,
            file_access: FileAccess::DataDir,
            allowed_directories: Vec::new(),
            extensions: Vec::new(),
            extension_directory: None,
            extension_statements: false,
            auth: crate::auth::AuthSettings::default(),
            ducklake: None,
            tls: Default::default(),
        }
    }

    #[test]
    fn the_zone_and_timeouts_that_are_on_become_setting_defaults() {
        let zone = ("TimeZone".to_owned(), "UTC".to_owned());
        assert_eq!(config(Duration::ZERO, Duration::ZERO).setting_defaults(), std::slice::from_ref(&zone));
        assert_eq!(
            config(Duration::from_secs(30), Duration::from_micros(10)).setting_defaults(),
            [
                zone,
                ("idle_session_timeout".to_owned(), "30000".to_owned()),
                ("idle_in_transaction_session_timeout".to_owned(), "1".to_owned()),
            ]
        );
    }
}
