//! The Prometheus endpoint (`metrics_listen`): connections, queries, errors by SQLSTATE
//! class, the duration histogram, restarts and reloads, and counters that stay
//! continuous across a reload.

use std::collections::HashMap;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::thread::sleep;
use std::time::{Duration, Instant};

use mallard_harness::{free_port, Options, Server};

/// `GET /metrics`, parsed into `name{labels}` → value.
fn scrape(port: u16) -> HashMap<String, f64> {
    let mut s = TcpStream::connect(("127.0.0.1", port)).expect("connect to the metrics endpoint");
    s.write_all(b"GET /metrics HTTP/1.1\r\nHost: localhost\r\n\r\n").unwrap();
    let mut response = String::new();
    s.read_to_string(&mut response).unwrap();
    let (head, body) = response.split_once("\r\n\r\n").expect("an HTTP response");
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    assert!(head.contains("text/plain; version=0.0.4"), "{head}");
    body.lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
        .map(|l| {
            let (name, value) = l.rsplit_once(' ').expect("a sample line");
            (name.to_owned(), value.parse().expect("a number"))
        })
        .collect()
}

/// Scrapes until `check` holds: workers report with their pongs, about once a second.
fn scrape_until(
    port: u16,
    what: &str,
    check: impl Fn(&HashMap<String, f64>) -> bool,
) -> HashMap<String, f64> {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let m = scrape(port);
        if check(&m) {
            return m;
        }
        assert!(Instant::now() < deadline, "metrics never showed {what}: {m:#?}");
        sleep(Duration::from_millis(200));
    }
}

#[test]
fn counters_follow_the_traffic_and_survive_a_reload() {
    let port = free_port();
    let server = Server::start(
        env!("CARGO_BIN_EXE_mallard"),
        Options {
            storage: "memory",
            workers: 2,
            env: vec![("MALLARD_METRICS_LISTEN".into(), format!("127.0.0.1:{port}"))],
            ..Options::default()
        },
    );
    // The server answers once one worker does; the other may still be opening.
    server.ready_workers(2, Duration::from_secs(30));
    let before = scrape(port);
    let accepted = before["mallard_connections_accepted_total"];
    assert_eq!(before["mallard_generation"], 1.0);
    assert_eq!(before["mallard_workers{state=\"ready\"}"], 2.0);

    let mut c = server.connect();
    for _ in 0..5 {
        c.simple_query("select 1").unwrap();
    }
    c.simple_query("select * from no_such_table").unwrap_err();
    c.simple_query("select 'x'::int").unwrap_err();
    let m = scrape_until(port, "the five queries and two errors", |m| {
        let at_least = |key: &str, n: f64| m.get(key).is_some_and(|v| *v >= n);
        at_least("mallard_query_errors_total{sqlstate_class=\"42\"}", 1.0)
            && at_least("mallard_query_errors_total{sqlstate_class=\"22\"}", 1.0)
            && at_least("mallard_queries_total", 7.0)
    });
    assert_eq!(m["mallard_connections_accepted_total"], accepted + 1.0);
    assert_eq!(m["mallard_connections_active"], 1.0);
    assert_eq!(m["mallard_query_duration_seconds_count"], m["mallard_queries_total"]);
    assert!(m["mallard_query_duration_seconds_bucket{le=\"+Inf\"}"] == m["mallard_queries_total"]);

    let out = server.admin("reload", &[]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let after = scrape(port);
    assert_eq!(after["mallard_generation"], 2.0);
    assert_eq!(after["mallard_reloads_total{outcome=\"success\"}"], 1.0);
    for counter in ["mallard_connections_accepted_total", "mallard_queries_total", "mallard_handoffs_total"] {
        assert!(
            after[counter] >= m[counter],
            "{counter} went back across the reload: {} → {}",
            m[counter],
            after[counter]
        );
    }
    // The session on the old generation still counts, and its queries still arrive.
    c.simple_query("select 2").unwrap();
    scrape_until(port, "the query after the reload", |a| {
        a["mallard_queries_total"] > m["mallard_queries_total"]
    });

    // A worker killed outright is a crash, and its replacement is counted.
    let out = server.admin("status", &["--json"]);
    let status: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let worker = status["workers"]
        .as_array()
        .unwrap()
        .iter()
        .find(|w| w["generation"] == 2)
        .and_then(|w| w["pid"].as_u64())
        .expect("a worker of generation 2") as u32;
    // SAFETY: kill(2) on a child of the server this test started.
    unsafe { libc::kill(worker as i32, libc::SIGKILL) };
    scrape_until(port, "the crash restart", |m| m["mallard_worker_restarts_total{cause=\"crash\"}"] >= 1.0);
}

#[test]
fn other_paths_and_methods_are_refused() {
    let port = free_port();
    let _server = Server::start(
        env!("CARGO_BIN_EXE_mallard"),
        Options {
            env: vec![("MALLARD_METRICS_LISTEN".into(), format!("127.0.0.1:{port}"))],
            ..Options::default()
        },
    );
    for (request, status) in [
        ("GET / HTTP/1.1\r\n\r\n", "404"),
        ("POST /metrics HTTP/1.1\r\nContent-Length: 0\r\n\r\n", "405"),
        ("hello\r\n\r\n", "400"),
    ] {
        let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
        s.write_all(request.as_bytes()).unwrap();
        let mut response = String::new();
        s.read_to_string(&mut response).unwrap();
        assert!(response.starts_with(&format!("HTTP/1.1 {status}")), "{request:?} → {response}");
    }
    // Still serving.
    assert!(scrape(port).contains_key("mallard_generation"));
}
