//! What a flow's templates read, found once when the flow is parsed, so that the execution
//! sealed into the cookie carries no output nobody reads.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value;

use super::raw::{RawCondition, RawState};

/// What a flow's templates can read, found by scanning them for `widgets.<name>.<field>`,
/// `trigger.` and `flow.`: the execution sealed into the cookie keeps only these.
#[derive(Debug, Default, Clone)]
pub struct Reads {
    /// Widget → the fields read (`None`: read as a whole, or through brackets).
    pub widgets: BTreeMap<String, Option<BTreeSet<String>>>,
    /// Some template indexes `widgets` in a way the scan cannot follow: keep everything.
    pub all_widgets: bool,
    /// Some template reads `trigger.…`.
    pub trigger: bool,
}

impl Reads {
    /// Whether `field` of `widget`'s output can still be read.
    pub fn keeps(&self, widget: &str, field: &str) -> bool {
        if self.all_widgets {
            return true;
        }
        match self.widgets.get(widget) {
            None => false,
            Some(None) => true,
            Some(Some(fields)) => fields.contains(field),
        }
    }

    /// Notes what the widget's properties and its conditions read.
    pub(super) fn scan_widget(&mut self, raw: &RawState) {
        // Studio writes `service` and `channel` ({{trigger.message.InstanceSid}}, …) into
        // every messaging widget for Conversations; this runtime never renders them, so
        // they would only keep the whole first message in every cookie.
        for (key, value) in &raw.properties {
            if !matches!(key.as_str(), "service" | "channel" | "offset") {
                self.scan_value(value);
            }
        }
        let conditions = raw.transitions.iter().flat_map(|t| &t.conditions);
        conditions.for_each(|c| self.scan_condition(c));
    }

    /// Notes what a condition's arguments and value read.
    fn scan_condition(&mut self, condition: &RawCondition) {
        condition.arguments.iter().for_each(|a| self.scan(a));
        self.scan_value(&condition.value);
    }

    fn scan_value(&mut self, value: &Value) {
        match value {
            Value::String(text) => self.scan(text),
            Value::Array(items) => items.iter().for_each(|v| self.scan_value(v)),
            Value::Object(map) => map.values().for_each(|v| self.scan_value(v)),
            _ => {}
        }
    }

    fn scan(&mut self, text: &str) {
        if text.contains("trigger") {
            self.trigger = true;
        }
        let mut rest = text;
        while let Some(at) = rest.find("widgets") {
            rest = &rest[at + "widgets".len()..];
            match rest.strip_prefix('.') {
                Some(after) => self.read(after),
                None => self.all_widgets |= rest.starts_with('['),
            }
        }
    }

    /// Notes `widgets.` followed by `after`: a widget's name, then maybe `.field`.
    fn read(&mut self, after: &str) {
        let name = identifier(after);
        if name.is_empty() {
            return;
        }
        let Some(field) = field_after(&after[name.len()..]) else {
            self.widgets.insert(name.to_string(), None);
            return;
        };
        self.read_field(name, field);
    }

    /// Notes `field` of widget `name` read, unless the whole widget is.
    fn read_field(&mut self, name: &str, field: &str) {
        let entry = self.widgets.entry(name.to_string());
        if let Some(fields) = entry.or_insert_with(|| Some(BTreeSet::new())) {
            fields.insert(field.to_string());
        }
    }
}

/// The field named by `.field` at the start of `rest`, if one is.
fn field_after(rest: &str) -> Option<&str> {
    let field = rest.strip_prefix('.').map(identifier);
    field.filter(|f| !f.is_empty())
}

/// The name at the start of `text`: letters, digits, `_` and `-`.
fn identifier(text: &str) -> &str {
    let end = text
        .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == '-'))
        .unwrap_or(text.len());
    &text[..end]
}
