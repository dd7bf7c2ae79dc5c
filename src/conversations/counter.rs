//! The default conversation: count the pair's messages and say so, by name for a known
//! caller ("Hello, thanks for the new message." then "Hello, thanks for message number N").
//!
//! It keeps no state of its own: the count is the framework's ([`View::count`]).

use std::collections::BTreeMap;

use crate::conversation::{Context, Conversation, Reply, Start, View};
use crate::conversations::template::{Template, Values};
use crate::twilio::params::InboundMessage;
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
mod tests {
    use super::*;
    use crate::harness::TestPhone;

    fn texts(phone: &mut TestPhone, n: usize) -> Vec<String> {
        (0..n).map(|_| phone.text("hi").texts().join("|")).collect()
    }

    #[test]
    fn the_classic_conversation_counts_messages() {
        let mut phone = TestPhone::new::<Counter>(&[]).unwrap();
        assert_eq!(
            texts(&mut phone, 3),
            [
                "Hello, thanks for the new message.",
                "Hello, thanks for message number 2",
                "Hello, thanks for message number 3"
            ]
        );
    }

    #[test]
    fn a_known_caller_is_greeted_by_name() {
        let vars = [("KNOWN_CALLERS", r#"{"+14155550100": "Rey"}"#)];
        let mut rey = TestPhone::new::<Counter>(&vars)
            .unwrap()
            .from("+14155550100");
        assert_eq!(
            texts(&mut rey, 2),
            [
                "Hello Rey, thanks for the new message.",
                "Hello Rey, thanks for message number 2"
            ]
        );
        let mut other = TestPhone::new::<Counter>(&vars)
            .unwrap()
            .from("+14155550101");
        assert_eq!(texts(&mut other, 1), ["Hello, thanks for the new message."]);
    }

    #[test]
    fn the_python_tutorials_wording_is_one_template_away() {
        let t = "{name} has messaged {to} {count} times.";
        let vars = [
            ("KNOWN_CALLERS", r#"{"+14155550100": "Rey"}"#),
            ("REPLY_FIRST", t),
            ("REPLY_NEXT", t),
            ("REPLY_FIRST_KNOWN", t),
            ("REPLY_NEXT_KNOWN", t),
        ];
        let mut rey = TestPhone::new::<Counter>(&vars)
            .unwrap()
            .from("+14155550100");
        assert_eq!(
            texts(&mut rey, 2)[1],
            "Rey has messaged +15005550006 2 times."
        );
        let mut other = TestPhone::new::<Counter>(&vars)
            .unwrap()
            .from("+14155550199");
        assert_eq!(
            texts(&mut other, 1)[0],
            "Friend has messaged +15005550006 1 times."
        );
    }

    #[test]
    fn each_bad_setting_names_its_variable() {
        for (vars, variable) in [
            (&[("KNOWN_CALLERS", "{not json")][..], "KNOWN_CALLERS"),
            (&[("KNOWN_CALLERS", "[\"+1\"]")][..], "KNOWN_CALLERS"),
            (&[("REPLY_NEXT", "Hi {nmae}")][..], "REPLY_NEXT"),
        ] {
            let err = TestPhone::new::<Counter>(vars).err().expect("an error");
            assert_eq!(err.variable, variable);
        }
    }
}
