//! The signed request header, its canonical bytes and its strict decoder.
//!
//! ```text
//! header = "pqbank/request/v1" || route (u8) || session (32) || device_len (u8) || device
//!          || counter (u64 BE) || client_time (i64 BE) || body_hash (32)
//! digest = SHA3-256("pqbank/call/v2" || header)         -- what the device signs
//! body_hash = SHA3-256("pqbank/body/v1" || body)
//! ```
//! `session` is SHA3-256 of the session secret: the secret itself never travels after
//! login. The encoding has one form for each header, so a header that decodes is
//! re-encoded to the same bytes.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use sha3::{Digest as _, Sha3_256};

use crate::{RequestCode, RequestError, Route};

/// Domain tag opening every request header.
pub const REQUEST_TAG: &[u8] = b"pqbank/request/v1";
/// Domain tag of the digest a device signs.
const CALL_TAG: &[u8] = b"pqbank/call/v2";
/// Domain tag of a body's hash.
const BODY_TAG: &[u8] = b"pqbank/body/v1";
/// Longest device identifier a header carries (a workstation's is 32 hex digits).
pub const DEVICE_ID_LEN_MAX: usize = 64;
/// Longest header: every field at its largest.
pub const HEADER_LEN_MAX: usize = REQUEST_TAG.len() + 1 + 32 + 1 + DEVICE_ID_LEN_MAX + 8 + 8 + 32;
// A kept request ([`Request::record`]) gives the header's length in one byte.
const _: () = assert!(HEADER_LEN_MAX <= u8::MAX as usize);
/// Largest body the service reads (a renewal carries a CRL, which grows with revocations).
pub const BODY_LEN_MAX: usize = 256 * 1024;
/// A request's signature: one composite ML-DSA-65 + Ed25519 signature.
pub const SIGNATURE_LEN: usize = pqbank_pki::composite::SIGNATURE_LEN;
/// Context string of every device signature over an act or a request: acts and requests
/// can never be replayed as other signatures (a login transcript has its own).
pub const ACT_CONTEXT: &[u8] = b"pqbank/act/v1";

/// What a device signs for one call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestHeader {
    /// The route called (so the action asked).
    pub route: Route,
    /// SHA3-256 of the session secret.
    pub session: [u8; 32],
    /// The device's identifier (bound into its certificate as a hash).
    pub device_id: Vec<u8>,
    /// Rises with each call of the session: a replayed or reordered call is refused.
    pub counter: u64,
    /// The client's clock, Unix seconds (the service allows a skew).
    pub client_time: i64,
    /// [`body_hash`] of the body sent.
    pub body_hash: [u8; 32],
}

/// A decoded request: the header, the signature to check, the body it covers. Only
/// [`decode`] makes one, so its header is always what its header bytes decode to and its
/// body always has the hash the header carries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request<'a> {
    header: RequestHeader,
    header_bytes: &'a [u8],
    signature: &'a [u8],
    body: &'a [u8],
}

impl<'a> Request<'a> {
    /// The decoded header.
    #[must_use]
    pub const fn header(&self) -> &RequestHeader {
        &self.header
    }

    /// The header's canonical bytes, as received.
    #[must_use]
    pub const fn header_bytes(&self) -> &'a [u8] {
        self.header_bytes
    }

    /// The composite signature over [`RequestHeader::digest`] of the header bytes.
    #[must_use]
    pub const fn signature(&self) -> &'a [u8] {
        self.signature
    }

    /// The body, whose hash the header carries.
    #[must_use]
    pub const fn body(&self) -> &'a [u8] {
        self.body
    }

    /// What an accountability event keeps of the request: the header's length (one
    /// byte), the header bytes and the signature. The body is not kept: the header
    /// carries its hash, and the act's own signed bytes sit in the event's payload.
    #[must_use]
    pub fn record(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(1 + self.header_bytes.len() + self.signature.len());
        // decode refused any header longer than HEADER_LEN_MAX, which fits in one byte.
        out.push(u8::try_from(self.header_bytes.len()).unwrap_or(u8::MAX));
        out.extend_from_slice(self.header_bytes);
        out.extend_from_slice(self.signature);
        out
    }
}

/// A request as an event keeps it ([`Request::record`]), read back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestRecord<'a> {
    /// The decoded header.
    pub header: RequestHeader,
    /// The header's bytes, as signed.
    pub header_bytes: &'a [u8],
    /// The signature over [`RequestHeader::digest`] of the header bytes.
    pub signature: &'a [u8],
}

impl<'a> RequestRecord<'a> {
    /// Reads a record; refuses one whose parts do not have their sizes and form.
    pub fn from_bytes(bytes: &'a [u8]) -> Result<Self, RequestError> {
        let malformed =
            || RequestError::new(RequestCode::Malformed, "the kept request is malformed");
        let (&len, rest) = bytes.split_first().ok_or_else(malformed)?;
        let len = usize::from(len);
        if rest.len() != len + SIGNATURE_LEN {
            return Err(malformed());
        }
        let (header_bytes, signature) = rest.split_at(len);
        let header = RequestHeader::from_bytes(header_bytes)?;
        Ok(Self {
            header,
            header_bytes,
            signature,
        })
    }
}

/// A session's id in a header: SHA3-256 of its secret, as the service stores it.
#[must_use]
pub fn session_id(secret: &[u8; 32]) -> [u8; 32] {
    Sha3_256::digest(secret).into()
}

/// The hash of a request body, as the header carries it.
#[must_use]
pub fn body_hash(body: &[u8]) -> [u8; 32] {
    Sha3_256::new()
        .chain_update(BODY_TAG)
        .chain_update(body)
        .finalize()
        .into()
}

impl RequestHeader {
    /// The device's side: the canonical bytes and the device key's signature over their
    /// digest, hedged with `rnd`.
    pub fn sign(
        &self,
        key: &pqbank_pki::CompositeSigningKey,
        rnd: &[u8; 32],
    ) -> Result<(Vec<u8>, Vec<u8>), pqbank_pki::Error> {
        let bytes = self.to_bytes().ok_or(pqbank_pki::Error::InvalidRequest(
            "the device identifier is too long for a request header",
        ))?;
        let signature = key.sign(&Self::digest(&bytes), ACT_CONTEXT, rnd)?;
        Ok((bytes, signature.into_bytes()))
    }

    /// The canonical bytes; `None` if the device identifier is over
    /// [`DEVICE_ID_LEN_MAX`] (no such header can be sent).
    #[must_use]
    pub fn to_bytes(&self) -> Option<Vec<u8>> {
        let device_len = u8::try_from(self.device_id.len())
            .ok()
            .filter(|&n| usize::from(n) <= DEVICE_ID_LEN_MAX)?;
        let mut out = Vec::with_capacity(HEADER_LEN_MAX);
        out.extend_from_slice(REQUEST_TAG);
        out.push(self.route.id());
        out.extend_from_slice(&self.session);
        out.push(device_len);
        out.extend_from_slice(&self.device_id);
        out.extend_from_slice(&self.counter.to_be_bytes());
        out.extend_from_slice(&self.client_time.to_be_bytes());
        out.extend_from_slice(&self.body_hash);
        Some(out)
    }

    /// The header of canonical bytes, refusing any other form.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, RequestError> {
        const BAD: RequestError = RequestError::new(RequestCode::Malformed, "not a request header");
        if bytes.len() > HEADER_LEN_MAX {
            return Err(RequestError::new(
                RequestCode::TooLarge,
                "the request header is too long",
            ));
        }
        let mut r = Reader(bytes);
        if r.take(REQUEST_TAG.len()).ok_or(BAD)? != REQUEST_TAG {
            return Err(BAD);
        }
        let id = r.array::<1>().ok_or(BAD)?[0];
        let route = Route::from_id(id).ok_or(RequestError::new(
            RequestCode::RouteUnknown,
            "the header names no known route",
        ))?;
        let session = r.array::<32>().ok_or(BAD)?;
        let device_len = usize::from(r.array::<1>().ok_or(BAD)?[0]);
        if device_len > DEVICE_ID_LEN_MAX {
            return Err(BAD);
        }
        let device_id = r.take(device_len).ok_or(BAD)?.to_vec();
        let counter = u64::from_be_bytes(r.array::<8>().ok_or(BAD)?);
        let client_time = i64::from_be_bytes(r.array::<8>().ok_or(BAD)?);
        let body_hash = r.array::<32>().ok_or(BAD)?;
        if !r.0.is_empty() {
            return Err(BAD);
        }
        Ok(Self {
            route,
            session,
            device_id,
            counter,
            client_time,
            body_hash,
        })
    }

    /// What the device signs: SHA3-256 over the call tag and the canonical bytes.
    #[must_use]
    pub fn digest(header_bytes: &[u8]) -> [u8; 32] {
        Sha3_256::new()
            .chain_update(CALL_TAG)
            .chain_update(header_bytes)
            .finalize()
            .into()
    }
}

/// Cursor over outside bytes: every read is bounds-checked.
struct Reader<'a>(&'a [u8]);

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        if self.0.len() < n {
            return None;
        }
        let (head, rest) = self.0.split_at(n);
        self.0 = rest;
        Some(head)
    }

    fn array<const N: usize>(&mut self) -> Option<[u8; N]> {
        self.take(N)?.try_into().ok()
    }
}

/// Checks a request's outside bytes as received for `called`, before any key or
/// database is asked: sizes, the header's form, the route it names against the route
/// called, the signature's size and the body's hash. What passes still needs its
/// signature checked with the session certificate's key and its counter claimed.
pub fn decode<'a>(
    called: Route,
    header_bytes: &'a [u8],
    signature: &'a [u8],
    body: &'a [u8],
) -> Result<Request<'a>, RequestError> {
    if body.len() > BODY_LEN_MAX {
        return Err(RequestError::new(
            RequestCode::TooLarge,
            "the request body is too large",
        ));
    }
    let header = RequestHeader::from_bytes(header_bytes)?;
    if header.route != called {
        return Err(RequestError::new(
            RequestCode::RouteMismatch,
            "the request was signed for another route",
        ));
    }
    if signature.len() != SIGNATURE_LEN {
        return Err(RequestError::new(
            RequestCode::Unsigned,
            "the request carries no composite signature",
        ));
    }
    if body_hash(body) != header.body_hash {
        return Err(RequestError::new(
            RequestCode::BodyAltered,
            "the body is not the one signed",
        ));
    }
    Ok(Request {
        header,
        header_bytes,
        signature,
        body,
    })
}

/// The text form of header bytes or a signature in an HTTP header field.
#[must_use]
pub fn to_text(bytes: &[u8]) -> String {
    STANDARD.encode(bytes)
}

/// Bytes of an HTTP header field's text, refusing text longer than `max` bytes decode to.
pub fn from_text(text: &str, max: usize) -> Result<Vec<u8>, RequestError> {
    if text.len() > max.div_ceil(3) * 4 {
        return Err(RequestError::new(
            RequestCode::TooLarge,
            "a request header field is too long",
        ));
    }
    STANDARD.decode(text).map_err(|_| {
        RequestError::new(
            RequestCode::Malformed,
            "a request header field is not base64",
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn header() -> RequestHeader {
        RequestHeader {
            route: Route::TransferPost,
            session: [7; 32],
            device_id: b"0123456789abcdef0123456789abcdef".to_vec(),
            counter: 41,
            client_time: 1_764_000_000,
            body_hash: body_hash(b"{}"),
        }
    }

    /// Proves the canonical bytes decode to the same header, and that changing any one
    /// field changes the digest a device signs.
    #[test]
    fn each_field_is_signed() {
        let h = header();
        let bytes = h.to_bytes().unwrap();
        assert_eq!(bytes.len(), HEADER_LEN_MAX - DEVICE_ID_LEN_MAX + 32);
        assert_eq!(RequestHeader::from_bytes(&bytes).unwrap(), h);
        let digest = RequestHeader::digest(&bytes);
        let changed = [
            RequestHeader {
                route: Route::TransferResolve,
                ..h.clone()
            },
            RequestHeader {
                session: [8; 32],
                ..h.clone()
            },
            RequestHeader {
                device_id: b"another".to_vec(),
                ..h.clone()
            },
            RequestHeader {
                counter: 42,
                ..h.clone()
            },
            RequestHeader {
                client_time: h.client_time + 1,
                ..h.clone()
            },
            RequestHeader {
                body_hash: body_hash(b"{ }"),
                ..h.clone()
            },
        ];
        for other in changed {
            let other = other.to_bytes().unwrap();
            assert_ne!(RequestHeader::digest(&other), digest);
        }
    }

    /// Proves each refusal of `decode` with its code: a body over the limit, a header
    /// cut short or too long, trailing bytes, an unknown route, a header signed for
    /// another route, a missing signature and an altered body.
    #[test]
    fn outside_bytes_are_refused_with_their_code() {
        let h = header();
        let bytes = h.to_bytes().unwrap();
        let sig = vec![0u8; SIGNATURE_LEN];
        let code = |r: Result<Request<'_>, RequestError>| r.unwrap_err().code;
        assert!(decode(Route::TransferPost, &bytes, &sig, b"{}").is_ok());
        let big = vec![b' '; BODY_LEN_MAX + 1];
        assert_eq!(
            code(decode(Route::TransferPost, &bytes, &sig, &big)),
            RequestCode::TooLarge
        );
        for cut in [0, 1, REQUEST_TAG.len(), bytes.len() - 1] {
            assert_eq!(
                code(decode(Route::TransferPost, &bytes[..cut], &sig, b"{}")),
                RequestCode::Malformed,
                "cut at {cut}"
            );
        }
        let mut trailing = bytes.clone();
        trailing.push(0);
        assert_eq!(
            code(decode(Route::TransferPost, &trailing, &sig, b"{}")),
            RequestCode::Malformed
        );
        let long = vec![0u8; HEADER_LEN_MAX + 1];
        assert_eq!(
            code(decode(Route::TransferPost, &long, &sig, b"{}")),
            RequestCode::TooLarge
        );
        let mut unknown = bytes.clone();
        unknown[REQUEST_TAG.len()] = 255;
        assert_eq!(
            code(decode(Route::TransferPost, &unknown, &sig, b"{}")),
            RequestCode::RouteUnknown
        );
        assert_eq!(
            code(decode(Route::TransferResolve, &bytes, &sig, b"{}")),
            RequestCode::RouteMismatch
        );
        assert_eq!(
            code(decode(Route::TransferPost, &bytes, &sig[1..], b"{}")),
            RequestCode::Unsigned
        );
        assert_eq!(
            code(decode(Route::TransferPost, &bytes, &[], b"{}")),
            RequestCode::Unsigned
        );
        assert_eq!(
            code(decode(Route::TransferPost, &bytes, &sig, b"{ }")),
            RequestCode::BodyAltered
        );
        let too_long_device = RequestHeader {
            device_id: vec![b'd'; DEVICE_ID_LEN_MAX + 1],
            ..h
        };
        assert!(too_long_device.to_bytes().is_none());
    }

    /// Proves the HTTP text form round-trips and refuses over-long or non-base64 text
    /// before decoding it.
    #[test]
    fn text_fields_are_bounded() {
        let bytes = header().to_bytes().unwrap();
        assert_eq!(from_text(&to_text(&bytes), HEADER_LEN_MAX).unwrap(), bytes);
        let long = "A".repeat(HEADER_LEN_MAX.div_ceil(3) * 4 + 4);
        assert_eq!(
            from_text(&long, HEADER_LEN_MAX).unwrap_err().code,
            RequestCode::TooLarge
        );
        assert_eq!(
            from_text("not base64!", HEADER_LEN_MAX).unwrap_err().code,
            RequestCode::Malformed
        );
    }

    proptest! {
        /// Proves every header survives its canonical bytes, and that bytes changed at one
        /// place, cut or extended either decode to a header with exactly those bytes or
        /// are refused: one form per header, and no panic.
        #[test]
        fn headers_have_one_form(
            route in proptest::sample::select(Route::ALL),
            session in any::<[u8; 32]>(),
            device_id in proptest::collection::vec(any::<u8>(), 0..=DEVICE_ID_LEN_MAX),
            counter in any::<u64>(),
            client_time in any::<i64>(),
            body_hash in any::<[u8; 32]>(),
            at in any::<proptest::sample::Index>(),
            byte in any::<u8>(),
            cut in any::<proptest::sample::Index>(),
        ) {
            let h = RequestHeader { route, session, device_id, counter, client_time, body_hash };
            let bytes = h.to_bytes().unwrap();
            prop_assert_eq!(RequestHeader::from_bytes(&bytes).unwrap(), h);
            let mut changed = bytes.clone();
            changed[at.index(bytes.len())] = byte;
            let mut extended = bytes.clone();
            extended.push(byte);
            for other in [changed, bytes[..cut.index(bytes.len())].to_vec(), extended] {
                if let Ok(decoded) = RequestHeader::from_bytes(&other) {
                    prop_assert_eq!(decoded.to_bytes().unwrap(), other);
                }
            }
        }
    }
}
