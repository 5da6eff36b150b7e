//! Sealed bundles: hybrid public-key encryption for certificate delivery and session
//! bootstrap secrets. ML-KEM (FIPS 203; 512 by default, 768 selectable) and X25519
//! (RFC 7748) each give a shared secret; SHA3-256 binds both secrets, both ciphertexts
//! and the recipient's keys into one ChaCha20-Poly1305 key (RFC 8439). Either component
//! alone keeps the bundle confidential.
//!
//! Authentication never rests on a bundle: what it carries (a certificate) is verified
//! on its own.
//!
//! ```text
//! bundle    = "PQBSEAL1" || suite[1] || ML-KEM ciphertext || X25519 ephemeral[32]
//!             || AEAD ciphertext (plaintext + 16-byte tag)
//! key       = SHA3-256("pqbank/seal/v1" || suite || ss_kem || ss_x25519 || ct_kem
//!             || ephemeral || recipient X25519 || SHA3-256(recipient ML-KEM key))
//! aad       = "PQBSEAL1" || suite || u8 len || purpose
//! recipient = "PQBRCPT1" || suite[1] || ML-KEM encapsulation key || X25519 public[32]
//! ```
//!
//! The key is fresh for every bundle (new ML-KEM randomness and a new ephemeral X25519
//! key), so the AEAD nonce is fixed at zero.

use chacha20poly1305::ChaCha20Poly1305;
use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use sha3::{Digest, Sha3_256};
use zeroize::Zeroizing;

use crate::Error;
use crate::primitives::{self, MlKemParams};

/// Magic at the start of a bundle.
pub const MAGIC: &[u8; 8] = b"PQBSEAL1";
/// Magic at the start of a recipient public key.
pub const RECIPIENT_MAGIC: &[u8; 8] = b"PQBRCPT1";
/// Domain label of the key derivation.
pub const KEY_LABEL: &[u8] = b"pqbank/seal/v1";
/// Largest plaintext sealed.
pub const PLAINTEXT_LEN_MAX: usize = 1024 * 1024;
/// Longest purpose label.
pub const PURPOSE_LEN_MAX: usize = 255;
const TAG_LEN: usize = 16;

/// The KEM combination a bundle uses; its byte is written into the bundle.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Suite {
    /// ML-KEM-512 + X25519: the default.
    MlKem512X25519,
    /// ML-KEM-768 + X25519.
    MlKem768X25519,
}

impl Suite {
    /// The byte that names the suite.
    #[must_use]
    pub const fn id(self) -> u8 {
        match self {
            Self::MlKem512X25519 => 1,
            Self::MlKem768X25519 => 2,
        }
    }

    /// The suite named by `id`.
    pub fn from_id(id: u8) -> Result<Self, Error> {
        match id {
            1 => Ok(Self::MlKem512X25519),
            2 => Ok(Self::MlKem768X25519),
            _ => Err(Error::UnsupportedAlgorithm),
        }
    }

    /// The ML-KEM parameter set.
    #[must_use]
    pub const fn kem(self) -> MlKemParams {
        match self {
            Self::MlKem512X25519 => MlKemParams::MlKem512,
            Self::MlKem768X25519 => MlKemParams::MlKem768,
        }
    }

    /// Human-readable name.
    #[must_use]
    pub const fn name(self) -> &'static str {
        match self {
            Self::MlKem512X25519 => "ML-KEM-512+X25519",
            Self::MlKem768X25519 => "ML-KEM-768+X25519",
        }
    }
}

/// A recipient's private keys: the ML-KEM seed d || z and the X25519 secret.
pub struct RecipientSecret {
    suite: Suite,
    kem_seed: Zeroizing<[u8; 64]>,
    x25519: Zeroizing<[u8; 32]>,
    public: RecipientPublic,
}

impl core::fmt::Debug for RecipientSecret {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("RecipientSecret")
            .field("suite", &self.suite)
            .finish_non_exhaustive()
    }
}

/// A recipient's public keys.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecipientPublic {
    suite: Suite,
    kem: Vec<u8>,
    x25519: [u8; 32],
}

/// The randomness one seal consumes. Taken by value and not `Clone`: reusing it would
/// repeat the bundle key under the fixed nonce.
pub struct SealRandomness {
    /// ML-KEM encapsulation randomness m.
    pub kem: [u8; 32],
    /// The ephemeral X25519 secret.
    pub x25519: [u8; 32],
}

impl RecipientSecret {
    /// Keys from seeds (randomness from the caller).
    #[must_use]
    pub fn from_seeds(suite: Suite, kem_seed: &[u8; 64], x25519: &[u8; 32]) -> Self {
        let public = RecipientPublic {
            suite,
            kem: primitives::mlkem_encapsulation_key(suite.kem(), kem_seed),
            x25519: primitives::x25519_public_key(x25519),
        };
        Self {
            suite,
            kem_seed: Zeroizing::new(*kem_seed),
            x25519: Zeroizing::new(*x25519),
            public,
        }
    }

    /// The suite.
    #[must_use]
    pub fn suite(&self) -> Suite {
        self.suite
    }

    /// The ML-KEM seed, for a key store. This is key material.
    #[must_use]
    pub fn kem_seed(&self) -> &[u8; 64] {
        &self.kem_seed
    }

    /// The X25519 secret, for a key store. This is key material.
    #[must_use]
    pub fn x25519_secret(&self) -> &[u8; 32] {
        &self.x25519
    }

    /// The matching public keys.
    #[must_use]
    pub fn public(&self) -> RecipientPublic {
        self.public.clone()
    }
}

impl RecipientPublic {
    /// The suite.
    #[must_use]
    pub fn suite(&self) -> Suite {
        self.suite
    }

    /// Wire form.
    #[must_use]
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(9 + self.kem.len() + 32);
        out.extend_from_slice(RECIPIENT_MAGIC);
        out.push(self.suite.id());
        out.extend_from_slice(&self.kem);
        out.extend_from_slice(&self.x25519);
        out
    }

    /// Parses the wire form and runs FIPS 203's encapsulation key check.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, Error> {
        let rest = bytes
            .strip_prefix(RECIPIENT_MAGIC.as_slice())
            .ok_or(Error::Malformed("not a pqbank recipient key"))?;
        let (&id, rest) = rest
            .split_first()
            .ok_or(Error::Malformed("truncated recipient key"))?;
        let suite = Suite::from_id(id)?;
        let ek_len = suite.kem().encapsulation_key_len();
        if rest.len() != ek_len + 32 {
            return Err(Error::Malformed("recipient key length"));
        }
        let (kem, x) = rest.split_at(ek_len);
        primitives::mlkem_check_encapsulation_key(suite.kem(), kem)?;
        let x25519: [u8; 32] = x.try_into().map_err(|_| Error::InvalidKey)?;
        Ok(Self {
            suite,
            kem: kem.to_vec(),
            x25519,
        })
    }

    /// SHA3-256 of the wire form: what an enrolment request's code covers.
    #[must_use]
    pub fn fingerprint(&self) -> crate::Fingerprint {
        crate::Fingerprint::of(&self.to_bytes())
    }
}

/// Seals `plaintext` to `recipient` for `purpose` (for example "certificate-delivery").
pub fn seal(
    recipient: &RecipientPublic,
    purpose: &str,
    plaintext: &[u8],
    randomness: SealRandomness,
) -> Result<Vec<u8>, Error> {
    if plaintext.len() > PLAINTEXT_LEN_MAX {
        return Err(Error::InvalidRequest("plaintext too large"));
    }
    let suite = recipient.suite;
    let (kem_ct, kem_ss) =
        primitives::mlkem_encapsulate(suite.kem(), &recipient.kem, &randomness.kem)?;
    let ephemeral = primitives::x25519_public_key(&randomness.x25519);
    let x_ss = primitives::x25519_shared(&randomness.x25519, &recipient.x25519)?;
    let key = derive_key(suite, &kem_ss, &x_ss, &kem_ct, &ephemeral, recipient);
    let aad = aad(suite, purpose)?;
    let sealed = ChaCha20Poly1305::new(&(*key).into())
        .encrypt(
            &[0u8; 12].into(),
            Payload {
                msg: plaintext,
                aad: &aad,
            },
        )
        .map_err(|_| Error::InvalidRequest("plaintext too large"))?;
    let mut out = Vec::with_capacity(9 + kem_ct.len() + 32 + sealed.len());
    out.extend_from_slice(MAGIC);
    out.push(suite.id());
    out.extend_from_slice(&kem_ct);
    out.extend_from_slice(&ephemeral);
    out.extend_from_slice(&sealed);
    Ok(out)
}

/// Opens a bundle. Every failure (changed byte, wrong recipient, wrong purpose,
/// truncation) is the same opaque [`Error::SealOpen`], except a bundle that is not a
/// bundle at all or names another suite than the recipient's keys.
pub fn open(
    secret: &RecipientSecret,
    purpose: &str,
    bundle: &[u8],
) -> Result<Zeroizing<Vec<u8>>, Error> {
    let rest = bundle
        .strip_prefix(MAGIC.as_slice())
        .ok_or(Error::Malformed("not a pqbank sealed bundle"))?;
    let (&id, rest) = rest.split_first().ok_or(Error::SealOpen)?;
    let suite = Suite::from_id(id)?;
    if suite != secret.suite {
        return Err(Error::UnsupportedAlgorithm);
    }
    let ct_len = suite.kem().ciphertext_len();
    if rest.len() < ct_len + 32 + TAG_LEN {
        return Err(Error::SealOpen);
    }
    let (kem_ct, rest) = rest.split_at(ct_len);
    let (eph, sealed) = rest.split_at(32);
    let ephemeral: [u8; 32] = eph.try_into().map_err(|_| Error::SealOpen)?;
    let kem_ss = primitives::mlkem_decapsulate(suite.kem(), &secret.kem_seed, kem_ct)?;
    let x_ss =
        primitives::x25519_shared(&secret.x25519, &ephemeral).map_err(|_| Error::SealOpen)?;
    let key = derive_key(suite, &kem_ss, &x_ss, kem_ct, &ephemeral, &secret.public);
    let aad = aad(suite, purpose)?;
    ChaCha20Poly1305::new(&(*key).into())
        .decrypt(
            &[0u8; 12].into(),
            Payload {
                msg: sealed,
                aad: &aad,
            },
        )
        .map(Zeroizing::new)
        .map_err(|_| Error::SealOpen)
}

fn derive_key(
    suite: Suite,
    kem_ss: &[u8; 32],
    x_ss: &[u8; 32],
    kem_ct: &[u8],
    ephemeral: &[u8; 32],
    recipient: &RecipientPublic,
) -> Zeroizing<[u8; 32]> {
    let mut h = Sha3_256::new();
    h.update(KEY_LABEL);
    h.update([suite.id()]);
    h.update(kem_ss);
    h.update(x_ss);
    h.update(kem_ct);
    h.update(ephemeral);
    h.update(recipient.x25519);
    h.update(Sha3_256::digest(&recipient.kem));
    Zeroizing::new(h.finalize().into())
}

fn aad(suite: Suite, purpose: &str) -> Result<Vec<u8>, Error> {
    let len = u8::try_from(purpose.len()).map_err(|_| Error::InvalidRequest("purpose too long"))?;
    let mut out = Vec::with_capacity(10 + purpose.len());
    out.extend_from_slice(MAGIC);
    out.push(suite.id());
    out.push(len);
    out.extend_from_slice(purpose.as_bytes());
    Ok(out)
}
