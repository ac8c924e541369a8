//! What the text and binary decoders of client values share: the error type with
//! PostgreSQL's SQLSTATEs, numeric values, and the typing and nesting of arrays.

use mallard_protocol::pg::SqlState;

use super::{logical_type_for_oid, oid};
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

/// PostgreSQL's whitespace for input functions (`isspace` in the C locale).
pub(super) fn is_space(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\n' | '\r' | '\x0b' | '\x0c')
}

pub(super) fn trim(text: &str) -> &str {
    // Byte by byte: the spaces are ASCII, so the ends found are character boundaries.
    let space = |b: &u8| is_space(char::from(*b));
    let bytes = text.as_bytes();
    let start = bytes.iter().position(|b| !space(b)).unwrap_or(bytes.len());
    let end = bytes.iter().rposition(|b| !space(b)).map_or(start, |e| e + 1);
    &text[start..end]
}

/// The value of `digits` (decimal digits, possibly with leading zeros) divided by
/// `10^scale`: a DECIMAL when it fits DuckDB's 38 digits, else its text, which DuckDB
/// casts to whatever the statement needs.
/// The value `decimal_value` gives for `magnitude / 10^scale`, when it has at most 38
/// digits: its width is its digits without leading zeros, at least the scale, at least 1.
pub(super) fn small_decimal(negative: bool, magnitude: i128, scale: usize) -> Option<Value> {
    let digits = magnitude.checked_ilog10().map_or(0, |l| l as usize + 1);
    let width = digits.max(scale).max(1);
    let value = if negative { -magnitude } else { magnitude };
    (width <= 38).then_some(Value::Decimal { width: width as u8, scale: scale as u8, value })
}

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

/// PostgreSQL's `MAXDIM`.
pub(super) const MAX_DIMS: usize = 6;

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
