//! Helpers shared by the integration tests: the official vectors and test fixtures.
#![allow(dead_code, reason = "each test binary uses a different subset")]

use std::path::PathBuf;

/// The official vectors, copied into the crate (`tests/vectors/README.md` names their
/// sources and licences).
pub fn vectors_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/vectors")
}

/// Reads and parses one vector file; a missing file fails the test.
pub fn load_json(relative: &str) -> serde_json::Value {
    let path = vectors_dir().join(relative);
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("official vectors missing at {}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// A hex field of a test case.
pub fn hex_field(case: &serde_json::Value, name: &str) -> Vec<u8> {
    let text = case[name]
        .as_str()
        .unwrap_or_else(|| panic!("field {name} missing in {case}"));
    hex::decode(text).unwrap_or_else(|e| panic!("field {name}: {e}"))
}

/// A fixed-size hex field.
pub fn hex_array<const N: usize>(case: &serde_json::Value, name: &str) -> [u8; N] {
    hex_field(case, name)
        .try_into()
        .unwrap_or_else(|v: Vec<u8>| panic!("field {name} has {} bytes, not {N}", v.len()))
}

/// Number of test cases in every group of an ACVP file.
pub fn case_count(file: &serde_json::Value) -> usize {
    groups(file).iter().map(|g| tests(g).len()).sum()
}

/// The test groups of an ACVP file.
pub fn groups(file: &serde_json::Value) -> &Vec<serde_json::Value> {
    file["testGroups"]
        .as_array()
        .unwrap_or_else(|| panic!("no testGroups"))
}

/// The tests of a group.
pub fn tests(group: &serde_json::Value) -> &Vec<serde_json::Value> {
    group["tests"]
        .as_array()
        .unwrap_or_else(|| panic!("no tests"))
}

/// The expected-results test case matching `tg_id`/`tc_id`.
pub fn expected(results: &serde_json::Value, tg_id: u64, tc_id: u64) -> &serde_json::Value {
    groups(results)
        .iter()
        .find(|g| g["tgId"].as_u64() == Some(tg_id))
        .and_then(|g| tests(g).iter().find(|t| t["tcId"].as_u64() == Some(tc_id)))
        .unwrap_or_else(|| panic!("no expected result for tg {tg_id} tc {tc_id}"))
}

use pqbank_pki::cert::Issuer;
use pqbank_pki::crl::{CrlBuilder, RevokedEntry};
use pqbank_pki::ext::{DEFENCE_VERSION, device_id_hash};
use pqbank_pki::{
    Action, Certificate, CertificateBuilder, CompositeSigningKey, Crl, DistinguishedName, Layer,
    Lineage, RevocationReason, Role, StaffClaims,
};
use time::{Duration, OffsetDateTime};

/// The fixed "now" of the fixtures.
pub fn now() -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp(1_795_000_000).unwrap_or(OffsetDateTime::UNIX_EPOCH)
}

/// A deterministic key from a label.
pub fn key(label: u8) -> CompositeSigningKey {
    CompositeSigningKey::from_seed(&[label; 64])
}

/// Complete staff claims for `role`, issued by `issuer`.
pub fn staff_claims(role: Role, issuer: &Certificate, device: &[u8]) -> StaffClaims {
    StaffClaims {
        layers: Layer::ALL.to_vec(),
        role: Some(role),
        actions: role.actions().to_vec(),
        device_id_hash: Some(device_id_hash(device)),
        lineage: Some(Lineage {
            issuer: issuer.fingerprint(),
            replaces: None,
        }),
        defence_version: Some(DEFENCE_VERSION),
        staff_id: Some(format!("{role}-001")),
    }
}

/// A builder for a certificate valid for a year around [`now`].
pub fn builder(name: &str, key: &CompositeSigningKey, serial: u8) -> CertificateBuilder {
    CertificateBuilder {
        serial: [serial; 16],
        subject: DistinguishedName::new("pqbank test bank", name).to_der(),
        subject_key: key.verifying_key().clone(),
        not_before: now() - Duration::days(30),
        not_after: now() + Duration::days(335),
        ca_path_len: None,
        claims: StaffClaims::default(),
    }
}

/// Root, manager (CA, path length 0) and teller, with their keys.
pub struct Pki {
    pub root_key: CompositeSigningKey,
    pub root: Certificate,
    pub manager_key: CompositeSigningKey,
    pub manager: Certificate,
    pub teller_key: CompositeSigningKey,
    pub teller: Certificate,
}

pub const TELLER_DEVICE: &[u8] = b"teller-device-01";

impl Pki {
    pub fn new() -> Self {
        let root_key = key(1);
        let mut b = builder("pqbank test root", &root_key, 1);
        b.ca_path_len = Some(1);
        b.claims = StaffClaims {
            layers: Layer::ALL.to_vec(),
            role: Some(Role::Root),
            actions: Role::Root.actions().to_vec(),
            defence_version: Some(DEFENCE_VERSION),
            ..StaffClaims::default()
        };
        let root = b
            .sign(Issuer::SelfSigned(&root_key), &[0; 32])
            .unwrap_or_else(|e| panic!("root: {e}"));
        let manager_key = key(2);
        let mut b = builder("Manager One", &manager_key, 2);
        b.ca_path_len = Some(0);
        b.claims = staff_claims(Role::Manager, &root, b"manager-device-01");
        let manager = b
            .sign(
                Issuer::Ca {
                    certificate: &root,
                    key: &root_key,
                },
                &[0; 32],
            )
            .unwrap_or_else(|e| panic!("manager: {e}"));
        let teller_key = key(3);
        let mut b = builder("Teller One", &teller_key, 3);
        b.claims = staff_claims(Role::Teller, &manager, TELLER_DEVICE);
        let teller = b
            .sign(
                Issuer::Ca {
                    certificate: &manager,
                    key: &manager_key,
                },
                &[0; 32],
            )
            .unwrap_or_else(|e| panic!("teller: {e}"));
        Self {
            root_key,
            root,
            manager_key,
            manager,
            teller_key,
            teller,
        }
    }

    /// An empty CRL by the root with `number`.
    pub fn root_crl(&self, number: u64) -> Crl {
        CrlBuilder {
            number,
            this_update: now() - Duration::days(1),
            next_update: now() + Duration::days(30),
            entries: vec![],
        }
        .sign(&self.root, &self.root_key, &[0; 32])
        .unwrap_or_else(|e| panic!("root crl: {e}"))
    }

    /// A teller certificate issued by `manager`.
    pub fn teller_under(manager: &Certificate, manager_key: &CompositeSigningKey) -> Certificate {
        let mut b = builder("Teller One", &key(3), 3);
        b.claims = staff_claims(Role::Teller, manager, TELLER_DEVICE);
        b.sign(
            Issuer::Ca {
                certificate: manager,
                key: manager_key,
            },
            &[0; 32],
        )
        .unwrap_or_else(|e| panic!("teller: {e}"))
    }

    /// A CRL by the manager with `number`, revoking `revoked` and `filler` made-up serials.
    pub fn manager_crl(&self, number: u64, revoked: &[&Certificate], filler: usize) -> Crl {
        let mut entries: Vec<RevokedEntry> = revoked
            .iter()
            .map(|c| RevokedEntry {
                serial: c.serial().to_vec(),
                revoked_at: now() - Duration::days(1),
                reason: RevocationReason::KeyCompromise,
            })
            .collect();
        for i in 0..filler {
            let mut serial = vec![0x40u8; 16];
            serial[8..].copy_from_slice(&(i as u64).to_be_bytes());
            entries.push(RevokedEntry {
                serial,
                revoked_at: now() - Duration::days(2),
                reason: RevocationReason::Superseded,
            });
        }
        CrlBuilder {
            number,
            this_update: now() - Duration::days(1),
            next_update: now() + Duration::days(7),
            entries,
        }
        .sign(&self.manager, &self.manager_key, &[0; 32])
        .unwrap_or_else(|e| panic!("crl: {e}"))
    }
}

/// An Ed25519 SubjectPublicKeyInfo (RFC 8410, 4) with a made-up key, as a TLS key.
pub const ED25519_SPKI: [u8; 44] = {
    let mut spki = [7u8; 44];
    let head = [
        0x30, 0x2a, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x03, 0x21, 0x00,
    ];
    let mut i = 0;
    while i < head.len() {
        spki[i] = head[i];
        i += 1;
    }
    spki
};

/// A root of another bank: same shape as the fixture's, another key.
pub fn other_root(label: u8) -> Certificate {
    let root_key = key(label);
    let mut b = builder("pqbank test root", &root_key, 1);
    b.ca_path_len = Some(1);
    b.claims = StaffClaims {
        layers: Layer::ALL.to_vec(),
        role: Some(Role::Root),
        actions: Role::Root.actions().to_vec(),
        defence_version: Some(DEFENCE_VERSION),
        ..StaffClaims::default()
    };
    b.sign(Issuer::SelfSigned(&root_key), &[0; 32])
        .unwrap_or_else(|e| panic!("other root: {e}"))
}

/// A builder for a server-profile certificate: layers, lineage and version, no staff claim.
pub fn server_builder(pki: &Pki, serial: u8) -> CertificateBuilder {
    let mut b = builder("pqbank-server", &key(9), serial);
    b.claims = StaffClaims {
        layers: vec![
            Layer::HybridSignature,
            Layer::Sha3Fingerprint,
            Layer::CrlPinning,
        ],
        lineage: Some(Lineage {
            issuer: pki.root.fingerprint(),
            replaces: None,
        }),
        defence_version: Some(DEFENCE_VERSION),
        ..StaffClaims::default()
    };
    b
}

impl Pki {
    /// A server certificate by the root vouching for `tls_key`.
    pub fn server(&self, tls_key: &pqbank_pki::TlsKeyHash) -> Certificate {
        server_builder(self, 9)
            .sign_server(
                Issuer::Ca {
                    certificate: &self.root,
                    key: &self.root_key,
                },
                tls_key,
                &[0; 32],
            )
            .unwrap_or_else(|e| panic!("server: {e}"))
    }

    /// A CRL by the root with `number`, revoking `revoked`.
    pub fn root_crl_revoking(&self, number: u64, revoked: &[&Certificate]) -> Crl {
        CrlBuilder {
            number,
            this_update: now() - Duration::days(1),
            next_update: now() + Duration::days(30),
            entries: revoked
                .iter()
                .map(|c| RevokedEntry {
                    serial: c.serial().to_vec(),
                    revoked_at: now() - Duration::hours(1),
                    reason: RevocationReason::KeyCompromise,
                })
                .collect(),
        }
        .sign(&self.root, &self.root_key, &[0; 32])
        .unwrap_or_else(|e| panic!("root crl: {e}"))
    }
}

/// The action a teller posts with.
pub const TELLER_ACTION: Action = Action::TransferPost;
