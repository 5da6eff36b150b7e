//! The device side: the keys that live on this machine and sign.

use pqbank_pki::{CompositeSigningKey, Fingerprint};

/// A device with its composite key and its identifier. The key comes from the OS
/// keyring (`pqbank-keystore`) and never leaves this value.
pub struct Device {
    /// Identifier of the device (bound into its certificate as a hash).
    pub id: Vec<u8>,
    key: CompositeSigningKey,
}

impl core::fmt::Debug for Device {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Device")
            .field("id", &String::from_utf8_lossy(&self.id))
            .finish_non_exhaustive()
    }
}

/// Context string of every act signature: acts can never be replayed as other signatures.
pub use pqbank_api::ACT_CONTEXT;

impl Device {
    /// A device from its identifier and key.
    #[must_use]
    pub fn new(id: &[u8], key: CompositeSigningKey) -> Self {
        Self {
            id: id.to_vec(),
            key,
        }
    }

    /// The device's key.
    #[must_use]
    pub fn key(&self) -> &CompositeSigningKey {
        &self.key
    }

    /// Signs an act's bytes (hedged, with fresh randomness).
    pub fn sign_act(&self, bytes: &[u8]) -> Result<Vec<u8>, crate::ServiceError> {
        self.sign_in(bytes, ACT_CONTEXT)
    }

    /// Signs bytes under `context` (hedged, with fresh randomness).
    pub(crate) fn sign_in(
        &self,
        bytes: &[u8],
        context: &[u8],
    ) -> Result<Vec<u8>, crate::ServiceError> {
        let rnd = crate::service::random::<32>()?;
        self.key
            .sign(bytes, context, &rnd)
            .map(|s| s.into_bytes())
            .map_err(crate::trace::device_failed)
    }

    /// The signer of this device's accountability events: a failure to sign is reported,
    /// never replaced by an empty signature, and the store writes nothing.
    pub fn event_signer(
        &self,
    ) -> impl Fn(&[u8; 32]) -> Result<Vec<u8>, pqbank_db::SignError> + Send + Sync + '_ {
        |hash| {
            self.sign_act(hash)
                .map_err(|e| pqbank_db::SignError(e.to_string()))
        }
    }

    /// The fingerprint of the device's public key (not of its certificate).
    #[must_use]
    pub fn key_fingerprint(&self) -> Fingerprint {
        Fingerprint::of(self.key.verifying_key().as_bytes())
    }
}
