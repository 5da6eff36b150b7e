//! The checks of every call, and the accountability log they write to.

use std::collections::BTreeMap;

use pqbank_db::{CrlRecord, SessionRecord, Signer, Store};
use pqbank_pki::chain::{ChainInput, ValidChain, validate};
use pqbank_pki::composite::CompositeVerifyingKey;
use pqbank_pki::{Action, Certificate, Crl, Fingerprint, Role};
use sha3::{Digest, Sha3_256};

use crate::service::at;
use crate::{Device, Service, ServiceError, SessionToken};

/// Longest issuer chain walked from the database.
const CHAIN_LEN_MAX: usize = pqbank_pki::chain::CHAIN_LEN_MAX;

/// What a call that passed every check may act as.
#[derive(Debug, Clone)]
pub(crate) struct Authorised {
    pub staff_id: i64,
    pub certificate: Fingerprint,
    pub role: Role,
}

impl<S: Store> Service<S> {
    /// Loads the leaf's chain from storage and validates it now, with the newest CRL of
    /// every issuer, the given CRL pins (a session's) and the installation's own.
    pub(crate) async fn validate_chain(
        &self,
        leaf: &Fingerprint,
        device_id: &[u8],
        action: Option<Action>,
        pins: &BTreeMap<Fingerprint, u64>,
    ) -> Result<(Certificate, ValidChain), ServiceError> {
        let record = self
            .store
            .certificate(leaf.as_bytes())
            .await?
            .ok_or(ServiceError::UnknownCertificate)?;
        self.validate_chain_from(record, device_id, action, pins)
            .await
    }

    /// [`Self::validate_chain`] from the leaf's record the caller already read.
    pub(crate) async fn validate_chain_from(
        &self,
        leaf: pqbank_db::CertificateRecord,
        device_id: &[u8],
        action: Option<Action>,
        pins: &BTreeMap<Fingerprint, u64>,
    ) -> Result<(Certificate, ValidChain), ServiceError> {
        let (records, crl_records) = self.chain_records(leaf).await?;
        let pins = &self.with_installation_pins(&records, pins)?;
        let now = self.now();
        let key = ChainKey {
            certificates: records.iter().map(|r| r.fingerprint).collect(),
            crls: crl_records.iter().map(|c| c.fingerprint).collect(),
            device_id: device_id.to_vec(),
            action,
            pins: pins.iter().map(|(k, v)| (*k, *v)).collect(),
        };
        if let Some(hit) = self.chains.lookup(&key, now) {
            return Ok(hit);
        }
        let (certs, crls) = parse_chain(&records, &crl_records)?;
        let (Some(root), Some(leaf_cert)) = (certs.last(), certs.first()) else {
            return Err(ServiceError::UnknownCertificate);
        };
        let intermediates = certs
            .get(1..certs.len().saturating_sub(1))
            .unwrap_or_default();
        let valid = validate(&ChainInput {
            leaf: leaf_cert,
            intermediates,
            root,
            pinned_root: self.config.pinned_root,
            at: at(now),
            crls: &crls,
            crl_pins: pins,
            require_crl: true,
            require_staff: true,
            action,
            device_id: Some(device_id),
        });
        match valid {
            Ok(v) => {
                // Every CRL applied is seen: the installation pins its number.
                for (issuer, number) in &v.crl_numbers {
                    self.crl_pins.raise(issuer, *number)?;
                }
                let until = valid_until(&certs, &crls, now);
                self.chains
                    .insert(key, (leaf_cert.clone(), v.clone()), now, until);
                Ok((leaf_cert.clone(), v))
            }
            Err(
                e @ (pqbank_pki::Error::ActionNotAllowed { .. }
                | pqbank_pki::Error::RoleNotAllowed { .. }),
            ) => Err(ServiceError::Forbidden(e)),
            Err(e) => Err(ServiceError::Certificate(e)),
        }
    }

    /// The leaf's issuer chain and the newest CRL of each issuer, read afresh every call:
    /// a new CRL must be seen at once.
    async fn chain_records(
        &self,
        leaf: pqbank_db::CertificateRecord,
    ) -> Result<(Vec<pqbank_db::CertificateRecord>, Vec<CrlRecord>), ServiceError> {
        let mut records = Vec::new();
        let mut crl_records = Vec::new();
        let mut next = Some(leaf);
        while let Some(record) = next.take() {
            if records.len() > CHAIN_LEN_MAX {
                return Err(ServiceError::Certificate(pqbank_pki::Error::ChainTooLong));
            }
            if let Some(issuer) = record.issuer
                && let Some(crl) = self.store.latest_crl(&issuer).await?
            {
                crl_records.push(crl);
            }
            if let Some(issuer) = record.issuer {
                next = Some(
                    self.store
                        .certificate(&issuer)
                        .await?
                        .ok_or(ServiceError::UnknownCertificate)?,
                );
            }
            records.push(record);
        }
        Ok((records, crl_records))
    }

    /// The caller's pins raised by the installation's, kept outside the database: a
    /// newest CRL deleted from the database leaves an older one, refused as a rollback.
    fn with_installation_pins(
        &self,
        records: &[pqbank_db::CertificateRecord],
        pins: &BTreeMap<Fingerprint, u64>,
    ) -> Result<BTreeMap<Fingerprint, u64>, ServiceError> {
        let mut pins = pins.clone();
        for issuer in records.iter().filter_map(|r| r.issuer) {
            let issuer = Fingerprint::from_bytes(issuer);
            if let Some(pinned) = self.crl_pins.pinned(&issuer)? {
                let pin = pins.entry(issuer).or_insert(pinned);
                *pin = (*pin).max(pinned);
            }
        }
        Ok(pins)
    }

    /// Refuses a session whose staff member (its row's column) is not the one its
    /// validated certificate's signed claim names: a database writer who edits the
    /// session row acts as nobody else.
    pub(crate) async fn session_is_its_staff(
        &self,
        session_staff: i64,
        leaf: &Certificate,
    ) -> Result<(), ServiceError> {
        if self.staff_of(leaf).await? == session_staff {
            Ok(())
        } else {
            Err(ServiceError::Audit(
                "the session's staff member is not its certificate's",
            ))
        }
    }

    /// Every call's gate: session alive and not idle, chain valid now under the pinned
    /// and newest CRLs, device bound, action listed and permitted by the role.
    pub(crate) async fn authorise(
        &self,
        token: &SessionToken,
        device: &Device,
        action: Action,
    ) -> Result<Authorised, ServiceError> {
        let id = pqbank_api::session_id(token.as_bytes());
        let (session, now) = self.live_session(&id, action).await?;
        let certificate = Fingerprint::from_bytes(session.certificate);
        let record = self
            .store
            .certificate(&session.certificate)
            .await?
            .ok_or(ServiceError::UnknownCertificate)?;
        let pins = Self::pins(issuer_of(&record), session.pinned_crl_number);
        let mut auth = Authorised {
            staff_id: session.staff_id,
            certificate,
            role: record.role.parse().unwrap_or(Role::Teller),
        };
        match self
            .validate_chain_from(record, &device.id, Some(action), &pins)
            .await
        {
            Ok((leaf, _)) => {
                self.prove_device(&id, device, action, now, &leaf).await?;
                // Authority comes from the validated certificate, never from a database column.
                auth.role = leaf.claims().role.unwrap_or(Role::Teller);
                self.session_is_its_staff(session.staff_id, &leaf).await?;
            }
            Err(ServiceError::Forbidden(e)) => {
                // Only a device that holds the key may leave a refusal on the chain.
                let leaf = self.certificate(&certificate).await?;
                self.prove_device(&id, device, action, now, &leaf).await?;
                return Err(self.refuse(&auth, &device.event_signer(), action, e).await);
            }
            Err(ServiceError::Certificate(e)) => {
                self.end_refused(&id, &auth, device, action, now, &e)
                    .await?;
                return Err(ServiceError::Certificate(e));
            }
            Err(other) => {
                crate::trace::refused(action.as_str(), Some(&certificate), &other);
                return Err(other);
            }
        }
        if !self.store.touch_session(&id, now).await? {
            crate::trace::refused(
                action.as_str(),
                Some(&certificate),
                &ServiceError::SessionEnded,
            );
            return Err(ServiceError::SessionEnded);
        }
        tracing::debug!(
            action = action.as_str(),
            certificate = %certificate,
            staff_id = auth.staff_id,
            "call authorised"
        );
        Ok(auth)
    }

    /// The session of a call's token, with the time of the call: stored, not ended, and
    /// not idle too long (an idle one is ended here).
    pub(crate) async fn live_session(
        &self,
        id: &[u8; 32],
        action: Action,
    ) -> Result<(SessionRecord, i64), ServiceError> {
        let Some(session) = self.store.session(id).await? else {
            crate::trace::refused(action.as_str(), None, &ServiceError::SessionEnded);
            return Err(ServiceError::SessionEnded);
        };
        let now = self.now();
        let certificate = Fingerprint::from_bytes(session.certificate);
        if session.ended_at.is_some() {
            crate::trace::refused(
                action.as_str(),
                Some(&certificate),
                &ServiceError::SessionEnded,
            );
            return Err(ServiceError::SessionEnded);
        }
        if now - session.last_seen_at > session.idle_timeout_secs {
            self.store.end_session(id, now, "idle").await?;
            tracing::info!(
                action = action.as_str(),
                certificate = %certificate,
                staff_id = session.staff_id,
                "session ended: idle too long"
            );
            return Err(ServiceError::SessionEnded);
        }
        Ok((session, now))
    }

    /// A chain refused as revoked, expired, rolled back: the session is over. The refusal
    /// goes on the certificate's chain only when the device is the certificate's own (its
    /// signature on the event must verify with the certificate's key).
    async fn end_refused(
        &self,
        id: &[u8; 32],
        auth: &Authorised,
        device: &Device,
        action: Action,
        now: i64,
        e: &pqbank_pki::Error,
    ) -> Result<(), ServiceError> {
        self.store.end_session(id, now, e.code()).await?;
        let refusal = ServiceError::Certificate(e.clone());
        crate::trace::refused(action.as_str(), Some(&auth.certificate), &refusal);
        if *e == pqbank_pki::Error::DeviceMismatch {
            return Ok(());
        }
        let leaf = self.certificate(&auth.certificate).await?;
        if self
            .prove_device(id, device, action, now, &leaf)
            .await
            .is_ok()
        {
            let _ = self
                .log(
                    auth,
                    &device.event_signer(),
                    "refused",
                    format!("{action}: {}", e.code()).as_bytes(),
                )
                .await;
        }
        Ok(())
    }

    /// The device proves on every call that it still holds the certificate's key: it
    /// signs this call's digest, verified with the certificate's key. A device that
    /// cannot ends the session.
    async fn prove_device(
        &self,
        session: &[u8; 32],
        device: &Device,
        action: Action,
        now: i64,
        leaf: &Certificate,
    ) -> Result<(), ServiceError> {
        let digest = call_digest(session, action, now);
        let signature = device.sign_act(&digest)?;
        let key = CompositeVerifyingKey::from_bytes(leaf.public_key())
            .map_err(ServiceError::Certificate)?;
        if key
            .verify(&digest, crate::device::ACT_CONTEXT, &signature)
            .is_err()
        {
            self.store.end_session(session, now, "device_key").await?;
            let refusal = ServiceError::Certificate(pqbank_pki::Error::DeviceMismatch);
            crate::trace::refused(action.as_str(), Some(&leaf.fingerprint()), &refusal);
            return Err(refusal);
        }
        Ok(())
    }

    /// Logs a refusal on the certificate's chain and returns the error to give.
    pub(crate) async fn refuse(
        &self,
        auth: &Authorised,
        sign: Signer<'_>,
        action: Action,
        e: pqbank_pki::Error,
    ) -> ServiceError {
        self.refuse_as(auth, sign, action, ServiceError::Forbidden(e))
            .await
    }

    /// Logs the refusal `refusal` of `action` on the caller's chain (payload: the action
    /// and the refusal's code) and returns it, or the failure to log it.
    pub(crate) async fn refuse_as(
        &self,
        auth: &Authorised,
        sign: Signer<'_>,
        action: Action,
        refusal: ServiceError,
    ) -> ServiceError {
        // A role refusal keeps the payload it always had (the PKI's code alone).
        let code = match &refusal {
            ServiceError::Forbidden(e) => e.code().to_string(),
            other => other.code(),
        };
        let payload = format!("{action}: {code}");
        let refusal = match self.log(auth, sign, "refused", payload.as_bytes()).await {
            Ok(()) => refusal,
            Err(log_failure) => log_failure,
        };
        crate::trace::refused(action.as_str(), Some(&auth.certificate), &refusal);
        refusal
    }

    /// Appends an event, signed by `sign` (the device, or the server over its request),
    /// to the certificate's chain.
    /// Verifies the whole log for an authorised auditor, the verification itself logged
    /// first on the auditor's chain (`audit.verify`): who verified, and when, is on
    /// record whatever the verdict.
    pub(crate) async fn verify_log_as(
        &self,
        auth: &Authorised,
        sign: Signer<'_>,
    ) -> Result<crate::LogReport, ServiceError> {
        self.log(auth, sign, "audit.verify", auth.certificate.as_bytes())
            .await?;
        tracing::info!(
            certificate = %auth.certificate,
            staff_id = auth.staff_id,
            "log verification: audit.verify"
        );
        self.verify_log(&|_, _| {}).await
    }

    pub(crate) async fn log(
        &self,
        auth: &Authorised,
        sign: Signer<'_>,
        kind: &str,
        payload: &[u8],
    ) -> Result<(), ServiceError> {
        self.store
            .append_event(auth.certificate.as_bytes(), kind, payload, self.now(), sign)
            .await?;
        Ok(())
    }
}

/// The digest a device signs on every call: the session, the action and the time.
fn call_digest(session: &[u8; 32], action: Action, now: i64) -> [u8; 32] {
    Sha3_256::new()
        .chain_update(b"pqbank/call/v1")
        .chain_update(session)
        .chain_update(action.as_str())
        .chain_update(now.to_be_bytes())
        .finalize()
        .into()
}

/// The issuer a stored certificate's own DER names (its signed lineage), for the
/// session's CRL pin; none if the DER does not decode (the chain check then refuses it).
fn issuer_of(record: &pqbank_db::CertificateRecord) -> Option<Fingerprint> {
    Certificate::from_der(&record.der)
        .ok()?
        .claims()
        .lineage
        .map(|l| l.issuer)
}

/// The stored certificates and CRLs, parsed.
fn parse_chain(
    records: &[pqbank_db::CertificateRecord],
    crl_records: &[CrlRecord],
) -> Result<(Vec<Certificate>, Vec<Crl>), ServiceError> {
    let certs = records
        .iter()
        .map(crate::service::decoded)
        .collect::<Result<Vec<_>, _>>()?;
    let crls = crl_records
        .iter()
        .map(|c| Crl::from_der(&c.der).map_err(ServiceError::Certificate))
        .collect::<Result<Vec<_>, _>>()?;
    Ok((certs, crls))
}

/// Until when a validated chain stays valid on the same inputs: the first time a
/// certificate or a CRL runs out.
fn valid_until(certs: &[Certificate], crls: &[Crl], now: i64) -> i64 {
    certs
        .iter()
        .map(|c| c.not_after().unix_timestamp())
        .chain(
            crls.iter()
                .filter_map(|c| c.next_update().map(|t| t.unix_timestamp())),
        )
        .min()
        .unwrap_or(now)
}

/// What a validated chain depended on: the exact certificates and CRLs (by SHA3
/// fingerprint, so any change is a different key), the device, the action and the pins.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) struct ChainKey {
    certificates: Vec<[u8; 32]>,
    crls: Vec<[u8; 32]>,
    device_id: Vec<u8>,
    action: Option<Action>,
    pins: Vec<(Fingerprint, u64)>,
}

/// Chains that passed validation, reused while their inputs are unchanged and the clock
/// is inside the window they were valid for: the signatures of an unchanged chain need
/// not be verified again on every call.
#[derive(Debug, Default)]
pub(crate) struct ChainCache {
    entries: std::sync::Mutex<std::collections::HashMap<ChainKey, CachedChain>>,
}

type CachedChain = ((Certificate, ValidChain), i64, i64);

/// Most chains cached; the cache starts over when full.
const CHAIN_CACHE_MAX: usize = 4096;

impl ChainCache {
    fn lookup(&self, key: &ChainKey, now: i64) -> Option<(Certificate, ValidChain)> {
        let entries = self.entries.lock().ok()?;
        let (hit, from, until) = entries.get(key)?;
        (*from <= now && now <= *until).then(|| hit.clone())
    }

    fn insert(&self, key: ChainKey, value: (Certificate, ValidChain), from: i64, until: i64) {
        if let Ok(mut entries) = self.entries.lock() {
            if entries.len() >= CHAIN_CACHE_MAX {
                entries.clear();
            }
            entries.insert(key, (value, from, until));
        }
    }
}
