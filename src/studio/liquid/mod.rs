//! Liquid, the template language of Studio's widgets
//! (https://www.twilio.com/docs/studio/user-guide/liquid-template-language): `{{ output |
//! filters }}` and the tags flows use (`if`/`elsif`/`else`, `unless`, `case`/`when`, `for`
//! with `limit`/`offset`/`reversed`, `assign`, `capture`, `raw`, `comment`).
//!
//! Why not the `liquid` crate: measured at 514 KB of gzipped wasm on its own (more than this
//! whole worker), and it refuses undefined variables, which Studio renders as nothing. This
//! evaluator is Shopify Liquid's semantics for what Studio's templates need: a missing
//! variable or key is nil and renders empty, only `false` and nil are falsy, and a loop stops
//! after 15 iterations ("Liquid Template loops: Limited to 15 iterations per Liquid Template
//! loop", Studio FAQ, https://www.twilio.com/docs/studio/user-guide/studio-faq).

use serde_json::{Map, Number, Value};

/// Studio's loop limit.
pub const MAX_LOOP: usize = 15;
/// Output beyond this is cut: a template cannot make a reply or a request body unbounded.
const MAX_OUTPUT: usize = 64 * 1024;
/// Tags nested deeper than this are refused (no stack to overflow on odd input).
const MAX_DEPTH: usize = 64;

/// A parsed template.
#[derive(Debug, Clone)]
pub struct Template {
    nodes: Vec<Node>,
}

#[derive(Debug, Clone)]
enum Node {
    Text(String),
    Output(Piped),
    If(Vec<(Cond, Vec<Node>)>, Vec<Node>),
    Case(Expr, Vec<(Vec<Expr>, Vec<Node>)>, Vec<Node>),
    For(For),
    Assign(String, Piped),
    Capture(String, Vec<Node>),
    Break,
    Continue,
}

#[derive(Debug, Clone)]
struct For {
    var: String,
    collection: Expr,
    limit: Option<Expr>,
    offset: Option<Expr>,
    reversed: bool,
    body: Vec<Node>,
    otherwise: Vec<Node>,
}

/// An expression with its filters.
#[derive(Debug, Clone)]
struct Piped {
    expr: Expr,
    filters: Vec<(String, Vec<Expr>)>,
}

#[derive(Debug, Clone)]
enum Expr {
    Literal(Value),
    Empty,
    Blank,
    Path(String, Vec<Seg>),
    Range(Box<Expr>, Box<Expr>),
}

#[derive(Debug, Clone)]
enum Seg {
    Key(String),
    Index(Expr),
}

/// A condition: comparisons joined by `and`/`or`, evaluated right to left as Liquid does.
#[derive(Debug, Clone)]
enum Cond {
    Test(Expr, Option<(String, Expr)>),
    And(Box<Cond>, Box<Cond>),
    Or(Box<Cond>, Box<Cond>),
    Not(Box<Cond>),
}

const FILTERS: &[&str] = &[
    "upcase",
    "downcase",
    "capitalize",
    "strip",
    "lstrip",
    "rstrip",
    "strip_newlines",
    "newline_to_br",
    "escape",
    "url_encode",
    "url_decode",
    "append",
    "prepend",
    "replace",
    "replace_first",
    "remove",
    "remove_first",
    "truncate",
    "truncatewords",
    "split",
    "join",
    "first",
    "last",
    "size",
    "default",
    "plus",
    "minus",
    "times",
    "divided_by",
    "modulo",
    "abs",
    "ceil",
    "floor",
    "round",
    "at_least",
    "at_most",
    "slice",
    "reverse",
    "sort",
    "uniq",
    "compact",
    "map",
    "where",
    "json",
    "date",
];

// ------------------------------------------------------------------------------------------
// Tokens of a template: text, `{{ … }}` and `{% … %}`.

enum Token<'a> {
    Text(&'a str),
    Output(&'a str),
    Tag(&'a str),
}

fn tokenize(source: &str) -> Result<Vec<Token<'_>>, String> {
    let mut tokens = Vec::new();
    let mut rest = source;
    let mut trim_next = false;
    while !rest.is_empty() {
        let open = [rest.find("{{"), rest.find("{%")]
            .into_iter()
            .flatten()
            .min();
        let Some(at) = open else {
            tokens.push(Token::Text(if trim_next {
                rest.trim_start()
            } else {
                rest
            }));
            break;
        };
        let mut text = &rest[..at];
        if trim_next {
            text = text.trim_start();
        }
        let is_output = rest[at..].starts_with("{{");
        let inner_start = at + 2;
        let trim_before = rest[inner_start..].starts_with('-');
        if trim_before {
            text = text.trim_end();
        }
        if !text.is_empty() {
            tokens.push(Token::Text(text));
        }
        let close = if is_output { "}}" } else { "%}" };
        let Some(end) = rest[inner_start..].find(close) else {
            return Err(format!("unclosed {}", if is_output { "{{" } else { "{%" }));
        };
        let mut inner = &rest[inner_start..inner_start + end];
        if trim_before {
            inner = &inner[1..];
        }
        trim_next = inner.ends_with('-');
        if trim_next {
            inner = &inner[..inner.len() - 1];
        }
        rest = &rest[inner_start + end + 2..];
        let inner = inner.trim();
        if is_output {
            tokens.push(Token::Output(inner));
            continue;
        }
        // raw and comment swallow everything up to their end tag.
        let word = inner.split_whitespace().next().unwrap_or("");
        if word == "raw" || word == "comment" {
            let end_tag = if word == "raw" {
                "endraw"
            } else {
                "endcomment"
            };
            let Some((body, after)) = find_end_tag(rest, end_tag) else {
                return Err(format!("unclosed {{% {word} %}}"));
            };
            if word == "raw" && !body.is_empty() {
                tokens.push(Token::Text(body));
            }
            rest = after;
            continue;
        }
        tokens.push(Token::Tag(inner));
    }
    Ok(tokens)
}

/// The text before `{% end_tag %}` and what follows it.
fn find_end_tag<'a>(text: &'a str, end_tag: &str) -> Option<(&'a str, &'a str)> {
    let mut from = 0;
    while let Some(at) = text[from..].find("{%") {
        let start = from + at;
        let close = text[start..].find("%}")? + start;
        let inner = text[start + 2..close].trim_matches(|c: char| c == '-' || c.is_whitespace());
        if inner == end_tag {
            return Some((&text[..start], &text[close + 2..]));
        }
        from = close + 2;
    }
    None
}

// ------------------------------------------------------------------------------------------
// Expressions.

#[derive(Debug, Clone, PartialEq)]
enum Lex {
    Word(String),
    Str(String),
    Num(Value),
    Sym(&'static str),
}

fn lex(text: &str) -> Result<Vec<Lex>, String> {
    let mut out = Vec::new();
    let chars: Vec<char> = text.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c.is_whitespace() {
            i += 1;
            continue;
        }
        if c == '"' || c == '\'' {
            let start = i + 1;
            let end = chars[start..]
                .iter()
                .position(|&x| x == c)
                .ok_or("an unclosed string")?;
            out.push(Lex::Str(chars[start..start + end].iter().collect()));
            i = start + end + 1;
            continue;
        }
        let two: String = chars[i..chars.len().min(i + 2)].iter().collect();
        if let Some(sym) = ["==", "!=", "<>", "<=", ">=", ".."]
            .into_iter()
            .find(|s| *s == two)
        {
            out.push(Lex::Sym(sym));
            i += 2;
            continue;
        }
        if let Some(sym) = ["<", ">", "|", ":", ",", "[", "]", ".", "(", ")"]
            .into_iter()
            .find(|s| s.starts_with(c))
        {
            out.push(Lex::Sym(sym));
            i += 1;
            continue;
        }
        let negative = c == '-' && chars.get(i + 1).is_some_and(char::is_ascii_digit);
        if c.is_ascii_digit() || negative {
            let start = i;
            i += 1;
            while i < chars.len()
                && (chars[i].is_ascii_digit()
                    || (chars[i] == '.' && chars.get(i + 1).is_some_and(char::is_ascii_digit)))
            {
                i += 1;
            }
            let text: String = chars[start..i].iter().collect();
            let number = match text.parse::<i64>() {
                Ok(n) => Value::from(n),
                Err(_) => text
                    .parse::<f64>()
                    .ok()
                    .and_then(Number::from_f64)
                    .map(Value::Number)
                    .ok_or_else(|| format!("\"{text}\" is not a number"))?,
            };
            out.push(Lex::Num(number));
            continue;
        }
        if c.is_alphanumeric() || c == '_' {
            let start = i;
            while i < chars.len()
                && (chars[i].is_alphanumeric()
                    || chars[i] == '_'
                    || chars[i] == '-'
                    || chars[i] == '?')
            {
                i += 1;
            }
            out.push(Lex::Word(chars[start..i].iter().collect()));
            continue;
        }
        return Err(format!("unexpected \"{c}\""));
    }
    Ok(out)
}

struct Parser {
    lexes: Vec<Lex>,
    at: usize,
}

impl Parser {
    fn new(text: &str) -> Result<Parser, String> {
        Ok(Parser {
            lexes: lex(text)?,
            at: 0,
        })
    }
    fn peek(&self) -> Option<&Lex> {
        self.lexes.get(self.at)
    }
    fn next(&mut self) -> Option<Lex> {
        let lex = self.lexes.get(self.at).cloned();
        self.at += 1;
        lex
    }
    fn eat(&mut self, sym: &str) -> bool {
        if matches!(self.peek(), Some(Lex::Sym(s)) if *s == sym) {
            self.at += 1;
            true
        } else {
            false
        }
    }
    fn eat_word(&mut self, word: &str) -> bool {
        if matches!(self.peek(), Some(Lex::Word(w)) if w == word) {
            self.at += 1;
            true
        } else {
            false
        }
    }
    fn done(&self) -> bool {
        self.at >= self.lexes.len()
    }

    fn expr(&mut self) -> Result<Expr, String> {
        match self.next() {
            Some(Lex::Str(s)) => Ok(Expr::Literal(Value::String(s))),
            Some(Lex::Num(n)) => Ok(Expr::Literal(n)),
            Some(Lex::Sym("(")) => {
                let from = self.expr()?;
                if !self.eat("..") {
                    return Err("a range is (start..end)".into());
                }
                let to = self.expr()?;
                if !self.eat(")") {
                    return Err("a range is (start..end)".into());
                }
                Ok(Expr::Range(Box::new(from), Box::new(to)))
            }
            Some(Lex::Word(w)) => match w.as_str() {
                "true" => Ok(Expr::Literal(Value::Bool(true))),
                "false" => Ok(Expr::Literal(Value::Bool(false))),
                "nil" | "null" => Ok(Expr::Literal(Value::Null)),
                "empty" => Ok(Expr::Empty),
                "blank" => Ok(Expr::Blank),
                _ => {
                    let mut segs = Vec::new();
                    loop {
                        if self.eat(".") {
                            match self.next() {
                                Some(Lex::Word(k)) => segs.push(Seg::Key(k)),
                                Some(Lex::Num(n)) => segs.push(Seg::Key(n.to_string())),
                                _ => return Err("a name after \".\"".into()),
                            }
                        } else if self.eat("[") {
                            let index = self.expr()?;
                            if !self.eat("]") {
                                return Err("an unclosed \"[\"".into());
                            }
                            segs.push(Seg::Index(index));
                        } else {
                            break;
                        }
                    }
                    Ok(Expr::Path(w, segs))
                }
            },
            Some(Lex::Sym("[")) => {
                let index = self.expr()?;
                if !self.eat("]") {
                    return Err("an unclosed \"[\"".into());
                }
                let mut segs = Vec::new();
                while self.eat(".") {
                    match self.next() {
                        Some(Lex::Word(k)) => segs.push(Seg::Key(k)),
                        _ => return Err("a name after \".\"".into()),
                    }
                }
                match index {
                    Expr::Literal(Value::String(root)) => Ok(Expr::Path(root, segs)),
                    _ => Err("a variable name in brackets".into()),
                }
            }
            other => Err(format!("an expression, not {}", describe(other.as_ref()))),
        }
    }

    fn piped(&mut self) -> Result<Piped, String> {
        let expr = self.expr()?;
        let mut filters = Vec::new();
        while self.eat("|") {
            let Some(Lex::Word(name)) = self.next() else {
                return Err("a filter name after \"|\"".into());
            };
            if !FILTERS.contains(&name.as_str()) {
                return Err(format!("unknown filter \"{name}\""));
            }
            let mut args = Vec::new();
            if self.eat(":") {
                loop {
                    // Keyword arguments (`allow_false: true`) are read for their value.
                    if matches!(
                        (self.lexes.get(self.at), self.lexes.get(self.at + 1)),
                        (Some(Lex::Word(_)), Some(Lex::Sym(":")))
                    ) {
                        self.at += 2;
                    }
                    args.push(self.expr()?);
                    if !self.eat(",") {
                        break;
                    }
                }
            }
            filters.push((name, args));
        }
        if !self.done() {
            return Err(format!("unexpected {}", describe(self.peek())));
        }
        Ok(Piped { expr, filters })
    }

    fn condition(&mut self) -> Result<Cond, String> {
        let left = self.expr()?;
        let op = match self.peek() {
            Some(Lex::Sym(s)) if ["==", "!=", "<>", "<", ">", "<=", ">="].contains(s) => {
                Some(s.to_string())
            }
            Some(Lex::Word(w)) if w == "contains" => Some("contains".to_string()),
            _ => None,
        };
        let test = match op {
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
}

fn describe(lex: Option<&Lex>) -> String {
    match lex {
        None => "the end".into(),
        Some(Lex::Word(w)) => format!("\"{w}\""),
        Some(Lex::Str(s)) => format!("\"{s}\""),
        Some(Lex::Num(n)) => n.to_string(),
        Some(Lex::Sym(s)) => format!("\"{s}\""),
    }
}

// ------------------------------------------------------------------------------------------
// Blocks.

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
        while self.at < self.tokens.len() {
            let token = &self.tokens[self.at];
            self.at += 1;
            match token {
                Token::Text(t) => nodes.push(Node::Text((*t).to_string())),
                Token::Output(o) => nodes.push(Node::Output(Parser::new(o)?.piped()?)),
                Token::Tag(tag) => {
                    let tag = *tag;
                    let (word, rest) = tag.split_once(char::is_whitespace).unwrap_or((tag, ""));
                    if ends.contains(&word) {
                        return Ok((nodes, Some(tag)));
                    }
                    nodes.push(self.tag(word, rest.trim(), depth)?);
                }
            }
        }
        if ends.is_empty() {
            Ok((nodes, None))
        } else {
            Err(format!(
                "unclosed {{% {} %}}",
                ends.last().copied().unwrap_or("")
            ))
        }
    }

    fn tag(&mut self, word: &str, rest: &str, depth: usize) -> Result<Node, String> {
        match word {
            "if" | "unless" => {
                let end = if word == "if" { "endif" } else { "endunless" };
                let mut branches = Vec::new();
                let mut cond = Parser::new(rest)?.condition()?;
                if word == "unless" {
                    cond = Cond::Not(Box::new(cond));
                }
                loop {
                    let (body, closer) = self.nodes(&["elsif", "else", end], depth + 1)?;
                    branches.push((cond, body));
                    let closer = closer.unwrap_or(end);
                    if let Some(next) = closer.strip_prefix("elsif") {
                        cond = Parser::new(next)?.condition()?;
                        continue;
                    }
                    let otherwise = if closer.starts_with("else") {
                        self.nodes(&[end], depth + 1)?.0
                    } else {
                        Vec::new()
                    };
                    return Ok(Node::If(branches, otherwise));
                }
            }
            "case" => {
                let subject = {
                    let mut p = Parser::new(rest)?;
                    let e = p.expr()?;
                    if !p.done() {
                        return Err("case takes one expression".into());
                    }
                    e
                };
                // Text between `case` and the first `when` is dropped, as in Liquid.
                let (_, mut closer) = self.nodes(&["when", "else", "endcase"], depth + 1)?;
                let mut whens = Vec::new();
                let mut otherwise = Vec::new();
                while let Some(tag) = closer {
                    if let Some(values) = tag.strip_prefix("when") {
                        let mut p = Parser::new(values)?;
                        let mut list = vec![p.expr()?];
                        while p.eat(",") || p.eat_word("or") {
                            list.push(p.expr()?);
                        }
                        let (body, next) = self.nodes(&["when", "else", "endcase"], depth + 1)?;
                        whens.push((list, body));
                        closer = next;
                    } else if tag.starts_with("else") {
                        otherwise = self.nodes(&["endcase"], depth + 1)?.0;
                        closer = None;
                    } else {
                        closer = None;
                    }
                }
                Ok(Node::Case(subject, whens, otherwise))
            }
            "for" => {
                let mut p = Parser::new(rest)?;
                let Some(Lex::Word(var)) = p.next() else {
                    return Err("for takes a variable: {% for x in list %}".into());
                };
                if !p.eat_word("in") {
                    return Err("for takes \"in\": {% for x in list %}".into());
                }
                let collection = p.expr()?;
                let (mut limit, mut offset, mut reversed) = (None, None, false);
                while !p.done() {
                    if p.eat_word("reversed") {
                        reversed = true;
                    } else if p.eat_word("limit") && p.eat(":") {
                        limit = Some(p.expr()?);
                    } else if p.eat_word("offset") && p.eat(":") {
                        offset = Some(p.expr()?);
                    } else {
                        return Err(format!("unexpected {} in for", describe(p.peek())));
                    }
                }
                let (body, closer) = self.nodes(&["else", "endfor"], depth + 1)?;
                let otherwise = if closer.is_some_and(|c| c.starts_with("else")) {
                    self.nodes(&["endfor"], depth + 1)?.0
                } else {
                    Vec::new()
                };
                Ok(Node::For(For {
                    var,
                    collection,
                    limit,
                    offset,
                    reversed,
                    body,
                    otherwise,
                }))
            }
            "assign" => {
                let (name, value) = rest.split_once('=').ok_or("assign takes name = value")?;
                let name = name.trim();
                if name.is_empty() {
                    return Err("assign takes name = value".into());
                }
                Ok(Node::Assign(name.to_string(), Parser::new(value)?.piped()?))
            }
            "capture" => {
                let (body, _) = self.nodes(&["endcapture"], depth + 1)?;
                Ok(Node::Capture(rest.to_string(), body))
            }
            "break" => Ok(Node::Break),
            "continue" => Ok(Node::Continue),
            other => Err(format!("unknown tag \"{other}\"")),
        }
    }
}

impl Template {
    /// Parses `source`; the error names the problem (an unknown tag or filter, an unclosed
    /// block), for the flow check to report with the widget.
    pub fn parse(source: &str) -> Result<Template, String> {
        let mut blocks = Blocks {
            tokens: tokenize(source)?,
            at: 0,
        };
        let (nodes, _) = blocks.nodes(&[], 0)?;
        Ok(Template { nodes })
    }

    /// Renders over `scope`, a JSON object of the top-level names.
    pub fn render(&self, scope: &Value) -> String {
        let mut out = String::new();
        let mut run = Run {
            scope,
            locals: Map::new(),
        };
        run.nodes(&self.nodes, &mut out);
        out
    }
}

/// Parses and renders `source` in one go; a template that does not parse renders as its
/// source text.
pub fn render(source: &str, scope: &Value) -> String {
    match Template::parse(source) {
        Ok(template) => template.render(scope),
        Err(_) => source.to_string(),
    }
}

// ------------------------------------------------------------------------------------------
// Rendering.

enum Flow {
    Go,
    Break,
    Continue,
}

struct Run<'a> {
    scope: &'a Value,
    locals: Map<String, Value>,
}

impl Run<'_> {
    fn nodes(&mut self, nodes: &[Node], out: &mut String) -> Flow {
        for node in nodes {
            if out.len() >= MAX_OUTPUT {
                truncate_at(out, MAX_OUTPUT);
                return Flow::Break;
            }
            match node {
                Node::Text(t) => out.push_str(t),
                Node::Output(p) => {
                    let value = self.piped(p);
                    write_value(&value, out);
                }
                Node::If(branches, otherwise) => {
                    let body = branches
                        .iter()
                        .find(|(c, _)| self.cond(c))
                        .map(|(_, b)| b)
                        .unwrap_or(otherwise);
                    match self.nodes(body, out) {
                        Flow::Go => {}
                        other => return other,
                    }
                }
                Node::Case(subject, whens, otherwise) => {
                    let value = self.eval(subject);
                    let body = whens
                        .iter()
                        .find(|(list, _)| list.iter().any(|e| equal(&value, &self.eval(e))))
                        .map(|(_, b)| b)
                        .unwrap_or(otherwise);
                    match self.nodes(body, out) {
                        Flow::Go => {}
                        other => return other,
                    }
                }
                Node::For(f) => self.for_loop(f, out),
                Node::Assign(name, p) => {
                    let value = self.piped(p);
                    self.locals.insert(name.clone(), value);
                }
                Node::Capture(name, body) => {
                    let mut text = String::new();
                    self.nodes(body, &mut text);
                    self.locals.insert(name.clone(), Value::String(text));
                }
                Node::Break => return Flow::Break,
                Node::Continue => return Flow::Continue,
            }
        }
        Flow::Go
    }

    fn for_loop(&mut self, f: &For, out: &mut String) {
        let mut items = match self.eval(&f.collection) {
            Value::Array(items) => items,
            Value::Object(map) => map
                .into_iter()
                .map(|(k, v)| Value::Array(vec![Value::String(k), v]))
                .collect(),
            Value::String(s) if !s.is_empty() => vec![Value::String(s)],
            _ => Vec::new(),
        };
        let number = |run: &Run<'_>, e: &Option<Expr>| {
            e.as_ref()
                .and_then(|e| as_number(&run.eval(e)))
                .map(|n| n.max(0.0) as usize)
        };
        let offset = number(self, &f.offset).unwrap_or(0).min(items.len());
        items.drain(..offset);
        if let Some(limit) = number(self, &f.limit) {
            items.truncate(limit);
        }
        if f.reversed {
            items.reverse();
        }
        items.truncate(MAX_LOOP);
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
            self.locals.insert(f.var.clone(), item);
            self.locals.insert(
                "forloop".into(),
                serde_json::json!({"index": i + 1, "index0": i, "first": i == 0, "last": i + 1 == length,
                    "length": length, "rindex": length - i, "rindex0": length - i - 1}),
            );
            if let Flow::Break = self.nodes(&f.body, out) {
                break;
            }
        }
        for (name, value) in [(f.var.as_str(), saved.0), ("forloop", saved.1)] {
            match value {
                Some(v) => self.locals.insert(name.to_string(), v),
                None => self.locals.remove(name),
            };
        }
    }

    fn cond(&self, cond: &Cond) -> bool {
        match cond {
            Cond::And(a, b) => self.cond(a) && self.cond(b),
            Cond::Or(a, b) => self.cond(a) || self.cond(b),
            Cond::Not(c) => !self.cond(c),
            Cond::Test(e, None) => truthy(&self.eval(e)),
            Cond::Test(left, Some((op, right))) => {
                let special = |e: &Expr, other: &Value| match e {
                    Expr::Empty => Some(is_empty(other)),
                    Expr::Blank => Some(is_blank(other)),
                    _ => None,
                };
                let (l, r) = (self.eval(left), self.eval(right));
                let same = special(right, &l)
                    .or_else(|| special(left, &r))
                    .unwrap_or_else(|| equal(&l, &r));
                match op.as_str() {
                    "==" => same,
                    "!=" | "<>" => !same,
                    "contains" => match (&l, &r) {
                        (Value::String(s), r) => s.contains(&text(r)),
                        (Value::Array(items), r) => items.iter().any(|i| equal(i, r)),
                        _ => false,
                    },
                    op => match (as_strict_number(&l), as_strict_number(&r)) {
                        (Some(a), Some(b)) => match op {
                            "<" => a < b,
                            ">" => a > b,
                            "<=" => a <= b,
                            _ => a >= b,
                        },
                        _ => match (&l, &r) {
                            (Value::String(a), Value::String(b)) => match op {
                                "<" => a < b,
                                ">" => a > b,
                                "<=" => a <= b,
                                _ => a >= b,
                            },
                            _ => false,
                        },
                    },
                }
            }
        }
    }

    fn eval(&self, expr: &Expr) -> Value {
        match expr {
            Expr::Literal(v) => v.clone(),
            Expr::Empty | Expr::Blank => Value::String(String::new()),
            Expr::Range(from, to) => {
                let (Some(a), Some(b)) = (as_number(&self.eval(from)), as_number(&self.eval(to)))
                else {
                    return Value::Array(Vec::new());
                };
                let (a, b) = (a as i64, b as i64);
                // Bounded: a loop only ever reads MAX_LOOP of it.
                Value::Array((a..=b).take(1000).map(Value::from).collect())
            }
            Expr::Path(root, segs) => {
                let mut value = match self.locals.get(root) {
                    Some(v) => v.clone(),
                    None => self.scope.get(root).cloned().unwrap_or(Value::Null),
                };
                for seg in segs {
                    value = match seg {
                        Seg::Key(k) => member(&value, k),
                        Seg::Index(e) => match self.eval(e) {
                            Value::Number(n) => index(&value, n.as_i64().unwrap_or(i64::MAX)),
                            other => member(&value, &text(&other)),
                        },
                    };
                }
                value
            }
        }
    }

    fn piped(&self, p: &Piped) -> Value {
        let mut value = self.eval(&p.expr);
        for (name, args) in &p.filters {
            let args: Vec<Value> = args.iter().map(|a| self.eval(a)).collect();
            value = filter(name, value, &args);
        }
        value
    }
}

fn member(value: &Value, key: &str) -> Value {
    match (value, key) {
        (Value::Object(map), k) => map.get(k).cloned().unwrap_or_else(|| match k {
            "size" => Value::from(map.len()),
            _ => Value::Null,
        }),
        (Value::Array(items), "size") => Value::from(items.len()),
        (Value::Array(items), "first") => items.first().cloned().unwrap_or(Value::Null),
        (Value::Array(items), "last") => items.last().cloned().unwrap_or(Value::Null),
        (Value::Array(_), k) => k
            .parse::<i64>()
            .map(|i| index(value, i))
            .unwrap_or(Value::Null),
        (Value::String(s), "size") => Value::from(s.chars().count()),
        _ => Value::Null,
    }
}

fn index(value: &Value, i: i64) -> Value {
    match value {
        Value::Array(items) => {
            let at = if i < 0 { items.len() as i64 + i } else { i };
            usize::try_from(at)
                .ok()
                .and_then(|at| items.get(at))
                .cloned()
                .unwrap_or(Value::Null)
        }
        Value::Object(map) => map.get(&i.to_string()).cloned().unwrap_or(Value::Null),
        _ => Value::Null,
    }
}

fn truthy(value: &Value) -> bool {
    !matches!(value, Value::Null | Value::Bool(false))
}

fn is_empty(value: &Value) -> bool {
    match value {
        Value::String(s) => s.is_empty(),
        Value::Array(a) => a.is_empty(),
        Value::Object(m) => m.is_empty(),
        _ => false,
    }
}

fn is_blank(value: &Value) -> bool {
    match value {
        Value::Null | Value::Bool(false) => true,
        Value::String(s) => s.trim().is_empty(),
        other => is_empty(other),
    }
}

fn equal(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => x.as_f64() == y.as_f64(),
        _ => a == b,
    }
}

/// The text of a value as an output prints it.
fn text(value: &Value) -> String {
    let mut out = String::new();
    write_value(value, &mut out);
    out
}

fn write_value(value: &Value, out: &mut String) {
    match value {
        Value::Null => {}
        Value::String(s) => out.push_str(s),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Number(n) => out.push_str(&number_text(n)),
        Value::Array(items) => items.iter().for_each(|i| write_value(i, out)),
        Value::Object(_) => out.push_str(&value.to_string()),
    }
}

fn number_text(n: &Number) -> String {
    match (n.as_i64(), n.as_f64()) {
        (Some(i), _) => i.to_string(),
        (None, Some(f)) if f.fract() == 0.0 && f.abs() < 1e15 => format!("{f:.1}"),
        _ => n.to_string(),
    }
}

/// A number from a number or a numeric string (filters convert, as Liquid's do).
fn as_number(value: &Value) -> Option<f64> {
    match value {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => s.trim().parse::<f64>().ok().filter(|f| f.is_finite()),
        _ => None,
    }
}

/// Comparisons do not convert: a string and a number do not compare (Liquid's rule).
fn as_strict_number(value: &Value) -> Option<f64> {
    match value {
        Value::Number(n) => n.as_f64(),
        _ => None,
    }
}

fn integer_like(value: &Value) -> bool {
    match value {
        Value::Number(n) => n.is_i64() || n.is_u64(),
        Value::String(s) => s.trim().parse::<i64>().is_ok(),
        _ => false,
    }
}

fn number_value(f: f64, integers: bool) -> Value {
    if !f.is_finite() {
        return Value::Null;
    }
    if integers && f.abs() < 9.0e15 {
        return Value::from(f as i64);
    }
    Number::from_f64(f)
        .map(Value::Number)
        .unwrap_or(Value::Null)
}

fn truncate_at(text: &mut String, max: usize) {
    if text.len() > max {
        let mut at = max;
        while !text.is_char_boundary(at) {
            at -= 1;
        }
        text.truncate(at);
    }
}

fn filter(name: &str, value: Value, args: &[Value]) -> Value {
    let arg = |i: usize| args.get(i).map(text).unwrap_or_default();
    let s = || text(&value);
    let string = |t: String| Value::String(t);
    match name {
        "upcase" => string(s().to_uppercase()),
        "downcase" => string(s().to_lowercase()),
        "capitalize" => {
            let t = s();
            let mut chars = t.chars();
            string(match chars.next() {
                Some(first) => first
                    .to_uppercase()
                    .chain(chars.flat_map(char::to_lowercase))
                    .collect(),
                None => String::new(),
            })
        }
        "strip" => string(s().trim().to_string()),
        "lstrip" => string(s().trim_start().to_string()),
        "rstrip" => string(s().trim_end().to_string()),
        "strip_newlines" => string(s().replace(['\r', '\n'], "")),
        "newline_to_br" => string(s().replace('\n', "<br />\n")),
        "escape" => string(
            s().replace('&', "&amp;")
                .replace('<', "&lt;")
                .replace('>', "&gt;")
                .replace('"', "&quot;")
                .replace('\'', "&#39;"),
        ),
        "url_encode" => string(form_urlencoded::byte_serialize(s().as_bytes()).collect()),
        "url_decode" => string(
            form_urlencoded::parse(format!("x={}", s()).as_bytes())
                .next()
                .map(|(_, v)| v.into_owned())
                .unwrap_or_default(),
        ),
        "append" => string(s() + &arg(0)),
        "prepend" => string(arg(0) + &s()),
        "replace" => string(s().replace(&arg(0), &arg(1))),
        "replace_first" => string(s().replacen(&arg(0), &arg(1), 1)),
        "remove" => string(s().replace(&arg(0), "")),
        "remove_first" => string(s().replacen(&arg(0), "", 1)),
        "truncate" => {
            let t = s();
            let max = args.first().and_then(as_number).unwrap_or(50.0).max(0.0) as usize;
            let ellipsis = args.get(1).map(text).unwrap_or_else(|| "...".into());
            if t.chars().count() <= max {
                return string(t);
            }
            let keep = max.saturating_sub(ellipsis.chars().count());
            string(t.chars().take(keep).collect::<String>() + &ellipsis)
        }
        "truncatewords" => {
            let t = s();
            let max = args.first().and_then(as_number).unwrap_or(15.0).max(1.0) as usize;
            let words: Vec<&str> = t.split_whitespace().collect();
            if words.len() <= max {
                return string(t);
            }
            let ellipsis = args.get(1).map(text).unwrap_or_else(|| "...".into());
            string(words[..max].join(" ") + &ellipsis)
        }
        "split" => {
            let t = s();
            let sep = arg(0);
            let parts: Vec<Value> = if sep.is_empty() {
                t.chars().map(|c| Value::String(c.to_string())).collect()
            } else {
                t.split(sep.as_str())
                    .map(|p| Value::String(p.to_string()))
                    .collect()
            };
            Value::Array(parts)
        }
        "join" => match value {
            Value::Array(items) => {
                let sep = if args.is_empty() {
                    " ".to_string()
                } else {
                    arg(0)
                };
                string(items.iter().map(text).collect::<Vec<_>>().join(&sep))
            }
            other => other,
        },
        "first" | "last" => match &value {
            Value::Array(items) => {
                let item = if name == "first" {
                    items.first()
                } else {
                    items.last()
                };
                item.cloned().unwrap_or(Value::Null)
            }
            Value::String(t) => {
                let c = if name == "first" {
                    t.chars().next()
                } else {
                    t.chars().last()
                };
                c.map(|c| Value::String(c.to_string()))
                    .unwrap_or(Value::Null)
            }
            _ => Value::Null,
        },
        "size" => match &value {
            Value::Array(items) => Value::from(items.len()),
            Value::Object(map) => Value::from(map.len()),
            Value::String(t) => Value::from(t.chars().count()),
            _ => Value::from(0),
        },
        "default" => {
            let allow_false = args.get(1) == Some(&Value::Bool(true));
            let use_default = match &value {
                Value::Bool(false) => !allow_false,
                other => {
                    is_blank(other) && !matches!(other, Value::Bool(_))
                        || matches!(other, Value::Null)
                }
            };
            if use_default {
                args.first().cloned().unwrap_or(Value::Null)
            } else {
                value
            }
        }
        "plus" | "minus" | "times" | "divided_by" | "modulo" | "at_least" | "at_most" => {
            let (Some(a), Some(b)) = (as_number(&value), args.first().and_then(as_number)) else {
                return Value::Null;
            };
            let integers = integer_like(&value) && args.first().is_some_and(integer_like);
            let result = match name {
                "plus" => a + b,
                "minus" => a - b,
                "times" => a * b,
                "divided_by" if b == 0.0 => return Value::Null,
                "divided_by" if integers => (a / b).floor(),
                "divided_by" => a / b,
                "modulo" if b == 0.0 => return Value::Null,
                "modulo" => a % b,
                "at_least" => a.max(b),
                _ => a.min(b),
            };
            number_value(result, integers)
        }
        "abs" | "ceil" | "floor" | "round" => {
            let Some(a) = as_number(&value) else {
                return Value::Null;
            };
            match name {
                "abs" => number_value(a.abs(), integer_like(&value)),
                "ceil" => number_value(a.ceil(), true),
                "floor" => number_value(a.floor(), true),
                _ => {
                    let places = args
                        .first()
                        .and_then(as_number)
                        .unwrap_or(0.0)
                        .clamp(0.0, 10.0) as i32;
                    let factor = 10f64.powi(places);
                    number_value((a * factor).round() / factor, places == 0)
                }
            }
        }
        "slice" => {
            let start = args.first().and_then(as_number).unwrap_or(0.0) as i64;
            let len = args.get(1).and_then(as_number).unwrap_or(1.0).max(0.0) as usize;
            let slice = |n: usize| {
                let from = if start < 0 {
                    (n as i64 + start).max(0) as usize
                } else {
                    (start as usize).min(n)
                };
                (from, len.min(n - from))
            };
            match value {
                Value::Array(items) => {
                    let (from, len) = slice(items.len());
                    Value::Array(items[from..from + len].to_vec())
                }
                other => {
                    let chars: Vec<char> = text(&other).chars().collect();
                    let (from, len) = slice(chars.len());
                    string(chars[from..from + len].iter().collect())
                }
            }
        }
        "reverse" | "sort" | "uniq" | "compact" => match value {
            Value::Array(mut items) => {
                match name {
                    "reverse" => items.reverse(),
                    "sort" => {
                        items.sort_by(|a, b| match (as_strict_number(a), as_strict_number(b)) {
                            (Some(x), Some(y)) => x.total_cmp(&y),
                            _ => text(a).cmp(&text(b)),
                        })
                    }
                    "uniq" => {
                        let mut seen: Vec<Value> = Vec::new();
                        items.retain(|i| {
                            let new = !seen.contains(i);
                            if new {
                                seen.push(i.clone());
                            }
                            new
                        });
                    }
                    _ => items.retain(|i| !i.is_null()),
                }
                Value::Array(items)
            }
            other => other,
        },
        "map" => match value {
            Value::Array(items) => Value::Array(items.iter().map(|i| member(i, &arg(0))).collect()),
            other => member(&other, &arg(0)),
        },
        "where" => match value {
            Value::Array(items) => {
                let key = arg(0);
                let wanted = args.get(1);
                Value::Array(
                    items
                        .into_iter()
                        .filter(|i| {
                            let v = member(i, &key);
                            match wanted {
                                Some(w) => equal(&v, w),
                                None => truthy(&v),
                            }
                        })
                        .collect(),
                )
            }
            other => other,
        },
        "json" => string(value.to_string()),
        "date" => date(&value, &arg(0)),
        _ => value,
    }
}

/// The `date` filter over Unix seconds, an ISO 8601 date-time or `"now"`, in UTC.
fn date(value: &Value, format: &str) -> Value {
    let seconds = match value {
        Value::Number(n) => n.as_f64().map(|f| f as i64),
        Value::String(s) if s == "now" || s == "today" => None.or(Some(i64::MIN)),
        Value::String(s) => s.trim().parse::<i64>().ok().or_else(|| iso_seconds(s)),
        _ => None,
    };
    let Some(seconds) = seconds.filter(|s| *s != i64::MIN) else {
        // "now" needs the clock, which templates do not see: left as written.
        return value.clone();
    };
    let days = seconds.div_euclid(86_400);
    let secs = seconds.rem_euclid(86_400);
    let (y, m, d) = civil_from_days(days);
    let (hour, minute, second) = (secs / 3600, secs / 60 % 60, secs % 60);
    const MONTHS: [&str; 12] = [
        "January",
        "February",
        "March",
        "April",
        "May",
        "June",
        "July",
        "August",
        "September",
        "October",
        "November",
        "December",
    ];
    const DAYS: [&str; 7] = [
        "Thursday",
        "Friday",
        "Saturday",
        "Sunday",
        "Monday",
        "Tuesday",
        "Wednesday",
    ];
    let weekday = DAYS[days.rem_euclid(7) as usize];
    let month = MONTHS[(m - 1) as usize];
    let mut out = String::new();
    let mut chars = format.chars();
    while let Some(c) = chars.next() {
        if c != '%' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('Y') => out.push_str(&y.to_string()),
            Some('y') => out.push_str(&format!("{:02}", y % 100)),
            Some('m') => out.push_str(&format!("{m:02}")),
            Some('d') => out.push_str(&format!("{d:02}")),
            Some('e') => out.push_str(&format!("{d:>2}")),
            Some('H') => out.push_str(&format!("{hour:02}")),
            Some('I') => out.push_str(&format!("{:02}", (hour + 11) % 12 + 1)),
            Some('M') => out.push_str(&format!("{minute:02}")),
            Some('S') => out.push_str(&format!("{second:02}")),
            Some('p') => out.push_str(if hour < 12 { "AM" } else { "PM" }),
            Some('A') => out.push_str(weekday),
            Some('a') => out.push_str(&weekday[..3]),
            Some('B') => out.push_str(month),
            Some('b') => out.push_str(&month[..3]),
            Some('s') => out.push_str(&seconds.to_string()),
            Some('%') => out.push('%'),
            Some(other) => {
                out.push('%');
                out.push(other);
            }
            None => out.push('%'),
        }
    }
    Value::String(out)
}

fn iso_seconds(text: &str) -> Option<i64> {
    let text = text.trim();
    let date = text.get(..10)?;
    let mut parts = date.split('-');
    let y = parts.next()?.parse().ok()?;
    let m = parts.next()?.parse().ok()?;
    let d = parts.next()?.parse().ok()?;
    let days = super::conditions::days_from_civil(y, m, d)?;
    let mut seconds = days * 86_400;
    if let Some(time) = text.get(11..19) {
        let mut t = time.split(':').map(|p| p.parse::<i64>().ok());
        let (h, mi, s) = (t.next()??, t.next()??, t.next()??);
        seconds += h * 3600 + mi * 60 + s;
    }
    Some(seconds)
}

/// Howard Hinnant's `civil_from_days`.
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

#[cfg(test)]
mod tests;
