use super::*;
use crate::harness::TestPhone;

fn survey(vars: &[(&str, &str)]) -> TestPhone {
    TestPhone::new::<Survey>(vars).unwrap()
}

fn say(phone: &mut TestPhone, text: &str) -> String {
    phone.text(text).texts().join("|")
}

#[test]
fn the_whole_survey() {
    let mut p = survey(&[]);
    assert_eq!(say(&mut p, "hello"), "Hi! What's your name?");
    assert_eq!(
        say(&mut p, "  Rey  "),
        "Thanks, Rey. What's your 5-digit ZIP code?"
    );
    assert_eq!(
        say(&mut p, "9410"),
        "Sorry, a ZIP code is 5 digits. What's your 5-digit ZIP code?"
    );
    assert_eq!(
        say(&mut p, "94105"),
        "Can we text you updates? Reply Y for yes or N for no."
    );
    assert_eq!(say(&mut p, "maybe"), "Please reply Y (yes) or N (no).");
    assert_eq!(say(&mut p, "yes"), "Thanks, Rey! ZIP 94105, updates: yes.");
    assert_eq!(
        say(&mut p, "hi"),
        "You're all set, Rey. Text RESET to start over."
    );
    assert_eq!(
        p.state::<Step>(),
        Step::Done {
            name: "Rey".into(),
            zip: "94105".into(),
            updates: true
        }
    );
    assert_eq!(say(&mut p, "reset"), "Your conversation has been reset.");
    assert_eq!(say(&mut p, "hi again"), "Hi! What's your name?");
}

#[test]
fn names_are_cut_and_answers_any_case() {
    let mut p = survey(&[]);
    say(&mut p, "hi");
    let long = "x".repeat(100);
    assert_eq!(
        say(&mut p, &long),
        format!("Thanks, {}. {ASK_ZIP}", "x".repeat(60))
    );
    say(&mut p, " 12345 ");
    assert_eq!(
        say(&mut p, "n"),
        format!("Thanks, {}! ZIP 12345, updates: no.", "x".repeat(60))
    );
}

#[test]
fn help_repeats_the_question_and_changes_nothing() {
    let mut p = survey(&[]);
    say(&mut p, "hi");
    say(&mut p, "Rey");
    let before = p.state::<Step>();
    let help = say(&mut p, "help");
    assert!(help.ends_with(ASK_ZIP), "{help}");
    assert_eq!(p.state::<Step>(), before);
    assert_eq!(say(&mut p, "94105"), ASK_UPDATES);
}

#[test]
fn help_as_the_first_text_asks_the_name_once() {
    let mut p = survey(&[]);
    assert!(say(&mut p, "HELP").ends_with(ASK_NAME));
    assert_eq!(say(&mut p, "Rey"), format!("Thanks, Rey. {ASK_ZIP}"));
}

#[test]
fn back_returns_to_the_previous_question() {
    let mut p = survey(&[]);
    say(&mut p, "hi");
    say(&mut p, "Rey");
    say(&mut p, "94105");
    assert_eq!(say(&mut p, "BACK"), ASK_ZIP);
    assert_eq!(say(&mut p, "10001"), ASK_UPDATES);
    assert_eq!(say(&mut p, "back"), ASK_ZIP);
    assert_eq!(say(&mut p, "Back"), ASK_NAME);
    assert_eq!(say(&mut p, "Kay"), format!("Thanks, Kay. {ASK_ZIP}"));
}

#[test]
fn a_retried_answer_gets_the_same_reply_whatever_the_history_setting() {
    for turns in ["0", "10"] {
        let mut p = survey(&[("HISTORY_TURNS", turns)]);
        say(&mut p, "hi");
        let first = say(&mut p, "Rey");
        assert_eq!(p.retry().texts().join("|"), first, "HISTORY_TURNS={turns}");
        assert_eq!(p.count(), 2);
        assert_eq!(say(&mut p, "94105"), ASK_UPDATES);
    }
}

#[test]
fn results_are_posted_once_after_the_final_answer() {
    let mut p = survey(&[
        ("SURVEY_RESULTS_URL", "https://crm.test/leads"),
        ("SURVEY_RESULTS_TOKEN", "tok"),
    ]);
    p.http().respond("https://crm.test/leads", 201, "{}");
    for text in ["hi", "Rey", "94105"] {
        say(&mut p, text);
    }
    assert!(p.http().requests().is_empty());
    p.wait(7);
    say(&mut p, "Y");
    let sent = p.http().requests();
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].method, "POST");
    assert!(sent[0]
        .headers
        .contains(&("authorization".into(), "Bearer tok".into())));
    let results: Results = serde_json::from_slice(&sent[0].body).unwrap();
    assert_eq!(
        results,
        Results {
            from: p.from_number().into(),
            to: "+15005550006".into(),
            name: "Rey".into(),
            zip: "94105".into(),
            updates: true,
            completed_at: p.now(),
        }
    );
    p.retry();
    say(&mut p, "anything");
    assert_eq!(p.http().requests().len(), 1);
}

#[test]
fn reminders_are_asked_for_open_questions_only() {
    use crate::conversation::Conversation as _;
    let lookup = |n: &str| (n == "SURVEY_REMINDER_SECONDS").then(|| "600".to_string());
    let survey = Survey::new(&Vars::new(&lookup)).unwrap();
    assert_eq!(survey.reminder_after, Some(Duration::from_secs(600)));
    let asked = survey.remind(&Step::Zip { name: "Rey".into() }, Reply::text("q"));
    assert_eq!(asked.follow_up(), Some(600));
    let done = Step::Done {
        name: "Rey".into(),
        zip: "94105".into(),
        updates: true,
    };
    assert_eq!(survey.remind(&done, Reply::text("bye")).follow_up(), None);
    let ctx = Context::new(
        Vars::new(&lookup),
        std::rc::Rc::new(crate::conversation::NoClient),
        0,
    );
    let view = View {
        count: 2,
        first_seen: 0,
        last_seen: 0,
        turns: &[],
        standing: &Default::default(),
    };
    let mut step = Step::Zip { name: "Rey".into() };
    let reminder = crate::harness::block_on(survey.follow_up(&view, &mut step, &ctx));
    assert_eq!(reminder.texts(), [format!("Just checking in: {ASK_ZIP}")]);
    assert_eq!(reminder.follow_up(), None, "one reminder, never a stream");
    assert!(crate::harness::block_on(survey.follow_up(&view, &mut done.clone(), &ctx)).is_empty());
    let off = Survey::new(&Vars::new(&|_: &str| None)).unwrap();
    assert_eq!(off.remind(&Step::Name, Reply::text("q")).follow_up(), None);
}

#[test]
fn a_failing_results_endpoint_never_changes_the_reply() {
    let mut p = survey(&[("SURVEY_RESULTS_URL", "https://crm.test/leads")]);
    p.http().respond("https://crm.test/leads", 500, "down");
    for text in ["hi", "Rey", "94105"] {
        say(&mut p, text);
    }
    let done = p.text("N");
    assert_eq!(done.texts(), ["Thanks, Rey! ZIP 94105, updates: no."]);
    let sid = format!("SM{:032x}", 4);
    assert_eq!(
        done.after_reply_errors(),
        [format!(
            "survey_results: results of +14*******00 to +15*******06 (MessageSid {sid}) \
             not delivered: the endpoint answered 500 (after 1 try)"
        )]
    );
    assert_eq!(
        p.http().requests().len(),
        1,
        "a 500 may have done something"
    );
}

/// A survey at its last question, its results going to `https://crm.test/leads`.
fn at_the_last_question() -> TestPhone {
    let mut p = survey(&[("SURVEY_RESULTS_URL", "https://crm.test/leads")]);
    p.http().respond("https://crm.test/leads", 201, "{}");
    for text in ["hi", "Rey", "94105"] {
        say(&mut p, text);
    }
    p
}

fn idempotency_keys(p: &TestPhone) -> Vec<Option<String>> {
    let requests = p.http().requests();
    let key = |r: &ClientRequest| r.header_value("Idempotency-Key").map(str::to_string);
    requests.iter().map(key).collect()
}

#[test]
fn results_refused_before_they_went_out_are_sent_again_with_the_same_key() {
    let mut p = at_the_last_question();
    let not_sent = ClientError::NotSent("connect ECONNREFUSED".into());
    p.http().fail_once("https://crm.test/leads", not_sent);
    let done = p.text("Y");
    assert!(
        done.after_reply_errors().is_empty(),
        "{:?}",
        done.after_reply_errors()
    );
    let keys = idempotency_keys(&p);
    assert_eq!(keys.len(), 2, "delivered on the second try");
    assert!(keys[0].is_some());
    assert_eq!(keys[0], keys[1]);
}

#[test]
fn a_timeout_is_not_repeated_and_the_log_names_the_lead() {
    let mut p = at_the_last_question();
    p.http()
        .fail("https://crm.test/leads", ClientError::Timeout);
    let done = p.text("Y");
    assert_eq!(p.http().requests().len(), 1, "it may have arrived");
    let [error] = done.after_reply_errors() else {
        panic!("one error: {:?}", done.after_reply_errors())
    };
    let sid = format!("SM{:032x}", 4);
    assert!(error.contains("+14*******00 to +15*******06"), "{error}");
    assert!(error.contains(&sid), "{error}");
    assert!(
        error.ends_with("the endpoint timed out (after 1 try)"),
        "{error}"
    );
    assert!(!error.contains(p.from_number()), "{error}");
}

#[test]
fn refusals_are_tried_three_times_at_most() {
    for (label, failure) in [
        ("503", None),
        ("not sent", Some(ClientError::NotSent("dns".into()))),
    ] {
        let mut p = at_the_last_question();
        match failure {
            Some(e) => p.http().fail("https://crm.test/leads", e),
            None => p.http().respond("https://crm.test/leads", 503, "busy"),
        }
        let done = p.text("N");
        assert_eq!(p.http().requests().len(), 3, "{label}");
        let error = &done.after_reply_errors()[0];
        assert!(error.ends_with("(after 3 tries)"), "{label}: {error}");
    }
}
