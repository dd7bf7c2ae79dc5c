//! How large a sealed record each store may hold: the one place that knows every limit.
//!
//! A store's limit is the smaller of what the store takes and what [`SessionKeys::open`]
//! reads back: a value written past it would be stored and then never open, so the
//! conversation would go on from an older copy (or start over) without a word. Saving checks
//! a record against these before anything is written; a record too large for every store a
//! worker binds is refused for that turn and logged as [`TooLarge::NOTE`].
//!
//! [`SessionKeys::open`]: super::SessionKeys::open

use super::Place;

/// What [`SessionKeys::open`](super::SessionKeys::open) reads: a longer value is malformed,
/// so that parsing never costs more than this.
pub const MAX_SEALED_BYTES: usize = 1 << 20;

/// Twilio documents no cookie size limit; browsers and most servers stop at 4096 bytes
/// for a whole `Set-Cookie` (name, value and attributes), so that is our ceiling.
pub const MAX_SET_COOKIE_BYTES: usize = 4096;

/// A Workers KV value: 25 MiB (Cloudflare's KV limits).
pub const KV_VALUE_BYTES: usize = 25 << 20;

/// A SQLite-backed Durable Object's key and value together: 2 MB (Cloudflare's Durable
/// Objects limits; the crate's `wrangler.toml` blocks use `new_sqlite_classes`). The record
/// is one value under a short key; 64 bytes are left for the key and the value's encoding.
pub const OBJECT_ENTRY_BYTES: usize = 2_000_000 - 64;

impl Place {
    /// The most bytes a record sealed for this place may have: the whole `Set-Cookie` for
    /// the cookie; the sealed value for KV and the object, never more than `open` reads.
    ///
    /// ```
    /// use sms_conversation_worker::seal::Place;
    /// assert_eq!(Place::Cookie.limit(), 4096);
    /// // KV takes 25 MiB and an object's entry 2 MB, but a value is opened only up to 1 MiB.
    /// assert_eq!(Place::Kv.limit(), 1 << 20);
    /// assert_eq!(Place::Object.limit(), 1 << 20);
    /// ```
    pub const fn limit(self) -> usize {
        match self {
            Place::Cookie => MAX_SET_COOKIE_BYTES,
            Place::Kv => min(KV_VALUE_BYTES, MAX_SEALED_BYTES),
            Place::Object => min(OBJECT_ENTRY_BYTES, MAX_SEALED_BYTES),
        }
    }

    /// Its name in the log.
    pub fn name(self) -> &'static str {
        match self {
            Place::Cookie => "cookie",
            Place::Kv => "kv",
            Place::Object => "object",
        }
    }

    /// `Ok` when `size` bytes fit [`Place::limit`], else what the log says of it.
    pub fn check(self, size: usize) -> Result<(), TooLarge> {
        if size <= self.limit() {
            Ok(())
        } else {
            Err(TooLarge { size, place: self })
        }
    }
}

const fn min(a: usize, b: usize) -> usize {
    if a < b {
        a
    } else {
        b
    }
}

/// A record too large for the largest store it could go to: it was not written anywhere,
/// and the pair's previous state stays where it was.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TooLarge {
    /// The bytes it would have taken there (for the cookie, the smallest `Set-Cookie` it
    /// made, with its history trimmed).
    pub size: usize,
    /// The store it did not fit.
    pub place: Place,
}

impl TooLarge {
    /// The name of the log line's note (in its `"notes"`).
    pub const NOTE: &'static str = "state_too_large";

    /// The note's text: the size, the limit and the store, e.g.
    /// `6120 bytes, over the cookie's limit of 4096`.
    pub fn detail(&self) -> String {
        let (size, limit, place) = (self.size, self.place.limit(), self.place.name());
        format!("{size} bytes, over the {place}'s limit of {limit}")
    }
}
