//! Property tests: encodings round-trip for any input, and decoders never accept a
//! changed encoding as the original.

use pqbank_pki::ext::arc_oid;
use pqbank_pki::transcript::{SignedTranscript, Transcript};
use pqbank_pki::{Action, Fingerprint, Layer, Lineage, Role, StaffClaims};
use proptest::prelude::*;

fn transcript_strategy() -> impl Strategy<Value = Transcript> {
    (
        any::<[u8; 32]>(),
        any::<[u8; 32]>(),
        proptest::collection::vec(any::<u8>(), 0..=255),
        any::<i64>(),
        "[ -~]{0,120}",
    )
        .prop_map(|(nonce, fp, device_id, time, origin)| Transcript {
            nonce,
            certificate: Fingerprint::from_bytes(fp),
            device_id,
            time,
            origin,
        })
}

fn claims_strategy() -> impl Strategy<Value = StaffClaims> {
    (
        proptest::sample::subsequence(Layer::ALL.to_vec(), 0..=7),
        proptest::option::of(proptest::sample::select(Role::ALL.to_vec())),
        proptest::sample::subsequence(Action::ALL.to_vec(), 0..=Action::ALL.len()),
        proptest::option::of(any::<[u8; 32]>()),
        proptest::option::of((any::<[u8; 32]>(), proptest::option::of(any::<[u8; 32]>()))),
        proptest::option::of(any::<u32>()),
        proptest::option::of("[A-Za-z0-9-]{1,64}"),
    )
        .prop_map(
            |(layers, role, actions, device, lineage, version, staff_id)| StaffClaims {
                layers,
                role,
                actions,
                device_id_hash: device,
                lineage: lineage.map(|(issuer, replaces)| Lineage {
                    issuer: Fingerprint::from_bytes(issuer),
                    replaces: replaces.map(Fingerprint::from_bytes),
                }),
                defence_version: version,
                staff_id,
            },
        )
}

proptest! {
    /// Proves any transcript round-trips through its encoding.
    #[test]
    fn transcript_round_trip(t in transcript_strategy()) {
        let bytes = t.to_bytes().map_err(|e| TestCaseError::fail(e.to_string()))?;
        prop_assert_eq!(Transcript::from_bytes(&bytes), Ok(t));
        // Any truncation is refused.
        prop_assert!(Transcript::from_bytes(&bytes[..bytes.len() - 1]).is_err());
    }

    /// Proves the signed-transcript wire form round-trips for any contents.
    #[test]
    fn signed_transcript_wire_round_trip(body in proptest::collection::vec(any::<u8>(), 0..300)) {
        let signed = SignedTranscript { transcript: body, signature: vec![7; pqbank_pki::composite::SIGNATURE_LEN] };
        prop_assert_eq!(SignedTranscript::from_bytes(&signed.to_bytes()), Ok(signed));
    }

    /// Proves any set of claims round-trips through certificate extensions.
    #[test]
    fn claims_round_trip_through_a_certificate(claims in claims_strategy()) {
        let key = pqbank_pki::CompositeSigningKey::from_seed(&[1; 64]);
        let now = time::OffsetDateTime::from_unix_timestamp(1_800_000_000).unwrap_or(time::OffsetDateTime::UNIX_EPOCH);
        let cert = pqbank_pki::CertificateBuilder {
            serial: [9; 16],
            subject: pqbank_pki::DistinguishedName::new("p", "c").to_der(),
            subject_key: key.verifying_key().clone(),
            not_before: now,
            not_after: now + time::Duration::days(1),
            ca_path_len: None,
            claims: claims.clone(),
        }
        .sign(pqbank_pki::cert::Issuer::SelfSigned(&key), &[0; 32])
        .map_err(|e| TestCaseError::fail(e.to_string()))?;
        prop_assert_eq!(cert.claims(), &claims);
    }

    /// Proves arbitrary bytes under any pqbank extension number never panic the decoder,
    /// and unknown numbers are refused.
    #[test]
    fn extension_values_never_panic(number in 0u8..16, value in proptest::collection::vec(any::<u8>(), 0..80)) {
        let result = StaffClaims::default().absorb(&arc_oid(number), &value);
        if number == 0 || number > 7 {
            prop_assert!(result.is_err());
        }
    }

    /// Proves fingerprints round-trip through hex.
    #[test]
    fn fingerprint_hex_round_trip(bytes in any::<[u8; 32]>()) {
        let fp = Fingerprint::from_bytes(bytes);
        prop_assert_eq!(Fingerprint::from_hex(&fp.to_hex()), Ok(fp));
    }
}
