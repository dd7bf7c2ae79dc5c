//! `twilio::params::parse_params` and `InboundMessage::from_params` on any bytes.
//!
//! Properties: nothing panics; at most MAX_PARAMS parameters; plain UTF-8 without
//! percent-escapes always parses; parsed parameters re-encode and re-parse to themselves;
//! a message has non-blank From and To, and no more media than MediaUrl parameters.
#![no_main]

use libfuzzer_sys::fuzz_target;
use sms_conversation_worker::twilio::params::{
    parse_params, InboundMessage, ParamsError, MAX_PARAMS,
};
use sms_conversation_worker::twilio::signature::params_string;

fuzz_target!(|data: &[u8]| {
    let parsed = parse_params(data);
    if let Ok(text) = std::str::from_utf8(data) {
        if !text.contains('%') && text.matches('&').count() < MAX_PARAMS {
            assert!(parsed.is_ok(), "plain form text refused: {parsed:?}");
        }
    }
    let params = match parsed {
        Ok(params) => params,
        Err(e) => {
            assert!(!e.to_string().is_empty());
            if let ParamsError::Missing(_) = e {
                panic!("parse_params never reports a missing field");
            }
            return;
        }
    };
    assert!(params.len() <= MAX_PARAMS, "{} parameters", params.len());

    let reencoded = serde_urlencoded::to_string(&params).expect("strings always encode");
    assert_eq!(
        parse_params(reencoded.as_bytes()).as_ref(),
        Ok(&params),
        "re-encoded parameters parse differently: {reencoded:?}"
    );
    let _ = params_string(params.iter().map(|(k, v)| (k.as_ref(), v.as_ref())));

    match InboundMessage::from_params(&params) {
        Ok(msg) => {
            assert!(!msg.from.trim().is_empty() && !msg.to.trim().is_empty());
            let media_urls = params
                .iter()
                .filter(|(k, _)| k.starts_with("MediaUrl"))
                .count();
            assert!(msg.media.len() <= media_urls);
            let expected_sid = msg
                .message_sid
                .as_deref()
                .or(msg.sms_sid.as_deref())
                .unwrap_or("");
            assert_eq!(msg.sid(), expected_sid);
        }
        Err(e) => assert!(!e.to_string().is_empty()),
    }
});
