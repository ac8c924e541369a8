//! A reload's first step: the new configuration loads, and `<binary on disk> check`
//! succeeds with it. The check runs as a child process that the loop reaps.

use std::io::Read;
use std::path::PathBuf;
use std::process::Stdio;
use std::time::Instant;

use nix::sys::wait::WaitStatus;

use super::Launch;
use crate::config::Config;
use crate::sys;

/// A running `<binary on disk> check`.
pub struct Check {
    pub pid: u32,
    /// Its stderr, which says why when it fails.
    output: std::fs::File,
    exe: PathBuf,
    pub since: Instant,
}

impl Check {
    /// Loads and validates the configuration the way `serve` would, then starts the
    /// binary on disk's `check` with it. `Err` says why the reload fails.
    pub fn start(launch: &Launch) -> Result<Check, String> {
        let config = Config::load(launch.config_file.as_deref(), &launch.overrides)
            .map_err(|e| format!("invalid configuration: {e}"))?;
        // The new image computes the worker config again; this only validates it.
        config.worker_config().map_err(|e| format!("invalid configuration: {e}"))?;
        let mut child = sys::child_command(&launch.exe)
            .args(launch.check_args())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| format!("could not run {} check: {e}", launch.exe.display()))?;
        let output =
            std::fs::File::from(std::os::fd::OwnedFd::from(child.stderr.take().expect("stderr is piped")));
        Ok(Check { pid: child.id(), output, exe: launch.exe.clone(), since: Instant::now() })
    }

    /// Why the check failed, from how it exited and what it wrote.
    pub fn failure(mut self, status: WaitStatus) -> String {
        let mut text = String::new();
        let _ = self.output.read_to_string(&mut text);
        let text = text.trim().strip_prefix("mallard: ").unwrap_or(text.trim()).to_owned();
        let how = match status {
            WaitStatus::Exited(_, code) => format!("exit code {code}"),
            WaitStatus::Signaled(_, sig, _) => format!("signal {sig}"),
            other => format!("{other:?}"),
        };
        format!("{} check failed ({how}): {text}", self.exe.display())
    }
}
