//! pgbench 15 against mallard (storage `duckdb`, one read-write worker): initialisation,
//! the TPC-B-like script in the simple, extended and prepared query modes with
//! serialization-failure retries, the select-only script, and a new connection per
//! transaction. Every run must end with no failed transaction and no aborted client, and
//! the TPC-B bookkeeping must balance afterwards.
//!
//! What pgbench 15 sends (recorded from PostgreSQL 15 with `log_statement = all`):
//! `-i` runs simple queries (`drop table if exists ...`, four `create table ... with
//! (fillfactor=100)`, `begin`, `truncate`, `insert` per branch and teller, `copy
//! pgbench_accounts from stdin with (freeze on)`, `commit`, `vacuum analyze` per table,
//! `alter table ... add primary key`). Each run starts with `select count(*) from
//! pgbench_branches`, a `pg_catalog` query about partitions of `pgbench_accounts`,
//! `vacuum pgbench_branches`, `vacuum pgbench_tellers` and `truncate pgbench_history`.
//! `-M extended` uses unnamed statements, `-M prepared` statements `P_0`, `P_1`, ..., all
//! with untyped text parameters. After a 40001 the client sends a simple `ROLLBACK`.

// Only its script runner is used here.
#[allow(dead_code)]
#[path = "support/drivers.rs"]
mod drivers;

use std::process::Command;
use std::time::Duration;

use mallard_harness::{Options, Server};

const BIN: &str = env!("CARGO_BIN_EXE_mallard");
const SCALE: u32 = 5;
const MODES: [&str; 3] = ["simple", "extended", "prepared"];

fn pgbench(server: &Server, args: &[&str]) -> Command {
    let mut cmd = Command::new("pgbench");
    cmd.args(["-h", "127.0.0.1", "-p", &server.port.to_string(), "-U", "tester"])
        .args(args)
        .env("PGCONNECT_TIMEOUT", "10");
    cmd
}

/// Runs pgbench and checks its verdict: exit status 0 (2 means a client aborted), a
/// processed-transactions line above zero and zero failed transactions.
fn bench(server: &Server, label: &str, args: &[&str], seconds: u64) -> Result<(), String> {
    let run = drivers::run(pgbench(server, args), "mallard", Duration::from_secs(seconds + 60));
    let field = |prefix: &str| {
        run.output.lines().find_map(|l| l.strip_prefix(prefix)).map(|rest| {
            rest.split(|c: char| c == ' ' || c == '/').next().unwrap_or("").trim().parse::<u64>().ok()
        })
    };
    let processed = field("number of transactions actually processed: ").flatten();
    let failed = field("number of failed transactions: ").flatten();
    for line in run.output.lines().filter(|l| l.starts_with("tps = ") || l.contains("retried")) {
        println!("{label}: {line}");
    }
    match (run.passed, processed, failed) {
        (true, Some(p), Some(0)) if p > 0 => Ok(()),
        _ => Err(format!(
            "{label}: pgbench {} (processed {processed:?}, failed {failed:?}):\n{}",
            if run.passed { "exited 0" } else { "failed" },
            run.output
        )),
    }
}

/// sum(abalance), sum(tbalance), sum(bbalance), sum(delta), via psql.
fn sums(server: &Server) -> Result<[i64; 4], String> {
    let out = server.psql(
        "select coalesce((select sum(abalance) from pgbench_accounts), 0), \
         coalesce((select sum(tbalance) from pgbench_tellers), 0), \
         coalesce((select sum(bbalance) from pgbench_branches), 0), \
         coalesce((select sum(delta) from pgbench_history), 0)",
    );
    let text = String::from_utf8_lossy(&out.stdout).trim().to_owned();
    if !out.status.success() {
        return Err(format!("psql sums failed: {}", String::from_utf8_lossy(&out.stderr)));
    }
    let values: Vec<i64> = text.split('|').filter_map(|v| v.trim().parse().ok()).collect();
    values.try_into().map_err(|_| format!("psql sums: unexpected output {text:?}"))
}

/// pgbench truncates the history at the start of each run, so the history holds exactly
/// what that run added to every balance.
fn balanced_run(server: &Server, label: &str, args: &[&str], seconds: u64) -> Result<(), String> {
    let before = sums(server)?[0];
    bench(server, label, args, seconds)?;
    let [a, t, b, h] = sums(server)?;
    println!("{label}: sum(abalance) {a}, sum(tbalance) {t}, sum(bbalance) {b}, sum(delta) {h}");
    if a == t && t == b && h == a - before {
        Ok(())
    } else {
        Err(format!("{label}: the books do not balance: accounts {a}, tellers {t}, branches {b}, history {h}, balance before the run {before}"))
    }
}

fn count(server: &Server, table: &str) -> String {
    let out = server.psql(&format!("select count(*) from {table}"));
    format!("{}{}", String::from_utf8_lossy(&out.stdout).trim(), String::from_utf8_lossy(&out.stderr).trim())
}

#[test]
fn pgbench_tpcb_select_only_and_reconnect() {
    let server = Server::start(BIN, Options { storage: "duckdb", workers: 1, ..Options::default() });
    let init = drivers::run(
        pgbench(&server, &["-i", "-s", &SCALE.to_string()]),
        "mallard",
        Duration::from_secs(300),
    );
    assert!(
        init.passed,
        "pgbench -i -s {SCALE} failed:\n{}\n--- mallard log:\n{}",
        init.output,
        server.logs()
    );
    for (table, rows) in
        [("pgbench_branches", SCALE), ("pgbench_tellers", SCALE * 10), ("pgbench_accounts", SCALE * 100_000)]
    {
        assert_eq!(count(&server, table), rows.to_string(), "rows in {table} after pgbench -i");
    }

    // Keep going after a failure so that one run shows the state of every mode.
    let mut failures = Vec::new();
    let common = ["-c", "8", "-j", "2", "--max-tries=100"];
    for mode in MODES {
        let label = format!("TPC-B -M {mode}");
        let args = [&common[..], &["-T", "20", "-M", mode]].concat();
        if let Err(e) = balanced_run(&server, &label, &args, 20) {
            failures.push(e);
        }
    }
    for mode in MODES {
        let label = format!("select-only -S -M {mode}");
        let args = [&common[..], &["-T", "5", "-S", "-M", mode]].concat();
        if let Err(e) = bench(&server, &label, &args, 5) {
            failures.push(e);
        }
    }
    for mode in MODES {
        let label = format!("TPC-B -C -M {mode}");
        let args = [&common[..], &["-T", "5", "-C", "-M", mode]].concat();
        if let Err(e) = balanced_run(&server, &label, &args, 5) {
            failures.push(e);
        }
    }
    assert!(
        failures.is_empty(),
        "{} pgbench runs failed:\n\n{}\n--- mallard log (tail):\n{}",
        failures.len(),
        failures.join("\n\n"),
        server
            .logs()
            .lines()
            .rev()
            .take(40)
            .collect::<Vec<_>>()
            .into_iter()
            .rev()
            .collect::<Vec<_>>()
            .join("\n")
    );
}
