//! The late path itself (feature `kv`): the early answer and its pointer cookie, the claim,
//! and the send of a late reply through the Messages API.

use std::rc::Rc;

use super::LateRace;
use crate::config::Config;
use crate::conversation::{Context, HttpClient, InboundMessage, LocalFuture, Reply};
use crate::mask::mask_number;
use crate::pipeline::converse::seen_in;
use crate::pipeline::Runtime;
use crate::record::Record;
use crate::response::{Handled, HttpResponse, LateReply, LogEvent, Outcome};
use crate::storage::{KvWrite, Loaded, Memory, Storage, Store};
use crate::twilio::messages::{self, Credentials};
use crate::twilio::twiml;

/// The log note of a webhook whose cookie points at a KV key not there yet: a late turn still
/// running (or its write not yet visible here).
pub(in crate::pipeline) const BEHIND: &str = "kv_behind";
/// What [`BEHIND`] says.
pub(in crate::pipeline) const BEHIND_DETAIL: &str =
    "the cookie points at a record not in KV yet (a late reply still running, or KV not caught up here): went on from the newest copy found";

/// A webhook whose reply may go late: KV bound, no objects, a budget, and the Messages API's
/// credentials for the message's account.
pub(in crate::pipeline) struct Late<'a> {
    /// The adapter's race, when its timer runs one.
    shared: Option<&'a LateRace>,
    /// The race without a timer beside the turn (native tests, tools): the clock decides.
    own: LateRace,
    credentials: Credentials,
    base_url: &'a str,
    memory: Option<&'a Memory>,
}

/// What a turn that offered an early answer needs at its end.
pub(in crate::pipeline) struct Offered {
    /// The KV key the early answer's pointer cookie names.
    key: String,
    /// The early answer, as the turn returns it when it goes late.
    early: HttpResponse,
}

impl<'a> Late<'a> {
    /// The late path of this webhook, when its reply may go late.
    pub(in crate::pipeline) fn of<S: Store>(
        config: &'a Config,
        rt: &Runtime<'a, S>,
        message: &InboundMessage,
    ) -> Option<Late<'a>> {
        // Known false when compiling without KV: none of the late path is in that wasm.
        let kv = cfg!(feature = "kv") && S::BINDABLE && rt.kv.is_some();
        let bound = kv && rt.objects.is_none();
        if !bound || rt.budget.is_none() {
            return None;
        }
        Some(Late {
            shared: rt.late,
            own: LateRace::default(),
            credentials: config.outbound.credentials(message.account())?,
            base_url: &config.outbound.api_base_url,
            memory: rt.memory,
        })
    }

    /// The race this turn runs.
    fn race(&self) -> &LateRace {
        self.shared.unwrap_or(&self.own)
    }

    /// The answer to a retry of `message` while its late turn still runs in this isolate:
    /// empty TwiML, never a second run.
    pub(in crate::pipeline) fn still_running(&self, message: &InboundMessage) -> Option<Handled> {
        let running = self.memory.is_some_and(|m| m.is_running(message.sid()));
        running.then(|| {
            let log = LogEvent::new(Outcome::Retry, Some(mask_number(&message.from)));
            Handled::twiml(twiml::empty(), None, log)
        })
    }

    /// Offers the early answer for a new message before the conversation runs: empty TwiML,
    /// and a pointer cookie to a fresh KV key holding nothing yet (the late turn's record goes
    /// there). `None` when the deadline came first, or no key or cookie could be made.
    pub(in crate::pipeline) fn offer<S: Store>(
        &self,
        storage: &Storage<'_, S>,
        loaded: &Loaded,
        message: &InboundMessage,
    ) -> Option<Offered> {
        let sid = message.sid();
        if seen_in(loaded, sid).is_some() {
            return None; // A retry: answered from the record, at once.
        }
        let (key, set_cookie) = storage.pending_cookie(&loaded.record)?;
        let mut log = LogEvent::new(Outcome::Late, Some(mask_number(&message.from)));
        log.source = loaded.source;
        let early = HttpResponse::twiml(twiml::empty(), Some(set_cookie), log);
        if !self.race().offer(early.clone()) {
            return None;
        }
        if let Some(memory) = self.memory {
            memory.start_running(sid);
        }
        Some(Offered { key, early })
    }

    /// The turn of message `sid` has its reply: whether it goes late (the deadline won, or
    /// `passed` says it is behind). Either way a retry now finds the record.
    pub(in crate::pipeline) fn claim(&self, sid: &str, passed: bool) -> bool {
        if let Some(memory) = self.memory {
            memory.stop_running(sid);
        }
        self.race().claim(passed)
    }

    /// Turns the rendered answer of a turn that went late into the early answer (with what
    /// the turn's log line learnt), adds the KV write under the pointer's key, and leaves the
    /// send of `reply` (through the context's client) to run after the writes.
    pub(in crate::pipeline) fn finish(
        &self,
        handled: &mut Handled,
        offered: Offered,
        (reply, message): (&Reply, &InboundMessage),
        ctx: &Context<'_>,
    ) {
        let rendered = std::mem::replace(&mut handled.response, offered.early);
        let log = &mut handled.response.log;
        log.count = rendered.log.count;
        log.notes = rendered.log.notes;
        log.seal_error = rendered.log.seal_error;
        log.state_error = rendered.log.state_error;
        log.kv_error = rendered.log.kv_error;
        log.segments = rendered.log.segments;
        if let Some(write) = pointed_write(&handled.writes, offered.key) {
            handled.writes.push(write);
        }
        let segments = handled.response.log.segments.clone();
        handled.late_reply = Some(LateReply::new(
            self.sends(reply, message, ctx.http()),
            segments,
        ));
    }

    /// The Create Message calls of `reply`'s messages, from our number to the person's.
    fn sends(
        &self,
        reply: &Reply,
        message: &InboundMessage,
        http: Rc<dyn HttpClient>,
    ) -> LocalFuture<'static, Result<String, String>> {
        let forms = (reply.messages().iter())
            .map(|m| messages::form(&message.from, &message.to, m, None, None))
            .collect();
        let sends = Sends {
            http,
            base_url: self.base_url.to_string(),
            account_sid: message.account().to_string(),
            credentials: self.credentials.clone(),
            forms,
        };
        Box::pin(sends.run())
    }
}

/// The write of the record a turn kept (the pair's entry) under the pointer's `key` as well;
/// none when nothing was kept (a record too large, a seal that failed).
fn pointed_write(writes: &[KvWrite], key: String) -> Option<KvWrite> {
    writes.iter().find_map(|w| match w {
        KvWrite::Put {
            value, ttl_seconds, ..
        } => Some(KvWrite::Put {
            key: key.clone(),
            value: value.clone(),
            ttl_seconds: *ttl_seconds,
        }),
        KvWrite::Delete { .. } => None,
    })
}

/// A late reply's Create Message calls, owned: they run after the webhook's answer.
struct Sends {
    http: Rc<dyn HttpClient>,
    base_url: String,
    account_sid: String,
    credentials: Credentials,
    forms: Vec<messages::Form>,
}

impl Sends {
    /// Sends each form in order; the first failure stops the rest (Create Message is not
    /// idempotent: nothing is tried again). `Ok` with the first Message SID, or what failed
    /// (Twilio's words masked by [`messages::SendError`]'s `Display`).
    async fn run(self) -> Result<String, String> {
        let mut first = None;
        let (http, url, sid) = (self.http.as_ref(), &self.base_url, &self.account_sid);
        for (i, form) in self.forms.iter().enumerate() {
            match messages::send(http, url, sid, &self.credentials, form).await {
                Ok(sent) => first = first.or(Some(sent)),
                Err(e) => {
                    let n = self.forms.len();
                    return Err(format!(
                        "message {} of {n} not sent, nor the rest: {e}",
                        i + 1
                    ));
                }
            }
        }
        Ok(first.map_or_else(|| "nothing to send".into(), |sid| format!("sent {sid}")))
    }
}

/// What a turn that went late keeps as its message's answer: nothing, so that a retry of the
/// message gets empty TwiML (the reply went through the Messages API).
pub(in crate::pipeline) fn kept_late(record: &mut Record, sid: &str) {
    if record.last_message_sid() == Some(sid) {
        record.last_reply = Reply::none();
    }
}
