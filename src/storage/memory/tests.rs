use super::*;
use crate::conversation::{Reply, Turn};
use crate::record::HistoryLimits;

fn pair(from: &str) -> Pair<'_> {
    Pair {
        account_sid: "AC1",
        to: "+15005550006",
        from,
    }
}

fn record(count: u64) -> Record {
    let mut r = Record::default();
    for i in 0..count {
        r.count_message(&format!("SM{i}"), i);
    }
    r
}

#[test]
fn memory_stays_bounded_and_per_pair() {
    let memory = Memory::default();
    let numbers: Vec<String> = (0..CAPACITY + 10).map(|i| format!("+1415{i:07}")).collect();
    for n in &numbers {
        memory.remember(&pair(n), &record(1));
    }
    assert_eq!(memory.len(), CAPACITY);
    // The first ones remembered went first.
    assert!(memory.get(&pair(&numbers[0])).is_none());
    assert!(memory.get(&pair(&numbers[10])).is_some());
    assert!(memory.get(&pair("+19999999999")).is_none());
    // Remembering a pair again replaces its entry.
    memory.remember(&pair(&numbers[10]), &record(2));
    assert_eq!(memory.len(), CAPACITY);
    assert_eq!(memory.get(&pair(&numbers[10])).map(|r| r.count), Some(2));
}

#[test]
fn a_conversation_that_started_afresh_replaces_the_old_one() {
    let memory = Memory::default();
    memory.remember(&pair("+1"), &record(3));
    memory.remember(&pair("+1"), &record(1));
    assert_eq!(memory.get(&pair("+1")).map(|r| r.count), Some(1));
}

#[test]
fn the_byte_budget_evicts_the_oldest_records() {
    let big = |i: u64| {
        let mut r = record(1);
        r.count_message(&format!("SM-big-{i}"), 2);
        r.answered(
            Turn {
                at: 2,
                message_sid: format!("SM-big-{i}"),
                inbound: "x".repeat(10_000),
                reply: Reply::text("ok"),
            },
            HistoryLimits {
                turns: 10,
                bytes: 1 << 20,
            },
        );
        r
    };
    let memory = Memory::with_limits(100, 50_000);
    for i in 0..10 {
        memory.remember(&pair(&format!("+1{i}")), &big(i));
    }
    assert!(memory.bytes() <= 50_000, "{}", memory.bytes());
    assert_eq!(memory.len(), 4);
    assert!(memory.get(&pair("+10")).is_none());
    assert!(memory.get(&pair("+19")).is_some());
    // A record larger than the whole budget is not remembered at all.
    let tiny = Memory::with_limits(100, 1_000);
    tiny.remember(&pair("+1"), &big(0));
    assert!(tiny.is_empty());
}

#[test]
#[cfg(cookie_memory)]
fn the_cookie_values_kept_count_against_the_byte_budget() {
    let memory = Memory::with_limits(100, 10_000);
    let value = "x".repeat(3_000);
    for i in 0..5 {
        let sealed = Some((value.clone(), 99));
        memory.remember_sealed(
            &PairKey::of(&pair(&format!("+1{i}"))),
            Rc::new(record(1)),
            sealed,
        );
    }
    assert!(memory.bytes() <= 10_000, "{}", memory.bytes());
    assert_eq!(memory.len(), 3);
    // A pair's next record keeps the value sealed before it as opened: both count.
    memory.remember_sealed(
        &PairKey::of(&pair("+14")),
        Rc::new(record(2)),
        Some((value.clone(), 99)),
    );
    assert!(memory.bytes() <= 10_000, "{}", memory.bytes());
    assert_eq!(memory.len(), 2);
}
