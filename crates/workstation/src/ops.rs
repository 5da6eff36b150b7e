//! One method per screen action, each one service call (or a few reads) and a mapping
//! to the screen's types.

use std::collections::BTreeMap;
use std::sync::Arc;

use pqbank_db::{AccountRow, IdentityStore, TransferRow};
use pqbank_ledger::{Amount, Currency, TransferKind, TransferRequest, TransferStatus};
use pqbank_pki::crl::RevocationReason;
use pqbank_pki::{Action, CompositeSigningKey, Fingerprint, Layer, Role};
use pqbank_service::{Device, SessionToken};
use sha2::{Digest, Sha256};

use crate::bank::on_bank;
use crate::{
    AccountView, Active, ActivityPoint, AppState, CertificateState, CertificateView, CrlEntryView,
    CrlView, CustomerHit, DrawerClosed, DrawerView, EnrolmentStatus, EnrolmentTicket,
    EnrolmentView, ErrorCode, EventView, Identity, LayerCheck, LocalDevice, LoginResult,
    ProblemView, ProofView, ReportFile, ReportFormat, ServiceErrorCode, SessionInfo, Settings,
    StaffView, TransferForm, TransferView, UiError, VarianceView, VerifyView, Workstation,
    blocking, random,
};
// The workstation's own error codes.
use crate::WorkstationErrorCode as Own;

/// What login checked on each layer, in words for the login screen.
const LAYER_WORDS: [&str; 7] = [
    "certificate chain and transcript signed with ML-DSA-65 and Ed25519, both verified",
    "root certificate matches the pinned SHA3-256 fingerprint",
    "this device holds the certificate's key and its identifier",
    "the certificate lists the actions of its role",
    "not revoked under the newest CRL of every issuer, no older CRL accepted",
    "issuer chain walked to the pinned root",
    "fresh single-use challenge, signed and consumed once",
];

fn now() -> i64 {
    time::OffsetDateTime::now_utc().unix_timestamp()
}

fn account_view(a: &AccountRow) -> AccountView {
    let side = a.kind.normal_side();
    let clamp = |v: i128| i64::try_from(v).unwrap_or(if v < 0 { i64::MIN } else { i64::MAX });
    AccountView {
        id: a.id,
        number: a.number.clone(),
        kind: a.kind,
        currency: a.currency.code().to_owned(),
        exponent: a.currency.exponent(),
        balance_minor: clamp(a.balances.balance(side)),
        available_minor: clamp(a.balances.available(side)),
        floor_minor: a.floor_minor,
        closed: a.closed,
    }
}

fn transfer_view(t: &TransferRow, replayed: bool) -> TransferView {
    TransferView {
        id: t.id,
        kind: t.request.kind,
        status: t.status,
        debit: t.request.debit,
        credit: t.request.credit,
        amount_minor: t.request.amount.minor(),
        currency: t.request.amount.currency().code().to_owned(),
        exponent: t.request.amount.currency().exponent(),
        memo: t.request.memo.clone(),
        maker: t.request.maker,
        maker_name: String::new(),
        debit_number: String::new(),
        credit_number: String::new(),
        created_at: t.request.created_at,
        expires_at: t.expires_at,
        request_hash: hex::encode(t.request_hash),
        replayed,
    }
}

fn identity(d: &LocalDevice) -> Identity {
    Identity {
        certificate: d.certificate.clone(),
        name: d.name.clone(),
        role: d.role,
        device: d.id.clone(),
        enrolment: d.enrolment,
    }
}

fn printable(payload: &[u8]) -> String {
    match std::str::from_utf8(payload) {
        Ok(s) if s.chars().all(|c| !c.is_control()) => s.to_owned(),
        _ => hex::encode(payload),
    }
}

fn day(unix: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp(unix)
        .map(|t| t.date().to_string())
        .unwrap_or_else(|_| "unknown".into())
}

/// A role as stored: the database holds only `Role::as_str` texts.
fn stored_role(text: &str) -> Result<Role, UiError> {
    text.parse()
        .map_err(|_| UiError::new(Own::Internal, format!("a stored role is unknown: {text}")))
}

/// A revocation reason as stored: the database holds only `RevocationReason::as_str` texts.
fn stored_reason(text: &str) -> Result<RevocationReason, UiError> {
    text.parse().map_err(|_| {
        UiError::new(
            Own::Internal,
            format!("a stored revocation reason is unknown: {text}"),
        )
    })
}

fn fingerprint(hex: &str) -> Result<Fingerprint, UiError> {
    Fingerprint::from_hex(hex)
        .map_err(|_| UiError::new(Own::InputFingerprint, "not a certificate fingerprint"))
}

impl Workstation {
    /// The device held here for a certificate, its key loaded from the key store.
    async fn device_for(&self, d: &LocalDevice) -> Result<Device, UiError> {
        let keys = self.keys.clone();
        let item = d.keyring.clone();
        let secrets = blocking(move || Ok(keys.load(&item)?)).await?;
        let key = CompositeSigningKey::from_seed(&secrets.signing_seed);
        let id = hex::decode(&d.id)
            .map_err(|_| UiError::new(Own::SettingsCorrupt, "a device id is not hex"))?;
        Ok(Device::new(&id, key))
    }

    fn local_device(&self, certificate: &str) -> Result<LocalDevice, UiError> {
        let settings = self.settings_guard()?;
        settings
            .devices
            .iter()
            .find(|d| d.certificate == certificate && !certificate.is_empty() && self.serves(d))
            .cloned()
            .ok_or_else(|| {
                UiError::new(
                    Own::DeviceUnknown,
                    "this machine holds no key for that certificate",
                )
            })
    }

    /// The settings, locked.
    pub(crate) fn settings_guard(&self) -> Result<std::sync::MutexGuard<'_, Settings>, UiError> {
        self.settings
            .lock()
            .map_err(|_| UiError::internal("the settings could not be locked", &"poisoned"))
    }

    /// The staff list, for names beside ids (names are not customer data).
    async fn staff_rows(&self) -> Result<Vec<pqbank_db::views::StaffRow>, UiError> {
        Ok(on_bank!(&self.bank, s => pqbank_db::views::ViewStore::staff(s.store()).await)?)
    }

    /// True if a device held here belongs to the bank in this database.
    fn serves(&self, d: &LocalDevice) -> bool {
        d.database
            .as_deref()
            .is_none_or(|u| u == crate::bank::location(&self.url))
    }

    /// The signed-in user's token and device; ends the local session when the service
    /// has ended it.
    pub(crate) async fn session(
        &self,
    ) -> Result<(SessionToken, Arc<Device>, SessionInfo), UiError> {
        let guard = self.active.lock().await;
        let active = guard
            .as_ref()
            .ok_or_else(|| UiError::new(ServiceErrorCode::SessionEnded, "nobody is signed in"))?;
        Ok((
            active.token.clone(),
            active.device.clone(),
            active.info.clone(),
        ))
    }

    /// Passes a service result through, signing the user out here when the service has
    /// ended their session or no longer accepts their certificate.
    pub(crate) async fn checked<T>(
        &self,
        r: Result<T, pqbank_service::ServiceError>,
    ) -> Result<T, UiError> {
        match r {
            Ok(v) => Ok(v),
            Err(e) => {
                let e = UiError::from(e);
                if matches!(
                    e.code,
                    ErrorCode::Service(ServiceErrorCode::SessionEnded) | ErrorCode::Certificate(_)
                ) && let Some(gone) = self.active.lock().await.take()
                {
                    tracing::info!(
                        certificate = gone.info.identity.certificate.as_str(),
                        code = e.code.as_str(),
                        "signed out here: the service ended the session"
                    );
                }
                Err(e)
            }
        }
    }

    /// How the workstation is set up, and who is signed in.
    pub async fn state(&self) -> Result<AppState, UiError> {
        let session = self.active.lock().await.as_ref().map(|a| a.info.clone());
        let settings = self.settings_guard()?;
        Ok(AppState {
            backend: match self.bank {
                crate::Bank::Sqlite(_) => "sqlite".into(),
                crate::Bank::Mysql(_) => "mysql".into(),
            },
            location: settings
                .other
                .get("location")
                .and_then(serde_json::Value::as_str)
                .unwrap_or_default()
                .to_owned(),
            pinned_root: settings.pinned_root.clone().unwrap_or_default(),
            demo: self.demo,
            identities: settings
                .devices
                .iter()
                .filter(|d| self.serves(d))
                .map(identity)
                .collect(),
            session,
            idle_lock_secs: 300,
        })
    }

    /// Signs in with a certificate held here: challenge, transcript signed by the
    /// device, every layer checked by the service, session opened and the intent logged.
    pub async fn login(&self, certificate: String) -> Result<LoginResult, UiError> {
        let local = self.local_device(&certificate)?;
        let device = Arc::new(self.device_for(&local).await?);
        let fp = fingerprint(&certificate)?;
        let origin = self.origin.clone();
        let token = on_bank!(&self.bank, s => {
            let nonce = s.challenge(fp, &device.id, &origin).await?;
            let signed = s.sign_transcript(&device, nonce, fp, &origin)?;
            s.login(fp, &device, &origin, &signed).await
        })?;
        let staff_id = on_bank!(&self.bank, s => s.store().certificate(fp.as_bytes()).await)?
            .and_then(|r| r.staff_id)
            .unwrap_or_default();
        let info = SessionInfo {
            identity: identity(&local),
            staff_id,
            since: now(),
        };
        *self.active.lock().await = Some(Active {
            token,
            device,
            info: info.clone(),
        });
        let layers = Layer::ALL
            .iter()
            .zip(LAYER_WORDS)
            .enumerate()
            .map(|(i, (layer, words))| LayerCheck {
                number: u8::try_from(i + 1).unwrap_or(0),
                name: layer.as_str().to_owned(),
                checked: words.to_owned(),
            })
            .collect();
        Ok(LoginResult {
            session: info,
            layers,
        })
    }

    /// Signs out here (the service's session idles out; nothing else holds its token).
    pub async fn logout(&self) {
        if let Some(gone) = self.active.lock().await.take() {
            tracing::info!(
                certificate = gone.info.identity.certificate.as_str(),
                staff_id = gone.info.staff_id,
                "signed out"
            );
        }
    }

    /// Customers by name or number, with their accounts (the read is logged).
    pub async fn find_customers(&self, query: String) -> Result<Vec<CustomerHit>, UiError> {
        let (token, device, _) = self.session().await?;
        let rows = self
            .checked(
                on_bank!(&self.bank, s => s.find_customers(&token, &device, query.trim()).await),
            )
            .await?;
        Ok(rows
            .into_iter()
            .map(|(c, accounts)| CustomerHit {
                id: c.id,
                number: c.number,
                name: c.full_name,
                accounts: accounts.iter().map(account_view).collect(),
            })
            .collect())
    }

    /// Posts a deposit, withdrawal or transfer signed by this device.
    pub async fn post_transfer(&self, form: TransferForm) -> Result<TransferView, UiError> {
        let (token, device, info) = self.session().await?;
        // The service refuses the internal kinds and cash through any drawer but the
        // teller's own open one, whatever the window sent.
        let (kind, currency, amount) = parse_form(&form)?;
        let created_at = self.first_submitted(&form.idempotency_key)?;
        let request = TransferRequest {
            maker: info.staff_id,
            idempotency_key: form.idempotency_key,
            kind,
            debit: form.debit,
            credit: form.credit,
            amount,
            memo: form.memo,
            created_at,
        };
        let outcome = self
            .checked(
                on_bank!(&self.bank, s => s.post_transfer(&token, &device, request.clone()).await),
            )
            .await?;
        let mut view = TransferView {
            id: outcome.id,
            kind: request.kind,
            status: outcome.status,
            debit: request.debit,
            credit: request.credit,
            amount_minor: request.amount.minor(),
            currency: currency.code().to_owned(),
            exponent: currency.exponent(),
            memo: request.memo,
            maker: request.maker,
            maker_name: info.identity.name.clone(),
            debit_number: String::new(),
            credit_number: String::new(),
            created_at: request.created_at,
            expires_at: outcome.expires_at,
            request_hash: String::new(),
            replayed: outcome.replayed,
        };
        self.name_accounts(std::slice::from_mut(&mut view)).await?;
        Ok(view)
    }

    /// Fills in the account numbers and the maker's name of listed transfers.
    async fn name_accounts(&self, views: &mut [TransferView]) -> Result<(), UiError> {
        let staff = self.staff_rows().await?;
        let mut numbers: BTreeMap<i64, String> = BTreeMap::new();
        for v in views.iter_mut() {
            for id in [v.debit, v.credit] {
                if let std::collections::btree_map::Entry::Vacant(e) = numbers.entry(id) {
                    let account = on_bank!(&self.bank, s => pqbank_db::Backend::account(s.store(), id).await)?;
                    e.insert(account.map_or_else(|| format!("#{id}"), |a| a.number));
                }
            }
            v.debit_number = numbers.get(&v.debit).cloned().unwrap_or_default();
            v.credit_number = numbers.get(&v.credit).cloned().unwrap_or_default();
            if let Some(m) = staff.iter().find(|m| m.id == v.maker) {
                v.maker_name.clone_from(&m.name);
            }
        }
        Ok(())
    }

    /// When a key was first submitted here: a retry with the same key signs the same
    /// request (its time included), so the ledger returns the first result.
    fn first_submitted(&self, key: &str) -> Result<i64, UiError> {
        let mut drafts = self
            .drafts
            .lock()
            .map_err(|_| UiError::internal("the drafts could not be locked", &"poisoned"))?;
        Ok(*drafts.entry(key.to_owned()).or_insert_with(now))
    }

    /// Transfers waiting for a manager (a teller's own; a manager's queue: all).
    pub async fn pending_transfers(&self) -> Result<Vec<TransferView>, UiError> {
        let (token, device, _) = self.session().await?;
        let rows = self
            .checked(on_bank!(&self.bank, s => s.pending_transfers(&token, &device).await))
            .await?;
        let mut views: Vec<TransferView> = rows.iter().map(|t| transfer_view(t, false)).collect();
        self.name_accounts(&mut views).await?;
        Ok(views)
    }

    /// A manager approves (posts) or rejects (voids) a pending transfer.
    pub async fn resolve_transfer(
        &self,
        id: i64,
        request_hash: String,
        approve: bool,
    ) -> Result<TransferStatus, UiError> {
        let (token, device, _) = self.session().await?;
        // The hash is the one the manager reviewed on screen: if the row changed since,
        // the service refuses rather than approve something else.
        let mut hash = [0; 32];
        hex::decode_to_slice(request_hash.trim(), &mut hash)
            .map_err(|_| UiError::new(Own::InputHash, "not a transfer hash"))?;
        let status = self
            .checked(on_bank!(&self.bank, s => s.resolve_transfer(&token, &device, id, hash, approve).await))
            .await?;
        Ok(status)
    }

    /// The teller's drawer and the vault and variance accounts of its currency, as the
    /// service finds them.
    pub async fn drawer(&self) -> Result<DrawerView, UiError> {
        let (token, device, _) = self.session().await?;
        let state = self
            .checked(on_bank!(&self.bank, s => s.drawer(&token, &device).await))
            .await?;
        Ok(DrawerView {
            account: state.drawer.as_ref().map(account_view),
            open: state.open,
            vault: state.vault.as_ref().map(account_view),
            variance: state.variance.as_ref().map(account_view),
            last_counted_minor: state.last.map(|e| e.counted_minor),
        })
    }

    /// Opens the teller's drawer with a counted float.
    pub async fn open_drawer(
        &self,
        counted_minor: i64,
        key: String,
    ) -> Result<DrawerView, UiError> {
        let (token, device, _) = self.session().await?;
        self.checked(
            on_bank!(&self.bank, s => s.open_drawer(&token, &device, counted_minor, &key).await),
        )
        .await?;
        self.drawer().await
    }

    /// Closes the teller's drawer with the counted cash; a variance goes to a manager.
    pub async fn close_drawer(
        &self,
        counted_minor: i64,
        key: String,
    ) -> Result<DrawerClosed, UiError> {
        let (token, device, _) = self.session().await?;
        let event = self
            .checked(
                on_bank!(&self.bank, s => s.close_drawer(&token, &device, counted_minor, &key).await),
            )
            .await?;
        let expected = event.expected_minor.unwrap_or(counted_minor);
        Ok(DrawerClosed {
            event: event.id,
            counted_minor: event.counted_minor,
            expected_minor: expected,
            variance_minor: event
                .variance_minor
                .unwrap_or_else(|| event.counted_minor.saturating_sub(expected)),
        })
    }

    /// Staff with their certificates' state (managers and auditors).
    pub async fn staff(&self) -> Result<Vec<StaffView>, UiError> {
        let (token, device, info) = self.session().await?;
        let action = if info.identity.role == Role::Auditor {
            Action::AuditRead
        } else {
            Action::CertIssue
        };
        let overview = self
            .checked(on_bank!(&self.bank, s => s.staff_overview(&token, &device, action).await))
            .await?;
        let revoked: BTreeMap<[u8; 32], &pqbank_db::views::RevocationView> = overview
            .revocations
            .iter()
            .map(|r| (r.certificate, r))
            .collect();
        let now = now();
        overview
            .staff
            .iter()
            .map(|st| {
                let mut certificates = overview
                    .certificates
                    .iter()
                    .filter(|c| c.staff_id == Some(st.id))
                    .map(|c| -> Result<CertificateView, UiError> {
                        let r = revoked.get(&c.fingerprint);
                        Ok(CertificateView {
                            fingerprint: hex::encode(c.fingerprint),
                            serial: hex::encode(&c.serial),
                            role: stored_role(&c.role)?,
                            issuer: c.issuer.map(hex::encode),
                            replaces: c.replaces.map(hex::encode),
                            not_before: c.not_before,
                            not_after: c.not_after,
                            state: if r.is_some() {
                                CertificateState::Revoked
                            } else if c.not_after < now {
                                CertificateState::Expired
                            } else {
                                CertificateState::Active
                            },
                            revoked_reason: r.map(|r| stored_reason(&r.reason)).transpose()?,
                            revoked_at: r.map(|r| r.revoked_at),
                        })
                    })
                    .collect::<Result<Vec<_>, _>>()?;
                certificates.reverse();
                Ok(StaffView {
                    id: st.id,
                    number: st.number.clone(),
                    name: st.name.clone(),
                    role: stored_role(&st.role)?,
                    certificates,
                })
            })
            .collect()
    }

    /// A manager revokes a certificate they issued; returns the new CRL's number.
    pub async fn revoke(
        &self,
        certificate: String,
        reason: RevocationReason,
    ) -> Result<u64, UiError> {
        let (token, device, _) = self.session().await?;
        let target = fingerprint(&certificate)?;
        self.checked(on_bank!(&self.bank, s => s.revoke(&token, &device, target, reason).await))
            .await
    }

    /// A manager renews a certificate they issued; returns the new fingerprint.
    pub async fn renew(&self, certificate: String) -> Result<String, UiError> {
        let (token, device, _) = self.session().await?;
        let old = fingerprint(&certificate)?;
        let cert = self
            .checked(on_bank!(&self.bank, s => s.renew(&token, &device, old).await))
            .await?;
        let new = cert.fingerprint().to_hex();
        // A renewed certificate held here replaces the old one in the identity list.
        let mut settings = self.settings_guard()?;
        for d in &mut settings.devices {
            if d.certificate == certificate {
                d.certificate.clone_from(&new);
            }
        }
        settings.save(&self.settings_path)?;
        Ok(new)
    }

    /// Drawer variances waiting for a manager's sign-off.
    pub async fn variance_queue(&self) -> Result<Vec<VarianceView>, UiError> {
        let (token, device, _) = self.session().await?;
        let rows = self
            .checked(on_bank!(&self.bank, s => s.variance_queue(&token, &device).await))
            .await?;
        let staff = self.staff_rows().await?;
        let mut out = Vec::new();
        for r in rows {
            let account =
                on_bank!(&self.bank, s => pqbank_db::Backend::account(s.store(), r.drawer).await)?;
            let expected = r.expected_minor.unwrap_or(r.counted_minor);
            out.push(VarianceView {
                event: r.id,
                teller: r.teller,
                teller_name: staff
                    .iter()
                    .find(|m| m.id == r.teller)
                    .map_or_else(String::new, |m| m.name.clone()),
                drawer_number: account
                    .as_ref()
                    .map_or_else(String::new, |a| a.number.clone()),
                counted_minor: r.counted_minor,
                expected_minor: expected,
                variance_minor: r
                    .variance_minor
                    .unwrap_or_else(|| r.counted_minor.saturating_sub(expected)),
                currency: account
                    .as_ref()
                    .map_or_else(|| "EUR".into(), |a| a.currency.code().to_owned()),
                exponent: account.as_ref().map_or(2, |a| a.currency.exponent()),
                created_at: r.created_at,
            });
        }
        Ok(out)
    }

    /// A manager signs off a drawer variance (never their own drawer's).
    pub async fn sign_off_variance(&self, event: i64) -> Result<(), UiError> {
        let (token, device, _) = self.session().await?;
        self.checked(on_bank!(&self.bank, s => s.sign_off_variance(&token, &device, event).await))
            .await
    }

    /// The newest CRL of every issuer, with the names of the revoked certificates.
    pub async fn crls(&self) -> Result<Vec<CrlView>, UiError> {
        let (token, device, info) = self.session().await?;
        let action = if info.identity.role == Role::Auditor {
            Action::AuditRead
        } else {
            Action::CertRevoke
        };
        let crls = self
            .checked(on_bank!(&self.bank, s => s.current_crls(&token, &device, action).await))
            .await?;
        let certificates = on_bank!(&self.bank, s => pqbank_db::views::ViewStore::all_certificates(s.store()).await)?;
        let staff = self.staff_rows().await?;
        let name_of = |staff_id: Option<i64>| {
            staff_id.and_then(|id| staff.iter().find(|m| m.id == id).map(|m| m.name.clone()))
        };
        Ok(crls
            .into_iter()
            .map(|(issuer, crl)| CrlView {
                issuer: hex::encode(issuer.fingerprint),
                issuer_name: name_of(issuer.staff_id).unwrap_or_else(|| "root".into()),
                number: u32::try_from(crl.number()).unwrap_or(u32::MAX),
                this_update: crl.this_update().unix_timestamp(),
                next_update: crl.next_update().map(|t| t.unix_timestamp()),
                entries: crl
                    .entries()
                    .into_iter()
                    .map(|e| CrlEntryView {
                        name: certificates
                            .iter()
                            .find(|c| c.serial == e.serial && c.issuer == Some(issuer.fingerprint))
                            .and_then(|c| name_of(c.staff_id)),
                        serial: hex::encode(&e.serial),
                        reason: e.reason,
                        revoked_at: e.revoked_at.unix_timestamp(),
                    })
                    .collect(),
            })
            .collect())
    }

    /// Enrolment requests waiting for a manager.
    pub async fn enrolment_queue(&self) -> Result<Vec<EnrolmentView>, UiError> {
        let (token, device, _) = self.session().await?;
        let queue = self
            .checked(on_bank!(&self.bank, s => s.enrolment_queue(&token, &device).await))
            .await?;
        let staff = self.staff_rows().await?;
        queue
            .into_iter()
            .map(|r| {
                Ok(EnrolmentView {
                    id: r.id,
                    staff_id: r.staff_id,
                    name: staff
                        .iter()
                        .find(|s| s.id == r.staff_id)
                        .map_or_else(String::new, |s| s.name.clone()),
                    role: stored_role(&r.requested_role)?,
                    created_at: r.created_at,
                    request: hex::encode(r.csr_fingerprint),
                })
            })
            .collect()
    }

    /// A manager approves a request after typing the code the device shows.
    pub async fn approve_enrolment(&self, id: i64, code: String) -> Result<String, UiError> {
        let (token, device, _) = self.session().await?;
        let fp = self
            .checked(
                on_bank!(&self.bank, s => s.approve_enrolment(&token, &device, id, &code).await),
            )
            .await?;
        Ok(fp.to_hex())
    }

    /// This machine asks to be enrolled for a member of staff: fresh keys into the key
    /// store, the request stored, its code and QR code returned for the manager.
    pub async fn request_enrolment(
        &self,
        staff_number: String,
        role: Role,
    ) -> Result<EnrolmentTicket, UiError> {
        let staff = self.staff_rows().await?;
        let member = staff
            .iter()
            .find(|s| s.number.eq_ignore_ascii_case(staff_number.trim()))
            .ok_or_else(|| UiError::new(Own::EnrolmentStaff, "no member of staff has that number"))?
            .clone();
        let device_id: [u8; 16] = random()?;
        let item = format!("device-{}", hex::encode(device_id));
        let keys = self.keys.clone();
        let name = item.clone();
        let secrets = blocking(move || {
            let secrets = pqbank_keystore::DeviceSecrets::generate()?;
            keys.store(&name, &secrets)?;
            Ok(secrets)
        })
        .await?;
        let device = Device::new(
            &device_id,
            CompositeSigningKey::from_seed(&secrets.signing_seed),
        );
        let recipient = recipient_of(&secrets);
        let requested = on_bank!(&self.bank, s => s.request_enrolment(&device, &recipient, &member.name, member.id, role).await);
        let (id, code) = match requested {
            Ok(r) => r,
            Err(e) => {
                // No request, no keys: the fresh keys leave the keyring again.
                let keys = self.keys.clone();
                let orphan = item.clone();
                let _cleaned = blocking(move || Ok(keys.delete(&orphan)?)).await;
                return Err(e.into());
            }
        };
        let record = on_bank!(&self.bank, s => s.store().enrolment(id).await)?
            .ok_or_else(|| UiError::new(Own::Internal, "the request is not stored"))?;
        let qr_svg = pqbank_service::enrolment_qr_svg(
            id,
            &code,
            &Fingerprint::from_bytes(record.csr_fingerprint),
        )?;
        let mut settings = self.settings_guard()?;
        settings.devices.push(LocalDevice {
            keyring: item,
            id: hex::encode(device_id),
            certificate: String::new(),
            name: member.name,
            role,
            enrolment: Some(id),
            database: Some(crate::bank::location(&self.url)),
            code: Some(code.clone()),
        });
        settings.save(&self.settings_path)?;
        Ok(EnrolmentTicket {
            id,
            code,
            qr_svg,
            status: EnrolmentStatus::Pending,
        })
    }

    /// Where this machine's request stands; once approved, opens the delivery bundle
    /// and keeps the certificate.
    pub async fn enrolment_status(&self, id: i64) -> Result<EnrolmentTicket, UiError> {
        let local = {
            let settings = self.settings_guard()?;
            settings
                .devices
                .iter()
                .find(|d| d.enrolment == Some(id))
                .cloned()
                .ok_or_else(|| {
                    UiError::new(Own::EnrolmentUnknown, "this machine made no such request")
                })?
        };
        let record = on_bank!(&self.bank, s => s.store().enrolment(id).await)?
            .ok_or_else(|| UiError::new(Own::EnrolmentUnknown, "no such request"))?;
        // The device shows the code it computed itself, and refuses a stored request
        // whose bytes no longer give that code (a swapped CSR or delivery key).
        let stored = pqbank_service::short_code(&record.csr_der, &record.kem_recipient);
        if local.code.as_ref().is_some_and(|c| *c != stored) {
            tracing::error!(
                request = id,
                code = "enrolment.tampered",
                "the stored enrolment request is not the one this device made"
            );
            return Err(UiError::new(
                Own::EnrolmentTampered,
                "the stored request is not the one this device made: tell security",
            ));
        }
        let qr_svg = pqbank_service::enrolment_qr_svg(
            id,
            &stored,
            &Fingerprint::from_bytes(record.csr_fingerprint),
        )?;
        let ticket = |status| EnrolmentTicket {
            id,
            code: stored.clone(),
            qr_svg: qr_svg.clone(),
            status,
        };
        match record.status.as_str() {
            "pending" => Ok(ticket(EnrolmentStatus::Pending)),
            "approved" => {
                let keys = self.keys.clone();
                let item = local.keyring.clone();
                let secrets = blocking(move || Ok(keys.load(&item)?)).await?;
                let id_bytes = hex::decode(&local.id)
                    .map_err(|_| UiError::new(Own::SettingsCorrupt, "a device id is not hex"))?;
                let device = Device::new(
                    &id_bytes,
                    CompositeSigningKey::from_seed(&secrets.signing_seed),
                );
                let recipient = recipient_of(&secrets);
                let cert =
                    on_bank!(&self.bank, s => s.collect_enrolment(id, &device, &recipient).await)?;
                let mut settings = self.settings_guard()?;
                for d in &mut settings.devices {
                    if d.enrolment == Some(id) {
                        d.certificate = cert.fingerprint().to_hex();
                        d.enrolment = None;
                    }
                }
                settings.save(&self.settings_path)?;
                Ok(ticket(EnrolmentStatus::Approved))
            }
            "rejected" => Ok(ticket(EnrolmentStatus::Rejected)),
            other => Err(UiError::new(
                Own::Internal,
                format!("a stored enrolment status is unknown: {other}"),
            )),
        }
    }

    /// Verifies the whole log; `progress` hears (done, total).
    pub async fn verify_log(
        &self,
        progress: &(dyn Fn(usize, usize) + Sync),
    ) -> Result<VerifyView, UiError> {
        let (token, device, _) = self.session().await?;
        // Only an auditor's screen offers this; the service's gate is the audit.verify
        // checkpoint below, taken first so every verification is on the auditor's chain.
        self.checked(on_bank!(&self.bank, s => s.checkpoint(&token, &device).await))
            .await?;
        let report = on_bank!(&self.bank, s => s.verify_log(progress).await)?;
        Ok(VerifyView {
            transfers: u32::try_from(report.transfers).unwrap_or(u32::MAX),
            events: u32::try_from(report.events).unwrap_or(u32::MAX),
            problems: report
                .problems
                .into_iter()
                .map(|p| ProblemView {
                    table: p.table.to_owned(),
                    row: p.row,
                    reason: p.reason,
                })
                .collect(),
            verified_at: now(),
        })
    }

    /// A certificate's chain as a timeline (the read is logged on the auditor's chain).
    pub async fn chain(&self, certificate: String) -> Result<Vec<EventView>, UiError> {
        let (token, device, _) = self.session().await?;
        let subject = fingerprint(&certificate)?;
        let events = self
            .checked(on_bank!(&self.bank, s => s.chain(&token, &device, subject).await))
            .await?;
        Ok(events
            .iter()
            .map(|e| EventView {
                id: e.id,
                seq: i64::try_from(e.event.seq).unwrap_or(i64::MAX),
                kind: e.event.kind.clone(),
                created_at: e.event.created_at,
                hash: hex::encode(e.hash),
                prev_hash: hex::encode(e.event.prev_hash),
                payload: printable(&e.event.payload),
            })
            .collect())
    }

    /// The inclusion proof of an event against a fresh checkpoint, verified here.
    pub async fn inclusion_proof(
        &self,
        event_id: i64,
        event_hash: String,
    ) -> Result<ProofView, UiError> {
        let (token, device, _) = self.session().await?;
        let checkpoint = self
            .checked(on_bank!(&self.bank, s => s.checkpoint(&token, &device).await))
            .await?;
        let size = u64::try_from(checkpoint.tree_size).unwrap_or(0);
        let proof = on_bank!(&self.bank, s => s.inclusion_proof(event_id, size).await)?;
        let mut hash = [0; 32];
        hex::decode_to_slice(&event_hash, &mut hash)
            .map_err(|_| UiError::new(Own::InputHash, "not an event hash"))?;
        // The leaf is recomputed from the event hash the timeline shows, never taken
        // from the proof, and the root is the signed checkpoint's.
        let leaf = pqbank_audit::merkle::leaf_hash(&hash);
        let verified = pqbank_audit::merkle::verify_inclusion(
            &leaf,
            proof.index,
            proof.tree_size,
            &proof.path,
            &checkpoint.root,
        )
        .is_ok();
        Ok(ProofView {
            index: u32::try_from(proof.index).unwrap_or(u32::MAX),
            tree_size: u32::try_from(proof.tree_size).unwrap_or(u32::MAX),
            root: hex::encode(checkpoint.root),
            path: proof.path.iter().map(hex::encode).collect(),
            verified,
        })
    }

    /// The signed accountability report of a certificate, written as JSON (with its
    /// signature beside it) or PDF into the reports folder.
    pub async fn export_report(
        &self,
        certificate: String,
        format: ReportFormat,
    ) -> Result<ReportFile, UiError> {
        let (token, device, _) = self.session().await?;
        let subject = fingerprint(&certificate)?;
        let signed = self
            .checked(
                on_bank!(&self.bank, s => s.accountability_report(&token, &device, subject).await),
            )
            .await?;
        std::fs::create_dir_all(&self.reports_dir)
            .map_err(|e| UiError::io(&self.reports_dir, &e))?;
        let stem = format!("report-{}-{}", &subject.to_hex()[..16], now());
        let (path, bytes) = match format {
            ReportFormat::Pdf => (
                self.reports_dir.join(format!("{stem}.pdf")),
                pqbank_service::report_pdf(&signed),
            ),
            ReportFormat::Json => {
                let sig = serde_json::json!({
                    "signer": signed.signer.to_hex(),
                    "context": "pqbank/act/v1",
                    "signature": hex::encode(&signed.signature),
                });
                let sig_path = self.reports_dir.join(format!("{stem}.json.sig"));
                let sig_bytes = serde_json::to_vec_pretty(&sig).map_err(|e| {
                    UiError::internal("the signature file could not be encoded", &e)
                })?;
                std::fs::write(&sig_path, sig_bytes).map_err(|e| UiError::io(&sig_path, &e))?;
                (
                    self.reports_dir.join(format!("{stem}.json")),
                    signed.json.clone(),
                )
            }
        };
        std::fs::write(&path, &bytes).map_err(|e| UiError::io(&path, &e))?;
        let sha256 = hex::encode(Sha256::digest(&bytes));
        tracing::info!(path = %path.display(), sha256 = sha256.as_str(), "report written");
        Ok(ReportFile {
            path: path.display().to_string(),
            sha256,
            bytes: u32::try_from(bytes.len()).unwrap_or(u32::MAX),
        })
    }

    /// Events per day and role, for the auditor's chart.
    pub async fn activity(&self) -> Result<Vec<ActivityPoint>, UiError> {
        let (token, device, _) = self.session().await?;
        let events = self
            .checked(on_bank!(&self.bank, s => s.activity(&token, &device).await))
            .await?;
        let roles: BTreeMap<[u8; 32], Role> = on_bank!(&self.bank, s => pqbank_db::views::ViewStore::all_certificates(s.store()).await)?
            .into_iter()
            .map(|c| Ok((c.fingerprint, stored_role(&c.role)?)))
            .collect::<Result<_, UiError>>()?;
        let mut counts: BTreeMap<(String, Option<Role>), u32> = BTreeMap::new();
        for e in events {
            let role = roles.get(&e.certificate).copied();
            *counts.entry((day(e.created_at), role)).or_default() += 1;
        }
        Ok(counts
            .into_iter()
            .map(|((day, role), events)| ActivityPoint { day, role, events })
            .collect())
    }
}

/// A transfer form's kind (a customer-facing one), currency and amount.
fn parse_form(form: &TransferForm) -> Result<(TransferKind, Currency, Amount), UiError> {
    let kind = form.kind;
    let currency: Currency = form
        .currency
        .parse()
        .map_err(|_| UiError::new(Own::InputCurrency, "unknown currency"))?;
    let amount = Amount::from_minor(form.amount_minor, currency)
        .map_err(|e| UiError::new(Own::InputAmount, e.to_string()))?;
    Ok((kind, currency, amount))
}

/// The device's sealed-delivery key from its secrets.
fn recipient_of(secrets: &pqbank_keystore::DeviceSecrets) -> pqbank_pki::bundle::RecipientSecret {
    pqbank_pki::bundle::RecipientSecret::from_seeds(
        pqbank_pki::bundle::Suite::MlKem512X25519,
        &secrets.kem_seed,
        &secrets.x25519,
    )
}
