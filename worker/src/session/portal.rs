//! Prepared statements and portals, as both query protocols use them.
//!
//! A [`Statement`] is parsed and prepared in DuckDB once; a [`Portal`] is one execution
//! of it with bound values. A portal's rows stream out of DuckDB chunk by chunk and may
//! stop after any row (`Execute` with a row limit) to resume later. DuckDB allows one
//! live streaming result per connection, so before anything else runs, the session
//! parks a suspended portal: its remaining chunks are read into memory.

use std::cell::RefCell;
use std::collections::VecDeque;
use std::rc::Rc;

use mallard_protocol::pg::backend::{DataRowWriter, FieldDescription};
use mallard_protocol::pg::{Format, SqlState};

use super::StepError;
use crate::catalog::relations::Origin;
use crate::duck::{Chunk, Connection, DuckError, LogicalType, Parked, Prepared, QueryResult, Value};
use crate::encoding::Encoding;
use crate::sql::Command;
use crate::types::{encode_binary, encode_text, pg_type, TextStyle};

/// A result column.
#[derive(Debug, Clone, PartialEq)]
pub struct Column {
    pub name: String,
    pub ty: LogicalType,
    /// The table column it is, which `RowDescription` names with its declared type.
    pub origin: Option<Origin>,
}

impl Column {
    /// For a `character(n)` table column, `n`: its values are written padded to it.
    fn padded_length(&self) -> Option<usize> {
        self.origin
            .filter(|o| o.type_oid == crate::types::oid::BPCHAR && o.type_modifier >= 4)
            .map(|o| (o.type_modifier - 4) as usize)
    }

    pub fn new(name: String, ty: LogicalType) -> Column {
        Column { name, ty, origin: None }
    }
}

/// A parsed statement, named or unnamed.
pub struct Statement {
    /// The SQL as DuckDB runs it.
    pub sql: String,
    /// The SQL as the client sent it (`pg_stat_activity.query`).
    pub text: String,
    pub command: Command,
    pub kind: StatementKind,
}

pub enum StatementKind {
    /// An empty query string.
    Empty,
    /// Answered by the session itself: transaction control, settings, `DEALLOCATE`.
    Session,
    /// Answered without DuckDB, with this tag (`VACUUM`), after a warning if any.
    Answer(&'static str, Option<String>),
    /// Several DuckDB statements that one client statement became (`DROP TABLE a, b`).
    Script(Vec<String>),
    /// `DECLARE name CURSOR FOR <query>`: the query, prepared.
    Declare(Rc<Statement>),
    /// `FETCH`, `MOVE`, `CLOSE`.
    Cursor,
    /// `COPY ... FROM STDIN` / `TO STDOUT`, which the session runs with the client.
    Copy,
    Duck(DuckStatement),
}

/// A statement prepared in DuckDB; `P` is how it holds DuckDB's statement (parked
/// between sessions, see [`ParkedStatement`]).
pub struct DuckStatement<P = RefCell<Prepared>> {
    /// Planned again when the catalog's source changes under a statement that reads
    /// it (see [`super::catalog`]).
    pub prepared: P,
    /// For a statement that names the catalog, the source DuckDB planned it over.
    pub catalog: super::catalog::Planned,
    /// The parameter types reported in `ParameterDescription`.
    pub param_oids: Vec<u32>,
    /// The result columns, `None` where DuckDB decides them only once values are bound
    /// (`select a + $1`).
    pub columns: Option<Vec<Column>>,
    /// PostgreSQL's names for the result columns, where they differ from DuckDB's.
    pub names: Option<Vec<Option<String>>>,
    /// The table column each result column is, where the text and the catalog tell.
    pub origins: Option<Vec<Option<Origin>>>,
    pub returns_rows: bool,
}

impl<P> DuckStatement<P> {
    fn with_prepared<Q>(self, f: impl FnOnce(P) -> Option<Q>) -> Option<DuckStatement<Q>> {
        let DuckStatement { prepared, catalog, param_oids, columns, names, origins, returns_rows } = self;
        Some(DuckStatement {
            prepared: f(prepared)?,
            catalog,
            param_oids,
            columns,
            names,
            origins,
            returns_rows,
        })
    }
}

/// A statement DuckDB prepared, set aside with its connection at the end of a session
/// for the connection's next session (see `super::plans`).
pub struct ParkedStatement {
    sql: String,
    text: String,
    command: Command,
    duck: DuckStatement<Parked>,
}

impl Statement {
    /// This statement, parked; `None` unless DuckDB runs it and nothing else holds
    /// its DuckDB statement.
    pub fn park(self) -> Option<ParkedStatement> {
        let StatementKind::Duck(duck) = self.kind else { return None };
        let duck = duck.with_prepared(|p| p.into_inner().park())?;
        Some(ParkedStatement { sql: self.sql, text: self.text, command: self.command, duck })
    }

    /// A parked statement, taken up on `conn`; `None` if it was prepared on another.
    pub fn take_up(parked: ParkedStatement, conn: &Connection) -> Option<Statement> {
        let ParkedStatement { sql, text, command, duck } = parked;
        let duck = duck.with_prepared(|p| conn.take_up(p).map(RefCell::new))?;
        Some(Statement { sql, text, command, kind: StatementKind::Duck(duck) })
    }

    pub fn param_oids(&self) -> &[u32] {
        match &self.kind {
            StatementKind::Duck(d) => &d.param_oids,
            StatementKind::Declare(query) => query.param_oids(),
            _ => &[],
        }
    }
}

/// A statement bound to values, ready to run or part-way through its rows.
pub struct Portal {
    pub statement: Rc<Statement>,
    pub values: Vec<Value>,
    /// The formats from `Bind`: none (all text), one for all, or one per column.
    pub formats: Vec<Format>,
    pub state: PortalState,
    /// `DECLARE ... WITH HOLD` cursors outlive their transaction.
    pub holdable: bool,
}

pub enum PortalState {
    /// Bound, not yet executed.
    Ready,
    /// Executed; rows remain (or, for a cursor, may have ended).
    Open(Rows),
    /// Ran to completion.
    Done,
}

/// The rows of an executing portal: a live DuckDB result, or (once parked) the chunks
/// left of it.
pub struct Rows {
    pub columns: Vec<Column>,
    result: Option<QueryResult>,
    pending: VecDeque<Chunk>,
    /// The next row of `pending.front()`.
    row: usize,
}

impl Rows {
    pub fn new(result: QueryResult, columns: Vec<Column>) -> Rows {
        Rows { columns, result: Some(result), pending: VecDeque::new(), row: 0 }
    }

    pub fn is_live(&self) -> bool {
        self.result.is_some()
    }

    /// Reads what remains of the live result into memory, so another statement can run.
    pub fn park(&mut self) -> Result<(), DuckError> {
        if let Some(mut result) = self.result.take() {
            while let Some(chunk) = result.next_chunk()? {
                self.pending.push_back(chunk);
            }
        }
        Ok(())
    }

    /// Makes `pending.front()` the chunk holding the next row, fetching one if needed;
    /// false at the end.
    fn advance(&mut self) -> Result<bool, DuckError> {
        while self.pending.front().is_some_and(|c| self.row >= c.len()) {
            self.pending.pop_front();
            self.row = 0;
        }
        if self.pending.is_empty() {
            if let Some(result) = self.result.as_mut() {
                match result.next_chunk()? {
                    Some(chunk) => self.pending.push_back(chunk),
                    None => self.result = None,
                }
            }
        }
        Ok(!self.pending.is_empty())
    }

    /// Sends up to `limit` rows (all when `None`) as `DataRow`s, flushing between
    /// chunks. Returns how many were sent and whether the rows ended.
    pub fn send(
        &mut self,
        formats: &[Format],
        limit: Option<u64>,
        style: &TextStyle,
        out: &mut dyn RowSink,
    ) -> Result<(u64, bool), StepError> {
        let mut sent = 0u64;
        loop {
            if limit.is_some_and(|l| sent >= l) {
                return Ok((sent, false));
            }
            if out.interrupted() {
                return Err(StepError::query(SqlState::QUERY_CANCELED, "canceling statement"));
            }
            if !self.advance()? {
                return Ok((sent, true));
            }
            let (chunk, row) = (&self.pending[0], self.row);
            let take = match limit {
                Some(l) => ((l - sent) as usize).min(chunk.len() - row),
                None => chunk.len() - row,
            };
            let vectors: Vec<_> = (0..self.columns.len()).map(|c| chunk.vector(c)).collect();
            let padded: Vec<Option<usize>> = self.columns.iter().map(Column::padded_length).collect();
            let encoding = out.encoding();
            for r in row..row + take {
                let start = out.buffer().len();
                let mut untranslatable = None;
                let mut w = DataRowWriter::begin(out.buffer(), self.columns.len() as u16);
                for (i, (vector, column)) in vectors.iter().zip(&self.columns).enumerate() {
                    if !vector.is_valid(r) {
                        w.null();
                    } else if format_of(formats, i) == Format::Binary {
                        w.field(|out| {
                            let at = out.len();
                            encode_binary(&column.ty, vector, r, out, style);
                            pad(out, at, padded[i]);
                            // As PostgreSQL's `textsend`, binary text is in the client's encoding.
                            if let Some(e) = encoding.filter(|_| binary_is_text(&column.ty)) {
                                untranslatable = untranslatable.take().or(e.convert_tail(out, at).err());
                            }
                        });
                    } else {
                        w.field(|out| {
                            let at = out.len();
                            encode_text(&column.ty, vector, r, out, style);
                            pad(out, at, padded[i]);
                            if let Some(e) = encoding {
                                untranslatable = untranslatable.take().or(e.convert_tail(out, at).err());
                            }
                        });
                    }
                }
                w.finish();
                if let Some(e) = untranslatable {
                    out.buffer().truncate(start);
                    self.row = r;
                    return Err(e.into());
                }
            }
            sent += take as u64;
            self.row = row + take;
            out.flushed()?;
        }
    }
}

/// Pads the value written at `out[at..]` with spaces to `length` characters, as
/// PostgreSQL stores and writes `character(n)`.
fn pad(out: &mut Vec<u8>, at: usize, length: Option<usize>) {
    let Some(length) = length else { return };
    let chars = out[at..].iter().filter(|&&b| b & 0xC0 != 0x80).count();
    out.resize(out.len() + length.saturating_sub(chars), b' ');
}

/// Where rows go: the connection's output buffer, flushed when it fills.
pub trait RowSink {
    fn buffer(&mut self) -> &mut Vec<u8>;
    fn flushed(&mut self) -> std::io::Result<()>;
    /// Whether the statement was cancelled or timed out (checked between chunks).
    fn interrupted(&self) -> bool;
    /// The client's encoding, when text must be converted to it.
    fn encoding(&self) -> Option<&'static Encoding> {
        None
    }
}

/// Whether a type's binary form is its text, which PostgreSQL sends in the client's
/// encoding (`text`, `varchar`, `json`, enums).
fn binary_is_text(ty: &LogicalType) -> bool {
    matches!(ty, LogicalType::Varchar | LogicalType::Json | LogicalType::Jsonb | LogicalType::Enum { .. })
}

/// The format of column `i` given a `Bind` format list.
pub fn format_of(formats: &[Format], i: usize) -> Format {
    match formats {
        [] => Format::Text,
        [one] => *one,
        many => many.get(i).copied().unwrap_or(Format::Text),
    }
}

/// Checks a `Bind` result format list against the column count, as PostgreSQL does.
pub fn check_formats(formats: &[Format], columns: usize) -> Result<(), StepError> {
    if formats.len() > 1 && formats.len() != columns {
        return Err(StepError::query(
            SqlState::PROTOCOL_VIOLATION,
            format!("bind message has {} result formats but query has {columns} columns", formats.len()),
        ));
    }
    Ok(())
}

/// The `RowDescription` of `columns` sent in `formats`.
pub fn describe(columns: &[Column], formats: &[Format]) -> Vec<FieldDescription> {
    columns
        .iter()
        .enumerate()
        .map(|(i, c)| {
            let t = pg_type(&c.ty);
            // A table column's declared type differs from its result type only in a
            // length (varchar(n)), whose values are text on the wire in both formats,
            // or as jsonb, which `attribute` gave the column as its type.
            let (table_oid, column_attr, type_oid, type_modifier) = match c.origin {
                Some(o) => (o.table_oid, o.attnum, o.type_oid, o.type_modifier),
                None => (0, 0, t.oid, t.modifier),
            };
            FieldDescription {
                name: c.name.clone(),
                table_oid,
                column_attr,
                type_oid,
                type_size: t.size,
                type_modifier,
                format: format_of(formats, i),
            }
        })
        .collect()
}

/// The columns of a DuckDB result, named as PostgreSQL would name them, with the table
/// columns they are.
pub fn result_columns(
    result: &mut QueryResult,
    names: &Option<Vec<Option<String>>>,
    origins: &Option<Vec<Option<Origin>>>,
) -> Vec<Column> {
    let mut columns: Vec<Column> = (0..result.column_count())
        .map(|c| Column::new(result.column_name(c), result.column_type(c)))
        .collect();
    rename(&mut columns, names);
    attribute(&mut columns, origins);
    columns
}

/// Gives columns the table columns they are, when the origins match them one to one.
pub fn attribute(columns: &mut [Column], origins: &Option<Vec<Option<Origin>>>) {
    let Some(origins) = origins.as_ref().filter(|o| o.len() == columns.len()) else { return };
    for (column, origin) in columns.iter_mut().zip(origins) {
        column.origin = *origin;
        if let Some(o) = origin {
            column.ty = o.sent_type(std::mem::replace(&mut column.ty, LogicalType::Null));
        }
    }
}

/// Gives unaliased columns PostgreSQL's names (see `crate::sql::postgres_names`), when
/// the select list read matches the columns one to one.
pub fn rename(columns: &mut [Column], names: &Option<Vec<Option<String>>>) {
    let Some(names) = names.as_ref().filter(|n| n.len() == columns.len()) else { return };
    for (column, name) in columns.iter_mut().zip(names) {
        if let Some(name) = name {
            column.name.clone_from(name);
        }
    }
}

/// Refuses result types mallard cannot encode, before any row is sent.
pub fn check_supported(columns: &[Column]) -> Result<(), StepError> {
    match columns.iter().find(|c| !crate::types::is_supported(&c.ty)) {
        Some(c) => Err(StepError::unsupported_type(&c.name, &c.ty)),
        None => Ok(()),
    }
}

/// Binds `values` and runs the statement.
pub fn run(statement: &DuckStatement, values: &[Value]) -> Result<QueryResult, DuckError> {
    let prepared = statement.prepared.borrow();
    for (i, v) in values.iter().enumerate() {
        prepared.bind(i, v)?;
    }
    prepared.execute()
}
