//! Dropping root: started as root, the supervisor binds its listeners and its admin
//! socket, then becomes the configured `user` (and `group`, else the user's primary
//! group) before it starts any worker, so neither it nor a worker ever touches client
//! data or DuckDB as root.

use std::path::Path;

use nix::unistd::{chown, setgid, setgroups, setuid, Gid, Group, Uid, User};
use tracing::{info, warn};

#[derive(Debug, thiserror::Error)]
pub enum PrivilegeError {
    #[error("user {0:?} does not exist")]
    NoUser(String),
    #[error("group {0:?} does not exist")]
    NoGroup(String),
    #[error("could not look up {what}")]
    Lookup {
        what: String,
        #[source]
        source: nix::Error,
    },
    #[error("could not give {path} to user {user}")]
    Chown {
        path: String,
        user: String,
        #[source]
        source: nix::Error,
    },
    #[error("could not become user {user}")]
    Switch {
        user: String,
        #[source]
        source: nix::Error,
    },
    #[error("still able to regain root after becoming user {0}; refusing to run")]
    Regained(String),
}

/// Becomes `user`/`group` if this process is root and a user is configured. `owned`
/// are paths this process created as root that the user must own: the data directory
/// (not recursively) and the admin socket.
pub fn drop_root(user: Option<&str>, group: Option<&str>, owned: &[&Path]) -> Result<(), PrivilegeError> {
    if !nix::unistd::geteuid().is_root() {
        if let Some(user) = user {
            info!(user, "not running as root; `user` is not needed and is ignored");
        }
        return Ok(());
    }
    let Some(name) = user else {
        warn!(
            "running as root: set `user` (and `group`) so that mallard drops root after binding its sockets"
        );
        return Ok(());
    };
    fn lookup(what: &'static str) -> impl Fn(nix::Error) -> PrivilegeError {
        move |source| PrivilegeError::Lookup { what: what.to_owned(), source }
    }
    let account = User::from_name(name)
        .map_err(lookup("the user"))?
        .ok_or_else(|| PrivilegeError::NoUser(name.into()))?;
    let gid = match group {
        Some(g) => {
            Group::from_name(g)
                .map_err(lookup("the group"))?
                .ok_or_else(|| PrivilegeError::NoGroup(g.into()))?
                .gid
        }
        None => account.gid,
    };
    for path in owned {
        let owned_by_root =
            std::fs::metadata(path).map(|m| std::os::unix::fs::MetadataExt::uid(&m) == 0).unwrap_or(false);
        if owned_by_root {
            chown(*path, Some(account.uid), Some(gid)).map_err(|source| PrivilegeError::Chown {
                path: path.display().to_string(),
                user: name.into(),
                source,
            })?;
        }
    }
    let switch = |source| PrivilegeError::Switch { user: name.into(), source };
    // Groups first: once the uid is gone, so is the right to change them.
    setgroups(&[gid]).map_err(switch)?;
    setgid(gid).map_err(switch)?;
    setuid(account.uid).map_err(switch)?;
    if setuid(Uid::from_raw(0)).is_ok() {
        return Err(PrivilegeError::Regained(name.into()));
    }
    info!(user = name, uid = account.uid.as_raw(), gid = Gid::as_raw(gid), "dropped root");
    Ok(())
}
