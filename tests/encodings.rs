//! Client encodings against a real PostgreSQL 15: psql, told its encoding by
//! `PGCLIENTENCODING` as an application would be, sends the same bytes to both servers,
//! and what each answers (rows, errors, COPY data, in the client's bytes) must be the
//! same. Every byte 0x80..=0xFF of every encoding is stored, read back in that
//! encoding and in UTF8, so the conversion tables are checked byte by byte; characters
//! an encoding lacks and bytes it does not map give PostgreSQL's errors.

use std::io::Write;
use std::process::{Command, Output, Stdio};

use mallard_harness::pair::Pair;

const ENCODINGS: &[&str] = &[
    "LATIN1",
    "LATIN2",
    "LATIN3",
    "LATIN4",
    "LATIN5",
    "LATIN6",
    "LATIN7",
    "LATIN8",
    "LATIN9",
    "LATIN10",
    "ISO_8859_5",
    "ISO_8859_6",
    "ISO_8859_7",
    "ISO_8859_8",
    "WIN866",
    "WIN874",
    "WIN1250",
    "WIN1251",
    "WIN1252",
    "WIN1253",
    "WIN1254",
    "WIN1255",
    "WIN1256",
    "WIN1257",
    "WIN1258",
    "KOI8R",
    "KOI8U",
];

/// Spellings of encoding names: PostgreSQL's aliases fold to its canonical names, and a
/// name it does not know is refused.
const SPELLINGS: &[&str] = &[
    "latin1",
    "ISO88591",
    "iso_8859_1",
    "ISO-8859-15",
    "latin10",
    "win1252",
    "windows1252",
    "Windows-1251",
    "win",
    "alt",
    "koi8",
    "koi8u",
    "iso_8859_5",
    "abc",
    "tcvn",
    "UNICODE",
    "unicode",
    "utf-8",
    "sql_ascii",
    "cp1252",
    "bogus",
];

/// psql on either server of `pair`, with `encoding` as its client encoding, reading
/// `script` (bytes in that encoding) from standard input.
fn psql(pair: &Pair, mallard: bool, encoding: &str, script: &[u8]) -> Output {
    let (port, user, database) = if mallard {
        (pair.mallard.port, "tester", "mallard")
    } else {
        (pair.pg.port, pair.pg.user, pair.pg.database)
    };
    let mut child = Command::new("psql")
        .args(["-X", "-A", "-h", "127.0.0.1", "-p", &port.to_string(), "-U", user, "-d", database])
        .env("PGCLIENTENCODING", encoding)
        .env("PGCONNECT_TIMEOUT", "10")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run psql (install postgresql-client)");
    child.stdin.take().unwrap().write_all(script).unwrap();
    child.wait_with_output().unwrap()
}

/// Runs `script` on both servers and records where their answers differ.
fn compare(pair: &Pair, encoding: &str, what: &str, script: &[u8], differences: &mut Vec<String>) {
    let pg = psql(pair, false, encoding, script);
    let ours = psql(pair, true, encoding, script);
    for (stream, theirs, ours) in [("stdout", &pg.stdout, &ours.stdout), ("stderr", &pg.stderr, &ours.stderr)]
    {
        let (theirs, ours) = (theirs.split(|&b| b == b'\n'), ours.split(|&b| b == b'\n'));
        let (theirs, ours): (Vec<&[u8]>, Vec<&[u8]>) = (theirs.collect(), ours.collect());
        for i in 0..theirs.len().max(ours.len()) {
            let (t, o) = (theirs.get(i), ours.get(i));
            if t != o {
                differences.push(format!(
                    "{encoding} {what} {stream} line {}: PostgreSQL {:?}, mallard {:?}",
                    i + 1,
                    t.map(|l| String::from_utf8_lossy(l).into_owned()),
                    o.map(|l| String::from_utf8_lossy(l).into_owned()),
                ));
            }
        }
    }
}

/// What one encoding's client does: the table of every high byte, errors both ways,
/// COPY out in text and CSV, COPY in.
fn client_script(table: &str) -> Vec<u8> {
    let mut s = Vec::new();
    s.extend_from_slice(b"\\set SHOW_CONTEXT never\n\\encoding\nshow client_encoding;\n");
    writeln!(s, "create table {table} (b int, v text);").unwrap();
    for b in 0x80..=0xFFu8 {
        write!(s, "insert into {table} values ({b}, 'x").unwrap();
        s.push(b);
        s.extend_from_slice(b"y');\n");
    }
    writeln!(s, "select b, v, length(v) from {table} order by b;").unwrap();
    // No single-byte encoding has HIRAGANA LETTER A.
    writeln!(s, "select 'a' || chr(12354) as v;\n\\echo :SQLSTATE").unwrap();
    writeln!(s, "select chr(12354) = 'b';\n\\echo :SQLSTATE").unwrap();
    writeln!(s, "copy (select b, v from {table} where b % 3 = 0 order by b) to stdout;").unwrap();
    writeln!(
        s,
        "copy (select b, v from {table} where b % 3 = 1 order by b) to stdout with (format csv, header);"
    )
    .unwrap();
    writeln!(s, "create table {table}_in (v text);\ncopy {table}_in from stdin;").unwrap();
    s.extend_from_slice(b"caf\xe9 \xe0 la \xc7\xd1\xf6\n\xa4\xbd\xbe\n\\.\n");
    writeln!(s, "copy {table}_in from stdin with (format csv);").unwrap();
    s.extend_from_slice(b"\"\xc0\xc1,\xfe\"\n\xb5\n\\.\n");
    writeln!(s, "select v from {table}_in order by v;").unwrap();
    s
}

#[test]
fn each_encoding_converts_as_postgresql_does() {
    let pair = Pair::start(env!("CARGO_BIN_EXE_mallard"));
    let mut differences = Vec::new();
    for encoding in ENCODINGS {
        let table = format!("t_{}", encoding.to_ascii_lowercase());
        compare(&pair, encoding, "client", &client_script(&table), &mut differences);
        // The same rows, read by a UTF8 client: the bytes were read as PostgreSQL reads them.
        let check = format!("select b, v from {table} order by b;\nselect v from {table}_in order by v;\n");
        compare(&pair, "UTF8", &format!("{encoding} read back"), check.as_bytes(), &mut differences);
    }
    pair.assert_no_differences("answers", &differences);
}

#[test]
fn encoding_names_show_as_postgresql_shows_them() {
    let pair = Pair::start(env!("CARGO_BIN_EXE_mallard"));
    let mut script = String::from("\\set SHOW_CONTEXT never\n");
    for name in SPELLINGS {
        // `\encoding` prints what the last ParameterStatus said.
        script.push_str(&format!("set client_encoding = '{name}';\nshow client_encoding;\n\\encoding\n"));
        script.push_str("set client_encoding = 'UTF8';\n");
    }
    script.push_str(
        "set names 'win1252';\nshow client_encoding;\nreset client_encoding;\nshow client_encoding;\n",
    );
    // A change applies to the statements after it in the same query string.
    script.push_str("set client_encoding = 'LATIN1'; select chr(233) || chr(8364);\n\\echo :SQLSTATE\n");
    script.push_str("begin;\nset local client_encoding = 'LATIN9';\nselect chr(8364);\ncommit;\n");
    script.push_str("show client_encoding;\n\\encoding\n");
    let mut differences = Vec::new();
    compare(&pair, "UTF8", "names", script.as_bytes(), &mut differences);
    pair.assert_no_differences("answers", &differences);
}
