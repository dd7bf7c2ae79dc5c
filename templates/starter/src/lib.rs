//! A two-step greeter: asks for a name, greets by it, then counts the visits.

use sms_conversation_worker::prelude::*;

/// Asks the person's name once, then welcomes them back by it.
pub struct Greeter;

impl Conversation for Greeter {
    const NAME: &'static str = "greeter";
    /// The person's name, once they gave it (sealed into the pair's cookie). Before that, the
    /// count tells the first text (asked for the name) from the answer.
    type State = Option<String>;

    fn new(_vars: &Vars<'_>) -> Result<Self, ConfigError> {
        Ok(Greeter)
    }

    async fn reply(
        &self,
        message: &InboundMessage,
        chat: &View<'_>,
        name: &mut Option<String>,
        _ctx: &Context<'_>,
    ) -> Reply {
        if let Some(name) = name {
            return Reply::text(format!(
                "Welcome back, {name}. That's message {}.",
                chat.count
            ));
        }
        let answer = message.body.trim();
        if chat.count == 1 || answer.is_empty() {
            return Reply::text("Hi! What's your name?");
        }
        let reply = Reply::text(format!("Nice to meet you, {answer}!"));
        *name = Some(answer.to_string());
        reply
    }
}

sms_conversation_worker::worker!(Greeter);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn asks_the_name_then_greets_and_counts() {
        let mut phone = TestPhone::new::<Greeter>(&[]).unwrap();
        assert_eq!(phone.text("hello").texts(), ["Hi! What's your name?"]);
        assert_eq!(phone.text("  Ada  ").texts(), ["Nice to meet you, Ada!"]);
        assert_eq!(phone.text("hi again").texts(), ["Welcome back, Ada. That's message 3."]);
        assert_eq!(phone.text("and again").texts(), ["Welcome back, Ada. That's message 4."]);
    }

    #[test]
    fn a_retry_gets_the_same_answer_and_counts_nothing() {
        let mut phone = TestPhone::new::<Greeter>(&[]).unwrap();
        phone.text("hello");
        assert_eq!(phone.text("Grace").texts(), ["Nice to meet you, Grace!"]);
        assert_eq!(phone.retry().texts(), ["Nice to meet you, Grace!"]);
        assert_eq!(phone.text("back").texts(), ["Welcome back, Grace. That's message 3."]);
    }

    #[test]
    fn a_blank_answer_is_asked_again() {
        let mut phone = TestPhone::new::<Greeter>(&[]).unwrap();
        phone.text("hello");
        assert_eq!(phone.text("   ").texts(), ["Hi! What's your name?"]);
        assert_eq!(phone.text("Lin").texts(), ["Nice to meet you, Lin!"]);
    }

    #[test]
    fn reset_starts_over() {
        let mut phone = TestPhone::new::<Greeter>(&[]).unwrap();
        phone.text("hello");
        phone.text("Ada");
        phone.text("RESET");
        assert_eq!(phone.text("hello").texts(), ["Hi! What's your name?"]);
    }

    #[test]
    fn a_forgotten_cookie_starts_over() {
        let mut phone = TestPhone::new::<Greeter>(&[]).unwrap();
        phone.text("hello");
        phone.text("Ada");
        // Twilio forgets a pair's cookies after four idle hours.
        phone.wait(4 * 3600 + 1);
        assert_eq!(phone.text("hi").texts(), ["Hi! What's your name?"]);
    }

    #[test]
    fn conversation_picks_it_by_name() {
        assert_eq!(CONVERSATIONS.names().collect::<Vec<_>>(), ["greeter"]);
    }
}
