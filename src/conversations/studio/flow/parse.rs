//! Reading Studio's JSON into a [`Flow`], collecting every problem on the way: a flow is
//! refused with all of them, so one `npm run flow -- check` lists what to fix.

use std::collections::BTreeMap;

use serde::Deserialize;

use super::raw::{RawState, RawTransition};
use super::widgets::widget;
use super::{Flow, FlowError, Links, Reads, State, Widget};

/// Studio's JSON, only what is read.
#[derive(Deserialize)]
struct Definition {
    states: Vec<RawState>,
    #[serde(default)]
    initial_state: Option<String>,
}

impl Flow {
    /// Reads and checks `json`, the flow called `name`, collecting every problem.
    /// `links` finds the subflows and Functions its widgets run.
    pub fn parse(name: &str, json: &str, links: &Links<'_>) -> Result<Flow, Vec<FlowError>> {
        let definition = definition(name, json)?;
        let mut parsing = Parsing::new(name);
        for raw in &definition.states {
            parsing.add(raw, links);
        }
        parsing.check_transitions(&definition.states);
        let initial = parsing.check_initial(&definition);
        parsing.finish(initial)
    }
}

/// Studio's JSON read as a flow definition, a problem of flow `name` when it is none.
fn definition(name: &str, json: &str) -> Result<Definition, Vec<FlowError>> {
    serde_json::from_str(json).map_err(|e| {
        let problem = format!("not a Studio flow definition ({e})");
        vec![FlowError::new(name, None, problem)]
    })
}

/// A flow being read: the widgets so far, and the problems.
struct Parsing<'a> {
    name: &'a str,
    states: BTreeMap<String, State>,
    reads: Reads,
    errors: Vec<FlowError>,
}

impl<'a> Parsing<'a> {
    fn new(name: &'a str) -> Self {
        Parsing {
            name,
            states: BTreeMap::new(),
            reads: Reads::default(),
            errors: Vec::new(),
        }
    }

    fn error(&mut self, widget: Option<&str>, problem: String) {
        self.errors.push(FlowError::new(self.name, widget, problem));
    }

    fn add(&mut self, raw: &RawState, links: &Links<'_>) {
        if self.states.contains_key(&raw.name) {
            self.error(Some(&raw.name), "two widgets have this name".into());
            return;
        }
        self.reads.scan_widget(raw);
        match widget(raw, links) {
            Ok(widget) => self.insert(raw, widget),
            Err(problems) => self.widget_errors(&raw.name, problems),
        }
    }

    /// Keeps the widget `raw` describes, with its transitions.
    fn insert(&mut self, raw: &RawState, widget: Widget) {
        let (name, next) = (raw.name.clone(), next(raw));
        self.states
            .insert(raw.name.clone(), State { name, widget, next });
    }

    /// Notes each problem of widget `name`.
    fn widget_errors(&mut self, name: &str, problems: Vec<String>) {
        for problem in problems {
            self.error(Some(name), problem);
        }
    }

    /// Every transition goes to a widget of the flow (or nowhere).
    fn check_transitions(&mut self, all: &[RawState]) {
        for raw in all {
            for transition in &raw.transitions {
                self.check_target(all, &raw.name, transition);
            }
        }
    }

    /// `widget`'s `transition` goes to a widget of the flow (or nowhere).
    fn check_target(&mut self, all: &[RawState], widget: &str, transition: &RawTransition) {
        let missing = |next: &&str| !all.iter().any(|s| s.name == *next);
        if let Some(next) = transition.next().filter(missing) {
            self.error(Some(widget), missing_target(&transition.event, next));
        }
    }

    /// The flow starts at a trigger: `initial_state`, else the widget called `Trigger`.
    fn check_initial(&mut self, definition: &Definition) -> String {
        let initial = definition
            .initial_state
            .clone()
            .unwrap_or_else(|| "Trigger".into());
        match definition.states.iter().find(|s| s.name == initial) {
            Some(s) if s.kind == "trigger" => {}
            Some(_) => self.error(Some(&initial), "the initial state is not a trigger".into()),
            None => self.error(None, format!("no trigger widget \"{initial}\"")),
        }
        initial
    }

    fn finish(self, initial: String) -> Result<Flow, Vec<FlowError>> {
        if !self.errors.is_empty() {
            return Err(self.errors);
        }
        Ok(Flow {
            name: self.name.to_string(),
            states: self.states,
            initial,
            reads: self.reads,
        })
    }
}

/// The widget's transitions: event → the next widget, `None` for nowhere (inserted one by
/// one: collecting into a map sorts first, another copy of the sort in the wasm).
fn next(raw: &RawState) -> BTreeMap<String, Option<String>> {
    let mut next = BTreeMap::new();
    for t in &raw.transitions {
        next.insert(t.event.clone(), t.next().map(str::to_string));
    }
    next
}

/// Why a transition on `event` to `next`, no widget of the flow, is refused.
fn missing_target(event: &str, next: &str) -> String {
    format!("its \"{event}\" transition goes to \"{next}\", which is not a widget of the flow")
}
