//! The server side of a SCRAM-SHA-256 exchange (RFC 5802, RFC 7677), without I/O: each
//! state consumes a client message and returns the next state and the server's answer.
//!
//! ```text
//! ExpectClientFirst --client-first--> ExpectClientFinal --client-final--> server-final
//! ```
//!
//! Channel binding (`SCRAM-SHA-256-PLUS`) is not offered, so a client that requires it
//! (`p=` flag) is refused; `n` and `y` are accepted. Errors carry PostgreSQL's messages
//! and never the client's data (the proof among it).

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use super::verifier::{hmac, Verifier, KEY_LEN};

/// The one mechanism offered.
pub const MECHANISM: &str = "SCRAM-SHA-256";

/// Why an exchange failed. Each maps to one error the client is sent.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ScramError {
    /// 08P01 "malformed SCRAM message", with what was wrong as the detail.
    #[error("malformed SCRAM message")]
    Malformed(String),
    /// 08P01: the nonce has characters RFC 5802 does not allow.
    #[error("non-printable characters in SCRAM nonce")]
    NonceCharacters,
    /// 08P01: client-final carries another nonce than the one the server sent.
    #[error("invalid SCRAM response")]
    NonceMismatch,
    /// 08P01: client-final's `c=` does not repeat client-first's GS2 header.
    #[error("unexpected SCRAM channel-binding attribute in client-final-message")]
    ChannelBinding,
    /// 0A000: an authorization identity (`a=`) was sent.
    #[error("client uses authorization identity, but it is not supported")]
    AuthorizationIdentity,
    /// 0A000: a mandatory extension (`m=`) was sent.
    #[error("client requires an unsupported SCRAM extension")]
    MandatoryExtension,
    /// 28P01: the proof is wrong, or the user does not exist.
    #[error("password authentication failed")]
    Failed,
}

impl ScramError {
    /// The detail line PostgreSQL sends with this error, if any.
    pub fn detail(&self) -> Option<&str> {
        match self {
            ScramError::Malformed(d) => Some(d),
            ScramError::NonceMismatch => Some("Nonce does not match."),
            _ => None,
        }
    }
}

fn malformed(detail: impl Into<String>) -> ScramError {
    ScramError::Malformed(detail.into())
}

/// The exchange before the client's first message.
pub struct ExpectClientFirst {
    verifier: Verifier,
    /// The user does not exist: run the exchange on a mock verifier and fail it.
    doomed: bool,
}

impl ExpectClientFirst {
    /// `doomed`: fail at the end whatever the proof (an unknown user's mock verifier).
    pub fn new(verifier: Verifier, doomed: bool) -> Self {
        ExpectClientFirst { verifier, doomed }
    }

    /// Takes client-first-message; returns the next state and server-first-message.
    /// `server_nonce` is the random part the server adds (printable, no commas).
    pub fn client_first(
        self,
        message: &[u8],
        server_nonce: &str,
    ) -> Result<(ExpectClientFinal, String), ScramError> {
        let text = std::str::from_utf8(message).map_err(|_| malformed("The message is not valid UTF-8."))?;
        if text.is_empty() {
            return Err(malformed("The message is empty."));
        }
        let bare_at = gs2_header_len(text)?;
        let (gs2_header, bare) = text.split_at(bare_at);
        if bare.starts_with("m=") {
            return Err(ScramError::MandatoryExtension);
        }
        let mut rest = bare;
        // The SCRAM user name is ignored, as in PostgreSQL: the startup packet's counts.
        attribute(&mut rest, 'n')?;
        let client_nonce = attribute(&mut rest, 'r')?;
        if client_nonce.is_empty() || !client_nonce.bytes().all(|b| (0x21..=0x7e).contains(&b) && b != b',') {
            return Err(ScramError::NonceCharacters);
        }
        // Optional extensions follow; they must at least look like attributes.
        while !rest.is_empty() {
            any_attribute(&mut rest)?;
        }
        let nonce = format!("{client_nonce}{server_nonce}");
        let server_first =
            format!("r={nonce},s={},i={}", B64.encode(self.verifier.salt()), self.verifier.iterations());
        let next = ExpectClientFinal {
            verifier: self.verifier,
            doomed: self.doomed,
            gs2_header: gs2_header.to_owned(),
            client_first_bare: bare.to_owned(),
            server_first: server_first.clone(),
            nonce,
        };
        Ok((next, server_first))
    }
}

/// Where client-first-message-bare starts: after `n,,`, `y,,` (or an error).
fn gs2_header_len(text: &str) -> Result<usize, ScramError> {
    let bytes = text.as_bytes();
    match bytes[0] {
        b'n' | b'y' => {}
        b'p' => {
            return Err(malformed(
                "The client selected SCRAM-SHA-256 without channel binding, but the SCRAM message includes \
                 channel binding data.",
            ))
        }
        other => return Err(malformed(format!("Unexpected channel-binding flag {}.", shown(other)))),
    }
    match bytes.get(1) {
        Some(b',') => {}
        other => return Err(malformed(format!("Comma expected, but found {}.", shown_opt(other.copied())))),
    }
    match bytes.get(2) {
        Some(b',') => Ok(3),
        Some(b'a') => Err(ScramError::AuthorizationIdentity),
        other => Err(malformed(format!(
            "Unexpected attribute {} in client-first-message.",
            shown_opt(other.copied())
        ))),
    }
}

/// The exchange after server-first-message was sent.
pub struct ExpectClientFinal {
    verifier: Verifier,
    doomed: bool,
    gs2_header: String,
    client_first_bare: String,
    server_first: String,
    /// Client nonce and server nonce together.
    nonce: String,
}

impl ExpectClientFinal {
    /// Takes client-final-message; returns server-final-message if the proof is right.
    pub fn client_final(self, message: &[u8]) -> Result<String, ScramError> {
        let text = std::str::from_utf8(message).map_err(|_| malformed("The message is not valid UTF-8."))?;
        let mut rest = text;
        let binding = attribute(&mut rest, 'c')?;
        let nonce = attribute(&mut rest, 'r')?;
        // Extensions may come before the proof, which is last.
        let (without_proof, proof) = loop {
            let before = text.len() - rest.len();
            let (name, value) = any_attribute(&mut rest)?;
            if name == 'p' {
                // `before` is just past the comma that ends the previous attribute.
                break (&text[..before - 1], value);
            }
        };
        let proof = B64
            .decode(proof)
            .ok()
            .and_then(|p| <[u8; KEY_LEN]>::try_from(p).ok())
            .ok_or_else(|| malformed("Malformed proof in client-final-message."))?;
        if !rest.is_empty() {
            return Err(malformed("Garbage found at the end of client-final-message."));
        }
        if binding != B64.encode(&self.gs2_header) {
            return Err(ScramError::ChannelBinding);
        }
        if nonce != self.nonce {
            return Err(ScramError::NonceMismatch);
        }

        let auth_message = format!("{},{},{}", self.client_first_bare, self.server_first, without_proof);
        let client_signature = hmac(self.verifier.stored_key(), auth_message.as_bytes());
        let mut client_key = proof;
        for (k, s) in client_key.iter_mut().zip(client_signature) {
            *k ^= s;
        }
        let stored: [u8; KEY_LEN] = Sha256::digest(client_key).into();
        let proof_ok =
            stored.ct_eq(self.verifier.stored_key()) & !subtle::Choice::from(u8::from(self.doomed));
        if !bool::from(proof_ok) {
            return Err(ScramError::Failed);
        }
        let server_signature = hmac(self.verifier.server_key(), auth_message.as_bytes());
        Ok(format!("v={}", B64.encode(server_signature)))
    }
}

/// Reads `<name>=<value>` and the comma after it, if any.
fn attribute<'a>(rest: &mut &'a str, name: char) -> Result<&'a str, ScramError> {
    match rest.chars().next() {
        None => return Err(malformed(format!("Expected attribute \"{name}\" but found end of string."))),
        Some(c) if c != name => {
            return Err(malformed(format!("Expected attribute \"{name}\" but found {}.", shown_char(c))))
        }
        Some(_) => {}
    }
    if rest.as_bytes().get(1) != Some(&b'=') {
        return Err(malformed(format!("Expected character \"=\" for attribute \"{name}\".")));
    }
    Ok(take_value(rest, 2))
}

/// Reads any `<letter>=<value>` attribute.
fn any_attribute<'a>(rest: &mut &'a str) -> Result<(char, &'a str), ScramError> {
    let name = match rest.bytes().next() {
        None => return Err(malformed("Attribute expected, but found end of string.")),
        Some(b) if b.is_ascii_alphabetic() => b as char,
        Some(b) => {
            return Err(malformed(format!("Attribute expected, but found invalid character {}.", shown(b))))
        }
    };
    if rest.as_bytes().get(1) != Some(&b'=') {
        return Err(malformed(format!("Expected character \"=\" for attribute \"{name}\".")));
    }
    Ok((name, take_value(rest, 2)))
}

fn take_value<'a>(rest: &mut &'a str, start: usize) -> &'a str {
    let body = &rest[start..];
    let (value, after) = match body.find(',') {
        Some(i) => (&body[..i], &body[i + 1..]),
        None => (body, ""),
    };
    *rest = after;
    value
}

/// A byte for an error detail: printable ASCII as itself, anything else in hex, so a
/// detail never carries control characters.
fn shown(b: u8) -> String {
    if b.is_ascii_graphic() {
        format!("\"{}\"", b as char)
    } else {
        format!("\"0x{b:02x}\"")
    }
}

fn shown_opt(b: Option<u8>) -> String {
    b.map_or_else(|| "end of string".to_owned(), |b| format!("character {}", shown(b)))
}

fn shown_char(c: char) -> String {
    if c.is_ascii() {
        shown(c as u8)
    } else {
        "a non-ASCII character".to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The client side, enough to test the server (as RFC 5802 describes it).
    fn client_final(
        password: &str,
        salt: &[u8],
        iterations: u32,
        first_bare: &str,
        server_first: &str,
        cbind: &str,
    ) -> String {
        let v = Verifier::derive(password, salt, iterations);
        // The client would compute ClientKey from the password; recover it the long way.
        let mut salted = [0u8; KEY_LEN];
        pbkdf2::pbkdf2_hmac::<Sha256>(password.as_bytes(), salt, iterations, &mut salted);
        let client_key = hmac(&salted, b"Client Key");
        let nonce = server_first.split(',').next().unwrap();
        let without_proof = format!("c={cbind},{nonce}");
        let auth_message = format!("{first_bare},{server_first},{without_proof}");
        let signature = hmac(v.stored_key(), auth_message.as_bytes());
        let proof: Vec<u8> = client_key.iter().zip(signature).map(|(a, b)| a ^ b).collect();
        format!("{without_proof},p={}", B64.encode(proof))
    }

    #[test]
    fn rfc_7677_example_exchange() {
        // RFC 7677 section 3: user "user", password "pencil".
        let salt = B64.decode("W22ZaJ0SNY7soEsUEjb6gQ==").unwrap();
        let verifier = Verifier::derive("pencil", &salt, 4096);
        let (next, server_first) = ExpectClientFirst::new(verifier, false)
            .client_first(b"n,,n=user,r=rOprNGfwEbeRWgbNEkqO", "%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0")
            .unwrap();
        assert_eq!(
            server_first,
            "r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096"
        );
        let server_final = next
            .client_final(
                b"c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=",
            )
            .unwrap();
        assert_eq!(server_final, "v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=");
    }

    fn start(password: &str, first: &str, doomed: bool) -> (ExpectClientFinal, String, Vec<u8>) {
        let salt = vec![1u8; 16];
        let (next, server_first) = ExpectClientFirst::new(Verifier::derive(password, &salt, 64), doomed)
            .client_first(first.as_bytes(), "SERVERNONCE")
            .unwrap();
        (next, server_first, salt)
    }

    #[test]
    fn y_flag_and_extensions_are_accepted_and_the_proof_decides() {
        let first_bare = "n=,r=abc,x=ext";
        let (next, server_first, salt) = start("pw", &format!("y,,{first_bare}"), false);
        let good = client_final("pw", &salt, 64, first_bare, &server_first, "eSws");
        assert!(next.client_final(good.as_bytes()).unwrap().starts_with("v="));

        let (next, server_first, salt) = start("pw", "n,,n=,r=abc", false);
        let wrong = client_final("nope", &salt, 64, "n=,r=abc", &server_first, "biws");
        assert_eq!(next.client_final(wrong.as_bytes()).unwrap_err(), ScramError::Failed);
    }

    #[test]
    fn a_doomed_exchange_fails_even_with_the_right_proof() {
        let (next, server_first, salt) = start("pw", "n,,n=,r=abc", true);
        let good = client_final("pw", &salt, 64, "n=,r=abc", &server_first, "biws");
        assert_eq!(next.client_final(good.as_bytes()).unwrap_err(), ScramError::Failed);
    }

    #[test]
    fn broken_client_first_messages() {
        let cases: &[(&[u8], ScramError)] = &[
            (b"", malformed("The message is empty.")),
            (b"p=tls-server-end-point,,n=,r=abc", ScramError::Malformed(String::new())),
            (b"x,,n=,r=abc", malformed("Unexpected channel-binding flag \"x\".")),
            (b"n;,n=,r=abc", malformed("Comma expected, but found character \";\".")),
            (b"n", malformed("Comma expected, but found end of string.")),
            (b"n,a=bob,n=,r=abc", ScramError::AuthorizationIdentity),
            (b"n,,m=foo,n=,r=abc", ScramError::MandatoryExtension),
            (b"n,,n=", malformed("Expected attribute \"r\" but found end of string.")),
            (b"n,,n", malformed("Expected character \"=\" for attribute \"n\".")),
            (b"n,,n=,r=a\x01b", ScramError::NonceCharacters),
            (b"n,,n=,r=", ScramError::NonceCharacters),
            (b"n,,n=,r=abc,1", malformed("Attribute expected, but found invalid character \"1\".")),
            (b"n,,n=,r=\xff", malformed("The message is not valid UTF-8.")),
        ];
        for (message, want) in cases {
            let err = ExpectClientFirst::new(Verifier::mock("u", b"k"), false)
                .client_first(message, "S")
                .err()
                .unwrap_or_else(|| panic!("accepted {:?}", String::from_utf8_lossy(message)));
            if let (ScramError::Malformed(d), ScramError::Malformed(w)) = (&err, want) {
                if w.is_empty() {
                    assert!(d.contains("channel binding"), "{d}");
                    continue;
                }
            }
            assert_eq!(&err, want, "{:?}", String::from_utf8_lossy(message));
        }
    }

    #[test]
    fn broken_client_final_messages() {
        let proof = B64.encode([0u8; 32]);
        let cases: Vec<(String, ScramError)> = vec![
            ("c=biws,r=NONCE".into(), malformed("Attribute expected, but found end of string.")),
            ("c=biws,r=NONCE,p=!!!!".into(), malformed("Malformed proof in client-final-message.")),
            (
                format!("c=biws,r=NONCE,p={}", B64.encode([0u8; 8])),
                malformed("Malformed proof in client-final-message."),
            ),
            (
                format!("c=biws,r=NONCE,p={proof},zz"),
                malformed("Garbage found at the end of client-final-message."),
            ),
            (format!("c=eSws,r=NONCE,p={proof}"), ScramError::ChannelBinding),
            (format!("c=%%%,r=NONCE,p={proof}"), ScramError::ChannelBinding),
            (format!("c=biws,r=other,p={proof}"), ScramError::NonceMismatch),
            (format!("r=NONCE,p={proof}"), malformed("Expected attribute \"c\" but found \"r\".")),
            (format!("c=biws,r=NONCE,p={proof}"), ScramError::Failed),
            (format!("c=biws,r=NONCE,e=ext,p={proof}"), ScramError::Failed),
        ];
        for (message, want) in cases {
            let (next, server_first, _) = start("pw", "n,,n=,r=abc", false);
            let nonce = &server_first[2..server_first.find(',').unwrap()];
            let message = message.replace("NONCE", nonce);
            assert_eq!(next.client_final(message.as_bytes()).unwrap_err(), want, "{message}");
        }
    }
}
