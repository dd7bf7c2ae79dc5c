use super::*;

const SECRET: &str = "0123456789abcdef0123456789abcdef";

fn config(vars: &[(&str, &str)]) -> Result<Config, ConfigError> {
    let map: std::collections::BTreeMap<String, String> = vars
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    let lookup = |name: &str| map.get(name).cloned();
    Config::from_vars(&Vars::new(&lookup))
}

#[test]
fn defaults_are_the_classic_conversation_over_twilios_four_hours() {
    let c = config(&[("SESSION_SECRET", SECRET), ("TWILIO_AUTH_TOKEN", "t")]).unwrap();
    assert_eq!(c.storage.conversation_ttl_seconds, 14400);
    assert_eq!(c.storage.cookie_max_age(), 14400);
    assert!(matches!(c.verification, Verification::Signed(_)));
    assert_eq!(c.webhook_method, WebhookMethod::Post);
    assert!(c.webhook_base_url.is_none());
    assert!(!c.smart_encoding);
}

#[test]
fn a_missing_auth_token_refuses_webhooks_unless_unsigned_is_explicit() {
    let c = config(&[("SESSION_SECRET", SECRET)]).unwrap();
    assert!(matches!(c.verification, Verification::MissingToken));
    let c = config(&[
        ("SESSION_SECRET", SECRET),
        ("ALLOW_UNSIGNED_WEBHOOKS", "true"),
    ])
    .unwrap();
    assert!(matches!(c.verification, Verification::Unsigned));
    // A configured token always wins over the opt-out.
    let c = config(&[
        ("SESSION_SECRET", SECRET),
        ("ALLOW_UNSIGNED_WEBHOOKS", "true"),
        ("TWILIO_AUTH_TOKEN", "t"),
    ])
    .unwrap();
    assert!(matches!(c.verification, Verification::Signed(_)));
}

#[test]
fn each_bad_value_names_its_variable() {
    let names = |vars: &[(&str, &str)], variable: &str| {
        let err = config(vars).unwrap_err();
        assert_eq!(err.variable, variable, "{vars:?}");
        assert!(err.to_string().starts_with(variable));
    };
    names(&[], "SESSION_SECRET");
    names(&[("SESSION_SECRET", "short")], "SESSION_SECRET");
    // One bad value at a time, beside a good secret.
    for (variable, value) in [
        ("WEBHOOK_METHOD", "PUT"),
        ("TWILIO_AUTH_TOKEN", "a,,b"),
        ("CONVERSATION_TTL_SECONDS", "4h"),
        ("CONVERSATION_TTL_SECONDS", "0"),
        ("CONVERSATION_TTL_SECONDS", "2592001"),
        ("ALLOW_UNSIGNED_WEBHOOKS", "sure"),
        ("SMART_ENCODING", "yes please"),
        ("WEBHOOK_BASE_URL", "abc.ngrok.app"),
        ("WEBHOOK_BASE_URL", "https://abc.ngrok.app/#x"),
    ] {
        names(&[("SESSION_SECRET", SECRET), (variable, value)], variable);
    }
}

#[test]
fn an_idle_limit_over_four_hours_needs_a_store_to_keep_it() {
    let day = config(&[
        ("SESSION_SECRET", SECRET),
        ("CONVERSATION_TTL_SECONDS", "86400"),
    ])
    .unwrap();
    assert_eq!(day.storage.conversation_ttl_seconds, 86400);
    assert_eq!(
        day.storage.cookie_max_age(),
        14400,
        "Twilio's 4 hours at most"
    );
    assert!(day.check_stores(true, false).is_ok());
    assert!(day.check_stores(false, true).is_ok());
    let refused = day.check_stores(false, false).unwrap_err();
    assert_eq!(refused.variable, "CONVERSATION_TTL_SECONDS");
    assert!(refused
        .problem
        .contains("bind CONVERSATIONS (KV) or CONVERSATION_OBJECTS"));
    // Four hours or less is the cookie's to keep.
    let four = config(&[("SESSION_SECRET", SECRET)]).unwrap();
    assert!(four.check_stores(false, false).is_ok());
}

#[test]
fn the_store_keeps_a_conversation_at_least_as_long_as_it_may_go_on() {
    let c = config(&[
        ("SESSION_SECRET", SECRET),
        ("CONVERSATION_TTL_SECONDS", "86400"),
        ("KV_TTL_SECONDS", "3600"),
    ])
    .unwrap();
    assert_eq!(c.storage.kv_ttl_seconds, 86400, "raised to the idle limit");
    let c = config(&[("SESSION_SECRET", SECRET)]).unwrap();
    assert_eq!(c.storage.kv_ttl_seconds, DEFAULT_KV_TTL_SECONDS);
}

#[test]
fn errors_and_debug_output_never_show_secret_values() {
    let secret = "a-secret-that-is-far-too-short";
    let err = config(&[("SESSION_SECRET", secret)]).unwrap_err();
    assert!(!err.to_string().contains(secret));
    let c = config(&[
        ("SESSION_SECRET", SECRET),
        ("TWILIO_AUTH_TOKEN", "tok-en-value"),
    ])
    .unwrap();
    let debug = format!("{c:?}");
    assert!(!debug.contains("tok-en-value"));
    assert!(!debug.contains(SECRET));
}

#[test]
fn smart_encoding_is_on_only_when_asked_and_built_in() {
    let on = config(&[("SESSION_SECRET", SECRET), ("SMART_ENCODING", "true")]);
    if cfg!(feature = "smart-encoding") {
        assert!(on.unwrap().smart_encoding);
    } else {
        assert_eq!(on.unwrap_err().variable, "SMART_ENCODING");
    }
    let off = config(&[("SESSION_SECRET", SECRET), ("SMART_ENCODING", "false")]);
    assert!(!off.unwrap().smart_encoding, "off is fine either way");
}

#[test]
fn webhook_base_url_loses_its_trailing_slash() {
    let c = config(&[
        ("SESSION_SECRET", SECRET),
        ("WEBHOOK_BASE_URL", "https://abc.ngrok.app/"),
    ])
    .unwrap();
    assert_eq!(c.webhook_base_url.as_deref(), Some("https://abc.ngrok.app"));
}
