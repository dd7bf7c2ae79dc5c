//! Reading a sealed value's header and decoding its opened payload: which purposes a place
//! accepts, and the record (with its standing) or pointer the payload holds, in today's format
//! or the first release's.

use serde::{Deserialize, Serialize};

use super::{legacy, OpenError, Opened, Place, Pointer, Purpose, PURPOSES};
use crate::conversation::Standing;
use crate::record::Record;

#[derive(Serialize, Deserialize)]
pub(super) struct PointerPayload<'a>(pub(super) u64, pub(super) &'a str, pub(super) Record);

/// Opens `head`, then the standing of `head`'s record when the value has one (sealed since it
/// existed); `None` for a value sealed before. The objects' deliveries follow the standing as
/// a value of their own, read by builds that keep them (and absent from values sealed by a
/// build without the objects).
fn take_with_standing<'a, T: Deserialize<'a>>(
    plain: &'a [u8],
) -> Result<(T, Option<Standing>), OpenError> {
    let bad = |_| OpenError::BadPayload;
    let (head, rest) = postcard::take_from_bytes::<T>(plain).map_err(bad)?;
    if rest.is_empty() {
        return Ok((head, None));
    }
    #[cfg_attr(not(feature = "objects"), allow(unused_mut, unused_variables))]
    let (mut standing, rest) = postcard::take_from_bytes::<Standing>(rest).map_err(bad)?;
    #[cfg(feature = "objects")]
    if !rest.is_empty() {
        standing.deliveries = postcard::from_bytes(rest).map_err(bad)?;
    }
    Ok((head, Some(standing)))
}

/// The bytes that follow a record: its standing, and the objects' deliveries.
#[cfg(feature = "objects")]
pub(super) fn standing_tail(standing: &Standing) -> (&Standing, &[crate::conversation::Delivery]) {
    (standing, &standing.deliveries)
}

/// The bytes that follow a record: its standing.
#[cfg(not(feature = "objects"))]
pub(super) fn standing_tail(standing: &Standing) -> &Standing {
    standing
}

impl Record {
    /// Takes the standing opened with the record; a record sealed before there was one last
    /// heard from the person at its latest message.
    fn stand(&mut self, standing: Option<Standing>) {
        self.standing = standing.unwrap_or_else(|| Standing {
            last_inbound: self.last_seen,
            ..Standing::default()
        });
    }
}

/// A header this build reads, parsed once.
pub(super) struct Format {
    pub(super) encrypted: bool,
    pointer: bool,
    legacy: bool,
}

impl Format {
    pub(super) fn parse(header: &str, place: Place) -> Result<Format, OpenError> {
        let (purpose, encrypted, legacy) = match header {
            // The first release: one format for cookies and KV values alike.
            "v1" | "e1" if place != Place::Object => (None, header == "e1", true),
            "p1" => (Some(Purpose::Pointer), false, true),
            _ => {
                let (purpose, encrypted) = parse_current(header)?;
                (Some(purpose), encrypted, false)
            }
        };
        if purpose.is_some_and(|p| !place.allows(p)) {
            return Err(OpenError::UnknownVersion);
        }
        Ok(Format {
            encrypted,
            pointer: purpose == Some(Purpose::Pointer),
            legacy,
        })
    }

    pub(super) fn decode(&self, plain: &[u8]) -> Result<(u64, Opened), OpenError> {
        match (self.pointer, self.legacy) {
            (false, false) => decode_record(plain),
            (true, false) => decode_pointer(plain),
            (false, true) => decode_legacy_record(plain),
            (true, true) => decode_legacy_pointer(plain),
        }
    }
}

/// Today's header, `2` and the purpose's and the protection's letters: the purpose, and
/// whether it is encrypted.
fn parse_current(header: &str) -> Result<(Purpose, bool), OpenError> {
    let mut chars = header.chars();
    let (Some('2'), Some(p), Some(e), None) =
        (chars.next(), chars.next(), chars.next(), chars.next())
    else {
        return Err(OpenError::UnknownVersion);
    };
    let purpose = Purpose::from_letter(p).ok_or(OpenError::UnknownVersion)?;
    Ok((purpose, encrypted(e)?))
}

/// Whether the protection's letter says encrypted (`e`) or signed (`s`).
fn encrypted(protection: char) -> Result<bool, OpenError> {
    match protection {
        's' => Ok(false),
        'e' => Ok(true),
        _ => Err(OpenError::UnknownVersion),
    }
}

impl Purpose {
    /// The purpose a header's letter names.
    fn from_letter(letter: char) -> Option<Purpose> {
        PURPOSES
            .into_iter()
            .find(|purpose| purpose.letter() == letter)
    }
}

impl Place {
    /// Whether a value sealed for `purpose` may be found here.
    fn allows(self, purpose: Purpose) -> bool {
        match self {
            Place::Cookie => matches!(purpose, Purpose::Cookie | Purpose::Pointer),
            Place::Kv => purpose == Purpose::Kv,
            Place::Object => purpose == Purpose::Object,
        }
    }
}

/// Today's record payload: `(expires_at, record)`, then its standing.
fn decode_record(plain: &[u8]) -> Result<(u64, Opened), OpenError> {
    let ((exp, mut record), standing) = take_with_standing::<(u64, Record)>(plain)?;
    record.stand(standing);
    Ok((exp, Opened::Record(record)))
}

/// Today's pointer payload: `(expires_at, kv key, summary)`, then the summary's standing.
fn decode_pointer(plain: &[u8]) -> Result<(u64, Opened), OpenError> {
    let (PointerPayload(exp, key, mut summary), standing) = take_with_standing(plain)?;
    summary.stand(standing);
    let key = key.to_string();
    Ok((exp, Opened::Pointer(Pointer { key, summary })))
}

/// The first release's record payload, upgraded.
fn decode_legacy_record(plain: &[u8]) -> Result<(u64, Opened), OpenError> {
    let (exp, old): (u64, legacy::State) =
        postcard::from_bytes(plain).map_err(|_| OpenError::BadPayload)?;
    Ok((exp, Opened::Record(old.into())))
}

/// The first release's pointer payload, its summary upgraded.
fn decode_legacy_pointer(plain: &[u8]) -> Result<(u64, Opened), OpenError> {
    let legacy::PointerPayload(exp, key, old) =
        postcard::from_bytes(plain).map_err(|_| OpenError::BadPayload)?;
    let summary = old.into();
    Ok((exp, Opened::Pointer(Pointer { key, summary })))
}
