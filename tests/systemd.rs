//! The systemd integration files in `systemd/`: `systemd-analyze verify` accepts the
//! service and socket units without a single remark, the example config passes
//! `mallard check`, and the units and the config agree on paths, addresses and timeouts.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

const MALLARD: &str = env!("CARGO_BIN_EXE_mallard");
/// Where the units expect the binary; the copies under test point at the built one.
const INSTALLED_BINARY: &str = "/usr/bin/mallard";
const UNITS: [&str; 2] = ["mallard.socket", "mallard.service"];
const UNIT_SUFFIXES: [&str; 11] = [
    ".service",
    ".socket",
    ".target",
    ".mount",
    ".automount",
    ".swap",
    ".path",
    ".timer",
    ".slice",
    ".scope",
    ".device",
];

fn systemd_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../systemd")
}

fn read(name: &str) -> String {
    let path = systemd_dir().join(name);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

#[test]
fn units_pass_systemd_analyze_verify() {
    let dir = tempfile::tempdir().expect("temp dir");
    // verify insists that every Exec*= binary exists, so the copies name the built one.
    for unit in UNITS {
        let text = read(unit).replace(INSTALLED_BINARY, MALLARD);
        std::fs::write(dir.path().join(unit), text).expect("write unit copy");
    }
    // Together: the socket names the service, and verify refuses a socket whose
    // service it cannot load.
    let out = Command::new("systemd-analyze")
        .arg("verify")
        .args(UNITS.map(|u| dir.path().join(u)))
        .current_dir(dir.path())
        .env_remove("SYSTEMD_LOG_LEVEL")
        .output()
        .unwrap_or_else(|e| {
            panic!("could not run systemd-analyze (package systemd; .ci/run installs it): {e}")
        });
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    // verify exits 0 on unknown keys and unparsable values and only prints them, so any
    // line at all is a failure, except remarks on the host's own units.
    let remarks: Vec<&str> = text.lines().filter(|l| !l.trim().is_empty() && !about_a_host_unit(l)).collect();
    assert!(
        out.status.success() && remarks.is_empty(),
        "systemd-analyze verify ({}) on the units in systemd/:\n{text}",
        out.status
    );
}

/// Loading our units also loads the host's units they depend on (sysinit.target,
/// sockets.target, network.target, ...), and verify prints what it thinks of those too.
/// Such a line names the other unit, by file (`/lib/systemd/system/x.service:12: ...`)
/// or by name (`x.service: ...`, `Unit x.service ...`). A line that names none of the
/// host's units counts as being about ours.
fn about_a_host_unit(line: &str) -> bool {
    let subject = line.strip_prefix("Unit ").unwrap_or(line);
    let subject = subject.split([':', ' ']).next().unwrap_or_default();
    let name = subject.rsplit('/').next().unwrap_or_default();
    UNIT_SUFFIXES.iter().any(|s| name.ends_with(s)) && !UNITS.contains(&name) && !name.starts_with("mallard")
}

/// A minimal run of `mallard check`: no `MALLARD_*` variable of the caller's leaks in.
fn check(config: &Path, env: &[(&str, &Path)]) -> std::process::Output {
    let mut cmd = Command::new(MALLARD);
    cmd.arg("check").arg("-c").arg(config);
    for (key, _) in std::env::vars() {
        if key.starts_with("MALLARD_") {
            cmd.env_remove(key);
        }
    }
    cmd.envs(env.iter().map(|(k, v)| (k, v)));
    cmd.output().expect("run mallard check")
}

#[test]
fn example_config_passes_check() {
    // The example's data_dir is /var/lib/mallard, which this machine need not have.
    let data = tempfile::tempdir().expect("temp dir");
    let out = check(&systemd_dir().join("mallard.toml"), &[("MALLARD_DATA_DIR", data.path())]);
    assert!(
        out.status.success(),
        "mallard check -c systemd/mallard.toml: {}\n{}{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// `Key=value` lines of a unit, in order (sections ignored; our keys are unique).
fn unit_keys(text: &str) -> Vec<(String, String)> {
    text.lines()
        .filter(|l| !l.starts_with('#') && !l.starts_with('['))
        .filter_map(|l| l.split_once('='))
        .map(|(k, v)| (k.trim().to_owned(), v.trim().to_owned()))
        .collect()
}

fn seconds(value: &str) -> Duration {
    let n = value.strip_suffix('s').and_then(|n| n.parse().ok());
    Duration::from_secs(n.unwrap_or_else(|| panic!("write {value:?} as whole seconds, like \"60s\"")))
}

#[test]
fn units_and_example_config_agree() {
    let service: BTreeMap<_, _> = unit_keys(&read("mallard.service")).into_iter().collect();
    let listen: Vec<String> = unit_keys(&read("mallard.socket"))
        .into_iter()
        .filter(|(k, _)| k == "ListenStream")
        .map(|(_, v)| v)
        .collect();
    let config: toml::Table = read("mallard.toml").parse().expect("mallard.toml is TOML");
    let get =
        |key: &str| config.get(key).and_then(|v| v.as_str()).unwrap_or_else(|| panic!("mallard.toml: {key}"));

    for exec in ["ExecStart", "ExecReload"] {
        assert!(service[exec].ends_with(" -c /etc/mallard/mallard.toml"), "{exec}={}", service[exec]);
    }
    // Without the socket unit the daemon binds what the socket unit would have passed it.
    let tcp: Vec<&str> =
        config["listen"].as_array().expect("listen").iter().filter_map(|v| v.as_str()).collect();
    let port = tcp[0].rsplit(':').next().expect("port");
    let mut expected: Vec<String> = tcp.iter().map(|s| s.to_string()).collect();
    expected.push(format!("{}/.s.PGSQL.{port}", get("socket_dir")));
    assert_eq!(listen, expected, "mallard.socket ListenStream= and mallard.toml listen/socket_dir");

    let runtime = format!("/run/{}", service["RuntimeDirectory"]);
    assert_eq!(get("socket_dir"), runtime);
    assert_eq!(Path::new(get("admin_socket")).parent(), Some(Path::new(&runtime)));
    assert_eq!(get("data_dir"), format!("/var/lib/{}", service["StateDirectory"]));
    assert_eq!(get("data_dir"), service["ReadWritePaths"]);

    // A reload in duckdb read-write mode waits for the drain, and systemd bounds
    // ExecReload= by TimeoutStartSec; a stop waits for shutdown_timeout.
    assert!(seconds(&service["TimeoutStartSec"]) > seconds(get("drain_timeout")));
    assert!(seconds(&service["TimeoutStopSec"]) > seconds(get("shutdown_timeout")));
}

#[test]
fn only_remarks_on_host_units_are_ignored() {
    for host in [
        "/lib/systemd/system/plymouth-start.service:15: Unit uses KillMode=none.",
        "sysinit.target: Failed to load configuration: No such file or directory",
        "Unit network.target has a bad unit file setting.",
    ] {
        assert!(about_a_host_unit(host), "{host}");
    }
    for ours in [
        "/tmp/.tmpAbCdEf/mallard.service:32: Unknown key 'WatchdogSecs' in section [Service], ignoring.",
        "mallard.socket: service mallard-x.service not loaded, socket cannot be started.",
        "Unit mallard.socket has a bad unit file setting.",
        "Accepting user/group name 'no such user', which does not match strict user/group name rules.",
    ] {
        assert!(!about_a_host_unit(ours), "{ours}");
    }
}
