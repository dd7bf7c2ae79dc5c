//! One widget run: what it does to the execution and where it goes next, one function per
//! kind of widget.

use std::borrow::Cow;

use serde_json::Value;

use super::advance::Pass;
use super::{At, Execution, Flows};
use crate::conversations::studio::conditions;
use crate::conversations::studio::flow::{Condition, Function, Http, Pair, Reads, State, Widget};
use crate::conversations::studio::liquid::{Budget, Template};
use crate::prelude::{Context, ReplyMessage};

impl Execution {
    /// Runs the widget `at` and gives the next one: `None` when it waits, or when the flow
    /// (and every flow that ran it as a subflow) ended.
    pub(super) async fn step(
        &mut self,
        flows: &Flows,
        at: At,
        pass: &mut Pass,
        ctx: &Context<'_>,
    ) -> Option<At> {
        let flow = flows.get(&at.flow);
        let state = flow.state(&at.widget)?;
        let next = match &state.widget {
            Widget::Trigger => at.then(state, "incomingMessage"),
            Widget::SendMessage { body, media } => {
                self.send_message(body, media.as_ref(), pass);
                at.then(state, "sent")
            }
            Widget::SendAndWait {
                body,
                media,
                timeout,
            } => {
                self.send_and_wait(&at, body, media.as_ref(), *timeout, pass);
                return None;
            }
            Widget::Split { input, matches } => {
                self.split_next(&at, state, input.as_ref(), matches, &pass.budget, ctx)
            }
            Widget::SetVariables(pairs) => {
                self.set_variables(pairs, &pass.budget);
                at.then(state, "next")
            }
            Widget::Http(http) => {
                (self.http_next(&at, state, http, &flow.reads, &pass.budget, ctx)).await
            }
            Widget::Function(function) => {
                (self.function_next(&at, state, function, &flow.reads, &pass.budget, ctx)).await
            }
            Widget::Subflow { flow, parameters } => {
                self.run_subflow(flows, &at, flow, parameters, &pass.budget)
            }
        };
        next.or_else(|| self.return_to_parent(flows))
    }

    /// Where a split goes: its first matching transition, else `noMatch`.
    fn split_next(
        &self,
        at: &At,
        state: &State,
        input: Option<&Template>,
        matches: &[(Vec<Condition>, Option<String>)],
        budget: &Budget,
        ctx: &Context<'_>,
    ) -> Option<At> {
        match self.split(input, matches, budget, ctx.now()) {
            Some(next) => next.clone().map(|widget| at.to(widget)),
            None => at.then(state, "noMatch"),
        }
    }

    /// Makes the widget's request: `success` or `failed` next.
    async fn http_next(
        &mut self,
        at: &At,
        state: &State,
        http: &Http,
        reads: &Reads,
        budget: &Budget,
        ctx: &Context<'_>,
    ) -> Option<At> {
        let ok = (self.make_http_request(http, reads, &at.widget, budget, ctx)).await;
        at.then(state, if ok { "success" } else { "failed" })
    }

    /// Calls the Function: `success` or `fail` next.
    async fn function_next(
        &mut self,
        at: &At,
        state: &State,
        function: &Function,
        reads: &Reads,
        budget: &Budget,
        ctx: &Context<'_>,
    ) -> Option<At> {
        let ok = (self.run_function(function, at, reads, budget, ctx)).await;
        at.then(state, if ok { "success" } else { "fail" })
    }

    fn send_message(&self, body: &Template, media: Option<&Template>, pass: &mut Pass) {
        pass.out
            .messages
            .push(self.message(body, media, &pass.budget));
    }

    /// Sends, then waits at `at` for the reply (or the timeout, `timeout` seconds).
    fn send_and_wait(
        &mut self,
        at: &At,
        body: &Template,
        media: Option<&Template>,
        timeout: u64,
        pass: &mut Pass,
    ) {
        pass.out
            .messages
            .push(self.message(body, media, &pass.budget));
        self.widget = Some(at.widget.clone());
        self.flow.clone_from(&at.flow);
        self.repeats = pass.repeats;
        self.sent_by_api = pass.by_api;
        pass.out.wait = Some(timeout);
    }

    /// The first `match` transition whose conditions all hold (a transition without any
    /// never matches): where it goes. Every condition tests the widget's `input` ("the
    /// Variable to Test", <https://www.twilio.com/docs/studio/widget-library/split-based-on>);
    /// a condition's `arguments[0]` is its subject only when the widget has no `input`.
    fn split<'m>(
        &self,
        input: Option<&Template>,
        matches: &'m [(Vec<Condition>, Option<String>)],
        budget: &Budget,
        now: u64,
    ) -> Option<&'m Option<String>> {
        let scope = self.scope();
        let input = input.map(|i| i.render(&scope, budget));
        let holds = |c: &Condition| {
            let subject = subject(input.as_deref(), c, &scope, budget);
            conditions::holds(c.kind, &subject, &c.value.render(&scope, budget), now)
        };
        let found = matches
            .iter()
            .find(|(conditions, _)| !conditions.is_empty() && conditions.iter().all(&holds));
        found.map(|(_, next)| next)
    }

    fn set_variables(&mut self, pairs: &[Pair], budget: &Budget) {
        let scope = self.scope();
        for pair in pairs {
            (self.variables).insert(pair.key.clone(), pair.render(&scope, budget));
        }
    }

    /// The message `body` and `media` (a comma-separated list of URLs) render as.
    fn message(&self, body: &Template, media: Option<&Template>, budget: &Budget) -> ReplyMessage {
        let scope = self.scope();
        let message = ReplyMessage::text(body.render(&scope, budget));
        let urls = media.map(|m| m.render(&scope, budget)).unwrap_or_default();
        media_urls(&urls).fold(message, ReplyMessage::with_media)
    }
}

/// What condition `c` tests: the widget's rendered `input`, else (a widget without one) the
/// condition's own `arguments[0]`.
fn subject<'i>(
    input: Option<&'i str>,
    c: &Condition,
    scope: &Value,
    budget: &Budget,
) -> Cow<'i, str> {
    match (input, &c.argument) {
        (Some(input), _) => Cow::Borrowed(input),
        (None, Some(argument)) => Cow::Owned(argument.render(scope, budget)),
        (None, None) => Cow::Borrowed(""),
    }
}

/// The URLs of a rendered `media_url`: comma-separated, trimmed, empty ones dropped.
fn media_urls(urls: &str) -> impl Iterator<Item = &str> {
    urls.split(',').map(str::trim).filter(|u| !u.is_empty())
}
