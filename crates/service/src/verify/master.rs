//! Verification of master data ([`pqbank_db::master`]): every staff member, customer and
//! account row must be its newest signed version, every version must have been allowed
//! to its signer when it was made (checked with the chain it was logged on), numbered
//! from 1 without a gap or a twin, and name a row the table holds.

use std::collections::BTreeMap;

use pqbank_db::master::{self, ACCOUNT_VERSION, CUSTOMER_VERSION, STAFF_VERSION};
use sha3::Digest;

use super::LogReport;
use super::state::{Hex, VersionState};

/// The table whose rows versions of event kind `kind` make, if it is a version kind.
pub(super) fn table_of(kind: &str) -> Option<&'static str> {
    match kind {
        STAFF_VERSION => Some("staff"),
        CUSTOMER_VERSION => Some("customers"),
        ACCOUNT_VERSION => Some("accounts"),
        _ => None,
    }
}

/// One version as logged: its contents, the event that logged it and its signed time.
struct Logged {
    contents: Vec<u8>,
    event: String,
    at: i64,
}

/// The versions the chains logged, signed by an allowed signer, by table and row, then
/// by version number; and each row's newest version an earlier verification proved,
/// which the versions logged since must follow.
#[derive(Default)]
pub(super) struct Versions {
    logged: BTreeMap<(&'static str, i64), BTreeMap<u32, Vec<Logged>>>,
    proven: BTreeMap<(&'static str, i64), VersionState>,
}

/// The master tables, as their versions name them.
const TABLES: [&str; 3] = ["staff", "customers", "accounts"];

impl Versions {
    /// The versions an earlier verification proved (by table, then by id).
    pub(super) fn from_state(state: &BTreeMap<String, BTreeMap<i64, VersionState>>) -> Self {
        let mut proven = BTreeMap::new();
        for table in TABLES {
            for (id, version) in state.get(table).into_iter().flatten() {
                proven.insert((table, *id), version.clone());
            }
        }
        Self {
            logged: BTreeMap::new(),
            proven,
        }
    }

    /// Keeps the version `payload` logged by `event`, signed at `at`, for a row of
    /// `table`; false if the payload is not a version's.
    pub(super) fn add(
        &mut self,
        table: &'static str,
        payload: &[u8],
        event: String,
        at: i64,
    ) -> bool {
        let Some((of, contents)) = master::split_payload(payload) else {
            return false;
        };
        self.logged
            .entry((table, of.id))
            .or_default()
            .entry(of.version)
            .or_default()
            .push(Logged {
                contents: contents.to_vec(),
                event,
                at,
            });
        true
    }

    /// The newest version of each row of `table`, where its versions are numbered from
    /// 1 without a gap or a twin.
    pub(super) fn newest(&self, table: &'static str) -> BTreeMap<i64, Vec<u8>> {
        self.logged
            .iter()
            .filter(|((t, _), versions)| *t == table && well_numbered(versions))
            .filter_map(|((_, id), versions)| {
                let newest = versions.values().next_back()?.first()?;
                Some((*id, newest.contents.clone()))
            })
            .collect()
    }

    /// Checks the rows of `table`, each as (id, its contents rebuilt from its columns),
    /// against their versions; names every row that is not its newest signed version or
    /// whose creation time (`created`, by id) is not its first version's, and every
    /// version of a row the table does not hold. Returns each row's newest version.
    pub(super) fn check_table(
        &mut self,
        table: &'static str,
        rows: impl IntoIterator<Item = (i64, Vec<u8>)>,
        created: &BTreeMap<i64, i64>,
        report: &mut LogReport,
    ) -> BTreeMap<i64, VersionState> {
        let mut newest_of = BTreeMap::new();
        for (id, contents) in rows {
            let row = format!("#{id}");
            let versions = self.logged.remove(&(table, id)).unwrap_or_default();
            let proven = self.proven.remove(&(table, id));
            if versions.is_empty() && proven.is_none() {
                report.push(table, row, "no signed version made it");
                continue;
            }
            for (n, logged) in &versions {
                if logged.len() > 1 {
                    let events: Vec<&str> = logged.iter().map(|l| l.event.as_str()).collect();
                    report.push(
                        table,
                        row.clone(),
                        format!(
                            "two signed versions are numbered {n} ({})",
                            events.join(", ")
                        ),
                    );
                }
            }
            let first = proven.as_ref().map_or(1, |p| p.version.saturating_add(1));
            if !numbered_from(&versions, first) {
                report.push(
                    table,
                    row.clone(),
                    "its signed versions are not numbered from 1 without a gap",
                );
            }
            let newest = versions
                .iter()
                .next_back()
                .and_then(|(n, logged)| Some((*n, digest(&logged.first()?.contents))))
                .or_else(|| proven.as_ref().map(|p| (p.version, p.digest.0)));
            if newest.is_none_or(|(_, d)| d != digest(&contents)) {
                report.push(
                    table,
                    row.clone(),
                    "its columns are not its newest signed version",
                );
            }
            let first_at = proven.as_ref().map(|p| p.first_at).or_else(|| {
                let logged = versions.get(&1)?;
                Some(logged.first()?.at)
            });
            if first_at.is_some_and(|at| created.get(&id) != Some(&at)) {
                report.push(
                    table,
                    row,
                    "its creation time is not its first signed version's",
                );
            }
            if let (Some((version, d)), Some(first_at)) = (newest, first_at) {
                let state = VersionState {
                    version,
                    digest: Hex(d),
                    first_at,
                };
                newest_of.insert(id, state);
            }
        }
        let strays: Vec<(&'static str, i64)> = self
            .logged
            .keys()
            .chain(self.proven.keys())
            .filter(|(t, _)| *t == table)
            .copied()
            .collect::<std::collections::BTreeSet<_>>()
            .into_iter()
            .collect();
        for key in strays {
            self.logged.remove(&key);
            self.proven.remove(&key);
            report.push(
                table,
                format!("#{}", key.1),
                "a signed version names a row the table does not hold",
            );
        }
        newest_of
    }
}

/// SHA3-256 of a version's contents.
fn digest(contents: &[u8]) -> [u8; 32] {
    sha3::Sha3_256::digest(contents).into()
}

/// True if the versions are numbered `first`, `first + 1`, ... without a gap.
fn numbered_from(versions: &BTreeMap<u32, Vec<Logged>>, first: u32) -> bool {
    versions.keys().zip(first..).all(|(n, want)| *n == want)
}

/// True if the versions are numbered from 1 without a gap, each number once.
fn well_numbered(versions: &BTreeMap<u32, Vec<Logged>>) -> bool {
    numbered_from(versions, 1) && versions.values().all(|logged| logged.len() == 1)
}
