//! Why a request's outside bytes were refused before any key or database was asked.

use core::fmt;

/// The code of a refused request, stable on the wire (`request.<code>`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RequestCode {
    /// `request.malformed`: the header's bytes do not decode.
    Malformed,
    /// `request.too_large`: the body or header is over its limit.
    TooLarge,
    /// `request.route_unknown`: no such route.
    RouteUnknown,
    /// `request.route_mismatch`: the header names another route than the one called.
    RouteMismatch,
    /// `request.body_altered`: the body's hash is not the one signed.
    BodyAltered,
    /// `request.unsigned`: the signature is missing or not a composite signature's size.
    Unsigned,
    /// `request.replayed`: the counter is not above the session's last one (a replayed
    /// or reordered request).
    Replayed,
    /// `request.stale`: the client's clock is too far from the service's.
    Stale,
    /// `request.method`: a route is called with POST only.
    Method,
    /// `request.content_type`: the body is not `application/json`.
    ContentType,
    /// `request.timeout`: the request did not arrive, or was not answered, in time.
    Timeout,
    /// `request.busy`: too many requests from this certificate or address; try later.
    Busy,
}

impl RequestCode {
    /// Every code.
    pub const ALL: &'static [Self] = &[
        Self::Malformed,
        Self::TooLarge,
        Self::RouteUnknown,
        Self::RouteMismatch,
        Self::BodyAltered,
        Self::Unsigned,
        Self::Replayed,
        Self::Stale,
        Self::Method,
        Self::ContentType,
        Self::Timeout,
        Self::Busy,
    ];

    /// The code without its `request.` prefix.
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Malformed => "malformed",
            Self::TooLarge => "too_large",
            Self::RouteUnknown => "route_unknown",
            Self::RouteMismatch => "route_mismatch",
            Self::BodyAltered => "body_altered",
            Self::Unsigned => "unsigned",
            Self::Replayed => "replayed",
            Self::Stale => "stale",
            Self::Method => "method",
            Self::ContentType => "content_type",
            Self::Timeout => "timeout",
            Self::Busy => "busy",
        }
    }
}

impl fmt::Display for RequestCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "request.{}", self.as_str())
    }
}

/// A refused request: its code and what was wrong, for people.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("request refused: {reason}")]
pub struct RequestError {
    /// The stable code.
    pub code: RequestCode,
    /// What was wrong (names no secret and echoes no outside bytes).
    pub reason: &'static str,
}

impl RequestError {
    /// A refusal with its code and reason.
    #[must_use]
    pub const fn new(code: RequestCode, reason: &'static str) -> Self {
        Self { code, reason }
    }
}
