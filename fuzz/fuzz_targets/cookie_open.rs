//! `SessionKeys::open` (at every place a value is found: a cookie, a KV value, a Durable
//! Object's storage) and `open_cookie_header` on any string, for a fixed pair and time.
//!
//! Properties: nothing panics; a value that opens does not open for another pair nor once
//! expired, carries a header allowed where it opened (today's values open at one place
//! only: a record or pointer in a cookie, a KV entry in KV, an object's record in the
//! object; only the first release's v1/e1 open at two, a cookie and KV, to the same), opens
//! the same way inside a `Cookie` header when it is a cookie (and not at all otherwise),
//! and its content re-seals (for every purpose, signed and encrypted) and re-opens to the
//! same thing. Inputs `!<header>!<payload>` (`2cs`, `2ce`, `2ps`, `2pe`, `2ks`, `2ke`,
//! `2os`, `2oe` and the first release's `v1`, `e1`, `p1`) are sealed by the harness first,
//! so the fuzzer also explores what lies behind a valid MAC (the postcard decoding of
//! records, pointers and first-release states, and the expiry).
#![no_main]

use libfuzzer_sys::fuzz_target;
use sms_conversation_worker::seal::{
    our_cookie_values, OpenError, Opened, Place, Purpose, COOKIE_NAME,
};
use sms_fuzz::{
    check_harness_sealing, harness_sealed_cookie, header_opens_at, home, keys, NOW, OTHER_PAIR,
    PAIR, PLACES,
};

fuzz_target!(|data: &[u8]| {
    check_harness_sealing();
    let sealed =
        harness_sealed_cookie(data).unwrap_or_else(|| String::from_utf8_lossy(data).into_owned());
    let keys = keys();

    // The input as a whole Cookie header: whatever opens must be one of our cookies.
    if let Some(best) = keys.open_cookie_header(&sealed, &PAIR, NOW) {
        assert!(
            our_cookie_values(&sealed)
                .into_iter()
                .any(|v| keys.open(&v, Place::Cookie, &PAIR, NOW).as_ref() == Ok(&best)),
            "open_cookie_header returned a value no cookie of the header opens to"
        );
    }

    let opened: Vec<_> = PLACES
        .into_iter()
        .map(|place| (place, keys.open(&sealed, place, &PAIR, NOW)))
        .collect();
    let header = sealed.split('.').next().unwrap_or("");
    for (place, result) in &opened {
        if result.is_err() {
            continue;
        }
        assert!(
            header_opens_at(header, *place),
            "a value with header {header:?} opened at {place:?}"
        );
        assert_eq!(
            keys.open(&sealed, *place, &OTHER_PAIR, NOW),
            Err(OpenError::BadMac),
            "a value sealed for one pair opened for another"
        );
        assert_eq!(
            keys.open(&sealed, *place, &PAIR, u64::MAX),
            Err(OpenError::Expired)
        );
        if *place != Place::Cookie {
            assert!(
                matches!(result, Ok(Opened::Record(_))),
                "a pointer opened at {place:?}"
            );
        }
    }
    // Only the first release's v1/e1 served two places (a cookie and KV); they open to the
    // same at both.
    let places: Vec<&Result<Opened, OpenError>> = opened
        .iter()
        .map(|(_, r)| r)
        .filter(|r| r.is_ok())
        .collect();
    if places.len() > 1 {
        assert!(
            matches!(header, "v1" | "e1") && places.len() == 2,
            "{header} opened at {} places",
            places.len()
        );
        assert_eq!(places[0], places[1]);
    }
    let in_cookie = &opened[0].1;
    if in_cookie.is_err() && places.len() == 1 {
        let jar = format!("{COOKIE_NAME}={sealed}");
        assert_eq!(
            keys.open_cookie_header(&jar, &PAIR, NOW),
            None,
            "a value that is no cookie opened from a Cookie header"
        );
    }

    if let Ok(opened) = &in_cookie {
        // The same value inside a jar, next to junk and a cookie of another pair.
        let other = keys
            .seal(
                &Default::default(),
                Purpose::Cookie,
                &OTHER_PAIR,
                NOW + 100,
                false,
            )
            .expect("a signed value always seals");
        let jar = format!("a=b; {COOKIE_NAME}=junk; {COOKIE_NAME}={sealed}; {COOKIE_NAME}={other}");
        assert_eq!(
            keys.open_cookie_header(&jar, &PAIR, NOW).as_ref(),
            Some(opened)
        );
    }

    for opened in places.into_iter().flatten() {
        for encrypt in [false, true] {
            match opened {
                Opened::Record(record) => {
                    for purpose in [Purpose::Cookie, Purpose::Kv, Purpose::Object] {
                        let resealed = keys
                            .seal(record, purpose, &PAIR, NOW + 1, encrypt)
                            .expect("sealed");
                        assert_eq!(
                            keys.open(&resealed, home(purpose), &PAIR, NOW).as_ref(),
                            Ok(opened),
                            "re-sealed record ({purpose:?}, encrypt={encrypt}) did not open to itself"
                        );
                    }
                }
                Opened::Pointer(pointer) => {
                    let resealed = keys
                        .seal_pointer(pointer, &PAIR, NOW + 1, encrypt)
                        .expect("sealed");
                    assert_eq!(
                        keys.open(&resealed, Place::Cookie, &PAIR, NOW).as_ref(),
                        Ok(opened),
                        "re-sealed pointer (encrypt={encrypt}) did not open to itself"
                    );
                }
            }
        }
    }
});
