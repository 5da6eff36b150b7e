//! The bodies of the fuzz targets, shared by `cargo fuzz` (fuzz_targets/) and by the
//! corpus replay test that runs in CI (tests/tests/fuzz_corpus.rs). Each takes
//! arbitrary outside bytes; the only property checked is that nothing panics and that
//! whatever parses also survives re-use.

#![allow(
    dead_code,
    reason = "each fuzz target binary uses one of these functions"
)]

use pqbank_pki::bundle::{self, RecipientPublic, RecipientSecret, Suite};
use pqbank_pki::composite::{CompositeSignature, CompositeVerifyingKey};
use pqbank_pki::server::{TlsCertificate, VouchingBundle};
use pqbank_pki::transcript::{SignedTranscript, Transcript};
use pqbank_pki::{Certificate, CertificateRequest, Crl, StaffClaims, TlsKeyHash};

/// A target's body.
pub type Target = fn(&[u8]);

/// Every target, by the name of its corpus folder.
pub const TARGETS: &[(&str, Target)] = &[
    ("certificate", certificate),
    ("csr", csr),
    ("crl", crl),
    ("bundle", bundle_open),
    ("recipient", recipient),
    ("transcript", transcript),
    ("composite_signature", composite_signature),
    ("composite_key", composite_key),
    ("extension", extension),
    ("pem", pem),
    ("amount", amount),
    ("request", request),
    ("vouching_bundle", vouching_bundle),
    ("demo_staff", demo_staff),
    ("verified_log", verified_log),
];

/// An X.509 certificate; a parsed one is also checked against itself.
pub fn certificate(data: &[u8]) {
    if let Ok(cert) = Certificate::from_der(data) {
        let _ = cert.verify_signed_by(&cert);
        let _ = cert.claims().is_staff();
        // The server profile and staff never mix, whatever the input.
        assert!(cert.tls_key_hash().is_none() || !cert.claims().is_staff());
    }
}

/// A PKCS#10 request (parsing verifies its signature).
pub fn csr(data: &[u8]) {
    let _ = CertificateRequest::from_der(data);
}

/// An X.509 CRL.
pub fn crl(data: &[u8]) {
    if let Ok(crl) = Crl::from_der(data) {
        let _ = crl.entries();
    }
}

/// A sealed bundle, opened with a fixed recipient of each suite.
pub fn bundle_open(data: &[u8]) {
    for suite in [Suite::MlKem512X25519, Suite::MlKem768X25519] {
        let secret = RecipientSecret::from_seeds(suite, &[1; 64], &[2; 32]);
        let _ = bundle::open(&secret, "fuzz", data);
    }
}

/// A recipient public key.
pub fn recipient(data: &[u8]) {
    if let Ok(public) = RecipientPublic::from_bytes(data) {
        let _ = public.fingerprint();
    }
}

/// A signed login transcript and the transcript inside it.
pub fn transcript(data: &[u8]) {
    let _ = Transcript::from_bytes(data);
    if let Ok(signed) = SignedTranscript::from_bytes(data) {
        let _ = Transcript::from_bytes(&signed.transcript);
        let key = pqbank_pki::CompositeSigningKey::from_seed(&[3; 64]);
        let _ = signed.verify(
            key.verifying_key(),
            &pqbank_pki::transcript::Expected {
                nonce: &[0; 32],
                certificate: pqbank_pki::Fingerprint::from_bytes([0; 32]),
                device_id: b"",
                origin: None,
                issued_at: time::OffsetDateTime::UNIX_EPOCH,
                expires_at: time::OffsetDateTime::UNIX_EPOCH,
                now: time::OffsetDateTime::UNIX_EPOCH,
            },
        );
    }
}

/// A composite signature verified under a fixed key.
pub fn composite_signature(data: &[u8]) {
    let key = pqbank_pki::CompositeSigningKey::from_seed(&[4; 64]);
    let _ = CompositeSignature::from_bytes(data);
    let _ = key.verifying_key().verify(b"fuzz", b"", data);
}

/// A composite public key, used to verify a fixed signature.
pub fn composite_key(data: &[u8]) {
    if let Ok(key) = CompositeVerifyingKey::from_bytes(data) {
        let _ = key.verify(b"fuzz", b"", &[0u8; pqbank_pki::composite::SIGNATURE_LEN]);
    }
}

/// The value of each pqbank extension: the first byte picks which one (8 and 9 are the
/// server profile's TLS key hash and vouching bundle).
pub fn extension(data: &[u8]) {
    let Some((&which, value)) = data.split_first() else {
        return;
    };
    match which % 10 {
        8 => {
            let _ = TlsKeyHash::from_extension_value(value);
        }
        9 => {
            let _ = VouchingBundle::from_der(value);
        }
        n => {
            let mut claims = StaffClaims::default();
            let _ = claims.absorb(&pqbank_pki::ext::arc_oid(n), value);
        }
    }
}

/// PEM armour of each label pqbank reads.
pub fn pem(data: &[u8]) {
    for label in ["CERTIFICATE", "CERTIFICATE REQUEST", "X509 CRL"] {
        let _ = pqbank_pki::pem::decode(label, data);
    }
}

/// An amount typed at the counter, in every currency pqbank knows an exponent of; what
/// parses prints back to the same value.
pub fn amount(data: &[u8]) {
    let Ok(text) = core::str::from_utf8(data) else {
        return;
    };
    for code in ["EUR", "JPY", "BHD"] {
        let Ok(currency) = code.parse::<pqbank_ledger::Currency>() else {
            continue;
        };
        if let Ok(a) = pqbank_ledger::Amount::parse(text, currency) {
            assert_eq!(
                pqbank_ledger::Amount::parse(&a.to_string(), currency),
                Ok(a)
            );
        }
    }
}

/// A request as the service receives it: the first byte gives the header's length, then
/// come the header, a signature of the composite size where there are enough bytes, and
/// the body; whatever decodes re-encodes to the same header bytes.
pub fn request(data: &[u8]) {
    let Some((&len, data)) = data.split_first() else {
        return;
    };
    let (header, rest) = data.split_at(usize::from(len).min(data.len()));
    let sig_len = pqbank_api::SIGNATURE_LEN.min(rest.len());
    let (signature, body) = rest.split_at(sig_len);
    for &route in pqbank_api::Route::ALL {
        if let Ok(request) = pqbank_api::decode(route, header, signature, body) {
            assert_eq!(request.header().to_bytes().as_deref(), Some(header));
        }
    }
    if let Ok(h) = pqbank_api::RequestHeader::from_bytes(data) {
        assert_eq!(h.to_bytes().as_deref(), Some(data));
    }
}

/// A server's TLS certificate as a client reads it, and a bare vouching bundle; what
/// parses also re-encodes to the same bytes.
pub fn vouching_bundle(data: &[u8]) {
    if let Ok(tls) = TlsCertificate::from_der(data) {
        let _ = tls.key_hash();
        if let Some(bundle) = tls.bundle() {
            let _ = bundle.server.tls_key_hash();
        }
    }
    if let Ok(bundle) = VouchingBundle::from_der(data) {
        assert_eq!(bundle.to_der().ok().as_deref(), Some(data));
    }
}

/// A demo staff file (`pqbank branch-demo`); what parses writes back and parses the same.
pub fn demo_staff(data: &[u8]) {
    if let Ok(staff) = pqbank_api::DemoStaff::from_json(data) {
        let again = serde_json::to_vec(&staff).expect("a parsed staff file serialises");
        assert_eq!(pqbank_api::DemoStaff::from_json(&again).ok(), Some(staff));
    }
}

/// A verifier's state file: one that reads back is written and read again unchanged.
pub fn verified_log(data: &[u8]) {
    use pqbank_audit::verified::VerifiedLog;
    if let Ok(state) = VerifiedLog::from_json(data) {
        assert!(state.frontier().is_some());
        assert_eq!(VerifiedLog::from_json(&state.to_json()), Ok(state));
    }
}
