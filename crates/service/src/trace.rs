//! The operator's log (`tracing`), apart from the accountability log: what failed, with
//! which stable code, at which layer, and the key acts, named by identifiers that are not
//! secret (certificate fingerprints, staff ids, transfer and request ids). Never a key, a
//! seed, a session token or its hash, a nonce, an enrolment code or a passphrase: the
//! values logged here are codes, ids, counts and fingerprints, nothing else.

use pqbank_db::StoreError;
use pqbank_pki::Fingerprint;

use crate::ServiceError;

/// The layer (1 to 7) a refusal belongs to, as DESIGN.md numbers them.
#[must_use]
pub fn layer_of(code: &str) -> Option<u8> {
    let leaf = code.rsplit('.').next().unwrap_or(code);
    Some(match leaf {
        "bad_signature"
        | "chain_signature"
        | "crl_signature"
        | "unsupported_algorithm"
        | "invalid_key"
        | "unsigned"
        | "body_altered" => 1,
        "root_not_pinned" => 2,
        "device_mismatch" | "transcript_device_mismatch" => 3,
        "action_not_allowed" | "role_not_allowed" | "not_staff_certificate" => 4,
        "revoked" | "crl_rollback" | "crl_stale" | "crl_missing" => 5,
        "lineage_mismatch"
        | "issuer_not_authorised"
        | "issuer_name_mismatch"
        | "key_id_mismatch"
        | "not_ca"
        | "path_len_exceeded"
        | "chain_too_long" => 6,
        "nonce_mismatch"
        | "transcript_expired"
        | "challenge_used"
        | "certificate_mismatch"
        | "origin_mismatch"
        | "replayed"
        | "stale" => 7,
        _ => return None,
    })
}

/// The seven layers as the log names them.
const LAYERS: [&str; 7] = [
    "1 hybrid-signature",
    "2 sha3-fingerprint",
    "3 device-binding",
    "4 purpose-locking",
    "5 crl-pinning",
    "6 lineage-tracking",
    "7 nonce-challenge",
];

/// Where a code's failure happened, for the log: one of the seven security layers, else
/// the part of the system (storage, device, session, ...).
#[must_use]
pub fn layer_name(code: &str) -> &'static str {
    if let Some(n) = layer_of(code) {
        return LAYERS[usize::from(n - 1)];
    }
    match code.split('.').next().unwrap_or(code) {
        "session_ended" => "session",
        "store" => "storage",
        "device" => "device",
        "crl_pins" => "crl-pins",
        "audit" => "audit",
        "enrolment" => "enrolment",
        "unknown_certificate" | "certificate" => "certificate",
        "login" => "login",
        "forbidden" => "request",
        _ => "other",
    }
}

/// True for a storage error that is a failure of the database itself rather than a
/// refusal by the ledger's rules.
fn is_database_failure(e: &StoreError) -> bool {
    matches!(
        e,
        StoreError::Database(_)
            | StoreError::Migration(_)
            | StoreError::Schema(_)
            | StoreError::Transient(_)
            | StoreError::Busy { .. }
            | StoreError::Signing(_)
    )
}

/// Logs a storage error with its detail (the raw database text stays here, never on a
/// screen): a database failure as an error, a refusal by the ledger's rules as info.
pub fn log_store_error(e: &StoreError) {
    let code = format!("store.{}", e.code());
    let code = code.as_str();
    if is_database_failure(e) {
        tracing::error!(code, layer = "storage", detail = %e, "storage failed");
    } else {
        tracing::info!(code, layer = "storage", detail = %e, "storage refused");
    }
}

/// A device failure (its keys, its randomness, an encoder), logged with the detail; the
/// error's message for people is a plain sentence.
pub(crate) fn device_failed(detail: impl core::fmt::Display) -> ServiceError {
    let detail = detail.to_string();
    tracing::error!(
        code = "device",
        layer = "device",
        detail = detail.as_str(),
        "the device failed"
    );
    ServiceError::Device(detail)
}

/// A failure of the installation's CRL pins, logged with the detail.
pub(crate) fn pins_failed(detail: String) -> ServiceError {
    tracing::error!(
        code = "crl_pins",
        layer = "crl-pins",
        detail = detail.as_str(),
        "the CRL pins failed"
    );
    ServiceError::CrlPins(detail)
}

/// Logs a refused or failed call of `action` by `certificate`, when it is known: an
/// ended session as info, a refusal by a security layer or a rule as a warning, a failure
/// of storage, the device or the pins as an error (their detail was logged where they
/// failed).
pub(crate) fn refused(action: &str, certificate: Option<&Fingerprint>, e: &ServiceError) {
    let code = e.code();
    let code = code.as_str();
    let layer = layer_name(code);
    let certificate = certificate.map_or_else(|| "-".to_owned(), Fingerprint::to_hex);
    let certificate = certificate.as_str();
    match e {
        ServiceError::SessionEnded => {
            tracing::info!(action, certificate, code, layer, "call refused: {e}");
        }
        ServiceError::Device(_) | ServiceError::CrlPins(_) => {
            tracing::error!(action, certificate, code, layer, "call failed: {e}");
        }
        ServiceError::Store(s) if is_database_failure(s) => {
            tracing::error!(action, certificate, code, layer, "call failed: {e}");
        }
        _ => tracing::warn!(action, certificate, code, layer, "call refused: {e}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_code_names_a_layer_or_a_part() {
        assert_eq!(layer_name("certificate.revoked"), "5 crl-pinning");
        assert_eq!(
            layer_name("forbidden.role_not_allowed"),
            "4 purpose-locking"
        );
        assert_eq!(layer_name("challenge_used"), "7 nonce-challenge");
        assert_eq!(layer_name("store.database"), "storage");
        assert_eq!(layer_name("session_ended"), "session");
        assert_eq!(layer_name("device"), "device");
        assert_eq!(layer_of("store.busy"), None);
    }

    /// Proves raw detail stays out of the messages people read, under unchanged codes.
    #[test]
    fn messages_carry_no_raw_detail() {
        let raw = "Duplicate entry 'x' for key 'sessions.PRIMARY' at /var/lib/mysql";
        for (e, code) in [
            (
                ServiceError::Store(StoreError::Database(raw.into())),
                "store.database",
            ),
            (
                ServiceError::Store(StoreError::Migration(raw.into())),
                "store.migration",
            ),
            (
                ServiceError::Store(StoreError::Transient(raw.into())),
                "store.transient",
            ),
            (
                ServiceError::from(StoreError::Signing(raw.into())),
                "device",
            ),
            (ServiceError::Device(raw.into()), "device"),
            (ServiceError::CrlPins(raw.into()), "crl_pins"),
        ] {
            assert!(!e.to_string().contains("Duplicate"), "{e}");
            assert_eq!(e.code(), code);
        }
        // The ledger's refusals keep their words: they name the rule.
        let e = ServiceError::Store(StoreError::Drawer("already open"));
        assert_eq!(e.to_string(), "cash drawer: already open");
    }
}
