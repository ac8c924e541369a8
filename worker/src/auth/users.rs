//! The users file: one `name:SCRAM-SHA-256$...` line per user (what `mallard passwd`
//! prints), `#` comments and blank lines. A user name may not contain `:`.
//!
//! Errors give the line number and what is wrong, never the line: it holds a verifier.

use std::collections::HashMap;
use std::path::Path;

use super::verifier::{Verifier, VerifierError};

/// Every user with a password.
#[derive(Debug, Default)]
pub struct Users {
    verifiers: HashMap<String, Verifier>,
}

#[derive(Debug, thiserror::Error)]
pub enum UsersError {
    #[error("could not read the users file {path}")]
    Read {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("users file {path}, line {line}: {problem}")]
    Line { path: String, line: usize, problem: LineProblem },
}

/// What is wrong with one line.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LineProblem {
    #[error("expected `name:SCRAM-SHA-256$...` (the output of `mallard passwd NAME`)")]
    NoSeparator,
    #[error("the user name is empty")]
    EmptyName,
    #[error(transparent)]
    Verifier(#[from] VerifierError),
    #[error("user {name:?} appears again (first on line {first})")]
    Duplicate { name: String, first: usize },
}

impl Users {
    pub fn load(path: &Path) -> Result<Users, UsersError> {
        let text = std::fs::read_to_string(path)
            .map_err(|source| UsersError::Read { path: path.display().to_string(), source })?;
        Users::parse(&text).map_err(|(line, problem)| UsersError::Line {
            path: path.display().to_string(),
            line,
            problem,
        })
    }

    /// Parses the file's text; an error names the 1-based line.
    pub fn parse(text: &str) -> Result<Users, (usize, LineProblem)> {
        let mut verifiers = HashMap::new();
        let mut lines_of: HashMap<String, usize> = HashMap::new();
        for (i, line) in text.lines().enumerate() {
            let number = i + 1;
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let (name, verifier) = line
                .split_once(':')
                .filter(|(name, _)| !name.contains(super::verifier::SCHEME))
                .ok_or((number, LineProblem::NoSeparator))?;
            if name.is_empty() {
                return Err((number, LineProblem::EmptyName));
            }
            let verifier = Verifier::parse(verifier).map_err(|e| (number, e.into()))?;
            if let Some(&first) = lines_of.get(name) {
                return Err((number, LineProblem::Duplicate { name: name.to_owned(), first }));
            }
            lines_of.insert(name.to_owned(), number);
            verifiers.insert(name.to_owned(), verifier);
        }
        Ok(Users { verifiers })
    }

    pub fn get(&self, name: &str) -> Option<&Verifier> {
        self.verifiers.get(name)
    }

    pub fn len(&self) -> usize {
        self.verifiers.len()
    }

    pub fn is_empty(&self) -> bool {
        self.verifiers.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_users_comments_and_blank_lines() {
        let alice = Verifier::generate("a").to_text();
        let bob = Verifier::generate("b").to_text();
        let text = format!("# mallard users\n\nalice:{alice}\n  bob:{bob}  \r\n");
        let users = Users::parse(&text).unwrap();
        assert_eq!(users.len(), 2);
        assert!(users.get("alice").unwrap().check_password("a"));
        assert!(users.get("bob").unwrap().check_password("b"));
        assert!(users.get("carol").is_none());
    }

    #[test]
    fn errors_name_the_line_and_never_the_verifier() {
        let good = Verifier::generate("a").to_text();
        let broken = good.replace("$4096:", "$x:");
        let cases = [
            (format!("alice:{good}\nbob {good}\n"), 2, LineProblem::NoSeparator),
            (format!(":{good}\n"), 1, LineProblem::EmptyName),
            (format!("# c\nalice:{broken}\n"), 2, LineProblem::Verifier(VerifierError::Iterations)),
            ("alice:md5abc\n".into(), 1, LineProblem::Verifier(VerifierError::Scheme)),
            (
                format!("alice:{good}\n\nalice:{good}\n"),
                3,
                LineProblem::Duplicate { name: "alice".into(), first: 1 },
            ),
        ];
        for (text, line, problem) in cases {
            let (at, got) = Users::parse(&text).unwrap_err();
            assert_eq!((at, &got), (line, &problem), "{text}");
            let shown = UsersError::Line { path: "users".into(), line: at, problem: got }.to_string();
            let salt = good.split(['$', ':']).nth(2).unwrap();
            assert!(!shown.contains(salt) && !shown.contains("md5abc"), "{shown}");
            assert!(shown.contains(&format!("line {line}")), "{shown}");
        }
    }
}
