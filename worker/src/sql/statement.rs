//! One statement's text with its tokens, made once: the query string is tokenized a
//! single time when it is split into statements, and every reader after that (the
//! classifier, the utility parsers, translation, the analysis) walks the same tokens.

use super::lexer::{Token, Tokens};

/// A statement (as PostgreSQL splits a query string: trimmed, without its `;`) and its
/// tokens, with byte offsets into the statement's text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Statement<'a> {
    sql: &'a str,
    tokens: Vec<(usize, Token<'a>)>,
}

impl<'a> Statement<'a> {
    /// Tokenizes one statement's text (a text that is not split first: a rewrite, or
    /// the query of a `DECLARE`).
    pub fn new(sql: &'a str) -> Self {
        Statement { sql, tokens: Tokens::new(sql).collect() }
    }

    pub fn sql(&self) -> &'a str {
        self.sql
    }

    pub fn tokens(&self) -> &[(usize, Token<'a>)] {
        &self.tokens
    }

    /// Whether the first token is the keyword `word` (any case).
    pub fn starts_with(&self, word: &str) -> bool {
        matches!(self.tokens.first(), Some((_, Token::Word(w))) if w.eq_ignore_ascii_case(word))
    }

    /// The bare words outside any parentheses, as written.
    pub fn top_level_words(&self) -> impl Iterator<Item = &'a str> + '_ {
        let mut depth = 0i32;
        self.tokens.iter().filter_map(move |(_, t)| match t {
            Token::Punct('(') => {
                depth += 1;
                None
            }
            Token::Punct(')') => {
                depth -= 1;
                None
            }
            Token::Word(w) if depth == 0 => Some(*w),
            _ => None,
        })
    }

    /// Whether `word` (upper case) is one of the [`Self::top_level_words`].
    pub fn has_top_level_word(&self, word: &str) -> bool {
        self.top_level_words().any(|w| w.eq_ignore_ascii_case(word))
    }
}

/// Splits a query string into its statements, trimmed, without the `;`, in one pass of
/// the tokenizer. Statements that are empty (only whitespace and comments) are dropped.
pub fn split(sql: &str) -> Vec<Statement<'_>> {
    let mut statements = Vec::new();
    let mut tokens = Tokens::new(sql);
    let mut current = Vec::new();
    let mut end = 0;
    while let Some((at, token)) = tokens.next() {
        if token == Token::Punct(';') {
            finish(&mut statements, sql, &mut current, end);
            continue;
        }
        current.push((at, token));
        end = tokens.offset();
    }
    finish(&mut statements, sql, &mut current, end);
    statements
}

/// Ends the statement whose tokens are `current` (offsets into `sql`) at byte `end`.
fn finish<'a>(
    statements: &mut Vec<Statement<'a>>,
    sql: &'a str,
    current: &mut Vec<(usize, Token<'a>)>,
    end: usize,
) {
    let Some(&(start, _)) = current.first() else { return };
    let tokens = current.drain(..).map(|(at, t)| (at - start, t)).collect();
    statements.push(Statement { sql: &sql[start..end], tokens });
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sql::lexer::passes;

    fn texts(sql: &str) -> Vec<&str> {
        split(sql).iter().map(Statement::sql).collect()
    }

    #[test]
    fn splits_on_top_level_semicolons_only() {
        let sql = "select 1; select 'a;b' ; select \"x;y\" from t -- c;\n; /* a; /* b; */ */ select $$;$$; select $q$ ; $q$";
        assert_eq!(
            texts(sql),
            vec!["select 1", "select 'a;b'", "select \"x;y\" from t", "select $$;$$", "select $q$ ; $q$"]
        );
    }

    #[test]
    fn empty_and_comment_only_strings_have_no_statements() {
        assert!(split("").is_empty());
        assert!(split(" ;; -- nothing\n /* at all */ ;").is_empty());
    }

    #[test]
    fn escapes_and_doubled_quotes_do_not_end_strings() {
        assert_eq!(texts("select 'it''s;'; select E'\\';'"), vec!["select 'it''s;'", "select E'\\';'"]);
    }

    #[test]
    fn unterminated_input_never_panics() {
        for sql in ["select 'abc", "select \"abc", "/* open", "select $a$ open", "select E'\\", "é'ü"] {
            let _ = split(sql);
        }
    }

    #[test]
    fn split_tokens_are_the_statements_own() {
        let (statements, n) =
            passes::during(|| split("select 1;\n  /* c */ update t set a = $1 where b = 'x;'"));
        assert_eq!(n, 1, "one tokenizer pass for the whole string");
        for statement in &statements {
            assert_eq!(statement, &Statement::new(statement.sql()));
        }
    }

    #[test]
    fn top_level_words_skip_parentheses() {
        let s = Statement::new("with a as (select 1 returning) insert into t select * from a returning x");
        let words: Vec<&str> = s.top_level_words().collect();
        assert_eq!(
            words,
            ["with", "a", "as", "insert", "into", "t", "select", "from", "a", "returning", "x"]
        );
        assert!(s.has_top_level_word("RETURNING"));
        assert!(s.starts_with("WITH"));
    }
}
