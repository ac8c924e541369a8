//! `mallard`: a PostgreSQL-wire server for DuckDB. This binary is the supervisor
//! (`serve`), its configuration check (`check`), the users-file helper (`passwd`), and,
//! re-executed by the supervisor, each worker (`worker`).

// Every `unsafe` of the binary is in `sys`, each block with the reason it holds.
#![deny(unsafe_code)]

mod backends;
mod config;
mod conns;
mod ctl;
mod listeners;
mod metrics;
mod notify;
mod outbox;
mod passwd;
mod pool;
mod privileges;
mod reload;
mod server;
mod signals;
#[allow(unsafe_code)]
mod sys;

use std::io::{IsTerminal, Read};
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::{Parser, Subcommand};
use config::{Config, LogFormat, Overrides};
use mallard_protocol::channel::{Generation, WorkerId};
use tracing::{error, info};

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
        /// Internal: the state a reloading supervisor passed to its new image.
        #[arg(long, hide = true, value_name = "FD")]
        resume: Option<i32>,
    },
    /// Show the running server: its generation and workers. Exit 0 when it runs, 3 when not.
    Status {
        #[command(flatten)]
        target: ctl::Target,
        /// Print JSON, for scripts.
        #[arg(long)]
        json: bool,
    },
    /// List every session of the running server (PgBouncer's SHOW CLIENTS): backend
    /// pid, user, database, application, client, state and for how long, worker,
    /// statement. Exit 0 when it runs, 3 when not.
    Sessions {
        #[command(flatten)]
        target: ctl::Target,
        /// Print JSON, for scripts.
        #[arg(long)]
        json: bool,
    },
    /// Reload the running server in place and wait: exit 0 once the new generation
    /// serves, 1 if the reload failed (the old generation keeps serving), 3 if not running.
    Reload {
        #[command(flatten)]
        target: ctl::Target,
    },
    /// Stop the running server and wait until it has exited (3 if it was not running).
    Stop {
        #[command(flatten)]
        target: ctl::Target,
        /// End sessions at once instead of letting them finish (shutdown_timeout).
        #[arg(long)]
        fast: bool,
    },
    /// Validate the configuration and this binary; exit 0 if both are fine.
    Check {
        #[arg(short = 'c', long = "config", value_name = "FILE")]
        config: Option<PathBuf>,
        #[command(flatten)]
        overrides: Overrides,
    },
    /// Print a users-file line `USER:SCRAM-SHA-256$...` for `[auth] users_file`.
    ///
    /// The password is read from stdin: prompted for twice, without echo, on a
    /// terminal; otherwise the first line.
    Passwd {
        /// The user name.
        user: String,
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
        Command::Serve { config, overrides, resume } => serve(config, &overrides, resume),
        Command::Status { target, json } => return ctl::status(&target, json),
        Command::Sessions { target, json } => return ctl::sessions(&target, json),
        Command::Reload { target } => return ctl::reload(&target),
        Command::Stop { target, fast } => return ctl::stop(&target, fast),
        Command::Check { config, overrides } => check(config, &overrides),
        Command::Passwd { user } => passwd::run(&user),
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

fn serve(file: Option<PathBuf>, overrides: &Overrides, resume: Option<i32>) -> anyhow::Result<()> {
    let saved =
        resume.map(reload::saved::Saved::load).transpose().context("could not read the reload state")?;
    let config = Config::load(file.as_deref(), overrides)?;
    init_logging(config.log_format, &config.log_level);
    let worker_config =
        toml::to_string(&config.worker_config()?).context("could not encode the worker config")?;
    std::fs::create_dir_all(&config.data_dir)
        .with_context(|| format!("could not create the data directory {}", config.data_dir.display()))?;

    if let Some(saved) = saved {
        let launch = reload::Launch {
            exe: saved.exe.clone(),
            args: saved.args.clone(),
            config_file: file,
            overrides: overrides.clone(),
        };
        info!(
            version = mallard_worker::SERVER_VERSION,
            generation = saved.next_generation,
            "mallard re-executed for a reload"
        );
        server::Server::resume(config, launch, worker_config, saved)?.run()?;
        return Ok(());
    }

    let launch = reload::Launch {
        exe: binary_on_disk(),
        args: std::env::args().skip(1).collect(),
        config_file: file,
        overrides: overrides.clone(),
    };
    let mut listeners =
        listeners::Listener::from_systemd().context("could not use the sockets systemd passed")?;
    if listeners.is_empty() {
        for addr in &config.listen {
            listeners.push(listeners::Listener::tcp(*addr)?);
        }
        if let Some(dir) = &config.socket_dir {
            let port = config.listen.first().map_or(5432, |a| a.port());
            listeners.push(listeners::Listener::unix(dir, port)?);
        }
    } else {
        info!(
            sockets = listeners.len(),
            "using the sockets systemd passed (LISTEN_FDS); `listen` and `socket_dir` are not bound"
        );
    }
    let admin_path = config.admin_path();
    let admin = match listeners::bind_admin(&admin_path) {
        Ok(l) => Some((l, admin_path.clone())),
        Err(e) => {
            error!(path = %admin_path.display(), error = %e, "could not open the admin socket; `mallard status/reload/stop` will not reach this server");
            None
        }
    };
    let mut owned = vec![config.data_dir.as_path()];
    if admin.is_some() {
        owned.push(admin_path.as_path());
    }
    privileges::drop_root(config.user.as_deref(), config.group.as_deref(), &owned)?;
    info!(
        version = mallard_worker::SERVER_VERSION,
        storage = config.storage.as_str(),
        workers = config.worker_count(),
        data_dir = %config.data_dir.display(),
        exe = %launch.exe.display(),
        "mallard starting"
    );
    server::Server::new(config, launch, worker_config, listeners, admin)?.run()?;
    Ok(())
}

/// The binary a reload executes: the path this one was started by (a symlink that
/// an upgrade moves is followed then, not now), found the way the shell found it.
fn binary_on_disk() -> PathBuf {
    if let Some(arg0) = std::env::args_os().next().map(PathBuf::from) {
        if arg0.components().count() > 1 {
            if let Ok(path) = std::path::absolute(&arg0) {
                return path;
            }
        }
        let on_path = std::env::var_os("PATH")
            .into_iter()
            .flat_map(|p| std::env::split_paths(&p).collect::<Vec<_>>())
            .map(|dir| dir.join(&arg0))
            .find(|candidate| candidate.is_file());
        if let Some(path) = on_path {
            return path;
        }
    }
    std::env::current_exe().unwrap_or_else(|_| PathBuf::from("/proc/self/exe"))
}

fn check(file: Option<PathBuf>, overrides: &Overrides) -> anyhow::Result<()> {
    let config = Config::load(file.as_deref(), overrides)?;
    let worker = config.worker_config()?;
    mallard_worker::self_test(&worker).context("this binary's DuckDB does not work")?;
    println!(
        "configuration OK: storage {}, {} worker(s), {} listener(s), ssl {}",
        config.storage.as_str(),
        config.worker_count(),
        config.listen.len(),
        config.tls.as_ref().map_or("off", |t| t.ssl.as_str()),
    );
    Ok(())
}

fn worker(id: u32, generation: u32) -> anyhow::Result<()> {
    let mut text = String::new();
    std::io::stdin().read_to_string(&mut text).context("could not read the worker config from stdin")?;
    let config: mallard_worker::WorkerConfig = toml::from_str(&text).context("invalid worker config")?;
    let channel = sys::worker_channel()
        .context("no channel on fd 3: `mallard worker` is started by `mallard serve`")?;
    let activity = sys::worker_activity()
        .context("no session table on fd 4: `mallard worker` is started by `mallard serve`")?;
    let activity =
        mallard_worker::activity::Segment::open(activity).context("could not map the session table")?;
    mallard_worker::run(channel, activity, WorkerId(id), Generation(generation), config)?;
    Ok(())
}
