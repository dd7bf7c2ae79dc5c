//! The block structure: the tokens into the tree, one function per tag. Bodies nest at most
//! [`MAX_DEPTH`] deep, so odd input never overflows the stack.

use super::ast::{Cond, Expr, For, Node};
use super::lexer::{Lex, Token};
use super::limits::MAX_DEPTH;
use super::parser::{describe, Parser};

/// The tags that end a `when`'s body.
const WHEN_ENDS: [&str; 3] = ["when", "else", "endcase"];

/// The template's tree.
pub(super) fn parse(tokens: Vec<Token<'_>>) -> Result<Vec<Node>, String> {
    let mut blocks = Blocks { tokens, at: 0 };
    Ok(blocks.nodes(&[], 0)?.0)
}

struct Blocks<'a> {
    tokens: Vec<Token<'a>>,
    at: usize,
}

impl<'a> Blocks<'a> {
    /// Nodes up to one of `ends` (its tag text returned), or the end of the template.
    fn nodes(
        &mut self,
        ends: &[&str],
        depth: usize,
    ) -> Result<(Vec<Node>, Option<&'a str>), String> {
        if depth > MAX_DEPTH {
            return Err("tags nested too deep".into());
        }
        let mut nodes = Vec::new();
        while let Some(&token) = self.tokens.get(self.at) {
            self.at += 1;
            match token {
                Token::Text(t) => nodes.push(Node::Text(t.to_string())),
                Token::Output(o) => nodes.push(Node::Output(Parser::new(o)?.piped()?)),
                Token::Tag(tag) => {
                    let (word, rest) = tag_name(tag);
                    if ends.contains(&word) {
                        return Ok((nodes, Some(tag)));
                    }
                    nodes.push(self.tag(word, rest.trim(), depth + 1)?);
                }
            }
        }
        at_end(nodes, ends)
    }

    /// The tag `word` with its markup `rest`; `depth` is that of its bodies.
    fn tag(&mut self, word: &str, rest: &str, depth: usize) -> Result<Node, String> {
        match word {
            "if" => self.if_tag(rest, depth),
            "unless" => self.unless_tag(rest, depth),
            "case" => self.case_tag(rest, depth),
            "for" => self.for_tag(rest, depth),
            "assign" => assign_tag(rest),
            "capture" => self.capture_tag(rest, depth),
            "break" => Ok(Node::Break),
            "continue" => Ok(Node::Continue),
            other => Err(format!("unknown tag \"{other}\"")),
        }
    }

    fn if_tag(&mut self, rest: &str, depth: usize) -> Result<Node, String> {
        let cond = Parser::new(rest)?.condition()?;
        self.branches(cond, "endif", depth)
    }

    /// An `if` of the negated condition (its `elsif`s are not negated).
    fn unless_tag(&mut self, rest: &str, depth: usize) -> Result<Node, String> {
        let cond = Parser::new(rest)?.condition()?;
        self.branches(Cond::Not(Box::new(cond)), "endunless", depth)
    }

    /// The bodies of an `if` or `unless` from the first: `elsif`s, then an `else`.
    fn branches(&mut self, mut cond: Cond, end: &str, depth: usize) -> Result<Node, String> {
        let mut branches = Vec::new();
        let closer = loop {
            let (body, closer) = self.nodes(&["elsif", "else", end], depth)?;
            branches.push((cond, body));
            let closer = closer.unwrap_or(end);
            match closer.strip_prefix("elsif") {
                Some(next) => cond = Parser::new(next)?.condition()?,
                None => break closer,
            }
        };
        let otherwise = if closer.starts_with("else") {
            self.nodes(&[end], depth)?.0
        } else {
            Vec::new()
        };
        Ok(Node::If(branches, otherwise))
    }

    fn case_tag(&mut self, rest: &str, depth: usize) -> Result<Node, String> {
        let subject = case_subject(rest)?;
        // Text between `case` and the first `when` is dropped, as in Liquid.
        let (_, mut closer) = self.nodes(&WHEN_ENDS, depth)?;
        let (mut whens, mut otherwise) = (Vec::new(), Vec::new());
        while let Some(tag) = closer.take() {
            if let Some(values) = tag.strip_prefix("when") {
                let list = when_values(values)?;
                let (body, next) = self.nodes(&WHEN_ENDS, depth)?;
                whens.push((list, body));
                closer = next;
            } else if tag.starts_with("else") {
                otherwise = self.nodes(&["endcase"], depth)?.0;
            }
        }
        Ok(Node::Case(subject, whens, otherwise))
    }

    fn for_tag(&mut self, rest: &str, depth: usize) -> Result<Node, String> {
        let mut header = for_header(rest)?;
        let (body, closer) = self.nodes(&["else", "endfor"], depth)?;
        header.body = body;
        if closer.is_some_and(|c| c.starts_with("else")) {
            header.otherwise = self.nodes(&["endfor"], depth)?.0;
        }
        Ok(Node::For(header))
    }

    fn capture_tag(&mut self, rest: &str, depth: usize) -> Result<Node, String> {
        let (body, _) = self.nodes(&["endcapture"], depth)?;
        Ok(Node::Capture(rest.to_string(), body))
    }
}

/// A tag's name and the markup after it.
fn tag_name(tag: &str) -> (&str, &str) {
    tag.split_once(char::is_whitespace).unwrap_or((tag, ""))
}

/// The template ended: `nodes` are its last, unless a block waiting for one of `ends` is
/// left open.
fn at_end<'a>(nodes: Vec<Node>, ends: &[&str]) -> Result<(Vec<Node>, Option<&'a str>), String> {
    match ends.last() {
        None => Ok((nodes, None)),
        Some(end) => Err(format!("unclosed {{% {end} %}}")),
    }
}

fn case_subject(rest: &str) -> Result<Expr, String> {
    let mut p = Parser::new(rest)?;
    let subject = p.expr()?;
    if !p.done() {
        return Err("case takes one expression".into());
    }
    Ok(subject)
}

/// A `when`'s values, separated by `,` or `or` (what follows them is ignored).
fn when_values(values: &str) -> Result<Vec<Expr>, String> {
    let mut p = Parser::new(values)?;
    let mut list = vec![p.expr()?];
    while p.eat(",") || p.eat_word("or") {
        list.push(p.expr()?);
    }
    Ok(list)
}

/// `for var in collection` and its options, the bodies left empty.
fn for_header(rest: &str) -> Result<For, String> {
    let mut p = Parser::new(rest)?;
    let Some(Lex::Word(var)) = p.next() else {
        return Err("for takes a variable: {% for x in list %}".into());
    };
    if !p.eat_word("in") {
        return Err("for takes \"in\": {% for x in list %}".into());
    }
    let mut header = For {
        var,
        collection: p.expr()?,
        limit: None,
        offset: None,
        reversed: false,
        body: Vec::new(),
        otherwise: Vec::new(),
    };
    for_options(&mut p, &mut header)?;
    Ok(header)
}

/// `limit: n`, `offset: n` and `reversed`, in any order.
fn for_options(p: &mut Parser, header: &mut For) -> Result<(), String> {
    while !p.done() {
        if p.eat_word("reversed") {
            header.reversed = true;
        } else if p.eat_word("limit") && p.eat(":") {
            header.limit = Some(p.expr()?);
        } else if p.eat_word("offset") && p.eat(":") {
            header.offset = Some(p.expr()?);
        } else {
            return Err(format!("unexpected {} in for", describe(p.peek())));
        }
    }
    Ok(())
}

fn assign_tag(rest: &str) -> Result<Node, String> {
    let (name, value) = rest.split_once('=').ok_or("assign takes name = value")?;
    let name = name.trim();
    if name.is_empty() {
        return Err("assign takes name = value".into());
    }
    Ok(Node::Assign(name.to_string(), Parser::new(value)?.piped()?))
}
