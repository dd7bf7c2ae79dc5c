//! The WhatsApp template sent outside a pair's 24-hour window (`WHATSAPP_TEMPLATE_SID`):
//! only the objects send on their own, so only their builds have it.

use crate::vars::{ConfigError, Vars};

/// `WHATSAPP_TEMPLATE_SID` and `WHATSAPP_TEMPLATE_VARIABLES`.
pub(super) fn whatsapp_template(
    vars: &Vars<'_>,
) -> Result<Option<crate::conversation::Template>, ConfigError> {
    let variables = vars.get("WHATSAPP_TEMPLATE_VARIABLES").unwrap_or_default();
    let Some(content_sid) = vars.get("WHATSAPP_TEMPLATE_SID") else {
        return no_template(&variables);
    };
    check_content_sid(&content_sid)?;
    check_variables(&variables)?;
    Ok(Some(crate::conversation::Template {
        content_sid,
        content_variables: variables,
    }))
}

/// No template: fine, unless its variables are set without it.
fn no_template(variables: &str) -> Result<Option<crate::conversation::Template>, ConfigError> {
    if variables.is_empty() {
        return Ok(None);
    }
    Err(ConfigError::new(
        "WHATSAPP_TEMPLATE_VARIABLES",
        "is set without WHATSAPP_TEMPLATE_SID",
    ))
}

/// A Content SID (`HX…`): Twilio would refuse anything else only when the template is sent,
/// long after the deploy.
fn check_content_sid(content_sid: &str) -> Result<(), ConfigError> {
    if content_sid.starts_with("HX") {
        return Ok(());
    }
    Err(not_a_content_sid())
}

/// `WHATSAPP_TEMPLATE_SID` that is not a Content SID, and where to find one.
fn not_a_content_sid() -> ConfigError {
    ConfigError::new(
        "WHATSAPP_TEMPLATE_SID",
        "must be a Content SID starting with HX (Console → Content Template Builder)",
    )
}

/// Empty, or a JSON object (the template's variables by number), for the same reason.
fn check_variables(variables: &str) -> Result<(), ConfigError> {
    if variables.is_empty() || is_json_object(variables) {
        return Ok(());
    }
    Err(not_a_json_object())
}

/// Whether `text` is a JSON object: valid JSON (read without building it: a
/// `serde_json::Value` brought its map's code into every worker, about 1 KB of gzipped wasm,
/// for this one check) that opens with a brace.
fn is_json_object(text: &str) -> bool {
    text.trim_start().starts_with('{')
        && serde_json::from_str::<serde::de::IgnoredAny>(text).is_ok()
}

/// `WHATSAPP_TEMPLATE_VARIABLES` that is not a JSON object, with an example of one.
fn not_a_json_object() -> ConfigError {
    ConfigError::new(
        "WHATSAPP_TEMPLATE_VARIABLES",
        r#"must be a JSON object, e.g. {"1":"there"}"#,
    )
}
