//! Writes the committed seed corpus, fuzz/seeds/<target>/<name>:
//!     cargo +nightly run --manifest-path fuzz/Cargo.toml --example gen_seeds
//! (scripts/fuzz.sh does not run this; the seeds are in git. Re-run it after changing
//! the input layouts in src/lib.rs or the cookie format.)
//!
//! Sources: the real Twilio webhook body of src/webhook.rs's tests and the parameters of
//! tests/helpers/worker.mjs `smsParams()`; the official SDKs' signature test vectors
//! (../shared/twilio-reference.md); cookies sealed by the worker's own `SessionKeys`.

use std::fs;
use std::path::{Path, PathBuf};

use sms_conversation_worker::session::{Pointer, SessionKeys, COOKIE_NAME};
use sms_conversation_worker::signature::{expected_signature, params_string};
use sms_conversation_worker::state::{ConversationState, Turn};
use sms_fuzz::*;

/// The inbound SMS body of `webhook::tests::TWILIO_BODY`.
const TWILIO_BODY: &str = "ToCountry=US&ToState=CA&SmsMessageSid=SM1f0e8ae6ade43cb3c0ce4525424e404f&NumMedia=0&ToCity=SAN+FRANCISCO&FromZip=94105&SmsSid=SM1f0e8ae6ade43cb3c0ce4525424e404f&FromState=CA&SmsStatus=received&FromCity=SAN+FRANCISCO&Body=Hello+%F0%9F%91%8B+%26+%3Cwelcome%3E&FromCountry=US&To=%2B15005550006&MessagingServiceSid=MG00000000000000000000000000000000&ToZip=94105&NumSegments=1&MessageSid=SM1f0e8ae6ade43cb3c0ce4525424e404f&AccountSid=AC00000000000000000000000000000000&From=%2B14155550100&ApiVersion=2010-04-01";
const SID: &str = "SM1f0e8ae6ade43cb3c0ce4525424e404f";
const URL: &str = "https://sms.example.workers.dev/sms";

/// `smsParams()` of tests/helpers/worker.mjs, encoded like `URLSearchParams`.
fn sms_params(from: &str, body: &str, sid: &str, extra: &[(&str, &str)]) -> String {
    let mut params = vec![
        ("ToCountry", "US"),
        ("ToState", "CA"),
        ("SmsMessageSid", sid),
        ("NumMedia", "0"),
        ("ToCity", "SAN FRANCISCO"),
        ("FromZip", "94105"),
        ("SmsSid", sid),
        ("FromState", "CA"),
        ("SmsStatus", "received"),
        ("FromCity", "SAN FRANCISCO"),
        ("Body", body),
        ("FromCountry", "US"),
        ("To", PAIR.to),
        ("ToZip", "94105"),
        ("NumSegments", "1"),
        ("MessageSid", sid),
        ("AccountSid", PAIR.account_sid),
        ("From", from),
        ("ApiVersion", "2010-04-01"),
    ];
    for (k, v) in extra {
        match params.iter_mut().find(|(pk, _)| pk == k) {
            Some(p) => p.1 = v,
            None => params.push((k, v)),
        }
    }
    serde_urlencoded::to_string(&params).unwrap()
}

fn state(count: u64, turns: usize, last_sid: &str) -> ConversationState {
    let mut s = ConversationState::default();
    for i in 0..count {
        let sid = if i + 1 == count {
            last_sid.to_string()
        } else {
            format!("SM{i:032}")
        };
        s.record(&sid, NOW - 600 + i);
    }
    for i in 0..turns {
        s.turns.push(Turn {
            at: NOW - 600 + i as u64,
            message_sid: format!("SM{i:032}"),
            inbound: format!("message {i} <&>"),
            reply: vec![format!("Hello, thanks for message number {}", i + 1)],
        });
    }
    s
}

fn write(dir: &Path, target: &str, name: &str, bytes: &[u8]) {
    let dir = dir.join(target);
    fs::create_dir_all(&dir).unwrap();
    fs::write(dir.join(name), bytes).unwrap();
}

fn main() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("seeds");
    let _ = fs::remove_dir_all(&root);
    let keys = keys();
    let old_only = SessionKeys::from_secrets(SECRET_OLD).unwrap();

    // ---- cookie_open ------------------------------------------------------------------
    let t = "cookie_open";
    let s3 = state(3, 0, "SM3");
    let mut s_mem = state(5, 3, "SM5");
    s_mem.memory.insert("name".into(), "Rey".into());
    let v1 = keys.seal(&s3, &PAIR, NOW + 3600, false);
    let pointer = Pointer {
        key: "spill:AAAAAAAAAAAAAAAAAAAAAA".into(),
        summary: state(40, 0, "SM40"),
    };
    let cookies = [
        ("v1_state", v1.clone()),
        ("v1_old_key", old_only.seal(&s3, &PAIR, NOW + 3600, false)),
        (
            "e1_history_memory",
            keys.seal(&s_mem, &PAIR, NOW + 3600, true),
        ),
        ("p1_pointer", keys.seal_pointer(&pointer, &PAIR, NOW + 3600)),
        ("v1_expired", keys.seal(&s3, &PAIR, NOW - 1, false)),
        (
            "v1_other_pair",
            keys.seal(&s3, &OTHER_PAIR, NOW + 3600, false),
        ),
        ("v1_unknown_version", v1.replacen("v1.", "v9.", 1)),
        (
            "header_duplicates",
            format!(
                "other=1; {COOKIE_NAME}=junk; {COOKIE_NAME}={v1}; ;=; {COOKIE_NAME}={}; x",
                keys.seal(&state(4, 0, "SM4"), &PAIR, NOW + 3600, true)
            ),
        ),
        ("junk_dots", "v1...".into()),
        ("junk_emoji", "v1.\u{1F600}.\u{1F600}.\u{1F600}".into()),
    ];
    for (name, value) in &cookies {
        write(&root, t, name, value.as_bytes());
    }
    // Payloads the harness seals itself (`!<version>!<postcard bytes>`).
    let mut s9 = state(9, 2, "SM9");
    s9.memory.insert("a".into(), "b".into());
    let harness = [
        (
            "harness_v1",
            "v1",
            state_payload(NOW + 60, &state(2, 0, "SM2")),
        ),
        (
            "harness_e1_turns_memory",
            "e1",
            state_payload(NOW + 60, &s9),
        ),
        (
            "harness_p1",
            "p1",
            pointer_payload(NOW + 60, "spill:abc", &state(7, 0, "SM7")),
        ),
        (
            "harness_v1_expired",
            "v1",
            state_payload(NOW, &state(1, 0, "SM1")),
        ),
        ("harness_v1_not_a_state", "v1", b"\xff\xff\xff\xff".to_vec()),
    ];
    for (name, version, payload) in harness {
        let mut bytes = format!("!{version}!").into_bytes();
        bytes.extend_from_slice(&payload);
        write(&root, t, name, &bytes);
    }

    // ---- form_parse -------------------------------------------------------------------
    let t = "form_parse";
    let forms: Vec<(&str, String)> = vec![
        ("twilio_body", TWILIO_BODY.into()),
        (
            "sms_params",
            sms_params(
                PAIR.from,
                "Hello there, it's me",
                "SM00000000000000000000000000000001",
                &[],
            ),
        ),
        (
            "mms",
            sms_params(
                PAIR.from,
                "",
                "MM00000000000000000000000000000001",
                &[
                    ("NumMedia", "2"),
                    (
                        "MediaUrl1",
                        "https://api.twilio.com/2010-04-01/Accounts/AC0/Messages/MM0/Media/ME1",
                    ),
                    ("MediaContentType0", "image/jpeg"),
                    (
                        "MediaUrl0",
                        "https://api.twilio.com/2010-04-01/Accounts/AC0/Messages/MM0/Media/ME0",
                    ),
                ],
            ),
        ),
        (
            "whatsapp",
            sms_params(
                "whatsapp:+14155550100",
                "hola",
                "SM2",
                &[
                    ("To", "whatsapp:+15005550006"),
                    ("ProfileName", "Rey"),
                    ("WaId", "14155550100"),
                ],
            ),
        ),
        (
            "opt_out",
            sms_params(PAIR.from, "STOP", "SM3", &[("OptOutType", "STOP")]),
        ),
        ("replacement_char", "From=a&To=b&Body=%EF%BF%BD".into()),
        ("bad_percent_utf8", "From=%FF&To=b".into()),
        ("repeated_from", "From=a&From=c&To=b".into()),
        ("missing_to", "From=%2B1&Body=x".into()),
        (
            "too_many",
            (0..201)
                .map(|i| format!("P{i}=1"))
                .collect::<Vec<_>>()
                .join("&"),
        ),
        ("empty", String::new()),
    ];
    for (name, form) in &forms {
        write(&root, t, name, form.as_bytes());
    }

    // ---- signature --------------------------------------------------------------------
    let t = "signature";
    let sdk = "CallSid=CA1234567890ABCDE&Caller=%2B14158675309&Digits=1234&From=%2B14158675309&To=%2B18005551212";
    let docs = "Digits=1234&To=%2B18005551212&From=%2B14158675310&Caller=%2B14158675310&CallSid=CA1234567890ABCDE";
    let sig = |url: &str, base: &str, header: &str, params: &str| SignatureInput {
        url: url.into(),
        base_url: base.into(),
        auth_token: "12345".into(),
        header: header.into(),
        params: params.into(),
    };
    let vectors = [
        (
            "sdk_url_as_is",
            sig(
                "https://mycompany.com/myapp.php?foo=1&bar=2",
                "",
                "RSOYDt4T1cUTdK1PDd93/VVr8B8=",
                sdk,
            ),
        ),
        (
            "sdk_port_443",
            sig(
                "https://mycompany.com:443/myapp.php?foo=1&bar=2",
                "",
                "kvajT1Ptam85bY51eRf/AJRuM3w=",
                sdk,
            ),
        ),
        (
            "sdk_port_80",
            sig(
                "http://mycompany.com:80/myapp.php?foo=1&bar=2",
                "",
                "0ZXoZLH/DfblKGATFgpif+LLRf4=",
                sdk,
            ),
        ),
        (
            "sdk_port_1234",
            sig(
                "http://mycompany.com:1234/myapp.php?foo=1&bar=2",
                "",
                "Zmvh+3yNM1Phv2jhDCwEM3q5ebU=",
                sdk,
            ),
        ),
        (
            "sdk_443_signed_without_port",
            sig(
                "https://mycompany.com:443/myapp.php?foo=1&bar=2",
                "",
                "RSOYDt4T1cUTdK1PDd93/VVr8B8=",
                sdk,
            ),
        ),
        (
            "sdk_repeated_param",
            sig(
                "https://mycompany.com/myapp.php?foo=1&bar=2",
                "",
                "IK+Dwps556ElfBT0I3Rgjkr1wJU=",
                "Sid=CA123&SidAccount=AC123&Digits=5678&Digits=1234&Digits=1234",
            ),
        ),
        (
            "docs_example",
            sig(
                "https://example.com/myapp.php?foo=1&bar=2",
                "",
                "L/OH5YylLD5NRKLltdqwSvS0BnU=",
                docs,
            ),
        ),
        (
            "apostrophe",
            sig(
                "https://example.com/sms?Body=It%27s&From=%2B1",
                "",
                &expected_signature("12345", "https://example.com/sms?Body=It's&From=%2B1", ""),
                "",
            ),
        ),
        (
            "base_url",
            sig(
                "http://127.0.0.1:8787/sms?x=1",
                "https://abc.ngrok.app",
                &expected_signature(
                    "12345",
                    "https://abc.ngrok.app/sms?x=1",
                    &params_string([("CallSid", "CA1234567890ABCDE")]),
                ),
                "CallSid=CA1234567890ABCDE",
            ),
        ),
        (
            "credentials_fragment",
            sig(
                "https://user:pass@mycompany.com/myapp.php?foo=1&bar=2#rc=2",
                "",
                "RSOYDt4T1cUTdK1PDd93/VVr8B8=",
                sdk,
            ),
        ),
        (
            "ipv6",
            sig("http://[::1]:8787/sms", "", " not base64 at all! ", ""),
        ),
        (
            "truncated_header",
            sig(
                "https://mycompany.com/myapp.php?foo=1&bar=2",
                "",
                "RSOYDt4T1cUTdK1PDd93/VVr8B8",
                sdk,
            ),
        ),
    ];
    for (name, input) in &vectors {
        write(&root, t, name, &input.encode());
    }

    // ---- webhook ----------------------------------------------------------------------
    let t = "webhook";
    // Flag bytes: '@' = 0x40 (no flags) plus SIGN 1, SEAL_STATE 2, SEAL_ENCRYPTED 4, store
    // (0x08 empty, 0x10 failing, 0x18 holding).
    let form_ct = "application/x-www-form-urlencoded";
    let real_sig = |url: &str, body: &str| {
        let params = sms_conversation_worker::webhook::parse_params(body.as_bytes()).unwrap();
        expected_signature(
            AUTH_TOKEN,
            url,
            &params_string(params.iter().map(|(k, v)| (k.as_str(), v.as_str()))),
        )
    };
    let post = |config: u8, flags: u8, url: &str, signature: &str, cookie: &str, body: &str| {
        WebhookInput {
            config,
            flags,
            method: "POST".into(),
            url: url.into(),
            content_type: format!("{form_ct}; charset=utf-8"),
            signature: signature.into(),
            cookie: cookie.into(),
            body: body.as_bytes().to_vec(),
        }
    };
    let sealed_cookie = |s: &ConversationState, encrypt: bool| {
        let (config, _) = config(b'0');
        let c = config.unwrap();
        format!(
            "{COOKIE_NAME}={}",
            c.session_keys.seal(s, &PAIR, NOW + 3600, encrypt)
        )
    };
    let json = |s: &ConversationState| serde_json::to_string(s).unwrap();
    let long_body = "long message ".repeat(100);
    let get_url = format!(
        "{URL}?From=%2B14155550100&To=%2B15005550006&Body=It%27s+me&MessageSid=SM1&AccountSid={}",
        PAIR.account_sid
    );
    let inputs: Vec<(&str, WebhookInput)> = vec![
        (
            "twilio_body_real_signature",
            post(
                b'0',
                b'@',
                URL,
                &real_sig(URL, TWILIO_BODY),
                "",
                TWILIO_BODY,
            ),
        ),
        (
            "twilio_body_harness_signed",
            post(b'0', b'A', URL, "", "", TWILIO_BODY),
        ),
        (
            "cookie_real_signature",
            post(
                b'0',
                b'@',
                URL,
                &real_sig(URL, TWILIO_BODY),
                &sealed_cookie(&state(2, 2, "SM2"), true),
                TWILIO_BODY,
            ),
        ),
        (
            "seal_state_encrypted",
            post(
                b'0',
                b'G',
                URL,
                "",
                &json(&state(4, 4, "SMprev")),
                TWILIO_BODY,
            ),
        ),
        (
            "seal_state_retry",
            post(b'0', b'C', URL, "", &json(&state(2, 2, SID)), TWILIO_BODY),
        ),
        (
            "known_caller_get",
            WebhookInput {
                config: b'1',
                flags: b'A',
                method: "GET".into(),
                url: get_url.clone(),
                ..Default::default()
            },
        ),
        (
            "known_caller_post",
            post(
                b'1',
                b'C',
                URL,
                "",
                &json(&state(7, 0, "SM7")),
                &sms_params(PAIR.from, "hi", "SM8", &[]),
            ),
        ),
        (
            "tunnel_kv_holding",
            post(
                b'2',
                b'[',
                "http://127.0.0.1:8787/sms",
                "",
                &json(&state(30, 30, "SM30")),
                &sms_params(PAIR.from, &long_body, "SM31", &[]),
            ),
        ),
        (
            "tunnel_kv_empty_long",
            post(
                b'2',
                b'I',
                "http://127.0.0.1:8787/sms",
                "",
                "",
                &sms_params(PAIR.from, &long_body, "SM1", &[]),
            ),
        ),
        (
            "kv_failing",
            post(b'0', b'S', URL, "", &json(&state(3, 1, "SM3")), TWILIO_BODY),
        ),
        (
            "reset_with_kv",
            post(
                b'2',
                b'K',
                URL,
                "",
                &json(&state(3, 0, "SM3")),
                &sms_params(PAIR.from, "Forget me", "SM4", &[]),
            ),
        ),
        (
            "reset_default",
            post(
                b'0',
                b'A',
                URL,
                "",
                "",
                &sms_params(PAIR.from, " reset ", "SM4", &[]),
            ),
        ),
        (
            "stop",
            post(
                b'0',
                b'A',
                URL,
                "",
                "",
                &sms_params(PAIR.from, "STOP", "SM5", &[("OptOutType", "STOP")]),
            ),
        ),
        (
            "status_callback",
            post(
                b'0',
                b'A',
                URL,
                "",
                "",
                &sms_params(PAIR.from, "", "SM6", &[("MessageStatus", "delivered")]),
            ),
        ),
        ("mms", post(b'5', b'A', URL, "", "", &forms[2].1)),
        ("unsigned", post(b'3', b'@', URL, "", "", TWILIO_BODY)),
        ("missing_token", post(b'4', b'@', URL, "", "", TWILIO_BODY)),
        ("broken_config", post(b'6', b'@', URL, "", "", TWILIO_BODY)),
        (
            "bad_signature",
            post(
                b'0',
                b'@',
                URL,
                "RSOYDt4T1cUTdK1PDd93/VVr8B8=",
                "",
                TWILIO_BODY,
            ),
        ),
        (
            "missing_from",
            post(b'0', b'A', URL, "", "", "To=%2B1&Body=x"),
        ),
        ("not_utf8", post(b'0', b'A', URL, "", "", "From=%FF&To=b")),
        (
            "json_content_type",
            WebhookInput {
                content_type: "application/json".into(),
                ..post(b'0', b'A', URL, "", "", "{}")
            },
        ),
        (
            "put",
            WebhookInput {
                method: "PUT".into(),
                ..post(b'0', b'A', URL, "", "", TWILIO_BODY)
            },
        ),
        (
            "other_path",
            post(
                b'0',
                b'A',
                "https://sms.example.workers.dev/admin",
                "",
                "",
                TWILIO_BODY,
            ),
        ),
        (
            "info_page",
            WebhookInput {
                config: b'6',
                flags: b'@',
                method: "GET".into(),
                url: "https://sms.example.workers.dev/".into(),
                ..Default::default()
            },
        ),
        (
            "tiny_history",
            post(
                b'5',
                b'C',
                URL,
                "",
                &json(&state(2, 3, "SM2")),
                &sms_params(PAIR.from, "hello there", "SM3", &[]),
            ),
        ),
    ];
    for (name, input) in &inputs {
        write(&root, t, name, &input.encode());
    }
    eprintln!("seeds written to {}", root.display());
}
