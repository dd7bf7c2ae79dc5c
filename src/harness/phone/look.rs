//! Looking at the pair's record, as the worker would find it.

use serde::de::DeserializeOwned;

use super::TestPhone;
use crate::harness::block_on;
use crate::objects::ObjectStore;
use crate::record::Record;
use crate::seal::{Opened, Place};
use crate::storage::Storage;

impl TestPhone {
    /// The newest record the worker can find for the pair (the object's, or else the
    /// cookie, memory, KV).
    pub fn record(&self) -> Record {
        self.object_record().unwrap_or_else(|| self.stored_record())
    }

    /// The record the pair's object keeps, when the objects are bound and it has one that
    /// opens: with the objects, it is newer than any cookie.
    fn object_record(&self) -> Option<Record> {
        let keys = &self.setup.config.storage.keys;
        let store = self
            .objects
            .as_ref()?
            .store(&keys.object_name(&self.pair()));
        let sealed = block_on(ObjectStore::get(store.as_ref(), "record"))
            .ok()
            .flatten()?;
        match keys.open(&sealed, Place::Object, &self.pair(), self.now) {
            Ok(Opened::Record(record)) => Some(record),
            _ => None,
        }
    }

    /// The record the worker would load from the cookie the phone would send, the isolate's
    /// memory and KV.
    fn stored_record(&self) -> Record {
        let storage = Storage::new(
            &self.setup.config.storage,
            self.pair(),
            self.now,
            self.kv.as_ref(),
            Some(&self.memory),
        );
        std::rc::Rc::unwrap_or_clone(block_on(storage.load(self.cookie())).record)
    }

    /// The conversation's count.
    pub fn count(&self) -> u64 {
        self.record().count
    }

    /// The conversation's own state, read as `T` (its `Default` when it holds none).
    pub fn state<T: DeserializeOwned + Default>(&self) -> T {
        let json = self.record().state.json;
        if json.is_empty() {
            return T::default();
        }
        serde_json::from_str(&json).unwrap_or_default()
    }
}
