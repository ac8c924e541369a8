//! Opening the worker's DuckDB database for its storage mode, and preparing each
//! session's connection.
//!
//! The database is opened as an in-memory anchor with the real database attached under
//! the configured name, so that `current_database()` answers what clients connected to
//! in every mode, and DuckLake can attach the same way later.

use std::path::Path;
use std::sync::Arc;

use crate::config::{FileAccess, Storage, WorkerConfig};
use crate::duck::{Connection, Database, DuckError};
use crate::server::WorkerError;

pub fn open(config: &WorkerConfig) -> Result<Arc<Database>, WorkerError> {
    let temp = config.data_dir.join("tmp").join(format!("worker-{}", std::process::id()));
    for dir in [&config.data_dir, &temp] {
        std::fs::create_dir_all(dir)
            .map_err(|source| WorkerError::DataDir { path: dir.display().to_string(), source })?;
    }
    let mut options = vec![
        ("temp_directory", temp.display().to_string()),
        // Extensions we need are compiled in; never reach for the network.
        ("autoinstall_known_extensions", "false".to_owned()),
    ];
    if let Some(limit) = &config.memory_limit {
        options.push(("memory_limit", limit.clone()));
    }
    if config.threads > 0 {
        options.push(("threads", config.threads.to_string()));
    }
    let db = Arc::new(Database::open(":memory:", &options).map_err(WorkerError::Database)?);
    let conn = Connection::connect(&db).map_err(WorkerError::Database)?;
    let target = match config.storage {
        Storage::Duckdb => quote_literal(&config.database_file()),
        Storage::Memory | Storage::Ducklake => "':memory:'".to_owned(),
    };
    let mode = if config.read_only && config.storage == Storage::Duckdb { " (READ_ONLY)" } else { "" };
    exec(&conn, &format!("ATTACH {target} AS {}{mode}", quote_ident(&config.database)))
        .map_err(WorkerError::Database)?;
    if config.file_access == FileAccess::DataDir {
        confine_files(&conn, config).map_err(WorkerError::Database)?;
    }
    Ok(db)
}

/// From here on SQL reads and writes files only under the data directory and the
/// configured `allowed_directories`: not the TLS key, the users file or anything else
/// the server's OS user can reach. DuckDB cannot turn this back on at runtime.
fn confine_files(conn: &Connection, config: &WorkerConfig) -> Result<(), DuckError> {
    let mut dirs = vec![std::path::absolute(&config.data_dir).unwrap_or_else(|_| config.data_dir.clone())];
    dirs.extend(config.allowed_directories.iter().cloned());
    // A trailing slash: `/srv/data` must not also allow `/srv/data-private`.
    let list: Vec<String> = dirs.iter().map(|d| quote_literal(&d.join(""))).collect();
    exec(conn, &format!("SET allowed_directories = [{}]", list.join(", ")))?;
    exec(conn, "SET enable_external_access = false")
}

/// Makes a new session connection look like PostgreSQL: the configured database is the
/// current one, `pg_backend_pid()` names this worker, and integers divide as integers.
pub fn prepare_session(conn: &Connection, config: &WorkerConfig, pid: u32) -> Result<(), DuckError> {
    exec(conn, &format!("USE {}", quote_ident(&config.database)))?;
    exec(conn, &format!("CREATE OR REPLACE TEMP MACRO pg_backend_pid() AS CAST({pid} AS INTEGER)"))?;
    // PostgreSQL's quoting functions, which drivers use to inline values (asyncpg's
    // copy_from_query).
    exec(
        conn,
        r#"CREATE OR REPLACE TEMP MACRO quote_literal(s) AS '''' || replace(CAST(s AS VARCHAR), '''', '''''') || ''''"#,
    )?;
    exec(
        conn,
        r#"CREATE OR REPLACE TEMP MACRO quote_ident(s) AS '"' || replace(CAST(s AS VARCHAR), '"', '""') || '"'"#,
    )?;
    // `/` of two integers is integer division in PostgreSQL (7 / 2 = 3); DuckDB's
    // default divides as floats.
    exec(conn, "SET integer_division = true")?;
    Ok(())
}

pub fn exec(conn: &Connection, sql: &str) -> Result<(), DuckError> {
    let stmt = conn.prepare(sql)?;
    let mut result = stmt.execute()?;
    while result.next_chunk()?.is_some() {}
    Ok(())
}

fn quote_literal(path: &Path) -> String {
    format!("'{}'", path.display().to_string().replace('\'', "''"))
}

pub fn quote_ident(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// Opens an in-memory database and runs a query: `mallard check` uses it to prove this
/// binary's DuckDB works.
pub fn self_test() -> Result<(), DuckError> {
    let db = Arc::new(Database::open(":memory:", &[("autoinstall_known_extensions", "false".to_owned())])?);
    let conn = Connection::connect(&db)?;
    exec(&conn, "SELECT 42")
}
