//! Client encodings: PostgreSQL's names for them, and conversion between a client's
//! encoding and UTF-8, the server encoding.
//!
//! A session whose client speaks UTF8, or SQL_ASCII (which PostgreSQL passes through
//! unconverted, checking only that input is valid UTF-8, as the decoder does anyway),
//! has no [`Encoding`]: the common path converts and checks nothing more.
//!
//! The single-byte tables are `encoding_rs`'s (the WHATWG Encoding Standard's), put
//! right where PostgreSQL's differ: WHATWG fills the holes of the Windows code pages with
//! the C1 controls where PostgreSQL has no mapping, its KOI8-U is KOI8-RU, and its
//! "iso-8859-9" is windows-1254. LATIN1 is the identity on U+0000..U+00FF (WHATWG's
//! "iso-8859-1" is windows-1252).
//!
//! The multi-byte tables ([`multibyte`]) are `encoding_rs`'s too, cut down to
//! PostgreSQL's byte layout of each encoding and corrected by [`fixes`], lists found by
//! converting every sequence and every BMP character with PostgreSQL 15. WHATWG's
//! versions are the browsers' supersets (Big5-HKSCS, a GBK that is GB18030's two-byte
//! part, an EUC-KR that is UHC, a Shift_JIS that is windows-31j), so most corrections
//! take mappings away.

mod fixes;
mod multibyte;

use std::borrow::Cow;
use std::fmt;
use std::sync::OnceLock;

/// A client encoding other than UTF-8 that mallard converts.
pub struct Encoding {
    /// PostgreSQL's name for it, as `SHOW client_encoding` prints it.
    pub name: &'static str,
    table: Table,
    /// Bytes 0x80..=0xFF to their code points (0: no mapping), and back, built on
    /// first use.
    maps: OnceLock<Maps>,
    /// The tables of a multi-byte encoding, built on first use.
    wide: OnceLock<multibyte::Maps>,
}

enum Table {
    Latin1,
    Multibyte {
        layout: multibyte::Layout,
        label: &'static str,
        /// PostgreSQL's mapping of packed sequences where it differs.
        decode_fixes: &'static [multibyte::Run],
        /// PostgreSQL's sequences for code points where it differs.
        encode_fixes: &'static [multibyte::Run],
    },
    Whatwg {
        label: &'static str,
        /// A byte in 0x80..=0x9F that WHATWG maps to the C1 control of the same number
        /// has no mapping in PostgreSQL.
        c1_holes: bool,
        /// PostgreSQL's mapping where it differs (code point 0: none).
        fixes: &'static [(u8, u16)],
    },
}

struct Maps {
    decode: [u16; 128],
    /// (code point, byte), sorted by code point.
    encode: Vec<(u16, u8)>,
}

const fn latin1() -> Encoding {
    Encoding { name: "LATIN1", table: Table::Latin1, maps: OnceLock::new(), wide: OnceLock::new() }
}

const fn whatwg(name: &'static str, label: &'static str) -> Encoding {
    Encoding {
        name,
        table: Table::Whatwg { label, c1_holes: false, fixes: &[] },
        maps: OnceLock::new(),
        wide: OnceLock::new(),
    }
}

const fn windows(name: &'static str, label: &'static str, fixes: &'static [(u8, u16)]) -> Encoding {
    Encoding {
        name,
        table: Table::Whatwg { label, c1_holes: true, fixes },
        maps: OnceLock::new(),
        wide: OnceLock::new(),
    }
}

const fn multibyte(
    name: &'static str,
    layout: multibyte::Layout,
    label: &'static str,
    (decode_fixes, encode_fixes): fixes::Fixes,
) -> Encoding {
    Encoding {
        name,
        table: Table::Multibyte { layout, label, decode_fixes, encode_fixes },
        maps: OnceLock::new(),
        wide: OnceLock::new(),
    }
}

/// ISO-8859-9 as PostgreSQL has it: windows-1254 above 0x9F, C1 controls below.
const LATIN5_C1: [(u8, u16); 32] = {
    let mut fixes = [(0u8, 0u16); 32];
    let mut i = 0;
    while i < 32 {
        fixes[i] = (0x80 + i as u8, 0x80 + i as u16);
        i += 1;
    }
    fixes
};

static CONVERTED: [Encoding; 34] = [
    latin1(),
    whatwg("LATIN2", "iso-8859-2"),
    whatwg("LATIN3", "iso-8859-3"),
    whatwg("LATIN4", "iso-8859-4"),
    Encoding {
        name: "LATIN5",
        table: Table::Whatwg { label: "windows-1254", c1_holes: false, fixes: &LATIN5_C1 },
        maps: OnceLock::new(),
        wide: OnceLock::new(),
    },
    whatwg("LATIN6", "iso-8859-10"),
    whatwg("LATIN7", "iso-8859-13"),
    whatwg("LATIN8", "iso-8859-14"),
    whatwg("LATIN9", "iso-8859-15"),
    whatwg("LATIN10", "iso-8859-16"),
    whatwg("ISO_8859_5", "iso-8859-5"),
    whatwg("ISO_8859_6", "iso-8859-6"),
    whatwg("ISO_8859_7", "iso-8859-7"),
    whatwg("ISO_8859_8", "iso-8859-8"),
    whatwg("WIN866", "ibm866"),
    windows("WIN874", "windows-874", &[]),
    windows("WIN1250", "windows-1250", &[]),
    windows("WIN1251", "windows-1251", &[]),
    windows("WIN1252", "windows-1252", &[]),
    windows("WIN1253", "windows-1253", &[]),
    windows("WIN1254", "windows-1254", &[]),
    // WHATWG adds HEBREW POINT HOLAM HASER FOR VAV at 0xCA.
    windows("WIN1255", "windows-1255", &[(0xCA, 0)]),
    windows("WIN1256", "windows-1256", &[]),
    windows("WIN1257", "windows-1257", &[]),
    windows("WIN1258", "windows-1258", &[]),
    whatwg("KOI8R", "koi8-r"),
    // KOI8-U proper has box drawings where KOI8-RU has Belarusian short U.
    Encoding {
        name: "KOI8U",
        table: Table::Whatwg { label: "koi8-u", c1_holes: false, fixes: &[(0xAE, 0x255D), (0xBE, 0x256C)] },
        maps: OnceLock::new(),
        wide: OnceLock::new(),
    },
    multibyte("EUC_JP", multibyte::Layout::EucJp, "euc-jp", fixes::EUC_JP),
    multibyte("SJIS", multibyte::Layout::Sjis, "shift_jis", fixes::SJIS),
    multibyte("EUC_KR", multibyte::Layout::EucKr, "euc-kr", fixes::EUC_KR),
    multibyte("UHC", multibyte::Layout::Lead, "euc-kr", fixes::UHC),
    multibyte("EUC_CN", multibyte::Layout::EucCn, "gbk", fixes::EUC_CN),
    multibyte("GBK", multibyte::Layout::Lead, "gbk", fixes::GBK),
    multibyte("BIG5", multibyte::Layout::Lead, "big5", fixes::BIG5),
];

/// Every encoding PostgreSQL takes as a client encoding, by every name it accepts for
/// it, as it compares names: lower case, letters and digits only.
const NAMES: &[(&str, &str)] = &[
    ("abc", "WIN1258"),
    ("alt", "WIN866"),
    ("big5", "BIG5"),
    ("euccn", "EUC_CN"),
    ("eucjis2004", "EUC_JIS_2004"),
    ("eucjp", "EUC_JP"),
    ("euckr", "EUC_KR"),
    ("euctw", "EUC_TW"),
    ("gb18030", "GB18030"),
    ("gbk", "GBK"),
    ("iso88591", "LATIN1"),
    ("iso885910", "LATIN6"),
    ("iso885913", "LATIN7"),
    ("iso885914", "LATIN8"),
    ("iso885915", "LATIN9"),
    ("iso885916", "LATIN10"),
    ("iso88592", "LATIN2"),
    ("iso88593", "LATIN3"),
    ("iso88594", "LATIN4"),
    ("iso88595", "ISO_8859_5"),
    ("iso88596", "ISO_8859_6"),
    ("iso88597", "ISO_8859_7"),
    ("iso88598", "ISO_8859_8"),
    ("iso88599", "LATIN5"),
    ("johab", "JOHAB"),
    ("koi8", "KOI8R"),
    ("koi8r", "KOI8R"),
    ("koi8u", "KOI8U"),
    ("latin1", "LATIN1"),
    ("latin10", "LATIN10"),
    ("latin2", "LATIN2"),
    ("latin3", "LATIN3"),
    ("latin4", "LATIN4"),
    ("latin5", "LATIN5"),
    ("latin6", "LATIN6"),
    ("latin7", "LATIN7"),
    ("latin8", "LATIN8"),
    ("latin9", "LATIN9"),
    ("mskanji", "SJIS"),
    ("muleinternal", "MULE_INTERNAL"),
    ("shiftjis", "SJIS"),
    ("shiftjis2004", "SHIFT_JIS_2004"),
    ("sjis", "SJIS"),
    ("sqlascii", "SQL_ASCII"),
    ("tcvn", "WIN1258"),
    ("tcvn5712", "WIN1258"),
    ("uhc", "UHC"),
    ("unicode", "UTF8"),
    ("utf8", "UTF8"),
    ("vscii", "WIN1258"),
    ("win", "WIN1251"),
    ("win1250", "WIN1250"),
    ("win1251", "WIN1251"),
    ("win1252", "WIN1252"),
    ("win1253", "WIN1253"),
    ("win1254", "WIN1254"),
    ("win1255", "WIN1255"),
    ("win1256", "WIN1256"),
    ("win1257", "WIN1257"),
    ("win1258", "WIN1258"),
    ("win866", "WIN866"),
    ("win874", "WIN874"),
    ("win932", "SJIS"),
    ("win936", "GBK"),
    ("win949", "UHC"),
    ("win950", "BIG5"),
    ("windows1250", "WIN1250"),
    ("windows1251", "WIN1251"),
    ("windows1252", "WIN1252"),
    ("windows1253", "WIN1253"),
    ("windows1254", "WIN1254"),
    ("windows1255", "WIN1255"),
    ("windows1256", "WIN1256"),
    ("windows1257", "WIN1257"),
    ("windows1258", "WIN1258"),
    ("windows866", "WIN866"),
    ("windows874", "WIN874"),
    ("windows932", "SJIS"),
    ("windows936", "GBK"),
    ("windows949", "UHC"),
    ("windows950", "BIG5"),
];

/// PostgreSQL's canonical name for the encoding `name` names, if it names one.
pub fn canonical(name: &str) -> Option<&'static str> {
    let key: String =
        name.chars().filter(char::is_ascii_alphanumeric).map(|c| c.to_ascii_lowercase()).collect();
    NAMES.iter().find(|(alias, _)| *alias == key).map(|&(_, canonical)| canonical)
}

/// What a session does for a client encoding, by its canonical name.
pub enum ForClient {
    /// UTF8 or SQL_ASCII: bytes pass as they are.
    Unconverted,
    Converted(&'static Encoding),
    /// An encoding PostgreSQL knows that mallard does not convert.
    Unsupported,
}

pub fn for_client(canonical: &str) -> ForClient {
    match canonical {
        "UTF8" | "SQL_ASCII" => ForClient::Unconverted,
        name => match CONVERTED.iter().find(|e| e.name == name) {
            Some(e) => ForClient::Converted(e),
            None => ForClient::Unsupported,
        },
    }
}

/// The encoding a session converts for, given `SHOW client_encoding`'s value.
pub fn session_encoding(shown: &str) -> Option<&'static Encoding> {
    match canonical(shown).map(for_client) {
        Some(ForClient::Converted(e)) => Some(e),
        _ => None,
    }
}

/// A character with no equivalent on the other side: PostgreSQL's 22P05.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "character with byte sequence {} in encoding \"{from}\" has no equivalent in encoding \"{to}\"",
    Hex(bytes)
)]
pub struct Untranslatable {
    pub bytes: Vec<u8>,
    pub from: &'static str,
    pub to: &'static str,
}

/// Bytes that are not a character of the client's encoding: PostgreSQL's 22021.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid byte sequence for encoding \"{encoding}\": {}", Hex(bytes))]
pub struct InvalidSequence {
    pub bytes: Vec<u8>,
    pub encoding: &'static str,
}

/// Why client bytes could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    #[error(transparent)]
    Untranslatable(#[from] Untranslatable),
    #[error(transparent)]
    Invalid(#[from] InvalidSequence),
}

struct Hex<'a>(&'a [u8]);

impl fmt::Display for Hex<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, b) in self.0.iter().enumerate() {
            write!(f, "{}0x{b:02x}", if i > 0 { " " } else { "" })?;
        }
        Ok(())
    }
}

impl Encoding {
    fn maps(&self) -> &Maps {
        self.maps.get_or_init(|| {
            let mut decode = [0u16; 128];
            match &self.table {
                // Never asked for: a multi-byte encoding converts through `wide`.
                Table::Multibyte { .. } => {}
                Table::Latin1 => {
                    for (i, d) in decode.iter_mut().enumerate() {
                        *d = 0x80 + i as u16;
                    }
                }
                Table::Whatwg { label, c1_holes, fixes } => {
                    let enc = encoding_rs::Encoding::for_label(label.as_bytes())
                        .expect("the WHATWG labels above are all known to encoding_rs");
                    for (i, d) in decode.iter_mut().enumerate() {
                        let byte = 0x80 + i as u8;
                        let one = [byte];
                        let (text, malformed) = enc.decode_without_bom_handling(&one);
                        let cp = text.chars().next().map_or(0, |c| c as u32);
                        let hole = *c1_holes && (0x80..0xA0).contains(&byte) && cp == u32::from(byte);
                        *d = if malformed || hole { 0 } else { u16::try_from(cp).unwrap_or(0) };
                    }
                    for &(byte, cp) in *fixes {
                        decode[usize::from(byte - 0x80)] = cp;
                    }
                }
            }
            let mut encode: Vec<(u16, u8)> = decode
                .iter()
                .enumerate()
                .filter(|(_, &cp)| cp != 0)
                .map(|(i, &cp)| (cp, 0x80 + i as u8))
                .collect();
            encode.sort_unstable();
            Maps { decode, encode }
        })
    }

    fn wide(&self) -> Option<(multibyte::Layout, &multibyte::Maps)> {
        let Table::Multibyte { layout, label, decode_fixes, encode_fixes } = &self.table else { return None };
        let maps =
            self.wide.get_or_init(|| multibyte::Maps::build(*layout, label, decode_fixes, encode_fixes));
        Some((*layout, maps))
    }

    /// How much of `bytes` ends on a character boundary: all of it, unless it ends
    /// inside a multi-byte character (as a `CopyData` message may).
    pub fn whole_prefix(&self, bytes: &[u8]) -> usize {
        let Table::Multibyte { layout, .. } = &self.table else { return bytes.len() };
        let mut at = 0;
        while let Some(&b) = bytes.get(at) {
            let len = if b < 0x80 { 1 } else { layout.len(b) };
            if at + len > bytes.len() {
                break;
            }
            at += len;
        }
        at
    }

    /// Client bytes to UTF-8 (ASCII comes back borrowed); bytes the encoding does not
    /// map, or that are not a character of it, are an error.
    pub fn decode<'a>(&self, bytes: &'a [u8]) -> Result<Cow<'a, [u8]>, DecodeError> {
        if bytes.is_ascii() {
            return Ok(Cow::Borrowed(bytes));
        }
        if let Some((layout, maps)) = self.wide() {
            return self.decode_wide(layout, maps, bytes).map(|text| Cow::Owned(text.into_bytes()));
        }
        let maps = self.maps();
        let mut out = String::with_capacity(bytes.len() + bytes.len() / 2);
        for &b in bytes {
            if b < 0x80 {
                out.push(char::from(b));
                continue;
            }
            let c = char::from_u32(u32::from(maps.decode[usize::from(b - 0x80)])).filter(|&c| c != '\0');
            match c {
                Some(c) => out.push(c),
                None => return Err(Untranslatable { bytes: vec![b], from: self.name, to: "UTF8" }.into()),
            }
        }
        Ok(Cow::Owned(out.into_bytes()))
    }

    fn decode_wide(
        &self,
        layout: multibyte::Layout,
        maps: &multibyte::Maps,
        bytes: &[u8],
    ) -> Result<String, DecodeError> {
        let mut out = String::with_capacity(bytes.len() * 3 / 2);
        let mut at = 0;
        while let Some(&b) = bytes.get(at) {
            if b < 0x80 {
                out.push(char::from(b));
                at += 1;
                continue;
            }
            let end = at + layout.len(b);
            let Some(seq) = bytes.get(at..end).filter(|seq| layout.valid(seq)) else {
                // As PostgreSQL, the error shows the character as far as it goes.
                let shown = bytes[at..end.min(bytes.len())].to_vec();
                return Err(InvalidSequence { bytes: shown, encoding: self.name }.into());
            };
            match maps.decode(seq) {
                Some(c) => out.push(c),
                None => {
                    return Err(Untranslatable { bytes: seq.to_vec(), from: self.name, to: "UTF8" }.into())
                }
            }
            at = end;
        }
        Ok(out)
    }

    /// UTF-8 text to client bytes; a character the encoding lacks is an error.
    pub fn encode<'a>(&self, text: &'a [u8]) -> Result<Cow<'a, [u8]>, Untranslatable> {
        self.encode_with(text, |c| {
            let mut bytes = [0; 4];
            Err(Untranslatable {
                bytes: c.encode_utf8(&mut bytes).as_bytes().to_vec(),
                from: "UTF8",
                to: self.name,
            })
        })
    }

    /// UTF-8 text to client bytes, with `?` for what the encoding lacks: for texts
    /// that must reach the client whatever they hold (notices, parameter values).
    pub fn encode_lossy<'a>(&self, text: &'a [u8]) -> Cow<'a, [u8]> {
        match self.encode_with(text, |_| Ok::<u8, Untranslatable>(b'?')) {
            Ok(bytes) => bytes,
            Err(_) => unreachable!("the fallback never fails"),
        }
    }

    /// Converts `buf[at..]`, UTF-8 text, to client bytes in place.
    pub fn convert_tail(&self, buf: &mut Vec<u8>, at: usize) -> Result<(), Untranslatable> {
        if buf[at..].is_ascii() {
            return Ok(());
        }
        let converted = self.encode(&buf[at..])?.into_owned();
        buf.truncate(at);
        buf.extend_from_slice(&converted);
        Ok(())
    }

    fn encode_with<'a, E>(
        &self,
        text: &'a [u8],
        mut missing: impl FnMut(char) -> Result<u8, E>,
    ) -> Result<Cow<'a, [u8]>, E> {
        if text.is_ascii() {
            return Ok(Cow::Borrowed(text));
        }
        let text = String::from_utf8_lossy(text);
        let mut out = Vec::with_capacity(text.len());
        if let Some((_, maps)) = self.wide() {
            for c in text.chars() {
                if c.is_ascii() {
                    out.push(c as u8);
                    continue;
                }
                match maps.encode(c) {
                    Some(packed) => multibyte::unpack(packed, &mut out),
                    None => out.push(missing(c)?),
                }
            }
            return Ok(Cow::Owned(out));
        }
        for c in text.chars() {
            let cp = c as u32;
            let byte = if cp < 0x80 {
                Some(cp as u8)
            } else if matches!(self.table, Table::Latin1) {
                u8::try_from(cp).ok()
            } else {
                let encode = &self.maps().encode;
                u16::try_from(cp)
                    .ok()
                    .and_then(|cp| encode.binary_search_by_key(&cp, |&(c, _)| c).ok())
                    .map(|i| encode[i].1)
            };
            out.push(match byte {
                Some(b) => b,
                None => missing(c)?,
            });
        }
        Ok(Cow::Owned(out))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn converted(name: &str) -> &'static Encoding {
        session_encoding(name).unwrap()
    }

    #[test]
    fn names_fold_as_postgresql_folds_them() {
        assert_eq!(canonical("latin1"), Some("LATIN1"));
        assert_eq!(canonical("ISO_8859-1"), Some("LATIN1"));
        assert_eq!(canonical("Windows-1252"), Some("WIN1252"));
        assert_eq!(canonical("unicode"), Some("UTF8"));
        assert_eq!(canonical("cp1252"), None);
        assert!(matches!(canonical("johab").map(for_client), Some(ForClient::Unsupported)));
        assert!(session_encoding("SQL_ASCII").is_none());
    }

    #[test]
    fn latin1_is_the_identity_on_the_first_256_code_points() {
        let latin1 = converted("LATIN1");
        let all: Vec<u8> = (1..=255).collect();
        let text = latin1.decode(&all).unwrap();
        assert_eq!(
            String::from_utf8(text.to_vec()).unwrap().chars().map(|c| c as u32).collect::<Vec<_>>(),
            (1..=255).collect::<Vec<u32>>()
        );
        assert_eq!(latin1.encode(&text).unwrap(), all.as_slice());
        // Not windows-1252, whatever WHATWG calls "iso-8859-1".
        assert!(latin1.encode("€".as_bytes()).is_err());
    }

    #[test]
    fn every_mapped_byte_comes_back() {
        for e in &CONVERTED {
            for b in 0x80..=0xFFu8 {
                if let Ok(text) = e.decode(&[b]) {
                    assert_eq!(e.encode(&text).unwrap(), [b].as_slice(), "{} {b:#x}", e.name);
                }
            }
        }
    }

    #[test]
    fn postgresql_fixes_apply() {
        let win1252 = converted("WIN1252");
        let err = win1252.decode(b"a\x81").unwrap_err();
        assert_eq!(
            err.to_string(),
            "character with byte sequence 0x81 in encoding \"WIN1252\" has no equivalent in encoding \"UTF8\""
        );
        assert_eq!(win1252.decode(b"\x80").unwrap(), "€".as_bytes());
        assert_eq!(converted("KOI8U").decode(b"\xae").unwrap(), "╝".as_bytes());
        assert_eq!(converted("LATIN5").decode(b"\x80\xd0").unwrap(), "\u{80}Ğ".as_bytes());
    }

    #[test]
    fn multibyte_characters_convert_both_ways() {
        let sjis = converted("SJIS");
        let text = "aあア亜\\";
        let bytes = b"a\x82\xa0\x83\x41\x88\x9f\\";
        assert_eq!(sjis.encode(text.as_bytes()).unwrap(), bytes.as_slice());
        assert_eq!(sjis.decode(bytes).unwrap(), text.as_bytes());
        // PostgreSQL's SJIS writes YEN SIGN as the ASCII backslash's byte.
        assert_eq!(sjis.encode("¥".as_bytes()).unwrap(), b"\\".as_slice());
        assert_eq!(converted("EUC_JP").decode(b"\x8f\xb0\xa1\x8e\xb1").unwrap(), "丂ｱ".as_bytes());
        assert_eq!(converted("UHC").decode(b"\x81\x41\xb0\xa1").unwrap(), "갂가".as_bytes());
    }

    #[test]
    fn every_multibyte_character_comes_back() {
        for e in CONVERTED.iter().filter(|e| matches!(e.table, Table::Multibyte { .. })) {
            for lead in 0x80..=0xFFu8 {
                for trail in 0x40..=0xFFu8 {
                    let pair = [lead, trail];
                    let Ok(text) = e.decode(&pair) else { continue };
                    let again = e.encode(&text).unwrap();
                    assert_eq!(e.decode(&again).unwrap(), text, "{} {lead:#x} {trail:#x}", e.name);
                }
            }
        }
    }

    #[test]
    fn multibyte_errors_are_postgresqls() {
        let sjis = converted("SJIS");
        let error = |e: &Encoding, bytes: &[u8]| e.decode(bytes).unwrap_err().to_string();
        assert_eq!(error(sjis, b"a\x81 "), "invalid byte sequence for encoding \"SJIS\": 0x81 0x20");
        assert_eq!(error(sjis, b"a\x81"), "invalid byte sequence for encoding \"SJIS\": 0x81");
        assert_eq!(
            error(sjis, b"\xf0\x40"),
            "character with byte sequence 0xf0 0x40 in encoding \"SJIS\" has no equivalent in encoding \"UTF8\""
        );
        assert_eq!(
            error(converted("EUC_JP"), b"\x8f\xa1"),
            "invalid byte sequence for encoding \"EUC_JP\": 0x8f 0xa1"
        );
        assert_eq!(
            sjis.encode("가".as_bytes()).unwrap_err().to_string(),
            "character with byte sequence 0xea 0xb0 0x80 in encoding \"UTF8\" has no equivalent in encoding \"SJIS\""
        );
    }

    #[test]
    fn a_prefix_ends_on_a_character_boundary() {
        let sjis = converted("SJIS");
        assert_eq!(sjis.whole_prefix(b"a\x82\xa0\x82"), 3);
        assert_eq!(sjis.whole_prefix(b"\xb1\xb1"), 2);
        assert_eq!(converted("EUC_JP").whole_prefix(b"a\x8f\xb0"), 1);
        assert_eq!(converted("LATIN1").whole_prefix(b"a\x8f"), 2);
    }

    #[test]
    fn unconvertible_output_names_the_utf8_bytes() {
        let err = converted("LATIN1").encode("a€".as_bytes()).unwrap_err();
        assert_eq!(
            err.to_string(),
            "character with byte sequence 0xe2 0x82 0xac in encoding \"UTF8\" has no equivalent in encoding \"LATIN1\""
        );
        assert_eq!(converted("LATIN1").encode_lossy("é€".as_bytes()), b"\xe9?".as_slice());
    }
}
