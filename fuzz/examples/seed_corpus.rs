//! Writes the generated part of the seed corpus: one file per kind of message a client
//! sends, encoded with the codec's own encoders, plus a few near misses the decoders
//! must refuse. The captured part (`psql-*`, `pgbench-*`) is what those clients sent to
//! a PostgreSQL 15. Run from `fuzz/`: `cargo run --example seed_corpus`.

use std::path::Path;

use mallard_protocol::pg::frontend::{Message, Target};
use mallard_protocol::pg::startup::{self, Request};
use mallard_protocol::pg::{Format, PROTOCOL_3_0, PROTOCOL_3_2};

fn frontend(messages: &[Message<'_>]) -> Vec<u8> {
    let mut buf = Vec::new();
    for m in messages {
        m.encode(&mut buf);
    }
    buf
}

fn startup_packets(requests: &[Request<'_>]) -> Vec<u8> {
    let mut buf = Vec::new();
    for r in requests {
        startup::encode(r, &mut buf);
    }
    buf
}

fn write(dir: &Path, name: &str, bytes: &[u8]) {
    std::fs::write(dir.join(format!("gen-{name}")), bytes).expect("write a seed");
}

fn frontend_seeds(dir: &Path) {
    let bind = |portal, statement, params| Message::Bind {
        portal,
        statement,
        param_formats: vec![Format::Text, Format::Binary],
        params,
        result_formats: vec![Format::Binary],
    };
    let seeds: Vec<(&str, Vec<Message<'_>>)> = vec![
        ("query", vec![Message::Query("SELECT 1")]),
        ("query-empty", vec![Message::Query("")]),
        ("query-utf8", vec![Message::Query("SELECT 'åäö', '🦆'")]),
        (
            "extended",
            vec![
                Message::Parse { name: "s1", query: "SELECT $1::int, $2", param_types: vec![23, 0] },
                bind("p1", "s1", vec![Some(b"42"), Some(&[0, 0, 0, 7])]),
                Message::Describe { target: Target::Portal, name: "p1" },
                Message::Execute { portal: "p1", max_rows: 10 },
                Message::Close { target: Target::Portal, name: "p1" },
                Message::Close { target: Target::Statement, name: "s1" },
                Message::Sync,
            ],
        ),
        (
            "bind-null",
            vec![bind("", "", vec![None, Some(b"")]), Message::Execute { portal: "", max_rows: 0 }],
        ),
        (
            "describe-statement",
            vec![Message::Describe { target: Target::Statement, name: "" }, Message::Flush],
        ),
        ("copy-in", vec![Message::CopyData(b"1\tone\n2\ttwo\n"), Message::CopyDone]),
        ("copy-fail", vec![Message::CopyData(b"1\t"), Message::CopyFail("client gave up")]),
        ("password", vec![Message::Password(b"secret\0")]),
        ("terminate", vec![Message::Terminate]),
        ("function-call", vec![Message::Unknown { tag: b'F', body: &[0, 0, 0, 1, 0, 0, 0, 0, 0, 0] }]),
    ];
    for (name, messages) in seeds {
        write(dir, name, &frontend(&messages));
    }
    // Near misses the decoder must refuse: a length below four, one over the fuzz
    // target's maximum, trailing bytes, an unterminated string, a bad Describe target.
    write(dir, "bad-length", b"Q\0\0\0\x03");
    write(dir, "too-large", b"d\0\x01\0\x01");
    write(dir, "trailing", b"S\0\0\0\x05x");
    write(dir, "unterminated", b"Q\0\0\0\x0cSELECT 1");
    write(dir, "bad-target", b"D\0\0\0\x07Xs\0");
}

fn startup_seeds(dir: &Path) {
    let params = vec![("user", "tester"), ("database", "mallard"), ("client_encoding", "UTF8")];
    let start = Request::Startup { version: PROTOCOL_3_0, params: params.clone() };
    let seeds: Vec<(&str, Vec<Request<'_>>)> = vec![
        ("startup", vec![start.clone()]),
        ("startup-3.2", vec![Request::Startup { version: PROTOCOL_3_2, params: params.clone() }]),
        (
            "startup-options",
            vec![Request::Startup {
                version: PROTOCOL_3_0,
                params: vec![("user", "u"), ("options", "-c search_path=a,b"), ("_pq_.x", "1")],
            }],
        ),
        ("ssl-then-startup", vec![Request::SslRequest, start.clone()]),
        ("gss-ssl-startup", vec![Request::GssEncRequest, Request::SslRequest, start]),
        ("cancel", vec![Request::Cancel { pid: 4242, secret: &[1, 2, 3, 4] }]),
        ("cancel-3.2", vec![Request::Cancel { pid: 4242, secret: &[7; 32] }]),
    ];
    for (name, requests) in seeds {
        write(dir, name, &startup_packets(&requests));
    }
    // The first bytes of a TLS 1.3 ClientHello (direct SSL), a length below eight, an
    // SSLRequest with a body, a startup packet without its terminator.
    write(dir, "client-hello", &[0x16, 0x03, 0x01, 0x00, 0xc8, 0x01, 0x00, 0x00, 0xc4, 0x03, 0x03]);
    write(dir, "bad-length", &[0, 0, 0, 7, 0, 3, 0, 0]);
    write(dir, "ssl-with-body", &[0, 0, 0, 9, 0x04, 0xd2, 0x16, 0x2f, 0]);
    write(dir, "no-terminator", b"\0\0\0\x0f\0\x03\0\0user\0u\0");
}

fn main() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("corpus");
    for (target, seeds) in [("frontend_message", frontend_seeds as fn(&Path)), ("startup", startup_seeds)] {
        let dir = root.join(target);
        std::fs::create_dir_all(&dir).expect("create the corpus directory");
        seeds(&dir);
    }
}
