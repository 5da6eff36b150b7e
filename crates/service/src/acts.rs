//! Who signs the acts of a call. In the embedded bank the service signs them with the
//! device's key as it builds them; for `pqbank-server` the workstation built the same
//! acts (with the builders of `pqbank_ledger` and `pqbank_api::acts`) and signed them,
//! and the service rebuilds them from its own reads and checks each signature with the
//! caller's certificate key. One code path per act serves both: only the source of the
//! signatures differs.

use pqbank_db::Store;
use pqbank_pki::{Action, CompositeVerifyingKey};

use crate::check::Authorised;
use crate::{Device, Service, ServiceError};

/// Acts signed in the call, or before it.
#[derive(Clone, Copy)]
pub(crate) enum ActSigner<'a> {
    /// The embedded bank: the service signs with the device's key, at its own time.
    Device(&'a Device),
    /// Signed on the workstation at `created_at`, the signatures in the order the acts
    /// are built, to be checked with `key` (the caller's certificate's).
    Workstation {
        key: &'a CompositeVerifyingKey,
        created_at: i64,
        signatures: &'a [Vec<u8>],
    },
}

/// A drawer close's count: what was counted, the balance it is counted against when the
/// workstation read it (else the service reads it), the teller's idempotency key.
#[derive(Debug, Clone, Copy)]
pub(crate) struct DrawerCount<'a> {
    pub counted_minor: i64,
    pub expected_minor: Option<i64>,
    pub key: &'a str,
}

/// A manager's decision on a pending transfer before it is signed.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Decided {
    pub transfer_id: i64,
    pub transfer_hash: [u8; 32],
    pub post: bool,
}

/// Most signatures a served act carries (a drawer close: event, variance, return; a
/// renewal: certificate, CRL, revocation).
pub const ACT_SIGNATURES_MAX: usize = 3;

impl<S: Store> Service<S> {
    /// The time the acts carry: now, or the workstation's time if it is within
    /// [`crate::CLOCK_SKEW_MAX_SECS`] of the bank's (else refused, the refusal chained).
    pub(crate) async fn act_time(
        &self,
        auth: &Authorised,
        sign: pqbank_db::Signer<'_>,
        action: Action,
        by: ActSigner<'_>,
    ) -> Result<i64, ServiceError> {
        let ActSigner::Workstation { created_at, .. } = by else {
            return Ok(self.now());
        };
        if created_at.abs_diff(self.now()) <= crate::CLOCK_SKEW_MAX_SECS.unsigned_abs() {
            return Ok(created_at);
        }
        let stale = ServiceError::Request(pqbank_api::RequestError::new(
            pqbank_api::RequestCode::Stale,
            "the act's time is too far from the bank's",
        ));
        Err(self.refuse_as(auth, sign, action, stale).await)
    }

    /// The signatures over `bytes`, one per act, under the act context: made with the
    /// device's key, or the workstation's, each checked with the caller's certificate
    /// key. A count that does not match the acts this call makes, or a signature that
    /// does not verify, is refused and the refusal chained.
    pub(crate) async fn sign_acts(
        &self,
        auth: &Authorised,
        sign: pqbank_db::Signer<'_>,
        action: Action,
        by: ActSigner<'_>,
        bytes: &[Vec<u8>],
    ) -> Result<Vec<Vec<u8>>, ServiceError> {
        let parts: Vec<(&[u8], &[u8])> = bytes
            .iter()
            .map(|b| (crate::ACT_CONTEXT, b.as_slice()))
            .collect();
        self.sign_parts(auth, sign, action, by, &parts).await
    }

    /// The one signature of a call that signs one part (`context`, `bytes`): as
    /// [`Self::sign_parts`].
    pub(crate) async fn sign_one(
        &self,
        auth: &Authorised,
        sign: pqbank_db::Signer<'_>,
        action: Action,
        by: ActSigner<'_>,
        part: (&[u8], &[u8]),
    ) -> Result<Vec<u8>, ServiceError> {
        self.sign_parts(auth, sign, action, by, &[part])
            .await?
            .pop()
            .ok_or(ServiceError::Certificate(pqbank_pki::Error::BadSignature))
    }

    /// [`Self::sign_acts`] over parts signed under their own contexts: an act's bytes
    /// under the act context, a certificate's or CRL's to-be-signed bytes under none (as
    /// X.509 signs them).
    pub(crate) async fn sign_parts(
        &self,
        auth: &Authorised,
        sign: pqbank_db::Signer<'_>,
        action: Action,
        by: ActSigner<'_>,
        parts: &[(&[u8], &[u8])],
    ) -> Result<Vec<Vec<u8>>, ServiceError> {
        match by {
            ActSigner::Device(device) => parts
                .iter()
                .map(|(context, bytes)| device.sign_in(bytes, context))
                .collect(),
            ActSigner::Workstation {
                key, signatures, ..
            } => {
                if signatures.len() != parts.len() {
                    let e = pqbank_pki::Error::InvalidRequest(
                        "the acts signed are not the acts this call makes",
                    );
                    return Err(self.refuse(auth, sign, action, e).await);
                }
                for ((context, bytes), s) in parts.iter().zip(signatures) {
                    self.check_signed(auth, key, sign, action, (context, bytes), s)
                        .await?;
                }
                Ok(signatures.to_vec())
            }
        }
    }
}
