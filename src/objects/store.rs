//! The object's own storage and alarm, as the object's steps see them: the Durable Object's
//! storage in the worker, a map in the harness.

use crate::storage::StoreError;

/// The object's own storage and alarm (a map in tests).
#[allow(async_fn_in_trait)] // One thread per isolate: the futures need not be `Send`.
pub(crate) trait ObjectStore {
    /// The value under `key`.
    async fn get(&self, key: &str) -> Result<Option<String>, StoreError>;
    /// Stores `value` under `key`.
    async fn put(&self, key: &str, value: &str) -> Result<(), StoreError>;
    /// Removes `key`.
    async fn delete(&self, key: &str) -> Result<(), StoreError>;
    /// Wakes the object's alarm at `at` (Unix seconds), replacing any alarm set before.
    async fn set_alarm(&self, at: u64) -> Result<(), StoreError>;
    /// Cancels the alarm.
    async fn delete_alarm(&self) -> Result<(), StoreError>;
}
