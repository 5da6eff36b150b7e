//! The bank's four-eyes policy (the approval threshold and how long a pending transfer
//! waits) as signed versions, never as a setting a database administrator or a server's
//! operator can change: each version is a `policy.version` event on the pinned root's
//! chain, signed by the root's key (the only role whose matrix has `policy.set`), its
//! payload the policy's id, the version number (1 at installation, one above the last
//! after) and [`pqbank_db::master::policy_contents`]. A version is in force from the
//! second its event was signed; the policy of an act is the newest version signed at or
//! before the act's time.
//!
//! The service reads the versions from the root's chain once (its hash links and every
//! version's signature checked) and keeps them; log verification reads the same events
//! and holds every transfer to the policy in force when it was made.

use std::sync::Arc;

use pqbank_audit::chain::verify_chain;
use pqbank_db::Store;
use pqbank_db::master::{POLICY_ID, POLICY_VERSION, policy_from_contents, split_payload};
use pqbank_ledger::Policy;
use pqbank_pki::Action;

use crate::authority::{Revoked, Signer};
use crate::device::ACT_CONTEXT;
use crate::{Device, Service, ServiceError};

/// The signed versions of the policy, in version order: (signed at, policy).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Policies(Vec<(i64, Policy)>);

impl Policies {
    /// Adds the next version from a `policy.version` event's payload, signed at
    /// `signed_at`; the reason, in words, if it is not the next version.
    pub(crate) fn add(&mut self, payload: &[u8], signed_at: i64) -> Result<(), &'static str> {
        let (of, contents) =
            split_payload(payload).ok_or("the policy version's payload is not a version")?;
        let policy = policy_from_contents(contents)
            .ok_or("the policy version's contents are not a policy")?;
        if of.id != POLICY_ID {
            return Err("the policy version names another policy than the bank's");
        }
        if usize::try_from(of.version).ok() != Some(self.0.len() + 1) {
            return Err("the policy version is not numbered one above the last");
        }
        if self.0.last().is_some_and(|(at, _)| signed_at < *at) {
            return Err("the policy version is signed before the version it follows");
        }
        self.0.push((signed_at, policy));
        Ok(())
    }

    /// The policy in force at `at`: the newest version signed at or before it.
    pub(crate) fn at(&self, at: i64) -> Option<Policy> {
        self.0
            .iter()
            .rev()
            .find(|(from, _)| *from <= at)
            .map(|(_, p)| *p)
    }

    /// How many versions there are.
    pub(crate) fn len(&self) -> usize {
        self.0.len()
    }
}

/// The versions a service has read, and how many signings it has seen: a read that
/// began before a signing is not kept after it.
#[derive(Debug, Default)]
pub(crate) struct PolicyCache {
    known: Option<Arc<Policies>>,
    generation: u64,
}

impl<S: Store> Service<S> {
    /// The policy in force at `at`, from the signed versions (read once, then kept).
    ///
    /// # Errors
    /// [`ServiceError::Audit`] if no signed version is in force at `at` or the root's
    /// chain does not prove the versions; the store's.
    pub(crate) async fn policy_at(&self, at: i64) -> Result<Policy, ServiceError> {
        self.policies().await?.at(at).ok_or(ServiceError::Audit(
            "no signed four-eyes policy is in force",
        ))
    }

    async fn policies(&self) -> Result<Arc<Policies>, ServiceError> {
        let generation = match self.policies.lock() {
            Ok(cache) => match &cache.known {
                Some(known) => return Ok(known.clone()),
                None => cache.generation,
            },
            Err(_) => 0,
        };
        let read = Arc::new(self.read_policies().await?);
        if let Ok(mut cache) = self.policies.lock() {
            // A version signed while this read ran moved the generation on: what was
            // read may be older than it, so it serves this call and is not kept.
            if cache.generation == generation {
                cache.known = Some(read.clone());
            }
        }
        Ok(read)
    }

    /// The versions on the root's chain: its links checked, each version signed by the
    /// root's key while the root was valid.
    async fn read_policies(&self) -> Result<Policies, ServiceError> {
        const BROKEN: ServiceError =
            ServiceError::Audit("the root's chain does not prove the bank's policy");
        let root = *self.config.pinned_root.as_bytes();
        let record = self
            .store
            .certificate(&root)
            .await?
            .ok_or(ServiceError::UnknownCertificate)?;
        let cert = crate::service::decoded(&record)?;
        let signer = Signer::prove(&[cert], self.config.pinned_root, &Default::default())
            .map_err(|_| BROKEN)?;
        let events = self.store.events(&root).await?;
        let pairs: Vec<_> = events.iter().map(|e| (e.event.clone(), e.hash)).collect();
        verify_chain(&root, &pairs).map_err(|_| BROKEN)?;
        let mut policies = Policies::default();
        for e in events.iter().filter(|e| e.event.kind == POLICY_VERSION) {
            let at = e.event.created_at;
            let signed = e.event.server.is_none()
                && signer
                    .key
                    .verify(&e.hash, ACT_CONTEXT, &e.signature)
                    .is_ok()
                && signer.may(Action::PolicySet, at, &Revoked::new()).is_ok();
            if !signed {
                return Err(BROKEN);
            }
            policies.add(&e.event.payload, at).map_err(|_| BROKEN)?;
        }
        Ok(policies)
    }

    /// Signs the next version of the bank's policy on the root's chain with the root's
    /// key (`root`), in force from now. An installation's step: the root's key is
    /// offline, so no signed-in caller reaches this.
    ///
    /// # Errors
    /// A policy out of bounds ([`pqbank_db::master::policy_from_contents`]), a key that
    /// is not the pinned root's, a clock behind the last version, versions already
    /// stored that do not verify, or the store's.
    pub(crate) async fn sign_policy_as_root(
        &self,
        policy: &Policy,
        root: &Device,
    ) -> Result<(), ServiceError> {
        let contents = pqbank_db::master::policy_contents(policy);
        if policy_from_contents(&contents).is_none() {
            return Err(ServiceError::Audit(
                "a policy's threshold must not be negative and its lifetime from 1 second to 30 days",
            ));
        }
        let root_key = self
            .store
            .certificate(self.config.pinned_root.as_bytes())
            .await?
            .and_then(|r| crate::service::decoded(&r).ok())
            .map(|c| c.public_key().to_vec());
        if root_key.as_deref() != Some(root.key().verifying_key().as_bytes()) {
            return Err(ServiceError::Audit(
                "only the pinned root's key signs the bank's policy",
            ));
        }
        let mut known = self.read_policies().await?;
        let version = u32::try_from(known.len() + 1)
            .map_err(|_| ServiceError::Audit("the policy has too many versions"))?;
        let payload = pqbank_db::master::version_payload(
            pqbank_db::master::VersionOf {
                id: POLICY_ID,
                version,
            },
            &contents,
        );
        // What the service will read back must hold before it is written: a version
        // the service refuses would stop it posting for good (the chain is append-only).
        let now = self.now();
        known.add(&payload, now).map_err(ServiceError::Audit)?;
        let sign = root.event_signer();
        self.store
            .commit_logged(
                &[],
                &[pqbank_db::LoggedEvent {
                    certificate: *self.config.pinned_root.as_bytes(),
                    kind: POLICY_VERSION,
                    payload: &payload,
                    created_at: now,
                    sign: &sign,
                }],
            )
            .await?;
        if let Ok(mut cache) = self.policies.lock() {
            cache.known = None;
            cache.generation = cache.generation.wrapping_add(1);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use pqbank_db::master::{VersionOf, policy_contents, version_payload};

    use super::*;

    fn version(n: u32, threshold: i64) -> Vec<u8> {
        let policy = Policy {
            approval_threshold_minor: threshold,
            pending_ttl_secs: 60,
        };
        version_payload(
            VersionOf {
                id: POLICY_ID,
                version: n,
            },
            &policy_contents(&policy),
        )
    }

    /// Proves the policy of a time is the newest version signed at or before it, and
    /// that no policy is in force before the first.
    #[test]
    fn the_newest_version_signed_by_then_is_in_force() {
        let mut p = Policies::default();
        p.add(&version(1, 100), 10).unwrap();
        p.add(&version(2, 200), 20).unwrap();
        let threshold = |at| p.at(at).map(|p| p.approval_threshold_minor);
        assert_eq!(threshold(9), None);
        assert_eq!(threshold(10), Some(100));
        assert_eq!(threshold(19), Some(100));
        assert_eq!(threshold(20), Some(200));
        assert_eq!(threshold(i64::MAX), Some(200));
    }

    /// Proves a version out of order, a gap, a twin, another id, a time before the
    /// version it follows, or contents that are not a policy are refused, and change
    /// nothing.
    #[test]
    fn only_the_next_version_is_added() {
        let mut p = Policies::default();
        assert!(p.add(&version(2, 100), 10).is_err(), "a gap");
        p.add(&version(1, 100), 10).unwrap();
        assert!(p.add(&version(1, 300), 11).is_err(), "a twin");
        assert!(p.add(&version(3, 300), 11).is_err(), "a gap");
        assert!(
            p.add(&version(2, 300), 9).is_err(),
            "signed before the last"
        );
        assert!(p.add(&version(1, 100)[..11], 11).is_err(), "not a version");
        let other = version_payload(VersionOf { id: 2, version: 2 }, &version(2, 1)[12..]);
        assert!(p.add(&other, 11).is_err(), "another id");
        let negative = [
            &version(2, 1)[..12],
            &(-1i64).to_be_bytes(),
            &60i64.to_be_bytes(),
        ]
        .concat();
        assert!(p.add(&negative, 11).is_err(), "not a policy");
        assert_eq!(p.len(), 1);
        assert_eq!(
            p.at(i64::MAX).map(|p| p.approval_threshold_minor),
            Some(100)
        );
    }
}
