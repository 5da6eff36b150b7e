//! Chain validation: a valid root -> manager -> teller chain passes, and for every
//! reason a chain can fail, one test builds that bad case and checks the exact error.

mod common;

use std::collections::BTreeMap;

use common::{Pki, TELLER_ACTION, TELLER_DEVICE, builder, key, now, staff_claims};
use pqbank_pki::cert::Issuer;
use pqbank_pki::chain::{ChainInput, validate};
use pqbank_pki::crl::CrlBuilder;
use pqbank_pki::{Action, Certificate, Crl, Error, Fingerprint, Role, StaffClaims};
use time::{Duration, OffsetDateTime};

/// A validation of `leaf` under the fixture's manager and root, with every layer on.
struct Case<'a> {
    leaf: &'a Certificate,
    intermediates: Vec<Certificate>,
    root: &'a Certificate,
    pinned: Fingerprint,
    at: OffsetDateTime,
    crls: Vec<Crl>,
    pins: BTreeMap<Fingerprint, u64>,
    require_crl: bool,
    action: Option<Action>,
    device: &'a [u8],
}

impl<'a> Case<'a> {
    fn new(pki: &'a Pki, leaf: &'a Certificate) -> Self {
        Self {
            leaf,
            intermediates: vec![pki.manager.clone()],
            root: &pki.root,
            pinned: pki.root.fingerprint(),
            at: now(),
            crls: vec![pki.manager_crl(1, &[], 0), pki.root_crl(1)],
            pins: BTreeMap::new(),
            require_crl: true,
            action: Some(TELLER_ACTION),
            device: TELLER_DEVICE,
        }
    }

    fn run(&self) -> Result<pqbank_pki::ValidChain, Error> {
        validate(&ChainInput {
            leaf: self.leaf,
            intermediates: &self.intermediates,
            root: self.root,
            pinned_root: self.pinned,
            at: self.at,
            crls: &self.crls,
            crl_pins: &self.pins,
            require_crl: self.require_crl,
            require_staff: true,
            action: self.action,
            device_id: Some(self.device),
        })
    }
}

/// Signs a teller-like certificate under the fixture's manager after `edit`.
fn teller_with(pki: &Pki, edit: impl FnOnce(&mut pqbank_pki::CertificateBuilder)) -> Certificate {
    let mut b = builder("Teller Two", &key(4), 4);
    b.claims = staff_claims(Role::Teller, &pki.manager, TELLER_DEVICE);
    edit(&mut b);
    b.sign(
        Issuer::Ca {
            certificate: &pki.manager,
            key: &pki.manager_key,
        },
        &[0; 32],
    )
    .unwrap_or_else(|e| panic!("{e}"))
}

fn err(result: Result<pqbank_pki::ValidChain, Error>) -> Error {
    match result {
        Ok(_) => panic!("chain unexpectedly valid"),
        Err(e) => e,
    }
}

/// Proves the well-formed chain passes every layer and reports the CRL number to pin.
#[test]
fn valid_chain_passes() {
    let pki = Pki::new();
    let valid = Case::new(&pki, &pki.teller)
        .run()
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(valid.is_staff);
    assert_eq!(valid.path.len(), 3);
    assert_eq!(valid.crl_numbers.get(&pki.manager.fingerprint()), Some(&1));
}

/// Proves a root other than the pinned one is refused.
#[test]
fn root_not_pinned() {
    let pki = Pki::new();
    let mut case = Case::new(&pki, &pki.teller);
    case.pinned = Fingerprint::of(b"another root");
    assert_eq!(err(case.run()), Error::RootNotPinned);
}

/// Proves one changed byte in the leaf's signature is found.
#[test]
fn chain_signature() {
    let pki = Pki::new();
    let mut der = pki.teller.der().to_vec();
    let last = der.len() - 1;
    der[last] ^= 1;
    let forged = Certificate::from_der(&der).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        err(Case::new(&pki, &forged).run()),
        Error::ChainSignature { depth: 0 }
    );
}

/// Proves a link whose issuer name is not the next certificate's subject is refused.
#[test]
fn issuer_name_mismatch() {
    let pki = Pki::new();
    let mut case = Case::new(&pki, &pki.teller);
    case.intermediates.clear();
    assert_eq!(err(case.run()), Error::IssuerNameMismatch { depth: 0 });
}

/// Proves a same-named issuer with another key is caught by AKI/SKI.
#[test]
fn key_id_mismatch() {
    let pki = Pki::new();
    let mut b = builder("Manager One", &key(9), 9);
    b.ca_path_len = Some(0);
    b.claims = staff_claims(Role::Manager, &pki.root, b"impostor");
    let impostor = b
        .sign(
            Issuer::Ca {
                certificate: &pki.root,
                key: &pki.root_key,
            },
            &[0; 32],
        )
        .unwrap_or_else(|e| panic!("{e}"));
    let mut case = Case::new(&pki, &pki.teller);
    case.intermediates = vec![impostor];
    case.crls.clear();
    case.require_crl = false;
    assert_eq!(err(case.run()), Error::KeyIdMismatch { depth: 0 });
}

/// Proves a certificate used before its notBefore is refused.
#[test]
fn not_yet_valid() {
    let pki = Pki::new();
    let leaf = teller_with(&pki, |b| b.not_before = now() + Duration::days(1));
    assert_eq!(
        err(Case::new(&pki, &leaf).run()),
        Error::NotYetValid { depth: 0 }
    );
}

/// Proves a certificate used after its notAfter is refused.
#[test]
fn expired() {
    let pki = Pki::new();
    let leaf = teller_with(&pki, |b| b.not_after = now() - Duration::seconds(1));
    assert_eq!(
        err(Case::new(&pki, &leaf).run()),
        Error::Expired { depth: 0 }
    );
}

/// Proves a certificate issued by a non-CA is refused.
#[test]
fn not_ca() {
    let pki = Pki::new();
    let mut b = builder("Manager One", &pki.manager_key, 2);
    b.claims = staff_claims(Role::Manager, &pki.root, b"manager-device-01");
    let not_ca = b
        .sign(
            Issuer::Ca {
                certificate: &pki.root,
                key: &pki.root_key,
            },
            &[0; 32],
        )
        .unwrap_or_else(|e| panic!("{e}"));
    let leaf = Pki::teller_under(&not_ca, &pki.manager_key);
    let mut case = Case::new(&pki, &leaf);
    case.intermediates = vec![not_ca];
    assert_eq!(err(case.run()), Error::NotCa { depth: 1 });
}

/// Proves a root with path length 0 cannot have a CA below it that issues.
#[test]
fn path_len_exceeded() {
    let pki = Pki::new();
    let mut b = builder("pqbank test root", &pki.root_key, 1);
    b.ca_path_len = Some(0);
    b.claims = pki.root.claims().clone();
    let root0 = b
        .sign(Issuer::SelfSigned(&pki.root_key), &[0; 32])
        .unwrap_or_else(|e| panic!("{e}"));
    let mut b = builder("Manager One", &pki.manager_key, 2);
    b.ca_path_len = Some(0);
    b.claims = staff_claims(Role::Manager, &root0, b"manager-device-01");
    let manager = b
        .sign(
            Issuer::Ca {
                certificate: &root0,
                key: &pki.root_key,
            },
            &[0; 32],
        )
        .unwrap_or_else(|e| panic!("{e}"));
    let leaf = Pki::teller_under(&manager, &pki.manager_key);
    let mut case = Case::new(&pki, &leaf);
    case.root = &root0;
    case.pinned = root0.fingerprint();
    case.crls.clear();
    case.require_crl = false;
    case.intermediates = vec![manager];
    assert_eq!(err(case.run()), Error::PathLenExceeded { depth: 2 });
}

/// Proves a CA certificate whose purpose lacks `cert.issue` cannot issue.
#[test]
fn issuer_not_authorised() {
    let pki = Pki::new();
    let mut b = builder("Manager One", &pki.manager_key, 2);
    b.ca_path_len = Some(0);
    b.claims = staff_claims(Role::Manager, &pki.root, b"manager-device-01");
    b.claims.actions = vec![Action::TransferApprove];
    let manager = b
        .sign(
            Issuer::Ca {
                certificate: &pki.root,
                key: &pki.root_key,
            },
            &[0; 32],
        )
        .unwrap_or_else(|e| panic!("{e}"));
    let leaf = Pki::teller_under(&manager, &pki.manager_key);
    let mut case = Case::new(&pki, &leaf);
    case.intermediates = vec![manager];
    assert_eq!(err(case.run()), Error::IssuerNotAuthorised { depth: 1 });
}

/// Proves purpose locking: a teller certificate cannot authorise an approval.
#[test]
fn action_not_allowed() {
    let pki = Pki::new();
    let mut case = Case::new(&pki, &pki.teller);
    case.action = Some(Action::TransferApprove);
    assert_eq!(
        err(case.run()),
        Error::ActionNotAllowed {
            action: "transfer.approve".into()
        }
    );
}

/// Proves a certificate listing an action its role does not permit is refused.
#[test]
fn role_not_allowed() {
    let pki = Pki::new();
    let leaf = teller_with(&pki, |b| b.claims.actions.push(Action::CertIssue));
    assert_eq!(
        err(Case::new(&pki, &leaf).run()),
        Error::RoleNotAllowed {
            role: "teller".into(),
            action: "cert.issue".into()
        }
    );
}

/// Proves a leaf without the staff claims is refused where staff is required.
#[test]
fn not_staff_certificate() {
    let pki = Pki::new();
    let leaf = teller_with(&pki, |b| b.claims = StaffClaims::default());
    let mut case = Case::new(&pki, &leaf);
    case.action = None;
    assert_eq!(err(case.run()), Error::NotStaffCertificate);
}

/// Proves a revoked leaf is refused with its reason.
#[test]
fn revoked() {
    let pki = Pki::new();
    let mut case = Case::new(&pki, &pki.teller);
    case.crls = vec![pki.manager_crl(2, &[&pki.teller], 10), pki.root_crl(1)];
    assert_eq!(
        err(case.run()),
        Error::Revoked {
            depth: 0,
            reason: "keyCompromise".into()
        }
    );
}

/// Proves an older CRL than the pinned number is refused as a rollback.
#[test]
fn crl_rollback() {
    let pki = Pki::new();
    let mut case = Case::new(&pki, &pki.teller);
    case.crls = vec![pki.manager_crl(4, &[], 0), pki.root_crl(1)];
    case.pins.insert(pki.manager.fingerprint(), 5);
    assert_eq!(
        err(case.run()),
        Error::CrlRollback {
            found: 4,
            pinned: 5
        }
    );
}

/// Proves a CRL carrying the manager's name but signed by another key is refused.
#[test]
fn crl_signature() {
    let pki = Pki::new();
    let impostor_key = key(9);
    let mut b = builder("Manager One", &impostor_key, 9);
    b.ca_path_len = Some(0);
    let impostor = b
        .sign(
            Issuer::Ca {
                certificate: &pki.root,
                key: &pki.root_key,
            },
            &[0; 32],
        )
        .unwrap_or_else(|e| panic!("{e}"));
    let forged = CrlBuilder {
        number: 9,
        this_update: now() - Duration::days(1),
        next_update: now() + Duration::days(1),
        entries: vec![],
    }
    .sign(&impostor, &impostor_key, &[0; 32])
    .unwrap_or_else(|e| panic!("{e}"));
    let mut case = Case::new(&pki, &pki.teller);
    case.crls = vec![forged, pki.root_crl(1)];
    assert_eq!(err(case.run()), Error::CrlSignature);
}

/// Proves a CRL past its nextUpdate is refused.
#[test]
fn crl_stale() {
    let pki = Pki::new();
    let stale = CrlBuilder {
        number: 3,
        this_update: now() - Duration::days(10),
        next_update: now() - Duration::days(1),
        entries: vec![],
    }
    .sign(&pki.manager, &pki.manager_key, &[0; 32])
    .unwrap_or_else(|e| panic!("{e}"));
    let mut case = Case::new(&pki, &pki.teller);
    case.crls = vec![stale, pki.root_crl(1)];
    assert_eq!(err(case.run()), Error::CrlStale);
}

/// Proves withholding the CRL does not un-revoke: with a number pinned for the issuer, a
/// CRL is required even when the caller did not ask for one.
#[test]
fn pinned_issuer_without_crl() {
    let pki = Pki::new();
    let mut case = Case::new(&pki, &pki.teller);
    case.require_crl = false;
    case.crls = vec![pki.root_crl(1)];
    case.pins.insert(pki.manager.fingerprint(), 2);
    assert_eq!(err(case.run()), Error::CrlMissing { depth: 0 });
}

/// Proves a missing CRL is refused where one is required.
#[test]
fn crl_missing() {
    let pki = Pki::new();
    let mut case = Case::new(&pki, &pki.teller);
    case.crls.clear();
    assert_eq!(err(case.run()), Error::CrlMissing { depth: 0 });
}

/// Proves a lineage naming another issuer than the signer is refused.
#[test]
fn lineage_mismatch() {
    let pki = Pki::new();
    let leaf = teller_with(&pki, |b| {
        if let Some(lineage) = b.claims.lineage.as_mut() {
            lineage.issuer = pki.root.fingerprint();
        }
    });
    assert_eq!(
        err(Case::new(&pki, &leaf).run()),
        Error::LineageMismatch { depth: 0 }
    );
}

/// Proves device binding: the certificate is refused on another device.
#[test]
fn device_mismatch() {
    let pki = Pki::new();
    let mut case = Case::new(&pki, &pki.teller);
    case.device = b"someone-elses-laptop";
    assert_eq!(err(case.run()), Error::DeviceMismatch);
}

/// Proves the validator stops at its depth limit.
#[test]
fn chain_too_long() {
    let pki = Pki::new();
    let mut case = Case::new(&pki, &pki.teller);
    case.intermediates = vec![
        pki.manager.clone(),
        pki.manager.clone(),
        pki.manager.clone(),
    ];
    assert_eq!(err(case.run()), Error::ChainTooLong);
}

/// Proves the draft's self-signed composite certificate validates as its own pinned
/// root, reported as not a pqbank staff certificate rather than as an error.
#[test]
fn foreign_composite_root_is_valid_but_not_staff() {
    let file = common::load_json("composite-sigs/testvectors.json");
    let x5c = file["tests"]
        .as_array()
        .and_then(|t| t.iter().find(|t| t["tcId"] == "id-MLDSA65-Ed25519-SHA512"))
        .and_then(|t| t["x5c"].as_str())
        .unwrap_or_else(|| panic!("x5c missing"));
    use base64::Engine;
    let der = base64::engine::general_purpose::STANDARD
        .decode(x5c)
        .unwrap_or_default();
    let cert = Certificate::from_der(&der).unwrap_or_else(|e| panic!("{e}"));
    let at = cert.not_before() + Duration::days(1);
    let valid = validate(&ChainInput {
        leaf: &cert,
        intermediates: &[],
        root: &cert,
        pinned_root: cert.fingerprint(),
        at,
        crls: &[],
        crl_pins: &BTreeMap::new(),
        require_crl: false,
        require_staff: false,
        action: None,
        device_id: None,
    })
    .unwrap_or_else(|e| panic!("{e}"));
    assert!(!valid.is_staff);
}
