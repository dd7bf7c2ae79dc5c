//! One widget run: what it does to the execution and where it goes next, one function per
//! kind of widget.

use super::advance::Pass;
use super::{At, Execution, Flows};
use crate::conversations::studio::conditions;
use crate::conversations::studio::flow::{Condition, Pair, Widget};
use crate::conversations::studio::liquid::Template;
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
            Widget::Split { input, matches } => match self.split(input, matches, ctx.now()) {
                Some(next) => next.clone().map(|widget| at.to(widget)),
                None => at.then(state, "noMatch"),
            },
            Widget::SetVariables(pairs) => {
                self.set_variables(pairs);
                at.then(state, "next")
            }
            Widget::Http(http) => {
                let ok = self
                    .make_http_request(http, &flow.reads, &at.widget, ctx)
                    .await;
                at.then(state, if ok { "success" } else { "failed" })
            }
            Widget::Subflow { flow, parameters } => self.run_subflow(flows, &at, flow, parameters),
        };
        next.or_else(|| self.return_to_parent(flows))
    }

    fn send_message(&self, body: &Template, media: Option<&Template>, pass: &mut Pass) {
        pass.out.messages.push(self.message(body, media));
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
        pass.out.messages.push(self.message(body, media));
        self.widget = Some(at.widget.clone());
        self.flow.clone_from(&at.flow);
        self.repeats = pass.repeats;
        self.sent_by_api = pass.by_api;
        pass.out.wait = Some(timeout);
    }

    /// The first `match` transition whose conditions all hold (a transition without any
    /// never matches): where it goes.
    fn split<'m>(
        &self,
        input: &Template,
        matches: &'m [(Vec<Condition>, Option<String>)],
        now: u64,
    ) -> Option<&'m Option<String>> {
        let scope = self.scope();
        let input = input.render(&scope);
        let holds = |c: &Condition| {
            let argument = c.argument.as_ref().map(|a| a.render(&scope));
            let subject = argument.as_deref().unwrap_or(&input);
            conditions::holds(c.kind, subject, &c.value.render(&scope), now)
        };
        let found = matches
            .iter()
            .find(|(conditions, _)| !conditions.is_empty() && conditions.iter().all(&holds));
        found.map(|(_, next)| next)
    }

    fn set_variables(&mut self, pairs: &[Pair]) {
        let scope = self.scope();
        for pair in pairs {
            self.variables.insert(pair.key.clone(), pair.render(&scope));
        }
    }

    /// The message `body` and `media` (a comma-separated list of URLs) render as.
    fn message(&self, body: &Template, media: Option<&Template>) -> ReplyMessage {
        let scope = self.scope();
        let mut message = ReplyMessage::text(body.render(&scope));
        if let Some(url) = media.map(|m| m.render(&scope)) {
            for url in url.split(',').map(str::trim).filter(|u| !u.is_empty()) {
                message = message.with_media(url);
            }
        }
        message
    }
}
