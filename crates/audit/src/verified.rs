//! What a clean verification of the log proved, kept so that the next one reads only
//! what came after it (pqbank-service's `Service::verify_log_from` makes and reads it).
//!
//! A verification that named no row leaves a [`VerifiedLog`]: every chain's verified
//! length and head hash and the device requests its events used; for the journal,
//! approvals, drawer events and revocations the highest id read, how many rows were read
//! at or below it and the ids below it not seen (a transaction that committed late may
//! fill them); the journal's totals per account, the transfers still pending and those
//! resolved; each staff member's, customer's and account's newest signed version (as a
//! digest); the issuances logged; the policy versions; and the Merkle frontier at the
//! largest checkpoint with the sizes of every checkpoint verified. The next run starts
//! from it: it verifies every signature and authority of the new rows only, and holds
//! what it cannot re-read cheaply to counts (a row inserted or removed below a mark, an
//! event removed below a head, a log position removed below the frontier is named).
//!
//! It is the verifier's own record, kept beside its pins in its data folder, never in
//! the database it checks: whoever runs the database cannot move it.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// The format of [`VerifiedLog`] this build writes and reads.
pub const VERIFIED_FORMAT: u32 = 1;

/// A row id above which a hole is no longer kept: a transaction that committed after this
/// many later ids were verified is taken for a row inserted (a full run names it).
pub const LATE_COMMIT_WINDOW: i64 = 10_000;

/// `N` bytes, written as hex.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Hex<const N: usize>(pub [u8; N]);

impl<const N: usize> Serialize for Hex<N> {
    fn serialize<Z: Serializer>(&self, s: Z) -> Result<Z::Ok, Z::Error> {
        s.serialize_str(&hex::encode(self.0))
    }
}

impl<'de, const N: usize> Deserialize<'de> for Hex<N> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Visit<const N: usize>;
        impl<const N: usize> serde::de::Visitor<'_> for Visit<N> {
            type Value = Hex<N>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{N} bytes as hex")
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Hex<N>, E> {
                let mut out = [0u8; N];
                hex::decode_to_slice(v, &mut out).map_err(E::custom)?;
                Ok(Hex(out))
            }
        }
        d.deserialize_str(Visit::<N>)
    }
}

/// Bytes of any length, written as hex.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct HexBytes(pub Vec<u8>);

impl Serialize for HexBytes {
    fn serialize<Z: Serializer>(&self, s: Z) -> Result<Z::Ok, Z::Error> {
        s.serialize_str(&hex::encode(&self.0))
    }
}

impl<'de> Deserialize<'de> for HexBytes {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        hex::decode(text)
            .map(HexBytes)
            .map_err(serde::de::Error::custom)
    }
}

/// What a clean verification proved: where the next one starts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VerifiedLog {
    /// [`VERIFIED_FORMAT`].
    pub format: u32,
    /// The pinned root the log was verified under.
    pub root: Hex<32>,
    /// When the snapshot was read (UNIX seconds, the verifier's clock).
    pub verified_at: i64,
    /// The newest signed time of an event verified: a revocation or a policy version
    /// signed at or before it may change what was proven, and the next run is full.
    pub through: i64,
    /// Transfers verified, over every run.
    pub transfers: u64,
    /// Events verified, over every run.
    pub events: u64,
    /// Every chain, by certificate.
    pub chains: BTreeMap<Hex<32>, ChainState>,
    /// Each counted table's marks, by table.
    pub tables: BTreeMap<String, Marks>,
    /// The transfers made pending and not yet resolved.
    pub pending: BTreeSet<i64>,
    /// The transfers resolved (posted, voided or expired after pending).
    pub resolved: BTreeSet<i64>,
    /// The signed journal's totals per account: debits posted, credits posted, debits
    /// pending, credits pending.
    pub totals: BTreeMap<i64, [i64; 4]>,
    /// Each master row's newest signed version, by table, then by id.
    pub versions: BTreeMap<String, BTreeMap<i64, VersionState>>,
    /// The issuances logged and allowed: (issuer, certificate issued).
    pub issued: BTreeSet<(Hex<32>, Hex<32>)>,
    /// The policy versions, in order: (signed at, the version event's payload).
    pub policies: Vec<(i64, HexBytes)>,
    /// The checkpoints.
    pub checkpoints: CheckpointState,
}

/// A chain as verified.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChainState {
    /// How many events were verified (the next position).
    pub next: u64,
    /// The hash of the last of them.
    pub head: Hex<32>,
    /// Digests of the (session, counter, kind) of every device request its events used.
    pub requests: BTreeSet<Hex<16>>,
    /// The request of its last event, which a drawer close's next event may use again:
    /// (its digest, the payload's digest, how many events used it).
    pub last: Option<(Hex<16>, Hex<32>, u32)>,
}

/// A table's rows as verified.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Marks {
    /// The highest id read.
    pub mark: i64,
    /// How many rows were read at or below it.
    pub count: i64,
    /// Ids at or below the mark not read (within [`LATE_COMMIT_WINDOW`] of it).
    pub holes: Vec<i64>,
    /// [`ids_digest`] of the ids verified at or below the mark: a row removed and
    /// another inserted below it do not keep the count and pass.
    pub digest: Hex<32>,
}

impl Default for Hex<32> {
    fn default() -> Self {
        Self([0; 32])
    }
}

/// A master row's newest signed version.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VersionState {
    /// Its number.
    pub version: u32,
    /// SHA3-256 of its contents.
    pub digest: Hex<32>,
    /// When its first version was signed.
    pub first_at: i64,
}

/// The checkpoints as verified.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CheckpointState {
    /// The Merkle frontier at the largest checkpoint's size.
    pub size: u64,
    /// Its right edge ([`crate::merkle::Frontier::nodes`]).
    pub frontier: Vec<Hex<32>>,
    /// The size of every checkpoint verified.
    pub sizes: BTreeSet<i64>,
}

impl VerifiedLog {
    /// The state before anything is verified: a run from it is a full verification.
    #[must_use]
    pub fn empty(root: [u8; 32]) -> Self {
        Self {
            format: VERIFIED_FORMAT,
            root: Hex(root),
            verified_at: 0,
            through: i64::MIN,
            transfers: 0,
            events: 0,
            chains: BTreeMap::new(),
            tables: BTreeMap::new(),
            pending: BTreeSet::new(),
            resolved: BTreeSet::new(),
            totals: BTreeMap::new(),
            versions: BTreeMap::new(),
            issued: BTreeSet::new(),
            policies: Vec::new(),
            checkpoints: CheckpointState::default(),
        }
    }

    /// Reads a state written by [`Self::to_json`]: refused if it is not one, is of another
    /// format, or its frontier is not a tree's.
    ///
    /// # Errors
    /// The reason, in words.
    pub fn from_json(bytes: &[u8]) -> Result<Self, String> {
        let state: Self = serde_json::from_slice(bytes)
            .map_err(|e| format!("the verified state is malformed: {e}"))?;
        if state.format != VERIFIED_FORMAT {
            return Err(format!(
                "the verified state is of format {}, not {VERIFIED_FORMAT}",
                state.format
            ));
        }
        if state.frontier().is_none() {
            return Err("the verified state's Merkle frontier is not a tree's".into());
        }
        Ok(state)
    }

    /// The state as JSON.
    #[must_use]
    pub fn to_json(&self) -> Vec<u8> {
        serde_json::to_vec(self).unwrap_or_default()
    }

    /// The frontier it keeps, if its nodes are a tree's of its size.
    #[must_use]
    pub fn frontier(&self) -> Option<crate::merkle::Frontier> {
        let nodes = self.checkpoints.frontier.iter().map(|h| h.0).collect();
        crate::merkle::Frontier::from_parts(self.checkpoints.size, nodes)
    }
}

/// SHA3-256 of a set of row ids, given in order.
#[must_use]
pub fn ids_digest(ids: &[i64]) -> [u8; 32] {
    use sha3::Digest;
    let mut h = sha3::Sha3_256::new();
    h.update(b"pqbank/verified-ids/v1");
    for id in ids {
        h.update(id.to_be_bytes());
    }
    h.finalize().into()
}

/// The marks after a run that read `read` (ids, any order) above `before`'s mark and in
/// its holes: the highest id, the count, and the ids not seen within the window.
#[must_use]
pub fn advance(before: &Marks, read: &[i64]) -> Marks {
    let seen: BTreeSet<i64> = read.iter().copied().collect();
    let mark = seen.last().copied().unwrap_or(0).max(before.mark);
    let floor = mark.saturating_sub(LATE_COMMIT_WINDOW);
    let mut holes: BTreeSet<i64> = before
        .holes
        .iter()
        .copied()
        .filter(|h| *h > floor && !seen.contains(h))
        .collect();
    for id in before.mark.max(floor).saturating_add(1)..=mark {
        if !seen.contains(&id) {
            holes.insert(id);
        }
    }
    Marks {
        mark,
        count: before
            .count
            .saturating_add(i64::try_from(seen.len()).unwrap_or(i64::MAX)),
        holes: holes.into_iter().collect(),
        digest: before.digest,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Proves the marks move to the highest id read, count what was read, keep the ids
    /// skipped as holes (filled ones dropped) and forget holes beyond the window.
    #[test]
    fn marks_keep_the_holes_a_late_commit_may_fill() {
        let first = advance(&Marks::default(), &[1, 2, 4, 5]);
        assert_eq!(
            first,
            Marks {
                mark: 5,
                count: 4,
                holes: vec![3],
                digest: Hex::default(),
            }
        );
        let second = advance(&first, &[3, 7]);
        assert_eq!(
            second,
            Marks {
                mark: 7,
                count: 6,
                holes: vec![6],
                digest: Hex::default(),
            }
        );
        let far = advance(&second, &[7 + LATE_COMMIT_WINDOW + 1]);
        assert_eq!(far.holes.first(), Some(&9));
        assert_eq!(
            far.holes.len(),
            usize::try_from(LATE_COMMIT_WINDOW - 1).unwrap()
        );
        assert!(!far.holes.contains(&6));
    }

    /// Proves a state survives its JSON, and a state of another format, with a frontier
    /// that is not a tree's, or with an unknown field is refused.
    #[test]
    fn a_state_is_read_back_or_refused() {
        let mut state = VerifiedLog::empty([7; 32]);
        state
            .tables
            .insert("transfers".into(), advance(&Marks::default(), &[1, 3]));
        state.checkpoints.size = 1;
        state.checkpoints.frontier = vec![Hex([1; 32])];
        assert_eq!(VerifiedLog::from_json(&state.to_json()), Ok(state.clone()));
        let mut other = state.clone();
        other.format = 2;
        assert!(VerifiedLog::from_json(&other.to_json()).is_err());
        let mut bent = state.clone();
        bent.checkpoints.size = 3;
        assert!(VerifiedLog::from_json(&bent.to_json()).is_err());
        let mut text: serde_json::Value = serde_json::from_slice(&state.to_json()).unwrap();
        text["extra"] = 1.into();
        assert!(VerifiedLog::from_json(text.to_string().as_bytes()).is_err());
        assert!(VerifiedLog::from_json(b"{").is_err());
    }
}
