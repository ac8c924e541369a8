//! `startup::decode`: the first packet of a connection.

use proptest::collection::vec;
use proptest::prelude::*;

use super::*;
use crate::pg::startup::{self, Request, StartupError, MAX_CANCEL_SECRET, MAX_STARTUP_PACKET};
use crate::pg::{SqlState, PROTOCOL_3_0};

// The request codes as the PostgreSQL documentation gives them, written out here rather
// than taken from the codec so that a wrong constant there fails these tests.
const SSL_REQUEST_CODE: u32 = 80877103;
const GSSENC_REQUEST_CODE: u32 = 80877104;
const CANCEL_REQUEST_CODE: u32 = 80877102;

/// Any version field that is not one of the special request codes.
fn version() -> impl Strategy<Value = u32> {
    any::<u32>().prop_filter("a request code", |v| {
        ![SSL_REQUEST_CODE, GSSENC_REQUEST_CODE, CANCEL_REQUEST_CODE].contains(v)
    })
}

fn param() -> impl Strategy<Value = (&'static str, &'static str)> {
    (nonempty_text().prop_map(leak_str), text().prop_map(leak_str))
}

fn secret() -> impl Strategy<Value = &'static [u8]> {
    vec(any::<u8>(), 4..=MAX_CANCEL_SECRET).prop_map(leak_bytes)
}

fn request() -> impl Strategy<Value = Request<'static>> {
    prop_oneof![
        (version(), vec(param(), 0..6)).prop_map(|(version, params)| Request::Startup { version, params }),
        Just(Request::SslRequest),
        Just(Request::GssEncRequest),
        (any::<u32>(), secret()).prop_map(|(pid, secret)| Request::Cancel { pid, secret }),
    ]
}

fn encode(request: &Request<'_>) -> Vec<u8> {
    let mut buf = Vec::new();
    startup::encode(request, &mut buf);
    buf
}

/// An untagged packet: a length that counts itself, then `body`.
fn packet(body: &[u8]) -> Vec<u8> {
    let mut out = (body.len() as u32 + 4).to_be_bytes().to_vec();
    out.extend_from_slice(body);
    out
}

proptest! {
    #[test]
    fn round_trips(request in request(), after in bytes()) {
        let mut buf = encode(&request);
        let len = buf.len();
        buf.extend_from_slice(&after);
        prop_assert_eq!(startup::decode(&buf), Ok(Some((request, len))));
    }

    #[test]
    fn every_prefix_asks_for_more(requests in vec(request(), 1..4)) {
        let (stream, ends) = concat(&requests, |r, buf| startup::encode(r, buf));
        check_every_prefix(&stream, &ends, |buf| startup::decode(buf).map(|r| r.map(|(_, n)| n)))?;
    }

    #[test]
    fn noise_never_panics(buf in prop_oneof![
        vec(any::<u8>(), 0..96),
        vec(any::<u8>(), 4..96).prop_map(|body| packet(&body)),
    ]) {
        if let Ok(Some((_, n))) = startup::decode(&buf) {
            prop_assert!(n <= buf.len());
        }
    }

    #[test]
    fn mutations_never_panic(buf in request().prop_map(|r| encode(&r)).prop_flat_map(mutated)) {
        if let Ok(Some((_, n))) = startup::decode(&buf) {
            prop_assert!(n <= buf.len());
        }
    }
}

#[test]
fn nonsense_lengths_are_refused_without_an_answer() {
    // The limit leaves out the length word, as PostgreSQL's does.
    for len in [0, -1, i32::MIN, i32::MAX, 7, MAX_STARTUP_PACKET as i32 + 5] {
        // Refused from the length alone, before any body arrives.
        let err = startup::decode(&len.to_be_bytes()).unwrap_err();
        assert_eq!(err, StartupError::InvalidLength { len });
        assert!(!err.answerable(), "length {len}");
    }
}

#[test]
fn lengths_at_the_bounds_are_accepted() {
    assert_eq!(startup::decode(&packet(&SSL_REQUEST_CODE.to_be_bytes())), Ok(Some((Request::SslRequest, 8))));

    // PostgreSQL 15 takes a startup packet of 10,004 bytes and drops one of 10,005.
    let fixed = 4 + 4 + b"user\0".len() + 1 + 1;
    let value = "x".repeat(MAX_STARTUP_PACKET + 4 - fixed);
    let request = Request::Startup { version: PROTOCOL_3_0, params: vec![("user", &value)] };
    let buf = encode(&request);
    assert_eq!(buf.len(), 10_004);
    assert_eq!(startup::decode(&buf), Ok(Some((request, 10_004))));
}

#[test]
fn missing_terminator_is_a_layout_error() {
    let mut body = PROTOCOL_3_0.to_be_bytes().to_vec();
    body.extend_from_slice(b"user\0alice\0");
    let err = startup::decode(&packet(&body)).unwrap_err();
    assert_eq!(err, StartupError::Layout);
    assert!(err.answerable());
    assert_eq!(err.sqlstate(), SqlState::PROTOCOL_VIOLATION);

    // A bare version has no terminator either.
    assert_eq!(startup::decode(&packet(&PROTOCOL_3_0.to_be_bytes())), Err(StartupError::Layout));
}

#[test]
fn bytes_after_the_terminator_are_a_layout_error() {
    let mut body = PROTOCOL_3_0.to_be_bytes().to_vec();
    body.extend_from_slice(b"user\0alice\0\0x");
    assert_eq!(startup::decode(&packet(&body)), Err(StartupError::Layout));
}

#[test]
fn invalid_utf8_in_a_parameter_is_its_own_error() {
    let mut body = PROTOCOL_3_0.to_be_bytes().to_vec();
    body.extend_from_slice(b"user\0\xc3\x28\0\0");
    let err = startup::decode(&packet(&body)).unwrap_err();
    assert_eq!(err, StartupError::InvalidUtf8);
    assert!(err.answerable());
    assert_eq!(err.sqlstate().code(), "22021");
}

#[test]
fn tls_handshake_record_is_direct_tls_and_consumes_nothing() {
    assert_eq!(startup::decode(&[0x16]), Ok(Some((Request::DirectTls, 0))));
    assert_eq!(startup::decode(&[0x16, 0x03, 0x01, 0x02, 0x00]), Ok(Some((Request::DirectTls, 0))));
    assert!(encode(&Request::DirectTls).is_empty());
}

#[test]
fn ssl_and_gssenc_requests_take_no_body() {
    for code in [SSL_REQUEST_CODE, GSSENC_REQUEST_CODE] {
        let mut body = code.to_be_bytes().to_vec();
        body.push(0);
        assert_eq!(startup::decode(&packet(&body)), Err(StartupError::Layout), "code {code}");
    }
}

#[test]
fn cancel_secret_length_is_checked() {
    let cancel = |secret_len: usize| {
        let mut body = CANCEL_REQUEST_CODE.to_be_bytes().to_vec();
        body.extend_from_slice(&42u32.to_be_bytes());
        body.resize(body.len() + secret_len, 0xab);
        packet(&body)
    };
    for len in [0, 3, MAX_CANCEL_SECRET + 1] {
        let err = startup::decode(&cancel(len)).unwrap_err();
        assert_eq!(err, StartupError::CancelLength, "secret of {len} bytes");
        // Nobody reads an answer to a cancel request; PostgreSQL just closes.
        assert!(!err.answerable());
    }
    // No room for the pid at all.
    assert_eq!(startup::decode(&packet(&CANCEL_REQUEST_CODE.to_be_bytes())), Err(StartupError::CancelLength));
}

#[test]
fn requests_match_the_documented_bytes() {
    assert_eq!(encode(&Request::SslRequest), [0, 0, 0, 8, 0x04, 0xd2, 0x16, 0x2f]);
    assert_eq!(encode(&Request::GssEncRequest), [0, 0, 0, 8, 0x04, 0xd2, 0x16, 0x30]);
    assert_eq!(
        encode(&Request::Cancel { pid: 7, secret: &[1, 2, 3, 4] }),
        [0, 0, 0, 16, 0x04, 0xd2, 0x16, 0x2e, 0, 0, 0, 7, 1, 2, 3, 4]
    );
    assert_eq!(
        encode(&Request::Startup { version: PROTOCOL_3_0, params: vec![("user", "u")] }),
        b"\0\0\0\x10\0\x03\0\0user\0u\0\0"
    );
}

/// Every request that has an encoding, named by an exhaustive match. `DirectTls` has
/// none (it is the first byte of a TLS record); `tls_handshake_record_is_direct_tls_and_consumes_nothing`
/// covers it.
fn variant(r: &Request<'_>) -> &'static str {
    match r {
        Request::Startup { .. } => "Startup",
        Request::SslRequest => "SslRequest",
        Request::GssEncRequest => "GssEncRequest",
        Request::Cancel { .. } => "Cancel",
        Request::DirectTls => "DirectTls",
    }
}

#[test]
fn round_trips_cover_every_request() {
    assert_reaches_all(request(), variant, &["Startup", "SslRequest", "GssEncRequest", "Cancel"]);
}
