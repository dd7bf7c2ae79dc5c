//! One webhook's full work, natively: `app::handle` parses the form, verifies
//! `X-Twilio-Signature`, opens the pair's cookie, counts, seals the new cookie and renders
//! TwiML — for a conversation's first message (no cookie) and for its 10th (the cookie the
//! 9th left, with 9 turns of history), with the default configuration (encrypted state with
//! history) and with `HISTORY_TURNS=0` (a signed, readable state, no history).
//!
//! The `steps` group times each step of the 10th message on its own, to show where the
//! time goes; the `stages` group times the stages of the signed path that bench/stages.sh
//! times in workerd (src/bench_stages.rs, the `bench-stages` feature). Run with `npm run bench` (or `cargo bench --bench webhook`).

use std::hint::black_box;
use std::rc::Rc;
use std::time::Duration;

use criterion::{criterion_group, criterion_main, Criterion};
use sms_conversation_worker::app::{self, Body, HttpRequest, Runtime, Setup};
use sms_conversation_worker::bench_stages::{self, STAGES};
use sms_conversation_worker::conversation::{HttpClient, NoClient, Reply};
use sms_conversation_worker::conversations::SHIPPED;
use sms_conversation_worker::record::Pair;
use sms_conversation_worker::response::{HttpResponse, Outcome};
use sms_conversation_worker::seal::{Opened, Purpose};
use sms_conversation_worker::storage::{Memory, NoStore};
use sms_conversation_worker::twilio::params::{parse_params, InboundMessage};
use sms_conversation_worker::twilio::{signature, twiml};
use sms_conversation_worker::vars::Vars;

mod fixture;
use fixture::{webhook, NOW, SECRET, TOKEN, URL};

/// What an isolate builds once (the default conversation, the counter), with its vars.
struct Isolate {
    setup: Setup,
    vars: Vec<(&'static str, &'static str)>,
    http: Rc<dyn HttpClient>,
}

fn config(extra: &[(&'static str, &'static str)]) -> Isolate {
    let mut vars = vec![("SESSION_SECRET", SECRET), ("TWILIO_AUTH_TOKEN", TOKEN)];
    vars.extend_from_slice(extra);
    let lookup = |name: &str| {
        vars.iter()
            .rev()
            .find(|(k, _)| *k == name)
            .map(|(_, v)| v.to_string())
    };
    let setup = Setup::from_vars(&Vars::new(&lookup), &SHIPPED).expect("bench configuration");
    Isolate {
        setup,
        vars,
        http: Rc::new(NoClient),
    }
}

/// One webhook through `app::handle`, as the worker runs it without KV. No isolate memory
/// either: with it, every iteration after the first would be a retry of the same message.
fn handle(
    isolate: &Isolate,
    form: &str,
    sig: &str,
    cookie: Option<&str>,
    now: u64,
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
        isolate
            .vars
            .iter()
            .rev()
            .find(|(k, _)| *k == name)
            .map(|(_, v)| v.to_string())
    };
    let rt: Runtime<'_, NoStore> = Runtime::new(now, Vars::new(&lookup), Rc::clone(&isolate.http));
    pollster::block_on(app::handle(Ok(&isolate.setup), &req, &rt)).response
}

/// The `Cookie` header Twilio sends with message `n + 1`: what message `n` set.
fn cookie_after(config: &Isolate, n: u32) -> String {
    let mut jar: Option<String> = None;
    for i in 1..=n {
        let (form, sig) = webhook(i);
        let resp = handle(config, &form, &sig, jar.as_deref(), NOW + u64::from(i));
        assert_eq!(resp.status, 200, "{}", resp.body);
        let set = resp.set_cookie.expect("a cookie");
        jar = Some(set.split(';').next().unwrap().to_string());
    }
    jar.expect("n > 0")
}

fn bench_webhook(c: &mut Criterion) {
    let mut group = c.benchmark_group("webhook");
    for (label, extra) in [
        ("encrypted+history", &[][..]),
        // The same history, signed but not encrypted: what ENCRYPT_STATE costs on its own.
        ("signed+history", &[("ENCRYPT_STATE", "false")][..]),
        ("signed,HISTORY_TURNS=0", &[("HISTORY_TURNS", "0")][..]),
    ] {
        let config = config(extra);
        let (form1, sig1) = webhook(1);
        let first = handle(&config, &form1, &sig1, None, NOW + 1);
        assert!(
            first.body.contains("thanks for the new message"),
            "{}",
            first.body
        );
        group.bench_function(format!("fresh/{label}"), |b| {
            b.iter(|| handle(&config, black_box(&form1), black_box(&sig1), None, NOW + 1))
        });

        let cookie = cookie_after(&config, 9);
        let (form10, sig10) = webhook(10);
        let tenth = handle(&config, &form10, &sig10, Some(&cookie), NOW + 10);
        assert!(tenth.body.contains("message number 10"), "{}", tenth.body);
        assert_eq!(tenth.log.outcome, Outcome::Reply);
        println!(
            "# {label}: cookie of the 10th message is {} bytes",
            tenth.set_cookie.as_deref().map_or(0, str::len)
        );
        group.bench_function(format!("10th/{label}"), |b| {
            b.iter(|| {
                handle(
                    &config,
                    black_box(&form10),
                    black_box(&sig10),
                    Some(black_box(&cookie)),
                    NOW + 10,
                )
            })
        });
    }
    group.finish();
}

/// The steps of the 10th message (default configuration), each on its own.
fn bench_steps(c: &mut Criterion) {
    let config = config(&[]);
    let cookie = cookie_after(&config, 9);
    let (form, sig) = webhook(10);
    let params = parse_params(form.as_bytes()).unwrap();
    let message = InboundMessage::from_params(&params).unwrap();
    let pair = Pair {
        account_sid: message.account(),
        to: &message.to,
        from: &message.from,
    };
    let token = TOKEN;
    let keys = &config.setup.config.storage.keys;
    let state = match keys.open_cookie_header(&cookie, &pair, NOW + 10) {
        Some(Opened::Record(r)) => r,
        _ => panic!("the 9th message's cookie opens"),
    };

    let mut group = c.benchmark_group("steps(10th,encrypted+history)");
    group.bench_function("parse form", |b| {
        b.iter(|| parse_params(black_box(form.as_bytes())).unwrap())
    });
    group.bench_function("typed message", |b| {
        b.iter(|| InboundMessage::from_params(black_box(&params)).unwrap())
    });
    group.bench_function("verify signature", |b| {
        b.iter(|| {
            let data =
                signature::params_string(params.iter().map(|(k, v)| (k.as_ref(), v.as_ref())));
            let urls = signature::candidate_urls(black_box(URL), None);
            assert!(signature::is_valid(
                token,
                urls.iter().map(String::as_str),
                &data,
                black_box(&sig)
            ));
        })
    });
    group.bench_function("open cookie", |b| {
        b.iter(|| {
            keys.open_cookie_header(black_box(&cookie), &pair, NOW + 10)
                .unwrap()
        })
    });
    group.bench_function("seal cookie", |b| {
        b.iter(|| {
            keys.seal(
                black_box(&state),
                Purpose::Cookie,
                &pair,
                NOW + 10 + 14_400,
                true,
            )
        })
    });
    let signed_state = {
        let mut s = state.clone();
        s.turns.clear();
        s
    };
    group.bench_function("seal cookie (signed, no history)", |b| {
        b.iter(|| {
            keys.seal(
                black_box(&signed_state),
                Purpose::Cookie,
                &pair,
                NOW + 10 + 14_400,
                false,
            )
        })
    });
    let reply = Reply::text("Hello, thanks for message number 10");
    group.bench_function("render TwiML", |b| {
        b.iter(|| twiml::render(black_box(&reply)))
    });
    group.finish();
}

/// How many times a native run repeats a stage (bench/stages-report.mjs divides by it).
const STAGE_REPEAT: u32 = 10;

/// Each stage of src/bench_stages.rs on the request the workerd bench sends (bench/stages.sh):
/// the 10th message, signed with HISTORY_TURNS=0, answered once already, so the isolate's
/// memory holds the pair and every run is the retry the steady state is. Natively, next to
/// the same stages timed in workerd.
fn bench_stages(c: &mut Criterion) {
    let config = config(&[("HISTORY_TURNS", "0")]);
    let cookie = cookie_after(&config, 9);
    let (form, sig) = webhook(10);
    let memory = Memory::default();
    let lookup = |name: &str| {
        config
            .vars
            .iter()
            .rev()
            .find(|(k, _)| *k == name)
            .map(|(_, v)| v.to_string())
    };
    let rt: Runtime<'_, NoStore> = Runtime {
        memory: Some(&memory),
        ..Runtime::new(NOW + 10, Vars::new(&lookup), Rc::clone(&config.http))
    };
    let req = HttpRequest {
        method: "POST",
        url: URL,
        content_type: Some("application/x-www-form-urlencoded"),
        signature: Some(&sig),
        cookie: Some(&cookie),
        authorization: None,
        idempotency_key: None,
        body: Body::Read(form.as_bytes()),
    };
    let first = pollster::block_on(app::handle(Ok(&config.setup), &req, &rt)).response;
    assert!(first.body.contains("message number 10"), "{}", first.body);
    let mut group = c.benchmark_group("stages(10th,signed)");
    // Each run is the stage STAGE_REPEAT times over its fixture, made once per run; the
    // report (bench/stages-report.mjs) takes `prepare` off and divides.
    for stage in STAGES {
        let run = || bench_stages::repeat(stage, STAGE_REPEAT, &config.setup, &req, &rt);
        assert!(pollster::block_on(run()) > 0, "stage {stage} ran");
        group.bench_function(*stage, |b| b.iter(|| pollster::block_on(run())));
    }
    // What every stage's run carries (the fixture it starts from), to subtract.
    group.bench_function("prepare", |b| {
        b.iter(|| {
            pollster::block_on(bench_stages::repeat(
                "prepare",
                STAGE_REPEAT,
                &config.setup,
                &req,
                &rt,
            ))
        })
    });
    group.finish();
}

fn short() -> Criterion {
    // Each function takes microseconds: 1 s warm-up and 3 s of samples give a tight median
    // without keeping a shared 2-core machine busy for long.
    Criterion::default()
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3))
        .sample_size(50)
}

criterion_group! {
    name = benches;
    config = short();
    targets = bench_webhook, bench_steps, bench_stages
}
criterion_main!(benches);
