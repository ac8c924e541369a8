//! Runs the client driver scripts in `tests/drivers/` (psycopg, asyncpg, pgjdbc,
//! node-postgres) against a server, with a time limit, and finds the interpreters and
//! modules they need. What is missing fails the test with what to install (`.ci/run`
//! installs all of it), never skips it.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::thread::sleep;
use std::time::{Duration, Instant};

/// The directory of the driver scripts.
pub fn scripts_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../drivers")
}

/// The Python that has psycopg and asyncpg: `$MALLARD_PYTHON`, else the venv `.ci/run`
/// creates in `$HOME/.cache/mallard/venv`.
pub fn python() -> PathBuf {
    let path = std::env::var_os("MALLARD_PYTHON").map(PathBuf::from).unwrap_or_else(|| {
        let home = std::env::var_os("HOME").expect("HOME is set");
        PathBuf::from(home).join(".cache/mallard/venv/bin/python")
    });
    assert!(
        path.is_file(),
        "{} is missing: run `bash .ci/run` (it creates the venv with psycopg and asyncpg), \
         or point MALLARD_PYTHON at a Python that has them",
        path.display()
    );
    let out = Command::new(&path)
        .args(["-c", "import psycopg, asyncpg"])
        .output()
        .unwrap_or_else(|e| panic!("run {}: {e}", path.display()));
    assert!(
        out.status.success(),
        "{} cannot import psycopg and asyncpg: run `bash .ci/run` to install them\n{}",
        path.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    path
}

/// pgjdbc: `$MALLARD_PGJDBC_JAR`, else Debian's `libpostgresql-jdbc-java`.
pub fn pgjdbc_jar() -> PathBuf {
    let path = std::env::var_os("MALLARD_PGJDBC_JAR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/usr/share/java/postgresql.jar"));
    assert!(
        path.is_file(),
        "{} is missing: run `bash .ci/run` (it installs libpostgresql-jdbc-java), \
         or point MALLARD_PGJDBC_JAR at a pgjdbc jar",
        path.display()
    );
    let java = Command::new("java").arg("-version").output();
    assert!(
        java.map(|o| o.status.success()).unwrap_or(false),
        "`java` is missing: run `bash .ci/run` (it installs a JDK)"
    );
    path
}

/// The directory `.ci/run` installs node-postgres (`pg`) into, with npm's `--prefix`:
/// `$MALLARD_NODE_MODULES`, else `$HOME/.cache/mallard/node`. Checks that node finds
/// `pg` there.
pub fn node_modules() -> PathBuf {
    let dir = std::env::var_os("MALLARD_NODE_MODULES").map(PathBuf::from).unwrap_or_else(|| {
        let home = std::env::var_os("HOME").expect("HOME is set");
        PathBuf::from(home).join(".cache/mallard/node")
    });
    let modules = dir.join("node_modules");
    let found = Command::new("node")
        .args(["-e", "require('pg')"])
        .env("NODE_PATH", &modules)
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false);
    assert!(
        found,
        "node cannot load node-postgres from {}: run `bash .ci/run` (it installs nodejs and `pg`), \
         or point MALLARD_NODE_MODULES at a directory whose node_modules has it",
        modules.display()
    );
    modules
}

/// What [`run`] appends to the output of a script it had to kill.
pub const HUNG: &str = "it hung";

/// What a script printed and whether it passed.
pub struct Run {
    pub passed: bool,
    pub output: String,
}

/// Runs `program args... target` with a time limit; stdout and stderr are captured
/// together, in order, through one file.
pub fn run(mut cmd: Command, target: &str, limit: Duration) -> Run {
    let dir = tempfile::tempdir().expect("temp dir");
    let log = dir.path().join("output");
    let file = File::create(&log).expect("output file");
    let mut child = cmd
        .arg(target)
        .stdin(Stdio::null())
        .stdout(file.try_clone().expect("dup output file"))
        .stderr(file)
        .spawn()
        .unwrap_or_else(|e| panic!("start {cmd:?}: {e}"));
    let deadline = Instant::now() + limit;
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait for the script") {
            break Some(status);
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            break None;
        }
        sleep(Duration::from_millis(50));
    };
    let mut output = std::fs::read_to_string(&log).unwrap_or_default();
    match status {
        Some(s) if s.success() => Run { passed: true, output },
        Some(s) => {
            output.push_str(&format!("\n[script exited with {s}]"));
            Run { passed: false, output }
        }
        None => {
            output.push_str(&format!("\n[script killed after {limit:?}: {HUNG}]"));
            Run { passed: false, output }
        }
    }
}

/// `python tests/drivers/<script>`.
pub fn python_script(script: &str) -> Command {
    let mut cmd = Command::new(python());
    cmd.arg(scripts_dir().join(script));
    cmd
}

/// `node tests/drivers/<script>`, with node-postgres on its `NODE_PATH`.
pub fn node_script(script: &str) -> Command {
    let mut cmd = Command::new("node");
    cmd.env("NODE_PATH", node_modules()).arg(scripts_dir().join(script));
    cmd
}

/// `java -cp pgjdbc.jar tests/drivers/<source>` (a single-file source launch).
pub fn java_source(source: &str) -> Command {
    let jar = pgjdbc_jar();
    let mut cmd = Command::new("java");
    cmd.arg("-cp").arg(jar).arg(scripts_dir().join(source));
    cmd
}
