//! A delivery report of the worker's own sends: handed to the pair's object when there are
//! objects, answered with an empty `<Response/>`.

use crate::config::Config;
use crate::conversation::InboundMessage;
use crate::mask::mask_number;
#[cfg(feature = "objects")]
use crate::object_calls::{ObjectError, Objects, StatusCall};
#[cfg(feature = "objects")]
use crate::record::Pair;
use crate::response::{Handled, LogEvent, Outcome};
use crate::storage::Store;
use crate::twilio::twiml;

use super::Runtime;

/// A delivery report: handed to the pair's object when there are objects, answered with an
/// empty `<Response/>`.
#[cfg_attr(not(feature = "objects"), allow(unused_variables))]
pub(crate) async fn status_callback<S: Store>(
    config: &Config,
    message: &InboundMessage,
    query: &str,
    rt: &Runtime<'_, S>,
) -> Handled {
    let from = Some(mask_number(&message.from));
    #[cfg_attr(not(feature = "objects"), allow(unused_mut))]
    let mut log = LogEvent::new(Outcome::StatusCallback, from);
    #[cfg(feature = "objects")]
    if let Some(objects) = rt.objects {
        log.object_error = delivery_status(objects, config, message, query, rt.now)
            .await
            .err();
    }
    Handled::twiml(twiml::empty(), None, log)
}

/// Hands a status callback to the object of the pair it concerns: a message we sent goes From
/// our number To the person, whose own messages come the other way.
#[cfg(feature = "objects")]
async fn delivery_status(
    objects: &dyn Objects,
    config: &Config,
    message: &InboundMessage,
    query: &str,
    now: u64,
) -> Result<(), ObjectError> {
    let name = config.storage.keys.object_name(&sent_pair(message));
    objects
        .status(&name, &status_call(message, query, now))
        .await
}

/// The pair of a message we sent: From our number To the person, whose own messages come
/// the other way.
#[cfg(feature = "objects")]
fn sent_pair(message: &InboundMessage) -> Pair<'_> {
    Pair {
        account_sid: message.account(),
        to: &message.from,
        from: &message.to,
    }
}

/// The delivery report as the object takes it: the message, its status, its error code, and
/// which of the object's sends it was (the callback URL's `o`).
#[cfg(feature = "objects")]
fn status_call(message: &InboundMessage, query: &str, now: u64) -> StatusCall {
    StatusCall {
        message_sid: message.sid().to_string(),
        status: message.message_status.clone().unwrap_or_default(),
        error_code: message.error_code.as_deref().and_then(|c| c.parse().ok()),
        send: send_in_query(query),
        now,
    }
}

/// The object's send a status callback reports on: the `o` its URL's query names.
#[cfg(feature = "objects")]
fn send_in_query(query: &str) -> Option<String> {
    form_urlencoded::parse(query.as_bytes())
        .find(|(k, _)| k == "o")
        .map(|(_, v)| v.into_owned())
}
