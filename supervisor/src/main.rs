//! `mallard`: a PostgreSQL-wire server for DuckDB. This binary is the supervisor
//! (`serve`), its configuration check (`check`), and, re-executed by the supervisor,
//! each worker (`worker`).

mod config;
mod listeners;
mod metrics;
mod pool;
mod server;
mod signals;
mod sys;

use std::io::{IsTerminal, Read};
use std::os::fd::{FromRawFd, OwnedFd};
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::{Parser, Subcommand};
use config::{Config, LogFormat, Overrides};
use mallard_protocol::channel::{Generation, WorkerId};
use tracing::{error, info, warn};

#[derive(Parser)]
#[command(name = "mallard", version, about = "A PostgreSQL-wire server for DuckDB")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the server: the supervisor and its worker pool.
    ///
    /// Settings come from the config file (-c, default /etc/mallard/mallard.toml if
    /// present), then MALLARD_<KEY> environment variables (MALLARD_TLS__SSL for
    /// tls.ssl), then these flags.
    Serve {
        /// Config file (TOML).
        #[arg(short = 'c', long = "config", value_name = "FILE")]
        config: Option<PathBuf>,
        #[command(flatten)]
        overrides: Overrides,
    },
    /// Validate the configuration and this binary; exit 0 if both are fine.
    Check {
        #[arg(short = 'c', long = "config", value_name = "FILE")]
        config: Option<PathBuf>,
        #[command(flatten)]
        overrides: Overrides,
    },
    /// Internal: run one worker (started by the supervisor, config on stdin, channel on fd 3).
    #[command(hide = true)]
    Worker {
        #[arg(long)]
        id: u32,
        #[arg(long)]
        generation: u32,
        #[arg(long, value_enum, default_value = "text")]
        log_format: LogFormat,
        #[arg(long, default_value = "info")]
        log_level: String,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Serve { config, overrides } => serve(config, &overrides),
        Command::Check { config, overrides } => check(config, &overrides),
        Command::Worker { id, generation, log_format, log_level } => {
            init_logging(log_format, &log_level);
            worker(id, generation)
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            error!("{e:#}");
            eprintln!("mallard: {e:#}");
            ExitCode::from(1)
        }
    }
}

fn init_logging(format: LogFormat, level: &str) {
    let filter = tracing_subscriber::EnvFilter::try_new(level).unwrap_or_else(|_| "info".into());
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(std::io::stderr().is_terminal())
        .with_writer(std::io::stderr);
    match format {
        LogFormat::Text => builder.init(),
        LogFormat::Json => builder.json().with_current_span(true).with_span_list(true).init(),
    }
}

fn serve(file: Option<PathBuf>, overrides: &Overrides) -> anyhow::Result<()> {
    let config = Config::load(file.as_deref(), overrides)?;
    init_logging(config.log_format, &config.log_level);
    let worker_config =
        toml::to_string(&config.worker_config()?).context("could not encode the worker config")?;
    std::fs::create_dir_all(&config.data_dir)
        .with_context(|| format!("could not create the data directory {}", config.data_dir.display()))?;

    let mut listeners = Vec::new();
    for addr in &config.listen {
        listeners.push(listeners::Listener::tcp(*addr)?);
    }
    if let Some(dir) = &config.socket_dir {
        let port = config.listen.first().map_or(5432, |a| a.port());
        listeners.push(listeners::Listener::unix(dir, port)?);
    }
    if config.metrics_listen.is_some() || config.admin_socket.is_some() {
        warn!("metrics_listen and admin_socket are not served yet");
    }
    if nix::unistd::geteuid().is_root() {
        warn!(user = ?config.user, "running as root: dropping privileges is not implemented yet");
    }
    info!(
        version = mallard_worker::SERVER_VERSION,
        storage = config.storage.as_str(),
        workers = config.worker_count(),
        data_dir = %config.data_dir.display(),
        "mallard starting"
    );
    server::Server::new(config, worker_config, listeners)?.run()?;
    Ok(())
}

fn check(file: Option<PathBuf>, overrides: &Overrides) -> anyhow::Result<()> {
    let config = Config::load(file.as_deref(), overrides)?;
    config.worker_config()?;
    mallard_worker::self_test().context("this binary's DuckDB does not work")?;
    println!(
        "configuration OK: storage {}, {} worker(s), {} listener(s)",
        config.storage.as_str(),
        config.worker_count(),
        config.listen.len()
    );
    Ok(())
}

fn worker(id: u32, generation: u32) -> anyhow::Result<()> {
    let mut text = String::new();
    std::io::stdin().read_to_string(&mut text).context("could not read the worker config from stdin")?;
    let config: mallard_worker::WorkerConfig = toml::from_str(&text).context("invalid worker config")?;
    let channel = inherited_channel()?;
    mallard_worker::run(channel, WorkerId(id), Generation(generation), config)?;
    Ok(())
}

/// Takes ownership of fd 3, the worker's end of the channel.
fn inherited_channel() -> anyhow::Result<OwnedFd> {
    let fd = sys::WORKER_CHANNEL_FD;
    nix::fcntl::fcntl(fd, nix::fcntl::FcntlArg::F_GETFD)
        .context("no channel on fd 3: `mallard worker` is started by `mallard serve`")?;
    nix::fcntl::fcntl(fd, nix::fcntl::FcntlArg::F_SETFD(nix::fcntl::FdFlag::FD_CLOEXEC))?;
    // SAFETY: fd 3 was set up for us by the supervisor and nothing else in this
    // process refers to it, so it has exactly one owner from here on.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}
