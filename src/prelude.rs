//! What a conversation needs, in one `use sms_conversation_worker::prelude::*;`: the
//! conversation API, the registry, the vars, and (feature `harness`) the test phone. A file of
//! its own, so that a conversation of this crate (the Studio runner) imports it as a user's
//! does, without reaching into `lib.rs`.

pub use crate::conversation::InboundMessage;
pub use crate::conversation::{
    AfterReply, ClientError, ClientRequest, ClientResponse, Context, Conversation, Reply,
    ReplyMessage, Start, Turn, View,
};
#[cfg(feature = "harness")]
pub use crate::harness::{Exchange, FakeHttp, SentMessage, TestPhone};
pub use crate::registry::{Conversations, Registered};
pub use crate::vars::{ConfigError, Vars};
