//! The default conversation: count the pair's messages and say so, by name for a known
//! caller ("Hello, thanks for the new message." then "Hello, thanks for message number N").
//!
//! It keeps no state of its own: the count is the framework's ([`View::count`]).

use std::collections::BTreeMap;

use crate::conversation::InboundMessage;
use crate::conversation::{Context, Conversation, Reply, Start, View};
use crate::conversations::template::{Template, Values};
use crate::vars::{ConfigError, Vars};

/// Default reply to the first message of an unknown sender.
pub const DEFAULT_REPLY_FIRST: &str = "Hello, thanks for the new message.";
/// Default reply to every later message of an unknown sender.
pub const DEFAULT_REPLY_NEXT: &str = "Hello, thanks for message number {count}";
/// Default reply to the first message of a known caller.
pub const DEFAULT_REPLY_FIRST_KNOWN: &str = "Hello {name}, thanks for the new message.";
/// Default reply to every later message of a known caller.
pub const DEFAULT_REPLY_NEXT_KNOWN: &str = "Hello {name}, thanks for message number {count}";

/// The counter and its settings: `KNOWN_CALLERS`, `UNKNOWN_CALLER_NAME` and the four
/// `REPLY_*` templates.
#[derive(Debug, Clone)]
pub struct Counter {
    /// E.164 number → name, from `KNOWN_CALLERS`.
    pub known_callers: BTreeMap<String, String>,
    /// `{name}` for senders not in `KNOWN_CALLERS` (`UNKNOWN_CALLER_NAME`).
    pub unknown_caller_name: String,
    /// First message from an unknown sender (`REPLY_FIRST`).
    pub first: Template,
    /// Later messages from an unknown sender (`REPLY_NEXT`).
    pub next: Template,
    /// First message from a known caller (`REPLY_FIRST_KNOWN`).
    pub first_known: Template,
    /// Later messages from a known caller (`REPLY_NEXT_KNOWN`).
    pub next_known: Template,
}

impl Conversation for Counter {
    const NAME: &'static str = "counter";
    type State = ();

    fn new(vars: &Vars<'_>) -> Result<Self, ConfigError> {
        // Fields in this order, so that the first bad value named is the same as ever.
        Ok(Counter {
            known_callers: known_callers(vars)?,
            unknown_caller_name: vars
                .get("UNKNOWN_CALLER_NAME")
                .unwrap_or_else(|| "Friend".into()),
            first: template(vars, "REPLY_FIRST", DEFAULT_REPLY_FIRST)?,
            next: template(vars, "REPLY_NEXT", DEFAULT_REPLY_NEXT)?,
            first_known: template(vars, "REPLY_FIRST_KNOWN", DEFAULT_REPLY_FIRST_KNOWN)?,
            next_known: template(vars, "REPLY_NEXT_KNOWN", DEFAULT_REPLY_NEXT_KNOWN)?,
        })
    }

    async fn reply(
        &self,
        message: &InboundMessage,
        chat: &View<'_>,
        _state: &mut (),
        _ctx: &Context<'_>,
    ) -> Reply {
        let known = self.known_callers.get(&message.from);
        let template = self.template_for(chat.count <= 1, known.is_some());
        let name = self.caller_name(known);
        Reply::text(template.render(&Values {
            name,
            count: chat.count,
            from: &message.from,
            to: &message.to,
        }))
    }

    /// The counter opens with the request's `body`, which it therefore requires; the
    /// person's reply is then "the new message" of the conversation.
    async fn start(
        &self,
        start: &Start,
        _state: &mut (),
        _ctx: &Context<'_>,
    ) -> Result<Reply, String> {
        match opening_body(start) {
            Some(body) => Ok(Reply::text(body)),
            None => Err("the counter needs \"body\": the text to send".into()),
        }
    }
}

impl Counter {
    /// The template for a first or later message from a known or unknown sender.
    fn template_for(&self, first: bool, known: bool) -> &Template {
        match (first, known) {
            (true, false) => &self.first,
            (false, false) => &self.next,
            (true, true) => &self.first_known,
            (false, true) => &self.next_known,
        }
    }

    /// What `{name}` stands for: the known caller's name, else `UNKNOWN_CALLER_NAME`.
    fn caller_name<'a>(&'a self, known: Option<&'a String>) -> &'a str {
        known.map_or(self.unknown_caller_name.as_str(), String::as_str)
    }
}

/// What `KNOWN_CALLERS` must be, as its error says.
const KNOWN_CALLERS_FORMAT: &str =
    "must be a JSON object of E.164 number to name, like {\"+14155550100\": \"Rey\"}";

/// `KNOWN_CALLERS`: E.164 number → name, none when unset.
fn known_callers(vars: &Vars<'_>) -> Result<BTreeMap<String, String>, ConfigError> {
    let Some(json) = vars.get("KNOWN_CALLERS") else {
        return Ok(BTreeMap::new());
    };
    serde_json::from_str(&json).map_err(bad_known_callers)
}

/// `KNOWN_CALLERS` that is not the JSON expected, with serde's reason.
fn bad_known_callers(e: serde_json::Error) -> ConfigError {
    ConfigError::new("KNOWN_CALLERS", format!("{KNOWN_CALLERS_FORMAT} ({e})"))
}

/// The reply template in `name`, `default` when unset; one that does not parse is refused.
fn template(vars: &Vars<'_>, name: &'static str, default: &str) -> Result<Template, ConfigError> {
    let text = vars.get(name).unwrap_or_else(|| default.to_string());
    Template::parse(&text).map_err(|problem| ConfigError::new(name, problem))
}

/// The start's `body`, trimmed, when it has text.
fn opening_body(start: &Start) -> Option<&str> {
    let body = start.fields.get("body").and_then(|b| b.as_str());
    body.map(str::trim).filter(|body| !body.is_empty())
}

#[cfg(test)]
mod tests;
