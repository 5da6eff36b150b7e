//! Composite ML-DSA-65 + Ed25519 signatures, `id-MLDSA65-Ed25519-SHA512`
//! (1.3.6.1.5.5.7.6.48), as draft-ietf-lamps-pq-composite-sigs specifies:
//!
//! - Section "Composite-ML-DSA.Sign": M' = Prefix || Label || len(ctx) || ctx || SHA-512(M);
//!   ML-DSA-65 signs M' with its context set to the Label; Ed25519 signs M'.
//! - Section "Serialization": the public key is the ML-DSA-65 key (1952 bytes) then the
//!   Ed25519 key (32); the signature is the ML-DSA-65 signature (3309) then the Ed25519
//!   signature (64); the private key is the ML-DSA seed (32) then the Ed25519 seed (32).
//!
//! Verification passes only if both component signatures verify: there is no code path
//! that accepts one half.

use core::fmt;

use sha2::{Digest, Sha512};
use zeroize::Zeroizing;

use crate::Error;
use crate::primitives::{self, MlDsa65Key, MlDsaParams};

/// The draft's fixed prefix, "CompositeAlgorithmSignatures2025" in ASCII.
pub const PREFIX: &[u8] = b"CompositeAlgorithmSignatures2025";
/// The label of `id-MLDSA65-Ed25519-SHA512` (draft, table of labels).
pub const LABEL: &[u8] = b"COMPSIG-MLDSA65-Ed25519-SHA512";

/// DER content octets of `id-MLDSA65-Ed25519-SHA512`, 1.3.6.1.5.5.7.6.48.
pub const OID_COMPOSITE: &[u8] = &[0x2b, 0x06, 0x01, 0x05, 0x05, 0x07, 0x06, 0x30];
/// DER content octets of `id-ml-dsa-65`, 2.16.840.1.101.3.4.3.18 (RFC 9881).
pub const OID_ML_DSA_65: &[u8] = &[0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x03, 0x12];

const MLDSA_PK_LEN: usize = MlDsaParams::MlDsa65.public_key_len();
const MLDSA_SIG_LEN: usize = MlDsaParams::MlDsa65.signature_len();
/// Length of a composite public key.
pub const PUBLIC_KEY_LEN: usize = MLDSA_PK_LEN + 32;
/// Length of a composite signature.
pub const SIGNATURE_LEN: usize = MLDSA_SIG_LEN + 64;
/// Length of a composite private key (two seeds).
pub const SEED_LEN: usize = 64;
/// Longest context string (FIPS 204, Algorithm 2).
pub const CONTEXT_LEN_MAX: usize = 255;

/// A composite private key: the 32-byte ML-DSA-65 seed then the 32-byte Ed25519 seed.
pub struct CompositeSigningKey {
    seed: Zeroizing<[u8; SEED_LEN]>,
    mldsa: MlDsa65Key,
    public: CompositeVerifyingKey,
}

impl fmt::Debug for CompositeSigningKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CompositeSigningKey")
            .field("public", &self.public)
            .finish_non_exhaustive()
    }
}

impl CompositeSigningKey {
    /// Derives both component keys from the 64-byte composite seed.
    #[must_use]
    pub fn from_seed(seed: &[u8; SEED_LEN]) -> Self {
        let (mldsa_seed, ed_seed) = split_seed(seed);
        let mldsa = MlDsa65Key::from_seed(&mldsa_seed);
        let mut public = mldsa.public_key();
        public.extend_from_slice(&primitives::ed25519_public_key(&ed_seed));
        Self {
            seed: Zeroizing::new(*seed),
            mldsa,
            public: CompositeVerifyingKey { bytes: public },
        }
    }

    /// The 64-byte seed, for storage in a key store. This is key material.
    #[must_use]
    pub fn seed(&self) -> &[u8; SEED_LEN] {
        &self.seed
    }

    /// The matching public key.
    #[must_use]
    pub fn verifying_key(&self) -> &CompositeVerifyingKey {
        &self.public
    }

    /// Composite-ML-DSA.Sign(sk, M, ctx). `rnd` is the 32 bytes of fresh randomness for
    /// hedged ML-DSA signing (FIPS 204, Algorithm 2); all zero gives the deterministic variant.
    pub fn sign(
        &self,
        message: &[u8],
        context: &[u8],
        rnd: &[u8; 32],
    ) -> Result<CompositeSignature, Error> {
        let m_prime = message_prime(message, context)?;
        let mut bytes = self.mldsa.sign(&m_prime, LABEL, rnd)?;
        let (_, ed_seed) = split_seed(&self.seed);
        bytes.extend_from_slice(&primitives::ed25519_sign(&ed_seed, &m_prime));
        Ok(CompositeSignature { bytes })
    }
}

fn split_seed(seed: &[u8; SEED_LEN]) -> (Zeroizing<[u8; 32]>, Zeroizing<[u8; 32]>) {
    let mut mldsa = Zeroizing::new([0u8; 32]);
    let mut ed = Zeroizing::new([0u8; 32]);
    mldsa.copy_from_slice(&seed[..32]);
    ed.copy_from_slice(&seed[32..]);
    (mldsa, ed)
}

/// M' = Prefix || Label || len(ctx) || ctx || SHA-512(M).
fn message_prime(message: &[u8], context: &[u8]) -> Result<Vec<u8>, Error> {
    let ctx_len = u8::try_from(context.len()).map_err(|_| Error::ContextTooLong)?;
    let mut m = Vec::with_capacity(PREFIX.len() + LABEL.len() + 1 + context.len() + 64);
    m.extend_from_slice(PREFIX);
    m.extend_from_slice(LABEL);
    m.push(ctx_len);
    m.extend_from_slice(context);
    m.extend_from_slice(&Sha512::digest(message));
    Ok(m)
}

/// A composite public key: ML-DSA-65 key then Ed25519 key.
#[derive(Clone, PartialEq, Eq)]
pub struct CompositeVerifyingKey {
    bytes: Vec<u8>,
}

impl fmt::Debug for CompositeVerifyingKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "CompositeVerifyingKey({}…)",
            hex::encode(&self.bytes[..8])
        )
    }
}

impl CompositeVerifyingKey {
    /// Parses the raw concatenation; the Ed25519 half must be a valid point.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, Error> {
        if bytes.len() != PUBLIC_KEY_LEN {
            return Err(Error::InvalidKey);
        }
        let ed: [u8; 32] = bytes[MLDSA_PK_LEN..]
            .try_into()
            .map_err(|_| Error::InvalidKey)?;
        ed25519_dalek::VerifyingKey::from_bytes(&ed).map_err(|_| Error::InvalidKey)?;
        Ok(Self {
            bytes: bytes.to_vec(),
        })
    }

    /// The encoded key, as it goes into a SubjectPublicKeyInfo.
    #[must_use]
    pub fn as_bytes(&self) -> &[u8] {
        &self.bytes
    }

    /// Composite-ML-DSA.Verify(pk, M, signature, ctx): both halves must verify.
    pub fn verify(&self, message: &[u8], context: &[u8], signature: &[u8]) -> Result<(), Error> {
        if signature.len() != SIGNATURE_LEN {
            return Err(Error::BadSignature);
        }
        let m_prime = message_prime(message, context)?;
        let (mldsa_pk, ed_pk) = self.bytes.split_at(MLDSA_PK_LEN);
        let (mldsa_sig, ed_sig) = signature.split_at(MLDSA_SIG_LEN);
        let mldsa =
            primitives::mldsa_verify(MlDsaParams::MlDsa65, mldsa_pk, &m_prime, LABEL, mldsa_sig);
        let ed = primitives::ed25519_verify(ed_pk, &m_prime, ed_sig);
        match (mldsa, ed) {
            (Ok(()), Ok(())) => Ok(()),
            _ => Err(Error::BadSignature),
        }
    }
}

/// A composite signature: ML-DSA-65 signature then Ed25519 signature.
#[derive(Clone, PartialEq, Eq)]
pub struct CompositeSignature {
    bytes: Vec<u8>,
}

impl fmt::Debug for CompositeSignature {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "CompositeSignature({}…)", hex::encode(&self.bytes[..8]))
    }
}

impl CompositeSignature {
    /// Wraps encoded signature bytes after a length check.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, Error> {
        if bytes.len() != SIGNATURE_LEN {
            return Err(Error::Malformed("composite signature length"));
        }
        Ok(Self {
            bytes: bytes.to_vec(),
        })
    }

    /// The encoded signature.
    #[must_use]
    pub fn as_bytes(&self) -> &[u8] {
        &self.bytes
    }

    /// The encoded signature, by value.
    #[must_use]
    pub fn into_bytes(self) -> Vec<u8> {
        self.bytes
    }
}

/// The signature algorithms a pqbank verifier accepts in certificates, CSRs and CRLs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SignatureAlgorithm {
    /// `id-MLDSA65-Ed25519-SHA512`: what pqbank signs with.
    MlDsa65Ed25519,
    /// `id-ml-dsa-65` (pure, empty context): accepted from other implementations.
    MlDsa65,
}

impl SignatureAlgorithm {
    /// Looks up the algorithm by the content octets of its OID.
    #[must_use]
    pub fn from_oid(oid: &[u8]) -> Option<Self> {
        match oid {
            OID_COMPOSITE => Some(Self::MlDsa65Ed25519),
            OID_ML_DSA_65 => Some(Self::MlDsa65),
            _ => None,
        }
    }

    /// Content octets of the algorithm's OID.
    #[must_use]
    pub fn oid(self) -> &'static [u8] {
        match self {
            Self::MlDsa65Ed25519 => OID_COMPOSITE,
            Self::MlDsa65 => OID_ML_DSA_65,
        }
    }

    /// Name of the algorithm, as the drafts and RFCs write it.
    #[must_use]
    pub fn name(self) -> &'static str {
        match self {
            Self::MlDsa65Ed25519 => "id-MLDSA65-Ed25519-SHA512",
            Self::MlDsa65 => "id-ml-dsa-65",
        }
    }

    /// Verifies `signature` over `message` with the empty context, as X.509 uses it.
    pub fn verify(self, public_key: &[u8], message: &[u8], signature: &[u8]) -> Result<(), Error> {
        match self {
            Self::MlDsa65Ed25519 => {
                CompositeVerifyingKey::from_bytes(public_key)?.verify(message, &[], signature)
            }
            Self::MlDsa65 => {
                primitives::mldsa_verify(MlDsaParams::MlDsa65, public_key, message, &[], signature)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Proves sign/verify round-trips, and that the context and message are bound.
    #[test]
    fn sign_verify_round_trip() {
        let key = CompositeSigningKey::from_seed(&[7u8; 64]);
        let sig = key
            .sign(b"message", b"ctx", &[1u8; 32])
            .unwrap_or_else(|e| panic!("{e}"));
        let pk = key.verifying_key();
        assert_eq!(pk.verify(b"message", b"ctx", sig.as_bytes()), Ok(()));
        assert_eq!(
            pk.verify(b"message", b"other", sig.as_bytes()),
            Err(Error::BadSignature)
        );
        assert_eq!(
            pk.verify(b"massage", b"ctx", sig.as_bytes()),
            Err(Error::BadSignature)
        );
        assert_eq!(
            key.sign(b"m", &[0u8; 256], &[0u8; 32]).err(),
            Some(Error::ContextTooLong)
        );
    }
}
