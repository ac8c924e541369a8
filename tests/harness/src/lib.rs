//! Starts the real `mallard` binary for black-box tests: on a free port, in a temporary
//! data directory, with its logs captured to a file. Dropping a [`Server`] stops it.
//!
//! The modules are the rest of what the black-box tests share: a reference PostgreSQL 15,
//! a raw protocol client, the two side by side, the driver runners and the conformance
//! suite's exchange format.

#![forbid(unsafe_code)]

use std::fs::File;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::thread::sleep;
use std::time::{Duration, Instant};

use mallard_protocol::admin::{self, Status, WorkerState};
pub use postgres;

pub mod drivers;
pub mod exchange;
pub mod lake;
pub mod pair;
pub mod postgres_server;
pub mod raw_client;
pub mod wire;

/// How to start a server.
#[derive(Clone, Debug)]
pub struct Options {
    pub storage: &'static str,
    pub workers: u32,
    /// Also listen on `<dir>/.s.PGSQL.<port>`.
    pub unix_socket: bool,
    /// Reuse this data directory (to test persistence across restarts).
    pub data_dir: Option<PathBuf>,
    pub extra_args: Vec<String>,
    pub env: Vec<(String, String)>,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            storage: "memory",
            workers: 1,
            unix_socket: false,
            data_dir: None,
            extra_args: Vec::new(),
            env: Vec::new(),
        }
    }
}

pub struct Server {
    child: Option<Child>,
    /// The binary this server was started from.
    pub bin: PathBuf,
    pub port: u16,
    pub dir: tempfile::TempDir,
    pub data_dir: PathBuf,
    log: PathBuf,
}

/// A port nothing listens on right now.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").expect("bind an ephemeral port").local_addr().unwrap().port()
}

impl Server {
    /// Starts `bin serve` and waits until it answers a query.
    pub fn start(bin: &str, options: Options) -> Server {
        let dir = tempfile::tempdir().expect("temp dir");
        let data_dir = options.data_dir.clone().unwrap_or_else(|| dir.path().join("data"));
        let log = dir.path().join("mallard.log");
        let port = free_port();
        let mut cmd = Command::new(bin);
        cmd.arg("serve")
            .args(["--listen", &format!("127.0.0.1:{port}")])
            .args(["--storage", options.storage])
            .args(["--workers", &options.workers.to_string()])
            .arg("--data-dir")
            .arg(&data_dir)
            .args(["--log-level", "debug"])
            .args(&options.extra_args)
            .envs(options.env.iter().map(|(k, v)| (k, v)))
            .stdin(Stdio::null())
            .stdout(File::create(&log).expect("log file"))
            .stderr(File::options().append(true).open(&log).expect("log file"));
        if options.unix_socket {
            cmd.arg("--socket-dir").arg(dir.path());
        }
        let child = cmd.spawn().expect("start mallard");
        let server = Server { child: Some(child), bin: PathBuf::from(bin), port, dir, data_dir, log };
        server.wait_ready(Duration::from_secs(60));
        server
    }

    fn wait_ready(&self, timeout: Duration) {
        let deadline = Instant::now() + timeout;
        loop {
            match postgres::Client::connect(&self.conn_str(), postgres::NoTls) {
                Ok(mut c) => {
                    if c.simple_query("select 1").is_ok() {
                        return;
                    }
                }
                // A worker answered, but this plaintext, passwordless probe may not come
                // in (`ssl = require`, password rules): the server is ready all the same.
                Err(e) if e.as_db_error().is_some_and(|e| e.code().code().starts_with("28")) => return,
                Err(_) => {}
            }
            assert!(Instant::now() < deadline, "mallard did not become ready; log:\n{}", self.logs());
            sleep(Duration::from_millis(50));
        }
    }

    pub fn conn_str(&self) -> String {
        format!("host=127.0.0.1 port={} user=tester dbname=mallard connect_timeout=10", self.port)
    }

    pub fn connect(&self) -> postgres::Client {
        postgres::Client::connect(&self.conn_str(), postgres::NoTls)
            .unwrap_or_else(|e| panic!("connect failed: {e}; log:\n{}", self.logs()))
    }

    /// Runs `psql -X -A -t -c sql` over TCP (or the unix socket with `unix`).
    pub fn psql(&self, sql: &str) -> Output {
        self.psql_via(&["-h", "127.0.0.1"], sql)
    }

    pub fn psql_unix(&self, sql: &str) -> Output {
        self.psql_via(&["-h", &self.dir.path().display().to_string()], sql)
    }

    /// `psql -X -A -t` connected to this server over TCP, for tests that add their own
    /// arguments and environment.
    pub fn psql_command(&self) -> Command {
        self.psql_base(&["-h", "127.0.0.1"])
    }

    fn psql_base(&self, host: &[&str]) -> Command {
        let mut cmd = Command::new("psql");
        cmd.args(host).args([
            "-p",
            &self.port.to_string(),
            "-U",
            "tester",
            "-d",
            "mallard",
            "-X",
            "-A",
            "-t",
        ]);
        cmd
    }

    fn psql_via(&self, host: &[&str], sql: &str) -> Output {
        self.psql_base(host)
            .args(["-v", "ON_ERROR_STOP=1", "-c", sql])
            .env("PGCONNECT_TIMEOUT", "10")
            .output()
            .expect("run psql (install postgresql-client)")
    }

    /// Runs `mallard <command> --data-dir <data dir> <args>`: `status`, `reload` or
    /// `stop`, which find this server's admin socket in its data directory.
    pub fn admin(&self, command: &str, args: &[&str]) -> Output {
        Command::new(&self.bin)
            .arg(command)
            .arg("--data-dir")
            .arg(&self.data_dir)
            .args(args)
            .output()
            .expect("run mallard")
    }

    /// `mallard status --json`, parsed; panics unless it exits 0.
    pub fn status(&self) -> serde_json::Value {
        let out = self.admin("status", &["--json"]);
        assert!(
            out.status.success(),
            "mallard status: {:?} {}; log:\n{}",
            out.status,
            String::from_utf8_lossy(&out.stderr),
            self.logs()
        );
        serde_json::from_slice(&out.stdout).expect("mallard status --json prints JSON")
    }

    /// `mallard status --json` as the typed answer scripts and the CLI read.
    pub fn typed_status(&self) -> Status {
        let status = self.status();
        serde_json::from_value(status.clone())
            .unwrap_or_else(|e| panic!("mallard status --json is not a Status ({e}): {status}"))
    }

    /// Waits until `mallard status` shows `n` ready workers of the serving generation
    /// and no other workers; returns their pids.
    pub fn ready_workers(&self, n: usize, timeout: Duration) -> Vec<u32> {
        let deadline = Instant::now() + timeout;
        loop {
            let status = self.typed_status();
            let ready: Vec<u32> = status
                .workers
                .iter()
                .filter(|w| w.state == WorkerState::Ready && w.generation == status.generation)
                .map(|w| w.pid)
                .collect();
            if ready.len() == n && status.workers.len() == n {
                return ready;
            }
            assert!(
                Instant::now() < deadline,
                "expected {n} ready workers; status {}; log:\n{}",
                admin::to_line(&status),
                self.logs()
            );
            sleep(Duration::from_millis(50));
        }
    }

    /// The supervisor's pid.
    pub fn pid(&self) -> u32 {
        self.child.as_ref().expect("running").id()
    }

    /// The pids of the supervisor's children (its workers).
    pub fn worker_pids(&self) -> Vec<u32> {
        children_of(self.pid())
    }

    /// Waits until exactly `n` workers run and each answers; returns their pids.
    pub fn wait_workers(&self, n: usize, timeout: Duration) -> Vec<u32> {
        let deadline = Instant::now() + timeout;
        loop {
            let pids = self.worker_pids();
            if pids.len() == n {
                return pids;
            }
            assert!(Instant::now() < deadline, "expected {n} workers, have {pids:?}; log:\n{}", self.logs());
            sleep(Duration::from_millis(50));
        }
    }

    pub fn logs(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    pub fn log_path(&self) -> &Path {
        &self.log
    }

    /// Stops the server (SIGTERM, then SIGKILL after 20 s); returns its exit status.
    pub fn stop(&mut self) -> Option<std::process::ExitStatus> {
        let mut child = self.child.take()?;
        let pid = nix::unistd::Pid::from_raw(child.id() as i32);
        let _ = nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGTERM);
        let deadline = Instant::now() + Duration::from_secs(20);
        while Instant::now() < deadline {
            if let Ok(Some(status)) = child.try_wait() {
                return Some(status);
            }
            sleep(Duration::from_millis(20));
        }
        let _ = child.kill();
        child.wait().ok()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.stop();
        // `.ci/run` keeps every server's log, to scan the whole suite's for secrets.
        if let Some(dir) = std::env::var_os("MALLARD_TEST_LOG_DIR") {
            let name = format!("mallard-{}-{}.log", self.port, std::process::id());
            let _ = std::fs::copy(&self.log, Path::new(&dir).join(name));
        }
    }
}

/// Open file descriptors of a process.
pub fn fd_count(pid: u32) -> usize {
    std::fs::read_dir(format!("/proc/{pid}/fd")).map(|d| d.count()).unwrap_or(0)
}

/// Child pids of `pid`, from `/proc/*/stat`.
pub fn children_of(pid: u32) -> Vec<u32> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir("/proc").into_iter().flatten().flatten() {
        let Ok(child) = entry.file_name().to_string_lossy().parse::<u32>() else { continue };
        let Ok(stat) = std::fs::read_to_string(format!("/proc/{child}/stat")) else { continue };
        // Fields after the parenthesised command: state, ppid, ...
        let Some(rest) = stat.rsplit_once(')').map(|(_, r)| r) else { continue };
        let mut fields = rest.split_whitespace();
        let state = fields.next();
        if fields.next().and_then(|p| p.parse::<u32>().ok()) == Some(pid) && state != Some("Z") {
            out.push(child);
        }
    }
    out.sort_unstable();
    out
}

/// The SQLSTATE and message of a failed query, for assertions that print what failed.
pub fn sqlstate(err: &postgres::Error) -> String {
    err.as_db_error().map_or_else(|| format!("(no server error: {err})"), |e| e.code().code().to_owned())
}

/// Reads backend messages from a raw connection until one matches `stop` or the
/// connection ends (or a read times out); returns them all.
pub fn read_messages_until(
    stream: &mut impl std::io::Read,
    stop: impl Fn(&mallard_protocol::pg::backend::Message) -> bool,
) -> Vec<mallard_protocol::pg::backend::Message> {
    use mallard_protocol::pg::backend::Message;
    let (mut buf, mut out) = (Vec::new(), Vec::new());
    let mut chunk = [0u8; 8192];
    loop {
        while let Some((m, n)) = Message::decode(&buf).expect("valid backend message") {
            buf.drain(..n);
            let done = stop(&m);
            out.push(m);
            if done {
                return out;
            }
        }
        match stream.read(&mut chunk) {
            Ok(0) | Err(_) => return out,
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
        }
    }
}
