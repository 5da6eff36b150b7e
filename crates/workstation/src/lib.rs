//! pqbank's workstation: what a staff machine holds between the service and the screen.
//!
//! It opens the configured database (the embedded SQLite file by default, MySQL when
//! `PQBANK_DATABASE_URL` or the settings say so), builds a demo bank on first run when no
//! bank is configured, keeps the devices whose keys this machine holds in the OS keyring,
//! signs the user in with one of them, and turns each screen's request into one service
//! call. Every check happens in the service; this crate decides nothing it could skip.
//! No UI toolkit is imported here: the desktop shell (`src-tauri`) wraps these calls.
#![forbid(unsafe_code)]

mod bank;
mod codes;
mod configure;
mod dto;
mod ops;
mod settings;
mod setup;

use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use pqbank_keystore::KeyStore;
use pqbank_service::{Device, ServiceError, SessionToken};

pub use bank::Bank;
pub use codes::*;
pub use dto::*;
pub use settings::{LocalDevice, Settings, data_dir};
pub use setup::{DEMO_NEW_HIRE, Options};

/// The keyring service name of pqbank's device keys (the CLI uses the same).
pub const KEYRING_SERVICE: &str = "pqbank";

/// A key store shared with blocking tasks.
pub type Keys = Arc<dyn KeyStore + Send + Sync>;

/// The signed-in user: their session token and device stay here, never in the window.
struct Active {
    token: SessionToken,
    device: Arc<Device>,
    info: SessionInfo,
}

/// A workstation: one database, one pinned root, the devices held here, at most one
/// signed-in user.
pub struct Workstation {
    bank: Bank,
    settings: Mutex<Settings>,
    settings_path: PathBuf,
    reports_dir: PathBuf,
    keys: Keys,
    active: tokio::sync::Mutex<Option<Active>>,
    origin: String,
    demo: bool,
    url: String,
    /// When each idempotency key was first submitted: a retry signs the same request.
    drafts: Mutex<std::collections::HashMap<String, i64>>,
}

impl core::fmt::Debug for Workstation {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Workstation")
            .field("settings", &self.settings_path)
            .finish_non_exhaustive()
    }
}

/// The layer (1 to 7) a refusal belongs to, as DESIGN.md numbers them.
#[must_use]
pub fn layer_of(code: &str) -> Option<u8> {
    let leaf = code.rsplit('.').next().unwrap_or(code);
    Some(match leaf {
        "bad_signature"
        | "chain_signature"
        | "crl_signature"
        | "unsupported_algorithm"
        | "invalid_key" => 1,
        "root_not_pinned" => 2,
        "device_mismatch" | "transcript_device_mismatch" => 3,
        "action_not_allowed" | "role_not_allowed" | "not_staff_certificate" => 4,
        "revoked" | "crl_rollback" | "crl_stale" | "crl_missing" => 5,
        "lineage_mismatch"
        | "issuer_not_authorised"
        | "issuer_name_mismatch"
        | "key_id_mismatch"
        | "not_ca"
        | "path_len_exceeded"
        | "chain_too_long" => 6,
        "nonce_mismatch"
        | "transcript_expired"
        | "challenge_used"
        | "certificate_mismatch"
        | "origin_mismatch" => 7,
        _ => return None,
    })
}

impl From<ServiceError> for UiError {
    fn from(e: ServiceError) -> Self {
        let code = e.code();
        Self {
            layer: layer_of(&code),
            message: e.to_string(),
            code: e.kind().into(),
        }
    }
}

impl From<pqbank_keystore::KeystoreError> for UiError {
    fn from(e: pqbank_keystore::KeystoreError) -> Self {
        Self::new(WorkstationErrorCode::Keyring, e.to_string())
    }
}

impl From<pqbank_db::StoreError> for UiError {
    fn from(e: pqbank_db::StoreError) -> Self {
        ServiceError::Store(e).into()
    }
}

/// Runs a keyring call off the async threads (Secret Service calls block).
async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, UiError> + Send + 'static,
) -> Result<T, UiError> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| UiError::new(WorkstationErrorCode::Internal, e.to_string()))?
}

fn random<const N: usize>() -> Result<[u8; N], UiError> {
    let mut b = [0; N];
    getrandom::fill(&mut b)
        .map_err(|e| UiError::new(ServiceErrorCode::Device, format!("no randomness: {e}")))?;
    Ok(b)
}
