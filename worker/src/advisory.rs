//! PostgreSQL's advisory locks (`pg_advisory_lock` and its family), shared by every
//! session of the server, whichever worker serves it.
//!
//! A lock is a byte of a lock file in the data directory, held with an open file
//! description lock (`F_OFD_SETLK`): the kernel keeps one lock table for every process
//! of the server (and of the next generation after a reload), and drops a session's
//! locks when its files close, so a session that ends, or a worker that crashes, leaves
//! no lock behind. Each session opens its own descriptions, so sessions of one worker
//! conflict with each other as sessions of different workers do.
//!
//! PostgreSQL's locks are counted (taken twice, released twice), a session's own
//! shared and exclusive locks on one key do not conflict, and transaction-level locks
//! (`_xact_`) end with the transaction: the session keeps those counts, and holds the
//! byte exclusively while it has any exclusive lock on the key, shared while it has
//! only shared ones. The 64-bit key space and the (int4, int4) key space are apart: a
//! bigint key `k` is byte `k >> 1` of lock file `bigint.<k & 1>`, a pair `(a, b)` the
//! same of `pair.<...>` for the 64-bit number `a << 32 | b` (file offsets have 63 bits).

use std::collections::HashMap;
use std::fs::{File, OpenOptions};
use std::os::fd::{AsRawFd, OwnedFd};
use std::path::{Path, PathBuf};
use std::sync::{Arc, LazyLock, Mutex};
use std::time::Duration;

use nix::errno::Errno;
use nix::fcntl::{fcntl, FcntlArg};
use tracing::warn;

use crate::duck::{self, Connection, DuckError, Param, Returns};
use crate::sessions::Control;

/// The folder of the lock files, under the data directory.
const FOLDER: &str = "advisory-locks";

/// A lock's key: which key space, and the 64 bits of the key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
struct Key {
    pair: bool,
    bits: u64,
}

impl Key {
    fn from_args(args: &[i64]) -> Key {
        match args {
            [a, b] => Key { pair: true, bits: (u64::from(*a as u32) << 32) | u64::from(*b as u32) },
            [k, ..] => Key { pair: false, bits: *k as u64 },
            [] => Key { pair: false, bits: 0 },
        }
    }

    fn file(self) -> usize {
        usize::from(self.pair) * 2 + (self.bits & 1) as usize
    }

    fn offset(self) -> i64 {
        (self.bits >> 1) as i64
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    Exclusive,
    Shared,
}

/// How many times the session holds a key, by mode, at session and transaction level.
#[derive(Debug, Default, Clone, Copy)]
struct Held {
    session: [u32; 2],
    xact: [u32; 2],
}

impl Held {
    fn any(&self, mode: Mode) -> bool {
        let m = mode as usize;
        self.session[m] + self.xact[m] > 0
    }

    /// The byte lock these counts need.
    fn wanted(&self) -> Option<Mode> {
        if self.any(Mode::Exclusive) {
            Some(Mode::Exclusive)
        } else if self.any(Mode::Shared) {
            Some(Mode::Shared)
        } else {
            None
        }
    }
}

/// A session's advisory lock counts as they travel with it (see
/// [`Registration::export`]): per key, its key space, its bits and the session-level
/// counts (exclusive, shared).
#[derive(Debug, Default, serde::Serialize, serde::Deserialize)]
pub struct MovedLocks {
    held: Vec<(bool, u64, [u32; 2])>,
}

/// The lock files, in [`Key::file`]'s order.
const LOCK_FILES: [&str; 4] = ["bigint.0", "bigint.1", "pair.0", "pair.1"];

/// One session's advisory locks.
pub struct SessionLocks {
    dir: PathBuf,
    control: Arc<Control>,
    state: Mutex<State>,
}

#[derive(Default)]
struct State {
    files: Option<Vec<File>>,
    held: HashMap<Key, Held>,
}

/// Sessions by DuckDB connection id, for the SQL functions to find their caller's locks.
static SESSIONS: LazyLock<Mutex<HashMap<u64, Arc<SessionLocks>>>> = LazyLock::new(Default::default);

/// A session's entry in the registry; dropping it (the session ends) releases its locks.
pub struct Registration {
    connection_id: u64,
    locks: Arc<SessionLocks>,
}

impl Registration {
    pub fn new(duck: &Connection, data_dir: &Path, control: Arc<Control>) -> Registration {
        let locks = Arc::new(SessionLocks { dir: data_dir.join(FOLDER), control, state: Mutex::default() });
        let connection_id = duck.id();
        lock(&SESSIONS).insert(connection_id, Arc::clone(&locks));
        Registration { connection_id, locks }
    }

    /// The transaction ended: its transaction-level locks go.
    pub fn end_transaction(&self) {
        self.locks.release(|held| held.xact = [0, 0]);
    }

    /// The session's locks as they move to another worker at a reload: duplicates of
    /// its lock files' descriptors (the open file descriptions hold the locks, so they
    /// stay held through the move) and its session-level counts. Outside a transaction
    /// block there are no transaction-level ones.
    pub fn export(&self) -> std::io::Result<(Vec<OwnedFd>, MovedLocks)> {
        let state = lock(&self.locks.state);
        let held = state.held.iter().map(|(k, h)| (k.pair, k.bits, h.session)).collect();
        let files = match &state.files {
            Some(files) => {
                files.iter().map(|f| f.try_clone().map(OwnedFd::from)).collect::<Result<_, _>>()?
            }
            None => Vec::new(),
        };
        Ok((files, MovedLocks { held }))
    }

    /// Takes over the locks a session held on another worker (see [`Registration::export`]).
    pub fn import(&self, files: Vec<OwnedFd>, moved: MovedLocks) {
        let mut state = lock(&self.locks.state);
        if files.len() == LOCK_FILES.len() {
            state.files = Some(files.into_iter().map(File::from).collect());
        }
        state.held = moved
            .held
            .into_iter()
            .map(|(pair, bits, session)| (Key { pair, bits }, Held { session, xact: [0, 0] }))
            .collect();
    }

    /// `DISCARD ALL` and `pg_advisory_unlock_all()`: every session-level lock goes.
    pub fn unlock_all(&self) {
        self.locks.release(|held| held.session = [0, 0]);
    }
}

impl Drop for Registration {
    fn drop(&mut self) {
        lock(&SESSIONS).remove(&self.connection_id);
        // Closing the files (with the last Arc) releases whatever is still held.
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl SessionLocks {
    /// Takes `key` in `mode` at session or transaction level; waits for it when `wait`.
    /// False when it is taken by another session and `wait` is not set.
    fn acquire(&self, key: Key, mode: Mode, xact: bool, wait: bool) -> Result<bool, String> {
        let mut state = lock(&self.state);
        let before = state.held.get(&key).copied().unwrap_or_default();
        let mut after = before;
        let counts = if xact { &mut after.xact } else { &mut after.session };
        counts[mode as usize] += 1;
        if after.wanted() != before.wanted() {
            let mut pause = Duration::from_millis(1);
            while !self.set_byte(&mut state, key, after.wanted())? {
                if !wait {
                    return Ok(false);
                }
                if let Some(why) = self.control.interruption() {
                    return Err(why.message().to_owned());
                }
                if self.control.is_terminating() {
                    return Err("terminating connection due to administrator command".into());
                }
                // Another session holds it: poll, without holding up this one's cancel.
                drop(state);
                std::thread::sleep(pause);
                pause = (pause * 2).min(Duration::from_millis(20));
                state = lock(&self.state);
            }
        }
        state.held.insert(key, after);
        Ok(true)
    }

    /// Releases one session-level hold of `key` in `mode`; false when there was none.
    fn release_one(&self, key: Key, mode: Mode) -> Result<bool, String> {
        let mut state = lock(&self.state);
        let Some(before) = state.held.get(&key).copied() else { return Ok(false) };
        if before.session[mode as usize] == 0 {
            return Ok(false);
        }
        let mut after = before;
        after.session[mode as usize] -= 1;
        if after.wanted() != before.wanted() {
            // Giving up or weakening a lock cannot wait.
            self.set_byte(&mut state, key, after.wanted())?;
        }
        if after.wanted().is_none() {
            state.held.remove(&key);
        } else {
            state.held.insert(key, after);
        }
        Ok(true)
    }

    /// Applies `clear` to every key's counts and sets each byte to what is left.
    fn release(&self, clear: impl Fn(&mut Held)) {
        let mut state = lock(&self.state);
        let keys: Vec<Key> = state.held.keys().copied().collect();
        for key in keys {
            let before = state.held[&key];
            let mut after = before;
            clear(&mut after);
            if after.wanted() != before.wanted() {
                if let Err(e) = self.set_byte(&mut state, key, after.wanted()) {
                    warn!(error = %e, "could not release an advisory lock");
                }
            }
            if after.wanted().is_none() {
                state.held.remove(&key);
            } else {
                state.held.insert(key, after);
            }
        }
    }

    /// Sets the key's byte to `mode` (None: unlocked) without waiting; false when
    /// another session's lock conflicts.
    fn set_byte(&self, state: &mut State, key: Key, mode: Option<Mode>) -> Result<bool, String> {
        if state.files.is_none() {
            state.files = Some(self.open_files()?);
        }
        let file = &state.files.as_ref().expect("opened above")[key.file()];
        let l_type = match mode {
            Some(Mode::Exclusive) => libc::F_WRLCK,
            Some(Mode::Shared) => libc::F_RDLCK,
            None => libc::F_UNLCK,
        };
        let request = libc::flock {
            l_type: l_type as libc::c_short,
            l_whence: libc::SEEK_SET as libc::c_short,
            l_start: key.offset(),
            l_len: 1,
            // Open file description locks require 0 here.
            l_pid: 0,
        };
        match fcntl(file.as_raw_fd(), FcntlArg::F_OFD_SETLK(&request)) {
            Ok(_) => Ok(true),
            Err(Errno::EAGAIN | Errno::EACCES) => Ok(false),
            Err(e) => Err(format!("could not lock an advisory lock file: {e}")),
        }
    }

    fn open_files(&self) -> Result<Vec<File>, String> {
        std::fs::create_dir_all(&self.dir)
            .map_err(|e| format!("could not create {}: {e}", self.dir.display()))?;
        LOCK_FILES
            .iter()
            .map(|name| {
                let path = self.dir.join(name);
                OpenOptions::new()
                    .read(true)
                    .write(true)
                    .create(true)
                    .truncate(false)
                    .open(&path)
                    .map_err(|e| format!("could not open {}: {e}", path.display()))
            })
            .collect()
    }
}

/// The SQL functions, registered once per worker database.
pub fn register(conn: &Connection) -> Result<(), DuckError> {
    use Param::{BigInt, Integer};
    type Overloads = &'static [(&'static [Param], Returns)];
    const LOCK: Overloads = &[(&[BigInt], Returns::Void), (&[Integer, Integer], Returns::Void)];
    const TRY: Overloads = &[(&[BigInt], Returns::Boolean), (&[Integer, Integer], Returns::Boolean)];
    const ALL: Overloads = &[(&[], Returns::Void)];
    let functions: [(&str, Overloads, duck::RowFn); 11] = [
        ("pg_advisory_lock", LOCK, |c, a| call(c, a, |l, k| l.acquire(k, Mode::Exclusive, false, true))),
        ("pg_advisory_lock_shared", LOCK, |c, a| call(c, a, |l, k| l.acquire(k, Mode::Shared, false, true))),
        ("pg_try_advisory_lock", TRY, |c, a| call(c, a, |l, k| l.acquire(k, Mode::Exclusive, false, false))),
        ("pg_try_advisory_lock_shared", TRY, |c, a| {
            call(c, a, |l, k| l.acquire(k, Mode::Shared, false, false))
        }),
        ("pg_advisory_xact_lock", LOCK, |c, a| call(c, a, |l, k| l.acquire(k, Mode::Exclusive, true, true))),
        ("pg_advisory_xact_lock_shared", LOCK, |c, a| {
            call(c, a, |l, k| l.acquire(k, Mode::Shared, true, true))
        }),
        ("pg_try_advisory_xact_lock", TRY, |c, a| {
            call(c, a, |l, k| l.acquire(k, Mode::Exclusive, true, false))
        }),
        ("pg_try_advisory_xact_lock_shared", TRY, |c, a| {
            call(c, a, |l, k| l.acquire(k, Mode::Shared, true, false))
        }),
        ("pg_advisory_unlock", TRY, |c, a| call(c, a, |l, k| l.release_one(k, Mode::Exclusive))),
        ("pg_advisory_unlock_shared", TRY, |c, a| call(c, a, |l, k| l.release_one(k, Mode::Shared))),
        ("pg_advisory_unlock_all", ALL, |c, a| {
            call(c, a, |l, _| {
                l.release(|held| held.session = [0, 0]);
                Ok(true)
            })
        }),
    ];
    for (name, overloads, f) in functions {
        duck::register_function(conn, name, overloads, duck::Strictness::Strict, f)?;
    }
    Ok(())
}

/// Runs `op` on the calling session's locks with the call's key.
fn call(
    connection_id: u64,
    args: &[duck::Arg<'_>],
    op: impl FnOnce(&SessionLocks, Key) -> Result<bool, String>,
) -> Result<duck::Output, String> {
    let locks = lock(&SESSIONS).get(&connection_id).cloned();
    let Some(locks) = locks else {
        return Err("advisory locks are only available in client sessions".into());
    };
    let args: Vec<i64> = args.iter().map(|a| a.int()).collect();
    op(&locks, Key::from_args(&args)).map(duck::Output::Bool)
}
