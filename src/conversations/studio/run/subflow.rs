//! The Run Subflow widget (<https://www.twilio.com/docs/studio/subflows>): the running flow
//! waits in a [`Parent`] while the subflow runs with its own variables, and gets the
//! subflow's variables back as the widget's output when it ends.

use std::mem;

use serde_json::Map;

use super::{At, Execution, Flows, Parent};
use crate::conversations::studio::flow::Pair;
use crate::conversations::studio::liquid::Budget;

impl Execution {
    /// Enters `sub` at its trigger's `incomingParent`, `parameters` as its `flow.data`.
    pub(super) fn run_subflow(
        &mut self,
        flows: &Flows,
        at: &At,
        sub: &str,
        parameters: &[Pair],
        budget: &Budget,
    ) -> Option<At> {
        let scope = self.scope();
        let mut data = Map::new();
        for p in parameters {
            data.insert(p.key.clone(), p.render(&scope, budget));
        }
        self.parents.push(Parent {
            flow: at.flow.clone(),
            widget: at.widget.clone(),
            variables: mem::take(&mut self.variables),
            data: mem::replace(&mut self.data, data),
            widgets: mem::take(&mut self.widgets),
        });
        let widget = flows.get(sub).start("incomingParent")?;
        Some(At {
            flow: sub.to_string(),
            widget: widget.to_string(),
        })
    }

    /// This flow ended: a subflow returns to the widget that ran it, its variables as that
    /// widget's output, and a parent whose `completed` goes nowhere ends in turn. `None`
    /// when the main flow ended.
    pub(super) fn return_to_parent(&mut self, flows: &Flows) -> Option<At> {
        loop {
            let parent = self.parents.pop()?;
            let variables = mem::replace(&mut self.variables, parent.variables);
            self.data = parent.data;
            self.widgets = parent.widgets;
            let flow = flows.get(&parent.flow);
            for (key, value) in variables {
                self.keep_output(&flow.reads, &parent.widget, &key, value);
            }
            if let Some(widget) = self.transition(flow, &parent.widget, "completed") {
                return Some(At {
                    flow: parent.flow,
                    widget,
                });
            }
        }
    }
}
