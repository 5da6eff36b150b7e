//! SHA3-256 fingerprints (FIPS 202) of DER objects: the immutable hash of layer 2.

use core::fmt;

use sha3::{Digest, Sha3_256};
use subtle::ConstantTimeEq;

use crate::Error;

/// The SHA3-256 digest of an object's DER encoding.
#[derive(Clone, Copy, Eq, PartialOrd, Ord)]
pub struct Fingerprint([u8; 32]);

impl Fingerprint {
    /// The fingerprint of `der`.
    #[must_use]
    pub fn of(der: &[u8]) -> Self {
        Self(Sha3_256::digest(der).into())
    }

    /// Wraps 32 raw bytes.
    #[must_use]
    pub const fn from_bytes(bytes: [u8; 32]) -> Self {
        Self(bytes)
    }

    /// Parses 64 hex digits, with or without `:` separators, in any case.
    pub fn from_hex(text: &str) -> Result<Self, Error> {
        let digits: String = text.trim().chars().filter(|c| *c != ':').collect();
        let mut out = [0u8; 32];
        hex::decode_to_slice(&digits, &mut out)
            .map_err(|_| Error::Malformed("fingerprint is not 64 hex digits"))?;
        Ok(Self(out))
    }

    /// The raw digest.
    #[must_use]
    pub const fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }

    /// Lower-case hex.
    #[must_use]
    pub fn to_hex(&self) -> String {
        hex::encode(self.0)
    }
}

impl PartialEq for Fingerprint {
    /// Constant time: fingerprints guard trust decisions.
    fn eq(&self, other: &Self) -> bool {
        self.0.ct_eq(&other.0).into()
    }
}

impl core::hash::Hash for Fingerprint {
    fn hash<H: core::hash::Hasher>(&self, state: &mut H) {
        self.0.hash(state);
    }
}

impl fmt::Debug for Fingerprint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Fingerprint({})", self.to_hex())
    }
}

impl fmt::Display for Fingerprint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_hex())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Proves the digest is SHA3-256 (FIPS 202 example: the empty string) and hex round-trips.
    #[test]
    fn sha3_256_of_empty_and_hex_round_trip() {
        let fp = Fingerprint::of(b"");
        assert_eq!(
            fp.to_hex(),
            "a7ffc6f8bf1ed76651c14756a061d662f580ff4de43b49fa82d80a4b80f8434a"
        );
        assert_eq!(Fingerprint::from_hex(&fp.to_hex().to_uppercase()), Ok(fp));
        assert!(Fingerprint::from_hex("abcd").is_err());
    }
}
