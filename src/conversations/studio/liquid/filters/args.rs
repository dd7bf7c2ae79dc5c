//! What the filter families share: reading an argument. A file of its own, below both the
//! families and the dispatch in `mod.rs`, so that no family imports the file that imports it.

use serde_json::Value;

use super::super::value::text;

/// Argument `i` as text, empty when missing.
pub(super) fn arg(args: &[Value], i: usize) -> String {
    args.get(i).map(text).unwrap_or_default()
}
