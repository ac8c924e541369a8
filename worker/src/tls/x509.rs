//! Just enough DER to log which certificate a worker serves: the leaf's subject and
//! when it expires. Anything unexpected yields no summary rather than an error; rustls
//! and the client judge the certificate itself.

use std::fmt;
use std::time::{SystemTime, UNIX_EPOCH};

const SEQUENCE: u8 = 0x30;
const SET: u8 = 0x31;
const OID: u8 = 0x06;
const UTC_TIME: u8 = 0x17;
const GENERALIZED_TIME: u8 = 0x18;
const EXPLICIT_VERSION: u8 = 0xa0;

/// Attribute names for the subject, by the last byte of their `2.5.4.x` OID.
const ATTRIBUTES: &[(u8, &str)] = &[(3, "CN"), (6, "C"), (7, "L"), (8, "ST"), (10, "O"), (11, "OU")];

/// What is logged about a certificate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Summary {
    /// `CN=..., O=...`, the attributes we know by name.
    pub subject: String,
    /// `notAfter`, as seconds since the Unix epoch.
    pub not_after: i64,
}

impl Summary {
    pub fn expired(&self) -> bool {
        let now = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs() as i64);
        self.not_after < now
    }

    /// `notAfter` as `YYYY-MM-DD HH:MM:SS UTC`.
    pub fn expires(&self) -> impl fmt::Display {
        let days = self.not_after.div_euclid(86_400);
        let secs = self.not_after.rem_euclid(86_400);
        let (y, m, d) = civil_from_days(days);
        format!("{y:04}-{m:02}-{d:02} {:02}:{:02}:{:02} UTC", secs / 3600, secs / 60 % 60, secs % 60)
    }
}

/// The subject and expiry of a DER certificate.
pub fn summarize(der: &[u8]) -> Option<Summary> {
    let (_, cert, _) = tlv(der)?;
    let (_, mut tbs, _) = tlv(cert)?;
    let mut next = || -> Option<(u8, &[u8])> {
        let (tag, body, rest) = tlv(tbs)?;
        tbs = rest;
        Some((tag, body))
    };
    if next()?.0 == EXPLICIT_VERSION {
        let _serial = next()?;
    }
    let _signature = next()?;
    let _issuer = next()?;
    let (_, validity) = next()?;
    let (subject_tag, subject) = next()?;
    if subject_tag != SEQUENCE {
        return None;
    }
    let (_, _not_before, rest) = tlv(validity)?;
    let (time_tag, not_after, _) = tlv(rest)?;
    Some(Summary { subject: describe_name(subject)?, not_after: parse_time(time_tag, not_after)? })
}

/// Splits one DER element off the front: tag, contents, what follows.
fn tlv(buf: &[u8]) -> Option<(u8, &[u8], &[u8])> {
    let (&tag, rest) = buf.split_first()?;
    let (&first, rest) = rest.split_first()?;
    let (len, rest) = if first < 0x80 {
        (usize::from(first), rest)
    } else {
        let n = usize::from(first & 0x7f);
        if n == 0 || n > 4 || rest.len() < n {
            return None;
        }
        let len = rest[..n].iter().fold(0usize, |acc, &b| (acc << 8) | usize::from(b));
        (len, &rest[n..])
    };
    (rest.len() >= len).then(|| (tag, &rest[..len], &rest[len..]))
}

fn describe_name(mut rdns: &[u8]) -> Option<String> {
    let mut parts = Vec::new();
    while !rdns.is_empty() {
        let (tag, mut set, rest) = tlv(rdns)?;
        rdns = rest;
        if tag != SET {
            return None;
        }
        while !set.is_empty() {
            let (_, attribute, rest) = tlv(set)?;
            set = rest;
            let (oid_tag, oid, value) = tlv(attribute)?;
            let (_, value, _) = tlv(value)?;
            let name = match oid {
                [0x55, 0x04, last] if oid_tag == OID => ATTRIBUTES.iter().find(|(b, _)| b == last),
                _ => None,
            };
            if let Some((_, name)) = name {
                parts.push(format!("{name}={}", String::from_utf8_lossy(value)));
            }
        }
    }
    Some(parts.join(", "))
}

/// UTCTime `YYMMDDHHMMSSZ` or GeneralizedTime `YYYYMMDDHHMMSSZ`.
fn parse_time(tag: u8, text: &[u8]) -> Option<i64> {
    let text = std::str::from_utf8(text).ok()?.strip_suffix('Z')?;
    let (year, rest) = match tag {
        UTC_TIME if text.len() == 12 => {
            let yy: i64 = text[..2].parse().ok()?;
            (if yy >= 50 { 1900 + yy } else { 2000 + yy }, &text[2..])
        }
        GENERALIZED_TIME if text.len() == 14 => (text[..4].parse().ok()?, &text[4..]),
        _ => return None,
    };
    let field = |i: usize| rest.get(i..i + 2)?.parse::<i64>().ok();
    let (month, day, hour, minute, second) = (field(0)?, field(2)?, field(4)?, field(6)?, field(8)?);
    Some(days_from_civil(year, month, day) * 86_400 + hour * 3600 + minute * 60 + second)
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let doy = (153 * (m + if m > 2 { -3 } else { 9 }) + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (yoe + era * 400 + i64::from(m <= 2), m, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_round_trip() {
        for days in [-1, 0, 11_016, 19_782, 20_000, 2_932_896] {
            let (y, m, d) = civil_from_days(days);
            assert_eq!(days_from_civil(y, m, d), days, "{y}-{m}-{d}");
        }
        assert_eq!(parse_time(UTC_TIME, b"000229120000Z"), Some(951_825_600));
        assert_eq!(parse_time(GENERALIZED_TIME, b"20380119031408Z"), Some(2_147_483_648));
    }

    /// `openssl req -x509 -subj "/C=NL/O=mallard/CN=mallard test"`; openssl reads it as
    /// `notAfter=Nov 19 08:09:54 2036 GMT`.
    const CERT: &str = "-----BEGIN CERTIFICATE-----
MIIBwjCCAWegAwIBAgIUQOhRCOgvz2vPr7xpH4fg0d5oYCEwCgYIKoZIzj0EAwIw
NjELMAkGA1UEBhMCTkwxEDAOBgNVBAoMB21hbGxhcmQxFTATBgNVBAMMDG1hbGxh
cmQgdGVzdDAeFw0yNjExMjIwODA5NTRaFw0zNjExMTkwODA5NTRaMDYxCzAJBgNV
BAYTAk5MMRAwDgYDVQQKDAdtYWxsYXJkMRUwEwYDVQQDDAxtYWxsYXJkIHRlc3Qw
WTATBgcqhkjOPQIBBggqhkjOPQMBBwNCAAS5RAI4Josga72exfO3cV13WlTD43BE
g2+L63Gi7ky7MQZjZ6f1iWgfDNVQ9dRFVO0LEknNGAH8jYbZp5wGKHh3o1MwUTAd
BgNVHQ4EFgQUiBttVY1TNpOdY29cwrC7gPaTAW8wHwYDVR0jBBgwFoAUiBttVY1T
NpOdY29cwrC7gPaTAW8wDwYDVR0TAQH/BAUwAwEB/zAKBggqhkjOPQQDAgNJADBG
AiEA88X00BGgogu1ae2783j3k3OZRfcGdYsR4yTzDRoXWc0CIQCHL+FcbmTVQa24
ILAEMF5G1u//MXbsuK6vmpVbTPsjBA==
-----END CERTIFICATE-----
";

    #[test]
    fn a_certificate_is_summarized_as_openssl_reads_it() {
        use rustls::pki_types::pem::PemObject;
        let der = rustls::pki_types::CertificateDer::from_pem_slice(CERT.as_bytes()).unwrap();
        let summary = summarize(&der).unwrap();
        assert_eq!(summary.subject, "C=NL, O=mallard, CN=mallard test");
        assert_eq!(summary.expires().to_string(), "2036-11-19 08:09:54 UTC");
    }

    #[test]
    fn garbage_has_no_summary() {
        assert_eq!(summarize(b""), None);
        assert_eq!(summarize(&[0x30, 0x84, 0xff, 0xff, 0xff, 0xff]), None);
        assert_eq!(summarize(&[0x30, 0x03, 0x30, 0x01, 0x02]), None);
    }
}
