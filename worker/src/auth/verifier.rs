//! SCRAM-SHA-256 verifiers in PostgreSQL's format,
//! `SCRAM-SHA-256$<iterations>:<salt>$<StoredKey>:<ServerKey>` (RFC 5802 section 3),
//! so that a verifier moves between `pg_authid.rolpassword` and mallard's users file
//! unchanged.
//!
//! A verifier is as good as a password hash to an attacker, so nothing here prints one:
//! errors name what is wrong, never the text, and `Debug` is opaque.

use std::borrow::Cow;
use std::fmt;

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use hmac::{Hmac, Mac};
use rand::RngCore;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

/// The prefix of every verifier, and the SASL mechanism's name.
pub const SCHEME: &str = "SCRAM-SHA-256";
/// PostgreSQL's default (`scram_iterations`).
pub const DEFAULT_ITERATIONS: u32 = 4096;
/// PostgreSQL's salt length.
pub const SALT_LEN: usize = 16;
/// SHA-256 output: the length of every key.
pub const KEY_LEN: usize = 32;

type HmacSha256 = Hmac<Sha256>;

/// What is wrong with a verifier's text. Never carries the text itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum VerifierError {
    #[error("not a SCRAM-SHA-256 verifier (it must start with `SCRAM-SHA-256$`)")]
    Scheme,
    #[error(
        "a SCRAM-SHA-256 verifier has the form `SCRAM-SHA-256$<iterations>:<salt>$<StoredKey>:<ServerKey>`"
    )]
    Shape,
    #[error("the iteration count is not a positive integer")]
    Iterations,
    #[error("the salt is not non-empty base64")]
    Salt,
    #[error("StoredKey is not 32 bytes of base64")]
    StoredKey,
    #[error("ServerKey is not 32 bytes of base64")]
    ServerKey,
}

/// A user's SCRAM-SHA-256 secret: what the server keeps instead of the password.
#[derive(Clone)]
pub struct Verifier {
    iterations: u32,
    salt: Vec<u8>,
    stored_key: [u8; KEY_LEN],
    server_key: [u8; KEY_LEN],
}

impl fmt::Debug for Verifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Verifier { .. }")
    }
}

impl Verifier {
    /// Reads PostgreSQL's text form.
    pub fn parse(text: &str) -> Result<Verifier, VerifierError> {
        let rest =
            text.strip_prefix(SCHEME).and_then(|r| r.strip_prefix('$')).ok_or(VerifierError::Scheme)?;
        let (params, keys) = rest.split_once('$').ok_or(VerifierError::Shape)?;
        let (iterations, salt) = params.split_once(':').ok_or(VerifierError::Shape)?;
        let (stored_key, server_key) = keys.split_once(':').ok_or(VerifierError::Shape)?;
        // PostgreSQL keeps the count in an int.
        let iterations = iterations
            .parse::<u32>()
            .ok()
            .filter(|&n| n > 0 && n <= i32::MAX as u32 && !iterations.starts_with('+'))
            .ok_or(VerifierError::Iterations)?;
        let salt = B64.decode(salt).ok().filter(|s| !s.is_empty()).ok_or(VerifierError::Salt)?;
        let key = |text: &str, err| {
            B64.decode(text).ok().and_then(|k| <[u8; KEY_LEN]>::try_from(k).ok()).ok_or(err)
        };
        Ok(Verifier {
            iterations,
            salt,
            stored_key: key(stored_key, VerifierError::StoredKey)?,
            server_key: key(server_key, VerifierError::ServerKey)?,
        })
    }

    /// The verifier of `password` with this salt and iteration count.
    pub fn derive(password: &str, salt: &[u8], iterations: u32) -> Verifier {
        let salted = salted_password(password, salt, iterations);
        let client_key = hmac(&salted, b"Client Key");
        Verifier {
            iterations,
            salt: salt.to_vec(),
            stored_key: Sha256::digest(client_key).into(),
            server_key: hmac(&salted, b"Server Key"),
        }
    }

    /// A new verifier for `password`: a random 16-byte salt and 4096 iterations, as
    /// PostgreSQL makes them.
    pub fn generate(password: &str) -> Verifier {
        let mut salt = [0u8; SALT_LEN];
        rand::thread_rng().fill_bytes(&mut salt);
        Verifier::derive(password, &salt, DEFAULT_ITERATIONS)
    }

    /// A stand-in for a user who does not exist, so that an exchange for them looks and
    /// costs the same as for a real one. The salt depends only on the user name and
    /// `secret` (random per worker): asking twice for the same name gives the same salt,
    /// as it would for a real user, and nothing tells it apart from a real salt.
    pub fn mock(user: &str, secret: &[u8]) -> Verifier {
        let mut mac = <HmacSha256 as Mac>::new_from_slice(secret).expect("HMAC takes any key length");
        mac.update(b"mock salt\0");
        mac.update(user.as_bytes());
        let salt = mac.finalize().into_bytes()[..SALT_LEN].to_vec();
        let mut keys = [[0u8; KEY_LEN]; 2];
        for (label, key) in [b"mock stored key\0", b"mock server key\0"].iter().zip(keys.iter_mut()) {
            let mut mac = <HmacSha256 as Mac>::new_from_slice(secret).expect("HMAC takes any key length");
            mac.update(*label);
            mac.update(user.as_bytes());
            *key = mac.finalize().into_bytes().into();
        }
        Verifier { iterations: DEFAULT_ITERATIONS, salt, stored_key: keys[0], server_key: keys[1] }
    }

    /// PostgreSQL's text form. Only `mallard passwd` prints it.
    pub fn to_text(&self) -> String {
        format!(
            "{SCHEME}${}:{}${}:{}",
            self.iterations,
            B64.encode(&self.salt),
            B64.encode(self.stored_key),
            B64.encode(self.server_key)
        )
    }

    /// Whether `password` is the one this verifier was made from (the `password`
    /// method). Costs the verifier's iterations whatever the answer; the final
    /// comparison is constant-time.
    pub fn check_password(&self, password: &str) -> bool {
        let candidate = Verifier::derive(password, &self.salt, self.iterations);
        self.stored_key.ct_eq(&candidate.stored_key).into()
    }

    pub fn iterations(&self) -> u32 {
        self.iterations
    }

    pub fn salt(&self) -> &[u8] {
        &self.salt
    }

    pub(crate) fn stored_key(&self) -> &[u8; KEY_LEN] {
        &self.stored_key
    }

    pub(crate) fn server_key(&self) -> &[u8; KEY_LEN] {
        &self.server_key
    }
}

/// `Hi(Normalize(password), salt, i)`: PBKDF2 with HMAC-SHA-256.
fn salted_password(password: &str, salt: &[u8], iterations: u32) -> [u8; KEY_LEN] {
    let mut out = [0u8; KEY_LEN];
    pbkdf2::pbkdf2_hmac::<Sha256>(&prepare(password), salt, iterations, &mut out);
    out
}

/// The bytes a password is hashed as: SASLprep'ed (RFC 4013) when that succeeds, the raw
/// bytes when it does not, as PostgreSQL and libpq do. Both sides must agree, or a
/// password with, say, a non-breaking space would never match.
fn prepare(password: &str) -> Cow<'_, [u8]> {
    match stringprep::saslprep(password) {
        Ok(Cow::Borrowed(p)) => Cow::Borrowed(p.as_bytes()),
        Ok(Cow::Owned(p)) => Cow::Owned(p.into_bytes()),
        Err(_) => Cow::Borrowed(password.as_bytes()),
    }
}

pub(crate) fn hmac(key: &[u8], data: &[u8]) -> [u8; KEY_LEN] {
    let mut mac = <HmacSha256 as Mac>::new_from_slice(key).expect("HMAC takes any key length");
    mac.update(data);
    mac.finalize().into_bytes().into()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 7677's example: user "user", password "pencil", 4096 iterations.
    const RFC7677_SALT: &str = "W22ZaJ0SNY7soEsUEjb6gQ==";

    #[test]
    fn derives_the_rfc_7677_keys() {
        let salt = B64.decode(RFC7677_SALT).unwrap();
        let v = Verifier::derive("pencil", &salt, 4096);
        // ServerSignature in the RFC is HMAC(ServerKey, AuthMessage); check the keys
        // through a round trip of the whole exchange in scram.rs, and the text form here.
        let text = v.to_text();
        assert!(text.starts_with("SCRAM-SHA-256$4096:W22ZaJ0SNY7soEsUEjb6gQ==$"), "{text}");
        let back = Verifier::parse(&text).unwrap();
        assert_eq!(back.to_text(), text);
        assert!(back.check_password("pencil"));
        assert!(!back.check_password("pencil "));
    }

    #[test]
    fn reads_a_verifier_postgresql_made() {
        // `CREATE ROLE x PASSWORD 'secret'` on PostgreSQL 15.
        let text = "SCRAM-SHA-256$4096:5svZAc+UBzDDh+2uh53VUw==$Lot7tKx0PUlujR8Kjq2wFUpkRKYljJ2MEsV4x6L7B1A=:TG6cQmKet6PBfKgvGlePQxvfzaT13pHbVDbW9liOTng=";
        let v = Verifier::parse(text).unwrap();
        assert_eq!(v.iterations(), 4096);
        assert!(v.check_password("secret"));
        assert!(!v.check_password("Secret"));
        assert_eq!(Verifier::derive("secret", v.salt(), 4096).to_text(), text);
    }

    #[test]
    fn malformed_verifiers_are_refused_without_echo() {
        let good = Verifier::generate("pw").to_text();
        let (head, keys) = good.rsplit_once('$').unwrap();
        let cases = [
            ("md5abcdef".to_owned(), VerifierError::Scheme),
            ("SCRAM-SHA-256$4096".to_owned(), VerifierError::Shape),
            (good.replace("$4096:", "$0:"), VerifierError::Iterations),
            (good.replace("$4096:", "$-1:"), VerifierError::Iterations),
            (good.replace("$4096:", "$lots:"), VerifierError::Iterations),
            (format!("SCRAM-SHA-256$4096:!!$x:{}", keys.split_once(':').unwrap().1), VerifierError::Salt),
            (format!("{head}$AAAA:{}", keys.split_once(':').unwrap().1), VerifierError::StoredKey),
            (format!("{head}${}:AAAA", keys.split_once(':').unwrap().0), VerifierError::ServerKey),
        ];
        for (text, want) in cases {
            let err = Verifier::parse(&text).unwrap_err();
            assert_eq!(err, want, "{text}");
            for part in text.split(['$', ':']).filter(|p| p.len() > 3 && *p != SCHEME) {
                assert!(!err.to_string().contains(part), "{err} echoes {part}");
            }
        }
        assert!(!format!("{:?}", Verifier::parse(&good).unwrap()).contains("SCRAM"));
    }

    #[test]
    fn mock_verifiers_are_stable_per_name_and_secret() {
        let a = Verifier::mock("ghost", b"secret-1");
        assert_eq!(a.to_text(), Verifier::mock("ghost", b"secret-1").to_text());
        assert_ne!(a.salt(), Verifier::mock("ghost2", b"secret-1").salt());
        assert_ne!(a.salt(), Verifier::mock("ghost", b"secret-2").salt());
        assert_eq!((a.salt().len(), a.iterations()), (SALT_LEN, DEFAULT_ITERATIONS));
    }

    #[test]
    fn passwords_are_saslprepped_like_libpq() {
        // U+00A0 (no-break space) maps to a plain space under SASLprep.
        let salt = [7u8; 16];
        assert_eq!(
            Verifier::derive("a\u{a0}b", &salt, 16).to_text(),
            Verifier::derive("a b", &salt, 16).to_text()
        );
        // A prohibited character: the raw bytes are used, and still match themselves.
        assert!(Verifier::derive("a\u{7}b", &salt, 16).check_password("a\u{7}b"));
    }
}
