//! Criterion benchmarks of the PKI core: composite keygen, sign and verify; validation of
//! root -> manager -> teller against a CRL of 100,000 entries; CRL parsing; bundle seal
//! and open. The medians go into the README.
#![allow(
    missing_docs,
    reason = "criterion's macros generate undocumented items"
)]

#[path = "../tests/common/mod.rs"]
mod common;

use std::collections::BTreeMap;
use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use pqbank_pki::bundle::{self, RecipientSecret, SealRandomness, Suite};
use pqbank_pki::chain::{ChainInput, validate};
use pqbank_pki::{CompositeSigningKey, Crl};

fn composite(c: &mut Criterion) {
    let key = CompositeSigningKey::from_seed(&[1; 64]);
    let message = [7u8; 256];
    let sig = key
        .sign(&message, b"", &[2; 32])
        .unwrap_or_else(|e| panic!("{e}"));
    c.bench_function("composite keygen", |b| {
        b.iter(|| CompositeSigningKey::from_seed(black_box(&[3; 64])))
    });
    c.bench_function("composite sign", |b| {
        b.iter(|| key.sign(black_box(&message), b"", &[4; 32]))
    });
    c.bench_function("composite verify", |b| {
        b.iter(|| {
            key.verifying_key()
                .verify(black_box(&message), b"", sig.as_bytes())
        })
    });
}

fn chain(c: &mut Criterion) {
    let pki = common::Pki::new();
    let crl = pki.manager_crl(2, &[], 100_000);
    let root_crl = pki.root_crl(1);
    let intermediates = [pki.manager.clone()];
    let crls = [crl.clone(), root_crl];
    let pins = BTreeMap::new();
    let input = ChainInput {
        leaf: &pki.teller,
        intermediates: &intermediates,
        root: &pki.root,
        pinned_root: pki.root.fingerprint(),
        at: common::now(),
        crls: &crls,
        crl_pins: &pins,
        require_crl: true,
        require_staff: true,
        action: Some(common::TELLER_ACTION),
        device_id: Some(common::TELLER_DEVICE),
    };
    assert!(validate(&input).is_ok());
    let mut group = c.benchmark_group("chain");
    group.sample_size(20);
    group.bench_function("validate root->manager->teller, CRL 100k entries", |b| {
        b.iter(|| validate(black_box(&input)))
    });
    let der = crl.der().to_vec();
    group.bench_function("parse CRL of 100k entries", |b| {
        b.iter(|| Crl::from_der(black_box(&der)))
    });
    group.finish();
}

fn bundles(c: &mut Criterion) {
    for suite in [Suite::MlKem512X25519, Suite::MlKem768X25519] {
        let secret = RecipientSecret::from_seeds(suite, &[1; 64], &[2; 32]);
        let public = secret.public();
        let plaintext = [5u8; 8 * 1024];
        let rnd = || SealRandomness {
            kem: [3; 32],
            x25519: [4; 32],
        };
        let sealed =
            bundle::seal(&public, "bench", &plaintext, rnd()).unwrap_or_else(|e| panic!("{e}"));
        c.bench_function(&format!("bundle seal 8 KiB {}", suite.name()), |b| {
            b.iter(|| bundle::seal(&public, "bench", black_box(&plaintext), rnd()))
        });
        c.bench_function(&format!("bundle open 8 KiB {}", suite.name()), |b| {
            b.iter(|| bundle::open(&secret, "bench", black_box(&sealed)))
        });
    }
}

criterion_group!(benches, composite, chain, bundles);
criterion_main!(benches);
