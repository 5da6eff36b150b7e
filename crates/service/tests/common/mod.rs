//! The test bank the service's tests share: a root, a manager who issued a teller and an
//! auditor, a drawer and a customer account, and the teller's drawer open.
#![allow(
    dead_code,
    reason = "each test binary uses the part of the bank it needs"
)]

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};

use pqbank_db::master::Maker;
use pqbank_db::{NewAccount, Store};
use pqbank_ledger::{AccountKind, Currency, Policy, TransferKind, TransferRequest};
use pqbank_pki::cert::Issuer;
use pqbank_pki::crl::CrlBuilder;
use pqbank_pki::ext::{DEFENCE_VERSION, device_id_hash};
use pqbank_pki::{
    Certificate, CertificateBuilder, CompositeSigningKey, DistinguishedName, Layer, Lineage, Role,
    StaffClaims,
};
use pqbank_service::{Config, Device, Service, ServiceError};
use pqbank_tests::{account_by, minor};
use time::OffsetDateTime;

pub const START: i64 = 1_800_000_000;

pub struct Person {
    pub staff_id: i64,
    pub cert: Certificate,
    pub device: Device,
}

pub fn t(unix: i64) -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp(unix).unwrap()
}

pub fn issue(
    name: &str,
    key: &CompositeSigningKey,
    role: Role,
    issuer: Option<(&Certificate, &CompositeSigningKey)>,
    device: &[u8],
    serial: u8,
) -> Certificate {
    let claims = StaffClaims {
        layers: Layer::ALL.to_vec(),
        role: Some(role),
        actions: role.actions().to_vec(),
        device_id_hash: (role != Role::Root).then(|| device_id_hash(device)),
        lineage: issuer.map(|(c, _)| Lineage {
            issuer: c.fingerprint(),
            replaces: None,
        }),
        defence_version: Some(DEFENCE_VERSION),
        staff_id: (role != Role::Root).then(|| format!("{role}-{serial}")),
    };
    let builder = CertificateBuilder {
        serial: [serial; 16],
        subject: DistinguishedName::new("pqbank test", name).to_der(),
        subject_key: key.verifying_key().clone(),
        not_before: t(START - 86_400),
        not_after: t(START + 365 * 86_400),
        ca_path_len: match role {
            Role::Root => Some(1),
            Role::Manager => Some(0),
            _ => None,
        },
        claims,
    };
    let issuer = match issuer {
        Some((certificate, key)) => Issuer::Ca { certificate, key },
        None => Issuer::SelfSigned(key),
    };
    builder.sign(issuer, &[0; 32]).unwrap()
}

pub struct Bank<S> {
    pub service: Service<S>,
    pub clock: Arc<AtomicI64>,
    pub manager: Person,
    pub teller: Person,
    pub auditor: Person,
    pub drawer: i64,
    pub customer: i64,
}

/// A new member of staff, without a certificate yet, whose record the manager makes.
pub async fn hire<S: Store>(b: &Bank<S>, number: &str) -> pqbank_tests::Staff {
    let sign = b.manager.device.event_signer();
    let maker = Maker {
        certificate: *b.manager.cert.fingerprint().as_bytes(),
        sign: &sign,
    };
    let now = b.clock.load(Ordering::SeqCst);
    pqbank_tests::staff_by(b.service.store(), number, "teller", 0, Some(maker), now).await
}

/// The root's key as a device: what signs at installation (offline in a real bank).
pub fn root_device() -> Device {
    Device::new(b"root", CompositeSigningKey::from_seed(&[1; 64]))
}

/// The test bank's four-eyes policy, signed by its root at [`START`].
pub const POLICY: Policy = Policy {
    approval_threshold_minor: 100_000,
    pending_ttl_secs: 3_600,
};

pub async fn bank<S: Store>(store: S) -> Bank<S> {
    let root_key = CompositeSigningKey::from_seed(&[1; 64]);
    let root = issue("Root", &root_key, Role::Root, None, b"", 1);
    let clock = Arc::new(AtomicI64::new(START));
    let c = clock.clone();
    let config = Config::new(root.fingerprint());
    let service =
        Service::new(store, config).with_clock(Arc::new(move || c.load(Ordering::SeqCst)));
    service.install_root(&root).await.unwrap();
    service.sign_policy(&POLICY, &root_device()).await.unwrap();
    let root_crl = CrlBuilder {
        number: 1,
        this_update: t(START - 60),
        next_update: t(START + 30 * 86_400),
        entries: vec![],
    }
    .sign(&root, &root_key, &[0; 32])
    .unwrap();
    service
        .publish_crl(root.fingerprint(), &root_crl)
        .await
        .unwrap();

    let person =
        |name: &str, role: Role, seed: u8, issuer: Option<(&Certificate, &CompositeSigningKey)>| {
            let key = CompositeSigningKey::from_seed(&[seed; 64]);
            let device_id = format!("device-{seed}").into_bytes();
            let cert = issue(name, &key, role, issuer, &device_id, seed);
            (cert, Device::new(&device_id, key))
        };
    let (mcert, mdev) = person("Mary Manager", Role::Manager, 2, Some((&root, &root_key)));
    let manager_key = CompositeSigningKey::from_seed(&[2; 64]);
    let (tcert, tdev) = person("Tom Teller", Role::Teller, 3, Some((&mcert, &manager_key)));
    let (acert, adev) = person(
        "Ann Auditor",
        Role::Auditor,
        4,
        Some((&mcert, &manager_key)),
    );
    let mut people = Vec::new();
    // The root makes the manager's staff record, the manager everyone else's.
    let root_device = Device::new(b"root", CompositeSigningKey::from_seed(&[1; 64]));
    let manager_device = Device::new(b"device-2", CompositeSigningKey::from_seed(&[2; 64]));
    let root_sign = root_device.event_signer();
    let manager_sign = manager_device.event_signer();
    let by_root = Maker {
        certificate: *root.fingerprint().as_bytes(),
        sign: &root_sign,
    };
    let by_manager = Maker {
        certificate: *mcert.fingerprint().as_bytes(),
        sign: &manager_sign,
    };
    for (cert, device, role, maker) in [
        (mcert, mdev, "manager", by_root),
        (tcert, tdev, "teller", by_manager),
        (acert, adev, "auditor", by_manager),
    ] {
        // The staff number is the one the certificate's signed StaffId claim names: log
        // verification finds the staff member by it.
        let number = cert.claims().staff_id.clone().unwrap();
        let staff =
            pqbank_tests::staff_by(service.store(), &number, role, 0, Some(maker), START).await;
        let issuer = if role == "manager" {
            &root_device
        } else {
            &manager_device
        };
        service
            .record_certificate(&cert, staff.id, issuer)
            .await
            .unwrap();
        people.push(Person {
            staff_id: staff.id,
            cert,
            device,
        });
    }
    let auditor = people.pop().unwrap();
    let teller = people.pop().unwrap();
    let manager = people.pop().unwrap();
    let mgr_crl = CrlBuilder {
        number: 1,
        this_update: t(START - 60),
        next_update: t(START + 7 * 86_400),
        entries: vec![],
    }
    .sign(&manager.cert, manager.device.key(), &[0; 32])
    .unwrap();
    service
        .publish_crl(manager.cert.fingerprint(), &mgr_crl)
        .await
        .unwrap();
    let store = service.store();
    let open = |number: &str, kind, floor| {
        let account = NewAccount {
            number: number.into(),
            customer_id: None,
            kind,
            currency: Currency::EUR,
            floor_minor: floor,
            label: number.into(),
        };
        async move { account_by(store, &account, Some(by_manager), START).await }
    };
    let drawer = open("DRAWER", AccountKind::CashDrawer, None).await;
    let customer = open("CUST", AccountKind::Customer, Some(0)).await;
    for number in ["VAULT-EUR", "VARIANCE-EUR"] {
        open(number, AccountKind::BankInternal, None).await;
    }
    let bank = Bank {
        service,
        clock,
        manager,
        teller,
        auditor,
        drawer,
        customer,
    };
    // Deposits go through the teller's own open drawer: the teller opens it (a float of
    // zero would be no transfer) at the start of every story.
    let token = login(&bank, &bank.teller).await.unwrap();
    bank.service
        .open_drawer(&token, &bank.teller.device, 1, "open-drawer")
        .await
        .unwrap();
    bank
}

pub async fn login<S: Store>(
    bank: &Bank<S>,
    who: &Person,
) -> Result<pqbank_service::SessionToken, ServiceError> {
    let fp = who.cert.fingerprint();
    let nonce = bank
        .service
        .challenge(fp, &who.device.id, "127.0.0.1 branch-1")
        .await?;
    let signed = bank
        .service
        .sign_transcript(&who.device, nonce, fp, "127.0.0.1 branch-1")?;
    bank.service
        .login(fp, &who.device, "127.0.0.1 branch-1", &signed)
        .await
}

/// The manager revokes the teller's certificate (key compromise) in `manager`'s
/// session; the number of the CRL that lists it.
pub async fn revoke_teller<S: Store>(
    bank: &Bank<S>,
    manager: &pqbank_service::SessionToken,
) -> Result<u64, ServiceError> {
    bank.service
        .revoke(
            manager,
            &bank.manager.device,
            bank.teller.cert.fingerprint(),
            pqbank_pki::RevocationReason::KeyCompromise,
        )
        .await
}

/// The transfers a story posted: every one but the drawer's opening float.
pub async fn posted<S: Store>(s: &Service<S>) -> Vec<pqbank_db::TransferRow> {
    let mut rows = s.store().transfers().await.unwrap();
    rows.retain(|t| t.request.kind != TransferKind::DrawerOpen);
    rows
}

pub fn deposit(b: &Bank<impl Sized>, key: &str, amount: i64) -> TransferRequest {
    TransferRequest {
        maker: b.teller.staff_id,
        idempotency_key: key.into(),
        kind: TransferKind::Deposit,
        debit: b.drawer,
        credit: b.customer,
        amount: minor(amount, Currency::EUR),
        memo: String::new(),
        created_at: b.clock.load(Ordering::SeqCst),
    }
}
