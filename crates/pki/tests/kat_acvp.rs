//! NIST ACVP known-answer tests for FIPS 204 (ML-DSA keyGen, sigVer) and FIPS 203
//! (ML-KEM keyGen, encapDecap), run through pqbank's primitives facade. Every test case
//! in the files is counted, and a test fails if fewer ran than the files hold.

mod common;

use pqbank_pki::primitives::{self, MlDsaParams, MlKemParams};
use sha2::Digest as _;
use shake::digest::{ExtendableOutput, Update};

use common::{case_count, expected, groups, hex_array, hex_field, load_json, tests};

fn mldsa_params(group: &serde_json::Value) -> MlDsaParams {
    match group["parameterSet"].as_str() {
        Some("ML-DSA-44") => MlDsaParams::MlDsa44,
        Some("ML-DSA-65") => MlDsaParams::MlDsa65,
        Some("ML-DSA-87") => MlDsaParams::MlDsa87,
        other => panic!("unknown parameter set {other:?}"),
    }
}

fn mlkem_params(group: &serde_json::Value) -> MlKemParams {
    match group["parameterSet"].as_str() {
        Some("ML-KEM-512") => MlKemParams::MlKem512,
        Some("ML-KEM-768") => MlKemParams::MlKem768,
        Some("ML-KEM-1024") => MlKemParams::MlKem1024,
        other => panic!("unknown parameter set {other:?}"),
    }
}

fn ids(group: &serde_json::Value, case: &serde_json::Value) -> (u64, u64) {
    (
        group["tgId"].as_u64().unwrap_or_default(),
        case["tcId"].as_u64().unwrap_or_default(),
    )
}

/// Proves ML-DSA.KeyGen_internal gives the expected public and private keys for all
/// three parameter sets.
#[test]
fn mldsa_keygen() {
    let prompt = load_json("acvp/ML-DSA-keyGen-FIPS204_prompt.json");
    let results = load_json("acvp/ML-DSA-keyGen-FIPS204_expectedResults.json");
    let mut ran = 0;
    for group in groups(&prompt) {
        let params = mldsa_params(group);
        for case in tests(group) {
            let (tg, tc) = ids(group, case);
            let want = expected(&results, tg, tc);
            let (pk, sk) = primitives::mldsa_keygen_expanded(params, &hex_array(case, "seed"));
            assert_eq!(pk, hex_field(want, "pk"), "tg {tg} tc {tc} pk");
            assert_eq!(*sk, hex_field(want, "sk"), "tg {tg} tc {tc} sk");
            ran += 1;
        }
    }
    assert_eq!(ran, case_count(&prompt));
    println!(
        "ACVP ML-DSA keyGen: {ran} of {} cases passed",
        case_count(&prompt)
    );
}

/// The DER OID and the pre-hash of HashML-DSA (FIPS 204, Algorithm 4, Table 3 hashes).
fn prehash(name: &str, message: &[u8]) -> (Vec<u8>, Vec<u8>) {
    let arc: u8 = match name {
        "SHA2-256" => 1,
        "SHA2-384" => 2,
        "SHA2-512" => 3,
        "SHA2-224" => 4,
        "SHA2-512/224" => 5,
        "SHA2-512/256" => 6,
        "SHA3-224" => 7,
        "SHA3-256" => 8,
        "SHA3-384" => 9,
        "SHA3-512" => 10,
        "SHAKE-128" => 11,
        "SHAKE-256" => 12,
        other => panic!("unknown hash {other}"),
    };
    let oid = vec![
        0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, arc,
    ];
    let digest = match name {
        "SHA2-256" => sha2::Sha256::digest(message).to_vec(),
        "SHA2-384" => sha2::Sha384::digest(message).to_vec(),
        "SHA2-512" => sha2::Sha512::digest(message).to_vec(),
        "SHA2-224" => sha2::Sha224::digest(message).to_vec(),
        "SHA2-512/224" => sha2::Sha512_224::digest(message).to_vec(),
        "SHA2-512/256" => sha2::Sha512_256::digest(message).to_vec(),
        "SHA3-224" => sha3::Sha3_224::digest(message).to_vec(),
        "SHA3-256" => sha3::Sha3_256::digest(message).to_vec(),
        "SHA3-384" => sha3::Sha3_384::digest(message).to_vec(),
        "SHA3-512" => sha3::Sha3_512::digest(message).to_vec(),
        "SHAKE-128" => xof::<shake::Shake128>(message, 32),
        _ => xof::<shake::Shake256>(message, 64),
    };
    (oid, digest)
}

fn xof<H: Default + Update + ExtendableOutput>(message: &[u8], len: usize) -> Vec<u8> {
    let mut h = H::default();
    h.update(message);
    let mut out = vec![0u8; len];
    h.finalize_xof_into(&mut out);
    out
}

/// Verifies one sigVer case through the interface its group names.
fn sigver_case(group: &serde_json::Value, case: &serde_json::Value) -> bool {
    let params = mldsa_params(group);
    let pk = hex_field(case, "pk");
    let sig = hex_field(case, "signature");
    let result = match (
        group["signatureInterface"].as_str(),
        group["preHash"].as_str(),
    ) {
        (Some("external"), Some("pure")) => primitives::mldsa_verify(
            params,
            &pk,
            &hex_field(case, "message"),
            &hex_field(case, "context"),
            &sig,
        ),
        (Some("external"), Some("preHash")) => {
            // HashML-DSA.Verify (FIPS 204, Algorithm 5) via Verify_internal over
            // M' = 1 || |ctx| || ctx || OID || PH(M).
            let ctx = hex_field(case, "context");
            let hash = case["hashAlg"].as_str().unwrap_or_default();
            let (oid, digest) = prehash(hash, &hex_field(case, "message"));
            let mut m_prime = vec![1u8, u8::try_from(ctx.len()).unwrap_or(u8::MAX)];
            m_prime.extend_from_slice(&ctx);
            m_prime.extend_from_slice(&oid);
            m_prime.extend_from_slice(&digest);
            primitives::mldsa_verify_internal(params, &pk, &m_prime, &sig)
        }
        (Some("internal"), _) if group["externalMu"].as_bool() == Some(true) => {
            primitives::mldsa_verify_mu(params, &pk, &hex_array(case, "mu"), &sig)
        }
        (Some("internal"), _) => {
            primitives::mldsa_verify_internal(params, &pk, &hex_field(case, "message"), &sig)
        }
        other => panic!("unknown sigVer interface {other:?}"),
    };
    result.is_ok()
}

/// Proves ML-DSA verification accepts exactly the valid signatures, over every group:
/// external pure, external pre-hash (all twelve hashes), internal, and external mu.
#[test]
fn mldsa_sigver() {
    let prompt = load_json("acvp/ML-DSA-sigVer-FIPS204_prompt.json");
    let results = load_json("acvp/ML-DSA-sigVer-FIPS204_expectedResults.json");
    let (mut ran, mut rejected) = (0, 0);
    for group in groups(&prompt) {
        for case in tests(group) {
            let (tg, tc) = ids(group, case);
            let want = expected(&results, tg, tc)["testPassed"].as_bool();
            let got = sigver_case(group, case);
            assert_eq!(Some(got), want, "tg {tg} tc {tc}");
            rejected += usize::from(!got);
            ran += 1;
        }
    }
    assert_eq!(ran, case_count(&prompt));
    assert!(
        rejected > 0,
        "the files hold invalid signatures; none was rejected"
    );
    println!(
        "ACVP ML-DSA sigVer: {ran} of {} cases passed ({rejected} correctly rejected)",
        case_count(&prompt)
    );
}

/// Proves ML-KEM.KeyGen_internal gives the expected keys for 512, 768 and 1024.
#[test]
fn mlkem_keygen() {
    let prompt = load_json("acvp/ML-KEM-keyGen-FIPS203_prompt.json");
    let results = load_json("acvp/ML-KEM-keyGen-FIPS203_expectedResults.json");
    let mut ran = 0;
    for group in groups(&prompt) {
        let params = mlkem_params(group);
        for case in tests(group) {
            let (tg, tc) = ids(group, case);
            let want = expected(&results, tg, tc);
            let (ek, dk) =
                primitives::mlkem_keygen(params, &hex_array(case, "d"), &hex_array(case, "z"));
            assert_eq!(ek, hex_field(want, "ek"), "tg {tg} tc {tc} ek");
            assert_eq!(*dk, hex_field(want, "dk"), "tg {tg} tc {tc} dk");
            ran += 1;
        }
    }
    assert_eq!(ran, case_count(&prompt));
    println!(
        "ACVP ML-KEM keyGen: {ran} of {} cases passed",
        case_count(&prompt)
    );
}

/// Proves encapsulation, decapsulation (seed and expanded keys, including modified
/// ciphertexts that take the implicit-rejection path) and both key checks.
#[test]
fn mlkem_encap_decap() {
    let prompt = load_json("acvp/ML-KEM-encapDecap-FIPS203_prompt.json");
    let results = load_json("acvp/ML-KEM-encapDecap-FIPS203_expectedResults.json");
    // The decapsulation key check's keys are published in the internal projection only.
    let projection = load_json("acvp/ML-KEM-encapDecap-FIPS203_internalProjection.json");
    let mut ran = 0;
    let mut invalid_keys = 0;
    for group in groups(&prompt) {
        let params = mlkem_params(group);
        let function = group["function"].as_str().unwrap_or_default();
        let format = group["keyFormat"].as_str().unwrap_or_default();
        for case in tests(group) {
            let (tg, tc) = ids(group, case);
            let want = expected(&results, tg, tc);
            match (function, format) {
                ("encapsulation", _) => {
                    let (c, k) = primitives::mlkem_encapsulate(
                        params,
                        &hex_field(case, "ek"),
                        &hex_array(case, "m"),
                    )
                    .unwrap_or_else(|e| panic!("tg {tg} tc {tc}: {e}"));
                    assert_eq!(c, hex_field(want, "c"), "tg {tg} tc {tc} c");
                    assert_eq!(k.to_vec(), hex_field(want, "k"), "tg {tg} tc {tc} k");
                }
                ("decapsulation", "seed") => {
                    let mut seed = [0u8; 64];
                    seed[..32].copy_from_slice(&hex_field(case, "d"));
                    seed[32..].copy_from_slice(&hex_field(case, "z"));
                    let k = primitives::mlkem_decapsulate(params, &seed, &hex_field(case, "c"))
                        .unwrap_or_else(|e| panic!("tg {tg} tc {tc}: {e}"));
                    assert_eq!(k.to_vec(), hex_field(want, "k"), "tg {tg} tc {tc} k");
                }
                ("decapsulation", "expanded") => {
                    let k = primitives::mlkem_decapsulate_expanded(
                        params,
                        &hex_field(case, "dk"),
                        &hex_field(case, "c"),
                    )
                    .unwrap_or_else(|e| panic!("tg {tg} tc {tc}: {e}"));
                    assert_eq!(k.to_vec(), hex_field(want, "k"), "tg {tg} tc {tc} k");
                }
                ("encapsulationKeyCheck", _) => {
                    let ok =
                        primitives::mlkem_check_encapsulation_key(params, &hex_field(case, "ek"))
                            .is_ok();
                    assert_eq!(Some(ok), want["testPassed"].as_bool(), "tg {tg} tc {tc}");
                    invalid_keys += usize::from(!ok);
                }
                ("decapsulationKeyCheck", _) => {
                    let dk = hex_field(expected(&projection, tg, tc), "dk");
                    let ok = primitives::mlkem_check_decapsulation_key(params, &dk).is_ok();
                    assert_eq!(Some(ok), want["testPassed"].as_bool(), "tg {tg} tc {tc}");
                    invalid_keys += usize::from(!ok);
                }
                other => panic!("unknown function {other:?}"),
            }
            ran += 1;
        }
    }
    assert_eq!(ran, case_count(&prompt));
    assert!(
        invalid_keys > 0,
        "the files hold malformed keys; none was rejected"
    );
    println!(
        "ACVP ML-KEM encapDecap: {ran} of {} cases passed ({invalid_keys} malformed keys rejected)",
        case_count(&prompt)
    );
}
