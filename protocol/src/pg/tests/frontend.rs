//! `frontend::decode`: what the server reads from a client after startup.

use proptest::collection::vec;
use proptest::option;
use proptest::prelude::*;

use super::*;
use crate::pg::frontend::{self, DecodeError, Message, Target};
use crate::pg::SqlState;

/// Every tag `frontend::Message` has a variant for.
const KNOWN_TAGS: &[u8] = b"QPBDECSHXdcfp";

/// Large enough for anything the strategies build.
const MAX: usize = 1 << 20;

fn cstr() -> impl Strategy<Value = &'static str> {
    text().prop_map(leak_str)
}

fn raw() -> impl Strategy<Value = &'static [u8]> {
    bytes().prop_map(leak_bytes)
}

fn target() -> impl Strategy<Value = Target> {
    prop_oneof![Just(Target::Statement), Just(Target::Portal)]
}

fn bind() -> impl Strategy<Value = Message<'static>> {
    (cstr(), cstr(), vec(format(), 0..4), vec(option::of(raw()), 0..4), vec(format(), 0..4)).prop_map(
        |(portal, statement, param_formats, params, result_formats)| Message::Bind {
            portal,
            statement,
            param_formats,
            params,
            result_formats,
        },
    )
}

fn message() -> impl Strategy<Value = Message<'static>> {
    prop_oneof![
        cstr().prop_map(Message::Query),
        (cstr(), cstr(), vec(any::<u32>(), 0..6))
            .prop_map(|(name, query, param_types)| { Message::Parse { name, query, param_types } }),
        bind(),
        (target(), cstr()).prop_map(|(target, name)| Message::Describe { target, name }),
        (cstr(), any::<i32>()).prop_map(|(portal, max_rows)| Message::Execute { portal, max_rows }),
        (target(), cstr()).prop_map(|(target, name)| Message::Close { target, name }),
        Just(Message::Sync),
        Just(Message::Flush),
        Just(Message::Terminate),
        raw().prop_map(Message::CopyData),
        Just(Message::CopyDone),
        cstr().prop_map(Message::CopyFail),
        raw().prop_map(Message::Password),
        (tag_other_than(KNOWN_TAGS), raw()).prop_map(|(tag, body)| Message::Unknown { tag, body }),
    ]
}

fn encode(m: &Message<'_>) -> Vec<u8> {
    let mut buf = Vec::new();
    m.encode(&mut buf);
    buf
}

fn decoded_len(buf: &[u8]) -> Result<Option<usize>, DecodeError> {
    frontend::decode(buf, MAX).map(|m| m.map(|(_, n)| n))
}

/// Variants that take the rest of the body as it is, so more bytes are more payload.
fn takes_rest(m: &Message<'_>) -> bool {
    matches!(m, Message::CopyData(_) | Message::Password(_) | Message::Unknown { .. })
}

proptest! {
    #[test]
    fn round_trips(m in message(), before in bytes(), after in bytes()) {
        // Encoding appends: whatever the buffer already holds stays, and the message
        // decodes from where it starts, however many bytes follow.
        let mut buf = before.clone();
        m.encode(&mut buf);
        let len = buf.len() - before.len();
        prop_assert_eq!(&buf[..before.len()], &before[..]);
        buf.extend_from_slice(&after);
        prop_assert_eq!(frontend::decode(&buf[before.len()..], MAX), Ok(Some((m, len))));
    }

    #[test]
    fn every_prefix_asks_for_more(messages in vec(message(), 1..4)) {
        let (stream, ends) = concat(&messages, |m, buf| m.encode(buf));
        check_every_prefix(&stream, &ends, decoded_len)?;
    }

    #[test]
    fn trailing_bytes_are_refused(
        m in message().prop_filter("takes the rest of its body", |m| !takes_rest(m)),
        extra in vec(any::<u8>(), 1..8),
    ) {
        let buf = with_longer_body(&encode(&m), &extra);
        prop_assert_eq!(
            frontend::decode(&buf, MAX),
            Err(DecodeError::Malformed { tag: m.tag(), what: "trailing bytes after message" })
        );
    }

    #[test]
    fn noise_never_panics(buf in noisy_frame(KNOWN_TAGS), max in any::<usize>()) {
        if let Ok(Some((_, n))) = frontend::decode(&buf, max) {
            prop_assert!(n <= buf.len());
        }
    }

    #[test]
    fn mutations_never_panic(buf in message().prop_map(|m| encode(&m)).prop_flat_map(mutated)) {
        if let Ok(Some((_, n))) = frontend::decode(&buf, MAX) {
            prop_assert!(n <= buf.len());
        }
    }
}

/// A `Bind` body up to its parameter count, with no parameter formats.
fn bind_head(param_count: i16) -> Vec<u8> {
    let mut body = b"portal\0stmt\0".to_vec();
    body.extend_from_slice(&0i16.to_be_bytes());
    body.extend_from_slice(&param_count.to_be_bytes());
    body
}

fn malformed(tag: u8, what: &'static str) -> Result<Option<(Message<'static>, usize)>, DecodeError> {
    Err(DecodeError::Malformed { tag, what })
}

const BAD_COUNT: &str = "invalid count or format code";
const SHORT: &str = "insufficient data left in message";

#[test]
fn length_below_four_is_invalid() {
    for len in [3, 0, -1, i32::MIN] {
        assert_eq!(frontend::decode(&header(b'Q', len), MAX), Err(DecodeError::InvalidLength { len }));
    }
}

#[test]
fn length_four_is_an_empty_body() {
    assert_eq!(frontend::decode(&header(b'S', 4), MAX), Ok(Some((Message::Sync, 5))));
}

#[test]
fn too_large_is_refused_from_the_header_alone() {
    let max = 1000;
    let head = header(b'Q', max as i32 + 1);
    assert_eq!(frontend::decode(&head[..4], max), Ok(None));
    let too_large = DecodeError::TooLarge { tag: b'Q', len: max + 1, max };
    assert_eq!(frontend::decode(&head, max), Err(too_large.clone()));
    assert_eq!(frontend::peek_length(&head, max), Err(too_large));
}

#[test]
fn length_at_the_limit_waits_for_its_body() {
    let max = 1000;
    let head = header(b'Q', max as i32);
    assert_eq!(frontend::decode(&head, max), Ok(None));
    assert_eq!(frontend::peek_length(&head, max), Ok(Some(max)));
}

#[test]
fn bind_parameter_count_is_checked_before_reading_parameters() {
    // The count is refused as such (not as a short read of the first parameter),
    // so no vector sized by it is ever allocated.
    for count in [-1, i16::MIN, 1, i16::MAX] {
        assert_eq!(frontend::decode(&framed(b'B', &bind_head(count)), MAX), malformed(b'B', BAD_COUNT));
    }
}

#[test]
fn bind_format_counts_are_checked() {
    for count in [-1i16, 1, i16::MAX] {
        let mut body = b"\0\0".to_vec();
        body.extend_from_slice(&count.to_be_bytes());
        assert_eq!(frontend::decode(&framed(b'B', &body), MAX), malformed(b'B', BAD_COUNT));

        // The result formats come after the parameters.
        let mut body = bind_head(0);
        body.extend_from_slice(&count.to_be_bytes());
        assert_eq!(frontend::decode(&framed(b'B', &body), MAX), malformed(b'B', BAD_COUNT));
    }
}

#[test]
fn bind_parameter_lengths_are_checked() {
    let with_param_len = |len: i32| {
        let mut body = bind_head(1);
        body.extend_from_slice(&len.to_be_bytes());
        body.extend_from_slice(&[0, 0]); // no result formats
        framed(b'B', &body)
    };
    assert_eq!(frontend::decode(&with_param_len(-2), MAX), malformed(b'B', BAD_COUNT));
    assert_eq!(frontend::decode(&with_param_len(i32::MIN), MAX), malformed(b'B', BAD_COUNT));
    // Claims more than the two bytes that follow.
    assert_eq!(frontend::decode(&with_param_len(3), MAX), malformed(b'B', SHORT));
    assert_eq!(frontend::decode(&with_param_len(i32::MAX), MAX), malformed(b'B', SHORT));
}

#[test]
fn bind_format_code_must_be_text_or_binary() {
    let mut body = b"\0\0".to_vec();
    body.extend_from_slice(&1i16.to_be_bytes());
    body.extend_from_slice(&2i16.to_be_bytes());
    body.extend_from_slice(&[0, 0, 0, 0]);
    assert_eq!(frontend::decode(&framed(b'B', &body), MAX), malformed(b'B', BAD_COUNT));
}

#[test]
fn parse_type_count_is_checked_before_reading_types() {
    for count in [-1, i16::MIN, 1, i16::MAX] {
        let mut body = b"s1\0SELECT $1\0".to_vec();
        body.extend_from_slice(&count.to_be_bytes());
        body.extend_from_slice(&[0, 0, 0]); // less than one type OID
        assert_eq!(frontend::decode(&framed(b'P', &body), MAX), malformed(b'P', BAD_COUNT));
    }
}

#[test]
fn invalid_utf8_is_its_own_error() {
    let err = frontend::decode(&framed(b'Q', b"SELECT '\xff'\0"), MAX).unwrap_err();
    assert_eq!(err, DecodeError::InvalidUtf8 { tag: b'Q' });
    assert_eq!(err.sqlstate(), SqlState::CHARACTER_NOT_IN_REPERTOIRE);
    assert_eq!(err.sqlstate().code(), "22021");
}

#[test]
fn other_errors_are_protocol_violations() {
    let errors = [
        DecodeError::InvalidLength { len: 0 },
        DecodeError::TooLarge { tag: b'Q', len: 10, max: 5 },
        DecodeError::Malformed { tag: b'Q', what: SHORT },
    ];
    for err in errors {
        assert_eq!(err.sqlstate().code(), "08P01", "{err}");
    }
}

#[test]
fn unterminated_string_is_malformed() {
    assert_eq!(frontend::decode(&framed(b'Q', b"SELECT 1"), MAX), malformed(b'Q', "unterminated string"));
}

#[test]
fn describe_target_must_be_statement_or_portal() {
    assert_eq!(frontend::decode(&framed(b'D', b"Xname\0"), MAX), malformed(b'D', BAD_COUNT));
}

#[test]
fn trailing_bytes_after_an_empty_message_are_refused() {
    assert_eq!(frontend::decode(&framed(b'S', b"\0"), MAX), malformed(b'S', "trailing bytes after message"));
}

#[test]
fn query_matches_the_documented_bytes() {
    assert_eq!(encode(&Message::Query("SELECT 1")), b"Q\0\0\0\x0dSELECT 1\0");
}

#[test]
fn session_limit_follows_postgresql() {
    let max = 1 << 20;
    for tag in *b"QPBdF" {
        assert_eq!(frontend::session_limit(tag, max), Ok(max), "{}", tag as char);
    }
    for tag in *b"DECSHXcf" {
        assert_eq!(frontend::session_limit(tag, max), Ok(frontend::SMALL_MESSAGE_LIMIT), "{}", tag as char);
        // A lower configured maximum still applies.
        assert_eq!(frontend::session_limit(tag, 4096), Ok(4096), "{}", tag as char);
    }
    // A password message outside authentication, the zero byte a second startup packet
    // begins with, and anything unknown: refused from the type byte, with PostgreSQL's
    // words.
    let allowed = b"QPBdFDECSHXcf";
    for tag in 0..=u8::MAX {
        if !allowed.contains(&tag) {
            let err = frontend::session_limit(tag, max).unwrap_err();
            assert_eq!(err, DecodeError::UnexpectedType { tag });
            assert_eq!(err.sqlstate(), SqlState::PROTOCOL_VIOLATION);
            assert_eq!(err.to_string(), format!("invalid frontend message type {tag}"));
        }
    }
}

/// Every variant, named by an exhaustive match.
fn variant(m: &Message<'_>) -> &'static str {
    match m {
        Message::Query(_) => "Query",
        Message::Parse { .. } => "Parse",
        Message::Bind { .. } => "Bind",
        Message::Describe { .. } => "Describe",
        Message::Execute { .. } => "Execute",
        Message::Close { .. } => "Close",
        Message::Sync => "Sync",
        Message::Flush => "Flush",
        Message::Terminate => "Terminate",
        Message::CopyData(_) => "CopyData",
        Message::CopyDone => "CopyDone",
        Message::CopyFail(_) => "CopyFail",
        Message::Password(_) => "Password",
        Message::Unknown { .. } => "Unknown",
    }
}

#[test]
fn round_trips_cover_every_variant() {
    let all = [
        "Query",
        "Parse",
        "Bind",
        "Describe",
        "Execute",
        "Close",
        "Sync",
        "Flush",
        "Terminate",
        "CopyData",
        "CopyDone",
        "CopyFail",
        "Password",
        "Unknown",
    ];
    assert_reaches_all(message(), variant, &all);
}
