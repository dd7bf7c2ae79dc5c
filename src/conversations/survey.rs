//! A lead-capture survey (`CONVERSATION=survey`): name, ZIP code, and whether we may text
//! updates, with `HELP` and `BACK` at every step. The worked example of the conversation
//! API: typed steps, validation with a re-ask, branching, and a call out after the reply.
//!
//! With `SURVEY_RESULTS_URL` set, a completed survey is POSTed there as JSON
//! `{"from", "to", "name", "zip", "updates", "completed_at"}` (with
//! `Authorization: Bearer <SURVEY_RESULTS_TOKEN>` when that secret is set), once per
//! completion, after the reply: a retried final message is answered from the kept reply
//! and never reaches [`Survey::reply`], so it posts nothing.
//!
//! With `SURVEY_REMINDER_SECONDS` set (and the Durable Objects binding), a question left
//! unanswered that long gets one reminder, `Just checking in: {the question}`. It can also
//! be started from our side (`POST /conversations`): it opens with its first question.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::conversation::{ClientRequest, Context, Conversation, Reply, Start, View};
use crate::twilio::params::InboundMessage;
use crate::vars::{ConfigError, Vars};

/// Names are kept to this many characters.
pub const MAX_NAME_CHARS: usize = 60;

const ASK_NAME: &str = "Hi! What's your name?";
const ASK_ZIP: &str = "What's your 5-digit ZIP code?";
const ASK_UPDATES: &str = "Can we text you updates? Reply Y for yes or N for no.";

/// Where the person is in the survey.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum Step {
    /// Nothing asked yet.
    #[default]
    Start,
    /// Asked for the name.
    Name,
    /// Asked for the ZIP code.
    Zip {
        /// The answer to the name question.
        name: String,
    },
    /// Asked whether we may text updates.
    Updates {
        /// The name.
        name: String,
        /// The ZIP code.
        zip: String,
    },
    /// Completed.
    Done {
        /// The name.
        name: String,
        /// The ZIP code.
        zip: String,
        /// Yes to updates.
        updates: bool,
    },
}

/// The survey and where its results go.
#[derive(Debug, Clone, Default)]
pub struct Survey {
    /// `SURVEY_RESULTS_URL`: where completed surveys are POSTed.
    pub results_url: Option<String>,
    /// `SURVEY_RESULTS_TOKEN`: the bearer token sent with them.
    pub results_token: Option<String>,
    /// `SURVEY_REMINDER_SECONDS`: how long a question waits before one reminder (0: never).
    pub reminder_after: Option<Duration>,
}

/// What is POSTed to `SURVEY_RESULTS_URL` when a survey completes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Results {
    /// The person's number.
    pub from: String,
    /// Your Twilio number.
    pub to: String,
    /// Their name.
    pub name: String,
    /// Their ZIP code.
    pub zip: String,
    /// Whether they want updates.
    pub updates: bool,
    /// Unix seconds of the final answer.
    pub completed_at: u64,
}

impl Conversation for Survey {
    const NAME: &'static str = "survey";
    type State = Step;

    fn new(vars: &Vars<'_>) -> Result<Self, ConfigError> {
        let results_url = vars.get("SURVEY_RESULTS_URL");
        if let Some(url) = &results_url {
            if !(url.starts_with("https://") || url.starts_with("http://")) {
                return Err(ConfigError::new(
                    "SURVEY_RESULTS_URL",
                    "must be an http:// or https:// URL",
                ));
            }
        }
        let reminder = vars.number(
            "SURVEY_REMINDER_SECONDS",
            0,
            0..=7 * 24 * 3600,
            "of seconds",
        )?;
        Ok(Survey {
            results_url,
            results_token: vars.get("SURVEY_RESULTS_TOKEN"),
            reminder_after: (reminder > 0).then(|| Duration::from_secs(reminder)),
        })
    }

    async fn reply(
        &self,
        message: &InboundMessage,
        _chat: &View<'_>,
        step: &mut Step,
        ctx: &Context<'_>,
    ) -> Reply {
        let answer = message.body.trim();
        if answer.eq_ignore_ascii_case("HELP") {
            let text = help(step);
            // HELP as the very first text asks the first question: the answer comes next.
            if *step == Step::Start {
                *step = Step::Name;
            }
            return self.remind(step, Reply::text(text));
        }
        if answer.eq_ignore_ascii_case("BACK") {
            *step = back(std::mem::take(step));
            return self.remind(step, Reply::text(question(step)));
        }
        let (next, text) = self.advance(std::mem::take(step), answer, message, ctx);
        *step = next;
        self.remind(step, Reply::text(text))
    }

    async fn follow_up(&self, _chat: &View<'_>, step: &mut Step, _ctx: &Context<'_>) -> Reply {
        match step {
            Step::Start | Step::Done { .. } => Reply::none(),
            // One reminder per question: this reply asks for no further follow-up.
            _ => Reply::text(format!("Just checking in: {}", reminder_question(step))),
        }
    }

    async fn start(
        &self,
        _start: &Start,
        step: &mut Step,
        _ctx: &Context<'_>,
    ) -> Result<Reply, String> {
        *step = Step::Name;
        Ok(self.remind(step, Reply::text(ASK_NAME)))
    }
}

impl Survey {
    /// The step after `step` given `answer`, and the text that asks for the next answer; the
    /// last answer posts the results.
    fn advance(
        &self,
        step: Step,
        answer: &str,
        message: &InboundMessage,
        ctx: &Context<'_>,
    ) -> (Step, String) {
        match step {
            Step::Start => (Step::Name, ASK_NAME.to_string()),
            Step::Name if answer.is_empty() => (Step::Name, ASK_NAME.to_string()),
            Step::Name => {
                let name: String = answer.chars().take(MAX_NAME_CHARS).collect();
                let name = name.trim_end().to_string();
                let text = format!("Thanks, {name}. {ASK_ZIP}");
                (Step::Zip { name }, text)
            }
            Step::Zip { name } if is_zip(answer) => {
                let zip = answer.to_string();
                (Step::Updates { name, zip }, ASK_UPDATES.to_string())
            }
            Step::Zip { name } => (
                Step::Zip { name },
                format!("Sorry, a ZIP code is 5 digits. {ASK_ZIP}"),
            ),
            Step::Updates { name, zip } => match yes_or_no(answer) {
                Some(updates) => {
                    let text = format!(
                        "Thanks, {name}! ZIP {zip}, updates: {}.",
                        if updates { "yes" } else { "no" }
                    );
                    self.post_results(message, &name, &zip, updates, ctx);
                    (Step::Done { name, zip, updates }, text)
                }
                None => (
                    Step::Updates { name, zip },
                    "Please reply Y (yes) or N (no).".to_string(),
                ),
            },
            done @ Step::Done { .. } => {
                let text = question(&done);
                (done, text)
            }
        }
    }

    /// Asks for a reminder when a question is left open and reminders are on.
    fn remind(&self, step: &Step, reply: Reply) -> Reply {
        match (self.reminder_after, step) {
            (Some(after), Step::Name | Step::Zip { .. } | Step::Updates { .. }) => {
                reply.follow_up_after(after)
            }
            _ => reply,
        }
    }

    /// Queues the results for after the reply: a slow or failing endpoint never delays or
    /// changes it.
    fn post_results(
        &self,
        message: &InboundMessage,
        name: &str,
        zip: &str,
        updates: bool,
        ctx: &Context<'_>,
    ) {
        let Some(url) = &self.results_url else {
            return;
        };
        let results = Results {
            from: message.from.clone(),
            to: message.to.clone(),
            name: name.to_string(),
            zip: zip.to_string(),
            updates,
            completed_at: ctx.now(),
        };
        let mut request = ClientRequest::post_json(url.as_str(), &results);
        if let Some(token) = &self.results_token {
            request = request.bearer(token);
        }
        let http = ctx.http();
        ctx.after_reply("survey_results", async move {
            match http.send(request).await {
                Ok(response) if response.is_success() => Ok(()),
                Ok(response) => Err(format!("results endpoint answered {}", response.status)),
                Err(e) => Err(format!("results endpoint: {e}")),
            }
        });
    }
}

/// The open question, as a reminder repeats it.
fn reminder_question(step: &Step) -> &'static str {
    match step {
        Step::Zip { .. } => ASK_ZIP,
        Step::Updates { .. } => ASK_UPDATES,
        _ => "What's your name?",
    }
}

/// The question the person is on (what `HELP` repeats).
fn question(step: &Step) -> String {
    match step {
        Step::Start | Step::Name => ASK_NAME.to_string(),
        Step::Zip { .. } => ASK_ZIP.to_string(),
        Step::Updates { .. } => ASK_UPDATES.to_string(),
        Step::Done { name, .. } => format!("You're all set, {name}. Text RESET to start over."),
    }
}

fn help(step: &Step) -> String {
    let why = match step {
        Step::Start | Step::Name => {
            "We ask your name, your ZIP code and whether we may text you updates."
        }
        Step::Zip { .. } => "We use your ZIP code to find what is near you.",
        Step::Updates { .. } => {
            "We only text updates if you say yes; reply STOP anytime to stop all texts."
        }
        Step::Done { .. } => "The survey is complete.",
    };
    format!(
        "{why} Text BACK to change your last answer, RESET to start over. {}",
        question(step)
    )
}

/// The step before: the question answered last is asked again.
fn back(step: Step) -> Step {
    match step {
        Step::Start | Step::Name | Step::Zip { .. } => Step::Name,
        Step::Updates { name, .. } => Step::Zip { name },
        Step::Done { name, zip, .. } => Step::Updates { name, zip },
    }
}

fn is_zip(answer: &str) -> bool {
    answer.len() == 5 && answer.bytes().all(|b| b.is_ascii_digit())
}

fn yes_or_no(answer: &str) -> Option<bool> {
    match answer.to_ascii_uppercase().as_str() {
        "Y" | "YES" => Some(true),
        "N" | "NO" => Some(false),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::harness::TestPhone;

    fn survey(vars: &[(&str, &str)]) -> TestPhone {
        TestPhone::new::<Survey>(vars).unwrap()
    }

    fn say(phone: &mut TestPhone, text: &str) -> String {
        phone.text(text).texts().join("|")
    }

    #[test]
    fn the_whole_survey() {
        let mut p = survey(&[]);
        assert_eq!(say(&mut p, "hello"), "Hi! What's your name?");
        assert_eq!(
            say(&mut p, "  Rey  "),
            "Thanks, Rey. What's your 5-digit ZIP code?"
        );
        assert_eq!(
            say(&mut p, "9410"),
            "Sorry, a ZIP code is 5 digits. What's your 5-digit ZIP code?"
        );
        assert_eq!(
            say(&mut p, "94105"),
            "Can we text you updates? Reply Y for yes or N for no."
        );
        assert_eq!(say(&mut p, "maybe"), "Please reply Y (yes) or N (no).");
        assert_eq!(say(&mut p, "yes"), "Thanks, Rey! ZIP 94105, updates: yes.");
        assert_eq!(
            say(&mut p, "hi"),
            "You're all set, Rey. Text RESET to start over."
        );
        assert_eq!(
            p.state::<Step>(),
            Step::Done {
                name: "Rey".into(),
                zip: "94105".into(),
                updates: true
            }
        );
        assert_eq!(say(&mut p, "reset"), "Your conversation has been reset.");
        assert_eq!(say(&mut p, "hi again"), "Hi! What's your name?");
    }

    #[test]
    fn names_are_cut_and_answers_any_case() {
        let mut p = survey(&[]);
        say(&mut p, "hi");
        let long = "x".repeat(100);
        assert_eq!(
            say(&mut p, &long),
            format!("Thanks, {}. {ASK_ZIP}", "x".repeat(60))
        );
        say(&mut p, " 12345 ");
        assert_eq!(
            say(&mut p, "n"),
            format!("Thanks, {}! ZIP 12345, updates: no.", "x".repeat(60))
        );
    }

    #[test]
    fn help_repeats_the_question_and_changes_nothing() {
        let mut p = survey(&[]);
        say(&mut p, "hi");
        say(&mut p, "Rey");
        let before = p.state::<Step>();
        let help = say(&mut p, "help");
        assert!(help.ends_with(ASK_ZIP), "{help}");
        assert_eq!(p.state::<Step>(), before);
        assert_eq!(say(&mut p, "94105"), ASK_UPDATES);
    }

    #[test]
    fn help_as_the_first_text_asks_the_name_once() {
        let mut p = survey(&[]);
        assert!(say(&mut p, "HELP").ends_with(ASK_NAME));
        assert_eq!(say(&mut p, "Rey"), format!("Thanks, Rey. {ASK_ZIP}"));
    }

    #[test]
    fn back_returns_to_the_previous_question() {
        let mut p = survey(&[]);
        say(&mut p, "hi");
        say(&mut p, "Rey");
        say(&mut p, "94105");
        assert_eq!(say(&mut p, "BACK"), ASK_ZIP);
        assert_eq!(say(&mut p, "10001"), ASK_UPDATES);
        assert_eq!(say(&mut p, "back"), ASK_ZIP);
        assert_eq!(say(&mut p, "Back"), ASK_NAME);
        assert_eq!(say(&mut p, "Kay"), format!("Thanks, Kay. {ASK_ZIP}"));
    }

    #[test]
    fn a_retried_answer_gets_the_same_reply_whatever_the_history_setting() {
        for turns in ["0", "10"] {
            let mut p = survey(&[("HISTORY_TURNS", turns)]);
            say(&mut p, "hi");
            let first = say(&mut p, "Rey");
            assert_eq!(p.retry().texts().join("|"), first, "HISTORY_TURNS={turns}");
            assert_eq!(p.count(), 2);
            assert_eq!(say(&mut p, "94105"), ASK_UPDATES);
        }
    }

    #[test]
    fn results_are_posted_once_after_the_final_answer() {
        let mut p = survey(&[
            ("SURVEY_RESULTS_URL", "https://crm.test/leads"),
            ("SURVEY_RESULTS_TOKEN", "tok"),
        ]);
        p.http().respond("https://crm.test/leads", 201, "{}");
        for text in ["hi", "Rey", "94105"] {
            say(&mut p, text);
        }
        assert!(p.http().requests().is_empty());
        p.wait(7);
        say(&mut p, "Y");
        let sent = p.http().requests();
        assert_eq!(sent.len(), 1);
        assert_eq!(sent[0].method, "POST");
        assert!(sent[0]
            .headers
            .contains(&("authorization".into(), "Bearer tok".into())));
        let results: Results = serde_json::from_slice(&sent[0].body).unwrap();
        assert_eq!(
            results,
            Results {
                from: p.from_number().into(),
                to: "+15005550006".into(),
                name: "Rey".into(),
                zip: "94105".into(),
                updates: true,
                completed_at: p.now(),
            }
        );
        p.retry();
        say(&mut p, "anything");
        assert_eq!(p.http().requests().len(), 1);
    }

    #[test]
    fn reminders_are_asked_for_open_questions_only() {
        use crate::conversation::Conversation as _;
        let lookup = |n: &str| (n == "SURVEY_REMINDER_SECONDS").then(|| "600".to_string());
        let survey = Survey::new(&Vars::new(&lookup)).unwrap();
        assert_eq!(survey.reminder_after, Some(Duration::from_secs(600)));
        let asked = survey.remind(&Step::Zip { name: "Rey".into() }, Reply::text("q"));
        assert_eq!(asked.follow_up(), Some(600));
        let done = Step::Done {
            name: "Rey".into(),
            zip: "94105".into(),
            updates: true,
        };
        assert_eq!(survey.remind(&done, Reply::text("bye")).follow_up(), None);
        let ctx = Context::new(
            Vars::new(&lookup),
            std::rc::Rc::new(crate::conversation::NoClient),
            0,
        );
        let view = View {
            count: 2,
            first_seen: 0,
            last_seen: 0,
            turns: &[],
        };
        let mut step = Step::Zip { name: "Rey".into() };
        let reminder = crate::harness::block_on(survey.follow_up(&view, &mut step, &ctx));
        assert_eq!(reminder.texts(), [format!("Just checking in: {ASK_ZIP}")]);
        assert_eq!(reminder.follow_up(), None, "one reminder, never a stream");
        assert!(
            crate::harness::block_on(survey.follow_up(&view, &mut done.clone(), &ctx)).is_empty()
        );
        let off = Survey::new(&Vars::new(&|_: &str| None)).unwrap();
        assert_eq!(off.remind(&Step::Name, Reply::text("q")).follow_up(), None);
    }

    #[test]
    fn a_failing_results_endpoint_never_changes_the_reply() {
        let mut p = survey(&[("SURVEY_RESULTS_URL", "https://crm.test/leads")]);
        p.http().respond("https://crm.test/leads", 500, "down");
        for text in ["hi", "Rey", "94105"] {
            say(&mut p, text);
        }
        let done = p.text("N");
        assert_eq!(done.texts(), ["Thanks, Rey! ZIP 94105, updates: no."]);
        assert_eq!(
            done.after_reply_errors(),
            ["survey_results: results endpoint answered 500"]
        );
    }
}
