//! Every transcript in `tests/transcripts/` replays with this crate's conversations, and every
//! saved state in `tests/states/` still reads: `cargo test` (and so `npm test`) checks that a
//! change keeps the replies people saw and the states live conversations hold.
#![cfg(all(feature = "harness", feature = "counter", feature = "survey"))]

use std::path::{Path, PathBuf};

use sms_conversation_worker::conversations::{Counter, Survey};
use sms_conversation_worker::harness::{check_saved_states, replay, TestPhone};
use sms_conversation_worker::registry::{Conversations, Registered};

static CONVERSATIONS: Conversations =
    Conversations::new(&[Registered::of::<Counter>(), Registered::of::<Survey>()]);

fn dir(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests")
        .join(name)
}

/// The `*.json` files in `dir`, sorted.
fn transcripts(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.extension().is_some_and(|e| e == "json"))
        .collect();
    files.sort();
    files
}

#[test]
fn every_transcript_replays() {
    let files = transcripts(&dir("transcripts"));
    assert!(files.len() >= 2, "{files:?}");
    let failures: Vec<String> = files
        .iter()
        .filter_map(|file| replay(file, &CONVERSATIONS).err())
        .map(|e| e.to_string())
        .collect();
    assert!(failures.is_empty(), "\n{}", failures.join("\n\n"));
}

#[test]
fn a_changed_reply_fails_the_replay_with_a_diff_naming_the_step() {
    let original = std::fs::read_to_string(dir("transcripts").join("survey.json")).unwrap();
    let old = "Thanks, Ada. What's your 5-digit ZIP code?";
    assert!(original.contains(old));
    let mutated = original.replacen(old, "Thanks, Ada! Your ZIP code?", 1);
    let temp = std::env::temp_dir().join(format!("sms-transcripts-{}", std::process::id()));
    std::fs::create_dir_all(&temp).unwrap();
    let path = temp.join("survey.json");
    std::fs::write(&path, mutated).unwrap();
    let error = replay(&path, &CONVERSATIONS).unwrap_err().to_string();
    let _ = std::fs::remove_dir_all(&temp);
    assert_eq!(
        error,
        format!(
            "{}: step 4 (text \"Ada\"): the reply differs\n\
             - Thanks, Ada! Your ZIP code?\n\
             + {old}",
            path.display()
        )
    );
}

#[test]
fn a_transcript_replays_with_its_own_type_too() {
    TestPhone::replay::<Counter>(dir("transcripts").join("counter.json")).unwrap();
    let wrong = TestPhone::replay::<Counter>(dir("transcripts").join("survey.json"));
    assert!(wrong
        .unwrap_err()
        .to_string()
        .contains("replayed with \"counter\""));
}

#[test]
fn the_survey_states_saved_by_earlier_versions_still_read() {
    assert!(check_saved_states::<Survey>(dir("states").join("survey")).unwrap() >= 1);
}

#[test]
fn a_phone_continues_from_the_saved_zip_question() {
    let saved =
        std::fs::read_to_string(dir("states").join("survey").join("zip-question-v1.json")).unwrap();
    let mut phone = TestPhone::from_state::<Survey>(&[], &saved).unwrap();
    assert_eq!(
        phone.text("94110").texts(),
        ["Can we text you updates? Reply Y for yes or N for no."]
    );
    assert_eq!(
        phone.text("n").texts(),
        ["Thanks, Ada! ZIP 94110, updates: no."]
    );
}

/// The transcripts in the folder `SMS_TRANSCRIPTS` names, when it is set: how the dev
/// phone's end-to-end test replays a conversation it just saved. Each must replay; with
/// `SMS_TRANSCRIPTS_EXPECT_DIFF` set, each must fail instead, and its diff is printed.
#[test]
fn the_transcripts_in_sms_transcripts_replay() {
    let Some(folder) = std::env::var_os("SMS_TRANSCRIPTS") else {
        return;
    };
    let files = transcripts(Path::new(&folder));
    assert!(!files.is_empty(), "no transcript in {folder:?}");
    let expect_diff = std::env::var_os("SMS_TRANSCRIPTS_EXPECT_DIFF").is_some();
    for file in files {
        match (replay(&file, &CONVERSATIONS), expect_diff) {
            (Ok(()), false) => {}
            (Err(e), true) => println!("TRANSCRIPT DIFF\n{e}"),
            (Ok(()), true) => panic!("{} replayed, though a reply was changed", file.display()),
            (Err(e), false) => panic!("{e}"),
        }
    }
}
