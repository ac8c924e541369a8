//! A throwaway PostgreSQL 15, the reference that compatibility tests compare mallard
//! with: `initdb` into a temporary directory, listening on 127.0.0.1 at a free port, in
//! UTC with ISO dates, stopped on drop.
//!
//! PostgreSQL refuses to run as root, so under root it runs as the `postgres` OS user.
//! Missing binaries fail the test rather than skip it: a compatibility suite that quietly
//! compares nothing would be worse than none (CI installs `postgresql-15`).

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

const BIN_DIR: &str = "/usr/lib/postgresql/15/bin";
const OS_USER: &str = "postgres";

/// A running PostgreSQL server; dropping it stops the server and removes its files.
pub struct Postgres {
    pub port: u16,
    /// The superuser `initdb` created, with trust authentication.
    pub user: &'static str,
    pub database: &'static str,
    data: PathBuf,
    log: PathBuf,
    /// Run the binaries through `runuser` as [`OS_USER`] (we are root).
    as_os_user: bool,
    // Declared last: dropped after `drop` has stopped the server.
    dir: tempfile::TempDir,
}

impl Postgres {
    pub fn start() -> Postgres {
        let bin = Path::new(BIN_DIR);
        for tool in ["initdb", "pg_ctl", "postgres"] {
            assert!(
                bin.join(tool).is_file(),
                "PostgreSQL 15 is required as the reference: {} is missing (install postgresql-15)",
                bin.join(tool).display()
            );
        }
        let dir = tempfile::Builder::new().prefix("mallard-pg-").tempdir().expect("temp dir");
        let as_os_user = nix::unistd::geteuid().is_root();
        if as_os_user {
            let user = nix::unistd::User::from_name(OS_USER)
                .expect("look up the postgres user")
                .unwrap_or_else(|| panic!("running as root needs the `{OS_USER}` OS user to run PostgreSQL"));
            std::os::unix::fs::chown(dir.path(), Some(user.uid.as_raw()), Some(user.gid.as_raw()))
                .expect("chown the PostgreSQL directory");
        }
        let pg = Postgres {
            port: crate::free_port(),
            user: "postgres",
            database: "postgres",
            data: dir.path().join("data"),
            log: dir.path().join("postgres.log"),
            as_os_user,
            dir,
        };
        pg.initdb();
        pg.configure();
        let out = pg
            .tool("pg_ctl")
            .args(["start", "-w", "-t", "60", "-D"])
            .arg(&pg.data)
            .arg("-l")
            .arg(&pg.log)
            .output()
            .expect("run pg_ctl start");
        assert!(out.status.success(), "PostgreSQL did not start: {}\nlog:\n{}", describe(&out), pg.logs());
        pg
    }

    fn initdb(&self) {
        let out = self
            .tool("initdb")
            .arg("-D")
            .arg(&self.data)
            .args(["-U", self.user, "-A", "trust", "-E", "UTF8", "--locale=C", "--no-sync"])
            .output()
            .expect("run initdb");
        assert!(out.status.success(), "initdb failed: {}", describe(&out));
    }

    /// Fixes everything that changes how values print, so the reference does not depend
    /// on the machine: UTC (mallard shows timestamptz in UTC), ISO dates, the default
    /// float and interval styles.
    fn configure(&self) {
        let settings = format!(
            "\nlisten_addresses = '127.0.0.1'\nport = {}\nunix_socket_directories = '{}'\n\
             fsync = off\nfull_page_writes = off\ntimezone = 'UTC'\nlog_timezone = 'UTC'\n\
             datestyle = 'ISO, MDY'\nintervalstyle = 'postgres'\nextra_float_digits = 1\n",
            self.port,
            self.dir.path().display()
        );
        let conf = self.data.join("postgresql.conf");
        let mut text = std::fs::read_to_string(&conf).expect("read postgresql.conf");
        text.push_str(&settings);
        // Rewriting the existing file keeps its owner, so `postgres` can still read it.
        std::fs::write(&conf, text).expect("write postgresql.conf");
    }

    /// A PostgreSQL program, run as the right OS user from the temporary directory (the
    /// `postgres` user may not be allowed into the current one).
    fn tool(&self, program: &str) -> Command {
        let path = Path::new(BIN_DIR).join(program);
        let mut cmd = if self.as_os_user {
            let mut c = Command::new("runuser");
            c.args(["-u", OS_USER, "--"]).arg(path);
            c
        } else {
            Command::new(path)
        };
        cmd.current_dir(self.dir.path());
        cmd
    }

    /// The server log.
    pub fn logs(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

impl Drop for Postgres {
    fn drop(&mut self) {
        if self.data.join("postmaster.pid").exists() {
            let _ =
                self.tool("pg_ctl").args(["stop", "-m", "immediate", "-w", "-D"]).arg(&self.data).output();
        }
    }
}

fn describe(out: &Output) -> String {
    format!(
        "{}\nstdout:\n{}\nstderr:\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

impl Postgres {
    /// Turns TLS on with this certificate and key (PEM), and accepts TCP connections
    /// only over TLS, then waits until a plaintext connection is refused.
    pub fn require_tls(&self, cert: &str, key: &str) {
        for (name, pem) in [("server.crt", cert), ("server.key", key)] {
            let path = self.data.join(name);
            std::fs::write(&path, pem).expect("write the TLS files");
            std::fs::set_permissions(&path, std::os::unix::fs::PermissionsExt::from_mode(0o600)).unwrap();
            if self.as_os_user {
                let user = nix::unistd::User::from_name(OS_USER).unwrap().expect("postgres user");
                std::os::unix::fs::chown(&path, Some(user.uid.as_raw()), Some(user.gid.as_raw())).unwrap();
            }
        }
        let conf = self.data.join("postgresql.conf");
        let mut text = std::fs::read_to_string(&conf).expect("read postgresql.conf");
        text.push_str("\nssl = on\n");
        std::fs::write(&conf, text).expect("write postgresql.conf");
        self.prepend_hba("hostssl all all 127.0.0.1/32 trust\nhost all all 127.0.0.1/32 reject");
        let plain =
            format!("host=127.0.0.1 port={} user={} dbname=postgres sslmode=disable", self.port, self.user);
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        while postgres::Client::connect(&plain, postgres::NoTls).is_ok() {
            assert!(std::time::Instant::now() < deadline, "PostgreSQL still takes plaintext connections");
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
    }

    /// Puts `lines` in front of `pg_hba.conf` (initdb's file trusts everyone) and makes
    /// the server reload it. The reload is asynchronous: callers wait until the new rules
    /// show, for example until a wrong password is refused.
    // Only some test targets use it.
    pub fn prepend_hba(&self, lines: &str) {
        let path = self.data.join("pg_hba.conf");
        let old = std::fs::read_to_string(&path).expect("read pg_hba.conf");
        // Rewriting the existing file keeps its owner, so `postgres` can still read it.
        std::fs::write(&path, format!("{lines}\n{old}")).expect("write pg_hba.conf");
        let out =
            self.tool("pg_ctl").args(["reload", "-D"]).arg(&self.data).output().expect("run pg_ctl reload");
        assert!(out.status.success(), "pg_ctl reload failed: {}", describe(&out));
    }
}
