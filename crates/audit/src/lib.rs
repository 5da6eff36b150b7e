//! pqbank's accountability log, pure.
//!
//! - [`chain`]: every certificate has its own hash chain of signed events (login
//!   intents, acts, refusals), so tellers never contend on one global lock.
//! - [`merkle`]: checkpoints fold every event, in the order storage recorded them, into
//!   a Merkle tree hashed as RFC 9162 (Certificate Transparency 2.0), Section 2.1, with
//!   SHA3-256; inclusion and consistency proofs are made and verified as Sections
//!   2.1.3 and 2.1.4 describe.
//! - [`verified`]: what a clean verification of the log proved, kept by the verifier so
//!   that the next one reads only what came after.
#![forbid(unsafe_code)]

pub mod chain;
pub mod merkle;
pub mod verified;

/// A SHA3-256 digest.
pub type Hash = [u8; 32];

/// Why a proof or a chain does not verify.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AuditError {
    /// An inclusion proof does not lead to the root.
    #[error("inclusion proof does not verify")]
    InclusionProof,
    /// A consistency proof does not join the two roots.
    #[error("consistency proof does not verify")]
    ConsistencyProof,
    /// An index or size is out of range.
    #[error("index or tree size out of range")]
    OutOfRange,
    /// An event's sequence number is not the next one of its chain.
    #[error("event {seq}: sequence number breaks the chain")]
    Sequence {
        /// The event's sequence number.
        seq: u64,
    },
    /// An event's previous hash is not the hash of the event before it.
    #[error("event {seq}: previous hash does not match")]
    Link {
        /// The event's sequence number.
        seq: u64,
    },
    /// An event's stored hash is not the hash of its contents.
    #[error("event {seq}: contents do not match the stored hash")]
    Contents {
        /// The event's sequence number.
        seq: u64,
    },
    /// An event belongs to another certificate's chain.
    #[error("event {seq}: belongs to another chain")]
    ForeignEvent {
        /// The event's sequence number.
        seq: u64,
    },
}
