//! Charcoal's HTTP API.
//!
//! For now the two endpoints an orchestrator probes: `/health` (the process
//! is alive: always 200) and `/ready` (it is doing its job: 200, or 503 with
//! a JSON body naming every reason it is not). graphite-web's endpoints
//! (`/render`, `/metrics/find`, ...) join this router with the read path.

#![deny(missing_docs)]

use std::sync::Arc;

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde_json::json;

/// Answers "is the server serving its purpose?": the reasons it is not, or
/// an empty list. Supplied by the binary, which knows every component.
pub type Readiness = Arc<dyn Fn() -> Vec<String> + Send + Sync>;

/// What the handlers share.
#[derive(Clone)]
pub struct AppState {
    /// The readiness check.
    pub readiness: Readiness,
}

impl std::fmt::Debug for AppState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AppState").finish_non_exhaustive()
    }
}

/// The router with every endpoint.
pub fn router(state: AppState) -> Router {
    Router::new()
        .route("/health", get(health))
        .route("/ready", get(ready))
        .with_state(state)
}

async fn health() -> Response {
    (StatusCode::OK, axum::Json(json!({"status": "ok"}))).into_response()
}

async fn ready(State(state): State<AppState>) -> Response {
    let reasons = (state.readiness)();
    if reasons.is_empty() {
        (StatusCode::OK, axum::Json(json!({"status": "ready"}))).into_response()
    } else {
        let body = json!({"status": "not ready", "reasons": reasons});
        (StatusCode::SERVICE_UNAVAILABLE, axum::Json(body)).into_response()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::body::Body;
    use axum::http::Request;
    use std::sync::Mutex;
    use tower::ServiceExt;

    async fn call(app: Router, path: &str) -> (StatusCode, serde_json::Value) {
        let res = app
            .oneshot(Request::get(path).body(Body::empty()).unwrap())
            .await
            .unwrap();
        let status = res.status();
        let bytes = axum::body::to_bytes(res.into_body(), 1 << 20)
            .await
            .unwrap();
        (status, serde_json::from_slice(&bytes).unwrap())
    }

    #[tokio::test]
    async fn ready_follows_the_check_and_health_does_not() {
        let reasons = Arc::new(Mutex::new(vec!["cache full".to_string()]));
        let r = reasons.clone();
        let app = router(AppState {
            readiness: Arc::new(move || r.lock().unwrap().clone()),
        });
        let (status, body) = call(app.clone(), "/ready").await;
        assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(body["reasons"], json!(["cache full"]));
        assert_eq!(call(app.clone(), "/health").await.0, StatusCode::OK);
        reasons.lock().unwrap().clear();
        assert_eq!(call(app, "/ready").await.0, StatusCode::OK);
    }
}
