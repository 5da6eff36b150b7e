//! A teller's drawer acts and a manager's variance sign-off, built the same way wherever
//! they are signed: on the workstation for `pqbank-server`, in the service for the
//! embedded bank. The service rebuilds them from its own reads (the caller, the drawer,
//! the vault and the variance account it finds) and checks the signatures against its
//! rebuild, so a client chooses only the count, its key and the time.

use serde::{Deserialize, Serialize};

use crate::{Amount, Currency, LedgerError, TransferKind, TransferRequest};

/// Domain label of a drawer event's canonical bytes.
pub const DRAWER_LABEL: &[u8] = b"pqbank/drawer-event/v1";

/// Longest idempotency key of a drawer act: room for the longest suffix its transfers'
/// keys add (`/variance`) within the ledger's limit.
pub const DRAWER_KEY_LEN_MAX: usize = crate::transfer::IDEMPOTENCY_KEY_LEN_MAX - "/variance".len();

/// Domain label of a variance sign-off's canonical bytes.
pub const VARIANCE_SIGN_OFF_LABEL: &[u8] = b"pqbank/variance-sign-off/v1";

/// Opening or closing a cash drawer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DrawerEventKind {
    /// Opened with a counted float.
    Open,
    /// Closed with a counted amount.
    Close,
}

impl DrawerEventKind {
    /// Stored text.
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Open => "open",
            Self::Close => "close",
        }
    }
}

/// A teller's signed drawer event: what they counted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DrawerEventRequest {
    /// The teller.
    pub teller: i64,
    /// The drawer account.
    pub drawer: i64,
    /// The vault the float comes from and the cash returns to.
    pub vault: i64,
    /// The account that takes over- and short-counts.
    pub variance_account: i64,
    /// Open or close.
    pub kind: DrawerEventKind,
    /// What the teller counted, minor units.
    pub counted_minor: i64,
    /// Unique per teller.
    pub idempotency_key: String,
    /// When the teller signed.
    pub created_at: i64,
}

impl DrawerEventRequest {
    /// The bytes the teller signs.
    #[must_use]
    pub fn canonical_bytes(&self) -> Vec<u8> {
        let mut out = DRAWER_LABEL.to_vec();
        for v in [self.teller, self.drawer, self.vault, self.variance_account] {
            out.extend_from_slice(&v.to_be_bytes());
        }
        out.extend_from_slice(self.kind.as_str().as_bytes());
        out.extend_from_slice(&self.counted_minor.to_be_bytes());
        out.extend_from_slice(&(self.idempotency_key.len() as u32).to_be_bytes());
        out.extend_from_slice(self.idempotency_key.as_bytes());
        out.extend_from_slice(&self.created_at.to_be_bytes());
        out
    }
}

/// The accounts a drawer act moves cash between, as the service found them for the
/// teller.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DrawerAccounts {
    /// The teller's drawer.
    pub drawer: i64,
    /// The vault of the drawer's currency.
    pub vault: i64,
    /// The variance account of the drawer's currency.
    pub variance: i64,
    /// The drawer's currency.
    pub currency: Currency,
}

/// A drawer act before it is signed: who, which accounts, the count, the teller's
/// idempotency key (each transfer's key is derived from it) and when.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DrawerActs<'a> {
    /// The teller.
    pub teller: i64,
    /// Their drawer, vault and variance account.
    pub accounts: DrawerAccounts,
    /// What the teller counted, minor units.
    pub counted_minor: i64,
    /// The teller's idempotency key.
    pub key: &'a str,
    /// When the teller signs.
    pub created_at: i64,
}

/// What a close signs: the event, then the variance transfer (when the count differs
/// from the balance), then the return of the cash to the vault (when there is cash).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClosingActs {
    /// The close event.
    pub event: DrawerEventRequest,
    /// The over- or short-count, if any.
    pub variance: Option<TransferRequest>,
    /// The counted cash back to the vault, if any.
    pub cash_return: Option<TransferRequest>,
}

impl ClosingActs {
    /// The bytes to sign, in the order the signatures travel.
    #[must_use]
    pub fn signed_bytes(&self) -> Vec<Vec<u8>> {
        let transfers = self.variance.iter().chain(&self.cash_return);
        std::iter::once(self.event.canonical_bytes())
            .chain(transfers.map(TransferRequest::canonical_bytes))
            .collect()
    }
}

impl DrawerActs<'_> {
    /// The teller's key: 1 to [`DRAWER_KEY_LEN_MAX`] visible ASCII characters.
    fn check_key(&self) -> Result<(), LedgerError> {
        let key = self.key;
        if key.is_empty()
            || key.len() > DRAWER_KEY_LEN_MAX
            || !key.bytes().all(|b| b.is_ascii_graphic())
        {
            return Err(LedgerError::InvalidRequest(
                "a drawer's idempotency key must be 1 to 55 visible ASCII characters",
            ));
        }
        Ok(())
    }

    fn event(&self, kind: DrawerEventKind) -> DrawerEventRequest {
        let a = self.accounts;
        DrawerEventRequest {
            teller: self.teller,
            drawer: a.drawer,
            vault: a.vault,
            variance_account: a.variance,
            kind,
            counted_minor: self.counted_minor,
            idempotency_key: self.key.to_owned(),
            created_at: self.created_at,
        }
    }

    fn transfer(
        &self,
        kind: TransferKind,
        (debit, credit): (i64, i64),
        minor: i64,
        suffix: &str,
        memo: String,
    ) -> Result<TransferRequest, LedgerError> {
        self.check_key()?;
        let request = TransferRequest {
            maker: self.teller,
            idempotency_key: format!("{}/{suffix}", self.key),
            kind,
            debit,
            credit,
            amount: Amount::from_minor(minor, self.accounts.currency)?,
            memo,
            created_at: self.created_at,
        };
        request.validate()?;
        Ok(request)
    }

    /// The open event and the float it takes from the vault.
    ///
    /// # Errors
    /// The count is not a valid amount of the drawer's currency.
    pub fn open(&self) -> Result<(DrawerEventRequest, TransferRequest), LedgerError> {
        let a = self.accounts;
        let float = self.transfer(
            TransferKind::DrawerOpen,
            (a.drawer, a.vault),
            self.counted_minor,
            "float",
            "opening float".into(),
        )?;
        Ok((self.event(DrawerEventKind::Open), float))
    }

    /// The close against the drawer's `expected` balance: an excess goes from the drawer
    /// to the variance account, a shortfall the other way, none without a difference;
    /// the counted cash goes back to the vault.
    ///
    /// # Errors
    /// The difference overflows, or an amount is not valid in the drawer's currency.
    pub fn close(&self, expected_minor: i64) -> Result<ClosingActs, LedgerError> {
        self.check_key()?;
        let a = self.accounts;
        let diff = self
            .counted_minor
            .checked_sub(expected_minor)
            .ok_or(LedgerError::Overflow)?;
        let memo = |suffix: &str| format!("drawer close {suffix}");
        let variance = match diff {
            0 => None,
            d if d > 0 => Some(self.transfer(
                TransferKind::VarianceOver,
                (a.drawer, a.variance),
                d,
                "variance",
                memo("variance"),
            )?),
            d => Some(self.transfer(
                TransferKind::VarianceShort,
                (a.variance, a.drawer),
                d.checked_neg().ok_or(LedgerError::Overflow)?,
                "variance",
                memo("variance"),
            )?),
        };
        let cash_return = (self.counted_minor > 0)
            .then(|| {
                self.transfer(
                    TransferKind::DrawerClose,
                    (a.vault, a.drawer),
                    self.counted_minor,
                    "return",
                    memo("return"),
                )
            })
            .transpose()?;
        Ok(ClosingActs {
            event: self.event(DrawerEventKind::Close),
            variance,
            cash_return,
        })
    }
}

/// The bytes a manager signs to sign off the variance of drawer event `event_id`.
#[must_use]
pub fn variance_sign_off_bytes(event_id: i64, manager: i64) -> Vec<u8> {
    [
        VARIANCE_SIGN_OFF_LABEL,
        &event_id.to_be_bytes(),
        &manager.to_be_bytes(),
    ]
    .concat()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn acts(counted_minor: i64) -> DrawerActs<'static> {
        DrawerActs {
            teller: 7,
            accounts: DrawerAccounts {
                drawer: 1,
                vault: 2,
                variance: 3,
                currency: Currency::EUR,
            },
            counted_minor,
            key: "k",
            created_at: 1_700_000_000,
        }
    }

    #[test]
    fn a_count_over_the_balance_moves_the_excess_to_variance() {
        let c = acts(1_500).close(1_000).unwrap();
        let v = c.variance.unwrap();
        assert_eq!(
            (v.kind, v.debit, v.credit),
            (TransferKind::VarianceOver, 1, 3)
        );
        assert_eq!(v.amount.minor(), 500);
        assert_eq!(c.cash_return.unwrap().amount.minor(), 1_500);
    }

    #[test]
    fn a_short_count_takes_the_difference_from_variance() {
        let c = acts(900).close(1_000).unwrap();
        let v = c.variance.clone().unwrap();
        assert_eq!(
            (v.kind, v.debit, v.credit),
            (TransferKind::VarianceShort, 3, 1)
        );
        assert_eq!(v.amount.minor(), 100);
        assert_eq!(c.signed_bytes().len(), 3);
    }

    #[test]
    fn an_exact_empty_count_signs_only_the_event() {
        let c = acts(0).close(0).unwrap();
        assert!(c.variance.is_none() && c.cash_return.is_none());
        assert_eq!(c.signed_bytes(), vec![c.event.canonical_bytes()]);
    }

    #[test]
    fn a_difference_that_overflows_is_refused() {
        assert_eq!(acts(i64::MAX).close(-1), Err(LedgerError::Overflow));
        assert_eq!(acts(0).close(i64::MIN), Err(LedgerError::Overflow));
    }

    #[test]
    fn a_key_out_of_bounds_is_refused_even_without_transfers() {
        let long = "k".repeat(DRAWER_KEY_LEN_MAX + 1);
        let mut a = acts(0);
        a.key = &long;
        assert!(matches!(a.close(0), Err(LedgerError::InvalidRequest(_))));
        a.key = &long[1..];
        assert!(a.close(0).is_ok());
        let mut float = acts(5);
        float.key = &long[1..];
        assert!(float.open().is_ok());
        a.key = "two words";
        assert!(a.open().is_err());
        a.key = "";
        assert!(a.close(0).is_err());
    }

    #[test]
    fn each_field_changes_the_signed_bytes() {
        let base = acts(5).open().unwrap().0.canonical_bytes();
        let mut other = acts(5);
        other.accounts.vault = 9;
        assert_ne!(other.open().unwrap().0.canonical_bytes(), base);
        other = acts(6);
        assert_ne!(other.open().unwrap().0.canonical_bytes(), base);
        assert_ne!(variance_sign_off_bytes(1, 2), variance_sign_off_bytes(2, 1));
    }
}
