//! The refusals that exist only with the objects: `POST /conversations`, and an object out of
//! reach. One `cfg` for all of them, where the response names the group.

use std::fmt;

use crate::object_calls::ObjectError;

/// Why a request that needs the pair's object was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ObjectRejection {
    /// `/conversations` with another method than POST.
    StartMethod,
    /// `POST /conversations` without the right bearer token.
    Unauthorized,
    /// `POST /conversations` with a body that is not a start request.
    BadStart(String),
    /// `POST /conversations` without the objects binding.
    ObjectsUnbound,
    /// The pair's object could not be reached.
    ObjectUnreachable(ObjectError),
}

impl ObjectRejection {
    /// Its HTTP status ([`Rejection::status`](super::Rejection::status) asks here).
    pub(super) fn status(&self) -> u16 {
        match self {
            ObjectRejection::StartMethod => 405,
            ObjectRejection::Unauthorized => 401,
            ObjectRejection::BadStart(_) => 400,
            ObjectRejection::ObjectsUnbound | ObjectRejection::ObjectUnreachable(_) => 503,
        }
    }

    /// Its name in the log line.
    pub(super) fn name(&self) -> &'static str {
        match self {
            ObjectRejection::StartMethod => "method_not_allowed",
            ObjectRejection::Unauthorized => "unauthorized",
            ObjectRejection::BadStart(_) => "bad_start",
            ObjectRejection::ObjectsUnbound => "objects_unbound",
            ObjectRejection::ObjectUnreachable(_) => "object_unreachable",
        }
    }
}

impl fmt::Display for ObjectRejection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ObjectRejection::StartMethod => f.write_str("method not allowed: POST /conversations"),
            ObjectRejection::Unauthorized => {
                f.write_str("unauthorized: send Authorization: Bearer <OUTBOUND_API_KEY>")
            }
            ObjectRejection::BadStart(why) => write!(f, "bad request: {why}"),
            ObjectRejection::ObjectsUnbound => f.write_str(
                "service unavailable: starting conversations needs the CONVERSATION_OBJECTS Durable Object binding (see wrangler.toml)",
            ),
            ObjectRejection::ObjectUnreachable(why) => {
                write!(f, "service unavailable: the conversation's object did not answer ({why})")
            }
        }
    }
}

impl From<ObjectRejection> for super::Rejection {
    fn from(r: ObjectRejection) -> Self {
        super::Rejection::Objects(r)
    }
}
