//! What the test phone signs with, posts to and starts its clock at.

/// The auth token the test phone signs with (its default `TWILIO_AUTH_TOKEN`).
pub const TEST_AUTH_TOKEN: &str = "test-auth-token";
/// The test phone's default `SESSION_SECRET`.
pub const TEST_SESSION_SECRET: &str = "test-session-secret-0123456789abcdef";
/// The webhook URL the test phone posts to.
pub const TEST_URL: &str = "https://sms.example.workers.dev/sms";
/// The AccountSid of the test phone's messages.
pub const TEST_ACCOUNT_SID: &str = "AC00000000000000000000000000000000";
/// The `OUTBOUND_API_KEY` of a phone [`super::TestPhone::with_outbound`] set up: the bearer
/// token of its `POST /conversations`.
pub const TEST_OUTBOUND_API_KEY: &str = "test-outbound-api-key-0123456789";
/// The test phone's clock starts here (Unix seconds).
pub const TEST_START: u64 = 1_700_000_000;
