//! Rows as both backends return them (plain integers, text and bytes), decoded once
//! here into the typed rows. A row that does not decode is reported, not guessed at.

use pqbank_ledger::{
    AccountKind, Amount, Balances, Currency, TransferKind, TransferRequest, TransferStatus,
};

use crate::{
    AccountRow, DrawerEventKind, DrawerEventRow, Result, SignedBy, StoreError, TransferRow,
};

/// A transfer joined with its resolution, as stored.
#[derive(Debug, sqlx::FromRow)]
#[allow(
    missing_docs,
    reason = "the fields are the columns of the transfer queries"
)]
pub struct RawTransfer {
    pub id: i64,
    pub maker_staff_id: i64,
    pub idempotency_key: String,
    pub request_hash: Vec<u8>,
    pub kind: String,
    pub debit_account_id: i64,
    pub credit_account_id: i64,
    pub amount_minor: i64,
    pub currency: String,
    pub memo: String,
    pub status: String,
    pub expires_at: Option<i64>,
    pub created_at: i64,
    pub recorded_at: i64,
    pub signed_bytes: Vec<u8>,
    pub signature: Vec<u8>,
    pub signer_fingerprint: Vec<u8>,
    pub decision: Option<String>,
}

fn corrupt(what: &'static str) -> StoreError {
    StoreError::Database(format!("stored row does not decode: {what}"))
}

fn hash32(bytes: &[u8], what: &'static str) -> Result<[u8; 32]> {
    bytes.try_into().map_err(|_| corrupt(what))
}

impl RawTransfer {
    /// Decodes into a typed row.
    pub fn decode(self) -> Result<TransferRow> {
        let currency: Currency = self.currency.parse().map_err(|_| corrupt("currency"))?;
        let created_status: TransferStatus = self.status.parse().map_err(|_| corrupt("status"))?;
        let status = match self.decision.as_deref() {
            None => created_status,
            Some("post") => TransferStatus::Posted,
            Some("void") => TransferStatus::Voided,
            Some("expire") => TransferStatus::Expired,
            Some(_) => return Err(corrupt("decision")),
        };
        Ok(TransferRow {
            id: self.id,
            request: TransferRequest {
                maker: self.maker_staff_id,
                idempotency_key: self.idempotency_key,
                kind: self
                    .kind
                    .parse::<TransferKind>()
                    .map_err(|_| corrupt("kind"))?,
                debit: self.debit_account_id,
                credit: self.credit_account_id,
                amount: Amount::from_minor(self.amount_minor, currency)
                    .map_err(|_| corrupt("amount"))?,
                memo: self.memo,
                created_at: self.created_at,
            },
            request_hash: hash32(&self.request_hash, "request hash")?,
            created_status,
            status,
            expires_at: self.expires_at,
            signed_bytes: self.signed_bytes,
            signed: SignedBy {
                signature: self.signature,
                signer: hash32(&self.signer_fingerprint, "signer")?,
            },
            recorded_at: self.recorded_at,
        })
    }
}

/// An account joined with its cached totals.
#[derive(Debug, sqlx::FromRow)]
#[allow(
    missing_docs,
    reason = "the fields are the columns of the account queries"
)]
pub struct RawAccount {
    pub id: i64,
    pub account_number: String,
    pub customer_id: Option<i64>,
    pub kind: String,
    pub currency: String,
    pub floor_minor: Option<i64>,
    pub closed: bool,
    pub label: String,
    pub debits_posted: i64,
    pub credits_posted: i64,
    pub debits_pending: i64,
    pub credits_pending: i64,
    #[sqlx(default)]
    pub last_transfer_id: Option<i64>,
    #[sqlx(default)]
    pub seal: Option<Vec<u8>>,
}

impl RawAccount {
    /// Decodes into a typed row.
    pub fn decode(self) -> Result<AccountRow> {
        Ok(AccountRow {
            id: self.id,
            number: self.account_number,
            customer_id: self.customer_id,
            kind: self
                .kind
                .parse::<AccountKind>()
                .map_err(|_| corrupt("account kind"))?,
            currency: self.currency.parse().map_err(|_| corrupt("currency"))?,
            floor_minor: self.floor_minor,
            closed: self.closed,
            label: self.label,
            balances: Balances {
                debits_posted: self.debits_posted,
                credits_posted: self.credits_posted,
                debits_pending: self.debits_pending,
                credits_pending: self.credits_pending,
            },
            cache: crate::CacheProof {
                last_transfer: self.last_transfer_id,
                seal: self.seal,
                journal_last: None,
            },
        })
    }
}

/// A drawer event, as stored.
#[derive(Debug, sqlx::FromRow)]
#[allow(missing_docs, reason = "the fields are the columns of drawer_events")]
pub struct RawDrawerEvent {
    pub id: i64,
    pub drawer_account_id: i64,
    pub teller_staff_id: i64,
    pub kind: String,
    pub idempotency_key: String,
    pub counted_minor: i64,
    pub expected_minor: Option<i64>,
    pub created_at: i64,
}

impl RawDrawerEvent {
    /// Decodes into a typed row.
    pub fn decode(self) -> Result<DrawerEventRow> {
        let kind = match self.kind.as_str() {
            "open" => DrawerEventKind::Open,
            "close" => DrawerEventKind::Close,
            _ => return Err(corrupt("drawer event kind")),
        };
        Ok(DrawerEventRow {
            id: self.id,
            drawer: self.drawer_account_id,
            teller: self.teller_staff_id,
            kind,
            idempotency_key: self.idempotency_key,
            counted_minor: self.counted_minor,
            expected_minor: self.expected_minor,
            variance_minor: self
                .expected_minor
                .and_then(|e| self.counted_minor.checked_sub(e)),
            created_at: self.created_at,
        })
    }
}
