//! The Studio conversation through the whole webhook path (the test phone), with the example
//! flows in flows/ and small flows written here for one rule each.

use super::*;
use crate::harness::TestPhone;

mod semantics_tests;

fn phone(flow: &str, extra: &[(&str, &str)]) -> TestPhone {
    let mut vars = vec![("CONVERSATION", "studio"), ("STUDIO_FLOW", flow)];
    vars.extend_from_slice(extra);
    TestPhone::new::<Studio>(&vars).unwrap()
}

/// The flow's phone with the objects, starts on and a Messages API that takes every message.
fn with_objects(flow: &str, extra: &[(&str, &str)]) -> TestPhone {
    phone(flow, extra).with_objects().with_outbound()
}

/// The texts the worker sent through the Messages API.
fn sent(phone: &TestPhone) -> Vec<String> {
    phone.sent().iter().map(|m| m.text().to_string()).collect()
}

/// A flow of `states` (JSON objects) after a trigger going to `first` on incomingMessage.
fn flow(first: &str, states: &str) -> String {
    format!(
        r#"{{"description": "t", "initial_state": "Trigger", "states": [
        {{"name": "Trigger", "type": "trigger", "properties": {{}}, "transitions": [
            {{"event": "incomingMessage", "next": "{first}"}}, {{"event": "incomingRequest"}}]}},
        {states}]}}"#
    )
}

fn inline(json: &str) -> TestPhone {
    TestPhone::new::<Studio>(&[("STUDIO_FLOW", "t"), ("flows/t.json", json)]).unwrap()
}

fn refused(json: &str) -> String {
    match TestPhone::new::<Studio>(&[("STUDIO_FLOW", "t"), ("flows/t.json", json)]) {
        Ok(_) => panic!("the flow was accepted"),
        Err(e) => e.to_string(),
    }
}

#[test]
fn appointments_confirms_and_retries_and_gives_up() {
    let mut phone = phone("appointments", &[]);
    assert_eq!(
        phone.text("hello").texts(),
        ["Hi! Reply YES to confirm your next visit, or NO to cancel."]
    );
    // Its widgets' `service` and `channel` read trigger.message but are never rendered, so
    // the first message is not kept in the cookie.
    let waiting = phone.state::<Execution>();
    assert_eq!(waiting.widget.as_deref(), Some("ask"));
    assert!(waiting.trigger.is_empty(), "{waiting:?}");
    // Studio's Matches Any Of: any item of the comma-separated list, whatever the case.
    assert_eq!(
        phone.text(" Yes ").texts(),
        ["Confirmed: see you your next visit."]
    );
    // The execution ended: the next text starts a new one at the trigger.
    let again = phone.text("hi again");
    assert_eq!(
        again.texts(),
        ["Hi! Reply YES to confirm your next visit, or NO to cancel."]
    );
    let retry = phone.text("maybe later, when the weather clears");
    assert_eq!(
        retry.texts(),
        [
            "Sorry, \"maybe later, when...\" is not YES or NO.",
            "Hi! Reply YES to confirm your next visit, or NO to cancel."
        ]
    );
    phone.text("hmm");
    let last = phone.text("what?");
    assert_eq!(
        last.texts(),
        ["Let's try another way: call us at the front desk to confirm your next visit."]
    );
    assert_eq!(phone.state::<Execution>(), Execution::default());
}

#[test]
fn a_retried_message_sid_never_advances_the_flow() {
    let mut phone = phone("appointments", &[]);
    phone.text("hello");
    let answer = phone.text("no");
    assert_eq!(
        answer.texts(),
        ["Cancelled. Text us any time to book again."]
    );
    // Twilio retries the answer: the same reply, and the flow stays where it was.
    assert_eq!(phone.retry().texts(), answer.texts());
    assert_eq!(phone.state::<Execution>(), Execution::default());
    // Another isolate, with the cookie from before "no": the same answer again, not a new
    // execution starting at the trigger.
    phone.new_isolate();
    assert_eq!(phone.retry().texts(), answer.texts());
    assert_eq!(phone.count(), 2);
}

#[test]
fn orders_looks_up_over_http_and_runs_the_rating_subflow() {
    let mut phone = phone("orders", &[]);
    phone.http().respond(
        "https://orders.example.com/orders/12345?phone=%2B14155550100",
        200,
        r#"{"id": "12345", "status": "SHIPPED", "eta": "Friday", "photo": "https://img.test/box.jpg"}"#,
    );
    assert_eq!(phone.text("hi").texts(), ["Hi! What's your order number?"]);
    assert_eq!(
        phone.text("abc").texts(),
        [
            "An order number is 4 to 8 digits, like 12345.",
            "Hi! What's your order number?"
        ]
    );
    let found = phone.text(" 12345 ");
    assert_eq!(
        found.texts(),
        [
            "Order 12345 is shipped, arriving Friday.",
            "How would you rate your order 12345, from 1 to 5?"
        ]
    );
    assert_eq!(found.media(), ["https://img.test/box.jpg"]);
    let execution = phone.state::<Execution>();
    assert_eq!(execution.flow, "rating");
    assert_eq!(execution.widget.as_deref(), Some("ask_rating"));
    // Only what templates read is kept: the lookup's parsed answer, not its body.
    let kept = &execution.parents[0].widgets["lookup"];
    assert!(
        kept.get("parsed").is_some() && kept.get("body").is_none(),
        "{kept}"
    );
    assert_eq!(
        phone.text("7").texts(),
        ["How would you rate your order 12345, from 1 to 5?"]
    );
    // The subflow's variables come back as the run-subflow widget's output.
    assert_eq!(phone.text("5").texts(), ["Thanks for the 5 stars!"]);
    assert_eq!(phone.state::<Execution>(), Execution::default());
}

#[test]
fn a_failed_lookup_takes_the_failed_transition() {
    let mut phone = phone("orders", &[]);
    phone.http().respond(
        "https://orders.example.com/orders/9999?phone=%2B14155550100",
        404,
        r#"{"error": "not found"}"#,
    );
    phone.text("hi");
    assert_eq!(
        phone.text("9999").texts(),
        ["No order 9999 for this number (404). Text again to retry."]
    );
    phone.http().fail(
        "https://orders.example.com/orders/8888?phone=%2B14155550100",
        crate::conversation::ClientError::Timeout,
    );
    phone.text("hi");
    assert_eq!(
        phone.text("8888").texts(),
        ["No order 8888 for this number (no answer). Text again to retry."]
    );
    let request = &phone.http().requests()[1];
    assert_eq!(request.timeout, std::time::Duration::from_secs(10));
}

#[test]
fn the_timeout_fires_by_the_objects_alarm() {
    let mut phone = with_objects("appointments", &[]);
    phone.text("hello");
    phone.wait(3599);
    assert!(sent(&phone).is_empty());
    phone.wait(2);
    assert_eq!(
        sent(&phone),
        ["We did not hear back, so your next visit stays unconfirmed. Reply any time."]
    );
    assert_eq!(phone.state::<Execution>(), Execution::default());
}

#[test]
fn an_answer_in_time_cancels_the_timeout() {
    let mut phone = with_objects("appointments", &[]);
    phone.text("hello");
    phone.wait(60);
    assert_eq!(
        phone.text("yes").texts(),
        ["Confirmed: see you your next visit."]
    );
    phone.wait(7200);
    assert!(sent(&phone).is_empty());
}

#[test]
fn a_started_conversation_reads_flow_data() {
    let mut phone = with_objects("appointments", &[]);
    let json = serde_json::json!({
        "to": phone.from_number(), "from": "+15005550006",
        "parameters": {"name": "Ada", "when": "Tuesday at 3pm"},
    });
    let (status, body) = phone.start(&json.to_string());
    assert_eq!(status, 201, "{body}");
    assert_eq!(
        sent(&phone),
        ["Hi Ada! Reply YES to confirm Tuesday at 3pm, or NO to cancel."]
    );
    assert_eq!(
        phone.text("y").texts(),
        ["Confirmed: see you Tuesday at 3pm."]
    );
}

#[test]
fn a_flow_without_incoming_request_cannot_be_started() {
    let mut phone = with_objects("orders", &[]);
    let json = serde_json::json!({"to": phone.from_number(), "from": "+15005550006"});
    let (status, body) = phone.start(&json.to_string());
    assert_eq!(status, 400, "{body}");
    assert!(body.contains("incomingRequest"), "{body}");
}

#[test]
fn trigger_message_has_every_parameter() {
    let json = flow(
        "say",
        r#"{"name": "say", "type": "send-message", "transitions": [{"event": "sent"}],
            "properties": {"body": "{{trigger.message.Body | upcase}} from {{contact.channel.address}} to {{flow.channel.address}} ({{trigger.message.MessageSid | size}})"}}"#,
    );
    let mut phone = inline(&json);
    assert_eq!(
        phone.text("hey").texts(),
        ["HEY from +14155550100 to +15005550006 (34)"]
    );
}

#[test]
fn studio_limits_end_a_looping_execution() {
    // A split that always goes back to itself: Studio stops after 10 runs in a row.
    let json = flow(
        "loop",
        r#"{"name": "loop", "type": "split-based-on", "properties": {"input": "x"},
            "transitions": [{"event": "noMatch", "next": "loop"}]}"#,
    );
    let mut phone = inline(&json);
    let stopped = phone.text("go");
    assert!(stopped.texts().is_empty());
    assert_eq!(phone.state::<Execution>(), Execution::default());
    assert!(
        stopped
            .log_line
            .contains(r#""notes":{"studio_stopped":"one widget ran 10 times in a row (at loop)"}"#),
        "{}",
        stopped.log_line
    );
    // Two widgets ping-ponging run until the 1,000 steps.
    let json = flow(
        "a",
        r#"{"name": "a", "type": "set-variables", "properties": {"variables": [{"key": "n", "value": "{{flow.variables.n | plus: 1}}"}]},
            "transitions": [{"event": "next", "next": "b"}]},
           {"name": "b", "type": "split-based-on", "properties": {"input": "{{flow.variables.n}}"},
            "transitions": [{"event": "noMatch", "next": "a"}]}"#,
    );
    let mut phone = inline(&json);
    let stopped = phone.text("go");
    assert!(stopped.texts().is_empty());
    assert_eq!(phone.state::<Execution>(), Execution::default());
    assert!(
        stopped
            .log_line
            .contains("the execution reached Studio's 1,000 steps (at "),
        "{}",
        stopped.log_line
    );
    // An execution that ends as drawn notes nothing.
    let mut drawn = self::phone("appointments", &[]);
    assert!(!drawn.text("hello").log_line.contains("notes"));
}

/// A flow that says `body` once and ends.
fn saying(body: &str) -> String {
    let body = serde_json::to_string(body).unwrap();
    flow(
        "say",
        &format!(
            r#"{{"name": "say", "type": "send-message", "properties": {{"body": {body}}}, "transitions": []}}"#
        ),
    )
}

#[test]
fn liquid_has_a_budget_that_stops_the_execution_and_is_logged() {
    // 26 doublings would be 512 MiB: the string stops at 64 KiB.
    let doubling = "{% assign s = 'ab' %}".to_string()
        + &"{% assign s = s | append: s %}".repeat(26)
        + "{{ s | size }}";
    // Six loops deep, 15 rounds each, would be 11.4 M rounds: the budget stops them.
    let nested = "{% for a in (1..15) %}{% for b in (1..15) %}{% for c in (1..15) %}\
                  {% for d in (1..15) %}{% for e in (1..15) %}{% for f in (1..15) %}.\
                  {% endfor %}{% endfor %}{% endfor %}{% endfor %}{% endfor %}{% endfor %}";
    for (template, why) in [
        (
            doubling.as_str(),
            "a template made a string over 64 KiB (at say)",
        ),
        (
            nested,
            "templates took more than their 20,000 units of work (at say)",
        ),
    ] {
        let mut phone = inline(&saying(template));
        let stopped = phone.text("go");
        // What the widget was saying when it stopped is not sent, and the execution ended.
        assert!(stopped.texts().is_empty(), "{:?}", stopped.texts());
        assert_eq!(phone.state::<Execution>(), Execution::default());
        let note = format!(r#""notes":{{"studio_stopped":"{why}"}}"#);
        assert!(stopped.log_line.contains(&note), "{}", stopped.log_line);
    }
    // Within the budget, loops and strings render as before.
    let mut phone = inline(&saying(
        "{% for a in (1..3) %}{% for b in (1..2) %}{{a}}{{b}} {% endfor %}{% endfor %}",
    ));
    assert_eq!(phone.text("go").texts(), ["11 12 21 22 31 32 "]);
}

#[test]
fn the_budget_is_shared_by_every_template_of_one_event() {
    // Each pass of the loop renders 60 KB of text for almost no work: alone each template
    // is fine, but one event's templates render at most 1 MiB, so the execution stops long
    // before Studio's 1,000 steps.
    let big = "x".repeat(60_000);
    let json = flow(
        "a",
        &format!(
            r#"{{"name": "a", "type": "set-variables", "properties": {{"variables": [{{"key": "big", "value": "{big}"}}]}},
                "transitions": [{{"event": "next", "next": "b"}}]}},
               {{"name": "b", "type": "split-based-on", "properties": {{"input": "{{{{flow.variables.n}}}}"}},
                "transitions": [{{"event": "noMatch", "next": "a"}}]}}"#
        ),
    );
    let mut phone = inline(&json);
    let stopped = phone.text("go");
    assert!(
        stopped
            .log_line
            .contains("templates rendered more than 1 MiB (at a)"),
        "{}",
        stopped.log_line
    );
}

#[test]
fn unsupported_and_broken_flows_are_refused_naming_the_widget() {
    let function = flow(
        "fn",
        r#"{"name": "fn", "type": "run-function", "properties": {}, "transitions": []}"#,
    );
    let why = refused(&function);
    assert!(why.starts_with("STUDIO_FLOW"), "{why}");
    assert!(
        why.contains("widget \"fn\"") && why.contains("run-function"),
        "{why}"
    );

    let dangling = flow(
        "say",
        r#"{"name": "say", "type": "send-message", "properties": {"body": "hi"}, "transitions": [{"event": "sent", "next": "gone"}]}"#,
    );
    let why = refused(&dangling);
    assert!(
        why.contains("widget \"say\"") && why.contains("\"gone\""),
        "{why}"
    );

    let bad_regex = flow(
        "split",
        r#"{"name": "split", "type": "split-based-on", "properties": {"input": "x"},
            "transitions": [{"event": "noMatch"}, {"event": "match", "conditions": [{"type": "regex", "arguments": ["x"], "value": "("}]}]}"#,
    );
    assert!(refused(&bad_regex).contains("widget \"split\""));

    let bad_liquid = flow(
        "say",
        r#"{"name": "say", "type": "send-message", "properties": {"body": "{% if x %}never closed"}, "transitions": []}"#,
    );
    assert!(refused(&bad_liquid).contains("widget \"say\""));

    let voice = flow(
        "say",
        r#"{"name": "say", "type": "say-play", "properties": {"say": "hello"}, "transitions": []}"#,
    );
    assert!(refused(&voice).contains("say-play"));

    assert!(refused("{not json").contains("not a Studio flow"));
    let missing = TestPhone::new::<Studio>(&[("STUDIO_FLOW", "no-such-flow")])
        .err()
        .unwrap();
    assert!(missing.to_string().contains("no-such-flow"), "{missing}");
    let unnamed = TestPhone::new::<Studio>(&[]).err().unwrap();
    assert_eq!(unnamed.variable, "STUDIO_FLOW");
    for bad in [r#"{"FW1": 5}"#, r#"["rating"]"#, "{not json"] {
        let vars = [("STUDIO_FLOW", "appointments"), ("STUDIO_SUBFLOWS", bad)];
        let refused = TestPhone::new::<Studio>(&vars).err().unwrap();
        assert_eq!(refused.variable, "STUDIO_SUBFLOWS", "{bad}");
    }
}

#[test]
fn reset_and_opt_outs_work_as_for_every_conversation() {
    let mut phone = phone("appointments", &[]);
    phone.text("hello");
    phone.text("RESET");
    assert_eq!(phone.state::<Execution>(), Execution::default());
    assert_eq!(
        phone.text("hello").texts(),
        ["Hi! Reply YES to confirm your next visit, or NO to cancel."]
    );
    assert!(phone.text("STOP").texts().is_empty());
}

#[test]
fn post_json_http_requests_carry_the_body_and_the_key() {
    let json = flow(
        "save",
        r#"{"name": "save", "type": "make-http-request",
            "properties": {"method": "POST", "content_type": "application/json;charset=utf-8", "url": "https://crm.test/notes",
                           "body": "{\"from\": \"{{contact.channel.address}}\", \"text\": \"{{trigger.message.Body}}\"}"},
            "transitions": [{"event": "success", "next": "ok"}, {"event": "failed"}]},
           {"name": "ok", "type": "send-message", "properties": {"body": "Saved as {{widgets.save.parsed.id}} ({{widgets.save.status_code}})"}, "transitions": []}"#,
    );
    let mut phone = inline(&json);
    phone
        .http()
        .respond("https://crm.test/notes", 201, r#"{"id": 7}"#);
    assert_eq!(phone.text("call me").texts(), ["Saved as 7 (201)"]);
    let request = &phone.http().requests()[0];
    assert_eq!(request.method, "POST");
    let body: serde_json::Value = serde_json::from_slice(&request.body).unwrap();
    assert_eq!(body["text"], "call me");
    assert!(request.header_value("idempotency-key").is_some());
    assert!(request
        .header_value("content-type")
        .is_some_and(|c| c.starts_with("application/json")));
}

#[test]
fn a_json_get_sends_its_parameters_in_the_query_and_no_body() {
    // Studio's drawing keeps `application/json` on a GET; `fetch` refuses a GET with a body.
    let json = flow(
        "crm",
        r#"{"name": "crm", "type": "make-http-request",
            "properties": {"method": "GET", "content_type": "application/json", "url": "https://crm.test/lookup",
                           "parameters": [{"key": "phone", "value": "{{contact.channel.address}}"}]},
            "transitions": [{"event": "success", "next": "ok"}, {"event": "failed"}]},
           {"name": "ok", "type": "send-message", "properties": {"body": "found {{widgets.crm.parsed.name}}"}, "transitions": []}"#,
    );
    let mut phone = inline(&json);
    phone.http().respond(
        "https://crm.test/lookup?phone=%2B14155550100",
        200,
        r#"{"name": "Ada"}"#,
    );
    assert_eq!(phone.text("hi").texts(), ["found Ada"]);
    assert!(phone.http().requests()[0].body.is_empty());
}

#[test]
fn json_variables_and_a_flow_drawn_for_conversations() {
    // The trigger's texts go nowhere, its Conversations transition somewhere: texts run it.
    let json = r#"{"description": "t", "initial_state": "Trigger", "states": [
        {"name": "Trigger", "type": "trigger", "properties": {}, "transitions": [
            {"event": "incomingMessage"}, {"event": "incomingConversationMessage", "next": "vars"}]},
        {"name": "vars", "type": "set-variables", "transitions": [{"event": "next", "next": "say"}],
         "properties": {"variables": [
            {"key": "order", "value": "{\"id\": 7, \"items\": [\"tea\", \"cake\"]}", "type": "json"},
            {"key": "plain", "value": "{\"id\": 8}"}]}},
        {"name": "say", "type": "send-message", "transitions": [{"event": "sent"}],
         "properties": {"body": "{{flow.variables.order.id}}: {{flow.variables.order.items | join: ' and '}} / {{flow.variables.plain.id}}"}}]}"#;
    let mut phone = inline(json);
    assert_eq!(phone.text("hi").texts(), ["7: tea and cake / "]);
}

/// A flow that asks and waits `timeout` seconds for the answer.
fn asking_for(timeout: &str) -> String {
    flow(
        "ask",
        &format!(
            r#"{{"name": "ask", "type": "send-and-wait-for-reply", "properties": {{"body": "Reply C to confirm", "timeout": "{timeout}"}},
                "transitions": [{{"event": "incomingMessage", "next": "got"}}, {{"event": "timeout", "next": "late"}}, {{"event": "deliveryFailure"}}]}},
            {{"name": "got", "type": "send-message", "properties": {{"body": "Got {{{{widgets.ask.inbound.Body}}}}"}}, "transitions": [{{"event": "sent"}}, {{"event": "failed"}}]}},
            {{"name": "late", "type": "send-message", "properties": {{"body": "No answer"}}, "transitions": [{{"event": "sent"}}, {{"event": "failed"}}]}}"#
        ),
    )
}

#[test]
fn with_the_objects_a_send_and_wait_waits_days_when_the_conversation_lives_that_long() {
    let json = asking_for("172800");
    let vars = [
        ("STUDIO_FLOW", "t"),
        ("flows/t.json", json.as_str()),
        ("CONVERSATION_TTL_SECONDS", "259200"),
    ];
    let mut phone = TestPhone::new::<Studio>(&vars)
        .unwrap()
        .with_objects()
        .with_outbound();
    assert_eq!(phone.text("hi").texts(), ["Reply C to confirm"]);
    // Answered the next morning, long after Twilio dropped the cookie.
    phone.wait(20 * 3600);
    assert_eq!(phone.text("C").texts(), ["Got C"]);
    phone.wait(3 * 24 * 3600);
    assert!(sent(&phone).is_empty(), "answered: no timeout");
}

#[test]
fn a_send_and_wait_timeout_over_studios_30_days_is_refused() {
    let why = refused(&asking_for("2592001"));
    assert!(
        why.contains("widget \"ask\"") && why.contains("30 days"),
        "{why}"
    );
    assert!(TestPhone::new::<Studio>(&[
        ("STUDIO_FLOW", "t"),
        ("flows/t.json", asking_for("2592000").as_str())
    ])
    .is_ok());
}
