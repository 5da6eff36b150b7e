//! The OS keyring through `keyring-core`: on Linux the Secret Service over D-Bus
//! (`zbus-secret-service-keyring-store`). Calls block; from async code, call them in
//! `spawn_blocking`.

use std::sync::Arc;

use keyring_core::{CredentialStore, Entry};
use zeroize::Zeroizing;

use crate::{DeviceSecrets, KeyStore, KeystoreError};

/// Device secrets in the OS keyring, one item per name under `service`.
pub struct OsKeyring {
    store: Arc<CredentialStore>,
    service: String,
}

impl core::fmt::Debug for OsKeyring {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("OsKeyring")
            .field("service", &self.service)
            .finish_non_exhaustive()
    }
}

impl OsKeyring {
    /// Connects to the platform's keyring; a clear error when none is reachable.
    #[cfg(target_os = "linux")]
    pub fn new(service: &str) -> Result<Self, KeystoreError> {
        let store = zbus_secret_service_keyring_store::Store::new()
            .map_err(|e| KeystoreError::Unavailable(e.to_string()))?;
        Ok(Self {
            store,
            service: service.to_owned(),
        })
    }

    fn entry(&self, name: &str) -> Result<Entry, KeystoreError> {
        Entry::new_in_store(&self.store, &self.service, name)
            .map_err(|e| KeystoreError::Unavailable(e.to_string()))
    }
}

fn map(name: &str, e: keyring_core::Error) -> KeystoreError {
    match e {
        keyring_core::Error::NoEntry => KeystoreError::NotFound(name.to_owned()),
        keyring_core::Error::BadEncoding(_) => KeystoreError::Malformed,
        other => KeystoreError::Unavailable(other.to_string()),
    }
}

impl KeyStore for OsKeyring {
    fn store(&self, name: &str, secrets: &DeviceSecrets) -> Result<(), KeystoreError> {
        self.entry(name)?
            .set_secret(&secrets.encode())
            .map_err(|e| map(name, e))
    }

    fn load(&self, name: &str) -> Result<DeviceSecrets, KeystoreError> {
        let bytes = Zeroizing::new(self.entry(name)?.get_secret().map_err(|e| map(name, e))?);
        DeviceSecrets::decode(&bytes)
    }

    fn delete(&self, name: &str) -> Result<(), KeystoreError> {
        self.entry(name)?
            .delete_credential()
            .map_err(|e| map(name, e))
    }
}
