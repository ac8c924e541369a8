//! The cost of keeping one session's row of `pg_stat_activity` current, measured where
//! it is paid: a slot of a real session table (a mapped memfd, as the server makes it)
//! written as a statement starts and as the session goes idle again, with the query
//! text of `pgbench`'s `select 1` and of a 1 KiB statement. `benches/activity.sh` runs
//! it and sets the figure against the CPU time of a whole `select 1`.
//!
//!   cargo build --workspace --examples && $CARGO_TARGET_DIR/debug/examples/activity_cost

use std::time::Instant;

use mallard_protocol::channel::Peer;
use mallard_worker::activity::{Activity, Segment, Slot, State};

const ROUNDS: u32 = 2_000_000;

fn main() {
    let segment = Segment::create(1024, 1024).expect("a session table");
    let row = Activity {
        pid: 7,
        worker_pid: std::process::id(),
        generation: 1,
        backend_start: 0,
        xact_start: None,
        query_start: None,
        state_change: None,
        state: State::Starting,
        tls: false,
        peer: Peer::Tcp("127.0.0.1:5432".parse().expect("an address")),
        database: "mallard".into(),
        user: "bench".into(),
        application_name: "pgbench".into(),
        query: String::new(),
    };
    let mut slot = Slot::admit(&segment, 100, true, row).expect("a slot");
    for (name, query) in [("select 1", "select 1;".to_owned()), ("1 KiB statement", "x".repeat(1024))] {
        let started = Instant::now();
        for _ in 0..ROUNDS {
            slot.statement(&query, false);
            slot.idle(State::Idle);
        }
        let ns = started.elapsed().as_nanos() as f64 / f64::from(ROUNDS);
        println!("{name}: {ns:.0} ns per statement (start and idle)");
    }
}
