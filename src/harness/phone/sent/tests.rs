//! The sends read back as Twilio got them, and a phone set up to send in one call.

use super::*;
use crate::conversations::{Counter, Survey};

const START: &str = r#"{"to": "+14155550100", "from": "+15005550006", "body": "Hi"}"#;

#[test]
fn a_form_reads_back_its_media_in_order_and_its_status_callback() {
    let sent = SentMessage::from_form(
        b"To=%2B14155550100&From=%2B15005550006&Body=Two+photos&MediaUrl=https%3A%2F%2Fimg.test%2Fa.png\
          &MediaUrl=https%3A%2F%2Fimg.test%2Fb.png&StatusCallback=https%3A%2F%2Fw.test%2Fsms%2Fstatus%3Fo%3D1\
          &Unknown=x",
    );
    assert_eq!(
        sent,
        SentMessage {
            to: "+14155550100".into(),
            from: "+15005550006".into(),
            body: Some("Two photos".into()),
            media: vec![
                "https://img.test/a.png".into(),
                "https://img.test/b.png".into()
            ],
            template: None,
            status_callback: Some("https://w.test/sms/status?o=1".into()),
        }
    );
}

#[test]
fn a_template_reads_back_with_or_without_its_variables() {
    let with = SentMessage::from_form(
        b"To=whatsapp%3A%2B1415&From=whatsapp%3A%2B1500&ContentSid=HX01&ContentVariables=%7B%221%22%3A%22Ada%22%7D",
    );
    assert_eq!(
        with.template,
        Some(SentTemplate {
            content_sid: "HX01".into(),
            variables: Some(r#"{"1":"Ada"}"#.into()),
        })
    );
    assert_eq!((with.body.as_deref(), with.text()), (None, ""));
    let without =
        SentMessage::from_form(b"To=whatsapp%3A%2B1415&From=whatsapp%3A%2B1500&ContentSid=HX01");
    assert_eq!(without.template.map(|t| t.variables), Some(None));
}

#[test]
fn a_messaging_service_is_the_sender_only_without_a_from() {
    let service = SentMessage::from_form(b"To=%2B1415&MessagingServiceSid=MG01&Body=x");
    assert_eq!(service.from, "MG01");
    let both = SentMessage::from_form(b"MessagingServiceSid=MG01&To=%2B1415&From=%2B1500");
    assert_eq!(both.from, "+1500");
}

#[test]
fn with_outbound_and_with_objects_in_either_order_send_the_same() {
    for outbound_first in [false, true] {
        let phone = TestPhone::new::<Survey>(&[("SURVEY_REMINDER_SECONDS", "60")]).unwrap();
        let mut phone = if outbound_first {
            phone.with_outbound().with_objects()
        } else {
            phone.with_objects().with_outbound()
        };
        let (status, body) = phone.start(r#"{"to": "+14155550100", "from": "+15005550006"}"#);
        assert_eq!(status, 201, "outbound first: {outbound_first}: {body}");
        phone.wait(61);
        let texts: Vec<String> = phone.sent().iter().map(|m| m.text().into()).collect();
        assert_eq!(
            texts,
            [
                "Hi! What's your name?",
                "Just checking in: What's your name?"
            ],
            "outbound first: {outbound_first}"
        );
    }
}

#[test]
fn each_message_the_fake_api_takes_gets_a_sid_of_its_own() {
    let mut phone = TestPhone::new::<Counter>(&[])
        .unwrap()
        .with_objects()
        .with_outbound();
    let sid = |body: &str| {
        let answer: serde_json::Value = serde_json::from_str(body).unwrap();
        answer["sid"].as_str().unwrap().to_string()
    };
    let (_, first) = phone.start(START);
    let (_, second) = phone.start(&START.replace("+14155550100", "+14155550101"));
    let (first, second) = (sid(&first), sid(&second));
    assert_ne!(first, second);
    for sid in [&first, &second] {
        assert!(sid.starts_with("SM") && sid.len() == 34, "{sid}");
    }
    // The person's own messages are never mistaken for one of these.
    phone.text("hi");
    assert_eq!(
        phone.record().turns.first().map(|t| t.message_sid.as_str()),
        Some(first.as_str())
    );
}

#[test]
fn your_answers_and_vars_win_over_with_outbound() {
    let api = "https://api.test";
    let url = format!("{api}/2010-04-01/Accounts/{TEST_ACCOUNT_SID}/Messages.json");
    let mut phone = TestPhone::new::<Counter>(&[
        ("TWILIO_API_BASE_URL", api),
        ("OUTBOUND_API_KEY", "my-own-key-0123456789"),
    ])
    .unwrap()
    .with_objects()
    .with_outbound();
    assert_eq!(
        phone.start_conversation(TEST_OUTBOUND_API_KEY, START).0,
        401
    );
    // The fake API answers at the API origin the worker was given.
    assert_eq!(phone.start(START).0, 201);
    phone
        .http()
        .respond(&url, 400, r#"{"code": 21211, "message": "Invalid 'To'"}"#);
    let (status, body) = phone.start(&START.replace("+14155550100", "+14155550101"));
    assert_eq!(status, 502, "{body}");
    // Both calls show, the refused one too.
    assert_eq!(phone.sent().len(), 2);
}

#[test]
fn a_whatsapp_start_outside_the_window_sends_the_template() {
    let mut phone = TestPhone::new::<Counter>(&[
        ("WHATSAPP_TEMPLATE_SID", "HX0123"),
        ("WHATSAPP_TEMPLATE_VARIABLES", r#"{"1":"Ada"}"#),
    ])
    .unwrap()
    .from("whatsapp:+14155550100")
    .to("whatsapp:+15005550006")
    .with_objects()
    .with_outbound();
    let json = r#"{"to": "whatsapp:+14155550100", "from": "whatsapp:+15005550006", "body": "Hi"}"#;
    let (status, body) = phone.start(json);
    assert_eq!(status, 201, "{body}");
    let sent = phone.sent();
    assert_eq!(sent[0].to, "whatsapp:+14155550100");
    assert_eq!(
        sent[0].template,
        Some(SentTemplate {
            content_sid: "HX0123".into(),
            variables: Some(r#"{"1":"Ada"}"#.into()),
        })
    );
}

#[test]
fn a_start_from_another_account_than_the_webhooks_is_named_in_the_log() {
    let other = "AC11111111111111111111111111111111";
    let mut phone = TestPhone::new::<Survey>(&[("TWILIO_ACCOUNT_SID", other)])
        .unwrap()
        .with_objects()
        .with_outbound();
    let (status, body) = phone.start(r#"{"to": "+14155550100", "from": "+15005550006"}"#);
    assert_eq!(status, 201, "{body}");
    // The reply finds no conversation under the webhook's account, and the log says why.
    let reply = phone.text("Rey");
    assert_eq!(reply.texts(), ["Hi! What's your name?"]);
    assert!(
        reply.log_line.contains("\"account_error\""),
        "{}",
        reply.log_line
    );
    assert!(reply.log_line.contains(other) && reply.log_line.contains(TEST_ACCOUNT_SID));
    // Once the conversation goes on, nothing more to say.
    assert!(!phone.text("Rey").log_line.contains("account_error"));
    // With the accounts alike, the start continues and the log is quiet.
    let mut alike = TestPhone::new::<Survey>(&[])
        .unwrap()
        .with_objects()
        .with_outbound();
    alike.start(r#"{"to": "+14155550100", "from": "+15005550006"}"#);
    let reply = alike.text("Rey");
    assert_eq!(
        reply.texts(),
        ["Thanks, Rey. What's your 5-digit ZIP code?"]
    );
    assert!(
        !reply.log_line.contains("account_error"),
        "{}",
        reply.log_line
    );
}

#[test]
fn conversations_without_outbound_api_key_is_a_404_naming_it() {
    for method in ["POST", "GET"] {
        let phone = TestPhone::new::<Counter>(&[]).unwrap().with_objects();
        let request = crate::app::HttpRequest {
            method,
            url: "https://sms.example.workers.dev/conversations",
            ..Default::default()
        };
        let response = phone.handle(&request).response;
        assert_eq!(response.status, 404, "{method}");
        assert!(
            response.body.contains("OUTBOUND_API_KEY"),
            "{method}: {}",
            response.body
        );
        assert!(
            response.body.contains("CONVERSATION_OBJECTS"),
            "{}",
            response.body
        );
        assert!(response.log.to_json(404, 0).contains("\"starts_off\""));
    }
}
