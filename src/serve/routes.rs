//! The routes, the bearer-token check and the access log.

use super::error::ApiError;
use super::request::parse_request;
use super::state::{AnswerSource, ServeState};
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::middleware::{from_fn_with_state, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use std::sync::Arc;
use std::time::Instant;
use subtle::ConstantTimeEq;

/// What a handler tells the access log about its request.
#[derive(Debug, Clone, Default)]
struct LogFields {
    content_id: Option<String>,
    source: Option<&'static str>,
    error_kind: Option<String>,
}

/// The request's ID, given by the access log to the handler.
#[derive(Debug, Clone, Copy)]
struct RequestId(u64);

/// The service: `POST /store_video_frames`, `GET /healthz`, `/readyz`, `/metrics`.
pub fn app(state: Arc<ServeState>) -> Router {
    let guarded = Router::new()
        .route("/store_video_frames", post(store_video_frames))
        .route("/metrics", get(metrics))
        .route_layer(from_fn_with_state(Arc::clone(&state), require_token));
    Router::new()
        .merge(guarded)
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .fallback(no_route)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(from_fn_with_state(Arc::clone(&state), access_log))
        .with_state(state)
}

/// The route label of a path in metrics and logs (unknown paths share one label).
fn route_of(path: &str) -> &'static str {
    match path {
        "/store_video_frames" => "store_video_frames",
        "/healthz" => "healthz",
        "/readyz" => "readyz",
        "/metrics" => "metrics",
        _ => "other",
    }
}

async fn access_log(
    State(state): State<Arc<ServeState>>,
    mut request: Request,
    next: Next,
) -> Response {
    let started = Instant::now();
    let id = state.next_request_id();
    let method = request.method().clone();
    let path = request.uri().path().to_string();
    request.extensions_mut().insert(RequestId(id));
    let mut response = next.run(request).await;
    let fields = response
        .extensions_mut()
        .remove::<LogFields>()
        .unwrap_or_default();
    let status = response.status().as_u16();
    let route = route_of(&path);
    state.metrics.request(route, status);
    response
        .headers_mut()
        .insert("x-request-id", HeaderValue::from(id));
    tracing::info!(
        target: "reelframe::access",
        id,
        method = %method,
        route,
        status,
        ms = started.elapsed().as_millis() as u64,
        content_id = fields.content_id.as_deref().unwrap_or("-"),
        source = fields.source.unwrap_or("-"),
        error = fields.error_kind.as_deref().unwrap_or("-"),
        "request"
    );
    response
}

/// Whether `presented` equals `expected`, in time independent of where they differ (both are
/// hashed first, so the length does not leak either).
pub fn token_matches(presented: &str, expected: &str) -> bool {
    let a = blake3::hash(presented.as_bytes());
    let b = blake3::hash(expected.as_bytes());
    a.as_bytes().ct_eq(b.as_bytes()).into()
}

async fn require_token(
    State(state): State<Arc<ServeState>>,
    request: Request,
    next: Next,
) -> Response {
    if let Some(expected) = &state.settings.token {
        let presented = request
            .headers()
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| {
                v.strip_prefix("Bearer ")
                    .or_else(|| v.strip_prefix("bearer "))
            });
        let allowed = presented.is_some_and(|p| token_matches(p.trim(), expected));
        if !allowed {
            return ApiError::new(
                StatusCode::UNAUTHORIZED,
                "unauthorized",
                "a valid bearer token is required: send Authorization: Bearer <the server's --token>",
            )
            .into_response();
        }
    }
    next.run(request).await
}

fn is_json(headers: &HeaderMap) -> bool {
    match headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
    {
        None => true,
        Some(value) => {
            let mime = value.split(';').next().unwrap_or_default().trim();
            mime.eq_ignore_ascii_case("application/json")
        }
    }
}

async fn store_video_frames(
    State(state): State<Arc<ServeState>>,
    axum::Extension(RequestId(id)): axum::Extension<RequestId>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let mut fields = LogFields::default();
    let result = answer(&state, id, &headers, body, &mut fields).await;
    let mut response = match result {
        Ok((answer, source)) => {
            let body = serde_json::to_vec(&*answer).expect("answers serialise");
            let mut response = (
                [(
                    header::CONTENT_TYPE,
                    HeaderValue::from_static("application/json"),
                )],
                body,
            )
                .into_response();
            response.headers_mut().insert(
                "x-reelframe-source",
                HeaderValue::from_static(source.name()),
            );
            fields.source = Some(source.name());
            response
        }
        Err(err) => {
            fields.error_kind = Some(err.kind.clone());
            err.into_response()
        }
    };
    response.extensions_mut().insert(fields);
    response
}

async fn answer(
    state: &Arc<ServeState>,
    id: u64,
    headers: &HeaderMap,
    body: Body,
    fields: &mut LogFields,
) -> Result<(super::state::Answer, AnswerSource), ApiError> {
    if !is_json(headers) {
        return Err(ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
            "the body must be JSON: send Content-Type: application/json",
        ));
    }
    let limit = state.settings.max_body;
    let too_large = || {
        ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "body_too_large",
            format!("the request body is larger than {limit} bytes (--max-body): send only the fields of the request"),
        )
    };
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > limit as u64) {
        return Err(too_large());
    }
    let bytes = axum::body::to_bytes(body, limit)
        .await
        .map_err(|_| too_large())?;
    let request = parse_request(
        &bytes,
        state.extractor().options(),
        &state.settings.allow_roots,
    )?;
    fields.content_id = Some(request.content_id.clone());
    let (result, source) = state.answer(request, id).await;
    fields.source = Some(source.name());
    result.map(|answer| (answer, source))
}

async fn healthz() -> Response {
    axum::Json(serde_json::json!({"status": "ok"})).into_response()
}

async fn readyz(State(state): State<Arc<ServeState>>) -> Response {
    if state.stopping() {
        return ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "stopping",
            "the server is shutting down",
        )
        .into_response();
    }
    match state.ready().await {
        Ok(()) => axum::Json(serde_json::json!({"status": "ready"})).into_response(),
        Err(why) => ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "store_unreachable",
            format!("the store cannot be reached: {why}"),
        )
        .into_response(),
    }
}

async fn metrics(State(state): State<Arc<ServeState>>) -> Response {
    (
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/plain; version=0.0.4"),
        )],
        state.metrics.render(),
    )
        .into_response()
}

async fn no_route() -> Response {
    ApiError::new(
        StatusCode::NOT_FOUND,
        "no_route",
        "no such route: use POST /store_video_frames, GET /healthz, /readyz or /metrics",
    )
    .into_response()
}

async fn method_not_allowed() -> Response {
    ApiError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "method_not_allowed",
        "wrong method: POST /store_video_frames; GET /healthz, /readyz, /metrics",
    )
    .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_compare_by_value() {
        assert!(token_matches("s3cret", "s3cret"));
        assert!(!token_matches("s3cre", "s3cret"));
        assert!(!token_matches("", "s3cret"));
    }
}
