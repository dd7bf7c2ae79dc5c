use super::*;

/// A real inbound SMS webhook body, as Twilio posts it (SIDs made up).
pub(super) const TWILIO_BODY: &str = "ToCountry=US&ToState=CA&SmsMessageSid=SM1f0e8ae6ade43cb3c0ce4525424e404f&NumMedia=0&ToCity=SAN+FRANCISCO&FromZip=94105&SmsSid=SM1f0e8ae6ade43cb3c0ce4525424e404f&FromState=CA&SmsStatus=received&FromCity=SAN+FRANCISCO&Body=Hello+%F0%9F%91%8B+%26+%3Cwelcome%3E&FromCountry=US&To=%2B15005550006&MessagingServiceSid=MG00000000000000000000000000000000&ToZip=94105&NumSegments=1&MessageSid=SM1f0e8ae6ade43cb3c0ce4525424e404f&AccountSid=AC00000000000000000000000000000000&From=%2B14155550100&ApiVersion=2010-04-01";

#[test]
fn a_real_twilio_body_parses_with_unknown_fields_ignored() {
    let params = parse_params(TWILIO_BODY.as_bytes()).unwrap();
    assert_eq!(params.len(), 20);
    let msg = InboundMessage::from_params(&params).unwrap();
    assert_eq!(msg.from, "+14155550100");
    assert_eq!(msg.to, "+15005550006");
    assert_eq!(msg.body, "Hello 👋 & <welcome>");
    assert_eq!(msg.sid(), "SM1f0e8ae6ade43cb3c0ce4525424e404f");
    assert_eq!(msg.account(), "AC00000000000000000000000000000000");
    assert_eq!(msg.num_media.as_deref(), Some("0"));
    assert!(msg.media.is_empty());
}

#[test]
fn media_items_come_in_index_order_with_their_types() {
    let params = parse_params(
        b"From=a&To=b&NumMedia=2&MediaUrl1=https%3A%2F%2Fx%2F1&MediaContentType0=image%2Fpng&MediaUrl0=https%3A%2F%2Fx%2F0",
    )
    .unwrap();
    let msg = InboundMessage::from_params(&params).unwrap();
    assert_eq!(
        msg.media,
        vec![
            Media {
                url: "https://x/0".into(),
                content_type: Some("image/png".into())
            },
            Media {
                url: "https://x/1".into(),
                content_type: None
            },
        ]
    );
}

#[test]
fn from_and_to_are_required() {
    let missing = |body: &[u8]| InboundMessage::from_params(&parse_params(body).unwrap());
    assert_eq!(
        missing(b"To=%2B1&Body=x"),
        Err(ParamsError::Missing("From"))
    );
    assert_eq!(
        missing(b"From=%2B1&Body=x"),
        Err(ParamsError::Missing("To"))
    );
    assert_eq!(missing(b"From=&To=%2B1"), Err(ParamsError::Missing("From")));
    assert_eq!(missing(b""), Err(ParamsError::Missing("From")));
}

#[test]
fn the_deprecated_sms_sid_stands_in_for_message_sid() {
    let params = parse_params(b"From=a&To=b&SmsSid=SM9").unwrap();
    assert_eq!(InboundMessage::from_params(&params).unwrap().sid(), "SM9");
}

#[test]
fn bytes_that_are_not_utf8_are_rejected() {
    assert!(matches!(
        parse_params(b"From=\xff&To=b"),
        Err(ParamsError::Malformed(_))
    ));
    assert!(matches!(
        parse_params(b"From=%FF&To=b"),
        Err(ParamsError::Malformed(_))
    ));
    // A real U+FFFD sent by the user is fine.
    let params = parse_params(b"From=a&To=b&Body=%EF%BF%BD").unwrap();
    assert_eq!(params[2].1, "\u{FFFD}");
}

#[test]
fn a_known_field_given_twice_is_malformed() {
    let params = parse_params(b"From=a&From=c&To=b").unwrap();
    assert_eq!(
        InboundMessage::from_params(&params),
        Err(ParamsError::Malformed("duplicate field `From`".into()))
    );
    // Unknown parameters may repeat.
    let params = parse_params(b"From=a&To=b&X=1&X=2").unwrap();
    assert!(InboundMessage::from_params(&params).is_ok());
}

#[test]
fn a_parameter_sent_empty_is_present_and_one_not_sent_is_not() {
    let params = parse_params(b"From=a&To=b&MessageSid=&OptOutType=STOP").unwrap();
    let msg = InboundMessage::from_params(&params).unwrap();
    assert_eq!(msg.message_sid.as_deref(), Some(""));
    assert_eq!(msg.opt_out_type.as_deref(), Some("STOP"));
    assert_eq!((msg.sms_sid, msg.body.as_str()), (None, ""));
}

#[test]
fn the_form_decodes_as_serde_urlencoded_does() {
    // The same pieces serde_urlencoded reads (both through `form_urlencoded`).
    let reference = |text: &str| -> Params { serde_urlencoded::from_str(text).unwrap() };
    for text in [
        "",
        "&&",
        "a",
        "a=",
        "=b",
        "a=b=c",
        "a=1&&b=2&",
        "a+b=c+d",
        "%2B=%2b%20%26%3D",
        "x=%",
        "x=%4",
        "x=%zz%4g%%41",
        "x=100%25+sure",
        "Body=Hello+%F0%9F%91%8B+%26+%3Cwelcome%3E",
        "Body=caf%C3%A9%20%E2%82%AC",
        "Body=\u{e9}t\u{e9}&To=%2B1",
        TWILIO_BODY,
    ] {
        assert_eq!(
            parse_params(text.as_bytes()).unwrap(),
            reference(text),
            "{text:?}"
        );
    }
}

#[test]
fn a_real_replacement_character_does_not_excuse_a_bad_escape_elsewhere() {
    // Each name and value is decoded strictly on its own: an escaped or literal U+FFFD beside
    // a bad escape does not hide it.
    assert!(parse_params(b"From=a&To=b&Body=%FF").is_err());
    assert!(parse_params(b"From=a&To=b&Body=%FF%ef%bf%bd").is_err());
    assert!(parse_params("From=\u{FFFD}&To=b&Body=%FF".as_bytes()).is_err());
    assert!(parse_params(b"From=a&To=b&Body=%ef%bf%bd").is_ok());
}

#[test]
fn too_many_parameters_are_refused() {
    let body: Vec<String> = (0..MAX_PARAMS + 1).map(|i| format!("P{i}=1")).collect();
    assert_eq!(
        parse_params(body.join("&").as_bytes()),
        Err(ParamsError::TooMany)
    );
    let body: Vec<String> = (0..MAX_PARAMS).map(|i| format!("P{i}=1")).collect();
    assert_eq!(
        parse_params(body.join("&").as_bytes()).unwrap().len(),
        MAX_PARAMS
    );
}

#[test]
fn every_short_form_decodes_as_serde_urlencoded_does_or_is_refused_for_bad_escapes() {
    // Every string of up to 5 of these bytes: separators, escapes (good, bad, incomplete),
    // plus signs, and a two-byte character.
    let alphabet = ["a", "=", "&", "+", "%", "2", "B", "é"];
    let mut texts = vec![String::new()];
    for _ in 0..5 {
        let longer: Vec<String> = texts
            .iter()
            .filter(|t| t.chars().count() == texts.last().map_or(0, |l| l.chars().count()))
            .flat_map(|t| alphabet.iter().map(move |c| format!("{t}{c}")))
            .collect();
        texts.extend(longer);
    }
    assert!(texts.len() > 30_000);
    for text in &texts {
        let reference: Params = serde_urlencoded::from_str(text).unwrap();
        match parse_params(text.as_bytes()) {
            Ok(params) => assert_eq!(params, reference, "{text:?}"),
            // Refused only where the lossy reading had to replace bytes.
            Err(ParamsError::Malformed(_)) => assert!(
                reference
                    .iter()
                    .any(|(k, v)| k.contains('\u{FFFD}') || v.contains('\u{FFFD}')),
                "{text:?}"
            ),
            Err(e) => panic!("{text:?}: {e}"),
        }
    }
}
