//! The storage policy, as the supervisor asks it, and what each mode opens.

use std::path::PathBuf;
use std::time::Duration;

use super::*;
use crate::config::WorkerConfig;

#[test]
fn only_duckdb_read_write_is_an_exclusive_writer() {
    assert!(Storage::Duckdb.exclusive_writer(false));
    assert!(!Storage::Duckdb.exclusive_writer(true));
    assert!(!Storage::Memory.exclusive_writer(false));
    assert!(!Storage::Ducklake.exclusive_writer(false));
}

#[test]
fn a_reload_hands_the_file_over_only_for_an_exclusive_writer() {
    assert!(Storage::Duckdb.hands_over_file(false));
    assert!(!Storage::Duckdb.hands_over_file(true));
    assert!(!Storage::Memory.hands_over_file(false));
    assert!(!Storage::Memory.hands_over_file(true));
}

#[test]
fn default_workers_is_one_for_an_exclusive_writer_else_the_cores() {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get() as u32);
    assert_eq!(Storage::Duckdb.default_workers(false), 1);
    assert_eq!(Storage::Duckdb.default_workers(true), cores);
    assert_eq!(Storage::Memory.default_workers(false), cores);
}

#[test]
fn validation_refuses_what_a_mode_cannot_serve_and_says_why() {
    assert_eq!(Storage::Memory.validate(false, Some(0), None), Err(PolicyError::NoWorkers));
    assert_eq!(Storage::Duckdb.validate(false, Some(4), None), Err(PolicyError::ExclusiveWriter(4)));
    let text = PolicyError::ExclusiveWriter(4).to_string();
    assert!(
        text.starts_with("storage = \"duckdb\" (read-write) allows exactly 1 worker, but workers = 4:"),
        "{text}"
    );
    assert!(text.contains("read_only = true") && text.contains("storage = \"memory\""), "{text}");
    for ok in [
        Storage::Duckdb.validate(false, None, None),
        Storage::Duckdb.validate(false, Some(1), None),
        Storage::Duckdb.validate(true, Some(8), None),
        Storage::Memory.validate(false, Some(8), None),
        Storage::Memory.validate(true, None, None),
    ] {
        assert_eq!(ok, Ok(()));
    }
    // The worker count is checked first: its error is the one to fix first.
    assert_eq!(Storage::Ducklake.validate(false, Some(0), None), Err(PolicyError::NoWorkers));
    // A lake without its section, or with a catalog that takes one writer, is refused.
    assert_eq!(Storage::Ducklake.validate(false, Some(3), None), Err(PolicyError::NoLake));
    let mut lake = LakeSettings::new("postgres:host=db1 dbname=lake", "/srv/lake/");
    assert_eq!(Storage::Ducklake.validate(false, Some(3), Some(&lake)), Ok(()));
    lake.catalog = "sqlite:/srv/lake.sqlite".into();
    let refused = Storage::Ducklake.validate(false, Some(3), Some(&lake)).unwrap_err().to_string();
    assert!(refused.contains("one writer at a time"), "{refused}");
}

#[test]
fn modes_travel_by_their_config_names_and_unknown_ones_are_refused() {
    #[derive(serde::Deserialize)]
    struct T {
        storage: Storage,
    }
    for mode in [Storage::Duckdb, Storage::Memory, Storage::Ducklake] {
        let back: T = toml::from_str(&format!("storage = \"{mode}\"")).unwrap();
        assert_eq!(back.storage, mode);
    }
    assert!(toml::from_str::<T>("storage = \"postgres\"").is_err());
}

fn config(storage: Storage, data_dir: PathBuf, read_only: bool) -> WorkerConfig {
    WorkerConfig {
        storage,
        data_dir,
        database: "lake house".into(),
        database_aliases: Vec::new(),
        timezone: "UTC".into(),
        read_only,
        memory_limit: None,
        threads: 1,
        max_message_size: 1 << 20,
        max_connections: 100,
        track_activities: true,
        startup_timeout: Duration::from_secs(60),
        idle_session_timeout: Duration::ZERO,
        idle_in_transaction_session_timeout: Duration::ZERO,
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

fn count(db: &Arc<Database>, sql: &str) -> Option<u64> {
    let conn = Connection::connect(db).unwrap();
    conn.prepare(sql).unwrap().execute().unwrap().single_count()
}

#[test]
fn ducklake_without_its_section_is_refused_rather_than_opened_in_memory() {
    let dir = tempfile_dir("ducklake");
    let err = open(&config(Storage::Ducklake, dir.clone(), false)).err().expect("refused");
    assert!(matches!(err, StorageError::Refused(PolicyError::NoLake)), "{err}");
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn duckdb_mode_opens_the_file_and_memory_mode_does_not() {
    let dir = tempfile_dir("duckdb");
    let db = open(&config(Storage::Duckdb, dir.clone(), false)).unwrap().db;
    exec(&Connection::connect(&db).unwrap(), "CREATE TABLE \"lake house\".t AS SELECT 7::BIGINT AS n")
        .unwrap();
    drop(db);
    assert!(dir.join("mallard.duckdb").exists());
    let db = open(&config(Storage::Duckdb, dir.clone(), true)).unwrap().db;
    assert_eq!(count(&db, "SELECT n FROM \"lake house\".t"), Some(7));
    drop(db);

    let memory = tempfile_dir("memory");
    let db = open(&config(Storage::Memory, memory.clone(), false)).unwrap().db;
    exec(&Connection::connect(&db).unwrap(), "CREATE TABLE \"lake house\".t AS SELECT 1 AS n").unwrap();
    assert!(!memory.join("mallard.duckdb").exists());
    drop(db);
    for d in [dir, memory] {
        let _ = std::fs::remove_dir_all(d);
    }
}

/// A fresh directory under the system temp dir (the worker crate has no tempfile).
fn tempfile_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("mallard-storage-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}
