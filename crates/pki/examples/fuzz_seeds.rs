//! Writes the seed corpora of the fuzz targets under `fuzz/corpus/`, from the same
//! fixtures the tests use and from the draft's published certificates:
//! `cargo run -p pqbank-pki --example fuzz_seeds`.

#[path = "../tests/common/mod.rs"]
mod common;

use std::path::PathBuf;

use base64::Engine;
use pqbank_pki::bundle::{self, RecipientSecret, SealRandomness, Suite};
use pqbank_pki::ext::device_id_hash;
use pqbank_pki::transcript::Transcript;
use pqbank_pki::{CompositeSigningKey, CsrBuilder, DistinguishedName};
use x509_parser::prelude::FromDer;

fn main() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../fuzz/corpus");
    let pki = common::Pki::new();
    let write = |target: &str, name: &str, bytes: &[u8]| {
        let dir = root.join(target);
        std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
        std::fs::write(dir.join(name), bytes).unwrap_or_else(|e| panic!("{name}: {e}"));
    };
    for (name, cert) in [
        ("root", &pki.root),
        ("manager", &pki.manager),
        ("teller", &pki.teller),
    ] {
        write("certificate", name, cert.der());
        write("pem", &format!("{name}.pem"), cert.to_pem().as_bytes());
    }
    draft_certificates(&|name, der| write("certificate", name, der));
    server_seeds(&pki, &write);

    let csr = CsrBuilder {
        subject: DistinguishedName::new("pqbank", "Seed").to_der(),
        device_id_hash: Some(device_id_hash(b"seed-device")),
    }
    .sign(&common::key(5), &[0; 32])
    .unwrap_or_else(|e| panic!("{e}"));
    write("csr", "device", csr.der());
    write("pem", "csr.pem", csr.to_pem().as_bytes());
    let crl = pki.manager_crl(3, &[&pki.teller], 5);
    write("crl", "manager", crl.der());
    write("pem", "crl.pem", crl.to_pem().as_bytes());

    for suite in [Suite::MlKem512X25519, Suite::MlKem768X25519] {
        let secret = RecipientSecret::from_seeds(suite, &[1; 64], &[2; 32]);
        let rnd = SealRandomness {
            kem: [7; 32],
            x25519: [8; 32],
        };
        let sealed = bundle::seal(&secret.public(), "fuzz", b"seed plaintext", rnd)
            .unwrap_or_else(|e| panic!("{e}"));
        write("bundle", suite.name(), &sealed);
        write("recipient", suite.name(), &secret.public().to_bytes());
    }

    let device = CompositeSigningKey::from_seed(&[3; 64]);
    let t = Transcript {
        nonce: [0; 32],
        certificate: pqbank_pki::Fingerprint::from_bytes([0; 32]),
        device_id: b"seed-device".to_vec(),
        time: 0,
        origin: "127.0.0.1 seed".into(),
    };
    let signed = t.sign(&device, &[0; 32]).unwrap_or_else(|e| panic!("{e}"));
    write("transcript", "signed", &signed.to_bytes());
    write("transcript", "bare", &signed.transcript);

    let key = CompositeSigningKey::from_seed(&[4; 64]);
    let sig = key
        .sign(b"fuzz", b"", &[0; 32])
        .unwrap_or_else(|e| panic!("{e}"));
    write("composite_signature", "valid", sig.as_bytes());
    write("composite_key", "valid", key.verifying_key().as_bytes());

    extensions(pki.teller.der(), &|name, bytes| {
        write("extension", name, bytes)
    });
    println!("seed corpora written under {}", root.display());
}

/// A server certificate, its pqbank extensions, a vouching bundle and a TLS certificate
/// carrying it (with a made-up signature: the parser does not check it).
fn server_seeds(pki: &common::Pki, write: &dyn Fn(&str, &str, &[u8])) {
    let spki = &common::ED25519_SPKI;
    let server = pki.server(&pqbank_pki::TlsKeyHash::of_spki(spki));
    write("certificate", "server", server.der());
    extensions(server.der(), &|name, bytes| {
        write("extension", &format!("server-{name}"), bytes)
    });
    let bundle = pqbank_pki::VouchingBundle {
        server,
        root: pki.root.clone(),
        crl: pki.root_crl_revoking(2, &[&pki.manager]),
    };
    let der = bundle.to_der().unwrap_or_else(|e| panic!("{e}"));
    write("vouching_bundle", "bundle", &der);
    write("extension", "field-9", &[&[9], der.as_slice()].concat());
    let builder = pqbank_pki::server::TlsCertificateBuilder {
        spki_der: spki,
        algorithm: pqbank_pki::server::TlsAlgorithm::EcdsaP256Sha256,
        not_before: common::now(),
        not_after: common::now() + time::Duration::days(30),
        bundle: &bundle,
    };
    let tbs = builder.tbs().unwrap_or_else(|e| panic!("{e}"));
    let tls = builder
        .certificate(&tbs, &[0x30, 0x06, 0x02, 0x01, 0x01, 0x02, 0x01, 0x01])
        .unwrap_or_else(|e| panic!("{e}"));
    write("vouching_bundle", "tls-certificate", tls.der());
}

/// The draft's self-signed certificates, one per algorithm.
fn draft_certificates(write: &dyn Fn(&str, &[u8])) {
    let path = common::vectors_dir().join("composite-sigs/testvectors.json");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let file: serde_json::Value = serde_json::from_str(&text).unwrap_or_default();
    for t in file["tests"].as_array().into_iter().flatten() {
        let der = base64::engine::general_purpose::STANDARD
            .decode(t["x5c"].as_str().unwrap_or_default())
            .unwrap_or_default();
        write(t["tcId"].as_str().unwrap_or("unnamed"), &der);
    }
}

/// Each pqbank extension of a certificate, prefixed with its arc number.
fn extensions(der: &[u8], write: &dyn Fn(&str, &[u8])) {
    let (_, cert) =
        x509_parser::certificate::X509Certificate::from_der(der).unwrap_or_else(|e| panic!("{e}"));
    for ext in cert.extensions() {
        let oid = ext.oid.as_bytes();
        let Some(&number) = oid.last() else { continue };
        if oid == pqbank_pki::ext::arc_oid(number).as_slice() {
            write(&format!("field-{number}"), &[&[number], ext.value].concat());
        }
    }
}
