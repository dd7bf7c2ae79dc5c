//! Looking at the pair's record, as the worker would find it.

use serde::de::DeserializeOwned;

use super::TestPhone;
use crate::harness::block_on;
use crate::record::Record;
use crate::storage::Storage;

impl TestPhone {
    /// The newest record the worker can find for the pair (the object's, or else the
    /// cookie, memory, KV).
    pub fn record(&self) -> Record {
        if let Some(objects) = &self.objects {
            let name = self.setup.config.storage.keys.object_name(&self.pair());
            let store = objects.store(&name);
            if let Some(sealed) =
                block_on(crate::objects::ObjectStore::get(store.as_ref(), "record"))
                    .ok()
                    .flatten()
            {
                if let Ok(crate::seal::Opened::Record(r)) = self.setup.config.storage.keys.open(
                    &sealed,
                    crate::seal::Place::Object,
                    &self.pair(),
                    self.now,
                ) {
                    return r;
                }
            }
        }
        let storage = Storage::new(
            &self.setup.config.storage,
            self.pair(),
            self.now,
            self.kv.as_ref(),
            Some(&self.memory),
        );
        block_on(storage.load(self.cookie())).record
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
