//! Twilio's side of the webhook: the parameters it posts ([`params`]), the signature that
//! proves a request is Twilio's ([`signature`]), and the TwiML it expects back ([`twiml`]).

pub mod messages;
pub mod params;
pub mod signature;
pub mod twiml;
