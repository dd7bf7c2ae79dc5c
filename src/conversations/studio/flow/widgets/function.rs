//! The Run Function widget read (<https://www.twilio.com/docs/studio/widget-library/run-function>),
//! and `STUDIO_FUNCTIONS`, which says where its calls go.
//!
//! Studio calls the Function at the widget's `url`. An export often has no `url` (the
//! Function was picked from a dropdown: only its `function_sid`, `ZH…`), and a Function
//! moved off Twilio lives elsewhere, so `STUDIO_FUNCTIONS` maps a widget's `function_sid`
//! (first) or its name to a target, and wins over the `url`. A target is an http(s) URL, or
//! a Function file of the project (`functions/<name>.js`), called as the URL
//! `function:functions/<name>.js` for the Workers adapter to run.

use std::collections::BTreeMap;

use super::Props;
use crate::conversations::studio::flow::{Pair, Widget};

/// `STUDIO_FUNCTIONS`: a `function_sid` or a widget's name → the URL its calls go to
/// (`https://…`, or `function:<path>.js` for a Function file of the project).
pub type Functions = BTreeMap<String, String>;

/// The scheme of a call to a Function file of the project: `function:` + its path as the
/// mapping wrote it (without a leading `./`).
const LOCAL_SCHEME: &str = "function:";

/// A checked Run Function widget.
#[derive(Debug)]
pub struct Function {
    /// Where the call goes: an http(s) URL, or `function:<path>.js`.
    pub url: String,
    /// `parameters`: the form fields of the call, the Function's `event`.
    pub parameters: Vec<Pair>,
}

/// Reads `STUDIO_FUNCTIONS`' JSON; the problem (naming keys, never values) when it is not a
/// JSON object of strings, each an http(s) URL or a `.js` path.
pub fn functions_var(json: &str) -> Result<Functions, String> {
    let raw: BTreeMap<String, String> = serde_json::from_str(json).map_err(|e| {
        format!("must be a JSON object of function SID or widget name to a URL or functions/<name>.js, like {{\"ZH…\": \"functions/get-sign.js\"}} ({e})")
    })?;
    // Inserted one by one: collecting into a map sorts first, another copy of the sort.
    let mut functions = Functions::new();
    for (key, value) in raw {
        let Some(url) = target(&value) else {
            return Err(format!(
                "\"{key}\" maps to neither an http(s) URL nor a functions/<name>.js file"
            ));
        };
        functions.insert(key, url);
    }
    Ok(functions)
}

/// The URL a target names: an http(s) URL as it is, a path ending in `.js` as
/// `function:<path>` (without a leading `./`); `None` for anything else.
fn target(value: &str) -> Option<String> {
    let value = value.trim();
    let lower = value.to_ascii_lowercase();
    if lower.starts_with("https://") || lower.starts_with("http://") {
        return Some(value.to_string());
    }
    let mut path = value;
    while let Some(rest) = path.strip_prefix("./") {
        path = rest;
    }
    let named = path.len() > ".js".len() && path.ends_with(".js");
    named.then(|| format!("{LOCAL_SCHEME}{path}"))
}

/// The widget, its URL from `functions` (its `function_sid`, then its name), else its own
/// `url`; a problem saying what to set when it has neither.
pub(super) fn run_function(props: &mut Props<'_>, functions: &Functions) -> Option<Widget> {
    let parameters = props.pairs("parameters");
    let url = function_url(props, functions)?;
    Some(Widget::Function(Function { url, parameters }))
}

/// Where the widget's call goes, or the problem noted.
fn function_url(props: &mut Props<'_>, functions: &Functions) -> Option<String> {
    let sid = props.prop("function_sid").unwrap_or_default();
    let mapped = functions
        .get(&sid)
        .or_else(|| functions.get(&props.raw.name));
    if let Some(url) = mapped {
        return Some(url.clone());
    }
    let Some(url) = props.prop("url") else {
        props.problem(no_url(&sid, &props.raw.name));
        return None;
    };
    let found = target(&url);
    if found.is_none() {
        props.problem(format!("url \"{url}\" is not an http(s) URL"));
    }
    found
}

/// Why a run-function widget has nowhere to call, and which variable to set.
fn no_url(sid: &str, name: &str) -> String {
    let (what, key) = if sid.is_empty() {
        ("name", name)
    } else {
        ("function_sid", sid)
    };
    format!("run-function with no URL: map its {what} {key} in STUDIO_FUNCTIONS to a URL or to functions/<name>.js, like {{\"{key}\": \"functions/{name}.js\"}}")
}
