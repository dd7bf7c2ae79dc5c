use super::*;
use crate::harness::TestPhone;

fn texts(phone: &mut TestPhone, n: usize) -> Vec<String> {
    (0..n).map(|_| phone.text("hi").texts().join("|")).collect()
}

#[test]
fn the_classic_conversation_counts_messages() {
    let mut phone = TestPhone::new::<Counter>(&[]).unwrap();
    assert_eq!(
        texts(&mut phone, 3),
        [
            "Hello, thanks for the new message.",
            "Hello, thanks for message number 2",
            "Hello, thanks for message number 3"
        ]
    );
}

#[test]
fn a_known_caller_is_greeted_by_name() {
    let vars = [("KNOWN_CALLERS", r#"{"+14155550100": "Rey"}"#)];
    let mut rey = TestPhone::new::<Counter>(&vars)
        .unwrap()
        .from("+14155550100");
    assert_eq!(
        texts(&mut rey, 2),
        [
            "Hello Rey, thanks for the new message.",
            "Hello Rey, thanks for message number 2"
        ]
    );
    let mut other = TestPhone::new::<Counter>(&vars)
        .unwrap()
        .from("+14155550101");
    assert_eq!(texts(&mut other, 1), ["Hello, thanks for the new message."]);
}

#[test]
fn the_python_tutorials_wording_is_one_template_away() {
    let t = "{name} has messaged {to} {count} times.";
    let vars = [
        ("KNOWN_CALLERS", r#"{"+14155550100": "Rey"}"#),
        ("REPLY_FIRST", t),
        ("REPLY_NEXT", t),
        ("REPLY_FIRST_KNOWN", t),
        ("REPLY_NEXT_KNOWN", t),
    ];
    let mut rey = TestPhone::new::<Counter>(&vars)
        .unwrap()
        .from("+14155550100");
    assert_eq!(
        texts(&mut rey, 2)[1],
        "Rey has messaged +15005550006 2 times."
    );
    let mut other = TestPhone::new::<Counter>(&vars)
        .unwrap()
        .from("+14155550199");
    assert_eq!(
        texts(&mut other, 1)[0],
        "Friend has messaged +15005550006 1 times."
    );
}

#[test]
fn each_bad_setting_names_its_variable() {
    for (vars, variable) in [
        (&[("KNOWN_CALLERS", "{not json")][..], "KNOWN_CALLERS"),
        (&[("KNOWN_CALLERS", "[\"+1\"]")][..], "KNOWN_CALLERS"),
        (&[("REPLY_NEXT", "Hi {nmae}")][..], "REPLY_NEXT"),
    ] {
        let err = TestPhone::new::<Counter>(vars).err().expect("an error");
        assert_eq!(err.variable, variable);
    }
}
