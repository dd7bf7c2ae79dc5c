//! A webhook's encoded parameters to a message proven Twilio's, in one step: parsed, checked
//! against `X-Twilio-Signature`, then read as the message. The route hands it the request's
//! parts once and never looks back; nothing of a conversation is touched before it succeeds.

use super::params::{parse_params, Params, ParamsError};
use super::signature::{self, Verifier};
use crate::conversation::InboundMessage;
use crate::vars::ConfigError;

/// What proves a request is Twilio's.
pub(crate) struct Proof<'a> {
    /// The URL the request came to: signed as a whole, a GET's parameters with it.
    pub(crate) url: &'a str,
    /// `WEBHOOK_BASE_URL`: the public URL Twilio signed, when the worker sits behind a proxy.
    pub(crate) base_url: Option<&'a str>,
    /// `X-Twilio-Signature`.
    pub(crate) signature: Option<&'a str>,
    /// A POST's signature covers its sorted parameters too; a GET's are in the URL.
    pub(crate) post: bool,
    /// Who may have signed it.
    pub(crate) keys: Keys<'a>,
}

/// Who may sign the worker's webhooks.
pub(crate) enum Keys<'a> {
    /// Any of these auth tokens (several during a rotation).
    Tokens(&'a [Verifier]),
    /// Nobody needs to: `ALLOW_UNSIGNED_WEBHOOKS=true` and no token (local tinkering only).
    Unsigned,
    /// Nobody can: no token is set, so every webhook is refused rather than run open.
    Missing(ConfigError),
}

/// Why a webhook was refused before any state was read.
#[derive(Debug)]
pub(crate) enum Refusal {
    /// Parameters that are not a Twilio webhook.
    Params(ParamsError),
    /// No auth token to verify with.
    Misconfigured(ConfigError),
    /// No `X-Twilio-Signature` header.
    MissingSignature,
    /// A signature that matches no token.
    BadSignature,
}

/// The message of a webhook proven Twilio's. The order of the refusals is the route's: a
/// body that does not parse (400), a worker that cannot verify (500), a signature missing or
/// wrong (403), then a message without `From` or `To` (400).
pub(crate) fn verified_message(
    encoded: &[u8],
    proof: &Proof<'_>,
    keep_other: bool,
) -> Result<InboundMessage, Refusal> {
    let params = parse_params(encoded).map_err(Refusal::Params)?;
    check(proof, &params)?;
    InboundMessage::from_params_keeping(&params, keep_other).map_err(Refusal::Params)
}

/// Nothing below runs for a request that is not Twilio's: `X-Twilio-Signature` must match
/// one of the auth tokens, for one of the URLs Twilio may have signed.
fn check(proof: &Proof<'_>, params: &Params<'_>) -> Result<(), Refusal> {
    let verifiers = match &proof.keys {
        Keys::Tokens(verifiers) => verifiers,
        Keys::Unsigned => return Ok(()),
        Keys::Missing(problem) => return Err(Refusal::Misconfigured(problem.clone())),
    };
    let signature = proof.signature.ok_or(Refusal::MissingSignature)?;
    let params = signed_params(proof.post, params);
    let valid_for = |urls: &[String]| {
        let urls = || urls.iter().map(String::as_str);
        verifiers
            .iter()
            .any(|v| v.is_valid(urls(), &params, signature))
    };
    // The URL as received first, the others (the port, `%27`) only when it fails.
    let first = [signature::first_candidate_url(proof.url, proof.base_url)];
    let valid = valid_for(&first)
        || valid_for(
            signature::candidate_urls(proof.url, proof.base_url)
                .get(1..)
                .unwrap_or_default(),
        );
    valid.then_some(()).ok_or(Refusal::BadSignature)
}

/// The parameters as the signature covers them: a POST's sorted and joined; none for a GET,
/// whose parameters are in the URL, which is signed as a whole.
fn signed_params(post: bool, params: &Params<'_>) -> String {
    if post {
        signature::params_string(params.iter().map(|(k, v)| (k.as_ref(), v.as_ref())))
    } else {
        String::new()
    }
}
