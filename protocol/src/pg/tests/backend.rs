//! `backend::Message`: what the server sends, and the decoder tests read it back with.

use proptest::collection::vec;
use proptest::option;
use proptest::prelude::*;

use super::*;
use crate::pg::backend::{
    BackendDecodeError, DataRowWriter, ErrorInfo, ErrorObject, FieldDescription, Message,
};
use crate::pg::{Severity, SqlState};

/// Every tag `backend::Message` has a variant for.
const KNOWN_TAGS: &[u8] = b"RSKZTDCIEN123nstGHdcvA";

fn severity() -> impl Strategy<Value = Severity> {
    prop::sample::select(vec![
        Severity::Error,
        Severity::Fatal,
        Severity::Panic,
        Severity::Warning,
        Severity::Notice,
        Severity::Debug,
        Severity::Info,
        Severity::Log,
    ])
}

fn sqlstate() -> impl Strategy<Value = SqlState> {
    prop::sample::select(vec![
        SqlState::SUCCESSFUL_COMPLETION,
        SqlState::PROTOCOL_VIOLATION,
        SqlState::CHARACTER_NOT_IN_REPERTOIRE,
        SqlState::UNDEFINED_TABLE,
        SqlState::INTERNAL_ERROR,
    ])
}

fn error_info() -> impl Strategy<Value = ErrorInfo> {
    let object = (option::of(text()), option::of(text()), option::of(text()), option::of(text()))
        .prop_map(|(schema, table, column, constraint)| ErrorObject { schema, table, column, constraint });
    (severity(), sqlstate(), text(), option::of(text()), option::of(text()), option::of(any::<u32>()), object)
        .prop_map(|(severity, code, message, detail, hint, position, object)| ErrorInfo {
            severity,
            code,
            message,
            detail,
            hint,
            position,
            object: Box::new(object),
        })
}

fn field_description() -> impl Strategy<Value = FieldDescription> {
    (text(), any::<u32>(), any::<i16>(), any::<u32>(), any::<i16>(), any::<i32>(), format()).prop_map(
        |(name, table_oid, column_attr, type_oid, type_size, type_modifier, format)| FieldDescription {
            name,
            table_oid,
            column_attr,
            type_oid,
            type_size,
            type_modifier,
            format,
        },
    )
}

fn row() -> impl Strategy<Value = Vec<Option<Vec<u8>>>> {
    vec(option::of(bytes()), 0..6)
}

/// An authentication request this codec has no variant for (MD5, GSS, SSPI, ...): the
/// client must still be able to skip it whole.
fn unknown_authentication_request() -> impl Strategy<Value = Message> {
    let code = any::<i32>().prop_filter("a known request code", |c| ![0, 3, 10, 11, 12].contains(c));
    (code, bytes()).prop_map(|(code, rest)| Message::Unknown {
        tag: b'R',
        body: [&code.to_be_bytes()[..], &rest].concat(),
    })
}

fn message() -> impl Strategy<Value = Message> {
    prop_oneof![
        Just(Message::AuthenticationOk),
        Just(Message::AuthenticationCleartextPassword),
        vec(nonempty_text(), 0..4).prop_map(|mechanisms| Message::AuthenticationSasl { mechanisms }),
        bytes().prop_map(Message::AuthenticationSaslContinue),
        bytes().prop_map(Message::AuthenticationSaslFinal),
        (text(), text()).prop_map(|(name, value)| Message::ParameterStatus { name, value }),
        (any::<u32>(), bytes()).prop_map(|(pid, secret)| Message::BackendKeyData { pid, secret }),
        transaction_status().prop_map(Message::ReadyForQuery),
        vec(field_description(), 0..4).prop_map(Message::RowDescription),
        row().prop_map(Message::DataRow),
        text().prop_map(Message::CommandComplete),
        Just(Message::EmptyQueryResponse),
        error_info().prop_map(Message::ErrorResponse),
        error_info().prop_map(Message::NoticeResponse),
        Just(Message::ParseComplete),
        Just(Message::BindComplete),
        Just(Message::CloseComplete),
        Just(Message::NoData),
        Just(Message::PortalSuspended),
        vec(any::<u32>(), 0..6).prop_map(Message::ParameterDescription),
        (format(), vec(format(), 0..4))
            .prop_map(|(format, columns)| Message::CopyInResponse { format, columns }),
        (format(), vec(format(), 0..4))
            .prop_map(|(format, columns)| Message::CopyOutResponse { format, columns }),
        bytes().prop_map(Message::CopyData),
        Just(Message::CopyDone),
        (any::<u32>(), vec(text(), 0..4)).prop_map(|(newest_minor, unrecognized)| {
            Message::NegotiateProtocolVersion { newest_minor, unrecognized }
        }),
        (any::<u32>(), text(), text()).prop_map(|(pid, channel, payload)| Message::NotificationResponse {
            pid,
            channel,
            payload
        }),
        (tag_other_than(KNOWN_TAGS), bytes()).prop_map(|(tag, body)| Message::Unknown { tag, body }),
        unknown_authentication_request(),
    ]
}

fn encode(m: &Message) -> Vec<u8> {
    let mut buf = Vec::new();
    m.encode(&mut buf);
    buf
}

fn decoded_len(buf: &[u8]) -> Result<Option<usize>, BackendDecodeError> {
    Message::decode(buf).map(|m| m.map(|(_, n)| n))
}

/// Variants that take the rest of the body as it is, so more bytes are more payload.
fn takes_rest(m: &Message) -> bool {
    matches!(
        m,
        Message::AuthenticationSaslContinue(_)
            | Message::AuthenticationSaslFinal(_)
            | Message::BackendKeyData { .. }
            | Message::CopyData(_)
            | Message::Unknown { .. }
    )
}

proptest! {
    #[test]
    fn round_trips(m in message(), before in bytes(), after in bytes()) {
        let mut buf = before.clone();
        m.encode(&mut buf);
        let len = buf.len() - before.len();
        prop_assert_eq!(&buf[..before.len()], &before[..]);
        buf.extend_from_slice(&after);
        prop_assert_eq!(Message::decode(&buf[before.len()..]), Ok(Some((m, len))));
    }

    #[test]
    fn every_prefix_asks_for_more(messages in vec(message(), 1..4)) {
        let (stream, ends) = concat(&messages, Message::encode);
        check_every_prefix(&stream, &ends, decoded_len)?;
    }

    #[test]
    fn trailing_bytes_are_refused(
        m in message().prop_filter("takes the rest of its body", |m| !takes_rest(m)),
        extra in vec(any::<u8>(), 1..8),
    ) {
        let buf = with_longer_body(&encode(&m), &extra);
        prop_assert_eq!(
            Message::decode(&buf),
            Err(BackendDecodeError::Body { tag: m.tag(), kind: "trailing bytes" })
        );
    }

    #[test]
    fn noise_never_panics(buf in noisy_frame(KNOWN_TAGS)) {
        if let Ok(Some((_, n))) = Message::decode(&buf) {
            prop_assert!(n <= buf.len());
        }
    }

    #[test]
    fn mutations_never_panic(buf in message().prop_map(|m| encode(&m)).prop_flat_map(mutated)) {
        if let Ok(Some((_, n))) = Message::decode(&buf) {
            prop_assert!(n <= buf.len());
        }
    }

    #[test]
    fn data_row_writer_matches_data_row(values in row(), before in bytes()) {
        let mut expected = before.clone();
        Message::DataRow(values.clone()).encode(&mut expected);

        let mut buf = before;
        let mut row = DataRowWriter::begin(&mut buf, values.len() as u16);
        for value in &values {
            match value {
                None => row.null(),
                Some(v) => row.field(|buf| buf.extend_from_slice(v)),
            }
        }
        row.finish();
        prop_assert_eq!(buf, expected);
    }
}

#[test]
fn length_below_four_is_invalid() {
    for len in [3, 0, -1, i32::MIN] {
        assert_eq!(Message::decode(&header(b'Z', len)), Err(BackendDecodeError::Length(len)));
    }
}

#[test]
fn unknown_authentication_request_is_kept_whole() {
    // AuthenticationMD5Password: request code 5 and a four-byte salt.
    let body = [0, 0, 0, 5, 0xde, 0xad, 0xbe, 0xef];
    let buf = framed(b'R', &body);
    let unknown = Message::Unknown { tag: b'R', body: body.to_vec() };
    assert_eq!(Message::decode(&buf), Ok(Some((unknown.clone(), buf.len()))));
    assert_eq!(encode(&unknown), buf);
}

#[test]
fn data_row_field_length_below_minus_one_is_refused() {
    let mut body = 1i16.to_be_bytes().to_vec();
    body.extend_from_slice(&(-2i32).to_be_bytes());
    assert_eq!(
        Message::decode(&framed(b'D', &body)),
        Err(BackendDecodeError::Body { tag: b'D', kind: "bad count" })
    );
}

#[test]
fn error_code_must_be_a_sqlstate() {
    let buf = framed(b'E', b"VERROR\0C42p01\0Mno\0\0");
    assert_eq!(Message::decode(&buf), Err(BackendDecodeError::Body { tag: b'E', kind: "bad count" }));
}

#[test]
fn messages_match_the_documented_bytes() {
    let cases: [(Message, &[u8]); 5] = [
        (Message::AuthenticationOk, b"R\0\0\0\x08\0\0\0\0"),
        (Message::ReadyForQuery(TransactionStatus::Idle), b"Z\0\0\0\x05I"),
        (
            Message::DataRow(vec![Some(b"1".to_vec()), None]),
            b"D\0\0\0\x0f\0\x02\0\0\0\x01\x31\xff\xff\xff\xff",
        ),
        (
            Message::ErrorResponse(ErrorInfo::error(SqlState::UNDEFINED_TABLE, "no t")),
            b"E\0\0\0\x20SERROR\0VERROR\0C42P01\0Mno t\0\0",
        ),
        (
            Message::NotificationResponse { pid: 258, channel: "jobs".into(), payload: "7".into() },
            b"A\0\0\0\x0f\0\0\x01\x02jobs\x007\0",
        ),
    ];
    for (m, bytes) in cases {
        assert_eq!(encode(&m), bytes, "{m:?}");
    }
}

/// Every variant, named by an exhaustive match.
fn variant(m: &Message) -> &'static str {
    match m {
        Message::AuthenticationOk => "AuthenticationOk",
        Message::AuthenticationCleartextPassword => "AuthenticationCleartextPassword",
        Message::AuthenticationSasl { .. } => "AuthenticationSasl",
        Message::AuthenticationSaslContinue(_) => "AuthenticationSaslContinue",
        Message::AuthenticationSaslFinal(_) => "AuthenticationSaslFinal",
        Message::ParameterStatus { .. } => "ParameterStatus",
        Message::BackendKeyData { .. } => "BackendKeyData",
        Message::ReadyForQuery(_) => "ReadyForQuery",
        Message::RowDescription(_) => "RowDescription",
        Message::DataRow(_) => "DataRow",
        Message::CommandComplete(_) => "CommandComplete",
        Message::EmptyQueryResponse => "EmptyQueryResponse",
        Message::ErrorResponse(_) => "ErrorResponse",
        Message::NoticeResponse(_) => "NoticeResponse",
        Message::ParseComplete => "ParseComplete",
        Message::BindComplete => "BindComplete",
        Message::CloseComplete => "CloseComplete",
        Message::NoData => "NoData",
        Message::PortalSuspended => "PortalSuspended",
        Message::ParameterDescription(_) => "ParameterDescription",
        Message::CopyInResponse { .. } => "CopyInResponse",
        Message::CopyOutResponse { .. } => "CopyOutResponse",
        Message::CopyData(_) => "CopyData",
        Message::CopyDone => "CopyDone",
        Message::NegotiateProtocolVersion { .. } => "NegotiateProtocolVersion",
        Message::NotificationResponse { .. } => "NotificationResponse",
        Message::Unknown { .. } => "Unknown",
    }
}

#[test]
fn round_trips_cover_every_variant() {
    let all = [
        "AuthenticationOk",
        "AuthenticationCleartextPassword",
        "AuthenticationSasl",
        "AuthenticationSaslContinue",
        "AuthenticationSaslFinal",
        "ParameterStatus",
        "BackendKeyData",
        "ReadyForQuery",
        "RowDescription",
        "DataRow",
        "CommandComplete",
        "EmptyQueryResponse",
        "ErrorResponse",
        "NoticeResponse",
        "ParseComplete",
        "BindComplete",
        "CloseComplete",
        "NoData",
        "PortalSuspended",
        "ParameterDescription",
        "CopyInResponse",
        "CopyOutResponse",
        "CopyData",
        "CopyDone",
        "NegotiateProtocolVersion",
        "NotificationResponse",
        "Unknown",
    ];
    assert_reaches_all(message(), variant, &all);
}
