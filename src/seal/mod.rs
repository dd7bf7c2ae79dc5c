//! Sealing a conversation's record into a cookie or a KV value, and opening it again.
//!
//! A sealed value is `<header>.<key id>.<payload>.<mac>`, each part URL-safe base64 without
//! padding (Twilio rejects cookies with control characters; base64url has none):
//! - `header` is the format version (`2`), the **purpose** (`c` a cookie holding the record,
//!   `p` a cookie pointing at a record spilled to KV, `k` a KV entry, `o` the record a pair's
//!   Durable Object keeps) and the protection
//!   (`s` signed with HMAC-SHA256, `e` encrypted with ChaCha20-Poly1305). The MAC or AEAD
//!   covers it, so a value sealed for one purpose never opens as another. The first
//!   release's `v1`/`e1`/`p1` still open (see [`legacy`]).
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
mod keys;
pub(crate) mod legacy;

use std::fmt;

use chacha20poly1305::aead::AeadInOut;
use chacha20poly1305::{Nonce, Tag};
use hmac::Mac;
use serde::{Deserialize, Serialize};
use subtle::ConstantTimeEq;

pub use cookie::{our_cookie_values, set_cookie, COOKIE_NAME, MAX_SET_COOKIE_BYTES};
pub use keys::{SessionKeys, MIN_SECRET_LEN};

use crate::conversation::Standing;
use crate::fields::length_prefixed;
use crate::record::{Pair, Record};
use keys::SessionKey;

/// Values stored in KV may be far larger than a cookie; this only bounds what we parse.
pub const MAX_SEALED_BYTES: usize = 1 << 20;

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

/// Where a value was found, which decides the purposes it may have.
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

#[derive(Serialize, Deserialize)]
struct PointerPayload<'a>(u64, &'a str, Record);

/// Opens `head`, then the standing of `head`'s record when the value has one (sealed since it
/// existed); `None` for a value sealed before. The objects' deliveries follow the standing as
/// a value of their own, read by builds that keep them (and absent from values sealed by a
/// build without the objects).
fn take_with_standing<'a, T: Deserialize<'a>>(
    plain: &'a [u8],
) -> Result<(T, Option<Standing>), OpenError> {
    let bad = |_| OpenError::BadPayload;
    let (head, rest) = postcard::take_from_bytes::<T>(plain).map_err(bad)?;
    if rest.is_empty() {
        return Ok((head, None));
    }
    #[cfg_attr(not(feature = "objects"), allow(unused_mut, unused_variables))]
    let (mut standing, rest) = postcard::take_from_bytes::<Standing>(rest).map_err(bad)?;
    #[cfg(feature = "objects")]
    if !rest.is_empty() {
        standing.deliveries = postcard::from_bytes(rest).map_err(bad)?;
    }
    Ok((head, Some(standing)))
}

/// The bytes that follow a record: its standing, and the objects' deliveries.
#[cfg(feature = "objects")]
fn standing_tail(standing: &Standing) -> (&Standing, &[crate::conversation::Delivery]) {
    (standing, &standing.deliveries)
}

/// The bytes that follow a record: its standing.
#[cfg(not(feature = "objects"))]
fn standing_tail(standing: &Standing) -> &Standing {
    standing
}

impl Record {
    /// Takes the standing opened with the record; a record sealed before there was one last
    /// heard from the person at its latest message.
    fn stand(&mut self, standing: Option<Standing>) {
        self.standing = standing.unwrap_or_else(|| Standing {
            last_inbound: self.last_seen,
            ..Standing::default()
        });
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
        let format = Format::parse(header, place)?;
        let key = self.by_id(key_id).ok_or(OpenError::UnknownKey)?;
        // Room for any tag we make (and a little more, so an overlong one is malformed
        // rather than cut): decoded on the stack.
        let mut mac_buf = [0u8; HMAC_BYTES + 3];
        let mac_len = crate::b64::from_url_into(mac, &mut mac_buf).ok_or(OpenError::Malformed)?;
        let mac = &mac_buf[..mac_len];
        let mut payload = crate::b64::from_url(payload).ok_or(OpenError::Malformed)?;
        let plain = if format.encrypted {
            key.decrypt(signed, &mut payload, mac, pair)?
        } else {
            if mac.len() != HMAC_BYTES {
                return Err(OpenError::Malformed);
            }
            let tag = key.tag(signed, pair).finalize().into_bytes();
            // Constant time: how many leading bytes matched must not show in the timing.
            if !bool::from(tag.as_slice().ct_eq(mac)) {
                return Err(OpenError::BadMac);
            }
            &payload[..]
        };
        let (expires_at, opened) = format.decode(plain)?;
        if now >= expires_at {
            return Err(OpenError::Expired);
        }
        Ok(opened)
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
        cookie::cookie_values(cookie_header)
            .take(MAX_COOKIES_TRIED)
            .filter_map(|value| self.open(value, Place::Cookie, pair, now).ok())
            .max_by_key(Opened::seq)
    }
}

/// A header this build reads, parsed once.
struct Format {
    encrypted: bool,
    pointer: bool,
    legacy: bool,
}

impl Format {
    fn parse(header: &str, place: Place) -> Result<Format, OpenError> {
        let allowed = |purpose: Purpose| match place {
            Place::Cookie => matches!(purpose, Purpose::Cookie | Purpose::Pointer),
            Place::Kv => purpose == Purpose::Kv,
            Place::Object => purpose == Purpose::Object,
        };
        let (purpose, encrypted, legacy) = match header {
            // The first release: one format for cookies and KV values alike.
            "v1" | "e1" if place != Place::Object => (None, header == "e1", true),
            "p1" => (Some(Purpose::Pointer), false, true),
            _ => {
                let mut chars = header.chars();
                let (Some('2'), Some(p), Some(e), None) =
                    (chars.next(), chars.next(), chars.next(), chars.next())
                else {
                    return Err(OpenError::UnknownVersion);
                };
                let purpose = [
                    Purpose::Cookie,
                    Purpose::Pointer,
                    Purpose::Kv,
                    Purpose::Object,
                ]
                .into_iter()
                .find(|purpose| purpose.letter() == p)
                .ok_or(OpenError::UnknownVersion)?;
                let encrypted = match e {
                    's' => false,
                    'e' => true,
                    _ => return Err(OpenError::UnknownVersion),
                };
                (Some(purpose), encrypted, false)
            }
        };
        if purpose.is_some_and(|p| !allowed(p)) {
            return Err(OpenError::UnknownVersion);
        }
        Ok(Format {
            encrypted,
            pointer: purpose == Some(Purpose::Pointer),
            legacy,
        })
    }

    fn decode(&self, plain: &[u8]) -> Result<(u64, Opened), OpenError> {
        let bad = |_| OpenError::BadPayload;
        Ok(match (self.pointer, self.legacy) {
            (false, false) => {
                let ((exp, mut record), standing) = take_with_standing::<(u64, Record)>(plain)?;
                record.stand(standing);
                (exp, Opened::Record(record))
            }
            (true, false) => {
                let (PointerPayload(exp, key, mut summary), standing) = take_with_standing(plain)?;
                summary.stand(standing);
                let key = key.to_string();
                (exp, Opened::Pointer(Pointer { key, summary }))
            }
            (false, true) => {
                let (exp, old): (u64, legacy::State) = postcard::from_bytes(plain).map_err(bad)?;
                (exp, Opened::Record(old.into()))
            }
            (true, true) => {
                let legacy::PointerPayload(exp, key, old) =
                    postcard::from_bytes(plain).map_err(bad)?;
                let summary = old.into();
                (exp, Opened::Pointer(Pointer { key, summary }))
            }
        })
    }
}

/// The bytes to seal: `value` in postcard's format (a third smaller than JSON, and every
/// byte rides on every webhook), after room for the nonce when it is to be encrypted
/// (in place).
fn payload<T: Serialize>(value: &T, encrypt: bool) -> Result<Vec<u8>, SealError> {
    // Integers, strings and vectors serialise into a Vec; an error is still not an empty
    // payload.
    let plain = postcard::to_allocvec(value).map_err(|_| SealError::Encode)?;
    if !encrypt {
        return Ok(plain);
    }
    // One copy: postcard's `to_extend` would push the bytes one at a time.
    let mut buf = Vec::with_capacity(NONCE_BYTES + plain.len());
    buf.extend_from_slice(&[0; NONCE_BYTES]);
    buf.extend_from_slice(&plain);
    Ok(buf)
}

/// A fresh, unguessable KV key for a record that outgrew its cookie; `None` only when the
/// runtime has no randomness, and then the caller trims instead of spilling.
pub fn new_spill_key() -> Option<String> {
    let mut id = [0u8; 16];
    getrandom::fill(&mut id).ok()?;
    Some(format!("spill:{}", crate::b64::url(&id)))
}

impl SessionKey {
    fn seal(
        &self,
        purpose: Purpose,
        payload: Vec<u8>,
        pair: &Pair<'_>,
        encrypt: bool,
    ) -> Result<String, SealError> {
        let header = format!("2{}{}", purpose.letter(), if encrypt { 'e' } else { 's' });
        if encrypt {
            self.seal_encrypted(&header, payload, pair)
        } else {
            Ok(self.seal_signed(&header, &payload, pair))
        }
    }

    fn start(&self, header: &str, capacity: usize) -> String {
        let mut sealed = String::with_capacity(capacity + 64);
        sealed.push_str(header);
        sealed.push('.');
        sealed.push_str(&self.id);
        sealed.push('.');
        sealed
    }

    fn seal_signed(&self, header: &str, payload: &[u8], pair: &Pair<'_>) -> String {
        let mut sealed = self.start(header, payload.len() * 4 / 3);
        crate::b64::url_into(payload, &mut sealed);
        let tag = self.tag(&sealed, pair).finalize().into_bytes();
        sealed.push('.');
        crate::b64::url_into(&tag, &mut sealed);
        sealed
    }

    /// `buf` is room for the nonce, then the plaintext, encrypted where it lies.
    fn seal_encrypted(
        &self,
        header: &str,
        mut buf: Vec<u8>,
        pair: &Pair<'_>,
    ) -> Result<String, SealError> {
        if buf.len() < NONCE_BYTES {
            return Err(SealError::Encode);
        }
        let (nonce, plaintext) = buf.split_at_mut(NONCE_BYTES);
        // A nonce must never repeat under one key: 96 random bits make that negligible.
        // Without randomness we would rather not seal at all.
        getrandom::fill(nonce).map_err(|_| SealError::NoRandomness)?;
        let nonce = Nonce::try_from(&*nonce).map_err(|_| SealError::Encode)?;
        let mut sealed = self.start(header, (NONCE_BYTES + plaintext.len()) * 4 / 3);
        let aad = associated_data(&sealed, pair);
        let tag = self
            .aead
            .encrypt_inout_detached(&nonce, &aad, plaintext.into())
            .map_err(|_| SealError::Encrypt)?;
        crate::b64::url_into(&buf, &mut sealed);
        sealed.push('.');
        crate::b64::url_into(&tag, &mut sealed);
        Ok(sealed)
    }

    /// `signed` is `<header>.<kid>.<payload>`; the AAD covers `<header>.<kid>.` and the
    /// pair, since the AEAD authenticates the ciphertext itself. `payload` (nonce and
    /// ciphertext) is decrypted in place; the plaintext is returned.
    fn decrypt<'p>(
        &self,
        signed: &str,
        payload: &'p mut [u8],
        tag: &[u8],
        pair: &Pair<'_>,
    ) -> Result<&'p [u8], OpenError> {
        let tag = Tag::try_from(tag).map_err(|_| OpenError::Malformed)?;
        if tag.len() != TAG_BYTES || payload.len() < NONCE_BYTES {
            return Err(OpenError::Malformed);
        }
        let header_len = signed.find('.').ok_or(OpenError::Malformed)? + 1 + self.id.len() + 1;
        let aad = associated_data(signed.get(..header_len).ok_or(OpenError::Malformed)?, pair);
        let (nonce, ciphertext) = payload.split_at_mut(NONCE_BYTES);
        let nonce = Nonce::try_from(&*nonce).map_err(|_| OpenError::Malformed)?;
        self.aead
            .decrypt_inout_detached(&nonce, &aad, (&mut *ciphertext).into(), &tag)
            .map_err(|_| OpenError::BadMac)?;
        Ok(ciphertext)
    }

    /// The MAC state over the signed part and the pair.
    fn tag(&self, signed: &str, pair: &Pair<'_>) -> keys::HmacSha256 {
        let mut mac = self.mac.clone();
        mac.update(signed.as_bytes());
        length_prefixed([pair.account_sid, pair.to, pair.from], |bytes| {
            mac.update(bytes)
        });
        mac
    }
}

fn associated_data(header: &str, pair: &Pair<'_>) -> Vec<u8> {
    let mut aad = Vec::with_capacity(header.len() + 96);
    aad.extend_from_slice(header.as_bytes());
    length_prefixed([pair.account_sid, pair.to, pair.from], |bytes| {
        aad.extend_from_slice(bytes)
    });
    aad
}

#[cfg(test)]
mod tests;
