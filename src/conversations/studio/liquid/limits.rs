//! The evaluator's bounds, in a file of their own below the stages that keep them (`tags`,
//! `render`): they need nothing of `mod.rs`, which calls those stages.

/// Studio's loop limit.
pub const MAX_LOOP: usize = 15;
/// Output beyond this is cut: a template cannot make a reply or a request body unbounded.
pub(super) const MAX_OUTPUT: usize = 64 * 1024;
/// Tags nested deeper than this are refused (no stack to overflow on odd input).
pub(super) const MAX_DEPTH: usize = 64;
