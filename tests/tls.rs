//! Issue 5, TLS: a test CA and a server certificate for `localhost` are generated per
//! test; the real binary serves them under `ssl = require | allow | off`. Clients are
//! psql (libpq 15) and, for what libpq 15 cannot do (direct SSL, a stalled handshake,
//! bytes after `SSLRequest`), rustls as a client on a raw socket.

use std::io::{self, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use mallard_harness::{sqlstate, Options, Server};
use mallard_protocol::pg::backend::Message;
use mallard_protocol::pg::{frontend, startup, PROTOCOL_3_0};
use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, DnType, IsCa, KeyPair, KeyUsagePurpose};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName};
use rustls::{ClientConfig, ClientConnection, RootCertStore, StreamOwned};

const BIN: &str = env!("CARGO_BIN_EXE_mallard");
const REFUSED: &str = "connection requires SSL (ssl = require)";

/// Two CAs and a certificate for `localhost` and 127.0.0.1 signed by the first.
struct Pki {
    dir: tempfile::TempDir,
    ca: PathBuf,
    other_ca: PathBuf,
    cert: PathBuf,
    key: PathBuf,
}

fn new_ca(name: &str) -> CertifiedIssuer<'static, KeyPair> {
    let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params.distinguished_name.push(DnType::CommonName, name);
    params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::DigitalSignature];
    CertifiedIssuer::self_signed(params, KeyPair::generate().unwrap()).unwrap()
}

/// Writes a `localhost` certificate signed by `ca` and its key to the given files.
fn issue(ca: &CertifiedIssuer<'static, KeyPair>, cert: &Path, key: &Path) {
    let mut params = CertificateParams::new(vec!["localhost".to_owned(), "127.0.0.1".to_owned()]).unwrap();
    params.distinguished_name.push(DnType::CommonName, "localhost");
    let key_pair = KeyPair::generate().unwrap();
    let signed = params.signed_by(&key_pair, &**ca).unwrap();
    std::fs::write(cert, signed.pem()).unwrap();
    std::fs::write(key, key_pair.serialize_pem()).unwrap();
}

impl Pki {
    fn new() -> Pki {
        let dir = tempfile::tempdir().unwrap();
        let path = |name: &str| dir.path().join(name);
        let (ca, other_ca) = (new_ca("mallard test CA"), new_ca("another CA"));
        std::fs::write(path("ca.pem"), ca.pem()).unwrap();
        std::fs::write(path("other-ca.pem"), other_ca.pem()).unwrap();
        issue(&ca, &path("server.crt"), &path("server.key"));
        Pki {
            ca: path("ca.pem"),
            other_ca: path("other-ca.pem"),
            cert: path("server.crt"),
            key: path("server.key"),
            dir,
        }
    }

    /// Replaces the server's files with a certificate signed by the other CA.
    fn reissue_from_other_ca(&self) -> CertifiedIssuer<'static, KeyPair> {
        let other = new_ca("a third CA");
        std::fs::write(&self.other_ca, other.pem()).unwrap();
        issue(&other, &self.cert, &self.key);
        other
    }

    fn env(&self, ssl: &str) -> Vec<(String, String)> {
        vec![
            ("MALLARD_TLS__SSL".into(), ssl.into()),
            ("MALLARD_TLS__CERT".into(), self.cert.display().to_string()),
            ("MALLARD_TLS__KEY".into(), self.key.display().to_string()),
        ]
    }
}

fn start(pki: &Pki, ssl: &str, options: Options) -> Server {
    let mut env = pki.env(ssl);
    env.extend(options.env.iter().cloned());
    Server::start(BIN, Options { env, ..options })
}

/// psql with a conninfo string: `host=localhost` (what verify-full checks) on 127.0.0.1.
fn psql(server: &Server, conninfo: &str, commands: &[&str]) -> Output {
    let mut cmd = Command::new("psql");
    cmd.arg(format!(
        "host=localhost hostaddr=127.0.0.1 port={} user=tester dbname=mallard {conninfo}",
        server.port
    ))
    .args(["-X", "-A", "-t", "-v", "ON_ERROR_STOP=1"]);
    for c in commands {
        cmd.args(["-c", c]);
    }
    cmd.env("PGCONNECT_TIMEOUT", "10").env_remove("PGSSLMODE").output().expect("run psql")
}

fn ok(out: &Output) -> String {
    assert!(out.status.success(), "psql failed: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn failed(out: &Output) -> String {
    assert!(!out.status.success(), "psql succeeded: {}", String::from_utf8_lossy(&out.stdout));
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// What `\conninfo` says about encryption.
const TLS_IN_USE: &str = "SSL connection (protocol: TLSv1.3";

// --- raw clients ---

fn client_config(ca: &Path, alpn: &[&[u8]]) -> Arc<ClientConfig> {
    let mut roots = RootCertStore::empty();
    for cert in CertificateDer::pem_file_iter(ca).unwrap() {
        roots.add(cert.unwrap()).unwrap();
    }
    let mut config = ClientConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
    config.alpn_protocols = alpn.iter().map(|p| p.to_vec()).collect();
    Arc::new(config)
}

type TlsStream = StreamOwned<ClientConnection, TcpStream>;

fn ssl_request() -> Vec<u8> {
    let mut buf = Vec::new();
    startup::encode(&startup::Request::SslRequest, &mut buf);
    buf
}

fn startup_packet() -> Vec<u8> {
    let mut buf = Vec::new();
    startup::encode(
        &startup::Request::Startup {
            version: PROTOCOL_3_0,
            params: vec![("user", "tester"), ("database", "mallard")],
        },
        &mut buf,
    );
    buf
}

/// Connects and sends `SSLRequest`; returns the socket after reading the one-byte answer.
fn ssl_requested(port: u16) -> (TcpStream, u8) {
    let mut socket = TcpStream::connect(("127.0.0.1", port)).unwrap();
    socket.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    socket.write_all(&ssl_request()).unwrap();
    let mut answer = [0u8];
    socket.read_exact(&mut answer).unwrap();
    (socket, answer[0])
}

/// A TLS connection: after `SSLRequest` and `S`, or direct (the ClientHello first).
fn tls_connect(port: u16, config: Arc<ClientConfig>, direct: bool) -> io::Result<TlsStream> {
    let mut socket = if direct {
        let s = TcpStream::connect(("127.0.0.1", port))?;
        s.set_read_timeout(Some(Duration::from_secs(10)))?;
        s
    } else {
        let (s, answer) = ssl_requested(port);
        assert_eq!(answer, b'S', "SSLRequest answered {:?}", answer as char);
        s
    };
    let mut tls = ClientConnection::new(config, ServerName::try_from("localhost").unwrap()).unwrap();
    while tls.is_handshaking() {
        tls.complete_io(&mut socket)?;
    }
    Ok(StreamOwned::new(tls, socket))
}

use mallard_harness::read_messages_until as read_until;

fn ready_or_error(m: &Message) -> bool {
    matches!(m, Message::ReadyForQuery(_) | Message::ErrorResponse(_))
}

/// Sends a startup packet and reads until ReadyForQuery or an error.
fn start_session(stream: &mut (impl Read + Write)) -> Vec<Message> {
    stream.write_all(&startup_packet()).unwrap();
    stream.flush().unwrap();
    read_until(stream, ready_or_error)
}

fn error_code(messages: &[Message]) -> Option<String> {
    messages.iter().find_map(|m| match m {
        Message::ErrorResponse(e) => Some(format!("{} {}", e.code.code(), e.message)),
        _ => None,
    })
}

fn query(stream: &mut (impl Read + Write), sql: &str) -> Vec<Message> {
    let mut buf = Vec::new();
    frontend::Message::Query(sql).encode(&mut buf);
    stream.write_all(&buf).unwrap();
    stream.flush().unwrap();
    read_until(stream, |m| matches!(m, Message::ReadyForQuery(_)))
}

/// Whether the server closed `socket` (EOF or reset) within `limit`.
fn closed_within(socket: &mut TcpStream, limit: Duration) -> bool {
    socket.set_read_timeout(Some(limit)).unwrap();
    let mut buf = [0u8; 64];
    loop {
        match socket.read(&mut buf) {
            Ok(0) => return true,
            Ok(_) => continue,
            Err(e) if matches!(e.kind(), io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut) => {
                return false
            }
            Err(_) => return true,
        }
    }
}

/// Waits for a line in the server's log: a worker may log after the client saw the close.
fn assert_logged(server: &Server, needle: &str) {
    let deadline = Instant::now() + Duration::from_secs(5);
    while !server.logs().contains(needle) {
        assert!(Instant::now() < deadline, "{needle:?} not in the log:\n{}", server.logs());
        thread::sleep(Duration::from_millis(20));
    }
}

// --- tests ---

/// Acceptance 1: verify-full against the test CA succeeds over TLS, another CA fails, and
/// a plaintext client is refused with 28000 (psql and the `postgres` crate). The unix
/// socket, where PostgreSQL never uses TLS, still takes plaintext.
#[test]
fn require_serves_verified_tls_and_refuses_plaintext() {
    let pki = Pki::new();
    let server = start(&pki, "require", Options { unix_socket: true, ..Options::default() });
    let ca = pki.ca.display();

    let out =
        ok(&psql(&server, &format!("sslmode=verify-full sslrootcert={ca}"), &["\\conninfo", "select 42"]));
    assert!(out.contains(TLS_IN_USE), "{out}");
    assert!(out.lines().any(|l| l == "42"), "{out}");

    let err = failed(&psql(
        &server,
        &format!("sslmode=verify-full sslrootcert={}", pki.other_ca.display()),
        &["select 1"],
    ));
    assert!(err.contains("certificate verify failed"), "{err}");

    let err = failed(&psql(&server, "sslmode=disable", &["select 1"]));
    assert!(err.contains(&format!("FATAL:  {REFUSED}")), "{err}");
    let err =
        postgres::Client::connect(&server.conn_str(), postgres::NoTls).err().expect("plaintext was served");
    assert_eq!(sqlstate(&err), "28000", "{err}");
    assert_eq!(err.as_db_error().unwrap().message(), REFUSED);

    let out = server.psql_unix("select 7");
    assert_eq!(ok(&out).trim(), "7");
}

#[test]
fn allow_serves_tls_and_plaintext() {
    let pki = Pki::new();
    let server = start(&pki, "allow", Options::default());
    let out = ok(&psql(&server, "sslmode=disable", &["\\conninfo", "select 1"]));
    assert!(!out.contains("SSL connection") && out.lines().any(|l| l == "1"), "{out}");
    let out = ok(&psql(&server, "sslmode=require", &["\\conninfo", "select 2"]));
    assert!(out.contains(TLS_IN_USE) && out.lines().any(|l| l == "2"), "{out}");
    let out =
        ok(&psql(&server, &format!("sslmode=verify-full sslrootcert={}", pki.ca.display()), &["select 3"]));
    assert_eq!(out.trim(), "3");
}

/// `ssl = off`: `SSLRequest` is answered `N` (so `sslmode=require` fails on the client,
/// `prefer` falls back), and a direct-SSL client is closed without a handshake.
#[test]
fn off_declines_tls() {
    let pki = Pki::new();
    let server = start(&pki, "off", Options::default());
    let err = failed(&psql(&server, "sslmode=require", &["select 1"]));
    assert!(err.contains("server does not support SSL, but SSL was required"), "{err}");
    let out = ok(&psql(&server, "sslmode=prefer", &["\\conninfo", "select 1"]));
    assert!(!out.contains("SSL connection"), "{out}");

    let direct = tls_connect(server.port, client_config(&pki.ca, &[b"postgresql"]), true);
    assert!(direct.is_err(), "a direct-SSL handshake succeeded with ssl = off");
}

/// PostgreSQL 17's direct SSL: the ClientHello is the first thing sent, and it must offer
/// ALPN `postgresql`.
#[test]
fn direct_ssl_needs_alpn_postgresql() {
    let pki = Pki::new();
    let server = start(&pki, "require", Options::default());

    let mut tls =
        tls_connect(server.port, client_config(&pki.ca, &[b"postgresql"]), true).expect("direct SSL");
    assert_eq!(tls.conn.alpn_protocol(), Some(&b"postgresql"[..]));
    let messages = start_session(&mut tls);
    assert!(messages.contains(&Message::AuthenticationOk), "{messages:?}");
    assert_eq!(error_code(&messages), None);
    let rows = query(&mut tls, "select 40 + 2");
    assert!(
        rows.iter().any(|m| matches!(m, Message::DataRow(v) if v == &[Some(b"42".to_vec())])),
        "{rows:?}"
    );

    // SSLRequest with ALPN works too, and a client of libpq before 17 sends none.
    for alpn in [&[b"postgresql".as_slice()][..], &[]] {
        let mut tls = tls_connect(server.port, client_config(&pki.ca, alpn), false).expect("SSLRequest");
        assert!(start_session(&mut tls).contains(&Message::AuthenticationOk));
    }

    // Without ALPN the handshake completes, then the server closes without a word.
    let mut tls =
        tls_connect(server.port, client_config(&pki.ca, &[]), true).expect("handshake without ALPN");
    let _ = tls.write_all(&startup_packet()).and_then(|()| tls.flush());
    let messages = read_until(&mut tls, ready_or_error);
    assert!(messages.is_empty(), "a direct-SSL client without ALPN got {messages:?}");

    // Offering only another protocol fails the handshake itself.
    let other = tls_connect(server.port, client_config(&pki.ca, &[b"http/1.1"]), true);
    assert!(other.is_err(), "a direct-SSL handshake with ALPN http/1.1 succeeded");
    assert_logged(&server, "direct SSL connection without the ALPN protocol");

    // The worker still serves.
    assert_eq!(
        ok(&psql(&server, &format!("sslmode=verify-full sslrootcert={}", pki.ca.display()), &["select 5"]))
            .trim(),
        "5"
    );
}

/// Bytes sent after `SSLRequest` before the answer were not encrypted, whoever sent them;
/// they are refused, not taken as the startup packet.
#[test]
fn bytes_after_ssl_request_are_refused() {
    let pki = Pki::new();
    for ssl in ["require", "off"] {
        let server = start(&pki, ssl, Options::default());
        let mut socket = TcpStream::connect(("127.0.0.1", server.port)).unwrap();
        socket.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        let mut bytes = ssl_request();
        bytes.extend_from_slice(&startup_packet());
        socket.write_all(&bytes).unwrap();
        // Without TLS the request is answered `N` first, as PostgreSQL answers it; with
        // TLS the error comes instead of the `S`, while the client still reads plaintext.
        if ssl == "off" {
            let mut answer = [0u8; 1];
            socket.read_exact(&mut answer).unwrap();
            assert_eq!(&answer, b"N", "ssl = off");
        }
        let messages = read_until(&mut socket, ready_or_error);
        assert_eq!(
            error_code(&messages).as_deref(),
            Some("08P01 received unencrypted data after SSL request"),
            "ssl = {ssl}: {messages:?}"
        );
        assert!(
            closed_within(&mut socket, Duration::from_secs(5)),
            "ssl = {ssl}: the connection stayed open"
        );
    }
}

/// The handshake is bounded as a whole: a client that sends nothing after `S`, and one
/// that trickles its ClientHello out a byte at a time (each read well within the
/// timeout), are both cut off at `startup_timeout`; a normal client is served meanwhile.
#[test]
fn a_stalled_handshake_is_cut_off_at_the_startup_timeout() {
    let pki = Pki::new();
    let env = vec![("MALLARD_STARTUP_TIMEOUT".to_owned(), "1s".to_owned())];
    let server = start(&pki, "require", Options { env, ..Options::default() });

    let started = Instant::now();
    let (mut silent, answer) = ssl_requested(server.port);
    assert_eq!(answer, b'S');
    let (mut trickle, answer) = ssl_requested(server.port);
    assert_eq!(answer, b'S');
    let mut hello = Vec::new();
    let mut client =
        ClientConnection::new(client_config(&pki.ca, &[]), ServerName::try_from("localhost").unwrap())
            .unwrap();
    client.write_tls(&mut hello).unwrap();
    let trickler = thread::spawn(move || {
        for byte in hello {
            if trickle.write_all(&[byte]).is_err() {
                return Some(started.elapsed());
            }
            thread::sleep(Duration::from_millis(50));
        }
        None
    });

    let psql_started = Instant::now();
    let out =
        ok(&psql(&server, &format!("sslmode=verify-full sslrootcert={}", pki.ca.display()), &["select 1"]));
    assert_eq!(out.trim(), "1");
    assert!(psql_started.elapsed() < Duration::from_secs(1), "psql took {:?}", psql_started.elapsed());

    assert!(closed_within(&mut silent, Duration::from_secs(5)), "a silent handshake was never closed");
    let silent_for = started.elapsed();
    assert!(silent_for >= Duration::from_millis(900), "closed after {silent_for:?}, before the timeout");
    let trickled_for = trickler.join().unwrap().expect("the trickled ClientHello was completed, not cut off");
    assert!(trickled_for < Duration::from_secs(4), "the trickling client was cut off after {trickled_for:?}");
    assert_logged(&server, "TLS handshake not finished within the startup timeout");
}

/// A full server says so after TLS, so that a TLS client can read it.
#[test]
fn too_many_clients_hear_it_over_tls() {
    let pki = Pki::new();
    let extra_args = vec!["--max-connections".to_owned(), "1".to_owned()];
    let server = start(&pki, "require", Options { extra_args, ..Options::default() });
    let config = client_config(&pki.ca, &[]);
    // The harness's readiness probe may still be counted for a moment.
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut first = loop {
        let mut tls = tls_connect(server.port, Arc::clone(&config), false).unwrap();
        let messages = start_session(&mut tls);
        if error_code(&messages).is_none() {
            break tls;
        }
        assert!(Instant::now() < deadline, "{messages:?}");
        thread::sleep(Duration::from_millis(50));
    };
    let mut second = tls_connect(server.port, config, false).expect("the handshake comes before the refusal");
    let messages = start_session(&mut second);
    assert_eq!(
        error_code(&messages).as_deref(),
        Some("53300 sorry, too many clients already"),
        "{messages:?}"
    );
    assert!(query(&mut first, "select 1").iter().any(|m| matches!(m, Message::DataRow(_))));
}

/// libpq before 17 sends cancel requests unencrypted; `require` still takes them.
#[test]
fn plaintext_cancel_request_reaches_a_tls_session() {
    let pki = Pki::new();
    let server = start(&pki, "require", Options::default());
    let mut tls = tls_connect(server.port, client_config(&pki.ca, &[]), false).unwrap();
    let messages = start_session(&mut tls);
    let (pid, secret) = messages
        .iter()
        .find_map(|m| match m {
            Message::BackendKeyData { pid, secret } => Some((*pid, secret.clone())),
            _ => None,
        })
        .expect("BackendKeyData");
    let mut buf = Vec::new();
    frontend::Message::Query(
        "select count(*) from range(500000) a, range(10000) b where a.range + b.range = 7",
    )
    .encode(&mut buf);
    tls.write_all(&buf).unwrap();
    tls.flush().unwrap();
    thread::sleep(Duration::from_millis(300));

    let mut cancel = TcpStream::connect(("127.0.0.1", server.port)).unwrap();
    let mut packet = Vec::new();
    startup::encode(&startup::Request::Cancel { pid, secret: &secret }, &mut packet);
    cancel.write_all(&packet).unwrap();
    assert!(closed_within(&mut cancel, Duration::from_secs(5)));

    let replies = read_until(&mut tls, |m| matches!(m, Message::ReadyForQuery(_)));
    assert_eq!(error_code(&replies).map(|e| e[..5].to_owned()).as_deref(), Some("57014"), "{replies:?}");
}

/// A listening session over TLS, idle: a query that rustls already decrypted is read
/// without waiting for the socket, and a notification from another session wakes it.
#[test]
fn a_listening_tls_session_reads_what_tls_buffered_and_wakes_for_notifications() {
    let pki = Pki::new();
    let server = start(&pki, "allow", Options { workers: 2, ..Options::default() });
    let mut tls = tls_connect(server.port, client_config(&pki.ca, &[]), false).unwrap();
    let started = start_session(&mut tls);
    assert_eq!(error_code(&started), None, "{started:?}");
    let listening = query(&mut tls, "listen jobs");
    assert_eq!(error_code(&listening), None, "{listening:?}");
    // A first query of exactly the worker's 16 KiB read and a second one, in one write:
    // the second is decrypted with the first and waits in rustls, not in the socket.
    let mut buf = Vec::new();
    let padding = "x".repeat(16 * 1024 - 6 - "select ''".len());
    frontend::Message::Query(&format!("select '{padding}'")).encode(&mut buf);
    assert_eq!(buf.len(), 16 * 1024);
    frontend::Message::Query("select 'buffered'").encode(&mut buf);
    tls.write_all(&buf).unwrap();
    tls.flush().unwrap();
    // Both answers, up to the second ReadyForQuery (a reader's buffer ends with it).
    let ready = std::cell::Cell::new(0);
    let answers = read_until(&mut tls, |m| {
        ready.set(ready.get() + usize::from(matches!(m, Message::ReadyForQuery(_))));
        ready.get() == 2
    });
    let rows: Vec<_> = answers.iter().filter(|m| matches!(m, Message::DataRow(_))).collect();
    assert!(
        ready.get() == 2 && rows.len() == 2 && rows[1] == &Message::DataRow(vec![Some(b"buffered".to_vec())]),
        "{} messages, {} rows, {} ReadyForQuery",
        answers.len(),
        rows.len(),
        ready.get()
    );

    let mut other = server.connect();
    let pid: i32 = other.query_one("select pg_backend_pid()", &[]).unwrap().get(0);
    other.batch_execute("notify jobs, 'over TLS'").unwrap();
    let woken = read_until(&mut tls, |m| matches!(m, Message::NotificationResponse { .. }));
    assert_eq!(
        woken.last(),
        Some(&Message::NotificationResponse {
            pid: pid as u32,
            channel: "jobs".into(),
            payload: "over TLS".into()
        }),
        "{woken:?}"
    );
    let after = query(&mut tls, "select 1");
    assert_eq!(error_code(&after), None, "{after:?}");
}

/// A reload starts workers that read the certificate files again.
#[test]
fn reload_picks_up_new_certificate_files() {
    let pki = Pki::new();
    let server = start(&pki, "require", Options::default());
    let verify = |ca: &Path| {
        psql(&server, &format!("sslmode=verify-full sslrootcert={}", ca.display()), &["select 1"])
    };
    ok(&verify(&pki.ca));

    let _new_ca = pki.reissue_from_other_ca();
    let out = server.admin("reload", &[]);
    assert!(out.status.success(), "reload failed: {}", String::from_utf8_lossy(&out.stderr));
    let out = verify(&pki.other_ca);
    assert_eq!(ok(&out).trim(), "1");
    let err = failed(&verify(&pki.ca));
    assert!(err.contains("certificate verify failed"), "{err}");
}

/// `mallard check` refuses TLS files that cannot work, and says which and why.
#[test]
fn check_refuses_unusable_tls_files() {
    let pki = Pki::new();
    let config = pki.dir.path().join("mallard.toml");
    std::fs::write(&config, "storage = \"memory\"\n").unwrap();
    let check = |cert: &Path, key: &Path| {
        let out = Command::new(BIN)
            .args(["check", "-c"])
            .arg(&config)
            .env("MALLARD_TLS__SSL", "require")
            .env("MALLARD_TLS__CERT", cert)
            .env("MALLARD_TLS__KEY", key)
            .output()
            .unwrap();
        (out.status.code(), String::from_utf8_lossy(&out.stderr).into_owned())
    };
    let (code, err) = check(&pki.cert, &pki.key);
    assert_eq!(code, Some(0), "{err}");

    let missing = pki.dir.path().join("missing.key");
    let (code, err) = check(&pki.cert, &missing);
    assert_eq!(code, Some(1), "{err}");
    assert!(err.contains(&format!("could not read a private key from {}", missing.display())), "{err}");
    assert!(err.contains("No such file or directory"), "{err}");

    let garbage = pki.dir.path().join("garbage.pem");
    std::fs::write(&garbage, "not a certificate\n").unwrap();
    let (code, err) = check(&garbage, &pki.key);
    assert_eq!(code, Some(1), "{err}");
    assert!(
        err.contains(&format!("the certificate file {} holds no certificate", garbage.display())),
        "{err}"
    );

    // A key that is not the certificate's.
    let other_key = pki.dir.path().join("other.key");
    std::fs::write(&other_key, KeyPair::generate().unwrap().serialize_pem()).unwrap();
    let (code, err) = check(&pki.cert, &other_key);
    assert_eq!(code, Some(1), "{err}");
    assert!(err.contains("cannot be used together"), "{err}");
}

/// rustls' session state cannot leave its worker, so at a reload a TLS session stays and
/// drains as before (issue 16), the log says why, while a plaintext session moves.
#[test]
fn a_tls_session_drains_at_a_reload_while_a_plain_one_moves() {
    let pki = Pki::new();
    let server = start(
        &pki,
        "allow",
        Options { env: vec![("MALLARD_DRAIN_TIMEOUT".into(), "2s".into())], ..Options::default() },
    );
    let mut tls =
        tls_connect(server.port, client_config(&pki.ca, &[b"postgresql"]), false).expect("SSLRequest");
    assert_eq!(error_code(&start_session(&mut tls)), None);
    assert_eq!(error_code(&query(&mut tls, "select 1")), None);
    let mut plain = server.connect();
    let pid: i32 = plain.query_one("select pg_backend_pid()", &[]).unwrap().get(0);
    let reload = server.admin("reload", &[]);
    assert!(reload.status.success(), "{}", String::from_utf8_lossy(&reload.stderr));
    // The drain timeout ends the TLS session with 57P01 while it is idle.
    tls.sock.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let ended = read_until(&mut tls, ready_or_error);
    assert_eq!(
        error_code(&ended).as_deref(),
        Some("57P01 terminating connection due to administrator command"),
        "{ended:?}"
    );
    let moved: i32 = plain.query_one("select pg_backend_pid()", &[]).unwrap().get(0);
    assert_eq!(moved, pid);
    assert!(server.logs().contains("TLS: the encryption state cannot leave this process"));
}
