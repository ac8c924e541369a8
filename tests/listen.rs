//! LISTEN/NOTIFY across workers (issue 15), against a real PostgreSQL 15: one scenario
//! runs on both servers and must tell the same story. On mallard
//! (`--storage memory --workers 4`) the four listeners sit on four different workers,
//! and so do the four senders, so every notification crosses from each worker to each
//! other one.
//!
//! Absence is checked without sleeping: after what must not arrive, each listener
//! (one per worker) sends a marker notification, and every listener reads until it has
//! all four markers. A worker passes its sessions' notifications on in the order they
//! were committed, so anything that was wrongly sent before a marker arrives before it.
//!
//! Every notification's payload names its sender (`s2:...`); the pid a listener
//! receives must be that sender's `pg_backend_pid()`.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use mallard_harness::postgres_server::Postgres;
use mallard_harness::{Options, Server};
use postgres::fallible_iterator::FallibleIterator;
use postgres::{Client, NoTls, SimpleQueryMessage};

const BIN: &str = env!("CARGO_BIN_EXE_mallard");
const WORKERS: usize = 4;
/// How long a notification that must come may take.
const PATIENCE: Duration = Duration::from_secs(10);

/// A 70-byte channel name, which LISTEN and NOTIFY cut to 63.
const LONG: &str = "a_channel_name_that_is_far_longer_than_sixty_three_bytes_of_identifier";

struct Session {
    name: String,
    client: Client,
    pid: i32,
    notices: Arc<Mutex<Vec<String>>>,
}

fn connect(conn_str: &str, name: &str) -> Session {
    let notices = Arc::new(Mutex::new(Vec::new()));
    let seen = Arc::clone(&notices);
    let mut client = conn_str
        .parse::<postgres::Config>()
        .expect("connection string")
        .notice_callback(move |n| {
            seen.lock().unwrap().push(format!("NOTICE {} {}", n.code().code(), n.message()))
        })
        .connect(NoTls)
        .unwrap_or_else(|e| panic!("connect {name} to {conn_str}: {e}"));
    let pid = client.query_one("select pg_backend_pid()", &[]).expect("pg_backend_pid").get(0);
    Session { name: name.to_owned(), client, pid, notices }
}

/// What a statement answered, for the transcript: its rows (first column), its tag,
/// or its SQLSTATE, and any notices.
fn answer(session: &mut Session, sql: &str) -> String {
    let mut answer = match session.client.simple_query(sql) {
        Ok(messages) => messages
            .iter()
            .map(|m| match m {
                SimpleQueryMessage::Row(r) => r.get(0).unwrap_or("NULL").to_owned(),
                SimpleQueryMessage::CommandComplete(n) => format!("({n})"),
                _ => String::new(),
            })
            .collect::<Vec<_>>()
            .join(" "),
        Err(e) => format!("ERROR {}", e.code().map_or("?", |c| c.code())),
    };
    for notice in session.notices.lock().unwrap().drain(..) {
        answer.push_str(&format!(" [{notice}]"));
    }
    answer
}

/// The sessions of one run, and what happened to them.
struct Scenario<'s> {
    /// mallard, whose workers must each serve one listener and one sender.
    mallard: Option<&'s Server>,
    listeners: Vec<Session>,
    senders: Vec<Session>,
    transcript: Vec<String>,
    round: u32,
}

impl<'s> Scenario<'s> {
    fn start(conn_str: &str, mallard: Option<&'s Server>) -> Scenario<'s> {
        let mut scenario = Scenario {
            mallard,
            listeners: Vec::new(),
            senders: Vec::new(),
            transcript: Vec::new(),
            round: 0,
        };
        scenario.spread(0);
        scenario.listeners = (0..WORKERS).map(|k| connect(conn_str, &format!("l{k}"))).collect();
        scenario.spread(1);
        scenario.senders = (0..WORKERS).map(|k| connect(conn_str, &format!("s{k}"))).collect();
        scenario.spread(2);
        scenario
    }

    fn spread(&self, each: u32) {
        if let Some(server) = self.mallard {
            spread(server, each);
        }
    }

    fn session(&mut self, name: &str) -> &mut Session {
        self.listeners
            .iter_mut()
            .chain(self.senders.iter_mut())
            .find(|s| s.name == name)
            .unwrap_or_else(|| panic!("no session {name}"))
    }

    fn pid_of(&self, name: &str) -> Option<i32> {
        self.listeners.iter().chain(self.senders.iter()).find(|s| s.name == name).map(|s| s.pid)
    }

    /// Runs `sql` on session `who` and writes down what it answered.
    fn step(&mut self, who: &str, sql: &str) {
        let answer = answer(self.session(who), sql);
        let shown = if sql.len() > 80 { format!("{}...", &sql[..80]) } else { sql.to_owned() };
        self.transcript.push(format!("{who}: {shown} -> {answer}"));
    }

    fn note(&mut self, line: String) {
        self.transcript.push(line);
    }

    /// Every listener sends a marker, then reads until it has all of them; what came
    /// before goes into the transcript, by sender, each sender's in the order received.
    fn marks(&mut self, what: &str) {
        self.round += 1;
        let round = self.round;
        for k in 0..self.listeners.len() {
            let sql = format!("notify marks, 'l{k}:mark {round}'");
            let answer = answer(&mut self.listeners[k], &sql);
            assert_eq!(answer, "(0)", "l{k}: {sql}");
        }
        for k in 0..self.listeners.len() {
            let received = self.receive_until_marks(k, round);
            self.note(format!("round {round} ({what}) l{k}: {received}"));
        }
    }

    fn receive_until_marks(&mut self, k: usize, round: u32) -> String {
        let pids: BTreeMap<String, i32> =
            self.listeners.iter().chain(self.senders.iter()).map(|s| (s.name.clone(), s.pid)).collect();
        let marker = format!("mark {round}");
        let listener = &mut self.listeners[k];
        let mut by_sender: BTreeMap<String, Vec<String>> = BTreeMap::new();
        let mut marks = 0;
        let mut notifications = listener.client.notifications();
        let mut waiting = notifications.timeout_iter(PATIENCE);
        while marks < WORKERS {
            let n = match waiting.next() {
                Ok(Some(n)) => n,
                Err(e) => panic!("l{k}: {e}"),
                Ok(None) => panic!(
                    "l{k} waited {PATIENCE:?} for the markers of round {round}; had {marks}: {by_sender:?}"
                ),
            };
            // An empty payload cannot name its sender: its channel does (`s1_empty`).
            let (sender, rest) = match n.payload().split_once(':') {
                Some(split) => split,
                None => (n.channel().split('_').next().unwrap_or("?"), n.payload()),
            };
            let pid_ok = pids.get(sender) == Some(&n.process_id());
            if n.channel() == "marks" && rest == marker {
                assert!(
                    pid_ok,
                    "l{k}: marker {} came with pid {}, not {sender}'s",
                    n.payload(),
                    n.process_id()
                );
                marks += 1;
                continue;
            }
            let shown = if rest.len() > 40 { format!("<{} bytes>", rest.len()) } else { rest.to_owned() };
            let pid = if pid_ok { "" } else { " WRONG PID" };
            by_sender.entry(sender.to_owned()).or_default().push(format!("{}:{shown}{pid}", n.channel()));
        }
        if by_sender.is_empty() {
            return "nothing".into();
        }
        by_sender.iter().map(|(s, got)| format!("{s}[{}]", got.join(" "))).collect::<Vec<_>>().join(" ")
    }

    /// Each listener's channels, as `pg_listening_channels()` lists them.
    fn channels(&mut self) {
        for k in 0..self.listeners.len() {
            self.step(&format!("l{k}"), "select pg_listening_channels()");
        }
    }
}

/// Waits until each of mallard's workers serves `each` sessions. Connecting one client
/// at a time, least-connections routing puts each on the least loaded worker, so
/// `WORKERS` connections after a level pool land on `WORKERS` different workers.
fn spread(server: &Server, each: u32) {
    let deadline = Instant::now() + PATIENCE;
    loop {
        let status = server.typed_status();
        let serving: Vec<_> = status.workers.iter().filter(|w| w.generation == status.generation).collect();
        if serving.len() == WORKERS && serving.iter().all(|w| w.sessions == each && w.in_flight == 0) {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "expected {each} session(s) on each of {WORKERS} workers: {}",
            mallard_protocol::admin::to_line(&status)
        );
        thread::sleep(Duration::from_millis(20));
    }
}

/// The whole scenario on one server; returns its transcript.
fn scenario(conn_str: &str, mallard: Option<&Server>) -> Vec<String> {
    let mut s = Scenario::start(conn_str, mallard);
    for k in 0..WORKERS {
        s.step(&format!("l{k}"), "listen jobs");
        s.step(&format!("l{k}"), "LISTEN marks");
    }
    s.channels();
    s.step("l0", "select * from pg_listening_channels()");
    s.step("l0", "select pg_notification_queue_usage()");

    // Nothing before the commit; then everything, once, in each sender's order.
    for k in 0..WORKERS {
        let who = format!("s{k}");
        s.step(&who, "begin");
        s.step(&who, &format!("notify jobs, 's{k}:a'"));
        s.step(&who, &format!("notify jobs, 's{k}:b'"));
        s.step(&who, &format!("notify jobs, 's{k}:a'"));
        s.step(
            &who,
            &format!("select pg_notify('jobs', 's{k}:' || x) from (values ('c'), ('b'), ('c')) t(x)"),
        );
        s.step(&who, &format!("notify jobs, 's{k}:b'"));
    }
    s.marks("senders' blocks open");
    for k in 0..WORKERS {
        s.step(&format!("s{k}"), "commit");
    }
    s.marks("senders committed");

    // Rolled back: a block, a savepoint, a failed block, a failed implicit transaction.
    s.step("s0", "begin");
    s.step("s0", "notify jobs, 's0:rolled back'");
    s.step("s0", "select pg_notify('jobs', 's0:rolled back too')");
    s.step("s0", "rollback");
    s.step("s1", "begin");
    s.step("s1", "notify jobs, 's1:x'");
    s.step("s1", "savepoint p");
    s.step("s1", "notify jobs, 's1:y'");
    s.step("s1", "select pg_notify('jobs', 's1:x')");
    s.step("s1", "rollback to savepoint p");
    s.step("s1", "notify jobs, 's1:z'");
    s.step("s1", "savepoint q");
    s.step("s1", "notify jobs, 's1:w'");
    s.step("s1", "release q");
    s.step("s1", "commit");
    s.step("s2", "begin");
    s.step("s2", "notify jobs, 's2:failed block'");
    s.step("s2", "select 1/0");
    s.step("s2", "notify jobs, 's2:after the error'");
    s.step("s2", "commit");
    s.step("s3", "notify jobs, 's3:m1'; notify jobs, 's3:m2'; select 1/0");
    s.step("s3", "select pg_notify('jobs', 's3:failed statement'), 1/0");
    s.step("s3", "notify jobs, 's3:ok'");
    s.marks("rollbacks");

    // LISTEN and UNLISTEN take effect at commit, and not from a rolled-back block.
    s.step("l3", "unlisten jobs");
    s.step("l2", "begin");
    s.step("l2", "listen extra");
    s.step("l2", "select pg_listening_channels()");
    s.step("l2", "rollback");
    s.step("l1", "begin");
    s.step("l1", "listen extra");
    s.step("l1", "commit");
    s.step("l0", "begin");
    s.step("l0", "savepoint q");
    s.step("l0", "listen extra");
    s.step("l0", "rollback to savepoint q");
    s.step("l0", "commit");
    s.step("l2", "begin");
    s.step("l2", "select 1/0");
    s.step("l2", "listen extra");
    s.step("l2", "rollback");
    s.channels();
    s.step("s0", "notify jobs, 's0:after listening changed'");
    s.step("s0", "notify extra, 's0:extra'");
    s.marks("listening changed");

    // Limits, in bytes, and names.
    s.step("s1", "select pg_notify('jobs', repeat('x', 8000))");
    s.step("s1", &format!("notify jobs, '{}'", "x".repeat(8000)));
    s.step("s1", "select pg_notify('jobs', 's1:' || repeat('é', 3999))");
    s.step("s1", "select pg_notify('jobs', 's1:' || repeat('é', 3998))");
    s.step("s1", "select pg_notify('jobs', 's1:' || repeat('x', 7996))");
    s.step("s1", "select pg_notify('', 's1:empty channel')");
    s.step("s1", "select pg_notify(null, 's1:null channel')");
    s.step("l0", "listen s1_empty");
    s.step("s1", "select pg_notify('s1_empty', null)");
    s.step("s1", "notify s1_empty");
    s.step("s1", &format!("select pg_notify('{}', 's1:64 bytes')", "c".repeat(64)));
    s.step("s1", "notify \"\", 's1:x'");
    s.step("s1", "notify jobs, 1");
    s.step("l0", &format!("listen {LONG}"));
    s.step("s1", &format!("notify {LONG}, 's1:long name'"));
    s.step("s1", &format!("select pg_notify('{}', 's1:63 bytes')", &LONG[..63]));
    s.step("l0", "listen \"Mixed Case\"");
    s.step("s1", "notify \"Mixed Case\", 's1:quoted'");
    s.step("s1", "notify Mixed_Case, 's1:folded'");
    s.marks("limits and names");

    // The extended protocol: a NOTIFY statement, pg_notify with parameters.
    let s2 = s.session("s2");
    s2.client.execute("notify jobs, 's2:extended'", &[]).expect("NOTIFY over the extended protocol");
    s2.client.execute("select pg_notify($1, $2)", &[&"jobs", &"s2:parameters"]).expect("pg_notify($1, $2)");
    s.marks("extended protocol");

    // A listener gets its own notifications before its statement's ReadyForQuery.
    s.step("l0", "notify jobs, 'l0:self'");
    let l0 = s.session("l0");
    let own = l0.client.notifications().iter().next().expect("l0's notifications");
    let own = own.is_some_and(|n| n.payload() == "l0:self" && n.process_id() == l0.pid);
    s.note(format!("l0 has its own notification at once: {own}"));
    s.marks("self");

    // Inside a transaction block nothing is sent; at its end everything that came.
    s.step("l1", "begin");
    for k in 0..WORKERS {
        s.step(&format!("s{k}"), "listen jobs");
    }
    s.step("s2", "notify jobs, 's2:during a block'");
    // Once every sender has it, each worker (l1's too) has it.
    for k in 0..WORKERS {
        let sender = &mut s.senders[k];
        let got = sender.client.notifications().timeout_iter(PATIENCE).next().expect("notifications");
        let got = got.map(|n| n.payload().to_owned());
        assert_eq!(got.as_deref(), Some("s2:during a block"), "s{k}");
    }
    s.step("l1", "select 1");
    let early = s.session("l1").client.notifications().iter().count().expect("l1's notifications");
    s.note(format!("l1 received in its block: {early}"));
    s.step("l1", "commit");
    let at_commit: Vec<String> = s
        .session("l1")
        .client
        .notifications()
        .iter()
        .map(|n| Ok(n.payload().to_owned()))
        .collect()
        .expect("l1's notifications");
    s.note(format!("l1 received with its commit: {at_commit:?}"));
    for k in 0..WORKERS {
        s.step(&format!("s{k}"), "unlisten *");
    }
    s.marks("a listener's block");

    // Senders at once, each in its own order.
    let senders: Vec<Session> = std::mem::take(&mut s.senders);
    let threads: Vec<_> = senders
        .into_iter()
        .enumerate()
        .map(|(k, mut sender)| {
            thread::spawn(move || {
                for i in 0..25 {
                    sender.client.batch_execute(&format!("notify jobs, 's{k}:{i}'")).expect("notify");
                }
                sender.client.batch_execute("begin").expect("begin");
                for i in 25..35 {
                    sender
                        .client
                        .execute("select pg_notify('jobs', $1)", &[&format!("s{k}:{i}")])
                        .expect("pg_notify");
                }
                sender.client.batch_execute("commit").expect("commit");
                sender
            })
        })
        .collect();
    s.senders = threads.into_iter().map(|t| t.join().expect("sender thread")).collect();
    s.marks("concurrent senders");

    // DISCARD ALL unlistens everything.
    s.step("l2", "discard all");
    s.step("l2", "select count(*) from pg_listening_channels()");
    s.step("l2", "listen marks");
    s.step("s3", "notify jobs, 's3:after discard'");
    s.marks("discard all");
    assert!(s.pid_of("l0").is_some());
    s.transcript
}

#[test]
fn notifications_reach_every_listener_on_every_worker_as_in_postgres() {
    let reference = {
        let pg = Postgres::start();
        let conn_str = format!("host=127.0.0.1 port={} user={} dbname={}", pg.port, pg.user, pg.database);
        scenario(&conn_str, None)
    };
    let server =
        Server::start(BIN, Options { storage: "memory", workers: WORKERS as u32, ..Options::default() });
    server.ready_workers(WORKERS, PATIENCE);
    let ours = scenario(&server.conn_str(), Some(&server));
    let differences: Vec<String> = reference
        .iter()
        .zip(&ours)
        .filter(|(pg, m)| pg != m)
        .map(|(pg, m)| format!("PostgreSQL: {pg}\nmallard:    {m}"))
        .collect();
    assert!(
        differences.is_empty() && reference.len() == ours.len(),
        "{} of {} lines differ from PostgreSQL 15:\n{}\n\nmallard's whole transcript:\n{}\n--- mallard log (tail):\n{}",
        differences.len(),
        reference.len(),
        differences.join("\n"),
        ours.join("\n"),
        tail(&server.logs(), 40)
    );
    println!("{}", ours.join("\n"));
}

fn tail(text: &str, lines: usize) -> String {
    let all: Vec<&str> = text.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}

fn mallard(workers: usize, env: &[(&str, &str)]) -> Server {
    let env = env.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect();
    let server =
        Server::start(BIN, Options { storage: "memory", workers: workers as u32, env, ..Options::default() });
    server.ready_workers(workers, PATIENCE);
    server
}

/// The next notification, within [`PATIENCE`]; panics without one.
fn next_notification(session: &mut Session) -> postgres::Notification {
    match session.client.notifications().timeout_iter(PATIENCE).next() {
        Ok(Some(n)) => n,
        Ok(None) => panic!("{} waited {PATIENCE:?} for a notification", session.name),
        Err(e) => panic!("{}: {e}", session.name),
    }
}

/// 2,000 notifications of nearly the largest size in one statement: far more than a
/// worker's channel holds at once, so the supervisor's outboxes fill and drain. Every
/// listener, on every worker, gets every one, whole and in order.
#[test]
fn a_burst_of_the_largest_notifications_arrives_whole_and_in_order() {
    let server = mallard(WORKERS, &[]);
    spread(&server, 0);
    let mut sessions: Vec<Session> = (0..WORKERS)
        .map(|k| {
            let mut s = connect(&server.conn_str(), &format!("l{k}"));
            s.client.batch_execute("listen big").expect("listen");
            s
        })
        .collect();
    spread(&server, 1);
    const N: usize = 2000;
    let sender_pid = sessions[0].pid;
    let sent: i64 = sessions[0]
        .client
        .query_one(
            "select count(pg_notify('big', i::varchar || ':' || repeat('x', 7990))) from range(2000) t(i)",
            &[],
        )
        .expect("the burst")
        .get(0);
    assert_eq!(sent, N as i64);
    for session in &mut sessions {
        for i in 0..N {
            let n = next_notification(session);
            let expected = format!("{i}:{}", "x".repeat(7990));
            assert!(
                n.channel() == "big" && n.payload() == expected && n.process_id() == sender_pid,
                "{}: notification {i} was {} bytes on {} from {}",
                session.name,
                n.payload().len(),
                n.channel(),
                n.process_id()
            );
        }
    }
    let queued = server.logs().matches("packets wait in its outbox").count();
    println!("the outboxes of the supervisor filled {queued} time(s)");
}

/// A listener that cannot move at a reload (it holds a temporary table) stays on the
/// draining generation: it keeps receiving from sessions of the new one and reaches
/// them, until the drain timeout ends it with 57P01 while it waits.
#[test]
fn listeners_on_a_draining_generation_keep_receiving_until_the_drain_ends_them() {
    let server = mallard(2, &[("MALLARD_DRAIN_TIMEOUT", "8s")]);
    let mut old = connect(&server.conn_str(), "old");
    old.client.batch_execute("create temporary table pinned (x int); listen jobs").expect("listen");
    let reload = server.admin("reload", &[]);
    assert!(reload.status.success(), "reload: {}", String::from_utf8_lossy(&reload.stderr));
    let status = server.typed_status();
    assert!(
        status.workers.iter().any(|w| w.generation < status.generation && w.sessions == 1),
        "the old generation should still serve its session: {}",
        mallard_protocol::admin::to_line(&status)
    );
    let mut new = connect(&server.conn_str(), "new");
    new.client.batch_execute("listen jobs").expect("listen");

    new.client.batch_execute("notify jobs, 'from the new generation'").expect("notify");
    let n = next_notification(&mut old);
    assert_eq!((n.payload(), n.process_id()), ("from the new generation", new.pid));
    let own = next_notification(&mut new);
    assert_eq!(own.payload(), "from the new generation");

    old.client.batch_execute("notify jobs, 'from the old generation'").expect("notify");
    let n = next_notification(&mut new);
    assert_eq!((n.payload(), n.process_id()), ("from the old generation", old.pid));
    let own = next_notification(&mut old);
    assert_eq!(own.payload(), "from the old generation");

    // Idle and listening, the old session is ended by its worker's drain.
    let ended = old.client.notifications().timeout_iter(Duration::from_secs(30)).next();
    match ended {
        Err(e) => assert_eq!(e.code().map(|c| c.code()), Some("57P01"), "{e}"),
        Ok(n) => {
            panic!("the drain did not end the listening session: {:?}", n.map(|n| n.payload().to_owned()))
        }
    }
}

/// A reload moves an idle listener to the new generation (issue 16): it keeps its pid
/// and its LISTEN, and notifications reach it and come from it as before.
#[test]
fn a_listener_moves_to_the_new_generation_with_its_registrations() {
    let server = mallard(2, &[("MALLARD_DRAIN_TIMEOUT", "30s")]);
    let mut moved = connect(&server.conn_str(), "moved");
    moved.client.batch_execute("listen jobs").expect("listen");
    let reload = server.admin("reload", &[]);
    assert!(reload.status.success(), "reload: {}", String::from_utf8_lossy(&reload.stderr));
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let status = server.typed_status();
        if status.workers.iter().all(|w| w.generation == status.generation) {
            break;
        }
        assert!(Instant::now() < deadline, "the old generation did not hand its listener over");
        thread::sleep(Duration::from_millis(50));
    }
    let mut new = connect(&server.conn_str(), "new");
    new.client.batch_execute("notify jobs, 'to the moved listener'").expect("notify");
    let n = next_notification(&mut moved);
    assert_eq!((n.payload(), n.process_id()), ("to the moved listener", new.pid));
    let pid: i32 = moved.client.query_one("select pg_backend_pid()", &[]).unwrap().get(0);
    assert_eq!(pid, moved.pid, "the listener kept its backend pid");
    new.client.batch_execute("listen jobs").expect("listen");
    moved.client.batch_execute("notify jobs, 'from the moved listener'").expect("notify");
    let n = next_notification(&mut new);
    assert_eq!((n.payload(), n.process_id()), ("from the moved listener", moved.pid));
}

/// `idle_session_timeout` ends a listening session that notifications keep busy: they
/// do not make it any less idle, in PostgreSQL or in mallard.
#[test]
fn notifications_do_not_reset_the_idle_session_timeout() {
    fn run(conn_str: &str) -> String {
        let mut listener = connect(conn_str, "l");
        listener.client.batch_execute("set idle_session_timeout = '1s'; listen jobs").expect("listen");
        let started = Instant::now();
        let mut sender = connect(conn_str, "s");
        let pacer = thread::spawn(move || {
            // Every 100 ms for 6 s: if each reset the timer, the listener would outlive them.
            for i in 0..60 {
                if sender.client.batch_execute(&format!("notify jobs, 's:{i}'")).is_err() {
                    break;
                }
                thread::sleep(Duration::from_millis(100));
            }
        });
        let mut received = 0;
        let outcome = loop {
            match listener.client.notifications().timeout_iter(PATIENCE).next() {
                Ok(Some(_)) => received += 1,
                Ok(None) => break "nothing within the patience".to_owned(),
                Err(e) => break format!("ended with {}", e.code().map_or("no SQLSTATE", |c| c.code())),
            }
        };
        let alive = started.elapsed();
        pacer.join().expect("pacer");
        format!(
            "{outcome}; received some: {}; ended well before the notifications stopped: {}",
            received > 0,
            alive < Duration::from_secs(4)
        )
    }
    let reference = {
        let pg = Postgres::start();
        run(&format!("host=127.0.0.1 port={} user={} dbname={}", pg.port, pg.user, pg.database))
    };
    assert_eq!(
        reference,
        "ended with 57P05; received some: true; ended well before the notifications stopped: true"
    );
    let server = mallard(2, &[]);
    assert_eq!(run(&server.conn_str()), reference, "log:\n{}", tail(&server.logs(), 40));
}
