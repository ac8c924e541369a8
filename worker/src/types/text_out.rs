//! One value of a DuckDB vector in PostgreSQL's text format.

use std::io::Write;

use libduckdb_sys::{duckdb_hugeint, duckdb_interval, duckdb_list_entry};

use super::{datetime_out, float, TextStyle};
use crate::duck::{EnumStorage, LogicalType, Vector};

/// Appends the text form of row `row` of `v` (which must not be NULL there) to `out`.
/// TIMESTAMP WITH TIME ZONE is shown in the session's time zone (`style`).
pub fn encode_text(ty: &LogicalType, v: &Vector<'_>, row: usize, out: &mut Vec<u8>, style: &TextStyle) {
    use LogicalType as L;
    match ty {
        L::Boolean => out.push(if v.values::<u8>()[row] != 0 { b't' } else { b'f' }),
        L::TinyInt => int(out, v.values::<i8>()[row]),
        L::SmallInt => int(out, v.values::<i16>()[row]),
        L::Integer => int(out, v.values::<i32>()[row]),
        L::BigInt => int(out, v.values::<i64>()[row]),
        L::UTinyInt => int(out, v.values::<u8>()[row]),
        L::USmallInt => int(out, v.values::<u16>()[row]),
        L::UInteger => int(out, v.values::<u32>()[row]),
        L::UBigInt => int(out, v.values::<u64>()[row]),
        L::HugeInt => int(out, v.hugeint(row)),
        L::UHugeInt => int(out, v.uhugeint(row)),
        L::Float => float::write_f32(out, v.values::<f32>()[row]),
        L::Double => float::write_f64(out, v.values::<f64>()[row]),
        L::Decimal { width, scale, storage } => {
            let (unscaled, scale) = super::shown_decimal(v.decimal(row, *storage), *width, *scale);
            write_decimal(out, unscaled, u32::from(scale));
        }
        L::Varchar | L::Json | L::Jsonb => out.extend_from_slice(v.bytes(row)),
        L::Blob => write_bytea(out, v.bytes(row)),
        L::Date => datetime_out::write_date(out, v.values::<i32>()[row], style),
        L::Time => datetime_out::write_time(out, v.values::<i64>()[row]),
        L::TimeTz => datetime_out::write_time_tz(out, v.values::<u64>()[row]),
        L::Timestamp => datetime_out::write_timestamp(out, v.values::<i64>()[row], style, false),
        L::TimestampS => datetime_out::write_timestamp(
            out,
            scale_infinite(v.values::<i64>()[row], 1_000_000),
            style,
            false,
        ),
        L::TimestampMs => {
            datetime_out::write_timestamp(out, scale_infinite(v.values::<i64>()[row], 1_000), style, false)
        }
        L::TimestampNs => {
            datetime_out::write_timestamp(out, nanos_to_micros(v.values::<i64>()[row]), style, false)
        }
        L::TimestampTz => datetime_out::write_timestamp(out, v.values::<i64>()[row], style, true),
        L::Interval => {
            let i: duckdb_interval = v.values::<duckdb_interval>()[row];
            datetime_out::write_interval(out, i.months, i.days, i.micros, style);
        }
        L::Uuid => write_uuid(out, v.values::<duckdb_hugeint>()[row]),
        L::Enum { storage, values } => {
            let index = match storage {
                EnumStorage::U8 => usize::from(v.values::<u8>()[row]),
                EnumStorage::U16 => usize::from(v.values::<u16>()[row]),
                EnumStorage::U32 => v.values::<u32>()[row] as usize,
            };
            out.extend_from_slice(values.get(index).map_or("", String::as_str).as_bytes());
        }
        L::List(child) => {
            let e: duckdb_list_entry = v.values::<duckdb_list_entry>()[row];
            write_array(out, child, &v.list_child(), e.offset as usize, e.length as usize, style);
        }
        L::Array { child, size } => {
            let n = *size as usize;
            write_array(out, child, &v.array_child(*size), row * n, n, style);
        }
        L::Vector { child, .. } => {
            // `1 2 3`, as int2vectorout writes it.
            let e: duckdb_list_entry = v.values::<duckdb_list_entry>()[row];
            let elements = v.list_child();
            for i in e.offset as usize..(e.offset + e.length) as usize {
                if i > e.offset as usize {
                    out.push(b' ');
                }
                encode_text(child, &elements, i, out, style);
            }
        }
        L::Struct(fields) => write_record(out, fields, v, row, style),
        L::Map { key, value } => write_map(out, key, value, v, row, style),
        L::Null => {}
        L::Other(id) => {
            let _ = write!(out, "<unsupported DuckDB type {id}>");
        }
    }
}

/// The bytes that values of a `plain_text` type are written with.
pub const PLAIN_TEXT_BYTES: &[u8] = b"0123456789+-:./ ";

/// Whether every value of this type is written with ASCII letters and
/// `PLAIN_TEXT_BYTES` only (numbers, dates, times and timestamps without a zone,
/// booleans, UUIDs): COPY need not look into them for bytes to escape or quote unless
/// its delimiter or quote is one of those.
pub fn plain_text(ty: &LogicalType) -> bool {
    use LogicalType as L;
    matches!(
        ty,
        L::Boolean
            | L::TinyInt
            | L::SmallInt
            | L::Integer
            | L::BigInt
            | L::UTinyInt
            | L::USmallInt
            | L::UInteger
            | L::UBigInt
            | L::HugeInt
            | L::UHugeInt
            | L::Float
            | L::Double
            | L::Decimal { .. }
            | L::Date
            | L::Time
            | L::Timestamp
            | L::TimestampS
            | L::TimestampMs
            | L::TimestampNs
            | L::Uuid
    )
}

/// Whether values of this type can be encoded; the session rejects a result with a
/// column that cannot, before sending anything.
pub fn is_supported(ty: &LogicalType) -> bool {
    match ty {
        LogicalType::Other(_) => false,
        LogicalType::List(c) | LogicalType::Vector { child: c, .. } | LogicalType::Array { child: c, .. } => {
            is_supported(c)
        }
        LogicalType::Struct(fields) => fields.iter().all(|(_, t)| is_supported(t)),
        LogicalType::Map { key, value } => is_supported(key) && is_supported(value),
        _ => true,
    }
}

fn int(out: &mut Vec<u8>, v: impl itoa::Integer) {
    out.extend_from_slice(itoa::Buffer::new().format(v).as_bytes());
}

/// Keeps DuckDB's infinities (±i64::MAX) while converting other values to microseconds.
fn scale_infinite(v: i64, factor: i64) -> i64 {
    if v == i64::MAX || v == -i64::MAX {
        v
    } else {
        v.saturating_mul(factor)
    }
}

fn nanos_to_micros(v: i64) -> i64 {
    if v == i64::MAX || v == -i64::MAX {
        v
    } else {
        v.div_euclid(1000)
    }
}

fn write_decimal(out: &mut Vec<u8>, unscaled: i128, scale: u32) {
    if unscaled < 0 {
        out.push(b'-');
    }
    let mut buffer = itoa::Buffer::new();
    // Formatting a u128 is several times slower than a u64, and most decimals fit one.
    let digits = match u64::try_from(unscaled.unsigned_abs()) {
        Ok(small) => buffer.format(small),
        Err(_) => buffer.format(unscaled.unsigned_abs()),
    }
    .as_bytes();
    let scale = scale as usize;
    if scale == 0 {
        return out.extend_from_slice(digits);
    }
    if digits.len() > scale {
        let point = digits.len() - scale;
        out.extend_from_slice(&digits[..point]);
        out.push(b'.');
        out.extend_from_slice(&digits[point..]);
    } else {
        out.extend_from_slice(b"0.");
        out.extend(std::iter::repeat_n(b'0', scale - digits.len()));
        out.extend_from_slice(digits);
    }
}

fn write_bytea(out: &mut Vec<u8>, bytes: &[u8]) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    out.reserve(2 + bytes.len() * 2);
    out.extend_from_slice(b"\\x");
    for b in bytes {
        out.push(HEX[usize::from(b >> 4)]);
        out.push(HEX[usize::from(b & 15)]);
    }
}

/// DuckDB stores a UUID as a HUGEINT with the top bit flipped, so that they sort.
fn write_uuid(out: &mut Vec<u8>, h: duckdb_hugeint) {
    let value = (u128::from(h.upper as u64 ^ (1 << 63)) << 64) | u128::from(h.lower);
    let hex = format!("{value:032x}");
    let _ = write!(out, "{}-{}-{}-{}-{}", &hex[0..8], &hex[8..12], &hex[12..16], &hex[16..20], &hex[20..32]);
}

/// PostgreSQL array text: `{1,2}`, `{{1,2},{3,4}}`, `{"a b",NULL}`.
fn write_array(
    out: &mut Vec<u8>,
    ty: &LogicalType,
    child: &Vector<'_>,
    offset: usize,
    len: usize,
    style: &TextStyle,
) {
    out.push(b'{');
    let mut element = Vec::new();
    for i in offset..offset + len {
        if i > offset {
            out.push(b',');
        }
        if !child.is_valid(i) {
            out.extend_from_slice(b"NULL");
            continue;
        }
        if matches!(ty, LogicalType::List(_) | LogicalType::Array { .. }) {
            encode_text(ty, child, i, out, style);
            continue;
        }
        element.clear();
        encode_text(ty, child, i, &mut element, style);
        write_quoted_if(out, &element, array_needs_quotes(&element), b'\\');
    }
    out.push(b'}');
}

fn array_needs_quotes(e: &[u8]) -> bool {
    e.is_empty()
        || e.eq_ignore_ascii_case(b"NULL")
        || e.iter().any(|b| matches!(b, b'{' | b'}' | b',' | b'"' | b'\\') || is_pg_space(*b))
}

fn is_pg_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | b'\r' | 0x0b | 0x0c)
}

/// Writes `element`, in double quotes if `quote`; inside quotes `"` and `\` are escaped
/// with `escape` (a backslash in arrays, doubling in records).
fn write_quoted_if(out: &mut Vec<u8>, element: &[u8], quote: bool, escape: u8) {
    if !quote {
        return out.extend_from_slice(element);
    }
    out.push(b'"');
    for &b in element {
        if b == b'"' || b == b'\\' {
            out.push(if escape == b'\\' { b'\\' } else { b });
        }
        out.push(b);
    }
    out.push(b'"');
}

/// PostgreSQL record text: `(1,"a b",)` with NULL fields empty.
fn write_record(
    out: &mut Vec<u8>,
    fields: &[(String, LogicalType)],
    v: &Vector<'_>,
    row: usize,
    style: &TextStyle,
) {
    out.push(b'(');
    let mut element = Vec::new();
    for (i, (_, ty)) in fields.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        let child = v.struct_child(i);
        if !child.is_valid(row) {
            continue;
        }
        element.clear();
        encode_text(ty, &child, row, &mut element, style);
        let quote = element.is_empty()
            || element.iter().any(|b| matches!(b, b'(' | b')' | b',' | b'"' | b'\\') || is_pg_space(*b));
        write_quoted_if(out, &element, quote, b'"');
    }
    out.push(b')');
}

/// DuckDB's own map text, `{k=v, k2=v2}`: PostgreSQL has no map type to imitate.
fn write_map(
    out: &mut Vec<u8>,
    key: &LogicalType,
    value: &LogicalType,
    v: &Vector<'_>,
    row: usize,
    style: &TextStyle,
) {
    let e: duckdb_list_entry = v.values::<duckdb_list_entry>()[row];
    let entries = v.list_child();
    let (keys, values) = (entries.struct_child(0), entries.struct_child(1));
    out.push(b'{');
    for i in e.offset as usize..(e.offset + e.length) as usize {
        if i > e.offset as usize {
            out.extend_from_slice(b", ");
        }
        encode_text(key, &keys, i, out, style);
        out.push(b'=');
        if values.is_valid(i) {
            encode_text(value, &values, i, out, style);
        } else {
            out.extend_from_slice(b"NULL");
        }
    }
    out.push(b'}');
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decimals_keep_their_scale() {
        let s = |v, scale| {
            let mut o = Vec::new();
            write_decimal(&mut o, v, scale);
            String::from_utf8(o).unwrap()
        };
        assert_eq!(s(150, 2), "1.50");
        assert_eq!(s(-5, 3), "-0.005");
        assert_eq!(s(42, 0), "42");
        assert_eq!(s(0, 2), "0.00");
    }

    #[test]
    fn uuid_undoes_the_sign_flip() {
        let mut o = Vec::new();
        // 00000000-0000-0000-0000-000000000001 is stored with the top bit flipped.
        write_uuid(&mut o, duckdb_hugeint { lower: 1, upper: i64::MIN });
        assert_eq!(o, b"00000000-0000-0000-0000-000000000001");
    }

    #[test]
    fn array_elements_are_quoted_like_postgres() {
        assert!(array_needs_quotes(b""));
        assert!(array_needs_quotes(b"null"));
        assert!(array_needs_quotes(b"a b"));
        assert!(array_needs_quotes(b"a,b"));
        assert!(!array_needs_quotes(b"abc"));
        let mut o = Vec::new();
        write_quoted_if(&mut o, br#"say "hi"\"#, true, b'\\');
        assert_eq!(o, br#""say \"hi\"\\""#);
    }
}
