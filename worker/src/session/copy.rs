//! The session side of `COPY ... FROM STDIN` and `COPY ... TO STDOUT`: the copy-in
//! and copy-out sub-protocols on the client connection, rows appended to DuckDB
//! through its appender as `CopyData` arrives, and rows streamed out chunk by chunk.
//!
//! DuckDB never sees these statements: its own `COPY ... FROM STDIN` would read the
//! worker's stdin. A `COPY FROM` outside a transaction block runs in a transaction of
//! its own, so that a failure (bad data, `CopyFail`) leaves nothing behind; inside a
//! block the block fails like after any error.
//!
//! After a failed copy-in, the client may still be sending `CopyData`; the message
//! loop ignores `CopyData`, `CopyDone` and `CopyFail` outside COPY, as PostgreSQL does.

use std::borrow::Cow;
use std::sync::mpsc;

use mallard_protocol::pg::backend::{begin_message, finish_message, Message};
use mallard_protocol::pg::{frontend, Format, SqlState};
use tracing::debug;

use super::conn::ReadError;
use super::query::Transaction;
use super::{Session, SessionError, StepError};
use crate::copy::statement::ForceColumns;
use crate::copy::{
    self, binary, csv, text, CopyError, CopyFormat, CopyStatement, Decoder, Direction, Header, Row, Source,
};
use crate::duck::{
    exec, quote_ident, Appender, Batch, DuckError, ErrorClass, LogicalType, ResultKind, Vector,
};
use crate::encoding::{DecodeError, Encoding};
use crate::sql;
use crate::types::{
    decode_binary, decode_fixed, decode_text, encode_binary, encode_text, is_supported, oid, pg_type,
    plain_text, text_field, TextStyle, PLAIN_TEXT_BYTES,
};

fn failure(code: SqlState, message: impl Into<String>) -> StepError {
    StepError::query(code, message)
}

/// A column COPY reads or writes.
#[derive(Clone)]
struct Column {
    name: String,
    ty: LogicalType,
    /// The PostgreSQL type the column is reported as, whose input syntax and binary
    /// format apply.
    oid: u32,
    /// Text fields go through PostgreSQL's input syntax (`crate::types::decode_text`)
    /// rather than straight to DuckDB's VARCHAR cast.
    parse: bool,
}

impl Column {
    fn new(name: String, ty: LogicalType) -> Column {
        let oid = pg_type(&ty).oid;
        // Text goes to DuckDB as it is: there is nothing to parse.
        let parse = !matches!(oid, oid::TEXT | oid::VARCHAR | oid::JSON | oid::JSONB);
        Column { name, ty, oid, parse }
    }
}

impl Session<'_> {
    /// Runs `sql` if it is a COPY from or to the client; `None` if it is anything else
    /// (a COPY to or from a file is DuckDB's).
    pub(super) fn copy_statement(&mut self, sql: &str) -> Option<Result<(), StepError>> {
        let statement = match copy::parse(sql) {
            Ok(Some(s)) => s,
            Ok(None) => return None,
            Err(e) => return Some(Err(e.into())),
        };
        self.control.begin_statement(None);
        let outcome = match statement.direction {
            Direction::From => self.copy_in(&statement),
            Direction::To => self.copy_out(&statement),
        };
        if let Some(why) = self.control.end_statement() {
            if outcome.is_err() {
                return Some(Err(failure(SqlState::QUERY_CANCELED, why.message())));
            }
        }
        Some(outcome.map(|rows| self.conn.send(&Message::CommandComplete(format!("COPY {rows}")))))
    }

    /// Gives the columns of table `name` that are declared `jsonb` that type (see
    /// [`LogicalType::Jsonb`]): their binary form has jsonb's version byte.
    fn declare_jsonb(&mut self, name: &[String], columns: &mut [Column]) {
        if !columns.iter().any(|c| c.ty == LogicalType::Json) {
            return;
        }
        let Some((table, schema)) = name.split_last() else { return };
        let relation =
            sql::Source { schema: schema.last().cloned(), name: table.clone(), alias: None, derived: None };
        let items = columns
            .iter()
            .map(|c| sql::Item::Column { qualifier: None, name: c.name.clone(), label: c.name.clone() })
            .collect();
        let sources = sql::Sources { relations: vec![relation], items };
        let typed: Vec<(String, LogicalType)> =
            columns.iter().map(|c| (c.name.clone(), c.ty.clone())).collect();
        let Some(origins) = self.origins_of(&sources, &typed) else { return };
        for (column, origin) in columns.iter_mut().zip(origins) {
            if let Some(o) = origin {
                *column = Column::new(std::mem::take(&mut column.name), o.sent_type(column.ty.clone()));
            }
        }
    }

    /// The table's columns, or the listed ones in the listed order.
    fn copy_columns(&mut self, name: &[String], listed: Option<&[String]>) -> Result<Vec<Column>, StepError> {
        let sql = format!("SELECT * FROM {} LIMIT 0", qualified(name));
        let stmt = self.duck.prepare(&sql)?;
        let mut result = stmt.execute()?;
        let all: Vec<Column> = (0..result.column_count())
            .map(|c| Column::new(result.column_name(c), result.column_type(c)))
            .collect();
        let Some(listed) = listed else { return Ok(all) };
        let mut columns = Vec::with_capacity(listed.len());
        for (i, l) in listed.iter().enumerate() {
            if listed[..i].iter().any(|p| p.eq_ignore_ascii_case(l)) {
                return Err(failure(
                    SqlState::DUPLICATE_COLUMN,
                    format!("column \"{l}\" specified more than once"),
                ));
            }
            match all.iter().find(|c| c.name.eq_ignore_ascii_case(l)) {
                Some(c) => columns.push(c.clone()),
                None => {
                    return Err(failure(
                        SqlState::UNDEFINED_COLUMN,
                        format!("column \"{l}\" of relation \"{}\" does not exist", name[name.len() - 1]),
                    ))
                }
            }
        }
        Ok(columns)
    }

    fn copy_in(&mut self, statement: &CopyStatement) -> Result<u64, StepError> {
        let Source::Table { name, columns: listed } = &statement.source else {
            return Err(failure(SqlState::SYNTAX_ERROR, "COPY (query) FROM is not possible"));
        };
        let mut columns = self.copy_columns(name, listed.as_deref())?;
        self.declare_jsonb(name, &mut columns);
        let names: Vec<String> = columns.iter().map(|c| c.name.clone()).collect();
        let options = &statement.options;
        let force_not_null = options.force_not_null.flags(&names, "FORCE_NOT_NULL")?;
        let force_null = options.force_null.flags(&names, "FORCE_NULL")?;
        let own_transaction = self.tx == Transaction::Idle;
        if own_transaction {
            exec(&self.duck, "BEGIN TRANSACTION")?;
        }
        self.lake_wrote |= self.shared.lake.is_some();
        let outcome = self.copy_in_rows(
            statement,
            &columns,
            Decoder::new(options, columns.len(), force_not_null, force_null),
        );
        if own_transaction {
            let end = if outcome.is_ok() { self.duck_commit() } else { self.duck_rollback() };
            if let Err(e) = end {
                return outcome.and(Err(e));
            }
        }
        outcome
    }

    /// The copy-in sub-protocol: `CopyInResponse`, then rows as `CopyData` brings them.
    fn copy_in_rows(
        &mut self,
        statement: &CopyStatement,
        columns: &[Column],
        mut decoder: Decoder,
    ) -> Result<u64, StepError> {
        let Source::Table { name, columns: listed } = &statement.source else { unreachable!() };
        let mut appender = open_appender(&self.duck, name)?;
        if listed.is_some() {
            for c in columns {
                appender.add_column(&c.name)?;
            }
        }
        let format =
            if statement.options.format == CopyFormat::Binary { Format::Binary } else { Format::Text };
        // Chunks take turns: one filled here, the others on their way to DuckDB.
        let mut batches = std::iter::from_fn(|| appender.batch()).take(BATCHES);
        let (work, inbox) = mpsc::sync_channel::<Work>(BATCHES);
        let (returned, empty) = mpsc::sync_channel::<Batch>(BATCHES);
        let first = batches.next();
        for b in batches {
            let _ = returned.send(b);
        }
        let mut sink = RowSink {
            batch: first,
            work,
            empty,
            columns,
            style: self.settings.text_style(),
            binary: format == Format::Binary,
            header: statement.options.header,
            seen_header: false,
            rows: 0,
            batch_bytes: 0,
        };
        let max = self.shared.config.max_message_size;
        // Two threads of the session keep two cores busy: DuckDB's own threads follow
        // (`crate::threads`), and on two cores the appending thread then writes the rows
        // itself instead of waiting, spinning, for a background thread that does.
        let _appending = self.control.appending();
        std::thread::scope(|scope| {
            // DuckDB writes the rows into the table while this thread reads and parses
            // the next ones. Started before the client is told to send rows, so that a
            // failure to start is an error to a plain query.
            let appending = std::thread::Builder::new()
                .name("copy-append".to_owned())
                .spawn_scoped(scope, move || append_rows(appender, inbox, returned))
                .map_err(|e| {
                    failure(
                        SqlState::INSUFFICIENT_RESOURCES,
                        format!("could not start a thread for COPY: {e}"),
                    )
                })?;
            self.conn.send(&Message::CopyInResponse { format, columns: vec![format; columns.len()] });
            let read = match self.conn.flush() {
                Ok(()) => read_copy_in(self.conn, &self.control, max, format, &mut decoder, &mut sink),
                Err(e) => Err(SessionError::Io(e).into()),
            };
            let end = if read.is_ok() {
                Work::Close
            } else {
                // The rows read before the failure, for Fail to flush.
                let _ = sink.send_batch();
                Work::Fail
            };
            let _ = sink.work.send(end);
            let rows = sink.rows;
            drop(sink);
            let appended = appending.join().unwrap_or_else(|_| {
                Err(failure(SqlState::INTERNAL_ERROR, "the thread appending COPY rows panicked"))
            });
            // The appending thread's failure is why the reading stopped, if it did.
            appended?;
            read?;
            debug!(rows, "copy from stdin");
            Ok(rows)
        })
    }

    /// The copy-out sub-protocol: `CopyOutResponse`, one `CopyData` per row, `CopyDone`.
    fn copy_out(&mut self, statement: &CopyStatement) -> Result<u64, StepError> {
        let sql = self.copy_out_query(&statement.source)?;
        let options = &statement.options;
        let stmt = self.duck.prepare(&sql)?;
        let mut columns: Vec<Column> =
            stmt.columns().into_iter().map(|(name, ty)| Column::new(name, ty)).collect();
        if let Source::Table { name, .. } = &statement.source {
            // Before the query runs: asking the catalog would end its result.
            self.declare_jsonb(name, &mut columns);
        }
        let mut result = stmt.execute()?;
        if result.kind() != ResultKind::Rows {
            return Err(failure(SqlState::FEATURE_NOT_SUPPORTED, "COPY query must return rows"));
        }
        if let Some(c) = columns.iter().find(|c| !is_supported(&c.ty)) {
            return Err(StepError::unsupported_type(&c.name, &c.ty));
        }
        let names: Vec<String> = columns.iter().map(|c| c.name.clone()).collect();
        let force_quote = match &options.force_quote {
            ForceColumns::None => vec![false; names.len()],
            other => other.flags(&names, "FORCE_QUOTE")?,
        };
        let format = if options.format == CopyFormat::Binary { Format::Binary } else { Format::Text };
        self.conn.send(&Message::CopyOutResponse { format, columns: vec![format; columns.len()] });
        let writer = RowWriter {
            plain: plain_columns(&columns, options, &force_quote),
            options,
            force_quote,
            single_column: columns.len() == 1,
            style: self.settings.text_style(),
        };
        let encoding = self.conn.encoding().filter(|_| format == Format::Text);
        let header = self.conn.out().len();
        writer.start(self.conn.out(), &names);
        if let Some(e) = encoding.filter(|_| self.conn.out().len() > header) {
            // Before any row: nothing is lost if the names cannot be converted.
            let out = self.conn.out();
            // The type byte and the length come first.
            e.convert_tail(out, header + 5)?;
            finish_message(out, header + 1);
        }
        // PostgreSQL sends the binary header in one message with the first row (or
        // with the trailer, when there are no rows).
        let mut header_pending = options.format == CopyFormat::Binary;
        let mut rows = 0u64;
        let mut scratch = Vec::new();
        while let Some(chunk) = result.next_chunk()? {
            let vectors: Vec<_> = (0..columns.len()).map(|c| chunk.vector(c)).collect();
            for r in 0..chunk.len() {
                let out = self.conn.out();
                let at = begin_message(out, b'd');
                if options.format == CopyFormat::Binary {
                    if std::mem::take(&mut header_pending) {
                        binary::write_header(out);
                    }
                    write_binary_row(out, &columns, &vectors, r, &writer.style);
                } else {
                    writer.write_row(out, &columns, &vectors, r, &mut scratch);
                    if let Some(e) = encoding {
                        // `at` is where the length goes, before the data.
                        if let Err(e) = e.convert_tail(out, at + 4) {
                            out.truncate(at);
                            return Err(e.into());
                        }
                    }
                }
                finish_message(out, at);
            }
            rows += chunk.len() as u64;
            self.conn.flush_if_full().map_err(SessionError::Io)?;
        }
        writer.finish(self.conn.out(), header_pending);
        self.conn.send(&Message::CopyDone);
        debug!(rows, "copy to stdout");
        Ok(rows)
    }
}

impl Session<'_> {
    /// The query whose rows a COPY TO sends.
    fn copy_out_query(&mut self, source: &Source) -> Result<String, StepError> {
        Ok(match source {
            Source::Table { name, columns: None } => format!("SELECT * FROM {}", qualified(name)),
            Source::Table { name, columns: Some(listed) } => {
                let columns = self.copy_columns(name, Some(listed))?;
                let list: Vec<String> = columns.iter().map(|c| quote_ident(&c.name)).collect();
                format!("SELECT {} FROM {}", list.join(", "), qualified(name))
            }
            Source::Query(q) => q.clone(),
        })
    }
}

/// `"catalog"."schema"."table"`, for SQL.
fn qualified(name: &[String]) -> String {
    name.iter().map(|p| quote_ident(p)).collect::<Vec<_>>().join(".")
}

/// The copy-in messages, up to `CopyDone`: each `CopyData`'s rows decoded into `sink`.
fn read_copy_in(
    conn: &mut super::conn::Conn,
    control: &crate::sessions::Control,
    max: usize,
    format: Format,
    decoder: &mut Decoder,
    sink: &mut RowSink<'_>,
) -> Result<(), StepError> {
    let mut row = Row::default();
    let encoding = conn.encoding();
    // The start of a multi-byte character the last message ended inside.
    let mut split = Vec::new();
    loop {
        let frame = match conn.read_session_message(max) {
            Ok(f) => f,
            Err(_) if control.is_terminating() => return Err(SessionError::Terminated.into()),
            Err(e) => return Err(SessionError::Read(e).into()),
        };
        let (message, _) = frontend::decode(&frame, max)
            .map_err(|e| SessionError::Read(ReadError::Message(e)))?
            .expect("read_message returns whole messages");
        match message {
            frontend::Message::CopyData(data) => {
                // Text and CSV come in the client's encoding.
                match encoding.filter(|_| format == Format::Text) {
                    Some(e) => decoder.feed(&decode_chunk(e, &mut split, data)?),
                    None => decoder.feed(data),
                }
                while decoder.next_row(&mut row, false)? {
                    sink.row(&row)?;
                }
                // One row may span many messages, but not grow without bound.
                if decoder.buffered() > max {
                    return Err(failure(
                        SqlState::PROGRAM_LIMIT_EXCEEDED,
                        format!("COPY row is longer than the message size limit of {max} bytes"),
                    ));
                }
            }
            frontend::Message::CopyDone => {
                if let Some(e) = encoding.filter(|_| !split.is_empty()) {
                    // The data ended inside a character: an error naming its bytes.
                    e.decode(&split)?;
                }
                while decoder.next_row(&mut row, true)? {
                    sink.row(&row)?;
                }
                return sink.send_batch();
            }
            frontend::Message::CopyFail(reason) => {
                return Err(failure(SqlState::QUERY_CANCELED, format!("COPY from stdin failed: {reason}")))
            }
            // The protocol says these are ignored during copy-in.
            frontend::Message::Flush | frontend::Message::Sync => {}
            other => {
                return Err(failure(
                    SqlState::PROTOCOL_VIOLATION,
                    format!("unexpected message type 0x{:02X} during COPY from stdin", other.tag()),
                ))
            }
        }
    }
}

/// An appender on the table `name` (1–3 parts). An unqualified name that is not in
/// the current database may be a temporary table.
fn open_appender<'c>(duck: &'c crate::duck::Connection, name: &[String]) -> Result<Appender<'c>, DuckError> {
    match name {
        [table] => duck
            .appender(None, None, table)
            .or_else(|e| duck.appender(Some("temp"), None, table).map_err(|_| e)),
        [schema, table] => duck.appender(None, Some(schema), table),
        [catalog, schema, table] => duck.appender(Some(catalog), Some(schema), table),
        _ => unreachable!("the parser allows 1 to 3 name parts"),
    }
}

/// Where decoded rows go: checked against the columns, gathered into chunks, and sent
/// to the thread that appends them.
struct RowSink<'a> {
    /// The chunk being filled; `None` when a column's type has no direct form and
    /// every row goes alone.
    batch: Option<Batch>,
    work: mpsc::SyncSender<Work>,
    /// Chunks the appending thread is done with.
    empty: mpsc::Receiver<Batch>,
    columns: &'a [Column],
    /// The session's time zone, for `timestamptz` fields without one.
    style: TextStyle,
    /// Fields are in the types' binary format, not text.
    binary: bool,
    header: Header,
    seen_header: bool,
    rows: u64,
    /// The field bytes in `batch`: it goes when full of rows or of [`CHUNK_BYTES`].
    batch_bytes: usize,
}

impl RowSink<'_> {
    fn row(&mut self, row: &Row) -> Result<(), StepError> {
        if self.header != Header::Off && !self.seen_header {
            self.seen_header = true;
            if self.header == Header::Match {
                self.match_header(row)?;
            }
            return Ok(());
        }
        if row.len() > self.columns.len() {
            return Err(CopyError::bad_format("extra data after last expected column").into());
        }
        if row.len() < self.columns.len() {
            let missing = &self.columns[row.len()].name;
            return Err(CopyError::bad_format(format!("missing data for column \"{missing}\"")).into());
        }
        if let Some(batch) = &mut self.batch {
            if fill(batch, row, self.columns, self.binary, &self.style)? {
                batch.end_row();
                self.batch_bytes += row.data_len();
                if batch.is_full() || self.batch_bytes >= CHUNK_BYTES {
                    self.send_batch()?;
                }
                self.rows += 1;
                return Ok(());
            }
            // A value DuckDB must cast: the rows before it go first.
            self.send_batch()?;
        }
        let cells = row
            .fields()
            .zip(self.columns)
            .map(
                |(field, column)| Ok(field_cell(field, None, column, self.binary, &self.style)?.into_owned()),
            )
            .collect::<Result<_, StepError>>()?;
        self.send(Work::Row(cells))?;
        self.rows += 1;
        Ok(())
    }

    fn send(&self, work: Work) -> Result<(), StepError> {
        self.work.send(work).map_err(|_| appending_gone())
    }

    /// Sends the chunk's rows to be appended, and takes an empty chunk back to fill.
    fn send_batch(&mut self) -> Result<(), StepError> {
        let Some(batch) = self.batch.take_if(|b| !b.is_empty()) else { return Ok(()) };
        self.batch_bytes = 0;
        self.send(Work::Batch(batch))?;
        self.batch = Some(self.empty.recv().map_err(|_| appending_gone())?);
        Ok(())
    }

    /// `HEADER MATCH`: the first line must name the columns, in order.
    fn match_header(&self, row: &Row) -> Result<(), StepError> {
        if row.len() != self.columns.len() {
            return Err(CopyError::bad_format(format!(
                "wrong number of fields in header line: got {}, expected {}",
                row.len(),
                self.columns.len()
            ))
            .into());
        }
        for (i, (field, column)) in row.fields().zip(self.columns).enumerate() {
            let got = field.map(String::from_utf8_lossy);
            if got.as_deref() != Some(column.name.as_str()) {
                let got = got.map_or_else(|| "null value".to_owned(), |g| format!("\"{g}\""));
                return Err(CopyError::bad_format(format!(
                    "column name mismatch in header line field {}: got {got}, expected \"{}\"",
                    i + 1,
                    column.name
                ))
                .into());
            }
        }
        Ok(())
    }
}

/// How many chunks of rows a COPY FROM fills and appends in turn. DuckDB compresses a
/// whole row group (60 chunks) in one of the appending thread's flushes, which takes
/// about as long as parsing a row group does; with room for three, the reading thread
/// parses the next row groups meanwhile and the appending thread finds them ready.
/// `lineitem` (SF 1) in binary, alternating: 17.9/17.9 s with 64 (the reading thread
/// waited 7.3-7.4 s for empty chunks, the appending one 3.2 s for full ones),
/// 15.4/14.1 s with 192 (3.3-3.8 s and 0.9-1.1 s); the worker's peak RSS 379 and 431
/// MB. (In text, 10 -> 64 had given 16.7-21.2 s -> 14.9-18.0 s.)
const BATCHES: usize = 192;

/// A chunk also goes when its fields hold this many bytes, so that the chunks in flight
/// hold at most about `BATCHES` times this much whatever the width of the rows.
const CHUNK_BYTES: usize = 1 << 20;

/// The appending thread writes the rows it holds into the table after this many chunks
/// (DuckDB's appender would wait for a hundred): the writes are then short enough for
/// the chunks in flight to keep the reading thread busy meanwhile.
const FLUSH_EVERY: usize = 8;

/// What the reading thread sends the appending one.
enum Work {
    /// Rows gathered column by column.
    Batch(Batch),
    /// One row whose fields DuckDB casts, appended through the row calls.
    Row(Vec<Cell<String>>),
    /// The data is complete: flush and close.
    Close,
    /// Reading failed. The rows before the failure are flushed all the same: an error
    /// of theirs (a NOT NULL column, checked when rows are written) comes from an
    /// earlier row, and PostgreSQL reports the first failing row. The copy keeps
    /// nothing either way.
    Fail,
}

/// The appending thread is gone (the channel closed): it failed, and says why when
/// joined, which is the error the client gets.
fn appending_gone() -> StepError {
    failure(SqlState::INTERNAL_ERROR, "COPY rows could not be appended")
}

/// A decoded field: text goes to DuckDB as it is, other types as their value.
enum Cell<T> {
    Null,
    Text(T),
    Value(crate::duck::Value),
}

impl Cell<&str> {
    /// For a row appended alone, on another thread.
    fn into_owned(self) -> Cell<String> {
        match self {
            Cell::Null => Cell::Null,
            Cell::Text(t) => Cell::Text(t.to_owned()),
            Cell::Value(v) => Cell::Value(v),
        }
    }
}

/// Decodes one field by its column's PostgreSQL input rules: text is checked (UTF-8,
/// and in the binary format no NUL) and kept as it is; other types become values.
/// `checked` is the field's text when its row was checked whole ([`copy::Row::text`]).
fn field_cell<'r>(
    field: Option<&'r [u8]>,
    checked: Option<&'r str>,
    column: &Column,
    binary: bool,
    style: &TextStyle,
) -> Result<Cell<&'r str>, StepError> {
    let Some(bytes) = field else { return Ok(Cell::Null) };
    Ok(if binary && !column.parse && column.oid != oid::JSONB {
        Cell::Text(text_field(bytes).map_err(StepError::from)?)
    } else if binary {
        Cell::Value(decode_binary(column.oid, bytes).map_err(StepError::from)?)
    } else {
        let text = match checked {
            Some(text) => text,
            None => copy::check_text(bytes)?,
        };
        if column.parse {
            Cell::Value(decode_text(column.oid, text, style).map_err(StepError::from)?)
        } else {
            Cell::Text(text)
        }
    })
}

/// The appending thread: chunks and single rows in the order they were read. Rows
/// appended one by one sit in the appender's own buffer; they are flushed before the
/// next chunk, which must not overtake them.
fn append_rows(
    mut appender: Appender<'_>,
    inbox: mpsc::Receiver<Work>,
    returned: mpsc::SyncSender<Batch>,
) -> Result<(), StepError> {
    let mut row_calls = false;
    let mut unflushed = 0;
    for work in inbox {
        match work {
            Work::Batch(mut batch) => {
                if std::mem::take(&mut row_calls) {
                    appender.flush()?;
                }
                appender.append_batch(&mut batch)?;
                let _ = returned.send(batch);
                unflushed += 1;
                if unflushed == FLUSH_EVERY {
                    appender.flush()?;
                    unflushed = 0;
                }
            }
            Work::Row(cells) => {
                for cell in cells {
                    match cell {
                        Cell::Null => appender.append_null()?,
                        Cell::Text(text) => appender.append_text(&text).map_err(bad_value)?,
                        Cell::Value(value) => appender.append_value(&value).map_err(bad_value)?,
                    }
                }
                appender.end_row()?;
                row_calls = true;
            }
            Work::Close => {
                appender.close()?;
                return Ok(());
            }
            Work::Fail => return appender.flush().map_err(StepError::from),
        }
    }
    // The reading side went away without a word: nothing is kept.
    Ok(())
}

/// Writes a row's fields into the batch; false when one is not exactly a value of its
/// column's type (the row then goes through the row calls, where DuckDB casts it).
fn fill(
    batch: &mut Batch,
    row: &Row,
    columns: &[Column],
    binary: bool,
    style: &TextStyle,
) -> Result<bool, StepError> {
    let text = if binary { None } else { row.text() };
    for (i, (field, column)) in row.fields().zip(columns).enumerate() {
        if let Some(fixed) =
            field.filter(|_| binary && column.parse).and_then(|b| decode_fixed(column.oid, b))
        {
            if !batch.set_fixed(i, fixed) {
                return Ok(false);
            }
            continue;
        }
        let checked = text.and_then(|t| row.text_field(t, i));
        let written = match field_cell(field, checked, column, binary, style)? {
            Cell::Null => {
                batch.set_null(i);
                true
            }
            Cell::Text(text) => batch.set_bytes(i, text.as_bytes()),
            Cell::Value(value) => batch.set(i, &value),
        };
        if !written {
            return Ok(false);
        }
    }
    Ok(true)
}

/// A `CopyData` message's text in UTF-8: a message may end inside a multi-byte
/// character, whose bytes wait in `split` for the next one.
fn decode_chunk<'a>(
    encoding: &Encoding,
    split: &mut Vec<u8>,
    data: &'a [u8],
) -> Result<Cow<'a, [u8]>, DecodeError> {
    if split.is_empty() {
        let whole = encoding.whole_prefix(data);
        split.extend_from_slice(&data[whole..]);
        return encoding.decode(&data[..whole]);
    }
    split.extend_from_slice(data);
    let whole = encoding.whole_prefix(split);
    let text = encoding.decode(&split[..whole])?.into_owned();
    split.drain(..whole);
    Ok(Cow::Owned(text))
}

/// A value DuckDB could not cast to its column's type: PostgreSQL's input functions
/// report that as 22P02, where DuckDB says "invalid input" or "conversion", and a value
/// too large for its type (a numeric's precision) as 22003.
fn bad_value(e: DuckError) -> StepError {
    let class = e.class;
    let mut failure = StepError::from(e);
    if let (ErrorClass::InvalidInput | ErrorClass::Conversion, StepError::Query(info)) = (class, &mut failure)
    {
        info.code = if info.message.contains("out of range") {
            SqlState::NUMERIC_VALUE_OUT_OF_RANGE
        } else {
            SqlState::INVALID_TEXT_REPRESENTATION
        };
    }
    failure
}

/// One row as a binary tuple.
fn write_binary_row(
    out: &mut Vec<u8>,
    columns: &[Column],
    vectors: &[Vector<'_>],
    row: usize,
    style: &TextStyle,
) {
    binary::begin_tuple(out, columns.len());
    for (v, c) in vectors.iter().zip(columns) {
        if v.is_valid(row) {
            binary::write_field(out, |o| encode_binary(&c.ty, v, row, o, style));
        } else {
            binary::write_null(out);
        }
    }
}

/// For each column, whether its values can be written as they are encoded, unlooked
/// at: their type writes only letters and `PLAIN_TEXT_BYTES`, none of which is the
/// delimiter (or, in CSV, the quote), and CSV does not force quotes on it.
fn plain_columns(columns: &[Column], options: &copy::CopyOptions, force_quote: &[bool]) -> Vec<bool> {
    let written = |b: u8| b.is_ascii_alphabetic() || PLAIN_TEXT_BYTES.contains(&b);
    let csv = options.format == CopyFormat::Csv;
    let separators_plain = !(written(options.delimiter) || csv && written(options.quote));
    columns
        .iter()
        .zip(force_quote)
        .map(|(c, &forced)| separators_plain && !forced && plain_text(&c.ty))
        .collect()
}

/// Writes what surrounds the rows, and text and CSV lines.
struct RowWriter<'o> {
    options: &'o copy::CopyOptions,
    /// `plain_columns`.
    plain: Vec<bool>,
    force_quote: Vec<bool>,
    single_column: bool,
    style: TextStyle,
}

impl RowWriter<'_> {
    /// The header line of text and CSV, in its own `CopyData`.
    fn start(&self, out: &mut Vec<u8>, names: &[String]) {
        if self.options.format == CopyFormat::Binary || self.options.header != Header::On {
            return;
        }
        let at = begin_message(out, b'd');
        self.write_line(out, &mut names.iter().map(|n| Some(n.as_bytes())));
        finish_message(out, at);
    }

    /// What comes after the rows: the binary trailer (after the header, if no row
    /// carried it).
    fn finish(&self, out: &mut Vec<u8>, header_pending: bool) {
        if self.options.format == CopyFormat::Binary {
            let at = begin_message(out, b'd');
            if header_pending {
                binary::write_header(out);
            }
            binary::write_trailer(out);
            finish_message(out, at);
        }
    }

    /// One row as a text or CSV line, line end included.
    fn write_row(
        &self,
        out: &mut Vec<u8>,
        columns: &[Column],
        vectors: &[Vector<'_>],
        row: usize,
        scratch: &mut Vec<u8>,
    ) {
        for (i, (v, c)) in vectors.iter().zip(columns).enumerate() {
            if i > 0 {
                out.push(self.options.delimiter);
            }
            if !v.is_valid(row) {
                out.extend_from_slice(&self.options.null);
                continue;
            }
            // Encoded in place; moved aside and written again only if it needs escaping
            // or quoting, which few values do.
            let at = out.len();
            encode_text(&c.ty, v, row, out, &self.style);
            let plain = match self.options.format {
                // A CSV value equal to the NULL marker is quoted, whatever its type.
                CopyFormat::Csv if self.plain[i] => out[at..] != self.options.null[..],
                CopyFormat::Csv => {
                    !csv::needs_quote(&out[at..], self.options, self.force_quote[i], self.single_column)
                }
                _ => self.plain[i] || !text::needs_escape(&out[at..], self.options.delimiter),
            };
            if !plain {
                scratch.clear();
                scratch.extend_from_slice(&out[at..]);
                out.truncate(at);
                self.write_value(out, i, scratch);
            }
        }
        out.push(b'\n');
    }

    fn write_value(&self, out: &mut Vec<u8>, column: usize, value: &[u8]) {
        match self.options.format {
            CopyFormat::Csv => {
                csv::write_field(out, value, self.options, self.force_quote[column], self.single_column)
            }
            _ => text::write_field(out, value, self.options.delimiter),
        }
    }

    /// A whole line of fields (the header), line end included.
    fn write_line(&self, out: &mut Vec<u8>, fields: &mut dyn Iterator<Item = Option<&[u8]>>) {
        for (i, f) in fields.enumerate() {
            if i > 0 {
                out.push(self.options.delimiter);
            }
            match f {
                None => out.extend_from_slice(&self.options.null),
                // Header names are never force-quoted.
                Some(v) => match self.options.format {
                    CopyFormat::Csv => csv::write_field(out, v, self.options, false, self.single_column),
                    _ => text::write_field(out, v, self.options.delimiter),
                },
            }
        }
        out.push(b'\n');
    }
}
