//! The counter's reply templates: `{name}`, `{count}`, `{from}` and `{to}` placeholders,
//! parsed once per isolate so a typo is a configuration error instead of a strange reply.

/// What a template's placeholders stand for.
pub struct Values<'a> {
    /// `{name}`: the known caller's name, or `UNKNOWN_CALLER_NAME`.
    pub name: &'a str,
    /// `{count}`: the message's number in the conversation.
    pub count: u64,
    /// `{from}`: the sender's number.
    pub from: &'a str,
    /// `{to}`: your Twilio number.
    pub to: &'a str,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Placeholder {
    Name,
    Count,
    From,
    To,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Part {
    Text(String),
    Value(Placeholder),
}

/// A reply text with `{name}`, `{count}`, `{from}` and `{to}` placeholders, parsed once
/// at start-up so a typo is a configuration error instead of a strange reply.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Template {
    parts: Vec<Part>,
}

impl Template {
    /// Parses a template. Braces around anything that is not a word stay literal text
    /// (`:-{)` is fine); an unknown `{word}` is an error.
    ///
    /// ```
    /// use sms_conversation_worker::conversations::template::{Template, Values};
    /// let t = Template::parse("{name} has messaged {to} {count} times.").unwrap();
    /// let v = Values { name: "Rey", count: 3, from: "+14155550100", to: "+15005550006" };
    /// assert_eq!(t.render(&v), "Rey has messaged +15005550006 3 times.");
    /// assert!(Template::parse("Hi {nmae}").is_err());
    /// ```
    pub fn parse(text: &str) -> Result<Self, String> {
        let mut parts = Vec::new();
        let mut literal = String::new();
        let mut rest = text;
        while let Some(open) = rest.find('{') {
            let after = &rest[open + 1..];
            let Some(word) = braced_word(after) else {
                literal.push_str(&rest[..=open]);
                rest = after;
                continue;
            };
            let placeholder = placeholder(word)?;
            literal.push_str(&rest[..open]);
            push_literal(&mut parts, &mut literal);
            parts.push(Part::Value(placeholder));
            rest = &after[word.len() + 1..];
        }
        literal.push_str(rest);
        push_literal(&mut parts, &mut literal);
        Ok(Template { parts })
    }

    /// Fills the placeholders in.
    pub fn render(&self, values: &Values<'_>) -> String {
        let mut out = String::with_capacity(64);
        for part in &self.parts {
            push_part(&mut out, part, values);
        }
        out
    }
}

/// The word up to the closing brace of `after` (what follows a `{`), when it is a word.
fn braced_word(after: &str) -> Option<&str> {
    let word = after.find('}').map(|close| &after[..close])?;
    let is_word = word.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_');
    (!word.is_empty() && is_word).then_some(word)
}

/// The placeholder `{word}` names; an unknown one is an error.
fn placeholder(word: &str) -> Result<Placeholder, String> {
    Ok(match word {
        "name" => Placeholder::Name,
        "count" => Placeholder::Count,
        "from" => Placeholder::From,
        "to" => Placeholder::To,
        other => return Err(unknown_placeholder(other)),
    })
}

/// The error of an unknown `{word}`, naming the placeholders there are.
fn unknown_placeholder(word: &str) -> String {
    format!("has an unknown placeholder {{{word}}} (use {{name}}, {{count}}, {{from}} or {{to}})")
}

/// Ends the literal text collected so far as a part of its own, unless it is empty.
fn push_literal(parts: &mut Vec<Part>, literal: &mut String) {
    if !literal.is_empty() {
        parts.push(Part::Text(std::mem::take(literal)));
    }
}

/// Appends one part: its text, or the value its placeholder stands for.
fn push_part(out: &mut String, part: &Part, values: &Values<'_>) {
    match part {
        Part::Text(t) => out.push_str(t),
        Part::Value(Placeholder::Name) => out.push_str(values.name),
        Part::Value(Placeholder::Count) => out.push_str(&values.count.to_string()),
        Part::Value(Placeholder::From) => out.push_str(values.from),
        Part::Value(Placeholder::To) => out.push_str(values.to),
    }
}

#[cfg(test)]
mod tests;
