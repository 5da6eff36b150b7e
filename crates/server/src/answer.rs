//! Answers: a JSON body, or an error body with the HTTP status its code belongs to.

use bytes::Bytes;
use http_body_util::Full;
use hyper::header::{CONTENT_TYPE, HeaderValue};
use hyper::{Response, StatusCode};
use pqbank_api::wire::{CONTENT_TYPE as JSON, ErrorBody};
use pqbank_api::{RequestCode, RequestError};
use pqbank_service::ServiceError;
use serde::Serialize;

/// The response type of every call.
pub type Answer = Response<Full<Bytes>>;

/// A refusal or failure with its wire code.
#[derive(Debug)]
pub struct Refusal {
    /// The code, e.g. `request.too_large`.
    pub code: String,
    /// The sentence.
    pub message: String,
}

impl From<RequestError> for Refusal {
    fn from(e: RequestError) -> Self {
        Self {
            code: e.code.to_string(),
            message: e.reason.to_owned(),
        }
    }
}

impl From<RequestCode> for Refusal {
    fn from(code: RequestCode) -> Self {
        let message = match code {
            RequestCode::Method => "only POST is served",
            RequestCode::ContentType => "the body must be application/json",
            RequestCode::Timeout => "the request took too long",
            RequestCode::Busy => "too many requests; wait and try again",
            RequestCode::TooLarge => "the request is too large",
            RequestCode::RouteUnknown => "no such route",
            RequestCode::Unsigned => "the request carries no signed header",
            _ => "the request was refused",
        };
        Self {
            code: code.to_string(),
            message: message.to_owned(),
        }
    }
}

impl From<ServiceError> for Refusal {
    fn from(e: ServiceError) -> Self {
        // A store failure's detail can name tables and SQL: the log keeps it, the wire
        // carries the code alone.
        let code = e.code();
        if let ServiceError::Store(s) = &e {
            pqbank_service::log_store_error(s);
        }
        let message = if status_of(&code) == StatusCode::INTERNAL_SERVER_ERROR {
            "the bank could not complete the call; its log says why".to_owned()
        } else {
            e.to_string()
        };
        Self { code, message }
    }
}

impl Refusal {
    /// A refusal of a body that is not the JSON the route takes.
    #[must_use]
    pub fn malformed(what: &str) -> Self {
        Self {
            code: RequestCode::Malformed.to_string(),
            message: format!("the body is not {what}"),
        }
    }

    /// The HTTP status of the code.
    #[must_use]
    pub fn status(&self) -> StatusCode {
        status_of(&self.code)
    }

    /// The error answer.
    #[must_use]
    pub fn answer(self) -> Answer {
        let status = self.status();
        json(
            status,
            &ErrorBody {
                code: self.code,
                message: self.message,
            },
        )
    }
}

/// The HTTP status a code is given: what kind of refusal it is, for proxies and logs;
/// clients read the code.
#[must_use]
pub fn status_of(code: &str) -> StatusCode {
    let (family, rest) = code.split_once('.').unwrap_or((code, ""));
    match (family, rest) {
        ("request", "too_large") => StatusCode::PAYLOAD_TOO_LARGE,
        ("request", "content_type") => StatusCode::UNSUPPORTED_MEDIA_TYPE,
        ("request", "route_unknown") => StatusCode::NOT_FOUND,
        ("request", "method") => StatusCode::METHOD_NOT_ALLOWED,
        ("request", "timeout") => StatusCode::REQUEST_TIMEOUT,
        ("request", "busy") => StatusCode::TOO_MANY_REQUESTS,
        ("request", "replayed") => StatusCode::CONFLICT,
        ("request", "unsigned" | "stale") => StatusCode::UNAUTHORIZED,
        ("request", _) => StatusCode::BAD_REQUEST,
        (
            "session_ended" | "challenge_used" | "unknown_certificate" | "certificate" | "login",
            _,
        ) => StatusCode::UNAUTHORIZED,
        ("forbidden" | "drawer", _) => StatusCode::FORBIDDEN,
        ("store", "stale" | "idempotency_conflict") => StatusCode::CONFLICT,
        ("store", "transient" | "busy") => StatusCode::SERVICE_UNAVAILABLE,
        (
            "store",
            "database" | "migration" | "signing" | "cache_unproven" | "schema_outdated"
            | "schema_unknown",
        ) => StatusCode::INTERNAL_SERVER_ERROR,
        ("store", _) => StatusCode::UNPROCESSABLE_ENTITY,
        _ => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

/// A JSON answer.
pub fn json<T: Serialize>(status: StatusCode, body: &T) -> Answer {
    let bytes = serde_json::to_vec(body).unwrap_or_else(|_| b"{}".to_vec());
    let mut answer = Response::new(Full::new(Bytes::from(bytes)));
    *answer.status_mut() = status;
    answer
        .headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static(JSON));
    answer
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_family_has_its_status() {
        for (code, status) in [
            ("request.too_large", 413),
            ("request.content_type", 415),
            ("request.route_unknown", 404),
            ("request.malformed", 400),
            ("request.replayed", 409),
            ("request.busy", 429),
            ("session_ended", 401),
            ("certificate.revoked", 401),
            ("forbidden.action_not_allowed", 403),
            ("drawer.not_yours", 403),
            ("store.insufficient_funds", 422),
            ("store.database", 500),
            ("internal", 500),
        ] {
            assert_eq!(status_of(code).as_u16(), status, "{code}");
        }
    }
}
