//! Tests of the PostgreSQL codec, one file per decoder: property round-trips, the
//! sans-I/O contract on partial input, arbitrary input, and one targeted case per
//! rejection path. This file holds the strategies and checks they share.

mod backend;
mod frontend;
mod sqlstate;
mod startup;

use std::collections::BTreeSet;
use std::fmt::Debug;

use proptest::collection::vec;
use proptest::prelude::*;
use proptest::strategy::ValueTree;

use super::{Format, TransactionStatus};

/// Text that can travel as a C string: any characters but NUL.
fn text() -> impl Strategy<Value = String> {
    "[^\\x00]{0,16}"
}

/// Text for places where an empty string would end a list (parameter names, SASL
/// mechanisms).
fn nonempty_text() -> impl Strategy<Value = String> {
    "[^\\x00]{1,16}"
}

fn bytes() -> impl Strategy<Value = Vec<u8>> {
    vec(any::<u8>(), 0..48)
}

fn format() -> impl Strategy<Value = Format> {
    prop_oneof![Just(Format::Text), Just(Format::Binary)]
}

fn transaction_status() -> impl Strategy<Value = TransactionStatus> {
    prop_oneof![
        Just(TransactionStatus::Idle),
        Just(TransactionStatus::InBlock),
        Just(TransactionStatus::Failed),
    ]
}

/// A message tag that no known variant uses, for the `Unknown` variants.
fn tag_other_than(known: &'static [u8]) -> impl Strategy<Value = u8> {
    any::<u8>().prop_filter("tag of a known message", move |t| !known.contains(t))
}

/// `frontend::Message` and `startup::Request` borrow from the read buffer, so for a
/// strategy to yield them directly their bytes must outlive every case. Leaking these
/// few bytes per case is cheaper to read than an owned mirror of each enum.
fn leak_str(s: String) -> &'static str {
    Box::leak(s.into_boxed_str())
}

fn leak_bytes(b: Vec<u8>) -> &'static [u8] {
    Box::leak(b.into_boxed_slice())
}

/// Encodes each message after the previous one and returns the stream together with
/// where each message ends in it.
fn concat<M>(messages: &[M], encode: impl Fn(&M, &mut Vec<u8>)) -> (Vec<u8>, Vec<usize>) {
    let mut stream = Vec::new();
    let ends = messages
        .iter()
        .map(|m| {
            encode(m, &mut stream);
            stream.len()
        })
        .collect();
    (stream, ends)
}

/// The sans-I/O contract, checked on every prefix of `stream` (messages ending at
/// `ends`): each message wholly inside the prefix decodes with exactly its own length,
/// and whatever is left, however little, asks for more bytes rather than failing.
///
/// `decode` answers with the number of bytes a message took.
fn check_every_prefix<E: Debug + PartialEq>(
    stream: &[u8],
    ends: &[usize],
    decode: impl Fn(&[u8]) -> Result<Option<usize>, E>,
) -> Result<(), TestCaseError> {
    for cut in 0..=stream.len() {
        let prefix = &stream[..cut];
        let mut at = 0;
        for &end in ends.iter().take_while(|&&end| end <= cut) {
            prop_assert_eq!(decode(&prefix[at..]), Ok(Some(end - at)), "cut at {}", cut);
            at = end;
        }
        prop_assert_eq!(decode(&prefix[at..]), Ok(None), "cut at {}", cut);
    }
    Ok(())
}

/// A tagged message whose length field has been rewritten to cover `extra` appended
/// after the original body.
fn with_longer_body(encoded: &[u8], extra: &[u8]) -> Vec<u8> {
    let mut out = [encoded, extra].concat();
    let len = (out.len() - 1) as u32;
    out[1..5].copy_from_slice(&len.to_be_bytes());
    out
}

/// A tagged message as raw parts: `tag`, a length that counts itself, then `body`.
fn framed(tag: u8, body: &[u8]) -> Vec<u8> {
    let mut out = vec![tag];
    out.extend_from_slice(&(body.len() as u32 + 4).to_be_bytes());
    out.extend_from_slice(body);
    out
}

/// A tagged header claiming `len`, with no body.
fn header(tag: u8, len: i32) -> Vec<u8> {
    let mut out = vec![tag];
    out.extend_from_slice(&len.to_be_bytes());
    out
}

/// Arbitrary input for the no-panic properties: sometimes pure noise, sometimes a valid
/// header with a `tag` from `tags` in front of a noisy body, so that the body parsers
/// run and not only the length check.
fn noisy_frame(tags: &'static [u8]) -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        vec(any::<u8>(), 0..96),
        (prop::sample::select(tags), vec(any::<u8>(), 0..96)).prop_map(|(tag, body)| framed(tag, &body)),
    ]
}

/// A valid encoding with one byte replaced: closer to valid than noise, so it reaches
/// deeper into each body parser.
fn mutated(encoded: Vec<u8>) -> impl Strategy<Value = Vec<u8>> {
    let len = encoded.len();
    (0..len, any::<u8>()).prop_map(move |(at, byte)| {
        let mut out = encoded.clone();
        out[at] = byte;
        out
    })
}

/// The variant names that 2,000 draws from `strategy` reach. With `name` an exhaustive
/// `match`, a variant added to an enum fails to compile until it is named there, and
/// then fails [`assert_reaches_all`] until the strategy yields it: the round-trip
/// properties cannot quietly leave a message out.
fn assert_reaches_all<T>(
    strategy: impl Strategy<Value = T>,
    name: impl Fn(&T) -> &'static str,
    all: &[&'static str],
) {
    let mut runner = proptest::test_runner::TestRunner::deterministic();
    let reached: BTreeSet<&'static str> =
        (0..2000).map(|_| name(&strategy.new_tree(&mut runner).expect("a value").current())).collect();
    let missing: Vec<_> = all.iter().filter(|n| !reached.contains(*n)).collect();
    assert!(missing.is_empty(), "the strategy never yields {missing:?}");
}
