//! What the worker sends itself, against a Messages API that accepts and then fails in each
//! way: each message once, nothing to someone who opted out, WhatsApp's window.

use super::*;
use crate::conversation::ClientError;
use crate::harness::TestPhone;

use super::{messages_url, survey, KEY};

const REMINDER: &str = "Just checking in: What's your name?";

/// The Messages list the object reads to confirm a send, for messages to `to` from `from`
/// since the day before the test phone's first day.
fn list_url(to: &str, from: &str) -> String {
    let query = serde_urlencoded::to_string([
        ("To", to),
        ("From", from),
        ("DateSent>", "2023-11-13"),
        ("PageSize", "100"),
    ])
    .unwrap();
    format!("{}?{query}", messages_url())
}

/// The Create Message requests so far, as their forms.
fn posts(phone: &TestPhone) -> Vec<Vec<(String, String)>> {
    phone
        .http()
        .requests()
        .iter()
        .filter(|r| r.url == messages_url() && r.method == "POST")
        .map(|r| serde_urlencoded::from_bytes(&r.body).unwrap())
        .collect()
}

fn field<'a>(form: &'a [(String, String)], name: &str) -> Option<&'a str> {
    form.iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}

fn lookups(phone: &TestPhone) -> usize {
    phone
        .http()
        .requests()
        .iter()
        .filter(|r| r.method == "GET" && r.url.starts_with(&messages_url()))
        .count()
}

/// The reminder, as Twilio's Messages list shows it once accepted.
fn listed(phone: &TestPhone, sid: &str) {
    let body = serde_json::json!({"messages": [{
        "sid": sid, "to": phone.from_number(), "from": "+15005550006",
        "body": REMINDER, "status": "sent",
    }]});
    phone.http().respond(
        &list_url(phone.from_number(), "+15005550006"),
        200,
        &body.to_string(),
    );
}

fn nothing_listed(phone: &TestPhone) {
    phone.http().respond(
        &list_url(phone.from_number(), "+15005550006"),
        200,
        r#"{"messages": []}"#,
    );
}

/// Each way Twilio can take a message and the answer be lost: the reminder goes out once,
/// found in the Messages list, and the conversation keeps it as sent.
#[test]
fn a_reminder_accepted_then_lost_is_confirmed_and_never_sent_twice() {
    type Lose = Box<dyn Fn(&TestPhone)>;
    let lost: [(&str, Lose); 3] = [
        (
            "timeout",
            Box::new(|p| p.http().fail_once(&messages_url(), ClientError::Timeout)),
        ),
        (
            "500",
            Box::new(|p| p.http().respond_once(&messages_url(), 500, "oops")),
        ),
        (
            "connection closed",
            Box::new(|p| {
                p.http().fail_once(
                    &messages_url(),
                    ClientError::Failed("Network connection lost.".into()),
                )
            }),
        ),
    ];
    for (how, lose) in lost {
        let mut phone = survey(&[]);
        lose(&phone);
        listed(&phone, "SMaccepted");
        phone.text("hi");
        phone.wait(3600);
        assert_eq!(posts(&phone).len(), 1, "{how}: sent once");
        assert_eq!(lookups(&phone), 1, "{how}: looked up once");
        let record = phone.record();
        let sent = record.turns.last().unwrap();
        assert_eq!(sent.message_sid, "SMaccepted", "{how}");
        assert_eq!(record.standing.deliveries[0].sid, "SMaccepted", "{how}");
        assert!(phone.objects().unwrap().next_alarm().is_none(), "{how}");
    }
}

#[test]
fn a_reminder_that_never_arrived_is_sent_again_only_after_two_looks_find_nothing() {
    let mut phone = survey(&[]);
    phone.http().respond_once(&messages_url(), 503, "busy");
    nothing_listed(&phone);
    phone.text("hi");
    phone.wait(61);
    assert_eq!(posts(&phone).len(), 1);
    phone.wait(CONFIRM_AFTER_SECONDS);
    assert_eq!((posts(&phone).len(), lookups(&phone)), (1, 1), "not yet");
    phone.wait(2 * CONFIRM_AFTER_SECONDS);
    assert_eq!((posts(&phone).len(), lookups(&phone)), (2, 2));
    phone.wait(3600);
    assert_eq!(posts(&phone).len(), 2, "then sent, and done");
    assert_eq!(
        phone.record().turns.last().unwrap().message_sid,
        "SMsent0001"
    );
}

#[test]
fn a_status_callback_confirms_a_lost_send_without_a_look() {
    let mut phone = survey(&[]);
    phone
        .http()
        .fail_once(&messages_url(), ClientError::Timeout);
    phone.text("hi");
    phone.wait(61);
    let sent = posts(&phone);
    let callback = field(&sent[0], "StatusCallback").unwrap().to_string();
    assert!(
        callback.starts_with("https://sms.example.workers.dev/sms/status?o="),
        "{callback}"
    );
    assert_eq!(
        phone.status_callback(&callback, "SMviaCallback", "sent", None),
        200
    );
    phone.wait(3600);
    assert_eq!((posts(&phone).len(), lookups(&phone)), (1, 0));
    let record = phone.record();
    assert_eq!(record.turns.last().unwrap().message_sid, "SMviaCallback");
    assert_eq!(record.standing.deliveries[0].status, "sent");
}

#[test]
fn a_lookup_that_keeps_failing_gives_up_rather_than_risk_a_second_copy() {
    let mut phone = survey(&[]);
    phone
        .http()
        .fail_once(&messages_url(), ClientError::Timeout);
    // No list answer at all: every look fails.
    phone.text("hi");
    phone.wait(24 * 3600);
    assert_eq!(posts(&phone).len(), 1);
    assert_eq!(lookups(&phone), MAX_CHECKS as usize);
    assert!(phone.objects().unwrap().next_alarm().is_none());
}

#[test]
fn a_429_waits_and_goes_out_once() {
    let mut phone = survey(&[]);
    phone.http().respond_once(
        &messages_url(),
        429,
        r#"{"code": 20429, "message": "Too Many Requests"}"#,
    );
    phone.text("hi");
    phone.wait(61);
    assert_eq!(posts(&phone).len(), 1);
    phone.wait(RETRY_BASE_SECONDS);
    assert_eq!(posts(&phone).len(), 2);
    phone.wait(3600);
    assert_eq!(posts(&phone).len(), 2);
    assert_eq!(lookups(&phone), 0, "a 429 certainly sent nothing");
    assert_eq!(
        phone.record().turns.last().unwrap().message_sid,
        "SMsent0001"
    );
}

#[test]
fn delivery_statuses_are_kept_and_a_late_one_does_not_undo_delivered() {
    let mut phone = survey(&[]);
    phone.text("hi");
    phone.wait(61);
    let callback = field(&posts(&phone)[0], "StatusCallback")
        .unwrap()
        .to_string();
    for status in ["sent", "delivered", "sent"] {
        phone.status_callback(&callback, "SMsent0001", status, None);
    }
    assert_eq!(phone.record().standing.deliveries[0].status, "delivered");
    phone.status_callback(&callback, "SMother", "failed", Some("30008"));
    assert_eq!(
        phone.record().standing.deliveries.len(),
        1,
        "not one of ours"
    );
}

#[test]
fn stop_cancels_the_reminder_refuses_starts_and_start_brings_them_back() {
    for (from, to) in [
        ("+14155550100", "+15005550006"),
        ("whatsapp:+14155550100", "whatsapp:+15005550006"),
    ] {
        let mut phone = survey(&[]).from(from).to(to);
        phone.text("hi");
        phone.text("STOP");
        phone.wait(3600);
        assert!(posts(&phone).is_empty(), "{from}: nothing after STOP");
        let json = serde_json::json!({"to": from, "from": to}).to_string();
        let (status, body) = phone.start_conversation(KEY, &json);
        assert_eq!(status, 409, "{from}: {body}");
        assert!(body.contains("opted out"), "{body}");
        assert!(phone.text("what?").texts().is_empty());
        phone.text("START");
        phone.text("Ada");
        phone.wait(61);
        assert_eq!(
            posts(&phone).len(),
            1,
            "{from}: reminders again after START"
        );
    }
}

#[test]
fn a_21610_from_the_messages_api_opts_the_pair_out() {
    let mut phone = survey(&[]);
    phone.http().respond(
        &messages_url(),
        400,
        r#"{"code": 21610, "message": "Attempt to send to unsubscribed recipient"}"#,
    );
    phone.text("hi");
    phone.wait(3600);
    assert_eq!(posts(&phone).len(), 1, "a refusal is not retried");
    assert!(phone.record().opted_out());
    assert_eq!(phone.text("Ada").outcome, "opted_out");
}

#[test]
fn a_whatsapp_reminder_past_the_window_goes_as_a_template_or_not_at_all() {
    let wa = "whatsapp:+14155550100";
    let ours = "whatsapp:+15005550006";
    let remind_late = [("SURVEY_REMINDER_SECONDS", "90000")];
    // No template: nothing is sent, not a free-form Body Twilio would refuse.
    let mut phone = survey(&remind_late).from(wa).to(ours);
    phone.text("hi");
    phone.wait(26 * 3600);
    assert!(posts(&phone).is_empty());
    assert!(
        phone.objects().unwrap().next_alarm().is_none(),
        "and dropped"
    );
    // With one: its ContentSid, no Body.
    let with = [
        ("SURVEY_REMINDER_SECONDS", "90000"),
        (
            "WHATSAPP_TEMPLATE_SID",
            "HX0123456789abcdef0123456789abcdef",
        ),
        ("WHATSAPP_TEMPLATE_VARIABLES", r#"{"1":"there"}"#),
    ];
    let mut phone = survey(&with).from(wa).to(ours);
    phone.text("hi");
    phone.wait(26 * 3600);
    let sent = posts(&phone);
    assert_eq!(sent.len(), 1);
    assert_eq!(
        field(&sent[0], "ContentSid"),
        Some("HX0123456789abcdef0123456789abcdef")
    );
    assert_eq!(
        field(&sent[0], "ContentVariables"),
        Some(r#"{"1":"there"}"#)
    );
    assert_eq!(field(&sent[0], "Body"), None);
    // Within the window, the text itself.
    let mut phone = survey(&[]).from(wa).to(ours);
    phone.text("hi");
    phone.wait(61);
    assert_eq!(field(&posts(&phone)[0], "Body"), Some(REMINDER));
}

#[test]
fn a_63016_is_a_refusal_and_not_retried() {
    let mut phone = survey(&[])
        .from("whatsapp:+14155550100")
        .to("whatsapp:+15005550006");
    phone.http().respond(
        &messages_url(),
        400,
        r#"{"code": 63016, "message": "Failed to send freeform message because you are outside the allowed window."}"#,
    );
    phone.text("hi");
    phone.wait(3600);
    assert_eq!(posts(&phone).len(), 1);
    assert_eq!(lookups(&phone), 0);
}

#[test]
fn a_repeated_start_with_its_key_answers_the_first_result_and_sends_nothing_new() {
    let mut phone = survey(&[]);
    let json = r#"{"to": "+14155550100", "from": "+15005550006"}"#;
    let first = phone.start_conversation_with_key(KEY, Some("order-42"), json);
    assert_eq!(first.0, 201, "{}", first.1);
    let again = phone.start_conversation_with_key(KEY, Some("order-42"), json);
    assert_eq!(again, first);
    assert_eq!(posts(&phone).len(), 1);
    // Another key for the same person: a conversation is in progress.
    let (status, body) = phone.start_conversation_with_key(KEY, Some("order-43"), json);
    assert_eq!(status, 409, "{body}");
    assert!(body.contains("in progress"), "{body}");
    assert_eq!(posts(&phone).len(), 1);
}

#[test]
fn a_key_used_again_with_another_request_is_refused_and_sends_nothing() {
    let mut phone = survey(&[]);
    let first_json =
        r#"{"to": "+14155550100", "from": "+15005550006", "msg": "your order shipped"}"#;
    let first = phone.start_conversation_with_key(KEY, Some("order-7"), first_json);
    assert_eq!(first.0, 201, "{}", first.1);
    let other = r#"{"to": "+14155550100", "from": "+15005550006", "msg": "your order was CANCELLED", "replace": true}"#;
    let (status, body) = phone.start_conversation_with_key(KEY, Some("order-7"), other);
    assert_eq!(status, 422, "{body}");
    assert!(
        body.contains("Idempotency-Key was used with another request"),
        "{body}"
    );
    assert_eq!(posts(&phone).len(), 1, "nothing more was sent");
    // The same request again is still a repeat, answered as the first time.
    assert_eq!(
        phone.start_conversation_with_key(KEY, Some("order-7"), first_json),
        first
    );
    // A new key for the new request goes ahead.
    let (status, body) = phone.start_conversation_with_key(KEY, Some("order-8"), other);
    assert_eq!(status, 201, "{body}");
    assert_eq!(posts(&phone).len(), 2);
}

#[test]
fn a_refused_start_keeps_nothing_under_its_key() {
    let mut phone = survey(&[]);
    phone.text("hi");
    let json = r#"{"to": "+14155550100", "from": "+15005550006"}"#;
    let (status, body) = phone.start_conversation_with_key(KEY, Some("k9"), json);
    assert_eq!(status, 409, "a conversation in progress: {body}");
    let corrected = r#"{"to": "+14155550100", "from": "+15005550006", "replace": true}"#;
    let (status, body) = phone.start_conversation_with_key(KEY, Some("k9"), corrected);
    assert_eq!(
        status, 201,
        "the corrected request goes ahead under the same key: {body}"
    );
}

#[test]
fn a_start_whose_outcome_is_unknown_is_pending_and_never_a_502() {
    let mut phone = survey(&[]);
    phone
        .http()
        .fail_once(&messages_url(), ClientError::Timeout);
    let json = r#"{"to": "+14155550100", "from": "+15005550006"}"#;
    let (status, body) = phone.start_conversation_with_key(KEY, Some("k1"), json);
    assert_eq!(status, 202, "{body}");
    let answer: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(answer["status"], "pending");
    assert_eq!(answer["idempotency_key"], "k1");
    // Twilio had it: the look finds it, and the repeat learns the SID.
    let listed = serde_json::json!({"messages": [{
        "sid": "SMstarted", "to": "+14155550100", "from": "+15005550006",
        "body": "Hi! What's your name?",
    }]});
    phone.http().respond(
        &list_url("+14155550100", "+15005550006"),
        200,
        &listed.to_string(),
    );
    assert_eq!(
        phone.start_conversation_with_key(KEY, Some("k1"), json).0,
        202
    );
    phone.wait(CONFIRM_AFTER_SECONDS + 1);
    let (status, body) = phone.start_conversation_with_key(KEY, Some("k1"), json);
    assert_eq!(status, 201, "{body}");
    assert!(body.contains("SMstarted"), "{body}");
    assert_eq!(posts(&phone).len(), 1);
    // The person's reply continues the started survey.
    assert_eq!(
        phone.text("Ada").texts(),
        ["Thanks, Ada. What's your 5-digit ZIP code?"]
    );
}

#[test]
fn a_start_without_a_key_gets_one_to_repeat_with() {
    let mut phone = survey(&[]);
    let json = r#"{"to": "+14155550100", "from": "+15005550006"}"#;
    let (status, body) = phone.start_conversation(KEY, json);
    assert_eq!(status, 201, "{body}");
    let answer: serde_json::Value = serde_json::from_str(&body).unwrap();
    let key = answer["idempotency_key"].as_str().unwrap().to_string();
    assert!(key.len() > 10, "{key}");
    assert_eq!(
        phone.start_conversation_with_key(KEY, Some(&key), json),
        (status, body)
    );
    assert_eq!(posts(&phone).len(), 1);
}

#[test]
fn replacing_a_conversation_in_progress_keeps_its_sequence_and_messagesid_window() {
    let mut phone = survey(&[]);
    phone.text("hi");
    phone.text("Ada");
    let before = phone.record();
    let json = r#"{"to": "+14155550100", "from": "+15005550006", "replace": true}"#;
    let (status, body) = phone.start_conversation(KEY, json);
    assert_eq!(status, 201, "{body}");
    let after = phone.record();
    assert!(after.seq > before.seq);
    assert_eq!(after.seen, before.seen, "the window is kept");
    // An earlier webhook replayed now is recognised, not counted as new.
    let replay = phone.retry();
    assert_eq!(replay.outcome, "retry");
    assert_eq!(
        phone.record().count,
        0,
        "the new conversation has no message yet"
    );
}

#[test]
fn an_idle_conversation_ends_after_conversation_ttl_seconds_with_objects_too() {
    let mut phone = survey(&[("CONVERSATION_TTL_SECONDS", "600")]);
    phone.text("hi");
    phone.text("Ada");
    // The reminder at 61 s is the conversation's last activity.
    phone.wait(61 + 601);
    let again = phone.text("hello");
    assert_eq!(again.texts(), ["Hi! What's your name?"], "started over");
    assert_eq!(phone.count(), 1);
}

#[test]
fn the_persons_answer_proves_an_unconfirmed_start_and_continues_it() {
    let mut phone = survey(&[]);
    phone
        .http()
        .fail_once(&messages_url(), ClientError::Timeout);
    let json = r#"{"to": "+14155550100", "from": "+15005550006"}"#;
    let (status, _) = phone.start_conversation_with_key(KEY, Some("k2"), json);
    assert_eq!(status, 202);
    // They answer the question before the object has found out: it reached them.
    assert_eq!(
        phone.text("Ada").texts(),
        ["Thanks, Ada. What's your 5-digit ZIP code?"]
    );
    let (status, body) = phone.start_conversation_with_key(KEY, Some("k2"), json);
    assert_eq!(status, 201, "{body}");
    phone.wait(3600);
    assert_eq!(
        posts(&phone).len(),
        2,
        "the start once, then the ZIP question's reminder"
    );
    assert_eq!(lookups(&phone), 0);
}

#[test]
fn a_reminder_lost_then_overtaken_by_an_answer_is_never_sent_again_and_the_next_one_comes() {
    let mut phone = survey(&[]);
    phone
        .http()
        .fail_once(&messages_url(), ClientError::Timeout);
    nothing_listed(&phone);
    phone.text("hi");
    phone.wait(61);
    assert_eq!(posts(&phone).len(), 1, "the name reminder, its answer lost");
    // The person answers meanwhile: the lost reminder is not sent again, whatever the list
    // says, and the next question's reminder comes after it.
    assert_eq!(
        phone.text("Ada").texts(),
        ["Thanks, Ada. What's your 5-digit ZIP code?"]
    );
    phone.wait(3600);
    let sent = posts(&phone);
    let bodies: Vec<&str> = sent.iter().filter_map(|f| field(f, "Body")).collect();
    assert_eq!(
        bodies,
        [REMINDER, "Just checking in: What's your 5-digit ZIP code?"],
        "no second name reminder"
    );
}
