//! Verification of master data ([`pqbank_db::master`]): every staff member, customer and
//! account row must be its newest signed version, every version must have been allowed
//! to its signer when it was made (checked with the chain it was logged on), numbered
//! from 1 without a gap or a twin, and name a row the table holds.

use std::collections::BTreeMap;

use pqbank_db::master::{self, ACCOUNT_VERSION, CUSTOMER_VERSION, STAFF_VERSION};

use super::LogReport;

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
/// by version number.
#[derive(Default)]
pub(super) struct Versions(BTreeMap<(&'static str, i64), BTreeMap<u32, Vec<Logged>>>);

impl Versions {
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
        self.0
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
        self.0
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
    /// version of a row the table does not hold.
    pub(super) fn check_table(
        &mut self,
        table: &'static str,
        rows: impl IntoIterator<Item = (i64, Vec<u8>)>,
        created: &BTreeMap<i64, i64>,
        report: &mut LogReport,
    ) {
        for (id, contents) in rows {
            let row = format!("#{id}");
            let Some(versions) = self.0.remove(&(table, id)) else {
                report.push(table, row, "no signed version made it");
                continue;
            };
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
            if !numbered_from_one(&versions) {
                report.push(
                    table,
                    row.clone(),
                    "its signed versions are not numbered from 1 without a gap",
                );
            }
            let newest = versions
                .values()
                .next_back()
                .and_then(|logged| logged.first());
            if newest.is_none_or(|l| l.contents != contents) {
                report.push(
                    table,
                    row.clone(),
                    "its columns are not its newest signed version",
                );
            }
            let first = versions.get(&1).and_then(|logged| logged.first());
            if first.is_some_and(|l| created.get(&id) != Some(&l.at)) {
                report.push(
                    table,
                    row,
                    "its creation time is not its first signed version's",
                );
            }
        }
        let strays: Vec<(&'static str, i64)> = self
            .0
            .keys()
            .filter(|(t, _)| *t == table)
            .copied()
            .collect();
        for key in strays {
            self.0.remove(&key);
            report.push(
                table,
                format!("#{}", key.1),
                "a signed version names a row the table does not hold",
            );
        }
    }
}

/// True if the versions are numbered 1, 2, ... without a gap.
fn numbered_from_one(versions: &BTreeMap<u32, Vec<Logged>>) -> bool {
    versions.keys().zip(1u32..).all(|(n, want)| *n == want)
}

/// True if the versions are numbered from 1 without a gap, each number once.
fn well_numbered(versions: &BTreeMap<u32, Vec<Logged>>) -> bool {
    numbered_from_one(versions) && versions.values().all(|logged| logged.len() == 1)
}
