//! What reading and translating a statement costs mallard, per statement, for the catalog
//! statements real clients send (the replay corpus in `tests/catalog/corpus/`) and for
//! ordinary ones (pgbench's). This is the whole of mallard's own SQL path before DuckDB:
//! tokens, classification, the translation rules, column names and origins.
//!
//!   cargo build --workspace --examples && $CARGO_TARGET_DIR/debug/examples/analyze_cost

use std::time::Instant;

const CORPUS: &[(&str, &str)] = &[
    ("psql", include_str!("../tests/catalog/corpus/psql.sql")),
    ("pgjdbc", include_str!("../tests/catalog/corpus/pgjdbc.sql")),
    ("sqlalchemy", include_str!("../tests/catalog/corpus/sqlalchemy.sql")),
    ("superset", include_str!("../tests/catalog/corpus/superset.sql")),
    ("dbeaver", include_str!("../tests/catalog/corpus/dbeaver.sql")),
    ("metabase", include_str!("../tests/catalog/corpus/metabase.sql")),
    ("grafana", include_str!("../tests/catalog/corpus/grafana.sql")),
    ("npgsql", include_str!("../tests/catalog/corpus/npgsql.sql")),
];

const ORDINARY: &[&str] = &[
    "select 1",
    "SELECT abalance FROM pgbench_accounts WHERE aid = $1",
    "UPDATE pgbench_accounts SET abalance = abalance + $1 WHERE aid = $2",
    "INSERT INTO pgbench_history (tid, bid, aid, delta, mtime) VALUES ($1, $2, $3, $4, CURRENT_TIMESTAMP)",
];

/// The statements of a corpus file (`--- label` lines, then one statement each).
fn statements(text: &str) -> Vec<&str> {
    text.split("\n--- ")
        .filter_map(|entry| entry.split_once('\n').map(|(_, sql)| sql.trim()))
        .filter(|sql| !sql.is_empty() && !sql.starts_with("--"))
        .collect()
}

/// Microseconds per statement, over enough rounds to pass a second.
fn per_statement(sqls: &[&str]) -> f64 {
    let mut rounds = 1u32;
    loop {
        let start = Instant::now();
        for _ in 0..rounds {
            for sql in sqls {
                std::hint::black_box(mallard_worker::analyze_for_bench(std::hint::black_box(sql)));
            }
        }
        let elapsed = start.elapsed();
        if elapsed.as_secs_f64() > 1.0 {
            return elapsed.as_secs_f64() * 1e6 / f64::from(rounds) / sqls.len() as f64;
        }
        rounds *= 2;
    }
}

fn main() {
    println!("{:<12} {:>10} {:>12} {:>14}", "statements", "count", "mean bytes", "us/statement");
    for (name, text) in CORPUS {
        let sqls = statements(text);
        let bytes = sqls.iter().map(|s| s.len()).sum::<usize>() / sqls.len().max(1);
        println!("{name:<12} {:>10} {bytes:>12} {:>14.2}", sqls.len(), per_statement(&sqls));
    }
    let bytes = ORDINARY.iter().map(|s| s.len()).sum::<usize>() / ORDINARY.len();
    println!("{:<12} {:>10} {bytes:>12} {:>14.2}", "pgbench", ORDINARY.len(), per_statement(ORDINARY));
}
