//! Whole-path tests: each drives the test phone (the webhook, the pair's object, the
//! conversation) for a behaviour that crosses rooms, so that no protocol room's own tests
//! need the harness.

mod idempotency_tests;
#[cfg(feature = "counter")]
mod idle_limit_tests;
mod late_tests;
#[cfg(feature = "counter")]
mod segments_tests;
mod size_tests;

/// The README is a front page: what the crate is, the commands, a new project, the map and
/// the links. Everything else is a guide (`src/guide/*.md`) or CONTRIBUTING.md.
#[test]
fn readme_is_a_front_page() {
    let lines = include_str!("../README.md").lines().count();
    assert!(
        lines <= 300,
        "README.md has {lines} lines: at most 300 (move the rest into a guide)"
    );
}
