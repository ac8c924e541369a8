//! PostgreSQL's binary format: result values (`DataRow` and binary COPY out) encoded
//! from DuckDB vectors, and parameter values decoded from what a client sends.
//!
//! Each value is what the type's `*send` function writes in PostgreSQL: big-endian
//! integers and floats, days and microseconds since 2000-01-01, numeric as base-10000
//! digits, arrays with a dimension header and length-prefixed elements.

use libduckdb_sys::{duckdb_hugeint, duckdb_interval, duckdb_list_entry};
use std::fmt::Write as _;

use super::decode::{decimal_value, empty_list, nest, small_decimal, unify, ValueError, MAX_DIMS};
use super::{datetime_out, encode_text, oid, pg_type, TextStyle};
use crate::duck::{Fixed, LogicalType, Value, Vector};

/// Days from 1970-01-01 (DuckDB's epoch) to 2000-01-01 (PostgreSQL's).
const EPOCH_DAYS: i32 = 10_957;
const EPOCH_MICROS: i64 = EPOCH_DAYS as i64 * MICROS_PER_DAY;
const MICROS_PER_DAY: i64 = 86_400_000_000;
/// DuckDB's infinite date and timestamp; minus it is -infinity.
const DUCK_DATE_INFINITY: i32 = i32::MAX;
const DUCK_TIMESTAMP_INFINITY: i64 = i64::MAX;
/// Numeric's sign words.
const NUMERIC_POS: u16 = 0x0000;
const NUMERIC_NEG: u16 = 0x4000;
const NUMERIC_NAN: u16 = 0xC000;
const NUMERIC_PINF: u16 = 0xD000;
const NUMERIC_NINF: u16 = 0xF000;

/// Appends the PostgreSQL binary form of row `row` of `v` (not NULL there), for the type
/// `pg_type(ty)` reports.
pub fn encode_binary(ty: &LogicalType, v: &Vector<'_>, row: usize, out: &mut Vec<u8>, style: &TextStyle) {
    use LogicalType as L;
    match ty {
        L::Boolean => out.push(u8::from(v.values::<u8>()[row] != 0)),
        L::TinyInt => put(out, i16::from(v.values::<i8>()[row]).to_be_bytes()),
        L::SmallInt => put(out, v.values::<i16>()[row].to_be_bytes()),
        L::UTinyInt => put(out, i16::from(v.values::<u8>()[row]).to_be_bytes()),
        L::Integer => put(out, v.values::<i32>()[row].to_be_bytes()),
        L::USmallInt => put(out, i32::from(v.values::<u16>()[row]).to_be_bytes()),
        L::BigInt => put(out, v.values::<i64>()[row].to_be_bytes()),
        L::UInteger => put(out, v.values::<u32>()[row].to_be_bytes()),
        L::UBigInt => put_numeric(out, false, u128::from(v.values::<u64>()[row]), 0),
        L::HugeInt => {
            let h = v.hugeint(row);
            put_numeric(out, h < 0, h.unsigned_abs(), 0);
        }
        L::UHugeInt => put_numeric(out, false, v.uhugeint(row), 0),
        L::Float => put(out, v.values::<f32>()[row].to_be_bytes()),
        L::Double => put(out, v.values::<f64>()[row].to_be_bytes()),
        L::Decimal { width, scale, storage } => {
            let (unscaled, scale) = super::shown_decimal(v.decimal(row, *storage), *width, *scale);
            put_numeric(out, unscaled < 0, unscaled.unsigned_abs(), u16::from(scale));
        }
        L::Varchar | L::Json | L::Blob => out.extend_from_slice(v.bytes(row)),
        L::Jsonb => {
            out.push(1); // jsonb's version
            out.extend_from_slice(v.bytes(row));
        }
        L::Date => put(out, pg_date(v.values::<i32>()[row]).to_be_bytes()),
        L::Time => put(out, v.values::<i64>()[row].to_be_bytes()),
        L::TimeTz => {
            // 40 bits of microseconds, then 24 bits of MAX_OFFSET - offset (seconds east);
            // PostgreSQL counts the zone in seconds west.
            const MAX_OFFSET: i32 = 16 * 60 * 60 - 1;
            let bits = v.values::<u64>()[row];
            put(out, ((bits >> 24) as i64).to_be_bytes());
            put(out, ((bits & 0xff_ffff) as i32 - MAX_OFFSET).to_be_bytes());
        }
        L::Timestamp | L::TimestampTz => put_timestamp(out, v.values::<i64>()[row]),
        L::TimestampS => {
            put_timestamp(out, scale_finite(v.values::<i64>()[row], |s| s.saturating_mul(1_000_000)))
        }
        L::TimestampMs => {
            put_timestamp(out, scale_finite(v.values::<i64>()[row], |s| s.saturating_mul(1_000)))
        }
        L::TimestampNs => put_timestamp(out, scale_finite(v.values::<i64>()[row], |n| n.div_euclid(1_000))),
        L::Interval => {
            let i: duckdb_interval = v.values::<duckdb_interval>()[row];
            put(out, i.micros.to_be_bytes());
            put(out, i.days.to_be_bytes());
            put(out, i.months.to_be_bytes());
        }
        L::Uuid => {
            // DuckDB flips the top bit so that UUIDs sort as signed HUGEINTs.
            let h = v.values::<duckdb_hugeint>()[row];
            put(out, (h.upper as u64 ^ (1 << 63)).to_be_bytes());
            put(out, h.lower.to_be_bytes());
        }
        // int2vector_send and oidvector_send write the array format, of int2 and oid.
        L::Vector { oid, .. } => put_vector(out, *oid, ty, v, row),
        L::List(_) | L::Array { .. } => put_array(out, ty, v, row, style),
        L::Struct(fields) => put_record(out, fields, v, row, style),
        L::Enum { .. } | L::Map { .. } | L::Null | L::Other(_) => encode_text(ty, v, row, out, style),
    }
}

fn put<const N: usize>(out: &mut Vec<u8>, bytes: [u8; N]) {
    out.extend_from_slice(&bytes);
}

fn pg_date(days: i32) -> i32 {
    match days {
        DUCK_DATE_INFINITY => i32::MAX,
        d if d == -DUCK_DATE_INFINITY => i32::MIN,
        d => d - EPOCH_DAYS,
    }
}

/// Converts a DuckDB timestamp unit to microseconds, keeping the infinities.
fn scale_finite(v: i64, to_micros: impl FnOnce(i64) -> i64) -> i64 {
    if v == DUCK_TIMESTAMP_INFINITY || v == -DUCK_TIMESTAMP_INFINITY {
        v
    } else {
        to_micros(v)
    }
}

fn put_timestamp(out: &mut Vec<u8>, micros: i64) {
    let pg = match micros {
        DUCK_TIMESTAMP_INFINITY => i64::MAX,
        m if m == -DUCK_TIMESTAMP_INFINITY => i64::MIN,
        m => m.saturating_sub(EPOCH_MICROS),
    };
    put(out, pg.to_be_bytes());
}

/// `numeric_send` of `±magnitude / 10^scale`: digit count, weight (the power of 10000
/// of the first digit), sign, display scale, then base-10000 digits aligned so that the
/// decimal point falls between two of them, without leading or trailing zero digits.
fn put_numeric(out: &mut Vec<u8>, negative: bool, magnitude: u128, scale: u16) {
    // Least significant first. The lowest digit holds only the fraction's last
    // `scale % 4` decimal places (shifted up), so that the rest align to the point.
    let mut digits = [0u16; 12];
    let mut n = 0;
    let mut m = magnitude;
    let pad = (4 - u32::from(scale) % 4) % 4;
    if m != 0 {
        let first = 10u128.pow(4 - pad);
        digits[0] = ((m % first) * 10u128.pow(pad)) as u16;
        m /= first;
        n = 1;
        while m != 0 {
            digits[n] = (m % 10_000) as u16;
            m /= 10_000;
            n += 1;
        }
    }
    let frac_digits = (i32::from(scale) + 3) / 4;
    let weight = n as i32 - 1 - frac_digits;
    let low = digits[..n].iter().take_while(|d| **d == 0).count();
    let ndigits = n - low;
    let sign = if negative && ndigits > 0 { NUMERIC_NEG } else { NUMERIC_POS };
    put(out, (ndigits as i16).to_be_bytes());
    put(out, (if ndigits == 0 { 0 } else { weight as i16 }).to_be_bytes());
    put(out, sign.to_be_bytes());
    put(out, scale.to_be_bytes());
    for d in digits[low..n].iter().rev() {
        put(out, d.to_be_bytes());
    }
}

/// Runs `f` to append a value, preceded by its length.
fn length_prefixed(out: &mut Vec<u8>, f: impl FnOnce(&mut Vec<u8>)) {
    let at = out.len();
    out.extend_from_slice(&[0; 4]);
    f(out);
    let len = (out.len() - at - 4) as i32;
    out[at..at + 4].copy_from_slice(&len.to_be_bytes());
}

/// The element type, child vector and row range of a LIST or ARRAY value.
fn list_children<'c>(
    ty: &'c LogicalType,
    v: &Vector<'c>,
    row: usize,
) -> Option<(&'c LogicalType, Vector<'c>, usize, usize)> {
    match ty {
        LogicalType::List(child) | LogicalType::Vector { child, .. } => {
            let e: duckdb_list_entry = v.values::<duckdb_list_entry>()[row];
            Some((child, v.list_child(), e.offset as usize, e.length as usize))
        }
        LogicalType::Array { child, size } => {
            let n = *size as usize;
            Some((child, v.array_child(*size), row * n, n))
        }
        _ => None,
    }
}

/// `array_send`. Nested lists become one multi-dimensional array of the innermost
/// element when they are rectangular (no NULL or differently sized sub-lists), as
/// PostgreSQL requires; otherwise a one-dimensional array whose elements are arrays
/// themselves (with the array type as element type), which PostgreSQL never sends
/// but which keeps every value.
fn put_array(out: &mut Vec<u8>, ty: &LogicalType, v: &Vector<'_>, row: usize, style: &TextStyle) {
    let Some((element, child, offset, len)) = list_children(ty, v, row) else { return };
    let mut dims = vec![len];
    let (mut leaf_ty, mut leaf_vec, mut rows) = (element, child, (offset..offset + len).collect::<Vec<_>>());
    let mut rectangular = true;
    while matches!(leaf_ty, LogicalType::List(_) | LogicalType::Array { .. }) {
        let mut next = Vec::new();
        let mut inner = None;
        let mut next_ty = None;
        for &r in &rows {
            if !leaf_vec.is_valid(r) {
                rectangular = false;
                break;
            }
            let Some((t, c, off, n)) = list_children(leaf_ty, &leaf_vec, r) else { break };
            if *inner.get_or_insert(n) != n {
                rectangular = false;
                break;
            }
            next.extend(off..off + n);
            next_ty = Some((t, c));
        }
        if !rectangular || dims.len() == MAX_DIMS {
            rectangular = false;
            break;
        }
        dims.push(inner.unwrap_or(0));
        match next_ty {
            Some((t, c)) => (leaf_ty, leaf_vec, rows) = (t, c, next),
            // No sub-list at all: an empty array whatever its element.
            None => {
                rows.clear();
                break;
            }
        }
    }
    if !rectangular {
        let rows: Vec<usize> = (offset..offset + len).collect();
        return put_array_body(out, &[len], element, &child, &rows, style);
    }
    put_array_body(out, &dims, leaf_ty, &leaf_vec, &rows, style)
}

/// An int2vector (USMALLINT list) or oidvector (UHUGEINT list): a one-dimensional array
/// of int2 or oid, as int2vectorsend and oidvectorsend write it.
fn put_vector(out: &mut Vec<u8>, vector_oid: u32, ty: &LogicalType, v: &Vector<'_>, row: usize) {
    let Some((_, child, offset, len)) = list_children(ty, v, row) else { return };
    let int2 = vector_oid == crate::types::oid::INT2VECTOR;
    let element_oid = if int2 { crate::types::oid::INT2 } else { crate::types::oid::OID };
    put(out, 1i32.to_be_bytes());
    put(out, 0i32.to_be_bytes());
    put(out, element_oid.to_be_bytes());
    put(out, (len as i32).to_be_bytes());
    put(out, 0i32.to_be_bytes());
    for r in offset..offset + len {
        if int2 {
            put(out, 2i32.to_be_bytes());
            put(out, (child.values::<u16>()[r] as i16).to_be_bytes());
        } else {
            put(out, 4i32.to_be_bytes());
            // The catalog's OIDs are below 2^32; the wider type only marks the column.
            put(out, (child.uhugeint(r) as u32).to_be_bytes());
        }
    }
}

fn put_array_body(
    out: &mut Vec<u8>,
    dims: &[usize],
    element: &LogicalType,
    v: &Vector<'_>,
    rows: &[usize],
    style: &TextStyle,
) {
    let element_oid = pg_type(element).oid;
    if rows.is_empty() {
        // PostgreSQL's empty array has no dimensions, whatever its type, and names the
        // innermost element.
        let mut element = element;
        while let LogicalType::List(c) | LogicalType::Array { child: c, .. } = element {
            element = c;
        }
        let element_oid = pg_type(element).oid;
        put(out, 0i32.to_be_bytes());
        put(out, 0i32.to_be_bytes());
        return put(out, element_oid.to_be_bytes());
    }
    put(out, (dims.len() as i32).to_be_bytes());
    put(out, i32::from(rows.iter().any(|&r| !v.is_valid(r))).to_be_bytes());
    put(out, element_oid.to_be_bytes());
    for &d in dims {
        put(out, (d as i32).to_be_bytes());
        put(out, 1i32.to_be_bytes());
    }
    for &r in rows {
        put_field(out, element, v, r, style);
    }
}

/// A length-prefixed value, or -1 for NULL.
fn put_field(out: &mut Vec<u8>, ty: &LogicalType, v: &Vector<'_>, row: usize, style: &TextStyle) {
    if v.is_valid(row) {
        length_prefixed(out, |out| encode_binary(ty, v, row, out, style));
    } else {
        put(out, (-1i32).to_be_bytes());
    }
}

/// `record_send`: the field count, then each field's type OID and value.
fn put_record(
    out: &mut Vec<u8>,
    fields: &[(String, LogicalType)],
    v: &Vector<'_>,
    row: usize,
    style: &TextStyle,
) {
    put(out, (fields.len() as i32).to_be_bytes());
    for (i, (_, ty)) in fields.iter().enumerate() {
        put(out, pg_type(ty).oid.to_be_bytes());
        put_field(out, ty, &v.struct_child(i), row, style);
    }
}

/// A value the client sent in binary format, for type `oid` (a parameter, or a binary
/// COPY field).
pub fn decode_binary(oid: u32, bytes: &[u8]) -> Result<Value, ValueError> {
    if let Some(element) = oid::element_of(oid) {
        return decode_array(oid, element, bytes);
    }
    let mut r = Reader(bytes);
    let value = decode_scalar(oid, &mut r)?;
    if !r.0.is_empty() {
        return Err(ValueError::binary("incorrect binary data format"));
    }
    Ok(value)
}

/// The unread part of a binary value.
struct Reader<'a>(&'a [u8]);

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], ValueError> {
        if self.0.len() < n {
            return Err(ValueError::short());
        }
        let (head, rest) = self.0.split_at(n);
        self.0 = rest;
        Ok(head)
    }

    fn array<const N: usize>(&mut self) -> Result<[u8; N], ValueError> {
        let mut a = [0; N];
        a.copy_from_slice(self.take(N)?);
        Ok(a)
    }

    fn rest(&mut self) -> &'a [u8] {
        std::mem::take(&mut self.0)
    }

    fn i16(&mut self) -> Result<i16, ValueError> {
        self.array().map(i16::from_be_bytes)
    }

    fn u16(&mut self) -> Result<u16, ValueError> {
        self.array().map(u16::from_be_bytes)
    }

    fn i32(&mut self) -> Result<i32, ValueError> {
        self.array().map(i32::from_be_bytes)
    }

    fn i64(&mut self) -> Result<i64, ValueError> {
        self.array().map(i64::from_be_bytes)
    }
}

fn decode_scalar(type_oid: u32, r: &mut Reader<'_>) -> Result<Value, ValueError> {
    Ok(match type_oid {
        oid::BOOL => Value::Bool(r.array::<1>()?[0] != 0),
        oid::INT2 => Value::SmallInt(r.i16()?),
        oid::INT4 => Value::Integer(r.i32()?),
        oid::INT8 => Value::BigInt(r.i64()?),
        oid::OID => Value::BigInt(i64::from(r.i32()? as u32)),
        oid::FLOAT4 => Value::Float(f32::from_be_bytes(r.array()?)),
        oid::FLOAT8 => Value::Double(f64::from_be_bytes(r.array()?)),
        oid::NUMERIC => decode_numeric(r)?,
        oid::TEXT | oid::VARCHAR | oid::BPCHAR | oid::NAME | oid::CHAR | oid::UNKNOWN | oid::JSON => {
            Value::Text(utf8(r.rest())?)
        }
        oid::JSONB => match r.array::<1>()?[0] {
            1 => Value::Text(utf8(r.rest())?),
            v => return Err(ValueError::new("XX000", format!("unsupported jsonb version number {v}"))),
        },
        oid::BYTEA => Value::Blob(r.rest().to_vec()),
        oid::DATE => Value::Date(duck_date(r.i32()?)?),
        oid::TIME => Value::Time(time_of_day(r.i64()?)?),
        oid::TIMETZ => {
            let micros = time_of_day(r.i64()?)?;
            let west = r.i32()?;
            if west.unsigned_abs() > 16 * 3600 {
                return Err(ValueError::new("22009", "time zone displacement out of range"));
            }
            Value::Text(time_tz_text(micros, -west))
        }
        oid::TIMESTAMP => Value::Timestamp(duck_timestamp(r.i64()?)?),
        oid::TIMESTAMPTZ => Value::TimestampTz(duck_timestamp(r.i64()?)?),
        oid::INTERVAL => {
            let micros = r.i64()?;
            let days = r.i32()?;
            Value::Interval { months: r.i32()?, days, micros }
        }
        oid::UUID => Value::Uuid(u128::from_be_bytes(r.array()?)),
        other => {
            return Err(ValueError::new(
                "42883",
                format!("no binary input function available for type {other}"),
            ))
        }
    })
}

/// Text checked as PostgreSQL checks client text in UTF-8: valid, and without NUL.
fn utf8(bytes: &[u8]) -> Result<String, ValueError> {
    text_field(bytes).map(str::to_owned)
}

/// The binary form of `text`, `varchar` and `json`: UTF-8 without NUL bytes.
pub fn text_field(bytes: &[u8]) -> Result<&str, ValueError> {
    let bad_at = match std::str::from_utf8(bytes) {
        Ok(s) => match s.bytes().position(|b| b == 0) {
            None => return Ok(s),
            Some(nul) => nul,
        },
        Err(e) => e.valid_up_to(),
    };
    // Like PostgreSQL, show the bytes of the sequence the first byte announces.
    let first = bytes[bad_at];
    let announced = match first {
        0xc0..=0xdf => 2,
        0xe0..=0xef => 3,
        0xf0..=0xf7 => 4,
        _ => 1,
    };
    let shown: Vec<String> = bytes[bad_at..].iter().take(announced).map(|b| format!("0x{b:02x}")).collect();
    Err(ValueError::new("22021", format!("invalid byte sequence for encoding \"UTF8\": {}", shown.join(" "))))
}

fn duck_date(pg: i32) -> Result<i32, ValueError> {
    match pg {
        i32::MAX => Ok(DUCK_DATE_INFINITY),
        i32::MIN => Ok(-DUCK_DATE_INFINITY),
        // PostgreSQL's own range: 4714-11-24 BC up to (not including) 5874898-01-01.
        d if (-2_451_545..2_145_031_949).contains(&d) => Ok(d + EPOCH_DAYS),
        _ => Err(ValueError::new("22008", "date out of range")),
    }
}

fn time_of_day(micros: i64) -> Result<i64, ValueError> {
    if (0..=MICROS_PER_DAY).contains(&micros) {
        Ok(micros)
    } else {
        Err(ValueError::new("22008", "time out of range"))
    }
}

fn duck_timestamp(pg: i64) -> Result<i64, ValueError> {
    const PG_MIN: i64 = -211_813_488_000_000_000;
    match pg {
        i64::MAX => Ok(DUCK_TIMESTAMP_INFINITY),
        i64::MIN => Ok(-DUCK_TIMESTAMP_INFINITY),
        // DuckDB's range ends before PostgreSQL's (in the year 294247).
        t if t >= PG_MIN => t
            .checked_add(EPOCH_MICROS)
            .filter(|t| *t < DUCK_TIMESTAMP_INFINITY)
            .ok_or_else(|| ValueError::new("22008", "timestamp out of range")),
        _ => Err(ValueError::new("22008", "timestamp out of range")),
    }
}

/// A TIME WITH TIME ZONE as text for DuckDB's cast (there is no TIMETZ value to bind).
fn time_tz_text(micros: i64, east: i32) -> String {
    let mut out = Vec::new();
    datetime_out::write_time(&mut out, micros);
    let a = east.unsigned_abs();
    let sign = if east < 0 { '-' } else { '+' };
    let mut s = String::from_utf8(out).unwrap_or_default();
    s.push_str(&format!("{sign}{:02}:{:02}:{:02}", a / 3600, a / 60 % 60, a % 60));
    s
}

/// `numeric_recv`: NaN and the infinities become doubles (DuckDB's DECIMAL has none);
/// digits past the display scale are truncated, as PostgreSQL does.
fn decode_numeric(r: &mut Reader<'_>) -> Result<Value, ValueError> {
    let numeric = Numeric::read(r)?;
    match numeric.sign {
        NUMERIC_NAN => return Ok(Value::Double(f64::NAN)),
        NUMERIC_PINF => return Ok(Value::Double(f64::INFINITY)),
        NUMERIC_NINF => return Ok(Value::Double(f64::NEG_INFINITY)),
        _ => {}
    }
    let negative = numeric.sign == NUMERIC_NEG;
    let scale = usize::from(numeric.dscale);
    if let Some(decimal) = numeric.magnitude().and_then(|m| small_decimal(negative, m, scale)) {
        return Ok(decimal);
    }
    let (first, last) = numeric.powers();
    let mut text = String::with_capacity(((first - last + 1) * 4) as usize);
    for power in (last..=first).rev() {
        let _ = write!(text, "{:04}", numeric.digit_at(power));
    }
    text.truncate(text.len() - (-last * 4) as usize + scale);
    Ok(decimal_value(negative, &text, scale))
}

/// A binary `numeric`, its header and base-10000 digits checked as `numeric_recv`
/// checks them.
struct Numeric<'a> {
    weight: i32,
    sign: u16,
    dscale: u16,
    /// Big-endian base-10000 digits, two bytes each, the first of weight `weight`.
    digits: &'a [u8],
}

impl<'a> Numeric<'a> {
    fn read(r: &mut Reader<'a>) -> Result<Numeric<'a>, ValueError> {
        let ndigits = r.u16()?;
        let weight = r.i16()?;
        let sign = r.u16()?;
        if ![NUMERIC_POS, NUMERIC_NEG, NUMERIC_NAN, NUMERIC_PINF, NUMERIC_NINF].contains(&sign) {
            return Err(ValueError::binary("invalid sign in external \"numeric\" value"));
        }
        let dscale = r.u16()?;
        if dscale & 0x3fff != dscale {
            return Err(ValueError::binary("invalid scale in external \"numeric\" value"));
        }
        let digits = r.take(usize::from(ndigits) * 2)?;
        if digits.chunks_exact(2).any(|pair| !(0..10_000).contains(&i16::from_be_bytes([pair[0], pair[1]]))) {
            return Err(ValueError::binary("invalid digit in external \"numeric\" value"));
        }
        Ok(Numeric { weight: i32::from(weight), sign, dscale, digits })
    }

    /// The base-10000 digit of weight `power` (0 outside the digits sent).
    fn digit_at(&self, power: i32) -> u16 {
        usize::try_from(self.weight - power)
            .ok()
            .and_then(|i| self.digits.get(i * 2..i * 2 + 2))
            .map_or(0, |pair| u16::from_be_bytes([pair[0], pair[1]]))
    }

    /// The weights of the first integer digit and of the last digit the scale shows.
    fn powers(&self) -> (i32, i32) {
        (self.weight.max(0), -((i32::from(self.dscale) + 3) / 4))
    }

    /// The absolute value times `10^dscale`, if it fits an `i128` and the scale is at
    /// most 38: the common case, with no text on the way.
    fn magnitude(&self) -> Option<i128> {
        if self.dscale > 38 {
            return None;
        }
        let (first, last) = self.powers();
        let mut value = 0i128;
        for power in (last..=first).rev() {
            value = value.checked_mul(10_000)?.checked_add(i128::from(self.digit_at(power)))?;
        }
        Some(value / 10i128.pow((-last * 4) as u32 - u32::from(self.dscale)))
    }
}

/// A field of a fixed-size type (booleans, integers, floats, dates, timestamps, a
/// `numeric` of at most 38 digits) read straight into DuckDB's form, without the
/// [`Value`] or the error [`decode_binary`] builds. `None` for other types and for
/// anything unusual (a wrong length, a value out of range, a NaN), which
/// [`decode_binary`] then decodes or refuses with PostgreSQL's message.
pub fn decode_fixed(type_oid: u32, bytes: &[u8]) -> Option<Fixed> {
    fn be<const N: usize>(bytes: &[u8]) -> Option<[u8; N]> {
        bytes.try_into().ok()
    }
    Some(match type_oid {
        oid::BOOL => Fixed::Bool(be::<1>(bytes)?[0] != 0),
        oid::INT2 => Fixed::SmallInt(i16::from_be_bytes(be(bytes)?)),
        oid::INT4 => Fixed::Integer(i32::from_be_bytes(be(bytes)?)),
        oid::INT8 => Fixed::BigInt(i64::from_be_bytes(be(bytes)?)),
        oid::FLOAT4 => Fixed::Float(f32::from_be_bytes(be(bytes)?)),
        oid::FLOAT8 => Fixed::Double(f64::from_be_bytes(be(bytes)?)),
        oid::DATE => Fixed::Date(duck_date(i32::from_be_bytes(be(bytes)?)).ok()?),
        oid::TIMESTAMP => Fixed::Timestamp(duck_timestamp(i64::from_be_bytes(be(bytes)?)).ok()?),
        oid::TIMESTAMPTZ => Fixed::TimestampTz(duck_timestamp(i64::from_be_bytes(be(bytes)?)).ok()?),
        oid::NUMERIC => {
            let mut r = Reader(bytes);
            let numeric = Numeric::read(&mut r).ok()?;
            if !r.0.is_empty() || !matches!(numeric.sign, NUMERIC_POS | NUMERIC_NEG) {
                return None;
            }
            let magnitude = numeric.magnitude().filter(|m| *m < 10i128.pow(38))?;
            let value = if numeric.sign == NUMERIC_NEG { -magnitude } else { magnitude };
            Fixed::Decimal { scale: numeric.dscale as u8, value }
        }
        _ => return None,
    })
}

/// `array_recv` for an array of `element`. Lower bounds other than 1 are accepted, as
/// PostgreSQL does, and dropped: a DuckDB list always starts at 1. Several dimensions
/// become nested lists.
fn decode_array(array_oid: u32, element: u32, bytes: &[u8]) -> Result<Value, ValueError> {
    let mut r = Reader(bytes);
    let ndim = r.i32()?;
    let flags = r.i32()?;
    let sent_element = r.i32()? as u32;
    if ndim < 0 {
        return Err(ValueError::binary(format!("invalid number of dimensions: {ndim}")));
    }
    if ndim as usize > MAX_DIMS {
        return Err(ValueError::new(
            "54000",
            format!("number of array dimensions ({ndim}) exceeds the maximum allowed ({MAX_DIMS})"),
        ));
    }
    if flags != 0 && flags != 1 {
        return Err(ValueError::binary("invalid array flags"));
    }
    if sent_element != element {
        return Err(ValueError::new(
            "42804",
            format!("binary data has array element type {sent_element} instead of expected {element} (array type {array_oid})"),
        ));
    }
    const MAX_ITEMS: usize = 134_217_727;
    let too_big =
        || ValueError::new("54000", format!("array size exceeds the maximum allowed ({MAX_ITEMS})"));
    let mut dims = Vec::with_capacity(ndim as usize);
    for _ in 0..ndim {
        let (dim, lower) = (r.i32()?, r.i32()?);
        if dim < 0 {
            return Err(too_big());
        }
        if lower.checked_add(dim).is_none() {
            return Err(ValueError::new("54000", format!("array lower bound is too large: {lower}")));
        }
        dims.push(dim as usize);
    }
    let count = dims
        .iter()
        .try_fold(1usize, |n, d| n.checked_mul(*d).filter(|n| *n <= MAX_ITEMS))
        .ok_or_else(too_big)?;
    if dims.is_empty() || count == 0 {
        return finish(r, empty_list(element));
    }
    // Every element takes at least its 4-byte length.
    if count > r.0.len() / 4 {
        return Err(ValueError::binary("insufficient data left in message"));
    }
    let mut values = Vec::with_capacity(count);
    for i in 0..count {
        let len = r.i32().map_err(|_| ValueError::binary("insufficient data left in message"))?;
        if len == -1 {
            values.push(Value::Null);
            continue;
        }
        if len < 0 || len as usize > r.0.len() {
            return Err(ValueError::binary("insufficient data left in message"));
        }
        let mut item = Reader(r.take(len as usize)?);
        values.push(decode_scalar(element, &mut item)?);
        if !item.0.is_empty() {
            return Err(ValueError::binary(format!("improper binary format in array element {}", i + 1)));
        }
    }
    let (ty, values) = unify(element, values);
    finish(r, nest(ty, values, &dims))
}

fn finish(r: Reader<'_>, value: Value) -> Result<Value, ValueError> {
    if r.0.is_empty() {
        Ok(value)
    } else {
        Err(ValueError::binary("incorrect binary data format"))
    }
}

#[cfg(test)]
mod tests {
    //! Expected bytes come from a PostgreSQL 15.18: `select int4send(...)`,
    //! `numeric_send(...)`, `array_send(...)`, `record_send(...)` etc., whose bytea
    //! results psql printed as hex.

    use std::sync::Arc;

    use super::*;
    use crate::duck::{Connection, Database};

    /// The binary encoding of each column of the one row `sql` returns (None for NULL).
    fn encode_row(sql: &str) -> Vec<Option<String>> {
        let db = Arc::new(Database::open(":memory:", &[]).expect("open DuckDB"));
        let conn = Connection::connect(&db).expect("connect");
        let stmt = conn.prepare(sql).expect("prepare");
        let mut result = stmt.execute().expect("execute");
        let types: Vec<LogicalType> = (0..result.column_count()).map(|i| result.column_type(i)).collect();
        let chunk = result.next_chunk().expect("fetch").expect("one row");
        types
            .iter()
            .enumerate()
            .map(|(i, ty)| {
                let v = chunk.vector(i);
                v.is_valid(0).then(|| {
                    let mut out = Vec::new();
                    encode_binary(ty, &v, 0, &mut out, &TextStyle::default());
                    hex(&out)
                })
            })
            .collect()
    }

    fn hex(bytes: &[u8]) -> String {
        bytes.iter().map(|b| format!("{b:02x}")).collect()
    }

    fn unhex(s: &str) -> Vec<u8> {
        (0..s.len()).step_by(2).map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap()).collect()
    }

    fn assert_encodes(sql: &str, expected: &[&str]) {
        let got = encode_row(sql);
        let got: Vec<&str> = got.iter().map(|c| c.as_deref().unwrap_or("NULL")).collect();
        assert_eq!(got, expected, "{sql}");
    }

    #[test]
    fn integers_and_floats() {
        assert_encodes(
            "select -2::SMALLINT, 32767::SMALLINT, (-2147483648)::INTEGER, 9223372036854775807::BIGINT, -1::BIGINT",
            &["fffe", "7fff", "80000000", "7fffffffffffffff", "ffffffffffffffff"],
        );
        // Widened as pg_type reports them: int2send(-2), int2send(255), int4send(65535);
        // UINTEGER is oid: oidsend(4294967295).
        assert_encodes(
            "select -2::TINYINT, 255::UTINYINT, 65535::USMALLINT, 4294967295::UINTEGER",
            &["fffe", "00ff", "0000ffff", "ffffffff"],
        );
        assert_encodes(
            "select 1.5::FLOAT, 'NaN'::FLOAT, '-Infinity'::DOUBLE, 0.1::DOUBLE, true, false",
            &["3fc00000", "7fc00000", "fff0000000000000", "3fb999999999999a", "01", "00"],
        );
    }

    #[test]
    fn numerics() {
        assert_encodes(
            "select 0::DECIMAL(1,0), 0.00::DECIMAL(3,2), -0.5::DECIMAL(2,1), 1e-20::DECIMAL(38,20), \
             12345678.9::DECIMAL(9,1), -1.50::DECIMAL(4,2), 123.45000::DECIMAL(8,5)",
            &[
                "0000000000000000",
                "0000000000000002",
                "0001ffff400000011388",
                "0001fffb000000140001",
                "000300010000000104d2162e2328",
                "000200004000000200011388",
                "0002000000000005007b1194",
            ],
        );
        assert_encodes(
            "select 170141183460469231731687303715884105727::HUGEINT, \
             340282366920938463463374607431768211455::UHUGEINT, 100000000::UBIGINT, \
             1000000000000000000000000000000::HUGEINT",
            &[
                "000a00090000000000aa0583209a01d5090d0c601c871bf620da165f",
                "000a00090000000001540b071a2403aa121a18c111ff10dd1aa505af",
                "00010002000000000001",
                "00010007000000000064",
            ],
        );
    }

    /// A numeric's binary form reads as the same value as its text.
    #[test]
    fn numerics_read_as_their_text_reads() {
        let cases = [
            "0",
            "0.00",
            "-0.5",
            "17.00",
            "24386.67",
            "-1.50",
            "123.45000",
            "0.0001",
            "10000",
            "99999999.99999999",
            "12345678901234567890123456789012345678",
            "-0.1234567890123456789012345678901234567",
            "123456789012345678901234567890123456789",
            "0.000000000000000000000000000000000000001",
        ];
        for text in cases {
            let digits: String = text.chars().filter(char::is_ascii_digit).collect();
            let scale = text.split_once('.').map_or(0, |(_, f)| f.len());
            let mut bytes = Vec::new();
            put_numeric(&mut bytes, text.starts_with('-'), digits.parse().unwrap(), scale as u16);
            assert_eq!(
                decode_binary(oid::NUMERIC, &bytes).unwrap(),
                crate::types::decode_text(oid::NUMERIC, text, &TextStyle::default()).unwrap(),
                "{text}"
            );
        }
    }

    #[test]
    fn dates_and_times() {
        assert_encodes(
            "select DATE '2024-01-05', DATE '1970-01-01', 'infinity'::DATE, '-infinity'::DATE, \
             make_date(0, 12, 31), TIME '12:34:56.5', TIME '24:00:00'",
            &[
                "00002242",
                "ffffd533",
                "7fffffff",
                "80000000",
                "fff4dbf8",
                "0000000a8be1bd20",
                "000000141dd76000",
            ],
        );
        // timetz_send: microseconds, then the zone in seconds west.
        assert_encodes(
            "select '12:34:56.5+05:30'::TIMETZ, '01:02:03-08'::TIMETZ",
            &["0000000a8be1bd20ffffb2a8", "00000000dde878c000007080"],
        );
        assert_encodes(
            "select TIMESTAMP '2024-01-05 12:34:56.5', 'infinity'::TIMESTAMP, '-infinity'::TIMESTAMP, \
             '2024-01-05 12:34:56.5+02'::TIMESTAMPTZ, TIMESTAMP '1969-12-31 23:59:59.999999', \
             '2024-01-05 12:34:56'::TIMESTAMP_S, '2024-01-05 12:34:56.5'::TIMESTAMP_MS, \
             '2024-01-05 12:34:56.5'::TIMESTAMP_NS, 'infinity'::TIMESTAMP_S",
            &[
                "0002b130d8287d20",
                "7fffffffffffffff",
                "8000000000000000",
                "0002b12f2b013520",
                "fffca2fec4c81fff",
                "0002b130d820dc00",
                "0002b130d8287d20",
                "0002b130d8287d20",
                "7fffffffffffffff",
            ],
        );
        assert_encodes(
            "select INTERVAL '1 year 2 months 3 days 04:05:06.5', INTERVAL '-1 day' + INTERVAL '1 hour', \
             -INTERVAL '1 hour'",
            &[
                "000000036c9361a0000000030000000e",
                "00000000d693a400ffffffff00000000",
                "ffffffff296c5c000000000000000000",
            ],
        );
    }

    #[test]
    fn text_like_and_raw() {
        assert_encodes(
            "select 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11'::UUID, '\\x00\\xFF\\x10'::BLOB, 'héllo', \
             '{\"a\":1}'::JSON, 'x'::ENUM('x', 'y'), NULL",
            &["a0eebc999c0b4ef8bb6d6bb9bd380a11", "00ff10", "68c3a96c6c6f", "7b2261223a317d", "78", "NULL"],
        );
    }

    #[test]
    fn arrays_and_records() {
        assert_encodes(
            "select [1, 2, NULL]::INTEGER[], []::INTEGER[], [[1, 2], [3, 4]]::BIGINT[][], ['a b', 'c'], \
             [1.5, NULL]::DECIMAL(2,1)[], [[1, 2], [3, 4]]::INTEGER[2][2], [[], []]::BIGINT[][]",
            &[
                "000000010000000100000017000000030000000100000004000000010000000400000002ffffffff",
                "000000000000000000000017",
                "00000002000000000000001400000002000000010000000200000001000000080000000000000001\
                 000000080000000000000002000000080000000000000003000000080000000000000004",
                "0000000100000000000000190000000200000001000000036120620000000163",
                "0000000100000001000006a400000002000000010000000c000200000000000100011388ffffffff",
                "00000002000000000000001700000002000000010000000200000001000000040000000100000004\
                 0000000200000004000000030000000400000004",
                "000000000000000000000014",
            ],
        );
        // record_send(row(1::int4, 'x'::text, null::bool)).
        assert_encodes(
            "select {'a': 1::INTEGER, 'b': 'x', 'c': NULL::BOOLEAN}",
            &["0000000300000017000000040000000100000019000000017800000010ffffffff"],
        );
    }

    #[test]
    fn ragged_lists_become_arrays_of_arrays() {
        // Elements are array_send('{1}'::int4[]) and array_send('{2,3}'::int4[]).
        let one = "00000001000000000000001700000001000000010000000400000001";
        let two_three = "000000010000000000000017000000020000000100000004000000020000000400000003";
        let expected =
            format!("0000000100000000{:08x}0000000200000001{:08x}{one}{:08x}{two_three}", 1007, 28, 36);
        assert_encodes("select [[1], [2, 3]]::INTEGER[][]", &[&expected]);
        let with_null = format!("0000000100000001{:08x}0000000200000001{:08x}{one}ffffffff", 1007, 28);
        assert_encodes("select [[1], NULL]::INTEGER[][]", &[&with_null]);
    }

    fn decode(oid: u32, hex: &str) -> Result<Value, ValueError> {
        decode_binary(oid, &unhex(hex))
    }

    fn code(r: Result<Value, ValueError>) -> String {
        r.expect_err("should fail").code.code().to_owned()
    }

    #[test]
    fn decodes_postgres_bytes() {
        use Value as V;
        assert_eq!(decode(oid::INT2, "fffe"), Ok(V::SmallInt(-2)));
        assert_eq!(decode(oid::INT4, "80000000"), Ok(V::Integer(i32::MIN)));
        assert_eq!(decode(oid::INT8, "7fffffffffffffff"), Ok(V::BigInt(i64::MAX)));
        assert_eq!(decode(oid::OID, "ffffffff"), Ok(V::BigInt(4_294_967_295)));
        assert_eq!(decode(oid::FLOAT4, "3fc00000"), Ok(V::Float(1.5)));
        assert!(matches!(decode(oid::FLOAT4, "7fc00000"), Ok(V::Float(f)) if f.is_nan()));
        assert_eq!(decode(oid::FLOAT8, "fff0000000000000"), Ok(V::Double(f64::NEG_INFINITY)));
        assert_eq!(decode(oid::BOOL, "02"), Ok(V::Bool(true)));
        assert_eq!(decode(oid::BOOL, "00"), Ok(V::Bool(false)));
        assert_eq!(decode(oid::TEXT, "68c3a96c6c6f"), Ok(V::Text("héllo".into())));
        assert_eq!(decode(oid::JSONB, "017b2261223a20317d"), Ok(V::Text("{\"a\": 1}".into())));
        assert_eq!(decode(oid::BYTEA, "00ff10"), Ok(V::Blob(vec![0, 255, 16])));
        assert_eq!(
            decode(oid::UUID, "a0eebc999c0b4ef8bb6d6bb9bd380a11"),
            Ok(V::Uuid(0xa0eebc999c0b4ef8bb6d6bb9bd380a11))
        );
        assert_eq!(decode(oid::DATE, "00002242"), Ok(V::Date(19_727)));
        assert_eq!(decode(oid::DATE, "7fffffff"), Ok(V::Date(i32::MAX)));
        assert_eq!(decode(oid::DATE, "80000000"), Ok(V::Date(-i32::MAX)));
        assert_eq!(decode(oid::TIME, "000000141dd76000"), Ok(V::Time(MICROS_PER_DAY)));
        assert_eq!(
            decode(oid::TIMETZ, "0000000a8be1bd20ffffb2a8"),
            Ok(V::Text("12:34:56.5+05:30:00".into()))
        );
        assert_eq!(decode(oid::TIMESTAMP, "0002b130d8287d20"), Ok(V::Timestamp(1_704_458_096_500_000)));
        assert_eq!(decode(oid::TIMESTAMPTZ, "8000000000000000"), Ok(V::TimestampTz(-i64::MAX)));
        assert_eq!(decode(oid::TIMESTAMP, "fffca2fec4c81fff"), Ok(V::Timestamp(-1)));
        assert_eq!(
            decode(oid::INTERVAL, "000000036c9361a0000000030000000e"),
            Ok(V::Interval { months: 14, days: 3, micros: 14_706_500_000 })
        );
    }

    #[test]
    fn decodes_numerics() {
        let dec = |width, scale, value| Ok(Value::Decimal { width, scale, value });
        assert_eq!(decode(oid::NUMERIC, "0000000000000000"), dec(1, 0, 0));
        assert_eq!(decode(oid::NUMERIC, "0000000000000002"), dec(2, 2, 0));
        assert_eq!(decode(oid::NUMERIC, "0001ffff400000011388"), dec(1, 1, -5));
        assert_eq!(decode(oid::NUMERIC, "0001fffb000000140001"), dec(20, 20, 1));
        assert_eq!(decode(oid::NUMERIC, "000300010000000104d2162e2328"), dec(9, 1, 123_456_789));
        assert_eq!(decode(oid::NUMERIC, "0002000000000005007b1194"), dec(8, 5, 12_345_000));
        assert_eq!(decode(oid::NUMERIC, "00010007000000000064"), dec(31, 0, 10i128.pow(30)));
        // 2^128 - 1 has 39 digits: more than a DECIMAL holds.
        assert_eq!(
            decode(oid::NUMERIC, "000a00090000000001540b071a2403aa121a18c111ff10dd1aa505af"),
            Ok(Value::Text("340282366920938463463374607431768211455".into()))
        );
        assert!(matches!(decode(oid::NUMERIC, "00000000c0000000"), Ok(Value::Double(f)) if f.is_nan()));
        assert_eq!(decode(oid::NUMERIC, "00000000d0000020"), Ok(Value::Double(f64::INFINITY)));
        assert_eq!(decode(oid::NUMERIC, "00000000f0000020"), Ok(Value::Double(f64::NEG_INFINITY)));
        // Digits the display scale hides are truncated (1.2345 with dscale 2 is 1.23).
        assert_eq!(decode(oid::NUMERIC, "000200000000000200010929"), dec(3, 2, 123));
        // A weight far beyond 38 digits: 1e400 as text.
        let big = decode(oid::NUMERIC, "00010064000000000001").unwrap();
        assert!(matches!(&big, Value::Text(t) if t.len() == 401 && t.starts_with("10000")), "{big:?}");
    }

    /// The fast path COPY takes reads what `decode_binary` reads, and leaves to it
    /// what it would refuse or turn into something else (NaN, 39 digits, wrong lengths,
    /// out-of-range dates).
    #[test]
    fn fixed_fields_read_as_decode_binary_reads() {
        let same = |fixed: Fixed, value: Value| match (fixed, value) {
            (Fixed::Bool(a), Value::Bool(b)) => a == b,
            (Fixed::SmallInt(a), Value::SmallInt(b)) => a == b,
            (Fixed::Integer(a), Value::Integer(b)) | (Fixed::Date(a), Value::Date(b)) => a == b,
            (Fixed::BigInt(a), Value::BigInt(b))
            | (Fixed::Timestamp(a), Value::Timestamp(b))
            | (Fixed::TimestampTz(a), Value::TimestampTz(b)) => a == b,
            (Fixed::Float(a), Value::Float(b)) => a.to_bits() == b.to_bits(),
            (Fixed::Double(a), Value::Double(b)) => a.to_bits() == b.to_bits(),
            (Fixed::Decimal { scale, value }, Value::Decimal { scale: s, value: v, .. }) => {
                (scale, value) == (s, v)
            }
            _ => false,
        };
        let cases = [
            (oid::BOOL, "01"),
            (oid::INT2, "fffe"),
            (oid::INT4, "7fffffff"),
            (oid::INT8, "8000000000000000"),
            (oid::FLOAT4, "3fc00000"),
            (oid::FLOAT8, "7ff8000000000000"),
            (oid::DATE, "00000000"),
            (oid::DATE, "7fffffff"),
            (oid::DATE, "80000000"),
            (oid::TIMESTAMP, "0000000000000001"),
            (oid::TIMESTAMPTZ, "7fffffffffffffff"),
            (oid::NUMERIC, "0000000000000002"),
            (oid::NUMERIC, "0001ffff400000011388"),
            (oid::NUMERIC, "0001fffb000000140001"),
            (oid::NUMERIC, "000300010000000104d2162e2328"),
            (oid::NUMERIC, "000200000000000200010929"),
            (oid::NUMERIC, "00010007000000000064"),
        ];
        for (type_oid, hex) in cases {
            let bytes = unhex(hex);
            let fixed =
                decode_fixed(type_oid, &bytes).unwrap_or_else(|| panic!("{type_oid} {hex}: no fast path"));
            let value = decode_binary(type_oid, &bytes).unwrap();
            assert!(same(fixed, value.clone()), "{type_oid} {hex}: {fixed:?} vs {value:?}");
        }
        let slow = [
            (oid::INT4, "000001"),
            (oid::INT8, "00000001"),
            (oid::DATE, "7ffffffe"),
            (oid::NUMERIC, "00000000c0000000"),
            (oid::NUMERIC, "00000000d0000020"),
            (oid::NUMERIC, "000a00090000000001540b071a2403aa121a18c111ff10dd1aa505af"),
            (oid::NUMERIC, "00010064000000000001"),
            (oid::NUMERIC, "0001ffff400000012710"),
            (oid::NUMERIC, "0001ffff40000001138800"),
            (oid::TEXT, "61"),
        ];
        for (type_oid, hex) in slow {
            assert_eq!(decode_fixed(type_oid, &unhex(hex)), None, "{type_oid} {hex}");
        }
    }

    #[test]
    fn decodes_arrays() {
        let ints = |items: Vec<Value>| Value::List { element: LogicalType::Integer, items };
        assert_eq!(
            decode(1007, "000000010000000100000017000000030000000100000004000000010000000400000002ffffffff"),
            Ok(ints(vec![Value::Integer(1), Value::Integer(2), Value::Null]))
        );
        assert_eq!(decode(1007, "000000000000000000000017"), Ok(ints(vec![])));
        // array_send('[0:1]={5,6}'::int2[]): the lower bound is dropped.
        assert_eq!(
            decode(1005, "0000000100000000000000150000000200000000000000020005000000020006"),
            Ok(Value::List {
                element: LogicalType::SmallInt,
                items: vec![Value::SmallInt(5), Value::SmallInt(6)]
            })
        );
        let two_d = decode(
            1016,
            "00000002000000000000001400000002000000010000000200000001000000080000000000000001\
             000000080000000000000002000000080000000000000003000000080000000000000004",
        );
        let row = |a, b| Value::List {
            element: LogicalType::BigInt,
            items: vec![Value::BigInt(a), Value::BigInt(b)],
        };
        assert_eq!(
            two_d,
            Ok(Value::List {
                element: LogicalType::List(Box::new(LogicalType::BigInt)),
                items: vec![row(1, 2), row(3, 4)]
            })
        );
        // numeric[] {1.5, NULL, 12.25}: decimals brought to one scale.
        let mut numerics =
            unhex("0000000100000001000006a400000003000000010000000c000200000000000100011388ffffffff");
        numerics[15] = 3;
        numerics.extend(unhex("0000000c0002000000000002000c09c4"));
        assert_eq!(
            decode_binary(1231, &numerics),
            Ok(Value::List {
                element: super::super::decode::decimal_type(38, 2),
                items: vec![
                    Value::Decimal { width: 38, scale: 2, value: 150 },
                    Value::Null,
                    Value::Decimal { width: 38, scale: 2, value: 1225 }
                ]
            })
        );
        // {1.5, NaN} has no common DuckDB type but text.
        let mut with_nan = unhex("0000000100000000000006a400000002000000010000000c0002000000000001000113880000000800000000c0000000");
        with_nan[15] = 2;
        assert_eq!(
            decode_binary(1231, &with_nan),
            Ok(Value::List {
                element: LogicalType::Varchar,
                items: vec![Value::Text("1.5".into()), Value::Text("NaN".into())]
            })
        );
    }

    #[test]
    fn malformed_binary_values_get_postgres_sqlstates() {
        // Each SQLSTATE and message checked against PostgreSQL 15 with a Bind message.
        assert_eq!(code(decode(oid::INT4, "0001")), "08P01");
        assert_eq!(decode(oid::INT4, "000000010203").unwrap_err().message, "incorrect binary data format");
        assert_eq!(code(decode(oid::INT8, "00000000")), "08P01");
        assert_eq!(code(decode(oid::UUID, "0102")), "08P01");
        assert_eq!(code(decode(oid::BOOL, "")), "08P01");
        assert_eq!(code(decode(oid::NUMERIC, "000000000000")), "08P01");
        assert_eq!(code(decode(oid::NUMERIC, "00010000100000000001")), "22P03");
        assert_eq!(code(decode(oid::NUMERIC, "00010000000040000001")), "22P03");
        assert_eq!(code(decode(oid::NUMERIC, "0001000000000000ffff")), "22P03");
        // 65535 digits claimed, none sent: rejected before allocating them.
        assert_eq!(code(decode(oid::NUMERIC, "ffff0000000000000001")), "08P01");
        assert_eq!(code(decode(1007, "00000001000000020000001700000001000000010000000400000005")), "22P03");
        assert_eq!(code(decode(1007, "00000001000000000000001400000001000000010000000400000005")), "42804");
        assert_eq!(code(decode(1007, "000000010000000000000017000000010000000100000002")), "22P03");
        assert_eq!(code(decode(1007, "000000010000000000000017ffffffff00000001")), "54000");
        assert_eq!(code(decode(1007, "0000000100000000000000177fffffff00000001")), "54000");
        assert_eq!(code(decode(1007, "000000010000000000000017000fffff00000001")), "22P03");
        assert_eq!(code(decode(1007, "000000070000000000000017")), "54000");
        assert_eq!(code(decode(1007, "ffffffff0000000000000017")), "22P03");
        assert_eq!(code(decode(1007, "00000001000000000000001700000001000000010000000500000000ff")), "22P03");
        assert_eq!(
            decode(oid::TEXT, "ff00").unwrap_err().message,
            "invalid byte sequence for encoding \"UTF8\": 0xff"
        );
        assert_eq!(
            decode(oid::TEXT, "6100").unwrap_err().message,
            "invalid byte sequence for encoding \"UTF8\": 0x00"
        );
        assert_eq!(
            decode(oid::TEXT, "c328").unwrap_err().message,
            "invalid byte sequence for encoding \"UTF8\": 0xc3 0x28"
        );
        assert_eq!(code(decode(oid::JSONB, "027b7d")), "XX000");
        assert_eq!(code(decode(oid::DATE, "7ffffff0")), "22008");
        assert_eq!(code(decode(oid::TIMESTAMP, "7ffffffffffffff0")), "22008");
        assert_eq!(code(decode(oid::TIME, "000000141dd76001")), "22008");
        assert_eq!(code(decode(600, "00")), "42883");
    }

    #[test]
    fn round_trips_through_duckdb_vectors() {
        // Each value encoded from a DuckDB vector decodes to the value DuckDB holds.
        let cases: &[(&str, u32, Value)] = &[
            ("(-32768)::SMALLINT", oid::INT2, Value::SmallInt(i16::MIN)),
            ("2147483647::INTEGER", oid::INT4, Value::Integer(i32::MAX)),
            ("(-9223372036854775808)::BIGINT", oid::INT8, Value::BigInt(i64::MIN)),
            ("'-Infinity'::FLOAT", oid::FLOAT4, Value::Float(f32::NEG_INFINITY)),
            ("1e308::DOUBLE", oid::FLOAT8, Value::Double(1e308)),
            (
                "-123456789012345678901234567890.12345678::DECIMAL(38,8)",
                oid::NUMERIC,
                Value::Decimal {
                    width: 38,
                    scale: 8,
                    value: -12_345_678_901_234_567_890_123_456_789_012_345_678,
                },
            ),
            ("0.0001::DECIMAL(5,4)", oid::NUMERIC, Value::Decimal { width: 4, scale: 4, value: 1 }),
            ("10000::DECIMAL(5,0)", oid::NUMERIC, Value::Decimal { width: 5, scale: 0, value: 10_000 }),
            ("'0001-01-01'::DATE", oid::DATE, Value::Date(-719_162)),
            ("'-infinity'::DATE", oid::DATE, Value::Date(-i32::MAX)),
            ("'infinity'::TIMESTAMPTZ", oid::TIMESTAMPTZ, Value::TimestampTz(i64::MAX)),
            (
                "'1900-03-04 05:06:07.000008'::TIMESTAMP",
                oid::TIMESTAMP,
                Value::Timestamp(-2_203_613_632_999_992),
            ),
            ("'23:59:59.999999'::TIME", oid::TIME, Value::Time(MICROS_PER_DAY - 1)),
            (
                "INTERVAL '-7 months -3 days -00:00:01'",
                oid::INTERVAL,
                Value::Interval { months: -7, days: -3, micros: -1_000_000 },
            ),
            ("'\\x00\\x01'::BLOB", oid::BYTEA, Value::Blob(vec![0, 1])),
            ("''", oid::TEXT, Value::Text(String::new())),
            ("'00000000-0000-0000-0000-000000000001'::UUID", oid::UUID, Value::Uuid(1)),
            ("'ffffffff-ffff-ffff-ffff-ffffffffffff'::UUID", oid::UUID, Value::Uuid(u128::MAX)),
            ("[]::DATE[]", 1182, Value::List { element: LogicalType::Date, items: vec![] }),
            (
                "[NULL, true]::BOOLEAN[]",
                1000,
                Value::List { element: LogicalType::Boolean, items: vec![Value::Null, Value::Bool(true)] },
            ),
            (
                "['x', NULL, '']",
                1009,
                Value::List {
                    element: LogicalType::Varchar,
                    items: vec![Value::Text("x".into()), Value::Null, Value::Text(String::new())],
                },
            ),
        ];
        for (sql, type_oid, expected) in cases {
            let encoded = encode_row(&format!("select {sql}"));
            let bytes = unhex(encoded[0].as_deref().expect("not NULL"));
            assert_eq!(decode_binary(*type_oid, &bytes).as_ref(), Ok(expected), "{sql}");
        }
    }

    #[test]
    fn arbitrary_input_never_panics() {
        // A fixed xorshift sequence: random bytes for every OID's binary decoder and
        // random PostgreSQL-ish text for the text decoder, both must return, not panic.
        let mut state = 0x2545_f491_4f6c_dd1du64;
        let mut next = move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        let alphabet = b"0123456789-+:.,{}\" PTYMDHSaegnoy@x";
        let mut oids: Vec<u32> = crate::types::builtin::TYPES
            .iter()
            .filter(|t| t.is_base())
            .flat_map(|t| [t.array, t.oid])
            .collect();
        oids.push(oid::UNKNOWN);
        for _ in 0..3000 {
            let type_oid = oids[next() as usize % oids.len()];
            let len = next() as usize % 40;
            let mut bytes: Vec<u8> = (0..len).map(|_| next() as u8).collect();
            if let Some(element) = oid::element_of(type_oid) {
                // Mostly well-formed headers, so that element decoding is reached.
                let mut head = vec![0, 0, 0, (next() % 3) as u8, 0, 0, 0, (next() % 2) as u8];
                head.extend(element.to_be_bytes());
                head.extend([0, 0, 0, (next() % 4) as u8, 0, 0, 0, 1]);
                bytes.splice(0..0, head);
            }
            let _ = decode_binary(type_oid, &bytes);
            let text: String =
                (0..len).map(|_| char::from(alphabet[next() as usize % alphabet.len()])).collect();
            let _ = super::super::decode_text(type_oid, &text, &TextStyle::default());
        }
    }
}
