//! Lexing, in two levels: a template into text, `{{ … }}` and `{% … %}` (with the `-` that
//! trims whitespace, and `raw`/`comment` bodies swallowed whole), and the inside of one of
//! those into words, strings, numbers and symbols.

use serde_json::{Number, Value};

/// A piece of a template, borrowed from its source.
#[derive(Clone, Copy)]
pub(super) enum Token<'a> {
    Text(&'a str),
    /// The inside of `{{ … }}`, trimmed.
    Output(&'a str),
    /// The inside of `{% … %}`, trimmed.
    Tag(&'a str),
}

/// The template's tokens; an unclosed `{{`, `{%`, `raw` or `comment` is an error.
pub(super) fn tokenize(source: &str) -> Result<Vec<Token<'_>>, String> {
    let mut tokenizer = Tokenizer {
        tokens: Vec::new(),
        rest: source,
        trim_next: false,
    };
    while !tokenizer.rest.is_empty() {
        tokenizer.step()?;
    }
    Ok(tokenizer.tokens)
}

struct Tokenizer<'a> {
    tokens: Vec<Token<'a>>,
    rest: &'a str,
    /// The last markup ended with `-`: the text after it loses its leading whitespace.
    trim_next: bool,
}

impl<'a> Tokenizer<'a> {
    /// Reads the text up to the next markup and that markup (or the rest, when none is left).
    fn step(&mut self) -> Result<(), String> {
        let rest = self.rest;
        let Some(at) = next_markup(rest) else {
            self.last_text(rest);
            return Ok(());
        };
        let after = &rest[at + 2..];
        let trim_before = after.starts_with('-');
        self.push_text(&rest[..at], trim_before);
        self.markup(after, rest[at..].starts_with("{{"), trim_before)
    }

    /// The markup whose inside starts at `after` (past its `{{` or `{%`): an output or a tag.
    fn markup(&mut self, after: &'a str, is_output: bool, trim_before: bool) -> Result<(), String> {
        let (open, close) = if is_output {
            ("{{", "}}")
        } else {
            ("{%", "%}")
        };
        let Some(end) = after.find(close) else {
            return Err(format!("unclosed {open}"));
        };
        let inner = self.inner(&after[..end], trim_before);
        self.rest = &after[end + 2..];
        if !is_output {
            return self.tag(inner);
        }
        self.tokens.push(Token::Output(inner));
        Ok(())
    }

    /// The text after the last markup (all of a template without any).
    fn last_text(&mut self, text: &'a str) {
        self.tokens.push(Token::Text(self.after_trim(text)));
        self.rest = "";
    }

    /// The text before a markup, trimmed as the markups around it ask; empty text is dropped.
    fn push_text(&mut self, text: &'a str, trim_before: bool) {
        let mut text = self.after_trim(text);
        if trim_before {
            text = text.trim_end();
        }
        if !text.is_empty() {
            self.tokens.push(Token::Text(text));
        }
    }

    /// `text` without its leading whitespace when the markup before it ended with `-`.
    fn after_trim(&self, text: &'a str) -> &'a str {
        if self.trim_next {
            text.trim_start()
        } else {
            text
        }
    }

    /// A markup's inside without its `-` marks, noting whether the next text is trimmed.
    fn inner(&mut self, inner: &'a str, trim_before: bool) -> &'a str {
        let inner = if trim_before { &inner[1..] } else { inner };
        self.trim_next = inner.ends_with('-');
        let inner = if self.trim_next {
            &inner[..inner.len() - 1]
        } else {
            inner
        };
        inner.trim()
    }

    /// A tag; `raw` and `comment` swallow everything up to their end tag here, so what they
    /// hold is never parsed.
    fn tag(&mut self, inner: &'a str) -> Result<(), String> {
        let word = inner.split_whitespace().next().unwrap_or("");
        let Some(end_tag) = swallowed_until(word) else {
            self.tokens.push(Token::Tag(inner));
            return Ok(());
        };
        let Some((body, after)) = find_end_tag(self.rest, end_tag) else {
            return Err(format!("unclosed {{% {word} %}}"));
        };
        if word == "raw" && !body.is_empty() {
            self.tokens.push(Token::Text(body));
        }
        self.rest = after;
        Ok(())
    }
}

/// The end tag of a tag whose body is swallowed whole (`raw`, `comment`), if `word` is one.
fn swallowed_until(word: &str) -> Option<&'static str> {
    match word {
        "raw" => Some("endraw"),
        "comment" => Some("endcomment"),
        _ => None,
    }
}

/// Where the next `{{` or `{%` starts, if one does.
fn next_markup(rest: &str) -> Option<usize> {
    [rest.find("{{"), rest.find("{%")]
        .into_iter()
        .flatten()
        .min()
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

/// A lexeme of an output's or a tag's inside.
#[derive(Debug, Clone, PartialEq)]
pub(super) enum Lex {
    /// A name or keyword (`-` and `?` allowed inside, as in Liquid's names).
    Word(String),
    Str(String),
    Num(Value),
    Sym(&'static str),
}

/// The symbols of two characters, tried before those of one.
const TWO: [&str; 6] = ["==", "!=", "<>", "<=", ">=", ".."];
const ONE: [&str; 10] = ["<", ">", "|", ":", ",", "[", "]", ".", "(", ")"];

/// The lexemes of `text`; an unclosed string or a stray character is an error.
pub(super) fn lex(text: &str) -> Result<Vec<Lex>, String> {
    let chars: Vec<char> = text.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        if chars[i].is_whitespace() {
            i += 1;
            continue;
        }
        let (lex, next) = lexeme(&chars, i)?;
        out.push(lex);
        i = next;
    }
    Ok(out)
}

/// The lexeme starting at `i` and the index after it.
fn lexeme(chars: &[char], i: usize) -> Result<(Lex, usize), String> {
    let c = chars[i];
    if c == '"' || c == '\'' {
        return string(chars, i);
    }
    if let Some(found) = symbol(chars, i) {
        return Ok(found);
    }
    let negative = c == '-' && chars.get(i + 1).is_some_and(char::is_ascii_digit);
    if c.is_ascii_digit() || negative {
        return number(chars, i);
    }
    if c.is_alphanumeric() || c == '_' {
        return Ok(word(chars, i));
    }
    Err(format!("unexpected \"{c}\""))
}

/// A string in either quote, without escapes (Liquid has none).
fn string(chars: &[char], i: usize) -> Result<(Lex, usize), String> {
    let start = i + 1;
    let len = chars[start..]
        .iter()
        .position(|&x| x == chars[i])
        .ok_or("an unclosed string")?;
    let text = chars[start..start + len].iter().collect();
    Ok((Lex::Str(text), start + len + 1))
}

fn symbol(chars: &[char], i: usize) -> Option<(Lex, usize)> {
    let two: String = chars[i..chars.len().min(i + 2)].iter().collect();
    if let Some(sym) = TWO.into_iter().find(|s| *s == two) {
        return Some((Lex::Sym(sym), i + 2));
    }
    let sym = ONE.into_iter().find(|s| s.starts_with(chars[i]))?;
    Some((Lex::Sym(sym), i + 1))
}

/// An integer when it is one (so `7 | divided_by: 2` divides integers), else a float.
fn number(chars: &[char], start: usize) -> Result<(Lex, usize), String> {
    let end = number_end(chars, start);
    let text: String = chars[start..end].iter().collect();
    Ok((Lex::Num(parsed_number(&text)?), end))
}

/// The index after a number's digits (and its decimal point, when a digit follows one).
fn number_end(chars: &[char], start: usize) -> usize {
    let mut i = start + 1;
    while i < chars.len() && in_number(chars, i) {
        i += 1;
    }
    i
}

/// Whether the character at `i` goes on a number: a digit, or a point before a digit.
fn in_number(chars: &[char], i: usize) -> bool {
    let point_then_digit = chars[i] == '.' && chars.get(i + 1).is_some_and(char::is_ascii_digit);
    chars[i].is_ascii_digit() || point_then_digit
}

/// `text` as an integer when it is one, else as a float.
fn parsed_number(text: &str) -> Result<Value, String> {
    if let Ok(n) = text.parse::<i64>() {
        return Ok(Value::from(n));
    }
    let float = text.parse::<f64>().ok().and_then(Number::from_f64);
    float
        .map(Value::Number)
        .ok_or_else(|| format!("\"{text}\" is not a number"))
}

fn word(chars: &[char], start: usize) -> (Lex, usize) {
    let mut i = start;
    while i < chars.len() && (chars[i].is_alphanumeric() || matches!(chars[i], '_' | '-' | '?')) {
        i += 1;
    }
    (Lex::Word(chars[start..i].iter().collect()), i)
}
