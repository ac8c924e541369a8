//! The floor for `benches/run.sh`: DuckDB itself, in-process, running what pgbench runs
//! against a server, with one connection and prepared statements per thread and no
//! protocol in between. Built from the worker's own DuckDB (same crate, features and
//! profile), so it costs no second DuckDB build.
//!
//!   embedded WORKLOAD THREADS SECONDS [DATABASE]
//!   embedded time DATABASE WARMUPS RUNS FILE...
//!
//! WORKLOAD is `select1` (`select 1`), `select-only` (pgbench -S), `tpcb` (pgbench's
//! default script, retried on conflicts as `--max-tries` does), `tpcb-serial` (the same,
//! one transaction at a time: what serialising writers would give), `query:SQL` (any
//! statement without parameters, read to the end) or `random:FILE,FILE...` (one of the
//! files' statements at random per transaction, as pgbench picks among `-f` scripts);
//! the pgbench ones need DATABASE, a DuckDB file that `pgbench -i` filled through
//! mallard. Prints `tps N` and, for tpcb, `retried N failed N`.
//!
//! `time` runs the statements of each FILE (separated by `;` at a line's end) WARMUPS
//! times untimed, then RUNS times timed, and prints `ms FILE MEAN` per file: the TPC-H
//! load and queries.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use mallard_worker::embedded::{Embedded, Session, Statement};
use rand::Rng;

const TPCB: &[&str] = &[
    "UPDATE pgbench_accounts SET abalance = abalance + $1 WHERE aid = $2",
    "SELECT abalance FROM pgbench_accounts WHERE aid = $1",
    "UPDATE pgbench_tellers SET tbalance = tbalance + $1 WHERE tid = $2",
    "UPDATE pgbench_branches SET bbalance = bbalance + $1 WHERE bid = $2",
    "INSERT INTO pgbench_history (tid, bid, aid, delta, mtime) VALUES ($1, $2, $3, $4, CURRENT_TIMESTAMP)",
];

/// Taken around each transaction by `tpcb-serial`.
static SERIAL: std::sync::Mutex<()> = std::sync::Mutex::new(());

#[derive(Default)]
struct Counts {
    done: AtomicU64,
    retried: AtomicU64,
    failed: AtomicU64,
}

enum Workload {
    /// `select 1`, or any statement without parameters.
    Select1(Statement),
    SelectOnly(Statement),
    /// One of these, at random.
    Random(Vec<Statement>),
    Tpcb {
        begin: Statement,
        commit: Statement,
        rollback: Statement,
        steps: Vec<Statement>,
    },
}

fn prepare(session: &Session, workload: &str) -> Result<Workload, String> {
    Ok(match workload {
        "select1" => Workload::Select1(session.prepare("select 1")?),
        query if query.starts_with("query:") => Workload::Select1(session.prepare(&query["query:".len()..])?),
        "select-only" => Workload::SelectOnly(session.prepare(TPCB[1])?),
        files if files.starts_with("random:") => Workload::Random(
            files["random:".len()..]
                .split(',')
                .map(|f| session.prepare(&read_sql(f)?))
                .collect::<Result<_, _>>()?,
        ),
        "tpcb" | "tpcb-serial" => Workload::Tpcb {
            begin: session.prepare("BEGIN TRANSACTION")?,
            commit: session.prepare("COMMIT")?,
            rollback: session.prepare("ROLLBACK")?,
            steps: TPCB.iter().map(|sql| session.prepare(sql)).collect::<Result<_, _>>()?,
        },
        other => return Err(format!("unknown workload {other}")),
    })
}

/// One transaction of the workload; `Ok(false)` when it ran into a conflict.
fn transaction(workload: &Workload, scale: i64, rng: &mut impl Rng) -> Result<bool, String> {
    match workload {
        Workload::Select1(s) => s.run(&[]).map(|_| true),
        Workload::SelectOnly(s) => s.run(&[rng.gen_range(1..=100_000 * scale)]).map(|_| true),
        Workload::Random(all) => all[rng.gen_range(0..all.len())].run(&[]).map(|_| true),
        Workload::Tpcb { begin, commit, rollback, steps } => {
            let aid = rng.gen_range(1..=100_000 * scale);
            let bid = rng.gen_range(1..=scale);
            let tid = rng.gen_range(1..=10 * scale);
            let delta = rng.gen_range(-5000..=5000);
            begin.run(&[])?;
            let outcome = steps[0]
                .run(&[delta, aid])
                .and_then(|_| steps[1].run(&[aid]))
                .and_then(|_| steps[2].run(&[delta, tid]))
                .and_then(|_| steps[3].run(&[delta, bid]))
                .and_then(|_| steps[4].run(&[tid, bid, aid, delta]))
                .and_then(|_| commit.run(&[]));
            match outcome {
                Ok(_) => Ok(true),
                Err(e) if e.contains("onflict") => {
                    let _ = rollback.run(&[]);
                    Ok(false)
                }
                Err(e) => {
                    let _ = rollback.run(&[]);
                    Err(e)
                }
            }
        }
    }
}

fn read_sql(path: &str) -> Result<String, String> {
    std::fs::read_to_string(path).map_err(|e| format!("{path}: {e}"))
}

/// `embedded time DATABASE WARMUPS RUNS FILE...`.
fn time(args: &[String]) -> Result<(), String> {
    let [database, warmups, runs, files @ ..] = args else {
        return Err("usage: embedded time DATABASE WARMUPS RUNS FILE...".to_owned());
    };
    let number = |s: &str| s.parse::<u32>().map_err(|_| format!("{s} is not a number"));
    let (warmups, runs) = (number(warmups)?, number(runs)?);
    let db = Embedded::open(Some(database))?;
    let session = db.connect()?;
    for file in files {
        let text = read_sql(file)?;
        let statements: Vec<&str> = text.split(";\n").filter(|s| !s.trim().is_empty()).collect();
        let mut total = Duration::ZERO;
        for run in 0..warmups + runs {
            let started = Instant::now();
            for sql in &statements {
                session.prepare(sql)?.run(&[]).map_err(|e| format!("{file}: {e}"))?;
            }
            if run >= warmups {
                total += started.elapsed();
            }
        }
        println!("ms {file} {:.1}", total.as_secs_f64() * 1000.0 / f64::from(runs.max(1)));
    }
    Ok(())
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().map(String::as_str) == Some("time") {
        if let Err(e) = time(&args[1..]) {
            eprintln!("{e}");
            std::process::exit(1);
        }
        return;
    }
    let [workload, threads, seconds, rest @ ..] = args.as_slice() else {
        eprintln!("usage: embedded WORKLOAD THREADS SECONDS [DATABASE]");
        std::process::exit(2);
    };
    let threads: usize = threads.parse().expect("THREADS is a number");
    let seconds: u64 = seconds.parse().expect("SECONDS is a number");
    let db = Arc::new(Embedded::open(rest.first().map(String::as_str)).unwrap_or_else(|e| {
        eprintln!("could not open the database: {e}");
        std::process::exit(1);
    }));
    let scale = if workload == "select1" || workload.starts_with("query:") || workload.starts_with("random:")
    {
        1
    } else {
        let session = db.connect().expect("connect");
        let branches = session.prepare("select count(*) from pgbench_branches").expect("pgbench tables");
        branches.first_integer().expect("count").max(1)
    };
    let counts = Arc::new(Counts::default());
    let stop = Arc::new(AtomicBool::new(false));
    let started = Instant::now();
    let handles: Vec<_> = (0..threads)
        .map(|_| {
            let (db, counts, stop, workload_name) =
                (Arc::clone(&db), Arc::clone(&counts), Arc::clone(&stop), workload.clone());
            std::thread::spawn(move || {
                let session = db.connect().expect("connect");
                let workload = prepare(&session, &workload_name).expect("prepare");
                let mut rng = rand::thread_rng();
                let serial = workload_name == "tpcb-serial";
                while !stop.load(Ordering::Relaxed) {
                    let _turn =
                        serial.then(|| SERIAL.lock().unwrap_or_else(std::sync::PoisonError::into_inner));
                    let mut tries = 0;
                    loop {
                        tries += 1;
                        match transaction(&workload, scale, &mut rng) {
                            Ok(true) => {
                                counts.done.fetch_add(1, Ordering::Relaxed);
                                break;
                            }
                            Ok(false) if tries < 100 => {
                                counts.retried.fetch_add(1, Ordering::Relaxed);
                            }
                            Ok(false) | Err(_) => {
                                counts.failed.fetch_add(1, Ordering::Relaxed);
                                break;
                            }
                        }
                    }
                }
            })
        })
        .collect();
    std::thread::sleep(Duration::from_secs(seconds));
    stop.store(true, Ordering::Relaxed);
    for h in handles {
        h.join().expect("bench thread");
    }
    let elapsed = started.elapsed().as_secs_f64();
    println!("tps {:.1}", counts.done.load(Ordering::Relaxed) as f64 / elapsed);
    if workload.starts_with("tpcb") {
        println!(
            "retried {} failed {}",
            counts.retried.load(Ordering::Relaxed),
            counts.failed.load(Ordering::Relaxed)
        );
    }
}
