//! Opens a sealed cookie for people, not for the webhook: the dev phone (`npm run phone`)
//! shows what the worker remembered after each reply, using this crate's own sealing code
//! rather than a second implementation, and the worker's own conversations (its
//! [`crate::worker!`] list) to decode the state by name.
//!
//! [`inspect`] takes a [`Request`] and answers JSON: `{"ok": true, "format", "kind",
//! "bytes", "record"}` or `{"ok": false, "error"}`. `record` holds the bookkeeping
//! (`seq`, `count`, `first_seen`, `last_seen`, `last_message_sid`), the conversation's own
//! state and the recent turns; its exact fields follow the sealed format.

use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use crate::record::{Pair, Record};
use crate::registry::Conversations;
use crate::seal::{Opened, Place, SessionKeys};

/// What to open, and for which pair.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
pub struct Request {
    /// `SESSION_SECRET`, comma-separated keys as in the worker.
    pub secret: String,
    /// `AccountSid` of the pair's webhooks.
    pub account_sid: String,
    /// The Twilio number.
    pub to: String,
    /// The person's number.
    pub from: String,
    /// The cookie's value (what follows `sms_state=`).
    pub cookie: String,
    /// Unix seconds, for the expiry check.
    pub now: u64,
    /// The `CONVERSATION` the worker runs (its first registered when absent), to show its
    /// state.
    #[serde(default)]
    pub conversation: Option<String>,
}

/// Opens `req.cookie` for its pair, decoding the state with the conversation of that name
/// among `conversations`; never panics, whatever the input.
pub fn inspect(req: &Request, conversations: &Conversations) -> Value {
    let keys = match SessionKeys::from_secrets(&req.secret) {
        Ok(keys) => keys,
        Err(e) => return json!({"ok": false, "error": e.to_string()}),
    };
    let pair = Pair {
        account_sid: &req.account_sid,
        to: &req.to,
        from: &req.from,
    };
    let format = req.cookie.split('.').next().unwrap_or("").to_string();
    let (kind, record, kv_key) = match keys.open(&req.cookie, Place::Cookie, &pair, req.now) {
        Ok(Opened::Record(record)) => ("state", record, None),
        Ok(Opened::Pointer(p)) => ("pointer", p.summary, Some(p.key)),
        Err(e) => return json!({"ok": false, "format": format, "error": format!("{e:?}")}),
    };
    json!({
        "ok": true, "format": format, "kind": kind, "bytes": req.cookie.len(),
        "kv_key": kv_key,
        "record": describe(&record, conversations, req.conversation.as_deref()),
    })
}

/// The record as JSON, with the conversation's state read by the conversation itself.
fn describe(record: &Record, conversations: &Conversations, name: Option<&str>) -> Value {
    let mut value = serde_json::to_value(record).unwrap_or_default();
    let state = match conversations.find(name) {
        Some(c) => c.describe(&record.state),
        None => serde_json::from_str(&record.state.json).unwrap_or(Value::Null),
    };
    if let Some(obj) = value.as_object_mut() {
        obj.insert("last_message_sid".into(), json!(record.last_message_sid()));
        obj.insert("state_version".into(), json!(record.state.version));
        let standing = &record.standing;
        obj.insert("opted_out".into(), json!(standing.opted_out));
        obj.insert("last_inbound".into(), json!(standing.last_inbound));
        #[cfg(feature = "objects")]
        obj.insert("deliveries".into(), json!(standing.deliveries));
        obj.insert("state".into(), state);
    }
    value
}

/// The inspector the dev phone runs ([`crate::worker!`] defines it for a worker's crate):
/// one JSON [`Request`] a line on stdin, one JSON answer a line on stdout (what [`inspect`]
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
        let answer = match serde_json::from_str::<Request>(&line) {
            Ok(req) => inspect(&req, conversations),
            Err(e) => json!({"ok": false, "error": format!("bad request: {e}")}),
        };
        // A closed stdout (the phone went away) ends the inspector quietly.
        if writeln!(out, "{answer}")
            .and_then(|()| out.flush())
            .is_err()
        {
            break;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::registry::Registered;
    use crate::seal::Purpose;

    static ONE: Conversations =
        Conversations::new(&[Registered::of::<crate::conversations::Counter>()]);

    /// The dev phone's state panel shows the pair's standing: the opt-out, the person's last
    /// message, and how the worker's own sends fared.
    #[test]
    fn the_inspection_shows_the_opt_out_and_the_deliveries() {
        let secret = "inspect-secret-0123456789abcdef-0123456789";
        let keys = SessionKeys::from_secrets(secret).unwrap();
        let pair = Pair {
            account_sid: "AC1",
            to: "+15005550006",
            from: "+14155550100",
        };
        let mut record = Record::default();
        record.count_message("SM1", 1_700_000_000);
        record.standing.opted_out = Some(1_700_000_050);
        record.standing.track("SMsent", 1_700_000_010);
        record
            .standing
            .update("SMsent", "delivered", None, 1_700_000_020);
        let cookie = keys
            .seal(&record, Purpose::Cookie, &pair, 1_800_000_000, true)
            .unwrap();
        let req = Request {
            secret: secret.into(),
            account_sid: "AC1".into(),
            to: pair.to.into(),
            from: pair.from.into(),
            cookie,
            now: 1_700_000_100,
            conversation: None,
        };
        let answer = inspect(&req, &ONE);
        let record = &answer["record"];
        assert_eq!(record["opted_out"], 1_700_000_050, "{answer}");
        assert_eq!(record["last_inbound"], 1_700_000_000);
        assert_eq!(record["deliveries"][0]["sid"], "SMsent");
        assert_eq!(record["deliveries"][0]["status"], "delivered");
    }
}
