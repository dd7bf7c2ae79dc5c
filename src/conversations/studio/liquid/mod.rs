//! Liquid, the template language of Studio's widgets
//! (<https://www.twilio.com/docs/studio/user-guide/liquid-template-language>): `{{ output |
//! filters }}` and the tags flows use (`if`/`elsif`/`else`, `unless`, `case`/`when`, `for`
//! with `limit`/`offset`/`reversed`, `assign`, `capture`, `raw`, `comment`).
//!
//! Why not the `liquid` crate: measured at 514 KB of gzipped wasm on its own (more than this
//! whole worker), and it refuses undefined variables, which Studio renders as nothing. This
//! evaluator is Shopify Liquid's semantics for what Studio's templates need: a missing
//! variable or key is nil and renders empty, only `false` and nil are falsy, and a loop stops
//! after 15 iterations ("Liquid Template loops: Limited to 15 iterations per Liquid Template
//! loop", Studio FAQ, <https://www.twilio.com/docs/studio/user-guide/studio-faq>).
//!
//! The stages, as in liquid-rust: `lexer` cuts the source into text and markups and a
//! markup into lexemes; `parser` reads expressions, filter chains and conditions and
//! `tags` the blocks, into the tree of `ast` (a filter's name resolved to a
//! `filters::Filter` there, so an unknown one is refused when the flow is checked, not
//! when a message arrives); `render` walks the tree over a scope, with `value` saying
//! what Liquid makes of serde_json's values. Nothing here reads the rest of the crate.

mod ast;
pub(crate) mod calendar;
mod filters;
mod lexer;
mod limits;
mod parser;
mod render;
mod tags;
mod value;

use serde_json::Value;

pub use limits::{Budget, MAX_LOOP, MAX_RENDERED, MAX_STRING, MAX_WORK};

/// A parsed template.
#[derive(Debug, Clone)]
pub struct Template {
    nodes: Vec<ast::Node>,
}

impl Template {
    /// Parses `source`; the error names the problem (an unknown tag or filter, an unclosed
    /// block), for the flow check to report with the widget.
    pub fn parse(source: &str) -> Result<Template, String> {
        let nodes = tags::parse(lexer::tokenize(source)?)?;
        Ok(Template { nodes })
    }

    /// Renders over `scope`, a JSON object of the top-level names, spending `budget`
    /// (shared by the templates of one event). Once it is spent, what is left renders short
    /// or empty, and [`Budget::spent`] says why.
    pub fn render(&self, scope: &Value, budget: &Budget) -> String {
        let mut out = String::new();
        render::Run::new(scope, budget).nodes(&self.nodes, &mut out);
        budget.rendered(out.len());
        out
    }
}

/// Parses and renders `source` in one go, on a budget of its own; a template that does not
/// parse renders as its source text.
pub fn render(source: &str, scope: &Value) -> String {
    match Template::parse(source) {
        Ok(template) => template.render(scope, &Budget::default()),
        Err(_) => source.to_string(),
    }
}

#[cfg(test)]
mod tests;
