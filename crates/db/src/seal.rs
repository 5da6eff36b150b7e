//! The seal on an account's cached totals: what lets a bank server refuse to move money
//! on a balance row somebody edited in the database.
//!
//! The floors and the drawer close decide on `account_balances`, a cache of the journal,
//! and on the account's own row (its kind, currency, floor, owner, closed), the cache of
//! its newest signed version ([`crate::master`]). A server that holds a seal key writes,
//! with every balance row, the id of the newest transfer applied to the account and an
//! HMAC-SHA3-256 over the account, its contents (as its version's canonical form), its
//! four totals and that id. When a flow locks an account it checks both: the seal
//! (whoever edits a total or the account's row, or copies another row's seal, has no
//! key) and that the newest transfer in the journal touching the account is the one the
//! row was sealed at (whoever puts back an older sealed row, to undo a withdrawal, is
//! seen). A row that fails either is refused before anything is applied
//! ([`crate::StoreError::CacheUnproven`]). The key is derived from the server's own
//! secret, which is not in the database.

use hmac::{KeyInit, Mac};
use pqbank_ledger::Balances;
use sha3::{Digest, Sha3_256};

/// Domain label of the seal key's derivation.
const KEY_LABEL: &[u8] = b"pqbank/balance-seal-key/v1";

/// Domain label of a seal.
const SEAL_LABEL: &[u8] = b"pqbank/balance-seal/v2";

type HmacSha3 = hmac::SimpleHmac<Sha3_256>;

/// A seal key.
#[derive(Clone)]
pub struct Seal {
    key: zeroize::Zeroizing<[u8; 32]>,
}

impl core::fmt::Debug for Seal {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("Seal(..)")
    }
}

impl Seal {
    /// The seal key derived from a secret only the server holds (its signing key's
    /// seed): SHA3-256 of a domain label and the secret.
    #[must_use]
    pub fn derive(secret: &[u8]) -> Self {
        let key: [u8; 32] = Sha3_256::new()
            .chain_update(KEY_LABEL)
            .chain_update(secret)
            .finalize()
            .into();
        Self {
            key: zeroize::Zeroizing::new(key),
        }
    }

    /// The seal of `account` with `contents` (its row in canonical form,
    /// [`crate::master::account_row_contents`]) and these totals as of the transfer
    /// `last` (the newest applied to it; `None` before any).
    #[must_use]
    pub fn of(
        &self,
        account: i64,
        contents: &[u8],
        totals: &Balances,
        last: Option<i64>,
    ) -> [u8; 32] {
        self.mac(account, contents, totals, last)
            .finalize()
            .into_bytes()
            .into()
    }

    /// True if `seal` is the seal of this account, contents and totals as of `last`
    /// (compared in constant time).
    #[must_use]
    pub fn holds(
        &self,
        account: i64,
        contents: &[u8],
        totals: &Balances,
        last: Option<i64>,
        seal: &[u8],
    ) -> bool {
        self.mac(account, contents, totals, last)
            .verify_slice(seal)
            .is_ok()
    }

    fn mac(&self, account: i64, contents: &[u8], totals: &Balances, last: Option<i64>) -> HmacSha3 {
        let mut mac = <HmacSha3 as KeyInit>::new_from_slice(self.key.as_slice())
            .unwrap_or_else(|_| unreachable!("HMAC takes a key of any length"));
        mac.update(SEAL_LABEL);
        mac.update(&account.to_be_bytes());
        mac.update(&(contents.len() as u64).to_be_bytes());
        mac.update(contents);
        for total in [
            totals.debits_posted,
            totals.credits_posted,
            totals.debits_pending,
            totals.credits_pending,
        ] {
            mac.update(&total.to_be_bytes());
        }
        mac.update(&[u8::from(last.is_some())]);
        mac.update(&last.unwrap_or_default().to_be_bytes());
        mac
    }
}

/// What a locked balance row carries besides its totals, to be checked against its seal.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CacheProof {
    /// The newest transfer the row was written for, as the row says.
    pub last_transfer: Option<i64>,
    /// The row's seal, if it was sealed.
    pub seal: Option<Vec<u8>>,
    /// The newest transfer touching the account, as the journal says.
    pub journal_last: Option<i64>,
}

impl CacheProof {
    /// True if the row may be acted on under `seal`: sealed for its contents and totals
    /// at the journal's newest transfer. An unsealed row never is, not even a new one
    /// with zero totals (its floor or owner could be anyone's edit): a server seals an
    /// account as it opens it, and at start every account its signed version proves.
    #[must_use]
    pub fn holds(&self, seal: &Seal, account: i64, contents: &[u8], totals: &Balances) -> bool {
        self.last_transfer == self.journal_last
            && self
                .seal
                .as_ref()
                .is_some_and(|s| seal.holds(account, contents, totals, self.last_transfer, s))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn totals(n: i64) -> Balances {
        Balances {
            debits_posted: n,
            credits_posted: 2,
            debits_pending: 3,
            credits_pending: 4,
        }
    }

    /// Proves a seal holds only for its key, account, contents, totals and transfer.
    #[test]
    fn a_seal_binds_key_account_totals_and_transfer() {
        let seal = Seal::derive(b"server secret");
        let s = seal.of(7, b"floor 0", &totals(1), Some(9));
        assert!(seal.holds(7, b"floor 0", &totals(1), Some(9), &s));
        assert!(!Seal::derive(b"other").holds(7, b"floor 0", &totals(1), Some(9), &s));
        assert!(!seal.holds(8, b"floor 0", &totals(1), Some(9), &s));
        assert!(
            !seal.holds(7, b"floor -1", &totals(1), Some(9), &s),
            "edited row"
        );
        assert!(!seal.holds(7, b"floor 0", &totals(2), Some(9), &s));
        assert!(!seal.holds(7, b"floor 0", &totals(1), Some(8), &s));
        assert!(!seal.holds(7, b"floor 0", &totals(1), None, &s));
        assert!(!seal.holds(7, b"floor 0", &totals(1), Some(9), &s[..31]));
    }

    /// Proves a row is acted on only when sealed, for its contents and totals, at the
    /// journal's newest transfer.
    #[test]
    fn a_row_holds_only_at_the_journals_newest_transfer() {
        let seal = Seal::derive(b"server secret");
        let sealed = |last, journal_last| CacheProof {
            last_transfer: last,
            seal: Some(seal.of(7, b"row", &totals(1), last).to_vec()),
            journal_last,
        };
        assert!(sealed(Some(9), Some(9)).holds(&seal, 7, b"row", &totals(1)));
        assert!(
            !sealed(Some(9), Some(10)).holds(&seal, 7, b"row", &totals(1)),
            "an older row put back"
        );
        assert!(
            !sealed(Some(9), Some(9)).holds(&seal, 7, b"row", &totals(5)),
            "an edited total"
        );
        assert!(
            !sealed(Some(9), Some(9)).holds(&seal, 7, b"edited", &totals(1)),
            "an edited account row"
        );
        let fresh = CacheProof {
            seal: Some(seal.of(7, b"row", &Balances::default(), None).to_vec()),
            ..CacheProof::default()
        };
        assert!(fresh.holds(&seal, 7, b"row", &Balances::default()));
        assert!(
            !CacheProof::default().holds(&seal, 7, b"row", &Balances::default()),
            "an unsealed new row"
        );
        let unsealed_used = CacheProof {
            journal_last: Some(3),
            last_transfer: Some(3),
            seal: None,
        };
        assert!(!unsealed_used.holds(&seal, 7, b"row", &Balances::default()));
    }
}
