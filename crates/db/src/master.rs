//! Master data as signed versions: who a staff member is, who a customer is, and what an
//! account is (owner, kind, currency, floor, closed) are decided by signed acts, not by
//! the rows a database administrator can edit.
//!
//! Every staff member, customer and account is created, and later changed, as a
//! version: an accountability event on the chain of the certificate that made it, in the
//! row's own transaction, whose payload is the row's id, its version number (1 at
//! creation) and its contents in the canonical form below. The events are append-only,
//! hash-chained, signed and in the Merkle log like every act, so a version cannot be
//! edited, removed or reordered unseen; the row is the newest version's cache. Log
//! verification rebuilds each row's canonical bytes from its columns and names every row
//! that is not its newest signed version, or has none, and every version whose signer was
//! not allowed to make it.
//!
//! The canonical form of a version's contents: each field in order, a string as its
//! length (u32, big-endian) then its UTF-8 bytes, an optional integer as a presence byte
//! (0 or 1) then the value (i64, big-endian), a flag as one byte.

use pqbank_ledger::Policy;

use crate::{AccountRow, CustomerRow, NewAccount, NewCustomer, NewStaff};

/// Event kind of a staff member's version.
pub const STAFF_VERSION: &str = "staff.version";
/// Event kind of a customer's version.
pub const CUSTOMER_VERSION: &str = "customer.version";
/// Event kind of an account's version.
pub const ACCOUNT_VERSION: &str = "account.version";
/// Event kind of a version of the bank's four-eyes policy, on the root's chain.
pub const POLICY_VERSION: &str = "policy.version";
/// The id a policy version names: the bank has one policy.
pub const POLICY_ID: i64 = 1;
/// The longest a pending transfer may wait, in seconds (30 days): a signed policy with a
/// longer lifetime is refused.
pub const PENDING_TTL_SECS_MAX: i64 = 30 * 86_400;

/// Who makes a version: the acting certificate, whose chain the version joins, and what
/// signs the event's hash with its key.
#[derive(Clone, Copy)]
pub struct Maker<'a> {
    /// Fingerprint of the acting certificate.
    pub certificate: [u8; 32],
    /// Signs the event's hash.
    pub sign: crate::Signer<'a>,
}

/// One version's identity: the row and its number (1 at creation).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct VersionOf {
    /// The row's id.
    pub id: i64,
    /// Its version number.
    pub version: u32,
}

/// The payload of a version event: the row's id, the version number, then the contents.
#[must_use]
pub fn version_payload(of: VersionOf, contents: &[u8]) -> Vec<u8> {
    [
        of.id.to_be_bytes().as_slice(),
        &of.version.to_be_bytes(),
        contents,
    ]
    .concat()
}

/// The version a payload names and its contents, if it is long enough to be one.
#[must_use]
pub fn split_payload(payload: &[u8]) -> Option<(VersionOf, &[u8])> {
    let (id, rest) = payload.split_first_chunk::<8>()?;
    let (version, contents) = rest.split_first_chunk::<4>()?;
    Some((
        VersionOf {
            id: i64::from_be_bytes(*id),
            version: u32::from_be_bytes(*version),
        },
        contents,
    ))
}

/// The canonical contents of a staff member's version.
#[must_use]
pub fn staff_contents(staff: &NewStaff) -> Vec<u8> {
    let mut out = Vec::new();
    put_str(&mut out, &staff.number);
    put_str(&mut out, &staff.display_name);
    put_str(&mut out, &staff.role);
    out
}

/// The canonical contents of a customer's version.
#[must_use]
pub fn customer_contents(customer: &NewCustomer) -> Vec<u8> {
    let mut out = Vec::new();
    put_str(&mut out, &customer.number);
    put_str(&mut out, &customer.full_name);
    out
}

/// The canonical contents of an account's version: a new account is open.
#[must_use]
pub fn account_contents(account: &NewAccount, closed: bool) -> Vec<u8> {
    let mut out = Vec::new();
    put_str(&mut out, &account.number);
    put_opt(&mut out, account.customer_id);
    put_str(&mut out, account.kind.as_str());
    put_str(&mut out, account.currency.code());
    put_opt(&mut out, account.floor_minor);
    out.push(u8::from(closed));
    put_str(&mut out, &account.label);
    out
}

/// The canonical contents of a policy version: the approval threshold and the pending
/// lifetime, each an i64, big-endian.
#[must_use]
pub fn policy_contents(policy: &Policy) -> Vec<u8> {
    [
        policy.approval_threshold_minor.to_be_bytes(),
        policy.pending_ttl_secs.to_be_bytes(),
    ]
    .concat()
}

/// The policy a version's contents state, if they are one: exactly two integers, a
/// threshold not below zero and a lifetime from one second to [`PENDING_TTL_SECS_MAX`].
#[must_use]
pub fn policy_from_contents(contents: &[u8]) -> Option<Policy> {
    let (threshold, rest) = contents.split_first_chunk::<8>()?;
    let ttl: [u8; 8] = rest.try_into().ok()?;
    let policy = Policy {
        approval_threshold_minor: i64::from_be_bytes(*threshold),
        pending_ttl_secs: i64::from_be_bytes(ttl),
    };
    (policy.approval_threshold_minor >= 0
        && (1..=PENDING_TTL_SECS_MAX).contains(&policy.pending_ttl_secs))
    .then_some(policy)
}

/// A stored staff member's contents, as its columns say.
#[must_use]
pub fn staff_row_contents(number: &str, name: &str, role: &str) -> Vec<u8> {
    staff_contents(&NewStaff {
        number: number.into(),
        display_name: name.into(),
        role: role.into(),
    })
}

/// A stored customer's contents, as its columns say.
#[must_use]
pub fn customer_row_contents(row: &CustomerRow) -> Vec<u8> {
    customer_contents(&NewCustomer {
        number: row.number.clone(),
        full_name: row.full_name.clone(),
    })
}

/// A stored account's contents, as its columns say.
#[must_use]
pub fn account_row_contents(row: &AccountRow) -> Vec<u8> {
    account_contents(
        &NewAccount {
            number: row.number.clone(),
            customer_id: row.customer_id,
            kind: row.kind,
            currency: row.currency,
            floor_minor: row.floor_minor,
            label: row.label.clone(),
        },
        row.closed,
    )
}

fn put_str(out: &mut Vec<u8>, s: &str) {
    let len = u32::try_from(s.len()).unwrap_or(u32::MAX);
    out.extend_from_slice(&len.to_be_bytes());
    out.extend_from_slice(s.as_bytes());
}

fn put_opt(out: &mut Vec<u8>, v: Option<i64>) {
    out.push(u8::from(v.is_some()));
    out.extend_from_slice(&v.unwrap_or_default().to_be_bytes());
}

#[cfg(test)]
mod tests {
    use pqbank_ledger::{AccountKind, Currency};

    use super::*;

    fn account() -> NewAccount {
        NewAccount {
            number: "DE01".into(),
            customer_id: Some(7),
            kind: AccountKind::Customer,
            currency: Currency::EUR,
            floor_minor: Some(0),
            label: "DE01".into(),
        }
    }

    /// Proves a payload names its row and version and splits back into them.
    #[test]
    fn a_payload_splits_into_its_version_and_contents() {
        let of = VersionOf { id: 42, version: 3 };
        let contents = account_contents(&account(), false);
        let payload = version_payload(of, &contents);
        assert_eq!(split_payload(&payload), Some((of, contents.as_slice())));
        assert_eq!(split_payload(&payload[..11]), None);
    }

    /// Proves every field that decides money or rights changes the contents: owner,
    /// kind, currency, floor, closed.
    #[test]
    fn every_field_is_in_the_contents() {
        let base = account_contents(&account(), false);
        let changed = [
            NewAccount {
                customer_id: Some(8),
                ..account()
            },
            NewAccount {
                customer_id: None,
                ..account()
            },
            NewAccount {
                kind: AccountKind::BankInternal,
                ..account()
            },
            NewAccount {
                currency: Currency::USD,
                ..account()
            },
            NewAccount {
                floor_minor: Some(-1),
                ..account()
            },
            NewAccount {
                floor_minor: None,
                ..account()
            },
            NewAccount {
                number: "DE02".into(),
                ..account()
            },
        ];
        for a in changed {
            assert_ne!(account_contents(&a, false), base, "{a:?}");
        }
        assert_ne!(account_contents(&account(), true), base, "closed");
        // Lengths are prefixed: moving a byte between two strings changes the bytes.
        let a = staff_contents(&NewStaff {
            number: "T-1".into(),
            display_name: "Ann".into(),
            role: "teller".into(),
        });
        let b = staff_contents(&NewStaff {
            number: "T-1A".into(),
            display_name: "nn".into(),
            role: "teller".into(),
        });
        assert_ne!(a, b);
    }

    /// Proves a policy's contents read back as the policy, and that anything else (a
    /// byte short or over, a negative threshold, a lifetime of zero or over the limit)
    /// is not a policy.
    #[test]
    fn a_policy_reads_back_and_nothing_else_does() {
        let policy = Policy {
            approval_threshold_minor: 100_000,
            pending_ttl_secs: 3_600,
        };
        let contents = policy_contents(&policy);
        assert_eq!(policy_from_contents(&contents), Some(policy));
        assert_eq!(policy_from_contents(&contents[..15]), None);
        assert_eq!(
            policy_from_contents(&[contents.as_slice(), &[0]].concat()),
            None
        );
        for bad in [
            Policy {
                approval_threshold_minor: -1,
                ..policy
            },
            Policy {
                pending_ttl_secs: 0,
                ..policy
            },
            Policy {
                pending_ttl_secs: PENDING_TTL_SECS_MAX + 1,
                ..policy
            },
        ] {
            assert_eq!(
                policy_from_contents(&policy_contents(&bad)),
                None,
                "{bad:?}"
            );
        }
        let longest = Policy {
            pending_ttl_secs: PENDING_TTL_SECS_MAX,
            ..policy
        };
        assert_eq!(
            policy_from_contents(&policy_contents(&longest)),
            Some(longest)
        );
    }
}
