//! One event's pass through the flow: where it starts (the waiting widget's transition, or
//! the trigger's), then widget after widget until one waits, the flow ends or a Studio limit
//! stops it.

use serde_json::{Map, Value};

use super::{object, At, Event, Execution, Flows, Outcome, MAX_REPEATS, MAX_STEPS};
use crate::conversations::studio::liquid::Budget;
use crate::prelude::Context;

/// What the steps of one event share.
pub(super) struct Pass {
    /// The messages will go out through the Messages API (a timeout, a start) rather than as
    /// the webhook's TwiML: a waiting widget remembers it for `deliveryFailure`.
    pub(super) by_api: bool,
    /// The widget that ran last, and how many times in a row (Studio's [`MAX_REPEATS`]).
    previous: String,
    pub(super) repeats: u32,
    /// What the pass did so far.
    pub(super) out: Outcome,
    /// What its templates may still spend, together.
    pub(super) budget: Budget,
}

impl Execution {
    /// Moves the execution on by `event`. `by_api` says the messages will go out through the
    /// Messages API (a timeout, a start) rather than as the webhook's TwiML.
    pub async fn advance(
        &mut self,
        flows: &Flows,
        event: Event,
        by_api: bool,
        delivery_failed: bool,
        ctx: &Context<'_>,
    ) -> Outcome {
        self.forget_removed_flows(flows);
        let waiting = self.waiting(flows);
        if matches!(event, Event::Timeout) && waiting.is_none() {
            return Outcome::default();
        }
        let first = self.first(flows, event, waiting, delivery_failed);
        let first = self.stop_waiting(first);
        let mut pass = self.walk(flows, first, by_api, ctx).await;
        self.end_if_done(&mut pass.out);
        pass.out
    }

    /// The widget waiting for a reply, if it is still in its flow.
    fn waiting(&self, flows: &Flows) -> Option<String> {
        let flow = flows.get(&self.flow);
        self.widget.clone().filter(|w| flow.state(w).is_some())
    }

    /// The first widget `event` runs: the `waiting` widget's transition, or the trigger's.
    fn first(
        &mut self,
        flows: &Flows,
        event: Event,
        waiting: Option<String>,
        delivery_failed: bool,
    ) -> Option<String> {
        match (event, waiting) {
            (Event::Message(params), Some(widget)) => self.replied(flows, &widget, params),
            (Event::Timeout, Some(widget)) => self.timed_out(flows, &widget, delivery_failed),
            // `advance` returned already: a timeout with nothing waiting does nothing.
            (Event::Timeout, None) => None,
            (Event::Message(params), None) => self.start_by_message(flows, params),
            (
                Event::Request {
                    parameters,
                    contact,
                    channel,
                },
                _,
            ) => self.start_by_request(flows, parameters, contact, channel),
        }
    }

    /// The execution waits no longer; `first` as a place in the flow it is in.
    fn stop_waiting(&mut self, first: Option<String>) -> Option<At> {
        self.widget = None;
        self.sent_by_api = false;
        let flow = self.flow.clone();
        first.map(|widget| At { flow, widget })
    }

    /// Ended (no transition left, or a limit): the next text starts afresh.
    fn end_if_done(&mut self, out: &mut Outcome) {
        if out.stopped.is_some() || self.widget.is_none() {
            *self = Execution::default();
            out.wait = None;
        }
    }

    /// A deploy removed a flow this execution is in: it starts afresh.
    fn forget_removed_flows(&mut self, flows: &Flows) {
        if !self.flow.is_empty() && !flows.has(&self.flow)
            || self.parents.iter().any(|p| !flows.has(&p.flow))
        {
            *self = Execution::default();
        }
    }

    /// A reply came, so the message reached them: the waiting widget's `incomingMessage`,
    /// the text as its `inbound` output.
    fn replied(
        &mut self,
        flows: &Flows,
        widget: &str,
        params: Map<String, Value>,
    ) -> Option<String> {
        let flow = flows.get(&self.flow);
        self.keep_output(&flow.reads, widget, "inbound", Value::Object(params));
        self.transition(flow, widget, "incomingMessage")
    }

    /// No reply in time: `timeout`, or `deliveryFailure` when the message never arrived.
    fn timed_out(&self, flows: &Flows, widget: &str, delivery_failed: bool) -> Option<String> {
        let event = if delivery_failed && self.sent_by_api {
            "deliveryFailure"
        } else {
            "timeout"
        };
        self.transition(flows.get(&self.flow), widget, event)
    }

    /// A text with no execution waiting starts one at the main flow's trigger.
    fn start_by_message(&mut self, flows: &Flows, params: Map<String, Value>) -> Option<String> {
        self.begin(&params);
        let main = flows.get("");
        if flows.read_trigger() {
            self.trigger.insert("message".into(), Value::Object(params));
        }
        // A flow drawn for Conversations (the "Incoming Conversation" trigger) runs its
        // conversation transition for texts when its incomingMessage has none.
        main.start("incomingMessage")
            .or_else(|| main.start("incomingConversationMessage"))
            .map(str::to_string)
    }

    /// `POST /conversations`: a new execution at the trigger's `incomingRequest`, whatever
    /// was waiting.
    fn start_by_request(
        &mut self,
        flows: &Flows,
        parameters: Map<String, Value>,
        contact: String,
        channel: String,
    ) -> Option<String> {
        *self = Execution {
            contact,
            channel,
            data: parameters.clone(),
            ..Execution::default()
        };
        let main = flows.get("");
        if flows.read_trigger() {
            let request = object(vec![("parameters", Value::Object(parameters))]);
            self.trigger.insert("request".into(), request);
        }
        main.start("incomingRequest").map(str::to_string)
    }

    /// A fresh execution for the pair that `params` come from.
    fn begin(&mut self, params: &Map<String, Value>) {
        *self = Execution {
            contact: param_text(params, "From"),
            channel: param_text(params, "To"),
            ..Execution::default()
        };
    }

    /// Runs widget after widget from `next`, until none is left or a limit stops them.
    async fn walk(
        &mut self,
        flows: &Flows,
        mut next: Option<At>,
        by_api: bool,
        ctx: &Context<'_>,
    ) -> Pass {
        let mut pass = Pass::new(by_api, self.repeats, ctx.now());
        while let Some(at) = next.take() {
            if let Some(why) = self.count(&mut pass, &at.widget) {
                pass.out.stopped = Some(format!("{why} (at {})", at.widget));
                break;
            }
            let (widget, sent) = (at.widget.clone(), pass.out.messages.len());
            next = self.step(flows, at, &mut pass, ctx).await;
            if let Some(why) = pass.budget.spent() {
                // What the widget was saying when its templates stopped short is not sent.
                pass.out.messages.truncate(sent);
                pass.out.stopped = Some(format!("{why} (at {widget})"));
                break;
            }
        }
        pass
    }

    /// Counts a step of `widget`: why the execution stops, when it reached a Studio limit.
    fn count(&mut self, pass: &mut Pass, widget: &str) -> Option<&'static str> {
        self.steps += 1;
        pass.note_run(widget);
        if self.steps > MAX_STEPS {
            return Some("the execution reached Studio's 1,000 steps");
        }
        (pass.repeats >= MAX_REPEATS).then_some("one widget ran 10 times in a row")
    }
}

impl Pass {
    /// A pass from scratch at `now` (the event's Unix seconds, what `"now" | date` prints),
    /// the waiting widget having run `repeats` times in a row.
    fn new(by_api: bool, repeats: u32, now: u64) -> Pass {
        let (previous, out) = (String::new(), Outcome::default());
        Pass {
            by_api,
            previous,
            repeats,
            out,
            budget: Budget::at(now),
        }
    }

    /// Counts a run of `widget`: one more in a row when it ran last, else the first.
    fn note_run(&mut self, widget: &str) {
        if widget != self.previous {
            widget.clone_into(&mut self.previous);
            self.repeats = 0;
        }
        self.repeats += 1;
    }
}

/// The parameter `name` of a text, empty when missing.
fn param_text(params: &Map<String, Value>, name: &str) -> String {
    let text = params.get(name).and_then(Value::as_str);
    text.unwrap_or("").to_string()
}
