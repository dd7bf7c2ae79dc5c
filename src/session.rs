//! Sealing the conversation state into one cookie, and opening it again.
//!
//! A sealed value is `v1.<key id>.<payload>.<mac>`, each part URL-safe base64 without
//! padding (Twilio rejects cookies with control characters; base64url has none):
//! - `key id` names the `SESSION_SECRET` key that sealed it, so rotation needs no trial
//!   and error: the first key seals, every configured key opens.
//! - `payload` is the JSON `[expires_at, state]`; the expiry slides with each message,
//!   so an old cookie cannot be replayed forever.
//! - `mac` is HMAC-SHA256 over the version, key id and payload **and** the AccountSid and
//!   To/From pair. Twilio's `X-Twilio-Signature` does not cover cookies, so without the
//!   pair in the MAC a cookie could be carried from one conversation into another.
//!
//! Opening never panics: anything that is not a cookie this build sealed, for this
//! pair, in time, is an [`OpenError`], and the caller starts a fresh conversation.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use cookie::Cookie;
use hkdf::Hkdf;
use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

use crate::config::ConfigError;
use crate::state::{ConversationState, Pair};

/// The cookie Twilio stores per pair and sends back with the pair's next message.
pub const COOKIE_NAME: &str = "sms_state";
/// Format version, the first part of every sealed value.
pub const VERSION: &str = "v1";
/// A `SESSION_SECRET` key must carry at least this many bytes (256 bits).
pub const MIN_SECRET_LEN: usize = 32;
/// Twilio does not document a cookie size limit; browsers and most servers stop at 4096
/// bytes for the whole `Set-Cookie` value, so a sealed value that would not fit is refused.
pub const MAX_COOKIE_BYTES: usize = 4096;

const KEY_ID_BYTES: usize = 6;
const MAC_BYTES: usize = 32;
/// Base64 length of the MAC without padding: checked before decoding anything.
const BASE64_MAC_LEN: usize = (MAC_BYTES * 4).div_ceil(3);
const HKDF_SALT: &[u8] = b"sms-conversation-worker session";

type HmacSha256 = Hmac<Sha256>;

/// One key derived from one `SESSION_SECRET` entry.
#[derive(Clone)]
struct SessionKey {
    /// Base64url of a fingerprint derived from the secret; public by design.
    id: String,
    /// The keyed MAC, derived once per isolate and cloned per use.
    mac: HmacSha256,
}

/// The keys of `SESSION_SECRET`: the first seals, every one opens.
#[derive(Clone)]
pub struct SessionKeys {
    keys: Vec<SessionKey>,
}

impl std::fmt::Debug for SessionKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let ids: Vec<&str> = self.keys.iter().map(|k| k.id.as_str()).collect();
        f.debug_struct("SessionKeys").field("ids", &ids).finish()
    }
}

/// Why a cookie did not open. Every case means the same to the webhook (start afresh);
/// the distinction is for tests and logs.
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

impl SessionKeys {
    /// Derives the keys from `SESSION_SECRET`: one or more secrets separated by commas.
    ///
    /// Each secret goes through HKDF-SHA256 once here, so a request only clones a keyed MAC.
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
                        "key {} is {} bytes; each comma-separated key needs at least {MIN_SECRET_LEN} (generate one with `openssl rand -base64 48`)",
                        i + 1,
                        secret.len()
                    ),
                ));
            }
            keys.push(SessionKey::derive(secret.as_bytes()));
        }
        Ok(Self { keys })
    }

    /// How many keys are configured.
    pub fn len(&self) -> usize {
        self.keys.len()
    }

    /// Always false: construction refuses an empty key list.
    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    /// Seals `state` for `pair`, valid until `expires_at` (Unix seconds).
    ///
    /// ```
    /// use sms_conversation_worker::session::SessionKeys;
    /// use sms_conversation_worker::state::{ConversationState, Pair};
    /// let keys = SessionKeys::from_secrets("0123456789abcdef0123456789abcdef").unwrap();
    /// let pair = Pair { account_sid: "AC1", to: "+15005550006", from: "+14155550100" };
    /// let mut state = ConversationState::default();
    /// state.record("SM1", 1_000);
    /// let sealed = keys.seal(&state, &pair, 1_000 + 14_400);
    /// assert_eq!(keys.open(&sealed, &pair, 2_000), Ok(state));
    /// ```
    pub fn seal(&self, state: &ConversationState, pair: &Pair<'_>, expires_at: u64) -> String {
        let key = &self.keys[0];
        // Serialising plain integers and strings into a Vec cannot fail.
        let payload = serde_json::to_vec(&(expires_at, state)).unwrap_or_default();
        let mut sealed = String::with_capacity(
            VERSION.len() + key.id.len() + payload.len() * 4 / 3 + BASE64_MAC_LEN + 8,
        );
        sealed.push_str(VERSION);
        sealed.push('.');
        sealed.push_str(&key.id);
        sealed.push('.');
        URL_SAFE_NO_PAD.encode_string(&payload, &mut sealed);
        let tag = key.tag(&sealed, pair).finalize().into_bytes();
        sealed.push('.');
        URL_SAFE_NO_PAD.encode_string(tag, &mut sealed);
        sealed
    }

    /// Opens a sealed value for `pair` at time `now` (Unix seconds).
    pub fn open(
        &self,
        sealed: &str,
        pair: &Pair<'_>,
        now: u64,
    ) -> Result<ConversationState, OpenError> {
        if sealed.len() > MAX_COOKIE_BYTES {
            return Err(OpenError::Malformed);
        }
        let (signed, mac) = sealed.rsplit_once('.').ok_or(OpenError::Malformed)?;
        let mut parts = signed.splitn(3, '.');
        let (Some(version), Some(key_id), Some(payload)) =
            (parts.next(), parts.next(), parts.next())
        else {
            return Err(OpenError::Malformed);
        };
        if version != VERSION {
            return Err(OpenError::UnknownVersion);
        }
        let key = self
            .keys
            .iter()
            .find(|k| k.id == key_id)
            .ok_or(OpenError::UnknownKey)?;
        if mac.len() != BASE64_MAC_LEN {
            return Err(OpenError::Malformed);
        }
        let mac = URL_SAFE_NO_PAD
            .decode(mac)
            .map_err(|_| OpenError::Malformed)?;
        // Constant-time comparison (hmac uses `subtle` inside verify_slice).
        key.tag(signed, pair)
            .verify_slice(&mac)
            .map_err(|_| OpenError::BadMac)?;
        let payload = URL_SAFE_NO_PAD
            .decode(payload)
            .map_err(|_| OpenError::BadPayload)?;
        let (expires_at, state): (u64, ConversationState) =
            serde_json::from_slice(&payload).map_err(|_| OpenError::BadPayload)?;
        if now >= expires_at {
            return Err(OpenError::Expired);
        }
        Ok(state)
    }

    /// Opens the first of our cookies in a `Cookie` header that opens for `pair`.
    ///
    /// A jar can hold duplicates of our cookie (a proxy, a client that appended instead of
    /// replacing); the newest conversation, the one with the highest count, wins.
    pub fn open_from_header(
        &self,
        cookie_header: &str,
        pair: &Pair<'_>,
        now: u64,
    ) -> Option<ConversationState> {
        our_cookie_values(cookie_header)
            .filter_map(|value| self.open(value, pair, now).ok())
            .max_by_key(|state| state.count)
    }
}

impl SessionKey {
    fn derive(secret: &[u8]) -> Self {
        let hkdf = Hkdf::<Sha256>::new(Some(HKDF_SALT), secret);
        let mut mac_key = [0u8; 32];
        let mut id = [0u8; KEY_ID_BYTES];
        // Both lengths are far below HKDF-SHA256's limit of 255 * 32 bytes.
        let _ = hkdf.expand(b"cookie mac v1", &mut mac_key);
        let _ = hkdf.expand(b"key id v1", &mut id);
        Self {
            id: URL_SAFE_NO_PAD.encode(id),
            mac: HmacSha256::new_from_slice(&mac_key).unwrap_or_else(|_| unreachable!()),
        }
    }

    /// The MAC state over the signed part and the pair. Each pair field is
    /// length-prefixed so that no two different pairs produce the same input.
    fn tag(&self, signed: &str, pair: &Pair<'_>) -> HmacSha256 {
        let mut mac = self.mac.clone();
        mac.update(signed.as_bytes());
        for field in [pair.account_sid, pair.to, pair.from] {
            mac.update(&(field.len() as u64).to_be_bytes());
            mac.update(field.as_bytes());
        }
        mac
    }
}

/// Values of every cookie named [`COOKIE_NAME`] in a `Cookie` request header.
/// Unparseable cookies are skipped, never an error.
pub fn our_cookie_values(cookie_header: &str) -> impl Iterator<Item = &str> {
    Cookie::split_parse(cookie_header)
        .filter_map(Result::ok)
        .filter(|c| c.name() == COOKIE_NAME)
        .filter_map(|c| c.value_raw())
}

/// The `Set-Cookie` value that stores `sealed` for `max_age` seconds.
///
/// `HttpOnly; Secure` because the value is only ever for Twilio, over HTTPS;
/// `Max-Age` follows the conversation TTL so Twilio forgets it when we would.
pub fn set_cookie(sealed: &str, max_age: u64) -> String {
    Cookie::build((COOKIE_NAME, sealed))
        .path("/")
        .http_only(true)
        .secure(true)
        .max_age(cookie::time::Duration::seconds(
            i64::try_from(max_age).unwrap_or(i64::MAX),
        ))
        .build()
        .to_string()
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
        let sealed = k.seal(&s, &PAIR, NOW + 100);
        assert!(sealed.starts_with("v1."));
        assert_eq!(k.open(&sealed, &PAIR, NOW), Ok(s.clone()));
        assert_eq!(k.open(&sealed, &PAIR, NOW + 99), Ok(s));
        assert_eq!(k.open(&sealed, &PAIR, NOW + 100), Err(OpenError::Expired));
    }

    #[test]
    fn the_sealed_value_is_cookie_safe() {
        let sealed = keys(NEW).seal(&state(10), &PAIR, NOW);
        assert!(sealed
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_' || b == b'.'));
    }

    #[test]
    fn a_cookie_replayed_into_another_pair_does_not_open() {
        let k = keys(NEW);
        let sealed = k.seal(&state(5), &PAIR, NOW + 100);
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
        let sealed = k.seal(&state(2), &PAIR, NOW + 100);
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
        let sealed = k.seal(&state(1), &PAIR, NOW + 100);
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
        let old_cookie = old.seal(&s, &PAIR, NOW + 100);
        assert_eq!(rotated.open(&old_cookie, &PAIR, NOW), Ok(s.clone()));
        let resealed = rotated.seal(&s, &PAIR, NOW + 100);
        assert_eq!(keys(NEW).open(&resealed, &PAIR, NOW), Ok(s));
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
        let theirs = other.seal(&state(1), &PAIR, NOW + 100);
        let our_id = &k.keys[0].id;
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
        let older = k.seal(&state(2), &PAIR, NOW + 100);
        let newer = k.seal(&state(3), &PAIR, NOW + 100);
        let header = format!(
            "other=1; {COOKIE_NAME}=junk; {COOKIE_NAME}={older}; ;=; {COOKIE_NAME}={newer}; x"
        );
        assert_eq!(
            k.open_from_header(&header, &PAIR, NOW).map(|s| s.count),
            Some(3)
        );
        assert_eq!(k.open_from_header("", &PAIR, NOW), None);
        assert_eq!(k.open_from_header("sms_state=", &PAIR, NOW), None);
    }

    #[test]
    fn set_cookie_has_twilio_friendly_attributes() {
        let header = set_cookie("v1.a.b.c", 14_400);
        assert!(header.starts_with("sms_state=v1.a.b.c"), "{header}");
        for attr in ["Path=/", "HttpOnly", "Secure", "Max-Age=14400"] {
            assert!(header.contains(attr), "{header} lacks {attr}");
        }
    }
}
