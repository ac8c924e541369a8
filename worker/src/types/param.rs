//! Parameter values a client sends in text format (Bind, and text COPY fields), turned
//! into the [`Value`]s DuckDB binds, plus what the text and binary decoders share: the
//! error type, numeric values and the element typing of arrays.
//!
//! Only where DuckDB's own VARCHAR cast would read PostgreSQL's input syntax differently
//! (or not at all) is the text parsed here: booleans, integers, floats, numeric, bytea,
//! uuid, the date/time types and arrays. Everything else goes to DuckDB as text and is
//! cast to the parameter's type there.

use mallard_protocol::pg::SqlState;

use super::{datetime_in, logical_type_for_oid, oid};
use crate::duck::{DecimalStorage, LogicalType, Value};

/// A parameter value the client sent that its type cannot hold, with the SQLSTATE and
/// message PostgreSQL reports for it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct ValueError {
    pub code: SqlState,
    pub message: String,
}

impl ValueError {
    pub(super) fn new(code: &str, message: impl Into<String>) -> ValueError {
        // Every caller passes one of the literal codes below.
        let code = SqlState::from_code(code).unwrap_or(SqlState::INTERNAL_ERROR);
        ValueError { code, message: message.into() }
    }

    /// 22P02: text that is not a value of the type.
    pub(super) fn syntax(type_name: &str, text: &str) -> ValueError {
        ValueError::new("22P02", format!("invalid input syntax for type {type_name}: \"{text}\""))
    }

    /// 22003.
    pub(super) fn out_of_range(message: impl Into<String>) -> ValueError {
        ValueError::new("22003", message)
    }

    /// 08P01, as PostgreSQL reports a binary value shorter than its type (22P03 inside
    /// an array).
    pub(super) fn short() -> ValueError {
        ValueError::new("08P01", "insufficient data left in message")
    }

    /// 22P03.
    pub(super) fn binary(message: impl Into<String>) -> ValueError {
        ValueError::new("22P03", message)
    }
}

/// A value the client sent in text format for type `oid` (0 or unknown OIDs → text).
pub fn decode_text(oid: u32, text: &str) -> Result<Value, ValueError> {
    if let Some(element) = oid::element_of(oid) {
        return decode_text_array(element, text);
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
        oid::DATE => datetime_in::date(text)?,
        oid::TIME => datetime_in::time(text)?,
        oid::TIMESTAMP => datetime_in::timestamp(text, false)?,
        oid::TIMESTAMPTZ => datetime_in::timestamp(text, true)?,
        oid::INTERVAL => datetime_in::interval(text)?,
        _ => Value::Text(text.to_owned()),
    })
}

/// PostgreSQL's whitespace for input functions (`isspace` in the C locale).
pub(super) fn is_space(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\n' | '\r' | '\x0b' | '\x0c')
}

pub(super) fn trim(text: &str) -> &str {
    text.trim_matches(is_space)
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

/// `int2in`/`int4in`/`int8in`: optional whitespace and sign, decimal digits only.
fn parse_int<T: TryFrom<i128>>(text: &str, type_name: &str) -> Result<T, ValueError> {
    let t = trim(text);
    let digits = t.strip_prefix(['+', '-']).unwrap_or(t);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(ValueError::syntax(type_name, text));
    }
    let out_of_range =
        || ValueError::out_of_range(format!("value \"{text}\" is out of range for type {type_name}"));
    // More than 39 digits overflows i128 itself; the value is out of range either way.
    let wide: i128 = t.parse().map_err(|_| out_of_range())?;
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
            // numeric_in's limit; it also bounds the zeros appended below.
            if e.abs() > 1000 {
                return Err(bad());
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

/// The value of `digits` (decimal digits, possibly with leading zeros) divided by
/// `10^scale`: a DECIMAL when it fits DuckDB's 38 digits, else its text, which DuckDB
/// casts to whatever the statement needs.
pub(super) fn decimal_value(negative: bool, digits: &str, scale: usize) -> Value {
    let mut digits = if digits.len() < scale + 1 {
        format!("{}{digits}", "0".repeat(scale + 1 - digits.len()))
    } else {
        digits.to_owned()
    };
    let mut scale = scale;
    let significant = |d: &str, scale: usize| d.trim_start_matches('0').len().max(scale).max(1);
    // Trailing fractional zeros only set the display scale; drop them if that is what
    // keeps the value within 38 digits.
    while (significant(&digits, scale) > 38 || scale > 38) && scale > 0 && digits.ends_with('0') {
        digits.pop();
        scale -= 1;
    }
    let width = significant(&digits, scale);
    if width <= 38 && scale <= 38 {
        if let Ok(v) = digits.parse::<i128>() {
            let value = if negative { -v } else { v };
            return Value::Decimal { width: width as u8, scale: scale as u8, value };
        }
    }
    let (int_part, frac) = digits.split_at(digits.len() - scale);
    let int_part = int_part.trim_start_matches('0');
    let sign = if negative && digits.bytes().any(|b| b != b'0') { "-" } else { "" };
    let int_part = if int_part.is_empty() { "0" } else { int_part };
    let point = if frac.is_empty() { "" } else { "." };
    Value::Text(format!("{sign}{int_part}{point}{frac}"))
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
fn decode_text_array(element: u32, text: &str) -> Result<Value, ValueError> {
    let malformed = || ValueError::new("22P02", format!("malformed array literal: \"{text}\""));
    let mut body = trim(text);
    if body.starts_with('[') {
        let eq = body.find('=').ok_or_else(malformed)?;
        body = trim(&body[eq + 1..]);
    }
    let mut parser = ArrayParser { s: body.as_bytes(), pos: 0 };
    if !body.starts_with('{') {
        return Err(malformed());
    }
    let tree = parser.node(0).ok_or_else(malformed)?;
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
            Some(s) => decode_text(element, s)?,
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

enum Node {
    Array(Vec<Node>),
    /// An element's text; `None` is an unquoted NULL.
    Leaf(Option<String>),
}

struct ArrayParser<'a> {
    s: &'a [u8],
    pos: usize,
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

/// PostgreSQL's `MAXDIM`.
pub(super) const MAX_DIMS: usize = 6;

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

/// The DuckDB type of the values the decoders produce for `element` (text for the types
/// passed through to DuckDB's cast).
pub(super) fn element_type(element: u32) -> LogicalType {
    match element {
        oid::JSON | oid::JSONB | oid::TIMETZ => LogicalType::Varchar,
        oid::OID => LogicalType::BigInt,
        other => logical_type_for_oid(other).unwrap_or(LogicalType::Varchar),
    }
}

pub(super) fn empty_list(element: u32) -> Value {
    Value::List { element: element_type(element), items: Vec::new() }
}

/// The element type of a list of decoded values and the values in it. Numerics are the
/// one type whose values differ in DuckDB type (each decimal has its own scale; NaN is a
/// double): decimals are brought to a common scale, or all go as text if that is not
/// possible.
pub(super) fn unify(element: u32, values: Vec<Value>) -> (LogicalType, Vec<Value>) {
    if element != oid::NUMERIC {
        return (element_type(element), values);
    }
    let scale = values
        .iter()
        .filter_map(|v| if let Value::Decimal { scale, .. } = v { Some(*scale) } else { None })
        .max();
    let rescaled: Option<Vec<Value>> = values
        .iter()
        .map(|v| match v {
            Value::Null => Some(Value::Null),
            Value::Decimal { scale: s, value, .. } => {
                let target = scale?;
                let v = value.checked_mul(10i128.checked_pow(u32::from(target - s))?)?;
                (v.unsigned_abs() < 10u128.pow(38)).then_some(Value::Decimal {
                    width: 38,
                    scale: target,
                    value: v,
                })
            }
            _ => None,
        })
        .collect();
    match (rescaled, scale) {
        (Some(values), Some(scale)) => (decimal_type(38, scale), values),
        (Some(values), None) => (element_type(element), values),
        (None, _) => (LogicalType::Varchar, values.into_iter().map(numeric_text).collect()),
    }
}

pub(super) fn decimal_type(width: u8, scale: u8) -> LogicalType {
    let storage = match width {
        0..=4 => DecimalStorage::I16,
        5..=9 => DecimalStorage::I32,
        10..=18 => DecimalStorage::I64,
        _ => DecimalStorage::I128,
    };
    LogicalType::Decimal { width, scale, storage }
}

/// A decoded numeric as PostgreSQL's text.
fn numeric_text(v: Value) -> Value {
    Value::Text(match v {
        Value::Null => return Value::Null,
        Value::Text(t) => t,
        Value::Double(d) if d.is_nan() => "NaN".to_owned(),
        Value::Double(d) => if d > 0.0 { "Infinity" } else { "-Infinity" }.to_owned(),
        Value::Decimal { scale, value, .. } => {
            let digits = format!("{:0>width$}", value.unsigned_abs(), width = usize::from(scale) + 1);
            let (i, f) = digits.split_at(digits.len() - usize::from(scale));
            let sign = if value < 0 { "-" } else { "" };
            if f.is_empty() {
                format!("{sign}{i}")
            } else {
                format!("{sign}{i}.{f}")
            }
        }
        other => format!("{other:?}"),
    })
}

/// Splits a flat row-major list of `element` values into nested lists of `dims`.
pub(super) fn nest(element: LogicalType, mut values: Vec<Value>, dims: &[usize]) -> Value {
    let Some((&inner, outer)) = dims.split_last() else {
        return Value::List { element, items: values };
    };
    if outer.is_empty() {
        return Value::List { element, items: values };
    }
    let rows: Vec<Value> = {
        let mut rows = Vec::with_capacity(values.len() / inner.max(1));
        while !values.is_empty() {
            let rest = values.split_off(inner.min(values.len()));
            rows.push(Value::List { element: element.clone(), items: std::mem::replace(&mut values, rest) });
        }
        rows
    };
    nest(LogicalType::List(Box::new(element)), rows, outer)
}
