//! A Twilio Messaging webhook for Cloudflare Workers that keeps each SMS conversation in a
//! sealed cookie, with conversations written in Rust.
//!
//! The rooms, from the outside in:
//! - [`app`]: the webhook's path on one screen (route → authenticate → intent → load →
//!   converse → save → render), and [`response`]: what it answers and logs.
//! - [`twilio`]: Twilio's protocol (webhook parameters, `X-Twilio-Signature`, TwiML).
//! - [`storage`]: where a pair's [`record`] lives (cookie, the isolate's memory, KV) and
//!   which copy wins; [`seal`]: sealing a record into a cookie or KV value.
//! - [`conversation`]: **the API to write a conversation against**; [`conversations`]: the
//!   ones shipped (the counter, the survey); [`harness`]: a test phone to drive them.
//! - [`config`] and [`vars`]: settings, read once per isolate.
//!
//! All of it is plain Rust, tested natively; the Workers adapter (`worker_entry.rs`) only
//! moves bytes in and out and runs the KV calls, `fetch` and the after-reply work.

pub mod app;
pub mod config;
pub mod conversation;
pub mod conversations;
pub mod harness;
pub mod inspect;
pub mod objects;
pub mod record;
pub mod response;
pub mod seal;
pub mod storage;
pub mod twilio;
pub mod vars;

#[cfg(target_arch = "wasm32")]
mod worker_entry;

/// The README's code blocks, compiled and run as doc tests.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;
