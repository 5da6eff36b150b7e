//! Checkpoints: the sequenced log folded into an RFC 9162 tree, its head signed by the
//! auditor's device; inclusion proofs of events and consistency proofs between heads.

use pqbank_audit::Hash;
use pqbank_audit::merkle::{consistency_proof, inclusion_proof, leaf_hash, root};
use pqbank_db::{CheckpointRecord, LoggedEvent, RowWrite, Store};
use pqbank_pki::Action;

use crate::acts::ActSigner;
use crate::check::Authorised;
use crate::{Device, Service, ServiceError, SessionToken};

pub use pqbank_api::{CHECKPOINT_LABEL, LogPin, checkpoint_bytes};

/// A server checkpoints the log once this many events came since the newest checkpoint.
pub const CHECKPOINT_EVENTS_MAX: u64 = 1_000;

/// A server checkpoints the log once the newest checkpoint is this old (seconds), if any
/// event came since.
pub const CHECKPOINT_SECS_MAX: i64 = 300;

/// An event's inclusion proof against a checkpoint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InclusionProof {
    /// The event's leaf index.
    pub index: u64,
    /// The checkpoint's size.
    pub tree_size: u64,
    /// The leaf hash (of the event hash).
    pub leaf: Hash,
    /// The checkpoint's root.
    pub root: Hash,
    /// The audit path.
    pub path: Vec<Hash>,
}

impl<S: Store> Service<S> {
    /// Sequences the log and signs a checkpoint of it (auditors).
    pub async fn checkpoint(
        &self,
        token: &SessionToken,
        device: &Device,
    ) -> Result<CheckpointRecord, ServiceError> {
        let auth = self.authorise(token, device, Action::AuditVerify).await?;
        let size = self.store.sequence_events().await?;
        let sign = device.event_signer();
        self.checkpoint_as(&auth, &sign, ActSigner::Device(device), size)
            .await
    }

    /// Sequences the log: its size and its tree's root, for a checkpoint to sign.
    pub(crate) async fn log_head(&self) -> Result<(u64, Hash), ServiceError> {
        let size = self.store.sequence_events().await?;
        Ok((size, root(&self.leaves(size).await?)))
    }

    /// A checkpoint of the sequenced log's first `tree_size` events for an authorised
    /// auditor, signed `by` the device here or the workstation over the root the service
    /// computes, the act chained with `sign`. The newest checkpoint when it already has
    /// that size; a size the log does not have yet, or below the newest checkpoint's, is
    /// refused.
    pub(crate) async fn checkpoint_as(
        &self,
        auth: &Authorised,
        sign: pqbank_db::Signer<'_>,
        by: ActSigner<'_>,
        tree_size: u64,
    ) -> Result<CheckpointRecord, ServiceError> {
        let action = Action::AuditVerify;
        let sequenced = self.store.sequence_events().await?;
        if tree_size > sequenced {
            return Err(ServiceError::Audit("the log is not that long yet"));
        }
        if let Some(last) = self.store.checkpoints().await?.last() {
            match u64::try_from(last.tree_size).map(|s| s.cmp(&tree_size)) {
                Ok(core::cmp::Ordering::Equal) => return Ok(last.clone()),
                Ok(core::cmp::Ordering::Less) => {}
                _ => {
                    return Err(ServiceError::Audit(
                        "a checkpoint never covers less than the newest one",
                    ));
                }
            }
        }
        let head = root(&self.leaves(tree_size).await?);
        let created_at = self.act_time(auth, sign, action, by).await?;
        let signed_bytes = checkpoint_bytes(tree_size, &head, created_at);
        let signature = self
            .sign_one(auth, sign, action, by, (crate::ACT_CONTEXT, &signed_bytes))
            .await?;
        let record = CheckpointRecord {
            tree_size: i64::try_from(tree_size).unwrap_or(i64::MAX),
            root: head,
            created_at,
            signature,
            signed_bytes,
            signer: *auth.certificate.as_bytes(),
        };
        self.commit_checkpoint(&record, sign).await?;
        tracing::info!(
            certificate = %auth.certificate,
            staff_id = auth.staff_id,
            tree_size,
            "act signed: checkpoint"
        );
        Ok(record)
    }

    /// The server's job: a checkpoint of the whole sequenced log signed by the server's
    /// key, chained on the server's own chain, when [`CHECKPOINT_EVENTS_MAX`] events or
    /// more came since the newest checkpoint, or any did and it is
    /// [`CHECKPOINT_SECS_MAX`] old. `None` when none is due.
    pub async fn server_checkpoint(&self) -> Result<Option<CheckpointRecord>, ServiceError> {
        self.server_key()?;
        if !self.checkpoint_due().await? {
            return Ok(None);
        }
        self.sign_server_checkpoint(true).await
    }

    /// A checkpoint of the whole sequenced log signed by the server's key now, due or
    /// not; `None` for an empty log. For the job (`on_the_way`), when more than
    /// [`CHECKPOINT_EVENTS_MAX`] events came since the newest checkpoint (a burst between
    /// two of its turns), one is signed at every [`CHECKPOINT_EVENTS_MAX`] events on the
    /// way, so that no two consecutive checkpoints are further apart however late it
    /// runs; the last one returned. A sign-in that finds none signs only the whole log.
    async fn sign_server_checkpoint(
        &self,
        on_the_way: bool,
    ) -> Result<Option<CheckpointRecord>, ServiceError> {
        let key = self.server_key()?;
        let size = self.store.sequence_events().await?;
        if size == 0 {
            return Ok(None);
        }
        let newest = self
            .store
            .checkpoints()
            .await?
            .last()
            .map_or(0, |c| u64::try_from(c.tree_size).unwrap_or(0))
            .min(size);
        let leaves = self.leaves(size).await?;
        let mut sizes: Vec<u64> = (1..)
            .map_while(|k: u64| newest.checked_add(k.checked_mul(CHECKPOINT_EVENTS_MAX)?))
            .take_while(|at| on_the_way && *at < size)
            .collect();
        sizes.push(size);
        let mut tree = pqbank_audit::merkle::Frontier::new();
        let mut signed = None;
        for at in sizes {
            for leaf in leaves
                .iter()
                .skip(usize::try_from(tree.size()).unwrap_or(usize::MAX))
                .take(usize::try_from(at - tree.size()).unwrap_or(usize::MAX))
            {
                tree.push(leaf);
            }
            let now = self.now();
            let head = tree.root();
            let signed_bytes = checkpoint_bytes(at, &head, now);
            let signature = key.sign_act(&signed_bytes)?;
            let record = CheckpointRecord {
                tree_size: i64::try_from(at).unwrap_or(i64::MAX),
                root: head,
                created_at: now,
                signature,
                signed_bytes,
                signer: *key.fingerprint().as_bytes(),
            };
            let sign = crate::server_key::ServerSigner::new(key, Vec::new());
            self.commit_checkpoint(&record, &sign).await?;
            tracing::info!(tree_size = at, "checkpoint signed by the server");
            signed = Some(record);
        }
        Ok(signed)
    }

    /// Stores a checkpoint with its signer's `checkpoint` event on the signer's chain, the
    /// two committed together.
    async fn commit_checkpoint(
        &self,
        record: &CheckpointRecord,
        sign: pqbank_db::Signer<'_>,
    ) -> Result<(), ServiceError> {
        self.store
            .commit_logged(
                &[RowWrite::Checkpoint(record)],
                &[LoggedEvent {
                    certificate: record.signer,
                    kind: "checkpoint",
                    payload: &record.signed_bytes,
                    created_at: self.now(),
                    sign,
                }],
            )
            .await?;
        Ok(())
    }

    /// The newest checkpoint this server signed and the consistency proof from `seen`
    /// events (the size a workstation pinned) to its size: what a login answer carries,
    /// so that the workstation refuses a log cut short or rewritten since it last looked.
    /// A server with no checkpoint of its own (a new one, or its own deleted) signs one
    /// first; `None` only for an empty log. No proof when `seen` is 0 or not below the
    /// checkpoint's size (a workstation that saw more refuses it itself).
    ///
    /// # Errors
    /// A service without a server key, a sequenced log shorter than the checkpoint, or
    /// the store's.
    pub async fn log_head_since(
        &self,
        seen: u64,
    ) -> Result<Option<(CheckpointRecord, Vec<Hash>)>, ServiceError> {
        let own = *self.server_key()?.fingerprint().as_bytes();
        let newest_own = || async {
            Ok::<_, ServiceError>(
                self.store
                    .checkpoints()
                    .await?
                    .into_iter()
                    .rfind(|c| c.signer == own),
            )
        };
        let newest = match newest_own().await? {
            Some(newest) => newest,
            None => match self.sign_server_checkpoint(false).await {
                Ok(Some(signed)) => signed,
                Ok(None) => return Ok(None),
                // Two first sign-ins at once: the other's checkpoint took this size.
                Err(e) => newest_own().await?.ok_or(e)?,
            },
        };
        let size = u64::try_from(newest.tree_size).unwrap_or(0);
        let proof = if seen == 0 || seen >= size {
            Vec::new()
        } else {
            consistency_proof(
                &self.leaves(size).await?,
                usize::try_from(seen).unwrap_or(usize::MAX),
            )
            .map_err(|_| ServiceError::Audit("no consistency proof between those sizes"))?
        };
        Ok(Some((newest, proof)))
    }

    /// True when a server checkpoint is due: [`CHECKPOINT_EVENTS_MAX`] events or more
    /// since the newest checkpoint, or any and it is [`CHECKPOINT_SECS_MAX`] old.
    pub async fn checkpoint_due(&self) -> Result<bool, ServiceError> {
        let size = self.store.sequence_events().await?;
        let (newest_size, newest_at) = self
            .store
            .checkpoints()
            .await?
            .last()
            .map_or((0, i64::MIN), |c| {
                (u64::try_from(c.tree_size).unwrap_or(u64::MAX), c.created_at)
            });
        Ok(size > newest_size
            && (size - newest_size >= CHECKPOINT_EVENTS_MAX
                || self.now().saturating_sub(newest_at) >= CHECKPOINT_SECS_MAX))
    }

    /// The sequenced log's size (sequencing what was not yet).
    pub async fn log_size(&self) -> Result<u64, ServiceError> {
        Ok(self.store.sequence_events().await?)
    }

    /// Refuses a log shorter than `pin` (the highest size and its root this installation
    /// has seen) or whose first `pin.size` events do not have that root: events deleted,
    /// rewritten or reordered by whoever holds the database.
    pub async fn check_log_pin(&self, pin: &LogPin) -> Result<(), ServiceError> {
        let size = self.store.sequence_events().await?;
        if size < pin.size {
            tracing::error!(size, pinned = pin.size, "the log is shorter than its pin");
            return Err(ServiceError::Audit(
                "the log is shorter than the one this installation has seen",
            ));
        }
        if root(&self.leaves(pin.size).await?) != pin.root {
            tracing::error!(size, pinned = pin.size, "the log diverges from its pin");
            return Err(ServiceError::Audit(
                "the log diverges from the one this installation has seen",
            ));
        }
        Ok(())
    }

    /// The sequenced log's size and root now: the pin to keep.
    pub async fn log_pin(&self) -> Result<LogPin, ServiceError> {
        let (size, root) = self.log_head().await?;
        Ok(LogPin { size, root })
    }

    async fn leaves(&self, size: u64) -> Result<Vec<Hash>, ServiceError> {
        let hashes = self.store.log_leaves(size).await?;
        if hashes.len() as u64 != size {
            return Err(ServiceError::Store(pqbank_db::StoreError::Database(
                "the sequenced log is shorter than its size".into(),
            )));
        }
        Ok(hashes.iter().map(|h| leaf_hash(h)).collect())
    }

    /// The inclusion proof of a stored event against the checkpoint of `tree_size`.
    pub async fn inclusion_proof(
        &self,
        event_id: i64,
        tree_size: u64,
    ) -> Result<InclusionProof, ServiceError> {
        let index = self
            .store
            .log_index(event_id)
            .await?
            .ok_or(ServiceError::Audit("the event is not sequenced yet"))?;
        let checkpoint = self.checkpoint_of(tree_size).await?;
        let leaves = self.leaves(tree_size).await?;
        let path = inclusion_proof(&leaves, usize::try_from(index).unwrap_or(usize::MAX))
            .map_err(|_| ServiceError::Audit("the event is not in that checkpoint"))?;
        Ok(InclusionProof {
            index,
            tree_size,
            leaf: leaves[index as usize],
            root: checkpoint.root,
            path,
        })
    }

    /// The consistency proof between two checkpoints.
    pub async fn consistency_proof(
        &self,
        old_size: u64,
        new_size: u64,
    ) -> Result<Vec<Hash>, ServiceError> {
        self.checkpoint_of(old_size).await?;
        self.checkpoint_of(new_size).await?;
        let leaves = self.leaves(new_size).await?;
        consistency_proof(&leaves, usize::try_from(old_size).unwrap_or(usize::MAX))
            .map_err(|_| ServiceError::Audit("no consistency proof between those sizes"))
    }

    async fn checkpoint_of(&self, tree_size: u64) -> Result<CheckpointRecord, ServiceError> {
        self.store
            .checkpoints()
            .await?
            .into_iter()
            .find(|c| u64::try_from(c.tree_size).ok() == Some(tree_size))
            .ok_or(ServiceError::Audit("no checkpoint of that size"))
    }
}
