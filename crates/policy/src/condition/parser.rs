//! Recursive-descent parser for conditions.

use std::ops::Range;

use super::SyntaxError;
use super::lexer::{Tok, Token, lex};

/// The longest condition accepted, in bytes. Conditions are written by hand;
/// anything longer is a mistake and is refused before parsing.
pub const MAX_CONDITION_BYTES: usize = 4096;

/// The deepest nesting of parentheses and `not` accepted, so hostile input
/// cannot exhaust the stack.
pub const MAX_DEPTH: usize = 32;

/// A comparison operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    /// Membership (for a set-valued attribute: any member).
    In,
    /// Negated membership.
    NotIn,
    /// Equality.
    Eq,
    /// Inequality.
    Ne,
    /// Less than.
    Lt,
    /// Less than or equal.
    Le,
    /// Greater than.
    Gt,
    /// Greater than or equal.
    Ge,
}

impl Op {
    /// The operator as written.
    pub fn as_str(self) -> &'static str {
        match self {
            Op::In => "in",
            Op::NotIn => "not in",
            Op::Eq => "==",
            Op::Ne => "!=",
            Op::Lt => "<",
            Op::Le => "<=",
            Op::Gt => ">",
            Op::Ge => ">=",
        }
    }
}

/// One operand value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Item {
    /// A bare name: a country or region code, a level, a list code, an endpoint.
    Name(String, Range<usize>),
    /// A number.
    Number(u64, Range<usize>),
    /// `group("ID")`.
    Group(String, Range<usize>),
}

impl Item {
    /// The item's byte range.
    pub fn span(&self) -> Range<usize> {
        match self {
            Item::Name(_, s) | Item::Number(_, s) | Item::Group(_, s) => s.clone(),
        }
    }
}

/// The right-hand side of a comparison.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Operand {
    /// A single item.
    One(Item),
    /// A bracketed list.
    List(Vec<Item>),
}

/// An untyped condition.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Ast {
    /// `true` or `false`.
    Literal(bool),
    /// Negation.
    Not(Box<Ast>),
    /// Conjunction of two or more terms.
    And(Vec<Ast>),
    /// Disjunction of two or more terms.
    Or(Vec<Ast>),
    /// `known(attr)`.
    Known {
        /// Attribute path.
        attr: String,
        /// Range of the whole predicate.
        span: Range<usize>,
    },
    /// A bare boolean attribute.
    Flag {
        /// Attribute path.
        attr: String,
        /// Range of the predicate.
        span: Range<usize>,
    },
    /// `attr OP operand`.
    Compare {
        /// Attribute path.
        attr: String,
        /// The operator.
        op: Op,
        /// The right-hand side.
        operand: Operand,
        /// Range of the whole predicate.
        span: Range<usize>,
    },
}

/// Parses condition text.
///
/// # Errors
/// Returns the first [`SyntaxError`], with the byte range it concerns.
pub fn parse(text: &str) -> Result<Ast, SyntaxError> {
    if text.len() > MAX_CONDITION_BYTES {
        return Err(SyntaxError {
            span: 0..text.len(),
            message: format!(
                "condition is {} bytes; the limit is {MAX_CONDITION_BYTES}",
                text.len()
            ),
        });
    }
    let tokens = lex(text)?;
    let mut p = Parser {
        tokens,
        pos: 0,
        end: text.len(),
        depth: 0,
    };
    if p.tokens.is_empty() {
        return Err(SyntaxError {
            span: 0..text.len(),
            message: "condition is empty".into(),
        });
    }
    let ast = p.or()?;
    if let Some(t) = p.peek() {
        return Err(SyntaxError {
            span: t.span.clone(),
            message: format!(
                "unexpected {} after a complete condition; join terms with `and` or `or`",
                describe(&t.kind)
            ),
        });
    }
    Ok(ast)
}

struct Parser {
    tokens: Vec<Token>,
    pos: usize,
    end: usize,
    depth: usize,
}

fn describe(t: &Tok) -> String {
    match t {
        Tok::Ident(s) => format!("`{s}`"),
        Tok::Number(n) => format!("`{n}`"),
        Tok::Str(s) => format!("\"{s}\""),
        Tok::LParen => "`(`".into(),
        Tok::RParen => "`)`".into(),
        Tok::LBracket => "`[`".into(),
        Tok::RBracket => "`]`".into(),
        Tok::Comma => "`,`".into(),
        Tok::Eq => "`==`".into(),
        Tok::Ne => "`!=`".into(),
        Tok::Lt => "`<`".into(),
        Tok::Le => "`<=`".into(),
        Tok::Gt => "`>`".into(),
        Tok::Ge => "`>=`".into(),
    }
}

fn is_keyword(s: &str) -> bool {
    matches!(
        s,
        "and" | "or" | "not" | "in" | "known" | "group" | "true" | "false"
    )
}

impl Parser {
    fn peek(&self) -> Option<&Token> {
        self.tokens.get(self.pos)
    }

    fn peek_ident(&self, word: &str) -> bool {
        matches!(self.peek(), Some(Token { kind: Tok::Ident(s), .. }) if s == word)
    }

    fn next(&mut self) -> Option<Token> {
        let t = self.tokens.get(self.pos).cloned();
        if t.is_some() {
            self.pos += 1;
        }
        t
    }

    fn eof_error(&self, expected: &str) -> SyntaxError {
        SyntaxError {
            span: self.end..self.end,
            message: format!("condition ends early; expected {expected}"),
        }
    }

    fn expect(&mut self, want: &Tok, expected: &str) -> Result<Token, SyntaxError> {
        match self.next() {
            Some(t) if &t.kind == want => Ok(t),
            Some(t) => Err(SyntaxError {
                span: t.span,
                message: format!("expected {expected}, found {}", describe(&t.kind)),
            }),
            None => Err(self.eof_error(expected)),
        }
    }

    fn enter(&mut self, span: Range<usize>) -> Result<(), SyntaxError> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(SyntaxError {
                span,
                message: format!("condition nests deeper than {MAX_DEPTH} levels"),
            });
        }
        Ok(())
    }

    fn or(&mut self) -> Result<Ast, SyntaxError> {
        let mut terms = vec![self.and()?];
        while self.peek_ident("or") {
            self.next();
            terms.push(self.and()?);
        }
        Ok(if terms.len() == 1 {
            terms.remove(0)
        } else {
            Ast::Or(terms)
        })
    }

    fn and(&mut self) -> Result<Ast, SyntaxError> {
        let mut terms = vec![self.unary()?];
        while self.peek_ident("and") {
            self.next();
            terms.push(self.unary()?);
        }
        Ok(if terms.len() == 1 {
            terms.remove(0)
        } else {
            Ast::And(terms)
        })
    }

    fn unary(&mut self) -> Result<Ast, SyntaxError> {
        if self.peek_ident("not") {
            let t = self.next().map(|t| t.span).unwrap_or_default();
            self.enter(t)?;
            let inner = self.unary()?;
            self.depth -= 1;
            return Ok(Ast::Not(Box::new(inner)));
        }
        self.primary()
    }

    fn primary(&mut self) -> Result<Ast, SyntaxError> {
        let Some(t) = self.next() else {
            return Err(self.eof_error("a condition"));
        };
        match t.kind {
            Tok::LParen => {
                self.enter(t.span)?;
                let inner = self.or()?;
                self.depth -= 1;
                self.expect(&Tok::RParen, "`)`")?;
                Ok(inner)
            }
            Tok::Ident(ref w) if w == "true" => Ok(Ast::Literal(true)),
            Tok::Ident(ref w) if w == "false" => Ok(Ast::Literal(false)),
            Tok::Ident(ref w) if w == "known" => {
                self.expect(&Tok::LParen, "`(` after `known`")?;
                let (attr, _) = self.attribute()?;
                let close = self.expect(&Tok::RParen, "`)`")?;
                Ok(Ast::Known {
                    attr,
                    span: t.span.start..close.span.end,
                })
            }
            Tok::Ident(ref w) if is_keyword(w) => Err(SyntaxError {
                span: t.span,
                message: format!(
                    "expected an attribute such as `subject.citizenships`, found keyword `{w}`"
                ),
            }),
            Tok::Ident(attr) => self.comparison(attr, t.span),
            other => Err(SyntaxError {
                span: t.span,
                message: format!("expected a condition, found {}", describe(&other)),
            }),
        }
    }

    fn attribute(&mut self) -> Result<(String, Range<usize>), SyntaxError> {
        match self.next() {
            Some(Token {
                kind: Tok::Ident(s),
                span,
            }) if !is_keyword(&s) => Ok((s, span)),
            Some(t) => Err(SyntaxError {
                span: t.span,
                message: format!("expected an attribute, found {}", describe(&t.kind)),
            }),
            None => Err(self.eof_error("an attribute")),
        }
    }

    fn comparison(&mut self, attr: String, attr_span: Range<usize>) -> Result<Ast, SyntaxError> {
        let op = match self.peek().map(|t| &t.kind) {
            Some(Tok::Ident(w)) if w == "in" => Some(Op::In),
            Some(Tok::Ident(w)) if w == "not" => {
                // `attr not in X`; a bare `not` here would be a syntax error anyway.
                let next_is_in = matches!(self.tokens.get(self.pos + 1), Some(Token { kind: Tok::Ident(w), .. }) if w == "in");
                if next_is_in {
                    self.next();
                    Some(Op::NotIn)
                } else {
                    None
                }
            }
            Some(Tok::Eq) => Some(Op::Eq),
            Some(Tok::Ne) => Some(Op::Ne),
            Some(Tok::Lt) => Some(Op::Lt),
            Some(Tok::Le) => Some(Op::Le),
            Some(Tok::Gt) => Some(Op::Gt),
            Some(Tok::Ge) => Some(Op::Ge),
            _ => None,
        };
        let Some(op) = op else {
            return Ok(Ast::Flag {
                attr,
                span: attr_span,
            });
        };
        self.next();
        let operand = self.operand()?;
        let end = match &operand {
            Operand::One(i) => i.span().end,
            Operand::List(_) => self
                .tokens
                .get(self.pos.saturating_sub(1))
                .map_or(self.end, |t| t.span.end),
        };
        Ok(Ast::Compare {
            attr,
            op,
            operand,
            span: attr_span.start..end,
        })
    }

    fn operand(&mut self) -> Result<Operand, SyntaxError> {
        if matches!(self.peek().map(|t| &t.kind), Some(Tok::LBracket)) {
            let open = self.next().map(|t| t.span).unwrap_or_default();
            let mut items = Vec::new();
            loop {
                if matches!(self.peek().map(|t| &t.kind), Some(Tok::RBracket)) {
                    self.next();
                    break;
                }
                items.push(self.item()?);
                match self.next() {
                    Some(Token {
                        kind: Tok::Comma, ..
                    }) => {}
                    Some(Token {
                        kind: Tok::RBracket,
                        ..
                    }) => break,
                    Some(t) => {
                        return Err(SyntaxError {
                            span: t.span,
                            message: format!("expected `,` or `]`, found {}", describe(&t.kind)),
                        });
                    }
                    None => return Err(self.eof_error("`]`")),
                }
            }
            if items.is_empty() {
                return Err(SyntaxError {
                    span: open,
                    message: "empty list; a condition over an empty set never holds".into(),
                });
            }
            return Ok(Operand::List(items));
        }
        Ok(Operand::One(self.item()?))
    }

    fn item(&mut self) -> Result<Item, SyntaxError> {
        match self.next() {
            Some(Token {
                kind: Tok::Ident(w),
                span,
            }) if w == "group" => {
                self.expect(&Tok::LParen, "`(` after `group`")?;
                let id = match self.next() {
                    Some(Token {
                        kind: Tok::Str(s), ..
                    }) => s,
                    Some(t) => {
                        return Err(SyntaxError {
                            span: t.span,
                            message: format!(
                                "expected a quoted group id such as \"EAR:D:5\", found {}",
                                describe(&t.kind)
                            ),
                        });
                    }
                    None => return Err(self.eof_error("a quoted group id")),
                };
                let close = self.expect(&Tok::RParen, "`)`")?;
                Ok(Item::Group(id, span.start..close.span.end))
            }
            Some(Token {
                kind: Tok::Ident(w),
                span,
            }) if !is_keyword(&w) || w == "true" || w == "false" => Ok(Item::Name(w, span)),
            Some(Token {
                kind: Tok::Number(n),
                span,
            }) => Ok(Item::Number(n, span)),
            Some(Token {
                kind: Tok::Str(s),
                span,
            }) => Err(SyntaxError {
                span,
                message: format!(
                    "expected a value, found the quoted string \"{s}\": values are written without quotes (`{s}`); quotes are only for a group id, as in `group(\"EAR:D:5\")`"
                ),
            }),
            Some(t) => Err(SyntaxError {
                span: t.span,
                message: format!("expected a value, found {}", describe(&t.kind)),
            }),
            None => Err(self.eof_error("a value")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn precedence_is_not_then_and_then_or() {
        let ast = parse("a or b and not c").unwrap();
        let Ast::Or(terms) = ast else {
            panic!("{ast:?}")
        };
        assert!(matches!(&terms[1], Ast::And(t) if matches!(&t[1], Ast::Not(_))));
    }

    #[test]
    fn comparisons_lists_and_groups() {
        let ast = parse(r#"subject.citizenships in [IR, KP, group("EAR:E:1")]"#).unwrap();
        let Ast::Compare {
            op: Op::In,
            operand: Operand::List(items),
            span,
            ..
        } = ast
        else {
            panic!()
        };
        assert_eq!(items.len(), 3);
        assert!(matches!(&items[2], Item::Group(g, _) if g == "EAR:E:1"));
        assert_eq!(span.start, 0);
        assert!(matches!(
            parse("request.max_tokens > 4096").unwrap(),
            Ast::Compare { op: Op::Gt, .. }
        ));
        assert!(matches!(
            parse("request.country not in [IR]").unwrap(),
            Ast::Compare { op: Op::NotIn, .. }
        ));
        assert!(matches!(
            parse("known(request.country)").unwrap(),
            Ast::Known { .. }
        ));
        assert!(matches!(
            parse("subject.region == UA-43").unwrap(),
            Ast::Compare { op: Op::Eq, .. }
        ));
    }

    #[test]
    fn errors_point_at_the_problem() {
        let cases = [
            ("", "empty"),
            ("a and", "ends early"),
            ("a b", "unexpected `b`"),
            ("(a", "`)`"),
            ("a in []", "empty list"),
            ("a in [b c]", "`,` or `]`"),
            ("a = b", "`==`"),
            ("a in group(EAR)", "quoted group id"),
            ("a in \"x", "unterminated"),
            ("a @ b", "unexpected character `@`"),
            ("and", "keyword `and`"),
            ("a > 99999999999999999999", "not a number"),
        ];
        for (text, needle) in cases {
            let e = parse(text).unwrap_err();
            assert!(e.message.contains(needle), "{text:?}: {}", e.message);
            assert!(e.span.end <= text.len(), "{text:?}");
        }
        let e = parse("a b").unwrap_err();
        assert_eq!(e.span, 2..3);
    }

    #[test]
    fn deep_nesting_is_refused_not_a_stack_overflow() {
        let text = format!("{}a{}", "(".repeat(1000), ")".repeat(1000));
        assert!(parse(&text).unwrap_err().message.contains("nests deeper"));
        let text = format!("{}a", "not ".repeat(1000));
        assert!(parse(&text).is_err());
    }

    proptest! {
        #[test]
        fn never_panics(s in "\\PC{0,120}") {
            let _ = parse(&s);
        }

        #[test]
        fn never_panics_on_condition_like_input(s in "(not |and |or |\\(|\\)|\\[|\\]|, |in |known|group\\(\"x\"\\)|a\\.b |== |>= |[A-Z]{2} |[0-9]{1,3} ){0,30}") {
            if let Err(e) = parse(&s) {
                prop_assert!(e.span.start <= s.len() && e.span.end <= s.len());
            }
        }
    }
}
