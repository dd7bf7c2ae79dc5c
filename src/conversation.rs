//! **The conversation: edit [`reply`] to build your own.**
//!
//! Everything around this module (signature checks, the cookie, TwiML) is plumbing. By the
//! time [`reply`] runs, the message is authentic and `state` already counts it; what you
//! put in `state.memory` is sealed into the pair's cookie and comes back with its next
//! message. Return [`Reply::none()`] to stay silent.
//!
//! A two-step flow that asks for a name and remembers it:
//!
//! ```
//! use sms_conversation_worker::conversation::Reply;
//! use sms_conversation_worker::state::ConversationState;
//! use sms_conversation_worker::webhook::InboundMessage;
//!
//! fn reply(state: &mut ConversationState, message: &InboundMessage) -> Reply {
//!     if let Some(name) = state.memory.get("name") {
//!         return Reply::text(format!("Welcome back, {name}! Message {}.", state.count));
//!     }
//!     if state.memory.remove("asked").is_some() {
//!         let name = message.body.trim().to_string();
//!         let text = format!("Nice to meet you, {name}.");
//!         state.memory.insert("name".into(), name);
//!         return Reply::text(text);
//!     }
//!     state.memory.insert("asked".into(), "1".into());
//!     Reply::text("Hi! What's your name?")
//! }
//!
//! let mut state = ConversationState::default();
//! let msg = |body: &str| InboundMessage { body: body.into(), ..Default::default() };
//! state.record("SM1", 1);
//! assert_eq!(reply(&mut state, &msg("hey")), Reply::text("Hi! What's your name?"));
//! state.record("SM2", 2);
//! assert_eq!(reply(&mut state, &msg("Rey")), Reply::text("Nice to meet you, Rey."));
//! state.record("SM3", 3);
//! assert_eq!(reply(&mut state, &msg("hi")), Reply::text("Welcome back, Rey! Message 3."));
//! ```
//!
//! `state.turns` holds the conversation's recent exchanges, oldest first, without the
//! message being answered (it is added, with your reply, once [`reply`] returns). Up to
//! `HISTORY_TURNS` of them are kept, and a conversation can lean on them:
//!
//! ```
//! use sms_conversation_worker::conversation::Reply;
//! use sms_conversation_worker::state::{ConversationState, HistoryLimits, Turn};
//! use sms_conversation_worker::webhook::InboundMessage;
//!
//! fn reply(state: &ConversationState, message: &InboundMessage) -> Reply {
//!     match state.turns.last() {
//!         Some(turn) if turn.inbound == message.body => Reply::text("You said that already."),
//!         Some(turn) => Reply::text(format!("Before that you said \"{}\".", turn.inbound)),
//!         None => Reply::text("Hello!"),
//!     }
//! }
//!
//! let mut state = ConversationState::default();
//! let limits = HistoryLimits { turns: 10, bytes: 8192 };
//! let msg = |body: &str| InboundMessage { body: body.into(), ..Default::default() };
//! assert_eq!(reply(&state, &msg("hi")), Reply::text("Hello!"));
//! state.push_turn(Turn { inbound: "hi".into(), ..Default::default() }, limits);
//! assert_eq!(reply(&state, &msg("hi")), Reply::text("You said that already."));
//! assert_eq!(reply(&state, &msg("bye")), Reply::text("Before that you said \"hi\"."));
//! ```
//!
//! A retried delivery (same `MessageSid`) is answered with the reply kept in its turn, or,
//! with history off, by calling [`reply`] again on a copy of the state as the first
//! delivery left it: keep your replies a function of the state so a retry gets the same
//! answer.

use crate::config::ConversationConfig;
use crate::state::ConversationState;
use crate::webhook::InboundMessage;

/// Twilio refuses message bodies over 1600 characters.
pub const MAX_REPLY_CHARS: usize = 1600;

/// What to send back: zero or more messages.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Reply {
    /// Each becomes one `<Message>`; none means an empty `<Response/>`.
    pub messages: Vec<String>,
}

impl Reply {
    /// One message, cut to Twilio's 1600-character limit.
    pub fn text(text: impl Into<String>) -> Self {
        let mut text = text.into();
        if let Some((cut, _)) = text.char_indices().nth(MAX_REPLY_CHARS) {
            text.truncate(cut);
        }
        Reply {
            messages: vec![text],
        }
    }

    /// No reply at all.
    pub fn none() -> Self {
        Reply::default()
    }
}

/// The default conversation: count the pair's messages and say so, by name for a known
/// caller. `state.count` already includes `message`.
pub fn reply(
    state: &mut ConversationState,
    message: &InboundMessage,
    config: &ConversationConfig,
) -> Reply {
    let known = config.known_callers.get(&message.from);
    let templates = &config.templates;
    let template = match (state.count <= 1, known.is_some()) {
        (true, false) => &templates.first,
        (false, false) => &templates.next,
        (true, true) => &templates.first_known,
        (false, true) => &templates.next_known,
    };
    let name = known.map_or(config.unknown_caller_name.as_str(), String::as_str);
    Reply::text(template.render(&Values {
        name,
        count: state.count,
        from: &message.from,
        to: &message.to,
    }))
}

/// The reply templates of the default conversation.
#[derive(Debug, Clone)]
pub struct Templates {
    /// First message from an unknown sender.
    pub first: Template,
    /// Later messages from an unknown sender.
    pub next: Template,
    /// First message from a known caller.
    pub first_known: Template,
    /// Later messages from a known caller.
    pub next_known: Template,
}

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
    /// use sms_conversation_worker::conversation::{Template, Values};
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
            let word = after.find('}').map(|close| &after[..close]).filter(|w| {
                !w.is_empty() && w.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
            });
            let Some(word) = word else {
                literal.push_str(&rest[..=open]);
                rest = after;
                continue;
            };
            let placeholder = match word {
                "name" => Placeholder::Name,
                "count" => Placeholder::Count,
                "from" => Placeholder::From,
                "to" => Placeholder::To,
                other => {
                    return Err(format!(
                        "has an unknown placeholder {{{other}}} (use {{name}}, {{count}}, {{from}} or {{to}})"
                    ))
                }
            };
            literal.push_str(&rest[..open]);
            if !literal.is_empty() {
                parts.push(Part::Text(std::mem::take(&mut literal)));
            }
            parts.push(Part::Value(placeholder));
            rest = &after[word.len() + 1..];
        }
        literal.push_str(rest);
        if !literal.is_empty() {
            parts.push(Part::Text(literal));
        }
        Ok(Template { parts })
    }

    /// Fills the placeholders in.
    pub fn render(&self, values: &Values<'_>) -> String {
        let mut out = String::with_capacity(64);
        for part in &self.parts {
            match part {
                Part::Text(t) => out.push_str(t),
                Part::Value(Placeholder::Name) => out.push_str(values.name),
                Part::Value(Placeholder::Count) => out.push_str(&values.count.to_string()),
                Part::Value(Placeholder::From) => out.push_str(values.from),
                Part::Value(Placeholder::To) => out.push_str(values.to),
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{
        DEFAULT_REPLY_FIRST, DEFAULT_REPLY_FIRST_KNOWN, DEFAULT_REPLY_NEXT,
        DEFAULT_REPLY_NEXT_KNOWN,
    };
    use std::collections::BTreeMap;

    fn config(known: &[(&str, &str)]) -> ConversationConfig {
        ConversationConfig {
            known_callers: known
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect::<BTreeMap<_, _>>(),
            unknown_caller_name: "Friend".into(),
            templates: Templates {
                first: Template::parse(DEFAULT_REPLY_FIRST).unwrap(),
                next: Template::parse(DEFAULT_REPLY_NEXT).unwrap(),
                first_known: Template::parse(DEFAULT_REPLY_FIRST_KNOWN).unwrap(),
                next_known: Template::parse(DEFAULT_REPLY_NEXT_KNOWN).unwrap(),
            },
        }
    }

    fn converse(config: &ConversationConfig, from: &str, n: u64) -> Vec<String> {
        let mut state = ConversationState::default();
        let msg = InboundMessage {
            from: from.into(),
            to: "+15005550006".into(),
            ..Default::default()
        };
        (0..n)
            .map(|i| {
                state.record(&format!("SM{i}"), i);
                reply(&mut state, &msg, config).messages.join("|")
            })
            .collect()
    }

    #[test]
    fn the_classic_conversation_counts_messages() {
        let texts = converse(&config(&[]), "+14155550100", 3);
        assert_eq!(
            texts,
            [
                "Hello, thanks for the new message.",
                "Hello, thanks for message number 2",
                "Hello, thanks for message number 3"
            ]
        );
    }

    #[test]
    fn a_known_caller_is_greeted_by_name() {
        let c = config(&[("+14155550100", "Rey")]);
        let texts = converse(&c, "+14155550100", 2);
        assert_eq!(
            texts,
            [
                "Hello Rey, thanks for the new message.",
                "Hello Rey, thanks for message number 2"
            ]
        );
        // Others are not.
        assert_eq!(
            converse(&c, "+14155550101", 1),
            ["Hello, thanks for the new message."]
        );
    }

    #[test]
    fn the_python_seeds_wording_is_one_template_away() {
        let mut c = config(&[("+14155550100", "Rey")]);
        let t = Template::parse("{name} has messaged {to} {count} times.").unwrap();
        c.templates = Templates {
            first: t.clone(),
            next: t.clone(),
            first_known: t.clone(),
            next_known: t,
        };
        assert_eq!(
            converse(&c, "+14155550100", 2)[1],
            "Rey has messaged +15005550006 2 times."
        );
        assert_eq!(
            converse(&c, "+14155550199", 1)[0],
            "Friend has messaged +15005550006 1 times."
        );
    }

    #[test]
    fn templates_keep_stray_braces_and_reject_unknown_placeholders() {
        let v = Values {
            name: "N",
            count: 7,
            from: "F",
            to: "T",
        };
        let t = Template::parse("{ {} }{count}{ :-{) {from}{to}{").unwrap();
        assert_eq!(t.render(&v), "{ {} }7{ :-{) FT{");
        assert!(Template::parse("{Count}").is_err());
        assert_eq!(Template::parse("").unwrap().render(&v), "");
        assert_eq!(Template::parse("é{name}ü").unwrap().render(&v), "éNü");
    }

    #[test]
    fn replies_are_cut_to_twilios_limit_on_a_character_boundary() {
        let long = "ü".repeat(MAX_REPLY_CHARS + 10);
        let r = Reply::text(long);
        assert_eq!(r.messages[0].chars().count(), MAX_REPLY_CHARS);
        let exact = "a".repeat(MAX_REPLY_CHARS);
        assert_eq!(Reply::text(exact.clone()).messages[0], exact);
    }
}
