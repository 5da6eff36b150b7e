//! An installation's steps (feature `install`): the root, the certificates issued
//! offline, the CRLs signed offline, stored as `pqbank init` sets a bank up. They are
//! not acts of a signed-in caller, so neither the workstation nor the server is built
//! with them; a certificate's issuance is still logged on its issuer's chain, signed by
//! the issuer's key, as enrolment and renewal log theirs.

use pqbank_db::Store;
use pqbank_pki::{Certificate, Crl, Fingerprint};

use crate::{Device, Service, ServiceError};

impl<S: Store> Service<S> {
    /// Stores the root certificate; it must be the pinned one.
    ///
    /// # Errors
    /// Another root than the pinned one, or the store's.
    pub async fn install_root(&self, root: &Certificate) -> Result<(), ServiceError> {
        self.store_root(root).await
    }

    /// Stores an issued certificate for a staff member, with its issuance logged on the
    /// issuer's chain and signed by `issued_by`, the issuer's key (the root's, offline,
    /// at installation); its issuer must be stored already.
    ///
    /// # Errors
    /// An unknown issuer, or the store's.
    pub async fn record_certificate(
        &self,
        cert: &Certificate,
        staff_id: i64,
        issued_by: &Device,
    ) -> Result<(), ServiceError> {
        self.store_certificate(cert, staff_id, issued_by).await
    }

    /// Signs the next version of the bank's four-eyes policy with the root's key
    /// (`root`, offline at installation), on the root's chain, in force from now.
    ///
    /// # Errors
    /// A policy out of bounds, stored versions that do not verify, or the store's.
    pub async fn sign_policy(
        &self,
        policy: &pqbank_ledger::Policy,
        root: &Device,
    ) -> Result<(), ServiceError> {
        self.sign_policy_as_root(policy, root).await
    }

    /// Publishes a CRL signed by a stored CA certificate; its number must be higher
    /// than every CRL of that issuer before.
    ///
    /// # Errors
    /// A CRL that does not verify under the issuer, a number not above the last, or
    /// the store's.
    pub async fn publish_crl(&self, issuer: Fingerprint, crl: &Crl) -> Result<(), ServiceError> {
        self.store_crl(issuer, crl).await
    }
}
