//! Splitting `COPY FROM` text and CSV input into lines, as PostgreSQL's
//! `CopyReadLineText` does: the first line end fixes the style (`\n`, `\r\n` or `\r`)
//! and a different one later is an error; in text a backslash protects the next byte
//! (a line end included); in CSV line ends inside quotes are data; `\.` ends the data.
//!
//! Input arrives in pieces. Scanning resumes where it stopped, with the CSV quote
//! state kept, so a long row split into many pieces is scanned once.

use super::CopyError;

/// The line-end style, fixed by the first line end.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Eol {
    Unknown,
    Nl,
    Cr,
    CrNl,
}

/// What [`Lines::next_line`] found.
pub(super) enum Next<'a> {
    /// A complete line, without its line end, and its 1-based number.
    Line(&'a [u8], u64),
    /// The line is not complete yet.
    NeedMore,
    /// The data has ended (`\.`, or the end of input).
    End,
}

/// CSV quoting, which decides whether a line end is data.
#[derive(Debug, Clone, Copy)]
pub(super) struct Quoting {
    pub quote: u8,
    pub escape: u8,
}

pub(super) struct Lines {
    buf: Vec<u8>,
    /// Where the current line starts.
    start: usize,
    /// How far the current line has been scanned.
    scan: usize,
    eol: Eol,
    csv: Option<Quoting>,
    in_quote: bool,
    last_was_esc: bool,
    /// `\.` was seen: what follows is ignored.
    ended: bool,
    /// Lines returned so far.
    pub line: u64,
}

impl Lines {
    pub fn new(csv: Option<Quoting>) -> Lines {
        Lines {
            buf: Vec::new(),
            start: 0,
            scan: 0,
            eol: Eol::Unknown,
            csv,
            in_quote: false,
            last_was_esc: false,
            ended: false,
            line: 0,
        }
    }

    pub fn feed(&mut self, data: &[u8]) {
        if self.ended {
            return;
        }
        if self.start > 0 {
            self.buf.drain(..self.start);
            self.scan -= self.start;
            self.start = 0;
        }
        self.buf.extend_from_slice(data);
    }

    pub fn buffered(&self) -> usize {
        self.buf.len() - self.start
    }

    fn error(&self, text: &str, csv: &str, hint: &str, csv_hint: &str) -> CopyError {
        let (m, h) = if self.csv.is_some() { (csv, csv_hint) } else { (text, hint) };
        CopyError::bad_format(m).with_hint(h)
    }

    fn stray_cr(&self) -> CopyError {
        self.error(
            "literal carriage return found in data",
            "unquoted carriage return found in data",
            "Use \"\\r\" to represent carriage return.",
            "Use quoted CSV field to represent carriage return.",
        )
    }

    fn stray_nl(&self) -> CopyError {
        self.error(
            "literal newline found in data",
            "unquoted newline found in data",
            "Use \"\\n\" to represent newline.",
            "Use quoted CSV field to represent newline.",
        )
    }

    /// Returns the line `[start, end)` and moves past its line end of `eol_len` bytes.
    fn take(&mut self, end: usize, eol_len: usize) -> Next<'_> {
        let (s, next) = (self.start, end + eol_len);
        self.start = next;
        self.scan = next;
        self.in_quote = false;
        self.last_was_esc = false;
        self.line += 1;
        Next::Line(&self.buf[s..end], self.line)
    }

    /// The next complete line. With `at_end`, the input is complete: a last line
    /// without a line end is returned, then `End`.
    pub fn next_line(&mut self, at_end: bool) -> Result<Next<'_>, CopyError> {
        if self.ended {
            return Ok(Next::End);
        }
        let mut i = self.scan;
        loop {
            i = self.skip_plain(i);
            let Some(&c) = self.buf.get(i) else {
                self.scan = i;
                return Ok(match (at_end, self.start < self.buf.len()) {
                    (false, _) => Next::NeedMore,
                    (true, true) => {
                        self.ended = true;
                        self.take(i, 0)
                    }
                    (true, false) => {
                        self.ended = true;
                        Next::End
                    }
                });
            };
            let quoted = self.in_quote;
            if c == b'\n' && !quoted {
                match self.eol {
                    Eol::Unknown => self.eol = Eol::Nl,
                    Eol::Nl => {}
                    Eol::Cr | Eol::CrNl => return Err(self.stray_nl()),
                }
                return Ok(self.take(i, 1));
            }
            if c == b'\r' && !quoted {
                let next = self.buf.get(i + 1).copied();
                if next.is_none() && !at_end && self.eol != Eol::Cr && self.eol != Eol::Nl {
                    self.scan = i;
                    return Ok(Next::NeedMore);
                }
                match (self.eol, next) {
                    (Eol::Unknown, Some(b'\n')) => self.eol = Eol::CrNl,
                    (Eol::Unknown, _) => self.eol = Eol::Cr,
                    (Eol::Cr, _) | (Eol::CrNl, Some(b'\n')) => {}
                    (Eol::Nl, _) | (Eol::CrNl, _) => return Err(self.stray_cr()),
                }
                let len = if self.eol == Eol::CrNl { 2 } else { 1 };
                return Ok(self.take(i, len));
            }
            if c == b'\\' && (self.csv.is_none() || (i == self.start && !quoted)) {
                match self.end_marker(i, at_end)? {
                    Marker::NeedMore => {
                        self.scan = i;
                        return Ok(Next::NeedMore);
                    }
                    Marker::End => {
                        self.ended = true;
                        // Data before `\.` on the same line is a last line.
                        return Ok(if i > self.start {
                            self.line += 1;
                            Next::Line(&self.buf[self.start..i], self.line)
                        } else {
                            Next::End
                        });
                    }
                    Marker::No if self.csv.is_none() => {
                        // A backslash protects the next byte, even a line end.
                        if i + 1 >= self.buf.len() && !at_end {
                            self.scan = i;
                            return Ok(Next::NeedMore);
                        }
                        i = (i + 2).min(self.buf.len());
                        continue;
                    }
                    Marker::No => {}
                }
            }
            if let Some(q) = self.csv {
                // An escape equal to the quote is just the quote toggling twice.
                let escape = if q.escape == q.quote { None } else { Some(q.escape) };
                if self.in_quote && Some(c) == escape {
                    self.last_was_esc = !self.last_was_esc;
                }
                if c == q.quote && !self.last_was_esc {
                    self.in_quote = !self.in_quote;
                }
                if Some(c) != escape {
                    self.last_was_esc = false;
                }
            }
            i += 1;
        }
    }

    /// Where the next byte the line scan must look at is, from `i`: a line end, a
    /// backslash in text, a quote in CSV. Bytes in between need nothing, and are passed
    /// over a word at a time.
    fn skip_plain(&self, i: usize) -> usize {
        let Some(rest) = self.buf.get(i..).filter(|r| !r.is_empty()) else { return i };
        let found = match self.csv {
            None => memchr::memchr3(b'\n', b'\r', b'\\', rest),
            // A backslash matters at a line's start, an escape apart from the quote
            // inside quotes: those go byte by byte.
            Some(q) if q.escape == q.quote && i > self.start => memchr::memchr3(b'\n', b'\r', q.quote, rest),
            Some(_) => Some(0),
        };
        i + found.unwrap_or(rest.len())
    }

    /// Whether the backslash at `i` starts the end-of-data marker `\.` + line end.
    fn end_marker(&self, i: usize, at_end: bool) -> Result<Marker, CopyError> {
        let corrupt = || {
            if self.csv.is_some() {
                Ok(Marker::No)
            } else {
                Err(CopyError::bad_format("end-of-copy marker corrupt"))
            }
        };
        match self.buf.get(i + 1) {
            None if at_end => return Ok(Marker::No),
            None => return Ok(Marker::NeedMore),
            Some(b'.') => {}
            Some(_) => return Ok(Marker::No),
        }
        let after = &self.buf[i + 2..];
        let style = match after {
            [] if at_end => return Ok(Marker::End),
            [] | [b'\r'] if !at_end => return Ok(Marker::NeedMore),
            [b'\n', ..] => Eol::Nl,
            [b'\r', b'\n', ..] => Eol::CrNl,
            [b'\r', ..] => Eol::Cr,
            _ => return corrupt(),
        };
        if self.eol != Eol::Unknown && self.eol != style {
            if self.csv.is_some() {
                return Ok(Marker::No);
            }
            return Err(CopyError::bad_format("end-of-copy marker does not match previous newline style"));
        }
        Ok(Marker::End)
    }
}

enum Marker {
    No,
    NeedMore,
    End,
}
