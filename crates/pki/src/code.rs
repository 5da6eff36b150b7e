//! The codes of [`Error`] as values.

use crate::Error;

/// The code of an [`Error`]: not `non_exhaustive`, so that a new code breaks every
/// exhaustive mapping of it (the window's messages among them) at compile time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ErrorCode {
    /// `malformed`.
    Malformed,
    /// `invalid_key`.
    InvalidKey,
    /// `bad_signature`.
    BadSignature,
    /// `unsupported_algorithm`.
    UnsupportedAlgorithm,
    /// `context_too_long`.
    ContextTooLong,
    /// `seal_open`.
    SealOpen,
    /// `invalid_extension`.
    InvalidExtension,
    /// `invalid_request`.
    InvalidRequest,
    /// `root_not_pinned`.
    RootNotPinned,
    /// `chain_too_long`.
    ChainTooLong,
    /// `chain_signature`.
    ChainSignature,
    /// `issuer_name_mismatch`.
    IssuerNameMismatch,
    /// `key_id_mismatch`.
    KeyIdMismatch,
    /// `not_yet_valid`.
    NotYetValid,
    /// `expired`.
    Expired,
    /// `not_ca`.
    NotCa,
    /// `path_len_exceeded`.
    PathLenExceeded,
    /// `issuer_not_authorised`.
    IssuerNotAuthorised,
    /// `action_not_allowed`.
    ActionNotAllowed,
    /// `role_not_allowed`.
    RoleNotAllowed,
    /// `not_staff_certificate`.
    NotStaffCertificate,
    /// `not_server_certificate`.
    NotServerCertificate,
    /// `revoked`.
    Revoked,
    /// `crl_rollback`.
    CrlRollback,
    /// `crl_signature`.
    CrlSignature,
    /// `crl_stale`.
    CrlStale,
    /// `crl_missing`.
    CrlMissing,
    /// `lineage_mismatch`.
    LineageMismatch,
    /// `device_mismatch`.
    DeviceMismatch,
    /// `nonce_mismatch`.
    NonceMismatch,
    /// `transcript_expired`.
    TranscriptExpired,
    /// `certificate_mismatch`.
    CertificateMismatch,
    /// `transcript_device_mismatch`.
    TranscriptDeviceMismatch,
    /// `origin_mismatch`.
    OriginMismatch,
}

impl ErrorCode {
    /// Every code.
    pub const ALL: &'static [Self] = &[
        Self::Malformed,
        Self::InvalidKey,
        Self::BadSignature,
        Self::UnsupportedAlgorithm,
        Self::ContextTooLong,
        Self::SealOpen,
        Self::InvalidExtension,
        Self::InvalidRequest,
        Self::RootNotPinned,
        Self::ChainTooLong,
        Self::ChainSignature,
        Self::IssuerNameMismatch,
        Self::KeyIdMismatch,
        Self::NotYetValid,
        Self::Expired,
        Self::NotCa,
        Self::PathLenExceeded,
        Self::IssuerNotAuthorised,
        Self::ActionNotAllowed,
        Self::RoleNotAllowed,
        Self::NotStaffCertificate,
        Self::NotServerCertificate,
        Self::Revoked,
        Self::CrlRollback,
        Self::CrlSignature,
        Self::CrlStale,
        Self::CrlMissing,
        Self::LineageMismatch,
        Self::DeviceMismatch,
        Self::NonceMismatch,
        Self::TranscriptExpired,
        Self::CertificateMismatch,
        Self::TranscriptDeviceMismatch,
        Self::OriginMismatch,
    ];

    /// The stable text.
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Malformed => "malformed",
            Self::InvalidKey => "invalid_key",
            Self::BadSignature => "bad_signature",
            Self::UnsupportedAlgorithm => "unsupported_algorithm",
            Self::ContextTooLong => "context_too_long",
            Self::SealOpen => "seal_open",
            Self::InvalidExtension => "invalid_extension",
            Self::InvalidRequest => "invalid_request",
            Self::RootNotPinned => "root_not_pinned",
            Self::ChainTooLong => "chain_too_long",
            Self::ChainSignature => "chain_signature",
            Self::IssuerNameMismatch => "issuer_name_mismatch",
            Self::KeyIdMismatch => "key_id_mismatch",
            Self::NotYetValid => "not_yet_valid",
            Self::Expired => "expired",
            Self::NotCa => "not_ca",
            Self::PathLenExceeded => "path_len_exceeded",
            Self::IssuerNotAuthorised => "issuer_not_authorised",
            Self::ActionNotAllowed => "action_not_allowed",
            Self::RoleNotAllowed => "role_not_allowed",
            Self::NotStaffCertificate => "not_staff_certificate",
            Self::NotServerCertificate => "not_server_certificate",
            Self::Revoked => "revoked",
            Self::CrlRollback => "crl_rollback",
            Self::CrlSignature => "crl_signature",
            Self::CrlStale => "crl_stale",
            Self::CrlMissing => "crl_missing",
            Self::LineageMismatch => "lineage_mismatch",
            Self::DeviceMismatch => "device_mismatch",
            Self::NonceMismatch => "nonce_mismatch",
            Self::TranscriptExpired => "transcript_expired",
            Self::CertificateMismatch => "certificate_mismatch",
            Self::TranscriptDeviceMismatch => "transcript_device_mismatch",
            Self::OriginMismatch => "origin_mismatch",
        }
    }
}

impl Error {
    /// The code as a value, for callers that map it exhaustively.
    #[must_use]
    pub fn kind(&self) -> ErrorCode {
        match self {
            Self::Malformed(_) => ErrorCode::Malformed,
            Self::InvalidKey => ErrorCode::InvalidKey,
            Self::BadSignature => ErrorCode::BadSignature,
            Self::UnsupportedAlgorithm => ErrorCode::UnsupportedAlgorithm,
            Self::ContextTooLong => ErrorCode::ContextTooLong,
            Self::SealOpen => ErrorCode::SealOpen,
            Self::InvalidExtension(_) => ErrorCode::InvalidExtension,
            Self::InvalidRequest(_) => ErrorCode::InvalidRequest,
            Self::RootNotPinned => ErrorCode::RootNotPinned,
            Self::ChainTooLong => ErrorCode::ChainTooLong,
            Self::ChainSignature { .. } => ErrorCode::ChainSignature,
            Self::IssuerNameMismatch { .. } => ErrorCode::IssuerNameMismatch,
            Self::KeyIdMismatch { .. } => ErrorCode::KeyIdMismatch,
            Self::NotYetValid { .. } => ErrorCode::NotYetValid,
            Self::Expired { .. } => ErrorCode::Expired,
            Self::NotCa { .. } => ErrorCode::NotCa,
            Self::PathLenExceeded { .. } => ErrorCode::PathLenExceeded,
            Self::IssuerNotAuthorised { .. } => ErrorCode::IssuerNotAuthorised,
            Self::ActionNotAllowed { .. } => ErrorCode::ActionNotAllowed,
            Self::RoleNotAllowed { .. } => ErrorCode::RoleNotAllowed,
            Self::NotStaffCertificate => ErrorCode::NotStaffCertificate,
            Self::NotServerCertificate => ErrorCode::NotServerCertificate,
            Self::Revoked { .. } => ErrorCode::Revoked,
            Self::CrlRollback { .. } => ErrorCode::CrlRollback,
            Self::CrlSignature => ErrorCode::CrlSignature,
            Self::CrlStale => ErrorCode::CrlStale,
            Self::CrlMissing { .. } => ErrorCode::CrlMissing,
            Self::LineageMismatch { .. } => ErrorCode::LineageMismatch,
            Self::DeviceMismatch => ErrorCode::DeviceMismatch,
            Self::NonceMismatch => ErrorCode::NonceMismatch,
            Self::TranscriptExpired => ErrorCode::TranscriptExpired,
            Self::CertificateMismatch => ErrorCode::CertificateMismatch,
            Self::TranscriptDeviceMismatch => ErrorCode::TranscriptDeviceMismatch,
            Self::OriginMismatch => ErrorCode::OriginMismatch,
        }
    }
}
