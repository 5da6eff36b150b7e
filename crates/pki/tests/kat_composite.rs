//! Known-answer tests from draft-ietf-lamps-pq-composite-sigs (`testvectors.json`):
//! keys derived from the private seeds, signatures with and without context, and the
//! self-signed `x5c` certificates, plus the negative cases that must fail.

mod common;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use pqbank_pki::composite::{CompositeSigningKey, CompositeVerifyingKey, SignatureAlgorithm};
use pqbank_pki::primitives::{self, MlDsaParams};
use pqbank_pki::{Certificate, Error};

const MLDSA_SIG_LEN: usize = 3309;

struct Vectors {
    message: Vec<u8>,
    context: Vec<u8>,
    tests: Vec<serde_json::Value>,
}

fn vectors() -> Vectors {
    let file = common::load_json("composite-sigs/testvectors.json");
    let b64 = |v: &serde_json::Value| {
        STANDARD
            .decode(v.as_str().unwrap_or_default())
            .unwrap_or_default()
    };
    Vectors {
        message: b64(&file["m"]),
        context: b64(&file["ctx"]),
        tests: file["tests"].as_array().cloned().unwrap_or_default(),
    }
}

/// sk, pk, s, sWithContext, x5c.
type Case = (Vec<u8>, Vec<u8>, Vec<u8>, Vec<u8>, Vec<u8>);

fn case(v: &Vectors, id: &str) -> Case {
    let t = v
        .tests
        .iter()
        .find(|t| t["tcId"] == id)
        .unwrap_or_else(|| panic!("vector {id} missing"));
    let f = |name: &str| {
        STANDARD
            .decode(t[name].as_str().unwrap_or_default())
            .unwrap_or_default()
    };
    (f("sk"), f("pk"), f("s"), f("sWithContext"), f("x5c"))
}

/// Proves pqbank's composite matches the draft: pk from sk, both signatures verify, the
/// x5c certificate parses and verifies with its own key, and every tampering fails.
#[test]
fn composite_mldsa65_ed25519_sha512_vectors() {
    let v = vectors();
    let (sk, pk, s, s_ctx, x5c) = case(&v, "id-MLDSA65-Ed25519-SHA512");
    let seed: [u8; 64] = sk
        .as_slice()
        .try_into()
        .unwrap_or_else(|_| panic!("sk is not 64 bytes"));
    let key = CompositeSigningKey::from_seed(&seed);
    assert_eq!(
        key.verifying_key().as_bytes(),
        pk.as_slice(),
        "pk derived from sk"
    );
    let vk = CompositeVerifyingKey::from_bytes(&pk).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(vk.verify(&v.message, &[], &s), Ok(()), "s");
    assert_eq!(
        vk.verify(&v.message, &v.context, &s_ctx),
        Ok(()),
        "sWithContext"
    );

    let cert = Certificate::from_der(&x5c).unwrap_or_else(|e| panic!("x5c: {e}"));
    assert_eq!(
        cert.signature_algorithm(),
        SignatureAlgorithm::MlDsa65Ed25519
    );
    assert_eq!(cert.public_key(), pk.as_slice());
    assert_eq!(cert.verify_signed_by(&cert), Ok(()), "x5c self-signature");
    assert!(cert.claims().is_empty(), "not a pqbank staff certificate");

    // Negative cases: each must fail.
    let fails =
        |sig: &[u8], ctx: &[u8]| vk.verify(&v.message, ctx, sig) == Err(Error::BadSignature);
    for pos in [
        0,
        1,
        1000,
        MLDSA_SIG_LEN - 1,
        MLDSA_SIG_LEN,
        MLDSA_SIG_LEN + 31,
        s.len() - 1,
    ] {
        let mut bad = s.clone();
        bad[pos] ^= 0x01;
        assert!(fails(&bad, &[]), "flipped byte {pos}");
    }
    let (mldsa_half, ed_half) = s.split_at(MLDSA_SIG_LEN);
    assert!(
        fails(&[ed_half, mldsa_half].concat(), &[]),
        "halves swapped"
    );
    assert!(fails(&s, &v.context), "s under the wrong context");
    assert!(fails(&s_ctx, &[]), "sWithContext without its context");
    assert!(
        fails(&s_ctx, b"another context"),
        "sWithContext under another context"
    );
    assert!(fails(&s[..s.len() - 1], &[]), "truncated");
    assert!(fails(&[s.as_slice(), &[0]].concat(), &[]), "extended");
    assert!(fails(mldsa_half, &[]), "ML-DSA half alone");
    assert!(!fails(&s, &[]), "the untouched signature still verifies");
    // One half valid, the other from another message: still refused.
    let other = key
        .sign(b"another message", &[], &[0u8; 32])
        .unwrap_or_else(|e| panic!("{e}"));
    let mixed = [mldsa_half, &other.as_bytes()[MLDSA_SIG_LEN..]].concat();
    assert!(
        fails(&mixed, &[]),
        "valid ML-DSA half with a foreign Ed25519 half"
    );
    let mixed = [&other.as_bytes()[..MLDSA_SIG_LEN], ed_half].concat();
    assert!(
        fails(&mixed, &[]),
        "foreign ML-DSA half with a valid Ed25519 half"
    );

    // The x5c certificate with one byte of its signature changed no longer verifies.
    let mut tampered = x5c.clone();
    let last = tampered.len() - 1;
    tampered[last] ^= 0x80;
    let bad_cert = Certificate::from_der(&tampered).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        bad_cert.verify_signed_by(&bad_cert),
        Err(Error::BadSignature)
    );
    println!(
        "composite KAT: id-MLDSA65-Ed25519-SHA512 1 key, 2 signatures, 1 certificate, 17 negative cases"
    );
}

/// Proves plain ML-DSA-65 from the same file: pk from the seed, both signatures, the
/// x5c certificate, and a flipped byte fails.
#[test]
fn mldsa65_vectors() {
    let v = vectors();
    let (sk, pk, s, s_ctx, x5c) = case(&v, "id-ML-DSA-65");
    let seed: [u8; 32] = sk
        .as_slice()
        .try_into()
        .unwrap_or_else(|_| panic!("sk is not 32 bytes"));
    assert_eq!(
        primitives::mldsa_public_key(MlDsaParams::MlDsa65, &seed),
        pk
    );
    let verify = |sig: &[u8], ctx: &[u8]| {
        primitives::mldsa_verify(MlDsaParams::MlDsa65, &pk, &v.message, ctx, sig)
    };
    assert_eq!(verify(&s, &[]), Ok(()));
    assert_eq!(verify(&s_ctx, &v.context), Ok(()));
    assert_eq!(verify(&s_ctx, &[]), Err(Error::BadSignature));
    let mut bad = s.clone();
    bad[10] ^= 1;
    assert_eq!(verify(&bad, &[]), Err(Error::BadSignature));

    let cert = Certificate::from_der(&x5c).unwrap_or_else(|e| panic!("x5c: {e}"));
    assert_eq!(cert.signature_algorithm(), SignatureAlgorithm::MlDsa65);
    assert_eq!(cert.verify_signed_by(&cert), Ok(()));
    println!("composite KAT: id-ML-DSA-65 1 key, 2 signatures, 1 certificate");
}

/// Proves the other ML-DSA parameter sets of the file derive the published keys.
#[test]
fn mldsa44_and_87_public_keys() {
    let v = vectors();
    for (id, params) in [
        ("id-ML-DSA-44", MlDsaParams::MlDsa44),
        ("id-ML-DSA-87", MlDsaParams::MlDsa87),
    ] {
        let (sk, pk, s, _, _) = case(&v, id);
        let seed: [u8; 32] = sk
            .as_slice()
            .try_into()
            .unwrap_or_else(|_| panic!("{id} sk"));
        assert_eq!(primitives::mldsa_public_key(params, &seed), pk, "{id}");
        assert_eq!(
            primitives::mldsa_verify(params, &pk, &v.message, &[], &s),
            Ok(()),
            "{id}"
        );
    }
}

/// Proves the copied vectors are the published files, byte for byte: every file listed in
/// `tests/vectors/SHA256SUMS` hashes to its line, and every vector file is listed.
#[test]
fn vectors_are_unchanged() {
    use sha2::{Digest, Sha256};
    let dir = common::vectors_dir();
    let sums = std::fs::read_to_string(dir.join("SHA256SUMS")).expect("SHA256SUMS");
    let mut listed = Vec::new();
    for line in sums.lines() {
        let (expected, name) = line.split_once("  ").expect("`<sha256>  <path>` lines");
        let bytes = std::fs::read(dir.join(name)).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(
            hex::encode(Sha256::digest(&bytes)),
            expected,
            "{name} was changed"
        );
        listed.push(name.to_owned());
    }
    for folder in ["acvp", "composite-sigs"] {
        for entry in std::fs::read_dir(dir.join(folder)).expect("vector folder") {
            let name = format!(
                "{folder}/{}",
                entry.expect("entry").file_name().to_string_lossy()
            );
            assert!(listed.contains(&name), "{name} is not in SHA256SUMS");
        }
    }
    assert_eq!(listed.len(), 10, "the ten published files");
}
