//! Studio's semantics as Twilio's pages state them, where flows exported by others found this
//! runtime wrong (issue #27): a split tests its input, an ended execution blocks no start, a
//! subflow reads its parameters under `trigger.parent.parameters`, `"now" | date` is the
//! event's moment.

use super::*;

/// A flow that asks, then splits on the answer with `input` (when given) and conditions
/// whose `arguments` are the pattern, as some exports carry them.
fn asking_split(input: Option<&str>, arguments: [&str; 2]) -> String {
    let input = input.map_or(String::new(), |i| format!(r#""input": "{i}""#));
    let [yes, no] = arguments;
    let say = |name: &str, body: &str| {
        format!(
            r#"{{"name": "{name}", "type": "send-message", "properties": {{"body": "{body}"}}, "transitions": [{{"event": "sent"}}]}}"#
        )
    };
    flow(
        "ask",
        &format!(
            r#"{{"name": "ask", "type": "send-and-wait-for-reply", "properties": {{"body": "Yes or no?"}},
                "transitions": [{{"event": "incomingMessage", "next": "split"}}, {{"event": "timeout"}}]}},
               {{"name": "split", "type": "split-based-on", "properties": {{{input}}},
                "transitions": [{{"event": "noMatch", "next": "what"}},
                  {{"event": "match", "next": "yes", "conditions": [{{"friendly_name": "yes", "arguments": ["{yes}"], "type": "equal_to", "value": "yes"}}]}},
                  {{"event": "match", "next": "no", "conditions": [{{"friendly_name": "no", "arguments": ["{no}"], "type": "equal_to", "value": "no"}}]}}]}},
               {}, {}, {}"#,
            say("yes", "Yes it is."),
            say("no", "No it is."),
            say("what", "Pardon?"),
        ),
    )
}

#[test]
fn a_split_tests_its_input_whatever_the_conditions_arguments_say() {
    // The arguments carry each condition's own pattern: only the input is the answer.
    let json = asking_split(Some("{{widgets.ask.inbound.Body}}"), ["yes", "no"]);
    let mut phone = inline(&json);
    for (answer, said) in [
        ("no", "No it is."),
        ("yes", "Yes it is."),
        ("maybe", "Pardon?"),
    ] {
        assert_eq!(phone.text("hi").texts(), ["Yes or no?"]);
        assert_eq!(phone.text(answer).texts(), [said], "{answer}");
    }
}

#[test]
fn a_split_without_input_tests_each_conditions_argument() {
    let json = asking_split(
        None,
        [
            "{{widgets.ask.inbound.Body}}",
            "{{widgets.ask.inbound.Body}}",
        ],
    );
    let mut phone = inline(&json);
    phone.text("hi");
    assert_eq!(phone.text("no").texts(), ["No it is."]);
    phone.text("hi");
    assert_eq!(phone.text("perhaps").texts(), ["Pardon?"]);
}

/// A start of the appointments flow for the test phone's person, with `parameters`.
fn start_json(phone: &TestPhone, parameters: serde_json::Value) -> String {
    let json = serde_json::json!({
        "to": phone.from_number(), "from": "+15005550006", "parameters": parameters,
    });
    json.to_string()
}

#[test]
fn an_ended_execution_never_blocks_a_start_and_a_waiting_one_does() {
    let mut phone = with_objects("appointments", &[]);
    let first = start_json(
        &phone,
        serde_json::json!({"name": "Ada", "when": "Tuesday"}),
    );
    assert_eq!(phone.start(&first).0, 201);
    // The first execution waits for the answer: a second start would cut in.
    let second = start_json(&phone, serde_json::json!({"name": "Bob"}));
    let (status, body) = phone.start(&second);
    assert_eq!(status, 409, "{body}");
    assert!(body.contains("in progress"), "{body}");
    // The answer ends the first execution: the second start runs, with its own flow.data
    // (no "Tuesday" left from the first).
    assert_eq!(phone.text("yes").texts(), ["Confirmed: see you Tuesday."]);
    let (status, body) = phone.start(&second);
    assert_eq!(status, 201, "{body}");
    assert_eq!(
        sent(&phone).last().unwrap(),
        "Hi Bob! Reply YES to confirm your next visit, or NO to cancel."
    );
    // Over a waiting execution, "replace" still starts over.
    let third = serde_json::json!({
        "to": phone.from_number(), "from": "+15005550006", "replace": true,
        "parameters": {"name": "Cy", "when": "Friday"},
    });
    assert_eq!(phone.start(&third.to_string()).0, 201);
    assert_eq!(phone.text("y").texts(), ["Confirmed: see you Friday."]);
}

#[test]
fn studio_is_in_progress_only_while_an_execution_waits() {
    let lookup = |name: &str| (name == "STUDIO_FLOW").then(|| "appointments".to_string());
    let conversation = Studio::new(&Vars::new(&lookup)).unwrap();
    let record = crate::record::Record {
        count: 3,
        ..Default::default()
    };
    let waiting = Execution {
        widget: Some("ask".into()),
        ..Execution::default()
    };
    assert!(conversation.in_progress(&waiting, &record.view()));
    assert!(!conversation.in_progress(&Execution::default(), &record.view()));
}

/// The vars of a main flow that runs the subflow `sub` with `parameters`, then says the
/// greeting the subflow set; the subflow says `child_says` first.
fn parent_and_child(parameters: &str, child_says: &str) -> [(&'static str, String); 3] {
    let parent = flow(
        "run",
        &format!(
            r#"{{"name": "run", "type": "run-subflow", "properties": {{"flow_sid": "sub", "parameters": {parameters}}},
                "transitions": [{{"event": "completed", "next": "done"}}, {{"event": "failed"}}]}},
               {{"name": "done", "type": "send-message", "properties": {{"body": "Back: {{{{widgets.run.greeting}}}}"}}, "transitions": [{{"event": "sent"}}]}}"#
        ),
    );
    let body = serde_json::to_string(child_says).unwrap();
    let child = format!(
        r#"{{"description": "sub", "initial_state": "Trigger", "states": [
            {{"name": "Trigger", "type": "trigger", "properties": {{}}, "transitions": [{{"event": "incomingParent", "next": "say"}}]}},
            {{"name": "say", "type": "send-message", "properties": {{"body": {body}}}, "transitions": [{{"event": "sent", "next": "set"}}]}},
            {{"name": "set", "type": "set-variables", "properties": {{"variables": [{{"key": "greeting", "value": "hello {{{{trigger.parent.parameters.name}}}}"}}]}},
             "transitions": [{{"event": "next"}}]}}]}}"#
    );
    [
        ("STUDIO_FLOW", "t".to_string()),
        ("flows/t.json", parent),
        ("flows/sub.json", child),
    ]
}

#[test]
fn a_subflow_reads_its_parameters_under_trigger_parent_parameters() {
    let vars = parent_and_child(
        r#"[{"key": "name", "value": "{{ 'ada' | upcase }}"}]"#,
        "{{trigger.parent.parameters.name}} / {{flow.data.name}} / {{trigger.message.Body}}",
    );
    let vars: Vec<(&str, &str)> = vars.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let mut phone = TestPhone::new::<Studio>(&vars).unwrap();
    // The parameters under the trigger and as flow.data; the parent's trigger is copied in,
    // kept though only the subflow reads it.
    assert_eq!(
        phone.text("hello").texts(),
        ["ADA / ADA / hello", "Back: hello ADA"]
    );
}

#[test]
fn the_date_filter_prints_the_events_moment_for_now_and_today() {
    let mut phone = inline(&saying(
        "{{ 'now' | date: '%Y-%m-%d %H:%M' }} / {{ 'today' | date: '%A' }}",
    ));
    // The test phone's clock starts at 2023-11-14 22:13:20 UTC, a Tuesday.
    assert_eq!(phone.text("hi").texts(), ["2023-11-14 22:13 / Tuesday"]);
    phone.wait(3 * 86_400);
    assert_eq!(phone.text("hi").texts(), ["2023-11-17 22:13 / Friday"]);
}
