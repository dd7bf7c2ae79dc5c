//! Saving a pair's record after a webhook: the cookie (spilled to KV behind a pointer, or
//! trimmed, when it outgrows [`MAX_SET_COOKIE_BYTES`]), the isolate's memory, and the KV
//! writes to run after the reply; or nothing at all, when the record is too large for the
//! largest store bound ([`Place::limit`]).

use std::rc::Rc;

use super::{Change, KvWrite, Loaded, Saved, Storage, Store};
use crate::record::Record;
#[cfg(doc)]
use crate::seal::MAX_SET_COOKIE_BYTES;
use crate::seal::{self, new_spill_key, Place, Pointer, Purpose, SealError, TooLarge};

/// What the cookie can carry of a record.
enum Cookie {
    /// This `Set-Cookie`: the record, a trimmed copy of it, or a pointer to it in KV.
    Set(String),
    /// This `Set-Cookie`, holding the record whole, sealed anew as this value (expiring
    /// then), which the isolate's memory keeps.
    Sealed(String, (String, u64)),
    /// None: Twilio keeps the cookie it has.
    Keep,
    /// None fits: the smallest `Set-Cookie` made had this many bytes.
    TooLarge(usize),
}

impl<S: Store> Storage<'_, S> {
    /// Seals `record` into the cookie and says what to write; `loaded` is what
    /// [`Storage::load`] returned for this webhook. The record stays whole: a cookie too
    /// small for it carries a trimmed copy.
    ///
    /// A counted record too large for the largest store bound (KV when it is, else the
    /// cookie; inside the pair's object, the object judges, see `objects/storage.rs`) is
    /// written nowhere and not remembered: [`Saved::too_large`] says why, and the pair's
    /// previous state stays where it was, so its next message goes on from there.
    pub fn save(&self, record: &Record, change: Change, loaded: &Loaded) -> Saved {
        self.saving(record, None, change, loaded)
    }

    /// [`Storage::save`] of a shared record: the isolate's memory keeps this copy rather
    /// than one of its own (a 10-turn history is some 40 allocations).
    pub(crate) fn save_shared(
        &self,
        record: &Rc<Record>,
        change: Change,
        loaded: &Loaded,
    ) -> Saved {
        self.saving(record, Some(record), change, loaded)
    }

    fn saving(
        &self,
        record: &Record,
        shared: Option<&Rc<Record>>,
        change: Change,
        loaded: &Loaded,
    ) -> Saved {
        if change == Change::Reset {
            return self.forget(record, loaded);
        }
        let counted = change == Change::Counted;
        let (saved, cookie_size, sealed) = self.sealed(record, loaded, counted);
        if !counted {
            return saved;
        }
        if let Some(too_large) = self.too_large(&saved, cookie_size) {
            return Saved {
                too_large: Some(too_large),
                ..Saved::default()
            };
        }
        if let Some((memory, key)) = self.memory() {
            let kept = shared.map_or_else(|| Rc::new(record.clone()), Rc::clone);
            memory.remember_sealed(key, kept, sealed);
        }
        saved
    }

    /// The cookie and the KV writes for `record`, the smallest cookie made when none fit, and
    /// the value sealed anew when the cookie holds the record whole (and its expiry).
    fn sealed(
        &self,
        record: &Record,
        loaded: &Loaded,
        counted: bool,
    ) -> (Saved, Option<usize>, Option<(String, u64)>) {
        let mut saved = Saved::default();
        // The KV copy is sealed once, before any trimming for the cookie, and serves both the
        // pair's entry and a spill. KV never goes backwards where the isolate knows better.
        let newer_known = loaded
            .remembered
            .as_ref()
            .is_some_and(|m| m.seq > record.seq);
        let kv_value = (self.kv().is_some() && counted && !newer_known)
            .then(|| self.seal_for_kv(record))
            .and_then(|sealed| sealed.map_err(|e| saved.error = Some(e)).ok());
        let cookie = self.seal_cookie(
            record,
            loaded,
            counted,
            kv_value.as_deref(),
            &mut saved.writes,
        );
        let (mut cookie_size, mut sealed) = (None, None);
        match cookie {
            Ok(Cookie::Set(cookie)) => saved.set_cookie = Some(cookie),
            Ok(Cookie::Sealed(cookie, value)) => {
                saved.set_cookie = Some(cookie);
                sealed = Some(value);
            }
            Ok(Cookie::Keep) => {}
            Ok(Cookie::TooLarge(size)) => cookie_size = Some(size),
            Err(e) => saved.error = Some(e),
        }
        if let Some(value) = kv_value {
            // Written on every counted message, so a lost cookie is recovered exactly.
            saved.writes.push(self.pair_write(value));
        }
        (saved, cookie_size, sealed)
    }

    /// Whether what [`Storage::sealed`] made leaves the record nowhere it could be read back
    /// from: a KV value over [`Place::Kv`]'s limit when KV is bound (the largest store the
    /// worker writes), no cookie at all when only the cookie is. Inside the pair's object,
    /// only KV's check applies: the object is larger than the cookie and checks itself.
    fn too_large(&self, saved: &Saved, cookie_size: Option<usize>) -> Option<TooLarge> {
        if self.kv().is_some() {
            return saved.writes.iter().find_map(|write| match write {
                KvWrite::Put { value, .. } => Place::Kv.check(value.len()).err(),
                KvWrite::Delete { .. } => None,
            });
        }
        let cookie_only = self.object.is_none();
        cookie_size.filter(|_| cookie_only).map(|size| TooLarge {
            size,
            place: Place::Cookie,
        })
    }

    /// The pair's KV entry holding `record`, sealed as a webhook seals it, valid until
    /// `expires_at`: for a record changed outside a webhook (the state API). The inner `Err`
    /// when it is over [`Place::Kv`]'s limit: then nothing is to be written.
    #[cfg(state_api)]
    pub(crate) fn pair_entry(
        &self,
        record: &Record,
        expires_at: u64,
    ) -> Result<Result<KvWrite, TooLarge>, SealError> {
        let s = self.settings;
        let value = s
            .keys
            .seal(record, Purpose::Kv, &self.pair, expires_at, s.encrypt)?;
        Ok(Place::Kv
            .check(value.len())
            .map(|()| self.pair_write(value)))
    }

    /// A pointer cookie to a fresh KV key holding nothing yet, and the key: for a reply that
    /// goes late (KV alone), whose record is written there once the turn ends. The pair's next
    /// webhook follows the pointer, so it reads KV before it trusts the cookie. Its summary is
    /// `record` whole when that fits (else without turns and state): what the next webhook
    /// goes on from should the key not be in KV yet. `None` when no key or cookie could be
    /// made.
    pub fn pending_cookie(&self, record: &Record) -> Option<(String, String)> {
        let s = self.settings;
        let key = new_spill_key()?;
        let since = record.last_seen.max(self.now);
        let expires_at = since.saturating_add(s.conversation_ttl_seconds);
        [record.clone(), record.summary()]
            .into_iter()
            .find_map(|summary| {
                let pointer = Pointer {
                    key: key.clone(),
                    summary,
                };
                let sealed = s
                    .keys
                    .seal_pointer(&pointer, &self.pair, expires_at, s.encrypt);
                self.fitting_cookie(&sealed.ok()?).ok()
            })
            .map(|cookie| (key, cookie))
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
        if self.kv().is_some() {
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
            ..Saved::default()
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
    ) -> Result<Cookie, SealError> {
        let expires_at = record
            .last_seen
            .saturating_add(self.settings.conversation_ttl_seconds);
        if expires_at <= self.now {
            // A retry of a record idle past the cookie's life (recovered from KV): a cookie
            // that no longer opens is worse than Twilio keeping what it has.
            return Ok(Cookie::Keep);
        }
        let mut size = match self.whole_cookie(record, expires_at)? {
            Ok(cookie) => return Ok(cookie),
            Err(size) => size,
        };
        if self.kv().is_some() {
            let spilled = self.spill(record, loaded, counted, kv_value, expires_at, writes)?;
            if let Some(cookie) = spilled {
                return Ok(Cookie::Set(cookie));
            }
        }
        let mut trimmed = record.clone();
        while trimmed.drop_oldest_turn() {
            size = match self.record_cookie(&trimmed, expires_at)?.1 {
                Ok(cookie) => return Ok(Cookie::Set(cookie)),
                Err(size) => size,
            };
        }
        // Only a conversation's own state can grow this large; no cookie beats a broken one.
        Ok(Cookie::TooLarge(size))
    }

    /// The `Set-Cookie` holding `record` whole, or its size when it does not fit. The cookie
    /// the isolate sealed for the same record before is handed out again: same record, same
    /// expiry, same payload (a retry's answer is the first one's, byte for byte), for no MAC,
    /// cipher or encoding.
    fn whole_cookie(
        &self,
        record: &Record,
        expires_at: u64,
    ) -> Result<Result<Cookie, usize>, SealError> {
        #[cfg(cookie_memory)]
        if let Some((memory, key)) = self.memory() {
            let s = self.settings;
            let again = memory.sealed_for(key, record, |value, sealed_until| {
                (sealed_until == expires_at && s.keys.seals_alike(value, s.encrypt))
                    .then(|| self.fitting_cookie(value))
            });
            if let Some(cookie) = again.flatten() {
                return Ok(cookie.map(Cookie::Set));
            }
        }
        let (sealed, cookie) = self.record_cookie(record, expires_at)?;
        if cfg!(cookie_memory) && self.memory.is_some() {
            return Ok(cookie.map(|cookie| Cookie::Sealed(cookie, (sealed, expires_at))));
        }
        Ok(cookie.map(Cookie::Set))
    }

    /// The value sealed from `record` itself, and the `Set-Cookie` holding it or its size
    /// when it does not fit.
    fn record_cookie(
        &self,
        record: &Record,
        expires_at: u64,
    ) -> Result<(String, Result<String, usize>), SealError> {
        let s = self.settings;
        let sealed = s
            .keys
            .seal(record, Purpose::Cookie, &self.pair, expires_at, s.encrypt)?;
        let cookie = self.fitting_cookie(&sealed);
        Ok((sealed, cookie))
    }

    /// A `Set-Cookie` for `sealed`, or its size when it is over [`Place::Cookie`]'s limit.
    fn fitting_cookie(&self, sealed: &str) -> Result<String, usize> {
        let cookie = seal::set_cookie(sealed, self.settings.cookie_max_age());
        Place::Cookie
            .check(cookie.len())
            .map(|()| cookie)
            .map_err(|e| e.size)
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
        let Ok(cookie) = self.fitting_cookie(&sealed) else {
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
