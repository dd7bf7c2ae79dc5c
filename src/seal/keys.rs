//! The keys of `SESSION_SECRET`: derived once per isolate, the first seals, every one opens.

use chacha20poly1305::aead::KeyInit as AeadKeyInit;
use chacha20poly1305::ChaCha20Poly1305;
use hkdf::Hkdf;
use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

use crate::record::Pair;
use crate::vars::ConfigError;

/// A `SESSION_SECRET` key must carry at least this many bytes (256 bits).
pub const MIN_SECRET_LEN: usize = 32;

const KEY_ID_BYTES: usize = 6;
const HKDF_SALT: &[u8] = b"sms-conversation-worker session";

pub(crate) type HmacSha256 = Hmac<Sha256>;

/// One key derived from one `SESSION_SECRET` entry.
#[derive(Clone)]
pub(crate) struct SessionKey {
    /// Base64url of a fingerprint derived from the secret; public by design.
    pub(crate) id: String,
    /// The keyed MAC, derived once per isolate and cloned per use.
    pub(crate) mac: HmacSha256,
    /// The AEAD for encrypted values.
    pub(crate) aead: ChaCha20Poly1305,
    /// Keys KV entries by pair without putting phone numbers in KV keys.
    kv: HmacSha256,
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

impl SessionKeys {
    /// Derives the keys from `SESSION_SECRET`: one or more secrets separated by commas.
    ///
    /// Each secret goes through HKDF-SHA256 once here, so a request only clones keyed state.
    ///
    /// ```
    /// use sms_conversation_worker::seal::SessionKeys;
    /// assert!(SessionKeys::from_secrets("too short").is_err());
    /// let keys = SessionKeys::from_secrets(
    ///     "new-secret-0123456789abcdef0123456789, old-secret-0123456789abcdef0123456789",
    /// ).unwrap();
    /// assert_eq!(keys.len(), 2);
    /// ```
    pub fn from_secrets(secrets: &str) -> Result<Self, ConfigError> {
        let mut keys = Vec::new();
        for (i, secret) in secrets.split(',').map(str::trim).enumerate() {
            keys.push(SessionKey::derive(long_enough(i, secret)?.as_bytes()));
        }
        Ok(Self { keys })
    }

    /// How many keys are configured.
    pub fn len(&self) -> usize {
        self.keys.len()
    }

    /// Always false: every secret in the list is checked, and splitting yields at least one.
    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    /// The key that seals.
    pub(crate) fn primary(&self) -> &SessionKey {
        &self.keys[0]
    }

    /// The key a sealed value names.
    pub(crate) fn by_id(&self, id: &str) -> Option<&SessionKey> {
        self.keys.iter().find(|k| k.id == id)
    }

    /// Every KV key a pair's entry may be under, the one to write first: for each
    /// `SESSION_SECRET` key, today's (an HMAC of AccountSid, To and From) and the first
    /// release's (To and From only). A rotated secret or an upgrade thus loses no entry.
    pub fn pair_keys(&self, pair: &Pair<'_>) -> Vec<String> {
        let mut keys = Vec::with_capacity(2 * self.keys.len());
        for key in &self.keys {
            keys.push(key.pair_key(pair));
            keys.push(key.legacy_pair_key(pair));
        }
        keys
    }
}

/// The `i`th secret (from 0), refused when shorter than [`MIN_SECRET_LEN`].
fn long_enough(i: usize, secret: &str) -> Result<&str, ConfigError> {
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
    Ok(secret)
}

impl SessionKeys {
    /// The name of the pair's Durable Object: an HMAC of AccountSid, To and From under the
    /// *last* `SESSION_SECRET` key, the one a rotation (`new,old`) keeps longest, so a
    /// rotation moves no conversation to another object until the old key is dropped (then
    /// the new object starts from the pair's cookie or KV entry).
    pub fn object_name(&self, pair: &Pair<'_>) -> String {
        self.keys
            .last()
            .map(|k| k.pair_key(pair))
            .unwrap_or_default()
    }
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
            id: crate::b64::url(&id),
            mac: <HmacSha256 as KeyInit>::new(&mac_key.into()),
            aead: <ChaCha20Poly1305 as AeadKeyInit>::new(&aead_key.into()),
            kv: <HmacSha256 as KeyInit>::new(&kv_key.into()),
        }
    }

    /// `pair:` + an HMAC of the labelled, length-prefixed AccountSid, To and From: no phone
    /// number appears in KV keys, and nobody without the secret can find a pair's entry.
    fn pair_key(&self, pair: &Pair<'_>) -> String {
        let mut mac = self.kv.clone();
        mac.update(b"pair v2");
        crate::fields::length_prefixed([pair.account_sid, pair.to, pair.from], |bytes| {
            mac.update(bytes)
        });
        format!("pair:{}", crate::b64::url(&mac.finalize().into_bytes()))
    }

    /// The first release's pair key (To and From only), still read so its entries are found.
    fn legacy_pair_key(&self, pair: &Pair<'_>) -> String {
        let mut mac = self.kv.clone();
        crate::fields::length_prefixed([pair.to, pair.from], |bytes| mac.update(bytes));
        format!("pair:{}", crate::b64::url(&mac.finalize().into_bytes()))
    }
}
