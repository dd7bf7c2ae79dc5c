//! Sealing a conversation's record into a cookie or a KV value, and opening it again.
//!
//! A sealed value is `<header>.<key id>.<payload>.<mac>`, each part URL-safe base64 without
//! padding (Twilio rejects cookies with control characters; base64url has none):
//! - `header` is the format version (`2`), the **purpose** (`c` a cookie holding the record,
//!   `p` a cookie pointing at a record spilled to KV, `k` a KV entry, `o` the record a pair's
//!   Durable Object keeps) and the protection
//!   (`s` signed with HMAC-SHA256, `e` encrypted with ChaCha20-Poly1305). The MAC or AEAD
//!   covers it, so a value sealed for one purpose never opens as another. The first
//!   release's `v1`/`e1`/`p1` still open (see `legacy.rs`).
//! - `key id` names the `SESSION_SECRET` key that sealed it, so rotation needs no trial
//!   and error: the first key seals, every configured key opens.
//! - `payload` is `(expires_at, record)` (or `(expires_at, kv key, summary)` for a pointer)
//!   in postcard's compact binary format; encrypted: a random nonce and the ciphertext.
//!   The expiry slides with each message, so an old value cannot be replayed forever.
//! - `mac` is the HMAC or the Poly1305 tag over the header, key id and payload **and** the
//!   AccountSid and To/From pair. Twilio's `X-Twilio-Signature` does not cover cookies, so
//!   without the pair in the MAC a cookie could be carried into another conversation.
//!
//! Opening never panics: anything that is not a value sealed for this pair, purpose and
//! time is an [`OpenError`], and the caller starts afresh (or looks in KV).

mod cookie;
mod format;
mod keys;
pub(crate) mod legacy;
mod limits;
mod protect;

use std::fmt;

pub use cookie::{our_cookie_values, set_cookie, COOKIE_NAME};
pub use keys::{SessionKeys, MIN_SECRET_LEN};
pub use limits::{
    TooLarge, KV_VALUE_BYTES, MAX_SEALED_BYTES, MAX_SET_COOKIE_BYTES, OBJECT_ENTRY_BYTES,
};

use crate::record::{Pair, Record};
use format::{standing_tail, Format, PointerPayload};
use protect::payload;

/// A jar holds one of our cookies; a header with hundreds of them is not worth a MAC each.
const MAX_COOKIES_TRIED: usize = 8;
const HMAC_BYTES: usize = 32;
const TAG_BYTES: usize = 16;
const NONCE_BYTES: usize = 12;

/// What a sealed value is for. Part of what the MAC covers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Purpose {
    /// A cookie holding the record.
    Cookie,
    /// A cookie pointing at a record spilled to KV.
    Pointer,
    /// A KV entry (the pair's entry or a spill).
    Kv,
    /// The record a pair's Durable Object keeps.
    Object,
}

impl Purpose {
    fn letter(self) -> char {
        match self {
            Purpose::Cookie => 'c',
            Purpose::Pointer => 'p',
            Purpose::Kv => 'k',
            Purpose::Object => 'o',
        }
    }
}

/// Every purpose, for a header's letter to name one.
const PURPOSES: [Purpose; 4] = [
    Purpose::Cookie,
    Purpose::Pointer,
    Purpose::Kv,
    Purpose::Object,
];

/// Where a value is found or kept, which decides the purposes it may have and how large it
/// may be ([`Place::limit`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Place {
    /// The `Cookie` header: a record or a pointer.
    Cookie,
    /// A KV value.
    Kv,
    /// A Durable Object's storage.
    Object,
}

/// Why a sealed value did not open. Every case means the same to the webhook (start
/// afresh, or look in KV); the distinction is for tests and logs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OpenError {
    /// Not of the `header.kid.payload.mac` shape, or not base64url, or too long.
    Malformed,
    /// A header this build does not read, or a purpose not allowed where it was found.
    UnknownVersion,
    /// Sealed with a key that is no longer in `SESSION_SECRET`.
    UnknownKey,
    /// Tampered with, or sealed for another AccountSid / To / From.
    BadMac,
    /// Authentic but past its expiry.
    Expired,
    /// Authentic but its payload is not a record this build understands.
    BadPayload,
}

/// Why a record could not be sealed. Rare (a runtime without randomness), and never papered
/// over: the caller stores nothing rather than an empty value, and logs this.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SealError {
    /// The record did not serialise.
    Encode,
    /// No randomness for the nonce: an encrypted value is not sealed at all rather than
    /// risk a repeated nonce.
    NoRandomness,
    /// The AEAD refused the plaintext (beyond its length limit).
    Encrypt,
}

impl fmt::Display for SealError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            SealError::Encode => "the record did not serialise",
            SealError::NoRandomness => "no randomness for the nonce",
            SealError::Encrypt => "encryption failed",
        })
    }
}

/// Where a record was spilled in KV when it outgrew the cookie.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pointer {
    /// The KV key of the spilled record.
    pub key: String,
    /// [`Record::summary`]: enough to keep the count exact and to recognise a retry when KV
    /// cannot be read.
    pub summary: Record,
}

/// What a sealed value held.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Opened {
    /// The record itself.
    Record(Record),
    /// A pointer to it in KV.
    Pointer(Pointer),
}

impl Opened {
    /// The sequence number of the record it is or points to.
    pub fn seq(&self) -> u64 {
        match self {
            Opened::Record(r) => r.seq,
            Opened::Pointer(p) => p.summary.seq,
        }
    }
}

impl SessionKeys {
    /// Seals `record` for `pair` and `purpose` ([`Purpose::Cookie`] or [`Purpose::Kv`]),
    /// valid until `expires_at` (Unix seconds); encrypted when `encrypt`.
    ///
    /// # Errors
    /// [`SealError`] when it cannot be sealed (no randomness for an encrypted one).
    ///
    /// ```
    /// use sms_conversation_worker::seal::{Opened, Place, Purpose, SessionKeys};
    /// use sms_conversation_worker::record::{Pair, Record};
    /// let keys = SessionKeys::from_secrets("0123456789abcdef0123456789abcdef").unwrap();
    /// let pair = Pair { account_sid: "AC1", to: "+15005550006", from: "+14155550100" };
    /// let mut record = Record::default();
    /// record.count_message("SM1", 1_000);
    /// for encrypt in [false, true] {
    ///     let sealed = keys.seal(&record, Purpose::Cookie, &pair, 1_000 + 14_400, encrypt).unwrap();
    ///     assert_eq!(keys.open(&sealed, Place::Cookie, &pair, 2_000), Ok(Opened::Record(record.clone())));
    ///     // Sealed for a cookie, it is no KV entry.
    ///     assert!(keys.open(&sealed, Place::Kv, &pair, 2_000).is_err());
    /// }
    /// ```
    pub fn seal(
        &self,
        record: &Record,
        purpose: Purpose,
        pair: &Pair<'_>,
        expires_at: u64,
        encrypt: bool,
    ) -> Result<String, SealError> {
        let payload = payload(
            &(expires_at, record, standing_tail(&record.standing)),
            encrypt,
        )?;
        self.primary().seal(purpose, payload, pair, encrypt)
    }

    /// Seals a pointer to a record stored in KV; encrypted when `encrypt`, like the record.
    pub fn seal_pointer(
        &self,
        pointer: &Pointer,
        pair: &Pair<'_>,
        expires_at: u64,
        encrypt: bool,
    ) -> Result<String, SealError> {
        let standing = standing_tail(&pointer.summary.standing);
        let pointer = PointerPayload(expires_at, &pointer.key, pointer.summary.clone());
        let payload = payload(&(pointer, standing), encrypt)?;
        self.primary()
            .seal(Purpose::Pointer, payload, pair, encrypt)
    }

    /// Opens a value found at `place` for `pair` at time `now` (Unix seconds).
    pub fn open(
        &self,
        sealed: &str,
        place: Place,
        pair: &Pair<'_>,
        now: u64,
    ) -> Result<Opened, OpenError> {
        self.open_expiring(sealed, place, pair, now)
            .map(|(opened, _)| opened)
    }

    /// [`SessionKeys::open`], with the value's expiry (Unix seconds): until then, the same
    /// value opens to the same record, which the isolate's memory uses.
    pub(crate) fn open_expiring(
        &self,
        sealed: &str,
        place: Place,
        pair: &Pair<'_>,
        now: u64,
    ) -> Result<(Opened, u64), OpenError> {
        let parts = Parts::split(sealed)?;
        let format = Format::parse(parts.header, place)?;
        let key = self.by_id(parts.key_id).ok_or(OpenError::UnknownKey)?;
        // Room for any tag we make (and a little more, so an overlong one is malformed
        // rather than cut): decoded on the stack.
        let mut mac_buf = [0u8; HMAC_BYTES + 3];
        let mac = decode_mac(parts.mac, &mut mac_buf)?;
        let mut payload = crate::b64::from_url(parts.payload).ok_or(OpenError::Malformed)?;
        let plain = if format.encrypted {
            key.decrypt(parts.signed, &mut payload, mac, pair)?
        } else {
            key.verify(parts.signed, mac, pair)?;
            &payload[..]
        };
        let (expires_at, opened) = format.decode(plain)?;
        if now >= expires_at {
            return Err(OpenError::Expired);
        }
        Ok((opened, expires_at))
    }

    /// Whether a value these keys opened or sealed before still opens with them: its key is
    /// still configured. (The isolate's memory keeps such values; the keys of an isolate do
    /// not change, but a [`crate::storage::Memory`] could outlive them in a test.)
    #[cfg(cookie_memory)]
    pub(crate) fn still_opens(&self, sealed: &str) -> bool {
        Parts::split(sealed).is_ok_and(|p| self.by_id(p.key_id).is_some())
    }

    /// Whether sealing now, `encrypt`ed or not, would make a value of the same header and
    /// key as `sealed`: then `sealed` may be handed out again for the same record.
    #[cfg(cookie_memory)]
    pub(crate) fn seals_alike(&self, sealed: &str, encrypt: bool) -> bool {
        Parts::split(sealed).is_ok_and(|p| {
            p.key_id == self.primary().id
                && Format::parse(p.header, Place::Cookie).is_ok_and(|f| f.encrypted == encrypt)
        })
    }

    /// Opens the best of our cookies in a `Cookie` header for `pair`.
    ///
    /// A jar can hold duplicates of our cookie (a proxy, a client that appended instead of
    /// replacing); the one with the highest sequence number wins.
    pub fn open_cookie_header(
        &self,
        cookie_header: &str,
        pair: &Pair<'_>,
        now: u64,
    ) -> Option<Opened> {
        cookie_values_tried(cookie_header)
            .filter_map(|value| self.open(value, Place::Cookie, pair, now).ok())
            .max_by_key(Opened::seq)
    }
}

/// The parts of a sealed value, borrowed from it.
struct Parts<'s> {
    /// `<header>.<key id>.<payload>`: what the MAC covers.
    signed: &'s str,
    header: &'s str,
    key_id: &'s str,
    payload: &'s str,
    mac: &'s str,
}

impl<'s> Parts<'s> {
    /// Splits `<header>.<key id>.<payload>.<mac>`; anything else, or anything too long to
    /// be ours, is malformed.
    fn split(sealed: &'s str) -> Result<Self, OpenError> {
        if sealed.len() > MAX_SEALED_BYTES {
            return Err(OpenError::Malformed);
        }
        let (signed, mac) = sealed.rsplit_once('.').ok_or(OpenError::Malformed)?;
        let mut parts = signed.splitn(3, '.');
        let (Some(header), Some(key_id), Some(payload)) =
            (parts.next(), parts.next(), parts.next())
        else {
            return Err(OpenError::Malformed);
        };
        Ok(Parts {
            signed,
            header,
            key_id,
            payload,
            mac,
        })
    }
}

/// The values of our cookies in a `Cookie` header worth opening (at most
/// [`MAX_COOKIES_TRIED`]).
pub(crate) fn cookie_values_tried(cookie_header: &str) -> impl Iterator<Item = &str> {
    cookie::cookie_values(cookie_header).take(MAX_COOKIES_TRIED)
}

/// Whether two sealed values are the same: the MAC (or tag) compared in constant time, the
/// rest as plain bytes (a header, a key id and a payload that the MAC covers; comparing the
/// whole of a 2 KB value in constant time took longer than opening it).
#[cfg(cookie_memory)]
pub(crate) fn same_value(known: &str, presented: &str) -> bool {
    use subtle::ConstantTimeEq;
    match (known.rsplit_once('.'), presented.rsplit_once('.')) {
        (Some((known, known_mac)), Some((signed, mac))) => {
            crate::fields::same_bytes(known.as_bytes(), signed.as_bytes())
                && bool::from(known_mac.as_bytes().ct_eq(mac.as_bytes()))
        }
        _ => false,
    }
}

/// The MAC part decoded into `buf`; longer than `buf` is malformed.
fn decode_mac<'b>(mac: &str, buf: &'b mut [u8; HMAC_BYTES + 3]) -> Result<&'b [u8], OpenError> {
    let len = crate::b64::from_url_into(mac, buf).ok_or(OpenError::Malformed)?;
    Ok(&buf[..len])
}

/// A fresh, unguessable KV key for a record that outgrew its cookie; `None` only when the
/// runtime has no randomness, and then the caller trims instead of spilling.
pub fn new_spill_key() -> Option<String> {
    let mut id = [0u8; 16];
    getrandom::fill(&mut id).ok()?;
    Some(format!("spill:{}", crate::b64::url(&id)))
}

#[cfg(test)]
mod tests;
