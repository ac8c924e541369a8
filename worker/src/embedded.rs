//! DuckDB itself, in-process, through the same C API and build the worker uses: the
//! floor `benches/embedded.rs` measures mallard against (what a statement costs with no
//! protocol, no network and no session around it).

use std::sync::Arc;

use crate::duck::{self, Database, LogicalType, Value};

/// A database opened as the worker opens its file: in memory, with the file attached
/// as `bench` and current in every connection.
pub struct Embedded {
    db: Arc<Database>,
    attached: bool,
}

/// One connection and its prepared statements, for one thread.
pub struct Session(duck::Connection);

/// A statement prepared once and run many times.
pub struct Statement(duck::Prepared);

impl Embedded {
    /// Opens `path` (`None`: an empty in-memory database).
    pub fn open(path: Option<&str>) -> Result<Embedded, String> {
        let db = Arc::new(Database::open(":memory:", &[]).map_err(|e| e.to_string())?);
        if let Some(path) = path {
            let conn = duck::Connection::connect(&db).map_err(|e| e.to_string())?;
            duck::exec(&conn, &format!("ATTACH {} AS bench", duck::quote_literal(path)))
                .map_err(|e| e.to_string())?;
        }
        Ok(Embedded { db, attached: path.is_some() })
    }

    pub fn connect(&self) -> Result<Session, String> {
        let conn = duck::Connection::connect(&self.db).map_err(|e| e.to_string())?;
        if self.attached {
            duck::exec(&conn, "USE bench").map_err(|e| e.to_string())?;
        }
        Ok(Session(conn))
    }
}

impl Session {
    pub fn prepare(&self, sql: &str) -> Result<Statement, String> {
        self.0.prepare(sql).map(Statement).map_err(|e| e.to_string())
    }
}

impl Statement {
    /// Runs the statement with integer parameters, each bound as the type DuckDB
    /// expects for it, and reads every row; returns how many there were.
    pub fn run(&self, params: &[i64]) -> Result<u64, String> {
        for (i, &p) in params.iter().enumerate() {
            let value = match self.0.param_type(i) {
                Some(LogicalType::Integer) => Value::Integer(p as i32),
                Some(LogicalType::SmallInt) => Value::SmallInt(p as i16),
                _ => Value::BigInt(p),
            };
            self.0.bind(i, &value).map_err(|e| e.to_string())?;
        }
        let mut result = self.0.execute().map_err(|e| e.to_string())?;
        let mut rows = 0;
        while let Some(chunk) = result.next_chunk().map_err(|e| e.to_string())? {
            rows += chunk.len() as u64;
        }
        Ok(rows)
    }

    /// The first column of the first row, read as an integer (`count(*)`).
    pub fn first_integer(&self) -> Result<i64, String> {
        let mut result = self.0.execute().map_err(|e| e.to_string())?;
        let chunk = result.next_chunk().map_err(|e| e.to_string())?.ok_or("no rows")?;
        let column = chunk.vector(0);
        column.is_valid(0).then(|| column.values::<i64>()[0]).ok_or_else(|| "NULL".to_owned())
    }
}
