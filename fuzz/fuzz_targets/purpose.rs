//! A value sealed for one purpose never opens for another: for any record, pair, spill key,
//! expiry and protection (signed or encrypted, by the sealing key or the one kept for
//! rotation), `seal` for `Purpose::Cookie`, `Purpose::Kv` and `Purpose::Object`, and
//! `seal_pointer`.
//!
//! Properties: nothing panics; each value carries its purpose's header and only cookie-safe
//! characters; it opens at its own place (`Purpose::Kv` at `Place::Kv`, `Object` at
//! `Place::Object`, `Cookie` and `Pointer` at `Place::Cookie`) to exactly what was sealed
//! until it expires, and never at another place; a Cookie header holding it opens it only
//! if it is a cookie; relabelled with any other header (another purpose letter, the other
//! protection, a first-release header) it opens nowhere; and it does not open for the pair
//! with a byte moved from To to From (the pair is length-prefixed under the MAC).
#![no_main]

use libfuzzer_sys::fuzz_target;
use sms_conversation_worker::record::Pair;
use sms_conversation_worker::seal::{
    OpenError, Opened, Place, Pointer, Purpose, COOKIE_NAME, MAX_SEALED_BYTES,
};
use sms_fuzz::{
    header, header_opens_at, home, is_encrypted_header, keys, old_keys, PurposeInput, HEADERS, NOW,
    PLACES, PURPOSES, PURPOSE_ENCRYPT, PURPOSE_OLD_KEY,
};

fuzz_target!(|data: &[u8]| {
    let Some(input) = PurposeInput::parse(data) else {
        return;
    };
    let encrypt = input.flags & PURPOSE_ENCRYPT != 0;
    let sealer = if input.flags & PURPOSE_OLD_KEY != 0 {
        old_keys()
    } else {
        keys()
    };
    let opener = keys();
    let pair = input.pair();
    let expires_at = input.expires_at();
    let record = input.record();
    let pointer = Pointer {
        key: input.spill_key.clone(),
        summary: record.summary(),
    };

    for purpose in PURPOSES {
        let (sealed, expected) = match purpose {
            Purpose::Pointer => (
                sealer
                    .seal_pointer(&pointer, &pair, expires_at, encrypt)
                    .expect("sealed"),
                Opened::Pointer(pointer.clone()),
            ),
            _ => (
                sealer
                    .seal(&record, purpose, &pair, expires_at, encrypt)
                    .expect("sealed"),
                Opened::Record(record.clone()),
            ),
        };
        let own = header(purpose, encrypt);
        assert!(
            sealed.starts_with(&format!("{own}.")),
            "{purpose:?} sealed as {sealed:?}"
        );
        assert!(
            sealed
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b)),
            "{sealed:?}"
        );
        if sealed.len() > MAX_SEALED_BYTES {
            // Too long to open anywhere; the webhook never seals anything this large.
            for place in PLACES {
                assert!(opener.open(&sealed, place, &pair, NOW).is_err());
            }
            continue;
        }

        let home = home(purpose);
        let opened = opener.open(&sealed, home, &pair, NOW);
        if NOW < expires_at {
            assert_eq!(
                opened.as_ref(),
                Ok(&expected),
                "{purpose:?} value did not open at {home:?} to what was sealed"
            );
        } else {
            assert_eq!(
                opened,
                Err(OpenError::Expired),
                "{purpose:?} past its expiry"
            );
        }
        for away in PLACES.into_iter().filter(|p| *p != home) {
            assert_eq!(
                opener.open(&sealed, away, &pair, NOW),
                Err(OpenError::UnknownVersion),
                "{purpose:?} value opened at {away:?}"
            );
        }
        // In a Cookie header, only cookies open.
        let jar = format!("{COOKIE_NAME}={sealed}");
        let from_jar = opener.open_cookie_header(&jar, &pair, NOW);
        if home == Place::Cookie {
            assert_eq!(from_jar, opened.ok());
        } else {
            assert_eq!(
                from_jar, None,
                "a {purpose:?} value opened from a Cookie header"
            );
        }

        // Relabelled: every other header fails at both places, by the MAC where the
        // format and protection would be read.
        let rest = &sealed[own.len()..];
        for other in HEADERS.iter().filter(|h| **h != own) {
            let relabelled = format!("{other}{rest}");
            for place in PLACES {
                let result = opener.open(&relabelled, place, &pair, NOW);
                assert!(
                    result.is_err(),
                    "{own} relabelled {other} opened at {place:?}: {result:?}"
                );
                if header_opens_at(other, place) && is_encrypted_header(other) == encrypt {
                    assert_eq!(result, Err(OpenError::BadMac), "{own} relabelled {other}");
                }
            }
        }

        // Moving a byte from To to From keeps the concatenation, never the MAC.
        if let Some(last) = pair.to.chars().last() {
            let to = &pair.to[..pair.to.len() - last.len_utf8()];
            let from = format!("{last}{}", pair.from);
            let moved = Pair {
                account_sid: pair.account_sid,
                to,
                from: &from,
            };
            assert_eq!(
                opener.open(&sealed, home, &moved, NOW),
                Err(OpenError::BadMac),
                "opened for a pair with a byte moved between To and From"
            );
        }
    }
});
