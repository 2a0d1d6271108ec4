//! The condition language: a small, closed expression language over subject and
//! request attributes, evaluated in three-valued logic.
//!
//! ```text
//! expr     := or
//! or       := and ("or" and)*
//! and      := unary ("and" unary)*
//! unary    := "not" unary | primary
//! primary  := "(" expr ")" | "true" | "false"
//!           | "known" "(" ATTR ")"
//!           | ATTR                                  -- a boolean attribute
//!           | ATTR OP operand
//! OP       := "in" | "not" "in" | "==" | "!=" | "<" | "<=" | ">" | ">="
//! operand  := item | "[" item ("," item)* ","? "]"
//! item     := IDENT | NUMBER | "group" "(" STRING ")"
//! ```
//!
//! Parsing yields an untyped [`Ast`]; the checker in [`crate::program`] resolves
//! attribute names against the closed vocabulary and types every operand, so the
//! parser stays small enough to fuzz on its own.

mod lexer;
mod parser;

pub use parser::{Ast, Item, MAX_CONDITION_BYTES, MAX_DEPTH, Op, Operand, parse};

use std::ops::Range;

/// A syntax error in a condition, at a byte range of the condition text.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct SyntaxError {
    /// Byte range in the condition text.
    pub span: Range<usize>,
    /// What was wrong and what was expected.
    pub message: String,
}
