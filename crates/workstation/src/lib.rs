//! pqbank's workstation: what a staff machine holds between the service and the screen.
//!
//! It works with one bank: the embedded one (the service in this process on the SQLite
//! file, built as the demo bank on a first run) or a branch's pqbank-server, reached over
//! TLS under the pinned root; it never holds a shared database's credentials. It keeps
//! the devices whose keys this machine holds in the OS keyring, signs the user in with
//! one of them, and turns each screen's request into one call of the signed-in staff
//! member's `pqbank_api::Bank`, the same on either link. Every check happens in the
//! service; this crate decides nothing it could skip. No UI toolkit is imported here:
//! the desktop shell (`src-tauri`) wraps these calls.
#![forbid(unsafe_code)]

mod codes;
mod configure;
mod dto;
mod link;
pub mod logs;
mod ops;
mod settings;
mod setup;

use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use pqbank_api::wire::ErrorBody;
use pqbank_keystore::KeyStore;
use pqbank_service::ServiceError;

pub use codes::*;
pub use dto::*;
pub use link::server_addr;
pub use logs::log_file;
pub use pqbank_service::layer_of;
pub use settings::{LocalDevice, Settings, data_dir};
pub use setup::{DEMO_NEW_HIRE, Options, adopt_demo_branch};

/// The keyring service name of pqbank's device keys (the CLI uses the same).
pub const KEYRING_SERVICE: &str = "pqbank";

/// A key store shared with blocking tasks.
pub type Keys = Arc<dyn KeyStore + Send + Sync>;

/// The signed-in user: their session (token or session secret) and device stay here,
/// never in the window.
struct Active {
    bank: Arc<link::Signed>,
    info: SessionInfo,
    /// The numbers of the accounts the screens showed this session, for receipts.
    numbers: Arc<Mutex<std::collections::BTreeMap<i64, String>>>,
}

/// A workstation: one bank (embedded or a server), one pinned root, the devices held
/// here, at most one signed-in user.
pub struct Workstation {
    link: link::Link,
    settings: Mutex<Settings>,
    settings_path: PathBuf,
    reports_dir: PathBuf,
    keys: Keys,
    active: tokio::sync::Mutex<Option<Active>>,
    origin: String,
    demo: bool,
    /// Where the bank is (the SQLite file, or the server's URL), for the screens.
    location: String,
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

impl From<ErrorBody> for UiError {
    /// A refusal as the bank answered it (in process or from pqbank-server): its code
    /// and sentence; a code this build does not know is kept in the sentence.
    fn from(e: ErrorBody) -> Self {
        match ErrorCode::parse(&e.code) {
            Some(code) => Self {
                layer: layer_of(&e.code),
                message: e.message,
                code,
            },
            None => {
                tracing::warn!(
                    code = e.code.as_str(),
                    "the bank answered with an unknown code"
                );
                Self::new(
                    WorkstationErrorCode::Internal,
                    format!("the bank refused ({}): {}", e.code, e.message),
                )
            }
        }
    }
}

impl From<pqbank_keystore::KeystoreError> for UiError {
    /// The keyring's own words (D-Bus errors and the like) go to the log.
    fn from(e: pqbank_keystore::KeystoreError) -> Self {
        use pqbank_keystore::KeystoreError as K;
        tracing::warn!(code = "keyring", layer = "device", detail = %e, "the key store failed");
        let message = match &e {
            K::Unavailable(_) => "the system keyring is not reachable: unlock it and try again",
            K::NotFound(_) => "this machine's keyring holds no keys for that device",
            K::Malformed => "the keys stored for that device are damaged",
            K::Io(_) => "the key file cannot be read or written",
            K::Decrypt | K::WeakPassphrase(_) => {
                return Self::new(WorkstationErrorCode::Keyring, e.to_string());
            }
            _ => "the key store failed",
        };
        Self::new(WorkstationErrorCode::Keyring, message)
    }
}

impl From<pqbank_db::StoreError> for UiError {
    fn from(e: pqbank_db::StoreError) -> Self {
        pqbank_service::log_store_error(&e);
        ServiceError::Store(e).into()
    }
}

/// A device as the client signs with it: its identifier, the composite key and the
/// ML-KEM-512 + X25519 delivery key, from the secrets the key store holds.
#[must_use]
pub fn device_key(
    id: Vec<u8>,
    secrets: &pqbank_keystore::DeviceSecrets,
) -> pqbank_client::DeviceKey {
    pqbank_client::DeviceKey {
        id,
        key: pqbank_pki::CompositeSigningKey::from_seed(&secrets.signing_seed),
        recipient: pqbank_pki::bundle::RecipientSecret::from_seeds(
            pqbank_pki::bundle::Suite::MlKem512X25519,
            &secrets.kem_seed,
            &secrets.x25519,
        ),
    }
}

/// Runs a keyring call off the async threads (Secret Service calls block).
async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, UiError> + Send + 'static,
) -> Result<T, UiError> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| UiError::internal("a background task failed", &e))?
}

fn random<const N: usize>() -> Result<[u8; N], UiError> {
    let mut b = [0; N];
    getrandom::fill(&mut b).map_err(|e| {
        tracing::error!(code = "device", layer = "device", detail = %e, "no randomness");
        UiError::new(
            ServiceErrorCode::Device,
            "this machine could not draw random numbers",
        )
    })?;
    Ok(b)
}
