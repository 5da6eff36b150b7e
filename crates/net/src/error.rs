//! The transport's errors and their stable codes.

use std::sync::Arc;

/// Everything the transport refuses or fails at.
///
/// The refusals of the server's identity each name their reason: the client holds every
/// input (the pin and what the server sent), so there is no oracle to protect.
#[non_exhaustive]
#[derive(Debug, Clone, thiserror::Error)]
pub enum Error {
    /// The server's TLS key is not the one a server certificate vouches for (or its TLS
    /// certificate carries no vouching bundle at all).
    #[error("the server's TLS key is not vouched for by a certificate of this bank")]
    ServerKeyUnvouched,
    /// The vouching bundle in the server's TLS certificate is not well formed.
    #[error("the server's TLS certificate is malformed: {0}")]
    BundleMalformed(pqbank_pki::Error),
    /// The bundle's root certificate is not the one this installation pins.
    #[error("the server's root certificate is not this installation's pinned root")]
    RootMismatch,
    /// The server certificate is on the root's CRL.
    #[error("the server certificate is revoked ({reason})")]
    ServerCertificateRevoked {
        /// The CRL's reason, in RFC 5280 words.
        reason: String,
    },
    /// The server certificate's notAfter has passed.
    #[error("the server certificate has expired")]
    ServerCertificateExpired,
    /// The server certificate's notBefore has not come yet.
    #[error("the server certificate is not valid yet")]
    ServerCertificateNotYetValid,
    /// The server certificate does not validate under the pinned root for another reason.
    #[error("the server certificate does not validate under the pinned root: {0}")]
    ServerCertificateInvalid(pqbank_pki::Error),
    /// The key exchange is not X25519MLKEM768 (or the peer offered no hybrid group).
    #[error("the key exchange is not the hybrid X25519MLKEM768")]
    KxNotHybrid,
    /// The peer asked for TLS 1.2; pqbank speaks TLS 1.3 only.
    #[error("TLS 1.2 is refused: TLS 1.3 only")]
    Tls12Refused,
    /// Any other TLS failure (an alert from the peer, a protocol error).
    #[error("TLS handshake failed: {0}")]
    Handshake(rustls::Error),
    /// The handshake did not finish within [`crate::HANDSHAKE_TIMEOUT_MS`].
    #[error("TLS handshake timed out")]
    Timeout,
    /// The connection failed below TLS.
    #[error("connection failed: {0}")]
    Io(Arc<std::io::Error>),
    /// A key or certificate could not be made or loaded.
    #[error("TLS configuration: {0}")]
    Config(String),
}

/// The code of an [`Error`]: not `non_exhaustive`, so a new code breaks every exhaustive
/// mapping of it at compile time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Code {
    /// `transport.server_key_unvouched`.
    ServerKeyUnvouched,
    /// `transport.bundle_malformed`.
    BundleMalformed,
    /// `transport.root_mismatch`.
    RootMismatch,
    /// `transport.server_certificate_revoked`.
    ServerCertificateRevoked,
    /// `transport.server_certificate_expired`.
    ServerCertificateExpired,
    /// `transport.server_certificate_not_yet_valid`.
    ServerCertificateNotYetValid,
    /// `transport.server_certificate_invalid`.
    ServerCertificateInvalid,
    /// `transport.kx_not_hybrid`.
    KxNotHybrid,
    /// `transport.tls12_refused`.
    Tls12Refused,
    /// `transport.handshake`.
    Handshake,
    /// `transport.timeout`.
    Timeout,
    /// `transport.io`.
    Io,
    /// `transport.config`.
    Config,
}

impl Code {
    /// Every code.
    pub const ALL: &'static [Self] = &[
        Self::ServerKeyUnvouched,
        Self::BundleMalformed,
        Self::RootMismatch,
        Self::ServerCertificateRevoked,
        Self::ServerCertificateExpired,
        Self::ServerCertificateNotYetValid,
        Self::ServerCertificateInvalid,
        Self::KxNotHybrid,
        Self::Tls12Refused,
        Self::Handshake,
        Self::Timeout,
        Self::Io,
        Self::Config,
    ];

    /// The stable text.
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::ServerKeyUnvouched => "transport.server_key_unvouched",
            Self::BundleMalformed => "transport.bundle_malformed",
            Self::RootMismatch => "transport.root_mismatch",
            Self::ServerCertificateRevoked => "transport.server_certificate_revoked",
            Self::ServerCertificateExpired => "transport.server_certificate_expired",
            Self::ServerCertificateNotYetValid => "transport.server_certificate_not_yet_valid",
            Self::ServerCertificateInvalid => "transport.server_certificate_invalid",
            Self::KxNotHybrid => "transport.kx_not_hybrid",
            Self::Tls12Refused => "transport.tls12_refused",
            Self::Handshake => "transport.handshake",
            Self::Timeout => "transport.timeout",
            Self::Io => "transport.io",
            Self::Config => "transport.config",
        }
    }
}

impl Error {
    /// The code as a value, for callers that map it exhaustively.
    #[must_use]
    pub fn kind(&self) -> Code {
        match self {
            Self::ServerKeyUnvouched => Code::ServerKeyUnvouched,
            Self::BundleMalformed(_) => Code::BundleMalformed,
            Self::RootMismatch => Code::RootMismatch,
            Self::ServerCertificateRevoked { .. } => Code::ServerCertificateRevoked,
            Self::ServerCertificateExpired => Code::ServerCertificateExpired,
            Self::ServerCertificateNotYetValid => Code::ServerCertificateNotYetValid,
            Self::ServerCertificateInvalid(_) => Code::ServerCertificateInvalid,
            Self::KxNotHybrid => Code::KxNotHybrid,
            Self::Tls12Refused => Code::Tls12Refused,
            Self::Handshake(_) => Code::Handshake,
            Self::Timeout => Code::Timeout,
            Self::Io(_) => Code::Io,
            Self::Config(_) => Code::Config,
        }
    }

    /// A stable machine-readable code, for the log, JSON and the UI.
    #[must_use]
    pub fn code(&self) -> &'static str {
        self.kind().as_str()
    }

    /// The refusal of a server certificate that failed validation under the pin.
    pub(crate) fn from_validation(e: pqbank_pki::Error) -> Self {
        match e {
            pqbank_pki::Error::RootNotPinned => Self::RootMismatch,
            pqbank_pki::Error::Revoked { reason, .. } => Self::ServerCertificateRevoked { reason },
            pqbank_pki::Error::Expired { depth: 0 } => Self::ServerCertificateExpired,
            pqbank_pki::Error::NotYetValid { depth: 0 } => Self::ServerCertificateNotYetValid,
            other => Self::ServerCertificateInvalid(other),
        }
    }

    /// This error as rustls carries a verifier's refusal, so it survives the handshake
    /// and [`Self::from_io`] finds it again.
    pub(crate) fn into_rustls(self) -> rustls::Error {
        rustls::Error::InvalidCertificate(rustls::CertificateError::Other(rustls::OtherError(
            Arc::new(self),
        )))
    }

    /// The error behind a failed TLS handshake: the verifier's own refusal if there
    /// was one, the missing hybrid group, else the TLS error as it came.
    pub(crate) fn from_rustls(e: &rustls::Error) -> Self {
        use rustls::{CertificateError, PeerIncompatible};
        match e {
            rustls::Error::InvalidCertificate(CertificateError::Other(other)) => {
                match other.0.downcast_ref::<Self>() {
                    Some(ours) => ours.clone(),
                    None => Self::Handshake(e.clone()),
                }
            }
            rustls::Error::PeerIncompatible(PeerIncompatible::NoKxGroupsInCommon) => {
                Self::KxNotHybrid
            }
            // A server seeing a client without TLS 1.3, a client seeing a server choose 1.2.
            rustls::Error::PeerIncompatible(
                PeerIncompatible::Tls12NotOfferedOrEnabled
                | PeerIncompatible::SupportedVersionsExtensionRequired
                | PeerIncompatible::ServerTlsVersionIsDisabledByOurConfig,
            ) => Self::Tls12Refused,
            other => Self::Handshake(other.clone()),
        }
    }

    /// The error behind an I/O error from tokio-rustls, which wraps rustls' own.
    pub(crate) fn from_io(e: std::io::Error) -> Self {
        match e
            .get_ref()
            .and_then(|inner| inner.downcast_ref::<rustls::Error>())
        {
            Some(tls) => Self::from_rustls(tls),
            None => Self::Io(Arc::new(e)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Proves every code is distinct and in the transport family.
    #[test]
    fn codes_are_distinct_and_prefixed() {
        let mut seen = std::collections::BTreeSet::new();
        for code in Code::ALL {
            assert!(code.as_str().starts_with("transport."));
            assert!(seen.insert(code.as_str()));
        }
    }

    /// Proves a verifier's refusal survives the round trip through rustls and I/O.
    #[test]
    fn refusal_survives_rustls_and_io() {
        let io = std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            Error::RootMismatch.into_rustls(),
        );
        assert_eq!(Error::from_io(io).kind(), Code::RootMismatch);
    }
}
