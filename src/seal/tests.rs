use super::*;
use crate::conversation::{Reply, Turn};
use crate::record::HistoryLimits;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;

const NEW: &str = "new-secret-0123456789abcdef0123456789";
const OLD: &str = "old-secret-0123456789abcdef0123456789";
const NOW: u64 = 1_700_000_000;
const PAIR: Pair<'static> = Pair {
    account_sid: "AC0123456789abcdef0123456789abcdef",
    to: "+15005550006",
    from: "+14155550100",
};

fn record(count: u64) -> Record {
    let mut r = Record::default();
    for i in 0..count {
        r.count_message(&format!("SM{i:032}"), NOW + i);
        r.answered(
            Turn {
                at: NOW + i,
                message_sid: format!("SM{i:032}"),
                inbound: format!("message {i}"),
                reply: Reply::text(format!("reply {i}")),
            },
            HistoryLimits {
                turns: 10,
                bytes: 8192,
            },
        );
    }
    r
}

fn keys(secrets: &str) -> SessionKeys {
    SessionKeys::from_secrets(secrets).unwrap()
}

fn open(k: &SessionKeys, sealed: &str, now: u64) -> Result<Opened, OpenError> {
    k.open(sealed, Place::Cookie, &PAIR, now)
}

#[test]
fn a_sealed_record_opens_for_its_pair_until_it_expires() {
    let k = keys(NEW);
    let r = record(3);
    for (encrypt, header) in [(false, "2cs."), (true, "2ce.")] {
        let sealed = k
            .seal(&r, Purpose::Cookie, &PAIR, NOW + 100, encrypt)
            .unwrap();
        assert!(sealed.starts_with(header), "{sealed}");
        assert_eq!(open(&k, &sealed, NOW), Ok(Opened::Record(r.clone())));
        assert_eq!(open(&k, &sealed, NOW + 99), Ok(Opened::Record(r.clone())));
        assert_eq!(open(&k, &sealed, NOW + 100), Err(OpenError::Expired));
        assert!(sealed
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b)));
    }
}

#[test]
fn a_value_sealed_for_one_purpose_never_opens_as_another() {
    let k = keys(NEW);
    let r = record(2);
    for encrypt in [false, true] {
        let cookie = k
            .seal(&r, Purpose::Cookie, &PAIR, NOW + 100, encrypt)
            .unwrap();
        let kv = k.seal(&r, Purpose::Kv, &PAIR, NOW + 100, encrypt).unwrap();
        assert_eq!(
            k.open(&cookie, Place::Kv, &PAIR, NOW),
            Err(OpenError::UnknownVersion)
        );
        assert_eq!(
            k.open(&kv, Place::Cookie, &PAIR, NOW),
            Err(OpenError::UnknownVersion)
        );
        assert_eq!(
            k.open(&kv, Place::Kv, &PAIR, NOW),
            Ok(Opened::Record(r.clone()))
        );
        // Relabelling the header breaks the MAC.
        let (p, s) = if encrypt {
            ("2ke.", "2ce.")
        } else {
            ("2ks.", "2cs.")
        };
        let relabelled = kv.replacen(p, s, 1);
        assert_eq!(
            k.open(&relabelled, Place::Cookie, &PAIR, NOW),
            Err(OpenError::BadMac)
        );
        let pointer = k
            .seal_pointer(
                &Pointer {
                    key: "spill:x".into(),
                    summary: r.summary(),
                },
                &PAIR,
                NOW + 100,
                encrypt,
            )
            .unwrap();
        assert!(k.open(&pointer, Place::Kv, &PAIR, NOW).is_err());
        let as_record = pointer.replacen("2p", "2c", 1);
        assert_eq!(
            k.open(&as_record, Place::Cookie, &PAIR, NOW),
            Err(OpenError::BadMac)
        );
    }
}

#[test]
fn a_cookie_replayed_into_another_pair_does_not_open() {
    let k = keys(NEW);
    for encrypt in [false, true] {
        let sealed = k
            .seal(&record(5), Purpose::Cookie, &PAIR, NOW + 100, encrypt)
            .unwrap();
        for other in [
            Pair {
                from: "+14155550199",
                ..PAIR
            },
            Pair {
                to: "+15005550007",
                ..PAIR
            },
            Pair {
                account_sid: "AC0000000000000000000000000000000",
                ..PAIR
            },
            // Moving bytes between fields must not produce the same MAC input.
            Pair {
                to: "+15005550006+1",
                from: "4155550100",
                ..PAIR
            },
        ] {
            assert_eq!(
                k.open(&sealed, Place::Cookie, &other, NOW),
                Err(OpenError::BadMac)
            );
        }
    }
}

#[test]
fn any_tampering_is_detected() {
    let k = keys(NEW);
    for encrypt in [false, true] {
        let sealed = k
            .seal(&record(2), Purpose::Cookie, &PAIR, NOW + 100, encrypt)
            .unwrap();
        let bytes = sealed.as_bytes();
        for i in 0..bytes.len() {
            let mut t = bytes.to_vec();
            t[i] = if t[i] == b'A' { b'B' } else { b'A' };
            let t = String::from_utf8(t).unwrap();
            assert!(open(&k, &t, NOW).is_err(), "flipped byte {i} of {sealed}");
        }
    }
}

#[test]
fn junk_never_panics_and_never_opens() {
    let k = keys(NEW);
    let sealed = k
        .seal(&record(1), Purpose::Cookie, &PAIR, NOW + 100, false)
        .unwrap();
    let long = "a".repeat(10_000);
    for case in [
        "",
        ".",
        "...",
        "v1",
        "v1...",
        "v2.abc.def.ghi",
        "2xs.a.b.c",
        "2c.a.b.c",
        "2css.a.b.c",
        "v1.zzzzzzzz.e30.AAAA",
        &sealed[..sealed.len() - 5],
        &long,
        "v1.\u{1F600}.\u{1F600}.\u{1F600}",
    ] {
        assert!(open(&k, case, NOW).is_err(), "{case:?}");
        assert!(k.open(case, Place::Kv, &PAIR, NOW).is_err(), "{case:?}");
    }
}

#[test]
fn rotation_opens_old_values_and_seals_with_the_new_key() {
    let old = keys(OLD);
    let rotated = keys(&format!("{NEW},{OLD}"));
    let r = record(4);
    for encrypt in [false, true] {
        let old_cookie = old
            .seal(&r, Purpose::Cookie, &PAIR, NOW + 100, encrypt)
            .unwrap();
        assert_eq!(
            open(&rotated, &old_cookie, NOW),
            Ok(Opened::Record(r.clone()))
        );
        let resealed = rotated
            .seal(&r, Purpose::Cookie, &PAIR, NOW + 100, encrypt)
            .unwrap();
        assert_eq!(
            open(&keys(NEW), &resealed, NOW),
            Ok(Opened::Record(r.clone()))
        );
        // Once the old key is dropped, its values no longer open.
        assert_eq!(
            open(&keys(NEW), &old_cookie, NOW),
            Err(OpenError::UnknownKey)
        );
    }
}

#[test]
fn a_forged_key_id_does_not_help() {
    let k = keys(NEW);
    let theirs = keys(OLD)
        .seal(&record(1), Purpose::Cookie, &PAIR, NOW + 100, false)
        .unwrap();
    let our_id = &k.primary().id;
    let parts: Vec<&str> = theirs.split('.').collect();
    let forged = format!("2cs.{our_id}.{}.{}", parts[2], parts[3]);
    assert_eq!(open(&k, &forged, NOW), Err(OpenError::BadMac));
}

#[test]
fn every_key_must_be_long_enough() {
    assert!(SessionKeys::from_secrets(&format!("{NEW},short")).is_err());
    assert!(SessionKeys::from_secrets(&format!("{NEW},")).is_err());
    assert_eq!(keys(&format!(" {NEW} , {OLD} ")).len(), 2);
}

#[test]
fn the_best_of_duplicate_cookies_wins_and_others_are_ignored() {
    let k = keys(NEW);
    let older = k
        .seal(&record(2), Purpose::Cookie, &PAIR, NOW + 100, false)
        .unwrap();
    let newer = k
        .seal(&record(3), Purpose::Cookie, &PAIR, NOW + 100, true)
        .unwrap();
    let header =
        format!("other=1; {COOKIE_NAME}=junk; {COOKIE_NAME}={older}; ;=; {COOKIE_NAME}={newer}; x");
    assert_eq!(
        k.open_cookie_header(&header, &PAIR, NOW).map(|s| s.seq()),
        Some(3)
    );
    assert_eq!(k.open_cookie_header("", &PAIR, NOW), None);
    assert_eq!(k.open_cookie_header("sms_state=", &PAIR, NOW), None);
}

#[test]
fn encrypted_records_and_pointers_hide_what_they_hold() {
    let k = keys(NEW);
    let mut r = record(2);
    r.state.json = r#"{"secret":"the launch code is 1234"}"#.into();
    let sealed = k.seal(&r, Purpose::Cookie, &PAIR, NOW + 100, true).unwrap();
    let payload = URL_SAFE_NO_PAD
        .decode(sealed.split('.').nth(2).unwrap())
        .unwrap();
    assert!(!String::from_utf8_lossy(&payload).contains("launch"));
    // Random nonces: the same record never seals to the same bytes twice.
    assert_ne!(
        sealed,
        k.seal(&r, Purpose::Cookie, &PAIR, NOW + 100, true).unwrap()
    );
    let pointer = Pointer {
        key: "spill:abc".into(),
        summary: r.summary(),
    };
    let sealed = k.seal_pointer(&pointer, &PAIR, NOW + 10, true).unwrap();
    assert!(sealed.starts_with("2pe."));
    let payload = URL_SAFE_NO_PAD
        .decode(sealed.split('.').nth(2).unwrap())
        .unwrap();
    assert!(!String::from_utf8_lossy(&payload).contains("SM0000"));
    assert!(!String::from_utf8_lossy(&payload).contains("spill:abc"));
    assert_eq!(open(&k, &sealed, NOW), Ok(Opened::Pointer(pointer)));
    assert_eq!(open(&k, &sealed, NOW + 10), Err(OpenError::Expired));
}

#[test]
fn pair_keys_hide_numbers_cover_the_account_and_keep_the_first_releases() {
    let k = keys(&format!("{NEW},{OLD}"));
    let all = k.pair_keys(&PAIR);
    assert_eq!(all.len(), 4);
    assert!(all
        .iter()
        .all(|key| key.starts_with("pair:") && !key.contains("4155550100")));
    let other_account = k.pair_keys(&Pair {
        account_sid: "AC2",
        ..PAIR
    });
    assert_ne!(all[0], other_account[0], "the account is in today's key");
    assert_eq!(
        all[1], other_account[1],
        "the first release's key had no account"
    );
    assert_eq!(keys(OLD).pair_keys(&PAIR)[0], all[2]);
    let swapped = k.pair_keys(&Pair {
        to: PAIR.from,
        from: PAIR.to,
        ..PAIR
    });
    assert_ne!(all[0], swapped[0]);
}

/// Values sealed by the first release (v1/e1/p1), once, with this secret and a far-future
/// expiry. Every later release must open them: a deploy lands in live conversations.
mod golden {
    use super::*;

    const SECRET: &str = "golden-secret-0123456789abcdef-0123456789";
    const V1_COUNT3: &str = "v1.yD5gwiG9.gNCs8w4DA4Hiz6oGg-LPqgYBIlNNMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDMAAA.dQAzqO0MoCwoskqiGOnaiIQg-EK1zrIuDoRnpbOFLm8";
    const E1_COUNT5: &str = "e1.yD5gwiG9.mOLInFWqMeMS_6VpXTrP-3a_p5ASRpilgpgAi_5emR1gWC7IsYAPCncDLcDobSaUby2dijBy8-dGrLOtOTzolP7qjJDffP0mpwVme3GRuzZ7p2m9pkpKD8GkNCpADO_Wiqnnnd-3L9WmT3P8zSNBXo26nW_qyWrZHmlt2GsayF2XZMj6Xak7MwwtQdI7zzkgDuXVBqM8AohEahwJ24FteEq9p_op1IEFkYBq5BhiKW55AsoyR7WynkYDNhNuaDsUQN6Btr9VRwEYYKDeEXeM1lKwkeUPDQZcU6R-kBUKG6AxNY-c33j-mHzwRW8I8p7jUJ4rxTGbY-MvNtVlaKBtG8ladUNje4A7IBe8JG7aA13ngJhsayVJUpmAQN8drTTBjwiLJLScZAfqFThleRSCazkoIBPXPOF3YhWW7wRr9HMQp5FosILQeMfMq1cql1cExCfDhggO60esbZ1M3PM0oXc5FkXTaeXJLx8AOUG-YxZBzUT15yUpQ-N6G5hauVKFGTB3n2LLox1CtEHNeDff21UMvDtb1HQtGZw0Z_MBa788Z1VMSXBGVPOriOV10v7z3DHBVE1eeHaxEHHIZj-p-K52DHiH7aoHUjLDM0iiOTiqZ2J4l0tX-xIh8fJS.c3eaZP2Hwse9DKSso6y3JA";
    const P1_COUNT7: &str = "p1.yD5gwiG9.gNCs8w4Mc3BpbGw6Z29sZGVuBweB4s-qBofiz6oGASJTTTAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMTA3AAA.UvPC_UOB5Dtvq7xQsI_23qpeuU1KIhfVRgoKFX8brcM";
    const KV_E1_COUNT7: &str = "e1.yD5gwiG9.mQ1YTs_Ep7fHNCT0L_hzutoXznYfjuMnzvh9To5xGR61LABQcfb1oYJRIsY8_DbYDDhwUcBc0DY5eeMbjh3C5ZLIbsdplMcuiq_nwryfyZtXIEQiLws1xMSnC7M4VLcqkjNqXcrbRO2f5xYZpfsC5utgRJixuzQ1r6yjkYSRnqb45jPqG6qTOYnNSkWhKS-LaRkde2yYuut0vdKQzpiqbmJ0xY4yU26noObd22qZB_NvQg1lTiyV1PgU9lFyvV7UnKuEJ-GmhSB3xCR9F9_6Bb0tpFBsR9RHDhPvyKVUm9EcqLnlfC0tJCZJEo3mMoVVhHkIqM_TVKL5rtmnOKz9SV9Yht2xc2fzBkcSeTtO8cZHqkImZor3gVujQw8_WetpXZl4NAq3lRvapN_pcgC4mLHLN8nVYcoPbOXX5FxR3Rn8LKbv8-318-6Nz6Y-m-FKFoVTKmW0rL_XXuLtD-yqu7sDqI-gDFETJTFLUfUsv-CheHN5BzvqqVwTZZX7L_EZi5KljL7qnzirH13DjedkBuJtnmZzzCG8iG9sZAV49FdNoQFAO4MMSsGiSEp_ycpX9ZUjL8wMKEJDu3zSwYzBA0TE5-H5x9_sDGbQjQ3P9mHZx0uVyJQWuGndVOJx.B23Sn7T3tWAQ0y0fEL-blw";
    const LEGACY_PAIR_KEY: &str = "pair:Hq7Ulhfa64sXNCgtPrHVLFTru0XxvHbC5p_Lxib4J5Y";

    fn sid(i: u64) -> String {
        format!("SM{i:032}")
    }

    #[test]
    fn first_release_cookies_still_open_with_their_count() {
        let k = keys(SECRET);
        let Ok(Opened::Record(v1)) = open(&k, V1_COUNT3, NOW) else {
            panic!("v1 did not open")
        };
        assert_eq!(
            (v1.count, v1.seq, v1.first_seen, v1.last_seen),
            (3, 3, NOW + 1, NOW + 3)
        );
        assert_eq!(v1.last_message_sid(), Some(sid(3).as_str()));
        assert!(v1.has_seen(&sid(3)) && !v1.has_seen(&sid(2)));
        assert!(v1.turns.is_empty());

        let Ok(Opened::Record(e1)) = open(&k, E1_COUNT5, NOW) else {
            panic!("e1 did not open")
        };
        assert_eq!((e1.count, e1.turns.len()), (5, 5));
        assert_eq!(e1.turns[4].inbound, "msg 5");
        assert_eq!(
            e1.answer_to(&sid(105)),
            Some(&Reply::text("Hello, thanks for message number 5"))
        );
        assert!(e1.has_seen(&sid(105)));

        let Ok(Opened::Pointer(p1)) = open(&k, P1_COUNT7, NOW) else {
            panic!("p1 did not open")
        };
        assert_eq!((p1.key.as_str(), p1.summary.count), ("spill:golden", 7));

        let Ok(Opened::Record(kv)) = k.open(KV_E1_COUNT7, Place::Kv, &PAIR, NOW) else {
            panic!("kv e1")
        };
        assert_eq!((kv.count, kv.turns.len()), (7, 5));
        assert_eq!(k.pair_keys(&PAIR)[1], LEGACY_PAIR_KEY);
    }
}

/// Values sealed by the release of format 2 before the record had a standing (c94503f): a
/// 4-message conversation with its turns and a state, expiring in 2096. They must keep
/// opening, with the person's last message as the start of their standing.
mod golden_v2 {
    use super::*;

    const SECRET: &str = "golden-secret-0123456789abcdef-0123456789";
    const COOKIE_SIGNED: &str = "2cs.yD5gwiG9.gNCs8w4EBIHiz6oGhOLPqgYBIlNNMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDQE8sqj282Fj0PH6sCzxRXqR52XBiuyVgVLuoj36nm_A-QBIkhlbGxvLCB0aGFua3MgZm9yIG1lc3NhZ2UgbnVtYmVyIDQABIHiz6oGIlNNMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDEFbXNnIDEBIkhlbGxvLCB0aGFua3MgZm9yIG1lc3NhZ2UgbnVtYmVyIDEAguLPqgYiU00wMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMgVtc2cgMgEiSGVsbG8sIHRoYW5rcyBmb3IgbWVzc2FnZSBudW1iZXIgMgCD4s-qBiJTTTAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAzBW1zZyAzASJIZWxsbywgdGhhbmtzIGZvciBtZXNzYWdlIG51bWJlciAzAITiz6oGIlNNMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDQFbXNnIDQBIkhlbGxvLCB0aGFua3MgZm9yIG1lc3NhZ2UgbnVtYmVyIDQAAQd7Im4iOjR9.N9U85bVU2zvuFO5MR843Ge4L6PEkbL8COhB2IcCCnRg";
    const COOKIE_ENCRYPTED: &str = "2ce.yD5gwiG9.3U9T_fj9GvGH2W-tYhyO4kMiUhuIO0ykB8XSSh69n9BZVxkgl_0UiLcAfwuUx_NgL3wYQCrbh-3yEvH_HDQLxGCOdhZhV5AZDoNbxq34qAEpcJO264yr3zBuY43wOJzuqjp-BmzBoYjFZsDpTIYk2bizwgDhpLiMAwZ3yDeqiMDmUeLblFJLD-kI-QK5BaN08l8xuhN4erkVjKZScYIqPR9J7F1YPUoPU0KmwbYrYA74a7a8YFE9q2bV-0ISEsad0jMdCV3vXwxRqpUAvjbbz6Fb_zG5zc6BJzZy5CExcALhGq2aLzPG7OdJ9C3rviQScJeCFpZhWJ0IiYGkFWxX3IVcSRoSLlW1CwLudFe2y0pRhp6Gr5gEOzsxAo9XURbvc277RGVPmuOJXVJAcw_nXHMfyYUcnAIXTxP5aJTvWDwDCRynJwAKatVL3bUUPRl2Xp3NGk1cbJA1ifDyRdQp7wmJObZa6Iey9KaQHNyPJiIihVyK9O7a4cgpDGiNKBgPdIehszsix8B_2K98fvAGj7pV3qAiZ2eCZx19I8yw0vZpbQ-Oa5osIy9anbXH2KUxOXtMPtd0p3du-ZiDwv-UbngQpYgb05z2OWwPzGagWPt5IEI3WkzZgx6rTb3y.Xb31zsNbBlKRAbKBrPWzNg";
    const OBJECT_ENCRYPTED: &str = "2oe.yD5gwiG9.HJqiUzp1eeWyaDPcYMKB9uwyYQixIhS4jDxSplIirrlVR4XexZvC81gr8X1w1Nk-OCBibJglv1Y_9ZLJDcXf5Vf7qbxKjyHWYuuMYr3P8yjoVWnQ_jJLxvQUSkREo_vl0ULiGLzkNN3_jRhawufODnn01bOD_S4NjSQklV0gt3GNznq9qrFvezK0-iTZp4pyCSFBjVtCSKsO48HdpEKU9i5q7uBwfs84bc1CBUbBWIgNuw3jnlMXnntnu-1GEnBqjB_XUHoPK3Jpnl-i3G6JdfPyyQSzeLetwaCR3nbfDohM12j-LerTQNWM8KSBMr5tblW-WJCqomiAiK4iJysa5-jkI4fTWQNp5tC8fzUisYwXo-tQHIWOb3SIFj_VX-WC6TB2bmQGrxEccuqeDpgWCUBMxfvkkVfD6_0ashPiDCoXqrPKd30PrVIGgOgabyDaXXyUGTl8-pNcWm3fbhc08bRaKRkkyyjd_7hivTaMcaG_Ow_64Ntkw8HfLcJNreVr9QSwTIuMSysDI0BbCsxUMp6dys6uVh2hI4ulywk53u9EuonF9A4IKGnZi_6dzHMqX9zVGFFNwIk9qNDOGBEnc8yUt0OAj5O2bMXDFGZ33YzzsEE63axTrGMQZup_.ETox-k4SWqgSlXP09OPXqQ";
    const POINTER_SIGNED: &str = "2ps.yD5gwiG9.gNCs8w4Nc3BpbGw6Z29sZGVuMgQEgeLPqgaE4s-qBgEiU00wMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwNATyyqPbzYWPQ8fqwLPFFepHnZcGK7JWBUu6iPfqeb8D5AEiSGVsbG8sIHRoYW5rcyBmb3IgbWVzc2FnZSBudW1iZXIgNAAAAAA.Y__fNsILtbTP3yNuADXAyexQU4CYvAGRenxc9mfSgU0";

    fn check(record: &Record) {
        assert_eq!((record.count, record.seq, record.turns.len()), (4, 4, 4));
        assert_eq!(record.turns[3].inbound, "msg 4");
        assert_eq!(record.state.json, r#"{"n":4}"#);
        assert!(record.has_seen(&format!("SM{:032}", 4)));
        assert_eq!(record.standing.last_inbound, NOW + 4);
        assert!(!record.opted_out());
    }

    #[test]
    fn format_2_values_from_before_the_standing_still_open() {
        let k = keys(SECRET);
        for sealed in [COOKIE_SIGNED, COOKIE_ENCRYPTED] {
            let Ok(Opened::Record(r)) = k.open(sealed, Place::Cookie, &PAIR, NOW) else {
                panic!("{} did not open", &sealed[..4])
            };
            check(&r);
        }
        let Ok(Opened::Record(r)) = k.open(OBJECT_ENCRYPTED, Place::Object, &PAIR, NOW) else {
            panic!("the object's record did not open")
        };
        check(&r);
        let Ok(Opened::Pointer(p)) = k.open(POINTER_SIGNED, Place::Cookie, &PAIR, NOW) else {
            panic!("the pointer did not open")
        };
        assert_eq!((p.key.as_str(), p.summary.count), ("spill:golden2", 4));
        assert_eq!(p.summary.standing.last_inbound, NOW + 4);
    }

    #[test]
    fn the_standing_rides_after_the_record_and_comes_back() {
        let k = keys(SECRET);
        let Ok(Opened::Record(mut r)) = k.open(COOKIE_SIGNED, Place::Cookie, &PAIR, NOW) else {
            panic!()
        };
        r.standing.opted_out = Some(NOW + 9);
        r.standing.track("SMsent", NOW + 9);
        for encrypt in [false, true] {
            let sealed = k
                .seal(&r, Purpose::Cookie, &PAIR, NOW + 100, encrypt)
                .unwrap();
            assert_eq!(
                k.open(&sealed, Place::Cookie, &PAIR, NOW),
                Ok(Opened::Record(r.clone()))
            );
        }
        // A build without the objects seals the standing without the deliveries: it opens here
        // with none.
        let mut plain = postcard::to_allocvec(&(4_000_000_000u64, &r, &r.standing)).unwrap();
        let signed = keys(SECRET)
            .primary()
            .seal(Purpose::Cookie, std::mem::take(&mut plain), &PAIR, false)
            .unwrap();
        let Ok(Opened::Record(without)) = k.open(&signed, Place::Cookie, &PAIR, NOW) else {
            panic!("a standing without deliveries did not open")
        };
        assert_eq!(without.standing.opted_out, Some(NOW + 9));
        assert!(without.standing.deliveries.is_empty());
        // The release before the standing reads the record and stops: its bytes come first.
        let sealed = k
            .seal(&r, Purpose::Cookie, &PAIR, 4_000_000_000, false)
            .unwrap();
        let old_payload = COOKIE_SIGNED.split('.').nth(2).unwrap();
        let new_payload = sealed.split('.').nth(2).unwrap();
        let old = URL_SAFE_NO_PAD.decode(old_payload).unwrap();
        let new = URL_SAFE_NO_PAD.decode(new_payload).unwrap();
        assert_eq!(&new[..old.len()], &old[..]);
    }
}
