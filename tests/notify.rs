//! sd_notify (acceptance 2): what systemd hears over `NOTIFY_SOCKET` through start,
//! reloads (good, failed, by signal), and stop; the watchdog; and that only the
//! supervisor ever sends (its workers do not inherit the socket). The sender of every
//! datagram is read from its `SCM_CREDENTIALS`, as systemd reads it.

use std::io::IoSliceMut;
use std::os::fd::AsRawFd;
use std::os::unix::net::UnixDatagram;
use std::path::Path;
use std::process::Output;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use mallard_harness::{Options, Server};
use nix::sys::socket::{recvmsg, setsockopt, sockopt, ControlMessageOwned, MsgFlags, UnixAddr};

#[derive(Debug, Clone)]
struct Datagram {
    /// The sender's pid, from `SCM_CREDENTIALS`.
    pid: Option<u32>,
    text: String,
    /// `CLOCK_MONOTONIC` when it was read, in microseconds.
    received_usec: u64,
}

impl Datagram {
    fn lines(&self) -> impl Iterator<Item = &str> {
        self.text.lines()
    }

    fn has(&self, line: &str) -> bool {
        self.lines().any(|l| l == line)
    }

    fn value(&self, key: &str) -> Option<&str> {
        self.lines().find_map(|l| l.strip_prefix(key)?.strip_prefix('='))
    }

    /// Only `STATUS=` or only `WATCHDOG=1`: chatter that does not change the state.
    fn is_chatter(&self) -> bool {
        self.lines().all(|l| l.starts_with("STATUS=")) || self.text.trim() == "WATCHDOG=1"
    }
}

/// A stand-in for systemd's notification socket: records every datagram with its
/// sender.
struct NotifySocket {
    _dir: tempfile::TempDir,
    path: String,
    received: Arc<Mutex<Vec<Datagram>>>,
    stop: Arc<AtomicBool>,
    reader: Option<JoinHandle<()>>,
}

fn monotonic_usec() -> u64 {
    let mut ts = libc::timespec { tv_sec: 0, tv_nsec: 0 };
    // SAFETY: clock_gettime writes one timespec into memory we own.
    assert_eq!(unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC, &mut ts) }, 0);
    ts.tv_sec as u64 * 1_000_000 + ts.tv_nsec as u64 / 1_000
}

impl NotifySocket {
    fn bind() -> NotifySocket {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("notify.sock");
        let socket = UnixDatagram::bind(&path).expect("bind the notify socket");
        setsockopt(&socket, sockopt::PassCred, &true).expect("SO_PASSCRED");
        socket.set_read_timeout(Some(Duration::from_millis(50))).unwrap();
        let received = Arc::new(Mutex::new(Vec::new()));
        let stop = Arc::new(AtomicBool::new(false));
        let reader = {
            let (received, stop) = (received.clone(), stop.clone());
            std::thread::spawn(move || {
                while !stop.load(Ordering::Relaxed) {
                    if let Some(d) = receive(&socket) {
                        received.lock().unwrap().push(d);
                    }
                }
            })
        };
        NotifySocket { path: path.display().to_string(), _dir: dir, received, stop, reader: Some(reader) }
    }

    fn env(&self) -> (String, String) {
        ("NOTIFY_SOCKET".into(), self.path.clone())
    }

    fn received(&self) -> Vec<Datagram> {
        self.received.lock().unwrap().clone()
    }

    /// Waits until `count` datagrams contain `line`.
    fn wait_for(&self, line: &str, count: usize, server: &Server) {
        let deadline = Instant::now() + Duration::from_secs(60);
        while self.received().iter().filter(|d| d.has(line)).count() < count {
            assert!(
                Instant::now() < deadline,
                "waited for {count} x {line}; got {:#?}; log:\n{}",
                self.received(),
                server.logs()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Stops recording (after a moment, for datagrams still on their way).
    fn finish(mut self) -> Vec<Datagram> {
        std::thread::sleep(Duration::from_millis(300));
        self.stop.store(true, Ordering::Relaxed);
        self.reader.take().unwrap().join().unwrap();
        self.received()
    }
}

/// One datagram, or None after the read timeout.
fn receive(socket: &UnixDatagram) -> Option<Datagram> {
    let mut buf = vec![0u8; 4096];
    let mut cmsg = nix::cmsg_space!(nix::sys::socket::UnixCredentials);
    let mut iov = [IoSliceMut::new(&mut buf)];
    let msg = recvmsg::<UnixAddr>(socket.as_raw_fd(), &mut iov, Some(&mut cmsg), MsgFlags::empty()).ok()?;
    let pid = msg.cmsgs().ok()?.find_map(|c| match c {
        ControlMessageOwned::ScmCredentials(creds) => Some(creds.pid() as u32),
        _ => None,
    });
    let n = msg.bytes;
    Some(Datagram {
        pid,
        text: String::from_utf8_lossy(&buf[..n]).into_owned(),
        received_usec: monotonic_usec(),
    })
}

/// Every datagram comes from the supervisor and is made of `KEY=value` lines: a value
/// with a newline in it would reach systemd cut short, its rest as junk assignments.
fn assert_all_from(datagrams: &[Datagram], pid: u32) {
    for d in datagrams {
        assert_eq!(d.pid, Some(pid), "a datagram not from the supervisor ({pid}): {d:?}");
        for line in d.lines() {
            let key = line.split_once('=').map_or("", |(k, _)| k);
            assert!(
                !key.is_empty() && key.bytes().all(|b| b.is_ascii_uppercase() || b == b'_'),
                "not a KEY=value line: {line:?} in {d:?}"
            );
        }
    }
}

fn signal(pid: u32, sig: libc::c_int) {
    // SAFETY: kill(2) on the supervisor this test started.
    assert_eq!(unsafe { libc::kill(pid as i32, sig) }, 0);
}

fn exit_code(out: &Output) -> Option<i32> {
    out.status.code()
}

fn text(out: &Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr))
}

fn write(path: &Path, contents: &str) {
    std::fs::write(path, contents).expect("write the config file");
}

#[test]
fn start_reloads_and_stop_notify_in_order() {
    let notify = NotifySocket::bind();
    let config_dir = tempfile::tempdir().unwrap();
    let config = config_dir.path().join("mallard.toml");
    let good = "health_timeout = \"5s\"\n";
    write(&config, good);
    let mut server = Server::start(
        env!("CARGO_BIN_EXE_mallard"),
        Options {
            storage: "memory",
            workers: 2,
            extra_args: vec!["-c".into(), config.display().to_string()],
            env: vec![notify.env()],
            ..Options::default()
        },
    );
    let pid = server.pid();
    notify.wait_for("READY=1", 1, &server);

    // A reload that works; one that fails (the file does not parse); one by signal.
    let mut reload_requested = Vec::new();
    reload_requested.push(monotonic_usec());
    let out = server.admin("reload", &[]);
    assert_eq!(exit_code(&out), Some(0), "{}\n{}", text(&out), server.logs());
    notify.wait_for("READY=1", 2, &server);

    write(&config, "health_timeout = [[[ not toml\n");
    reload_requested.push(monotonic_usec());
    let out = server.admin("reload", &[]);
    assert_eq!(exit_code(&out), Some(1), "a broken config must fail the reload: {}", text(&out));
    notify.wait_for("READY=1", 3, &server);
    write(&config, good);

    reload_requested.push(monotonic_usec());
    signal(pid, libc::SIGUSR2);
    notify.wait_for("READY=1", 4, &server);
    assert_eq!(server.status()["generation"], 3, "SIGUSR2 reload did not take");

    let out = server.admin("stop", &[]);
    assert_eq!(exit_code(&out), Some(0), "{}", text(&out));
    server.stop();
    let all = notify.finish();
    assert_all_from(&all, pid);

    let events: Vec<&Datagram> = all.iter().filter(|d| !d.is_chatter()).collect();
    let kinds: Vec<&str> = events
        .iter()
        .map(|d| {
            let states: Vec<&str> =
                ["READY=1", "RELOADING=1", "STOPPING=1"].into_iter().filter(|s| d.has(s)).collect();
            assert_eq!(states.len(), 1, "one state change per datagram: {d:?}");
            states[0]
        })
        .collect();
    assert_eq!(
        kinds,
        [
            "READY=1",
            "RELOADING=1",
            "READY=1",
            "RELOADING=1",
            "READY=1",
            "RELOADING=1",
            "READY=1",
            "STOPPING=1"
        ],
        "datagrams: {all:#?}"
    );

    // RELOADING=1 carries the CLOCK_MONOTONIC time of the request in the same datagram.
    for (d, requested) in events.iter().filter(|d| d.has("RELOADING=1")).zip(&reload_requested) {
        let usec = d.value("MONOTONIC_USEC").unwrap_or_else(|| panic!("no MONOTONIC_USEC: {d:?}"));
        let usec: u64 = usec.parse().unwrap_or_else(|_| panic!("MONOTONIC_USEC not a number: {d:?}"));
        assert!(
            *requested <= usec && usec <= d.received_usec,
            "MONOTONIC_USEC {usec} not between the request and its receipt: {d:?}"
        );
    }

    let statuses: Vec<&str> = events
        .iter()
        .filter(|d| d.has("READY=1"))
        .map(|d| d.value("STATUS").unwrap_or_else(|| panic!("READY=1 without STATUS=: {d:?}")))
        .collect();
    let generation =
        |s: &str| s.strip_prefix("generation ").and_then(|r| r.split(':').next()).map(str::to_owned);
    let generations: Vec<_> = statuses.iter().map(|s| generation(s)).collect();
    let expected = ["1", "2", "2", "3"].map(|g| Some(g.to_owned()));
    assert_eq!(generations, expected, "{statuses:#?}");
    assert!(statuses[2].contains("reload failed"), "the failed reload's STATUS: {:?}", statuses[2]);
    assert!(!statuses[3].contains("failed"), "after a good reload: {:?}", statuses[3]);
}

#[test]
fn watchdog_pings_come_from_the_supervisor_only() {
    let notify = NotifySocket::bind();
    let mut server = Server::start(
        env!("CARGO_BIN_EXE_mallard"),
        Options {
            storage: "memory",
            workers: 2,
            env: vec![notify.env(), ("WATCHDOG_USEC".into(), "400000".into())],
            ..Options::default()
        },
    );
    let pid = server.pid();
    let workers = server.ready_workers(2, Duration::from_secs(30));
    for w in &workers {
        let environ = std::fs::read(format!("/proc/{w}/environ")).expect("read a worker's environment");
        for var in environ.split(|&b| b == 0).map(String::from_utf8_lossy) {
            assert!(
                !var.starts_with("NOTIFY_SOCKET=") && !var.starts_with("WATCHDOG_"),
                "worker {w} inherited {var}"
            );
        }
    }
    let from = notify.received().len();
    std::thread::sleep(Duration::from_secs(2));
    let window: Vec<Datagram> = notify.received()[from..].to_vec();
    let pings = window.iter().filter(|d| d.text.trim() == "WATCHDOG=1").count();
    // Due every 200 ms: about ten in two seconds.
    assert!(pings >= 5, "{pings} WATCHDOG=1 in 2 s: {window:#?}");
    server.stop();
    assert_all_from(&notify.finish(), pid);
}

#[test]
fn watchdog_for_another_pid_is_not_ours() {
    let notify = NotifySocket::bind();
    let mut server = Server::start(
        env!("CARGO_BIN_EXE_mallard"),
        Options {
            storage: "memory",
            workers: 1,
            env: vec![
                notify.env(),
                ("WATCHDOG_USEC".into(), "400000".into()),
                ("WATCHDOG_PID".into(), "1".into()),
            ],
            ..Options::default()
        },
    );
    let pid = server.pid();
    notify.wait_for("READY=1", 1, &server);
    std::thread::sleep(Duration::from_secs(1));
    server.stop();
    let all = notify.finish();
    assert_all_from(&all, pid);
    assert!(all.iter().all(|d| !d.has("WATCHDOG=1")), "{all:#?}");
}
