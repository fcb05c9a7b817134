//! The service's errors: `{"error": {"kind", "message"}}` with an HTTP status, and the status each
//! item error kind maps to.

use crate::error::{ErrorKind, ItemError};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::json;

/// An error answer: status, a stable snake_case kind, a message for people, and for 503 the
/// seconds after which to retry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    /// The HTTP status.
    pub status: StatusCode,
    /// The machine-readable kind: an item error kind (`not_found`, `corrupt_data`, …) or one of
    /// the service's own (`invalid_request`, `saturated`, `unauthorized`, …).
    pub kind: String,
    /// One line naming the cause and the fix.
    pub message: String,
    /// `Retry-After` seconds (503 only).
    pub retry_after: Option<u64>,
}

impl ApiError {
    /// An error with `status`, `kind` and `message`.
    pub fn new(status: StatusCode, kind: &str, message: impl Into<String>) -> ApiError {
        ApiError {
            status,
            kind: kind.to_string(),
            message: message.into(),
            retry_after: None,
        }
    }

    /// 400 for a bad request body; the message starts with the field's name.
    pub fn bad_field(field: &str, why: impl std::fmt::Display) -> ApiError {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            format!("{field}: {why}"),
        )
    }

    /// 503: every extraction slot and queue place is taken; retry after `seconds`.
    pub fn saturated(seconds: u64) -> ApiError {
        ApiError {
            retry_after: Some(seconds),
            ..ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "saturated",
                "the server is busy (every extraction slot and queue place is taken): retry later",
            )
        }
    }

    /// 504: the request's deadline passed.
    pub fn deadline(seconds: f64) -> ApiError {
        ApiError::new(
            StatusCode::GATEWAY_TIMEOUT,
            "timeout",
            format!("no answer within the {seconds:.0} s request deadline (--request-timeout): retry, or raise the deadline"),
        )
    }
}

/// The status an item error answers with (see the README's table).
pub fn status_of(kind: ErrorKind) -> StatusCode {
    use ErrorKind::*;
    match kind {
        InvalidInput | UnsupportedScheme | UrlNotAllowed => StatusCode::BAD_REQUEST,
        NotFound | AccessDenied | ConnectionFailed | ConnectTimeout | TooManyRedirects | Io => {
            StatusCode::NOT_FOUND
        }
        HttpStatus | ReadTimeout | IncompleteBody => StatusCode::BAD_GATEWAY,
        TooLarge | FrameTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
        EmptyFile | Unreadable | NotVideo | NoVideoStream | UnsupportedCodec => {
            StatusCode::UNSUPPORTED_MEDIA_TYPE
        }
        Truncated | CorruptData | DecodeFailed | NoFrames => StatusCode::UNPROCESSABLE_ENTITY,
        FetchDeadline | Timeout => StatusCode::GATEWAY_TIMEOUT,
        Duplicate => StatusCode::CONFLICT,
        EncodeFailed | StoreFailed | DecoderCrashed | Internal => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

impl From<&ItemError> for ApiError {
    fn from(err: &ItemError) -> ApiError {
        let message = match err.kind {
            ErrorKind::InvalidInput | ErrorKind::UnsupportedScheme | ErrorKind::UrlNotAllowed => {
                format!("video_uri: {}", err.message)
            }
            _ => err.message.clone(),
        };
        ApiError::new(status_of(err.kind), &err.kind.name(), message)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = json!({"error": {"kind": self.kind, "message": self.message}});
        let mut response = (self.status, axum::Json(body)).into_response();
        if let Some(seconds) = self.retry_after {
            response.headers_mut().insert(
                header::RETRY_AFTER,
                HeaderValue::from_str(&seconds.to_string()).expect("digits"),
            );
        }
        if self.status == StatusCode::UNAUTHORIZED {
            response
                .headers_mut()
                .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        response
    }
}
