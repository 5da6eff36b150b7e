//! The demo staff file: a demo bank's staff and their device keys, as `pqbank-server
//! demo` writes it beside its state and `pqbank branch-demo` adopts it on a branch
//! workstation. Demo keys only: a real branch enrols each device.

use pqbank_pki::Role;

/// Largest demo staff file read.
pub const STAFF_FILE_LEN_MAX: usize = 64 * 1024;

/// A demo bank's staff as a branch workstation adopts them (`pqbank branch-demo`): who
/// they are and their device keys. `pqbank-server demo` writes it beside its state
/// (mode 0600).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DemoStaff {
    /// The root fingerprint the workstation pins (hex).
    pub root: String,
    /// Managers, tellers and the auditor.
    pub people: Vec<DemoStaffMember>,
}

/// One demo staff member and their device's keys (hex).
#[derive(Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DemoStaffMember {
    /// Name.
    pub name: String,
    /// Role.
    pub role: Role,
    /// Certificate fingerprint.
    pub certificate: String,
    /// Device identifier.
    pub device_id: String,
    /// Composite signing seed (64 bytes).
    pub signing_seed: String,
    /// ML-KEM seed (64 bytes).
    pub kem_seed: String,
    /// X25519 secret (32 bytes).
    pub x25519: String,
}

impl core::fmt::Debug for DemoStaffMember {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("DemoStaffMember")
            .field("name", &self.name)
            .field("certificate", &self.certificate)
            .finish_non_exhaustive()
    }
}

/// A demo staff member's device keys as bytes (what [`DemoStaffMember`] holds in hex).
pub struct DemoKeys {
    /// Device identifier.
    pub device_id: Vec<u8>,
    /// Certificate fingerprint.
    pub certificate: [u8; 32],
    /// Composite signing seed.
    pub signing_seed: [u8; 64],
    /// ML-KEM seed.
    pub kem_seed: [u8; 64],
    /// X25519 secret.
    pub x25519: [u8; 32],
}

impl core::fmt::Debug for DemoKeys {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("DemoKeys")
            .field("certificate", &hex::encode(self.certificate))
            .finish_non_exhaustive()
    }
}

impl DemoStaffMember {
    /// The member's keys as bytes.
    ///
    /// # Errors
    /// Which one is not hex of its length (a file [`DemoStaff::from_json`] read has none).
    pub fn keys(&self) -> Result<DemoKeys, String> {
        fn bytes<const N: usize>(text: &str, what: &str) -> Result<[u8; N], String> {
            hex::decode(text)
                .ok()
                .and_then(|b| <[u8; N]>::try_from(b).ok())
                .ok_or_else(|| format!("{what} is not {N} bytes of hex"))
        }
        let device_id = hex::decode(&self.device_id)
            .ok()
            .filter(|d| (1..=64).contains(&d.len()))
            .ok_or("a device identifier is not 1 to 64 bytes of hex")?;
        Ok(DemoKeys {
            device_id,
            certificate: bytes(&self.certificate, "a certificate")?,
            signing_seed: bytes(&self.signing_seed, "a signing seed")?,
            kem_seed: bytes(&self.kem_seed, "an ML-KEM seed")?,
            x25519: bytes(&self.x25519, "an X25519 secret")?,
        })
    }
}

impl DemoStaff {
    /// Reads a staff file: at most [`STAFF_FILE_LEN_MAX`] bytes of JSON of this shape,
    /// every fingerprint and key of its length.
    ///
    /// # Errors
    /// What is wrong with it, in words.
    pub fn from_json(bytes: &[u8]) -> Result<Self, String> {
        if bytes.len() > STAFF_FILE_LEN_MAX {
            return Err(format!(
                "a staff file is at most {STAFF_FILE_LEN_MAX} bytes"
            ));
        }
        let staff: Self =
            serde_json::from_slice(bytes).map_err(|e| format!("not a demo staff file: {e}"))?;
        hex::decode(&staff.root)
            .ok()
            .filter(|b| b.len() == 32)
            .ok_or("the root is not 32 bytes of hex")?;
        for p in &staff.people {
            p.keys()?;
        }
        Ok(staff)
    }
}
