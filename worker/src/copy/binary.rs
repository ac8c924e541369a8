//! PostgreSQL's binary COPY format: the signature `PGCOPY\n\377\r\n\0`, an `i32` of
//! flags and an `i32` header-extension length (then that many bytes), then per tuple
//! an `i16` field count and per field an `i32` length (-1 for NULL) and the value in
//! the type's binary send format; the trailer is a field count of -1.
//!
//! This module frames tuples; the values themselves are `crate::types`' business.

use super::{CopyError, Row};

/// The 11-byte signature every binary COPY stream starts with.
pub const SIGNATURE: &[u8; 11] = b"PGCOPY\n\xff\r\n\0";

/// Flag bit 16: the pre-PostgreSQL-12 "has OIDs" flag, which must not be set.
const FLAG_OIDS: i32 = 1 << 16;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Header,
    /// Skipping the header extension: this many bytes are left.
    Extension(u32),
    Tuples,
    /// After the trailer: any more data is an error.
    Trailer,
}

/// Decodes binary tuples, checking the header and the field count of each.
pub struct Decoder {
    buf: Vec<u8>,
    pos: usize,
    state: State,
    columns: usize,
}

impl Decoder {
    pub fn new(columns: usize) -> Decoder {
        Decoder { buf: Vec::new(), pos: 0, state: State::Header, columns }
    }

    pub fn feed(&mut self, data: &[u8]) {
        if self.pos > 0 {
            self.buf.drain(..self.pos);
            self.pos = 0;
        }
        self.buf.extend_from_slice(data);
    }

    pub fn buffered(&self) -> usize {
        self.buf.len() - self.pos
    }

    fn rest(&self) -> &[u8] {
        &self.buf[self.pos..]
    }

    pub fn next_row(&mut self, row: &mut Row, at_end: bool) -> Result<bool, CopyError> {
        loop {
            match self.state {
                State::Header => {
                    if !self.header(at_end)? {
                        return Ok(false);
                    }
                }
                State::Extension(0) => self.state = State::Tuples,
                State::Extension(left) => {
                    let n = (left as usize).min(self.rest().len());
                    if n == 0 {
                        if at_end {
                            return Err(CopyError::bad_format("invalid COPY file header (wrong length)"));
                        }
                        return Ok(false);
                    }
                    self.pos += n;
                    self.state = State::Extension(left - n as u32);
                }
                State::Tuples => return self.tuple(row, at_end),
                State::Trailer => {
                    if !self.rest().is_empty() {
                        return Err(CopyError::bad_format("received copy data after EOF marker"));
                    }
                    return Ok(false);
                }
            }
        }
    }

    /// Reads the fixed part of the header; `false` if it is not all here yet.
    fn header(&mut self, at_end: bool) -> Result<bool, CopyError> {
        let rest = self.rest();
        let have = rest.len();
        let short = |what: &str| {
            if at_end {
                Err(CopyError::bad_format(format!("invalid COPY file header ({what})")))
            } else {
                Ok(false)
            }
        };
        if rest[..have.min(11)] != SIGNATURE[..have.min(11)] || (at_end && have < 11) {
            return Err(CopyError::bad_format("COPY file signature not recognized"));
        }
        if have < 15 {
            return short("missing flags");
        }
        let flags = i32::from_be_bytes([rest[11], rest[12], rest[13], rest[14]]);
        if flags & FLAG_OIDS != 0 {
            return Err(CopyError::bad_format("invalid COPY file header (WITH OIDS)"));
        }
        if (flags & !FLAG_OIDS) >> 16 != 0 {
            return Err(CopyError::bad_format("unrecognized critical flags in COPY file header"));
        }
        if have < 19 {
            return short("missing length");
        }
        let extension = i32::from_be_bytes([rest[15], rest[16], rest[17], rest[18]]);
        if extension < 0 {
            return Err(CopyError::bad_format("invalid COPY file header (missing length)"));
        }
        self.pos += 19;
        self.state = State::Extension(extension as u32);
        Ok(true)
    }

    /// Decodes one whole tuple into `row`, or leaves the buffer untouched when the
    /// tuple is not all here yet.
    fn tuple(&mut self, row: &mut Row, at_end: bool) -> Result<bool, CopyError> {
        let rest = &self.buf[self.pos..];
        if rest.len() < 2 {
            // PostgreSQL takes a stream that stops between tuples as ended.
            return Ok(false);
        }
        let count = i16::from_be_bytes([rest[0], rest[1]]);
        if count == -1 {
            self.pos += 2;
            self.state = State::Trailer;
            return self.next_row(row, at_end);
        }
        if count as usize != self.columns || count < 0 {
            return Err(CopyError::bad_format(format!(
                "row field count is {count}, expected {}",
                self.columns
            )));
        }
        let eof = || {
            if at_end {
                Err(CopyError::bad_format("unexpected EOF in COPY data"))
            } else {
                Ok(false)
            }
        };
        // Measure first, so that an incomplete tuple costs nothing to retry.
        let mut at = 2;
        let mut spans = Vec::with_capacity(self.columns);
        for _ in 0..count {
            let Some(len) = rest.get(at..at + 4) else { return eof() };
            let len = i32::from_be_bytes([len[0], len[1], len[2], len[3]]);
            at += 4;
            match len {
                -1 => spans.push(None),
                l if l < 0 => return Err(CopyError::bad_format("invalid field size")),
                l => {
                    let end = at + l as usize;
                    if end > rest.len() {
                        return eof();
                    }
                    spans.push(Some((at, end)));
                    at = end;
                }
            }
        }
        row.clear();
        row.line += 1;
        for span in spans {
            match span {
                Some((s, e)) => {
                    row.begin_field();
                    row.extend(&rest[s..e]);
                }
                None => {
                    row.begin_field();
                    let i = row.len() - 1;
                    row.set_null(i);
                }
            }
        }
        self.pos += at;
        Ok(true)
    }
}

/// Appends the header: signature, no flags, no extension.
pub fn write_header(out: &mut Vec<u8>) {
    out.extend_from_slice(SIGNATURE);
    out.extend_from_slice(&0i32.to_be_bytes());
    out.extend_from_slice(&0i32.to_be_bytes());
}

/// Appends the trailer.
pub fn write_trailer(out: &mut Vec<u8>) {
    out.extend_from_slice(&(-1i16).to_be_bytes());
}

/// Appends a tuple's field count.
pub fn begin_tuple(out: &mut Vec<u8>, fields: usize) {
    out.extend_from_slice(&(fields as i16).to_be_bytes());
}

pub fn write_null(out: &mut Vec<u8>) {
    out.extend_from_slice(&(-1i32).to_be_bytes());
}

/// Appends one non-NULL field whose bytes `write` appends; the length is filled in.
pub fn write_field(out: &mut Vec<u8>, write: impl FnOnce(&mut Vec<u8>)) {
    let at = out.len();
    out.extend_from_slice(&[0; 4]);
    write(out);
    let len = (out.len() - at - 4) as i32;
    out[at..at + 4].copy_from_slice(&len.to_be_bytes());
}

#[cfg(test)]
mod tests {
    use super::super::testing::{decode_chunks, decode_split_everywhere, Rows};
    use super::super::Decoder as AnyDecoder;
    use super::*;

    fn stream(rows: &Rows, trailer: bool) -> Vec<u8> {
        let mut out = Vec::new();
        write_header(&mut out);
        for r in rows {
            begin_tuple(&mut out, r.len());
            for f in r {
                match f {
                    Some(b) => write_field(&mut out, |o| o.extend_from_slice(b)),
                    None => write_null(&mut out),
                }
            }
        }
        if trailer {
            write_trailer(&mut out);
        }
        out
    }

    fn two_columns() -> AnyDecoder {
        AnyDecoder::Binary(Decoder::new(2))
    }

    #[test]
    fn round_trip_split_everywhere() {
        let rows: Rows =
            vec![vec![Some(vec![0, 0, 0, 1]), None], vec![Some(Vec::new()), Some(b"hello".to_vec())]];
        assert_eq!(decode_split_everywhere(two_columns, &stream(&rows, true)).unwrap(), rows);
        // Without a trailer the stream still ends cleanly between tuples.
        assert_eq!(decode_split_everywhere(two_columns, &stream(&rows, false)).unwrap(), rows);
    }

    #[test]
    fn header_extension_is_skipped() {
        let mut s = SIGNATURE.to_vec();
        s.extend_from_slice(&0i32.to_be_bytes());
        s.extend_from_slice(&3i32.to_be_bytes());
        s.extend_from_slice(b"xyz");
        s.extend_from_slice(&stream(&vec![vec![None, None]], true)[19..]);
        assert_eq!(decode_split_everywhere(two_columns, &s).unwrap(), vec![vec![None, None]]);
    }

    #[test]
    fn malformed_streams() {
        let good = stream(&vec![vec![Some(vec![1]), None]], true);
        let err = |bytes: &[u8]| decode_chunks(two_columns(), &[bytes]).unwrap_err().message;
        assert_eq!(err(b"PGCOPY\nxx"), "COPY file signature not recognized");
        assert_eq!(err(b"1\tabc\n"), "COPY file signature not recognized");
        assert_eq!(err(&good[..13]), "invalid COPY file header (missing flags)");
        assert_eq!(err(&good[..17]), "invalid COPY file header (missing length)");
        let mut oids = good.clone();
        oids[12] = 1;
        assert_eq!(err(&oids), "invalid COPY file header (WITH OIDS)");
        let mut critical = good.clone();
        critical[12] = 2;
        assert_eq!(err(&critical), "unrecognized critical flags in COPY file header");
        assert_eq!(err(&good[..good.len() - 4]), "unexpected EOF in COPY data");
        let mut after = good.clone();
        after.push(0);
        assert_eq!(err(&after), "received copy data after EOF marker");
        let three = stream(&vec![vec![None, None, None]], true);
        assert_eq!(err(&three), "row field count is 3, expected 2");
        let mut bad_len = good.clone();
        bad_len[21..25].copy_from_slice(&(-2i32).to_be_bytes());
        assert_eq!(err(&bad_len), "invalid field size");
        for e in [&good[..13], &three[..]] {
            assert_eq!(decode_chunks(two_columns(), &[e]).unwrap_err().code.code(), "22P04");
        }
    }
}
