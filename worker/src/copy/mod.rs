//! `COPY ... FROM STDIN` and `COPY ... TO STDOUT`, without any I/O: the statement and
//! its options ([`statement`]), and the row codecs of the three formats, which the
//! session feeds with `CopyData` bodies and drains row by row ([`Decoder`]), or asks to
//! write rows into `CopyData` bodies ([`text`], [`csv`], [`binary`]).
//!
//! Decoders keep only the bytes of the row they have not finished, so a `COPY FROM`
//! of any size runs in the memory of its longest row; `CopyData` messages may split
//! rows (and escapes, quotes, line ends) anywhere.
//!
//! What PostgreSQL accepts and rejects is the reference, down to the SQLSTATE and the
//! message of each error.

pub mod binary;
pub mod csv;
mod lines;
pub mod statement;
pub mod text;

use mallard_protocol::pg::SqlState;

pub use statement::{parse, CopyFormat, CopyOptions, CopyStatement, Direction, Header, Source};

/// A COPY failure the client sees as an `ErrorResponse`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct CopyError {
    pub code: SqlState,
    pub message: String,
    pub hint: Option<String>,
}

impl CopyError {
    pub fn new(code: SqlState, message: impl Into<String>) -> CopyError {
        CopyError { code, message: message.into(), hint: None }
    }

    /// `22P04 bad_copy_file_format`: the data does not follow the format.
    pub fn bad_format(message: impl Into<String>) -> CopyError {
        CopyError::new(SqlState::BAD_COPY_FILE_FORMAT, message)
    }

    pub fn with_hint(mut self, hint: impl Into<String>) -> CopyError {
        self.hint = Some(hint.into());
        self
    }
}

/// One decoded row: each field's bytes (after unescaping) or NULL, and the line
/// number PostgreSQL would report for it. Reused from row to row.
#[derive(Debug, Default, Clone)]
pub struct Row {
    data: Vec<u8>,
    fields: Vec<Option<(usize, usize)>>,
    /// 1-based; the header line counts.
    pub line: u64,
}

impl Row {
    pub fn len(&self) -> usize {
        self.fields.len()
    }

    /// Field `i`: `None` is NULL.
    pub fn field(&self, i: usize) -> Option<&[u8]> {
        self.fields[i].map(|(s, e)| &self.data[s..e])
    }

    pub fn fields(&self) -> impl Iterator<Item = Option<&[u8]>> {
        (0..self.len()).map(|i| self.field(i))
    }

    /// The bytes of all its fields together.
    pub fn data_len(&self) -> usize {
        self.data.len()
    }

    /// The whole row as text, when it is UTF-8 without a NUL: checked once for the
    /// row instead of field by field (see [`Row::text_field`]).
    pub fn text(&self) -> Option<&str> {
        let text = std::str::from_utf8(&self.data).ok()?;
        memchr::memchr(0, &self.data).is_none().then_some(text)
    }

    /// Field `i` of the row's [`Row::text`], `None` when it is NULL or its ends are
    /// not character boundaries (escapes can split a character between two fields;
    /// [`check_text`] then tells which is wrong).
    pub fn text_field<'a>(&self, text: &'a str, i: usize) -> Option<&'a str> {
        let (start, end) = self.fields[i]?;
        text.get(start..end)
    }

    fn clear(&mut self) {
        self.data.clear();
        self.fields.clear();
    }

    /// Starts a new non-NULL field; its bytes are what is pushed until the next call.
    fn begin_field(&mut self) {
        let at = self.data.len();
        self.fields.push(Some((at, at)));
    }

    fn push(&mut self, b: u8) {
        self.data.push(b);
        self.end_field();
    }

    fn extend(&mut self, bytes: &[u8]) {
        self.data.extend_from_slice(bytes);
        self.end_field();
    }

    fn end_field(&mut self) {
        let end = self.data.len();
        if let Some(Some((_, e))) = self.fields.last_mut() {
            *e = end;
        }
    }

    fn set_null(&mut self, i: usize) {
        self.fields[i] = None;
    }
}

/// A `COPY FROM` decoder for one format.
pub enum Decoder {
    Text(text::Decoder),
    Csv(csv::Decoder),
    Binary(binary::Decoder),
}

impl Decoder {
    /// A decoder for `options`; `columns` is how many fields a row must have (binary
    /// checks it; text and CSV leave it to the caller, which names the column).
    /// `force_not_null` and `force_null` flag CSV columns by position.
    pub fn new(
        options: &CopyOptions,
        columns: usize,
        force_not_null: Vec<bool>,
        force_null: Vec<bool>,
    ) -> Decoder {
        match options.format {
            CopyFormat::Text => Decoder::Text(text::Decoder::new(options)),
            CopyFormat::Csv => Decoder::Csv(csv::Decoder::new(options, force_not_null, force_null)),
            CopyFormat::Binary => Decoder::Binary(binary::Decoder::new(columns)),
        }
    }

    /// Adds the body of one `CopyData`.
    pub fn feed(&mut self, data: &[u8]) {
        match self {
            Decoder::Text(d) => d.feed(data),
            Decoder::Csv(d) => d.feed(data),
            Decoder::Binary(d) => d.feed(data),
        }
    }

    /// Decodes the next complete row into `row`; `false` when more data is needed or
    /// the data has ended. With `at_end` (after `CopyDone`) a last line without a line
    /// end is a row, and an incomplete binary tuple is an error.
    pub fn next_row(&mut self, row: &mut Row, at_end: bool) -> Result<bool, CopyError> {
        match self {
            Decoder::Text(d) => d.next_row(row, at_end),
            Decoder::Csv(d) => d.next_row(row, at_end),
            Decoder::Binary(d) => d.next_row(row, at_end),
        }
    }

    /// How many bytes are buffered waiting for the rest of their row.
    pub fn buffered(&self) -> usize {
        match self {
            Decoder::Text(d) => d.buffered(),
            Decoder::Csv(d) => d.buffered(),
            Decoder::Binary(d) => d.buffered(),
        }
    }
}

/// Checks that a decoded text or CSV field is text PostgreSQL would accept (UTF-8
/// without NUL), as it does for every field of a text-format COPY.
pub fn check_text(field: &[u8]) -> Result<&str, CopyError> {
    let invalid = |bytes: &[u8]| {
        let shown: Vec<String> = bytes.iter().take(2).map(|b| format!("0x{b:02x}")).collect();
        CopyError::new(
            SqlState::CHARACTER_NOT_IN_REPERTOIRE,
            format!("invalid byte sequence for encoding \"UTF8\": {}", shown.join(" ")),
        )
    };
    let s = std::str::from_utf8(field).map_err(|e| invalid(&field[e.valid_up_to()..]))?;
    match field.iter().position(|&b| b == 0) {
        Some(at) => Err(invalid(&field[at..at + 1])),
        None => Ok(s),
    }
}

#[cfg(test)]
pub(crate) mod testing {
    //! Helpers for the codec tests: feed an input split at every offset and compare
    //! with feeding it whole.

    use super::{CopyError, Decoder, Row};

    pub type Rows = Vec<Vec<Option<Vec<u8>>>>;

    /// Decodes `chunks` fed one after the other, then ends the data.
    pub fn decode_chunks(mut d: Decoder, chunks: &[&[u8]]) -> Result<Rows, CopyError> {
        let mut rows = Vec::new();
        let mut row = Row::default();
        for c in chunks {
            d.feed(c);
            while d.next_row(&mut row, false)? {
                rows.push(row.fields().map(|f| f.map(<[u8]>::to_vec)).collect());
            }
        }
        while d.next_row(&mut row, true)? {
            rows.push(row.fields().map(|f| f.map(<[u8]>::to_vec)).collect());
        }
        Ok(rows)
    }

    /// Decodes `input` whole, then split in two at every offset and in single bytes;
    /// all must agree. Returns the whole-input result.
    pub fn decode_split_everywhere(make: impl Fn() -> Decoder, input: &[u8]) -> Result<Rows, CopyError> {
        let whole = decode_chunks(make(), &[input]);
        for at in 0..=input.len() {
            let (a, b) = input.split_at(at);
            assert_eq!(
                decode_chunks(make(), &[a, b]),
                whole,
                "split at {at} of {:?}",
                String::from_utf8_lossy(input)
            );
        }
        let bytes: Vec<&[u8]> = input.chunks(1).collect();
        assert_eq!(decode_chunks(make(), &bytes), whole, "byte by byte");
        whole
    }

    /// Shorthand for expected rows: `None` is NULL.
    pub fn rows(r: &[&[Option<&str>]]) -> Rows {
        r.iter().map(|row| row.iter().map(|f| f.map(|s| s.as_bytes().to_vec())).collect()).collect()
    }
}

#[cfg(test)]
mod tests {
    //! Properties of every decoder on generated input: no input panics, splitting the
    //! input anywhere never changes the outcome, and what the encoders write reads
    //! back as the same rows. A small deterministic generator stands in for proptest,
    //! which this crate does not depend on.

    use super::testing::{decode_chunks, Rows};
    use super::*;

    /// xorshift64*: deterministic, so a failure names its seed.
    struct Gen(u64);

    impl Gen {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 >> 12;
            self.0 ^= self.0 << 25;
            self.0 ^= self.0 >> 27;
            self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
        }

        fn below(&mut self, n: usize) -> usize {
            (self.next() % n as u64) as usize
        }

        /// Bytes drawn mostly from the characters the formats give meaning to.
        fn bytes(&mut self, max: usize) -> Vec<u8> {
            const SPECIAL: &[u8] = b"\t,\"'\\\r\n.Nx0178abf |";
            let len = self.below(max + 1);
            (0..len)
                .map(
                    |_| {
                        if self.below(4) == 0 {
                            self.next() as u8
                        } else {
                            SPECIAL[self.below(SPECIAL.len())]
                        }
                    },
                )
                .collect()
        }
    }

    fn options(sql_options: &str) -> CopyOptions {
        parse(&format!("copy t from stdin {sql_options}")).unwrap().unwrap().options
    }

    const FORMATS: &[&str] =
        &["", "(format csv)", "(format csv, escape '\\')", "(delimiter '|', null '')", "(format binary)"];

    #[test]
    fn arbitrary_input_never_panics_and_splits_never_matter() {
        for (f, sql_options) in FORMATS.iter().enumerate() {
            let o = options(sql_options);
            let make = || Decoder::new(&o, 2, vec![false, true], vec![true, false]);
            for seed in 1..300u64 {
                let mut g = Gen(seed * 7919 + f as u64);
                let mut input = g.bytes(40);
                if o.format == CopyFormat::Binary && g.below(2) == 0 {
                    let mut framed = binary::SIGNATURE.to_vec();
                    framed.extend_from_slice(&[0; 8]);
                    framed.append(&mut input);
                    input = framed;
                }
                let whole = decode_chunks(make(), &[&input]);
                let at = g.below(input.len() + 1);
                let (a, b) = input.split_at(at);
                assert_eq!(decode_chunks(make(), &[a, b]), whole, "{sql_options} seed {seed} split {at}");
                let pieces: Vec<&[u8]> = input.chunks(1 + g.below(5)).collect();
                assert_eq!(decode_chunks(make(), &pieces), whole, "{sql_options} seed {seed} pieces");
            }
        }
    }

    fn random_rows(g: &mut Gen, columns: usize) -> Rows {
        (0..1 + g.below(4))
            .map(|_| (0..columns).map(|_| (g.below(5) != 0).then(|| g.bytes(12))).collect())
            .collect()
    }

    /// What a text or CSV writer produces for `rows`, with the server's framing.
    fn write_text(rows: &Rows, o: &CopyOptions) -> Vec<u8> {
        let mut out = Vec::new();
        for row in rows {
            for (i, f) in row.iter().enumerate() {
                if i > 0 {
                    out.push(o.delimiter);
                }
                match (f, o.format) {
                    (None, _) => out.extend_from_slice(&o.null),
                    (Some(v), CopyFormat::Csv) => csv::write_field(&mut out, v, o, false, row.len() == 1),
                    (Some(v), _) => text::write_field(&mut out, v, o.delimiter),
                }
            }
            out.push(b'\n');
        }
        out
    }

    #[test]
    fn written_rows_read_back_the_same() {
        for sql_options in
            ["", "(format csv)", "(format csv, quote '''', escape '\\', null 'NULL')", "(delimiter ',')"]
        {
            let o = options(sql_options);
            for seed in 1..300u64 {
                let mut g = Gen(seed);
                let columns = 1 + g.below(3);
                let rows = random_rows(&mut g, columns);
                let encoded = write_text(&rows, &o);
                let decoded = decode_chunks(Decoder::new(&o, columns, Vec::new(), Vec::new()), &[&encoded]);
                assert_eq!(
                    decoded.as_ref(),
                    Ok(&rows),
                    "{sql_options} seed {seed}: {:?}",
                    String::from_utf8_lossy(&encoded)
                );
            }
        }
        let o = options("(format binary)");
        for seed in 1..300u64 {
            let mut g = Gen(seed);
            let rows = random_rows(&mut g, 3);
            let mut encoded = Vec::new();
            binary::write_header(&mut encoded);
            for row in &rows {
                binary::begin_tuple(&mut encoded, row.len());
                for f in row {
                    match f {
                        Some(v) => binary::write_field(&mut encoded, |o| o.extend_from_slice(v)),
                        None => binary::write_null(&mut encoded),
                    }
                }
            }
            binary::write_trailer(&mut encoded);
            assert_eq!(decode_chunks(Decoder::new(&o, 3, Vec::new(), Vec::new()), &[&encoded]), Ok(rows));
        }
    }
}
