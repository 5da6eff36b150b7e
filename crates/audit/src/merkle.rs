//! Merkle tree hashing, inclusion and consistency proofs as RFC 9162, Section 2.1, with
//! SHA3-256 as the hash: leaf hash H(0x00 || d), node hash H(0x01 || left || right), and
//! a tree of n leaves split at the largest power of two smaller than n.

use sha3::{Digest, Sha3_256};
use subtle::ConstantTimeEq;

use crate::{AuditError, Hash};

/// The hash of a leaf's data (RFC 9162, 2.1.1).
#[must_use]
pub fn leaf_hash(data: &[u8]) -> Hash {
    let mut h = Sha3_256::new();
    h.update([0x00]);
    h.update(data);
    h.finalize().into()
}

/// The hash of an interior node.
#[must_use]
pub fn node_hash(left: &Hash, right: &Hash) -> Hash {
    let mut h = Sha3_256::new();
    h.update([0x01]);
    h.update(left);
    h.update(right);
    h.finalize().into()
}

/// The hash of the empty tree: SHA3-256 of the empty string.
#[must_use]
pub fn empty_root() -> Hash {
    Sha3_256::digest([]).into()
}

/// Largest power of two strictly smaller than `n` (n >= 2).
fn split(n: usize) -> usize {
    let mut k = 1;
    while k << 1 < n {
        k <<= 1;
    }
    k
}

/// MTH over leaf hashes (already hashed with [`leaf_hash`]).
#[must_use]
pub fn root(leaves: &[Hash]) -> Hash {
    match leaves {
        [] => empty_root(),
        [one] => *one,
        _ => {
            let k = split(leaves.len());
            node_hash(&root(&leaves[..k]), &root(&leaves[k..]))
        }
    }
}

/// The audit path of leaf `index` (RFC 9162, 2.1.3.1).
pub fn inclusion_proof(leaves: &[Hash], index: usize) -> Result<Vec<Hash>, AuditError> {
    if index >= leaves.len() {
        return Err(AuditError::OutOfRange);
    }
    let mut path = Vec::new();
    path_into(leaves, index, &mut path);
    Ok(path)
}

fn path_into(leaves: &[Hash], m: usize, out: &mut Vec<Hash>) {
    if leaves.len() <= 1 {
        return;
    }
    let k = split(leaves.len());
    if m < k {
        path_into(&leaves[..k], m, out);
        out.push(root(&leaves[k..]));
    } else {
        path_into(&leaves[k..], m - k, out);
        out.push(root(&leaves[..k]));
    }
}

/// Verifies an inclusion proof (RFC 9162, 2.1.3.2).
pub fn verify_inclusion(
    leaf: &Hash,
    index: u64,
    tree_size: u64,
    path: &[Hash],
    root: &Hash,
) -> Result<(), AuditError> {
    if index >= tree_size {
        return Err(AuditError::InclusionProof);
    }
    let (mut fn_, mut sn) = (index, tree_size - 1);
    let mut r = *leaf;
    for p in path {
        if sn == 0 {
            return Err(AuditError::InclusionProof);
        }
        if fn_ & 1 == 1 || fn_ == sn {
            r = node_hash(p, &r);
            if fn_ & 1 == 0 {
                while fn_ & 1 == 0 && fn_ != 0 {
                    fn_ >>= 1;
                    sn >>= 1;
                }
            }
        } else {
            r = node_hash(&r, p);
        }
        fn_ >>= 1;
        sn >>= 1;
    }
    if sn == 0 && bool::from(r.ct_eq(root)) {
        Ok(())
    } else {
        Err(AuditError::InclusionProof)
    }
}

/// The consistency proof between the first `old_size` leaves and all of `leaves`
/// (RFC 9162, 2.1.4.1).
pub fn consistency_proof(leaves: &[Hash], old_size: usize) -> Result<Vec<Hash>, AuditError> {
    if old_size == 0 || old_size > leaves.len() {
        return Err(AuditError::OutOfRange);
    }
    let mut out = Vec::new();
    subproof(old_size, leaves, true, &mut out);
    Ok(out)
}

fn subproof(m: usize, leaves: &[Hash], complete: bool, out: &mut Vec<Hash>) {
    let n = leaves.len();
    if m == n {
        if !complete {
            out.push(root(leaves));
        }
        return;
    }
    let k = split(n);
    if m <= k {
        subproof(m, &leaves[..k], complete, out);
        out.push(root(&leaves[k..]));
    } else {
        subproof(m - k, &leaves[k..], false, out);
        out.push(root(&leaves[..k]));
    }
}

/// Verifies a consistency proof (RFC 9162, 2.1.4.2).
pub fn verify_consistency(
    old_size: u64,
    new_size: u64,
    old_root: &Hash,
    new_root: &Hash,
    proof: &[Hash],
) -> Result<(), AuditError> {
    let fail = Err(AuditError::ConsistencyProof);
    if old_size == 0 || old_size > new_size {
        return fail;
    }
    if old_size == new_size {
        return if proof.is_empty() && bool::from(old_root.ct_eq(new_root)) {
            Ok(())
        } else {
            fail
        };
    }
    let mut path: Vec<Hash> = Vec::with_capacity(proof.len() + 1);
    if old_size.is_power_of_two() {
        path.push(*old_root);
    }
    path.extend_from_slice(proof);
    let (mut fn_, mut sn) = (old_size - 1, new_size - 1);
    while fn_ & 1 == 1 {
        fn_ >>= 1;
        sn >>= 1;
    }
    let Some((first, rest)) = path.split_first() else {
        return fail;
    };
    let (mut fr, mut sr) = (*first, *first);
    for c in rest {
        if sn == 0 {
            return fail;
        }
        if fn_ & 1 == 1 || fn_ == sn {
            fr = node_hash(c, &fr);
            sr = node_hash(c, &sr);
            if fn_ & 1 == 0 {
                while fn_ & 1 == 0 && fn_ != 0 {
                    fn_ >>= 1;
                    sn >>= 1;
                }
            }
        } else {
            sr = node_hash(&sr, c);
        }
        fn_ >>= 1;
        sn >>= 1;
    }
    if sn == 0 && bool::from(fr.ct_eq(old_root)) && bool::from(sr.ct_eq(new_root)) {
        Ok(())
    } else {
        fail
    }
}

/// A tree grown one leaf at a time, keeping only its right edge: the roots of the
/// perfect subtrees its leaves fall into, largest first (one per set bit of the size).
/// Its root at every size is the RFC 9162 root of the leaves so far, in O(log n) memory
/// and O(1) amortised hashing per leaf, so one pass over a log gives the root at each of
/// its checkpoints' sizes.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Frontier {
    size: u64,
    nodes: Vec<Hash>,
}

impl Frontier {
    /// The empty tree.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// Leaves so far.
    #[must_use]
    pub fn size(&self) -> u64 {
        self.size
    }

    /// The right edge: the roots of the perfect subtrees, largest first.
    #[must_use]
    pub fn nodes(&self) -> &[Hash] {
        &self.nodes
    }

    /// The frontier of a tree of `size` leaves from its right edge as [`Self::nodes`]
    /// gave it; `None` if there is not one node per set bit of `size`.
    #[must_use]
    pub fn from_parts(size: u64, nodes: Vec<Hash>) -> Option<Self> {
        (usize::try_from(size.count_ones()).ok() == Some(nodes.len()))
            .then_some(Self { size, nodes })
    }

    /// Adds a leaf hash (already hashed with [`leaf_hash`]).
    pub fn push(&mut self, leaf: &Hash) {
        let mut node = *leaf;
        let mut below = self.size;
        // Each trailing set bit is a perfect subtree of the same size as the one being
        // carried: they join, as in binary addition.
        while below & 1 == 1 {
            let Some(left) = self.nodes.pop() else { break };
            node = node_hash(&left, &node);
            below >>= 1;
        }
        self.nodes.push(node);
        self.size += 1;
    }

    /// The root of the leaves so far: the subtrees folded from the right, as the tree
    /// splits at the largest power of two below its size.
    #[must_use]
    pub fn root(&self) -> Hash {
        let mut nodes = self.nodes.iter().rev();
        let Some(last) = nodes.next() else {
            return empty_root();
        };
        nodes.fold(*last, |right, left| node_hash(left, &right))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Proves the frontier's root is the tree's root at every size, across several
    /// powers of two.
    #[test]
    fn the_frontier_root_is_the_tree_root_at_every_size() {
        let leaves: Vec<Hash> = (0u32..130).map(|i| leaf_hash(&i.to_be_bytes())).collect();
        let mut frontier = Frontier::new();
        assert_eq!(frontier.root(), root(&[]));
        for (n, leaf) in leaves.iter().enumerate() {
            frontier.push(leaf);
            assert_eq!(frontier.size(), n as u64 + 1);
            assert_eq!(frontier.root(), root(&leaves[..=n]), "size {}", n + 1);
            assert_eq!(frontier.nodes.len(), (n + 1).count_ones() as usize);
            let again = Frontier::from_parts(frontier.size(), frontier.nodes().to_vec());
            assert_eq!(again.as_ref(), Some(&frontier));
            let mut more = frontier.nodes().to_vec();
            more.push([0; 32]);
            assert_eq!(Frontier::from_parts(frontier.size(), more), None);
        }
    }
}
