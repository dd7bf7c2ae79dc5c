//! The `CONVERSATIONS` KV namespace in memory.

use std::cell::{Cell, RefCell};
use std::collections::BTreeMap;

use crate::storage::{KvWrite, Store, StoreError};

/// A KV namespace in memory, that can be made to fail.
#[derive(Debug, Default)]
pub struct MapKv {
    entries: RefCell<BTreeMap<String, String>>,
    failing: Cell<bool>,
}

impl MapKv {
    /// Makes every read fail (or work again).
    pub fn set_failing(&self, failing: bool) {
        self.failing.set(failing);
    }

    /// Runs writes as the worker does after the reply.
    pub fn apply(&self, writes: Vec<KvWrite>) {
        let mut entries = self.entries.borrow_mut();
        for write in writes {
            match write {
                KvWrite::Put { key, value, .. } => entries.insert(key, value),
                KvWrite::Delete { key } => entries.remove(&key),
            };
        }
    }

    /// The keys stored.
    pub fn keys(&self) -> Vec<String> {
        self.entries.borrow().keys().cloned().collect()
    }

    /// Stores `value` under `key` directly.
    pub fn put(&self, key: &str, value: &str) {
        self.entries.borrow_mut().insert(key.into(), value.into());
    }
}

impl Store for MapKv {
    async fn get(&self, key: &str) -> Result<Option<String>, StoreError> {
        if self.failing.get() {
            return Err(StoreError::Failed("KV is failing (test)".into()));
        }
        Ok(self.entries.borrow().get(key).cloned())
    }
}
