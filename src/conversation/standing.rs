//! The pair's standing with the worker, beyond the conversation: part of the conversation
//! API because [`View::standing`](super::View::standing) shows it to every conversation.

use serde::{Deserialize, Serialize};

/// The pair's standing with the worker, beyond the conversation: whether the person opted
/// out, when they last wrote (WhatsApp's 24-hour window), and how the worker's own recent
/// sends fared. A reset keeps it: none of it is the conversation's.
///
/// In a sealed value it follows the record, and fields added to it later go at its end:
/// postcard reads fields by position, so a value sealed before a field existed ends early
/// and opens with the field's default, and a worker of an earlier release stops reading
/// before it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Standing {
    /// When the person opted out (Unix seconds); `None` while they have not, or since they
    /// opted back in.
    pub opted_out: Option<u64>,
    /// Unix seconds of the person's latest message (0: never), kept across resets.
    pub last_inbound: u64,
    /// Unix seconds of the worker's latest own send (0: never).
    pub last_sent: u64,
    /// The worker's latest own sends (follow-ups, starts), newest last, at most
    /// [`MAX_DELIVERIES`]. Only the objects send, so only their builds keep it: sealed after
    /// the fields above as a value of its own, which other builds never read.
    #[cfg(feature = "objects")]
    #[serde(skip)]
    pub deliveries: Vec<Delivery>,
}

/// How many of the worker's own sends a record follows.
#[cfg(feature = "objects")]
pub const MAX_DELIVERIES: usize = 5;

/// One message the worker sent through the Messages API, and the latest status Twilio
/// reported for it.
#[cfg(feature = "objects")]
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Delivery {
    /// Its Message SID.
    pub sid: String,
    /// `queued`, `sent`, `delivered`, `undelivered`, `failed` (or `read` on WhatsApp).
    pub status: String,
    /// Twilio's `ErrorCode` for a failed or undelivered message.
    pub error_code: Option<u32>,
    /// When the status came (Unix seconds).
    pub at: u64,
}

#[cfg(feature = "objects")]
impl Delivery {
    /// Where `status` stands in a message's life: callbacks can arrive out of order, and a
    /// late `sent` must not undo a `delivered`.
    fn rank(status: &str) -> u8 {
        match status {
            "accepted" | "scheduled" => 0,
            "queued" => 1,
            "sending" => 2,
            "sent" => 3,
            "delivered" | "undelivered" | "failed" | "canceled" => 4,
            "read" => 5,
            _ => 0,
        }
    }
}

#[cfg(feature = "objects")]
impl Standing {
    /// Follows a message just sent.
    pub fn track(&mut self, sid: &str, now: u64) {
        if sid.is_empty() || self.deliveries.iter().any(|d| d.sid == sid) {
            return;
        }
        self.deliveries.push(Delivery {
            sid: sid.to_string(),
            status: "queued".into(),
            error_code: None,
            at: now,
        });
        if self.deliveries.len() > MAX_DELIVERIES {
            self.deliveries.remove(0);
        }
    }

    /// A status callback for `sid`: true when it changed what is known (a message not
    /// followed, a repeated or an out-of-date status change nothing).
    pub fn update(&mut self, sid: &str, status: &str, error_code: Option<u32>, now: u64) -> bool {
        let Some(d) = self.deliveries.iter_mut().find(|d| d.sid == sid) else {
            return false;
        };
        if d.status == status || Delivery::rank(status) < Delivery::rank(&d.status) {
            return false;
        }
        d.status = status.to_string();
        d.error_code = error_code.or(d.error_code);
        d.at = now;
        true
    }
}

#[cfg(test)]
mod tests;
