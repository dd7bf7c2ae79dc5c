//! Opens a sealed cookie for people, not for the webhook: the dev phone (`npm run phone`)
//! shows what the worker remembered after each reply, using this crate's own sealing code
//! rather than a second implementation, and the worker's own conversations (its
//! [`crate::worker!`] list) to decode the state by name.
//!
//! [`inspect`] takes a [`Request`] and answers JSON: `{"ok": true, "format", "kind",
//! "bytes", "record"}` or `{"ok": false, "error"}`. `record` holds the bookkeeping
//! (`seq`, `count`, `first_seen`, `last_seen`, `last_message_sid`), the conversation's own
//! state and the recent turns; its exact fields follow the sealed format.
//!
//! A request with `seal` does the opposite, for loading a conversation into the dev phone or
//! the simulator: it builds a [`Record`] from the fields the worker's state API answers
//! (`count`, `seq`, `first_seen`, `last_seen`, `state`, `state_version`, `turns`; others are
//! ignored) and seals it as the pair's cookie (encrypted, expiring 4 hours after `now`):
//! `{"ok": true, "cookie", "expires"}` or `{"ok": false, "error"}`.

use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use crate::conversation::{Reply, ReplyMessage, SavedState, Turn};
use crate::record::{fingerprint, Fingerprint, Pair, Record, SEEN_WINDOW};
use crate::registry::Conversations;
use crate::seal::{Opened, Place, Purpose, SessionKeys};

/// How long a cookie sealed for [`Request::seal`] lives: Twilio's 4 hours.
pub(crate) const SEALED_SECONDS: u64 = 4 * 60 * 60;

/// What to open, and for which pair.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
pub(crate) struct Request {
    /// `SESSION_SECRET`, comma-separated keys as in the worker.
    pub secret: String,
    /// `AccountSid` of the pair's webhooks.
    pub account_sid: String,
    /// The Twilio number.
    pub to: String,
    /// The person's number.
    pub from: String,
    /// The cookie's value (what follows `sms_state=`); empty with `seal`.
    #[serde(default)]
    pub cookie: String,
    /// Unix seconds, for the expiry check.
    pub now: u64,
    /// The `CONVERSATION` the worker runs (its first registered when absent), to show its
    /// state.
    #[serde(default)]
    pub conversation: Option<String>,
    /// A record to seal rather than a cookie to open: the state API's JSON.
    #[serde(default)]
    pub seal: Option<Value>,
    /// A Studio flow file to check rather than a cookie to open (`npm run flow -- check`):
    /// `{"ok", "flow", "widgets", "problems"}`.
    #[cfg(feature = "studio")]
    #[serde(default)]
    pub check_flow: Option<String>,
}

/// The fields of a record to seal, as the worker's state API answers them.
#[derive(Debug, Deserialize)]
struct Fields {
    state: Value,
    state_version: u32,
    count: u64,
    seq: u64,
    #[serde(default)]
    first_seen: u64,
    #[serde(default)]
    last_seen: u64,
    #[serde(default)]
    turns: Vec<Value>,
    #[serde(default)]
    last_message_sid: Option<String>,
    /// When the person opted out: the inspector's own JSON gives the time here; the state
    /// API gives `true`/`false` here and the time in `opted_out_at`.
    #[serde(default)]
    opted_out: Value,
    #[serde(default)]
    opted_out_at: Option<u64>,
    #[serde(default)]
    last_inbound: Option<u64>,
}

/// Seals `req.seal` as the cookie of `req`'s pair; never panics, whatever the input.
pub(crate) fn seal(req: &Request) -> Value {
    sealed(req).unwrap_or_else(|failed| failed)
}

/// [`seal`]'s steps: the keys, the record, the cookie; any failure is the answer.
fn sealed(req: &Request) -> Result<Value, Value> {
    let keys = keys_of(req)?;
    let fields = req
        .seal
        .as_ref()
        .ok_or_else(|| failure("nothing to seal".into()))?;
    let record = record_of(fields).map_err(failure)?;
    let expires = req.now.saturating_add(SEALED_SECONDS);
    match keys.seal(&record, Purpose::Cookie, &req.pair(), expires, true) {
        Ok(cookie) => Ok(json!({"ok": true, "cookie": cookie, "expires": expires})),
        Err(e) => Err(failure(format!("cannot seal: {e:?}"))),
    }
}

/// The answer to a request that failed: `{"ok": false, "error"}`.
fn failure(error: String) -> Value {
    json!({"ok": false, "error": error})
}

/// The keys of `SESSION_SECRET`, or the answer naming why there are none.
fn keys_of(req: &Request) -> Result<SessionKeys, Value> {
    SessionKeys::from_secrets(&req.secret).map_err(|e| failure(e.to_string()))
}

impl Request {
    /// The pair the cookie belongs to: sealing binds it to them.
    fn pair(&self) -> Pair<'_> {
        Pair {
            account_sid: &self.account_sid,
            to: &self.to,
            from: &self.from,
        }
    }
}

/// The record the state API's fields describe: the MessageSids of its turns (and
/// `last_message_sid`) are the seen window, so their retries are recognised.
fn record_of(fields: &Value) -> Result<Record, String> {
    let f: Fields = serde_json::from_value(fields.clone())
        .map_err(|e| format!("not a conversation's state (the state API's JSON): {e}"))?;
    let turns = turns_of(&f.turns)?;
    Ok(f.into_record(turns))
}

/// The turns of the fields, or which one is not a turn.
fn turns_of(turns: &[Value]) -> Result<Vec<Turn>, String> {
    turns
        .iter()
        .enumerate()
        .map(|(i, t)| turn_of(t).ok_or_else(|| format!("turn {i} is not a turn: {t}")))
        .collect()
}

impl Fields {
    /// The record of these fields and their `turns`, read already.
    fn into_record(self, turns: Vec<Turn>) -> Record {
        let last = self.last_message_sid.as_deref();
        let mut record = Record {
            seq: self.seq,
            count: self.count,
            first_seen: self.first_seen,
            last_seen: self.last_seen,
            seen: seen_of(&turns, last),
            last_reply: last_reply(&turns, last),
            state: self.saved_state(),
            ..Record::default()
        };
        record.standing.opted_out = self.opted_out_at();
        record.standing.last_inbound = self.last_inbound.unwrap_or(self.last_seen);
        record.last_message_sid = self.last_message_sid;
        record.turns = turns;
        record
    }

    /// The conversation's state as the record keeps it: its JSON text (empty for `null`).
    fn saved_state(&self) -> SavedState {
        let json = match &self.state {
            Value::Null => String::new(),
            state => state.to_string(),
        };
        SavedState {
            version: self.state_version,
            json,
        }
    }

    /// When the person opted out, in either shape `opted_out` comes in.
    fn opted_out_at(&self) -> Option<u64> {
        match (&self.opted_out, self.opted_out_at) {
            (Value::Number(at), _) => at.as_u64(),
            (Value::Bool(true), at) => Some(at.unwrap_or(self.last_seen)),
            _ => None,
        }
    }
}

/// The seen window of the turns' MessageSids and the last one, so their retries are
/// recognised.
fn seen_of(turns: &[Turn], last: Option<&str>) -> Vec<Fingerprint> {
    let sids = turns.iter().map(|t| t.message_sid.as_str());
    let mut seen: Vec<&str> = sids.chain(last).filter(|s| !s.is_empty()).collect();
    seen.dedup();
    let skip = seen.len().saturating_sub(SEEN_WINDOW);
    seen[skip..].iter().map(|s| fingerprint(s)).collect()
}

/// The reply of the last message's turn, which a retry of it gets again.
fn last_reply(turns: &[Turn], last: Option<&str>) -> Reply {
    let turn = turns
        .iter()
        .rev()
        .find(|t| Some(t.message_sid.as_str()) == last);
    turn.map(|t| t.reply.clone()).unwrap_or_default()
}

/// A turn as the record keeps it, or in the looser shape the dev phone shows: `sid` for
/// `message_sid`, a reply as text, a list of texts, `{body, media}` or `{messages: [..]}`.
fn turn_of(t: &Value) -> Option<Turn> {
    if let Ok(turn) = serde_json::from_value::<Turn>(t.clone()) {
        return Some(turn);
    }
    let sid = t.get("message_sid").or_else(|| t.get("sid"));
    Some(Turn {
        at: t.get("at").and_then(Value::as_u64).unwrap_or(0),
        message_sid: text_of(sid),
        inbound: text_of(t.get("inbound")),
        reply: Reply::from_messages(messages_of(t.get("reply").or_else(|| t.get("replies")))?),
    })
}

/// A loose turn's text field, empty when it is missing or not text.
fn text_of(field: Option<&Value>) -> String {
    field.and_then(Value::as_str).unwrap_or("").to_string()
}

/// A loose turn's reply as messages: none, a text, a list of replies, `{messages}` or
/// `{body, media}`; None for anything else.
fn messages_of(reply: Option<&Value>) -> Option<Vec<ReplyMessage>> {
    Some(match reply {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::String(text)) => vec![ReplyMessage::text(text.as_str())],
        Some(Value::Array(items)) => messages_of_each(items)?,
        Some(Value::Object(o)) if o.contains_key("messages") => messages_of(o.get("messages"))?,
        Some(Value::Object(o)) => vec![message_of(o)?],
        Some(_) => return None,
    })
}

/// The messages of a list of replies, one after the other.
fn messages_of_each(items: &[Value]) -> Option<Vec<ReplyMessage>> {
    let mut out = Vec::new();
    for item in items {
        out.extend(messages_of(Some(item))?);
    }
    Some(out)
}

/// One `{body, media}` message.
fn message_of(o: &serde_json::Map<String, Value>) -> Option<ReplyMessage> {
    let mut message = ReplyMessage::text(o.get("body")?.as_str()?);
    let media = o.get("media").and_then(Value::as_array);
    for url in media.into_iter().flatten() {
        message = message.with_media(url.as_str()?);
    }
    Some(message)
}

/// Opens `req.cookie` for its pair, decoding the state with the conversation of that name
/// among `conversations`; never panics, whatever the input.
pub(crate) fn inspect(req: &Request, conversations: &Conversations) -> Value {
    opened(req, conversations).unwrap_or_else(|failed| failed)
}

/// [`inspect`]'s steps: the keys, the cookie opened, the record described; any failure is
/// the answer.
fn opened(req: &Request, conversations: &Conversations) -> Result<Value, Value> {
    let keys = keys_of(req)?;
    let format = req.cookie.split('.').next().unwrap_or("").to_string();
    let (kind, record, kv_key) = match keys.open(&req.cookie, Place::Cookie, &req.pair(), req.now) {
        Ok(Opened::Record(record)) => ("state", record, None),
        Ok(Opened::Pointer(p)) => ("pointer", p.summary, Some(p.key)),
        Err(e) => return Err(json!({"ok": false, "format": format, "error": format!("{e:?}")})),
    };
    Ok(json!({
        "ok": true, "format": format, "kind": kind, "bytes": req.cookie.len(),
        "kv_key": kv_key,
        "record": describe(&record, conversations, req.conversation.as_deref()),
    }))
}

/// The record as JSON, with the conversation's state read by the conversation itself.
fn describe(record: &Record, conversations: &Conversations, name: Option<&str>) -> Value {
    let mut value = serde_json::to_value(record).unwrap_or_default();
    let state = match conversations.find(name) {
        Some(c) => c.describe(&record.state),
        None => serde_json::from_str(&record.state.json).unwrap_or(Value::Null),
    };
    if let Some(obj) = value.as_object_mut() {
        add_unserialized(obj, record);
        obj.insert("state".into(), state);
    }
    value
}

/// The fields the record's own serialization leaves out or keeps elsewhere: the last
/// MessageSid, the state's version and the standing.
fn add_unserialized(obj: &mut serde_json::Map<String, Value>, record: &Record) {
    obj.insert("last_message_sid".into(), json!(record.last_message_sid()));
    obj.insert("state_version".into(), json!(record.state.version));
    let standing = &record.standing;
    obj.insert("opted_out".into(), json!(standing.opted_out));
    obj.insert("last_inbound".into(), json!(standing.last_inbound));
    #[cfg(feature = "objects")]
    obj.insert("deliveries".into(), json!(standing.deliveries));
}

/// The inspector the dev phone runs ([`crate::worker!`] defines it for a worker's crate):
/// one JSON `Request` a line on stdin, one JSON answer a line on stdout (what `inspect`
/// answers, or `{"ok": false, "error"}` for a line that is not a request), until stdin
/// closes.
pub fn serve(conversations: &Conversations) {
    use std::io::{BufRead, Write};

    let stdin = std::io::stdin();
    let mut out = std::io::stdout().lock();
    for line in stdin.lock().lines() {
        let Ok(line) = line else { break };
        if line.trim().is_empty() {
            continue;
        }
        let answer = answer(&line, conversations);
        // A closed stdout (the phone went away) ends the inspector quietly.
        if writeln!(out, "{answer}")
            .and_then(|()| out.flush())
            .is_err()
        {
            break;
        }
    }
}

/// The answer to one line of the inspector's input: a seal, a flow check or an inspection.
fn answer(line: &str, conversations: &Conversations) -> Value {
    match serde_json::from_str::<Request>(line) {
        Ok(req) if req.seal.is_some() => seal(&req),
        #[cfg(feature = "studio")]
        Ok(Request {
            check_flow: Some(path),
            ..
        }) => crate::conversations::studio::check_file(std::path::Path::new(&path)),
        Ok(req) => inspect(&req, conversations),
        Err(e) => json!({"ok": false, "error": format!("bad request: {e}")}),
    }
}

#[cfg(test)]
mod tests;
