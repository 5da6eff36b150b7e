//! Every error code the window can receive, as types: the service's (one family per
//! prefix, each mapped exhaustively from `pqbank-service`'s typed code) and the
//! workstation's own. The wire text is the code the service has always sent.

use pqbank_api::RequestCode;
use pqbank_db::StoreCode;
use pqbank_net::Code as NetCode;
use pqbank_pki::ErrorCode as PkiCode;
use pqbank_service::ServiceCode;
use serde::{Deserialize, Serialize};
use specta::Type;

/// One family of codes: a TypeScript union of string literals, the `ALL` list and the
/// text, from one table.
macro_rules! family {
    ($(#[$m:meta])* $name:ident from $source:ident { $($v:ident => $t:literal,)+ }) => {
        family! { $(#[$m])* $name { $($v => $t,)+ } }

        // Exhaustive both ways: a code added to the source breaks the build here.
        impl From<$source> for $name {
            fn from(code: $source) -> Self {
                match code { $($source::$v => Self::$v,)+ }
            }
        }

        impl From<$name> for $source {
            fn from(code: $name) -> Self {
                match code { $($name::$v => Self::$v,)+ }
            }
        }
    };
    ($(#[$m:meta])* $name:ident { $($v:ident => $t:literal,)+ }) => {
        $(#[$m])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Type)]
        pub enum $name { $(#[doc = concat!("`", $t, "`")] #[serde(rename = $t)] $v,)+ }

        impl $name {
            /// Every code of the family.
            pub const ALL: &'static [Self] = &[$(Self::$v,)+];

            /// The code as the window receives it.
            #[must_use]
            pub const fn as_str(self) -> &'static str {
                match self { $(Self::$v => $t,)+ }
            }
        }
    };
}

family! {
    /// The service's codes without a prefix.
    ServiceErrorCode {
        SessionEnded => "session_ended",
        ChallengeUsed => "challenge_used",
        UnknownCertificate => "unknown_certificate",
        Audit => "audit",
        Enrolment => "enrolment",
        Device => "device",
        CrlPins => "crl_pins",
        DrawerNotYours => "drawer.not_yours",
        NoDrawer => "drawer.none",
    }
}

family! {
    /// The service no longer accepts the certificate (chain, CRL, device).
    CertificateErrorCode from PkiCode {
        Malformed => "certificate.malformed",
        InvalidKey => "certificate.invalid_key",
        BadSignature => "certificate.bad_signature",
        UnsupportedAlgorithm => "certificate.unsupported_algorithm",
        ContextTooLong => "certificate.context_too_long",
        SealOpen => "certificate.seal_open",
        InvalidExtension => "certificate.invalid_extension",
        InvalidRequest => "certificate.invalid_request",
        RootNotPinned => "certificate.root_not_pinned",
        ChainTooLong => "certificate.chain_too_long",
        ChainSignature => "certificate.chain_signature",
        IssuerNameMismatch => "certificate.issuer_name_mismatch",
        KeyIdMismatch => "certificate.key_id_mismatch",
        NotYetValid => "certificate.not_yet_valid",
        Expired => "certificate.expired",
        NotCa => "certificate.not_ca",
        PathLenExceeded => "certificate.path_len_exceeded",
        IssuerNotAuthorised => "certificate.issuer_not_authorised",
        ActionNotAllowed => "certificate.action_not_allowed",
        RoleNotAllowed => "certificate.role_not_allowed",
        NotStaffCertificate => "certificate.not_staff_certificate",
        NotServerCertificate => "certificate.not_server_certificate",
        Revoked => "certificate.revoked",
        CrlRollback => "certificate.crl_rollback",
        CrlSignature => "certificate.crl_signature",
        CrlStale => "certificate.crl_stale",
        CrlMissing => "certificate.crl_missing",
        LineageMismatch => "certificate.lineage_mismatch",
        DeviceMismatch => "certificate.device_mismatch",
        NonceMismatch => "certificate.nonce_mismatch",
        TranscriptExpired => "certificate.transcript_expired",
        CertificateMismatch => "certificate.certificate_mismatch",
        TranscriptDeviceMismatch => "certificate.transcript_device_mismatch",
        OriginMismatch => "certificate.origin_mismatch",
    }
}

family! {
    /// The login transcript or challenge did not hold.
    LoginErrorCode from PkiCode {
        Malformed => "login.malformed",
        InvalidKey => "login.invalid_key",
        BadSignature => "login.bad_signature",
        UnsupportedAlgorithm => "login.unsupported_algorithm",
        ContextTooLong => "login.context_too_long",
        SealOpen => "login.seal_open",
        InvalidExtension => "login.invalid_extension",
        InvalidRequest => "login.invalid_request",
        RootNotPinned => "login.root_not_pinned",
        ChainTooLong => "login.chain_too_long",
        ChainSignature => "login.chain_signature",
        IssuerNameMismatch => "login.issuer_name_mismatch",
        KeyIdMismatch => "login.key_id_mismatch",
        NotYetValid => "login.not_yet_valid",
        Expired => "login.expired",
        NotCa => "login.not_ca",
        PathLenExceeded => "login.path_len_exceeded",
        IssuerNotAuthorised => "login.issuer_not_authorised",
        ActionNotAllowed => "login.action_not_allowed",
        RoleNotAllowed => "login.role_not_allowed",
        NotStaffCertificate => "login.not_staff_certificate",
        NotServerCertificate => "login.not_server_certificate",
        Revoked => "login.revoked",
        CrlRollback => "login.crl_rollback",
        CrlSignature => "login.crl_signature",
        CrlStale => "login.crl_stale",
        CrlMissing => "login.crl_missing",
        LineageMismatch => "login.lineage_mismatch",
        DeviceMismatch => "login.device_mismatch",
        NonceMismatch => "login.nonce_mismatch",
        TranscriptExpired => "login.transcript_expired",
        CertificateMismatch => "login.certificate_mismatch",
        TranscriptDeviceMismatch => "login.transcript_device_mismatch",
        OriginMismatch => "login.origin_mismatch",
    }
}

family! {
    /// The certificate's purpose or role does not allow the action.
    ForbiddenErrorCode from PkiCode {
        Malformed => "forbidden.malformed",
        InvalidKey => "forbidden.invalid_key",
        BadSignature => "forbidden.bad_signature",
        UnsupportedAlgorithm => "forbidden.unsupported_algorithm",
        ContextTooLong => "forbidden.context_too_long",
        SealOpen => "forbidden.seal_open",
        InvalidExtension => "forbidden.invalid_extension",
        InvalidRequest => "forbidden.invalid_request",
        RootNotPinned => "forbidden.root_not_pinned",
        ChainTooLong => "forbidden.chain_too_long",
        ChainSignature => "forbidden.chain_signature",
        IssuerNameMismatch => "forbidden.issuer_name_mismatch",
        KeyIdMismatch => "forbidden.key_id_mismatch",
        NotYetValid => "forbidden.not_yet_valid",
        Expired => "forbidden.expired",
        NotCa => "forbidden.not_ca",
        PathLenExceeded => "forbidden.path_len_exceeded",
        IssuerNotAuthorised => "forbidden.issuer_not_authorised",
        ActionNotAllowed => "forbidden.action_not_allowed",
        RoleNotAllowed => "forbidden.role_not_allowed",
        NotStaffCertificate => "forbidden.not_staff_certificate",
        NotServerCertificate => "forbidden.not_server_certificate",
        Revoked => "forbidden.revoked",
        CrlRollback => "forbidden.crl_rollback",
        CrlSignature => "forbidden.crl_signature",
        CrlStale => "forbidden.crl_stale",
        CrlMissing => "forbidden.crl_missing",
        LineageMismatch => "forbidden.lineage_mismatch",
        DeviceMismatch => "forbidden.device_mismatch",
        NonceMismatch => "forbidden.nonce_mismatch",
        TranscriptExpired => "forbidden.transcript_expired",
        CertificateMismatch => "forbidden.certificate_mismatch",
        TranscriptDeviceMismatch => "forbidden.transcript_device_mismatch",
        OriginMismatch => "forbidden.origin_mismatch",
    }
}

family! {
    /// The ledger or storage refused.
    StoreErrorCode from StoreCode {
        InvalidAmount => "store.invalid_amount",
        InsufficientFunds => "store.insufficient_funds",
        CurrencyMismatch => "store.currency_mismatch",
        WrongAccountKinds => "store.wrong_account_kinds",
        SameAccount => "store.same_account",
        AccountClosed => "store.account_closed",
        Overflow => "store.overflow",
        SelfApproval => "store.self_approval",
        ApproverNotManager => "store.approver_not_manager",
        NotPending => "store.not_pending",
        Expired => "store.expired",
        InvalidRequest => "store.invalid_request",
        IdempotencyConflict => "store.idempotency_conflict",
        NotFound => "store.not_found",
        DrawerState => "store.drawer_state",
        Transient => "store.transient",
        Busy => "store.busy",
        AppendOnly => "store.append_only",
        Stale => "store.stale",
        CacheUnproven => "store.cache_unproven",
        Signing => "store.signing",
        Database => "store.database",
        Migration => "store.migration",
        SchemaOutdated => "store.schema_outdated",
        SchemaUnknown => "store.schema_unknown",
    }
}

family! {
    /// A signed request refused before its certificate was asked (the server's path).
    RequestErrorCode from RequestCode {
        Malformed => "request.malformed",
        TooLarge => "request.too_large",
        RouteUnknown => "request.route_unknown",
        RouteMismatch => "request.route_mismatch",
        BodyAltered => "request.body_altered",
        Unsigned => "request.unsigned",
        Replayed => "request.replayed",
        Stale => "request.stale",
        Method => "request.method",
        ContentType => "request.content_type",
        Timeout => "request.timeout",
        Busy => "request.busy",
    }
}

family! {
    /// The link to pqbank-server refused or failed (TLS, the server's identity under the
    /// pinned root, the key exchange).
    TransportErrorCode from NetCode {
        ServerKeyUnvouched => "transport.server_key_unvouched",
        BundleMalformed => "transport.bundle_malformed",
        RootMismatch => "transport.root_mismatch",
        ServerCertificateRevoked => "transport.server_certificate_revoked",
        ServerCertificateExpired => "transport.server_certificate_expired",
        ServerCertificateNotYetValid => "transport.server_certificate_not_yet_valid",
        ServerCertificateInvalid => "transport.server_certificate_invalid",
        KxNotHybrid => "transport.kx_not_hybrid",
        Tls12Refused => "transport.tls12_refused",
        Handshake => "transport.handshake",
        Timeout => "transport.timeout",
        Io => "transport.io",
        Config => "transport.config",
    }
}

family! {
    /// The workstation's own refusals and failures, before or after the service call.
    WorkstationErrorCode {
        Internal => "internal",
        Io => "io",
        Keyring => "keyring",
        SettingsCorrupt => "settings.corrupt",
        SettingsWrite => "settings.write",
        SetupEnvironment => "setup.environment",
        SetupRootNotFound => "setup.root_not_found",
        SetupUnpinned => "setup.unpinned",
        InputDatabase => "input.database",
        InputServer => "input.server",
        TransportRequest => "transport.request",
        TransportAnswer => "transport.answer",
        TransportSessionUnsealed => "transport.session_unsealed",
        InputRoot => "input.root",
        InputFingerprint => "input.fingerprint",
        InputCurrency => "input.currency",
        InputAmount => "input.amount",
        InputHash => "input.hash",
        DeviceUnknown => "device.unknown",
        EnrolmentUnknown => "enrolment.unknown",
    }
}

/// Every code the window can receive: on the wire the family's text (`untagged`), in
/// TypeScript the union of the families' literals.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Type)]
#[serde(untagged)]
pub enum ErrorCode {
    /// The service's codes without a prefix.
    Service(ServiceErrorCode),
    /// `certificate.*`.
    Certificate(CertificateErrorCode),
    /// `login.*`.
    Login(LoginErrorCode),
    /// `forbidden.*`.
    Forbidden(ForbiddenErrorCode),
    /// `store.*`.
    Store(StoreErrorCode),
    /// `request.*`.
    Request(RequestErrorCode),
    /// `transport.*`: the link to pqbank-server.
    Transport(TransportErrorCode),
    /// The workstation's own.
    Workstation(WorkstationErrorCode),
}

impl ErrorCode {
    /// Every code, family by family.
    pub fn all() -> impl Iterator<Item = Self> {
        let service = ServiceErrorCode::ALL.iter().map(|&c| Self::Service(c));
        let certificate = CertificateErrorCode::ALL
            .iter()
            .map(|&c| Self::Certificate(c));
        let login = LoginErrorCode::ALL.iter().map(|&c| Self::Login(c));
        let forbidden = ForbiddenErrorCode::ALL.iter().map(|&c| Self::Forbidden(c));
        let store = StoreErrorCode::ALL.iter().map(|&c| Self::Store(c));
        let request = RequestErrorCode::ALL.iter().map(|&c| Self::Request(c));
        let transport = TransportErrorCode::ALL.iter().map(|&c| Self::Transport(c));
        let workstation = WorkstationErrorCode::ALL
            .iter()
            .map(|&c| Self::Workstation(c));
        service
            .chain(certificate)
            .chain(login)
            .chain(forbidden)
            .chain(store)
            .chain(request)
            .chain(transport)
            .chain(workstation)
    }

    /// The code as the window receives it.
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Service(c) => c.as_str(),
            Self::Certificate(c) => c.as_str(),
            Self::Login(c) => c.as_str(),
            Self::Forbidden(c) => c.as_str(),
            Self::Store(c) => c.as_str(),
            Self::Request(c) => c.as_str(),
            Self::Transport(c) => c.as_str(),
            Self::Workstation(c) => c.as_str(),
        }
    }
}

impl core::fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Every code `ServiceError` can produce has its window code: this match is exhaustive
/// (no wildcard) over a code enum that is not `non_exhaustive`, down to the PKI's and
/// the store's codes, so a new service code fails to compile here until it has one. No
/// test could add to that; `tests::service_codes_keep_their_wire_text` checks the text.
impl From<ServiceCode> for ErrorCode {
    fn from(code: ServiceCode) -> Self {
        use ServiceErrorCode as S;
        match code {
            ServiceCode::SessionEnded => Self::Service(S::SessionEnded),
            ServiceCode::Certificate(c) => Self::Certificate(c.into()),
            ServiceCode::Login(c) => Self::Login(c.into()),
            ServiceCode::ChallengeUsed => Self::Service(S::ChallengeUsed),
            ServiceCode::Forbidden(c) => Self::Forbidden(c.into()),
            ServiceCode::UnknownCertificate => Self::Service(S::UnknownCertificate),
            ServiceCode::Store(c) => Self::Store(c.into()),
            ServiceCode::Audit => Self::Service(S::Audit),
            ServiceCode::Enrolment => Self::Service(S::Enrolment),
            ServiceCode::Device => Self::Service(S::Device),
            ServiceCode::CrlPins => Self::Service(S::CrlPins),
            ServiceCode::Request(c) => Self::Request(c.into()),
            ServiceCode::DrawerNotYours => Self::Service(S::DrawerNotYours),
            ServiceCode::NoDrawer => Self::Service(S::NoDrawer),
        }
    }
}

impl ErrorCode {
    /// The code a text names: what pqbank-server and the client send; `None` for a text
    /// no code has (a newer server's).
    #[must_use]
    pub fn parse(text: &str) -> Option<Self> {
        serde_json::from_value(serde_json::Value::String(text.to_owned())).ok()
    }
}

impl From<ServiceErrorCode> for ErrorCode {
    fn from(code: ServiceErrorCode) -> Self {
        Self::Service(code)
    }
}

impl From<WorkstationErrorCode> for ErrorCode {
    fn from(code: WorkstationErrorCode) -> Self {
        Self::Workstation(code)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The service code behind each unprefixed window code (exhaustive, like the way in).
    fn service_code(code: ServiceErrorCode) -> ServiceCode {
        match code {
            ServiceErrorCode::SessionEnded => ServiceCode::SessionEnded,
            ServiceErrorCode::ChallengeUsed => ServiceCode::ChallengeUsed,
            ServiceErrorCode::UnknownCertificate => ServiceCode::UnknownCertificate,
            ServiceErrorCode::Audit => ServiceCode::Audit,
            ServiceErrorCode::Enrolment => ServiceCode::Enrolment,
            ServiceErrorCode::Device => ServiceCode::Device,
            ServiceErrorCode::CrlPins => ServiceCode::CrlPins,
            ServiceErrorCode::DrawerNotYours => ServiceCode::DrawerNotYours,
            ServiceErrorCode::NoDrawer => ServiceCode::NoDrawer,
        }
    }

    /// Proves each window code that comes from the service is spelt as the service's
    /// `ServiceError::code` text (what the window received before it was typed), and
    /// maps back to the same window code.
    #[test]
    fn service_codes_keep_their_wire_text() {
        let mut service: Vec<ServiceCode> = ServiceErrorCode::ALL
            .iter()
            .map(|&c| service_code(c))
            .collect();
        for &c in CertificateErrorCode::ALL {
            service.push(ServiceCode::Certificate(c.into()));
        }
        for &c in LoginErrorCode::ALL {
            service.push(ServiceCode::Login(c.into()));
        }
        for &c in ForbiddenErrorCode::ALL {
            service.push(ServiceCode::Forbidden(c.into()));
        }
        for &c in StoreErrorCode::ALL {
            service.push(ServiceCode::Store(c.into()));
        }
        for &c in RequestErrorCode::ALL {
            service.push(ServiceCode::Request(c.into()));
        }
        for code in service {
            let window = ErrorCode::from(code);
            assert_eq!(window.as_str(), code.to_string(), "{code:?}");
            assert!(!matches!(window, ErrorCode::Workstation(_)), "{code:?}");
        }
    }

    /// Proves every code serialises as its text and back, and no two codes share a text
    /// (the window tells them apart by text alone).
    #[test]
    fn every_code_round_trips_through_its_text() {
        let mut texts = std::collections::BTreeSet::new();
        for code in ErrorCode::all() {
            let json = serde_json::to_value(code).unwrap();
            assert_eq!(json, code.as_str());
            assert_eq!(serde_json::from_value::<ErrorCode>(json).unwrap(), code);
            assert!(texts.insert(code.as_str()), "{code} twice");
        }
        assert!(serde_json::from_value::<ErrorCode>("store.nonsense".into()).is_err());
    }
}
