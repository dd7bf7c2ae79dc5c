//! One key's protection of a value: the payload's bytes, sealing them signed (HMAC-SHA256)
//! or encrypted (ChaCha20-Poly1305), and the MAC and decryption that opening checks.

use chacha20poly1305::aead::AeadInOut;
use chacha20poly1305::{Nonce, Tag};
use hmac::Mac;
use serde::Serialize;
use subtle::ConstantTimeEq;

use super::keys::{self, SessionKey};
use super::{OpenError, Purpose, SealError, HMAC_BYTES, NONCE_BYTES, TAG_BYTES};
use crate::fields::length_prefixed;
use crate::record::Pair;

/// The bytes to seal: `value` in postcard's format (a third smaller than JSON, and every
/// byte rides on every webhook), after room for the nonce when it is to be encrypted
/// (in place).
pub(super) fn payload<T: Serialize>(value: &T, encrypt: bool) -> Result<Vec<u8>, SealError> {
    let room = if encrypt { NONCE_BYTES } else { 0 };
    let mut buf = Vec::with_capacity(room + PAYLOAD_CAPACITY);
    buf.resize(room, 0);
    // Integers, strings and vectors serialise into a Vec; an error is still not an empty
    // payload.
    postcard::serialize_with_flavor(value, Buffer(buf)).map_err(|_| SealError::Encode)
}

/// Bytes reserved for a payload before it is written: a default record with ten turns of
/// history is about 1.7 KB (the benchmark's), one without history a few hundred bytes.
const PAYLOAD_CAPACITY: usize = 2048;

/// postcard's output into a Vec that may already hold the nonce's room, written a slice at
/// a time: `to_allocvec` starts from an empty Vec (a reallocation at each doubling, eight
/// for a default record, then a copy behind the nonce), and `to_extend` pushes one byte at
/// a time.
struct Buffer(Vec<u8>);

impl postcard::ser_flavors::Flavor for Buffer {
    type Output = Vec<u8>;

    fn try_extend(&mut self, data: &[u8]) -> postcard::Result<()> {
        self.0.extend_from_slice(data);
        Ok(())
    }

    fn try_push(&mut self, data: u8) -> postcard::Result<()> {
        self.0.push(data);
        Ok(())
    }

    fn finalize(self) -> postcard::Result<Vec<u8>> {
        Ok(self.0)
    }
}

/// A sealed value's header: the format's version, the purpose's letter, and `e`ncrypted or
/// `s`igned.
type Header = [char; 3];

/// Writes a fresh nonce into `room`. A nonce must never repeat under one key: 96 random bits
/// make that negligible. Without randomness we would rather not seal at all.
fn fill_nonce(room: &mut [u8]) -> Result<Nonce, SealError> {
    getrandom::fill(room).map_err(|_| SealError::NoRandomness)?;
    Nonce::try_from(&*room).map_err(|_| SealError::Encode)
}

/// The pair's fields in the order the MAC and the AAD cover them.
fn pair_fields<'p>(pair: &Pair<'p>) -> [&'p str; 3] {
    [pair.account_sid, pair.to, pair.from]
}

impl SessionKey {
    pub(super) fn seal(
        &self,
        purpose: Purpose,
        payload: Vec<u8>,
        pair: &Pair<'_>,
        encrypt: bool,
    ) -> Result<String, SealError> {
        let header = ['2', purpose.letter(), if encrypt { 'e' } else { 's' }];
        if encrypt {
            self.seal_encrypted(header, payload, pair)
        } else {
            Ok(self.seal_signed(header, &payload, pair))
        }
    }

    fn start(&self, header: Header, capacity: usize) -> String {
        let mut sealed = String::with_capacity(capacity + 64);
        sealed.extend(header);
        sealed.push('.');
        sealed.push_str(&self.id);
        sealed.push('.');
        sealed
    }

    fn seal_signed(&self, header: Header, payload: &[u8], pair: &Pair<'_>) -> String {
        let mut sealed = self.start(header, payload.len() * 4 / 3);
        crate::b64::url_into(payload, &mut sealed);
        let tag = self.tag(&sealed, pair).finalize().into_bytes();
        sealed.push('.');
        crate::b64::url_into(&tag, &mut sealed);
        sealed
    }

    /// `buf` is room for the nonce, then the plaintext, encrypted where it lies.
    fn seal_encrypted(
        &self,
        header: Header,
        mut buf: Vec<u8>,
        pair: &Pair<'_>,
    ) -> Result<String, SealError> {
        if buf.len() < NONCE_BYTES {
            return Err(SealError::Encode);
        }
        let (nonce, plaintext) = buf.split_at_mut(NONCE_BYTES);
        let nonce = fill_nonce(nonce)?;
        let mut sealed = self.start(header, (NONCE_BYTES + plaintext.len()) * 4 / 3);
        let aad = associated_data(&sealed, pair);
        let tag = self
            .aead
            .encrypt_inout_detached(&nonce, &aad, plaintext.into())
            .map_err(|_| SealError::Encrypt)?;
        crate::b64::url_into(&buf, &mut sealed);
        sealed.push('.');
        crate::b64::url_into(&tag, &mut sealed);
        Ok(sealed)
    }

    /// `signed` is `<header>.<kid>.<payload>`; the AAD covers `<header>.<kid>.` and the
    /// pair, since the AEAD authenticates the ciphertext itself. `payload` (nonce and
    /// ciphertext) is decrypted in place; the plaintext is returned.
    pub(super) fn decrypt<'p>(
        &self,
        signed: &str,
        payload: &'p mut [u8],
        tag: &[u8],
        pair: &Pair<'_>,
    ) -> Result<&'p [u8], OpenError> {
        let tag = Tag::try_from(tag).map_err(|_| OpenError::Malformed)?;
        if tag.len() != TAG_BYTES || payload.len() < NONCE_BYTES {
            return Err(OpenError::Malformed);
        }
        let aad = associated_data(self.aad_header(signed)?, pair);
        let (nonce, ciphertext) = payload.split_at_mut(NONCE_BYTES);
        let nonce = Nonce::try_from(&*nonce).map_err(|_| OpenError::Malformed)?;
        self.aead
            .decrypt_inout_detached(&nonce, &aad, (&mut *ciphertext).into(), &tag)
            .map_err(|_| OpenError::BadMac)?;
        Ok(ciphertext)
    }

    /// `<header>.<kid>.` of `signed`: the part of it the AAD covers.
    fn aad_header<'s>(&self, signed: &'s str) -> Result<&'s str, OpenError> {
        let header_len = signed.find('.').ok_or(OpenError::Malformed)? + 1 + self.id.len() + 1;
        signed.get(..header_len).ok_or(OpenError::Malformed)
    }

    /// Checks a signed value's HMAC over `signed` and the pair.
    pub(super) fn verify(
        &self,
        signed: &str,
        mac: &[u8],
        pair: &Pair<'_>,
    ) -> Result<(), OpenError> {
        if mac.len() != HMAC_BYTES {
            return Err(OpenError::Malformed);
        }
        let tag = self.tag(signed, pair).finalize().into_bytes();
        // Constant time: how many leading bytes matched must not show in the timing.
        if !bool::from(tag.as_slice().ct_eq(mac)) {
            return Err(OpenError::BadMac);
        }
        Ok(())
    }

    /// The MAC state over the signed part and the pair.
    fn tag(&self, signed: &str, pair: &Pair<'_>) -> keys::HmacSha256 {
        let mut mac = self.mac.clone();
        mac.update(signed.as_bytes());
        length_prefixed(pair_fields(pair), |bytes| mac.update(bytes));
        mac
    }
}

/// The AEAD's associated data: `header` (`<header>.<kid>.`) and the pair.
fn associated_data(header: &str, pair: &Pair<'_>) -> Vec<u8> {
    let mut aad = Vec::with_capacity(header.len() + 96);
    aad.extend_from_slice(header.as_bytes());
    length_prefixed(pair_fields(pair), |bytes| aad.extend_from_slice(bytes));
    aad
}
