//! Per-certificate hash chains: each event commits to the one before it, and its hash is
//! what the device signs and what the Merkle checkpoints fold in.

use sha3::{Digest, Sha3_256};
use subtle::ConstantTimeEq;

use crate::{AuditError, Hash};

/// Domain label of an event's hash when the chain's own device signed it.
pub const EVENT_LABEL: &[u8] = b"pqbank/event/v1";
/// Domain label of an event's hash when a bank server signed it over a device's request.
pub const EVENT_LABEL_V2: &[u8] = b"pqbank/event/v2";
/// The previous hash of a chain's first event.
pub const GENESIS: Hash = [0; 32];

/// One event of a certificate's chain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Event {
    /// Fingerprint of the certificate whose chain this is.
    pub certificate: Hash,
    /// Position in the chain, from 0.
    pub seq: u64,
    /// Hash of the previous event, or [`GENESIS`].
    pub prev_hash: Hash,
    /// What happened: "login", "transfer.post", "refused", ...
    pub kind: String,
    /// The act's canonical bytes or a digest of them.
    pub payload: Vec<u8>,
    /// When, in UNIX seconds.
    pub created_at: i64,
    /// Who signed the hash: `None`, the chain's own device (format v1); otherwise the
    /// fingerprint of the bank server's certificate, which acted on `request` (v2).
    pub server: Option<Hash>,
    /// The device's signed request the server acted on (v2); empty in v1.
    pub request: Vec<u8>,
}

impl Event {
    /// SHA3-256 over the label and every field, length-prefixed; a v2 event's label is
    /// [`EVENT_LABEL_V2`] and its server and request follow the v1 fields.
    #[must_use]
    pub fn hash(&self) -> Hash {
        let mut h = Sha3_256::new();
        h.update(if self.server.is_some() {
            EVENT_LABEL_V2
        } else {
            EVENT_LABEL
        });
        h.update(self.certificate);
        h.update(self.seq.to_be_bytes());
        h.update(self.prev_hash);
        h.update((self.kind.len() as u64).to_be_bytes());
        h.update(self.kind.as_bytes());
        h.update((self.payload.len() as u64).to_be_bytes());
        h.update(&self.payload);
        h.update(self.created_at.to_be_bytes());
        if let Some(server) = &self.server {
            h.update(server);
            h.update((self.request.len() as u64).to_be_bytes());
            h.update(&self.request);
        }
        h.finalize().into()
    }

    /// The event that follows `previous` (or starts a chain when there is none).
    #[must_use]
    pub fn next(
        certificate: Hash,
        previous: Option<(&Event, &Hash)>,
        kind: &str,
        payload: Vec<u8>,
        created_at: i64,
    ) -> Self {
        let (seq, prev_hash) = match previous {
            Some((e, h)) => (e.seq + 1, *h),
            None => (0, GENESIS),
        };
        Self {
            certificate,
            seq,
            prev_hash,
            kind: kind.to_owned(),
            payload,
            created_at,
            server: None,
            request: Vec::new(),
        }
    }
}

/// Checks a whole chain: consecutive sequence numbers from 0, each previous hash the
/// hash of the event before, each stored hash the hash of its contents. Returns the
/// head's hash.
pub fn verify_chain(certificate: &Hash, events: &[(Event, Hash)]) -> Result<Hash, AuditError> {
    verify_chain_from(certificate, 0, GENESIS, events)
}

/// Checks a chain's continuation: `events` must follow an already verified part of
/// `first` events whose head hash is `head` ([`GENESIS`] when `first` is 0), with
/// consecutive sequence numbers from `first`, each linked and hashed as in
/// [`verify_chain`]. Returns the new head's hash.
pub fn verify_chain_from(
    certificate: &Hash,
    first: u64,
    head: Hash,
    events: &[(Event, Hash)],
) -> Result<Hash, AuditError> {
    let mut expected_prev = head;
    for ((event, stored), want) in events.iter().zip(first..) {
        if !bool::from(event.certificate.ct_eq(certificate)) {
            return Err(AuditError::ForeignEvent { seq: event.seq });
        }
        if event.seq != want {
            return Err(AuditError::Sequence { seq: event.seq });
        }
        if !bool::from(event.prev_hash.ct_eq(&expected_prev)) {
            return Err(AuditError::Link { seq: event.seq });
        }
        let hash = event.hash();
        if !bool::from(hash.ct_eq(stored)) {
            return Err(AuditError::Contents { seq: event.seq });
        }
        expected_prev = hash;
    }
    Ok(expected_prev)
}
