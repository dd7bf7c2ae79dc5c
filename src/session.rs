//! Sealing the conversation state into one cookie (or one KV value), and opening it again.
//!
//! A sealed value is `<version>.<key id>.<payload>.<mac>`, each part URL-safe base64
//! without padding (Twilio rejects cookies with control characters; base64url has none):
//! - `version`: `v1` a signed state, `e1` an encrypted state, `p1` a pointer to a state
//!   kept in KV (when the state outgrew the cookie).
//! - `key id` names the `SESSION_SECRET` key that sealed it, so rotation needs no trial
//!   and error: the first key seals, every configured key opens.
//! - `payload` is `(expires_at, state)` (or `(expires_at, kv key, summary)` for a pointer)
//!   in postcard's compact binary serde format; for `e1` it is a random nonce followed by the ChaCha20-Poly1305 ciphertext.
//!   The expiry slides with each message, so an old value cannot be replayed forever.
//! - `mac` is HMAC-SHA256 (`v1`, `p1`) or the Poly1305 tag (`e1`) over the version, key id
//!   and payload **and** the AccountSid and To/From pair. Twilio's `X-Twilio-Signature`
//!   does not cover cookies, so without the pair in the MAC a cookie could be carried from
//!   one conversation into another.
//!
//! Opening never panics: anything that is not a value this build sealed, for this pair,
//! in time, is an [`OpenError`], and the caller starts a fresh conversation.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use chacha20poly1305::aead::{AeadInOut, KeyInit as AeadKeyInit};
use chacha20poly1305::{ChaCha20Poly1305, Nonce, Tag};
use hkdf::Hkdf;
use hmac::{Hmac, KeyInit, Mac};
use serde::{Deserialize, Serialize};
use sha2::Sha256;
use subtle::ConstantTimeEq;

use crate::config::ConfigError;
use crate::state::{ConversationState, Pair};

/// The cookie Twilio stores per pair and sends back with the pair's next message.
pub const COOKIE_NAME: &str = "sms_state";
/// Version of a signed (readable) state.
pub const SIGNED: &str = "v1";
/// Version of an encrypted state.
pub const ENCRYPTED: &str = "e1";
/// Version of a pointer to a state spilled into KV.
pub const POINTER: &str = "p1";
/// A `SESSION_SECRET` key must carry at least this many bytes (256 bits).
pub const MIN_SECRET_LEN: usize = 32;
/// Twilio documents no cookie size limit; browsers and most servers stop at 4096 bytes
/// for a whole `Set-Cookie` (name, value and attributes), so that is our ceiling.
pub const MAX_SET_COOKIE_BYTES: usize = 4096;
/// Values stored in KV may be far larger than a cookie; this only bounds what we parse.
pub const MAX_SEALED_BYTES: usize = 1 << 20;

/// A jar holds one of our cookies; a header with hundreds of them is not worth a MAC each.
const MAX_COOKIES_TRIED: usize = 8;
const KEY_ID_BYTES: usize = 6;
const HMAC_BYTES: usize = 32;
const TAG_BYTES: usize = 16;
const NONCE_BYTES: usize = 12;
const HKDF_SALT: &[u8] = b"sms-conversation-worker session";

type HmacSha256 = Hmac<Sha256>;

/// One key derived from one `SESSION_SECRET` entry.
#[derive(Clone)]
struct SessionKey {
    /// Base64url of a fingerprint derived from the secret; public by design.
    id: String,
    /// The keyed MAC, derived once per isolate and cloned per use.
    mac: HmacSha256,
    /// The AEAD for encrypted states.
    aead: ChaCha20Poly1305,
    /// Keys KV entries by pair without putting phone numbers in KV keys.
    kv: HmacSha256,
}

/// The keys of `SESSION_SECRET`: the first seals, every one opens.
#[derive(Clone)]
pub struct SessionKeys {
    /// The first key: it seals.
    primary: SessionKey,
    /// Older keys, kept so their cookies still open during a rotation.
    older: Vec<SessionKey>,
}

impl std::fmt::Debug for SessionKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let ids: Vec<&str> = self.keys().map(|k| k.id.as_str()).collect();
        f.debug_struct("SessionKeys").field("ids", &ids).finish()
    }
}

/// Why a sealed value did not open. Every case means the same to the webhook (start
/// afresh, or look in KV); the distinction is for tests and logs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OpenError {
    /// Not of the `v.kid.payload.mac` shape, or not base64url, or too long.
    Malformed,
    /// A version this build does not read.
    UnknownVersion,
    /// Sealed with a key that is no longer in `SESSION_SECRET`.
    UnknownKey,
    /// Tampered with, or sealed for another AccountSid / To / From.
    BadMac,
    /// Authentic but past its expiry.
    Expired,
    /// Authentic but its payload is not a state this build understands.
    BadPayload,
}

/// Where a state was spilled in KV when it outgrew the cookie.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pointer {
    /// The KV key of the spilled state.
    pub key: String,
    /// The state without its turns and memory: enough to keep the count exact and to
    /// recognise a retry when KV cannot be read.
    pub summary: ConversationState,
}

/// What a sealed value held.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Sealed {
    /// The conversation state itself.
    State(ConversationState),
    /// A pointer to it in KV.
    Pointer(Pointer),
}

impl Sealed {
    /// The sequence number of the state it is or points to.
    pub fn seq(&self) -> u64 {
        match self {
            Sealed::State(s) => s.seq,
            Sealed::Pointer(p) => p.summary.seq,
        }
    }
}

#[derive(Serialize, Deserialize)]
struct PointerPayload<'a>(u64, &'a str, ConversationState);

impl SessionKeys {
    /// Derives the keys from `SESSION_SECRET`: one or more secrets separated by commas.
    ///
    /// Each secret goes through HKDF-SHA256 once here, so a request only clones keyed state.
    ///
    /// ```
    /// use sms_conversation_worker::session::SessionKeys;
    /// assert!(SessionKeys::from_secrets("too short").is_err());
    /// let keys = SessionKeys::from_secrets(
    ///     "new-secret-0123456789abcdef0123456789, old-secret-0123456789abcdef0123456789",
    /// ).unwrap();
    /// assert_eq!(keys.len(), 2);
    /// ```
    pub fn from_secrets(secrets: &str) -> Result<Self, ConfigError> {
        let mut keys = Vec::new();
        for (i, secret) in secrets.split(',').map(str::trim).enumerate() {
            if secret.len() < MIN_SECRET_LEN {
                return Err(ConfigError::new(
                    "SESSION_SECRET",
                    format!(
                        "key {} is {} bytes; each comma-separated key needs at least {MIN_SECRET_LEN} (generate one with `npm run --silent secret`)",
                        i + 1,
                        secret.len()
                    ),
                ));
            }
            keys.push(SessionKey::derive(secret.as_bytes()));
        }
        let mut keys = keys.into_iter();
        let primary = keys
            .next()
            .ok_or_else(|| ConfigError::new("SESSION_SECRET", "is empty"))?;
        Ok(Self {
            primary,
            older: keys.collect(),
        })
    }

    /// How many keys are configured.
    pub fn len(&self) -> usize {
        1 + self.older.len()
    }

    /// Always false: construction refuses an empty key list.
    pub fn is_empty(&self) -> bool {
        false
    }

    fn keys(&self) -> impl Iterator<Item = &SessionKey> {
        std::iter::once(&self.primary).chain(&self.older)
    }

    /// Seals `state` for `pair`, valid until `expires_at` (Unix seconds); encrypted when
    /// `encrypt` (the state then holds message bodies that Twilio should not read).
    ///
    /// ```
    /// use sms_conversation_worker::session::{Sealed, SessionKeys};
    /// use sms_conversation_worker::state::{ConversationState, Pair};
    /// let keys = SessionKeys::from_secrets("0123456789abcdef0123456789abcdef").unwrap();
    /// let pair = Pair { account_sid: "AC1", to: "+15005550006", from: "+14155550100" };
    /// let mut state = ConversationState::default();
    /// state.record("SM1", 1_000);
    /// for encrypt in [false, true] {
    ///     let sealed = keys.seal(&state, &pair, 1_000 + 14_400, encrypt);
    ///     assert_eq!(keys.open(&sealed, &pair, 2_000), Ok(Sealed::State(state.clone())));
    /// }
    /// ```
    pub fn seal(
        &self,
        state: &ConversationState,
        pair: &Pair<'_>,
        expires_at: u64,
        encrypt: bool,
    ) -> String {
        // Serialising integers, strings and maps of strings into a Vec cannot fail.
        // postcard rather than JSON: a third smaller, and every byte rides on every webhook.
        let payload = postcard::to_allocvec(&(expires_at, state)).unwrap_or_default();
        if encrypt {
            self.primary.seal_encrypted(payload, pair)
        } else {
            self.primary.seal_signed(SIGNED, &payload, pair)
        }
    }

    /// Seals a pointer to a state stored in KV under `key`.
    pub fn seal_pointer(&self, pointer: &Pointer, pair: &Pair<'_>, expires_at: u64) -> String {
        let payload = postcard::to_allocvec(&PointerPayload(
            expires_at,
            &pointer.key,
            pointer.summary.clone(),
        ))
        .unwrap_or_default();
        self.primary.seal_signed(POINTER, &payload, pair)
    }

    /// Opens a sealed value for `pair` at time `now` (Unix seconds).
    pub fn open(&self, sealed: &str, pair: &Pair<'_>, now: u64) -> Result<Sealed, OpenError> {
        if sealed.len() > MAX_SEALED_BYTES {
            return Err(OpenError::Malformed);
        }
        let (signed, mac) = sealed.rsplit_once('.').ok_or(OpenError::Malformed)?;
        let mut parts = signed.splitn(3, '.');
        let (Some(version), Some(key_id), Some(payload)) =
            (parts.next(), parts.next(), parts.next())
        else {
            return Err(OpenError::Malformed);
        };
        if ![SIGNED, ENCRYPTED, POINTER].contains(&version) {
            return Err(OpenError::UnknownVersion);
        }
        let key = self
            .keys()
            .find(|k| k.id == key_id)
            .ok_or(OpenError::UnknownKey)?;
        let mac = URL_SAFE_NO_PAD
            .decode(mac)
            .map_err(|_| OpenError::Malformed)?;
        let mut payload = URL_SAFE_NO_PAD
            .decode(payload)
            .map_err(|_| OpenError::Malformed)?;
        if version != ENCRYPTED && mac.len() != HMAC_BYTES {
            return Err(OpenError::Malformed);
        }
        if version == ENCRYPTED {
            payload = key.decrypt(signed, payload, &mac, pair)?;
        } else {
            let tag = key.tag(signed, pair).finalize().into_bytes();
            // Constant time: how many leading bytes matched must not show in the timing.
            if !bool::from(tag.as_slice().ct_eq(&mac)) {
                return Err(OpenError::BadMac);
            }
        }
        let (expires_at, opened) = if version == POINTER {
            let PointerPayload(exp, key, summary) =
                postcard::from_bytes(&payload).map_err(|_| OpenError::BadPayload)?;
            (
                exp,
                Sealed::Pointer(Pointer {
                    key: key.to_string(),
                    summary,
                }),
            )
        } else {
            let (exp, state): (u64, ConversationState) =
                postcard::from_bytes(&payload).map_err(|_| OpenError::BadPayload)?;
            (exp, Sealed::State(state))
        };
        if now >= expires_at {
            return Err(OpenError::Expired);
        }
        Ok(opened)
    }

    /// Opens the best of our cookies in a `Cookie` header for `pair`.
    ///
    /// A jar can hold duplicates of our cookie (a proxy, a client that appended instead of
    /// replacing); the one with the highest sequence number wins.
    pub fn open_from_header(
        &self,
        cookie_header: &str,
        pair: &Pair<'_>,
        now: u64,
    ) -> Option<Sealed> {
        our_cookie_values(cookie_header)
            .iter()
            .take(MAX_COOKIES_TRIED)
            .filter_map(|value| self.open(value, pair, now).ok())
            .max_by_key(Sealed::seq)
    }

    /// The KV key of a pair's conversation: an HMAC of To and From, so no phone number
    /// appears in KV keys, and nobody without the secret can find a pair's entry.
    pub fn pair_key(&self, pair: &Pair<'_>) -> String {
        let mut mac = self.primary.kv.clone();
        for field in [pair.to, pair.from] {
            mac.update(&(field.len() as u64).to_be_bytes());
            mac.update(field.as_bytes());
        }
        format!(
            "pair:{}",
            URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes())
        )
    }
}

/// A fresh, unguessable KV key for a state that outgrew its cookie; `None` only when the
/// runtime has no randomness, and then the caller trims instead of spilling.
pub fn new_spill_key() -> Option<String> {
    let mut id = [0u8; 16];
    getrandom::fill(&mut id).ok()?;
    Some(format!("spill:{}", URL_SAFE_NO_PAD.encode(id)))
}

impl SessionKey {
    fn derive(secret: &[u8]) -> Self {
        let hkdf = Hkdf::<Sha256>::new(Some(HKDF_SALT), secret);
        // HMAC keys of one SHA-256 block (64 bytes), so they need no length check.
        let mut mac_key = [0u8; 64];
        let mut aead_key = [0u8; 32];
        let mut kv_key = [0u8; 64];
        let mut id = [0u8; KEY_ID_BYTES];
        // Every length is far below HKDF-SHA256's limit of 255 * 32 bytes.
        let _ = hkdf.expand(b"cookie mac v1", &mut mac_key);
        let _ = hkdf.expand(b"cookie aead v1", &mut aead_key);
        let _ = hkdf.expand(b"kv pair key v1", &mut kv_key);
        let _ = hkdf.expand(b"key id v1", &mut id);
        Self {
            id: URL_SAFE_NO_PAD.encode(id),
            mac: <HmacSha256 as KeyInit>::new(&mac_key.into()),
            aead: <ChaCha20Poly1305 as AeadKeyInit>::new(&aead_key.into()),
            kv: <HmacSha256 as KeyInit>::new(&kv_key.into()),
        }
    }

    fn header(&self, version: &str, capacity: usize) -> String {
        let mut sealed = String::with_capacity(capacity + 64);
        sealed.push_str(version);
        sealed.push('.');
        sealed.push_str(&self.id);
        sealed.push('.');
        sealed
    }

    fn seal_signed(&self, version: &str, payload: &[u8], pair: &Pair<'_>) -> String {
        let mut sealed = self.header(version, payload.len() * 4 / 3);
        URL_SAFE_NO_PAD.encode_string(payload, &mut sealed);
        let tag = self.tag(&sealed, pair).finalize().into_bytes();
        sealed.push('.');
        URL_SAFE_NO_PAD.encode_string(tag, &mut sealed);
        sealed
    }

    fn seal_encrypted(&self, plaintext: Vec<u8>, pair: &Pair<'_>) -> String {
        let mut nonce = [0u8; NONCE_BYTES];
        // A nonce must never repeat under one key: 96 random bits make that negligible.
        // Without randomness we would rather not seal at all.
        if getrandom::fill(&mut nonce).is_err() {
            return String::new();
        }
        let mut buf = Vec::with_capacity(NONCE_BYTES + plaintext.len());
        buf.extend_from_slice(&nonce);
        buf.extend_from_slice(&plaintext);
        let mut sealed = self.header(ENCRYPTED, buf.len() * 4 / 3);
        let aad = self.associated_data(&sealed, pair);
        let Ok(tag) = self.aead.encrypt_inout_detached(
            &Nonce::from(nonce),
            &aad,
            (&mut buf[NONCE_BYTES..]).into(),
        ) else {
            return String::new();
        };
        URL_SAFE_NO_PAD.encode_string(&buf, &mut sealed);
        sealed.push('.');
        URL_SAFE_NO_PAD.encode_string(tag, &mut sealed);
        sealed
    }

    /// `signed_prefix` is `e1.<kid>.<payload>`; the AAD covers only `e1.<kid>.` and the
    /// pair, since the AEAD authenticates the ciphertext itself.
    fn decrypt(
        &self,
        signed: &str,
        payload: Vec<u8>,
        tag: &[u8],
        pair: &Pair<'_>,
    ) -> Result<Vec<u8>, OpenError> {
        let tag = Tag::try_from(tag).map_err(|_| OpenError::Malformed)?;
        if tag.len() != TAG_BYTES || payload.len() < NONCE_BYTES {
            return Err(OpenError::Malformed);
        }
        let header_len = ENCRYPTED.len() + 1 + self.id.len() + 1;
        let aad = self.associated_data(signed.get(..header_len).ok_or(OpenError::Malformed)?, pair);
        let (nonce, ciphertext) = payload.split_at(NONCE_BYTES);
        let nonce = Nonce::try_from(nonce).map_err(|_| OpenError::Malformed)?;
        let mut plaintext = ciphertext.to_vec();
        self.aead
            .decrypt_inout_detached(&nonce, &aad, plaintext.as_mut_slice().into(), &tag)
            .map_err(|_| OpenError::BadMac)?;
        Ok(plaintext)
    }

    fn associated_data(&self, header: &str, pair: &Pair<'_>) -> Vec<u8> {
        let mut aad = Vec::with_capacity(header.len() + 96);
        aad.extend_from_slice(header.as_bytes());
        push_pair(&mut aad, pair);
        aad
    }

    /// The MAC state over the signed part and the pair.
    fn tag(&self, signed: &str, pair: &Pair<'_>) -> HmacSha256 {
        let mut mac = self.mac.clone();
        mac.update(signed.as_bytes());
        let mut fields = Vec::with_capacity(96);
        push_pair(&mut fields, pair);
        mac.update(&fields);
        mac
    }
}

/// Each pair field is length-prefixed so that no two different pairs give the same bytes.
fn push_pair(out: &mut Vec<u8>, pair: &Pair<'_>) {
    for field in [pair.account_sid, pair.to, pair.from] {
        out.extend_from_slice(&(field.len() as u64).to_be_bytes());
        out.extend_from_slice(field.as_bytes());
    }
}

/// Values of every cookie named [`COOKIE_NAME`] in a `Cookie` request header, parsed by
/// the `headers` crate (hyperium). A header that does not parse yields none: the caller
/// then starts afresh, never fails.
///
/// (`headers` rather than the `cookie` crate: `cookie` parses `Expires` dates with the
/// `time` crate, which cost 15 KB of gzipped wasm for attributes a request never carries.)
pub fn our_cookie_values(cookie_header: &str) -> Vec<String> {
    use headers::Header;
    let Ok(value) = headers::HeaderValue::from_bytes(cookie_header.as_bytes()) else {
        return Vec::new();
    };
    let Ok(cookies) = headers::Cookie::decode(&mut std::iter::once(&value)) else {
        return Vec::new();
    };
    cookies
        .iter()
        .filter(|(name, _)| *name == COOKIE_NAME)
        .map(|(_, v)| v.to_string())
        .collect()
}

/// The `Set-Cookie` value that stores `sealed` for `max_age` seconds (0 deletes it).
///
/// `HttpOnly; Secure` because the value is only ever for Twilio, over HTTPS;
/// `Max-Age` follows the conversation TTL so Twilio forgets it when we would.
/// `sealed` is base64url and dots, which need no quoting or escaping in a cookie value
/// (the tests check the result with the `cookie` crate's parser).
pub fn set_cookie(sealed: &str, max_age: u64) -> String {
    format!("{COOKIE_NAME}={sealed}; HttpOnly; Secure; Path=/; Max-Age={max_age}")
}

#[cfg(test)]
mod tests {
    use super::*;

    const NEW: &str = "new-secret-0123456789abcdef0123456789";
    const OLD: &str = "old-secret-0123456789abcdef0123456789";
    const NOW: u64 = 1_700_000_000;
    const PAIR: Pair<'static> = Pair {
        account_sid: "AC0123456789abcdef0123456789abcdef",
        to: "+15005550006",
        from: "+14155550100",
    };

    fn state(count: u64) -> ConversationState {
        let mut s = ConversationState::default();
        for i in 0..count {
            s.record(&format!("SM{i:032}"), NOW + i);
        }
        s
    }

    fn keys(secrets: &str) -> SessionKeys {
        SessionKeys::from_secrets(secrets).unwrap()
    }

    #[test]
    fn a_sealed_state_opens_for_its_pair_until_it_expires() {
        let k = keys(NEW);
        let s = state(3);
        let sealed = k.seal(&s, &PAIR, NOW + 100, false);
        assert!(sealed.starts_with("v1."));
        assert_eq!(k.open(&sealed, &PAIR, NOW), Ok(Sealed::State(s.clone())));
        assert_eq!(k.open(&sealed, &PAIR, NOW + 99), Ok(Sealed::State(s)));
        assert_eq!(k.open(&sealed, &PAIR, NOW + 100), Err(OpenError::Expired));
    }

    #[test]
    fn the_sealed_value_is_cookie_safe() {
        let sealed = keys(NEW).seal(&state(10), &PAIR, NOW, false);
        assert!(sealed
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_' || b == b'.'));
    }

    #[test]
    fn a_cookie_replayed_into_another_pair_does_not_open() {
        let k = keys(NEW);
        let sealed = k.seal(&state(5), &PAIR, NOW + 100, false);
        for other in [
            Pair {
                from: "+14155550199",
                ..PAIR
            },
            Pair {
                to: "+15005550007",
                ..PAIR
            },
            Pair {
                account_sid: "AC0000000000000000000000000000000",
                ..PAIR
            },
            // Moving bytes between fields must not produce the same MAC input.
            Pair {
                to: "+15005550006+1",
                from: "4155550100",
                ..PAIR
            },
        ] {
            assert_eq!(k.open(&sealed, &other, NOW), Err(OpenError::BadMac));
        }
    }

    #[test]
    fn any_tampering_is_detected() {
        let k = keys(NEW);
        let sealed = k.seal(&state(2), &PAIR, NOW + 100, false);
        let bytes = sealed.as_bytes();
        for i in 0..bytes.len() {
            let mut t = bytes.to_vec();
            t[i] = if t[i] == b'A' { b'B' } else { b'A' };
            let t = String::from_utf8(t).unwrap();
            assert!(
                k.open(&t, &PAIR, NOW).is_err(),
                "flipped byte {i} of {sealed}"
            );
        }
        // A payload forged with a larger count but the old MAC.
        let parts: Vec<&str> = sealed.split('.').collect();
        let forged_payload = URL_SAFE_NO_PAD.encode(br#"[9999999999,{"n":99,"f":0,"l":0}]"#);
        let forged = format!("{}.{}.{}.{}", parts[0], parts[1], forged_payload, parts[3]);
        assert_eq!(k.open(&forged, &PAIR, NOW), Err(OpenError::BadMac));
    }

    #[test]
    fn junk_never_panics_and_never_opens() {
        let k = keys(NEW);
        let sealed = k.seal(&state(1), &PAIR, NOW + 100, false);
        let long = "a".repeat(10_000);
        let cases = [
            "",
            ".",
            "...",
            "v1",
            "v1...",
            "v2.abc.def.ghi",
            "v1.zzzzzzzz.e30.AAAA",
            &sealed[..sealed.len() - 5],
            &long,
            "v1.\u{1F600}.\u{1F600}.\u{1F600}",
        ];
        for case in cases {
            assert!(k.open(case, &PAIR, NOW).is_err(), "{case:?}");
        }
        let v2 = sealed.replacen("v1.", "v2.", 1);
        assert_eq!(k.open(&v2, &PAIR, NOW), Err(OpenError::UnknownVersion));
    }

    #[test]
    fn rotation_opens_old_cookies_and_seals_with_the_new_key() {
        let old = keys(OLD);
        let rotated = keys(&format!("{NEW},{OLD}"));
        let s = state(4);
        let old_cookie = old.seal(&s, &PAIR, NOW + 100, false);
        assert_eq!(
            rotated.open(&old_cookie, &PAIR, NOW),
            Ok(Sealed::State(s.clone()))
        );
        let resealed = rotated.seal(&s, &PAIR, NOW + 100, false);
        assert_eq!(keys(NEW).open(&resealed, &PAIR, NOW), Ok(Sealed::State(s)));
        // Once the old key is dropped, its cookies no longer open.
        assert_eq!(
            keys(NEW).open(&old_cookie, &PAIR, NOW),
            Err(OpenError::UnknownKey)
        );
    }

    #[test]
    fn a_forged_key_id_does_not_help() {
        let k = keys(NEW);
        let other = keys(OLD);
        let theirs = other.seal(&state(1), &PAIR, NOW + 100, false);
        let our_id = &k.primary.id;
        let parts: Vec<&str> = theirs.split('.').collect();
        let forged = format!("v1.{our_id}.{}.{}", parts[2], parts[3]);
        assert_eq!(k.open(&forged, &PAIR, NOW), Err(OpenError::BadMac));
    }

    #[test]
    fn every_key_must_be_long_enough() {
        assert!(SessionKeys::from_secrets(&format!("{NEW},short")).is_err());
        assert!(SessionKeys::from_secrets(&format!("{NEW},")).is_err());
        assert_eq!(keys(&format!(" {NEW} , {OLD} ")).len(), 2);
    }

    #[test]
    fn the_best_of_duplicate_cookies_wins_and_others_are_ignored() {
        let k = keys(NEW);
        let older = k.seal(&state(2), &PAIR, NOW + 100, false);
        let newer = k.seal(&state(3), &PAIR, NOW + 100, false);
        let header = format!(
            "other=1; {COOKIE_NAME}=junk; {COOKIE_NAME}={older}; ;=; {COOKIE_NAME}={newer}; x"
        );
        assert_eq!(
            k.open_from_header(&header, &PAIR, NOW).map(|s| s.seq()),
            Some(3)
        );
        assert_eq!(k.open_from_header("", &PAIR, NOW), None);
        assert_eq!(k.open_from_header("sms_state=", &PAIR, NOW), None);
    }

    #[test]
    fn encrypted_states_hide_the_bodies_and_bind_the_pair() {
        let k = keys(NEW);
        let mut s = state(2);
        s.memory
            .insert("secret".into(), "the launch code is 1234".into());
        let sealed = k.seal(&s, &PAIR, NOW + 100, true);
        assert!(sealed.starts_with("e1."));
        assert_eq!(k.open(&sealed, &PAIR, NOW), Ok(Sealed::State(s.clone())));
        let parts: Vec<&str> = sealed.split('.').collect();
        let payload = URL_SAFE_NO_PAD.decode(parts[2]).unwrap();
        assert!(!String::from_utf8_lossy(&payload).contains("launch"));
        // Random nonces: the same state never seals to the same bytes twice.
        assert_ne!(sealed, k.seal(&s, &PAIR, NOW + 100, true));
        let other = Pair {
            from: "+14155550199",
            ..PAIR
        };
        assert_eq!(k.open(&sealed, &other, NOW), Err(OpenError::BadMac));
        assert_eq!(k.open(&sealed, &PAIR, NOW + 100), Err(OpenError::Expired));
        for i in 0..sealed.len() {
            let mut t = sealed.clone().into_bytes();
            t[i] = if t[i] == b'A' { b'B' } else { b'A' };
            assert!(k.open(&String::from_utf8(t).unwrap(), &PAIR, NOW).is_err());
        }
        // Rotation works for encrypted states too.
        let rotated = keys(&format!("{OLD},{NEW}"));
        assert_eq!(rotated.open(&sealed, &PAIR, NOW), Ok(Sealed::State(s)));
    }

    #[test]
    fn pointers_are_pair_bound_and_expire() {
        let k = keys(NEW);
        let p = Pointer {
            key: "spill:abc".into(),
            summary: state(7),
        };
        let sealed = k.seal_pointer(&p, &PAIR, NOW + 10);
        assert!(sealed.starts_with("p1."));
        assert!(sealed.len() < 300, "{}", sealed.len());
        assert_eq!(k.open(&sealed, &PAIR, NOW), Ok(Sealed::Pointer(p)));
        assert_eq!(
            k.open(&sealed, &Pair { to: "+1", ..PAIR }, NOW),
            Err(OpenError::BadMac)
        );
        assert_eq!(k.open(&sealed, &PAIR, NOW + 10), Err(OpenError::Expired));
    }

    #[test]
    fn pair_keys_hide_numbers_and_differ_per_pair_and_secret() {
        let k = keys(NEW);
        let key = k.pair_key(&PAIR);
        assert!(key.starts_with("pair:"));
        assert!(!key.contains("4155550100"));
        assert_eq!(key, k.pair_key(&PAIR));
        assert_ne!(
            key,
            k.pair_key(&Pair {
                from: "+14155550101",
                ..PAIR
            })
        );
        assert_ne!(key, keys(OLD).pair_key(&PAIR));
        // Swapping To and From is another pair.
        assert_ne!(
            key,
            k.pair_key(&Pair {
                to: PAIR.from,
                from: PAIR.to,
                ..PAIR
            })
        );
    }

    #[test]
    fn set_cookie_has_twilio_friendly_attributes() {
        let sealed = keys(NEW).seal(&state(3), &PAIR, NOW + 100, true);
        let header = set_cookie(&sealed, 14_400);
        // Read back by an independent parser, as a client's cookie jar would.
        let parsed = cookie::Cookie::parse(header.as_str()).unwrap();
        assert_eq!(
            (parsed.name(), parsed.value()),
            (COOKIE_NAME, sealed.as_str())
        );
        assert_eq!(parsed.path(), Some("/"));
        assert_eq!(parsed.http_only(), Some(true));
        assert_eq!(parsed.secure(), Some(true));
        assert_eq!(parsed.max_age().map(|d| d.whole_seconds()), Some(14_400));
        let removal = cookie::Cookie::parse(set_cookie("", 0)).unwrap();
        assert_eq!(
            (
                removal.value(),
                removal.max_age().map(|d| d.whole_seconds())
            ),
            ("", Some(0))
        );
    }

    #[test]
    fn request_cookie_headers_yield_every_value_of_ours() {
        assert_eq!(
            our_cookie_values("a=1; sms_state=x.y; b=2;sms_state=z"),
            ["x.y", "z"]
        );
        assert!(our_cookie_values("").is_empty());
        assert!(our_cookie_values("sms_state").is_empty());
        // Bytes a header cannot hold are no cookie, not an error.
        assert!(our_cookie_values("sms_state=a\nb").is_empty());
        // Nor is a header with non-ASCII bytes (Twilio's jar for the pair only holds what we
        // set, which is ASCII): a fresh conversation rather than a guess.
        assert!(our_cookie_values("x=é; sms_state=v").is_empty());
    }
}
