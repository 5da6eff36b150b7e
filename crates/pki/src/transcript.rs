//! The login challenge transcript (layer 7): the device signs, with its composite key,
//! domain-separated bytes binding the server's single-use nonce to the certificate, the
//! device, the time and the origin of the login.
//!
//! Encoding (all integers big-endian):
//!
//! ```text
//! "pqbank/login-transcript/v1" || nonce[32] || certificate fingerprint[32]
//!   || u8 len || device id || i64 unix seconds || u8 len || origin (UTF-8)
//! ```
//!
//! The composite signature's context string is [`CONTEXT`], so a transcript signature
//! can never be replayed as any other pqbank signature.

use subtle::ConstantTimeEq;
use time::OffsetDateTime;

use crate::composite::{CompositeSigningKey, CompositeVerifyingKey, SIGNATURE_LEN};
use crate::{Error, Fingerprint};

/// Domain label at the start of every transcript.
pub const LABEL: &[u8] = b"pqbank/login-transcript/v1";
/// Context string of the composite signature over a transcript.
pub const CONTEXT: &[u8] = b"pqbank/login/v1";
/// Nonce length.
pub const NONCE_LEN: usize = 32;
/// Longest device identifier.
pub const DEVICE_ID_LEN_MAX: usize = 255;
/// Longest origin (address and host name).
pub const ORIGIN_LEN_MAX: usize = 255;

/// What the device signs at login.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Transcript {
    /// The server's nonce.
    pub nonce: [u8; NONCE_LEN],
    /// Fingerprint of the certificate logging in.
    pub certificate: Fingerprint,
    /// The device's identifier.
    pub device_id: Vec<u8>,
    /// When the device signed, in UNIX seconds.
    pub time: i64,
    /// Where the login comes from, for example "10.1.2.3 teller-04".
    pub origin: String,
}

/// A transcript and its signature.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedTranscript {
    /// The encoded transcript.
    pub transcript: Vec<u8>,
    /// The composite signature over it.
    pub signature: Vec<u8>,
}

/// What the server expects of a transcript.
#[derive(Debug, Clone, Copy)]
pub struct Expected<'a> {
    /// The nonce the server issued and has not yet consumed.
    pub nonce: &'a [u8; NONCE_LEN],
    /// The certificate presented with the login.
    pub certificate: Fingerprint,
    /// The device the certificate is bound to.
    pub device_id: &'a [u8],
    /// The origin the server saw, if it checks it.
    pub origin: Option<&'a str>,
    /// When the challenge was issued.
    pub issued_at: OffsetDateTime,
    /// When the challenge expires.
    pub expires_at: OffsetDateTime,
    /// The server's clock now.
    pub now: OffsetDateTime,
}

impl Transcript {
    /// The signed bytes.
    pub fn to_bytes(&self) -> Result<Vec<u8>, Error> {
        let device_len = u8::try_from(self.device_id.len())
            .map_err(|_| Error::InvalidRequest("device identifier longer than 255 bytes"))?;
        let origin_len = u8::try_from(self.origin.len())
            .map_err(|_| Error::InvalidRequest("origin longer than 255 bytes"))?;
        let mut out =
            Vec::with_capacity(LABEL.len() + 80 + self.device_id.len() + self.origin.len());
        out.extend_from_slice(LABEL);
        out.extend_from_slice(&self.nonce);
        out.extend_from_slice(self.certificate.as_bytes());
        out.push(device_len);
        out.extend_from_slice(&self.device_id);
        out.extend_from_slice(&self.time.to_be_bytes());
        out.push(origin_len);
        out.extend_from_slice(self.origin.as_bytes());
        Ok(out)
    }

    /// Parses transcript bytes; every byte must be accounted for.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, Error> {
        let mut r = Cursor(bytes);
        if r.take(LABEL.len())? != LABEL {
            return Err(Error::Malformed("not a login transcript"));
        }
        let nonce = r.array::<NONCE_LEN>()?;
        let certificate = Fingerprint::from_bytes(r.array::<32>()?);
        let device_len = usize::from(r.array::<1>()?[0]);
        let device_id = r.take(device_len)?.to_vec();
        let time = i64::from_be_bytes(r.array::<8>()?);
        let origin_len = usize::from(r.array::<1>()?[0]);
        let origin = core::str::from_utf8(r.take(origin_len)?)
            .map_err(|_| Error::Malformed("origin is not UTF-8"))?
            .to_owned();
        if !r.0.is_empty() {
            return Err(Error::Malformed("trailing bytes after transcript"));
        }
        Ok(Self {
            nonce,
            certificate,
            device_id,
            time,
            origin,
        })
    }

    /// Signs the transcript with the device key.
    pub fn sign(
        &self,
        key: &CompositeSigningKey,
        rnd: &[u8; 32],
    ) -> Result<SignedTranscript, Error> {
        let transcript = self.to_bytes()?;
        let signature = key.sign(&transcript, CONTEXT, rnd)?.into_bytes();
        Ok(SignedTranscript {
            transcript,
            signature,
        })
    }
}

impl SignedTranscript {
    /// Wire form: u32 transcript length || transcript || signature.
    #[must_use]
    pub fn to_bytes(&self) -> Vec<u8> {
        // Transcripts are built by `Transcript::to_bytes`: at most a few hundred bytes.
        let len = u32::try_from(self.transcript.len()).unwrap_or(0);
        let mut out = Vec::with_capacity(4 + self.transcript.len() + self.signature.len());
        out.extend_from_slice(&len.to_be_bytes());
        out.extend_from_slice(&self.transcript);
        out.extend_from_slice(&self.signature);
        out
    }

    /// Parses the wire form; the signature must have the composite length.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, Error> {
        let mut r = Cursor(bytes);
        let len = u32::from_be_bytes(r.array::<4>()?) as usize;
        let transcript = r.take(len)?.to_vec();
        let signature = r.take(SIGNATURE_LEN)?.to_vec();
        if !r.0.is_empty() {
            return Err(Error::Malformed("trailing bytes after signed transcript"));
        }
        Ok(Self {
            transcript,
            signature,
        })
    }

    /// Verifies the signature with the certificate's key, then every expectation, each
    /// failure with its own error.
    pub fn verify(
        &self,
        key: &CompositeVerifyingKey,
        expected: &Expected<'_>,
    ) -> Result<Transcript, Error> {
        key.verify(&self.transcript, CONTEXT, &self.signature)?;
        let t = Transcript::from_bytes(&self.transcript)?;
        if !bool::from(t.nonce.ct_eq(expected.nonce)) {
            return Err(Error::NonceMismatch);
        }
        if t.certificate != expected.certificate {
            return Err(Error::CertificateMismatch);
        }
        if t.device_id != expected.device_id {
            return Err(Error::TranscriptDeviceMismatch);
        }
        if expected.origin.is_some_and(|o| o != t.origin) {
            return Err(Error::OriginMismatch);
        }
        let signed_at = t.time;
        if signed_at < expected.issued_at.unix_timestamp()
            || signed_at > expected.expires_at.unix_timestamp()
            || expected.now > expected.expires_at
            || expected.now < expected.issued_at
        {
            return Err(Error::TranscriptExpired);
        }
        Ok(t)
    }
}

/// A forward-only reader over a byte slice.
struct Cursor<'a>(&'a [u8]);

impl<'a> Cursor<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], Error> {
        if self.0.len() < n {
            return Err(Error::Malformed("truncated"));
        }
        let (head, tail) = self.0.split_at(n);
        self.0 = tail;
        Ok(head)
    }

    fn array<const N: usize>(&mut self) -> Result<[u8; N], Error> {
        self.take(N)?
            .try_into()
            .map_err(|_| Error::Malformed("truncated"))
    }
}
