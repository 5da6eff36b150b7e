//! The service: configuration, clock, the PKI records it keeps, and the acts.

use std::collections::BTreeMap;
use std::sync::Arc;

use pqbank_db::flows::{
    Act, close_drawer_logged, open_drawer_logged, post_transfer_logged, resolve_pending_logged,
    sign_off_variance_logged,
};
use pqbank_db::{
    ApprovalRequest, CertificateRecord, CrlRecord, DrawerEventKind, LoggedEvent, RetryPolicy,
    RowWrite, SignedApproval, SignedBy, SignedDrawerEvent, SignedTransfer, Store, TransferOutcome,
};
use pqbank_ledger::{
    DrawerActs, Resolution, TransferKind, TransferRequest, TransferStatus, variance_sign_off_bytes,
};
use pqbank_pki::{Action, Certificate, Crl, Fingerprint, RevocationReason, Role};
use time::OffsetDateTime;

use crate::acts::{ActSigner, Decided, DrawerCount};
use crate::check::Authorised;
use crate::{CrlPins, Device, MemoryCrlPins, ServiceError, SessionToken};

/// The installation's settings.
#[derive(Debug, Clone)]
pub struct Config {
    /// SHA3-256 fingerprint of the root certificate: trust starts here, never at the database.
    pub pinned_root: Fingerprint,
    /// Retries on transient database conflicts.
    pub retry: RetryPolicy,
    /// How long a login challenge lives.
    pub challenge_ttl_secs: i64,
    /// A session idle longer than this is ended.
    pub idle_timeout_secs: i64,
    /// Days until the nextUpdate of the CRLs this service signs.
    pub crl_days: i64,
}

impl Config {
    /// Defaults around a pinned root.
    #[must_use]
    pub fn new(pinned_root: Fingerprint) -> Self {
        Self {
            pinned_root,
            retry: RetryPolicy::default(),
            challenge_ttl_secs: 60,
            idle_timeout_secs: 15 * 60,
            crl_days: 7,
        }
    }
}

/// Shortest customer search: no listing the whole bank by searching for "a".
const SEARCH_LEN_MIN: usize = 2;
/// Most customers one search returns.
const SEARCH_RESULTS_MAX: u32 = 50;

/// The clock, UNIX seconds; replaceable in tests.
pub type Clock = Arc<dyn Fn() -> i64 + Send + Sync>;

/// The service over a storage backend.
pub struct Service<S> {
    pub(crate) store: S,
    pub(crate) config: Config,
    clock: Clock,
    pub(crate) chains: crate::check::ChainCache,
    pub(crate) crl_pins: Arc<dyn CrlPins>,
    pub(crate) server_key: Option<Arc<crate::ServerKey>>,
    /// The signed versions of the four-eyes policy, once read ([`crate::policy`]).
    pub(crate) policies: std::sync::Mutex<crate::policy::PolicyCache>,
    /// Staff ids by staff number, once read: a member's id never changes.
    staff_ids: std::sync::Mutex<BTreeMap<String, i64>>,
}

/// Fresh bytes from the operating system.
pub(crate) fn random<const N: usize>() -> Result<[u8; N], ServiceError> {
    let mut out = [0u8; N];
    getrandom::fill(&mut out)
        .map_err(|e| crate::trace::device_failed(format_args!("no randomness: {e}")))?;
    Ok(out)
}

pub(crate) fn at(unix: i64) -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp(unix).unwrap_or(OffsetDateTime::UNIX_EPOCH)
}

impl<S: Store> Service<S> {
    /// A service with the system clock, keeping its CRL pins in memory (an
    /// installation keeps them on disk: [`Service::with_crl_pins`] and
    /// [`crate::FileCrlPins`]).
    pub fn new(store: S, config: Config) -> Self {
        let clock: Clock = Arc::new(|| OffsetDateTime::now_utc().unix_timestamp());
        Self {
            store,
            config,
            clock,
            chains: crate::check::ChainCache::default(),
            crl_pins: Arc::new(MemoryCrlPins::default()),
            server_key: None,
            policies: std::sync::Mutex::new(crate::policy::PolicyCache::default()),
            staff_ids: std::sync::Mutex::new(BTreeMap::new()),
        }
    }

    /// Replaces where the installation keeps its CRL pins: the highest CRL number it has
    /// seen per issuer, outside the database, so a newest CRL deleted from the database
    /// is refused as a rollback rather than un-revoking what it listed.
    #[must_use]
    pub fn with_crl_pins(mut self, pins: Arc<dyn CrlPins>) -> Self {
        self.crl_pins = pins;
        self
    }

    /// Replaces the clock (tests move time forward with it).
    #[must_use]
    pub fn with_clock(mut self, clock: Clock) -> Self {
        self.clock = clock;
        self
    }

    /// Now, UNIX seconds.
    #[must_use]
    pub fn now(&self) -> i64 {
        (self.clock)()
    }

    /// The storage backend, for tests and benchmarks (feature `test-support`): nothing
    /// above the service reaches the store through it.
    #[cfg(feature = "test-support")]
    pub fn store(&self) -> &S {
        &self.store
    }

    /// Stores the root certificate; it must be the pinned one. An installation's step,
    /// not an act: nothing is logged (the public call is behind the `install` feature).
    pub(crate) async fn store_root(&self, root: &Certificate) -> Result<(), ServiceError> {
        if root.fingerprint() != self.config.pinned_root {
            return Err(ServiceError::Certificate(pqbank_pki::Error::RootNotPinned));
        }
        self.record(root, None).await
    }

    /// Stores an issued certificate for a staff member; its issuer must be stored already.
    /// An installation's step, not an act (see [`Self::store_root`]).
    pub(crate) async fn store_certificate(
        &self,
        cert: &Certificate,
        staff_id: i64,
        issued_by: &Device,
    ) -> Result<(), ServiceError> {
        let issuer = cert
            .claims()
            .lineage
            .map(|l| l.issuer)
            .ok_or(ServiceError::UnknownCertificate)?;
        if self.store.certificate(issuer.as_bytes()).await?.is_none() {
            return Err(ServiceError::UnknownCertificate);
        }
        self.record_issued(cert, Some(staff_id), issuer, issued_by)
            .await
    }

    /// Stores a certificate with the `cert.issue` event (payload: its fingerprint) on
    /// its issuer's chain, signed by the issuer's device, in one transaction: log
    /// verification matches every stored certificate to its issuance.
    pub(crate) async fn record_issued(
        &self,
        cert: &Certificate,
        staff_id: Option<i64>,
        issuer: Fingerprint,
        issued_by: &Device,
    ) -> Result<(), ServiceError> {
        let record = self.certificate_record(cert, staff_id);
        let sign = issued_by.event_signer();
        self.store
            .commit_logged(
                &[RowWrite::Certificate(&record)],
                &[LoggedEvent {
                    certificate: *issuer.as_bytes(),
                    kind: "cert.issue",
                    payload: cert.fingerprint().as_bytes(),
                    created_at: self.now(),
                    sign: &sign,
                }],
            )
            .await?;
        Ok(())
    }

    async fn record(&self, cert: &Certificate, staff_id: Option<i64>) -> Result<(), ServiceError> {
        let record = self.certificate_record(cert, staff_id);
        self.store.insert_certificate(&record).await?;
        Ok(())
    }

    /// The row that stores a certificate.
    pub(crate) fn certificate_record(
        &self,
        cert: &Certificate,
        staff_id: Option<i64>,
    ) -> CertificateRecord {
        certificate_columns(cert, staff_id, self.now())
    }

    /// Publishes a CRL signed by a stored CA certificate; its number must be higher than
    /// every CRL of that issuer before. An installation's step, not an act (see
    /// [`Self::store_root`]); a manager's revocation is `revoke`, which is logged.
    pub(crate) async fn store_crl(
        &self,
        issuer: Fingerprint,
        crl: &Crl,
    ) -> Result<(), ServiceError> {
        let record = self.checked_crl(issuer, crl).await?;
        self.store.insert_crl(&record).await?;
        self.crl_pins.raise(&issuer, crl.number())?;
        tracing::info!(issuer = %issuer, number = crl.number(), "CRL published");
        Ok(())
    }

    /// Checks a CRL as `store_crl` does and returns the row to store.
    async fn checked_crl(&self, issuer: Fingerprint, crl: &Crl) -> Result<CrlRecord, ServiceError> {
        let record = self
            .store
            .certificate(issuer.as_bytes())
            .await?
            .ok_or(ServiceError::UnknownCertificate)?;
        let issuer_cert = decoded(&record)?;
        crl.verify_signed_by(&issuer_cert)
            .map_err(|_| ServiceError::Certificate(pqbank_pki::Error::CrlSignature))?;
        let stored = self
            .store
            .latest_crl(issuer.as_bytes())
            .await?
            .map(|latest| u64::try_from(latest.number).unwrap_or(u64::MAX));
        // Higher than every CRL stored and every CRL this installation has seen: a
        // CRL deleted from the database cannot be reissued under its number.
        if let Some(pinned) = stored.max(self.crl_pins.pinned(&issuer)?)
            && crl.number() <= pinned
        {
            return Err(ServiceError::Certificate(pqbank_pki::Error::CrlRollback {
                found: crl.number(),
                pinned,
            }));
        }
        Ok(self.crl_record(issuer, crl))
    }

    fn crl_record(&self, issuer: Fingerprint, crl: &Crl) -> CrlRecord {
        CrlRecord {
            issuer: *issuer.as_bytes(),
            number: i64::try_from(crl.number()).unwrap_or(i64::MAX),
            fingerprint: *crl.fingerprint().as_bytes(),
            der: crl.der().to_vec(),
            this_update: crl.this_update().unix_timestamp(),
            next_update: crl.next_update().map_or(i64::MAX, |t| t.unix_timestamp()),
            created_at: self.now(),
        }
    }

    /// A teller posts a transfer: checked, signed with the device key, written, and
    /// logged on the certificate's chain.
    pub async fn post_transfer(
        &self,
        token: &SessionToken,
        device: &Device,
        request: TransferRequest,
    ) -> Result<TransferOutcome, ServiceError> {
        let auth = self.authorise(token, device, Action::TransferPost).await?;
        self.may_post(&auth, &device.event_signer(), &request)
            .await?;
        let bytes = request.canonical_bytes();
        let signed = SignedTransfer {
            request,
            signed: SignedBy {
                signature: device.sign_act(&bytes)?,
                signer: *auth.certificate.as_bytes(),
            },
        };
        let sign = device.event_signer();
        self.write_transfer(&auth, &signed, &sign).await
    }

    /// Writes a checked, signed transfer with its act on the maker's chain, in one
    /// transaction.
    async fn write_transfer(
        &self,
        auth: &crate::check::Authorised,
        signed: &SignedTransfer,
        event_sign: pqbank_db::Signer<'_>,
    ) -> Result<TransferOutcome, ServiceError> {
        let now = self.now();
        let act = Act {
            certificate: *auth.certificate.as_bytes(),
            kind: "transfer.post",
            sign: event_sign,
        };
        let outcome = post_transfer_logged(
            &self.store,
            &self.config.retry,
            signed,
            &self.policy_at(now).await?,
            now,
            Some(&act),
        )
        .await?;
        tracing::info!(
            certificate = %auth.certificate,
            staff_id = auth.staff_id,
            transfer = outcome.id,
            status = outcome.status.as_str(),
            replayed = outcome.replayed,
            "act signed: transfer.post"
        );
        Ok(outcome)
    }

    /// A transfer its maker's device signed beforehand: the same checks as
    /// [`Service::post_transfer`], then written and chained with `event_sign` signing the
    /// act's event. `pqbank bench transfers` uses it to time the database side alone
    /// (feature `test-support`: a caller's `event_sign` is no device's).
    #[cfg(feature = "test-support")]
    pub async fn post_presigned_transfer(
        &self,
        token: &SessionToken,
        device: &Device,
        signed: &SignedTransfer,
        event_sign: pqbank_db::Signer<'_>,
    ) -> Result<TransferOutcome, ServiceError> {
        let auth = self.authorise(token, device, Action::TransferPost).await?;
        let leaf = self.certificate(&auth.certificate).await?;
        let key = pqbank_pki::CompositeVerifyingKey::from_bytes(leaf.public_key())
            .map_err(ServiceError::Certificate)?;
        self.post_signed_as(&auth, &key, signed, event_sign).await
    }

    /// A transfer signed by its maker, posted for `auth` (whose certificate holds `key`):
    /// the signer is the caller, the signature is the caller's over the request's bytes,
    /// then [`Self::may_post`]'s rules; refusals and the act are chained with `event_sign`.
    pub(crate) async fn post_signed_as(
        &self,
        auth: &crate::check::Authorised,
        key: &pqbank_pki::CompositeVerifyingKey,
        signed: &SignedTransfer,
        event_sign: pqbank_db::Signer<'_>,
    ) -> Result<TransferOutcome, ServiceError> {
        if signed.signed.signer != *auth.certificate.as_bytes() {
            let e = pqbank_pki::Error::ActionNotAllowed {
                action: "transfer.post for another maker".into(),
            };
            return Err(self.refuse(auth, event_sign, Action::TransferPost, e).await);
        }
        let bytes = signed.request.canonical_bytes();
        self.check_act(
            auth,
            key,
            event_sign,
            Action::TransferPost,
            &bytes,
            &signed.signed.signature,
        )
        .await?;
        self.may_post(auth, event_sign, &signed.request).await?;
        self.write_transfer(auth, signed, event_sign).await
    }

    /// An act signed off the service (on the workstation, or beforehand): `signature`
    /// must be `key`'s over `bytes` under the act context; a refusal is chained.
    pub(crate) async fn check_act(
        &self,
        auth: &crate::check::Authorised,
        key: &pqbank_pki::CompositeVerifyingKey,
        sign: pqbank_db::Signer<'_>,
        action: Action,
        bytes: &[u8],
        signature: &[u8],
    ) -> Result<(), ServiceError> {
        let part = (crate::device::ACT_CONTEXT, bytes);
        self.check_signed(auth, key, sign, action, part, signature)
            .await
    }

    /// [`Self::check_act`] for bytes signed under `context`.
    pub(crate) async fn check_signed(
        &self,
        auth: &crate::check::Authorised,
        key: &pqbank_pki::CompositeVerifyingKey,
        sign: pqbank_db::Signer<'_>,
        action: Action,
        (context, bytes): (&[u8], &[u8]),
        signature: &[u8],
    ) -> Result<(), ServiceError> {
        if key.verify(bytes, context, signature).is_ok() {
            return Ok(());
        }
        let e = pqbank_pki::Error::DeviceMismatch;
        Err(self.refuse(auth, sign, action, e).await)
    }

    /// The rules of a posting that no window can bypass, each refusal logged on the
    /// caller's chain: the caller is the maker; only the customer-facing kinds (the
    /// drawer and variance kinds are posted by the drawer acts alone); cash goes through
    /// the caller's own open drawer (the debit of a deposit, the credit of a withdrawal).
    async fn may_post(
        &self,
        auth: &crate::check::Authorised,
        sign: pqbank_db::Signer<'_>,
        request: &TransferRequest,
    ) -> Result<(), ServiceError> {
        let not_allowed = if request.maker != auth.staff_id {
            Some("transfer.post for another maker".to_owned())
        } else if !request.kind.is_customer_facing() {
            Some(format!("transfer.post of {}", request.kind.as_str()))
        } else {
            None
        };
        if let Some(action) = not_allowed {
            let e = pqbank_pki::Error::ActionNotAllowed { action };
            return Err(self.refuse(auth, sign, Action::TransferPost, e).await);
        }
        let cash_drawer = match request.kind {
            TransferKind::Deposit => Some(request.debit),
            TransferKind::Withdrawal => Some(request.credit),
            _ => None,
        };
        let Some(drawer) = cash_drawer else {
            return Ok(());
        };
        let last = self.store.last_drawer_event_of(auth.staff_id).await?;
        if last.is_some_and(|e| e.drawer == drawer && e.kind == DrawerEventKind::Open) {
            return Ok(());
        }
        Err(self
            .refuse_as(
                auth,
                sign,
                Action::TransferPost,
                ServiceError::DrawerNotYours,
            )
            .await)
    }

    /// Finds customers by name or number, with their accounts. A bank must know who
    /// looked: the search is logged on the reader's chain.
    pub async fn find_customers(
        &self,
        token: &SessionToken,
        device: &Device,
        query: &str,
    ) -> Result<Vec<(pqbank_db::CustomerRow, Vec<pqbank_db::AccountRow>)>, ServiceError> {
        let auth = self.authorise(token, device, Action::CustomerRead).await?;
        self.find_customers_as(&auth, &device.event_signer(), query)
            .await
    }

    /// [`Self::find_customers`] for an authorised caller, logged with `sign`.
    pub(crate) async fn find_customers_as(
        &self,
        auth: &crate::check::Authorised,
        sign: pqbank_db::Signer<'_>,
        query: &str,
    ) -> Result<Vec<(pqbank_db::CustomerRow, Vec<pqbank_db::AccountRow>)>, ServiceError> {
        let query = query.trim();
        if query.chars().count() < SEARCH_LEN_MIN {
            return Err(ServiceError::Forbidden(pqbank_pki::Error::InvalidRequest(
                "type at least two characters to search",
            )));
        }
        let customers = self.store.find_customers(query, SEARCH_RESULTS_MAX).await?;
        let mut out = Vec::with_capacity(customers.len());
        for c in customers {
            let accounts = self.store.customer_accounts(c.id).await?;
            out.push((c, accounts));
        }
        let ids: Vec<u8> = out.iter().flat_map(|(c, _)| c.id.to_be_bytes()).collect();
        self.log(
            auth,
            sign,
            "customer.read",
            &[query.as_bytes(), &[0], &ids].concat(),
        )
        .await?;
        // The query is customer data: the accountability log keeps it, this log does not.
        tracing::info!(
            certificate = %auth.certificate,
            staff_id = auth.staff_id,
            found = out.len(),
            "customers searched"
        );
        Ok(out)
    }

    /// A teller opens their cash drawer (the service finds it, with the vault) with the
    /// counted float from the vault, in the drawer's currency: the signed open event, the
    /// float transfer and its act commit together. Returns the event id.
    pub async fn open_drawer(
        &self,
        token: &SessionToken,
        device: &Device,
        counted_minor: i64,
        key: &str,
    ) -> Result<i64, ServiceError> {
        let auth = self.authorise(token, device, Action::DrawerOperate).await?;
        let sign = device.event_signer();
        self.open_drawer_as(&auth, &sign, ActSigner::Device(device), counted_minor, key)
            .await
    }

    /// [`Self::open_drawer`] for an authorised caller, the acts signed `by` the device
    /// here or the workstation, the events chained with `sign`.
    pub(crate) async fn open_drawer_as(
        &self,
        auth: &Authorised,
        sign: pqbank_db::Signer<'_>,
        by: ActSigner<'_>,
        counted_minor: i64,
        key: &str,
    ) -> Result<i64, ServiceError> {
        let action = Action::DrawerOperate;
        let state = self.drawer_of(auth.staff_id).await?;
        let (_, accounts) = state.accounts()?;
        let created_at = self.act_time(auth, sign, action, by).await?;
        let acts = DrawerActs {
            teller: auth.staff_id,
            accounts,
            counted_minor,
            key,
            created_at,
        };
        let (event, float) = acts.open().map_err(ledger)?;
        let [event_sig, float_sig] = self
            .sign_acts(
                auth,
                sign,
                action,
                by,
                &[event.canonical_bytes(), float.canonical_bytes()],
            )
            .await?
            .try_into()
            .map_err(|_| ServiceError::Store(pqbank_db::StoreError::Drawer("signatures")))?;
        let signer = *auth.certificate.as_bytes();
        let event = SignedDrawerEvent {
            signed: SignedBy {
                signature: event_sig,
                signer,
            },
            request: event,
        };
        let float = SignedTransfer {
            signed: SignedBy {
                signature: float_sig,
                signer,
            },
            request: float,
        };
        let now = self.now();
        let act = Act {
            certificate: signer,
            kind: "drawer.open",
            sign,
        };
        let id = open_drawer_logged(
            &self.store,
            &self.config.retry,
            &event,
            &float,
            &self.policy_at(now).await?,
            now,
            Some(&act),
        )
        .await?;
        tracing::info!(
            certificate = %auth.certificate,
            staff_id = auth.staff_id,
            drawer = accounts.drawer,
            event = id,
            "act signed: drawer.open"
        );
        Ok(id)
    }

    /// A teller closes their drawer (the service finds it, with the vault and variance
    /// account) with the counted cash: the variance against the drawer's balance and the
    /// return of the cash to the vault are posted, signed by the teller, with the close
    /// event and their acts in one transaction.
    pub async fn close_drawer(
        &self,
        token: &SessionToken,
        device: &Device,
        counted: i64,
        key: &str,
    ) -> Result<pqbank_db::DrawerEventRow, ServiceError> {
        let auth = self.authorise(token, device, Action::DrawerOperate).await?;
        let sign = device.event_signer();
        let count = DrawerCount {
            counted_minor: counted,
            expected_minor: None,
            key,
        };
        self.close_drawer_as(&auth, &sign, ActSigner::Device(device), count)
            .await
    }

    /// [`Self::close_drawer`] for an authorised caller, the acts signed `by` the device
    /// here or the workstation (against the balance it read, `expected_minor`; the flow
    /// refuses a close whose balance moved since), the events chained with `sign`.
    pub(crate) async fn close_drawer_as(
        &self,
        auth: &Authorised,
        sign: pqbank_db::Signer<'_>,
        by: ActSigner<'_>,
        count: DrawerCount<'_>,
    ) -> Result<pqbank_db::DrawerEventRow, ServiceError> {
        let action = Action::DrawerOperate;
        let state = self.drawer_of(auth.staff_id).await?;
        let (account, accounts) = state.accounts()?;
        // The flow checks the count against the balance again inside its transaction;
        // this one names the expected amount in the variance transfer.
        let expected = match count.expected_minor {
            Some(read) => read,
            None => i64::try_from(account.balance()).map_err(|_| {
                ServiceError::Store(pqbank_db::StoreError::Drawer("balance out of range"))
            })?,
        };
        let created_at = self.act_time(auth, sign, action, by).await?;
        let acts = DrawerActs {
            teller: auth.staff_id,
            accounts,
            counted_minor: count.counted_minor,
            key: count.key,
            created_at,
        }
        .close(expected)
        .map_err(ledger)?;
        let mut signatures = self
            .sign_acts(auth, sign, action, by, &acts.signed_bytes())
            .await?
            .into_iter();
        let signer = *auth.certificate.as_bytes();
        // sign_acts answers one signature per act, in the order of signed_bytes.
        let mut next = || {
            signatures
                .next()
                .map(|signature| SignedBy { signature, signer })
                .ok_or(ServiceError::Store(pqbank_db::StoreError::Drawer(
                    "an act of the close is not signed",
                )))
        };
        let event = SignedDrawerEvent {
            signed: next()?,
            request: acts.event,
        };
        let mut transfer = |t: Option<TransferRequest>| {
            t.map(|request| next().map(|signed| SignedTransfer { request, signed }))
                .transpose()
        };
        let variance = transfer(acts.variance)?;
        let cash_return = transfer(acts.cash_return)?;
        let now = self.now();
        let act = Act {
            certificate: signer,
            kind: "drawer.close",
            sign,
        };
        let row = close_drawer_logged(
            &self.store,
            &self.config.retry,
            &event,
            variance.as_ref(),
            cash_return.as_ref(),
            &self.policy_at(now).await?,
            now,
            Some(&act),
        )
        .await?;
        tracing::info!(
            certificate = %auth.certificate,
            staff_id = auth.staff_id,
            drawer = accounts.drawer,
            event = row.id,
            variance_minor = row.variance_minor,
            "act signed: drawer.close"
        );
        Ok(row)
    }

    /// A manager other than the teller signs off a drawer close's variance.
    pub async fn sign_off_variance(
        &self,
        token: &SessionToken,
        device: &Device,
        event_id: i64,
    ) -> Result<(), ServiceError> {
        let auth = self
            .authorise(token, device, Action::VarianceApprove)
            .await?;
        let sign = device.event_signer();
        self.sign_off_variance_as(&auth, &sign, ActSigner::Device(device), event_id)
            .await
    }

    /// [`Self::sign_off_variance`] for an authorised caller, signed `by` the device here
    /// or the workstation, the event chained with `sign`.
    pub(crate) async fn sign_off_variance_as(
        &self,
        auth: &Authorised,
        sign: pqbank_db::Signer<'_>,
        by: ActSigner<'_>,
        event_id: i64,
    ) -> Result<(), ServiceError> {
        let bytes = variance_sign_off_bytes(event_id, auth.staff_id);
        let signature = self
            .sign_one(
                auth,
                sign,
                Action::VarianceApprove,
                by,
                (crate::ACT_CONTEXT, &bytes),
            )
            .await?;
        let signer = *auth.certificate.as_bytes();
        // The signed sign-off and the manager's event commit together.
        let act = Act {
            certificate: signer,
            kind: "variance.approve",
            sign,
        };
        sign_off_variance_logged(
            &self.store,
            &self.config.retry,
            event_id,
            auth.staff_id,
            auth.role == Role::Manager,
            (bytes, SignedBy { signature, signer }),
            self.now(),
            Some(&act),
        )
        .await?;
        tracing::info!(
            certificate = %auth.certificate,
            staff_id = auth.staff_id,
            event = event_id,
            "act signed: variance.approve"
        );
        Ok(())
    }

    /// A manager posts or voids a pending transfer (never their own).
    pub async fn resolve_transfer(
        &self,
        token: &SessionToken,
        device: &Device,
        transfer_id: i64,
        transfer_hash: [u8; 32],
        post: bool,
    ) -> Result<TransferStatus, ServiceError> {
        let auth = self
            .authorise(token, device, Action::TransferApprove)
            .await?;
        let sign = device.event_signer();
        let decision = Decided {
            transfer_id,
            transfer_hash,
            post,
        };
        self.resolve_as(&auth, &sign, ActSigner::Device(device), decision)
            .await
    }

    /// [`Self::resolve_transfer`] for an authorised caller: the approval's bytes are
    /// built for this caller (approver = caller, manager = the certificate's role),
    /// signed `by` the device here or the workstation, then resolved under the ledger's
    /// four-eyes rules with the act chained with `sign`.
    pub(crate) async fn resolve_as(
        &self,
        auth: &Authorised,
        sign: pqbank_db::Signer<'_>,
        by: ActSigner<'_>,
        decided: Decided,
    ) -> Result<TransferStatus, ServiceError> {
        let action = Action::TransferApprove;
        let request = ApprovalRequest {
            transfer_id: decided.transfer_id,
            transfer_hash: decided.transfer_hash,
            approver: auth.staff_id,
            approver_is_manager: auth.role == Role::Manager,
            decision: if decided.post {
                Resolution::Post
            } else {
                Resolution::Void
            },
            created_at: self.act_time(auth, sign, action, by).await?,
        };
        let signature = self
            .sign_one(
                auth,
                sign,
                action,
                by,
                (crate::ACT_CONTEXT, &request.canonical_bytes()),
            )
            .await?;
        let signed = SignedApproval {
            request,
            signed: SignedBy {
                signature,
                signer: *auth.certificate.as_bytes(),
            },
        };
        self.resolve_signed_as(auth, &signed, sign).await
    }
    /// Resolves a pending transfer with an approval signed by `auth`'s device, the
    /// manager's act chained with `sign`, under the ledger's four-eyes rules.
    pub(crate) async fn resolve_signed_as(
        &self,
        auth: &crate::check::Authorised,
        signed: &SignedApproval,
        sign: pqbank_db::Signer<'_>,
    ) -> Result<TransferStatus, ServiceError> {
        let act = Act {
            certificate: *auth.certificate.as_bytes(),
            kind: "transfer.approve",
            sign,
        };
        let status = resolve_pending_logged(
            &self.store,
            &self.config.retry,
            signed,
            self.now(),
            Some(&act),
        )
        .await?;
        tracing::info!(
            certificate = %auth.certificate,
            staff_id = auth.staff_id,
            transfer = signed.request.transfer_id,
            decision = ?signed.request.decision,
            status = status.as_str(),
            "act signed: transfer.approve"
        );
        Ok(status)
    }

    /// A manager revokes a certificate they issued: the next CRL, one number higher,
    /// signed with the manager's device key, is published with the signed revocation
    /// and the manager's event, in one transaction.
    pub async fn revoke(
        &self,
        token: &SessionToken,
        device: &Device,
        target: Fingerprint,
        reason: RevocationReason,
    ) -> Result<u64, ServiceError> {
        let auth = self.authorise(token, device, Action::CertRevoke).await?;
        let sign = device.event_signer();
        self.revoke_as(&auth, &sign, ActSigner::Device(device), target, reason)
            .await
    }

    /// [`Self::revoke`] for an authorised manager: the CRL and the revocation built here
    /// from the manager's newest CRL and the target, signed `by` the device here or the
    /// workstation (the CRL's to-be-signed bytes, then the revocation's), the event
    /// chained with `sign`.
    pub(crate) async fn revoke_as(
        &self,
        auth: &Authorised,
        sign: pqbank_db::Signer<'_>,
        by: ActSigner<'_>,
        target: Fingerprint,
        reason: RevocationReason,
    ) -> Result<u64, ServiceError> {
        let action = Action::CertRevoke;
        let revoked = self.issued_by_caller(auth, sign, action, target).await?;
        let created_at = self.act_time(auth, sign, action, by).await?;
        let draft = self
            .draft_revocation(auth, target, &revoked, reason, created_at)
            .await?;
        let signatures = self
            .sign_parts(auth, sign, action, by, &draft.parts())
            .await?;
        let revocation = self.finish_revocation(auth, draft, &signatures).await?;
        self.store
            .commit_logged(
                &[
                    RowWrite::Crl(&revocation.crl),
                    RowWrite::Revocation(&revocation.row),
                ],
                &[revocation.event(sign)],
            )
            .await?;
        self.crl_pins.raise(&auth.certificate, revocation.number)?;
        tracing::info!(
            certificate = %auth.certificate,
            staff_id = auth.staff_id,
            revoked = %target,
            reason = reason.as_str(),
            crl = revocation.number,
            "act signed: cert.revoke"
        );
        Ok(revocation.number)
    }

    /// A certificate the caller is about to issue must not reuse a serial of theirs (a
    /// CRL lists serials); else refused, the refusal chained.
    pub(crate) async fn serial_is_free(
        &self,
        auth: &Authorised,
        sign: pqbank_db::Signer<'_>,
        action: Action,
        issued: &Certificate,
    ) -> Result<(), ServiceError> {
        // By the stored certificates' own DER, not their `issuer` and `serial` columns.
        let taken = self.store.all_certificates().await?.iter().any(|c| {
            decoded(c).is_ok_and(|c| {
                c.claims().lineage.map(|l| l.issuer) == Some(auth.certificate)
                    && c.serial() == issued.serial()
            })
        });
        if !taken {
            return Ok(());
        }
        let e = pqbank_pki::Error::InvalidRequest("the serial number is in use");
        Err(self.refuse(auth, sign, action, e).await)
    }

    /// The stored certificate `target`, decoded, if the caller issued it (by its DER: the
    /// signed lineage naming the caller, the issuer name and the signature under the
    /// caller's key; not by the `issuer` column); else refused, the refusal chained.
    pub(crate) async fn issued_by_caller(
        &self,
        auth: &Authorised,
        sign: pqbank_db::Signer<'_>,
        action: Action,
        target: Fingerprint,
    ) -> Result<Certificate, ServiceError> {
        let record = self
            .store
            .certificate(target.as_bytes())
            .await?
            .ok_or(ServiceError::UnknownCertificate)?;
        let cert = decoded(&record)?;
        let caller = self.certificate(&auth.certificate).await?;
        let issued = cert.claims().lineage.map(|l| l.issuer) == Some(auth.certificate)
            && cert.issuer_der() == caller.subject_der()
            && cert.verify_signed_by(&caller).is_ok();
        if issued {
            return Ok(cert);
        }
        let e = pqbank_pki::Error::IssuerNotAuthorised { depth: 1 };
        Err(self.refuse(auth, sign, action, e).await)
    }

    /// The manager's next CRL (listing `target` as revoked at `created_at`) and the
    /// revocation's bytes, not yet signed.
    async fn draft_revocation(
        &self,
        auth: &Authorised,
        target: Fingerprint,
        revoked: &Certificate,
        reason: RevocationReason,
        created_at: i64,
    ) -> Result<RevocationDraft, ServiceError> {
        let manager = self.certificate(&auth.certificate).await?;
        let latest = match self.store.latest_crl(auth.certificate.as_bytes()).await? {
            Some(latest) => Some(Crl::from_der(&latest.der).map_err(ServiceError::Certificate)?),
            None => None,
        };
        let crl = pqbank_api::acts::next_crl(
            latest.as_ref(),
            revoked.serial(),
            reason,
            created_at,
            self.config.crl_days,
        );
        let number = crl.number;
        let crl_number = i64::try_from(number).unwrap_or(i64::MAX);
        Ok(RevocationDraft {
            crl_tbs: crl.tbs(&manager).map_err(ServiceError::Certificate)?,
            signed_bytes: revocation_bytes(&target, reason.as_str(), crl_number, created_at),
            target,
            reason,
            number,
            created_at,
        })
    }

    /// The drafted revocation with its two signatures (the CRL's, the revocation's, the
    /// last two of `signatures`): the CRL checked as every published CRL is.
    async fn finish_revocation(
        &self,
        auth: &Authorised,
        draft: RevocationDraft,
        signatures: &[Vec<u8>],
    ) -> Result<PreparedRevocation, ServiceError> {
        let [crl_sig, row_sig] = signatures
            .get(signatures.len().saturating_sub(2)..)
            .and_then(|s| <&[Vec<u8>; 2]>::try_from(s).ok())
            .ok_or(ServiceError::Certificate(pqbank_pki::Error::CrlSignature))?;
        let crl = Crl::assemble(&draft.crl_tbs, crl_sig).map_err(ServiceError::Certificate)?;
        let crl_record = self.checked_crl(auth.certificate, &crl).await?;
        let row = pqbank_db::RevocationRecord {
            certificate: *draft.target.as_bytes(),
            reason: draft.reason.as_str().to_owned(),
            revoked_at: draft.created_at,
            crl_number: i64::try_from(draft.number).unwrap_or(i64::MAX),
            revoked_by: auth.staff_id,
            signature: row_sig.clone(),
            signed_bytes: draft.signed_bytes,
            signer: *auth.certificate.as_bytes(),
        };
        Ok(PreparedRevocation {
            crl: crl_record,
            row,
            number: draft.number,
            payload: [
                draft.target.as_bytes().as_slice(),
                &draft.number.to_be_bytes(),
            ]
            .concat(),
        })
    }

    /// A manager renews a certificate they issued: a new certificate for the same key,
    /// device, role and purpose, whose lineage names the one it replaces; the old one is
    /// revoked as superseded. The new certificate, the CRL, the signed revocation and the
    /// manager's two events commit in one transaction.
    pub async fn renew(
        &self,
        token: &SessionToken,
        device: &Device,
        old: Fingerprint,
    ) -> Result<Certificate, ServiceError> {
        let auth = self.authorise(token, device, Action::CertIssue).await?;
        let sign = device.event_signer();
        self.renew_as(&auth, &sign, ActSigner::Device(device), old, random()?)
            .await
    }

    /// [`Self::renew`] for an authorised manager, the new certificate of serial `serial`:
    /// the certificate, the CRL and the revocation built here, signed `by` the device
    /// here or the workstation (the certificate's to-be-signed bytes, the CRL's, the
    /// revocation's), the events chained with `sign`.
    pub(crate) async fn renew_as(
        &self,
        auth: &Authorised,
        sign: pqbank_db::Signer<'_>,
        by: ActSigner<'_>,
        old: Fingerprint,
        serial: [u8; pqbank_pki::cert::SERIAL_LEN],
    ) -> Result<Certificate, ServiceError> {
        let action = Action::CertIssue;
        let previous = self.issued_by_caller(auth, sign, action, old).await?;
        let staff_id = self.staff_of(&previous).await?;
        let issuer = self.certificate(&auth.certificate).await?;
        let created_at = self.act_time(auth, sign, action, by).await?;
        let builder = pqbank_api::acts::renewal(&previous, &issuer, serial, created_at)
            .map_err(ServiceError::Certificate)?;
        let cert_tbs = builder
            .tbs_issued_by(&issuer)
            .map_err(ServiceError::Certificate)?;
        let draft = self
            .draft_revocation(
                auth,
                old,
                &previous,
                RevocationReason::Superseded,
                created_at,
            )
            .await?;
        let parts = [&[(&[][..], cert_tbs.as_slice())][..], &draft.parts()].concat();
        let signatures = self.sign_parts(auth, sign, action, by, &parts).await?;
        let cert_sig = signatures
            .first()
            .ok_or(ServiceError::Certificate(pqbank_pki::Error::BadSignature))?;
        let renewed =
            Certificate::assemble(&cert_tbs, cert_sig).map_err(ServiceError::Certificate)?;
        self.serial_is_free(auth, sign, action, &renewed).await?;
        let new_record = self.certificate_record(&renewed, Some(staff_id));
        let revocation = self.finish_revocation(auth, draft, &signatures).await?;
        let renew_payload = [old.as_bytes().as_slice(), renewed.fingerprint().as_bytes()].concat();
        self.store
            .commit_logged(
                &[
                    RowWrite::Certificate(&new_record),
                    RowWrite::Crl(&revocation.crl),
                    RowWrite::Revocation(&revocation.row),
                ],
                &[
                    revocation.event(sign),
                    LoggedEvent {
                        certificate: *auth.certificate.as_bytes(),
                        kind: "cert.renew",
                        payload: &renew_payload,
                        created_at: self.now(),
                        sign,
                    },
                ],
            )
            .await?;
        self.crl_pins.raise(&auth.certificate, revocation.number)?;
        tracing::info!(
            certificate = %auth.certificate,
            staff_id = auth.staff_id,
            renewed = %old,
            new = %renewed.fingerprint(),
            crl = revocation.number,
            "act signed: cert.renew"
        );
        Ok(renewed)
    }

    pub(crate) async fn certificate(&self, fp: &Fingerprint) -> Result<Certificate, ServiceError> {
        let record = self
            .store
            .certificate(fp.as_bytes())
            .await?
            .ok_or(ServiceError::UnknownCertificate)?;
        decoded(&record)
    }

    /// The staff member a certificate names in its signed StaffId claim, by the staff
    /// table's number (read once per number), never by a `staff_id` column.
    pub(crate) async fn staff_of(&self, cert: &Certificate) -> Result<i64, ServiceError> {
        let number = cert
            .claims()
            .staff_id
            .as_deref()
            .ok_or(ServiceError::UnknownCertificate)?;
        let known = self
            .staff_ids
            .lock()
            .ok()
            .and_then(|ids| ids.get(number).copied());
        if let Some(id) = known {
            return Ok(id);
        }
        let id = self
            .store
            .staff_id_by_number(number)
            .await?
            .ok_or(ServiceError::Audit(
                "the certificate's staff number is not a member of staff",
            ))?;
        if let Ok(mut ids) = self.staff_ids.lock() {
            ids.insert(number.to_owned(), id);
        }
        Ok(id)
    }

    /// The newest CRL number per issuer, for pinning.
    pub(crate) fn pins(issuer: Option<Fingerprint>, pinned: i64) -> BTreeMap<Fingerprint, u64> {
        issuer
            .map(|i| (i, u64::try_from(pinned).unwrap_or(0)))
            .into_iter()
            .collect()
    }
}

/// The row that stores `cert`, recorded at `created_at`: every column but the time is the
/// certificate's own (verification rebuilds it so and names a row that differs).
pub(crate) fn certificate_columns(
    cert: &Certificate,
    staff_id: Option<i64>,
    created_at: i64,
) -> CertificateRecord {
    let claims = cert.claims();
    CertificateRecord {
        fingerprint: *cert.fingerprint().as_bytes(),
        der: cert.der().to_vec(),
        serial: cert.serial().to_vec(),
        issuer: claims.lineage.map(|l| *l.issuer.as_bytes()),
        replaces: claims
            .lineage
            .and_then(|l| l.replaces)
            .map(|f| *f.as_bytes()),
        staff_id,
        role: claims.role.map_or("none", Role::as_str).to_owned(),
        not_before: cert.not_before().unix_timestamp(),
        not_after: cert.not_after().unix_timestamp(),
        created_at,
    }
}

/// A stored certificate's DER, decoded, if it is the certificate its row is keyed by: a
/// database writer who swaps the bytes under a fingerprint is refused, not believed.
pub(crate) fn decoded(record: &CertificateRecord) -> Result<Certificate, ServiceError> {
    let cert = Certificate::from_der(&record.der).map_err(ServiceError::Certificate)?;
    if cert.fingerprint().as_bytes() != &record.fingerprint {
        return Err(ServiceError::Audit(
            "a stored certificate's bytes are not the certificate its fingerprint names",
        ));
    }
    Ok(cert)
}

/// A revocation built, not yet signed: the CRL's to-be-signed bytes and the revocation
/// row's signed bytes.
struct RevocationDraft {
    crl_tbs: Vec<u8>,
    signed_bytes: Vec<u8>,
    target: Fingerprint,
    reason: RevocationReason,
    number: u64,
    created_at: i64,
}

impl RevocationDraft {
    /// What is signed, in order: the CRL (no context, as X.509 signs), the revocation
    /// (the act context).
    fn parts(&self) -> [(&[u8], &[u8]); 2] {
        [
            (&[], &self.crl_tbs),
            (crate::device::ACT_CONTEXT, &self.signed_bytes),
        ]
    }
}

/// A ledger refusal of an act being built.
fn ledger(e: pqbank_ledger::LedgerError) -> ServiceError {
    ServiceError::Store(pqbank_db::StoreError::Ledger(e))
}

/// A revocation made and signed, not yet written.
struct PreparedRevocation {
    crl: CrlRecord,
    row: pqbank_db::RevocationRecord,
    number: u64,
    payload: Vec<u8>,
}

impl PreparedRevocation {
    /// The manager's "cert.revoke" event (payload: the revoked fingerprint and the CRL
    /// number).
    fn event<'a>(&'a self, sign: pqbank_db::Signer<'a>) -> LoggedEvent<'a> {
        LoggedEvent {
            certificate: self.row.signer,
            kind: "cert.revoke",
            payload: &self.payload,
            created_at: self.row.revoked_at,
            sign,
        }
    }
}

pub(crate) use pqbank_api::acts::revocation_bytes;
