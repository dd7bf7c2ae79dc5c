//! Base64 as this crate uses it, in one place: URL-safe without padding for sealed values
//! and key ids, standard with padding for Twilio's signatures and Basic auth. Through
//! `base64ct` (RustCrypto's: constant-time, strict about padding and trailing bits), whose
//! code is a third of the `base64` crate's in the wasm.

use base64ct::{Base64, Base64UrlUnpadded, Encoding};

/// `bytes`, URL-safe and unpadded.
pub(crate) fn url(bytes: &[u8]) -> String {
    Base64UrlUnpadded::encode_string(bytes)
}

/// Appends `bytes`, URL-safe and unpadded, to `out`.
pub(crate) fn url_into(bytes: &[u8], out: &mut String) {
    out.push_str(&Base64UrlUnpadded::encode_string(bytes));
}

/// URL-safe unpadded text decoded; `None` when it is not exactly that.
pub(crate) fn from_url(text: &str) -> Option<Vec<u8>> {
    Base64UrlUnpadded::decode_vec(text).ok()
}

/// URL-safe unpadded text decoded into `buf`: the length, or `None` when it is not exactly
/// that or does not fit.
pub(crate) fn from_url_into(text: &str, buf: &mut [u8]) -> Option<usize> {
    Base64UrlUnpadded::decode(text, buf).ok().map(<[u8]>::len)
}

/// `bytes`, standard base64 with padding.
pub(crate) fn standard(bytes: &[u8]) -> String {
    Base64::encode_string(bytes)
}

/// Standard padded text decoded into `buf`, as [`from_url_into`].
pub(crate) fn from_standard_into(text: &str, buf: &mut [u8]) -> Option<usize> {
    Base64::decode(text, buf).ok().map(<[u8]>::len)
}
