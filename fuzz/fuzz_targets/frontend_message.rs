//! Decodes arbitrary bytes as the stream of messages a client sends after startup, the
//! way a session reads them, and checks what is decoded rather than only that nothing
//! panics: every message re-encodes to exactly the bytes it came from, decodes back to
//! itself, and is not announced before its last byte is in.

#![no_main]

use libfuzzer_sys::fuzz_target;
use mallard_protocol::pg::frontend::{self, Message};

/// A small maximum, so that the fuzzer reaches "too large" with inputs of a few bytes;
/// the codec does not care how large the maximum is.
const MAX: usize = 64 << 10;

fuzz_target!(|data: &[u8]| {
    let mut rest = data;
    loop {
        // The session asks about the type byte first, then waits for the body.
        if let Some(&tag) = rest.first() {
            if let Ok(limit) = frontend::session_limit(tag, MAX) {
                assert!(limit <= MAX);
            }
        }
        match frontend::decode(rest, MAX) {
            Ok(Some((message, n))) => {
                check_message(rest, &message, n);
                rest = &rest[n..];
            }
            Ok(None) => {
                // More bytes are needed only if the header or the body is incomplete.
                if rest.len() >= 5 {
                    let claimed =
                        frontend::peek_length(rest, MAX).expect("a valid header").expect("a whole header");
                    assert!(1 + claimed > rest.len(), "a whole message was left undecoded");
                }
                return;
            }
            Err(e) => {
                // Every error maps to what the client is sent.
                let _ = (e.sqlstate(), e.to_string());
                return;
            }
        }
    }
});

fn check_message(buf: &[u8], message: &Message<'_>, n: usize) {
    assert!((5..=buf.len()).contains(&n));
    assert_eq!(message.tag(), buf[0]);
    let mut encoded = Vec::new();
    message.encode(&mut encoded);
    assert_eq!(&encoded[..], &buf[..n], "{message:?} does not re-encode to its bytes");
    assert_eq!(frontend::decode(&encoded, MAX), Ok(Some((message.clone(), n))));
    // One byte short of the message is a request for more, never a message or an error.
    assert_eq!(frontend::decode(&buf[..n - 1], MAX), Ok(None));
}
