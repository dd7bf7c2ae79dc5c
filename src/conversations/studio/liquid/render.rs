//! Rendering: the tree walked over a scope, one function per node. Nothing here fails: a
//! missing name is nil, and output stops at [`MAX_OUTPUT`], loops at [`MAX_LOOP`]. What
//! the walk spends is taken from a [`Budget`]: once it is spent, every node, loop round
//! and filter stops short, and the runner reads why from the budget.

use serde_json::{Map, Value};

use super::ast::{Cond, Expr, For, Node, Piped, Seg};
use super::limits::{Budget, FILTER_COST, MAX_LOOP, MAX_OUTPUT, ROUND_COST};
use super::value::{
    as_number, contains, equal, index, is_blank, is_empty, iterable, member, order, text,
    truncate_at, truthy, write_value, Op,
};

/// How a body ended: `break` and `continue` travel up to their loop.
pub(super) enum Flow {
    Go,
    Break,
    Continue,
}

/// One rendering: the scope, the names `assign`, `capture` and loops set over it, and the
/// budget it spends.
pub(super) struct Run<'a> {
    scope: &'a Value,
    locals: Map<String, Value>,
    budget: &'a Budget,
}

impl<'a> Run<'a> {
    pub(super) fn new(scope: &'a Value, budget: &'a Budget) -> Run<'a> {
        Run {
            scope,
            locals: Map::new(),
            budget,
        }
    }

    /// Renders `nodes` into `out`, cut at [`MAX_OUTPUT`] (which breaks out of every loop
    /// and spends the budget), each node a unit of the budget.
    pub(super) fn nodes(&mut self, nodes: &[Node], out: &mut String) -> Flow {
        for node in nodes {
            if out.len() >= MAX_OUTPUT {
                truncate_at(out, MAX_OUTPUT);
                self.budget.spend("a template's output passed 64 KiB");
                return Flow::Break;
            }
            if !self.budget.work(1) {
                return Flow::Break;
            }
            match self.node(node, out) {
                Flow::Go => {}
                other => return other,
            }
        }
        Flow::Go
    }

    fn node(&mut self, node: &Node, out: &mut String) -> Flow {
        match node {
            Node::Text(t) => out.push_str(t),
            Node::Output(p) => write_value(&self.piped(p), out),
            Node::If(branches, otherwise) => return self.if_block(branches, otherwise, out),
            Node::Case(subject, whens, otherwise) => {
                return self.case_block(subject, whens, otherwise, out)
            }
            Node::For(f) => self.for_loop(f, out),
            Node::Assign(name, p) => self.assign(name, p),
            Node::Capture(name, body) => self.capture(name, body),
            Node::Break => return Flow::Break,
            Node::Continue => return Flow::Continue,
        }
        Flow::Go
    }

    fn if_block(
        &mut self,
        branches: &[(Cond, Vec<Node>)],
        otherwise: &[Node],
        out: &mut String,
    ) -> Flow {
        let body = branches
            .iter()
            .find(|(c, _)| self.cond(c))
            .map_or(otherwise, |(_, b)| b);
        self.nodes(body, out)
    }

    fn case_block(
        &mut self,
        subject: &Expr,
        whens: &[(Vec<Expr>, Vec<Node>)],
        otherwise: &[Node],
        out: &mut String,
    ) -> Flow {
        let value = self.eval(subject);
        let body = whens
            .iter()
            .find(|(list, _)| list.iter().any(|e| equal(&value, &self.eval(e))))
            .map_or(otherwise, |(_, b)| b);
        self.nodes(body, out)
    }

    /// The body once per item, with the loop variable and `forloop` set; both get their
    /// values from before the loop back after it.
    fn for_loop(&mut self, f: &For, out: &mut String) {
        let items = self.loop_items(f);
        if items.is_empty() {
            self.nodes(&f.otherwise, out);
            return;
        }
        let saved = (
            self.locals.get(&f.var).cloned(),
            self.locals.get("forloop").cloned(),
        );
        let length = items.len();
        for (i, item) in items.into_iter().enumerate() {
            // Nested loops multiply their rounds: each one spent is what bounds them.
            if !self.budget.work(ROUND_COST) {
                break;
            }
            self.locals.insert(f.var.clone(), item);
            self.locals.insert("forloop".into(), forloop(i, length));
            if let Flow::Break = self.nodes(&f.body, out) {
                break;
            }
        }
        self.restore(&f.var, saved.0);
        self.restore("forloop", saved.1);
    }

    /// The items a loop runs over: `offset`, then `limit`, then `reversed`, then Studio's cap.
    fn loop_items(&self, f: &For) -> Vec<Value> {
        let mut items = iterable(self.eval(&f.collection));
        let offset = self.count(f.offset.as_ref()).unwrap_or(0).min(items.len());
        items.drain(..offset);
        if let Some(limit) = self.count(f.limit.as_ref()) {
            items.truncate(limit);
        }
        if f.reversed {
            items.reverse();
        }
        items.truncate(MAX_LOOP);
        items
    }

    /// A `limit` or `offset`: a number, negatives as 0.
    fn count(&self, e: Option<&Expr>) -> Option<usize> {
        let n = as_number(&self.eval(e?))?;
        Some(n.max(0.0) as usize)
    }

    fn restore(&mut self, name: &str, value: Option<Value>) {
        match value {
            Some(v) => self.locals.insert(name.to_string(), v),
            None => self.locals.remove(name),
        };
    }

    /// `name` set to what `p` gives.
    fn assign(&mut self, name: &str, p: &Piped) {
        let value = self.piped(p);
        self.locals.insert(name.to_string(), value);
    }

    fn capture(&mut self, name: &str, body: &[Node]) {
        let mut text = String::new();
        self.nodes(body, &mut text);
        let value = match self.budget.string(text.len()) {
            true => Value::String(text),
            false => Value::Null,
        };
        self.locals.insert(name.to_string(), value);
    }

    fn cond(&self, cond: &Cond) -> bool {
        match cond {
            Cond::And(a, b) => self.cond(a) && self.cond(b),
            Cond::Or(a, b) => self.cond(a) || self.cond(b),
            Cond::Not(c) => !self.cond(c),
            Cond::Test(e, None) => truthy(&self.eval(e)),
            Cond::Test(left, Some((op, right))) => self.compare(left, *op, right),
        }
    }

    /// `empty` and `blank` on either side test the other side; the rest compare values.
    fn compare(&self, left: &Expr, op: Op, right: &Expr) -> bool {
        let (l, r) = (self.eval(left), self.eval(right));
        let same = special(right, &l)
            .or_else(|| special(left, &r))
            .unwrap_or_else(|| equal(&l, &r));
        match op {
            Op::Eq => same,
            Op::Ne => !same,
            Op::Contains => contains(&l, &r),
            _ => order(op, &l, &r),
        }
    }

    pub(super) fn eval(&self, expr: &Expr) -> Value {
        match expr {
            Expr::Literal(v) => v.clone(),
            Expr::Empty | Expr::Blank => Value::String(String::new()),
            Expr::Range(from, to) => self.range(from, to),
            Expr::Path(root, segs) => self.path(root, segs),
        }
    }

    /// The integers of `(from..to)`, an empty array when either end is no number.
    fn range(&self, from: &Expr, to: &Expr) -> Value {
        let (Some(a), Some(b)) = (as_number(&self.eval(from)), as_number(&self.eval(to))) else {
            return Value::Array(Vec::new());
        };
        let (a, b) = (a as i64, b as i64);
        // Bounded: a loop only ever reads MAX_LOOP of it.
        Value::Array((a..=b).take(1000).map(Value::from).collect())
    }

    /// A variable (the template's own names first) and the steps after it.
    fn path(&self, root: &str, segs: &[Seg]) -> Value {
        let mut value = match self.locals.get(root) {
            Some(v) => v.clone(),
            None => self.scope.get(root).cloned().unwrap_or(Value::Null),
        };
        for seg in segs {
            value = self.step(&value, seg);
        }
        value
    }

    fn step(&self, value: &Value, seg: &Seg) -> Value {
        match seg {
            Seg::Key(k) => member(value, k),
            Seg::Index(e) => match self.eval(e) {
                Value::Number(n) => index(value, n.as_i64().unwrap_or(i64::MAX)),
                other => member(value, &text(&other)),
            },
        }
    }

    /// An expression through its filters, their arguments evaluated first.
    pub(super) fn piped(&self, p: &Piped) -> Value {
        let mut value = self.eval(&p.expr);
        for (filter, args) in &p.filters {
            if !self.budget.work(FILTER_COST) {
                return Value::Null;
            }
            let args: Vec<Value> = args.iter().map(|a| self.eval(a)).collect();
            value = filter.apply(value, &args, self.budget.now());
            // `append` doubling a string is how a template reaches 512 MiB: each result is
            // checked, so no string grows past twice the bound.
            if let Value::String(text) = &value {
                if !self.budget.string(text.len()) {
                    return Value::Null;
                }
            }
        }
        value
    }
}

/// What `empty` or `blank` says of `other`, when `e` is one of them.
fn special(e: &Expr, other: &Value) -> Option<bool> {
    match e {
        Expr::Empty => Some(is_empty(other)),
        Expr::Blank => Some(is_blank(other)),
        _ => None,
    }
}

/// The `forloop` object of item `i` of `length` (built by hand: `json!` would serialize
/// each field through serde, more code for the same value).
fn forloop(i: usize, length: usize) -> Value {
    let fields = [
        ("index", Value::from(i + 1)),
        ("index0", Value::from(i)),
        ("first", Value::Bool(i == 0)),
        ("last", Value::Bool(i + 1 == length)),
        ("length", Value::from(length)),
        ("rindex", Value::from(length - i)),
        ("rindex0", Value::from(length - i - 1)),
    ];
    let mut map = Map::new();
    for (key, value) in fields {
        map.insert(key.to_string(), value);
    }
    Value::Object(map)
}
