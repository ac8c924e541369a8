//! DuckDB's own threads follow the load. A query DuckDB runs in parallel hands tasks to
//! its background threads, and every query wakes one of them, even `select 1`: on two
//! cores that wake-up costs a small statement about a third of its time (measured with
//! `threads = 1`: `select 1` at 8 clients from 28,000 to 42,000 tps). When at least
//! as many sessions run statements as DuckDB has threads, the cores are busy with
//! sessions anyway and the background threads only add those wake-ups: DuckDB then
//! gets one thread (each query runs on its session's own thread), and its threads
//! come back once fewer sessions run. A session counts while it runs a statement and
//! for a moment after it began one, so that clients sending statement after statement
//! count even while their next statement is on the wire.
//!
//! A thread of the worker samples the running sessions every 20 ms and decides over
//! the last half second, so that the setting does not flap with each statement.

use std::sync::{Arc, Weak};
use std::time::Duration;

use tracing::{debug, warn};

use crate::duck::{exec, Connection};
use crate::shared::Shared;

const SAMPLE: Duration = Duration::from_millis(20);
/// A session counts as busy while it runs a statement, and for this long after it
/// began one: a client sending statement after statement keeps a core busy even
/// while its next statement is on the wire.
const ACTIVE: Duration = Duration::from_millis(100);
/// Samples in the window the decision looks at.
const WINDOW: usize = 25;
/// Of those, how many must see the cores saturated to go to one thread, and at most
/// how many may see it for the threads to come back.
const SATURATED: usize = 20;
const UNSATURATED: usize = 5;

/// Starts the thread, unless DuckDB has a single thread anyway, or extensions are
/// loaded. DuckDB applies a new thread count at the end of the next statement, joining
/// the threads that go under a lock that the end of every statement takes; an
/// extension's scan that runs a query of its own while its tasks wait for it (DuckLake
/// lists a table's files so, holding the scan's lock) then waits for that lock while
/// the join waits for its task: the worker hung under pgbench in `ducklake` mode.
pub fn start(shared: &Arc<Shared>) {
    if !shared.config.extensions_to_load().is_empty() {
        debug!("extensions are loaded: DuckDB's threads stay as configured");
        return;
    }
    let parallel = match shared.config.threads {
        0 => std::thread::available_parallelism().map_or(1, usize::from),
        n => n as usize,
    };
    if parallel <= 1 {
        return;
    }
    let weak = Arc::downgrade(shared);
    let db = Arc::clone(&shared.db);
    let started =
        std::thread::Builder::new().name("duckdb-threads".to_owned()).spawn(
            move || match Connection::connect(&db) {
                Ok(conn) => follow(&weak, &conn, parallel),
                Err(e) => warn!(error = %e, "DuckDB's threads stay as configured"),
            },
        );
    if let Err(e) = started {
        warn!(error = %e, "DuckDB's threads stay as configured");
    }
}

fn follow(shared: &Weak<Shared>, conn: &Connection, parallel: usize) {
    let mut window = [false; WINDOW];
    let mut at = 0;
    let mut single = false;
    loop {
        std::thread::sleep(SAMPLE);
        let Some(shared) = shared.upgrade() else { return };
        window[at] = shared.sessions.active(ACTIVE) >= parallel;
        at = (at + 1) % WINDOW;
        let saturated = window.iter().filter(|&&s| s).count();
        let want_single = if single { saturated > UNSATURATED } else { saturated >= SATURATED };
        if want_single != single {
            let threads = if want_single { 1 } else { parallel };
            match exec(conn, &format!("SET GLOBAL threads = {threads}")) {
                Ok(()) => {
                    debug!(threads, "DuckDB threads follow the running sessions");
                    single = want_single;
                }
                Err(e) => return warn!(error = %e, "DuckDB's threads stay as they are"),
            }
        }
    }
}
