//! The installation's settings file: which bank (the embedded SQLite file, or a branch's
//! pqbank-server), which root is pinned, which devices this machine holds keys for.
//! Shared with the CLI (`pqbank demo` writes the same file).

use std::path::{Path, PathBuf};

use std::os::unix::fs::OpenOptionsExt;

use serde::{Deserialize, Serialize};

use crate::{UiError, WorkstationErrorCode};

/// Where the embedded database and the settings live: `$XDG_DATA_HOME/pqbank`, else
/// `~/.local/share/pqbank`.
#[must_use]
pub fn data_dir() -> PathBuf {
    std::env::var_os("XDG_DATA_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".local/share")))
        .unwrap_or_else(|| PathBuf::from("."))
        .join("pqbank")
}

/// A device whose keys this machine holds in the OS keyring.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LocalDevice {
    /// The keyring item holding its secrets.
    pub keyring: String,
    /// The device identifier, hex.
    pub id: String,
    /// Its certificate's SHA3-256 fingerprint, hex (empty while enrolment is pending).
    pub certificate: String,
    /// The staff member's name.
    pub name: String,
    /// The certificate's role.
    pub role: pqbank_pki::Role,
    /// A pending enrolment request, until its certificate is collected.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enrolment: Option<i64>,
    /// Where the bank that issued it lives (the embedded database's URL or the
    /// server's); `None` in files from before this field.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub database: Option<String>,
    /// The short code this device computed for its pending enrolment request.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code: Option<String>,
    /// The pending request's CSR fingerprint (hex), for its QR code.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub csr: Option<String>,
}

/// The settings file.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Settings {
    /// The embedded database's URL (`sqlite://PATH`); none means the default file.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub database: Option<String>,
    /// A branch's pqbank-server (`https://host:port`): when set, the workstation works
    /// with the bank there and opens no database.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub server: Option<String>,
    /// The pinned root's fingerprint, hex.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pinned_root: Option<String>,
    /// Devices held here.
    #[serde(default)]
    pub devices: Vec<LocalDevice>,
    /// Anything else (the CLI's keys), kept as it was.
    #[serde(flatten)]
    pub other: serde_json::Map<String, serde_json::Value>,
}

impl Settings {
    /// Reads the file; a missing file is empty settings, a corrupt one an error.
    pub fn load(path: &Path) -> Result<Self, UiError> {
        match std::fs::read(path) {
            Ok(bytes) => serde_json::from_slice(&bytes).map_err(|e| {
                UiError::logged(
                    WorkstationErrorCode::SettingsCorrupt,
                    format!("the settings file {} is not valid", path.display()),
                    &e,
                )
            }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Self::default()),
            Err(e) => Err(UiError::io(path, &e)),
        }
    }

    /// Writes the file atomically (a temporary file renamed over it).
    pub fn save(&self, path: &Path) -> Result<(), UiError> {
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).map_err(|e| UiError::io(parent, &e))?;
        }
        let tmp = path.with_extension("json.tmp");
        let bytes = serde_json::to_vec_pretty(self).map_err(|e| {
            UiError::logged(
                WorkstationErrorCode::SettingsWrite,
                "the settings could not be encoded",
                &e,
            )
        })?;
        // Only this user may read it: it says which keyring items are whose.
        let mut file = std::fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(0o600)
            .open(&tmp)
            .map_err(|e| UiError::io(&tmp, &e))?;
        std::io::Write::write_all(&mut file, &bytes).map_err(|e| UiError::io(&tmp, &e))?;
        drop(file);
        std::fs::rename(&tmp, path).map_err(|e| UiError::io(path, &e))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn settings_round_trip_and_keep_unknown_keys() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("settings.json");
        std::fs::write(
            &path,
            br#"{"database":"sqlite:///x.db","device":{"keyring":"k"}}"#,
        )
        .unwrap();
        let mut s = Settings::load(&path).unwrap();
        assert_eq!(s.database.as_deref(), Some("sqlite:///x.db"));
        s.pinned_root = Some("ab".into());
        s.save(&path).unwrap();
        let again = Settings::load(&path).unwrap();
        assert_eq!(again, s);
        assert!(again.other.contains_key("device"));
    }

    #[test]
    fn corrupt_settings_are_an_error_not_a_reset() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("settings.json");
        std::fs::write(&path, b"{not json").unwrap();
        assert_eq!(
            Settings::load(&path).unwrap_err().code,
            WorkstationErrorCode::SettingsCorrupt.into()
        );
        assert_eq!(
            Settings::load(&dir.path().join("none")).unwrap(),
            Settings::default()
        );
    }
}
