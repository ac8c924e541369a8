//! Storage modes (`storage = ...`): what a worker opens, and the policy both processes
//! ask of a mode. The supervisor validates a configuration, picks the default number of
//! workers and decides whether a reload hands the database file over by calling the
//! methods of [`Storage`]; the worker opens its database with [`open`]. See the storage
//! table in the design.
//!
//! Every mode opens an in-memory anchor with the real database attached under the
//! configured name, so that `current_database()` answers what clients connected to in
//! every mode, and DuckLake can attach the same way later.

mod duckdb;
mod ducklake;
mod memory;

use std::fmt;
use std::path::PathBuf;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::config::{FileAccess, WorkerConfig};
use crate::duck::{exec, quote_ident, quote_literal, Connection, Database, DuckError};
pub use ducklake::{CommitLock, CommitToken, LakeError, LakeSettings};

/// Where the data lives.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Storage {
    /// `<data_dir>/mallard.duckdb`, one read-write worker (or N with `read_only`).
    Duckdb,
    /// A private in-memory database per worker.
    Memory,
    /// In-memory anchor + an attached DuckLake catalog.
    Ducklake,
}

/// A configuration a storage mode cannot serve. The messages are the configuration
/// errors `mallard check` prints: each says why and what to use instead.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PolicyError {
    #[error("`workers` must be at least 1")]
    NoWorkers,
    #[error(
        "storage = \"duckdb\" (read-write) allows exactly 1 worker, but workers = {0}: DuckDB lets only one \
         process open a database file for writing. Use workers = 1, or read_only = true to serve the file \
         from many workers, or storage = \"memory\" or \"ducklake\" for a pool of writers"
    )]
    ExclusiveWriter(u32),
    #[error("storage = \"ducklake\" needs a [ducklake] section with `catalog` and `data_path`")]
    NoLake,
    #[error("{0}")]
    Lake(String),
}

/// Why a worker could not open its database.
#[derive(Debug, thiserror::Error)]
pub enum StorageError {
    #[error("could not open the database")]
    Database(#[source] DuckError),
    #[error("could not prepare the data directory {path}")]
    DataDir {
        path: String,
        #[source]
        source: std::io::Error,
    },
    /// A mode this worker cannot open: never a silent in-memory database instead.
    #[error(transparent)]
    Refused(#[from] PolicyError),
    #[error(transparent)]
    Lake(LakeError),
    #[error("could not load the extension {name:?} from {directory} (install DuckDB v1.5.5's linux_amd64 build of it there)")]
    Extension {
        name: String,
        directory: String,
        #[source]
        source: Box<DuckError>,
    },
}

impl Storage {
    pub fn as_str(self) -> &'static str {
        match self {
            Storage::Duckdb => "duckdb",
            Storage::Memory => "memory",
            Storage::Ducklake => "ducklake",
        }
    }

    /// Whether only one process at a time may open the data, and only one worker may
    /// serve it: DuckDB lets exactly one process open a database file read-write.
    pub fn exclusive_writer(self, read_only: bool) -> bool {
        self == Storage::Duckdb && !read_only
    }

    /// The number of workers when `workers` is not set: 1 for an exclusive writer, else
    /// the number of cores.
    pub fn default_workers(self, read_only: bool) -> u32 {
        if self.exclusive_writer(read_only) {
            1
        } else {
            std::thread::available_parallelism().map_or(1, |n| n.get() as u32)
        }
    }

    /// Whether a reload must let the old generation close the data before the new one
    /// opens it (new clients wait in the supervisor meanwhile).
    pub fn hands_over_file(self, read_only: bool) -> bool {
        self.exclusive_writer(read_only)
    }

    /// Checks that this mode can serve `workers` (`None`: the default) workers, with
    /// the `[ducklake]` section it was given.
    pub fn validate(
        self,
        read_only: bool,
        workers: Option<u32>,
        lake: Option<&LakeSettings>,
    ) -> Result<(), PolicyError> {
        if workers == Some(0) {
            return Err(PolicyError::NoWorkers);
        }
        if let Some(n) = workers.filter(|&n| n > 1 && self.exclusive_writer(read_only)) {
            return Err(PolicyError::ExclusiveWriter(n));
        }
        match (self, lake) {
            (Storage::Ducklake, None) => Err(PolicyError::NoLake),
            (Storage::Ducklake, Some(lake)) => lake.validate().map_err(PolicyError::Lake),
            _ => Ok(()),
        }
    }

    /// The extensions this mode needs loaded.
    pub fn extensions(self) -> &'static [&'static str] {
        match self {
            Storage::Ducklake => &["postgres_scanner", "ducklake"],
            Storage::Duckdb | Storage::Memory => &[],
        }
    }
}

impl fmt::Display for Storage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A worker's open storage: the database, and in `ducklake` mode the lake's commit lock.
pub struct Opened {
    pub db: Arc<Database>,
    pub lake: Option<CommitLock>,
}

/// Opens the worker's database for its storage mode: the anchor with DuckDB's resource
/// settings and the configured extensions, the mode's database attached under the
/// configured name, and SQL's file access confined unless the configuration allows all.
pub fn open(config: &WorkerConfig) -> Result<Opened, StorageError> {
    config.storage.validate(config.read_only, None, config.ducklake.as_ref())?;
    let temp = config.data_dir.join("tmp").join(format!("worker-{}", std::process::id()));
    for dir in [&config.data_dir, &temp] {
        std::fs::create_dir_all(dir)
            .map_err(|source| StorageError::DataDir { path: dir.display().to_string(), source })?;
    }
    let mut options = extension_options(config);
    options.extend([
        ("temp_directory", temp.display().to_string()),
        // DuckDB's background threads run a task in slices and look between them whether
        // they are to stop. By default a thread runs a task to its end, and when the
        // threads drop (`crate::threads`), DuckDB joins the ones that go at the end of
        // the next statement, under a lock the end of every statement takes: every
        // statement of the worker would then wait for a long query's task to finish.
        ("scheduler_process_partial", "true".to_owned()),
        // A bulk insert (COPY FROM, INSERT ... SELECT) writes each row group to the file
        // as it fills, instead of five at a time: the last five were compressed inside
        // COMMIT, one after another, while the session's parsing thread had nothing left
        // to do (a 600,000-row COPY's COMMIT took 0.61 s, now 0.15 s), and a load held
        // five row groups of uncompressed rows.
        ("write_buffer_row_group_count", "1".to_owned()),
    ]);
    if let Some(limit) = &config.memory_limit {
        options.push(("memory_limit", limit.clone()));
    }
    if config.threads > 0 {
        options.push(("threads", config.threads.to_string()));
    }
    let db = Arc::new(Database::open(":memory:", &options).map_err(StorageError::Database)?);
    let conn = Connection::connect(&db).map_err(StorageError::Database)?;
    load_extensions(&conn, config)?;
    let mut lake = None;
    match config.storage {
        Storage::Duckdb => duckdb::attach(&conn, config).map_err(StorageError::Database)?,
        Storage::Memory => memory::attach(&conn, config).map_err(StorageError::Database)?,
        Storage::Ducklake => {
            let settings = config.ducklake.as_ref().ok_or(PolicyError::NoLake)?;
            let lock = CommitLock::new(settings).map_err(StorageError::Lake)?;
            ducklake::attach(&conn, &config.database, settings, &lock)?;
            lake = Some(lock);
        }
    }
    // The catalog's views call these.
    crate::activity::functions::register(&conn).map_err(StorageError::Database)?;
    // The catalog's `pg_listening_channels()` calls these.
    crate::session::notify::function::register(&conn).map_err(StorageError::Database)?;
    crate::advisory::register(&conn).map_err(StorageError::Database)?;
    crate::session::settings::set_config::register(&conn).map_err(StorageError::Database)?;
    crate::catalog::register(&conn).map_err(StorageError::Database)?;
    // Last: pg_proc lists the registered functions too.
    crate::catalog::install(&conn).map_err(StorageError::Database)?;
    // `/` of two integers is integer division in PostgreSQL (7 / 2 = 3); DuckDB's
    // default divides as floats. Set once for every connection.
    exec(&conn, "SET GLOBAL integer_division = true").map_err(StorageError::Database)?;
    // Every connection starts in PostgreSQL's default time zone, so that a session that
    // keeps it sets none of its own (see `Settings::open_duckdb`).
    let zone = crate::session::settings::DUCKDB_TIMEZONE;
    exec(&conn, &format!("SET GLOBAL TimeZone = {}", quote_literal(zone))).map_err(StorageError::Database)?;
    if config.file_access == FileAccess::DataDir {
        confine_files(&conn, config).map_err(StorageError::Database)?;
    }
    Ok(Opened { db, lake })
}

/// Extensions load from the configured directory, named in the configuration: never
/// from the network, never because a statement happens to need one.
fn extension_options(config: &WorkerConfig) -> Vec<(&'static str, String)> {
    let mut options = vec![
        ("autoinstall_known_extensions", "false".to_owned()),
        ("autoload_known_extensions", "false".to_owned()),
    ];
    if let Some(dir) = &config.extension_directory {
        options.push(("extension_directory", dir.display().to_string()));
    }
    options
}

/// Loads the configured extensions, and the ones the storage mode needs, from the
/// extension directory.
fn load_extensions(conn: &Connection, config: &WorkerConfig) -> Result<(), StorageError> {
    for name in config.extensions_to_load() {
        exec(conn, &format!("LOAD {}", quote_ident(&name))).map_err(|source| StorageError::Extension {
            directory: config
                .extension_directory
                .as_ref()
                .map_or_else(|| "DuckDB's default directory".into(), |d| d.display().to_string()),
            name,
            source: Box::new(source),
        })?;
    }
    Ok(())
}

/// From here on SQL reads and writes files only under the data directory and the
/// configured `allowed_directories`: not the TLS key, the users file or anything else
/// the server's OS user can reach. DuckDB cannot turn this back on at runtime.
fn confine_files(conn: &Connection, config: &WorkerConfig) -> Result<(), DuckError> {
    let mut dirs: Vec<PathBuf> =
        vec![std::path::absolute(&config.data_dir).unwrap_or_else(|_| config.data_dir.clone())];
    dirs.extend(config.allowed_directories.iter().cloned());
    // The lake's own files.
    if let Some(lake) = &config.ducklake {
        match lake.local_data_path() {
            Some(dir) => dirs.push(std::path::absolute(dir).unwrap_or_else(|_| PathBuf::from(dir))),
            None => dirs.push(PathBuf::from(&lake.data_path)),
        }
    }
    // A trailing slash: `/srv/data` must not also allow `/srv/data-private`.
    let list: Vec<String> = dirs.iter().map(|d| quote_literal(&d.join("").display().to_string())).collect();
    exec(conn, &format!("SET allowed_directories = [{}]", list.join(", ")))?;
    exec(conn, "SET enable_external_access = false")
}

/// Opens an in-memory database, loads the extensions a worker would load and runs a
/// query: `mallard check` uses it to prove this binary's DuckDB works with them.
pub fn self_test(config: &WorkerConfig) -> Result<(), StorageError> {
    let db =
        Arc::new(Database::open(":memory:", &extension_options(config)).map_err(StorageError::Database)?);
    let conn = Connection::connect(&db).map_err(StorageError::Database)?;
    load_extensions(&conn, config)?;
    exec(&conn, "SELECT 42").map_err(StorageError::Database)
}

#[cfg(test)]
mod tests;
