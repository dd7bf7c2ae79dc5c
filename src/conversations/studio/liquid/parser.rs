//! The grammar of what is inside `{{ … }}` and `{% … %}`: expressions, filter chains and
//! conditions, parsed from the lexemes into the tree of [`super::ast`].

use serde_json::Value;

use super::ast::{Cond, Expr, Piped, Seg};
use super::filters::Filter;
use super::lexer::{lex, Lex};
use super::value::Op;

/// A cursor over one markup's lexemes.
pub(super) struct Parser {
    lexes: Vec<Lex>,
    at: usize,
}

impl Parser {
    pub(super) fn new(text: &str) -> Result<Parser, String> {
        Ok(Parser {
            lexes: lex(text)?,
            at: 0,
        })
    }

    pub(super) fn peek(&self) -> Option<&Lex> {
        self.lexes.get(self.at)
    }

    pub(super) fn next(&mut self) -> Option<Lex> {
        let lex = self.lexes.get(self.at).cloned();
        self.at += 1;
        lex
    }

    /// Steps over the symbol `sym` if it comes next.
    pub(super) fn eat(&mut self, sym: &str) -> bool {
        let found = matches!(self.peek(), Some(Lex::Sym(s)) if *s == sym);
        self.at += usize::from(found);
        found
    }

    /// Steps over the word `word` if it comes next.
    pub(super) fn eat_word(&mut self, word: &str) -> bool {
        let found = matches!(self.peek(), Some(Lex::Word(w)) if w == word);
        self.at += usize::from(found);
        found
    }

    pub(super) fn done(&self) -> bool {
        self.at >= self.lexes.len()
    }

    /// A literal, a variable's path or a range.
    pub(super) fn expr(&mut self) -> Result<Expr, String> {
        match self.next() {
            Some(Lex::Str(s)) => Ok(Expr::Literal(Value::String(s))),
            Some(Lex::Num(n)) => Ok(Expr::Literal(n)),
            Some(Lex::Sym("(")) => self.range(),
            Some(Lex::Word(w)) => self.word(w),
            Some(Lex::Sym("[")) => self.bracketed_root(),
            other => Err(format!("an expression, not {}", describe(other.as_ref()))),
        }
    }

    /// `(start..end)`, after its `(`.
    fn range(&mut self) -> Result<Expr, String> {
        let from = self.expr()?;
        self.expect("..", "a range is (start..end)")?;
        let to = self.expr()?;
        self.expect(")", "a range is (start..end)")?;
        Ok(Expr::Range(Box::new(from), Box::new(to)))
    }

    /// Steps over the symbol `sym`, which must come next (else the error `error`).
    fn expect(&mut self, sym: &str, error: &str) -> Result<(), String> {
        if !self.eat(sym) {
            return Err(error.into());
        }
        Ok(())
    }

    /// A keyword literal, or a variable and the path after it.
    fn word(&mut self, w: String) -> Result<Expr, String> {
        let literal = match w.as_str() {
            "true" => Value::Bool(true),
            "false" => Value::Bool(false),
            "nil" | "null" => Value::Null,
            "empty" => return Ok(Expr::Empty),
            "blank" => return Ok(Expr::Blank),
            _ => return Ok(Expr::Path(w, self.segments()?)),
        };
        Ok(Expr::Literal(literal))
    }

    /// The `.key` and `[index]` steps after a variable.
    fn segments(&mut self) -> Result<Vec<Seg>, String> {
        let mut segs = Vec::new();
        loop {
            if self.eat(".") {
                segs.push(self.key(true)?);
            } else if self.eat("[") {
                segs.push(Seg::Index(self.index()?));
            } else {
                return Ok(segs);
            }
        }
    }

    /// The key after a `.`: a name, or a number where `numbers` (`items.0`).
    fn key(&mut self, numbers: bool) -> Result<Seg, String> {
        match self.next() {
            Some(Lex::Word(k)) => Ok(Seg::Key(k)),
            Some(Lex::Num(n)) if numbers => Ok(Seg::Key(n.to_string())),
            _ => Err("a name after \".\"".into()),
        }
    }

    /// The expression in `[…]`, after its `[`.
    fn index(&mut self) -> Result<Expr, String> {
        let index = self.expr()?;
        self.expect("]", "an unclosed \"[\"")?;
        Ok(index)
    }

    /// `['name'].key…`: a variable whose name is no word.
    fn bracketed_root(&mut self) -> Result<Expr, String> {
        let index = self.index()?;
        let mut segs = Vec::new();
        while self.eat(".") {
            segs.push(self.key(false)?);
        }
        match index {
            Expr::Literal(Value::String(root)) => Ok(Expr::Path(root, segs)),
            _ => Err("a variable name in brackets".into()),
        }
    }

    /// An expression and its filters, the whole of the markup.
    pub(super) fn piped(&mut self) -> Result<Piped, String> {
        let expr = self.expr()?;
        let mut filters = Vec::new();
        while self.eat("|") {
            filters.push(self.filter()?);
        }
        if !self.done() {
            return Err(format!("unexpected {}", describe(self.peek())));
        }
        Ok(Piped { expr, filters })
    }

    /// One filter after its `|`: an unknown name is refused here, not when rendering.
    fn filter(&mut self) -> Result<(Filter, Vec<Expr>), String> {
        let Some(Lex::Word(name)) = self.next() else {
            return Err("a filter name after \"|\"".into());
        };
        let filter = Filter::parse(&name).ok_or_else(|| format!("unknown filter \"{name}\""))?;
        let args = if self.eat(":") {
            self.arguments()?
        } else {
            Vec::new()
        };
        Ok((filter, args))
    }

    /// A filter's arguments after its `:`.
    fn arguments(&mut self) -> Result<Vec<Expr>, String> {
        let mut args = Vec::new();
        loop {
            self.skip_keyword();
            args.push(self.expr()?);
            if !self.eat(",") {
                return Ok(args);
            }
        }
    }

    /// Keyword arguments (`allow_false: true`) are read for their value: steps over a
    /// `name:` that comes next.
    fn skip_keyword(&mut self) {
        let (name, colon) = (self.lexes.get(self.at), self.lexes.get(self.at + 1));
        let keyword = matches!((name, colon), (Some(Lex::Word(_)), Some(Lex::Sym(":"))));
        self.at += 2 * usize::from(keyword);
    }

    /// Comparisons joined by `and`/`or`, the whole of the markup: each joins everything on
    /// its right, which is Liquid's right-to-left reading.
    pub(super) fn condition(&mut self) -> Result<Cond, String> {
        let left = self.expr()?;
        let test = match self.op() {
            Some(op) => {
                self.at += 1;
                Cond::Test(left, Some((op, self.expr()?)))
            }
            None => Cond::Test(left, None),
        };
        if self.eat_word("and") {
            Ok(Cond::And(Box::new(test), Box::new(self.condition()?)))
        } else if self.eat_word("or") {
            Ok(Cond::Or(Box::new(test), Box::new(self.condition()?)))
        } else if self.done() {
            Ok(test)
        } else {
            Err(format!("unexpected {}", describe(self.peek())))
        }
    }

    /// The comparison operator that comes next, if one does (not stepped over).
    fn op(&self) -> Option<Op> {
        let op = match self.peek()? {
            Lex::Sym("==") => Op::Eq,
            Lex::Sym("!=" | "<>") => Op::Ne,
            Lex::Sym("<") => Op::Lt,
            Lex::Sym(">") => Op::Gt,
            Lex::Sym("<=") => Op::Le,
            Lex::Sym(">=") => Op::Ge,
            Lex::Word(w) if w == "contains" => Op::Contains,
            _ => return None,
        };
        Some(op)
    }
}

/// A lexeme as an error message quotes it.
pub(super) fn describe(lex: Option<&Lex>) -> String {
    match lex {
        None => "the end".into(),
        Some(Lex::Word(w)) => format!("\"{w}\""),
        Some(Lex::Str(s)) => format!("\"{s}\""),
        Some(Lex::Num(n)) => n.to_string(),
        Some(Lex::Sym(s)) => format!("\"{s}\""),
    }
}
