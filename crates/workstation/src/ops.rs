//! One method per screen action, each one call of the signed-in staff member's
//! [`pqbank_api::Bank`] (embedded or through pqbank-server, the same calls) and a mapping
//! of its wire answer to the screen's types.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use pqbank_api::wire;
use pqbank_api::{Bank as _, BankResult};
use pqbank_client::DeviceKey;
use pqbank_ledger::{Amount, Currency, TransferKind, TransferRequest, TransferStatus};
use pqbank_pki::crl::RevocationReason;
use pqbank_pki::{Certificate, Crl, Fingerprint, Layer, Role};
use sha2::{Digest, Sha256};

use crate::link::{Signed, client_error};
use crate::{
    AccountView, Active, ActivityPoint, AppState, CertificateState, CertificateView, CrlEntryView,
    CrlView, CustomerHit, DrawerClosed, DrawerView, EnrolmentStatus, EnrolmentTicket,
    EnrolmentView, EventView, Identity, LayerCheck, LocalDevice, LoginResult, ProblemView,
    ProofView, ReportFile, ReportFormat, ServiceErrorCode, SessionInfo, Settings, StaffView,
    TransferForm, TransferView, UiError, VarianceView, VerifyView, Workstation, blocking, random,
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

fn account_view(a: &wire::AccountView) -> AccountView {
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

/// An answer the bank sent that this workstation cannot read.
fn malformed(what: &str) -> UiError {
    UiError::new(Own::TransportAnswer, format!("the bank sent {what}"))
}

/// A role as the bank sends it (`Role::as_str` texts).
fn role_of(text: &str) -> Result<Role, UiError> {
    text.parse()
        .map_err(|_| malformed(&format!("an unknown role: {text}")))
}

/// A revocation reason as the bank sends it (`RevocationReason::as_str` texts).
fn reason_of(text: &str) -> Result<RevocationReason, UiError> {
    text.parse()
        .map_err(|_| malformed(&format!("an unknown revocation reason: {text}")))
}

fn der_of(text: &str) -> Result<Vec<u8>, UiError> {
    STANDARD
        .decode(text)
        .map_err(|_| malformed("DER that is not base64"))
}

fn fingerprint(hex: &str) -> Result<Fingerprint, UiError> {
    Fingerprint::from_hex(hex.trim())
        .map_err(|_| UiError::new(Own::InputFingerprint, "not a certificate fingerprint"))
}

/// The common name of a certificate's subject (`O=pqbank, CN=Nia Novak`).
fn common_name(cert: &Certificate) -> Option<String> {
    cert.subject_text()
        .split(", ")
        .find_map(|part| part.strip_prefix("CN="))
        .map(str::to_owned)
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

/// The names a list came with, by identifier.
fn names(list: &[wire::Named]) -> BTreeMap<i64, String> {
    list.iter().map(|n| (n.id, n.name.clone())).collect()
}

/// A signed-in staff member's bank, with what the screens keep of the session.
pub(crate) struct Call {
    pub(crate) bank: Arc<Signed>,
    info: SessionInfo,
    numbers: Arc<Mutex<BTreeMap<i64, String>>>,
}

impl Call {
    /// Remembers the numbers of accounts a screen showed (for receipts).
    fn remember<'a>(&self, accounts: impl IntoIterator<Item = &'a wire::AccountView>) {
        if let Ok(mut numbers) = self.numbers.lock() {
            for a in accounts {
                numbers.insert(a.id, a.number.clone());
            }
        }
    }

    /// The number of an account a screen showed, or its identifier.
    fn number(&self, id: i64) -> String {
        self.numbers
            .lock()
            .ok()
            .and_then(|n| n.get(&id).cloned())
            .unwrap_or_else(|| format!("#{id}"))
    }
}

impl Workstation {
    /// The device held here for a certificate, its keys loaded from the key store.
    async fn device_for(&self, d: &LocalDevice) -> Result<DeviceKey, UiError> {
        let keys = self.keys.clone();
        let item = d.keyring.clone();
        let secrets = blocking(move || Ok(keys.load(&item)?)).await?;
        let id = hex::decode(&d.id)
            .map_err(|_| UiError::new(Own::SettingsCorrupt, "a device id is not hex"))?;
        Ok(crate::device_key(id, &secrets))
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

    /// True if a device held here belongs to the bank this workstation works with.
    fn serves(&self, d: &LocalDevice) -> bool {
        d.database.as_deref().is_none_or(|u| u == self.location)
    }

    /// The signed-in user's bank.
    pub(crate) async fn session(&self) -> Result<Call, UiError> {
        let guard = self.active.lock().await;
        let active = guard
            .as_ref()
            .ok_or_else(|| UiError::new(ServiceErrorCode::SessionEnded, "nobody is signed in"))?;
        Ok(Call {
            bank: active.bank.clone(),
            info: active.info.clone(),
            numbers: active.numbers.clone(),
        })
    }

    /// Passes a bank's answer through, signing the user out here when the bank has
    /// ended their session or no longer accepts their certificate.
    pub(crate) async fn checked<T>(&self, r: BankResult<T>) -> Result<T, UiError> {
        match r {
            Ok(v) => Ok(v),
            Err(body) => {
                // Decided on the code's text, so a newer bank's certificate code (one this
                // build has no name for) still signs the user out.
                let ended = body.code == ServiceErrorCode::SessionEnded.as_str()
                    || body.code.starts_with("certificate.");
                let e = UiError::from(body);
                if ended && let Some(gone) = self.active.lock().await.take() {
                    tracing::info!(
                        certificate = gone.info.identity.certificate.as_str(),
                        code = e.code.as_str(),
                        "signed out here: the bank ended the session"
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
            backend: match self.link {
                crate::link::Link::Embedded(_) => "sqlite".into(),
                crate::link::Link::Server { .. } => "server".into(),
            },
            location: self.location.clone(),
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
        let bank = self.link.login(device, fp, &self.origin).await?;
        let info = SessionInfo {
            identity: identity(&local),
            staff_id: bank.staff_id(),
            since: now(),
        };
        let replaced = self.active.lock().await.replace(Active {
            bank: Arc::new(bank),
            info: info.clone(),
            numbers: Arc::default(),
        });
        if let Some(old) = replaced {
            end(&old).await;
        }
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

    /// Signs out: the session ends at the bank too (if the bank cannot be reached, it
    /// idles out there; nothing here keeps its secret).
    pub async fn logout(&self) {
        let gone = self.active.lock().await.take();
        if let Some(gone) = gone {
            end(&gone).await;
        }
    }

    /// Customers by name or number, with their accounts (the read is logged).
    pub async fn find_customers(&self, query: String) -> Result<Vec<CustomerHit>, UiError> {
        let call = self.session().await?;
        let found = self
            .checked(call.bank.find_customers(query.trim()).await)
            .await?;
        call.remember(found.customers.iter().flat_map(|c| &c.accounts));
        Ok(found
            .customers
            .into_iter()
            .map(|c| CustomerHit {
                id: c.id,
                number: c.number,
                name: c.full_name,
                accounts: c.accounts.iter().map(account_view).collect(),
            })
            .collect())
    }

    /// Posts a deposit, withdrawal or transfer signed by this device.
    pub async fn post_transfer(&self, form: TransferForm) -> Result<TransferView, UiError> {
        let call = self.session().await?;
        // The service refuses the internal kinds and cash through any drawer but the
        // teller's own open one, whatever the window sent.
        let (kind, currency, amount) = parse_form(&form)?;
        let created_at = self.first_submitted(&form.idempotency_key)?;
        let request = TransferRequest {
            maker: call.info.staff_id,
            idempotency_key: form.idempotency_key,
            kind,
            debit: form.debit,
            credit: form.credit,
            amount,
            memo: form.memo,
            created_at,
        };
        let outcome = self
            .checked(call.bank.post_transfer(request.clone()).await)
            .await?;
        Ok(TransferView {
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
            maker_name: call.info.identity.name.clone(),
            debit_number: call.number(request.debit),
            credit_number: call.number(request.credit),
            created_at: request.created_at,
            expires_at: outcome.expires_at,
            request_hash: String::new(),
            replayed: outcome.replayed,
        })
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
        let call = self.session().await?;
        let answer = self.checked(call.bank.pending_transfers().await).await?;
        let accounts = names(&answer.accounts);
        let staff = names(&answer.staff);
        let number = |id: i64| {
            accounts
                .get(&id)
                .cloned()
                .unwrap_or_else(|| format!("#{id}"))
        };
        Ok(answer
            .transfers
            .into_iter()
            .map(|t| {
                let r = t.transfer;
                TransferView {
                    id: t.id,
                    kind: r.kind,
                    status: TransferStatus::Pending,
                    debit: r.debit,
                    credit: r.credit,
                    amount_minor: r.amount.minor(),
                    currency: r.amount.currency().code().to_owned(),
                    exponent: r.amount.currency().exponent(),
                    maker_name: staff.get(&r.maker).cloned().unwrap_or_default(),
                    maker: r.maker,
                    debit_number: number(r.debit),
                    credit_number: number(r.credit),
                    memo: r.memo,
                    created_at: r.created_at,
                    expires_at: t.expires_at,
                    request_hash: t.request_hash,
                    replayed: false,
                }
            })
            .collect())
    }

    /// A manager approves (posts) or rejects (voids) a pending transfer.
    pub async fn resolve_transfer(
        &self,
        id: i64,
        request_hash: String,
        approve: bool,
    ) -> Result<TransferStatus, UiError> {
        let call = self.session().await?;
        // The hash is the one the manager reviewed on screen: if the row changed since,
        // the service refuses rather than approve something else.
        let mut hash = [0; 32];
        hex::decode_to_slice(request_hash.trim(), &mut hash)
            .map_err(|_| UiError::new(Own::InputHash, "not a transfer hash"))?;
        let answer = self
            .checked(
                call.bank
                    .resolve_transfer(id, &hex::encode(hash), approve)
                    .await,
            )
            .await?;
        Ok(answer.status)
    }

    /// The teller's drawer and the vault and variance accounts of its currency, as the
    /// service finds them.
    pub async fn drawer(&self) -> Result<DrawerView, UiError> {
        let call = self.session().await?;
        let state = self.checked(call.bank.drawer().await).await?;
        call.remember(
            [&state.drawer, &state.vault, &state.variance]
                .into_iter()
                .flatten(),
        );
        Ok(DrawerView {
            account: state.drawer.as_ref().map(account_view),
            open: state.open,
            vault: state.vault.as_ref().map(account_view),
            variance: state.variance.as_ref().map(account_view),
            last_counted_minor: state.last_counted_minor,
        })
    }

    /// Opens the teller's drawer with a counted float.
    pub async fn open_drawer(
        &self,
        counted_minor: i64,
        key: String,
    ) -> Result<DrawerView, UiError> {
        let call = self.session().await?;
        self.checked(call.bank.open_drawer(counted_minor, &key).await)
            .await?;
        self.drawer().await
    }

    /// Closes the teller's drawer with the counted cash; a variance goes to a manager.
    pub async fn close_drawer(
        &self,
        counted_minor: i64,
        key: String,
    ) -> Result<DrawerClosed, UiError> {
        let call = self.session().await?;
        let event = self
            .checked(call.bank.close_drawer(counted_minor, &key).await)
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
        let call = self.session().await?;
        let overview = self.checked(call.bank.staff().await).await?;
        let revoked: BTreeMap<&str, &wire::RevocationView> = overview
            .revocations
            .iter()
            .map(|r| (r.certificate.as_str(), r))
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
                        let r = revoked.get(c.fingerprint.as_str());
                        let parsed = Certificate::from_der(&der_of(&c.der)?)
                            .map_err(|_| malformed("a certificate that does not parse"))?;
                        if parsed.fingerprint().to_hex() != c.fingerprint {
                            return Err(malformed("a certificate under another fingerprint"));
                        }
                        Ok(CertificateView {
                            fingerprint: c.fingerprint.clone(),
                            serial: hex::encode(parsed.serial()),
                            role: role_of(&c.role)?,
                            issuer: c.issuer.clone(),
                            replaces: c.replaces.clone(),
                            not_before: c.not_before,
                            not_after: c.not_after,
                            state: if r.is_some() {
                                CertificateState::Revoked
                            } else if c.not_after < now {
                                CertificateState::Expired
                            } else {
                                CertificateState::Active
                            },
                            revoked_reason: r.map(|r| reason_of(&r.reason)).transpose()?,
                            revoked_at: r.map(|r| r.revoked_at),
                        })
                    })
                    .collect::<Result<Vec<_>, _>>()?;
                certificates.reverse();
                Ok(StaffView {
                    id: st.id,
                    number: st.number.clone(),
                    name: st.name.clone(),
                    role: role_of(&st.role)?,
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
        let call = self.session().await?;
        let target = fingerprint(&certificate)?;
        let answer = self.checked(call.bank.revoke(target, reason).await).await?;
        Ok(answer.crl_number)
    }

    /// A manager renews a certificate they issued; returns the new fingerprint.
    pub async fn renew(&self, certificate: String) -> Result<String, UiError> {
        let call = self.session().await?;
        let old = fingerprint(&certificate)?;
        let renewed = self.checked(call.bank.renew(old).await).await?;
        // The renewed certificate itself, not only its name, must be what came back.
        let cert = Certificate::from_der(&der_of(&renewed.certificate)?)
            .map_err(|_| malformed("a renewed certificate that does not parse"))?;
        if cert.fingerprint().to_hex() != renewed.fingerprint {
            return Err(malformed("a renewed certificate under another fingerprint"));
        }
        let new = renewed.fingerprint;
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
        let call = self.session().await?;
        let answer = self.checked(call.bank.variance_queue().await).await?;
        let staff = names(&answer.staff);
        Ok(answer
            .closes
            .iter()
            .map(|r| {
                let account = answer.drawers.iter().find(|a| a.id == r.drawer);
                let expected = r.expected_minor.unwrap_or(r.counted_minor);
                VarianceView {
                    event: r.id,
                    teller: r.teller,
                    teller_name: staff.get(&r.teller).cloned().unwrap_or_default(),
                    drawer_number: account.map_or_else(String::new, |a| a.number.clone()),
                    counted_minor: r.counted_minor,
                    expected_minor: expected,
                    variance_minor: r
                        .variance_minor
                        .unwrap_or_else(|| r.counted_minor.saturating_sub(expected)),
                    currency: account
                        .map_or_else(|| "EUR".into(), |a| a.currency.code().to_owned()),
                    exponent: account.map_or(2, |a| a.currency.exponent()),
                    created_at: r.created_at,
                }
            })
            .collect())
    }

    /// A manager signs off a drawer variance (never their own drawer's).
    pub async fn sign_off_variance(&self, event: i64) -> Result<(), UiError> {
        let call = self.session().await?;
        self.checked(call.bank.sign_off_variance(event).await).await
    }

    /// The newest CRL of every issuer, each checked here against its issuer's signature,
    /// with the names of the revoked certificates.
    pub async fn crls(&self) -> Result<Vec<CrlView>, UiError> {
        let call = self.session().await?;
        let answer = self.checked(call.bank.crls().await).await?;
        let overview = self.checked(call.bank.staff().await).await?;
        let name_of = |staff_id: Option<i64>| {
            staff_id.and_then(|id| {
                overview
                    .staff
                    .iter()
                    .find(|m| m.id == id)
                    .map(|m| m.name.clone())
            })
        };
        let mut certificates = Vec::new();
        for c in &overview.certificates {
            let parsed = Certificate::from_der(&der_of(&c.der)?)
                .map_err(|_| malformed("a certificate that does not parse"))?;
            certificates.push((c, parsed));
        }
        answer
            .crls
            .iter()
            .map(|view| {
                let crl = Crl::from_der(&der_of(&view.der)?)
                    .map_err(|_| malformed("a CRL that does not parse"))?;
                let (issuer_row, issuer) = certificates
                    .iter()
                    .find(|(c, _)| c.fingerprint == view.issuer)
                    .ok_or_else(|| malformed("a CRL of an issuer it does not list"))?;
                crl.verify_signed_by(issuer)
                    .map_err(|_| malformed("a CRL its issuer did not sign"))?;
                Ok(CrlView {
                    issuer: view.issuer.clone(),
                    issuer_name: name_of(issuer_row.staff_id).unwrap_or_else(|| "root".into()),
                    number: u32::try_from(crl.number()).unwrap_or(u32::MAX),
                    this_update: crl.this_update().unix_timestamp(),
                    next_update: crl.next_update().map(|t| t.unix_timestamp()),
                    entries: crl
                        .entries()
                        .into_iter()
                        .map(|e| CrlEntryView {
                            name: certificates
                                .iter()
                                .find(|(c, parsed)| {
                                    parsed.serial() == e.serial.as_slice()
                                        && c.issuer.as_deref() == Some(view.issuer.as_str())
                                })
                                .and_then(|(c, _)| name_of(c.staff_id)),
                            serial: hex::encode(&e.serial),
                            reason: e.reason,
                            revoked_at: e.revoked_at.unix_timestamp(),
                        })
                        .collect(),
                })
            })
            .collect()
    }

    /// Enrolment requests waiting for a manager.
    pub async fn enrolment_queue(&self) -> Result<Vec<EnrolmentView>, UiError> {
        let call = self.session().await?;
        let queue = self.checked(call.bank.enrolment_queue().await).await?;
        queue
            .requests
            .into_iter()
            .map(|r| {
                let csr = pqbank_pki::CertificateRequest::from_der(&der_of(&r.csr)?)
                    .map_err(|_| malformed("a request that does not parse"))?;
                Ok(EnrolmentView {
                    id: r.id,
                    staff_id: r.staff_id,
                    name: r.name,
                    role: role_of(&r.requested_role)?,
                    created_at: r.created_at,
                    request: csr.fingerprint().to_hex(),
                })
            })
            .collect()
    }

    /// A manager approves a request after typing the code the device shows.
    pub async fn approve_enrolment(&self, id: i64, code: String) -> Result<String, UiError> {
        let call = self.session().await?;
        let answer = self
            .checked(call.bank.approve_enrolment(id, &code).await)
            .await?;
        Ok(answer.certificate)
    }

    /// This machine asks to be enrolled for a member of staff: fresh keys into the key
    /// store, the request sent, its code and QR code returned for the manager.
    pub async fn request_enrolment(
        &self,
        staff_number: String,
        role: Role,
    ) -> Result<EnrolmentTicket, UiError> {
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
        let device = crate::device_key(device_id.to_vec(), &secrets);
        let requested = self
            .link
            .request_enrolment(&device, &staff_number, role)
            .await;
        let (id, code, csr) = match requested {
            Ok(r) => r,
            Err(e) => {
                // No request, no keys: the fresh keys leave the keyring again.
                let keys = self.keys.clone();
                let orphan = item.clone();
                let _cleaned = blocking(move || Ok(keys.delete(&orphan)?)).await;
                return Err(e);
            }
        };
        let qr_svg = pqbank_service::enrolment_qr_svg(id, &code, &csr)?;
        let mut settings = self.settings_guard()?;
        settings.devices.push(LocalDevice {
            keyring: item,
            id: hex::encode(device_id),
            certificate: String::new(),
            // The bank names the holder in the certificate; until then, the number.
            name: staff_number.trim().to_owned(),
            role,
            enrolment: Some(id),
            database: Some(self.location.clone()),
            code: Some(code.clone()),
            csr: Some(csr.to_hex()),
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
                .find(|d| d.enrolment == Some(id) && self.serves(d))
                .cloned()
                .ok_or_else(|| {
                    UiError::new(Own::EnrolmentUnknown, "this machine made no such request")
                })?
        };
        let device = self.device_for(&local).await?;
        let answer = self.link.enrolment_status(&device, id).await?;
        let code = local.code.clone().unwrap_or_default();
        let csr = local
            .csr
            .as_deref()
            .map(Fingerprint::from_hex)
            .transpose()
            .map_err(|_| UiError::new(Own::SettingsCorrupt, "a request's fingerprint is not hex"))?
            .unwrap_or_else(|| Fingerprint::from_bytes([0; 32]));
        let qr_svg = pqbank_service::enrolment_qr_svg(id, &code, &csr)?;
        let ticket = |status| EnrolmentTicket {
            id,
            code: code.clone(),
            qr_svg: qr_svg.clone(),
            status,
        };
        match answer.status.as_str() {
            "pending" => Ok(ticket(EnrolmentStatus::Pending)),
            "approved" => {
                let cert = pqbank_client::open_delivery(&device, &answer).map_err(client_error)?;
                let mut settings = self.settings_guard()?;
                for d in &mut settings.devices {
                    if d.enrolment == Some(id) && d.keyring == local.keyring {
                        d.certificate = cert.fingerprint().to_hex();
                        d.enrolment = None;
                        d.csr = None;
                        if let Some(name) = common_name(&cert) {
                            d.name = name;
                        }
                    }
                }
                settings.save(&self.settings_path)?;
                Ok(ticket(EnrolmentStatus::Approved))
            }
            "rejected" => Ok(ticket(EnrolmentStatus::Rejected)),
            other => Err(malformed(&format!("an unknown enrolment status: {other}"))),
        }
    }

    /// Verifies the whole log at the bank (an auditor's); `progress` hears the end
    /// (the bank answers once, when it is done).
    pub async fn verify_log(
        &self,
        progress: &(dyn Fn(usize, usize) + Sync),
    ) -> Result<VerifyView, UiError> {
        let call = self.session().await?;
        let report = self.checked(call.bank.verify_log().await).await?;
        let rows = usize::try_from(report.transfers.saturating_add(report.events)).unwrap_or(0);
        progress(rows, rows);
        Ok(VerifyView {
            transfers: u32::try_from(report.transfers).unwrap_or(u32::MAX),
            events: u32::try_from(report.events).unwrap_or(u32::MAX),
            problems: report
                .problems
                .into_iter()
                .map(|p| ProblemView {
                    table: p.table,
                    row: p.row,
                    reason: p.reason,
                })
                .collect(),
            verified_at: now(),
        })
    }

    /// A certificate's chain as a timeline (the read is logged on the auditor's chain).
    pub async fn chain(&self, certificate: String) -> Result<Vec<EventView>, UiError> {
        let call = self.session().await?;
        let subject = fingerprint(&certificate)?;
        let answer = self.checked(call.bank.chain(subject).await).await?;
        answer
            .events
            .into_iter()
            .map(|e| {
                let payload = STANDARD
                    .decode(&e.payload)
                    .map_err(|_| malformed("a payload that is not base64"))?;
                Ok(EventView {
                    id: e.id,
                    seq: i64::try_from(e.seq).unwrap_or(i64::MAX),
                    kind: e.kind,
                    created_at: e.created_at,
                    hash: e.hash,
                    prev_hash: e.prev_hash,
                    payload: printable(&payload),
                })
            })
            .collect()
    }

    /// The inclusion proof of an event against a fresh checkpoint, verified here.
    pub async fn inclusion_proof(
        &self,
        event_id: i64,
        event_hash: String,
    ) -> Result<ProofView, UiError> {
        let call = self.session().await?;
        let mut hash = [0; 32];
        hex::decode_to_slice(event_hash.trim(), &mut hash)
            .map_err(|_| UiError::new(Own::InputHash, "not an event hash"))?;
        let checkpoint = self.checked(call.bank.checkpoint().await).await?;
        let proof = self
            .checked(
                call.bank
                    .inclusion_proof(event_id, checkpoint.tree_size)
                    .await,
            )
            .await?;
        let digest = |text: &str| -> Result<[u8; 32], UiError> {
            let mut out = [0; 32];
            hex::decode_to_slice(text, &mut out)
                .map_err(|_| malformed("a hash that is not hex"))?;
            Ok(out)
        };
        let root = digest(&checkpoint.root)?;
        let path = proof
            .path
            .iter()
            .map(|p| digest(p))
            .collect::<Result<Vec<_>, _>>()?;
        // The leaf is recomputed from the event hash the timeline shows, never taken
        // from the proof, and the root is the signed checkpoint's.
        let leaf = pqbank_audit::merkle::leaf_hash(&hash);
        let verified = proof.tree_size == checkpoint.tree_size
            && pqbank_audit::merkle::verify_inclusion(
                &leaf,
                proof.index,
                proof.tree_size,
                &path,
                &root,
            )
            .is_ok();
        Ok(ProofView {
            index: u32::try_from(proof.index).unwrap_or(u32::MAX),
            tree_size: u32::try_from(proof.tree_size).unwrap_or(u32::MAX),
            root: checkpoint.root,
            path: proof.path,
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
        let call = self.session().await?;
        let subject = fingerprint(&certificate)?;
        let signed = self.checked(call.bank.report(subject).await).await?;
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
        let call = self.session().await?;
        let events = self.checked(call.bank.activity().await).await?;
        let overview = self.checked(call.bank.staff().await).await?;
        // Staff roles only: the server's and the root's certificates chart as no role.
        let roles: BTreeMap<&str, Role> = overview
            .certificates
            .iter()
            .filter_map(|c| Some((c.fingerprint.as_str(), c.role.parse().ok()?)))
            .collect();
        let mut counts: BTreeMap<(String, Option<Role>), u32> = BTreeMap::new();
        for e in events.events {
            let role = roles.get(e.certificate.as_str()).copied();
            *counts.entry((day(e.created_at), role)).or_default() += 1;
        }
        Ok(counts
            .into_iter()
            .map(|((day, role), events)| ActivityPoint { day, role, events })
            .collect())
    }
}

/// Ends a session at the bank; a bank that cannot be reached lets it idle out.
async fn end(gone: &Active) {
    if let Err(e) = gone.bank.logout().await {
        tracing::warn!(
            code = e.code.as_str(),
            "the bank did not end the session: {}",
            e.message
        );
    }
    tracing::info!(
        certificate = gone.info.identity.certificate.as_str(),
        staff_id = gone.info.staff_id,
        "signed out"
    );
}
