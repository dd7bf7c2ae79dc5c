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
        let known_callers = match vars.get("KNOWN_CALLERS") {
            None => BTreeMap::new(),
            Some(json) => serde_json::from_str(&json).map_err(|e| {
                ConfigError::new(
                    "KNOWN_CALLERS",
                    format!(
                        "must be a JSON object of E.164 number to name, like {{\"+14155550100\": \"Rey\"}} ({e})"
                    ),
                )
            })?,
        };
        let template = |name: &'static str, default: &str| {
            let text = vars.get(name).unwrap_or_else(|| default.to_string());
            Template::parse(&text).map_err(|problem| ConfigError::new(name, problem))
        };
        Ok(Counter {
            known_callers,
            unknown_caller_name: vars
                .get("UNKNOWN_CALLER_NAME")
                .unwrap_or_else(|| "Friend".into()),
            first: template("REPLY_FIRST", DEFAULT_REPLY_FIRST)?,
            next: template("REPLY_NEXT", DEFAULT_REPLY_NEXT)?,
            first_known: template("REPLY_FIRST_KNOWN", DEFAULT_REPLY_FIRST_KNOWN)?,
            next_known: template("REPLY_NEXT_KNOWN", DEFAULT_REPLY_NEXT_KNOWN)?,
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
        let template = match (chat.count <= 1, known.is_some()) {
            (true, false) => &self.first,
            (false, false) => &self.next,
            (true, true) => &self.first_known,
            (false, true) => &self.next_known,
        };
        let name = known.map_or(self.unknown_caller_name.as_str(), String::as_str);
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
        match start
            .fields
            .get("body")
            .and_then(|b| b.as_str())
            .map(str::trim)
        {
            Some(body) if !body.is_empty() => Ok(Reply::text(body)),
            _ => Err("the counter needs \"body\": the text to send".into()),
        }
    }
}

#[cfg(test)]
mod tests;
