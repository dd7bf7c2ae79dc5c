//! A lead-capture survey (`CONVERSATION=survey`): name, ZIP code, and whether we may text
//! updates, with `HELP` and `BACK` at every step. The worked example of the conversation
//! API: typed steps, validation with a re-ask, branching, and a call out after the reply.
//!
//! With `SURVEY_RESULTS_URL` set, a completed survey is POSTed there as JSON
//! `{"from", "to", "name", "zip", "updates", "completed_at"}` (with
//! `Authorization: Bearer <SURVEY_RESULTS_TOKEN>` when that secret is set), after the reply,
//! with the final message's `Idempotency-Key`
//! ([`Context::idempotency_key`](crate::conversation::Context::idempotency_key)). A retried
//! final message is answered from the kept reply and posts nothing, except where that
//! key's documentation says `reply` runs again: then the same results come with the same
//! key, and a receiver that remembers the keys it took records them once.
//!
//! A POST that certainly did nothing is tried again at once, up to [`RESULTS_TRIES`] tries
//! in all: one refused before it went out ([`ClientError::NotSent`]), and a `429` or `503`
//! (the receiver refused it, conventionally before doing anything; the repeat carries the
//! same key, so one that did act can tell). A timeout, a network failure after sending or
//! any other status is not repeated: the results may have arrived. A POST that failed for
//! good is logged (the after-reply task `survey_results`) with the masked pair and the
//! MessageSid, to find the lead by. Each try has [`DEFAULT_TIMEOUT`](crate::conversation::DEFAULT_TIMEOUT): all of them fit in
//! the time Workers give work after the response (about 30 s). The tries are immediate:
//! the core has no timer to wait with.
//!
//! With `SURVEY_REMINDER_SECONDS` set (and the Durable Objects binding), a question left
//! unanswered that long gets one reminder, `Just checking in: {the question}`. It can also
//! be started from our side (`POST /conversations`): it opens with its first question.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::conversation::{
    ClientError, ClientRequest, ClientResponse, Context, Conversation, HttpClient, Reply, Start,
    View,
};
use crate::mask::mask_number;
use crate::twilio::params::InboundMessage;
use crate::vars::{ConfigError, Vars};

/// Names are kept to this many characters.
pub const MAX_NAME_CHARS: usize = 60;

/// POSTs of one survey's results at most: with [`DEFAULT_TIMEOUT`](crate::conversation::DEFAULT_TIMEOUT) each, well within the
/// ~30 s Workers give after-reply work.
pub const RESULTS_TRIES: u32 = 3;

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
        let mut request =
            ClientRequest::post_json(url.as_str(), &results).idempotency_key(ctx.idempotency_key());
        if let Some(token) = &self.results_token {
            request = request.bearer(token);
        }
        let http = ctx.http();
        // What finds the lead again in the log: never the whole numbers.
        let lead = format!(
            "results of {} to {} (MessageSid {})",
            mask_number(&results.from),
            mask_number(&results.to),
            message.sid()
        );
        ctx.after_reply("survey_results", async move {
            deliver(http.as_ref(), request)
                .await
                .map_err(|why| format!("{lead} not delivered: {why}"))
        });
    }
}

/// POSTs `request` until it is delivered, it may have arrived, or [`RESULTS_TRIES`] are
/// spent; why not, when it was not.
async fn deliver(http: &dyn HttpClient, request: ClientRequest) -> Result<(), String> {
    let mut tries = 1;
    loop {
        let (why, certainly_nothing_done) = match http.send(request.clone()).await {
            Ok(response) if response.is_success() => return Ok(()),
            Ok(ClientResponse { status, .. }) => (
                format!("the endpoint answered {status}"),
                matches!(status, 429 | 503),
            ),
            Err(e @ ClientError::Timeout) => (format!("the endpoint {e}"), false),
            Err(e) => (format!("the endpoint: {e}"), e.certainly_not_sent()),
        };
        if !certainly_nothing_done || tries == RESULTS_TRIES {
            let plural = if tries == 1 { "try" } else { "tries" };
            return Err(format!("{why} (after {tries} {plural})"));
        }
        tries += 1;
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
            standing: &Default::default(),
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
        let sid = format!("SM{:032x}", 4);
        assert_eq!(
            done.after_reply_errors(),
            [format!(
                "survey_results: results of +14*******00 to +15*******06 (MessageSid {sid}) \
                 not delivered: the endpoint answered 500 (after 1 try)"
            )]
        );
        assert_eq!(
            p.http().requests().len(),
            1,
            "a 500 may have done something"
        );
    }

    /// A survey at its last question, its results going to `https://crm.test/leads`.
    fn at_the_last_question() -> TestPhone {
        let mut p = survey(&[("SURVEY_RESULTS_URL", "https://crm.test/leads")]);
        p.http().respond("https://crm.test/leads", 201, "{}");
        for text in ["hi", "Rey", "94105"] {
            say(&mut p, text);
        }
        p
    }

    fn idempotency_keys(p: &TestPhone) -> Vec<Option<String>> {
        let requests = p.http().requests();
        let key = |r: &ClientRequest| r.header_value("Idempotency-Key").map(str::to_string);
        requests.iter().map(key).collect()
    }

    #[test]
    fn results_refused_before_they_went_out_are_sent_again_with_the_same_key() {
        let mut p = at_the_last_question();
        let not_sent = ClientError::NotSent("connect ECONNREFUSED".into());
        p.http().fail_once("https://crm.test/leads", not_sent);
        let done = p.text("Y");
        assert!(
            done.after_reply_errors().is_empty(),
            "{:?}",
            done.after_reply_errors()
        );
        let keys = idempotency_keys(&p);
        assert_eq!(keys.len(), 2, "delivered on the second try");
        assert!(keys[0].is_some());
        assert_eq!(keys[0], keys[1]);
    }

    #[test]
    fn a_timeout_is_not_repeated_and_the_log_names_the_lead() {
        let mut p = at_the_last_question();
        p.http()
            .fail("https://crm.test/leads", ClientError::Timeout);
        let done = p.text("Y");
        assert_eq!(p.http().requests().len(), 1, "it may have arrived");
        let [error] = done.after_reply_errors() else {
            panic!("one error: {:?}", done.after_reply_errors())
        };
        let sid = format!("SM{:032x}", 4);
        assert!(error.contains("+14*******00 to +15*******06"), "{error}");
        assert!(error.contains(&sid), "{error}");
        assert!(
            error.ends_with("the endpoint timed out (after 1 try)"),
            "{error}"
        );
        assert!(!error.contains(p.from_number()), "{error}");
    }

    #[test]
    fn refusals_are_tried_three_times_at_most() {
        for (label, failure) in [
            ("503", None),
            ("not sent", Some(ClientError::NotSent("dns".into()))),
        ] {
            let mut p = at_the_last_question();
            match failure {
                Some(e) => p.http().fail("https://crm.test/leads", e),
                None => p.http().respond("https://crm.test/leads", 503, "busy"),
            }
            let done = p.text("N");
            assert_eq!(p.http().requests().len(), 3, "{label}");
            let error = &done.after_reply_errors()[0];
            assert!(error.ends_with("(after 3 tries)"), "{label}: {error}");
        }
    }
}
