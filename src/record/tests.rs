use super::*;

fn turn(i: usize, len: usize) -> Turn {
    Turn {
        at: i as u64,
        message_sid: format!("SM{i}"),
        inbound: "x".repeat(len),
        reply: Reply::text("y".repeat(len)),
    }
}

#[test]
fn the_first_message_sets_both_times_and_later_ones_only_the_last() {
    let mut r = Record::default();
    r.count_message("SM1", 100);
    r.count_message("SM2", 200);
    assert_eq!(
        (r.count, r.first_seen, r.last_seen, r.seq),
        (2, 100, 200, 2)
    );
    assert_eq!(r.last_message_sid(), Some("SM2"));
}

#[test]
fn the_window_remembers_the_latest_sids_only() {
    let mut r = Record::default();
    for i in 0..SEEN_WINDOW + 3 {
        r.count_message(&format!("SM{i}"), i as u64);
    }
    assert_eq!(r.seen.len(), SEEN_WINDOW);
    assert!(!r.has_seen("SM2"));
    assert!(r.has_seen("SM3"));
    assert!(r.has_seen(&format!("SM{}", SEEN_WINDOW + 2)));
}

#[test]
fn messages_without_a_sid_always_count() {
    let mut r = Record::default();
    r.count_message("", 1);
    r.count_message("", 2);
    assert_eq!(r.count, 2);
    assert!(r.seen.is_empty());
    assert!(!r.has_seen(""));
}

#[test]
fn a_reset_is_newer_and_remembers_its_sid() {
    let mut r = Record::default();
    r.count_message("SM1", 1);
    r.answered(
        turn(1, 1),
        HistoryLimits {
            turns: 5,
            bytes: 100,
        },
    );
    r.standing.opted_out = Some(1);
    let reset = r.reset("SM2", Reply::text("reset"), 9);
    assert_eq!((reset.count, reset.seq), (0, 2));
    assert!(reset.has_seen("SM1") && reset.has_seen("SM2"));
    assert_eq!(reset.answer_to("SM2"), Some(&Reply::text("reset")));
    assert!(reset.turns.is_empty());
    assert_eq!(
        (reset.standing.opted_out, reset.standing.last_inbound),
        (Some(1), 9),
        "a reset keeps the pair's standing"
    );
    assert!(!reset.in_progress() && r.in_progress());
}

#[test]
fn history_keeps_the_newest_turns_within_both_limits_and_the_count_stays_exact() {
    let mut r = Record::default();
    let limits = HistoryLimits {
        turns: 3,
        bytes: 1000,
    };
    for i in 0..5 {
        r.count_message(&format!("SM{i}"), i as u64);
        r.answered(turn(i, 10), limits);
    }
    assert_eq!(r.count, 5);
    let kept: Vec<&str> = r.turns.iter().map(|t| t.message_sid.as_str()).collect();
    assert_eq!(kept, ["SM2", "SM3", "SM4"]);
    // The byte budget: two turns of 2 × 300 bytes do not fit in 1000.
    r.answered(turn(5, 300), limits);
    r.answered(turn(6, 300), limits);
    assert_eq!(r.turns.len(), 1);
    assert_eq!(r.turns[0].message_sid, "SM6");
    // A single turn over the budget is not kept at all, but its reply is.
    r.answered(turn(7, 600), limits);
    assert!(r.turns.is_empty());
    assert_eq!(r.last_reply, Reply::text("y".repeat(600)));
    assert_eq!(r.count, 5);
}

#[test]
fn a_lowered_turn_limit_drops_every_older_turn_over_it_at_the_next_answer() {
    let mut r = Record::default();
    let wide = HistoryLimits {
        turns: 5,
        bytes: 10_000,
    };
    for i in 0..5 {
        r.answered(turn(i, 10), wide);
    }
    r.answered(turn(5, 10), HistoryLimits { turns: 2, ..wide });
    let kept: Vec<&str> = r.turns.iter().map(|t| t.message_sid.as_str()).collect();
    assert_eq!(kept, ["SM4", "SM5"]);
}

#[test]
fn retries_are_answered_from_the_last_reply_or_a_kept_turn() {
    let mut r = Record::default();
    let limits = HistoryLimits {
        turns: 10,
        bytes: 10_000,
    };
    for i in 1..=3 {
        r.count_message(&format!("SM{i}"), i as u64);
        r.answered(turn(i, 1), limits);
    }
    assert_eq!(r.answer_to("SM3"), Some(&turn(3, 1).reply));
    assert_eq!(r.answer_to("SM1"), Some(&turn(1, 1).reply));
    assert_eq!(r.answer_to("SM9"), None);
    // History off: only the latest answer is known.
    let mut off = Record::default();
    off.count_message("SM1", 1);
    off.answered(turn(1, 1), HistoryLimits { turns: 0, bytes: 0 });
    assert_eq!(off.answer_to("SM1"), Some(&turn(1, 1).reply));
    assert!(off.turns.is_empty());
}
