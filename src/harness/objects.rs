//! A Durable Object's storage and alarm in memory (the objects' test double), beside the
//! in-memory KV: the native test phone runs the objects' own code on it.

use std::cell::{Cell, RefCell};
use std::collections::BTreeMap;

use crate::objects::ObjectStore;
use crate::storage::StoreError;

/// An object's storage and alarm in memory, for native tests.
#[derive(Debug, Default)]
pub struct MapObjectStore {
    entries: RefCell<BTreeMap<String, String>>,
    alarm: Cell<Option<u64>>,
    failing: Cell<bool>,
}

impl MapObjectStore {
    /// The alarm's time, when one is set.
    pub fn alarm_at(&self) -> Option<u64> {
        self.alarm.get()
    }

    /// The alarm fired: it is no longer set (as Workers does before calling `alarm()`).
    pub fn clear_alarm(&self) {
        self.alarm.set(None);
    }

    /// Makes every call fail (or work again).
    pub fn set_failing(&self, failing: bool) {
        self.failing.set(failing);
    }

    /// The keys stored.
    pub fn keys(&self) -> Vec<String> {
        self.entries.borrow().keys().cloned().collect()
    }

    /// Fails every call when made to fail, as an unreachable storage would.
    fn check(&self) -> Result<(), StoreError> {
        if self.failing.get() {
            return Err(StoreError::Failed(
                "object storage is failing (test)".into(),
            ));
        }
        Ok(())
    }
}

impl ObjectStore for MapObjectStore {
    async fn get(&self, key: &str) -> Result<Option<String>, StoreError> {
        self.check()?;
        Ok(self.entries.borrow().get(key).cloned())
    }
    async fn put(&self, key: &str, value: &str) -> Result<(), StoreError> {
        self.check()?;
        self.entries.borrow_mut().insert(key.into(), value.into());
        Ok(())
    }
    async fn delete(&self, key: &str) -> Result<(), StoreError> {
        self.check()?;
        self.entries.borrow_mut().remove(key);
        Ok(())
    }
    async fn set_alarm(&self, at: u64) -> Result<(), StoreError> {
        self.check()?;
        self.alarm.set(Some(at));
        Ok(())
    }
    async fn delete_alarm(&self) -> Result<(), StoreError> {
        self.check()?;
        self.alarm.set(None);
        Ok(())
    }
}
