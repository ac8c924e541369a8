//! Socket activation (acceptance 6): the test holds the listening socket, as systemd
//! holds `mallard.socket`, and passes it to mallard as fd 3 with `LISTEN_FDS=1` and
//! `LISTEN_PID`. mallard serves on it instead of `listen`; when mallard is stopped and
//! started again, clients queue in the socket's backlog meanwhile and none is refused.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::os::fd::{AsFd, AsRawFd, BorrowedFd};
use std::os::unix::net::{UnixListener, UnixStream};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use mallard_harness::{children_of, free_port};

/// One `mallard serve` started the way systemd starts a socket-activated service.
struct Activated {
    child: Child,
    log: PathBuf,
}

impl Activated {
    /// Starts mallard with `socket` as fd 3. `LISTEN_PID` must be mallard's own pid, known
    /// only in the child: a shell sets it to its `$$` and then `exec`s mallard, keeping
    /// the pid.
    fn start(socket: BorrowedFd<'_>, data_dir: &Path, log: PathBuf, listen_port: u16) -> Activated {
        let raw = socket.as_raw_fd();
        let mut cmd = Command::new("sh");
        cmd.arg("-c")
            .arg(r#"export LISTEN_PID=$$; exec "$0" "$@""#)
            .arg(env!("CARGO_BIN_EXE_mallard"))
            .arg("serve")
            .args(["--listen", &format!("127.0.0.1:{listen_port}")])
            .args(["--storage", "memory", "--workers", "2"])
            .arg("--data-dir")
            .arg(data_dir)
            .args(["--log-level", "debug"])
            .env("LISTEN_FDS", "1")
            .env_remove("LISTEN_FDNAMES")
            .stdin(Stdio::null())
            .stdout(std::fs::File::create(&log).expect("log file"))
            .stderr(std::fs::File::options().append(true).open(&log).expect("log file"));
        // SAFETY: runs in the child between fork and exec and calls only dup2 and fcntl,
        // which are async-signal-safe, on an fd the child inherited.
        unsafe {
            cmd.pre_exec(move || {
                if raw == 3 {
                    // dup2 onto itself would keep FD_CLOEXEC.
                    if libc::fcntl(3, libc::F_SETFD, 0) < 0 {
                        return Err(std::io::Error::last_os_error());
                    }
                } else if libc::dup2(raw, 3) < 0 {
                    return Err(std::io::Error::last_os_error());
                }
                Ok(())
            });
        }
        let child = cmd.spawn().expect("start mallard");
        Activated { child, log }
    }

    fn pid(&self) -> u32 {
        self.child.id()
    }

    fn logs(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Waits until mallard answers on `endpoint` and serves a query there.
    fn wait_ready(&self, endpoint: &Endpoint) {
        let deadline = Instant::now() + Duration::from_secs(60);
        while !endpoint.answers() {
            assert!(Instant::now() < deadline, "mallard did not answer; log:\n{}", self.logs());
            std::thread::sleep(Duration::from_millis(50));
        }
        let mut client = postgres::Client::connect(&endpoint.conn_str(), postgres::NoTls)
            .unwrap_or_else(|e| panic!("connect: {e}; log:\n{}", self.logs()));
        client.simple_query("select 1").unwrap();
    }

    /// SIGTERM, and waits for the exit.
    fn stop(mut self) {
        // SAFETY: kill(2) on our own child, not yet reaped.
        unsafe { libc::kill(self.pid() as i32, libc::SIGTERM) };
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Some(status) = self.child.try_wait().expect("wait for mallard") {
                assert!(status.success(), "mallard exited with {status}; log:\n{}", self.logs());
                return;
            }
            assert!(Instant::now() < deadline, "mallard did not stop; log:\n{}", self.logs());
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Activated {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The socket the test passed to mallard.
enum Endpoint {
    Tcp(u16),
    /// `<dir>/.s.PGSQL.<port>`.
    Unix(PathBuf, u16),
}

impl Endpoint {
    fn conn_str(&self) -> String {
        let (host, port) = match self {
            Endpoint::Tcp(port) => ("127.0.0.1".to_owned(), port),
            Endpoint::Unix(dir, port) => (dir.display().to_string(), port),
        };
        format!("host={host} port={port} user=tester dbname=mallard connect_timeout=60")
    }

    /// Whether a server answers an `SSLRequest` there within a second. The socket
    /// outlives mallard, so a connection completes even when nobody accepts it; only
    /// an answer tells that mallard is there.
    fn answers(&self) -> bool {
        fn ask(mut s: impl Read + Write) -> bool {
            let mut answer = [0u8; 1];
            s.write_all(&[0, 0, 0, 8, 0x04, 0xd2, 0x16, 0x2f]).is_ok()
                && s.read_exact(&mut answer).is_ok()
                && answer[0] == b'N'
        }
        let timeout = Some(Duration::from_secs(1));
        match self {
            Endpoint::Tcp(port) => TcpStream::connect(("127.0.0.1", *port))
                .is_ok_and(|s| s.set_read_timeout(timeout).is_ok() && ask(s)),
            Endpoint::Unix(dir, port) => UnixStream::connect(dir.join(format!(".s.PGSQL.{port}")))
                .is_ok_and(|s| s.set_read_timeout(timeout).is_ok() && ask(s)),
        }
    }
}

fn serving_worker_pid(client: &mut postgres::Client) -> u32 {
    client
        .query_one("select worker_pid from pg_stat_activity where pid = pg_backend_pid()", &[])
        .expect("the serving worker's pid")
        .get::<_, i32>(0) as u32
}

#[test]
fn serves_on_the_passed_socket_not_on_listen() {
    let dir = tempfile::tempdir().unwrap();
    let socket = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = socket.local_addr().unwrap().port();
    let configured = free_port();
    let server =
        Activated::start(socket.as_fd(), &dir.path().join("data"), dir.path().join("log"), configured);
    let endpoint = Endpoint::Tcp(port);
    server.wait_ready(&endpoint);

    let mut client = postgres::Client::connect(&endpoint.conn_str(), postgres::NoTls).unwrap();
    let pid = serving_worker_pid(&mut client);
    assert!(children_of(server.pid()).contains(&pid), "served by {pid}, not one of mallard's workers");
    assert!(
        TcpStream::connect(("127.0.0.1", configured)).is_err(),
        "mallard also bound its --listen address; log:\n{}",
        server.logs()
    );
    let logs = server.logs();
    assert!(logs.contains("using the sockets systemd passed"), "log:\n{logs}");
    // Its workers were not told about the socket.
    for w in children_of(server.pid()) {
        let environ = std::fs::read(format!("/proc/{w}/environ")).unwrap();
        assert!(!environ.split(|&b| b == 0).any(|v| v.starts_with(b"LISTEN_")), "worker {w} got LISTEN_*");
    }
    drop(client);
    server.stop();
}

/// Clients connect, query and disconnect in a loop, through two restarts of mallard on
/// the same socket; none may fail, and each of the three instances serves some.
#[test]
fn restarts_on_an_inherited_socket_refuse_no_client() {
    let dir = tempfile::tempdir().unwrap();
    let socket = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = socket.local_addr().unwrap().port();
    let endpoint = Endpoint::Tcp(port);
    let conn_str = endpoint.conn_str();
    let start = |n: usize| {
        let server = Activated::start(
            socket.as_fd(),
            &dir.path().join("data"),
            dir.path().join(format!("log.{n}")),
            free_port(),
        );
        server.wait_ready(&endpoint);
        server
    };

    let done = Arc::new(AtomicBool::new(false));
    let served = Arc::new(AtomicUsize::new(0));
    let errors = Arc::new(Mutex::new(Vec::<String>::new()));
    let pids = Arc::new(Mutex::new(Vec::<u32>::new()));
    let mut first = start(0);
    let client = {
        let (done, served, errors, pids, conn_str) =
            (done.clone(), served.clone(), errors.clone(), pids.clone(), conn_str.clone());
        std::thread::spawn(move || {
            while !done.load(Ordering::Relaxed) {
                let outcome = postgres::Client::connect(&conn_str, postgres::NoTls).and_then(|mut c| {
                    let pid = c
                        .query_one(
                            "select worker_pid from pg_stat_activity where pid = pg_backend_pid()",
                            &[],
                        )?
                        .get::<_, i32>(0) as u32;
                    c.close()?;
                    Ok(pid)
                });
                match outcome {
                    Ok(pid) => {
                        pids.lock().unwrap().push(pid);
                        served.fetch_add(1, Ordering::Relaxed);
                    }
                    Err(e) => errors.lock().unwrap().push(e.to_string()),
                }
            }
        })
    };
    let wait_served = |at_least: usize| {
        let deadline = Instant::now() + Duration::from_secs(120);
        while served.load(Ordering::Relaxed) < at_least {
            assert!(
                Instant::now() < deadline,
                "the client loop stalled at {}",
                served.load(Ordering::Relaxed)
            );
            std::thread::sleep(Duration::from_millis(10));
        }
    };

    let mut workers = Vec::new();
    for round in 1..=3 {
        workers.push(children_of(first.pid()));
        wait_served(round * 200);
        if round < 3 {
            first.stop();
            first = start(round);
        }
    }
    done.store(true, Ordering::Relaxed);
    client.join().unwrap();
    first.stop();
    let logs: String = (0..3)
        .map(|n| std::fs::read_to_string(dir.path().join(format!("log.{n}"))).unwrap_or_default())
        .collect::<Vec<_>>()
        .join("\n---- next instance ----\n");

    let errors = errors.lock().unwrap();
    let pids = pids.lock().unwrap();
    let total = served.load(Ordering::Relaxed);
    eprintln!("{total} connections served across two restarts");
    assert!(
        errors.is_empty(),
        "{} of {} connections failed: {:?}; logs:\n{logs}",
        errors.len(),
        total + errors.len(),
        &errors[..errors.len().min(5)]
    );
    for (i, instance) in workers.iter().enumerate() {
        let by_it = pids.iter().filter(|p| instance.contains(p)).count();
        assert!(by_it > 0, "instance {i} (workers {instance:?}) served nobody");
    }
    assert!(pids.iter().all(|p| workers.iter().flatten().any(|w| w == p)), "a pid of no instance's worker");
}

#[test]
fn passed_unix_socket_serves_and_outlives_mallard() {
    let dir = tempfile::tempdir().unwrap();
    let port = 5432;
    let path = dir.path().join(format!(".s.PGSQL.{port}"));
    let socket = UnixListener::bind(&path).unwrap();
    let endpoint = Endpoint::Unix(dir.path().to_path_buf(), port);
    for round in 0..2 {
        let server = Activated::start(
            socket.as_fd(),
            &dir.path().join("data"),
            dir.path().join(format!("log.{round}")),
            free_port(),
        );
        server.wait_ready(&endpoint);
        let mut client = postgres::Client::connect(&endpoint.conn_str(), postgres::NoTls).unwrap();
        let pid = serving_worker_pid(&mut client);
        assert!(children_of(server.pid()).contains(&pid), "served by {pid}, not one of mallard's workers");
        drop(client);
        server.stop();
        assert!(path.exists(), "mallard removed the socket file systemd owns (round {round})");
    }
}
