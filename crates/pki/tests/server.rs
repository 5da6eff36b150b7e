//! The server profile: a certificate by the root that vouches for a TLS key validates
//! with `validate_server`, every reason it can fail has its error, the vouching bundle
//! and the TLS certificate round-trip, and a server certificate never passes as staff.

mod common;

use std::collections::BTreeMap;

use common::{Pki, TELLER_ACTION, builder, now, server_builder, staff_claims};
use pqbank_pki::cert::Issuer;
use pqbank_pki::chain::{ChainInput, ServerInput, validate, validate_server};
use pqbank_pki::server::{TlsAlgorithm, TlsCertificate, TlsCertificateBuilder, VouchingBundle};
use pqbank_pki::{Certificate, Crl, Error, Role, TlsKeyHash};
use time::{Duration, OffsetDateTime};

fn tls_key() -> TlsKeyHash {
    TlsKeyHash::of_spki(b"a TLS SubjectPublicKeyInfo")
}

fn run(pki: &Pki, server: &Certificate, crl: &Crl, at: OffsetDateTime) -> Result<(), Error> {
    validate_server(&ServerInput {
        server,
        root: &pki.root,
        pinned_root: pki.root.fingerprint(),
        at,
        crl,
        crl_pin: None,
    })
    .map(|_| ())
}

/// Proves a server certificate under the pinned root, on time and not revoked, passes
/// and reports the vouched hash and the CRL number to pin.
#[test]
fn valid_server_passes() {
    let pki = Pki::new();
    let server = pki.server(&tls_key());
    let valid = validate_server(&ServerInput {
        server: &server,
        root: &pki.root,
        pinned_root: pki.root.fingerprint(),
        at: now(),
        crl: &pki.root_crl(4),
        crl_pin: Some(3),
    })
    .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(valid.tls_key_hash, tls_key());
    assert_eq!(valid.crl_number, 4);
    assert_eq!(valid.fingerprint, server.fingerprint());
    assert!(!server.claims().is_staff());
}

/// Proves each refusal: another root, revoked, expired, not yet valid, a CRL older than
/// the pin, the CRL of another issuer, and certificates that are not of the profile.
#[test]
fn server_refusals() {
    let pki = Pki::new();
    let server = pki.server(&tls_key());
    let crl = pki.root_crl(1);
    let other = common::other_root(7);
    let mut input = ServerInput {
        server: &server,
        root: &other,
        pinned_root: pki.root.fingerprint(),
        at: now(),
        crl: &crl,
        crl_pin: None,
    };
    assert_eq!(validate_server(&input).err(), Some(Error::RootNotPinned));
    input.root = &pki.root;
    input.crl_pin = Some(2);
    assert!(matches!(
        validate_server(&input),
        Err(Error::CrlRollback { .. })
    ));
    let revoked = pki.root_crl_revoking(2, &[&server]);
    assert!(matches!(
        run(&pki, &server, &revoked, now()),
        Err(Error::Revoked { depth: 0, .. })
    ));
    let mut short = server_builder(&pki, 13);
    short.not_before = now() - Duration::days(2);
    short.not_after = now() - Duration::days(1);
    let root_issuer = Issuer::Ca {
        certificate: &pki.root,
        key: &pki.root_key,
    };
    let expired = short
        .sign_server(root_issuer, &tls_key(), &[0; 32])
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        run(&pki, &expired, &crl, now()),
        Err(Error::Expired { depth: 0 })
    );
    short.not_before = now() + Duration::days(1);
    short.not_after = now() + Duration::days(2);
    let early = short
        .sign_server(root_issuer, &tls_key(), &[0; 32])
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        run(&pki, &early, &crl, now()),
        Err(Error::NotYetValid { depth: 0 })
    );
    let manager_crl = pki.manager_crl(1, &[], 0);
    assert_eq!(
        run(&pki, &server, &manager_crl, now()),
        Err(Error::CrlMissing { depth: 0 })
    );
    // The manager is issued by the root too, but vouches for no TLS key.
    assert_eq!(
        run(&pki, &pki.manager, &crl, now()),
        Err(Error::NotServerCertificate)
    );
    assert_eq!(
        run(&pki, &pki.root, &crl, now()),
        Err(Error::NotServerCertificate)
    );
}

/// Proves a server certificate can never act or sign in as staff: the builder refuses
/// staff claims or a CA beside the TLS key hash, and the validation the service runs at
/// sign-in and on every call (`require_staff`, an action) refuses the certificate.
#[test]
fn server_is_never_staff() {
    let pki = Pki::new();
    let root_issuer = Issuer::Ca {
        certificate: &pki.root,
        key: &pki.root_key,
    };
    let mut staffish = server_builder(&pki, 10);
    staffish.claims = staff_claims(Role::Manager, &pki.root, b"server-device");
    assert!(matches!(
        staffish.sign_server(root_issuer, &tls_key(), &[0; 32]),
        Err(Error::InvalidRequest(_))
    ));
    let mut ca = server_builder(&pki, 11);
    ca.ca_path_len = Some(0);
    assert!(ca.sign_server(root_issuer, &tls_key(), &[0; 32]).is_err());
    let self_signed = builder("pqbank-server", &common::key(9), 12);
    assert!(
        self_signed
            .sign_server(Issuer::SelfSigned(&common::key(9)), &tls_key(), &[0; 32])
            .is_err()
    );

    let server = pki.server(&tls_key());
    let crls = [pki.root_crl(1)];
    let pins = BTreeMap::new();
    let staff_check = |action| {
        validate(&ChainInput {
            leaf: &server,
            intermediates: &[],
            root: &pki.root,
            pinned_root: pki.root.fingerprint(),
            at: now(),
            crls: &crls,
            crl_pins: &pins,
            require_crl: true,
            require_staff: true,
            action,
            device_id: Some(b"server-device"),
        })
        .err()
    };
    assert_eq!(staff_check(None), Some(Error::NotStaffCertificate));
    assert_eq!(
        staff_check(Some(TELLER_ACTION)),
        Some(Error::NotStaffCertificate)
    );
    for role in [Role::Root, Role::Manager, Role::Teller, Role::Auditor] {
        for action in role.actions() {
            assert!(staff_check(Some(*action)).is_some(), "{action} allowed");
        }
    }
}

/// Proves the bundle and the TLS certificate round-trip, and the TLS certificate gives
/// the key hash of its own SubjectPublicKeyInfo.
#[test]
fn bundle_and_tls_certificate_round_trip() {
    let pki = Pki::new();
    let spki = &common::ED25519_SPKI;
    let bundle = VouchingBundle {
        server: pki.server(&TlsKeyHash::of_spki(spki)),
        root: pki.root.clone(),
        crl: pki.root_crl(1),
    };
    let der = bundle.to_der().unwrap_or_else(|e| panic!("{e}"));
    let back = VouchingBundle::from_der(&der).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(back.server.der(), bundle.server.der());
    assert_eq!(back.root.der(), bundle.root.der());
    assert_eq!(back.crl.der(), bundle.crl.der());
    let mut trailing = der.clone();
    trailing.push(0);
    assert!(VouchingBundle::from_der(&trailing).is_err());

    let tls = TlsCertificateBuilder {
        spki_der: spki,
        algorithm: TlsAlgorithm::Ed25519,
        not_before: now(),
        not_after: now() + Duration::days(1),
        bundle: &bundle,
    };
    let tbs = tls.tbs().unwrap_or_else(|e| panic!("{e}"));
    let cert = tls
        .certificate(&tbs, &[0; 64])
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(cert.spki_der(), spki);
    assert_eq!(cert.key_hash(), TlsKeyHash::of_spki(spki));
    let carried = cert.bundle().map(|b| b.server.fingerprint());
    assert_eq!(carried, Some(bundle.server.fingerprint()));
    assert!(TlsCertificate::from_der(&[cert.der(), &[0]].concat()).is_err());
}
