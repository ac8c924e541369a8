//! Compiles DuckDB's ICU extension into a static library linked with libduckdb-sys's DuckDB.
//!
//! libduckdb-sys ships DuckDB's core, parquet and json, but not the ICU extension, which
//! gives DuckDB time zones (`timestamptz` in a session zone, `now()`, `current_date`,
//! `AT TIME ZONE`) and calendars. Its sources come from the DuckDB release that matches
//! libduckdb-sys (1.5.5): the Python package's source distribution on PyPI, pinned by
//! SHA-256. It is downloaded once into the build directory, or read from
//! `MALLARD_DUCKDB_SDIST` (a path to that file) for builds without network.
//!
//! The headers are libduckdb-sys's own (`DEP_DUCKDB_INCLUDE`), so the extension is compiled
//! against exactly the DuckDB it is linked with; the flags mirror libduckdb-sys's.

use sha2::{Digest, Sha256};
use std::env;
use std::fs;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::Command;

const SDIST_NAME: &str = "duckdb-1.5.5.tar.gz";
const SDIST_URL: &str = "https://files.pythonhosted.org/packages/7d/19/\
    e57151753576373c6696a12022648546cca6038e8833fda2908ee2342d9b/duckdb-1.5.5.tar.gz";
const SDIST_SHA256: &str = "72f33ee57ca7595b23957671a2cc7f7fe2be0ecc2d68f63abedcfcaa3a5c1238";
/// The extension's folder inside the source distribution.
const EXTENSION_DIR: &str = "duckdb-1.5.5/external/duckdb/extension/icu/";

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-changed=src/load.cpp");
    println!("cargo:rerun-if-env-changed=MALLARD_DUCKDB_SDIST");
    println!("cargo:rerun-if-env-changed=CXX");

    let out = PathBuf::from(env::var("OUT_DIR").expect("cargo sets OUT_DIR"));
    let duckdb_include = env::var("DEP_DUCKDB_INCLUDE")
        .expect("libduckdb-sys (bundled) publishes its include directory as DEP_DUCKDB_INCLUDE");
    // The library is the same for `cargo check` and `cargo build` and for every checkout
    // sharing the target directory: compiled once, kept there under a name made of what
    // it is built from.
    let cached = cache_dir(&out, &duckdb_include);
    if let Some(dir) = cached.as_ref().filter(|dir| dir.join(LIBRARY).exists()) {
        println!("cargo:rustc-link-search=native={}", dir.display());
        println!("cargo:rustc-link-lib=static=mallard_icu");
        println!("cargo:rustc-link-lib=stdc++");
        return;
    }
    let source = extract(&sdist(&out), &out);

    let icu = source.join("third_party/icu");
    let mut files = Vec::new();
    for dir in ["common", "i18n", "stubdata"] {
        files.extend(cpp_files(&icu.join(dir)));
    }
    files.extend(cpp_files(&source));
    files.push(PathBuf::from("src/load.cpp"));

    let mut build = cc::Build::new();
    build
        .cpp(true)
        .files(&files)
        .include(&duckdb_include)
        .includes(third_party_includes(Path::new(&duckdb_include)))
        .include(source.join("include"))
        .include(icu.join("common"))
        .include(icu.join("i18n"))
        .flag_if_supported("-std=c++11")
        .warnings(false)
        .flag_if_supported("-w")
        // libduckdb-sys is always built without debug assertions (see the workspace's
        // profile), and DuckDB's headers must be read the same way on both sides.
        .define("NDEBUG", None)
        .debug(false)
        .opt_level(2);
    build.compile("mallard_icu");
    if let Some(dir) = cached {
        // Written under a temporary name and renamed, so a parallel build never links a
        // half-written archive.
        let partial = dir.with_extension("partial");
        let stored = fs::create_dir_all(&partial)
            .and_then(|()| fs::copy(out.join(LIBRARY), partial.join(LIBRARY)))
            .and_then(|_| fs::rename(&partial, &dir));
        if let Err(e) = stored {
            println!(
                "cargo:warning=mallard-icu: could not keep the compiled library in {}: {e}",
                dir.display()
            );
            let _ = fs::remove_dir_all(&partial);
        }
    }
}

/// The archive `cc` makes.
const LIBRARY: &str = "libmallard_icu.a";

/// `<target>/<profile>/mallard-icu/<key>`, the key a hash of everything the library is
/// built from: the sources' checksum, this script and the shim, DuckDB's headers'
/// folder, the target and the C++ compiler. None when OUT_DIR is not where cargo puts it.
fn cache_dir(out: &Path, duckdb_include: &str) -> Option<PathBuf> {
    let profile_dir = out.ancestors().nth(3)?;
    if out.ancestors().nth(2)?.file_name()? != "build" {
        return None;
    }
    let mut hasher = Sha256::new();
    hasher.update(SDIST_SHA256);
    for file in ["build.rs", "src/load.cpp"] {
        hasher.update(fs::read(file).ok()?);
    }
    for part in [
        duckdb_include.to_owned(),
        env::var("TARGET").unwrap_or_default(),
        env::var("CXX").unwrap_or_default(),
    ] {
        hasher.update(part.as_bytes());
        hasher.update([0]);
    }
    let key: String = hasher.finalize().iter().take(8).map(|b| format!("{b:02x}")).collect();
    Some(profile_dir.join("mallard-icu").join(key))
}

/// The source distribution: `MALLARD_DUCKDB_SDIST`, or a verified download kept in OUT_DIR.
fn sdist(out: &Path) -> PathBuf {
    if let Ok(path) = env::var("MALLARD_DUCKDB_SDIST") {
        let path = PathBuf::from(path);
        verify(&path);
        return path;
    }
    let path = out.join(SDIST_NAME);
    if path.exists() && sha256(&path) == SDIST_SHA256 {
        return path;
    }
    let partial = out.join(format!("{SDIST_NAME}.part"));
    let status = Command::new("curl")
        .args(["-fsSL", "--retry", "3", "-o"])
        .arg(&partial)
        .arg(SDIST_URL)
        .status()
        .unwrap_or_else(|e| {
            panic!("mallard-icu: running curl to download DuckDB's ICU sources failed ({e}); install curl or set MALLARD_DUCKDB_SDIST to a copy of {SDIST_URL}")
        });
    assert!(
        status.success(),
        "mallard-icu: downloading {SDIST_URL} failed ({status}); set MALLARD_DUCKDB_SDIST to a local copy"
    );
    verify(&partial);
    fs::rename(&partial, &path).expect("rename the downloaded source distribution");
    path
}

fn verify(path: &Path) {
    let got = sha256(path);
    assert_eq!(
        got,
        SDIST_SHA256,
        "mallard-icu: {} is not DuckDB 1.5.5's source distribution (SHA-256 {got})",
        path.display()
    );
}

fn sha256(path: &Path) -> String {
    let mut file = fs::File::open(path).unwrap_or_else(|e| panic!("open {}: {e}", path.display()));
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 1 << 16];
    loop {
        let n = file.read(&mut buf).expect("read the source distribution");
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
    }
    hasher.finalize().iter().map(|b| format!("{b:02x}")).collect()
}

/// Unpacks the extension's folder (and nothing else) into OUT_DIR/icu, once.
fn extract(sdist: &Path, out: &Path) -> PathBuf {
    let dest = out.join("icu");
    let done = dest.join(".extracted");
    if done.exists() {
        return dest;
    }
    let _ = fs::remove_dir_all(&dest);
    let file = fs::File::open(sdist).expect("open the source distribution");
    let mut archive = tar::Archive::new(flate2::read::GzDecoder::new(file));
    archive.set_preserve_mtime(false);
    for entry in archive.entries().expect("read the source distribution") {
        let mut entry = entry.expect("read an archive entry");
        let path = entry.path().expect("archive entry path").into_owned();
        let Ok(rest) = path.strip_prefix(EXTENSION_DIR) else {
            continue;
        };
        if rest.as_os_str().is_empty() {
            continue;
        }
        let target = dest.join(rest);
        if let Some(parent) = target.parent() {
            fs::create_dir_all(parent).expect("create a source folder");
        }
        entry.unpack(&target).expect("unpack a source file");
    }
    assert!(
        dest.join("icu_extension.cpp").exists(),
        "mallard-icu: {EXTENSION_DIR} is missing from {}",
        sdist.display()
    );
    fs::write(&done, b"").expect("mark the sources extracted");
    dest
}

/// DuckDB's bundled third-party include folders (fmt, utf8proc, ...), as libduckdb-sys's
/// manifest lists them, relative to the folder above `src/include`.
fn third_party_includes(duckdb_include: &Path) -> Vec<PathBuf> {
    let root =
        duckdb_include.parent().and_then(Path::parent).expect("DEP_DUCKDB_INCLUDE is <root>/src/include");
    let manifest = fs::read_to_string(root.join("manifest.json"))
        .unwrap_or_else(|e| panic!("read libduckdb-sys's manifest.json in {}: {e}", root.display()));
    let manifest: serde_json::Value = serde_json::from_str(&manifest).expect("libduckdb-sys's manifest.json");
    manifest["base"]["include_dirs"]
        .as_array()
        .expect("manifest.json lists base.include_dirs")
        .iter()
        .filter_map(serde_json::Value::as_str)
        .map(|dir| root.join(dir))
        .collect()
}

/// The `.cpp` files directly in `dir`, sorted so the build is the same on every machine.
fn cpp_files(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("read {}: {e}", dir.display()))
        .map(|entry| entry.expect("read a source folder entry").path())
        .filter(|path| path.extension().is_some_and(|ext| ext == "cpp"))
        .collect();
    files.sort();
    files
}
