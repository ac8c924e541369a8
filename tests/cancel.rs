//! Query cancellation across the worker pool (storage `memory`, 4 workers): a
//! `CancelRequest` may reach any worker, which forwards it through the supervisor to the
//! worker that owns the session. A cancelled simple query fails with 57014 at once, while
//! sessions on every worker go on working; a request with a wrong key changes nothing.

use std::collections::BTreeSet;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::thread;
use std::time::{Duration, Instant};

use mallard_harness::{sqlstate, Options, Server};
use mallard_protocol::pg::startup;
use postgres::{Client, NoTls, SimpleQueryMessage};

const BIN: &str = env!("CARGO_BIN_EXE_mallard");
const SESSIONS: usize = 8;
const TRIALS: usize = 100;

/// A cross join of `outer` x 10,000 pairs, about 3 s per 10^9 pairs here: 300,000 runs
/// for about 10 s when nothing cancels it, 50,000 for under 2 s. Exactly 8 pairs have
/// `a + b = 7`, so a run to the end answers 8.
fn long_query(outer: u64) -> String {
    format!("select count(*) from range({outer}) a, range(10000) b where a.range + b.range = 7")
}

fn value(client: &mut Client, sql: &str) -> Result<String, postgres::Error> {
    let messages = client.simple_query(sql)?;
    Ok(messages
        .iter()
        .find_map(|m| match m {
            SimpleQueryMessage::Row(r) => Some(r.get(0).unwrap_or("NULL").to_owned()),
            _ => None,
        })
        .unwrap_or_default())
}

fn sessions(server: &Server) -> (Vec<Client>, Vec<u32>) {
    let mut clients: Vec<Client> = (0..SESSIONS).map(|_| server.connect()).collect();
    let mut pids = Vec::new();
    let mut served_by = Vec::new();
    for c in &mut clients {
        let sql = "select pid || ' ' || worker_pid from pg_stat_activity where pid = pg_backend_pid()";
        let both = value(c, sql).expect("the session's own row");
        let (pid, worker) = both.split_once(' ').expect("two numbers");
        pids.push(pid.parse().expect("a pid"));
        served_by.push(worker.parse().expect("a worker pid"));
    }
    let workers: BTreeSet<u32> = server.worker_pids().into_iter().collect();
    let used: BTreeSet<u32> = served_by.iter().copied().collect();
    assert!(used.is_subset(&workers), "worker pids {used:?} are not the workers {workers:?}");
    assert_eq!(used.len(), 4, "{SESSIONS} sessions should spread over all 4 workers, got {served_by:?}");
    assert_eq!(pids.iter().collect::<BTreeSet<_>>().len(), SESSIONS, "backend pids are distinct: {pids:?}");
    (clients, pids)
}

/// Short queries on `others` while the long query runs; each must answer correctly.
fn short_queries(others: &mut [&mut Client], trial: usize) {
    thread::scope(|s| {
        for (i, c) in others.iter_mut().enumerate() {
            s.spawn(move || {
                for k in 0..3 {
                    let want = trial * 1000 + i * 10 + k;
                    let got = value(c, &format!("select {want} + 1")).unwrap_or_else(|e| {
                        panic!("trial {trial}: short query on session {i} failed: {} {e}", sqlstate(&e))
                    });
                    assert_eq!(got, (want + 1).to_string(), "trial {trial}: short query on session {i}");
                }
            });
        }
    });
}

#[test]
fn cancel_long_simple_queries_across_workers() {
    let server = Server::start(BIN, Options { storage: "memory", workers: 4, ..Options::default() });
    server.ready_workers(4, Duration::from_secs(30));
    let (mut clients, pids) = sessions(&server);
    let mut slowest = Duration::ZERO;
    for trial in 0..TRIALS {
        let victim = trial % SESSIONS;
        let (before, rest) = clients.split_at_mut(victim);
        let (target, after) = rest.split_first_mut().expect("victim session");
        let token = target.cancel_token();
        let delay = Duration::from_millis(100 + (trial as u64 * 37) % 100);
        let (result, elapsed_after_cancel) = thread::scope(|s| {
            let long = s.spawn(|| {
                let r = target.simple_query(&long_query(300_000));
                (r, Instant::now())
            });
            thread::sleep(delay);
            let sent = Instant::now();
            token.cancel_query(NoTls).expect("send the cancel request");
            let mut others: Vec<&mut Client> = before.iter_mut().chain(after.iter_mut()).collect();
            short_queries(&mut others, trial);
            let (result, done) = long.join().expect("long query thread");
            (result, done.saturating_duration_since(sent))
        });
        match result {
            Err(e) if sqlstate(&e) == "57014" => {}
            Err(e) => panic!("trial {trial}: cancelled query failed with {} ({e}), not 57014", sqlstate(&e)),
            Ok(_) => panic!(
                "trial {trial}: the query on worker {} was not cancelled (it ran to the end); log:\n{}",
                pids[victim],
                server.logs()
            ),
        }
        slowest = slowest.max(elapsed_after_cancel);
        assert!(
            elapsed_after_cancel < Duration::from_secs(2),
            "trial {trial}: the query ended {elapsed_after_cancel:?} after the cancel request"
        );
        for (i, c) in clients.iter_mut().enumerate() {
            let got = value(c, "select 40 + 2").unwrap_or_else(|e| {
                panic!("trial {trial}: session {i} unusable afterwards: {} {e}", sqlstate(&e))
            });
            assert_eq!(got, "42", "trial {trial}: session {i} after the trial");
        }
    }
    println!("{TRIALS} cancels; the slowest query ended {slowest:?} after its cancel request");
}

/// Sends a raw `CancelRequest` and returns how long until the server closed the socket.
fn raw_cancel(port: u16, pid: u32, secret: &[u8]) -> Duration {
    let mut packet = Vec::new();
    startup::encode(&startup::Request::Cancel { pid, secret }, &mut packet);
    let mut stream = TcpStream::connect(("127.0.0.1", port)).expect("connect for the cancel request");
    stream.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let start = Instant::now();
    stream.write_all(&packet).expect("send the cancel request");
    let mut buf = [0u8; 64];
    match stream.read(&mut buf) {
        Ok(0) => start.elapsed(),
        Ok(n) => panic!("the server answered a cancel request with {n} bytes: {:?}", &buf[..n]),
        Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => start.elapsed(),
        Err(e) => panic!("the server did not close the cancel request's socket: {e}"),
    }
}

#[test]
fn cancel_with_wrong_key_is_ignored() {
    let server = Server::start(BIN, Options { storage: "memory", workers: 4, ..Options::default() });
    server.ready_workers(4, Duration::from_secs(30));
    let (mut clients, pids) = sessions(&server);
    // Above any pid_max Linux allows, so no worker has it.
    let unknown_pid = i32::MAX as u32 - 1;
    for (victim, client) in clients.iter_mut().enumerate().take(4) {
        let pid = pids[victim];
        let (result, closes) = thread::scope(|s| {
            let long = s.spawn(|| value(client, &long_query(50_000)));
            thread::sleep(Duration::from_millis(150));
            // A random secret is wrong with certainty but for one chance in 2^32.
            let wrong: [u8; 4] = rand_secret(victim);
            let closes = [raw_cancel(server.port, pid, &wrong), raw_cancel(server.port, unknown_pid, &wrong)];
            (long.join().expect("long query thread"), closes)
        });
        let got = result.unwrap_or_else(|e| {
            panic!("session {victim}: the query failed after bogus cancel requests: {} {e}", sqlstate(&e))
        });
        assert_eq!(got, "8", "session {victim}: the query's answer");
        for close in closes {
            assert!(close < Duration::from_secs(5), "the cancel request's socket stayed open {close:?}");
        }
    }
    for (i, c) in clients.iter_mut().enumerate() {
        assert_eq!(value(c, "select 1").unwrap_or_else(|e| panic!("session {i}: {e}")), "1");
    }
}

/// Four bytes that differ between calls and runs, without a random-number crate.
fn rand_secret(salt: usize) -> [u8; 4] {
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().subsec_nanos();
    (nanos ^ (salt as u32).wrapping_mul(0x9e37_79b9) ^ 0x5a5a_5a5a).to_be_bytes()
}
