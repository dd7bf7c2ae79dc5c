//! Saving a pair's record after a webhook: the cookie (spilled to KV behind a pointer, or
//! trimmed, when it outgrows [`MAX_SET_COOKIE_BYTES`]), the isolate's memory, and the KV
//! writes to run after the reply.

use super::{Change, KvWrite, Loaded, Saved, Storage, Store};
use crate::record::Record;
use crate::seal::{self, new_spill_key, Pointer, Purpose, SealError, MAX_SET_COOKIE_BYTES};

impl<S: Store> Storage<'_, S> {
    /// Seals `record` into the cookie and says what to write; `loaded` is what
    /// [`Storage::load`] returned for this webhook. The record stays whole: a cookie too
    /// small for it carries a trimmed copy.
    pub fn save(&self, record: &Record, change: Change, loaded: &Loaded) -> Saved {
        if change == Change::Reset {
            return self.forget(record, loaded);
        }
        let mut saved = Saved::default();
        let counted = change == Change::Counted;
        // The KV copy is sealed once, before any trimming for the cookie, and serves both the
        // pair's entry and a spill. KV never goes backwards where the isolate knows better.
        let newer_known = loaded
            .remembered
            .as_ref()
            .is_some_and(|m| m.seq > record.seq);
        let kv_value = (self.kv.is_some() && counted && !newer_known)
            .then(|| self.seal_for_kv(record))
            .and_then(|sealed| sealed.map_err(|e| saved.error = Some(e)).ok());
        let cookie = self.seal_cookie(
            record,
            loaded,
            counted,
            kv_value.as_deref(),
            &mut saved.writes,
        );
        saved.set_cookie = cookie.unwrap_or_else(|e| {
            saved.error = Some(e);
            None
        });
        if counted {
            if let Some(memory) = self.memory {
                memory.remember(&self.pair, record);
            }
        }
        if let Some(value) = kv_value {
            // Written on every counted message, so a lost cookie is recovered exactly.
            saved.writes.push(self.pair_write(value));
        }
        saved
    }

    /// The pair's KV entry holding `record`, sealed as a webhook seals it, valid until
    /// `expires_at`: for a record changed outside a webhook (the state API).
    #[cfg(state_api)]
    pub(crate) fn pair_entry(
        &self,
        record: &Record,
        expires_at: u64,
    ) -> Result<KvWrite, SealError> {
        let s = self.settings;
        let value = s
            .keys
            .seal(record, Purpose::Kv, &self.pair, expires_at, s.encrypt)?;
        Ok(self.pair_write(value))
    }

    /// The write of `value` under the pair's (current) KV key.
    fn pair_write(&self, value: String) -> KvWrite {
        KvWrite::Put {
            key: self.settings.keys.pair_keys(&self.pair).swap_remove(0),
            value,
            ttl_seconds: self.settings.kv_ttl_seconds,
        }
    }

    /// A reset: the isolate remembers the empty `record`, the cookie is cleared and the
    /// pair's KV entries (and its spill) are deleted.
    fn forget(&self, record: &Record, loaded: &Loaded) -> Saved {
        if let Some(memory) = self.memory {
            memory.remember(&self.pair, record);
        }
        let mut writes = Vec::new();
        if self.kv.is_some() {
            let keys = self.settings.keys.pair_keys(&self.pair);
            let spill = loaded.spill_key.iter().cloned();
            writes = spill
                .chain(keys)
                .map(|key| KvWrite::Delete { key })
                .collect();
        }
        Saved {
            set_cookie: Some(seal::set_cookie("", 0)),
            writes,
            error: None,
        }
    }

    fn seal_for_kv(&self, record: &Record) -> Result<String, SealError> {
        let s = self.settings;
        let expires_at = record.last_seen.saturating_add(s.kv_ttl_seconds);
        s.keys
            .seal(record, Purpose::Kv, &self.pair, expires_at, s.encrypt)
    }

    /// The `Set-Cookie` for `record`, never over [`MAX_SET_COOKIE_BYTES`]: a record that
    /// does not fit is spilled to KV behind a pointer cookie when KV is bound, or loses its
    /// oldest turns until it fits.
    fn seal_cookie(
        &self,
        record: &Record,
        loaded: &Loaded,
        counted: bool,
        kv_value: Option<&str>,
        writes: &mut Vec<KvWrite>,
    ) -> Result<Option<String>, SealError> {
        let expires_at = record
            .last_seen
            .saturating_add(self.settings.conversation_ttl_seconds);
        if expires_at <= self.now {
            // A retry of a record idle past the cookie's life (recovered from KV): a cookie
            // that no longer opens is worse than Twilio keeping what it has.
            return Ok(None);
        }
        if let Some(cookie) = self.record_cookie(record, expires_at)? {
            return Ok(Some(cookie));
        }
        if self.kv.is_some() {
            let spilled = self.spill(record, loaded, counted, kv_value, expires_at, writes)?;
            if spilled.is_some() {
                return Ok(spilled);
            }
        }
        let mut trimmed = record.clone();
        while trimmed.drop_oldest_turn() {
            if let Some(cookie) = self.record_cookie(&trimmed, expires_at)? {
                return Ok(Some(cookie));
            }
        }
        // Only a conversation's own state can grow this large; no cookie beats a broken one.
        Ok(None)
    }

    /// The `Set-Cookie` holding `record` itself, when it fits.
    fn record_cookie(&self, record: &Record, expires_at: u64) -> Result<Option<String>, SealError> {
        let s = self.settings;
        let sealed = s
            .keys
            .seal(record, Purpose::Cookie, &self.pair, expires_at, s.encrypt)?;
        Ok(self.fitting_cookie(&sealed))
    }

    /// A `Set-Cookie` for `sealed`, unless it is over [`MAX_SET_COOKIE_BYTES`].
    fn fitting_cookie(&self, sealed: &str) -> Option<String> {
        let cookie = seal::set_cookie(sealed, self.settings.cookie_max_age());
        (cookie.len() <= MAX_SET_COOKIE_BYTES).then_some(cookie)
    }

    /// A pointer cookie for `record`, spilled to KV under the pointer's key (the one the
    /// webhook came with, or a new one); the KV write goes to `writes`.
    fn spill(
        &self,
        record: &Record,
        loaded: &Loaded,
        counted: bool,
        kv_value: Option<&str>,
        expires_at: u64,
        writes: &mut Vec<KvWrite>,
    ) -> Result<Option<String>, SealError> {
        let s = self.settings;
        // A retry's record is in KV already under the pointer's key.
        let write = counted || loaded.spill_key.is_none();
        let Some(key) = loaded.spill_key.clone().or_else(new_spill_key) else {
            return Ok(None);
        };
        let pointer = Pointer {
            key,
            summary: record.summary(),
        };
        let sealed = s
            .keys
            .seal_pointer(&pointer, &self.pair, expires_at, s.encrypt)?;
        let Some(cookie) = self.fitting_cookie(&sealed) else {
            return Ok(None);
        };
        if write {
            let value = match kv_value {
                Some(value) => value.to_string(),
                None => self.seal_for_kv(record)?,
            };
            writes.push(KvWrite::Put {
                key: pointer.key,
                value,
                ttl_seconds: s.kv_ttl_seconds,
            });
        }
        Ok(Some(cookie))
    }
}
