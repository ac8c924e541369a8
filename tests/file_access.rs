//! SQL reaches files only where the operator allows: by default the data directory, plus
//! `allowed_directories`; `file_access = "all"` gives DuckDB's default back.

use mallard_harness::{sqlstate, Options, Server};

fn start(env: Vec<(String, String)>) -> Server {
    Server::start(
        env!("CARGO_BIN_EXE_mallard"),
        Options { storage: "memory", workers: 1, env, ..Options::default() },
    )
}

/// A file outside every allowed directory, readable by the server's OS user.
fn outside() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("secret.csv"), "a\n42\n").unwrap();
    dir
}

#[test]
fn by_default_sql_reaches_only_the_data_directory() {
    let server = start(Vec::new());
    let other = outside();
    let mut c = server.connect();

    for sql in [
        format!("select * from read_csv('{}')", other.path().join("secret.csv").display()),
        "select * from read_text('/etc/hostname')".to_owned(),
        format!("copy (select 1) to '{}'", other.path().join("out.csv").display()),
        format!("attach '{}' as other", other.path().join("other.duckdb").display()),
    ] {
        let err = c.simple_query(&sql).expect_err(&sql);
        assert_eq!(sqlstate(&err), "42501", "{sql}: {err}");
    }
    assert!(!other.path().join("out.csv").exists() && !other.path().join("other.duckdb").exists());

    // Inside the data directory, files work as usual.
    let inside = server.data_dir.join("in.csv");
    std::fs::write(&inside, "a\n7\n").unwrap();
    let row = c.query_one(&format!("select a::int from read_csv('{}')", inside.display()), &[]).unwrap();
    assert_eq!(row.get::<_, i32>(0), 7);
    let out = server.data_dir.join("out.csv");
    c.batch_execute(&format!("copy (select 5 as b) to '{}'", out.display())).unwrap();
    assert!(std::fs::read_to_string(out).unwrap().contains('5'));
}

#[test]
fn allowed_directories_and_all_open_more() {
    let shared = outside();
    // A sibling whose name starts with the allowed one's stays closed.
    let sibling = std::path::PathBuf::from(format!("{}-private", shared.path().display()));
    std::fs::create_dir_all(&sibling).unwrap();
    std::fs::write(sibling.join("secret.csv"), "a\n1\n").unwrap();
    let server =
        start(vec![("MALLARD_ALLOWED_DIRECTORIES".into(), format!("[\"{}\"]", shared.path().display()))]);
    let mut c = server.connect();
    let row = c
        .query_one(
            &format!("select a::int from read_csv('{}')", shared.path().join("secret.csv").display()),
            &[],
        )
        .unwrap();
    assert_eq!(row.get::<_, i32>(0), 42);
    let err = c
        .simple_query(&format!("select * from read_csv('{}')", sibling.join("secret.csv").display()))
        .unwrap_err();
    assert_eq!(sqlstate(&err), "42501", "{err}");
    std::fs::remove_dir_all(&sibling).unwrap();

    let open = start(vec![("MALLARD_FILE_ACCESS".into(), "all".into())]);
    let row = open
        .connect()
        .query_one(
            &format!("select a::int from read_csv('{}')", shared.path().join("secret.csv").display()),
            &[],
        )
        .unwrap();
    assert_eq!(row.get::<_, i32>(0), 42);
}
