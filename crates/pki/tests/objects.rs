//! Certificates, CSRs and CRLs round-trip through DER and `x509-parser`; login
//! transcripts and sealed bundles fail cleanly on every kind of tampering.

mod common;

use common::{Pki, TELLER_DEVICE, key, now};
use pqbank_pki::bundle::{self, RecipientPublic, RecipientSecret, SealRandomness, Suite};
use pqbank_pki::crl::RevokedEntry;
use pqbank_pki::ext::device_id_hash;
use pqbank_pki::transcript::{Expected, SignedTranscript, Transcript};
use pqbank_pki::{
    CertificateRequest, Crl, CrlBuilder, CsrBuilder, DistinguishedName, Error, Fingerprint,
    RevocationReason, Role,
};
use time::Duration;

/// Proves issued certificates carry what was asked: CA flags, key identifiers, claims.
#[test]
fn certificate_fields_round_trip() {
    let pki = Pki::new();
    assert!(pki.root.is_ca() && pki.root.is_self_issued());
    assert_eq!(pki.root.path_len(), Some(1));
    assert!(pki.manager.is_ca());
    assert_eq!(pki.manager.path_len(), Some(0));
    assert!(!pki.teller.is_ca());
    assert_eq!(pki.teller.key_cert_sign(), Some(false));
    assert_eq!(pki.teller.authority_key_id(), pki.manager.subject_key_id());
    let claims = pki.teller.claims();
    assert!(claims.is_staff());
    assert_eq!(claims.role, Some(Role::Teller));
    assert_eq!(claims.device_id_hash, Some(device_id_hash(TELLER_DEVICE)));
    assert_eq!(
        claims.lineage.map(|l| l.issuer),
        Some(pki.manager.fingerprint())
    );
    assert_eq!(pki.teller.fingerprint(), Fingerprint::of(pki.teller.der()));
    // PEM round trip.
    let again = pqbank_pki::Certificate::from_pem_or_der(pki.teller.to_pem().as_bytes())
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(again.der(), pki.teller.der());
}

/// Proves trailing bytes and truncation are refused rather than ignored.
#[test]
fn certificate_rejects_trailing_and_truncated_bytes() {
    let pki = Pki::new();
    let mut der = pki.teller.der().to_vec();
    der.push(0);
    assert!(matches!(
        pqbank_pki::Certificate::from_der(&der),
        Err(Error::Malformed(_))
    ));
    let der = &pki.teller.der()[..pki.teller.der().len() - 10];
    assert!(pqbank_pki::Certificate::from_der(der).is_err());
}

/// Proves a CSR carries subject, key and device hash, and its signature is checked.
/// Proves a certificate and a CRL signed elsewhere over their to-be-signed bytes are the
/// ones signed here: same bytes, same signature checks; another key's signature is
/// assembled but does not verify.
#[test]
fn signed_elsewhere_is_signed_the_same() {
    let pki = Pki::new();
    let mut b = common::builder("Teller Two", &key(9), 9);
    b.claims = common::staff_claims(Role::Teller, &pki.manager, b"teller-device-02");
    let issuer = pqbank_pki::cert::Issuer::Ca {
        certificate: &pki.manager,
        key: &pki.manager_key,
    };
    let here = b.sign(issuer, &[5; 32]).unwrap_or_else(|e| panic!("{e}"));
    let tbs = b
        .tbs_issued_by(&pki.manager)
        .unwrap_or_else(|e| panic!("{e}"));
    let signature = pki
        .manager_key
        .sign(&tbs, &[], &[5; 32])
        .unwrap_or_else(|e| panic!("{e}"));
    let there = pqbank_pki::Certificate::assemble(&tbs, signature.as_bytes())
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(there.der(), here.der());
    assert_eq!(there.verify_signed_by(&pki.manager), Ok(()));
    let forged = pki
        .teller_key
        .sign(&tbs, &[], &[5; 32])
        .unwrap_or_else(|e| panic!("{e}"));
    let forged = pqbank_pki::Certificate::assemble(&tbs, forged.as_bytes())
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(forged.verify_signed_by(&pki.manager).is_err());

    let crl = CrlBuilder {
        number: 3,
        this_update: now(),
        next_update: now() + Duration::days(7),
        entries: vec![RevokedEntry {
            serial: pki.teller.serial().to_vec(),
            revoked_at: now(),
            reason: RevocationReason::Superseded,
        }],
    };
    let here = crl
        .sign(&pki.manager, &pki.manager_key, &[6; 32])
        .unwrap_or_else(|e| panic!("{e}"));
    let tbs = crl.tbs(&pki.manager).unwrap_or_else(|e| panic!("{e}"));
    let signature = pki
        .manager_key
        .sign(&tbs, &[], &[6; 32])
        .unwrap_or_else(|e| panic!("{e}"));
    let there = Crl::assemble(&tbs, signature.as_bytes()).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(there.der(), here.der());
    assert_eq!(there.verify_signed_by(&pki.manager), Ok(()));
    assert!(Crl::assemble(&tbs[1..], signature.as_bytes()).is_err());
}

#[test]
fn csr_round_trip_and_proof_of_possession() {
    let device_key = key(7);
    let csr = CsrBuilder {
        subject: DistinguishedName::new("pqbank test bank", "New Teller").to_der(),
        device_id_hash: Some(device_id_hash(b"dev-7")),
    }
    .sign(&device_key, &[5; 32])
    .unwrap_or_else(|e| panic!("{e}"));
    let parsed = CertificateRequest::from_pem_or_der(csr.to_pem().as_bytes())
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(parsed.public_key(), device_key.verifying_key());
    assert_eq!(parsed.device_id_hash(), Some(device_id_hash(b"dev-7")));
    assert!(parsed.subject_text().contains("New Teller"));
    let mut der = csr.der().to_vec();
    let last = der.len() - 1;
    der[last] ^= 1;
    assert_eq!(
        CertificateRequest::from_der(&der).err(),
        Some(Error::BadSignature)
    );
}

/// Proves a CRL keeps its number, entries and reasons, and verifies only under its issuer.
#[test]
fn crl_round_trip() {
    let pki = Pki::new();
    let crl = pki.manager_crl(7, &[&pki.teller], 3);
    let parsed = Crl::from_pem_or_der(crl.to_pem().as_bytes()).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(parsed.number(), 7);
    assert_eq!(parsed.len(), 4);
    assert_eq!(
        parsed.lookup(pki.teller.serial()).map(|(_, r)| r),
        Some(RevocationReason::KeyCompromise)
    );
    assert_eq!(parsed.lookup(pki.manager.serial()), None);
    assert_eq!(parsed.verify_signed_by(&pki.manager), Ok(()));
    assert!(parsed.verify_signed_by(&pki.root).is_err());
    let unspecified = CrlBuilder {
        number: 8,
        this_update: now(),
        next_update: now() + Duration::days(1),
        entries: vec![RevokedEntry {
            serial: vec![1, 2, 3],
            revoked_at: now(),
            reason: RevocationReason::Unspecified,
        }],
    }
    .sign(&pki.manager, &pki.manager_key, &[0; 32])
    .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        unspecified.lookup(&[1, 2, 3]).map(|(_, r)| r),
        Some(RevocationReason::Unspecified)
    );
}

fn transcript(nonce: [u8; 32], cert: Fingerprint) -> Transcript {
    Transcript {
        nonce,
        certificate: cert,
        device_id: TELLER_DEVICE.to_vec(),
        time: now().unix_timestamp() + 5,
        origin: "10.0.0.4 teller-04".into(),
    }
}

/// Proves the login transcript verifies once signed, and each wrong expectation fails
/// with its own error: nonce, time, certificate, device, origin and signature.
#[test]
fn login_transcript_errors() {
    let pki = Pki::new();
    let nonce = [9u8; 32];
    let fp = pki.teller.fingerprint();
    let signed = transcript(nonce, fp)
        .sign(&pki.teller_key, &[1; 32])
        .unwrap_or_else(|e| panic!("{e}"));
    let wire = SignedTranscript::from_bytes(&signed.to_bytes()).unwrap_or_else(|e| panic!("{e}"));
    let vk = pki.teller_key.verifying_key();
    let expected = Expected {
        nonce: &nonce,
        certificate: fp,
        device_id: TELLER_DEVICE,
        origin: Some("10.0.0.4 teller-04"),
        issued_at: now(),
        expires_at: now() + Duration::seconds(60),
        now: now() + Duration::seconds(6),
    };
    assert!(wire.verify(vk, &expected).is_ok());
    let other_nonce = [8u8; 32];
    let cases: Vec<(Expected<'_>, Error)> = vec![
        (
            Expected {
                nonce: &other_nonce,
                ..expected
            },
            Error::NonceMismatch,
        ),
        (
            Expected {
                now: now() + Duration::seconds(61),
                ..expected
            },
            Error::TranscriptExpired,
        ),
        (
            Expected {
                issued_at: now() + Duration::seconds(10),
                ..expected
            },
            Error::TranscriptExpired,
        ),
        (
            Expected {
                certificate: pki.manager.fingerprint(),
                ..expected
            },
            Error::CertificateMismatch,
        ),
        (
            Expected {
                device_id: b"other-device",
                ..expected
            },
            Error::TranscriptDeviceMismatch,
        ),
        (
            Expected {
                origin: Some("10.9.9.9 elsewhere"),
                ..expected
            },
            Error::OriginMismatch,
        ),
    ];
    for (exp, want) in cases {
        assert_eq!(wire.verify(vk, &exp).err(), Some(want));
    }
    // Another key, a changed byte and truncation.
    assert_eq!(
        wire.verify(pki.manager_key.verifying_key(), &expected)
            .err(),
        Some(Error::BadSignature)
    );
    let mut bytes = signed.to_bytes();
    bytes[10] ^= 1;
    let tampered = SignedTranscript::from_bytes(&bytes).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        tampered.verify(vk, &expected).err(),
        Some(Error::BadSignature)
    );
    assert!(SignedTranscript::from_bytes(&signed.to_bytes()[..100]).is_err());
}

fn recipient(suite: Suite, label: u8) -> RecipientSecret {
    RecipientSecret::from_seeds(suite, &[label; 64], &[label.wrapping_add(1); 32])
}

fn randomness() -> SealRandomness {
    SealRandomness {
        kem: [3; 32],
        x25519: [4; 32],
    }
}

/// Proves bundles open for their recipient with both suites, and that any changed byte,
/// a wrong recipient, a wrong purpose or truncation fails cleanly.
#[test]
fn sealed_bundles() {
    for suite in [Suite::MlKem512X25519, Suite::MlKem768X25519] {
        let secret = recipient(suite, 1);
        let public = RecipientPublic::from_bytes(&secret.public().to_bytes())
            .unwrap_or_else(|e| panic!("{e}"));
        let sealed = bundle::seal(
            &public,
            "certificate-delivery",
            b"the certificate",
            randomness(),
        )
        .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(sealed[8], suite.id(), "the format names its suite");
        let opened = bundle::open(&secret, "certificate-delivery", &sealed)
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(opened.as_slice(), b"the certificate");

        for pos in (8..sealed.len()).step_by(97).chain([sealed.len() - 1]) {
            let mut bad = sealed.clone();
            bad[pos] ^= 0x40;
            assert!(
                bundle::open(&secret, "certificate-delivery", &bad).is_err(),
                "byte {pos}"
            );
        }
        let wrong = recipient(suite, 2);
        assert_eq!(
            bundle::open(&wrong, "certificate-delivery", &sealed).err(),
            Some(Error::SealOpen)
        );
        assert_eq!(
            bundle::open(&secret, "session-bootstrap", &sealed).err(),
            Some(Error::SealOpen)
        );
        for len in [0, 5, 9, 100, sealed.len() - 1] {
            assert!(
                bundle::open(&secret, "certificate-delivery", &sealed[..len]).is_err(),
                "len {len}"
            );
        }
    }
    let other_suite = recipient(Suite::MlKem768X25519, 1);
    let sealed = bundle::seal(
        &recipient(Suite::MlKem512X25519, 1).public(),
        "p",
        b"x",
        randomness(),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        bundle::open(&other_suite, "p", &sealed).err(),
        Some(Error::UnsupportedAlgorithm)
    );
}

/// Proves a recipient key with an ML-KEM key that fails FIPS 203's modulus check is refused.
#[test]
fn recipient_key_checks() {
    let mut bytes = recipient(Suite::MlKem512X25519, 1).public().to_bytes();
    // Set the first 12-bit coefficient to 0xfff (> q = 3329).
    bytes[9] = 0xff;
    bytes[10] |= 0x0f;
    assert_eq!(
        RecipientPublic::from_bytes(&bytes).err(),
        Some(Error::InvalidKey)
    );
    assert!(RecipientPublic::from_bytes(&bytes[..50]).is_err());
}

/// Stretches the outer SEQUENCE's length to a non-minimal long form: still parseable by
/// lenient readers, signature still valid, but a different byte string.
fn non_minimal(der: &[u8]) -> Vec<u8> {
    assert_eq!(der[0], 0x30);
    let count = usize::from(der[1] & 0x7f);
    let mut out = vec![0x30, 0x80 | (count as u8 + 1), 0x00];
    out.extend_from_slice(&der[2..]);
    out
}

/// Proves a certificate, CRL or request whose outer encoding is not canonical DER is
/// refused, so one object has exactly one SHA3 fingerprint (layer 2).
#[test]
fn non_canonical_encodings_are_refused() {
    let pki = Pki::new();
    let cert = non_minimal(pki.teller.der());
    assert_eq!(
        pqbank_pki::Certificate::from_der(&cert).err(),
        Some(Error::Malformed("not in canonical DER"))
    );
    let crl = pki.manager_crl(3, &[], 0);
    assert_eq!(
        Crl::from_der(&non_minimal(crl.der())).err(),
        Some(Error::Malformed("not in canonical DER"))
    );
    let csr = CsrBuilder {
        subject: DistinguishedName::new("pqbank test bank", "Someone").to_der(),
        device_id_hash: None,
    }
    .sign(&key(8), &[0; 32])
    .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        CertificateRequest::from_der(&non_minimal(csr.der())).err(),
        Some(Error::Malformed("not in canonical DER"))
    );
}

/// Proves roles and revocation reasons serialise as their stable text (what the database
/// stores and the window shows), both ways, so the two spellings cannot drift apart.
#[test]
fn roles_and_reasons_serialise_as_their_text() {
    for role in Role::ALL {
        let json = serde_json::to_value(role).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(json, role.as_str(), "{role:?}");
        assert_eq!(
            serde_json::from_value::<Role>(json).unwrap_or_else(|e| panic!("{e}")),
            *role
        );
    }
    for reason in RevocationReason::ALL {
        let json = serde_json::to_value(reason).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(json, reason.as_str(), "{reason:?}");
        assert_eq!(
            serde_json::from_value::<RevocationReason>(json).unwrap_or_else(|e| panic!("{e}")),
            *reason
        );
    }
}

/// Proves every code of the PKI's errors has its own text.
#[test]
fn error_codes_are_distinct() {
    let texts: std::collections::BTreeSet<&str> = pqbank_pki::ErrorCode::ALL
        .iter()
        .map(|c| c.as_str())
        .collect();
    assert_eq!(texts.len(), pqbank_pki::ErrorCode::ALL.len());
}
