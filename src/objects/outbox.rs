//! The object's own sends (follow-ups, starts, late replies), each message once.
//!
//! Twilio's Create Message is not idempotent: a request whose answer was lost (a timeout, a
//! 5xx, a connection lost after writing) may have sent the message. So a send is an
//! [`Outgoing`] stored in the object **before** its first request, and its messages' SIDs as
//! they come back; what happens next depends on [`SendFate`]:
//! - certainly not sent (a 429, a connection refused): sent again after a backoff;
//! - refused (a 4xx): dropped (21610 also opts the pair out);
//! - unknown: nothing is sent until the object has found out. Each message carries its own
//!   `StatusCallback` (`/sms/status?o=<id>.<index>`), and Twilio's callback for it confirms it
//!   (and gives its SID). Without one after [`CONFIRM_AFTER_SECONDS`], the account's Messages
//!   list is searched for it; found, it was sent; missing twice, it was not, and only then is
//!   it sent again. A list that cannot be read is asked again, [`MAX_CHECKS`] times, and then
//!   the send is given up rather than risk a second copy.
//!
//! A crash between writing the send and hearing back leaves it `Sending`, which the alarm
//! (set before every request) treats as unknown.

use serde::{Deserialize, Serialize};

use crate::conversation::{Reply, SavedState};
use crate::twilio::messages::{self, Credentials, Form, SendError, SendFate};

/// Where an object keeps its send in flight.
pub(crate) const OUTBOX: &str = "outbox";

/// A message certainly not sent (a 429, a connection refused) is tried this many times in all,
/// [`RETRY_BASE_SECONDS`] × 2ⁿ apart.
pub(crate) const MAX_SEND_ATTEMPTS: u32 = 4;
/// The first wait before a message certainly not sent is tried again.
pub(crate) const RETRY_BASE_SECONDS: u64 = 10;
/// How long after an unknown outcome the object first looks for the message (Twilio's status
/// callback usually comes within seconds), doubling for each later look.
pub(crate) const CONFIRM_AFTER_SECONDS: u64 = 30;
/// Looks at the Messages list before an unknown outcome is given up.
pub(crate) const MAX_CHECKS: u32 = 4;
/// A message missing from this many looks was not sent, and is sent again.
const MISSING_TO_RESEND: u32 = 2;

/// What a send is for, and so what it changes once sent.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum Why {
    /// The follow-up asked for on the record at `seq`.
    FollowUp {
        /// The record's sequence when the follow-up was asked for.
        seq: u64,
    },
    /// The opening of a conversation the worker starts.
    Start {
        /// The request's idempotency key.
        key: String,
    },
    /// The reply to a message that outlasted the webhook's budget (`late.rs`): the record
    /// already holds its turn and state.
    Late {
        /// The message it answers.
        message_sid: String,
    },
}

/// Where a send stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum Phase {
    /// The next message is to be sent now.
    Ready,
    /// The next message's request is (or was, at `at`) on its way.
    Sending {
        /// When it was sent.
        at: u64,
    },
    /// The last try certainly did not reach Twilio: the next at `until`.
    Waiting {
        /// When to try again.
        until: u64,
    },
    /// Twilio may have the next message since `since`: find out at `next_check`.
    Unknown {
        /// When its request went out.
        since: u64,
        /// Looks at the Messages list so far.
        checks: u32,
        /// When to look next.
        next_check: u64,
        /// Looks that did not find it.
        missing: u32,
    },
}

/// A send in flight: its messages exactly as they go out, and what to keep once they have.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Outgoing {
    /// Its name in status callback URLs and logs.
    pub id: String,
    /// What it is for.
    pub why: Why,
    /// The Create Message forms, one per message.
    pub forms: Vec<Form>,
    /// The SIDs of the messages sent so far, in order.
    pub sids: Vec<String>,
    /// Where the next message stands.
    pub phase: Phase,
    /// Tries of the next message that certainly did not reach Twilio.
    pub tries: u32,
    /// The reply, kept as the sent turn.
    pub reply: Reply,
    /// The follow-up the reply asked for (a start's).
    pub follow_up: Option<u64>,
    /// The conversation's state once sent.
    pub state: SavedState,
    /// A newer message came while it was on its way: what may have gone out is still
    /// confirmed, but nothing is sent again.
    pub stale: bool,
}

/// How far a send got this time.
#[derive(Debug)]
pub(crate) enum Progress {
    /// Every message is sent.
    Sent,
    /// Not finished: look again at `at` (for the log: why, and whether a try failed).
    Later {
        /// When.
        at: u64,
        /// Why.
        why: String,
        /// A try failed (the log says so as an error).
        failed: bool,
    },
    /// Twilio refused a message: nothing more is sent.
    Refused(SendError),
    /// Given up: the outcome of the last message stays unknown, or it was never accepted.
    GaveUp(String),
}

/// What the send needs of the Messages API.
pub(crate) struct Api<'a> {
    pub http: &'a dyn crate::conversation::HttpClient,
    pub base_url: &'a str,
    pub account_sid: &'a str,
    pub credentials: &'a Credentials,
}

impl Outgoing {
    /// When the object should next look at this send.
    pub(crate) fn wake_at(&self) -> u64 {
        match self.phase {
            Phase::Ready => 0,
            Phase::Sending { at } => at.saturating_add(CONFIRM_AFTER_SECONDS),
            Phase::Waiting { until } => until,
            Phase::Unknown { next_check, .. } => next_check,
        }
    }

    /// True while the next message may have reached Twilio without the object knowing.
    pub(crate) fn unsure(&self) -> bool {
        matches!(self.phase, Phase::Sending { .. } | Phase::Unknown { .. })
    }

    /// The status callback of message `index` confirmed it with `sid`: true when that was the
    /// message this send was unsure of.
    pub(crate) fn confirm(&mut self, send: &str, sid: &str) -> bool {
        let expected = format!("{}.{}", self.id, self.sids.len());
        if send != expected || !self.unsure() || self.sids.len() >= self.forms.len() {
            return false;
        }
        self.took(sid.to_string());
        true
    }

    /// Twilio took the next message as `sid`: the one after it is ready, with no failed tries.
    fn took(&mut self, sid: String) {
        self.sids.push(sid);
        self.tries = 0;
        self.phase = Phase::Ready;
    }

    /// The form of the next message to send (or to look for).
    fn next_form(&self) -> &Form {
        &self.forms[self.sids.len()]
    }

    /// Goes as far as it can at `now`: sends what is due, looks for what is unsure. Calls
    /// `save` with the send before every request, so a crash never loses what was tried.
    pub(crate) async fn drive<F>(&mut self, api: &Api<'_>, now: u64, save: F) -> Progress
    where
        F: AsyncFn(&Outgoing) -> bool,
    {
        while self.sids.len() < self.forms.len() {
            if let Some(stop) = self.settle(api, now).await {
                return stop;
            }
            // A look may have found the message: the next one, if any, is due.
            if self.sids.len() == self.forms.len() {
                break;
            }
            self.phase = Phase::Sending { at: now };
            if !save(self).await {
                let why = "the object's storage failed: not sent yet; trying again";
                return Progress::later(now + RETRY_BASE_SECONDS, why.into(), true);
            }
            match api.send(self.next_form()).await {
                Ok(sid) => self.took(sid),
                Err(e) => return self.failed(e, now),
            }
        }
        Progress::Sent
    }

    /// Before sending the next message: wait, or find out what became of the last try.
    /// `None` when it is to be sent now.
    async fn settle(&mut self, api: &Api<'_>, now: u64) -> Option<Progress> {
        match self.last_try(now) {
            Ok((since, checks, missing)) => self.look(api, now, since, checks, missing).await,
            Err(stop) => stop,
        }
    }

    /// What the phase says at `now`: the unsure try to look for (since, checks, missing), or
    /// else to wait (`Some`) or to send (`None`).
    fn last_try(&self, now: u64) -> Result<(u64, u32, u32), Option<Progress>> {
        match self.phase {
            Phase::Waiting { until } if now < until => Err(Some(Progress::later(
                until,
                "waiting to send again".into(),
                false,
            ))),
            Phase::Ready | Phase::Waiting { .. } if self.stale => Err(Some(Progress::GaveUp(
                "a newer message came: not sent".into(),
            ))),
            Phase::Ready | Phase::Waiting { .. } => Err(None),
            // Written before a request whose answer never came back: the object went away.
            Phase::Sending { at } => Ok((at, 0, 0)),
            Phase::Unknown { next_check, .. } if now < next_check => {
                let why = "confirming whether Twilio took the message; looking again";
                Err(Some(Progress::later(next_check, why.into(), false)))
            }
            Phase::Unknown {
                since,
                checks,
                missing,
                ..
            } => Ok((since, checks, missing)),
        }
    }

    /// Looks for the unsure message in the Messages list.
    async fn look(
        &mut self,
        api: &Api<'_>,
        now: u64,
        since: u64,
        checks: u32,
        missing: u32,
    ) -> Option<Progress> {
        let known: Vec<&str> = self.sids.iter().map(String::as_str).collect();
        let found = api.find_sent(self.next_form(), since, &known).await;
        let (checks, missing) = match found {
            Ok(Some(sid)) => {
                self.took(sid);
                return None;
            }
            Ok(None) if missing + 1 >= MISSING_TO_RESEND => return self.missing_again(),
            Ok(None) => (checks + 1, missing + 1),
            Err(_) => (checks + 1, missing),
        };
        Some(self.look_again(now, since, checks, missing))
    }

    /// Twilio's list still has no such message: the lost try never arrived, so the message is
    /// ready again (unless a newer message came, or it was tried too often).
    fn missing_again(&mut self) -> Option<Progress> {
        if self.stale {
            let why = "a newer message came, and Twilio has no such message: not sent again";
            return Some(Progress::GaveUp(why.into()));
        }
        self.tries += 1;
        self.phase = Phase::Ready;
        (self.tries >= MAX_SEND_ATTEMPTS)
            .then(|| Progress::GaveUp(format!("not accepted after {} tries", self.tries)))
    }

    /// The message is still unsure after `checks` looks (`missing` of them not finding it):
    /// look again later, or give up once there were too many looks.
    fn look_again(&mut self, now: u64, since: u64, checks: u32, missing: u32) -> Progress {
        if checks >= MAX_CHECKS {
            return self.unconfirmed(checks);
        }
        let next_check = now + (CONFIRM_AFTER_SECONDS << checks.min(6));
        self.phase = Phase::Unknown {
            since,
            checks,
            next_check,
            missing,
        };
        let why = "Twilio's list does not show it yet (or could not be read): nothing is sent before looking again";
        Progress::later(next_check, why.into(), true)
    }

    /// Given up after `checks` looks that could not confirm the message: never sent again.
    fn unconfirmed(&self, checks: u32) -> Progress {
        Progress::GaveUp(format!(
            "could not confirm in {checks} looks whether Twilio took message {} of send {}: not sent again",
            self.sids.len() + 1,
            self.id
        ))
    }

    /// A try that failed with `e`: what it means for the send.
    fn failed(&mut self, e: SendError, now: u64) -> Progress {
        match e.fate() {
            SendFate::Refused => Progress::Refused(e),
            SendFate::NotSentRetry if self.tries + 1 >= MAX_SEND_ATTEMPTS => {
                Progress::GaveUp(format!("not accepted after {} tries: {e}", self.tries + 1))
            }
            SendFate::NotSentRetry => self.retry_later(e, now),
            SendFate::Unknown => self.unknown_from(e, now),
        }
    }

    /// A try that certainly did not reach Twilio: the next after a doubling backoff.
    fn retry_later(&mut self, e: SendError, now: u64) -> Progress {
        self.tries += 1;
        let until = now + (RETRY_BASE_SECONDS << (self.tries - 1));
        self.phase = Phase::Waiting { until };
        let why = format!("certainly not sent ({e}): trying again");
        Progress::later(until, why, true)
    }

    /// A try Twilio may have taken: nothing is sent again before its status callback or a
    /// look at the Messages list.
    fn unknown_from(&mut self, e: SendError, now: u64) -> Progress {
        let next_check = now + CONFIRM_AFTER_SECONDS;
        self.phase = Phase::Unknown {
            since: now,
            checks: 0,
            next_check,
            missing: 0,
        };
        let why = format!("outcome unknown, Twilio may have taken it ({e}): nothing is sent again before its status callback or a look at the Messages list");
        Progress::later(next_check, why, true)
    }
}

impl Progress {
    /// Not finished: look again at `at`, `why`, and whether a try `failed`.
    fn later(at: u64, why: String, failed: bool) -> Progress {
        Progress::Later { at, why, failed }
    }
}

impl Api<'_> {
    /// Sends one message's `form` from the account.
    async fn send(&self, form: &Form) -> Result<String, SendError> {
        let (http, url, sid, credentials) =
            (self.http, self.base_url, self.account_sid, self.credentials);
        messages::send(http, url, sid, credentials, form).await
    }

    /// The SID of a message like `form` the account sent since `since`, not one of `known`.
    async fn find_sent(
        &self,
        form: &Form,
        since: u64,
        known: &[&str],
    ) -> Result<Option<String>, SendError> {
        let (http, url, sid, credentials) =
            (self.http, self.base_url, self.account_sid, self.credentials);
        messages::find_sent(http, url, sid, credentials, form, since, known).await
    }
}
