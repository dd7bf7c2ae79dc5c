//! Shared pieces of the fuzz targets: fixed keys, pair and time; the harness's own sealing
//! (to put fuzzed payloads behind a valid MAC); the byte layouts of the structured
//! targets, which `examples/gen_seeds.rs` writes and the targets read.
//!
//! The layouts are plain text with NUL separators, so seeds stay readable and the fuzzer
//! mutates fields independently (libFuzzer's comparison tracing finds the separators).

use std::cell::OnceCell;
use std::collections::BTreeMap;
use std::sync::OnceLock;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use chacha20poly1305::aead::{AeadInOut, KeyInit as AeadKeyInit};
use chacha20poly1305::{ChaCha20Poly1305, Nonce};
use hkdf::Hkdf;
use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;
use sms_conversation_worker::app::Setup;
use sms_conversation_worker::conversation::{Reply, Turn};
use sms_conversation_worker::record::{fingerprint, HistoryLimits, Pair, Record};
use sms_conversation_worker::conversations::SHIPPED;
use sms_conversation_worker::seal::{Opened, Place, Pointer, Purpose, SessionKeys};
use sms_conversation_worker::storage::{Store, StoreError};
use sms_conversation_worker::vars::{ConfigError, Vars};

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

/// `SESSION_SECRET="old"`: seals with the key that [`keys`] keeps for rotation.
pub fn old_keys() -> &'static SessionKeys {
    static KEYS: OnceLock<SessionKeys> = OnceLock::new();
    KEYS.get_or_init(|| SessionKeys::from_secrets(SECRET_OLD).expect("valid secret"))
}

// ---------------------------------------------------------------------------------------
// The harness's own sealing, a re-implementation of the format documented at the top of
// src/seal/mod.rs (and of the first release's, src/seal/legacy.rs). It lets the fuzzer
// choose the bytes *behind* a valid MAC (payloads, expiry), which it could never reach by
// forging a MAC. `check_harness_sealing` fails loudly if the two drift apart.

const HKDF_SALT: &[u8] = b"sms-conversation-worker session";

/// Every header a sealed value may start with: today's `2` + purpose letter + `s`/`e`,
/// then the first release's.
pub const HEADERS: [&str; 11] = [
    "2cs", "2ce", "2ps", "2pe", "2ks", "2ke", "2os", "2oe", "v1", "e1", "p1",
];

/// Every purpose a value is sealed for.
pub const PURPOSES: [Purpose; 4] = [
    Purpose::Cookie,
    Purpose::Pointer,
    Purpose::Kv,
    Purpose::Object,
];

/// Every place a value is opened at.
pub const PLACES: [Place; 3] = [Place::Cookie, Place::Kv, Place::Object];

/// The one place a value sealed for `purpose` opens: records and pointers in the
/// `Cookie` header, KV entries in KV, a Durable Object's record in its storage.
pub fn home(purpose: Purpose) -> Place {
    match purpose {
        Purpose::Cookie | Purpose::Pointer => Place::Cookie,
        Purpose::Kv => Place::Kv,
        Purpose::Object => Place::Object,
    }
}

/// The header of today's format for `purpose`, signed or encrypted.
pub fn header(purpose: Purpose, encrypt: bool) -> String {
    let letter = match purpose {
        Purpose::Cookie => 'c',
        Purpose::Pointer => 'p',
        Purpose::Kv => 'k',
        Purpose::Object => 'o',
    };
    format!("2{letter}{}", if encrypt { 'e' } else { 's' })
}

/// True for the headers of encrypted values (`2?e`, `e1`).
pub fn is_encrypted_header(header: &str) -> bool {
    header == "e1" || (header.len() == 3 && header.starts_with('2') && header.ends_with('e'))
}

/// Where a value with `header` may open: today's purposes each at one place, the first
/// release's `v1`/`e1` in a cookie or KV (it had no objects) and `p1` in a cookie; nowhere
/// for an unknown header.
pub fn header_opens_at(header: &str, place: Place) -> bool {
    matches!(
        (header, place),
        ("v1" | "e1", Place::Cookie | Place::Kv)
            | ("p1" | "2cs" | "2ce" | "2ps" | "2pe", Place::Cookie)
            | ("2ks" | "2ke", Place::Kv)
            | ("2os" | "2oe", Place::Object)
    )
}

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

/// Seals `payload` (any bytes, normally postcard's `(expires_at, record)`) under `header`
/// (one of [`HEADERS`]; encrypted ones with a fixed nonce) with `secret`, for `pair`.
pub fn harness_seal(secret: &str, header: &str, payload: &[u8], pair: &Pair<'_>) -> String {
    let (mac_key, aead_key, kid) = derive(secret);
    let start = format!("{header}.{kid}.");
    if is_encrypted_header(header) {
        let nonce = [7u8; 12];
        let mut buf = nonce.to_vec();
        buf.extend_from_slice(payload);
        let mut aad = start.as_bytes().to_vec();
        aad.extend_from_slice(&pair_bytes(pair));
        let aead = <ChaCha20Poly1305 as AeadKeyInit>::new(&aead_key.into());
        let tag = aead
            .encrypt_inout_detached(&Nonce::from(nonce), &aad, (&mut buf[12..]).into())
            .unwrap();
        format!(
            "{start}{}.{}",
            URL_SAFE_NO_PAD.encode(&buf),
            URL_SAFE_NO_PAD.encode(tag)
        )
    } else {
        let signed = format!("{start}{}", URL_SAFE_NO_PAD.encode(payload));
        let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(&mac_key).unwrap();
        mac.update(signed.as_bytes());
        mac.update(&pair_bytes(pair));
        format!(
            "{signed}.{}",
            URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes())
        )
    }
}

/// A record of 3 messages (the last `SM3`, no turns) for [`PAIR`], expiring `NOW + 3600`,
/// as the first release sealed it with [`SECRET_NEW`].
pub const FIRST_RELEASE_V1: &str =
    "v1.lZCQW6ca.kP7PqgYDA6jdz6oGqt3PqgYBA1NNMwAA.sgEAgD8fM9k1JwlAfZXwccj48sE5zvk9RRvwrp4sWzE";

/// Panics when [`harness_seal`] no longer produces values the worker opens (or the worker's
/// signed values differ from the harness's by a byte): then the harness, not the worker,
/// needs fixing (src/seal changed its format).
pub fn check_harness_sealing() {
    static CHECKED: OnceLock<()> = OnceLock::new();
    CHECKED.get_or_init(|| {
        let drift =
            |what: &str| format!("fuzz harness sealing is out of sync with src/seal ({what})");
        let record = sample_record(3, 2, "SM3");
        let payload = record_payload(NOW + 10, &record);
        let pointer = Pointer {
            key: "spill:x".into(),
            summary: record.summary(),
        };
        let pointer_bytes = pointer_payload(NOW + 10, &pointer.key, &pointer.summary);
        for purpose in PURPOSES {
            let place = home(purpose);
            let (bytes, expected) = match purpose {
                Purpose::Pointer => (&pointer_bytes, Opened::Pointer(pointer.clone())),
                _ => (&payload, Opened::Record(record.clone())),
            };
            for encrypt in [false, true] {
                let header = header(purpose, encrypt);
                for secret in [SECRET_NEW, SECRET_OLD] {
                    let sealed = harness_seal(secret, &header, bytes, &PAIR);
                    assert_eq!(
                        keys().open(&sealed, place, &PAIR, NOW).as_ref(),
                        Ok(&expected),
                        "{}",
                        drift(&header)
                    );
                }
                // The worker's own value opens the same, and a signed one is byte for byte
                // what the harness makes (the nonce makes encrypted ones differ).
                let theirs = match purpose {
                    Purpose::Pointer => keys().seal_pointer(&pointer, &PAIR, NOW + 10, encrypt),
                    _ => keys().seal(&record, purpose, &PAIR, NOW + 10, encrypt),
                }
                .expect("sealing needs only randomness, which the harness has");
                assert!(
                    theirs.starts_with(&format!("{header}.")),
                    "{}",
                    drift(&theirs)
                );
                if !encrypt {
                    assert_eq!(
                        theirs,
                        harness_seal(SECRET_NEW, &header, bytes, &PAIR),
                        "{}",
                        drift(&header)
                    );
                }
            }
        }
        // The first release's values: one it sealed itself (a seed of its fuzzing) is
        // byte for byte what the harness seals for the same state.
        let first: LegacyState = (
            3,
            3,
            NOW - 600,
            NOW - 598,
            Some("SM3".into()),
            BTreeMap::new(),
            Vec::new(),
        );
        let payload = legacy_state_payload(NOW + 3600, &first);
        assert_eq!(
            harness_seal(SECRET_NEW, "v1", &payload, &PAIR),
            FIRST_RELEASE_V1,
            "{}",
            drift("v1 as the first release sealed it")
        );
        let old = legacy_state(3, 2, "SM3");
        let legacy = legacy_state_payload(NOW + 10, &old);
        for version in ["v1", "e1"] {
            let sealed = harness_seal(SECRET_OLD, version, &legacy, &PAIR);
            assert!(
                keys().open(&sealed, Place::Object, &PAIR, NOW).is_err(),
                "{}",
                drift("a first-release value opened in an object")
            );
            for place in [Place::Cookie, Place::Kv] {
                match keys().open(&sealed, place, &PAIR, NOW) {
                    Ok(Opened::Record(r)) => assert!(
                        r.count == 3
                            && r.last_message_sid() == Some("SM3")
                            && r.seen == [fingerprint("SM3")]
                            && r.turns.len() == 2,
                        "{}",
                        drift(version)
                    ),
                    other => panic!("{}: {other:?}", drift(version)),
                }
            }
        }
        let sealed = harness_seal(
            SECRET_NEW,
            "p1",
            &legacy_pointer_payload(NOW + 10, "spill:x", &old),
            &PAIR,
        );
        let opened = keys().open(&sealed, Place::Cookie, &PAIR, NOW);
        assert!(
            matches!(&opened, Ok(Opened::Pointer(p)) if p.key == "spill:x" && p.summary.count == 3),
            "{}: {opened:?}",
            drift("p1")
        );
    });
}

/// The payload of a sealed record: postcard's `(expires_at, record)`, then the record's
/// standing and its deliveries (src/seal: what follows the record since it has them).
pub fn record_payload(expires_at: u64, record: &Record) -> Vec<u8> {
    let standing = &record.standing;
    postcard::to_allocvec(&(expires_at, record, standing, &standing.deliveries)).unwrap()
}

/// The payload of a sealed pointer: postcard's `(expires_at, kv key, summary)`, then the
/// summary's standing and deliveries.
pub fn pointer_payload(expires_at: u64, key: &str, summary: &Record) -> Vec<u8> {
    let standing = &summary.standing;
    postcard::to_allocvec(&(expires_at, key, summary, standing, &standing.deliveries)).unwrap()
}

/// A turn of the first release: `(at, message_sid, inbound, reply texts)`.
pub type LegacyTurn = (u64, String, String, Vec<String>);
/// The first release's state, field for field as src/seal/legacy.rs reads it (postcard
/// writes a struct as the tuple of its fields): `(seq, count, first_seen, last_seen,
/// last_message_sid, memory, turns)`.
pub type LegacyState = (
    u64,
    u64,
    u64,
    u64,
    Option<String>,
    BTreeMap<String, String>,
    Vec<LegacyTurn>,
);

/// A first-release state of `count` messages, the last being `last_sid`, with `turns`
/// turns and a `memory` entry.
pub fn legacy_state(count: u64, turns: usize, last_sid: &str) -> LegacyState {
    let turns = (0..turns)
        .map(|i| {
            let sid = if i + 1 == turns {
                last_sid.to_string()
            } else {
                format!("SM{i:032}")
            };
            let reply = vec![format!("Hello, thanks for message number {}", i + 1)];
            (NOW - 600 + i as u64, sid, format!("message {i} <&>"), reply)
        })
        .collect();
    let memory = BTreeMap::from([("name".to_string(), "Rey".to_string())]);
    (
        count,
        count,
        NOW - 600,
        NOW - 600 + count,
        Some(last_sid.to_string()),
        memory,
        turns,
    )
}

/// The first release's `(expires_at, state)` payload (`v1`, `e1`).
pub fn legacy_state_payload(expires_at: u64, state: &LegacyState) -> Vec<u8> {
    postcard::to_allocvec(&(expires_at, state)).unwrap()
}

/// The first release's pointer payload (`p1`): `(expires_at, kv key, state)`.
pub fn legacy_pointer_payload(expires_at: u64, key: &str, state: &LegacyState) -> Vec<u8> {
    postcard::to_allocvec(&(expires_at, key, state)).unwrap()
}

/// A record of `count` messages, the last being `last_sid`, its last reply kept and the
/// latest `turns` of them (at most `count`) as history, whatever the history limits (built
/// field by field, not through `Record::answered`, which applies them).
pub fn sample_record(count: u64, turns: usize, last_sid: &str) -> Record {
    let mut r = Record::default();
    let first_turn = count.saturating_sub(turns as u64);
    for i in 0..count {
        let sid = if i + 1 == count {
            last_sid.to_string()
        } else {
            format!("SM{i:032}")
        };
        r.count_message(&sid, NOW - 600 + i);
        let reply = if i == 0 {
            Reply::text("Hello, thanks for the new message.")
        } else {
            Reply::text(format!("Hello, thanks for message number {}", i + 1))
        };
        r.last_reply = reply;
        if i >= first_turn {
            r.turns.push(Turn {
                at: NOW - 600 + i,
                message_sid: r.last_message_sid().unwrap_or_default().to_string(),
                inbound: format!("message {i} <&>"),
                reply: r.last_reply.clone(),
            });
        }
    }
    r
}

// ---------------------------------------------------------------------------------------
// cookie_open input: either a string (a cookie value, or a whole Cookie header; invalid
// UTF-8 is replaced), or `!<header>!<payload bytes>` with a header of [`HEADERS`], which
// the harness seals with the "new" key for PAIR.

/// When the input asks for it, the harness-sealed value of its payload.
pub fn harness_sealed_cookie(input: &[u8]) -> Option<String> {
    HEADERS.iter().find_map(|header| {
        let prefix = format!("!{header}!");
        let payload = input.strip_prefix(prefix.as_bytes())?;
        Some(harness_seal(SECRET_NEW, header, payload, &PAIR))
    })
}

// ---------------------------------------------------------------------------------------
// purpose input: a flag byte, then `expires \0 account_sid \0 to \0 from \0 spill key \0
// record`. `expires` is a signed offset from NOW in decimal (anything else: +3600); the
// record is postcard bytes of a `Record` (anything else: a record of one message whose
// text is those bytes).

/// Flag: seal encrypted.
pub const PURPOSE_ENCRYPT: u8 = 1;
/// Flag: seal with the old key alone (which the target's keys still open).
pub const PURPOSE_OLD_KEY: u8 = 2;

/// One input of the `purpose` target.
#[derive(Debug, Clone, Default)]
pub struct PurposeInput {
    pub flags: u8,
    pub expires: String,
    pub account_sid: String,
    pub to: String,
    pub from: String,
    pub spill_key: String,
    pub record: Vec<u8>,
}

impl PurposeInput {
    pub fn parse(data: &[u8]) -> Option<Self> {
        let (&flags, data) = data.split_first()?;
        let mut fields = data.splitn(6, |&b| b == 0);
        let mut next = || String::from_utf8_lossy(fields.next().unwrap_or_default()).into_owned();
        let (expires, account_sid, to, from, spill_key) = (next(), next(), next(), next(), next());
        let record = fields.next().unwrap_or_default().to_vec();
        Some(PurposeInput {
            flags,
            expires,
            account_sid,
            to,
            from,
            spill_key,
            record,
        })
    }

    pub fn encode(&self) -> Vec<u8> {
        let mut out = vec![self.flags];
        for field in [
            &self.expires,
            &self.account_sid,
            &self.to,
            &self.from,
            &self.spill_key,
        ] {
            out.extend_from_slice(field.as_bytes());
            out.push(0);
        }
        out.extend_from_slice(&self.record);
        out
    }

    /// The expiry the value is sealed with.
    pub fn expires_at(&self) -> u64 {
        let offset = self.expires.trim().parse::<i64>().unwrap_or(3600);
        NOW.saturating_add_signed(offset)
    }

    /// The record the value holds.
    pub fn record(&self) -> Record {
        if let Ok(record) = postcard::from_bytes::<Record>(&self.record) {
            return record;
        }
        let text = String::from_utf8_lossy(&self.record).into_owned();
        let mut record = Record::default();
        record.count_message("SM1", NOW);
        let turn = Turn {
            at: NOW,
            message_sid: "SM1".into(),
            inbound: text.clone(),
            reply: Reply::text(text),
        };
        record.answered(
            turn,
            HistoryLimits {
                turns: 10,
                bytes: 1 << 20,
            },
        );
        record
    }

    pub fn pair(&self) -> Pair<'_> {
        Pair {
            account_sid: &self.account_sid,
            to: &self.to,
            from: &self.from,
        }
    }
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
// Flag byte 0 picks the configuration (see [`setup`]). Flag byte 1 (seeds use printable
// characters: '@' = 0x40 is "no flags", 'A' = sign, …):

/// The harness computes the right `X-Twilio-Signature` (the signature field is ignored).
pub const SIGN: u8 = 1;
/// The cookie field is the JSON of a `Record` that the harness seals for the message's
/// pair (expiring `last_seen + TTL`); falls back to the raw field if it is not.
pub const SEAL_STATE: u8 = 2;
/// With [`SEAL_STATE`]: seal it encrypted (`2ce`) rather than signed (`2cs`).
pub const SEAL_ENCRYPTED: u8 = 4;
/// Bind a KV store (bits 3-4 pick its behaviour, see [`StoreMode`]).
pub const STORE_SHIFT: u8 = 3;
/// Lend the webhook an (empty) isolate memory, kept for the re-deliveries.
pub const MEMORY: u8 = 0x20;
/// The runtime could not read the body: `Body::Unreadable` when the body field is empty,
/// `Body::TooLarge` otherwise.
pub const BODY_UNREAD: u8 = 0x80;

/// How the fuzzed KV store answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StoreMode {
    /// No `CONVERSATIONS` binding.
    Unbound,
    /// Bound, every key absent.
    Empty,
    /// Every read fails.
    Failing,
    /// Every key holds the cookie field, sealed like [`SEAL_STATE`] for KV with a higher
    /// `seq`.
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
pub const CONFIGS: u8 = 8;

/// The vars of each configuration (`SESSION_SECRET` is added to all but the last).
fn config_vars() -> Vec<Vec<(&'static str, &'static str)>> {
    vec![
        // 0: production defaults (history on, encrypted cookies, POST webhooks).
        vec![("TWILIO_AUTH_TOKEN", AUTH_TOKEN)],
        // 1: no history (signed cookies), known callers, templates echoing numbers; GET
        //    and POST webhooks alike.
        vec![
            ("TWILIO_AUTH_TOKEN", AUTH_TOKEN),
            ("WEBHOOK_METHOD", "any"),
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
        // 6: the isolate could not build its setup at all (no SESSION_SECRET, and a bad
        //    KNOWN_CALLERS).
        vec![("KNOWN_CALLERS", "not json")],
        // 7: the survey, GET webhooks only, two auth tokens (a rotation), results posted
        //    after the reply.
        vec![
            ("TWILIO_AUTH_TOKEN", "primary-token-0123456789, 12345"),
            ("WEBHOOK_METHOD", "GET"),
            ("CONVERSATION", "survey"),
            ("SURVEY_RESULTS_URL", "https://results.example/survey"),
            ("SURVEY_RESULTS_TOKEN", "results-token"),
        ],
    ]
}

/// What the webhook target runs under, built once per thread.
pub struct FuzzConfig {
    /// What the isolate built, or why it could not.
    pub setup: Result<Setup, ConfigError>,
    /// Its vars, for the runtime (conversations read their own).
    pub vars: Vec<(&'static str, String)>,
    /// A 500 ("misconfigured") is the expected answer to a webhook under it.
    pub misconfigured: bool,
}

impl FuzzConfig {
    /// The lookup the worker would hand over.
    pub fn lookup(&self, name: &str) -> Option<String> {
        self.vars
            .iter()
            .find(|(k, _)| *k == name)
            .map(|(_, v)| v.clone())
    }
}

/// The worker configuration the webhook target runs under, picked by a flag byte (the
/// seeds use the digits '0'..'7').
pub fn setup(byte: u8) -> &'static FuzzConfig {
    thread_local! {
        // `Setup` holds the conversation as a `Box<dyn Converse>`, which is not `Sync`:
        // one per thread (libFuzzer runs one), leaked so targets can hold `&'static`.
        static ALL: OnceCell<&'static [FuzzConfig]> = const { OnceCell::new() };
    }
    let all = ALL.with(|cell| {
        *cell.get_or_init(|| {
            let secrets = format!("{SECRET_NEW},{SECRET_OLD}");
            let last = config_vars().len() - 1;
            let all: Vec<FuzzConfig> = config_vars()
                .into_iter()
                .enumerate()
                .map(|(i, vars)| {
                    let mut vars: Vec<(&'static str, String)> =
                        vars.into_iter().map(|(k, v)| (k, v.to_string())).collect();
                    if i != 6 {
                        vars.push(("SESSION_SECRET", secrets.clone()));
                    }
                    let lookup = |name: &str| {
                        vars.iter()
                            .find(|(k, _)| *k == name)
                            .map(|(_, v)| v.clone())
                    };
                    let setup = Setup::from_vars(&Vars::new(&lookup), &SHIPPED);
                    let misconfigured = i == 4 || i == 6;
                    assert_eq!(
                        setup.is_err(),
                        i == 6,
                        "fuzz config {i} must be {} (of 0..={last})",
                        if i == 6 { "invalid" } else { "valid" }
                    );
                    FuzzConfig {
                        setup,
                        vars,
                        misconfigured,
                    }
                })
                .collect();
            &*Box::leak(all.into_boxed_slice())
        })
    });
    &all[usize::from(byte.wrapping_sub(b'0') % CONFIGS)]
}

/// The fuzzed `CONVERSATIONS` namespace. Reads are always ready, so a plain poll loop
/// (`harness::block_on`) drives `app::handle` to completion.
pub struct FuzzStore {
    pub mode: StoreMode,
    pub value: Option<String>,
}

impl Store for FuzzStore {
    async fn get(&self, _key: &str) -> Result<Option<String>, StoreError> {
        match self.mode {
            StoreMode::Unbound | StoreMode::Empty => Ok(None),
            StoreMode::Failing => Err(StoreError::Failed("fuzz: read failed".into())),
            StoreMode::Holding => Ok(self.value.clone()),
        }
    }
}

/// A record from its JSON (serde's field names), the readable form the webhook seeds use.
pub fn record_from_json(json: &str) -> Option<Record> {
    serde_json::from_str(json).ok()
}
