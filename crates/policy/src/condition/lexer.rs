//! Tokens of the condition language.

use std::ops::Range;

use super::SyntaxError;

/// One token with its byte range.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Token {
    pub kind: Tok,
    pub span: Range<usize>,
}

/// Token kinds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Tok {
    /// A name: attribute path, code, level, list, keyword.
    Ident(String),
    /// A non-negative integer.
    Number(u64),
    /// A double-quoted string (group ids).
    Str(String),
    LParen,
    RParen,
    LBracket,
    RBracket,
    Comma,
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
}

fn is_ident_start(c: char) -> bool {
    c.is_ascii_alphabetic() || c == '_'
}

fn is_ident_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.' | ':')
}

/// Splits condition text into tokens.
pub(crate) fn lex(text: &str) -> Result<Vec<Token>, SyntaxError> {
    let mut out = Vec::new();
    let mut chars = text.char_indices().peekable();
    while let Some(&(start, c)) = chars.peek() {
        if c.is_whitespace() {
            chars.next();
            continue;
        }
        let single = |kind| Token {
            kind,
            span: start..start + c.len_utf8(),
        };
        match c {
            '(' | ')' | '[' | ']' | ',' => {
                chars.next();
                out.push(single(match c {
                    '(' => Tok::LParen,
                    ')' => Tok::RParen,
                    '[' => Tok::LBracket,
                    ']' => Tok::RBracket,
                    _ => Tok::Comma,
                }));
            }
            '=' | '!' | '<' | '>' => {
                chars.next();
                let eq_follows = chars.peek().is_some_and(|&(_, n)| n == '=');
                if eq_follows {
                    chars.next();
                }
                let kind = match (c, eq_follows) {
                    ('=', true) => Tok::Eq,
                    ('!', true) => Tok::Ne,
                    ('<', false) => Tok::Lt,
                    ('<', true) => Tok::Le,
                    ('>', false) => Tok::Gt,
                    ('>', true) => Tok::Ge,
                    _ => {
                        return Err(SyntaxError {
                            span: start..start + 1,
                            message: format!(
                                "unexpected `{c}`; comparisons are written `==`, `!=`, `<`, `<=`, `>`, `>=`"
                            ),
                        });
                    }
                };
                let end = if eq_follows { start + 2 } else { start + 1 };
                out.push(Token {
                    kind,
                    span: start..end,
                });
            }
            '"' => {
                chars.next();
                let mut s = String::new();
                let mut end = None;
                for (i, ch) in chars.by_ref() {
                    if ch == '"' {
                        end = Some(i + 1);
                        break;
                    }
                    s.push(ch);
                }
                let Some(end) = end else {
                    return Err(SyntaxError {
                        span: start..text.len(),
                        message: "unterminated string; add the closing `\"`".into(),
                    });
                };
                out.push(Token {
                    kind: Tok::Str(s),
                    span: start..end,
                });
            }
            c if c.is_ascii_digit() => {
                let mut end = start;
                while let Some(&(i, d)) = chars.peek() {
                    if !is_ident_char(d) {
                        break;
                    }
                    end = i + d.len_utf8();
                    chars.next();
                }
                let word = text.get(start..end).unwrap_or_default();
                let n = word.parse::<u64>().map_err(|_| SyntaxError {
                    span: start..end,
                    message: format!(
                        "`{word}` is not a number (expected digits only, at most {})",
                        u64::MAX
                    ),
                })?;
                out.push(Token {
                    kind: Tok::Number(n),
                    span: start..end,
                });
            }
            c if is_ident_start(c) => {
                let mut end = start;
                while let Some(&(i, d)) = chars.peek() {
                    if !is_ident_char(d) {
                        break;
                    }
                    end = i + d.len_utf8();
                    chars.next();
                }
                out.push(Token {
                    kind: Tok::Ident(text.get(start..end).unwrap_or_default().to_owned()),
                    span: start..end,
                });
            }
            other => {
                return Err(SyntaxError {
                    span: start..start + other.len_utf8(),
                    message: format!("unexpected character `{other}`"),
                });
            }
        }
    }
    Ok(out)
}
