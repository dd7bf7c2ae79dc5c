//! WhatsApp's customer-service window, as every send of the object checks it: follow-ups,
//! starts and their sends.

use super::storage::StoredPair;
use crate::record::Record;

/// WhatsApp's customer-service window: free-form messages only this long after the person's
/// last message.
pub(crate) const WHATSAPP_WINDOW_SECONDS: u64 = 24 * 60 * 60;

/// Why a message to a WhatsApp pair outside its window went nowhere.
pub(super) const OUTSIDE_WINDOW: &str = "more than 24 hours since the person's last WhatsApp message, and no template (Reply::with_template or WHATSAPP_TEMPLATE_SID) to send instead";

/// Whether a message to the person now falls outside WhatsApp's window (never for SMS).
pub(super) fn outside_window(stored: &StoredPair, record: &Record, now: u64) -> bool {
    let last = record.standing.last_inbound;
    stored.from.starts_with("whatsapp:") && last.saturating_add(WHATSAPP_WINDOW_SECONDS) <= now
}
