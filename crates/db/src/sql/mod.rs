//! The product's SQL, written once for every backend.
//!
//! Both backends run the same statements (`?` placeholders, the same tables and columns)
//! but for a handful of fragments, which each backend crate keeps: how a write
//! transaction starts (`BEGIN IMMEDIATE` on SQLite), the row-lock clause (`FOR UPDATE` on
//! MariaDB, nothing on SQLite, whose writer already holds the file), how an inserted
//! row's id is read, the name of a signed 64-bit cast, which driver errors mean "retry",
//! the connection options and the migrations. From those fragments
//! [`impl_sql_backend`](crate::impl_sql_backend) implements [`Backend`](crate::Backend),
//! [`LedgerTx`](crate::LedgerTx), [`IdentityStore`](crate::IdentityStore) and
//! [`ViewStore`](crate::views::ViewStore) for a backend's store and transaction.
//!
//! Macros, not generic functions over `sqlx::Database`: generic code would need an
//! `Encode + Type` bound per bound value, a `FromRow` bound per row and an `Executor`
//! bound per connection kind, repeated on every function; a macro expands to the same
//! concrete code each backend had, type-checked per backend. The fragments are string
//! literals spliced with `concat!` (not a `Dialect` trait with associated consts, which
//! `concat!` cannot read), so every statement is still one `&'static str` fixed at
//! compile time, as sqlx's safe-query API wants.
//!
//! A new table needs its statements here once, plus a migration per backend.

mod identity;
mod ledger;
pub mod reads;

use crate::StoreError;

// What the expanded statements name, so a backend needs no dependency of its own for it.
#[doc(hidden)]
pub use pqbank_audit::{Hash, chain::Event};
#[doc(hidden)]
pub use pqbank_ledger::Balances;

/// Maps a driver error the same way on every backend: the append-only triggers' abort
/// is [`StoreError::AppendOnly`]; what the backend's `transient` recognises (deadlock,
/// lock wait, busy file, a unique violation: a concurrent writer with the same key won
/// and the retry reads its row) and a pool timeout are [`StoreError::Transient`], so the
/// flows retry; anything else is [`StoreError::Database`].
pub fn map_driver_error(
    e: sqlx::Error,
    transient: fn(&dyn sqlx::error::DatabaseError) -> bool,
) -> StoreError {
    match &e {
        sqlx::Error::Database(db) => {
            if db.message().contains("append-only") {
                StoreError::AppendOnly
            } else if transient(&**db) {
                StoreError::Transient(db.message().to_owned())
            } else {
                StoreError::Database(db.message().to_owned())
            }
        }
        sqlx::Error::PoolTimedOut => StoreError::Transient("connection pool timed out".into()),
        other => StoreError::Database(other.to_string()),
    }
}

/// The login challenge with the bound nonce.
pub const CHALLENGE_BY_NONCE: &str = "SELECT nonce, certificate_fingerprint, device_id_hash, \
     origin, issued_at, expires_at, consumed_at FROM login_challenges WHERE nonce = ?";

/// Decodes 32-byte values read from storage; `what` names a value of another length.
pub fn fixed_hashes(rows: &[Vec<u8>], what: &'static str) -> crate::Result<Vec<Hash>> {
    rows.iter()
        .map(|h| {
            h.as_slice()
                .try_into()
                .map_err(|_| StoreError::Database(what.into()))
        })
        .collect()
}

/// `SELECT` of the columns [`RawTransfer`](crate::RawTransfer) decodes (a transfer with
/// its resolution, if any), followed by the `$tail` literals.
#[doc(hidden)]
#[macro_export]
macro_rules! select_transfers {
    ($($tail:literal),*) => {
        concat!(
            "SELECT t.id, t.maker_staff_id, t.idempotency_key, t.request_hash, t.kind, ",
            "t.debit_account_id, t.credit_account_id, t.amount_minor, t.currency, t.memo, ",
            "t.status, t.expires_at, t.created_at, t.recorded_at, t.signed_bytes, t.signature, ",
            "t.signer_fingerprint, a.decision FROM transfers t ",
            "LEFT JOIN approvals a ON a.transfer_id = t.id ",
            $($tail),*
        )
    };
}

/// `SELECT` of the columns [`RawAccount`](crate::RawAccount) decodes (an account with its
/// cached totals; after `+`, the extra columns of the literal that follows), followed by
/// the `$tail` literals.
#[doc(hidden)]
#[macro_export]
macro_rules! select_accounts {
    (+ $extra:literal, $($tail:literal),*) => {
        concat!(
            "SELECT a.id, a.account_number, a.customer_id, a.kind, a.currency, a.floor_minor, ",
            "a.closed, a.label, b.debits_posted, b.credits_posted, b.debits_pending, ",
            "b.credits_pending", $extra,
            " FROM accounts a JOIN account_balances b ON b.account_id = a.id ",
            $($tail),*
        )
    };
    ($($tail:literal),*) => {
        $crate::select_accounts!(+ "", $($tail),*)
    };
}

/// `SELECT` of the columns [`RawDrawerEvent`](crate::RawDrawerEvent) decodes, followed by
/// the `$tail` literals.
#[doc(hidden)]
#[macro_export]
macro_rules! select_drawer_events {
    ($($tail:literal),*) => {
        concat!(
            "SELECT id, drawer_account_id, teller_staff_id, kind, idempotency_key, ",
            "counted_minor, expected_minor, created_at FROM drawer_events ",
            $($tail),*
        )
    };
}

/// `SELECT` of the columns [`RawCertificate`](crate::RawCertificate) decodes, followed by
/// the `$tail` literals.
#[doc(hidden)]
#[macro_export]
macro_rules! select_certificates {
    ($($tail:literal),*) => {
        concat!(
            "SELECT fingerprint, der, serial, issuer_fingerprint, replaces_fingerprint, ",
            "staff_id, role, not_before, not_after, created_at FROM certificates ",
            $($tail),*
        )
    };
}

/// `SELECT` of the columns [`RawEnrolment`](crate::RawEnrolment) decodes, followed by the
/// `$tail` literals.
#[doc(hidden)]
#[macro_export]
macro_rules! select_enrolments {
    ($($tail:literal),*) => {
        concat!(
            "SELECT id, csr_fingerprint, csr_der, kem_recipient, short_code, staff_id, ",
            "requested_role, status, decided_by, decided_at, certificate_fingerprint, bundle, ",
            "created_at FROM enrolment_requests ",
            $($tail),*
        )
    };
}

/// `SELECT` of the columns [`RawEvent`](crate::RawEvent) decodes, followed by the `$tail`
/// literals.
#[doc(hidden)]
#[macro_export]
macro_rules! select_events {
    ($($tail:literal),*) => {
        concat!(
            "SELECT id, certificate_fingerprint, seq, prev_hash, event_hash, kind, payload, ",
            "created_at, signature, server_fingerprint, request FROM accountability_events ",
            $($tail),*
        )
    };
}

/// Implements the storage traits for a backend from its dialect fragments.
///
/// The invoking module must have in scope (the backend's dialect, besides the literals):
/// - `map_err(sqlx::Error) -> StoreError`, usually
///   [`map_driver_error`](crate::sql::map_driver_error) with the backend's transient codes;
/// - `async fn begin_write(&Pool) -> Result<Transaction<'static, Db>>`, which starts a
///   write transaction;
/// - `fn inserted_id(&QueryResult) -> i64`, the id of the row an `INSERT` just wrote.
///
/// `database` is the sqlx driver's database type; `store` a struct with a `pool` field;
/// `tx` a tuple struct around the driver's `Transaction<'static, _>`; `snapshot` the
/// name of the read snapshot type this defines, begun with `snapshot_begin`
/// ([`crate::reads`]); `migrator` the
/// backend's `sqlx::migrate!`; `for_update` the clause that locks the rows a `SELECT`
/// read (with its leading space, or empty); `signed` the type name of a signed 64-bit
/// `CAST`.
#[macro_export]
macro_rules! impl_sql_backend {
    (
        database: $db:ty,
        store: $store:ty,
        tx: $tx:ident,
        snapshot: $snapshot:ident,
        snapshot_begin: $begin:literal,
        migrator: $migrator:expr,
        for_update: $for_update:literal,
        signed: $signed:literal $(,)?
    ) => {
        $crate::impl_log_reads!($db, $store, $snapshot, $begin);
        $crate::ledger_rows!($db, $signed);
        $crate::identity_rows!($db, $for_update);
        $crate::impl_ledger_tx!($tx, $for_update);
        $crate::impl_backend!($store, $tx, $migrator, $for_update);
        $crate::impl_identity_store!($store);
        $crate::impl_view_store!($store);
    };
}
