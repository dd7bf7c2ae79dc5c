//! The harness's own behaviour: retries to a fresh isolate, phones started from a saved
//! state, the saved-state check, and transcripts with fakes.

use std::time::Duration;

use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use super::*;
use crate::conversation::InboundMessage;
use crate::conversation::{ClientRequest, Context, Conversation, Reply, View};
use crate::conversations::{Counter, Survey};
use crate::registry::{Conversations, Registered};
use crate::vars::{ConfigError, Vars};

/// Looks the text up on an outside API (with a 1 s timeout) and answers with what it said.
struct Lookup;

impl Conversation for Lookup {
    const NAME: &'static str = "lookup";
    type State = ();

    fn new(_: &Vars<'_>) -> Result<Self, ConfigError> {
        Ok(Lookup)
    }

    async fn reply(
        &self,
        msg: &InboundMessage,
        _: &View<'_>,
        _: &mut (),
        ctx: &Context<'_>,
    ) -> Reply {
        let request = ClientRequest::get("https://api.test/lookup")
            .query(&[("q", msg.body.as_str()), ("lang", "en")])
            .timeout(Duration::from_secs(1));
        match ctx.fetch(request).await {
            Ok(r) => Reply::text(String::from_utf8_lossy(&r.body).into_owned()),
            Err(e) => Reply::text(format!("lookup failed: {e}")),
        }
    }
}

#[test]
fn a_retry_elsewhere_runs_reply_again_without_objects_and_not_with_them() {
    for (objects, calls) in [(false, 2), (true, 1)] {
        let mut phone = TestPhone::new::<Lookup>(&[]).unwrap();
        if objects {
            phone = phone.with_objects();
        }
        phone
            .http()
            .on("GET", "https://api.test/lookup?lang=en&q=dog")
            .respond(200, "a dog");
        assert_eq!(phone.text("dog").texts(), ["a dog"]);
        let again = phone.retry_elsewhere();
        assert_eq!(again.texts(), ["a dog"], "objects: {objects}");
        assert_eq!(again.outcome, if objects { "retry" } else { "reply" });
        assert_eq!(phone.http().requests().len(), calls, "objects: {objects}");
        assert_eq!(phone.count(), 1, "objects: {objects}");
    }
}

#[test]
fn a_slow_answer_times_out_in_the_conversation() {
    let mut phone = TestPhone::new::<Lookup>(&[]).unwrap();
    let url = "https://api.test/lookup?q=cat&lang=en";
    phone
        .http()
        .respond_after(url, Duration::from_millis(1500), 200, "a cat");
    assert_eq!(phone.text("cat").texts(), ["lookup failed: timed out"]);
    phone
        .http()
        .respond_after(url, Duration::from_millis(900), 200, "a cat");
    assert_eq!(phone.text("cat").texts(), ["a cat"]);
}

#[test]
fn query_pairs_follow_any_query_the_url_has() {
    let url = |base: &str| {
        ClientRequest::get(base)
            .query(&[("q", "a b"), ("n", "1")])
            .url
    };
    assert_eq!(url("https://x.test/s"), "https://x.test/s?q=a+b&n=1");
    assert_eq!(url("https://x.test/s?"), "https://x.test/s?q=a+b&n=1");
    assert_eq!(
        url("https://x.test/s?k=v"),
        "https://x.test/s?k=v&q=a+b&n=1"
    );
    assert_eq!(
        url("https://x.test/s?k=v&"),
        "https://x.test/s?k=v&q=a+b&n=1"
    );
    assert_eq!(
        url("https://x.test/s#top"),
        "https://x.test/s?q=a+b&n=1#top"
    );
    let none: &[(&str, &str)] = &[];
    assert_eq!(
        ClientRequest::get("https://x.test/s").query(none).url,
        "https://x.test/s"
    );
}

/// The survey's state before STATE_VERSION 2: the name question was `AskName`.
#[derive(Default, Serialize, Deserialize, PartialEq, Debug)]
enum Renamed {
    #[default]
    Fresh,
    Name,
    Zip {
        name: String,
    },
}

/// A conversation whose state moved to version 2 (`AskName` became `Name`).
struct Upgraded;

impl Conversation for Upgraded {
    const NAME: &'static str = "upgraded";
    type State = Renamed;
    const STATE_VERSION: u32 = 2;

    fn new(_: &Vars<'_>) -> Result<Self, ConfigError> {
        Ok(Upgraded)
    }

    async fn reply(
        &self,
        msg: &InboundMessage,
        _: &View<'_>,
        state: &mut Renamed,
        _: &Context<'_>,
    ) -> Reply {
        let said = format!("{state:?}");
        if let Renamed::Name = state {
            *state = Renamed::Zip {
                name: msg.body.clone(),
            };
        }
        Reply::text(said)
    }

    fn upgrade(from_version: u32, old_json: &str) -> Option<Renamed> {
        (from_version == 1 && old_json == r#""AskName""#).then_some(Renamed::Name)
    }
}

#[test]
fn a_phone_starts_from_a_saved_state_in_every_shape() {
    let zip = || json!({"Zip": {"name": "Ada"}}).to_string();
    let mut phone = TestPhone::from_state::<Survey>(&[], &zip()).unwrap();
    assert_eq!(phone.state::<Value>(), json!({"Zip": {"name": "Ada"}}));
    assert_eq!(
        phone.text("94110").texts(),
        ["Can we text you updates? Reply Y for yes or N for no."]
    );

    // What the state API answers: its state, version and count are taken, the rest ignored.
    let api =
        json!({"state": {"Zip": {"name": "Ada"}}, "state_version": 1, "count": 4, "turns": []});
    let mut phone = TestPhone::from_state::<Survey>(&[], &api.to_string()).unwrap();
    assert_eq!(phone.count(), 4);
    phone.text("94110");
    assert_eq!(phone.count(), 5);

    // The default state shows as null.
    let mut phone = TestPhone::from_state::<Survey>(&[], "null").unwrap();
    assert_eq!(phone.text("hi").texts(), ["Hi! What's your name?"]);

    // An older version is upgraded on the next message, as the worker would.
    let mut phone = TestPhone::from_state_version::<Upgraded>(&[], 1, r#""AskName""#).unwrap();
    assert_eq!(phone.text("Ada").texts(), ["Name"]);
    assert_eq!(
        phone.state::<Renamed>(),
        Renamed::Zip { name: "Ada".into() }
    );
    let with_objects = TestPhone::from_state::<Upgraded>(&[], r#""Name""#).unwrap();
    let mut with_objects = with_objects.with_objects();
    assert_eq!(with_objects.text("Ada").texts(), ["Name"]);
}

#[test]
fn a_state_that_would_start_afresh_is_an_error() {
    let cases = [
        (
            TestPhone::from_state::<Survey>(&[], r#"{"Zap": 1}"#).err(),
            "STATE_VERSION 1",
        ),
        (
            TestPhone::from_state::<Survey>(&[], "{nope").err(),
            "not a saved state",
        ),
        (
            TestPhone::from_state_version::<Upgraded>(&[], 1, r#""Gone""#).err(),
            "version 1 neither upgrades nor reads under STATE_VERSION 2",
        ),
        (
            TestPhone::from_state::<Survey>(&[("SESSION_SECRET", "short")], "null").err(),
            "SESSION_SECRET",
        ),
    ];
    for (error, want) in cases {
        let error = error.map(|e| e.to_string()).unwrap_or_default();
        assert!(error.contains(want), "want {want:?} in {error:?}");
    }
}

/// A fresh directory under the system's temporary one.
fn temp_dir(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("sms-harness-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

#[test]
fn saved_states_are_checked_file_by_file() {
    let dir = temp_dir("states");
    assert!(check_saved_states::<Upgraded>(&dir)
        .unwrap_err()
        .to_string()
        .contains("holds no saved state"));
    std::fs::write(
        dir.join("a-v1.json"),
        r#"{"state_version": 1, "state": "AskName"}"#,
    )
    .unwrap();
    std::fs::write(dir.join("b-v2.json"), r#"{"Zip": {"name": "Ada"}}"#).unwrap();
    std::fs::write(dir.join("notes.txt"), "not a state").unwrap();
    assert_eq!(check_saved_states::<Upgraded>(&dir), Ok(2));
    std::fs::write(
        dir.join("c-v1.json"),
        r#"{"state_version": 1, "state": "Gone"}"#,
    )
    .unwrap();
    let error = check_saved_states::<Upgraded>(&dir).unwrap_err();
    assert_eq!(error.path, dir.join("c-v1.json"));
    assert!(
        error
            .to_string()
            .contains("c-v1.json: upgraded's state version 1"),
        "{error}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

static LOOKUPS: Conversations =
    Conversations::new(&[Registered::of::<Lookup>(), Registered::of::<Counter>()]);

#[test]
fn a_transcript_sets_its_fakes_with_their_delays_and_errors() {
    let transcript = |fakes: Value, reply: &str| {
        json!({
            "format": TRANSCRIPT_FORMAT,
            "conversation": "lookup",
            "steps": [
                {"fake": fakes},
                {"text": "dog", "replies": [reply]},
            ],
        })
        .to_string()
    };
    let url = "https://api.test/lookup?lang=en&q=dog";
    let cases = [
        (
            json!({"method": "GET", "url": url, "status": 200, "body": "a dog"}),
            "a dog",
        ),
        (
            json!({"url": url, "status": 200, "body": "a dog", "delay_ms": 1000}),
            "a dog",
        ),
        (
            json!({"url": url, "status": 200, "body": "a dog", "delay_ms": 1001}),
            "lookup failed: timed out",
        ),
        (
            json!({"url": url, "error": "timeout"}),
            "lookup failed: timed out",
        ),
        (
            json!({"url": url, "error": "not_sent"}),
            "lookup failed: not sent (transcript fake)",
        ),
        (
            json!({"method": "POST", "url": url, "status": 200}),
            "lookup failed: no fake answer for GET https://api.test/lookup?q=dog&lang=en",
        ),
    ];
    for (fake, reply) in cases {
        let replayed = Transcript::from_json(&transcript(fake.clone(), reply))
            .unwrap()
            .replay(&LOOKUPS);
        assert_eq!(replayed, Ok(()), "{fake}");
    }
    let wrong = Transcript::from_json(&transcript(
        json!({"url": url, "status": 200, "body": "a cat"}),
        "a dog",
    ));
    let error = wrong.unwrap().replay(&LOOKUPS).unwrap_err().to_string();
    assert_eq!(
        error,
        "transcript: step 2 (text \"dog\"): the reply differs\n- a dog\n+ a cat"
    );
    let error = Transcript::from_json(&transcript(json!({"url": url, "status": 200}), "")).unwrap();
    assert!(matches!(
        error.replay_with::<Counter>(),
        Err(ReplayError::WrongConversation { .. })
    ));
}
