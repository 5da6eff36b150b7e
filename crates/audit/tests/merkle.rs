//! RFC 9162 Merkle proofs: every inclusion and consistency proof of trees up to 70
//! leaves verifies, a reference recursive implementation agrees on every root, and any
//! changed hash, index or size makes a proof fail (a falsified proof is never accepted).

use pqbank_audit::chain::{Event, verify_chain, verify_chain_from};
use pqbank_audit::merkle::{
    consistency_proof, empty_root, inclusion_proof, leaf_hash, node_hash, root, verify_consistency,
    verify_inclusion,
};
use pqbank_audit::{AuditError, Hash};
use proptest::prelude::*;

fn leaves(n: usize) -> Vec<Hash> {
    (0..n)
        .map(|i| leaf_hash(&(i as u64).to_be_bytes()))
        .collect()
}

/// RFC 9162's MTH written literally, as a cross-check of the iterative verifiers.
fn reference_root(d: &[Hash]) -> Hash {
    if d.is_empty() {
        return empty_root();
    }
    if d.len() == 1 {
        return d[0];
    }
    let mut k = 1;
    while k * 2 < d.len() {
        k *= 2;
    }
    node_hash(&reference_root(&d[..k]), &reference_root(&d[k..]))
}

/// Proves every inclusion proof in trees of 1 to 70 leaves verifies, and another leaf,
/// another index or an index past the size is refused. (The tree size itself is bound
/// by the signed checkpoint, not by the proof.)
#[test]
fn all_inclusion_proofs_verify() {
    for n in 1..=70 {
        let d = leaves(n);
        let r = root(&d);
        assert_eq!(r, reference_root(&d));
        for m in 0..n {
            let proof = inclusion_proof(&d, m).unwrap_or_default();
            let n64 = n as u64;
            assert_eq!(
                verify_inclusion(&d[m], m as u64, n64, &proof, &r),
                Ok(()),
                "n {n} m {m}"
            );
            assert!(verify_inclusion(&d[m], n64, n64, &proof, &r).is_err());
            if n > 1 {
                assert!(verify_inclusion(&d[(m + 1) % n], m as u64, n64, &proof, &r).is_err());
                assert!(verify_inclusion(&d[m], ((m + 1) % n) as u64, n64, &proof, &r).is_err());
            }
        }
    }
}

/// Proves every consistency proof between sizes 1..=n<=50 verifies and a wrong old
/// root, new root or size is refused.
#[test]
fn all_consistency_proofs_verify() {
    for n in 1..=50 {
        let d = leaves(n);
        let new_root = root(&d);
        for m in 1..=n {
            let old_root = root(&d[..m]);
            let proof = consistency_proof(&d, m).unwrap_or_default();
            let (m64, n64) = (m as u64, n as u64);
            assert_eq!(
                verify_consistency(m64, n64, &old_root, &new_root, &proof),
                Ok(()),
                "m {m} n {n}"
            );
            let other = leaf_hash(b"forged");
            assert!(verify_consistency(m64, n64, &other, &new_root, &proof).is_err());
            if m < n {
                assert!(verify_consistency(m64, n64, &old_root, &other, &proof).is_err());
                assert!(verify_consistency(m64 + 1, n64, &old_root, &new_root, &proof).is_err());
            }
        }
    }
    assert_eq!(
        consistency_proof(&leaves(3), 0),
        Err(AuditError::OutOfRange)
    );
}

proptest! {
    /// Proves a proof with any one hash changed never verifies.
    #[test]
    fn tampered_proofs_fail(n in 2usize..200, m_seed in any::<usize>(), pos_seed in any::<usize>(), bit in 0u8..8) {
        let d = leaves(n);
        let m = m_seed % n;
        let mut proof = inclusion_proof(&d, m).map_err(|e| TestCaseError::fail(e.to_string()))?;
        let pos = pos_seed % proof.len();
        proof[pos][0] ^= 1 << bit;
        prop_assert!(verify_inclusion(&d[m], m as u64, n as u64, &proof, &root(&d)).is_err());
        let old = 1 + m_seed % (n - 1);
        let mut c = consistency_proof(&d, old).map_err(|e| TestCaseError::fail(e.to_string()))?;
        if !c.is_empty() {
            let pos = pos_seed % c.len();
            c[pos][31] ^= 1 << bit;
            prop_assert!(verify_consistency(old as u64, n as u64, &root(&d[..old]), &root(&d), &c).is_err());
        }
    }
}

fn chain(len: u64) -> Vec<(Event, Hash)> {
    let cert = [7u8; 32];
    let mut out: Vec<(Event, Hash)> = Vec::new();
    for i in 0..len {
        let e = Event::next(
            cert,
            out.last().map(|(e, h)| (e, h)),
            "transfer.post",
            vec![i as u8; 3],
            i as i64,
        );
        let h = e.hash();
        out.push((e, h));
    }
    out
}

/// Proves a chain verifies and an edited, removed, inserted or foreign event is named.
#[test]
fn chain_breaks_are_named() {
    let cert = [7u8; 32];
    let good = chain(6);
    assert_eq!(verify_chain(&cert, &good), Ok(good[5].1));
    let mut edited = good.clone();
    edited[2].0.payload = vec![9];
    assert_eq!(
        verify_chain(&cert, &edited),
        Err(AuditError::Contents { seq: 2 })
    );
    let mut removed = good.clone();
    removed.remove(3);
    assert_eq!(
        verify_chain(&cert, &removed),
        Err(AuditError::Sequence { seq: 4 })
    );
    let mut relinked = good.clone();
    relinked[4].0.prev_hash = [1; 32];
    relinked[4].1 = relinked[4].0.hash();
    assert_eq!(
        verify_chain(&cert, &relinked),
        Err(AuditError::Link { seq: 4 })
    );
    assert_eq!(
        verify_chain(&[8u8; 32], &good),
        Err(AuditError::ForeignEvent { seq: 0 })
    );
}

/// Proves a chain's continuation verifies from its verified head, and is refused from
/// another head, from another position, or with a gap.
#[test]
fn a_continuation_verifies_from_its_head() {
    let cert = [7u8; 32];
    let good = chain(6);
    let head = good[2].1;
    assert_eq!(verify_chain_from(&cert, 3, head, &good[3..]), Ok(good[5].1));
    assert_eq!(verify_chain_from(&cert, 6, good[5].1, &[]), Ok(good[5].1));
    assert_eq!(
        verify_chain_from(&cert, 3, good[1].1, &good[3..]),
        Err(AuditError::Link { seq: 3 })
    );
    assert_eq!(
        verify_chain_from(&cert, 2, head, &good[3..]),
        Err(AuditError::Sequence { seq: 3 })
    );
    assert_eq!(
        verify_chain_from(&cert, 3, head, &good[4..]),
        Err(AuditError::Sequence { seq: 4 })
    );
}
