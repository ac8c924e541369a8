//! Parameter values a client sends in text format (Bind, and text COPY fields), turned
//! into the [`Value`]s DuckDB binds: PostgreSQL's input functions (`*in`).
//!
//! Only where DuckDB's own VARCHAR cast would read PostgreSQL's input syntax differently
//! (or not at all) is the text parsed here: booleans, integers, floats, numeric, bytea,
//! uuid, the date/time types and arrays. Everything else goes to DuckDB as text and is
//! cast to the parameter's type there.

use super::decode::{
    decimal_value, element_type, empty_list, is_space, nest, small_decimal, trim, unify, ValueError, MAX_DIMS,
};
use super::{datetime_in, oid, IntervalFormat, TextStyle};
use crate::duck::{LogicalType, Value};

/// A value the client sent in text format for type `oid` (0 or unknown OIDs → text).
pub fn decode_text(oid: u32, text: &str, style: &TextStyle) -> Result<Value, ValueError> {
    if let Some(element) = oid::element_of(oid) {
        return decode_text_array(element, text, style);
    }
    Ok(match oid {
        oid::BOOL => Value::Bool(parse_bool(text)?),
        oid::INT2 => Value::SmallInt(parse_int(text, "smallint")?),
        oid::INT4 => Value::Integer(parse_int(text, "integer")?),
        oid::INT8 => Value::BigInt(parse_int(text, "bigint")?),
        oid::OID => Value::BigInt(parse_oid(text)?),
        oid::FLOAT4 => Value::Float(parse_float::<f32>(text, "real")?),
        oid::FLOAT8 => Value::Double(parse_float::<f64>(text, "double precision")?),
        oid::NUMERIC => parse_numeric(text)?,
        oid::BYTEA => Value::Blob(parse_bytea(text)?),
        oid::UUID => Value::Uuid(parse_uuid(text)?),
        oid::DATE => datetime_in::date(text, style.order)?,
        oid::TIME => datetime_in::time(text)?,
        oid::TIMESTAMP => datetime_in::timestamp(text, style, false)?,
        oid::TIMESTAMPTZ => datetime_in::timestamp(text, style, true)?,
        oid::INTERVAL => datetime_in::interval(text, style.intervals == IntervalFormat::SqlStandard)?,
        _ => Value::Text(text.to_owned()),
    })
}

/// `boolin`: t/true/y/yes/on/1 and f/false/n/no/off/0, any case, any unique prefix.
fn parse_bool(text: &str) -> Result<bool, ValueError> {
    let t = trim(text).to_ascii_lowercase();
    let prefix_of = |word: &str, min: usize| t.len() >= min && word.starts_with(t.as_str());
    match t.as_bytes().first() {
        Some(b't') if prefix_of("true", 1) => Ok(true),
        Some(b'y') if prefix_of("yes", 1) => Ok(true),
        Some(b'f') if prefix_of("false", 1) => Ok(false),
        Some(b'n') if prefix_of("no", 1) => Ok(false),
        Some(b'o') if prefix_of("on", 2) => Ok(true),
        Some(b'o') if prefix_of("off", 2) => Ok(false),
        _ if t == "1" => Ok(true),
        _ if t == "0" => Ok(false),
        _ => Err(ValueError::syntax("boolean", text)),
    }
}

/// The common numeric, `[-+]digits[.digits]` with at most 38 digits, read without the
/// allocations of the general path, into the value that path gives.
fn plain_numeric(text: &str) -> Option<Value> {
    let bytes = text.as_bytes();
    let (negative, unsigned) = match bytes.first()? {
        b'-' => (true, &bytes[1..]),
        b'+' => (false, &bytes[1..]),
        _ => (false, bytes),
    };
    let (mut value, mut digits, mut scale) = (0i128, 0u32, None);
    for &b in unsigned {
        match b {
            b'0'..=b'9' => {
                value = value * 10 + i128::from(b - b'0');
                digits += 1;
                if let Some(s) = scale.as_mut() {
                    *s += 1;
                }
            }
            b'.' if scale.is_none() => scale = Some(0),
            _ => return None,
        }
        if digits > 38 {
            return None;
        }
    }
    if digits == 0 {
        return None;
    }
    small_decimal(negative, value, scale.unwrap_or(0))
}

/// `int2in`/`int4in`/`int8in`: optional whitespace and sign, decimal digits only.
fn parse_int<T: TryFrom<i128>>(text: &str, type_name: &str) -> Result<T, ValueError> {
    let t = trim(text);
    let digits = t.strip_prefix(['+', '-']).unwrap_or(t);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(ValueError::syntax(type_name, text));
    }
    let out_of_range =
        || ValueError::out_of_range(format!("value \"{text}\" is out of range for type {type_name}"));
    let wide: i128 = if digits.len() <= 18 {
        // Fits an i64 as it is: no 128-bit arithmetic for the common case.
        let magnitude = digits.bytes().fold(0i64, |v, b| v * 10 + i64::from(b - b'0'));
        i128::from(if t.starts_with('-') { -magnitude } else { magnitude })
    } else {
        // More than 39 digits overflows i128 itself; the value is out of range either way.
        t.parse().map_err(|_| out_of_range())?
    };
    T::try_from(wide).map_err(|_| out_of_range())
}

/// `oidin`: an unsigned 32-bit number (negative input wraps, as PostgreSQL allows).
fn parse_oid(text: &str) -> Result<i64, ValueError> {
    let v: i64 = parse_int(text, "oid")?;
    if v < i64::from(i32::MIN) || v > i64::from(u32::MAX) {
        return Err(ValueError::out_of_range(format!("value \"{text}\" is out of range for type oid")));
    }
    Ok(i64::from(v as u32))
}

/// The float types' input: decimal or exponent notation, NaN and the infinities in any
/// case. A finite literal too large (or a non-zero one too small) is out of range.
fn parse_float<F>(text: &str, type_name: &str) -> Result<F, ValueError>
where
    F: std::str::FromStr + Into<f64> + Copy,
{
    let t = trim(text);
    let unsigned = t.strip_prefix(['+', '-']).unwrap_or(t).to_ascii_lowercase();
    let word = matches!(unsigned.as_str(), "nan" | "inf" | "infinity");
    if !word && !unsigned.bytes().all(|b| b.is_ascii_digit() || matches!(b, b'.' | b'e' | b'+' | b'-')) {
        return Err(ValueError::syntax(type_name, text));
    }
    let v: F = t.parse().map_err(|_| ValueError::syntax(type_name, text))?;
    let f: f64 = v.into();
    let mantissa = unsigned.split('e').next().unwrap_or("");
    if !word && (f.is_infinite() || (f == 0.0 && mantissa.bytes().any(|b| matches!(b, b'1'..=b'9')))) {
        return Err(ValueError::out_of_range(format!("\"{t}\" is out of range for type {type_name}")));
    }
    Ok(v)
}

/// `numeric_in`: a decimal with optional exponent, or NaN/Infinity (which only a float
/// holds in DuckDB, so they become doubles).
fn parse_numeric(text: &str) -> Result<Value, ValueError> {
    match plain_numeric(text) {
        Some(value) => Ok(value),
        None => any_numeric(text),
    }
}

/// `numeric_in` for any input: signs, spaces, exponents, NaN and infinities.
fn any_numeric(text: &str) -> Result<Value, ValueError> {
    let t = trim(text);
    let bad = || ValueError::syntax("numeric", text);
    let (negative, unsigned) = match t.as_bytes().first() {
        Some(b'-') => (true, &t[1..]),
        Some(b'+') => (false, &t[1..]),
        _ => (false, t),
    };
    let lower = unsigned.to_ascii_lowercase();
    if lower == "nan" && unsigned.len() == t.len() {
        return Ok(Value::Double(f64::NAN));
    }
    if lower == "inf" || lower == "infinity" {
        return Ok(Value::Double(if negative { f64::NEG_INFINITY } else { f64::INFINITY }));
    }
    let (mantissa, exponent) = match lower.split_once('e') {
        Some((m, e)) => {
            let e: i64 = e.parse().map_err(|_| bad())?;
            // Beyond numeric's own range (131072 digits before the point, 16383 after);
            // this also bounds the zeros appended below.
            if e.abs() > 140_000 {
                return Err(ValueError::out_of_range("value overflows numeric format"));
            }
            (m, e)
        }
        None => (lower.as_str(), 0),
    };
    let (int_part, frac) = mantissa.split_once('.').unwrap_or((mantissa, ""));
    let all_digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    if int_part.len() + frac.len() == 0 || !all_digits(int_part) || !all_digits(frac) {
        return Err(bad());
    }
    let mut digits = format!("{int_part}{frac}");
    let mut scale = frac.len() as i64 - exponent;
    if scale < 0 {
        digits.extend(std::iter::repeat_n('0', (-scale) as usize));
        scale = 0;
    }
    Ok(decimal_value(negative, &digits, scale as usize))
}

/// `byteain`: `\x` followed by hex digit pairs (whitespace between pairs allowed), or
/// the escape format (`\\`, `\ooo` octal, other bytes as they are).
fn parse_bytea(text: &str) -> Result<Vec<u8>, ValueError> {
    if let Some(hex) = text.strip_prefix("\\x") {
        let mut out = Vec::with_capacity(hex.len() / 2);
        let mut chars = hex.chars().filter(|c| !matches!(c, ' ' | '\t' | '\n' | '\r'));
        while let Some(hi) = chars.next() {
            let digit = |c: char| {
                c.to_digit(16)
                    .ok_or_else(|| ValueError::new("22P02", format!("invalid hexadecimal digit: \"{c}\"")))
            };
            let hi = digit(hi)?;
            let lo = chars
                .next()
                .ok_or_else(|| ValueError::new("22P02", "invalid hexadecimal data: odd number of digits"))?;
            out.push((hi * 16 + digit(lo)?) as u8);
        }
        return Ok(out);
    }
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] != b'\\' {
            out.push(bytes[i]);
            i += 1;
        } else if bytes.get(i + 1) == Some(&b'\\') {
            out.push(b'\\');
            i += 2;
        } else if let [a @ b'0'..=b'3', b @ b'0'..=b'7', c @ b'0'..=b'7'] =
            bytes.get(i + 1..i + 4).unwrap_or(&[])
        {
            out.push((a - b'0') * 64 + (b - b'0') * 8 + (c - b'0'));
            i += 4;
        } else {
            return Err(ValueError::new("22P02", "invalid input syntax for type bytea"));
        }
    }
    Ok(out)
}

/// `uuid_in`: 32 hex digits, optionally in braces, with a hyphen allowed after any
/// group of four.
fn parse_uuid(text: &str) -> Result<u128, ValueError> {
    let bad = || ValueError::syntax("uuid", text);
    let inner = match text.strip_prefix('{') {
        Some(rest) => rest.strip_suffix('}').ok_or_else(bad)?,
        None => text,
    };
    let (mut value, mut digits) = (0u128, 0);
    let mut chars = inner.chars().peekable();
    while let Some(c) = chars.next() {
        let d = c.to_digit(16).ok_or_else(bad)?;
        value = (value << 4) | u128::from(d);
        digits += 1;
        if digits % 4 == 0 && digits < 32 && chars.peek() == Some(&'-') {
            chars.next();
        }
        if digits > 32 {
            return Err(bad());
        }
    }
    if digits != 32 {
        return Err(bad());
    }
    Ok(value)
}

/// `array_in` for a one- or multi-dimensional array of `element`: `{1,2,NULL}`,
/// `{"a b","c\"d"}`, `{{1,2},{3,4}}`, optionally after dimension bounds (`[0:1]={5,6}`,
/// whose lower bounds are dropped: a DuckDB list starts at 1).
fn decode_text_array(element: u32, text: &str, style: &TextStyle) -> Result<Value, ValueError> {
    let (tree, dims) = parse_array_text(text)?;
    let mut leaves = Vec::new();
    flatten(tree, &mut leaves);
    if leaves.is_empty() {
        return Ok(empty_list(element));
    }
    let mut values = Vec::with_capacity(leaves.len());
    let mut as_text = false;
    for leaf in &leaves {
        let v = match leaf {
            None => Value::Null,
            Some(s) => decode_text(element, s, style)?,
        };
        // A typed element that fell back to text (a date word DuckDB knows): the whole
        // array goes as text so that every element has the same type.
        as_text |= matches!(v, Value::Text(_)) && !matches!(element_type(element), LogicalType::Varchar);
        values.push(v);
    }
    if as_text {
        let texts = leaves.into_iter().map(|l| l.map_or(Value::Null, Value::Text)).collect();
        return Ok(nest(LogicalType::Varchar, texts, &dims));
    }
    let (ty, values) = unify(element, values);
    Ok(nest(ty, values, &dims))
}

/// Array text (`{..}`, after optional dimension bounds `[0:1]=`) as its tree of elements
/// and its length in each dimension, or the error `array_in` gives.
fn parse_array_text(text: &str) -> Result<(Node, Vec<usize>), ValueError> {
    let malformed = || ValueError::new("22P02", format!("malformed array literal: \"{text}\""));
    let mut body = trim(text);
    if body.starts_with('[') {
        let eq = body.find('=').ok_or_else(malformed)?;
        body = trim(&body[eq + 1..]);
    }
    if !body.starts_with('{') {
        return Err(malformed());
    }
    let mut parser = ArrayParser { s: body.as_bytes(), pos: 0, too_deep: false };
    let tree = match parser.node(0) {
        Some(tree) => tree,
        None if parser.too_deep => {
            return Err(ValueError::new(
                "54000",
                format!(
                    "number of array dimensions ({}) exceeds the maximum allowed ({MAX_DIMS})",
                    MAX_DIMS + 1
                ),
            ))
        }
        None => return Err(malformed()),
    };
    parser.skip_space();
    if parser.pos != parser.s.len() {
        return Err(malformed());
    }
    let mut dims = Vec::new();
    if !shape(&tree, 0, &mut dims, &mut None) {
        return Err(ValueError::new(
            "22P02",
            format!("malformed array literal: \"{text}\" (multidimensional arrays must have sub-arrays with matching dimensions)"),
        ));
    }
    Ok((tree, dims))
}

/// A PostgreSQL array literal's text (`{1,2}`, `{{"a b",NULL}}`, `[0:1]={5,6}`) as a
/// DuckDB list of its elements' text (`['1', '2']`, `[['a b', NULL]]`), and its number of
/// dimensions: what a cast of the literal to any array type can start from. `None` if
/// the text is no rectangular array.
pub fn array_literal_as_list(text: &str) -> Option<(String, usize)> {
    let (tree, dims) = parse_array_text(text).ok()?;
    fn write(node: &Node, out: &mut String) {
        match node {
            Node::Leaf(None) => out.push_str("NULL"),
            Node::Leaf(Some(text)) => out.push_str(&crate::duck::quote_literal(text)),
            Node::Array(items) => {
                out.push('[');
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        out.push_str(", ");
                    }
                    write(item, out);
                }
                out.push(']');
            }
        }
    }
    let mut out = String::new();
    write(&tree, &mut out);
    Some((out, dims.len().max(1)))
}

enum Node {
    Array(Vec<Node>),
    /// An element's text; `None` is an unquoted NULL.
    Leaf(Option<String>),
}

struct ArrayParser<'a> {
    s: &'a [u8],
    pos: usize,
    /// Set when parsing stopped at a seventh level of braces.
    too_deep: bool,
}

impl ArrayParser<'_> {
    fn skip_space(&mut self) {
        while self.s.get(self.pos).is_some_and(|b| is_space(char::from(*b))) {
            self.pos += 1;
        }
    }

    /// An array or element at nesting `depth`; arrays nest at most [`MAX_DIMS`] deep.
    fn node(&mut self, depth: usize) -> Option<Node> {
        self.skip_space();
        if self.s.get(self.pos) != Some(&b'{') {
            return self.leaf().map(Node::Leaf);
        }
        if depth >= MAX_DIMS {
            self.too_deep = true;
            return None;
        }
        self.pos += 1;
        let mut items = Vec::new();
        self.skip_space();
        if self.s.get(self.pos) == Some(&b'}') {
            self.pos += 1;
            return Some(Node::Array(items));
        }
        loop {
            items.push(self.node(depth + 1)?);
            self.skip_space();
            match self.s.get(self.pos)? {
                b',' => self.pos += 1,
                b'}' => {
                    self.pos += 1;
                    return Some(Node::Array(items));
                }
                _ => return None,
            }
        }
    }

    /// One element: quoted (backslash escapes), or unquoted up to `,` or `}` with
    /// surrounding whitespace dropped and backslash escapes kept literal.
    fn leaf(&mut self) -> Option<Option<String>> {
        let mut out = Vec::new();
        if self.s.get(self.pos) == Some(&b'"') {
            self.pos += 1;
            loop {
                match *self.s.get(self.pos)? {
                    b'"' => break,
                    b'\\' => {
                        out.push(*self.s.get(self.pos + 1)?);
                        self.pos += 2;
                    }
                    b => {
                        out.push(b);
                        self.pos += 1;
                    }
                }
            }
            self.pos += 1;
            return String::from_utf8(out).ok().map(Some);
        }
        let (mut escaped, mut kept) = (false, 0);
        loop {
            match *self.s.get(self.pos)? {
                b',' | b'}' => break,
                b'{' | b'"' => return None,
                b'\\' => {
                    out.push(*self.s.get(self.pos + 1)?);
                    self.pos += 2;
                    escaped = true;
                    kept = out.len();
                }
                b => {
                    out.push(b);
                    self.pos += 1;
                    if !is_space(char::from(b)) {
                        kept = out.len();
                    }
                }
            }
        }
        out.truncate(kept);
        if out.is_empty() {
            return None;
        }
        if !escaped && out.eq_ignore_ascii_case(b"null") {
            return Some(None);
        }
        String::from_utf8(out).ok().map(Some)
    }
}

/// Records the length at each depth; false unless every sub-array at a depth has the
/// same length and every element sits at the same depth.
fn shape(node: &Node, depth: usize, dims: &mut Vec<usize>, leaf_depth: &mut Option<usize>) -> bool {
    let Node::Array(items) = node else {
        return *leaf_depth.get_or_insert(depth) == depth;
    };
    match dims.get(depth) {
        Some(&n) if n != items.len() => return false,
        Some(_) => {}
        None => dims.push(items.len()),
    }
    items.iter().all(|i| shape(i, depth + 1, dims, leaf_depth))
}

fn flatten(node: Node, out: &mut Vec<Option<String>>) {
    match node {
        Node::Leaf(l) => out.push(l),
        Node::Array(items) => items.into_iter().for_each(|i| flatten(i, out)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::types::decode::decimal_type;
    use crate::types::decode_binary;
    use crate::types::logical_type_for_oid;

    #[test]
    fn plain_numerics_read_as_the_general_path_reads_them() {
        let cases = [
            "0",
            "-0",
            "+0",
            "5",
            "5.",
            ".5",
            "-.5",
            "17.00",
            "0500",
            "000.000",
            "-0.0001",
            "24386.67",
            "12345678901234567890123456789012345678",
            "0.1234567890123456789012345678901234567",
            "-99999999999999999999999999999999999999",
            "00000000000000000000000000000000000001",
        ];
        for case in cases {
            assert_eq!(plain_numeric(case), Some(any_numeric(case).unwrap()), "{case}");
        }
        for other in [
            "",
            ".",
            "-",
            "1e5",
            " 1",
            "1 ",
            "1.2.3",
            "nan",
            "1_000",
            "123456789012345678901234567890123456789",
        ] {
            assert_eq!(plain_numeric(other), None, "{other:?}");
        }
    }

    fn unhex(s: &str) -> Vec<u8> {
        (0..s.len()).step_by(2).map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap()).collect()
    }

    /// `text` read as `type_oid` equals what PostgreSQL 15 made of it: the hex is its
    /// `*_send(text::type)` output, decoded by our binary decoder.
    fn same_as_postgres(type_oid: u32, cases: &[(&str, &str)]) {
        for (text, pg_hex) in cases {
            let expected = decode_binary(type_oid, &unhex(pg_hex)).expect("reference decodes");
            assert_eq!(decode_text(type_oid, text, &TextStyle::default()), Ok(expected), "{text:?}");
        }
    }

    #[test]
    fn array_literals_become_lists_of_text() {
        let list = |text: &str| array_literal_as_list(text);
        assert_eq!(list("{1,2}"), Some(("['1', '2']".into(), 1)));
        assert_eq!(
            list(r#"{a,"b c",NULL,"NULL","it's"}"#),
            Some(("['a', 'b c', NULL, 'NULL', 'it''s']".into(), 1))
        );
        assert_eq!(list("{{1,2},{3,4}}"), Some(("[['1', '2'], ['3', '4']]".into(), 2)));
        assert_eq!(list("[0:1]={5,6}"), Some(("['5', '6']".into(), 1)));
        assert_eq!(list("{}"), Some(("[]".into(), 1)));
        assert_eq!(list("{{1,2},{3}}"), None);
        assert_eq!(list("{1,2"), None);
        assert_eq!(list("[1,2]"), None);
    }

    fn code(r: Result<Value, ValueError>) -> String {
        r.expect_err("should fail").code.code().to_owned()
    }

    #[test]
    fn intervals_read_like_postgres() {
        same_as_postgres(
            oid::INTERVAL,
            &[
                ("1 day 02:03:04", "00000001b81ee6000000000100000000"),
                ("@ 1 hour ago", "ffffffff296c5c000000000000000000"),
                ("P1Y2M3DT4H5M6.5S", "000000036c9361a0000000030000000e"),
                ("1.5 months", "00000000000000000000000f00000001"),
                ("3 days 4.000005 seconds", "00000000003d09050000000300000000"),
                ("-1 day, 23:59:59", "000000141dc81dc0ffffffff00000000"),
                ("0 years 0 mons 1 days 2 hours 3 mins 4.500000 secs", "00000001b82687200000000100000000"),
                ("1-2", "0000000000000000000000000000000e"),
                ("3 4:05:06", "000000036c8bc0800000000300000000"),
                ("10", "00000000009896800000000000000000"),
                ("1.5 years", "00000000000000000000000000000012"),
                ("1 week 2.5 days", "0000000a0eebb0000000000900000000"),
                ("PT1.5H", "0000000141dd76000000000000000000"),
                ("12:34.5", "000000002cf8c1a00000000000000000"),
                ("-1 days +01:00:00", "00000000d693a400ffffffff00000000"),
                ("1 year 2 mons 3 days 04:05:06.5", "000000036c9361a0000000030000000e"),
            ],
        );
    }

    #[test]
    fn timestamps_read_like_postgres() {
        let cases: &[(&str, &str, &str)] = &[
            ("2024-01-05 12:34:56.123456+02", "0002b12f2afb7640", "0002b130d822be40"),
            ("2024-01-05T12:34:56Z", "0002b130d820dc00", "0002b130d820dc00"),
            ("2024-01-05 12:34:56.1234567", "0002b130d822be41", "0002b130d822be41"),
            ("0044-03-15 12:00:00 BC", "ff1af9e8fb46d000", "ff1af9e8fb46d000"),
            ("2024-01-05 +02", "0002b1249f1f7800", "0002b1264c46c000"),
            ("2024-01-05 12:34:56-08:30", "0002b137f807ce00", "0002b130d820dc00"),
            ("epoch", "fffca2fec4c82000", "fffca2fec4c82000"),
            ("1999-12-31 24:00:00", "0000000000000000", "0000000000000000"),
            ("infinity", "7fffffffffffffff", "7fffffffffffffff"),
            ("-infinity", "8000000000000000", "8000000000000000"),
        ];
        for (text, tz, plain) in cases {
            same_as_postgres(oid::TIMESTAMPTZ, &[(text, tz)]);
            same_as_postgres(oid::TIMESTAMP, &[(text, plain)]);
        }
        same_as_postgres(
            oid::DATE,
            &[
                ("2024-01-05 +02", "00002242"),
                ("2024-02-29", "00002279"),
                ("0001-01-01 BC", "fff4da8b"),
                ("2024-01-05 12:34:56+05", "00002242"),
                (" infinity ", "7fffffff"),
            ],
        );
        same_as_postgres(
            oid::TIME,
            &[
                ("04:05:06.789-08", "000000036c97ca88"),
                ("24:00:00", "000000141dd76000"),
                ("2024-01-05 12:00", "0000000a0eebb000"),
                ("1:02", "00000000ddbab200"),
            ],
        );
    }

    #[test]
    fn scalars_read_like_postgres() {
        for t in ["t", "TRUE", " yes ", "on", "1", "y", "tru"] {
            assert_eq!(decode_text(oid::BOOL, t, &TextStyle::default()), Ok(Value::Bool(true)), "{t}");
        }
        for t in ["f", "false", "no", "off", "of", "0", "N"] {
            assert_eq!(decode_text(oid::BOOL, t, &TextStyle::default()), Ok(Value::Bool(false)), "{t}");
        }
        assert_eq!(decode_text(oid::INT2, " -32768 ", &TextStyle::default()), Ok(Value::SmallInt(i16::MIN)));
        assert_eq!(
            decode_text(oid::INT8, "+9223372036854775807", &TextStyle::default()),
            Ok(Value::BigInt(i64::MAX))
        );
        assert_eq!(
            decode_text(oid::OID, "4294967295", &TextStyle::default()),
            Ok(Value::BigInt(4_294_967_295))
        );
        assert_eq!(
            decode_text(oid::FLOAT8, "-Infinity", &TextStyle::default()),
            Ok(Value::Double(f64::NEG_INFINITY))
        );
        assert_eq!(decode_text(oid::FLOAT4, "1.5e3", &TextStyle::default()), Ok(Value::Float(1500.0)));
        assert!(
            matches!(decode_text(oid::FLOAT8, "NaN", &TextStyle::default()), Ok(Value::Double(f)) if f.is_nan())
        );
        assert!(
            matches!(decode_text(oid::NUMERIC, "nan", &TextStyle::default()), Ok(Value::Double(f)) if f.is_nan())
        );
        assert_eq!(
            decode_text(oid::NUMERIC, "-Infinity", &TextStyle::default()),
            Ok(Value::Double(f64::NEG_INFINITY))
        );
        let dec = |width, scale, value| Ok(Value::Decimal { width, scale, value });
        assert_eq!(decode_text(oid::NUMERIC, "-0.5", &TextStyle::default()), dec(1, 1, -5));
        assert_eq!(decode_text(oid::NUMERIC, "1e-20", &TextStyle::default()), dec(20, 20, 1));
        assert_eq!(decode_text(oid::NUMERIC, "1.5e3", &TextStyle::default()), dec(4, 0, 1500));
        assert_eq!(decode_text(oid::NUMERIC, " 00123.4500 ", &TextStyle::default()), dec(7, 4, 1_234_500));
        let huge = decode_text(oid::NUMERIC, "1e100000", &TextStyle::default()).unwrap();
        assert!(matches!(&huge, Value::Text(t) if t.len() == 100_001), "a 1 and 100000 zeros");
        assert_eq!(
            decode_text(oid::NUMERIC, "123456789012345678901234567890123456789.5", &TextStyle::default()),
            Ok(Value::Text("123456789012345678901234567890123456789.5".into()))
        );
        assert_eq!(
            decode_text(oid::BYTEA, "\\x00fF 10", &TextStyle::default()),
            Ok(Value::Blob(vec![0, 255, 16]))
        );
        assert_eq!(
            decode_text(oid::BYTEA, "a\\\\b\\001", &TextStyle::default()),
            Ok(Value::Blob(b"a\\b\x01".to_vec()))
        );
        assert_eq!(
            decode_text(oid::UUID, "{a0eebc99-9c0b4ef8-bb6d6bb9-bd380a11}", &TextStyle::default()),
            Ok(Value::Uuid(0xa0eebc999c0b4ef8bb6d6bb9bd380a11))
        );
        assert_eq!(decode_text(0, "anything", &TextStyle::default()), Ok(Value::Text("anything".into())));
        assert_eq!(
            decode_text(oid::JSON, "{\"a\":1}", &TextStyle::default()),
            Ok(Value::Text("{\"a\":1}".into()))
        );
        // Words only DuckDB may know go to its cast.
        assert_eq!(decode_text(oid::DATE, "today", &TextStyle::default()), Ok(Value::Text("today".into())));
    }

    #[test]
    fn text_arrays() {
        let list = |element, items| Ok(Value::List { element, items });
        let t = |s: &str| Value::Text(s.into());
        assert_eq!(
            decode_text(1007, "{1, 2,NULL}", &TextStyle::default()),
            list(LogicalType::Integer, vec![Value::Integer(1), Value::Integer(2), Value::Null])
        );
        assert_eq!(decode_text(1007, "{}", &TextStyle::default()), list(LogicalType::Integer, vec![]));
        assert_eq!(
            decode_text(1009, r#"{"a b","c\"d",null,"NULL", e\,f ,""}"#, &TextStyle::default()),
            list(LogicalType::Varchar, vec![t("a b"), t("c\"d"), Value::Null, t("NULL"), t("e,f"), t("")])
        );
        assert_eq!(
            decode_text(1005, "[0:1]={5,6}", &TextStyle::default()),
            list(LogicalType::SmallInt, vec![Value::SmallInt(5), Value::SmallInt(6)])
        );
        let row = |a, b| Value::List {
            element: LogicalType::Integer,
            items: vec![Value::Integer(a), Value::Integer(b)],
        };
        assert_eq!(
            decode_text(1007, "{{1,2},{3,4}}", &TextStyle::default()),
            list(LogicalType::List(Box::new(LogicalType::Integer)), vec![row(1, 2), row(3, 4)])
        );
        assert_eq!(
            decode_text(1231, "{1.5,0.25}", &TextStyle::default()),
            list(
                decimal_type(38, 2),
                vec![
                    Value::Decimal { width: 38, scale: 2, value: 150 },
                    Value::Decimal { width: 38, scale: 2, value: 25 },
                ]
            )
        );
        assert_eq!(
            decode_text(1231, "{1.5,NaN}", &TextStyle::default()),
            list(LogicalType::Varchar, vec![t("1.5"), t("NaN")])
        );
        assert_eq!(
            decode_text(1182, "{2024-01-05,today}", &TextStyle::default()),
            list(LogicalType::Varchar, vec![t("2024-01-05"), t("today")])
        );
        assert_eq!(
            decode_text(1000, "{t,f}", &TextStyle::default()),
            list(LogicalType::Boolean, vec![Value::Bool(true), Value::Bool(false)])
        );
    }

    #[test]
    fn malformed_text_gets_postgres_sqlstates() {
        let cases: &[(u32, &str, &str)] = &[
            (oid::INT4, "abc", "22P02"),
            (oid::INT4, "", "22P02"),
            (oid::INT4, "1.5", "22P02"),
            (oid::INT4, "2147483648", "22003"),
            (oid::INT2, "-32769", "22003"),
            (oid::INT8, "99999999999999999999999999999999999999999", "22003"),
            (oid::FLOAT8, "1e400", "22003"),
            (oid::FLOAT4, "1e39", "22003"),
            (oid::FLOAT8, "1e-400", "22003"),
            (oid::FLOAT8, "one", "22P02"),
            (oid::BOOL, "o", "22P02"),
            (oid::BOOL, "maybe", "22P02"),
            (oid::NUMERIC, "1.2.3", "22P02"),
            (oid::NUMERIC, "1e1000000", "22003"),
            (oid::NUMERIC, "1e-1000000", "22003"),
            (oid::NUMERIC, "-NaN", "22P02"),
            (oid::BYTEA, "\\xabc", "22P02"),
            (oid::BYTEA, "\\xzz", "22P02"),
            (oid::BYTEA, "a\\9", "22P02"),
            (oid::UUID, "a0eebc99-9c0b", "22P02"),
            (oid::DATE, "2024-02-30", "22008"),
            (oid::DATE, "0000-01-01", "22008"),
            (oid::DATE, "2024-01", "22007"),
            (oid::TIMESTAMP, "2024-01-05 25:00:00", "22008"),
            (oid::TIMESTAMP, "294248-01-01", "22008"),
            (oid::TIMESTAMPTZ, "2024-01-05 12:00:00+16", "22009"),
            (oid::TIME, "12:60", "22008"),
            (oid::INTERVAL, "1 day 1:2:3:4", "22007"),
            (oid::INTERVAL, "1 : 2", "22007"),
            (oid::INTERVAL, "99999999999 years", "22015"),
            (1007, "{1,2", "22P02"),
            (1007, "{{1,2},{3}}", "22P02"),
            (1007, "{1,{2}}", "22P02"),
            (1007, "1,2", "22P02"),
            (1007, "{1,x}", "22P02"),
            (1007, "{{{{{{{1}}}}}}}", "54000"),
        ];
        for (type_oid, text, expected) in cases {
            assert_eq!(
                code(decode_text(*type_oid, text, &TextStyle::default())),
                *expected,
                "{type_oid} {text:?}"
            );
        }
        assert_eq!(
            decode_text(oid::INT4, "abc", &TextStyle::default()).unwrap_err().message,
            "invalid input syntax for type integer: \"abc\""
        );
        assert_eq!(
            decode_text(oid::INT4, "2147483648", &TextStyle::default()).unwrap_err().message,
            "value \"2147483648\" is out of range for type integer"
        );
    }

    #[test]
    fn logical_types_for_client_oids() {
        assert_eq!(logical_type_for_oid(oid::INT4), Some(LogicalType::Integer));
        assert_eq!(logical_type_for_oid(1009), Some(LogicalType::List(Box::new(LogicalType::Varchar))));
        assert_eq!(logical_type_for_oid(oid::JSONB), Some(LogicalType::Json));
        assert_eq!(logical_type_for_oid(0), None);
        assert_eq!(logical_type_for_oid(oid::UNKNOWN), None);
    }
}
