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

use crate::conversation::InboundMessage;
use crate::conversation::{
    ClientError, ClientRequest, ClientResponse, Context, Conversation, HttpClient, Reply, Start,
    View,
};
use crate::mask::mask_number;
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

impl Step {
    /// Whether a question waits for its answer.
    fn is_open(&self) -> bool {
        matches!(self, Step::Name | Step::Zip { .. } | Step::Updates { .. })
    }
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

    // The fields in this order, so that the first bad value named is the same as ever.
    fn new(vars: &Vars<'_>) -> Result<Self, ConfigError> {
        Ok(Survey {
            results_url: results_url(vars)?,
            reminder_after: reminder_after(vars)?,
            results_token: vars.get("SURVEY_RESULTS_TOKEN"),
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
            return self.answer_help(step);
        }
        if answer.eq_ignore_ascii_case("BACK") {
            return self.go_back(step);
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

/// `SURVEY_RESULTS_URL`, when set: an http:// or https:// URL.
fn results_url(vars: &Vars<'_>) -> Result<Option<String>, ConfigError> {
    let results_url = vars.get("SURVEY_RESULTS_URL");
    if results_url.as_deref().is_some_and(|url| !is_http_url(url)) {
        return Err(ConfigError::new(
            "SURVEY_RESULTS_URL",
            "must be an http:// or https:// URL",
        ));
    }
    Ok(results_url)
}

/// Whether `url` is an http:// or https:// URL.
fn is_http_url(url: &str) -> bool {
    url.starts_with("https://") || url.starts_with("http://")
}

/// `SURVEY_REMINDER_SECONDS`, a week at most; 0 (the default) is no reminders.
fn reminder_after(vars: &Vars<'_>) -> Result<Option<Duration>, ConfigError> {
    let reminder = vars.number(
        "SURVEY_REMINDER_SECONDS",
        0,
        0..=7 * 24 * 3600,
        "of seconds",
    )?;
    Ok((reminder > 0).then(|| Duration::from_secs(reminder)))
}

impl Survey {
    /// Explains the question `step` is on and repeats it. HELP as the very first text asks
    /// the first question: the answer comes next.
    fn answer_help(&self, step: &mut Step) -> Reply {
        let text = help(step);
        if *step == Step::Start {
            *step = Step::Name;
        }
        self.remind(step, Reply::text(text))
    }

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
            Step::Name => answer_name(answer),
            Step::Zip { name } if is_zip(answer) => {
                let zip = answer.to_string();
                (Step::Updates { name, zip }, ASK_UPDATES.to_string())
            }
            Step::Zip { name } => (
                Step::Zip { name },
                format!("Sorry, a ZIP code is 5 digits. {ASK_ZIP}"),
            ),
            Step::Updates { name, zip } => match yes_or_no(answer) {
                Some(updates) => self.finish(name, zip, updates, message, ctx),
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

    /// Goes back to the question answered last and asks it again.
    fn go_back(&self, step: &mut Step) -> Reply {
        *step = back(std::mem::take(step));
        self.remind(step, Reply::text(question(step)))
    }

    /// The last answer: the survey is done and its results posted.
    fn finish(
        &self,
        name: String,
        zip: String,
        updates: bool,
        message: &InboundMessage,
        ctx: &Context<'_>,
    ) -> (Step, String) {
        let text = format!(
            "Thanks, {name}! ZIP {zip}, updates: {}.",
            if updates { "yes" } else { "no" }
        );
        self.post_results(message, &name, &zip, updates, ctx);
        (Step::Done { name, zip, updates }, text)
    }

    /// Asks for a reminder when a question is left open and reminders are on.
    fn remind(&self, step: &Step, reply: Reply) -> Reply {
        match self.reminder_after {
            Some(after) if step.is_open() => reply.follow_up_after(after),
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
        let request = self.results_request(url, &results, ctx);
        let http = ctx.http();
        let lead = lead(&results, message);
        ctx.after_reply("survey_results", async move {
            deliver(http.as_ref(), request)
                .await
                .map_err(|why| format!("{lead} not delivered: {why}"))
        });
    }
}

impl Survey {
    /// The POST of `results` to `url`, with the bearer token when there is one.
    fn results_request(&self, url: &str, results: &Results, ctx: &Context<'_>) -> ClientRequest {
        let request = ClientRequest::post_json(url, results).idempotency_key(ctx.idempotency_key());
        match &self.results_token {
            Some(token) => request.bearer(token),
            None => request,
        }
    }
}

/// What finds the lead again in the log: never the whole numbers.
fn lead(results: &Results, message: &InboundMessage) -> String {
    format!(
        "results of {} to {} (MessageSid {})",
        mask_number(&results.from),
        mask_number(&results.to),
        message.sid()
    )
}

/// POSTs `request` until it is delivered, it may have arrived, or [`RESULTS_TRIES`] are
/// spent; why not, when it was not.
async fn deliver(http: &dyn HttpClient, request: ClientRequest) -> Result<(), String> {
    let mut tries = 1;
    loop {
        let Some((why, certainly_nothing_done)) = failure(http.send(request.clone()).await) else {
            return Ok(());
        };
        if !certainly_nothing_done || tries == RESULTS_TRIES {
            let plural = if tries == 1 { "try" } else { "tries" };
            return Err(format!("{why} (after {tries} {plural})"));
        }
        tries += 1;
    }
}

/// Why a try failed, and whether it certainly did nothing (so it may be tried again);
/// `None` when the results were delivered.
fn failure(sent: Result<ClientResponse, ClientError>) -> Option<(String, bool)> {
    Some(match sent {
        Ok(response) if response.is_success() => return None,
        Ok(ClientResponse { status, .. }) => (
            format!("the endpoint answered {status}"),
            matches!(status, 429 | 503),
        ),
        Err(e @ ClientError::Timeout) => (format!("the endpoint {e}"), false),
        Err(e) => (format!("the endpoint: {e}"), e.certainly_not_sent()),
    })
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

/// What `HELP` answers: why the question is asked, the commands, and the question again.
fn help(step: &Step) -> String {
    format!(
        "{} Text BACK to change your last answer, RESET to start over. {}",
        why_we_ask(step),
        question(step)
    )
}

/// Why the survey asks the question `step` is on.
fn why_we_ask(step: &Step) -> &'static str {
    match step {
        Step::Start | Step::Name => {
            "We ask your name, your ZIP code and whether we may text you updates."
        }
        Step::Zip { .. } => "We use your ZIP code to find what is near you.",
        Step::Updates { .. } => {
            "We only text updates if you say yes; reply STOP anytime to stop all texts."
        }
        Step::Done { .. } => "The survey is complete.",
    }
}

/// The name answered (cut to [`MAX_NAME_CHARS`]), and the next question.
fn answer_name(answer: &str) -> (Step, String) {
    let name: String = answer.chars().take(MAX_NAME_CHARS).collect();
    let name = name.trim_end().to_string();
    let text = format!("Thanks, {name}. {ASK_ZIP}");
    (Step::Zip { name }, text)
}

/// The step before: the question answered last is asked again.
fn back(step: Step) -> Step {
    match step {
        Step::Start | Step::Name | Step::Zip { .. } => Step::Name,
        Step::Updates { name, .. } => Step::Zip { name },
        Step::Done { name, zip, .. } => Step::Updates { name, zip },
    }
}

/// Five digits.
fn is_zip(answer: &str) -> bool {
    answer.len() == 5 && answer.bytes().all(|b| b.is_ascii_digit())
}

/// `Y`/`YES` or `N`/`NO`, in any case; anything else is no answer.
fn yes_or_no(answer: &str) -> Option<bool> {
    match answer.to_ascii_uppercase().as_str() {
        "Y" | "YES" => Some(true),
        "N" | "NO" => Some(false),
        _ => None,
    }
}

#[cfg(test)]
mod tests;
