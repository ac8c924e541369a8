//! PostgreSQL's text COPY format: one line per row, fields separated by the delimiter
//! (a tab), backslash escapes (`\b \f \n \r \t \v \\`, `\` + 1–3 octal digits,
//! `\x` + 1–2 hex digits, any other byte after `\` stands for itself), and NULL as
//! the NULL marker (`\N`) compared before unescaping.

use super::lines::{Lines, Next};
use super::{CopyError, CopyOptions, Row};

/// Decodes text-format rows.
pub struct Decoder {
    lines: Lines,
    delimiter: u8,
    null: Vec<u8>,
}

impl Decoder {
    pub fn new(options: &CopyOptions) -> Decoder {
        Decoder { lines: Lines::new(None), delimiter: options.delimiter, null: options.null.clone() }
    }

    pub fn feed(&mut self, data: &[u8]) {
        self.lines.feed(data);
    }

    pub fn buffered(&self) -> usize {
        self.lines.buffered()
    }

    pub fn next_row(&mut self, row: &mut Row, at_end: bool) -> Result<bool, CopyError> {
        let line = match self.lines.next_line(at_end)? {
            Next::Line(line, number) => {
                row.line = number;
                line
            }
            Next::NeedMore | Next::End => return Ok(false),
        };
        row.fields.clear();
        row.data.clear();
        split_fields(line, self.delimiter, &self.null, row);
        Ok(true)
    }
}

/// `CopyReadAttributesText`: splits one line into unescaped fields.
fn split_fields(line: &[u8], delimiter: u8, null: &[u8], row: &mut Row) {
    let mut i = 0;
    loop {
        let raw_start = i;
        row.begin_field();
        let mut at_delimiter = false;
        while i < line.len() {
            // The bytes up to the next delimiter or backslash are the field's as they are.
            let plain = memchr::memchr2(delimiter, b'\\', &line[i..]).unwrap_or(line.len() - i);
            row.extend(&line[i..i + plain]);
            i += plain;
            let Some(&c) = line.get(i) else { break };
            i += 1;
            if c == delimiter {
                at_delimiter = true;
                break;
            }
            // A backslash at the very end of the line is dropped, as PostgreSQL does.
            let Some(&e) = line.get(i) else { break };
            i += 1;
            let byte = match e {
                b'0'..=b'7' => {
                    let mut v = u32::from(e - b'0');
                    for _ in 0..2 {
                        match line.get(i) {
                            Some(d @ b'0'..=b'7') => {
                                v = v * 8 + u32::from(d - b'0');
                                i += 1;
                            }
                            _ => break,
                        }
                    }
                    v as u8
                }
                b'x' if line.get(i).is_some_and(u8::is_ascii_hexdigit) => {
                    let mut v = hex(line[i]);
                    i += 1;
                    if let Some(d) = line.get(i).filter(|d| d.is_ascii_hexdigit()) {
                        v = v * 16 + hex(*d);
                        i += 1;
                    }
                    v
                }
                b'b' => 8,
                b'f' => 12,
                b'n' => b'\n',
                b'r' => b'\r',
                b't' => b'\t',
                b'v' => 11,
                other => other,
            };
            row.push(byte);
        }
        let raw_end = if at_delimiter { i - 1 } else { i };
        if &line[raw_start..raw_end] == null {
            row.set_null(row.len() - 1);
        }
        if !at_delimiter {
            return;
        }
    }
}

fn hex(d: u8) -> u8 {
    (d as char).to_digit(16).unwrap_or(0) as u8
}

/// Whether a field holds a byte that text format escapes. Most values hold none: one
/// pass to tell, without a branch per byte.
pub fn needs_escape(value: &[u8], delimiter: u8) -> bool {
    value.iter().fold(false, |any, &c| any | (8..=13).contains(&c) | (c == b'\\') | (c == delimiter))
}

/// Appends one non-NULL field in text format, escaped (`CopyAttributeOutText`).
pub fn write_field(out: &mut Vec<u8>, value: &[u8], delimiter: u8) {
    if !needs_escape(value, delimiter) {
        return out.extend_from_slice(value);
    }
    let mut start = 0;
    for (i, &c) in value.iter().enumerate() {
        let escaped = match c {
            8 => b'b',
            12 => b'f',
            b'\n' => b'n',
            b'\r' => b'r',
            b'\t' => b't',
            11 => b'v',
            b'\\' => b'\\',
            c if c == delimiter => c,
            _ => continue,
        };
        out.extend_from_slice(&value[start..i]);
        out.push(b'\\');
        out.push(escaped);
        start = i + 1;
    }
    out.extend_from_slice(&value[start..]);
}

#[cfg(test)]
mod tests {
    use super::super::testing::{decode_split_everywhere, rows};
    use super::super::{parse, Decoder as AnyDecoder};
    use super::*;

    fn decoder(sql_options: &str) -> impl Fn() -> AnyDecoder {
        let options = parse(&format!("copy t from stdin {sql_options}")).unwrap().unwrap().options;
        move || AnyDecoder::new(&options, 2, Vec::new(), Vec::new())
    }

    #[test]
    fn fields_nulls_and_escapes() {
        let d = decoder("");
        let input = b"1\tone\n\\N\t\\\\N\na\\tb\\nc\t\\x41\\101\\q\\\n\n\n";
        let got = decode_split_everywhere(&d, input).unwrap();
        assert_eq!(
            got,
            rows(&[
                &[Some("1"), Some("one")],
                &[None, Some("\\N")],
                &[Some("a\tb\nc"), Some("AAq\n")],
                &[Some("")],
            ])
        );
    }

    #[test]
    fn control_escapes_and_octal_and_hex_lengths() {
        let d = decoder("");
        let got = decode_split_everywhere(&d, b"\\b\\f\\r\\v\\x4g\\0\\1234\\xZ\n").unwrap();
        assert_eq!(got, vec![vec![Some(b"\x08\x0c\r\x0b\x04g\x00S4xZ".to_vec())]]);
    }

    #[test]
    fn line_end_styles() {
        let d = decoder("");
        assert_eq!(decode_split_everywhere(&d, b"a\r\nb\r\n").unwrap(), rows(&[&[Some("a")], &[Some("b")]]));
        assert_eq!(decode_split_everywhere(&d, b"a\rb\r").unwrap(), rows(&[&[Some("a")], &[Some("b")]]));
        assert_eq!(decode_split_everywhere(&d, b"a\nb").unwrap(), rows(&[&[Some("a")], &[Some("b")]]));
        let e = decode_split_everywhere(&d, b"a\nb\rc\n").unwrap_err();
        assert_eq!((e.code.code(), e.message.as_str()), ("22P04", "literal carriage return found in data"));
        let e = decode_split_everywhere(&d, b"a\r\nb\nc\r\n").unwrap_err();
        assert_eq!(e.message, "literal newline found in data");
        let e = decode_split_everywhere(&d, b"a\rb\n").unwrap_err();
        assert_eq!(e.message, "literal newline found in data");
    }

    #[test]
    fn end_marker() {
        let d = decoder("");
        assert_eq!(decode_split_everywhere(&d, b"a\n\\.\nignored\n").unwrap(), rows(&[&[Some("a")]]));
        assert_eq!(decode_split_everywhere(&d, b"a\r\n\\.\r\n").unwrap(), rows(&[&[Some("a")]]));
        assert_eq!(decode_split_everywhere(&d, b"a\n\\.").unwrap(), rows(&[&[Some("a")]]));
        assert_eq!(decode_split_everywhere(&d, b"a\tb\\.\n").unwrap(), rows(&[&[Some("a"), Some("b")]]));
        let e = decode_split_everywhere(&d, b"a\n\\.x\n").unwrap_err();
        assert_eq!(e.message, "end-of-copy marker corrupt");
        let e = decode_split_everywhere(&d, b"a\n\\.\r\n").unwrap_err();
        assert_eq!(e.message, "end-of-copy marker does not match previous newline style");
    }

    #[test]
    fn custom_delimiter_and_null() {
        let d = decoder("(delimiter '|', null '')");
        assert_eq!(
            decode_split_everywhere(&d, b"a|\n|\\N\nx\\|y|z\n").unwrap(),
            rows(&[&[Some("a"), None], &[None, Some("N")], &[Some("x|y"), Some("z")]])
        );
    }

    #[test]
    fn output_escapes_round_trip() {
        let value = b"a\tb\nc\\d\re\x08\x0b\x0c|\x01";
        let mut out = Vec::new();
        write_field(&mut out, value, b'\t');
        assert_eq!(out, b"a\\tb\\nc\\\\d\\re\\b\\v\\f|\x01");
        let mut line = out.clone();
        line.push(b'\n');
        let d = decoder("");
        assert_eq!(decode_split_everywhere(&d, &line).unwrap(), vec![vec![Some(value.to_vec())]]);
        let mut out = Vec::new();
        write_field(&mut out, value, b'|');
        assert!(out.ends_with(b"\\|\x01"));
    }
}
