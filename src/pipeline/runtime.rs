//! What an isolate builds once ([`Setup`]) and what the runtime lends each webhook
//! ([`Runtime`]).

use std::rc::Rc;

use crate::config::Config;
use crate::conversation::{Budget, Conversation, Converse, HttpClient};
use crate::object_calls::Objects;
use crate::pipeline::LateRace;
use crate::registry::Conversations;
use crate::storage::Memory;
use crate::vars::{ConfigError, Vars};

/// What an isolate builds once from its vars: the core configuration and the conversation.
pub struct Setup {
    /// The core's settings.
    pub config: Config,
    /// The conversation `CONVERSATION` selects.
    pub conversation: Box<dyn Converse>,
}

impl Setup {
    /// Reads the core configuration and the conversation `CONVERSATION` names among
    /// `conversations`.
    pub fn from_vars(vars: &Vars<'_>, conversations: &Conversations) -> Result<Setup, ConfigError> {
        Ok(Setup {
            config: Config::from_vars(vars)?,
            conversation: conversations.select(vars)?,
        })
    }

    /// The same with a conversation of your own, whatever `CONVERSATION` says.
    pub fn with<C: Conversation>(vars: &Vars<'_>) -> Result<Setup, ConfigError> {
        Ok(Setup {
            config: Config::from_vars(vars)?,
            conversation: Box::new(C::new(vars)?),
        })
    }
}

/// What the runtime lends one webhook: the time, the isolate's memory, KV, the worker's
/// vars (for conversations) and an HTTP client.
pub struct Runtime<'a, S> {
    /// Unix seconds, passed in because the WASM runtime has no system clock.
    pub now: u64,
    /// The `CONVERSATIONS` KV namespace, when bound.
    pub kv: Option<&'a S>,
    /// The isolate's memory of the records it answered last.
    pub memory: Option<&'a Memory>,
    /// Vars and secrets by name.
    pub vars: Vars<'a>,
    /// Sends the requests conversations make.
    pub http: Rc<dyn HttpClient>,
    /// The `CONVERSATION_OBJECTS` Durable Object namespace, when bound (never inside an
    /// object itself).
    pub objects: Option<&'a dyn Objects>,
    /// The webhook's answer budget from its arrival (`REPLY_BUDGET_SECONDS`) on the runtime's
    /// clock; `None`: no deadline (tests and tools that call the core directly).
    pub budget: Option<Budget<'a>>,
    /// The race of this webhook's turn against the budget's deadline, run by the adapter's
    /// timer: with KV bound, no objects and the Messages API's credentials, a reply that
    /// outlasts the budget goes late (`pipeline/late.rs`). `None`: the clock alone tells
    /// (natively a turn that ends past the deadline goes late all the same).
    pub late: Option<&'a LateRace>,
}

impl<'a, S> Runtime<'a, S> {
    /// A runtime at `now` with `vars` and `http`, and nothing bound: no KV, no isolate
    /// memory, no objects. Set the fields that differ with `..Runtime::new(…)`.
    pub fn new(now: u64, vars: Vars<'a>, http: Rc<dyn HttpClient>) -> Self {
        Runtime {
            now,
            kv: None,
            memory: None,
            vars,
            http,
            objects: None,
            budget: None,
            late: None,
        }
    }

    /// The same runtime with the budget `budget`: an object's, once the worker's call has
    /// said when its webhook arrived.
    #[cfg(feature = "objects")]
    pub(crate) fn within(&self, budget: Option<Budget<'a>>) -> Runtime<'a, S> {
        Runtime {
            now: self.now,
            kv: self.kv,
            memory: self.memory,
            vars: self.vars,
            http: Rc::clone(&self.http),
            objects: self.objects,
            budget,
            late: self.late,
        }
    }
}
