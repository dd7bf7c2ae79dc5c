//! The `CONVERSATION_OBJECTS` namespace in memory.

use std::cell::{Cell, RefCell};
use std::collections::BTreeMap;
use std::rc::Rc;

use super::{block_on, FakeHttp, MapKv, MapObjectStore};
use crate::conversation::LocalFuture;
use crate::conversation::{Budget, Clock};
use crate::object_calls::{ObjectAnswer, ObjectError, Objects, StartCall, StatusCall, WebhookCall};
use crate::objects::{PairObject, Race};
use crate::pipeline::{Runtime, Setup};
use crate::vars::Vars;

/// The `CONVERSATION_OBJECTS` namespace in memory: one [`MapObjectStore`] per object name,
/// running the objects' own code (the crate's `objects` room).
pub struct LocalObjects {
    setup: Rc<Setup>,
    vars: BTreeMap<String, String>,
    http: Rc<FakeHttp>,
    /// The objects' clock, which the phone sets before each call: an alarm fires at the
    /// object's time, not the isolate's.
    now: Cell<u64>,
    stores: RefCell<BTreeMap<String, Rc<MapObjectStore>>>,
    unreachable: Cell<bool>,
    /// The objects' log lines of late replies, in order.
    late_sends: RefCell<Vec<String>>,
}

impl LocalObjects {
    /// A namespace with no object yet, sharing the phone's setup, vars and fakes as the
    /// worker's bindings would.
    pub(super) fn new(
        setup: Rc<Setup>,
        vars: BTreeMap<String, String>,
        http: Rc<FakeHttp>,
        now: u64,
    ) -> LocalObjects {
        LocalObjects {
            setup,
            vars,
            http,
            now: Cell::new(now),
            stores: RefCell::default(),
            unreachable: Cell::new(false),
            late_sends: RefCell::default(),
        }
    }

    /// The same objects, their storage kept, running the worker set up anew from `vars`
    /// ([`super::TestPhone::with_outbound`]).
    pub(super) fn rebind(&mut self, setup: Rc<Setup>, vars: BTreeMap<String, String>) {
        self.setup = setup;
        self.vars = vars;
    }

    /// Sets the objects' clock (the phone's, before it reaches them).
    pub(crate) fn set_now(&self, now: u64) {
        self.now.set(now);
    }

    /// The storage of object `name`, made empty on first use as a Durable Object's is.
    pub(super) fn store(&self, name: &str) -> Rc<MapObjectStore> {
        Rc::clone(
            self.stores
                .borrow_mut()
                .entry(name.to_string())
                .or_default(),
        )
    }

    /// What the runtime lends an object: the objects' clock, the vars, the phone's fakes (an
    /// object has no KV or isolate memory).
    fn runtime<'a>(
        &'a self,
        lookup: &'a dyn Fn(&str) -> Option<String>,
        clock: Clock<'a>,
    ) -> Runtime<'a, MapKv> {
        Runtime {
            // The objects' clock; each webhook's call says its own deadline.
            budget: Some(Budget::new(u64::MAX, clock)),
            ..Runtime::new(
                self.now.get(),
                Vars::new(lookup),
                Rc::clone(&self.http) as _,
            )
        }
    }

    /// Fires every alarm that is due at the current time; what each one did.
    pub fn fire_alarms(&self) -> Vec<Result<String, ObjectError>> {
        self.due().iter().map(|store| self.alarm(store)).collect()
    }

    /// The stores whose alarm is due, gathered first: an alarm may set the next one.
    fn due(&self) -> Vec<Rc<MapObjectStore>> {
        self.stores
            .borrow()
            .values()
            .filter(|s| s.alarm_at().is_some_and(|at| at <= self.now.get()))
            .cloned()
            .collect()
    }

    /// Fires `store`'s alarm, cleared first as the runtime does before it calls the object.
    fn alarm(&self, store: &MapObjectStore) -> Result<String, ObjectError> {
        store.clear_alarm();
        let lookup = |name: &str| self.vars.get(name).cloned();
        let clock = super::phone::clock(&self.http, self.now.get());
        let rt = self.runtime(&lookup, &clock);
        block_on(PairObject::new(store, &self.setup, &rt).alarm())
    }

    /// When the next alarm is due, if any.
    pub fn next_alarm(&self) -> Option<u64> {
        self.stores
            .borrow()
            .values()
            .filter_map(|s| s.alarm_at())
            .min()
    }

    /// The objects' log lines of the replies they sent late, in order
    /// (`{"event":"late_reply",…}`).
    pub fn late_sends(&self) -> Vec<String> {
        self.late_sends.borrow().clone()
    }

    /// Makes every object unreachable (or reachable again).
    pub fn set_unreachable(&self, unreachable: bool) {
        self.unreachable.set(unreachable);
    }
}

impl LocalObjects {
    /// Runs `run` in the object `name` with its store and runtime, as the namespace would: an
    /// unreachable object fails the call.
    async fn call<T>(
        &self,
        name: &str,
        run: impl AsyncFnOnce(&MapObjectStore, &Runtime<'_, MapKv>) -> Result<T, ObjectError>,
    ) -> Result<T, ObjectError> {
        if self.unreachable.get() {
            return Err(ObjectError::Failed("object unreachable (test)".into()));
        }
        let store = self.store(name);
        let lookup = |var: &str| self.vars.get(var).cloned();
        let clock = super::phone::clock(&self.http, self.now.get());
        run(store.as_ref(), &self.runtime(&lookup, &clock)).await
    }
}

impl Objects for LocalObjects {
    fn webhook<'a>(
        &'a self,
        name: &'a str,
        call: &'a WebhookCall,
    ) -> LocalFuture<'a, Result<ObjectAnswer, ObjectError>> {
        Box::pin(self.call(name, async |store, rt| {
            let object = PairObject::new(store, &self.setup, rt);
            // Nothing runs beside the turn here: the clock alone (the fake calls' delays)
            // tells whether the deadline passed.
            let answered = object.webhook(call, &Race::default()).await?;
            // The object's wait_until: after its answer.
            for task in answered.after_reply {
                let _ = task.work.await;
            }
            if let Some(late) = answered.late {
                self.late_sends.borrow_mut().push(late.log_line());
            }
            Ok(answered.answer)
        }))
    }

    fn start<'a>(
        &'a self,
        name: &'a str,
        call: &'a StartCall,
    ) -> LocalFuture<'a, Result<(u16, String), ObjectError>> {
        Box::pin(self.call(name, async |store, rt| {
            PairObject::new(store, &self.setup, rt).start(call).await
        }))
    }

    fn state<'a>(
        &'a self,
        name: &'a str,
        call: &'a crate::object_calls::StateCall,
    ) -> LocalFuture<'a, Result<(u16, String), ObjectError>> {
        Box::pin(self.call(name, async move |store, rt| {
            #[cfg(feature = "state-api")]
            {
                PairObject::new(store, &self.setup, rt).state(call).await
            }
            #[cfg(not(feature = "state-api"))]
            {
                let _ = (call, store, rt);
                Err(ObjectError::Failed(
                    "built without the state-api feature".into(),
                ))
            }
        }))
    }

    fn status<'a>(
        &'a self,
        name: &'a str,
        call: &'a StatusCall,
    ) -> LocalFuture<'a, Result<(), ObjectError>> {
        Box::pin(self.call(name, async |store, rt| {
            let object = PairObject::new(store, &self.setup, rt);
            object.status(call).await.map(|_| ())
        }))
    }
}
