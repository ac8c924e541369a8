//! The SQL cursor statements: `DECLARE ... CURSOR FOR`, `FETCH`, `MOVE`, `CLOSE`.

use super::lexer::{Token, Tokens};

/// `DECLARE name [BINARY] [NO SCROLL] CURSOR [WITH[OUT] HOLD] FOR query`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Declare {
    pub name: String,
    pub binary: bool,
    pub hold: bool,
    /// Byte offset of the query in the statement.
    pub query_at: usize,
}

/// `FETCH`, `MOVE` and `CLOSE`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CursorCommand {
    Fetch {
        name: String,
        count: FetchCount,
    },
    Move {
        name: String,
        count: FetchCount,
    },
    /// `CLOSE name`, or `CLOSE ALL` (`None`).
    Close {
        name: Option<String>,
    },
}

/// How far a `FETCH` or `MOVE` goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FetchCount {
    Forward(u64),
    All,
    /// Any backward or absolute movement, which a forward-only cursor refuses.
    Backward,
}

/// A word or identifier as PostgreSQL names it: unquoted words fold to lower case.
fn ident(token: &Token<'_>) -> Option<String> {
    match token {
        Token::Word(w) => Some(w.to_ascii_lowercase()),
        Token::QuotedIdent(q) => Some(q[1..q.len() - 1].replace("\"\"", "\"")),
        _ => None,
    }
}

fn is_word(token: Option<&(usize, Token<'_>)>, word: &str) -> bool {
    matches!(token, Some((_, Token::Word(w))) if w.eq_ignore_ascii_case(word))
}

pub fn parse_declare(sql: &str) -> Option<Declare> {
    let tokens: Vec<(usize, Token<'_>)> = Tokens::new(sql).take(12).collect();
    if !is_word(tokens.first(), "DECLARE") {
        return None;
    }
    let name = ident(&tokens.get(1)?.1)?;
    let (mut binary, mut hold) = (false, false);
    let mut i = 2;
    while i < tokens.len() {
        let (at, token) = &tokens[i];
        let Token::Word(w) = token else { return None };
        match w.to_ascii_uppercase().as_str() {
            "BINARY" => binary = true,
            "ASENSITIVE" | "INSENSITIVE" | "NO" | "SCROLL" | "CURSOR" | "WITHOUT" => {}
            "WITH" => hold = true,
            "HOLD" => {}
            "FOR" => {
                let query_at = at + w.len();
                return Some(Declare { name, binary, hold, query_at });
            }
            _ => return None,
        }
        i += 1;
    }
    None
}

pub fn parse_cursor_command(sql: &str) -> Option<CursorCommand> {
    let tokens: Vec<Token<'_>> =
        Tokens::new(sql).map(|(_, t)| t).filter(|t| *t != Token::Punct(';')).collect();
    let word = |i: usize| match tokens.get(i) {
        Some(Token::Word(w)) => w.to_ascii_uppercase(),
        _ => String::new(),
    };
    let verb = word(0);
    if verb == "CLOSE" {
        return match tokens.len() {
            2 if word(1) == "ALL" => Some(CursorCommand::Close { name: None }),
            2 => Some(CursorCommand::Close { name: Some(ident(&tokens[1])?) }),
            _ => None,
        };
    }
    if verb != "FETCH" && verb != "MOVE" {
        return None;
    }
    // The cursor name is the last token; what lies between is the direction.
    let name = ident(tokens.last()?)?;
    let mut middle: Vec<&Token<'_>> = tokens[1..tokens.len() - 1].iter().collect();
    if matches!(middle.last(), Some(Token::Word(w)) if w.eq_ignore_ascii_case("FROM") || w.eq_ignore_ascii_case("IN"))
    {
        middle.pop();
    }
    let number = |t: &Token<'_>| match t {
        Token::Number(n) => n.parse::<i64>().ok(),
        _ => None,
    };
    let words: Vec<String> = middle
        .iter()
        .map(|t| match t {
            Token::Word(w) => w.to_ascii_uppercase(),
            Token::Number(n) => (*n).to_owned(),
            Token::Punct(c) => c.to_string(),
            _ => "?".into(),
        })
        .collect();
    let count = match words.iter().map(String::as_str).collect::<Vec<_>>().as_slice() {
        [] | ["NEXT"] | ["FORWARD"] => FetchCount::Forward(1),
        ["ALL"] | ["FORWARD", "ALL"] => FetchCount::All,
        ["FORWARD", _] | [_] if number(middle[middle.len() - 1]).is_some() => {
            match number(middle[middle.len() - 1]).expect("checked") {
                n if n >= 0 => FetchCount::Forward(n as u64),
                _ => FetchCount::Backward,
            }
        }
        ["-", _] => FetchCount::Backward,
        ["PRIOR" | "FIRST" | "LAST" | "BACKWARD", ..] | ["ABSOLUTE" | "RELATIVE", ..] => FetchCount::Backward,
        _ => return None,
    };
    Some(if verb == "FETCH" {
        CursorCommand::Fetch { name, count }
    } else {
        CursorCommand::Move { name, count }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn declare() {
        let sql = r#"DECLARE "My Cur" NO SCROLL CURSOR WITH HOLD FOR select 1"#;
        let d = parse_declare(sql).unwrap();
        assert_eq!((d.name.as_str(), d.binary, d.hold), ("My Cur", false, true));
        assert_eq!(sql[d.query_at..].trim(), "select 1");
        let d = parse_declare("declare C binary cursor for select * from t").unwrap();
        assert_eq!((d.name.as_str(), d.binary, d.hold), ("c", true, false));
        assert_eq!(parse_declare("declare x int"), None);
    }

    #[test]
    fn fetch_and_move() {
        use CursorCommand::*;
        use FetchCount::*;
        let f = |s| parse_cursor_command(s).unwrap();
        assert_eq!(f(r#"FETCH FORWARD 2000 FROM "c""#), Fetch { name: "c".into(), count: Forward(2000) });
        assert_eq!(f("fetch c"), Fetch { name: "c".into(), count: Forward(1) });
        assert_eq!(f("fetch next in c"), Fetch { name: "c".into(), count: Forward(1) });
        assert_eq!(f("FETCH ALL FROM c;"), Fetch { name: "c".into(), count: All });
        assert_eq!(f("fetch 10 c"), Fetch { name: "c".into(), count: Forward(10) });
        assert_eq!(f("move forward all in c"), Move { name: "c".into(), count: All });
        assert_eq!(f("fetch backward 2 from c"), Fetch { name: "c".into(), count: Backward });
        assert_eq!(f("fetch prior from c"), Fetch { name: "c".into(), count: Backward });
        assert_eq!(f("close all"), Close { name: None });
        assert_eq!(f("CLOSE Cur"), Close { name: Some("cur".into()) });
        assert_eq!(parse_cursor_command("select 1"), None);
    }
}
