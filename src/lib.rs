//! A Twilio Messaging webhook for Cloudflare Workers that keeps each SMS conversation in a
//! signed cookie.
//!
//! The webhook's path reads top to bottom in [`app::handle`]: parse ([`webhook`]) → verify
//! ([`signature`]) → open state ([`session`], [`state`], with [`recent`] and the optional KV
//! store) → converse ([`conversation`], the module to edit for your own conversation) → seal
//! → render ([`twiml`]). All of it is plain Rust, tested natively; the Workers adapter
//! (`worker_entry.rs`) only moves bytes in and out and runs the KV calls.

pub mod app;
pub mod config;
pub mod conversation;
pub mod recent;
pub mod session;
pub mod signature;
pub mod state;
pub mod twiml;
pub mod webhook;

#[cfg(target_arch = "wasm32")]
mod worker_entry;
