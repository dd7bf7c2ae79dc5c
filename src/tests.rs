//! Whole-path tests: each drives the test phone (the webhook, the pair's object, the
//! conversation) for a behaviour that crosses rooms, so that no protocol room's own tests
//! need the harness.

mod idempotency_tests;
#[cfg(feature = "counter")]
mod segments_tests;
