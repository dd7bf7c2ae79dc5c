//! The object's own sends (follow-ups, starts) and what they change once settled, and the status callbacks that confirm them (feature `objects`).

use super::calls::{ObjectError, StatusCall};
use super::follow_up::{rearm, schedule};
use super::outbox::{Api, Outgoing, Phase, Progress, Why, OUTBOX};
use super::starts::{finish_start, not_sent, start_key};
use super::storage::{
    load_kept, load_outgoing, load_pair, load_record, packed, save_record, ObjectStore, StoredPair,
};

use crate::app::{Runtime, Setup};
use crate::conversation::{Reply, SavedState, Turn};
use crate::record::{Pair, Record};
use crate::storage::Store;
use crate::twilio::messages::{self, Template};

/// WhatsApp's customer-service window: free-form messages only this long after the person's
/// last message.
pub const WHATSAPP_WINDOW_SECONDS: u64 = 24 * 60 * 60;

/// Why a message to a WhatsApp pair outside its window went nowhere.
pub(super) const OUTSIDE_WINDOW: &str = "more than 24 hours since the person's last WhatsApp message, and no template (Reply::with_template or WHATSAPP_TEMPLATE_SID) to send instead";

/// The Create Message forms of `reply` from our number to the person's: the template
/// instead of free-form text to a WhatsApp pair outside its window, or `None` when there is
/// no template to send.
pub(super) fn forms(
    setup: &Setup,
    stored: &StoredPair,
    record: &Record,
    reply: &Reply,
    now: u64,
) -> Option<Vec<messages::Form>> {
    let whatsapp = stored.from.starts_with("whatsapp:");
    let outside = whatsapp
        && record
            .standing
            .last_inbound
            .saturating_add(WHATSAPP_WINDOW_SECONDS)
            <= now;
    let template: Option<&Template> = if outside {
        Some(
            reply
                .template()
                .or(setup.config.outbound.whatsapp_template.as_ref())?,
        )
    } else {
        None
    };
    let id_placeholder = "{id}";
    let callback = |i: usize| {
        (!stored.origin.is_empty())
            .then(|| format!("{}/sms/status?o={id_placeholder}.{i}", stored.origin))
    };
    let messages: Vec<_> = match template {
        // A template stands for the whole reply: one message.
        Some(t) => vec![messages::form(
            &stored.from,
            &stored.to,
            &Default::default(),
            Some(t),
            callback(0).as_deref(),
        )],
        None => reply
            .messages()
            .iter()
            .enumerate()
            .map(|(i, m)| messages::form(&stored.from, &stored.to, m, None, callback(i).as_deref()))
            .collect(),
    };
    Some(messages)
}

impl Outgoing {
    /// A new send of `forms`, named at random (its status callbacks name it).
    pub(super) fn new(
        why: Why,
        mut forms: Vec<messages::Form>,
        reply: Reply,
        state: SavedState,
    ) -> Self {
        let id = crate::seal::new_spill_key()
            .map(|k| k.trim_start_matches("spill:").chars().take(12).collect())
            .unwrap_or_else(|| "send".to_string());
        for form in &mut forms {
            for (name, value) in form.iter_mut() {
                if name == "StatusCallback" {
                    *value = value.replace("{id}", &id);
                }
            }
        }
        Outgoing {
            id,
            why,
            forms,
            sids: Vec::new(),
            phase: Phase::Ready,
            tries: 0,
            follow_up: reply.follow_up(),
            reply,
            state,
            stale: false,
        }
    }
}

/// Drives `outgoing` as far as it goes now, keeps what it learnt, and says what happened.
pub(super) async fn proceed<S: Store, O: ObjectStore>(
    setup: &Setup,
    store: &O,
    rt: &Runtime<'_, S>,
    stored_pair: &StoredPair,
    mut outgoing: Outgoing,
) -> Result<String, ObjectError> {
    let pair = stored_pair.pair();
    let outbound = &setup.config.outbound;
    let Some(credentials) = outbound.credentials(pair.account_sid) else {
        store.delete(OUTBOX).await?;
        return Err(ObjectError::FollowUp(
            "not sent: no TWILIO_AUTH_TOKEN or TWILIO_API_KEY_SID/TWILIO_API_KEY_SECRET to send with"
                .into(),
        ));
    };
    let api = Api {
        http: rt.http.as_ref(),
        base_url: &outbound.api_base_url,
        account_sid: pair.account_sid,
        credentials: &credentials,
    };
    // Before each request: the send as it stands, and an alarm to find out what became of
    // it should the object go away before the answer.
    let save = async |o: &Outgoing| {
        let Ok(text) = packed(o) else {
            return false;
        };
        store.put(OUTBOX, &text).await.is_ok()
            && store
                .set_alarm(rt.now + super::outbox::CONFIRM_AFTER_SECONDS)
                .await
                .is_ok()
    };
    let progress = outgoing.drive(&api, rt.now, save).await;
    settle(setup, store, rt, &pair, outgoing, progress).await
}

/// Keeps what a send's progress means: the record once sent, the opt-out a 21610 reveals,
/// the start's answer; the alarm for what is left. Says what happened, for the log.
pub(super) async fn settle<S: Store, O: ObjectStore>(
    setup: &Setup,
    store: &O,
    rt: &Runtime<'_, S>,
    pair: &Pair<'_>,
    outgoing: Outgoing,
    progress: Progress,
) -> Result<String, ObjectError> {
    let what = match &outgoing.why {
        Why::FollowUp { .. } => "follow-up",
        Why::Start { .. } => "start",
    };
    let id = outgoing.id.clone();
    let result = match progress {
        Progress::Later { at, why, failed } => {
            store.put(OUTBOX, &packed(&outgoing)?).await?;
            rearm(store, Some(at)).await?;
            let line = format!("{what} {id}: {why} at {at}");
            return if failed {
                Err(ObjectError::FollowUp(line))
            } else {
                Ok(line)
            };
        }
        Progress::Sent => {
            let sid = outgoing.sids.first().cloned().unwrap_or_default();
            sent(setup, store, rt, pair, outgoing).await?;
            Ok(format!("{what} {id} sent: {sid}"))
        }
        Progress::Refused(e) => {
            if e.code() == Some(messages::OPTED_OUT) {
                opt_out(setup, store, pair, rt.now).await?;
            }
            finish_start(store, &outgoing.why, not_sent(&e), rt.now).await?;
            Err(ObjectError::FollowUp(format!("{what} {id} dropped: {e}")))
        }
        Progress::GaveUp(why) => {
            let body = serde_json::json!({"status": "unknown", "error": why, "idempotency_key": start_key(&outgoing.why)});
            finish_start(store, &outgoing.why, (500, body.to_string()), rt.now).await?;
            Err(ObjectError::FollowUp(format!(
                "{what} {id} given up: {why}"
            )))
        }
    };
    store.delete(OUTBOX).await?;
    rearm(store, None).await?;
    result
}

/// What a send changes once every message went out.
pub(super) async fn sent<S: Store, O: ObjectStore>(
    setup: &Setup,
    store: &O,
    rt: &Runtime<'_, S>,
    pair: &Pair<'_>,
    outgoing: Outgoing,
) -> Result<(), ObjectError> {
    let history = setup.config.storage.history;
    let previous = match outgoing.why {
        Why::FollowUp { .. } => load_kept(setup, store, pair, rt.now).await?,
        Why::Start { .. } => load_record(setup, store, pair, rt.now).await?,
    };
    let sid = outgoing.sids.first().cloned().unwrap_or_default();
    let mut record = match &outgoing.why {
        Why::FollowUp { seq } => {
            let mut record = previous.unwrap_or_default();
            // A message that came meanwhile moved the conversation on: its state stands.
            if record.seq == *seq {
                record.state = outgoing.state;
            }
            record
        }
        // A started conversation is a new one: like a reset, newer than any copy of an older
        // one, with the MessageSid window and the standing kept.
        Why::Start { .. } => {
            let mut record = previous
                .map(|r| r.reset("", Reply::none(), rt.now))
                .unwrap_or_default();
            record.state = outgoing.state;
            record
        }
    };
    for sid in &outgoing.sids {
        record.standing.track(sid, rt.now);
    }
    record.sent(sent_turn(rt.now, &sid, outgoing.reply), history);
    save_record(setup, store, pair, &record, rt.now).await?;
    if let Why::Start { .. } = outgoing.why {
        schedule(store, outgoing.follow_up, record.seq, rt.now).await?;
        let body = serde_json::json!({
            "status": "sent", "sid": (!sid.is_empty()).then_some(sid), "to": pair.from, "from": pair.to,
            "idempotency_key": start_key(&outgoing.why),
        });
        finish_start(store, &outgoing.why, (201, body.to_string()), rt.now).await?;
    }
    Ok(())
}

/// Marks the pair opted out: Twilio said so (21610).
pub(super) async fn opt_out<O: ObjectStore>(
    setup: &Setup,
    store: &O,
    pair: &Pair<'_>,
    now: u64,
) -> Result<(), ObjectError> {
    let mut record = load_record(setup, store, pair, now)
        .await?
        .unwrap_or_default();
    if record.opted_out() {
        return Ok(());
    }
    record.standing.opted_out = Some(now);
    record.seq = record.seq.saturating_add(1);
    save_record(setup, store, pair, &record, now).await
}

/// A verified status callback for one of our sends: the delivery status joins the record,
/// and a send unsure whether Twilio took the message learns that it did.
pub async fn status<S: Store, O: ObjectStore>(
    setup: &Setup,
    call: &StatusCall,
    store: &O,
    rt: &Runtime<'_, S>,
) -> Result<String, ObjectError> {
    let Some(stored_pair) = load_pair(store).await? else {
        return Ok("no conversation for this status".into());
    };
    let pair = stored_pair.pair();
    let mut confirmed = false;
    if let (Some(mut outgoing), Some(send)) = (load_outgoing(store).await?, call.send.as_deref()) {
        if outgoing.confirm(send, &call.message_sid) {
            confirmed = true;
            store.put(OUTBOX, &packed(&outgoing)?).await?;
            // The rest of the send goes on in the alarm, at once.
            rearm(store, Some(rt.now)).await?;
        }
    }
    let mut note = if confirmed { "confirmed a send; " } else { "" }.to_string();
    if let Some(mut record) = load_record(setup, store, &pair, rt.now).await? {
        if !confirmed
            && !record
                .standing
                .deliveries
                .iter()
                .any(|d| d.sid == call.message_sid)
        {
            note.push_str("not one of the object's sends");
            return Ok(note);
        }
        record.standing.track(&call.message_sid, rt.now);
        if record
            .standing
            .update(&call.message_sid, &call.status, call.error_code, rt.now)
        {
            // A delivery status is no new copy of the conversation (the object's record is
            // the one that counts): the sequence stays, so a follow-up asked for still fits.
            // An opt-out is: it cancels what was asked before it.
            if call.error_code == Some(messages::OPTED_OUT) && !record.opted_out() {
                record.standing.opted_out = Some(rt.now);
                record.seq = record.seq.saturating_add(1);
            }
            save_record(setup, store, &pair, &record, rt.now).await?;
        }
    }
    note.push_str(&format!("status {}", call.status));
    Ok(note)
}

/// A message we sent on our own, as a turn: no inbound text, our Message SID.
pub(super) fn sent_turn(now: u64, sid: &str, reply: Reply) -> Turn {
    Turn {
        at: now,
        message_sid: sid.to_string(),
        inbound: String::new(),
        reply,
    }
}
