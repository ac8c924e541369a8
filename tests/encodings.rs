//! Client encodings against a real PostgreSQL 15: psql, told its encoding by
//! `PGCLIENTENCODING` as an application would be, sends the same bytes to both servers,
//! and what each answers (rows, errors, COPY data, in the client's bytes) must be the
//! same. Every byte 0x80..=0xFF of every single-byte encoding, and every lead byte of
//! every multi-byte one with the edges of its trail bytes, is stored, read back in that
//! encoding and in UTF8; characters an encoding lacks, bytes it does not map and bytes
//! that are not a character of it give PostgreSQL's errors.

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

/// The multi-byte encodings mallard converts, and the lead bytes PostgreSQL reads as
/// the start of three bytes (valid ones only in EUC_JP).
const MULTIBYTE: &[(&str, &[u8])] = &[
    ("EUC_JP", &[0x8F]),
    ("SJIS", &[]),
    ("EUC_KR", &[0x8F]),
    ("UHC", &[]),
    ("EUC_CN", &[0x8E, 0x8F]),
    ("GBK", &[]),
    ("BIG5", &[]),
];

/// Trail bytes tried after every lead byte: the edges of the trail ranges of the
/// encodings above, none of them a quote or backslash (psql reads the script in the
/// client encoding too, and must see the same statements).
const TRAILS: &[u8] = &[0x40, 0x7E, 0x80, 0xA0, 0xA1, 0xA2, 0xDF, 0xE0, 0xFC, 0xFE];

/// Characters read in each encoding: kana, kanji, hangul, hanzi, the ones whose
/// PostgreSQL mapping differs between the Japanese tables (yen, overline, wave dash,
/// minus, roman numerals, NEC and IBM extensions), private use, and beyond the BMP.
const CODE_POINTS: &[u32] = &[
    0xA5, 0xA6, 0xA7, 0xB7, 0xE9, 0x0101, 0x2014, 0x2015, 0x2016, 0x203E, 0x20AC, 0x2116, 0x2160, 0x2170,
    0x2212, 0x2225, 0x301C, 0x3042, 0x30A2, 0x30FB, 0x3131, 0x3231, 0x4E00, 0x4E28, 0x4E2D, 0x5F45, 0x7881,
    0x9F98, 0xAC00, 0xD7A3, 0xE000, 0xE5E5, 0xF929, 0xFF5E, 0xFF71, 0xFFE2, 0xFFE4, 0x20000,
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

/// What a multi-byte encoding's client does: every lead byte with the trails above
/// (and three-byte sequences), stored or refused; characters read in the encoding or
/// refused; COPY out and in, with rows long enough that psql's copy buffer ends inside
/// a character, and a line with a broken one.
fn multibyte_script(table: &str, long_leads: &[u8]) -> Vec<u8> {
    let mut s = Vec::new();
    s.extend_from_slice(b"\\set SHOW_CONTEXT never\n\\encoding\nshow client_encoding;\n");
    writeln!(s, "create table {table} (b int, v text);").unwrap();
    let mut sequences: Vec<Vec<u8>> = Vec::new();
    for lead in 0x80..=0xFFu8 {
        for &trail in TRAILS {
            if long_leads.contains(&lead) {
                sequences.extend([vec![lead, 0xA1, trail], vec![lead, 0xB0, trail], vec![lead, 0xFE, trail]]);
            } else {
                sequences.push(vec![lead, trail]);
            }
        }
    }
    for (i, seq) in sequences.iter().enumerate() {
        write!(s, "insert into {table} values ({i}, 'x").unwrap();
        s.extend_from_slice(seq);
        s.extend_from_slice(b"y');\n");
    }
    writeln!(s, "select b, v, length(v) from {table} order by b;").unwrap();
    for cp in CODE_POINTS {
        writeln!(s, "select {cp}, 'a' || chr({cp}) || 'b';").unwrap();
    }
    writeln!(s, "select chr(12354) = 'b';\n\\echo :SQLSTATE").unwrap();
    writeln!(s, "copy (select b, v from {table} where b % 3 = 0 order by b) to stdout;").unwrap();
    writeln!(
        s,
        "copy (select b, v from {table} where b % 3 = 1 order by b) to stdout with (format csv, header);"
    )
    .unwrap();
    // Lines longer than psql's copy buffer, of two-byte characters at both parities
    // (and three-byte ones), so that some CopyData message ends inside a character.
    let valid = good_pair(table);
    // JIS X 0212's first kanji, in EUC_JP's three bytes.
    let long = (table == "t_euc_jp").then_some([0x8F, 0xB0, 0xA1]);
    writeln!(s, "create table {table}_in (v text);\ncopy {table}_in from stdin;").unwrap();
    for prefix in ["", "a", "ab"] {
        s.extend_from_slice(prefix.as_bytes());
        for _ in 0..5000 {
            s.extend_from_slice(&valid);
        }
        s.push(b'\n');
    }
    if let Some(long) = long {
        for prefix in ["", "a", "ab"] {
            s.extend_from_slice(prefix.as_bytes());
            for _ in 0..4000 {
                s.extend_from_slice(&long);
            }
            s.push(b'\n');
        }
    }
    s.extend_from_slice(b"\\.\n");
    writeln!(s, "select length(v), md5(v), substr(v, 1, 3) from {table}_in order by 2;").unwrap();
    writeln!(s, "copy {table}_in from stdin with (format csv);").unwrap();
    s.extend_from_slice(b"\"");
    s.extend_from_slice(&valid);
    s.extend_from_slice(b",\"\n");
    s.extend_from_slice(&valid);
    s.extend_from_slice(b"\n\\.\n");
    // A lead byte before the end of the line.
    writeln!(s, "copy {table}_in from stdin;").unwrap();
    s.extend_from_slice(b"ok\nbad\x81\n\\.\n");
    writeln!(s, "select v from {table}_in where length(v) < 10 order by v;").unwrap();
    s
}

/// A two-byte character of the encoding `table` is named for: HIRAGANA LETTER A in
/// SJIS; elsewhere 0xB0 0xA1, the first kanji, hangul or hanzi of the main block.
fn good_pair(table: &str) -> [u8; 2] {
    if table == "t_sjis" {
        [0x82, 0xA0]
    } else {
        [0xB0, 0xA1]
    }
}

#[test]
fn each_multibyte_encoding_converts_as_postgresql_does() {
    let pair = Pair::start(env!("CARGO_BIN_EXE_mallard"));
    let mut differences = Vec::new();
    for (encoding, long_leads) in MULTIBYTE {
        let table = format!("t_{}", encoding.to_ascii_lowercase());
        compare(&pair, encoding, "client", &multibyte_script(&table, long_leads), &mut differences);
        let check = format!(
            "select b, v from {table} order by b;\nselect length(v), md5(v) from {table}_in order by 2;\n"
        );
        compare(&pair, "UTF8", &format!("{encoding} read back"), check.as_bytes(), &mut differences);
    }
    pair.assert_no_differences("answers", &differences);
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
