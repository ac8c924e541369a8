//! A real PostgreSQL 15 and mallard side by side, one raw connection to each, for
//! tests that compare mallard's answers with PostgreSQL's.

use crate::{Options, Server};

use crate::postgres_server::Postgres;
use crate::raw_client::{RawClient, Reply};

pub struct Pair {
    // Fields drop in order: the sessions end before the servers stop, so mallard's
    // shutdown does not wait for them.
    pub pg_client: RawClient,
    pub mallard_client: RawClient,
    pub pg: Postgres,
    pub mallard: Server,
}

impl Pair {
    /// `bin` is the mallard binary under test.
    pub fn start(bin: &str) -> Pair {
        let pg = Postgres::start();
        let pg_client = RawClient::connect(pg.port, pg.user, pg.database)
            .unwrap_or_else(|e| panic!("PostgreSQL: {e}\nlog:\n{}", pg.logs()));
        let mallard = Server::start(bin, Options::default());
        let mallard_client = RawClient::connect(mallard.port, "tester", "mallard")
            .unwrap_or_else(|e| panic!("mallard: {e}\nlog:\n{}", log_tail(&mallard.logs())));
        Pair { pg_client, mallard_client, pg, mallard }
    }

    pub fn pg_query(&mut self, sql: &str) -> Reply {
        self.pg_client
            .query(sql)
            .unwrap_or_else(|e| panic!("PostgreSQL, {sql:?}: {e}\nlog:\n{}", self.pg.logs()))
    }

    pub fn mallard_query(&mut self, sql: &str) -> Reply {
        self.mallard_client
            .query(sql)
            .unwrap_or_else(|e| panic!("mallard, {sql:?}: {e}\nlog:\n{}", log_tail(&self.mallard.logs())))
    }

    /// Fails with every difference at once, and mallard's log.
    pub fn assert_no_differences(&self, what: &str, differences: &[String]) {
        assert!(
            differences.is_empty(),
            "{} of the {what} differ from PostgreSQL 15:\n{}\nmallard log (tail):\n{}",
            differences.len(),
            differences.join("\n"),
            log_tail(&self.mallard.logs())
        );
    }
}

pub fn log_tail(log: &str) -> String {
    let lines: Vec<&str> = log.lines().collect();
    lines[lines.len().saturating_sub(40)..].join("\n")
}
