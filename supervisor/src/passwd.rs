//! `mallard passwd USER`: reads a password and prints the users-file line
//! `USER:SCRAM-SHA-256$4096:<salt>$<StoredKey>:<ServerKey>`. On a terminal it prompts
//! twice with echo off; otherwise it reads one line from stdin (for scripts).

use std::io::{BufRead, IsTerminal, Write};
use std::os::fd::AsFd;

use anyhow::{bail, Context};
use mallard_worker::auth::Verifier;
use nix::sys::termios::{self, LocalFlags, SetArg};

/// The longest password read; longer input is a mistake (a file piped in).
const MAX_PASSWORD: usize = 1024;

pub fn run(user: &str) -> anyhow::Result<()> {
    check_user_name(user)?;
    let stdin = std::io::stdin();
    let password = if stdin.is_terminal() {
        let first = prompt("Password: ")?;
        let again = prompt("Enter it again: ")?;
        if first != again {
            bail!("passwords didn't match");
        }
        first
    } else {
        read_line(&mut stdin.lock())?
    };
    if password.is_empty() {
        bail!("empty password: a user without a password is what a `trust` rule is for");
    }
    if password.len() > MAX_PASSWORD {
        bail!("password longer than {MAX_PASSWORD} bytes");
    }
    println!("{user}:{}", Verifier::generate(&password).to_text());
    Ok(())
}

/// A name the users file can hold on one line and read back the same.
fn check_user_name(user: &str) -> anyhow::Result<()> {
    if user.is_empty() {
        bail!("the user name is empty");
    }
    if user.contains(':') || user.chars().any(char::is_control) {
        bail!("user names in the users file may not contain `:` or control characters");
    }
    if user.trim() != user || user.starts_with('#') {
        bail!("user names in the users file may not start with `#` or begin or end with spaces");
    }
    Ok(())
}

/// One line of input without its line end.
fn read_line(input: &mut impl BufRead) -> anyhow::Result<String> {
    let mut line = String::new();
    input.read_line(&mut line).context("could not read the password from stdin")?;
    let line = line.strip_suffix('\n').unwrap_or(&line);
    Ok(line.strip_suffix('\r').unwrap_or(line).to_owned())
}

/// Prompts on stderr and reads a line from the terminal on stdin without echo.
fn prompt(text: &str) -> anyhow::Result<String> {
    eprint!("{text}");
    std::io::stderr().flush()?;
    let stdin = std::io::stdin();
    let saved = termios::tcgetattr(stdin.as_fd()).context("could not read the terminal settings")?;
    let mut quiet = saved.clone();
    quiet.local_flags.remove(LocalFlags::ECHO);
    quiet.local_flags.insert(LocalFlags::ECHONL);
    termios::tcsetattr(stdin.as_fd(), SetArg::TCSAFLUSH, &quiet).context("could not turn echo off")?;
    let line = read_line(&mut stdin.lock());
    let restored = termios::tcsetattr(stdin.as_fd(), SetArg::TCSAFLUSH, &saved);
    let line = line?;
    restored.context("could not restore the terminal settings")?;
    Ok(line)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_names_that_would_not_read_back_are_refused() {
        for bad in ["", "a:b", "#admin", " alice", "alice ", "a\nb"] {
            assert!(check_user_name(bad).is_err(), "{bad:?}");
        }
        for good in ["alice", "Bob Smith", "ünï", "a#b"] {
            assert!(check_user_name(good).is_ok(), "{good:?}");
        }
    }

    #[test]
    fn a_line_loses_only_its_line_end() {
        let read = |s: &str| read_line(&mut s.as_bytes()).unwrap();
        assert_eq!(read("p w \r\nnext"), "p w ");
        assert_eq!(read("pw"), "pw");
        assert_eq!(read(""), "");
    }
}
