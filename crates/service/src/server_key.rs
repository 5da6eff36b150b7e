//! The bank server's own key: at `pqbank-server` the device's key stays on its
//! workstation, so the server signs the accountability events of the acts it carries
//! out (format v2), each over the device's signed request, which the event keeps.
//! Verification then checks both: the server's signature over the event and the
//! device's over its request.

use std::collections::BTreeMap;
use std::sync::Arc;

use pqbank_db::flows::SealReport;
use pqbank_db::{EventSign, Seal, SignError, Store};
use pqbank_pki::{Certificate, CompositeSigningKey, Fingerprint};

use crate::{Service, ServiceError};

/// Context string of a server's signature over an event hash: never an act's
/// ([`crate::ACT_CONTEXT`]), so a server's event signature is not a device's act.
pub const SERVER_EVENT_CONTEXT: &[u8] = b"pqbank/server-event/v1";

/// A server certificate (the root-issued server profile) and its composite key.
pub struct ServerKey {
    certificate: Certificate,
    key: CompositeSigningKey,
}

impl core::fmt::Debug for ServerKey {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("ServerKey")
            .field("certificate", &self.certificate.fingerprint())
            .finish_non_exhaustive()
    }
}

impl ServerKey {
    /// The key of a server-profile certificate; refused if the certificate is not of
    /// the server profile or does not hold this key.
    pub fn new(certificate: Certificate, key: CompositeSigningKey) -> Result<Self, ServiceError> {
        if certificate.tls_key_hash().is_none() || !certificate.claims().is_server_compatible() {
            return Err(ServiceError::Certificate(
                pqbank_pki::Error::NotServerCertificate,
            ));
        }
        if certificate.public_key() != key.verifying_key().as_bytes() {
            return Err(ServiceError::Certificate(pqbank_pki::Error::DeviceMismatch));
        }
        Ok(Self { certificate, key })
    }

    /// The server certificate.
    #[must_use]
    pub fn certificate(&self) -> &Certificate {
        &self.certificate
    }

    /// The certificate and the key, to be kept on disk.
    #[must_use]
    pub fn into_parts(self) -> (Certificate, CompositeSigningKey) {
        (self.certificate, self.key)
    }

    /// Signs the bytes of one of the server's own acts (a checkpoint) under the act
    /// context, as a device signs its acts.
    pub(crate) fn sign_act(&self, bytes: &[u8]) -> Result<Vec<u8>, ServiceError> {
        let rnd = crate::service::random::<32>()?;
        self.key
            .sign(bytes, crate::ACT_CONTEXT, &rnd)
            .map(|s| s.into_bytes())
            .map_err(|e| ServiceError::Device(e.to_string()))
    }

    /// The server certificate's fingerprint.
    #[must_use]
    pub fn fingerprint(&self) -> Fingerprint {
        self.certificate.fingerprint()
    }
}

/// The signer of one request's events: the server's key, the request kept beside.
pub(crate) struct ServerSigner<'a> {
    key: &'a ServerKey,
    request: Vec<u8>,
}

impl<'a> ServerSigner<'a> {
    /// The events of the request `request` (its record, [`pqbank_api::Request::record`];
    /// empty for a login, whose payload is the device's signed transcript).
    pub(crate) fn new(key: &'a ServerKey, request: Vec<u8>) -> Self {
        Self { key, request }
    }
}

impl EventSign for ServerSigner<'_> {
    fn server(&self) -> Option<[u8; 32]> {
        Some(*self.key.fingerprint().as_bytes())
    }

    fn request(&self) -> &[u8] {
        &self.request
    }

    fn sign(&self, hash: &[u8; 32]) -> Result<Vec<u8>, SignError> {
        let rnd = crate::service::random::<32>().map_err(|e| SignError(e.to_string()))?;
        self.key
            .key
            .sign(hash, SERVER_EVENT_CONTEXT, &rnd)
            .map(|s| s.into_bytes())
            .map_err(|e| SignError(e.to_string()))
    }
}

impl<S: Store> Service<S> {
    /// Gives the service the server's key: it then serves signed requests, signing their
    /// events itself, and its flows check and write every balance row under the seal
    /// derived from the key ([`pqbank_db::Seal`]). The certificate must be stored
    /// ([`Service::record_server`]); call [`Service::seal_balances`] before serving.
    #[must_use]
    pub fn with_server_key(mut self, key: Arc<ServerKey>) -> Self {
        self.store = self.store.with_seal(Seal::derive(key.key.seed()));
        self.server_key = Some(key);
        self
    }

    /// Seals every balance row the journal and the account's newest signed version prove
    /// and no seal does yet (a bank just installed or migrated, a new server key); the
    /// rows whose totals are not the journal's, or whose account row is not its signed
    /// version, are left unsealed, so nothing moves money on them, and logged. What a
    /// server does before it serves.
    pub async fn seal_balances(&self) -> Result<SealReport, ServiceError> {
        let retry = &self.config.retry;
        let mut report =
            pqbank_db::flows::seal_balances(&self.store, retry, &BTreeMap::new()).await?;
        // Rows to seal: what their signed versions say is read (and every chain
        // verified) only when some row needs it, not at every start.
        if !report.unsigned.is_empty() {
            let versions = self.signed_account_versions().await?;
            report = pqbank_db::flows::seal_balances(&self.store, retry, &versions).await?;
        }
        for account in &report.unproven {
            tracing::warn!(
                account,
                "cached balance is not the journal's: no money moves on it until it is rebuilt"
            );
        }
        for account in &report.unsigned {
            tracing::warn!(
                account,
                "account row is not its newest signed version: no money moves on it"
            );
        }
        if !report.sealed.is_empty() {
            tracing::info!(accounts = report.sealed.len(), "balance rows sealed");
        }
        Ok(report)
    }

    /// The server's key, or the refusal of a service that has none.
    pub(crate) fn server_key(&self) -> Result<&ServerKey, ServiceError> {
        self.server_key.as_deref().ok_or_else(|| {
            ServiceError::Device("this service holds no server key: it serves no requests".into())
        })
    }

    /// The server's job: expires every pending transfer past its expiry (releasing its
    /// reservation), each expiry logged in its own transaction on the server's own
    /// chain, signed by its key (payload: the transfer's id). Returns the ids expired.
    pub async fn sweep_expired(&self) -> Result<Vec<i64>, ServiceError> {
        let key = self.server_key()?;
        let sign = ServerSigner::new(key, Vec::new());
        let act = pqbank_db::flows::Act {
            certificate: *key.fingerprint().as_bytes(),
            kind: "transfer.expire",
            sign: &sign,
        };
        let expired =
            pqbank_db::flows::expire_due(&self.store, &self.config.retry, self.now(), Some(&act))
                .await?;
        if !expired.is_empty() {
            tracing::info!(count = expired.len(), "pending transfers expired");
        }
        Ok(expired)
    }

    /// Stores a server certificate issued by the pinned root (no staff member holds it),
    /// its issuance logged on the root's chain and signed by `root_device`, the root's key.
    pub async fn record_server(
        &self,
        certificate: &Certificate,
        root_device: &crate::Device,
    ) -> Result<(), ServiceError> {
        let issued_by_root = certificate
            .claims()
            .lineage
            .is_some_and(|l| l.issuer == self.config.pinned_root);
        if certificate.tls_key_hash().is_none() || !issued_by_root {
            return Err(ServiceError::Certificate(
                pqbank_pki::Error::NotServerCertificate,
            ));
        }
        let root = self.certificate(&self.config.pinned_root).await?;
        certificate
            .verify_signed_by(&root)
            .map_err(ServiceError::Certificate)?;
        self.record_issued(certificate, None, self.config.pinned_root, root_device)
            .await
    }
}
