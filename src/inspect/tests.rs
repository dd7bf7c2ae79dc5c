use super::*;
use crate::registry::Registered;
use crate::seal::Purpose;

static ONE: Conversations =
    Conversations::new(&[Registered::of::<crate::conversations::Counter>()]);

/// The dev phone's state panel shows the pair's standing: the opt-out, the person's last
/// message, and how the worker's own sends fared.
#[test]
fn the_inspection_shows_the_opt_out_and_the_deliveries() {
    let secret = "inspect-secret-0123456789abcdef-0123456789";
    let keys = SessionKeys::from_secrets(secret).unwrap();
    let pair = Pair {
        account_sid: "AC1",
        to: "+15005550006",
        from: "+14155550100",
    };
    let mut record = Record::default();
    record.count_message("SM1", 1_700_000_000);
    record.standing.opted_out = Some(1_700_000_050);
    record.standing.track("SMsent", 1_700_000_010);
    record
        .standing
        .update("SMsent", "delivered", None, 1_700_000_020);
    let cookie = keys
        .seal(&record, Purpose::Cookie, &pair, 1_800_000_000, true)
        .unwrap();
    let req = Request {
        secret: secret.into(),
        account_sid: "AC1".into(),
        to: pair.to.into(),
        from: pair.from.into(),
        cookie,
        now: 1_700_000_100,
        ..Request::default()
    };
    let answer = inspect(&req, &ONE);
    let record = &answer["record"];
    assert_eq!(record["opted_out"], 1_700_000_050, "{answer}");
    assert_eq!(record["last_inbound"], 1_700_000_000);
    assert_eq!(record["deliveries"][0]["sid"], "SMsent");
    assert_eq!(record["deliveries"][0]["status"], "delivered");
}

/// The state API's JSON sealed as a cookie opens for its pair, with its count, state
/// and turns, its MessageSids seen; for another pair, or with a bad body, it does not.
#[test]
fn a_sealed_state_opens_as_the_pairs_cookie() {
    let secret = "inspect-secret-0123456789abcdef-0123456789";
    let fields = json!({
        "state": {"step": "Age", "name": "Ada"}, "state_version": 1,
        "count": 2, "seq": 5, "first_seen": 1_700_000_000, "last_seen": 1_700_000_060,
        "last_message_sid": "SM2", "unknown_field": true,
        "turns": [
            {"at": 1_700_000_000, "message_sid": "SM1", "inbound": "hi", "reply": {"messages": [{"body": "Name?", "media": []}]}},
            {"at": 1_700_000_060, "sid": "SM2", "inbound": "Ada", "reply": ["Age?"]}
        ]
    });
    let mut req = Request {
        secret: secret.into(),
        account_sid: "AC1".into(),
        to: "+15005550006".into(),
        from: "+14155550100".into(),
        now: 1_700_000_100,
        seal: Some(fields.clone()),
        ..Request::default()
    };
    let answer = seal(&req);
    assert_eq!(answer["ok"], true, "{answer}");
    let cookie = answer["cookie"].as_str().unwrap().to_string();
    let keys = SessionKeys::from_secrets(secret).unwrap();
    let pair = Pair {
        account_sid: "AC1",
        to: "+15005550006",
        from: "+14155550100",
    };
    let Ok(Opened::Record(record)) = keys.open(&cookie, Place::Cookie, &pair, 1_700_000_100) else {
        panic!("does not open");
    };
    assert_eq!(
        (record.count, record.seq, record.last_seen),
        (2, 5, 1_700_000_060)
    );
    assert_eq!(record.state.version, 1);
    assert_eq!(
        serde_json::from_str::<Value>(&record.state.json).unwrap(),
        fields["state"]
    );
    assert_eq!(record.turns.len(), 2);
    assert_eq!(record.turns[1].reply.texts(), ["Age?"]);
    assert!(record.has_seen("SM1") && record.has_seen("SM2"));
    assert_eq!(record.answer_to("SM2").unwrap().texts(), ["Age?"]);

    let other = Pair {
        from: "+14155550199",
        ..pair
    };
    assert!(keys
        .open(&cookie, Place::Cookie, &other, 1_700_000_100)
        .is_err());
    req.seal = Some(json!({"hello": "world"}));
    let answer = seal(&req);
    assert_eq!(answer["ok"], false);
    assert!(
        answer["error"]
            .as_str()
            .unwrap()
            .contains("not a conversation's state"),
        "{answer}"
    );
}
