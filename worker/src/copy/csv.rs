//! PostgreSQL's CSV COPY format: fields separated by the delimiter (`,`), quoted with
//! the quote character where they hold a delimiter, quote, or line end; inside quotes
//! the escape character (the quote itself unless set) escapes a quote or itself. An
//! unquoted field equal to the NULL marker (empty by default) is NULL, so `""` is an
//! empty string and an empty field is NULL.

use super::lines::{Lines, Next, Quoting};
use super::{CopyError, CopyOptions, Row};

/// Decodes CSV rows.
pub struct Decoder {
    lines: Lines,
    format: Format,
}

/// What decides how a CSV line splits into fields.
struct Format {
    delimiter: u8,
    quoting: Quoting,
    null: Vec<u8>,
    /// Per column: never NULL, even when unquoted and equal to the NULL marker.
    force_not_null: Vec<bool>,
    /// Per column: NULL when equal to the NULL marker, even quoted.
    force_null: Vec<bool>,
}

impl Decoder {
    pub fn new(options: &CopyOptions, force_not_null: Vec<bool>, force_null: Vec<bool>) -> Decoder {
        let quoting = Quoting { quote: options.quote, escape: options.escape };
        Decoder {
            lines: Lines::new(Some(quoting)),
            format: Format {
                delimiter: options.delimiter,
                quoting,
                null: options.null.clone(),
                force_not_null,
                force_null,
            },
        }
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
        self.format.split(line, row)
    }
}

impl Format {
    fn split(&self, line: &[u8], row: &mut Row) -> Result<bool, CopyError> {
        let mut i = 0;
        loop {
            let col = row.len();
            row.begin_field();
            let field = self.field(line, i, row)?;
            let flag = |flags: &[bool]| flags.get(col).copied().unwrap_or(false);
            let is_null = if field.saw_quote {
                flag(&self.force_null) && row.field(col) == Some(self.null.as_slice())
            } else {
                &line[i..field.end] == self.null.as_slice() && !flag(&self.force_not_null)
            };
            if is_null {
                row.set_null(col);
            }
            if field.end == line.len() {
                return Ok(true);
            }
            i = field.end + 1;
        }
    }

    /// `CopyReadAttributesCSV` for the field starting at `i`: quoted sections may
    /// appear anywhere in it (`a"b,c"d` is `ab,cd`).
    fn field(&self, line: &[u8], mut i: usize, row: &mut Row) -> Result<Field, CopyError> {
        let Quoting { quote, escape } = self.quoting;
        let mut saw_quote = false;
        while let Some(&c) = line.get(i) {
            if c == self.delimiter {
                return Ok(Field { end: i, saw_quote });
            }
            i += 1;
            if c != quote {
                row.push(c);
                continue;
            }
            saw_quote = true;
            loop {
                let Some(&c) = line.get(i) else {
                    return Err(CopyError::bad_format("unterminated CSV quoted field"));
                };
                i += 1;
                if c == escape {
                    if let Some(&n) = line.get(i).filter(|&&n| n == escape || n == quote) {
                        row.push(n);
                        i += 1;
                        continue;
                    }
                }
                if c == quote {
                    break;
                }
                row.push(c);
            }
        }
        Ok(Field { end: i, saw_quote })
    }
}

/// Where a field ended (at a delimiter, or the end of the line) and whether any part
/// of it was quoted.
struct Field {
    end: usize,
    saw_quote: bool,
}

/// Whether `write_field` quotes a field.
pub fn needs_quote(value: &[u8], options: &CopyOptions, force: bool, single_column: bool) -> bool {
    force
        || value == options.null.as_slice()
        || (single_column && value == b"\\.")
        || value.iter().any(|&c| c == options.delimiter || c == options.quote || c == b'\n' || c == b'\r')
}

/// Appends one non-NULL field in CSV format (`CopyAttributeOutCSV`): quoted if forced,
/// if equal to the NULL marker, if it holds a delimiter, quote or line end, or if it is
/// `\.` alone on its line (which would read back as the end marker).
pub fn write_field(out: &mut Vec<u8>, value: &[u8], options: &CopyOptions, force: bool, single_column: bool) {
    let (quote, escape) = (options.quote, options.escape);
    if !needs_quote(value, options, force, single_column) {
        return out.extend_from_slice(value);
    }
    out.push(quote);
    for &c in value {
        if c == quote || c == escape {
            out.push(escape);
        }
        out.push(c);
    }
    out.push(quote);
}

#[cfg(test)]
mod tests {
    use super::super::testing::{decode_split_everywhere, rows};
    use super::super::{parse, Decoder as AnyDecoder};
    use super::*;

    fn options(sql_options: &str) -> CopyOptions {
        parse(&format!("copy t from stdin (format csv{sql_options})")).unwrap().unwrap().options
    }

    fn decoder(sql_options: &str) -> impl Fn() -> AnyDecoder {
        let options = options(sql_options);
        move || AnyDecoder::new(&options, 3, Vec::new(), Vec::new())
    }

    #[test]
    fn quoting_nulls_and_empty_strings() {
        let d = decoder("");
        let input = b"1,\"a,b\",\n,\"\",x\n\"say \"\"hi\"\"\",a\"b,c\"d,\"line\nbreak\"\n";
        assert_eq!(
            decode_split_everywhere(&d, input).unwrap(),
            rows(&[
                &[Some("1"), Some("a,b"), None],
                &[None, Some(""), Some("x")],
                &[Some("say \"hi\""), Some("ab,cd"), Some("line\nbreak")],
            ])
        );
    }

    #[test]
    fn crlf_inside_quotes_is_data() {
        let d = decoder("");
        let input = b"\"a\r\nb\",c\r\nd,e\r\n";
        assert_eq!(
            decode_split_everywhere(&d, input).unwrap(),
            rows(&[&[Some("a\r\nb"), Some("c")], &[Some("d"), Some("e")]])
        );
        let e = decode_split_everywhere(&d, b"a\r\nb\rc\r\n").unwrap_err();
        assert_eq!(e.message, "unquoted carriage return found in data");
    }

    #[test]
    fn escape_character() {
        let d = decoder(", escape '\\'");
        assert_eq!(
            decode_split_everywhere(&d, b"\"a\\\"b\\\\c\\d\",\\\n").unwrap(),
            rows(&[&[Some("a\"b\\c\\d"), Some("\\")]])
        );
    }

    #[test]
    fn force_null_and_force_not_null() {
        // Column 2 is FORCE_NULL, column 3 FORCE_NOT_NULL.
        let o = options(", null 'N'");
        let d = || AnyDecoder::new(&o, 3, vec![false, false, true], vec![false, true, false]);
        assert_eq!(
            decode_split_everywhere(d, b"N,\"N\",N\n\"N\",N,\"N\"\n").unwrap(),
            rows(&[&[None, None, Some("N")], &[Some("N"), None, Some("N")]])
        );
    }

    #[test]
    fn end_marker_only_alone_at_line_start() {
        let d = decoder("");
        assert_eq!(
            decode_split_everywhere(&d, b"a\\.b\n\\.x\n\\.\nignored\n").unwrap(),
            rows(&[&[Some("a\\.b")], &[Some("\\.x")]])
        );
        assert_eq!(decode_split_everywhere(&d, b"\"\\.\"\n").unwrap(), rows(&[&[Some("\\.")]]));
    }

    #[test]
    fn unterminated_quote() {
        let d = decoder("");
        let e = decode_split_everywhere(&d, b"\"abc\n").unwrap_err();
        assert_eq!((e.code.code(), e.message.as_str()), ("22P04", "unterminated CSV quoted field"));
    }

    #[test]
    fn output_quoting_round_trips() {
        let o = options("");
        let cases: &[(&[u8], &[u8])] = &[
            (b"plain", b"plain"),
            (b"", b"\"\""),
            (b"a,b", b"\"a,b\""),
            (b"say \"hi\"", b"\"say \"\"hi\"\"\""),
            (b"two\nlines", b"\"two\nlines\""),
            (b"\\.", b"\"\\.\""),
        ];
        for (value, written) in cases {
            let mut out = Vec::new();
            write_field(&mut out, value, &o, false, true);
            assert_eq!(out, *written);
            out.push(b'\n');
            let d = decoder("");
            assert_eq!(decode_split_everywhere(&d, &out).unwrap(), vec![vec![Some(value.to_vec())]]);
        }
        let mut out = Vec::new();
        write_field(&mut out, b"x", &o, true, false);
        assert_eq!(out, b"\"x\"");
    }
}
