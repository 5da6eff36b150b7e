//! The crate's own facade over the primitives: ML-DSA (FIPS 204), ML-KEM (FIPS 203),
//! Ed25519 (RFC 8032) and X25519 (RFC 7748).
//!
//! Every other module, and the known-answer tests, call these functions rather than the
//! backend crates, so a faster backend can replace RustCrypto's `ml-dsa` and `ml-kem`
//! under the same tests. Inputs are byte slices; lengths and the standards' input checks
//! are enforced here and reported as [`Error::InvalidKey`] or [`Error::Malformed`].

use ml_dsa::{EncodedVerifyingKey, MlDsa44, MlDsa65, MlDsa87, Signature, SigningKey, VerifyingKey};
use ml_kem::{Decapsulate, DecapsulationKey, EncapsulationKey, MlKem512, MlKem768, MlKem1024};
use zeroize::Zeroizing;

use crate::Error;

/// The three ML-DSA parameter sets of FIPS 204, Table 1.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MlDsaParams {
    /// ML-DSA-44 (security category 2).
    MlDsa44,
    /// ML-DSA-65 (security category 3): the one pqbank signs with.
    MlDsa65,
    /// ML-DSA-87 (security category 5).
    MlDsa87,
}

/// The three ML-KEM parameter sets of FIPS 203, Table 2.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MlKemParams {
    /// ML-KEM-512 (security category 1): pqbank's default for sealed bundles.
    MlKem512,
    /// ML-KEM-768 (security category 3): selectable for sealed bundles.
    MlKem768,
    /// ML-KEM-1024 (security category 5): implemented for the known-answer tests.
    MlKem1024,
}

impl MlDsaParams {
    /// Length of an encoded public key (FIPS 204, Table 2).
    #[must_use]
    pub const fn public_key_len(self) -> usize {
        match self {
            Self::MlDsa44 => 1312,
            Self::MlDsa65 => 1952,
            Self::MlDsa87 => 2592,
        }
    }

    /// Length of an encoded signature (FIPS 204, Table 2).
    #[must_use]
    pub const fn signature_len(self) -> usize {
        match self {
            Self::MlDsa44 => 2420,
            Self::MlDsa65 => 3309,
            Self::MlDsa87 => 4627,
        }
    }
}

impl MlKemParams {
    /// Length of an encapsulation key (FIPS 203, Section 8).
    #[must_use]
    pub const fn encapsulation_key_len(self) -> usize {
        match self {
            Self::MlKem512 => 800,
            Self::MlKem768 => 1184,
            Self::MlKem1024 => 1568,
        }
    }

    /// Length of a ciphertext (FIPS 203, Section 8).
    #[must_use]
    pub const fn ciphertext_len(self) -> usize {
        match self {
            Self::MlKem512 => 768,
            Self::MlKem768 => 1088,
            Self::MlKem1024 => 1568,
        }
    }
}

/// Dispatches a generic body over the ML-DSA parameter set.
macro_rules! with_mldsa {
    ($params:expr, $p:ident => $body:expr) => {
        match $params {
            MlDsaParams::MlDsa44 => {
                type $p = MlDsa44;
                $body
            }
            MlDsaParams::MlDsa65 => {
                type $p = MlDsa65;
                $body
            }
            MlDsaParams::MlDsa87 => {
                type $p = MlDsa87;
                $body
            }
        }
    };
}

/// Dispatches a generic body over the ML-KEM parameter set.
macro_rules! with_mlkem {
    ($params:expr, $p:ident => $body:expr) => {
        match $params {
            MlKemParams::MlKem512 => {
                type $p = MlKem512;
                $body
            }
            MlKemParams::MlKem768 => {
                type $p = MlKem768;
                $body
            }
            MlKemParams::MlKem1024 => {
                type $p = MlKem1024;
                $body
            }
        }
    };
}

/// ML-DSA.KeyGen_internal (FIPS 204, Algorithm 6): the encoded public key of a 32-byte seed.
#[must_use]
pub fn mldsa_public_key(params: MlDsaParams, seed: &[u8; 32]) -> Vec<u8> {
    with_mldsa!(params, P => {
        let key = SigningKey::<P>::from_seed(&(*seed).into());
        ml_dsa::Keypair::verifying_key(&key).encode().to_vec()
    })
}

/// ML-DSA.KeyGen_internal with the expanded private key encoding (FIPS 204, Algorithm 24),
/// as the keyGen known-answer vectors hold it.
#[must_use]
pub fn mldsa_keygen_expanded(
    params: MlDsaParams,
    seed: &[u8; 32],
) -> (Vec<u8>, Zeroizing<Vec<u8>>) {
    with_mldsa!(params, P => {
        let key = SigningKey::<P>::from_seed(&(*seed).into());
        let public = ml_dsa::Keypair::verifying_key(&key).encode().to_vec();
        #[allow(deprecated, reason = "FIPS 204's keyGen vectors hold the expanded encoding")]
        let expanded = key.expanded_key().to_expanded().to_vec();
        (public, Zeroizing::new(expanded))
    })
}

/// ML-DSA.Verify (FIPS 204, Algorithm 3): pure ML-DSA with a context string.
pub fn mldsa_verify(
    params: MlDsaParams,
    public_key: &[u8],
    message: &[u8],
    context: &[u8],
    signature: &[u8],
) -> Result<(), Error> {
    if context.len() > 255 {
        return Err(Error::ContextTooLong);
    }
    with_mldsa!(params, P => {
        let (key, sig) = decode_mldsa::<P>(public_key, signature)?;
        ok_if(key.verify_with_context(message, context, &sig))
    })
}

/// ML-DSA.Verify_internal (FIPS 204, Algorithm 8) over an already formatted message M'.
pub fn mldsa_verify_internal(
    params: MlDsaParams,
    public_key: &[u8],
    message_prime: &[u8],
    signature: &[u8],
) -> Result<(), Error> {
    with_mldsa!(params, P => {
        let (key, sig) = decode_mldsa::<P>(public_key, signature)?;
        ok_if(key.verify_internal(message_prime, &sig))
    })
}

/// ML-DSA verification from an externally computed 64-byte mu (FIPS 204, Algorithm 7, line 6).
pub fn mldsa_verify_mu(
    params: MlDsaParams,
    public_key: &[u8],
    mu: &[u8; 64],
    signature: &[u8],
) -> Result<(), Error> {
    with_mldsa!(params, P => {
        let (key, sig) = decode_mldsa::<P>(public_key, signature)?;
        ok_if(key.verify_mu(&(*mu).into(), &sig))
    })
}

fn decode_mldsa<P: ml_dsa::MlDsaParams>(
    public_key: &[u8],
    signature: &[u8],
) -> Result<(VerifyingKey<P>, Signature<P>), Error> {
    let encoded = EncodedVerifyingKey::<P>::try_from(public_key).map_err(|_| Error::InvalidKey)?;
    let key = VerifyingKey::<P>::decode(&encoded);
    // Signature decoding checks the hint encoding and the bound on z (FIPS 204, Algorithm 27).
    let sig = Signature::<P>::try_from(signature).map_err(|_| Error::BadSignature)?;
    Ok((key, sig))
}

fn ok_if(valid: bool) -> Result<(), Error> {
    if valid {
        Ok(())
    } else {
        Err(Error::BadSignature)
    }
}

/// An ML-DSA-65 signing key derived from its 32-byte seed.
pub(crate) struct MlDsa65Key(SigningKey<MlDsa65>);

impl MlDsa65Key {
    pub(crate) fn from_seed(seed: &[u8; 32]) -> Self {
        Self(SigningKey::from_seed(&(*seed).into()))
    }

    pub(crate) fn public_key(&self) -> Vec<u8> {
        ml_dsa::Keypair::verifying_key(&self.0).encode().to_vec()
    }

    /// Hedged ML-DSA.Sign (FIPS 204, Algorithm 2) with caller-supplied randomness `rnd`,
    /// expressed through Sign_internal over M' = 0 || |ctx| || ctx || M.
    pub(crate) fn sign(
        &self,
        message: &[u8],
        context: &[u8],
        rnd: &[u8; 32],
    ) -> Result<Vec<u8>, Error> {
        let ctx_len = u8::try_from(context.len()).map_err(|_| Error::ContextTooLong)?;
        let header = [0u8, ctx_len];
        let sig = self
            .0
            .expanded_key()
            .sign_internal(&[&header, context, message], &(*rnd).into());
        Ok(sig.encode().to_vec())
    }
}

/// ML-KEM.KeyGen_internal (FIPS 203, Algorithm 16): encapsulation key and expanded
/// decapsulation key from the seeds d and z.
#[must_use]
pub fn mlkem_keygen(
    params: MlKemParams,
    d: &[u8; 32],
    z: &[u8; 32],
) -> (Vec<u8>, Zeroizing<Vec<u8>>) {
    let seed = mlkem_seed(d, z);
    with_mlkem!(params, P => {
        let dk = DecapsulationKey::<P>::from_seed((*seed).into());
        let ek = ml_kem::KeyExport::to_bytes(dk.encapsulation_key()).to_vec();
        #[allow(deprecated, reason = "the expanded form is what FIPS 203's keyGen vectors hold")]
        let expanded = ml_kem::ExpandedKeyEncoding::to_expanded_bytes(&dk).to_vec();
        (ek, Zeroizing::new(expanded))
    })
}

/// The encapsulation key of the 64-byte seed d || z.
#[must_use]
pub fn mlkem_encapsulation_key(params: MlKemParams, seed: &[u8; 64]) -> Vec<u8> {
    with_mlkem!(params, P => {
        let dk = DecapsulationKey::<P>::from_seed((*seed).into());
        ml_kem::KeyExport::to_bytes(dk.encapsulation_key()).to_vec()
    })
}

/// ML-KEM.Encaps_internal (FIPS 203, Algorithm 17) with caller-supplied randomness `m`,
/// after the encapsulation key check of FIPS 203, Section 7.2.
pub fn mlkem_encapsulate(
    params: MlKemParams,
    encapsulation_key: &[u8],
    m: &[u8; 32],
) -> Result<(Vec<u8>, Zeroizing<[u8; 32]>), Error> {
    with_mlkem!(params, P => {
        let ek = EncapsulationKey::<P>::new(&ml_kem::array::Array::try_from(encapsulation_key).map_err(|_| Error::InvalidKey)?).map_err(|_| Error::InvalidKey)?;
        let (ct, shared) = ek.encapsulate_deterministic(&(*m).into());
        Ok((ct.to_vec(), Zeroizing::new(shared.into())))
    })
}

/// The encapsulation key check of FIPS 203, Section 7.2 (length and modulus check).
pub fn mlkem_check_encapsulation_key(
    params: MlKemParams,
    encapsulation_key: &[u8],
) -> Result<(), Error> {
    with_mlkem!(params, P => EncapsulationKey::<P>::new(&ml_kem::array::Array::try_from(encapsulation_key).map_err(|_| Error::InvalidKey)?).map_err(|_| Error::InvalidKey).map(|_| ()))
}

/// The decapsulation key check of FIPS 203, Section 7.3 on an expanded key (length,
/// embedded encapsulation key, and its hash H(ek)).
pub fn mlkem_check_decapsulation_key(params: MlKemParams, expanded: &[u8]) -> Result<(), Error> {
    with_mlkem!(params, P => {
        let encoded = ml_kem::array::Array::try_from(expanded).map_err(|_| Error::InvalidKey)?;
        #[allow(deprecated, reason = "FIPS 203's decapsulation key check is defined on the expanded form")]
        let dk = <DecapsulationKey<P> as ml_kem::ExpandedKeyEncoding>::from_expanded_bytes(&encoded);
        dk.map(|_| ()).map_err(|_| Error::InvalidKey)
    })
}

/// ML-KEM.Decaps (FIPS 203, Algorithm 18) with a key from its 64-byte seed d || z.
/// Implicit rejection: a changed ciphertext yields an unrelated key, never an error.
pub fn mlkem_decapsulate(
    params: MlKemParams,
    seed: &[u8; 64],
    ciphertext: &[u8],
) -> Result<Zeroizing<[u8; 32]>, Error> {
    with_mlkem!(params, P => {
        let dk = DecapsulationKey::<P>::from_seed((*seed).into());
        let ct = ml_kem::array::Array::try_from(ciphertext).map_err(|_| Error::Malformed("ML-KEM ciphertext length"))?;
        Ok(Zeroizing::new(dk.decapsulate(&ct).into()))
    })
}

/// ML-KEM.Decaps with an expanded decapsulation key, after the check of FIPS 203, Section 7.3.
pub fn mlkem_decapsulate_expanded(
    params: MlKemParams,
    expanded: &[u8],
    ciphertext: &[u8],
) -> Result<Zeroizing<[u8; 32]>, Error> {
    with_mlkem!(params, P => {
        let encoded = ml_kem::array::Array::try_from(expanded).map_err(|_| Error::InvalidKey)?;
        #[allow(deprecated, reason = "FIPS 203's decapsulation vectors carry expanded keys")]
        let dk = <DecapsulationKey<P> as ml_kem::ExpandedKeyEncoding>::from_expanded_bytes(&encoded)
            .map_err(|_| Error::InvalidKey)?;
        let ct = ml_kem::array::Array::try_from(ciphertext).map_err(|_| Error::Malformed("ML-KEM ciphertext length"))?;
        Ok(Zeroizing::new(dk.decapsulate(&ct).into()))
    })
}

fn mlkem_seed(d: &[u8; 32], z: &[u8; 32]) -> Zeroizing<[u8; 64]> {
    let mut seed = Zeroizing::new([0u8; 64]);
    seed[..32].copy_from_slice(d);
    seed[32..].copy_from_slice(z);
    seed
}

/// Ed25519 public key of a 32-byte seed (RFC 8032, Section 5.1.5).
#[must_use]
pub fn ed25519_public_key(seed: &[u8; 32]) -> [u8; 32] {
    ed25519_dalek::SigningKey::from_bytes(seed)
        .verifying_key()
        .to_bytes()
}

/// Ed25519 signature (RFC 8032, Section 5.1.6).
#[must_use]
pub fn ed25519_sign(seed: &[u8; 32], message: &[u8]) -> [u8; 64] {
    use ed25519_dalek::Signer;
    ed25519_dalek::SigningKey::from_bytes(seed)
        .sign(message)
        .to_bytes()
}

/// Strict Ed25519 verification: canonical encodings, no small-order keys, cofactorless
/// equation (RFC 8032, Section 5.1.7, as `ed25519-dalek`'s `verify_strict`).
pub fn ed25519_verify(public_key: &[u8], message: &[u8], signature: &[u8]) -> Result<(), Error> {
    let pk: [u8; 32] = public_key.try_into().map_err(|_| Error::InvalidKey)?;
    let sig: [u8; 64] = signature.try_into().map_err(|_| Error::BadSignature)?;
    let key = ed25519_dalek::VerifyingKey::from_bytes(&pk).map_err(|_| Error::InvalidKey)?;
    key.verify_strict(message, &ed25519_dalek::Signature::from_bytes(&sig))
        .map_err(|_| Error::BadSignature)
}

/// X25519 public key of a 32-byte secret (RFC 7748, Section 6.1).
#[must_use]
pub fn x25519_public_key(secret: &[u8; 32]) -> [u8; 32] {
    x25519_dalek::x25519(*secret, x25519_dalek::X25519_BASEPOINT_BYTES)
}

/// X25519 shared secret; an all-zero result (a low-order peer key) is refused as
/// RFC 7748, Section 6.1 allows.
pub fn x25519_shared(
    secret: &[u8; 32],
    peer_public: &[u8; 32],
) -> Result<Zeroizing<[u8; 32]>, Error> {
    let secret = x25519_dalek::StaticSecret::from(*secret);
    let shared = secret.diffie_hellman(&x25519_dalek::PublicKey::from(*peer_public));
    if shared.was_contributory() {
        Ok(Zeroizing::new(shared.to_bytes()))
    } else {
        Err(Error::InvalidKey)
    }
}
