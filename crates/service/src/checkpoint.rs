//! Checkpoints: the sequenced log folded into an RFC 9162 tree, its head signed by the
//! auditor's device; inclusion proofs of events and consistency proofs between heads.

use pqbank_audit::Hash;
use pqbank_audit::merkle::{consistency_proof, inclusion_proof, leaf_hash, root};
use pqbank_db::{CheckpointRecord, LoggedEvent, RowWrite, Store};
use pqbank_pki::Action;

use crate::{Device, Service, ServiceError, SessionToken};

/// Domain label of a checkpoint's signed bytes.
pub const CHECKPOINT_LABEL: &[u8] = b"pqbank/checkpoint/v1";

/// The bytes a checkpoint's signer signs.
#[must_use]
pub fn checkpoint_bytes(tree_size: u64, root: &Hash, created_at: i64) -> Vec<u8> {
    [
        CHECKPOINT_LABEL,
        &tree_size.to_be_bytes(),
        root,
        &created_at.to_be_bytes(),
    ]
    .concat()
}

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
        if let Some(last) = self.store.checkpoints().await?.last()
            && u64::try_from(last.tree_size).ok() == Some(size)
        {
            return Ok(last.clone());
        }
        let leaves = self.leaves(size).await?;
        let head = root(&leaves);
        let now = self.now();
        let signed_bytes = checkpoint_bytes(size, &head, now);
        let record = CheckpointRecord {
            tree_size: i64::try_from(size).unwrap_or(i64::MAX),
            root: head,
            created_at: now,
            signature: device.sign_act(&signed_bytes)?,
            signed_bytes,
            signer: *auth.certificate.as_bytes(),
        };
        // The checkpoint and the auditor's event commit together.
        let sign = device.event_signer();
        self.store
            .commit_logged(
                &[RowWrite::Checkpoint(&record)],
                &[LoggedEvent {
                    certificate: record.signer,
                    kind: "checkpoint",
                    payload: &record.signed_bytes,
                    created_at: now,
                    sign: &sign,
                }],
            )
            .await?;
        tracing::info!(
            certificate = %auth.certificate,
            staff_id = auth.staff_id,
            tree_size = size,
            "act signed: checkpoint"
        );
        Ok(record)
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
