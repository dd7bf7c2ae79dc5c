//! Shared pieces of the fuzz targets: fixed keys, pair and time; the harness's own sealing
//! (to put fuzzed payloads behind a valid MAC); the byte layouts of the structured
//! targets, which `examples/gen_seeds.rs` writes and the targets read.
//!
//! The layouts are plain text with NUL separators, so seeds stay readable and the fuzzer
//! mutates fields independently (libFuzzer's comparison tracing finds the separators).

use std::sync::OnceLock;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use chacha20poly1305::aead::{AeadInOut, KeyInit as AeadKeyInit};
use chacha20poly1305::{ChaCha20Poly1305, Nonce};
use hkdf::Hkdf;
use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;
use sms_conversation_worker::app::Store;
use sms_conversation_worker::config::{Config, ConfigError};
use sms_conversation_worker::session::{Sealed, SessionKeys};
use sms_conversation_worker::state::{ConversationState, Pair};

/// The time every target runs at (Unix seconds).
pub const NOW: u64 = 1_700_000_000;
/// The key that seals (first in `SESSION_SECRET`).
pub const SECRET_NEW: &str = "new-secret-0123456789abcdef0123456789";
/// A second key that still opens (rotation).
pub const SECRET_OLD: &str = "old-secret-0123456789abcdef0123456789";
/// The auth token of the signed webhook configurations.
pub const AUTH_TOKEN: &str = "12345";
/// The pair the cookie target opens for.
pub const PAIR: Pair<'static> = Pair {
    account_sid: "AC00000000000000000000000000000000",
    to: "+15005550006",
    from: "+14155550100",
};
/// Another pair: nothing sealed for [`PAIR`] may open for it.
pub const OTHER_PAIR: Pair<'static> = Pair {
    account_sid: "AC00000000000000000000000000000000",
    to: "+15005550006",
    from: "+14155550101",
};

/// `SESSION_SECRET="new,old"`, derived once.
pub fn keys() -> &'static SessionKeys {
    static KEYS: OnceLock<SessionKeys> = OnceLock::new();
    KEYS.get_or_init(|| {
        SessionKeys::from_secrets(&format!("{SECRET_NEW},{SECRET_OLD}")).expect("valid secrets")
    })
}

// ---------------------------------------------------------------------------------------
// The harness's own sealing, a re-implementation of the format documented in
// src/session.rs. It lets the fuzzer choose the bytes *behind* a valid MAC (JSON payloads,
// expiry), which it could never reach by forging a MAC. `check_harness_sealing` fails
// loudly if the two drift apart.

const HKDF_SALT: &[u8] = b"sms-conversation-worker session";

fn derive(secret: &str) -> ([u8; 64], [u8; 32], String) {
    let hkdf = Hkdf::<Sha256>::new(Some(HKDF_SALT), secret.as_bytes());
    let mut mac = [0u8; 64];
    let mut aead = [0u8; 32];
    let mut id = [0u8; 6];
    hkdf.expand(b"cookie mac v1", &mut mac).unwrap();
    hkdf.expand(b"cookie aead v1", &mut aead).unwrap();
    hkdf.expand(b"key id v1", &mut id).unwrap();
    (mac, aead, URL_SAFE_NO_PAD.encode(id))
}

fn pair_bytes(pair: &Pair<'_>) -> Vec<u8> {
    let mut out = Vec::new();
    for field in [pair.account_sid, pair.to, pair.from] {
        out.extend_from_slice(&(field.len() as u64).to_be_bytes());
        out.extend_from_slice(field.as_bytes());
    }
    out
}

/// Seals `payload` (any bytes, normally postcard's `(expires_at, state)`) as `version`
/// (`v1`, `p1` signed; `e1` encrypted with a fixed nonce) with `secret`, for `pair`.
pub fn harness_seal(secret: &str, version: &str, payload: &[u8], pair: &Pair<'_>) -> String {
    let (mac_key, aead_key, kid) = derive(secret);
    let header = format!("{version}.{kid}.");
    if version == "e1" {
        let nonce = [7u8; 12];
        let mut buf = nonce.to_vec();
        buf.extend_from_slice(payload);
        let mut aad = header.as_bytes().to_vec();
        aad.extend_from_slice(&pair_bytes(pair));
        let aead = <ChaCha20Poly1305 as AeadKeyInit>::new(&aead_key.into());
        let tag = aead
            .encrypt_inout_detached(&Nonce::from(nonce), &aad, (&mut buf[12..]).into())
            .unwrap();
        format!(
            "{header}{}.{}",
            URL_SAFE_NO_PAD.encode(&buf),
            URL_SAFE_NO_PAD.encode(tag)
        )
    } else {
        let signed = format!("{header}{}", URL_SAFE_NO_PAD.encode(payload));
        let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(&mac_key).unwrap();
        mac.update(signed.as_bytes());
        mac.update(&pair_bytes(pair));
        format!(
            "{signed}.{}",
            URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes())
        )
    }
}

/// Panics when [`harness_seal`] no longer produces values the worker opens: then the
/// harness, not the worker, needs fixing (src/session.rs changed its format).
pub fn check_harness_sealing() {
    static CHECKED: OnceLock<()> = OnceLock::new();
    CHECKED.get_or_init(|| {
        let mut state = ConversationState::default();
        state.record("SM1", NOW);
        let payload = state_payload(NOW + 10, &state);
        for version in ["v1", "e1"] {
            for secret in [SECRET_NEW, SECRET_OLD] {
                let sealed = harness_seal(secret, version, &payload, &PAIR);
                assert!(
                    matches!(keys().open(&sealed, &PAIR, NOW), Ok(Sealed::State(_))),
                    "fuzz harness sealing is out of sync with src/session.rs ({version})"
                );
            }
        }
        let pointer = pointer_payload(NOW + 10, "spill:x", &state);
        let sealed = harness_seal(SECRET_NEW, "p1", &pointer, &PAIR);
        assert!(
            matches!(keys().open(&sealed, &PAIR, NOW), Ok(Sealed::Pointer(_))),
            "fuzz harness sealing is out of sync with src/session.rs (p1)"
        );
    });
}

/// The payload of a sealed state: postcard's `(expires_at, state)`.
pub fn state_payload(expires_at: u64, state: &ConversationState) -> Vec<u8> {
    postcard::to_allocvec(&(expires_at, state)).unwrap()
}

/// The payload of a sealed pointer: postcard's `(expires_at, kv key, summary)`.
pub fn pointer_payload(expires_at: u64, key: &str, summary: &ConversationState) -> Vec<u8> {
    postcard::to_allocvec(&(expires_at, key, summary)).unwrap()
}

// ---------------------------------------------------------------------------------------
// cookie_open input: either a string (a cookie value, or a whole Cookie header; invalid
// UTF-8 is replaced), or `!<version>!<payload bytes>`, which the harness seals with the
// "new" key for PAIR.

/// When the input asks for it, the harness-sealed value of its payload.
pub fn harness_sealed_cookie(input: &[u8]) -> Option<String> {
    for version in ["v1", "e1", "p1"] {
        let prefix = format!("!{version}!");
        if let Some(payload) = input.strip_prefix(prefix.as_bytes()) {
            return Some(harness_seal(SECRET_NEW, version, payload, &PAIR));
        }
    }
    None
}

// ---------------------------------------------------------------------------------------
// signature input: `url \0 base_url \0 auth_token \0 header \0 form-encoded params`.

/// One input of the `signature` target.
#[derive(Debug, Clone, Default)]
pub struct SignatureInput {
    pub url: String,
    /// Empty means `None`.
    pub base_url: String,
    pub auth_token: String,
    pub header: String,
    /// `application/x-www-form-urlencoded`, decoded without the worker's parser.
    pub params: String,
}

impl SignatureInput {
    pub fn parse(data: &[u8]) -> Self {
        let mut fields = data.splitn(5, |&b| b == 0);
        let mut next = || String::from_utf8_lossy(fields.next().unwrap_or_default()).into_owned();
        SignatureInput {
            url: next(),
            base_url: next(),
            auth_token: next(),
            header: next(),
            params: next(),
        }
    }

    pub fn encode(&self) -> Vec<u8> {
        [
            &self.url,
            &self.base_url,
            &self.auth_token,
            &self.header,
            &self.params,
        ]
        .map(|s| s.as_str())
        .join("\0")
        .into_bytes()
    }
}

// ---------------------------------------------------------------------------------------
// webhook input: two flag bytes, then `method \0 url \0 content_type \0 signature \0
// cookie \0 body` (the body is the rest, any bytes; an empty header field is absent).
//
// Flag byte 0 picks the configuration (see [`config`]). Flag byte 1 (seeds use printable
// letters: '@' = 0x40 is "no flags", 'A' = sign, …):

/// The harness computes the right `X-Twilio-Signature` (the signature field is ignored).
pub const SIGN: u8 = 1;
/// The cookie field is the JSON of a `ConversationState` that the harness seals for the
/// message's pair (expiring `last_seen + TTL`); falls back to the raw field if it is not.
pub const SEAL_STATE: u8 = 2;
/// With [`SEAL_STATE`]: seal it encrypted (`e1`) rather than signed (`v1`).
pub const SEAL_ENCRYPTED: u8 = 4;
/// Bind a KV store (bits 3-4 pick its behaviour, see [`StoreMode`]).
pub const STORE_SHIFT: u8 = 3;

/// How the fuzzed KV store answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StoreMode {
    /// No `CONVERSATIONS` binding.
    Unbound,
    /// Bound, every key absent.
    Empty,
    /// Every read fails.
    Failing,
    /// Every key holds the cookie field, sealed like [`SEAL_STATE`] with a higher `seq`.
    Holding,
}

impl StoreMode {
    pub fn from_flags(flags: u8) -> Self {
        match (flags >> STORE_SHIFT) & 3 {
            0 => StoreMode::Unbound,
            1 => StoreMode::Empty,
            2 => StoreMode::Failing,
            _ => StoreMode::Holding,
        }
    }
}

/// One input of the `webhook` target.
#[derive(Debug, Clone, Default)]
pub struct WebhookInput {
    pub config: u8,
    pub flags: u8,
    pub method: String,
    pub url: String,
    pub content_type: String,
    pub signature: String,
    pub cookie: String,
    pub body: Vec<u8>,
}

impl WebhookInput {
    pub fn parse(data: &[u8]) -> Option<Self> {
        let (&config, data) = data.split_first()?;
        let (&flags, data) = data.split_first()?;
        let mut fields = data.splitn(6, |&b| b == 0);
        let mut next = || String::from_utf8_lossy(fields.next().unwrap_or_default()).into_owned();
        let (method, url, content_type, signature, cookie) =
            (next(), next(), next(), next(), next());
        let body = fields.next().unwrap_or_default().to_vec();
        Some(WebhookInput {
            config,
            flags,
            method,
            url,
            content_type,
            signature,
            cookie,
            body,
        })
    }

    pub fn encode(&self) -> Vec<u8> {
        let mut out = vec![self.config, self.flags];
        for field in [
            &self.method,
            &self.url,
            &self.content_type,
            &self.signature,
            &self.cookie,
        ] {
            out.extend_from_slice(field.as_bytes());
            out.push(0);
        }
        out.extend_from_slice(&self.body);
        out
    }
}

/// How many configurations the webhook target cycles through.
pub const CONFIGS: u8 = 7;

/// The worker configurations the webhook target runs under, picked by a flag byte (the
/// seeds use the digits '0'..'6'); the bool says whether a 500 ("misconfigured") is the
/// expected answer under it.
pub fn config(byte: u8) -> (Result<&'static Config, &'static ConfigError>, bool) {
    static CONFIGS_CELL: OnceLock<Vec<Result<Config, ConfigError>>> = OnceLock::new();
    let all = CONFIGS_CELL.get_or_init(|| {
        let secrets = format!("{SECRET_NEW},{SECRET_OLD}");
        let variants: Vec<Vec<(&str, &str)>> = vec![
            // 0: production defaults (history on, encrypted cookies).
            vec![("TWILIO_AUTH_TOKEN", AUTH_TOKEN)],
            // 1: no history (signed v1 cookies), known callers, templates echoing numbers.
            vec![
                ("TWILIO_AUTH_TOKEN", AUTH_TOKEN),
                ("HISTORY_TURNS", "0"),
                (
                    "KNOWN_CALLERS",
                    r#"{"+14155550100":"Rey","+14155550101":"<Finn & Poe>"}"#,
                ),
                ("REPLY_FIRST", "Hi {name}, {from} reached {to}."),
                ("REPLY_NEXT", "{name}: message {count} from {from} to {to}"),
            ],
            // 2: behind a tunnel; long history that outgrows the cookie; short TTL.
            vec![
                ("TWILIO_AUTH_TOKEN", AUTH_TOKEN),
                ("WEBHOOK_BASE_URL", "https://abc.ngrok.app/"),
                ("HISTORY_TURNS", "100"),
                ("HISTORY_MAX_BYTES", "1048576"),
                ("CONVERSATION_TTL_SECONDS", "60"),
                ("RESET_KEYWORD", "forget me"),
            ],
            // 3: unsigned local testing.
            vec![
                ("ALLOW_UNSIGNED_WEBHOOKS", "true"),
                ("ENCRYPT_STATE", "false"),
            ],
            // 4: no auth token and no opt-out: every webhook is "misconfigured".
            vec![],
            // 5: history without encryption, tiny byte budget.
            vec![
                ("TWILIO_AUTH_TOKEN", AUTH_TOKEN),
                ("ENCRYPT_STATE", "false"),
                ("HISTORY_TURNS", "3"),
                ("HISTORY_MAX_BYTES", "16"),
            ],
        ];
        let mut all: Vec<Result<Config, ConfigError>> = variants
            .into_iter()
            .map(|vars| {
                Config::from_lookup(|name| {
                    if name == "SESSION_SECRET" {
                        return Some(secrets.clone());
                    }
                    vars.iter()
                        .find(|(k, _)| *k == name)
                        .map(|(_, v)| v.to_string())
                })
            })
            .collect();
        // 6: the isolate could not parse its configuration at all.
        all.push(Config::from_lookup(|name| {
            (name == "KNOWN_CALLERS").then(|| "not json".to_string())
        }));
        assert!(
            all[..6].iter().all(Result::is_ok),
            "fuzz configs 0-5 must be valid"
        );
        assert!(all[6].is_err(), "fuzz config 6 must be invalid");
        all
    });
    let index = usize::from(byte.wrapping_sub(b'0') % CONFIGS);
    (all[index].as_ref(), index == 4 || index == 6)
}

/// The fuzzed `CONVERSATIONS` namespace. Reads are always ready, so a plain poll loop
/// drives `app::handle` to completion.
pub struct FuzzStore {
    pub mode: StoreMode,
    pub value: Option<String>,
}

impl Store for FuzzStore {
    async fn get(&self, _key: &str) -> Result<Option<String>, String> {
        match self.mode {
            StoreMode::Unbound | StoreMode::Empty => Ok(None),
            StoreMode::Failing => Err("fuzz: read failed".into()),
            StoreMode::Holding => Ok(self.value.clone()),
        }
    }
}

/// Runs a future that never waits: every store read here is ready at once, so one poll
/// with a no-op waker finishes `app::handle`.
pub fn block_on<F: std::future::Future>(future: F) -> F::Output {
    let mut future = std::pin::pin!(future);
    let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
    match future.as_mut().poll(&mut cx) {
        std::task::Poll::Ready(out) => out,
        std::task::Poll::Pending => panic!("app::handle waited on a store that is always ready"),
    }
}

/// A state from its JSON (serde's field names), the readable form the webhook seeds use.
pub fn state_from_json(json: &str) -> Option<ConversationState> {
    serde_json::from_str(json).ok()
}
