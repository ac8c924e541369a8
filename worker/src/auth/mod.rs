//! Authentication without I/O: access rules ([`rules`]), the users file ([`users`]),
//! SCRAM-SHA-256 verifiers ([`verifier`]) and the server side of the exchange
//! ([`scram`]), and the failure throttle ([`throttle`]). The session's authenticating
//! phase (`session/authenticate.rs`) drives them over the connection.

pub mod rules;
pub mod scram;
pub mod throttle;
pub mod users;
pub mod verifier;

use std::path::PathBuf;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use mallard_protocol::channel::Peer;
use rand::RngCore;
use serde::{Deserialize, Serialize};
use tracing::{error, info};

pub use rules::{Method, Rule, RuleSpec};
pub use users::{Users, UsersError};
pub use verifier::Verifier;

/// The `[auth]` part of a worker's configuration, resolved by the supervisor.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuthSettings {
    /// Where the verifiers are; read when the worker starts.
    pub users_file: Option<PathBuf>,
    /// In order; the supervisor puts in [`rules::default_rules`] when the config has none.
    pub rules: Vec<Rule>,
    /// Users who may cancel and terminate any session (config `[auth] superusers`).
    #[serde(default)]
    pub superusers: Vec<String>,
}

impl Default for AuthSettings {
    fn default() -> Self {
        AuthSettings { users_file: None, rules: rules::default_rules(), superusers: Vec::new() }
    }
}

/// A worker's authentication state, shared by its sessions.
pub struct Authenticator {
    rules: Vec<Rule>,
    users: Users,
    /// Random per worker: mock verifiers for unknown users derive from it.
    mock_secret: [u8; 32],
    throttle: Mutex<throttle::Throttle>,
}

/// Whose password is being checked: a real user's verifier, or a mock one for a name
/// the users file does not have (then the check fails whatever the client sends).
pub struct Candidate {
    pub verifier: Verifier,
    pub known: bool,
}

impl Authenticator {
    /// Reads the users file. A file that cannot be read now (it passed `mallard check`
    /// before) leaves no users: password logins fail and are logged, trust rules work.
    pub fn new(settings: &AuthSettings) -> Authenticator {
        let users = match &settings.users_file {
            None => Users::default(),
            Some(path) => match Users::load(path) {
                Ok(users) => {
                    info!(users = users.len(), path = %path.display(), "users file loaded");
                    users
                }
                Err(e) => {
                    error!(error = %e, "users file unusable; every password login will fail");
                    Users::default()
                }
            },
        };
        let mut mock_secret = [0u8; 32];
        rand::thread_rng().fill_bytes(&mut mock_secret);
        Authenticator { rules: settings.rules.clone(), users, mock_secret, throttle: Mutex::default() }
    }

    /// The rule that decides for this connection.
    pub fn rule_for(&self, client: &rules::Client<'_>) -> Option<&Rule> {
        rules::first_match(&self.rules, client)
    }

    /// The verifier to check `user`'s password against.
    pub fn candidate(&self, user: &str) -> Candidate {
        match self.users.get(user) {
            Some(v) => Candidate { verifier: v.clone(), known: true },
            None => Candidate { verifier: Verifier::mock(user, &self.mock_secret), known: false },
        }
    }

    /// Counts a failed login from `peer`; returns the failures in a row and how long to
    /// wait before answering.
    pub fn failed(&self, peer: &Peer) -> (u32, Duration) {
        let mut throttle = self.throttle.lock().unwrap_or_else(|p| p.into_inner());
        throttle.failure(throttle::Source::of(peer), Instant::now())
    }
}
