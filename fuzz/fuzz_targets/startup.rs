//! Decodes arbitrary bytes as the start of a connection the way a session negotiates it:
//! up to two `SSLRequest`/`GSSENCRequest` packets, then a startup packet or a cancel
//! request, or the first byte of a TLS ClientHello. Every packet decoded must re-encode
//! to exactly its bytes, be within PostgreSQL's length limit, and not be announced
//! before its last byte is in.

#![no_main]

use libfuzzer_sys::fuzz_target;
use mallard_protocol::pg::startup::{self, Request, MAX_STARTUP_PACKET};

fuzz_target!(|data: &[u8]| {
    let mut rest = data;
    for _ in 0..3 {
        match startup::decode(rest) {
            Ok(Some((Request::DirectTls, n))) => {
                assert_eq!(n, 0, "a ClientHello is left for the TLS library");
                assert_eq!(rest[0], 0x16);
                return;
            }
            Ok(Some((request, n))) => {
                check_packet(rest, &request, n);
                match request {
                    Request::SslRequest | Request::GssEncRequest => rest = &rest[n..],
                    _ => return,
                }
            }
            Ok(None) => {
                if rest.len() >= 4 {
                    let claimed = u32::from_be_bytes([rest[0], rest[1], rest[2], rest[3]]) as usize;
                    assert!(claimed > rest.len(), "a whole packet was left undecoded");
                }
                return;
            }
            Err(e) => {
                let _ = (e.answerable(), e.sqlstate(), e.to_string());
                return;
            }
        }
    }
});

fn check_packet(buf: &[u8], request: &Request<'_>, n: usize) {
    assert!((8..=MAX_STARTUP_PACKET + 4).contains(&n), "packet of {n} bytes");
    let mut encoded = Vec::new();
    startup::encode(request, &mut encoded);
    assert_eq!(&encoded[..], &buf[..n], "{request:?} does not re-encode to its bytes");
    assert_eq!(startup::decode(&encoded), Ok(Some((request.clone(), n))));
    // A packet's first byte is its length's high byte, never 0x16 (a TLS record), as the
    // length is at most 10,004; so one byte short is always a request for more.
    assert_eq!(startup::decode(&buf[..n - 1]), Ok(None));
}
