//! pqbank's PKI core.
//!
//! Everything here is pure: no I/O, no clock, no system randomness. Time arrives as an
//! [`OffsetDateTime`](time::OffsetDateTime) and randomness as byte arrays the caller
//! fills, so every operation is reproducible in a test.
//!
//! - [`composite`]: `id-MLDSA65-Ed25519-SHA512` signatures
//!   (draft-ietf-lamps-pq-composite-sigs) and plain ML-DSA-65 verification.
//! - [`primitives`]: the crate's own facade over ML-DSA (FIPS 204), ML-KEM (FIPS 203),
//!   Ed25519 and X25519, so a faster backend can be swapped in under the same tests.
//! - [`cert`], [`csr`], [`crl`]: X.509 v3 certificates, PKCS#10 requests and X.509 v2
//!   CRLs, built here and parsed with `x509-parser`.
//! - [`ext`]: the seven security layers as certificate extensions.
//! - [`chain`]: validation against a pinned root, with one error per reason.
//! - [`transcript`]: the signed login challenge transcript.
//! - [`bundle`]: ML-KEM + X25519 sealed bundles.
//! - [`server`]: the server profile, which vouches for a TLS key, and its bundle.
#![forbid(unsafe_code)]
#![cfg_attr(
    not(test),
    deny(clippy::unwrap_used, clippy::expect_used, clippy::panic)
)]

pub mod bundle;
pub mod cert;
pub mod chain;
mod code;
pub mod composite;
pub mod crl;
pub mod csr;
mod der;
pub mod ext;
pub mod fingerprint;
pub mod name;
pub mod pem;
pub mod primitives;
pub mod server;
pub mod transcript;

pub use cert::{Certificate, CertificateBuilder};
pub use chain::{ChainInput, ServerInput, ValidChain, ValidServer};
pub use code::ErrorCode;
pub use composite::{CompositeSignature, CompositeSigningKey, CompositeVerifyingKey};
pub use crl::{Crl, CrlBuilder, RevocationReason};
pub use csr::{CertificateRequest, CsrBuilder};
pub use ext::{Action, Layer, Lineage, Role, StaffClaims};
pub use fingerprint::Fingerprint;
pub use name::DistinguishedName;
pub use server::{TlsKeyHash, VouchingBundle};

/// Everything that can go wrong in the PKI core.
///
/// Errors about attacker-supplied bytes stay coarse on purpose (no oracle); chain
/// validation errors name the exact reason, since the caller already holds every input.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    /// Bytes are not the encoding they claim to be.
    #[error("malformed input: {0}")]
    Malformed(&'static str),
    /// A key has the wrong length or fails the standard's input checks.
    #[error("invalid key")]
    InvalidKey,
    /// A signature did not verify (either half of a composite, or both).
    #[error("signature does not verify")]
    BadSignature,
    /// The algorithm identifier is not one pqbank implements.
    #[error("unsupported algorithm")]
    UnsupportedAlgorithm,
    /// A context string is longer than the 255 bytes FIPS 204 allows.
    #[error("context string longer than 255 bytes")]
    ContextTooLong,
    /// A sealed bundle could not be opened: wrong recipient, changed or truncated bytes.
    #[error("sealed bundle cannot be opened")]
    SealOpen,
    /// A certificate extension of pqbank's arc is present but not well formed.
    #[error("invalid pqbank extension: {0}")]
    InvalidExtension(&'static str),
    /// A builder was given values that cannot make a valid object.
    #[error("invalid request: {0}")]
    InvalidRequest(&'static str),

    // Chain validation: one variant per reason; `depth` 0 is the leaf.
    /// The root certificate's SHA3-256 fingerprint is not the pinned one.
    #[error("root certificate is not the pinned trust anchor")]
    RootNotPinned,
    /// The chain is longer than the validator follows.
    #[error("chain too long")]
    ChainTooLong,
    /// A certificate's signature does not verify under its issuer's key.
    #[error("signature of certificate at depth {depth} does not verify")]
    ChainSignature {
        /// Position of the certificate.
        depth: usize,
    },
    /// A certificate's issuer name is not its issuer's subject name.
    #[error("issuer name of certificate at depth {depth} does not match its issuer")]
    IssuerNameMismatch {
        /// Position of the certificate.
        depth: usize,
    },
    /// A certificate's authority key identifier is not its issuer's subject key identifier.
    #[error("key identifiers of certificate at depth {depth} do not match its issuer")]
    KeyIdMismatch {
        /// Position of the certificate.
        depth: usize,
    },
    /// A certificate is used before its notBefore.
    #[error("certificate at depth {depth} is not yet valid")]
    NotYetValid {
        /// Position of the certificate.
        depth: usize,
    },
    /// A certificate is used after its notAfter.
    #[error("certificate at depth {depth} has expired")]
    Expired {
        /// Position of the certificate.
        depth: usize,
    },
    /// An issuing certificate is not a CA or may not sign certificates.
    #[error("certificate at depth {depth} is not a CA but issued another certificate")]
    NotCa {
        /// Position of the would-be issuer.
        depth: usize,
    },
    /// An issuing certificate's path length constraint is exceeded.
    #[error("path length constraint of certificate at depth {depth} exceeded")]
    PathLenExceeded {
        /// Position of the constraining certificate.
        depth: usize,
    },
    /// An issuing pqbank certificate's purpose does not include `cert.issue`.
    #[error("certificate at depth {depth} is not authorised to issue certificates")]
    IssuerNotAuthorised {
        /// Position of the would-be issuer.
        depth: usize,
    },
    /// The certificate does not list the action among those it may authorise.
    #[error("certificate is not allowed to authorise {action}")]
    ActionNotAllowed {
        /// The refused action.
        action: String,
    },
    /// The certificate's role does not permit the action or the actions it lists.
    #[error("role {role} does not permit {action}")]
    RoleNotAllowed {
        /// The certificate's role.
        role: String,
        /// The refused action.
        action: String,
    },
    /// The leaf lacks pqbank's staff claims (or some of the seven layers) where they are required.
    #[error("not a pqbank staff certificate")]
    NotStaffCertificate,
    /// The certificate is not of the server profile: it vouches for no TLS key.
    #[error("not a pqbank server certificate")]
    NotServerCertificate,
    /// A certificate of the chain is listed on its issuer's CRL.
    #[error("certificate at depth {depth} is revoked ({reason})")]
    Revoked {
        /// Position of the certificate.
        depth: usize,
        /// The CRL's reason code, in RFC 5280 words.
        reason: String,
    },
    /// A CRL's number is lower than the one pinned for its issuer.
    #[error("CRL number {found} is older than the pinned number {pinned}: rollback refused")]
    CrlRollback {
        /// Number of the offered CRL.
        found: u64,
        /// Highest number seen before.
        pinned: u64,
    },
    /// A CRL's signature does not verify under its issuer's key.
    #[error("CRL signature does not verify")]
    CrlSignature,
    /// A CRL's nextUpdate has passed.
    #[error("CRL is stale: its nextUpdate has passed")]
    CrlStale,
    /// A CRL is required for an issuer but none was given.
    #[error("no CRL for the issuer of certificate at depth {depth}")]
    CrlMissing {
        /// Position of the certificate whose issuer has no CRL.
        depth: usize,
    },
    /// The lineage extension names an issuer fingerprint other than the actual issuer's.
    #[error("lineage of certificate at depth {depth} does not name its issuer")]
    LineageMismatch {
        /// Position of the certificate.
        depth: usize,
    },
    /// The certificate is bound to a different device.
    #[error("certificate is bound to another device")]
    DeviceMismatch,

    // Login transcripts.
    /// The transcript signs another nonce than the one issued.
    #[error("login transcript signs another nonce")]
    NonceMismatch,
    /// The transcript is older than the challenge allows, or from the future.
    #[error("login transcript has expired")]
    TranscriptExpired,
    /// The transcript names another certificate.
    #[error("login transcript names another certificate")]
    CertificateMismatch,
    /// The transcript names another device.
    #[error("login transcript names another device")]
    TranscriptDeviceMismatch,
    /// The transcript names another origin.
    #[error("login transcript names another origin")]
    OriginMismatch,
}

impl Error {
    /// A stable machine-readable code, for exit statuses, JSON and the UI.
    #[must_use]
    pub fn code(&self) -> &'static str {
        self.kind().as_str()
    }
}
