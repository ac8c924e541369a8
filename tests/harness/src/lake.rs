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

/// A lake: its catalog in a PostgreSQL of its own, its data files in a directory.
pub struct Lake {
    pub pg: Postgres,
    pub data_path: PathBuf,
    dir: tempfile::TempDir,
}

impl Lake {
    pub fn new() -> Lake {
        let pg = Postgres::start();
        let dir = tempfile::Builder::new().prefix("mallard-lake-").tempdir().expect("temp dir");
        let data_path = dir.path().join("data");
        Lake { pg, data_path, dir }
    }

    /// The `[ducklake] catalog` value.
    pub fn catalog(&self) -> String {
        format!("postgres:host=127.0.0.1 port={} dbname=postgres user={}", self.pg.port, self.pg.user)
    }

    /// A configuration file for a daemon serving this lake, with `extra` TOML lines
    /// (top-level keys) before the `[ducklake]` section and `lake` lines in it.
    pub fn config_file(&self, name: &str, extra: &str) -> PathBuf {
        self.config_file_with(name, extra, "")
    }

    pub fn config_file_with(&self, name: &str, extra: &str, lake: &str) -> PathBuf {
        let path = self.dir.path().join(format!("{name}.toml"));
        let text = format!(
            "extension_directory = {:?}\n{extra}\n[ducklake]\ncatalog = {:?}\ndata_path = {:?}\n{lake}\n",
            extension_directory().display().to_string(),
            self.catalog(),
            format!("{}/", self.data_path.display()),
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

impl Default for Lake {
    fn default() -> Self {
        Lake::new()
    }
}
