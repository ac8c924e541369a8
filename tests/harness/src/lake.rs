//! A DuckLake for `storage = "ducklake"` tests: a throwaway PostgreSQL 15 for the
//! catalog, a data directory, and the DuckDB v1.5.5 extension files from the
//! `duckdb-extension-*` PyPI packages `.ci/run` installs in the test venv, laid out as
//! DuckDB's extension directory.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use crate::postgres_server::Postgres;
use crate::{Options, Server};

/// The extensions a lake needs, as DuckDB names them and as their PyPI packages do.
const EXTENSIONS: &[(&str, &str)] = &[
    ("ducklake", "duckdb_extension_ducklake"),
    ("postgres_scanner", "duckdb_extension_postgres_scanner"),
    ("httpfs", "duckdb_extension_httpfs"),
];

/// `<dir>/v1.5.5/linux_amd64/<name>.duckdb_extension`, made once per test process from
/// the venv's packages (symbolic links). Missing packages fail the test with what to run.
pub fn extension_directory() -> &'static Path {
    static DIR: OnceLock<(tempfile::TempDir, PathBuf)> = OnceLock::new();
    &DIR.get_or_init(|| {
        let venv = crate::drivers::python().parent().and_then(Path::parent).expect("the venv").to_path_buf();
        let dir = tempfile::Builder::new().prefix("mallard-extensions-").tempdir().expect("temp dir");
        let platform = dir.path().join("v1.5.5/linux_amd64");
        std::fs::create_dir_all(&platform).expect("extension directory");
        for (name, package) in EXTENSIONS {
            let file = site_packages(&venv)
                .into_iter()
                .map(|site| site.join(package).join(format!("extensions/v1.5.5/{name}.duckdb_extension")))
                .find(|f| f.is_file())
                .unwrap_or_else(|| {
                    panic!(
                        "{package} 1.5.5 is missing from {}: run `bash .ci/run` (it installs the DuckDB \
                         extension packages the ducklake tests load)",
                        venv.display()
                    )
                });
            std::os::unix::fs::symlink(&file, platform.join(format!("{name}.duckdb_extension")))
                .expect("link the extension");
        }
        let path = dir.path().to_path_buf();
        (dir, path)
    })
    .1
}

fn site_packages(venv: &Path) -> Vec<PathBuf> {
    let lib = venv.join("lib");
    std::fs::read_dir(&lib)
        .map(|entries| entries.flatten().map(|e| e.path().join("site-packages")).collect())
        .unwrap_or_default()
}

/// A lake: its catalog in a PostgreSQL of its own, its data files in a directory (or
/// the bucket of an S3 server).
pub struct Lake {
    pub pg: Postgres,
    /// The `data_path` value.
    pub data_path: String,
    /// The `[ducklake.s3]` lines, for a lake in S3.
    s3: String,
    /// Appended to the catalog's connection string (`sslmode=require`).
    pub catalog_options: String,
    dir: tempfile::TempDir,
}

impl Lake {
    pub fn new() -> Lake {
        let pg = Postgres::start();
        let dir = tempfile::Builder::new().prefix("mallard-lake-").tempdir().expect("temp dir");
        let data_path = format!("{}/", dir.path().join("data").display());
        Lake { pg, data_path, s3: String::new(), catalog_options: String::new(), dir }
    }

    /// A lake whose data files are under `s3://<bucket>/lake/` on `server`.
    pub fn in_s3(server: &S3Server, bucket: &str) -> Lake {
        let mut lake = Lake::new();
        lake.data_path = format!("s3://{bucket}/lake/");
        lake.s3 = format!(
            "[ducklake.s3]\nendpoint = \"127.0.0.1:{}\"\nurl_style = \"path\"\nuse_ssl = false\n\
             region = \"us-east-1\"\nkey_id = \"{}\"\nsecret = \"{}\"\n",
            server.port,
            S3Server::KEY_ID,
            S3Server::SECRET
        );
        lake
    }

    /// The `[ducklake] catalog` value.
    pub fn catalog(&self) -> String {
        format!(
            "postgres:host=127.0.0.1 port={} dbname=postgres user={}{}",
            self.pg.port, self.pg.user, self.catalog_options
        )
    }

    /// A configuration file for a daemon serving this lake, with `extra` TOML lines
    /// (top-level keys) before the `[ducklake]` section and `lake` lines in it.
    pub fn config_file(&self, name: &str, extra: &str) -> PathBuf {
        self.config_file_with(name, extra, "")
    }

    pub fn config_file_with(&self, name: &str, extra: &str, lake: &str) -> PathBuf {
        let path = self.dir.path().join(format!("{name}.toml"));
        let text = format!(
            "extension_directory = {:?}\n{extra}\n[ducklake]\ncatalog = {:?}\ndata_path = {:?}\n{lake}\n{}",
            extension_directory().display().to_string(),
            self.catalog(),
            self.data_path,
            self.s3,
        );
        std::fs::write(&path, text).expect("write the config");
        path
    }

    /// Starts a daemon on this lake with `workers` workers.
    pub fn serve(&self, bin: &str, name: &str, workers: u32) -> Server {
        self.serve_with(bin, name, workers, Vec::new())
    }

    pub fn serve_with(&self, bin: &str, name: &str, workers: u32, env: Vec<(String, String)>) -> Server {
        Lake::serve_file(bin, &self.config_file(name, ""), workers, env)
    }

    /// Starts a daemon with this configuration file.
    pub fn serve_file(bin: &str, config: &Path, workers: u32, env: Vec<(String, String)>) -> Server {
        Server::start(
            bin,
            Options {
                storage: "ducklake",
                workers,
                extra_args: vec!["-c".into(), config.display().to_string()],
                env,
                ..Options::default()
            },
        )
    }
}

/// A local S3-compatible server: moto's, from the test venv (`.ci/run` installs
/// `moto[server]`), on a free loopback port, killed on drop.
pub struct S3Server {
    pub port: u16,
    child: std::process::Child,
}

impl S3Server {
    pub const KEY_ID: &'static str = "mallard-test";
    /// A value the tests look for in logs, where it must never appear.
    pub const SECRET: &'static str = "s3cret-never-logged";

    pub fn start() -> S3Server {
        let python = crate::drivers::python();
        let bin = python.with_file_name("moto_server");
        assert!(bin.is_file(), "{} is missing: run `bash .ci/run` (it installs moto[server])", bin.display());
        let port = crate::free_port();
        let child = std::process::Command::new(&bin)
            .args(["-H", "127.0.0.1", "-p", &port.to_string()])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("start moto_server");
        let server = S3Server { port, child };
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(std::time::Instant::now() < deadline, "moto_server did not listen on {port}");
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
        server
    }

    /// Runs Python with boto3 on this server: `s3` is the client.
    pub fn python(&self, code: &str) -> String {
        let script = format!(
            "import boto3\ns3 = boto3.client('s3', endpoint_url='http://127.0.0.1:{}', region_name='us-east-1', \
             aws_access_key_id='{}', aws_secret_access_key='{}')\n{code}\n",
            self.port,
            S3Server::KEY_ID,
            S3Server::SECRET
        );
        let out = std::process::Command::new(crate::drivers::python())
            .args(["-c", &script])
            .output()
            .expect("python");
        assert!(out.status.success(), "boto3: {}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8_lossy(&out.stdout).into_owned()
    }
}

impl Drop for S3Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Default for Lake {
    fn default() -> Self {
        Lake::new()
    }
}
