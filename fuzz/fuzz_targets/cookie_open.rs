//! `SessionKeys::open` / `open_from_header` on any string, for a fixed pair and time.
//!
//! Properties: nothing panics; a value that opens does not open for another pair nor once
//! expired, opens the same way inside a `Cookie` header, and its content re-seals and
//! re-opens to the same thing. Inputs `!v1!<payload>`, `!e1!<payload>`, `!p1!<payload>`
//! are sealed by the harness first, so the fuzzer also explores what lies behind a valid
//! MAC (the postcard decoding of states and pointers, and the expiry).
#![no_main]

use libfuzzer_sys::fuzz_target;
use sms_conversation_worker::session::{our_cookie_values, OpenError, Sealed, COOKIE_NAME};
use sms_fuzz::{check_harness_sealing, harness_sealed_cookie, keys, NOW, OTHER_PAIR, PAIR};

fuzz_target!(|data: &[u8]| {
    check_harness_sealing();
    let sealed =
        harness_sealed_cookie(data).unwrap_or_else(|| String::from_utf8_lossy(data).into_owned());
    let keys = keys();

    // The input as a whole Cookie header: whatever opens must be one of our cookies.
    if let Some(best) = keys.open_from_header(&sealed, &PAIR, NOW) {
        assert!(
            our_cookie_values(&sealed)
                .into_iter()
                .any(|v| keys.open(&v, &PAIR, NOW).as_ref() == Ok(&best)),
            "open_from_header returned a value no cookie of the header opens to"
        );
    }

    let Ok(opened) = keys.open(&sealed, &PAIR, NOW) else {
        return;
    };
    assert_eq!(
        keys.open(&sealed, &OTHER_PAIR, NOW),
        Err(OpenError::BadMac),
        "a value sealed for one pair opened for another"
    );
    assert_eq!(keys.open(&sealed, &PAIR, u64::MAX), Err(OpenError::Expired));
    // The same value inside a jar, next to junk and a cookie of another pair.
    let other = keys.seal(&Default::default(), &OTHER_PAIR, NOW + 100, false);
    let header = format!("a=b; {COOKIE_NAME}=junk; {COOKIE_NAME}={sealed}; {COOKIE_NAME}={other}");
    assert_eq!(
        keys.open_from_header(&header, &PAIR, NOW).as_ref(),
        Some(&opened)
    );

    match &opened {
        Sealed::State(state) => {
            for encrypt in [false, true] {
                let resealed = keys.seal(state, &PAIR, NOW + 1, encrypt);
                assert_eq!(
                    keys.open(&resealed, &PAIR, NOW).as_ref(),
                    Ok(&opened),
                    "re-sealed state (encrypt={encrypt}) did not open to itself"
                );
            }
        }
        Sealed::Pointer(pointer) => {
            let resealed = keys.seal_pointer(pointer, &PAIR, NOW + 1);
            assert_eq!(keys.open(&resealed, &PAIR, NOW).as_ref(), Ok(&opened));
        }
    }
});
