//! Multi-byte client encodings: where a character's bytes end, which sequences
//! PostgreSQL takes as well-formed, and the tables between them and Unicode.
//!
//! A table starts as `encoding_rs`'s decoding of every well-formed sequence of the
//! encoding's byte layout (so WHATWG's supersets are cut down to PostgreSQL's byte
//! space), and is then put right with [`super::fixes`]: the sequences PostgreSQL 15
//! maps differently or not at all, and the characters it encodes to other bytes. Those
//! lists were found by converting every sequence and every character with a real
//! PostgreSQL 15 and comparing.

use std::collections::HashMap;

/// How PostgreSQL delimits and checks a character of an encoding.
#[derive(Clone, Copy)]
pub(super) enum Layout {
    /// EUC_JP: two bytes in 0xA1..=0xFE, 0x8E and a half-width katakana byte, or 0x8F
    /// and two bytes in 0xA1..=0xFE (JIS X 0212).
    EucJp,
    /// SJIS: one byte for half-width katakana (0xA1..=0xDF), otherwise a lead in
    /// 0x81..=0x9F or 0xE0..=0xFC and a trail in 0x40..=0x7E or 0x80..=0xFC.
    Sjis,
    /// EUC_KR: two bytes in 0xA1..=0xFE (0x8F starts three bytes, none of them valid).
    EucKr,
    /// EUC_CN: two bytes in 0xA1..=0xFE (0x8E and 0x8F start three, none valid).
    EucCn,
    /// BIG5, GBK and UHC: any high byte and any byte but NUL; whether the pair means
    /// anything is left to the table (PostgreSQL's checks are that loose).
    Lead,
}

impl Layout {
    /// The length of the character a high byte starts.
    pub(super) fn len(self, lead: u8) -> usize {
        match (self, lead) {
            (Layout::EucJp | Layout::EucKr | Layout::EucCn, 0x8F) | (Layout::EucCn, 0x8E) => 3,
            (Layout::Sjis, 0xA1..=0xDF) => 1,
            _ => 2,
        }
    }

    /// Whether `seq`, `len(seq[0])` bytes, is well-formed.
    pub(super) fn valid(self, seq: &[u8]) -> bool {
        let euc = |b: &u8| (0xA1..=0xFE).contains(b);
        match (self, seq) {
            (Layout::EucJp, [0x8E, kana]) => (0xA1..=0xDF).contains(kana),
            (Layout::EucJp, [0x8F, rest @ ..]) => rest.iter().all(euc),
            (Layout::EucJp | Layout::EucKr | Layout::EucCn, _) => seq.iter().all(euc),
            (Layout::Sjis, [_]) => true,
            (Layout::Sjis, [lead, trail]) => {
                matches!(lead, 0x81..=0x9F | 0xE0..=0xFC) && matches!(trail, 0x40..=0x7E | 0x80..=0xFC)
            }
            (Layout::Sjis, _) => false,
            // PostgreSQL 15 also takes 0x8D 0x20 as malformed in each of these.
            (Layout::Lead, [0x8D, 0x20]) => false,
            (Layout::Lead, _) => seq[1..].iter().all(|&b| b != 0),
        }
    }

    /// Every well-formed sequence of high bytes, in byte order.
    fn sequences(self) -> impl Iterator<Item = Vec<u8>> {
        let single = (0x80..=0xFFu8).filter(move |&b| self.len(b) == 1).map(|b| vec![b]);
        let double = (0x80..=0xFFu8)
            .filter(move |&b| self.len(b) == 2)
            .flat_map(|lead| (1..=0xFFu8).map(move |trail| vec![lead, trail]));
        let triple = (0x80..=0xFFu8).filter(move |&b| self.len(b) == 3).flat_map(|lead| {
            (0xA1..=0xFEu8).flat_map(move |b| (0xA1..=0xFEu8).map(move |c| vec![lead, b, c]))
        });
        single.chain(double).chain(triple).filter(move |seq| self.valid(seq))
    }
}

/// A sequence of up to three bytes as one number, big-endian.
pub(super) fn pack(seq: &[u8]) -> u32 {
    seq.iter().fold(0, |n, &b| n << 8 | u32::from(b))
}

/// The bytes of a packed sequence (`packed` is not 0).
pub(super) fn unpack(packed: u32, out: &mut Vec<u8>) {
    let [_, a, b, c] = packed.to_be_bytes();
    match packed {
        0..=0xFF => out.push(c),
        0x100..=0xFFFF => out.extend_from_slice(&[b, c]),
        _ => out.extend_from_slice(&[a, b, c]),
    }
}

/// `count` consecutive keys from `key`, each to the value after the previous one's,
/// from `value` (or each to 0, none, when `value` is 0).
pub(super) type Run = (u32, u32, u32);

trait Pairs {
    fn pairs(&self) -> impl Iterator<Item = (u32, u32)>;
}

impl Pairs for Run {
    fn pairs(&self) -> impl Iterator<Item = (u32, u32)> {
        let &(key, value, count) = self;
        (0..count).map(move |i| (key + i, if value == 0 { 0 } else { value + i }))
    }
}

/// Both directions of one encoding's table.
pub(super) struct Maps {
    /// Packed sequence to code point.
    decode: HashMap<u32, char>,
    /// BMP code point to packed sequence (0: none); no encoding here maps more.
    encode: Vec<u32>,
}

impl Maps {
    pub(super) fn build(layout: Layout, label: &str, decode_fixes: &[Run], encode_fixes: &[Run]) -> Maps {
        let enc = encoding_rs::Encoding::for_label(label.as_bytes())
            .expect("the WHATWG labels of the multi-byte encodings are known to encoding_rs");
        let mut decode = HashMap::new();
        for seq in layout.sequences() {
            let (text, malformed) = enc.decode_without_bom_handling(&seq);
            let mut chars = text.chars();
            if let (false, Some(c), None) = (malformed, chars.next(), chars.next()) {
                decode.insert(pack(&seq), c);
            }
        }
        for (packed, cp) in decode_fixes.iter().flat_map(Run::pairs) {
            match char::from_u32(cp).filter(|&c| c != '\0') {
                Some(c) => decode.insert(packed, c),
                None => decode.remove(&packed),
            };
        }
        let mut encode = vec![0u32; 0x1_0000];
        let mut pairs: Vec<(u32, char)> = decode.iter().map(|(&p, &c)| (p, c)).collect();
        pairs.sort_unstable();
        for (packed, c) in pairs {
            if let Some(slot) = encode.get_mut(c as usize).filter(|slot| **slot == 0) {
                *slot = packed;
            }
        }
        for (cp, packed) in encode_fixes.iter().flat_map(Run::pairs) {
            encode[cp as usize] = packed;
        }
        Maps { decode, encode }
    }

    pub(super) fn decode(&self, seq: &[u8]) -> Option<char> {
        self.decode.get(&pack(seq)).copied()
    }

    /// The packed sequence for a character that is not ASCII.
    pub(super) fn encode(&self, c: char) -> Option<u32> {
        self.encode.get(c as usize).copied().filter(|&p| p != 0)
    }
}
