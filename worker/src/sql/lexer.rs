//! A PostgreSQL-compatible SQL tokenizer: just enough to find statement boundaries and
//! keywords, honouring quoted strings (`'..'`, `E'..'`, `$tag$..$tag$`), quoted
//! identifiers, and line and nested block comments.

/// One token of interest. Whitespace and comments are skipped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Token<'a> {
    /// A bare word (keyword or identifier), as written.
    Word(&'a str),
    /// `"quoted identifier"`, with its quotes.
    QuotedIdent(&'a str),
    /// Any string literal, with its quotes.
    Literal(&'a str),
    /// Any other character: operators, parentheses, commas, `;`.
    Punct(char),
    /// Digits and the rest of a number.
    Number(&'a str),
    /// `$1`-style parameter.
    Param(&'a str),
}

/// Iterates over the tokens of `sql`, each with its byte offset.
pub struct Tokens<'a> {
    sql: &'a str,
    pos: usize,
}

impl<'a> Tokens<'a> {
    pub fn new(sql: &'a str) -> Self {
        #[cfg(test)]
        passes::count();
        Tokens { sql, pos: 0 }
    }

    /// The byte offset just past the last token returned.
    pub fn offset(&self) -> usize {
        self.pos
    }

    fn rest(&self) -> &'a [u8] {
        &self.sql.as_bytes()[self.pos..]
    }

    /// Skips whitespace and comments. An unterminated block comment runs to the end.
    fn skip_trivia(&mut self) {
        loop {
            let rest = self.rest();
            match rest {
                [b, ..] if b.is_ascii_whitespace() => self.pos += 1,
                [b'-', b'-', ..] => {
                    self.pos += rest.iter().position(|&b| b == b'\n').unwrap_or(rest.len());
                }
                [b'/', b'*', ..] => {
                    let mut depth = 0usize;
                    let mut i = 0;
                    while i < rest.len() {
                        if rest[i..].starts_with(b"/*") {
                            depth += 1;
                            i += 2;
                        } else if rest[i..].starts_with(b"*/") {
                            depth -= 1;
                            i += 2;
                            if depth == 0 {
                                break;
                            }
                        } else {
                            i += 1;
                        }
                    }
                    self.pos += i;
                }
                _ => return,
            }
        }
    }

    /// Length of a quoted run starting at `rest[0] == quote`; a doubled quote is an
    /// escaped quote; with `backslash`, `\x` escapes too. Unterminated runs to the end.
    fn quoted_len(rest: &[u8], quote: u8, backslash: bool) -> usize {
        let mut i = 1;
        while i < rest.len() {
            match rest[i] {
                b'\\' if backslash => i += 2,
                q if q == quote => {
                    if rest.get(i + 1) == Some(&quote) {
                        i += 2;
                    } else {
                        return i + 1;
                    }
                }
                _ => i += 1,
            }
        }
        rest.len()
    }

    /// `$tag$ ... $tag$`: returns the whole length if `rest` opens a dollar quote.
    fn dollar_quoted_len(rest: &[u8]) -> Option<usize> {
        let close = rest[1..].iter().position(|&b| b == b'$')? + 1;
        let tag = &rest[..=close];
        if !tag[1..close].iter().all(|b| b.is_ascii_alphanumeric() || *b == b'_' || *b >= 0x80)
            || tag.get(1).is_some_and(u8::is_ascii_digit)
        {
            return None;
        }
        let body = &rest[tag.len()..];
        let end = body.windows(tag.len()).position(|w| w == tag).map_or(body.len(), |p| p + tag.len());
        Some(tag.len() + end)
    }
}

fn is_word_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_' || b == b'$' || b >= 0x80
}

impl<'a> Iterator for Tokens<'a> {
    type Item = (usize, Token<'a>);

    fn next(&mut self) -> Option<Self::Item> {
        self.skip_trivia();
        let rest = self.rest();
        let start = self.pos;
        let first = *rest.first()?;
        let (len, make): (usize, fn(&'a str) -> Token<'a>) = match first {
            b'\'' => (Self::quoted_len(rest, b'\'', false), Token::Literal),
            b'"' => (Self::quoted_len(rest, b'"', false), Token::QuotedIdent),
            b'e' | b'E' if rest.get(1) == Some(&b'\'') => {
                (1 + Self::quoted_len(&rest[1..], b'\'', true), Token::Literal)
            }
            b'$' if rest.get(1).is_some_and(u8::is_ascii_digit) => {
                (1 + rest[1..].iter().take_while(|b| b.is_ascii_digit()).count(), Token::Param)
            }
            b'$' => match Self::dollar_quoted_len(rest) {
                Some(len) => (len, Token::Literal),
                None => (1, |s: &str| Token::Punct(s.chars().next().unwrap_or('$'))),
            },
            b'0'..=b'9' => (
                rest.iter().take_while(|b| b.is_ascii_alphanumeric() || **b == b'.' || **b == b'_').count(),
                Token::Number,
            ),
            b if is_word_byte(b) => (rest.iter().take_while(|b| is_word_byte(**b)).count(), Token::Word),
            _ => {
                let ch = self.sql[start..].chars().next()?;
                self.pos += ch.len_utf8();
                return Some((start, Token::Punct(ch)));
            }
        };
        // Every length above ends on an ASCII byte or at the end, so this is a char boundary.
        let len = len.min(rest.len());
        self.pos += len;
        Some((start, make(&self.sql[start..start + len])))
    }
}

/// How many tokenizer passes this thread started: tests prove a statement's text is
/// read once.
#[cfg(test)]
pub(crate) mod passes {
    use std::cell::Cell;

    thread_local!(static PASSES: Cell<usize> = const { Cell::new(0) });

    pub(super) fn count() {
        PASSES.with(|p| p.set(p.get() + 1));
    }

    /// The passes `f` starts.
    pub(crate) fn during<T>(f: impl FnOnce() -> T) -> (T, usize) {
        let before = PASSES.with(Cell::get);
        let out = f();
        (out, PASSES.with(Cell::get) - before)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parameters_are_not_dollar_quotes() {
        let tokens: Vec<_> = Tokens::new("select $1 + $2").map(|(_, t)| t).collect();
        assert_eq!(
            tokens,
            vec![Token::Word("select"), Token::Param("$1"), Token::Punct('+'), Token::Param("$2")]
        );
    }

    #[test]
    fn unterminated_input_never_panics() {
        for sql in ["select 'abc", "select \"abc", "/* open", "select $a$ open", "select E'\\", "é'ü"] {
            let _ = Tokens::new(sql).count();
        }
    }
}
