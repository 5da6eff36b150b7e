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
        let hex_of = |text: &str, len: usize, what: &str| {
            hex::decode(text)
                .ok()
                .filter(|b| b.len() == len)
                .map(|_| ())
                .ok_or_else(|| format!("{what} is not {len} bytes of hex"))
        };
        hex_of(&staff.root, 32, "the root")?;
        for p in &staff.people {
            hex_of(&p.certificate, 32, "a certificate")?;
            hex_of(&p.signing_seed, 64, "a signing seed")?;
            hex_of(&p.kem_seed, 64, "an ML-KEM seed")?;
            hex_of(&p.x25519, 32, "an X25519 secret")?;
            if hex::decode(&p.device_id).map_or(true, |d| d.is_empty() || d.len() > 64) {
                return Err("a device identifier is not 1 to 64 bytes of hex".into());
            }
        }
        Ok(staff)
    }
}
