//! The answer to a message proven Twilio's: the pair's object's, or the pipeline's from the
//! cookie when there is no object or it failed. An object answers by the webhook's deadline
//! even when the turn goes on (`objects::late`); one still silent past it may yet be at work
//! on the message, so the worker then answers empty TwiML and runs nothing: a message is
//! handled in one place, never twice. Without objects, a reply may go late with KV alone
//! (`late.rs`).

#[cfg(feature = "objects")]
use crate::config::Config;
use crate::conversation::InboundMessage;
#[cfg(feature = "objects")]
use crate::mask::mask_number;
#[cfg(feature = "objects")]
use crate::object_calls::{ObjectError, Objects, WebhookCall};
#[cfg(feature = "objects")]
use crate::record::Pair;
use crate::response::Handled;
use crate::storage::Store;

use super::late::Late;
use super::{Intent, Runtime, Setup, Trip};

/// The answer to a message: the pair's object's, or the pipeline's from the cookie when
/// there is no object or it cannot answer.
pub(crate) async fn answer<S: Store>(
    setup: &Setup,
    cookie: Option<&str>,
    message: &InboundMessage,
    intent: Intent,
    origin: &str,
    rt: &Runtime<'_, S>,
) -> Handled {
    // With the Durable Objects binding, the pair's object answers; when it cannot, the
    // worker answers from the cookie. Without the feature none of it is in the wasm.
    #[cfg(feature = "objects")]
    let object_error = match rt.objects {
        None => None,
        Some(objects) => {
            let asked = object_answer(objects, &setup.config, cookie, message, origin, rt);
            match crate::conversation::apart(asked).await {
                Ok(handled) => return handled,
                // The object may still be at work on the message: never a second run here.
                Err(ObjectError::TimedOut) => return stopped_waiting(message),
                Err(e) => Some(e),
            }
        }
    };
    #[cfg(not(feature = "objects"))]
    let (object_error, _) = (None, origin);
    let late = Late::of(&setup.config, rt, message);
    if let Some(retry) = late.as_ref().and_then(|l| l.still_running(message)) {
        return retry;
    }
    let trip = Trip {
        setup,
        message,
        intent,
        cookie,
    };
    let (mut handled, done) = trip.respond(rt, None, late.as_ref()).await;
    handled.response.log.follow_up_ignored = rt.objects.is_none() && done.follow_up.is_some();
    handled.response.log.object_error = object_error;
    handled
}

/// The pair's object's answer, or why it gave none.
#[cfg(feature = "objects")]
async fn object_answer<S: Store>(
    objects: &dyn Objects,
    config: &Config,
    cookie: Option<&str>,
    message: &InboundMessage,
    origin: &str,
    rt: &Runtime<'_, S>,
) -> Result<Handled, ObjectError> {
    let deadline_ms = rt.budget.as_ref().map_or(0, |b| b.deadline_ms());
    let budget_ms = config.reply_budget_seconds * 1000;
    let call = WebhookCall {
        message: message.clone(),
        cookie: cookie.map(str::to_string),
        now: rt.now,
        origin: origin.to_string(),
        arrival_ms: deadline_ms.saturating_sub(budget_ms),
        deadline_ms,
    };
    // One message at a time, against the newest record.
    let name = config.storage.keys.object_name(&Pair::of(message));
    let answer = objects.webhook(&name, &call).await?;
    Ok(answer.into_handled(Some(mask_number(&message.from))))
}

/// The worker stopped waiting for the pair's object: empty TwiML in time, logged as late with
/// the object's error (the object, if it is at work, keeps the turn and sends the reply).
#[cfg(feature = "objects")]
fn stopped_waiting(message: &InboundMessage) -> Handled {
    use crate::response::{LogEvent, Outcome};
    let mut log = LogEvent::new(Outcome::Late, Some(mask_number(&message.from)));
    log.object_error = Some(ObjectError::TimedOut);
    Handled::twiml(crate::twilio::twiml::empty(), None, log)
}
