//! A test phone for conversations: drives texts through the whole webhook path (signature,
//! cookie, KV, the conversation, TwiML) natively, without workerd, the way Twilio would.
//! Around it: a fake HTTP client for the conversation's outside calls ([`FakeHttp`]), phones
//! started from a saved state ([`TestPhone::from_state`]) and the check that saved states
//! still read ([`check_saved_states`]), and transcripts of whole conversations replayed as
//! tests ([`replay`]).
//!
//! ```
//! use sms_conversation_worker::conversations::Counter;
//! use sms_conversation_worker::harness::TestPhone;
//!
//! let mut phone = TestPhone::new::<Counter>(&[]).unwrap();
//! assert_eq!(phone.text("hi").texts(), ["Hello, thanks for the new message."]);
//! assert_eq!(phone.text("again").texts(), ["Hello, thanks for message number 2"]);
//! // Twilio retries a delivery: the same answer, nothing counted.
//! assert_eq!(phone.retry().texts(), ["Hello, thanks for message number 2"]);
//! // Twilio forgets the cookie after four idle hours: without KV, a new conversation.
//! phone.wait(4 * 3600);
//! assert_eq!(phone.text("back").texts(), ["Hello, thanks for the new message."]);
//! ```

mod defaults;
mod exchange;
mod executor;
mod http;
mod kv;
mod namespace;
mod objects;
mod phone;
mod states;
mod transcript;
mod twiml;

pub use defaults::{
    TEST_ACCOUNT_SID, TEST_AUTH_TOKEN, TEST_OUTBOUND_API_KEY, TEST_SESSION_SECRET, TEST_START,
    TEST_URL,
};
pub use exchange::Exchange;
pub use executor::block_on;
pub use http::{Answering, FakeHttp};
pub use kv::MapKv;
pub use namespace::LocalObjects;
pub use objects::MapObjectStore;
pub use phone::{SentMessage, SentTemplate, TestPhone};
pub use states::{check_saved_states, SavedStateError, StateCheckError};
pub use transcript::{replay, ReplayError, Transcript, TRANSCRIPT_FORMAT};

#[cfg(test)]
mod tests;
