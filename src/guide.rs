//! **The guides**: how to write, test, start and run a conversation, each a page of its own.
//!
//! They are Markdown files (`src/guide/*.md`) shown here as modules, as clap does with its
//! tutorial, so that `cargo test --doc` compiles and runs every example in them: a guide
//! whose code no longer builds fails the tests. The modules hold nothing else, and exist only
//! when documenting or doc-testing (`cfg(any(doc, doctest))`).
//!
//! Read them in this order:
//! 1. [`first_conversation`]: a conversation, its state, the `Conversation` trait, `Reply`,
//!    `Context`, and changing the state once it is live.
//! 2. [`testing`]: the test phone, fake outside calls, transcripts, saved states.
//! 3. [`starts_and_follow_ups`]: conversations the worker starts (`POST /conversations`),
//!    follow-ups when the person goes quiet, WhatsApp's 24 hours, opt-outs, sending each
//!    message once; an appointment reminder, whole and tested.
//! 4. [`studio`]: running a flow exported from Twilio Studio.
//! 5. [`running`]: KV, the Durable Objects, limits, logs, the state API, security, deploying,
//!    upgrading, every setting, troubleshooting.
//! 6. [`dev_tools`]: the simulator, the dev phone and transcripts, on your machine.

#[doc = include_str!("guide/first_conversation.md")]
pub mod first_conversation {}

#[doc = include_str!("guide/testing.md")]
pub mod testing {}

#[doc = include_str!("guide/starts_and_follow_ups.md")]
pub mod starts_and_follow_ups {}

#[cfg(feature = "studio")]
#[doc = include_str!("guide/studio.md")]
pub mod studio {}

#[doc = include_str!("guide/running.md")]
pub mod running {}

#[doc = include_str!("guide/dev_tools.md")]
pub mod dev_tools {}
