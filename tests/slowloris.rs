//! Slowloris (issue 5, acceptance 4): sockets that connect and send nothing, and sockets
//! that send a startup packet one byte a second, are all closed once `startup_timeout`
//! has passed since they connected, while a normal client connecting meanwhile is
//! served within a second, again and again.

use std::io::{ErrorKind, Read, Write};
use std::net::TcpStream;
use std::thread;
use std::time::{Duration, Instant};

use mallard_harness::{Options, Server};
use mallard_protocol::pg::startup::{self, Request};
use mallard_protocol::pg::PROTOCOL_3_0;

const STARTUP_TIMEOUT: Duration = Duration::from_secs(2);
const SILENT: usize = 200;
const TRICKLING: usize = 50;
/// How late after the timeout a close may come on a loaded test machine.
const MARGIN: Duration = Duration::from_millis(2500);
/// How long a normal client may take to connect and run a query during the attack.
const SERVED_WITHIN: Duration = Duration::from_secs(1);

struct Attacker {
    stream: TcpStream,
    connected: Instant,
    /// The startup packet still to send, one byte a second; empty for a silent socket.
    to_send: Vec<u8>,
    closed: Option<Duration>,
}

impl Attacker {
    fn connect(port: u16, to_send: Vec<u8>) -> Attacker {
        let stream = TcpStream::connect(("127.0.0.1", port)).expect("connect");
        stream.set_nonblocking(true).unwrap();
        Attacker { stream, connected: Instant::now(), to_send, closed: None }
    }

    /// Notes when the server closed the socket: EOF or a reset.
    fn poll(&mut self) {
        if self.closed.is_some() {
            return;
        }
        let mut buf = [0u8; 64];
        match self.stream.read(&mut buf) {
            Ok(0) => self.closed = Some(self.connected.elapsed()),
            Ok(n) => panic!("the server answered an incomplete startup with {:?}", &buf[..n]),
            Err(e) if e.kind() == ErrorKind::WouldBlock => {}
            Err(_) => self.closed = Some(self.connected.elapsed()),
        }
    }

    fn trickle(&mut self) {
        if self.closed.is_none() && !self.to_send.is_empty() {
            let byte = self.to_send.remove(0);
            // A failed write means the server closed; the next poll sees it.
            let _ = self.stream.write(&[byte]);
        }
    }
}

fn startup_packet() -> Vec<u8> {
    let mut packet = Vec::new();
    let params = vec![("user", "slow"), ("database", "mallard"), ("application_name", "slowloris")];
    startup::encode(&Request::Startup { version: PROTOCOL_3_0, params }, &mut packet);
    packet
}

/// The worker's threads, from /proc, but for session threads waiting for a session
/// (named `session-idle`): those stay a while after their session ends, by design.
fn threads(pid: u32) -> usize {
    let tasks =
        std::fs::read_dir(format!("/proc/{pid}/task")).map(|d| d.flatten().collect()).unwrap_or(Vec::new());
    tasks
        .iter()
        .filter(|t| {
            std::fs::read_to_string(t.path().join("comm")).map_or(true, |c| c.trim() != "session-idle")
        })
        .count()
}

#[test]
fn idle_and_trickling_sockets_are_closed_at_the_startup_timeout_while_clients_are_served() {
    let server = Server::start(
        env!("CARGO_BIN_EXE_mallard"),
        Options {
            storage: "memory",
            workers: 1,
            // Every socket in startup holds a connection slot (and a worker thread)
            // until it finishes or times out, so the limit must leave room for the
            // attack plus the normal clients.
            extra_args: vec!["--max-connections".into(), "400".into()],
            env: vec![("MALLARD_STARTUP_TIMEOUT".into(), format!("{}ms", STARTUP_TIMEOUT.as_millis()))],
            ..Options::default()
        },
    );
    let worker = server.wait_workers(1, Duration::from_secs(10))[0];
    thread::sleep(Duration::from_millis(300));
    let idle_threads = threads(worker);

    let packet = startup_packet();
    assert!(packet.len() > 10, "the trickle outlasts the timeout");
    let mut attackers: Vec<Attacker> =
        (0..SILENT).map(|_| Attacker::connect(server.port, Vec::new())).collect();
    attackers.extend((0..TRICKLING).map(|_| Attacker::connect(server.port, packet.clone())));
    let attack_started = attackers[0].connected;

    // Normal clients, one after another, on a thread of their own.
    let conn_str = server.conn_str();
    let clients = thread::spawn(move || {
        let mut timings = Vec::new();
        let until = Instant::now() + STARTUP_TIMEOUT + MARGIN;
        while Instant::now() < until {
            let started = Instant::now();
            let mut client =
                postgres::Client::connect(&conn_str, postgres::NoTls).expect("a normal client connects");
            let row = client.query_one("SELECT 42", &[]).expect("a normal client's query");
            assert_eq!(row.get::<_, i32>(0), 42);
            timings.push(started.elapsed());
            thread::sleep(Duration::from_millis(100));
        }
        timings
    });

    let mut last_trickle = Instant::now();
    let give_up = attack_started + STARTUP_TIMEOUT + MARGIN + Duration::from_secs(5);
    while attackers.iter().any(|a| a.closed.is_none()) && Instant::now() < give_up {
        if last_trickle.elapsed() >= Duration::from_secs(1) {
            attackers.iter_mut().for_each(Attacker::trickle);
            last_trickle = Instant::now();
        }
        attackers.iter_mut().for_each(Attacker::poll);
        thread::sleep(Duration::from_millis(20));
    }

    let timings = clients.join().expect("the normal clients were served");
    assert!(timings.len() >= 5, "only {} normal clients ran during the attack", timings.len());
    let slowest = timings.iter().max().unwrap();
    assert!(*slowest < SERVED_WITHIN, "a normal client took {slowest:?} during the attack: {timings:?}");

    let open = attackers.iter().filter(|a| a.closed.is_none()).count();
    assert_eq!(open, 0, "{open} attacking sockets were never closed; log:\n{}", server.logs());
    for (i, a) in attackers.iter().enumerate() {
        let closed = a.closed.unwrap();
        let kind = if i < SILENT { "silent" } else { "trickling" };
        assert!(
            closed >= STARTUP_TIMEOUT - Duration::from_millis(100),
            "a {kind} socket was closed early, after {closed:?}"
        );
        assert!(closed <= STARTUP_TIMEOUT + MARGIN, "a {kind} socket was closed after {closed:?}");
    }
    // A trickling socket had sent a few bytes, not its whole packet.
    assert!(attackers[SILENT..].iter().all(|a| !a.to_send.is_empty()));

    // Each closed socket is logged, and its thread is gone.
    let deadline = Instant::now() + Duration::from_secs(10);
    let timeouts = |logs: &str| logs.lines().filter(|l| l.contains("startup timeout")).count();
    while (timeouts(&server.logs()) < SILENT + TRICKLING || threads(worker) > idle_threads + 2)
        && Instant::now() < deadline
    {
        thread::sleep(Duration::from_millis(100));
    }
    assert_eq!(timeouts(&server.logs()), SILENT + TRICKLING, "one startup-timeout line per socket");
    assert!(threads(worker) <= idle_threads + 2, "{} threads left, {idle_threads} before", threads(worker));
    assert_eq!(server.worker_pids(), vec![worker], "the worker survived");
}
