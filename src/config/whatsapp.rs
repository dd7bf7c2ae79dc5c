//! The WhatsApp template sent outside a pair's 24-hour window (`WHATSAPP_TEMPLATE_SID`):
//! only the objects send on their own, so only their builds have it.

use crate::vars::{ConfigError, Vars};

/// `WHATSAPP_TEMPLATE_SID` and `WHATSAPP_TEMPLATE_VARIABLES`.
#[cfg(feature = "objects")]
pub(super) fn whatsapp_template(
    vars: &Vars<'_>,
) -> Result<Option<crate::conversation::Template>, ConfigError> {
    let variables = vars.get("WHATSAPP_TEMPLATE_VARIABLES").unwrap_or_default();
    let Some(content_sid) = vars.get("WHATSAPP_TEMPLATE_SID") else {
        if variables.is_empty() {
            return Ok(None);
        }
        return Err(ConfigError::new(
            "WHATSAPP_TEMPLATE_VARIABLES",
            "is set without WHATSAPP_TEMPLATE_SID",
        ));
    };
    if !content_sid.starts_with("HX") {
        return Err(ConfigError::new(
            "WHATSAPP_TEMPLATE_SID",
            "must be a Content SID starting with HX (Console → Content Template Builder)",
        ));
    }
    if !variables.is_empty()
        && !matches!(
            serde_json::from_str::<serde_json::Value>(&variables),
            Ok(serde_json::Value::Object(_))
        )
    {
        return Err(ConfigError::new(
            "WHATSAPP_TEMPLATE_VARIABLES",
            r#"must be a JSON object, e.g. {"1":"there"}"#,
        ));
    }
    Ok(Some(crate::conversation::Template {
        content_sid,
        content_variables: variables,
    }))
}
