//! `storage = "ducklake"`: every worker, on every host, attaches one DuckLake: its
//! catalog in PostgreSQL, its data files under `data_path`.
//!
//! DuckLake commits optimistically: a commit writes snapshot `n + 1` of the snapshot it
//! started from, the catalog's primary key refuses it when another commit took that
//! number, and DuckLake then checks for conflicts and tries again. That loop gives up
//! under concurrent writers (eight clients inserting rows that never conflict exhaust
//! its ten tries within seconds), so mallard does not lean on it: every commit that
//! wrote to the lake holds the lake's [`CommitLock`] (a worker-local mutex, then one
//! PostgreSQL advisory lock for all workers of all hosts), and DuckLake's retry loop,
//! run under it, never races. A retry then finds the commits made since the transaction
//! began, and a real conflict ends the commit with DuckLake's "Transaction conflict"
//! (SQLSTATE 40001), which every further attempt would repeat.

use std::str::FromStr;
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use serde::{Deserialize, Serialize};
use tracing::{info, warn};

use crate::duck::{exec, quote_ident, quote_literal, Connection, DuckError};

/// `[ducklake]`: where the lake is, and the DuckLake options users tune.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LakeSettings {
    /// `postgres:` and a libpq connection string (`host=db1 dbname=lake user=mallard`)
    /// or URI: the catalog. It may hold a password: never logged.
    pub catalog: String,
    /// The data files: a directory every host reaches, or `s3://bucket/prefix/`.
    pub data_path: String,
    /// The PostgreSQL schema of the catalog's tables (DuckLake's `METADATA_SCHEMA`).
    #[serde(default)]
    pub metadata_schema: Option<String>,
    /// Inserts of at most this many rows stay in the catalog instead of a new Parquet
    /// file (DuckLake's `DATA_INLINING_ROW_LIMIT`; its default is 10).
    #[serde(default)]
    pub data_inlining_row_limit: Option<u64>,
    /// DuckLake's attempts at one commit (`ducklake_max_retry_count`). Under the commit
    /// lock two always suffice: the first finds that others committed since the
    /// transaction began, the second checks for conflicts with them.
    #[serde(default = "default_commit_attempts")]
    pub commit_attempts: u32,
    /// How long a commit waits for the commit lock before it fails (55P03), in
    /// seconds.
    #[serde(default = "default_commit_lock_timeout")]
    pub commit_lock_timeout: u32,
    /// Off leaves commits to DuckLake's own retry loop: only for measuring what the lock
    /// costs and protects (`benches/`, `tests/ducklake.rs`).
    #[serde(default = "default_commit_lock")]
    pub commit_lock: bool,
    /// `[ducklake.s3]`: how an `s3://` data path is reached.
    #[serde(default)]
    pub s3: Option<S3Settings>,
}

/// `[ducklake.s3]`: the object store of an `s3://` data path. What is not set comes
/// from the environment AWS tools read (`AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`,
/// `AWS_SESSION_TOKEN`, `AWS_REGION`), then DuckDB's defaults (AWS itself). The secret
/// is never logged.
#[derive(Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct S3Settings {
    /// `host:port` of an S3-compatible server (MinIO, Ceph, ...); unset is AWS.
    pub endpoint: Option<String>,
    pub region: Option<String>,
    /// `path` (most S3-compatible servers) or `vhost` (AWS).
    pub url_style: Option<String>,
    /// HTTPS to the endpoint (default true).
    pub use_ssl: Option<bool>,
    pub key_id: Option<String>,
    pub secret: Option<String>,
    pub session_token: Option<String>,
}

impl std::fmt::Debug for S3Settings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("S3Settings")
            .field("endpoint", &self.endpoint)
            .field("region", &self.region)
            .field("url_style", &self.url_style)
            .field("use_ssl", &self.use_ssl)
            .field("key_id", &self.key_id)
            .field("secret", &self.secret.as_ref().map(|_| "***"))
            .field("session_token", &self.session_token.as_ref().map(|_| "***"))
            .finish()
    }
}

impl S3Settings {
    /// DuckDB's `CREATE SECRET` for the lake's bucket, the environment filling what the
    /// configuration leaves out, and the values never to show (the statement is never
    /// logged).
    fn create_secret(&self, scope: &str) -> (String, Vec<String>) {
        let env = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
        let mut options = vec!["TYPE s3".to_owned(), format!("SCOPE {}", quote_literal(scope))];
        let mut add = |key: &str, value: Option<String>| {
            if let Some(v) = value {
                options.push(format!("{key} {}", quote_literal(&v)));
            }
        };
        let secret = self.secret.clone().or_else(|| env("AWS_SECRET_ACCESS_KEY"));
        let token = self.session_token.clone().or_else(|| env("AWS_SESSION_TOKEN"));
        let hidden: Vec<String> = secret.iter().chain(&token).cloned().collect();
        add("KEY_ID", self.key_id.clone().or_else(|| env("AWS_ACCESS_KEY_ID")));
        add("SECRET", secret);
        add("SESSION_TOKEN", token);
        add(
            "REGION",
            self.region.clone().or_else(|| env("AWS_REGION")).or_else(|| env("AWS_DEFAULT_REGION")),
        );
        add("ENDPOINT", self.endpoint.clone());
        add("URL_STYLE", self.url_style.clone());
        if let Some(ssl) = self.use_ssl {
            options.push(format!("USE_SSL {ssl}"));
        }
        (format!("CREATE OR REPLACE SECRET mallard_lake ({})", options.join(", ")), hidden)
    }
}
fn default_commit_lock() -> bool {
    true
}

fn default_commit_attempts() -> u32 {
    3
}

fn default_commit_lock_timeout() -> u32 {
    60
}

/// The catalog kinds DuckLake knows, and why mallard takes only PostgreSQL.
const SINGLE_WRITER_CATALOGS: &[(&str, &str)] =
    &[("sqlite:", "a SQLite catalog"), ("duckdb:", "a DuckDB-file catalog")];

impl LakeSettings {
    /// A lake with the default options.
    pub fn new(catalog: &str, data_path: &str) -> LakeSettings {
        LakeSettings {
            catalog: catalog.into(),
            data_path: data_path.into(),
            metadata_schema: None,
            data_inlining_row_limit: None,
            commit_attempts: default_commit_attempts(),
            commit_lock_timeout: default_commit_lock_timeout(),
            commit_lock: default_commit_lock(),
            s3: None,
        }
    }

    /// Refuses what cannot serve a pool of writers, with the reason.
    pub fn validate(&self) -> Result<(), String> {
        let catalog = self.catalog.trim();
        if let Some((_, what)) = SINGLE_WRITER_CATALOGS.iter().find(|(prefix, _)| catalog.starts_with(prefix))
        {
            return Err(format!(
                "[ducklake] catalog: {what} takes one writer at a time, and every worker of every host \
                 writes; use a PostgreSQL catalog (catalog = \"postgres:host=... dbname=... user=...\")"
            ));
        }
        let Some(conninfo) = catalog.strip_prefix("postgres:") else {
            return Err("[ducklake] catalog must be `postgres:` followed by a libpq connection string, \
                        e.g. \"postgres:host=db1 dbname=lake user=mallard\" (SQLite and DuckDB-file \
                        catalogs take one writer)"
                .into());
        };
        lock_connection_config(conninfo).map_err(|e| format!("[ducklake] catalog: {e}"))?;
        if self.data_path.trim().is_empty() {
            return Err("[ducklake] data_path must name the lake's data directory or s3:// prefix".into());
        }
        if self.commit_attempts < 2 {
            return Err("[ducklake] commit_attempts must be at least 2".into());
        }
        if let Some(style) = self.s3.as_ref().and_then(|s| s.url_style.as_deref()) {
            if style != "path" && style != "vhost" {
                return Err(format!("[ducklake.s3] url_style must be \"path\" or \"vhost\", not {style:?}"));
            }
        }
        Ok(())
    }

    /// The catalog's connection string, without `postgres:`.
    fn conninfo(&self) -> &str {
        self.catalog.trim().strip_prefix("postgres:").unwrap_or(&self.catalog)
    }

    /// Whether the data files are on a local (or mounted) file system.
    pub fn local_data_path(&self) -> Option<&str> {
        (!self.data_path.contains("://")).then_some(self.data_path.as_str())
    }

    /// Whether the data files are in an S3 bucket (read through `httpfs`).
    pub fn in_s3(&self) -> bool {
        self.data_path.starts_with("s3://")
    }
}

/// Why the lake could not be attached, or a commit could not take its lock.
#[derive(Debug, thiserror::Error)]
pub enum LakeError {
    #[error("could not connect to the lake's catalog for the commit lock: {0}")]
    Connect(String),
    #[error("could not take the lake's commit lock: {0}")]
    Lock(String),
    #[error("the lake's commit lock was not free within {0} s")]
    LockTimeout(u32),
}

impl LakeError {
    /// The SQLSTATE a client sees.
    pub fn sqlstate(&self) -> mallard_protocol::pg::SqlState {
        use mallard_protocol::pg::SqlState;
        match self {
            LakeError::Connect(_) | LakeError::Lock(_) => SqlState::CONNECTION_FAILURE,
            LakeError::LockTimeout(_) => SqlState::LOCK_NOT_AVAILABLE,
        }
    }
}

/// Attaches the lake under the configured database name, its first attach (which
/// creates the catalog's tables) under the commit lock.
pub(super) fn attach(
    conn: &Connection,
    database: &str,
    lake: &LakeSettings,
    lock: &CommitLock,
) -> Result<(), super::StorageError> {
    if let Some(dir) = lake.local_data_path() {
        std::fs::create_dir_all(dir)
            .map_err(|source| super::StorageError::DataDir { path: dir.to_owned(), source })?;
    }
    if lake.in_s3() {
        let (statement, hidden) = lake.s3.clone().unwrap_or_default().create_secret(&lake.data_path);
        exec(conn, &statement).map_err(|mut e| {
            for value in &hidden {
                e.message = e.message.replace(value.as_str(), "***");
            }
            e.message = format!("could not create the S3 secret: {}", e.message);
            super::StorageError::Database(e)
        })?;
    }
    let mut options = vec![format!("DATA_PATH {}", quote_literal(&lake.data_path))];
    if let Some(schema) = &lake.metadata_schema {
        options.push(format!("METADATA_SCHEMA {}", quote_literal(schema)));
    }
    if let Some(rows) = lake.data_inlining_row_limit {
        options.push(format!("DATA_INLINING_ROW_LIMIT {rows}"));
    }
    let sql = format!(
        "ATTACH {} AS {} ({})",
        quote_literal(&format!("ducklake:postgres:{}", lake.conninfo())),
        quote_ident(database),
        options.join(", ")
    );
    {
        // Two workers creating a new lake's catalog tables at once would collide.
        let _token = lock.acquire().map_err(super::StorageError::Lake)?;
        exec(conn, &sql).map_err(|e| super::StorageError::Database(redacted(e)))?;
    }
    // Retries run under the commit lock, where waiting for others is pointless. Without
    // it (a measurement), DuckLake keeps its own retry settings.
    if lake.commit_lock {
        exec(conn, &format!("SET GLOBAL ducklake_max_retry_count = {}", lake.commit_attempts))
            .and_then(|()| exec(conn, "SET GLOBAL ducklake_retry_wait_ms = 0"))
            .map_err(super::StorageError::Database)?;
    }
    info!(data_path = %lake.data_path, "lake attached");
    Ok(())
}

/// A DuckDB error that may quote the catalog's connection string, without its password.
fn redacted(mut e: DuckError) -> DuckError {
    e.message = redact_password(&e.message);
    e
}

/// `password=secret` and `postgresql://user:secret@host` with the secret hidden.
pub fn redact_password(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.to_ascii_lowercase().find("password=") {
        let (head, tail) = rest.split_at(at + "password=".len());
        out.push_str(head);
        out.push_str("***");
        let end = if let Some(quoted) = tail.strip_prefix('\'') {
            quoted.find('\'').map_or(tail.len(), |i| i + 2)
        } else {
            tail.find(|c: char| c.is_whitespace() || c == '"' || c == '&').unwrap_or(tail.len())
        };
        rest = &tail[end..];
    }
    out.push_str(rest);
    // URIs: the part between `user:` and `@` after `://`.
    if let Some(scheme) = out.find("://") {
        let authority_start = scheme + 3;
        let authority_end = out[authority_start..].find('/').map_or(out.len(), |i| authority_start + i);
        if let Some(at) = out[authority_start..authority_end].rfind('@') {
            let userinfo = &out[authority_start..authority_start + at];
            if let Some(colon) = userinfo.find(':') {
                out.replace_range(authority_start + colon + 1..authority_start + at, "***");
            }
        }
    }
    out
}

/// The advisory lock key: "mallardL" in ASCII. Every lake in one PostgreSQL database
/// shares it, so two lakes there serialise their commits with each other (only a wait).
const LOCK_KEY: i64 = 0x6d61_6c6c_6172_644c;

/// One commit at a time to the lake, across the workers of every host: a mutex for the
/// sessions of this worker, then a PostgreSQL session advisory lock on the catalog's
/// database, taken on this worker's own connection. A worker that dies loses its
/// connection, and PostgreSQL releases the lock with it.
pub struct CommitLock {
    config: postgres::Config,
    /// TLS for the lock's connection, as the catalog string's `sslmode` asks.
    tls: Option<tokio_postgres_rustls::MakeRustlsConnect>,
    timeout: u32,
    /// Whether commits take it (`commit_lock`); attaching the lake always does.
    commits: bool,
    client: Mutex<Option<postgres::Client>>,
}

/// The lake's commit lock, held until dropped.
pub struct CommitToken<'a> {
    client: MutexGuard<'a, Option<postgres::Client>>,
}

impl CommitLock {
    pub fn new(settings: &LakeSettings) -> Result<CommitLock, LakeError> {
        let (mut config, tls) = lock_connection_config(settings.conninfo()).map_err(LakeError::Connect)?;
        config.application_name("mallard commit lock");
        if config.get_connect_timeout().is_none() {
            config.connect_timeout(Duration::from_secs(10));
        }
        Ok(CommitLock {
            config,
            tls,
            timeout: settings.commit_lock_timeout,
            commits: settings.commit_lock,
            client: Mutex::new(None),
        })
    }

    /// The lock for one commit: `None` when the configuration leaves commits to
    /// DuckLake alone.
    pub fn for_commit(&self) -> Result<Option<CommitToken<'_>>, LakeError> {
        self.commits.then(|| self.acquire()).transpose()
    }

    /// Waits for the lock (at most `commit_lock_timeout`). A connection that broke since
    /// the last commit is replaced once.
    pub fn acquire(&self) -> Result<CommitToken<'_>, LakeError> {
        let mut client = self.client.lock().unwrap_or_else(PoisonError::into_inner);
        let take = format!("SELECT pg_advisory_lock({LOCK_KEY})");
        for attempt in 0..2 {
            if client.is_none() {
                *client = Some(self.connect()?);
            }
            let conn = client.as_mut().expect("connected above");
            match conn.simple_query(&take) {
                Ok(_) => return Ok(CommitToken { client }),
                Err(e) if e.code() == Some(&postgres::error::SqlState::LOCK_NOT_AVAILABLE) => {
                    return Err(LakeError::LockTimeout(self.timeout))
                }
                Err(e) => {
                    *client = None;
                    if attempt == 1 || e.as_db_error().is_some() {
                        return Err(LakeError::Lock(e.to_string()));
                    }
                    warn!(error = %e, "the commit lock's connection broke; connecting again");
                }
            }
        }
        unreachable!("the second attempt returns")
    }

    fn connect(&self) -> Result<postgres::Client, LakeError> {
        let connected = match &self.tls {
            Some(tls) => self.config.connect(tls.clone()),
            None => self.config.connect(postgres::NoTls),
        };
        let mut client = connected.map_err(|e| LakeError::Connect(e.to_string()))?;
        client
            .batch_execute(&format!("SET lock_timeout = '{}s'", self.timeout))
            .map_err(|e| LakeError::Connect(e.to_string()))?;
        Ok(client)
    }
}

impl Drop for CommitToken<'_> {
    fn drop(&mut self) {
        let Some(conn) = self.client.as_mut() else { return };
        if let Err(e) = conn.simple_query(&format!("SELECT pg_advisory_unlock({LOCK_KEY})")) {
            // Closing the connection releases the lock.
            warn!(error = %e, "could not release the commit lock; closing its connection");
            *self.client = None;
        }
    }
}

/// The lock's connection settings: the catalog's connection string, with what it leaves
/// out taken from libpq's environment variables and defaults, as DuckDB's `postgres`
/// extension (libpq) takes them for the catalog itself; and its TLS, from `sslmode`
/// (libpq's default `prefer`, `PGSSLMODE`) and `sslrootcert`.
fn lock_connection_config(
    conninfo: &str,
) -> Result<(postgres::Config, Option<tokio_postgres_rustls::MakeRustlsConnect>), String> {
    let (conninfo, ssl) = tls::split(conninfo);
    let mut config = postgres::Config::from_str(&conninfo).map_err(|e| e.to_string())?;
    let env = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
    let mode = ssl.mode.clone().or_else(|| env("PGSSLMODE")).unwrap_or_else(|| "prefer".into());
    let root = ssl.root_cert.clone().or_else(|| env("PGSSLROOTCERT"));
    let connector = tls::connector(&mode, root.as_deref())?;
    config.ssl_mode(match mode.as_str() {
        "disable" => postgres::config::SslMode::Disable,
        "allow" | "prefer" => postgres::config::SslMode::Prefer,
        _ => postgres::config::SslMode::Require,
    });
    if config.get_hosts().is_empty() {
        match env("PGHOST") {
            Some(host) => config.host(&host),
            None => config.host_path("/var/run/postgresql"),
        };
    }
    if config.get_ports().is_empty() {
        if let Some(port) = env("PGPORT").and_then(|p| p.parse().ok()) {
            config.port(port);
        }
    }
    if config.get_user().is_none() {
        let user = env("PGUSER")
            .or_else(|| nix::unistd::User::from_uid(nix::unistd::geteuid()).ok().flatten().map(|u| u.name));
        if let Some(user) = user {
            config.user(&user);
        }
    }
    if config.get_dbname().is_none() {
        if let Some(db) = env("PGDATABASE").or_else(|| config.get_user().map(str::to_owned)) {
            config.dbname(&db);
        }
    }
    if config.get_password().is_none() {
        if let Some(password) = env("PGPASSWORD") {
            config.password(password);
        }
    }
    Ok((config, connector))
}

/// libpq's TLS options, which the `postgres` crate does not read, taken out of the
/// catalog string and applied with rustls.
mod tls {
    use std::sync::Arc;

    use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
    use rustls::pki_types::pem::PemObject;
    use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
    use rustls::{DigitallySignedStruct, SignatureScheme};
    use tokio_postgres_rustls::MakeRustlsConnect;

    /// The TLS keys of a connection string.
    #[derive(Debug, Default, PartialEq, Eq)]
    pub struct Ssl {
        pub mode: Option<String>,
        pub root_cert: Option<String>,
    }

    /// The string without its `ssl*` keys (key=value form or URI query), and their values.
    pub fn split(conninfo: &str) -> (String, Ssl) {
        let mut ssl = Ssl::default();
        let mut take = |key: &str, value: String| match key {
            "sslmode" => ssl.mode = Some(value),
            "sslrootcert" => ssl.root_cert = Some(value),
            _ => {}
        };
        let trimmed = conninfo.trim();
        if trimmed.starts_with("postgres://") || trimmed.starts_with("postgresql://") {
            let Some((base, query)) = trimmed.split_once('?') else { return (trimmed.to_owned(), ssl) };
            let mut kept = Vec::new();
            for pair in query.split('&') {
                match pair.split_once('=') {
                    Some((k, v)) if k.starts_with("ssl") => take(k, v.to_owned()),
                    _ => kept.push(pair),
                }
            }
            let query = if kept.is_empty() { String::new() } else { format!("?{}", kept.join("&")) };
            return (format!("{base}{query}"), ssl);
        }
        let mut kept = Vec::new();
        let mut rest = trimmed;
        while let Some(eq) = rest.find('=') {
            let key = rest[..eq].trim();
            let after = rest[eq + 1..].trim_start();
            // A value is a word, or quoted with '' and backslash escapes.
            let (value, len) = match after.strip_prefix('\'') {
                Some(quoted) => {
                    let mut value = String::new();
                    let mut len = after.len();
                    let mut chars = quoted.char_indices();
                    while let Some((i, c)) = chars.next() {
                        match c {
                            '\\' => value.extend(chars.next().map(|(_, c)| c)),
                            '\'' => {
                                len = i + 2;
                                break;
                            }
                            c => value.push(c),
                        }
                    }
                    (value, len)
                }
                None => {
                    let len = after.find(char::is_whitespace).unwrap_or(after.len());
                    (after[..len].to_owned(), len)
                }
            };
            if key.starts_with("ssl") {
                take(key, value);
            } else {
                kept.push(format!("{key}={}", &after[..len]));
            }
            rest = after[len..].trim_start();
        }
        (kept.join(" "), ssl)
    }

    /// The connector for `sslmode`: none for `disable`; encryption without checking the
    /// server's certificate for `allow`, `prefer` and `require` (as libpq); the
    /// certificate checked against `sslrootcert` for `verify-ca` and `verify-full` (both
    /// check the host name here).
    pub fn connector(mode: &str, root_cert: Option<&str>) -> Result<Option<MakeRustlsConnect>, String> {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let builder = rustls::ClientConfig::builder_with_provider(Arc::clone(&provider))
            .with_safe_default_protocol_versions()
            .map_err(|e| e.to_string())?;
        let config = match mode {
            "disable" => return Ok(None),
            "allow" | "prefer" | "require" => builder
                .dangerous()
                .with_custom_certificate_verifier(Arc::new(Unverified(provider)))
                .with_no_client_auth(),
            "verify-ca" | "verify-full" => {
                let home = std::env::var("HOME").unwrap_or_default();
                let path = root_cert.map_or_else(|| format!("{home}/.postgresql/root.crt"), str::to_owned);
                let mut roots = rustls::RootCertStore::empty();
                let certs =
                    CertificateDer::pem_file_iter(&path).map_err(|e| format!("sslrootcert {path}: {e}"))?;
                for cert in certs {
                    let cert = cert.map_err(|e| format!("sslrootcert {path}: {e}"))?;
                    roots.add(cert).map_err(|e| format!("sslrootcert {path}: {e}"))?;
                }
                builder.with_root_certificates(roots).with_no_client_auth()
            }
            other => return Err(format!("invalid sslmode value: {other:?}")),
        };
        Ok(Some(MakeRustlsConnect::new(config)))
    }

    /// libpq's `sslmode=require`: the connection is encrypted, the certificate is not
    /// checked (its signature over the handshake still is).
    #[derive(Debug)]
    struct Unverified(Arc<rustls::crypto::CryptoProvider>);

    impl ServerCertVerifier for Unverified {
        fn verify_server_cert(
            &self,
            _: &CertificateDer<'_>,
            _: &[CertificateDer<'_>],
            _: &ServerName<'_>,
            _: &[u8],
            _: UnixTime,
        ) -> Result<ServerCertVerified, rustls::Error> {
            Ok(ServerCertVerified::assertion())
        }

        fn verify_tls12_signature(
            &self,
            message: &[u8],
            cert: &CertificateDer<'_>,
            dss: &DigitallySignedStruct,
        ) -> Result<HandshakeSignatureValid, rustls::Error> {
            rustls::crypto::verify_tls12_signature(
                message,
                cert,
                dss,
                &self.0.signature_verification_algorithms,
            )
        }

        fn verify_tls13_signature(
            &self,
            message: &[u8],
            cert: &CertificateDer<'_>,
            dss: &DigitallySignedStruct,
        ) -> Result<HandshakeSignatureValid, rustls::Error> {
            rustls::crypto::verify_tls13_signature(
                message,
                cert,
                dss,
                &self.0.signature_verification_algorithms,
            )
        }

        fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
            self.0.signature_verification_algorithms.supported_schemes()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(catalog: &str) -> LakeSettings {
        LakeSettings::new(catalog, "/srv/lake/")
    }

    #[test]
    fn only_postgres_catalogs_are_taken() {
        assert_eq!(settings("postgres:host=db1 dbname=lake user=mallard").validate(), Ok(()));
        assert_eq!(settings("postgres:postgresql://mallard@db1/lake").validate(), Ok(()));
        let sqlite = settings("sqlite:/srv/lake/catalog.sqlite").validate().unwrap_err();
        assert!(sqlite.contains("SQLite catalog takes one writer"), "{sqlite}");
        let duckdb = settings("duckdb:/srv/lake/catalog.ducklake").validate().unwrap_err();
        assert!(duckdb.contains("DuckDB-file catalog"), "{duckdb}");
        let bare = settings("/srv/lake/catalog.ducklake").validate().unwrap_err();
        assert!(bare.contains("must be `postgres:`"), "{bare}");
    }

    #[test]
    fn the_s3_secret_is_created_from_the_settings_and_never_printed() {
        let s3 = S3Settings {
            endpoint: Some("127.0.0.1:9000".into()),
            url_style: Some("path".into()),
            use_ssl: Some(false),
            key_id: Some("id".into()),
            secret: Some("it's secret".into()),
            ..S3Settings::default()
        };
        let (sql, hidden) = s3.create_secret("s3://bucket/lake/");
        assert!(
            sql.starts_with("CREATE OR REPLACE SECRET mallard_lake (TYPE s3, SCOPE 's3://bucket/lake/'"),
            "{sql}"
        );
        for part in [
            "KEY_ID 'id'",
            "SECRET 'it''s secret'",
            "ENDPOINT '127.0.0.1:9000'",
            "URL_STYLE 'path'",
            "USE_SSL false",
        ] {
            assert!(sql.contains(part), "{part} in {sql}");
        }
        assert_eq!(hidden, ["it's secret"]);
        assert!(!format!("{s3:?}").contains("it's secret"));
        let mut lake = settings("postgres:host=db1");
        lake.s3 = Some(S3Settings { url_style: Some("virtual".into()), ..S3Settings::default() });
        assert!(lake.validate().unwrap_err().contains("url_style"));
    }

    #[test]
    fn tls_keys_are_taken_out_of_the_catalog_string() {
        let (rest, ssl) =
            tls::split("host=db1 sslmode=verify-full sslrootcert='/etc/ca dir/root.crt' dbname=lake");
        assert_eq!(rest, "host=db1 dbname=lake");
        assert_eq!(ssl.mode.as_deref(), Some("verify-full"));
        assert_eq!(ssl.root_cert.as_deref(), Some("/etc/ca dir/root.crt"));
        let (rest, ssl) = tls::split("postgresql://m@db1/lake?sslmode=require&application_name=x");
        assert_eq!(rest, "postgresql://m@db1/lake?application_name=x");
        assert_eq!(ssl.mode.as_deref(), Some("require"));
        assert_eq!(tls::split("host=db1 password='a b'").0, "host=db1 password='a b'");
        assert!(settings("postgres:host=db1 sslmode=require").validate().is_ok());
        assert!(settings("postgres:host=db1 sslmode=sometimes").validate().unwrap_err().contains("sslmode"));
    }

    #[test]
    fn passwords_never_show() {
        assert_eq!(
            redact_password("Unable to connect: host=db1 password=s3cret dbname=lake"),
            "Unable to connect: host=db1 password=*** dbname=lake"
        );
        assert_eq!(redact_password("x password='a b' y"), "x password=*** y");
        assert_eq!(
            redact_password("postgresql://mallard:s3cret@db1:5432/lake"),
            "postgresql://mallard:***@db1:5432/lake"
        );
        assert_eq!(redact_password("postgresql://mallard@db1/lake"), "postgresql://mallard@db1/lake");
    }
}
