//! Floats in PostgreSQL's text format: the shortest digits that read back exactly
//! (`extra_float_digits > 0`, the default since PostgreSQL 12), fixed-point for decimal
//! exponents in `[-4, precision)` and `1e+20`-style otherwise.

use std::io::Write;

/// `precision` is 15 (`DBL_DIG`) for float8 and 6 (`FLT_DIG`) for float4.
fn write_shortest(
    out: &mut Vec<u8>,
    value: f64,
    fixed: impl Fn() -> String,
    sci: impl Fn() -> String,
    precision: i32,
) {
    if value.is_nan() {
        return out.extend_from_slice(b"NaN");
    }
    if value.is_infinite() {
        return out.extend_from_slice(if value > 0.0 { b"Infinity" } else { b"-Infinity" });
    }
    let sci = sci();
    let (mantissa, exp) = sci.split_once('e').expect("{:e} always has an exponent");
    let exp: i32 = exp.parse().expect("{:e} exponent is an integer");
    if value == 0.0 || (-4..precision).contains(&exp) {
        out.extend_from_slice(fixed().as_bytes());
    } else {
        let sign = if exp < 0 { '-' } else { '+' };
        let _ = write!(out, "{mantissa}e{sign}{:02}", exp.abs());
    }
}

pub fn write_f64(out: &mut Vec<u8>, v: f64) {
    write_shortest(out, v, || format!("{v}"), || format!("{v:e}"), 15);
}

pub fn write_f32(out: &mut Vec<u8>, v: f32) {
    write_shortest(out, f64::from(v), || format!("{v}"), || format!("{v:e}"), 6);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn f8(v: f64) -> String {
        let mut o = Vec::new();
        write_f64(&mut o, v);
        String::from_utf8(o).unwrap()
    }

    fn f4(v: f32) -> String {
        let mut o = Vec::new();
        write_f32(&mut o, v);
        String::from_utf8(o).unwrap()
    }

    #[test]
    fn matches_postgres_output() {
        assert_eq!(f8(0.1), "0.1");
        assert_eq!(f8(1.0), "1");
        assert_eq!(f8(-0.0), "-0");
        assert_eq!(f8(1e15), "1e+15");
        assert_eq!(f8(123456789012345.0), "123456789012345");
        assert_eq!(f8(0.0001), "0.0001");
        assert_eq!(f8(0.00001), "1e-05");
        assert_eq!(f8(1.5e300), "1.5e+300");
        assert_eq!(f8(f64::NAN), "NaN");
        assert_eq!(f8(f64::NEG_INFINITY), "-Infinity");
        assert_eq!(f4(0.1), "0.1");
        assert_eq!(f4(1e6), "1e+06");
        assert_eq!(f4(123456.0), "123456");
    }
}
