//! Where the text is in a whole message, for a session whose client does not speak
//! UTF-8: the strings are rewritten by a conversion the caller supplies, and the length
//! prefix follows. The codec itself stays encoding-agnostic; which bytes are text is a
//! property of the message layout, so it is known here.
//!
//! Only strings that are not pure ASCII are handed to the conversion (every encoding a
//! PostgreSQL client may use is ASCII-compatible), and a message with none is not
//! copied. Values in `Bind`, `DataRow` and `CopyData` are not touched: whether those are
//! text depends on formats and types the session knows.
//!
//! A message whose layout does not parse is left as it is, for the decoder to refuse.

use super::backend::finish_message;

/// Rewrites the strings of a frontend message (tag and length included): the query of
/// `Query` and `Parse`, and statement and portal names. `Ok(None)`: nothing to rewrite.
pub fn frontend<E>(
    message: &[u8],
    convert: impl FnMut(&[u8]) -> Result<Vec<u8>, E>,
) -> Result<Option<Vec<u8>>, E> {
    let spans = match message.first() {
        Some(b'Q' | b'E' | b'f') => cstrs(message, 5, 1),
        Some(b'P' | b'B') => cstrs(message, 5, 2),
        Some(b'D' | b'C') => cstrs(message, 6, 1),
        _ => Vec::new(),
    };
    rewrite(message, &spans, convert)
}

/// Rewrites the strings of a backend message (tag and length included): every field of
/// `ErrorResponse` and `NoticeResponse`, `ParameterStatus`, `CommandComplete`,
/// `NotificationResponse` and the column names of `RowDescription`. `Ok(None)`: nothing
/// to rewrite.
pub fn backend<E>(
    message: &[u8],
    convert: impl FnMut(&[u8]) -> Result<Vec<u8>, E>,
) -> Result<Option<Vec<u8>>, E> {
    let spans = match message.first() {
        Some(b'E' | b'N') => error_fields(message),
        Some(b'S') => cstrs(message, 5, 2),
        Some(b'C') => cstrs(message, 5, 1),
        Some(b'A') => cstrs(message, 9, 2),
        Some(b'T') => column_names(message),
        _ => Vec::new(),
    };
    rewrite(message, &spans, convert)
}

/// The string at `at` (without its NUL), if it is terminated inside `message`.
fn cstr_at(message: &[u8], at: usize) -> Option<(usize, usize)> {
    let len = message.get(at..)?.iter().position(|&b| b == 0)?;
    Some((at, at + len))
}

/// `n` consecutive strings from `at`; fewer if the message ends early.
fn cstrs(message: &[u8], mut at: usize, n: usize) -> Vec<(usize, usize)> {
    let mut spans = Vec::with_capacity(n);
    for _ in 0..n {
        let Some(span) = cstr_at(message, at) else { break };
        spans.push(span);
        at = span.1 + 1;
    }
    spans
}

fn error_fields(message: &[u8]) -> Vec<(usize, usize)> {
    let mut spans = Vec::new();
    let mut at = 5;
    while message.get(at).is_some_and(|&code| code != 0) {
        let Some(span) = cstr_at(message, at + 1) else { break };
        spans.push(span);
        at = span.1 + 1;
    }
    spans
}

fn column_names(message: &[u8]) -> Vec<(usize, usize)> {
    let Some(count) = message.get(5..7) else { return Vec::new() };
    let count = u16::from_be_bytes([count[0], count[1]]);
    let mut spans = Vec::new();
    let mut at = 7;
    for _ in 0..count {
        let Some(span) = cstr_at(message, at) else { break };
        spans.push(span);
        // Table OID, attribute number, type OID, size, modifier, format.
        at = span.1 + 1 + 18;
    }
    spans
}

fn rewrite<E>(
    message: &[u8],
    spans: &[(usize, usize)],
    mut convert: impl FnMut(&[u8]) -> Result<Vec<u8>, E>,
) -> Result<Option<Vec<u8>>, E> {
    if spans.iter().all(|&(from, to)| message[from..to].is_ascii()) {
        return Ok(None);
    }
    let mut out = Vec::with_capacity(message.len() + message.len() / 4);
    let mut copied = 0;
    for &(from, to) in spans {
        out.extend_from_slice(&message[copied..from]);
        let text = &message[from..to];
        if text.is_ascii() {
            out.extend_from_slice(text);
        } else {
            out.extend_from_slice(&convert(text)?);
        }
        copied = to;
    }
    out.extend_from_slice(&message[copied..]);
    finish_message(&mut out[1..], 0);
    Ok(Some(out))
}
