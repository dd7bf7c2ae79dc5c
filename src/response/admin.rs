//! The state API's refusals (`/conversations/state`), which exist only where it does: one
//! `cfg` for all of them, where the response names the group.

use std::fmt;

/// Why a state API request was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AdminRejection {
    /// Another method than GET, PUT or DELETE.
    Method,
    /// Without the right bearer token (`ADMIN_API_KEY`).
    Unauthorized,
    /// A request it cannot take.
    BadRequest(String),
    /// Neither KV nor the objects bound: the cookie is the only copy of a conversation.
    StoresUnbound,
}

impl AdminRejection {
    /// Its HTTP status ([`Rejection::status`](super::Rejection::status) asks here).
    pub(super) fn status(&self) -> u16 {
        match self {
            AdminRejection::Method => 405,
            AdminRejection::Unauthorized => 401,
            AdminRejection::BadRequest(_) => 400,
            AdminRejection::StoresUnbound => 409,
        }
    }

    /// Its name in the log line.
    pub(super) fn name(&self) -> &'static str {
        match self {
            AdminRejection::Method => "method_not_allowed",
            AdminRejection::Unauthorized => "unauthorized",
            AdminRejection::BadRequest(_) => "bad_request",
            AdminRejection::StoresUnbound => "stores_unbound",
        }
    }
}

impl fmt::Display for AdminRejection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AdminRejection::Method => f.write_str(
                "method not allowed: GET, PUT or DELETE /conversations/state?from=…&to=…",
            ),
            AdminRejection::Unauthorized => {
                f.write_str("unauthorized: send Authorization: Bearer <ADMIN_API_KEY>")
            }
            AdminRejection::BadRequest(why) => write!(f, "bad request: {why}"),
            AdminRejection::StoresUnbound => f.write_str(
                "conflict: the state API needs the CONVERSATIONS KV namespace or the CONVERSATION_OBJECTS Durable Objects bound; without either, the cookie Twilio holds is a conversation's only copy",
            ),
        }
    }
}

impl From<AdminRejection> for super::Rejection {
    fn from(r: AdminRejection) -> Self {
        super::Rejection::Admin(r)
    }
}
