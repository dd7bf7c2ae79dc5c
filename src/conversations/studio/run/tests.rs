//! The execution's JSON is what users' cookies hold: it must not change shape.

use super::*;
use serde_json::json;

fn full() -> Execution {
    let object = |json: Value| match json {
        Value::Object(map) => map,
        _ => unreachable!(),
    };
    Execution {
        widget: Some("ask_rating".into()),
        flow: "rating".into(),
        variables: object(json!({"stars": "5"})),
        data: object(json!({"order": "12345"})),
        widgets: object(json!({"ask_rating": {"inbound": {"Body": "5"}}})),
        trigger: object(json!({"message": {"Body": "hi"}})),
        contact: "+14155550100".into(),
        channel: "+15005550006".into(),
        steps: 7,
        repeats: 2,
        sent_by_api: true,
        parents: vec![
            Parent {
                flow: String::new(),
                widget: "rate".into(),
                variables: object(json!({"n": 1})),
                data: Map::new(),
                widgets: object(json!({"lookup": {"parsed": {"id": "12345"}}})),
            },
            Parent {
                flow: "middle".into(),
                widget: "inner".into(),
                ..Parent::default()
            },
        ],
    }
}

const FULL: &str = concat!(
    r#"{"widget":"ask_rating","flow":"rating","variables":{"stars":"5"},"#,
    r#""data":{"order":"12345"},"widgets":{"ask_rating":{"inbound":{"Body":"5"}}},"#,
    r#""trigger":{"message":{"Body":"hi"}},"contact":"+14155550100","#,
    r#""channel":"+15005550006","steps":7,"repeats":2,"sent_by_api":true,"#,
    r#""parents":[{"widget":"rate","variables":{"n":1},"#,
    r#""widgets":{"lookup":{"parsed":{"id":"12345"}}}},"#,
    r#"{"flow":"middle","widget":"inner"}]}"#,
);

#[test]
fn the_cookies_json_keeps_its_shape() {
    assert_eq!(serde_json::to_string(&full()).unwrap(), FULL);
    assert_eq!(serde_json::from_str::<Execution>(FULL).unwrap(), full());
    assert_eq!(serde_json::to_string(&Execution::default()).unwrap(), "{}");
    assert_eq!(
        serde_json::from_str::<Execution>("{}").unwrap(),
        Execution::default()
    );
}
