//! The tree a template parses to: everything is resolved once here (tags, filters,
//! operators), so rendering only walks it.

use serde_json::Value;

use super::filters::Filter;
use super::value::Op;

/// One piece of a template, in the order it renders.
#[derive(Debug, Clone)]
pub(super) enum Node {
    Text(String),
    Output(Piped),
    /// The branches in order (the first whose condition holds renders), then the `else`.
    If(Vec<(Cond, Vec<Node>)>, Vec<Node>),
    /// The subject, each `when`'s values with its body, then the `else`.
    Case(Expr, Vec<(Vec<Expr>, Vec<Node>)>, Vec<Node>),
    For(For),
    Assign(String, Piped),
    Capture(String, Vec<Node>),
    Break,
    Continue,
}

/// A `for` block: `{% for var in collection limit: … offset: … reversed %}`.
#[derive(Debug, Clone)]
pub(super) struct For {
    pub(super) var: String,
    pub(super) collection: Expr,
    pub(super) limit: Option<Expr>,
    pub(super) offset: Option<Expr>,
    pub(super) reversed: bool,
    pub(super) body: Vec<Node>,
    /// The `else` body, for an empty collection.
    pub(super) otherwise: Vec<Node>,
}

/// An expression with its filters.
#[derive(Debug, Clone)]
pub(super) struct Piped {
    pub(super) expr: Expr,
    pub(super) filters: Vec<(Filter, Vec<Expr>)>,
}

/// A value to look up or a literal.
#[derive(Debug, Clone)]
pub(super) enum Expr {
    Literal(Value),
    /// `empty` and `blank` compare specially, so they are not plain literals.
    Empty,
    Blank,
    /// A variable and the keys and indexes after it.
    Path(String, Vec<Seg>),
    Range(Box<Expr>, Box<Expr>),
}

/// One step of a path: `.key` or `[expression]`.
#[derive(Debug, Clone)]
pub(super) enum Seg {
    Key(String),
    Index(Expr),
}

/// A condition: comparisons joined by `and`/`or`, evaluated right to left as Liquid does.
#[derive(Debug, Clone)]
pub(super) enum Cond {
    Test(Expr, Option<(Op, Expr)>),
    And(Box<Cond>, Box<Cond>),
    Or(Box<Cond>, Box<Cond>),
    Not(Box<Cond>),
}
