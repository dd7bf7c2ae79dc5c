use std::rc::Rc;

use super::*;
use crate::conversation::client::NoClient;
use crate::harness::block_on;
use crate::vars::{ConfigError, Vars};

/// A state that refuses to serialise once it holds `poison`.
#[derive(Default, Deserialize)]
struct Fragile(String);

impl Serialize for Fragile {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        if self.0 == "poison" {
            return Err(serde::ser::Error::custom("poisoned"));
        }
        s.serialize_str(&self.0)
    }
}

struct Echo;

impl Conversation for Echo {
    const NAME: &'static str = "echo";
    type State = Fragile;

    fn new(_: &Vars<'_>) -> Result<Self, ConfigError> {
        Ok(Echo)
    }

    async fn reply(
        &self,
        message: &InboundMessage,
        _: &View<'_>,
        state: &mut Fragile,
        _: &Context<'_>,
    ) -> Reply {
        state.0 = message.body.clone();
        Reply::text("ok")
    }
}

#[test]
fn a_state_that_does_not_serialise_keeps_the_previous_one_and_says_so() {
    let none = |_: &str| None;
    let ctx = Context::new(Vars::new(&none), Rc::new(NoClient), 1);
    let chat = View {
        count: 1,
        first_seen: 1,
        last_seen: 1,
        turns: &[],
        standing: &Default::default(),
    };
    let mut saved = SavedState::default();
    let text = |body: &str| InboundMessage {
        body: body.into(),
        ..InboundMessage::default()
    };
    let good = text("kept");
    let ran = block_on(Echo.converse(&good, chat, &mut saved, &ctx));
    assert_eq!((ran.answer, ran.state_error), (Reply::text("ok"), None));
    let before = saved.clone();
    assert_eq!(before.json, r#""kept""#);

    let bad = text("poison");
    let ran = block_on(Echo.converse(&bad, chat, &mut saved, &ctx));
    assert_eq!(ran.answer, Reply::text("ok"), "the reply still goes out");
    let error = ran.state_error.expect("the failure is a value");
    assert!(error.to_string().contains("poisoned"), "{error}");
    assert_eq!(saved, before, "never an empty state in its place");
}
