//! TLS settings and the server's rustls configuration. A worker loads the certificate
//! chain and key from their PEM files when it starts, so a reload (a new generation of
//! workers) picks up new files; `mallard check` loads them the same way to refuse a
//! configuration whose files would not work.

mod x509;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::ServerConfig;
use serde::{Deserialize, Serialize};

pub use x509::Summary;

/// The ALPN protocol name of PostgreSQL; a direct-SSL client must offer it.
pub const ALPN_POSTGRESQL: &[u8] = b"postgresql";

/// `tls.ssl`: whether clients may, or must, use TLS.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SslMode {
    /// `SSLRequest` is answered `N`; a direct-SSL client is closed.
    #[default]
    Off,
    /// TLS when the client asks for it.
    Allow,
    /// TCP clients must use TLS; a plaintext startup gets FATAL 28000. Unix-socket
    /// clients are exempt, as PostgreSQL never uses TLS on a unix socket.
    Require,
}

impl SslMode {
    pub fn as_str(self) -> &'static str {
        match self {
            SslMode::Off => "off",
            SslMode::Allow => "allow",
            SslMode::Require => "require",
        }
    }
}

/// The `[tls]` section as a worker gets it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TlsSettings {
    #[serde(default)]
    pub ssl: SslMode,
    /// PEM file: the server certificate first, then any intermediates.
    pub cert: Option<PathBuf>,
    /// PEM file: the private key (PKCS#8, PKCS#1 or SEC1).
    pub key: Option<PathBuf>,
}

/// Why the TLS configuration could not be loaded. Messages name the file, never its
/// contents.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    #[error("tls.ssl = \"{}\" needs tls.{file} (a PEM file)", .ssl.as_str())]
    Missing { ssl: SslMode, file: &'static str },
    #[error("could not read the certificate file {path}")]
    Cert {
        path: String,
        #[source]
        source: rustls::pki_types::pem::Error,
    },
    #[error("the certificate file {path} holds no certificate")]
    NoCert { path: String },
    #[error("could not read a private key from {path}")]
    Key {
        path: String,
        #[source]
        source: rustls::pki_types::pem::Error,
    },
    #[error("the certificate {cert} and the key {key} cannot be used together")]
    Rejected {
        cert: String,
        key: String,
        #[source]
        source: rustls::Error,
    },
}

/// A loaded server configuration and what to log about it.
pub struct Loaded {
    pub config: Arc<ServerConfig>,
    pub cert_file: PathBuf,
    /// The leaf certificate's subject and expiry, when it could be read.
    pub summary: Option<Summary>,
}

/// Loads the certificate chain and key that `settings` names; `None` when TLS is off.
pub fn load(settings: &TlsSettings) -> Result<Option<Loaded>, TlsError> {
    if settings.ssl == SslMode::Off {
        return Ok(None);
    }
    let missing = |file| TlsError::Missing { ssl: settings.ssl, file };
    let cert_file = settings.cert.as_deref().ok_or_else(|| missing("cert"))?;
    let key_file = settings.key.as_deref().ok_or_else(|| missing("key"))?;
    let chain = read_chain(cert_file)?;
    let key = PrivateKeyDer::from_pem_file(key_file)
        .map_err(|source| TlsError::Key { path: key_file.display().to_string(), source })?;
    let summary = x509::summarize(&chain[0]);
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let rejected = |source| TlsError::Rejected {
        cert: cert_file.display().to_string(),
        key: key_file.display().to_string(),
        source,
    };
    let mut config = ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(rejected)?
        .with_no_client_auth()
        .with_single_cert(chain, key)
        .map_err(rejected)?;
    // PostgreSQL 17 clients offer ALPN "postgresql"; one that offers only other
    // protocols is refused during the handshake (no_application_protocol).
    config.alpn_protocols = vec![ALPN_POSTGRESQL.to_vec()];
    Ok(Some(Loaded { config: Arc::new(config), cert_file: cert_file.to_path_buf(), summary }))
}

fn read_chain(path: &Path) -> Result<Vec<CertificateDer<'static>>, TlsError> {
    let failed = |source| TlsError::Cert { path: path.display().to_string(), source };
    let chain = CertificateDer::pem_file_iter(path)
        .map_err(failed)?
        .collect::<Result<Vec<_>, _>>()
        .map_err(failed)?;
    if chain.is_empty() {
        return Err(TlsError::NoCert { path: path.display().to_string() });
    }
    Ok(chain)
}
