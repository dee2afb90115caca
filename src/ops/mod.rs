//! Operations endpoints: liveness, readiness and Prometheus metrics.
//!
//! `/healthz` answers as long as the process serves requests; `/readyz` also checks
//! that the database answers, so a load balancer stops sending traffic to a node that
//! lost its database; `/metrics` is the Prometheus text exposition format.

use std::sync::OnceLock;

use axum::{
    Router,
    extract::State,
    http::{StatusCode, header},
    response::IntoResponse,
    routing::get,
};
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};

use crate::http::{AppError, AppState};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/healthz", get(get_healthz))
        .route("/readyz", get(get_readyz))
        .route("/metrics", get(get_metrics))
}

/// Returns the process-wide metrics recorder, installing it on first use.
///
/// A process has one global recorder, so the tests' many app instances share it.
pub fn metrics_handle() -> PrometheusHandle {
    static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();
    HANDLE
        .get_or_init(|| {
            let recorder = PrometheusBuilder::new()
                .set_buckets(&[0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 10.0])
                .map(PrometheusBuilder::build_recorder)
                .unwrap_or_else(|_| PrometheusBuilder::new().build_recorder());
            let handle = recorder.handle();
            if metrics::set_global_recorder(recorder).is_err() {
                tracing::warn!("a metrics recorder was already installed; /metrics may be empty");
            }
            handle
        })
        .clone()
}

#[tracing::instrument(level = "debug", skip_all)]
async fn get_healthz() -> &'static str {
    "ok"
}

#[tracing::instrument(level = "debug", skip_all)]
async fn get_readyz(State(state): State<AppState>) -> Result<&'static str, AppError> {
    state.db.ping().await.map_err(|error| AppError::Unavailable(error.to_string()))?;
    Ok("ready")
}

#[tracing::instrument(level = "debug", skip_all)]
async fn get_metrics(State(state): State<AppState>) -> impl IntoResponse {
    let areas = state.locator.snapshot();
    metrics::gauge!("citycore_areas").set(areas.area_count() as f64);
    metrics::gauge!("citycore_area_index_revision").set(areas.revision() as f64);
    (
        StatusCode::OK,
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8")],
        state.metrics.render(),
    )
}
