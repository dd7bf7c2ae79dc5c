//! How several strings become one stream of bytes for a MAC, an AEAD's associated data, a
//! KV key or a hash. A bottom room: sealing, storage and the conversation API's idempotency
//! key all feed their fields this way.

/// Hands `write` each field after its length (8 bytes, big-endian), so that no two
/// different lists of fields give the same bytes. MACs, AEAD data and KV keys are all fed
/// this way: it is part of every sealed format, so it never changes.
pub(crate) fn length_prefixed<'f>(
    fields: impl IntoIterator<Item = &'f str>,
    mut write: impl FnMut(&[u8]),
) {
    for field in fields {
        write(&(field.len() as u64).to_be_bytes());
        write(field.as_bytes());
    }
}
