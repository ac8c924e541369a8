//! `mallard status`, `sessions`, `reload` and `stop`: the client side of the admin socket. Each finds
//! the running server's socket, sends one request and prints the answer; exit codes are
//! an interface for scripts (0 done, 1 failed, 3 not running).

use std::io::{self, BufRead, BufReader, Write};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use mallard_protocol::admin::{self, Answer, Command, Sessions, Status};
use serde::de::DeserializeOwned;

use crate::config::Config;

/// `mallard status`, `reload` and `stop` exit with this when no server answers.
const EXIT_NOT_RUNNING: u8 = 3;

/// Which running server a command talks to: its admin socket, given directly or found
/// through the configuration, as `serve` would resolve it.
#[derive(clap::Args)]
pub struct Target {
    #[arg(short = 'c', long = "config", value_name = "FILE")]
    config: Option<PathBuf>,
    /// The admin socket (default: the configuration's `admin_socket`, else
    /// `<data_dir>/mallard.sock`).
    #[arg(long, value_name = "PATH")]
    admin_socket: Option<PathBuf>,
    #[arg(long, value_name = "DIR")]
    data_dir: Option<PathBuf>,
}

/// How a `mallard` command talking to the admin socket ended.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// Nothing listens at the path: the server is not running.
    #[error("mallard is not running (no server at {0})")]
    NotRunning(PathBuf),
    #[error("could not talk to mallard at {path}")]
    Io {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("mallard answered something unreadable: {0}")]
    Garbled(String),
}

/// `mallard status [--json]`.
pub fn status(target: &Target, json: bool) -> ExitCode {
    run(target, |mut client| {
        let status: Status = client.request(Command::Status, Some(Duration::from_secs(10)))?;
        if json {
            println!("{}", admin::to_line(&status));
        } else {
            print_status(&status);
        }
        Ok(ExitCode::SUCCESS)
    })
}

/// `mallard sessions [--json]`: every session of the server, one per line.
pub fn sessions(target: &Target, json: bool) -> ExitCode {
    run(target, |mut client| {
        let sessions: Sessions = client.request(Command::Sessions, Some(Duration::from_secs(10)))?;
        if json {
            println!("{}", admin::to_line(&sessions));
        } else {
            print_sessions(&sessions);
        }
        Ok(ExitCode::SUCCESS)
    })
}

fn print_sessions(sessions: &Sessions) {
    let now =
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0.0, |d| d.as_secs_f64());
    println!(
        "{:>8}  {:<12} {:<12} {:<16} {:<22} {:<30} {:>8} {:>8}  QUERY",
        "PID", "USER", "DATABASE", "APPLICATION", "CLIENT", "STATE", "FOR", "WORKER"
    );
    for s in &sessions.sessions {
        let client = match &s.client_addr {
            Some(addr) => format!("{addr}:{}{}", s.client_port, if s.tls { " tls" } else { "" }),
            None => "[local]".into(),
        };
        let since = s.state_change.map_or_else(String::new, |t| format!("{:.1}s", (now - t).max(0.0)));
        let query: String = s.query.split_whitespace().collect::<Vec<_>>().join(" ");
        println!(
            "{:>8}  {:<12} {:<12} {:<16} {:<22} {:<30} {:>8} {:>8}  {}",
            s.pid,
            s.user,
            s.database,
            s.application_name,
            client,
            s.state.as_deref().unwrap_or("starting"),
            since,
            s.worker_pid,
            query
        );
    }
}

/// `mallard reload`: waits for the outcome.
pub fn reload(target: &Target) -> ExitCode {
    run(target, |mut client| {
        let outcome: Answer = client.request(Command::Reload, None)?;
        if outcome.ok {
            println!("reloaded: generation {} serves", json_number(outcome.generation));
            Ok(ExitCode::SUCCESS)
        } else {
            eprintln!("mallard: reload failed: {}", outcome.error_text());
            Ok(ExitCode::from(1))
        }
    })
}

/// `mallard stop [--fast]`: waits until the server has exited.
pub fn stop(target: &Target, fast: bool) -> ExitCode {
    run(target, |mut client| {
        let outcome: Answer = client.request(Command::Stop { fast }, Some(Duration::from_secs(10)))?;
        if !outcome.ok {
            eprintln!("mallard: stop refused: {}", outcome.error_text());
            return Ok(ExitCode::from(1));
        }
        client.wait_closed()?;
        Ok(ExitCode::SUCCESS)
    })
}

/// Runs one admin command against the server `target` names, mapping "not running"
/// to exit code 3.
fn run(target: &Target, command: impl FnOnce(Client) -> anyhow::Result<ExitCode>) -> ExitCode {
    let path = match socket_path(target) {
        Ok(p) => p,
        Err(e) => {
            eprintln!("mallard: {e:#}");
            return ExitCode::from(1);
        }
    };
    let outcome = Client::connect(&path).map_err(anyhow::Error::from).and_then(command);
    match outcome {
        Ok(code) => code,
        Err(e) => {
            eprintln!("mallard: {e:#}");
            let not_running =
                e.downcast_ref::<ClientError>().is_some_and(|c| matches!(c, ClientError::NotRunning(_)));
            ExitCode::from(if not_running { EXIT_NOT_RUNNING } else { 1 })
        }
    }
}

fn socket_path(target: &Target) -> anyhow::Result<PathBuf> {
    if let Some(path) = &target.admin_socket {
        return Ok(path.clone());
    }
    Ok(Config::locate_admin(target.config.as_deref(), target.data_dir.as_deref())?)
}

/// A number as the JSON answer had it: `null` when missing.
fn json_number(n: Option<u32>) -> String {
    n.map_or_else(|| "null".into(), |n| n.to_string())
}

fn print_status(s: &Status) {
    let t = &s.totals;
    println!(
        "mallard {}: pid {}, up {}s, generation {}, storage {}",
        s.state.as_str(),
        s.pid,
        s.uptime_seconds.round(),
        s.generation,
        s.storage,
    );
    println!(
        "{} sessions ({} max), {} handoffs in flight, {} clients waiting",
        t.sessions, t.max_connections, t.in_flight, t.waiting
    );
    println!("{:>6} {:>8} {:>4} {:<9} {:>8}", "worker", "pid", "gen", "state", "sessions");
    for w in &s.workers {
        println!(
            "{:>6} {:>8} {:>4} {:<9} {:>8}{}",
            w.id,
            w.pid,
            w.generation,
            w.state.as_str(),
            w.sessions,
            if w.responsive { "" } else { "  (not answering pings)" }
        );
    }
    if let Some(last) = &s.last_reload {
        if last.ok {
            println!("last reload: ok, generation {}", json_number(last.generation));
        } else {
            println!("last reload: FAILED: {}", last.error.as_deref().unwrap_or("?"));
        }
    }
}

/// A connection to a running supervisor.
struct Client {
    path: PathBuf,
    reader: BufReader<UnixStream>,
}

impl Client {
    fn connect(path: &Path) -> Result<Client, ClientError> {
        let stream = UnixStream::connect(path).map_err(|e| match e.kind() {
            io::ErrorKind::NotFound | io::ErrorKind::ConnectionRefused => {
                ClientError::NotRunning(path.to_path_buf())
            }
            _ => ClientError::Io { path: path.to_path_buf(), source: e },
        })?;
        Ok(Client { path: path.to_path_buf(), reader: BufReader::new(stream) })
    }

    /// Sends `command` and reads the one-line answer, waiting at most `timeout` (none:
    /// forever).
    fn request<T: DeserializeOwned>(
        &mut self,
        command: Command,
        timeout: Option<Duration>,
    ) -> Result<T, ClientError> {
        let io_err = |source| ClientError::Io { path: self.path.clone(), source };
        let stream = self.reader.get_mut();
        stream.set_read_timeout(timeout).map_err(io_err)?;
        stream.write_all(command.line().as_bytes()).map_err(io_err)?;
        let mut line = String::new();
        let n = self.reader.read_line(&mut line).map_err(io_err)?;
        if n == 0 {
            return Err(io_err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "mallard closed the connection",
            )));
        }
        serde_json::from_str(&line).map_err(|_| ClientError::Garbled(line.trim().to_owned()))
    }

    /// Waits until the supervisor closes the connection, which it does by exiting.
    fn wait_closed(mut self) -> Result<(), ClientError> {
        let _ = self.reader.get_mut().set_read_timeout(None);
        let mut rest = Vec::new();
        match io::Read::read_to_end(&mut self.reader, &mut rest) {
            Ok(_) => Ok(()),
            Err(e) if e.kind() == io::ErrorKind::ConnectionReset => Ok(()),
            Err(source) => Err(ClientError::Io { path: self.path, source }),
        }
    }
}
