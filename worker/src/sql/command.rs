//! What kind of statement a string is, from its leading keywords, and the command tag
//! PostgreSQL would write for it.

use super::lexer::Token;
use super::statement::Statement;
use super::utility::{self, DeclareCursor, Discard, Fetch, ParseError, Reset, Savepoint, Set, Show};

/// The statement classes the session treats differently.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    /// `BEGIN`, `START TRANSACTION`.
    Begin,
    /// `COMMIT`, `END`.
    Commit,
    /// `ROLLBACK`, `ABORT` (not `ROLLBACK TO SAVEPOINT`).
    Rollback,
    /// `SAVEPOINT`, `RELEASE`, `ROLLBACK TO`: answered by the session.
    Savepoint(Savepoint),
    /// `PREPARE TRANSACTION 'gid'`: two-phase commit, which mallard does not have
    /// (`max_prepared_transactions` is 0, as in a default PostgreSQL).
    PrepareTransaction,
    /// `COMMIT PREPARED 'gid'` (true) or `ROLLBACK PREPARED 'gid'`: no such transaction
    /// can exist.
    FinishPrepared {
        commit: bool,
        gid: String,
    },
    Select,
    Insert,
    Update,
    Delete,
    Merge,
    /// `CREATE TABLE ... AS`: PostgreSQL tags it `SELECT n`.
    CreateTableAs,
    /// Session settings, answered by the session without DuckDB.
    Set(Set),
    Reset(Reset),
    Show(Show),
    Discard(Discard),
    /// `DEALLOCATE [PREPARE] name`; `None` is `ALL`.
    Deallocate(Option<String>),
    DeclareCursor(DeclareCursor),
    Fetch(Fetch),
    Move(Fetch),
    /// `CLOSE name`; `None` is `ALL`.
    Close(Option<String>),
    /// `LISTEN channel`, the name as written (see [`utility::truncate_identifier`]).
    Listen(String),
    /// `UNLISTEN channel`; `None` is `*`.
    Unlisten(Option<String>),
    /// `NOTIFY channel [, 'payload']`; no payload is the empty one.
    Notify {
        channel: String,
        payload: String,
    },
    /// A statement of one of the kinds above that does not parse: answer with this error.
    Invalid(ParseError),
    /// Anything else, with its tag (`CREATE TABLE`, `SET`, `SHOW`, ...).
    Other(String),
}

impl Command {
    /// The `CommandComplete` tag, given the rows returned or changed.
    pub fn tag(&self, rows: u64) -> String {
        match self {
            Command::Begin => "BEGIN".into(),
            Command::Commit => "COMMIT".into(),
            Command::Rollback => "ROLLBACK".into(),
            Command::Savepoint(Savepoint::Define(_)) => "SAVEPOINT".into(),
            Command::Savepoint(Savepoint::Release(_)) => "RELEASE".into(),
            Command::Savepoint(Savepoint::RollbackTo(_)) => "ROLLBACK".into(),
            Command::PrepareTransaction => "PREPARE TRANSACTION".into(),
            Command::FinishPrepared { commit: true, .. } => "COMMIT PREPARED".into(),
            Command::FinishPrepared { commit: false, .. } => "ROLLBACK PREPARED".into(),
            Command::Select | Command::CreateTableAs => format!("SELECT {rows}"),
            Command::Insert => format!("INSERT 0 {rows}"),
            Command::Update => format!("UPDATE {rows}"),
            Command::Delete => format!("DELETE {rows}"),
            Command::Merge => format!("MERGE {rows}"),
            Command::Other(tag) if tag == "COPY" => format!("{tag} {rows}"),
            Command::Set(_) => "SET".into(),
            Command::Reset(_) => "RESET".into(),
            Command::Show(_) => "SHOW".into(),
            Command::Discard(what) => match what {
                Discard::All => "DISCARD ALL",
                Discard::Plans => "DISCARD PLANS",
                Discard::Sequences => "DISCARD SEQUENCES",
                Discard::Temp => "DISCARD TEMP",
            }
            .into(),
            Command::Deallocate(Some(_)) => "DEALLOCATE".into(),
            Command::Deallocate(None) => "DEALLOCATE ALL".into(),
            Command::DeclareCursor(_) => "DECLARE CURSOR".into(),
            Command::Fetch(_) => format!("FETCH {rows}"),
            Command::Move(_) => format!("MOVE {rows}"),
            Command::Close(Some(_)) => "CLOSE CURSOR".into(),
            Command::Close(None) => "CLOSE CURSOR ALL".into(),
            Command::Listen(_) => "LISTEN".into(),
            Command::Unlisten(_) => "UNLISTEN".into(),
            Command::Notify { .. } => "NOTIFY".into(),
            Command::Invalid(_) => "ERROR".into(),
            Command::Other(tag) => tag.clone(),
        }
    }
}

impl Command {
    /// Whether the statement leaves its DuckDB connection's own state as it found it,
    /// but for what the session tracks (its transaction, temporary objects, a `USE`d
    /// database, see `Session::leaves_connection_clean`): what it changes is the
    /// database's, not the connection's. `PRAGMA`, `USE`, `CALL`, SQL `PREPARE`,
    /// `ATTACH` and whatever else DuckDB takes do not, as far as mallard knows.
    pub fn leaves_connection_as_found(&self) -> bool {
        const DDL: &[&str] = &["TABLE", "VIEW", "INDEX", "SCHEMA", "SEQUENCE", "TYPE", "FUNCTION", "MACRO"];
        match self {
            Command::Other(tag) => match tag.split_once(' ') {
                Some(("CREATE" | "DROP" | "ALTER", kind)) => DDL.contains(&kind),
                _ => ["COPY", "TRUNCATE TABLE", "COMMENT", "ANALYZE", "EXPLAIN", "CHECKPOINT", "VACUUM"]
                    .contains(&tag.as_str()),
            },
            _ => true,
        }
    }

    /// DuckDB's `INSTALL`, `LOAD` and `UPDATE EXTENSIONS`: statements that bring code
    /// into the worker.
    pub fn loads_extension(&self) -> bool {
        matches!(self, Command::Other(tag) if ["INSTALL", "LOAD", "UPDATE EXTENSIONS"].contains(&tag.as_str()))
    }
}

/// Object kinds whose `CREATE`/`DROP`/`ALTER` tags name them.
const OBJECT_KINDS: &[&str] = &[
    "TABLE",
    "VIEW",
    "INDEX",
    "SCHEMA",
    "SEQUENCE",
    "TYPE",
    "FUNCTION",
    "MACRO",
    "DATABASE",
    "EXTENSION",
    "SECRET",
];

/// Classifies one statement.
pub fn classify(statement: &Statement<'_>) -> Command {
    let words: Vec<String> = statement
        .tokens()
        .iter()
        .take(8)
        .map_while(|(_, t)| match t {
            Token::Word(w) => Some(w.to_ascii_uppercase()),
            _ => None,
        })
        .collect();
    let word = |i: usize| words.get(i).map(String::as_str).unwrap_or("");
    match word(0) {
        "PREPARE" if word(1) == "TRANSACTION" => Command::PrepareTransaction,
        "COMMIT" | "ROLLBACK" if word(1) == "PREPARED" => Command::FinishPrepared {
            commit: word(0) == "COMMIT",
            gid: statement
                .tokens()
                .iter()
                .find_map(|(_, t)| match t {
                    Token::Literal(l) => Some(l.trim_matches('\'').replace("''", "'")),
                    _ => None,
                })
                .unwrap_or_default(),
        },
        "BEGIN" => Command::Begin,
        "START" if word(1) == "TRANSACTION" => Command::Begin,
        "COMMIT" | "END" if word(1) != "PREPARED" => Command::Commit,
        "ROLLBACK" | "ABORT" if !matches!(word(1), "TO" | "PREPARED") && word(2) != "TO" => Command::Rollback,
        "ROLLBACK" if word(1) != "PREPARED" => {
            parsed(utility::parse_savepoint(statement), Command::Savepoint)
        }
        "SAVEPOINT" | "RELEASE" => parsed(utility::parse_savepoint(statement), Command::Savepoint),
        "SELECT" | "VALUES" | "TABLE" | "FROM" | "DESCRIBE" | "SUMMARIZE" | "PIVOT" | "UNPIVOT" => {
            Command::Select
        }
        "WITH" => with_main_command(statement),
        "INSERT" => Command::Insert,
        // DuckDB's statements that fetch or load extension code.
        "FORCE" if word(1) == "INSTALL" => Command::Other("INSTALL".into()),
        "UPDATE" if word(1) == "EXTENSIONS" => Command::Other("UPDATE EXTENSIONS".into()),
        "UPDATE" => Command::Update,
        "DELETE" => Command::Delete,
        "MERGE" => Command::Merge,
        "CREATE" => ddl_tag("CREATE", &words[1..], statement),
        "DROP" | "ALTER" => ddl_tag(word(0), &words[1..], statement),
        "TRUNCATE" => Command::Other("TRUNCATE TABLE".into()),
        "SET" => parsed(utility::parse_set(statement), Command::Set),
        "RESET" => parsed(utility::parse_reset(statement), Command::Reset),
        "SHOW" => parsed(utility::parse_show(statement), Command::Show),
        "DISCARD" => parsed(utility::parse_discard(statement), Command::Discard),
        "DEALLOCATE" => parsed(utility::parse_deallocate(statement), Command::Deallocate),
        "DECLARE" => parsed(utility::parse_declare(statement), Command::DeclareCursor),
        "FETCH" => parsed(utility::parse_fetch(statement, "fetch"), Command::Fetch),
        "MOVE" => parsed(utility::parse_fetch(statement, "move"), Command::Move),
        "CLOSE" => parsed(utility::parse_close(statement), Command::Close),
        "LISTEN" => parsed(utility::parse_listen(statement), Command::Listen),
        "UNLISTEN" => parsed(utility::parse_unlisten(statement), Command::Unlisten),
        "NOTIFY" => parsed(utility::parse_notify(statement), |(channel, payload)| Command::Notify {
            channel,
            payload,
        }),
        "" => Command::Other("SELECT".into()),
        first => Command::Other(first.to_owned()),
    }
}

fn parsed<T>(result: Result<T, ParseError>, make: fn(T) -> Command) -> Command {
    result.map_or_else(Command::Invalid, make)
}

/// `CREATE [OR REPLACE] [TEMP|TEMPORARY|UNLOGGED|UNIQUE] <kind>`, and CTAS.
fn ddl_tag(verb: &str, rest: &[String], statement: &Statement<'_>) -> Command {
    let kind = rest.iter().map(String::as_str).find(|w| {
        !matches!(
            *w,
            "OR" | "REPLACE" | "TEMP" | "TEMPORARY" | "UNLOGGED" | "UNIQUE" | "PERSISTENT" | "MATERIALIZED"
        )
    });
    match kind {
        Some("TABLE") if verb == "CREATE" && creates_from_query(statement) => Command::CreateTableAs,
        Some(kind) if OBJECT_KINDS.contains(&kind) => Command::Other(format!("{verb} {kind}")),
        _ => Command::Other(verb.to_owned()),
    }
}

/// Whether a `CREATE TABLE` has a top-level `AS`.
fn creates_from_query(statement: &Statement<'_>) -> bool {
    statement.has_top_level_word("AS")
}

/// `WITH ... <main statement>`: the first DML keyword outside the CTEs' parentheses.
fn with_main_command(statement: &Statement<'_>) -> Command {
    statement
        .top_level_words()
        .find_map(|w| match w.to_ascii_uppercase().as_str() {
            "INSERT" => Some(Command::Insert),
            "UPDATE" => Some(Command::Update),
            "DELETE" => Some(Command::Delete),
            "MERGE" => Some(Command::Merge),
            "SELECT" | "VALUES" | "TABLE" | "FROM" => Some(Command::Select),
            _ => None,
        })
        .unwrap_or(Command::Select)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn classify(sql: &str) -> Command {
        super::classify(&Statement::new(sql))
    }

    #[test]
    fn tags_match_postgres() {
        let cases = [
            ("select 1", 3, "SELECT 3"),
            ("insert into t values (1)", 1, "INSERT 0 1"),
            ("update t set x = 1", 2, "UPDATE 2"),
            ("delete from t", 1, "DELETE 1"),
            ("create table t (x int)", 0, "CREATE TABLE"),
            ("CREATE OR REPLACE TEMP VIEW v AS select 1", 0, "CREATE VIEW"),
            ("create unique index i on t (x)", 0, "CREATE INDEX"),
            ("create table t as select 1", 1, "SELECT 1"),
            ("drop table if exists t", 0, "DROP TABLE"),
            ("alter table t add column y int", 0, "ALTER TABLE"),
            ("truncate t", 0, "TRUNCATE TABLE"),
            ("set x = 1", 0, "SET"),
            ("reset all", 0, "RESET"),
            ("show all", 0, "SHOW"),
            ("discard all", 0, "DISCARD ALL"),
            ("deallocate all", 0, "DEALLOCATE ALL"),
            ("deallocate s", 0, "DEALLOCATE"),
            ("declare c cursor for select 1", 0, "DECLARE CURSOR"),
            ("fetch 2 from c", 2, "FETCH 2"),
            ("move all in c", 0, "MOVE 0"),
            ("close c", 0, "CLOSE CURSOR"),
            ("close all", 0, "CLOSE CURSOR ALL"),
            ("listen c", 0, "LISTEN"),
            ("unlisten *", 0, "UNLISTEN"),
            ("notify c, 'x'", 0, "NOTIFY"),
            ("with a as (select 1) insert into t select * from a", 1, "INSERT 0 1"),
            ("with a as (delete from t returning *) select * from a", 4, "SELECT 4"),
        ];
        for (sql, rows, tag) in cases {
            assert_eq!(classify(sql).tag(rows), tag, "{sql}");
        }
    }

    #[test]
    fn transaction_control() {
        assert_eq!(classify("BEGIN ISOLATION LEVEL SERIALIZABLE"), Command::Begin);
        assert_eq!(classify("start transaction read only"), Command::Begin);
        assert_eq!(classify("end"), Command::Commit);
        assert_eq!(classify("abort"), Command::Rollback);
        assert_ne!(classify("rollback to savepoint a"), Command::Rollback);
        assert_ne!(classify("commit prepared 'x'"), Command::Commit);
        assert_eq!(classify("/* hi */ commit"), Command::Commit);
    }

    #[test]
    fn statements_that_load_code_are_known() {
        for sql in
            ["load httpfs", "INSTALL 'x.duckdb_extension'", "force install ducklake", "update extensions"]
        {
            assert!(classify(sql).loads_extension(), "{sql}");
        }
        for sql in ["update extensions_log set x = 1", "select load", "update t set installed = true"] {
            assert!(!classify(sql).loads_extension(), "{sql}");
        }
    }
}
