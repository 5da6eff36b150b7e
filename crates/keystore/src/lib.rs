//! pqbank's device keys.
//!
//! A device holds three secrets: the 64-byte composite signing seed (ML-DSA-65 seed then
//! Ed25519 seed), the 64-byte ML-KEM seed and the 32-byte X25519 key of its sealed-bundle
//! recipient. They live in the OS keyring ([`OsKeyring`]: Secret Service on Linux) as one
//! versioned item per device, and never anywhere else; headless machines such as an
//! offline root CA may opt in to an [`EncryptedFile`] sealed under a passphrase
//! (Argon2id into ChaCha20-Poly1305). Secrets are zeroized on drop and never printed.
#![forbid(unsafe_code)]

mod file;
mod os;

use core::fmt;

use zeroize::{Zeroize, ZeroizeOnDrop, Zeroizing};

pub use file::{EncryptedFile, read_key_file, write_key_file};
pub use os::OsKeyring;

/// Why a key could not be stored or loaded.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeystoreError {
    /// No keyring could be reached (no session bus, no Secret Service, locked).
    #[error("the OS keyring is not reachable: {0}")]
    Unavailable(String),
    /// The device has no keys stored under this name.
    #[error("no keys stored for {0}")]
    NotFound(String),
    /// Stored bytes are not a pqbank key item.
    #[error("stored key material is malformed")]
    Malformed,
    /// The passphrase is wrong or the file was changed.
    #[error("wrong passphrase, or the key file was changed")]
    Decrypt,
    /// The file cannot be read or written.
    #[error("key file: {0}")]
    Io(String),
    /// The passphrase is too short.
    #[error("the passphrase must be at least {0} characters")]
    WeakPassphrase(usize),
}

/// Version byte of the serialized secrets.
const VERSION: u8 = 1;
/// Serialized length: version, composite seed, ML-KEM seed, X25519 key.
const ENCODED_LEN: usize = 1 + 64 + 64 + 32;

/// A device's secrets.
#[derive(Clone, PartialEq, Eq, Zeroize, ZeroizeOnDrop)]
pub struct DeviceSecrets {
    /// Composite signing seed.
    pub signing_seed: [u8; 64],
    /// ML-KEM seed d || z.
    pub kem_seed: [u8; 64],
    /// X25519 secret.
    pub x25519: [u8; 32],
}

impl fmt::Debug for DeviceSecrets {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("DeviceSecrets(<redacted>)")
    }
}

impl DeviceSecrets {
    /// Fresh secrets from the operating system's randomness.
    pub fn generate() -> Result<Self, KeystoreError> {
        let mut s = Self {
            signing_seed: [0; 64],
            kem_seed: [0; 64],
            x25519: [0; 32],
        };
        for buf in [
            &mut s.signing_seed[..],
            &mut s.kem_seed[..],
            &mut s.x25519[..],
        ] {
            getrandom::fill(buf)
                .map_err(|e| KeystoreError::Unavailable(format!("no randomness: {e}")))?;
        }
        Ok(s)
    }

    fn encode(&self) -> Zeroizing<Vec<u8>> {
        let mut out = Zeroizing::new(Vec::with_capacity(ENCODED_LEN));
        out.push(VERSION);
        out.extend_from_slice(&self.signing_seed);
        out.extend_from_slice(&self.kem_seed);
        out.extend_from_slice(&self.x25519);
        out
    }

    fn decode(bytes: &[u8]) -> Result<Self, KeystoreError> {
        if bytes.len() != ENCODED_LEN || bytes.first() != Some(&VERSION) {
            return Err(KeystoreError::Malformed);
        }
        let mut s = Self {
            signing_seed: [0; 64],
            kem_seed: [0; 64],
            x25519: [0; 32],
        };
        s.signing_seed.copy_from_slice(&bytes[1..65]);
        s.kem_seed.copy_from_slice(&bytes[65..129]);
        s.x25519.copy_from_slice(&bytes[129..161]);
        Ok(s)
    }
}

/// Where device secrets are kept.
pub trait KeyStore {
    /// Stores the secrets under `name`, replacing any before.
    fn store(&self, name: &str, secrets: &DeviceSecrets) -> Result<(), KeystoreError>;
    /// Loads the secrets stored under `name`.
    fn load(&self, name: &str) -> Result<DeviceSecrets, KeystoreError>;
    /// Removes the secrets stored under `name`.
    fn delete(&self, name: &str) -> Result<(), KeystoreError>;
}
