//! The admin HTTP server: `/metrics`, `/healthz` and `/readyz`, on axum.
//!
//! Invariant: the admin endpoints only read [`Metrics`]; they never block the stages, and their
//! answers reflect the flags at the time of the request (`/healthz` 200 iff live, `/readyz` 200
//! iff ready, otherwise 503 with the reason). [`router`] returns a stateless `Router` so later code
//! (interactive queries) can `merge` its own routes into it before [`serve`].

use super::metrics::{Metrics, CONTENT_TYPE};
use crate::error::Result;
use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::IntoResponse;
use axum::routing::get;
use axum::Router;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;

/// Routes `GET /metrics`, `GET /healthz` and `GET /readyz` over `metrics`.
pub fn router(metrics: Arc<Metrics>) -> Router {
    Router::new()
        .route("/metrics", get(metrics_handler))
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .with_state(metrics)
}

async fn metrics_handler(State(metrics): State<Arc<Metrics>>) -> impl IntoResponse {
    ([(header::CONTENT_TYPE, CONTENT_TYPE)], metrics.render())
}

async fn healthz(State(metrics): State<Arc<Metrics>>) -> impl IntoResponse {
    if metrics.is_live() {
        (StatusCode::OK, "ok")
    } else {
        (StatusCode::SERVICE_UNAVAILABLE, "not live")
    }
}

async fn readyz(State(metrics): State<Arc<Metrics>>) -> impl IntoResponse {
    match metrics.readiness() {
        Ok(()) => (StatusCode::OK, "ready".to_owned()),
        Err(reason) => (StatusCode::SERVICE_UNAVAILABLE, format!("not ready: {reason}")),
    }
}

/// Binds `addr` (port 0 picks a free port), serves `router` on a spawned task until `shutdown`
/// completes (then finishes in-flight requests), and returns the bound address.
///
/// Must be called inside a Tokio runtime. Fails with [`crate::Error::Io`] when the address cannot
/// be bound; errors of the running server are logged.
pub async fn serve(
    addr: SocketAddr,
    router: Router,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<SocketAddr> {
    let listener = tokio::net::TcpListener::bind(addr).await?;
    let bound = listener.local_addr()?;
    tokio::spawn(async move {
        match axum::serve(listener, router).with_graceful_shutdown(shutdown).await {
            Ok(()) => tracing::debug!(addr = %bound, "admin server stopped"),
            Err(e) => tracing::error!(addr = %bound, error = %e, "admin server failed"),
        }
    });
    tracing::info!(addr = %bound, "admin server listening");
    Ok(bound)
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::body::Body;
    use axum::http::Request;
    use std::io::{Read as _, Write as _};
    use tower::ServiceExt as _;

    async fn get_path(router: Router, path: &str) -> (StatusCode, String, Option<String>) {
        let request = Request::get(path).body(Body::empty()).expect("request");
        let response = router.oneshot(request).await.expect("infallible");
        let status = response.status();
        let content_type = response
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let body = axum::body::to_bytes(response.into_body(), 1 << 20).await.expect("body");
        (status, String::from_utf8_lossy(&body).into_owned(), content_type)
    }

    #[tokio::test]
    async fn readyz_flips_from_503_to_200() {
        let metrics = Metrics::new().expect("metrics");
        let app = router(metrics.clone());
        let (status, body, _) = get_path(app.clone(), "/readyz").await;
        assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(body, "not ready: starting");
        metrics.set_ready();
        let (status, body, _) = get_path(app.clone(), "/readyz").await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(body, "ready");
        metrics.set_not_ready("partitions revoked");
        let (status, body, _) = get_path(app, "/readyz").await;
        assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
        assert!(body.contains("partitions revoked"), "{body}");
    }

    #[tokio::test]
    async fn healthz_follows_liveness() {
        let metrics = Metrics::new().expect("metrics");
        let app = router(metrics.clone());
        assert_eq!(get_path(app.clone(), "/healthz").await.0, StatusCode::OK);
        metrics.set_live(false);
        assert_eq!(get_path(app, "/healthz").await.0, StatusCode::SERVICE_UNAVAILABLE);
    }

    #[tokio::test]
    async fn metrics_endpoint_renders_text_format() {
        let metrics = Metrics::new().expect("metrics");
        metrics.stage("plan").records_out("patchline.commands").inc();
        let (status, body, content_type) = get_path(router(metrics), "/metrics").await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(content_type.as_deref(), Some("text/plain; version=0.0.4"));
        assert!(body
            .contains(r#"patchline_records_out_total{stage="plan",topic="patchline.commands"} 1"#));
    }

    #[tokio::test]
    async fn merged_routes_are_served() {
        let metrics = Metrics::new().expect("metrics");
        let app = router(metrics).merge(Router::new().route("/extra", get(|| async { "x" })));
        assert_eq!(get_path(app.clone(), "/extra").await.1, "x");
        assert_eq!(get_path(app, "/healthz").await.1, "ok");
    }

    /// One HTTP/1.1 GET over a plain socket; returns the whole response.
    fn raw_get(addr: SocketAddr, path: &str) -> String {
        let mut stream = std::net::TcpStream::connect(addr).expect("connect");
        write!(stream, "GET {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
            .expect("write");
        let mut response = String::new();
        stream.read_to_string(&mut response).expect("read");
        response
    }

    #[tokio::test]
    async fn serve_binds_port_zero_and_shuts_down() {
        let metrics = Metrics::new().expect("metrics");
        let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
        let addr =
            serve("127.0.0.1:0".parse().expect("addr"), router(metrics.clone()), async move {
                let _ = stop_rx.await;
            })
            .await
            .expect("serve");
        assert_ne!(addr.port(), 0);

        let response =
            tokio::task::spawn_blocking(move || raw_get(addr, "/readyz")).await.expect("join");
        assert!(response.starts_with("HTTP/1.1 503"), "{response}");
        metrics.set_ready();
        let response =
            tokio::task::spawn_blocking(move || raw_get(addr, "/readyz")).await.expect("join");
        assert!(response.starts_with("HTTP/1.1 200"), "{response}");
        assert!(response.ends_with("ready"), "{response}");

        stop_tx.send(()).expect("server still running");
        let mut refused = false;
        for _ in 0..100 {
            if std::net::TcpStream::connect(addr).is_err() {
                refused = true;
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
        assert!(refused, "server still accepts connections after shutdown");
    }
}
