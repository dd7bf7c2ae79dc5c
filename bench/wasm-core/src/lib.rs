//! One webhook through `app::handle`, as benches/webhook.rs runs it natively, exported to
//! JavaScript: `setup(config)` builds an isolate, then `tenth(n)` / `fresh(n)` / `step(name,
//! n)` run n times and the caller times them.
use std::cell::RefCell;
use std::hint::black_box;
use std::rc::Rc;

use sms_conversation_worker::app::{self, Body, HttpRequest, Runtime, Setup};
use sms_conversation_worker::conversation::{HttpClient, NoClient};
use sms_conversation_worker::conversations::SHIPPED;
use sms_conversation_worker::record::{Pair, Record};
use sms_conversation_worker::response::HttpResponse;
use sms_conversation_worker::seal::{Opened, Purpose};
use sms_conversation_worker::storage::{Memory, NoStore};
use sms_conversation_worker::twilio::params::{parse_params, InboundMessage};
use sms_conversation_worker::twilio::signature;
use sms_conversation_worker::vars::Vars;
use wasm_bindgen::prelude::*;

#[path = "../../../benches/fixture/mod.rs"]
mod fixture;
use fixture::{webhook, ACCOUNT_SID, FROM, NOW, SECRET, TO, TOKEN, URL};

const KIB: [u8; 1024] = [0x5a; 1024];

struct Bench {
    setup: Setup,
    vars: Vec<(&'static str, &'static str)>,
    http: Rc<dyn HttpClient>,
    form1: String,
    sig1: String,
    form10: String,
    sig10: String,
    cookie: String,
    record: Record,
    kib64: String,
    memory: Memory,
}

thread_local! {
    static BENCH: RefCell<Option<Bench>> = const { RefCell::new(None) };
}

fn handle(b: &Bench, form: &str, sig: &str, cookie: Option<&str>, now: u64) -> HttpResponse {
    handle_with(b, form, sig, cookie, now, None)
}

/// With the isolate's memory, as the worker runs: a repeated message is a retry.
fn handle_with(
    b: &Bench,
    form: &str,
    sig: &str,
    cookie: Option<&str>,
    now: u64,
    memory: Option<&Memory>,
) -> HttpResponse {
    let req = HttpRequest {
        method: "POST",
        url: URL,
        content_type: Some("application/x-www-form-urlencoded"),
        signature: Some(sig),
        cookie,
        authorization: None,
        idempotency_key: None,
        body: Body::Read(form.as_bytes()),
    };
    let lookup = |name: &str| {
        b.vars
            .iter()
            .rev()
            .find(|(k, _)| *k == name)
            .map(|(_, v)| v.to_string())
    };
    let rt: Runtime<'_, NoStore> = Runtime {
        memory,
        ..Runtime::new(now, Vars::new(&lookup), Rc::clone(&b.http))
    };
    sms_conversation_worker::harness::block_on(app::handle(Ok(&b.setup), &req, &rt)).response
}

/// `config`: "default", "signed+history" or "signed" (HISTORY_TURNS=0).
#[wasm_bindgen]
pub fn setup(config: &str) -> usize {
    let mut vars = vec![("SESSION_SECRET", SECRET), ("TWILIO_AUTH_TOKEN", TOKEN)];
    match config {
        "signed" => vars.push(("HISTORY_TURNS", "0")),
        "signed+history" => vars.push(("ENCRYPT_STATE", "false")),
        _ => {}
    }
    let lookup = |name: &str| {
        vars.iter()
            .rev()
            .find(|(k, _)| *k == name)
            .map(|(_, v)| v.to_string())
    };
    let setup = Setup::from_vars(&Vars::new(&lookup), &SHIPPED).expect("configuration");
    let (form1, sig1) = webhook(1);
    let (form10, sig10) = webhook(10);
    let mut b = Bench {
        setup,
        vars,
        http: Rc::new(NoClient),
        form1,
        sig1,
        form10,
        sig10,
        cookie: String::new(),
        record: Record::default(),
        memory: Memory::default(),
        kib64: {
            use base64::Engine;
            base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(KIB)
        },
    };
    let mut jar: Option<String> = None;
    for i in 1..=9 {
        let (form, sig) = webhook(i);
        let resp = handle(&b, &form, &sig, jar.as_deref(), NOW + u64::from(i));
        assert_eq!(resp.status, 200, "{}", resp.body);
        let set = resp.set_cookie.expect("a cookie");
        jar = Some(set.split(';').next().unwrap().to_string());
    }
    b.cookie = jar.unwrap();
    let tenth = handle(&b, &b.form10, &b.sig10, Some(&b.cookie), NOW + 10);
    assert!(tenth.body.contains("message number 10"), "{}", tenth.body);
    let pair = Pair {
        account_sid: ACCOUNT_SID,
        to: TO,
        from: FROM,
    };
    b.record = match b
        .setup
        .config
        .storage
        .keys
        .open_cookie_header(&b.cookie, &pair, NOW + 10)
    {
        Some(Opened::Record(r)) => r,
        _ => panic!("the 9th message's cookie opens"),
    };
    let size = tenth.set_cookie.map_or(0, |c| c.len());
    BENCH.with(|cell| *cell.borrow_mut() = Some(b));
    size
}

/// Bytes of the `app::handle` future (moved into a box per webhook by the worker).
#[wasm_bindgen]
pub fn handle_future_bytes() -> usize {
    BENCH.with(|cell| {
        let cell = cell.borrow();
        let b = cell.as_ref().expect("setup first");
        let req = HttpRequest {
            method: "POST",
            url: URL,
            content_type: None,
            signature: None,
            cookie: None,
            authorization: None,
            idempotency_key: None,
            body: Body::Read(&[]),
        };
        let lookup = |_: &str| None;
        let rt: Runtime<'_, NoStore> = Runtime::new(NOW, Vars::new(&lookup), Rc::clone(&b.http));
        let future = app::handle(Ok(&b.setup), &req, &rt);
        std::mem::size_of_val(&future)
    })
}

/// Runs `what` `n` times: "tenth", "fresh", or a step ("parse", "verify", "open", "seal").
#[wasm_bindgen]
pub fn run(what: &str, n: u32) {
    BENCH.with(|cell| {
        let cell = cell.borrow();
        let b = cell.as_ref().expect("setup first");
        let keys = &b.setup.config.storage.keys;
        let pair = Pair {
            account_sid: ACCOUNT_SID,
            to: TO,
            from: FROM,
        };
        let encrypt = b.setup.config.storage.encrypt;
        for _ in 0..n {
            match what {
                "tenth" => {
                    black_box(handle(b, &b.form10, &b.sig10, Some(&b.cookie), NOW + 10));
                }
                "retry" => {
                    // The workerd benchmark's steady state: message 10 again, with memory.
                    let memory = Some(&b.memory);
                    black_box(handle_with(
                        b,
                        &b.form10,
                        &b.sig10,
                        Some(&b.cookie),
                        NOW + 10,
                        memory,
                    ));
                }
                "fresh" => {
                    black_box(handle(b, &b.form1, &b.sig1, None, NOW + 1));
                }
                "parse" => {
                    black_box(parse_params(black_box(b.form10.as_bytes())).unwrap());
                }
                "typed" => {
                    let params = parse_params(b.form10.as_bytes()).unwrap();
                    black_box(InboundMessage::from_params(&params).unwrap());
                }
                "verify" => {
                    let params = parse_params(b.form10.as_bytes()).unwrap();
                    let data = signature::params_string(
                        params.iter().map(|(k, v)| (k.as_ref(), v.as_ref())),
                    );
                    let urls = signature::candidate_urls(URL, None);
                    assert!(signature::is_valid(
                        TOKEN,
                        urls.iter().map(String::as_str),
                        &data,
                        &b.sig10
                    ));
                }
                "open" => {
                    black_box(keys.open_cookie_header(black_box(&b.cookie), &pair, NOW + 10));
                }
                "seal" => {
                    let _ = black_box(keys.seal(
                        &b.record,
                        Purpose::Cookie,
                        &pair,
                        NOW + 14_410,
                        encrypt,
                    ));
                }
                "sha1-1k" => {
                    use sha1::Digest;
                    black_box(sha1::Sha1::digest(black_box(&KIB[..])));
                }
                "sha256-1k" => {
                    use sha2::Digest;
                    black_box(sha2::Sha256::digest(black_box(&KIB[..])));
                }
                "chacha20poly1305-1k" => {
                    use chacha20poly1305::aead::{AeadInOut, KeyInit};
                    let aead = chacha20poly1305::ChaCha20Poly1305::new(&[7u8; 32].into());
                    let mut buf = KIB;
                    black_box(
                        aead.encrypt_inout_detached(&[1u8; 12].into(), b"", (&mut buf[..]).into())
                            .unwrap(),
                    );
                }
                "chacha20-1k" => {
                    use chacha20::cipher::{KeyIvInit, StreamCipher};
                    let mut cipher = chacha20::ChaCha20::new(&[7u8; 32].into(), &[1u8; 12].into());
                    let mut buf = KIB;
                    cipher.apply_keystream(&mut buf);
                    black_box(buf);
                }
                "poly1305-1k" => {
                    use poly1305::universal_hash::{KeyInit, UniversalHash};
                    let mut mac = poly1305::Poly1305::new(&[7u8; 32].into());
                    mac.update_padded(black_box(&KIB[..]));
                    black_box(mac.finalize());
                }
                "base64-encode-1k" => {
                    use base64::Engine;
                    black_box(
                        base64::engine::general_purpose::URL_SAFE_NO_PAD
                            .encode(black_box(&KIB[..])),
                    );
                }
                "base64-decode-1k" => {
                    use base64::Engine;
                    black_box(
                        base64::engine::general_purpose::URL_SAFE_NO_PAD
                            .decode(black_box(&b.kib64))
                            .unwrap(),
                    );
                }
                "postcard-record" => {
                    let bytes = postcard::to_allocvec(&(1u64, &b.record)).unwrap();
                    black_box(postcard::from_bytes::<(u64, Record)>(&bytes).unwrap());
                }
                other => panic!("unknown step {other}"),
            }
        }
    });
}
