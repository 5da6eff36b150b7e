//! A demo bank for training, benchmarks and tests: a root, two managers, three tellers
//! and an auditor with their devices, customers with accounts, open drawers, and signed
//! transfers made through the service like any other. Keys are derived from a seed so a
//! demo can be rebuilt; a real installation never uses this.

use pqbank_db::master::Maker;
use pqbank_db::{DeviceRecord, NewAccount, NewCustomer, NewStaff, Store};
use pqbank_ledger::{AccountKind, Amount, Currency, TransferKind, TransferRequest};
use pqbank_pki::bundle::{RecipientSecret, Suite};
use pqbank_pki::cert::Issuer;
use pqbank_pki::crl::CrlBuilder;
use pqbank_pki::ext::{DEFENCE_VERSION, device_id_hash};
use pqbank_pki::{
    Certificate, CertificateBuilder, CompositeSigningKey, DistinguishedName, Layer, Lineage, Role,
    StaffClaims, TlsKeyHash,
};
use sha3::{Digest, Sha3_512};

use crate::service::at;
use crate::{Config, Device, ServerKey, Service, ServiceError};

/// Customers' names for the demo, combined into 50 and more.
const FIRST: &[&str] = &[
    "Ada", "Ben", "Cleo", "Dev", "Eva", "Finn", "Gaia", "Hugo", "Iris", "Jon",
];
const LAST: &[&str] = &["Archer", "Baker", "Carter", "Dalton", "Ellis"];
/// The organisation in every certificate's subject.
const BANK: &str = "pqbank";
/// Opening float of every demo drawer, in cents.
const FLOAT_MINOR: i64 = 2_000_000;

/// A demo staff member with the device that holds their key.
pub struct DemoPerson {
    /// Staff id.
    pub staff_id: i64,
    /// Name.
    pub name: String,
    /// Role.
    pub role: Role,
    /// Certificate.
    pub cert: Certificate,
    /// Device.
    pub device: Device,
    /// The device's delivery key (ML-KEM-512 + X25519): a server seals session secrets
    /// to it.
    pub recipient: RecipientSecret,
}

/// What the demo made.
pub struct DemoBank {
    /// The root certificate (its fingerprint is the installation's pin).
    pub root: Certificate,
    /// Managers (CA certificates).
    pub managers: Vec<DemoPerson>,
    /// Tellers.
    pub tellers: Vec<DemoPerson>,
    /// The auditor.
    pub auditor: DemoPerson,
    /// One open cash drawer per teller.
    pub drawers: Vec<i64>,
    /// Customer accounts.
    pub accounts: Vec<i64>,
}

/// A demo bank's staff as a branch workstation adopts them (`pqbank branch-demo`).
#[must_use]
pub fn staff(bank: &DemoBank) -> pqbank_api::DemoStaff {
    pqbank_api::DemoStaff {
        root: bank.root.fingerprint().to_hex(),
        people: bank
            .managers
            .iter()
            .chain(&bank.tellers)
            .chain([&bank.auditor])
            .map(|p| pqbank_api::DemoStaffMember {
                name: p.name.clone(),
                role: p.role,
                certificate: p.cert.fingerprint().to_hex(),
                device_id: hex::encode(&p.device.id),
                signing_seed: hex::encode(p.device.key().seed()),
                kem_seed: hex::encode(p.recipient.kem_seed()),
                x25519: hex::encode(p.recipient.x25519_secret()),
            })
            .collect(),
    }
}

fn seed_for(seed: &[u8; 32], label: &str) -> [u8; 64] {
    Sha3_512::new()
        .chain_update(b"pqbank/demo/v1")
        .chain_update(seed)
        .chain_update(label)
        .finalize()
        .into()
}

/// A certificate of pqbank's profile for `role` (root: self-signed CA with path length
/// 1; manager: CA with path length 0; teller and auditor: end entities), valid from an
/// hour before `now` for a year.
pub fn certificate(
    name: &str,
    key: &CompositeSigningKey,
    role: Role,
    issuer: Option<(&Certificate, &CompositeSigningKey)>,
    device: &[u8],
    serial: [u8; 16],
    now: i64,
) -> Result<Certificate, ServiceError> {
    let staff = role != Role::Root;
    let builder = CertificateBuilder {
        serial,
        subject: DistinguishedName::new(BANK, name).to_der(),
        subject_key: key.verifying_key().clone(),
        not_before: at(now - 3_600),
        not_after: at(now + 365 * 86_400),
        ca_path_len: match role {
            Role::Root => Some(1),
            Role::Manager => Some(0),
            _ => None,
        },
        claims: StaffClaims {
            layers: Layer::ALL.to_vec(),
            role: Some(role),
            actions: role.actions().to_vec(),
            device_id_hash: staff.then(|| device_id_hash(device)),
            lineage: issuer.map(|(c, _)| Lineage {
                issuer: c.fingerprint(),
                replaces: None,
            }),
            defence_version: Some(DEFENCE_VERSION),
            staff_id: staff.then(|| name.to_lowercase().replace(' ', ".")),
        },
    };
    let issuer = match issuer {
        Some((certificate, key)) => Issuer::Ca { certificate, key },
        None => Issuer::SelfSigned(key),
    };
    builder
        .sign(issuer, &[0; 32])
        .map_err(ServiceError::Certificate)
}

/// Builds the demo bank in an empty, migrated store and returns the service over it;
/// `now` should be the system clock's (the service runs on it).
pub async fn build<S: Store>(
    store: S,
    seed: [u8; 32],
    customers: usize,
    transfers: usize,
    now: i64,
) -> Result<(Service<S>, DemoBank), ServiceError> {
    let root_key = CompositeSigningKey::from_seed(&seed_for(&seed, "root"));
    let root = certificate(
        "pqbank demo root",
        &root_key,
        Role::Root,
        None,
        b"",
        [1; 16],
        now,
    )?;
    let service = Service::new(store, Config::new(root.fingerprint()));
    service.store_root(&root).await?;
    publish_empty_crl(&service, &root, &root_key, now).await?;
    // The root makes the managers' staff records; the first manager everyone else's.
    let root_device = Device::new(
        b"demo-root",
        CompositeSigningKey::from_seed(&seed_for(&seed, "root")),
    );
    // The root signs the bank's four-eyes policy before anyone can post.
    service
        .sign_policy_as_root(&pqbank_ledger::Policy::default(), &root_device)
        .await?;

    let mut serial = 1u8;
    let mut person =
        |name: &str, role: Role, issuer: Option<(&Certificate, &CompositeSigningKey)>| {
            serial += 1;
            let key = CompositeSigningKey::from_seed(&seed_for(&seed, name));
            let device_id =
                format!("demo-device-{}", name.to_lowercase().replace(' ', "-")).into_bytes();
            let cert = certificate(name, &key, role, issuer, &device_id, [serial; 16], now)?;
            Ok::<_, ServiceError>((name.to_owned(), role, cert, Device::new(&device_id, key)))
        };
    let mut managers = Vec::new();
    for name in ["Maria Manager", "Marco Manager"] {
        let made = person(name, Role::Manager, Some((&root, &root_key)))?;
        managers.push(enrol(&service, &seed, made, (&root, &root_device), now).await?);
    }
    for m in &managers {
        publish_empty_crl(&service, &m.cert, m.device.key(), now).await?;
    }
    let first = &managers[0];
    let mut tellers = Vec::new();
    for name in ["Tom Teller", "Tara Teller", "Theo Teller"] {
        let made = person(name, Role::Teller, Some((&first.cert, first.device.key())))?;
        tellers.push(enrol(&service, &seed, made, (&first.cert, &first.device), now).await?);
    }
    let made = person(
        "Audrey Auditor",
        Role::Auditor,
        Some((&first.cert, first.device.key())),
    )?;
    let auditor = enrol(&service, &seed, made, (&first.cert, &first.device), now).await?;
    let (drawers, accounts) = accounts(&service, first, &tellers, customers, now).await?;
    let bank = DemoBank {
        root,
        managers,
        tellers,
        auditor,
        drawers,
        accounts,
    };
    post_transfers(&service, &bank, 0..transfers).await?;
    Ok((service, bank))
}

/// The demo's new hire, who has no certificate yet: the enrolment screen enrols a
/// device for them (staff number, name).
pub const NEW_HIRE: (&str, &str) = ("T-NEW", "Nia Novak");

/// Adds the new hire ([`NEW_HIRE`]) and a drawer nobody has opened yet to a demo bank,
/// both made by its first manager.
///
/// # Errors
/// The store's.
pub async fn add_new_hire<S: Store>(
    service: &Service<S>,
    bank: &DemoBank,
    now: i64,
) -> Result<(), ServiceError> {
    let manager =
        bank.managers
            .first()
            .ok_or(ServiceError::Store(pqbank_db::StoreError::NotFound(
                "manager",
            )))?;
    let sign = manager.device.event_signer();
    let maker = || Maker {
        certificate: *manager.cert.fingerprint().as_bytes(),
        sign: &sign,
    };
    service
        .store
        .create_staff(
            &NewStaff {
                number: NEW_HIRE.0.into(),
                display_name: NEW_HIRE.1.into(),
                role: "teller".into(),
            },
            now,
            Some(maker()),
        )
        .await?;
    service
        .store
        .create_account(
            &NewAccount {
                number: "DRAWER-NEW".into(),
                customer_id: None,
                kind: AccountKind::CashDrawer,
                currency: Currency::EUR,
                floor_minor: Some(0),
                label: "DRAWER-NEW".into(),
            },
            now,
            Some(maker()),
        )
        .await?;
    Ok(())
}

/// Issues and stores the demo bank's server certificate, vouching for the TLS key of
/// hash `tls_key`, with a key derived from the demo's seed: what `pqbank-server demo`
/// installs. Valid from an hour before `now` for a year.
pub async fn install_server<S: Store>(
    service: &Service<S>,
    root: &Certificate,
    seed: [u8; 32],
    tls_key: &TlsKeyHash,
    now: i64,
) -> Result<ServerKey, ServiceError> {
    let root_key = CompositeSigningKey::from_seed(&seed_for(&seed, "root"));
    let key = CompositeSigningKey::from_seed(&seed_for(&seed, "pqbank-server"));
    let certificate = CertificateBuilder {
        serial: [0x5e; 16],
        subject: DistinguishedName::new(BANK, "pqbank-server").to_der(),
        subject_key: key.verifying_key().clone(),
        not_before: at(now - 3_600),
        not_after: at(now + 365 * 86_400),
        ca_path_len: None,
        claims: StaffClaims {
            layers: vec![
                Layer::HybridSignature,
                Layer::Sha3Fingerprint,
                Layer::CrlPinning,
            ],
            lineage: Some(Lineage {
                issuer: root.fingerprint(),
                replaces: None,
            }),
            defence_version: Some(DEFENCE_VERSION),
            ..StaffClaims::default()
        },
    }
    .sign_server(
        Issuer::Ca {
            certificate: root,
            key: &root_key,
        },
        tls_key,
        &[0; 32],
    )
    .map_err(ServiceError::Certificate)?;
    let root_device = Device::new(b"demo-root", root_key);
    service.record_server(&certificate, &root_device).await?;
    ServerKey::new(certificate, key)
}

async fn publish_empty_crl<S: Store>(
    service: &Service<S>,
    issuer: &Certificate,
    key: &CompositeSigningKey,
    now: i64,
) -> Result<(), ServiceError> {
    let crl = CrlBuilder {
        number: 1,
        this_update: at(now - 60),
        next_update: at(now + 7 * 86_400),
        entries: vec![],
    }
    .sign(issuer, key, &[0; 32])
    .map_err(ServiceError::Certificate)?;
    service.store_crl(issuer.fingerprint(), &crl).await
}

async fn enrol<S: Store>(
    service: &Service<S>,
    seed: &[u8; 32],
    (name, role, cert, device): (String, Role, Certificate, Device),
    (by, by_device): (&Certificate, &Device),
    now: i64,
) -> Result<DemoPerson, ServiceError> {
    let kem = seed_for(seed, &format!("{name} delivery"));
    let mut x25519 = [0u8; 32];
    x25519.copy_from_slice(&seed_for(seed, &format!("{name} delivery x25519"))[..32]);
    let recipient = RecipientSecret::from_seeds(Suite::MlKem512X25519, &kem, &x25519);
    let staff = NewStaff {
        number: cert.claims().staff_id.clone().unwrap_or_default(),
        display_name: name.clone(),
        role: role.as_str().into(),
    };
    let sign = by_device.event_signer();
    let maker = Maker {
        certificate: *by.fingerprint().as_bytes(),
        sign: &sign,
    };
    let staff_id = service.store.create_staff(&staff, now, Some(maker)).await?;
    service
        .store_certificate(&cert, staff_id, by_device)
        .await?;
    service
        .store
        .insert_device(&DeviceRecord {
            device_id_hash: device_id_hash(&device.id),
            staff_id,
            label: format!("{name}'s demo device"),
            kem_recipient: recipient.public().to_bytes(),
            created_at: now,
        })
        .await?;
    Ok(DemoPerson {
        staff_id,
        name,
        role,
        cert,
        device,
        recipient,
    })
}

async fn accounts<S: Store>(
    service: &Service<S>,
    manager: &DemoPerson,
    tellers: &[DemoPerson],
    customers: usize,
    now: i64,
) -> Result<(Vec<i64>, Vec<i64>), ServiceError> {
    let store = &service.store;
    let sign = manager.device.event_signer();
    let maker = || {
        Some(Maker {
            certificate: *manager.cert.fingerprint().as_bytes(),
            sign: &sign,
        })
    };
    let account = |number: String, customer: Option<i64>, kind, floor| NewAccount {
        number: number.clone(),
        customer_id: customer,
        kind,
        currency: Currency::EUR,
        floor_minor: floor,
        label: number,
    };
    // The service finds a drawer's vault and variance account by these numbers.
    store
        .create_account(
            &account("VAULT-EUR".into(), None, AccountKind::BankInternal, None),
            now,
            maker(),
        )
        .await?;
    store
        .create_account(
            &account("VARIANCE-EUR".into(), None, AccountKind::BankInternal, None),
            now,
            maker(),
        )
        .await?;
    let mut drawers = Vec::new();
    for (i, t) in tellers.iter().enumerate() {
        let drawer = store
            .create_account(
                &account(
                    format!("DRAWER-{}", i + 1),
                    None,
                    AccountKind::CashDrawer,
                    Some(0),
                ),
                now,
                maker(),
            )
            .await?;
        open(service, t, drawer, now).await?;
        drawers.push(drawer);
    }
    let mut accounts = Vec::new();
    for c in 0..customers {
        let name = format!(
            "{} {}",
            FIRST[c % FIRST.len()],
            LAST[(c / FIRST.len()) % LAST.len()]
        );
        let customer = store
            .create_customer(
                &NewCustomer {
                    number: format!("C-{:05}", c + 1),
                    full_name: name,
                },
                now,
                maker(),
            )
            .await?;
        let overdraft = if c % 3 == 0 { Some(-50_000) } else { Some(0) };
        accounts.push(
            store
                .create_account(
                    &account(
                        format!("DE{:020}", c + 1),
                        Some(customer),
                        AccountKind::Customer,
                        overdraft,
                    ),
                    now,
                    maker(),
                )
                .await?,
        );
    }
    Ok((drawers, accounts))
}

async fn open<S: Store>(
    service: &Service<S>,
    teller: &DemoPerson,
    drawer: i64,
    now: i64,
) -> Result<(), ServiceError> {
    let session = login(service, teller).await?;
    // The service gives a teller without a drawer the first one nobody opened: the one
    // just made.
    service
        .open_drawer(
            &session,
            &teller.device,
            FLOAT_MINOR,
            &format!("demo-open-{drawer}-{now}"),
        )
        .await?;
    Ok(())
}

/// Demo transfers numbered `numbers` (the first one per customer account a deposit, the
/// rest transfers between customers), made by the tellers through the service; one
/// refused for want of funds is skipped. A bank built with `n` transfers takes more
/// from `n` on.
///
/// # Errors
/// The service's, but for insufficient funds.
pub async fn post_transfers<S: Store>(
    service: &Service<S>,
    bank: &DemoBank,
    numbers: std::ops::Range<usize>,
) -> Result<(), ServiceError> {
    let mut sessions = Vec::new();
    for t in &bank.tellers {
        sessions.push(crate::demo::login(service, t).await?);
    }
    let n = bank.accounts.len();
    for i in numbers {
        let t = i % bank.tellers.len();
        let teller = &bank.tellers[t];
        let (kind, debit, credit, minor) = if i < n {
            (
                TransferKind::Deposit,
                bank.drawers[t],
                bank.accounts[i],
                50_000 + (i as i64 % 7) * 10_000,
            )
        } else {
            (
                TransferKind::Transfer,
                bank.accounts[i % n],
                bank.accounts[(i * 7 + 3) % n],
                100 + (i as i64 % 13) * 250,
            )
        };
        if debit == credit {
            continue;
        }
        let request = TransferRequest {
            maker: teller.staff_id,
            idempotency_key: format!("demo-{i}"),
            kind,
            debit,
            credit,
            amount: Amount::from_minor(minor, Currency::EUR)
                .map_err(|e| ServiceError::Store(pqbank_db::StoreError::Ledger(e.into())))?,
            memo: format!("demo {kind}"),
            created_at: service.now(),
        };
        match service
            .post_transfer(&sessions[t], &teller.device, request)
            .await
        {
            Ok(_)
            | Err(ServiceError::Store(pqbank_db::StoreError::Ledger(
                pqbank_ledger::LedgerError::InsufficientFunds { .. },
            ))) => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

/// Logs a demo person in (challenge, signed transcript, checks, session).
pub async fn login<S: Store>(
    service: &Service<S>,
    who: &DemoPerson,
) -> Result<crate::SessionToken, ServiceError> {
    let fp = who.cert.fingerprint();
    let origin = "127.0.0.1 demo";
    let nonce = service.challenge(fp, &who.device.id, origin).await?;
    let signed = service.sign_transcript(&who.device, nonce, fp, origin)?;
    service.login(fp, &who.device, origin, &signed).await
}
