//! Twilio's side of the webhook: the parameters it posts ([`params`]), the signature that
//! proves a request is Twilio's ([`signature`]), the TwiML it expects back ([`twiml`]), and
//! what a text costs in segments ([`segments`]); a webhook proven Twilio's in one step
//! (`webhook`).

pub mod messages;
pub mod params;
pub mod segments;
pub mod signature;
pub mod twiml;
pub(crate) mod webhook;
