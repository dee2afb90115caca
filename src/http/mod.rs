//! HTTP plumbing: application state, the merged router, middleware and the server loop.
//!
//! Each context exposes a `router()`; they are merged here. Middleware, from the
//! outside in: request id, tracing span, metrics, security headers, timeout, body
//! limit, error rendering and the CSRF check (which also loads the session). The server shuts down gracefully on SIGTERM or Ctrl-C,
//! finishing in-flight requests for at most `server.shutdown_grace_seconds`.

pub mod error;
pub mod pages;
pub mod query;

use std::{ops::Deref, sync::Arc, time::Duration};

use axum::{
    Router,
    extract::{MatchedPath, Request},
    http::{HeaderName, HeaderValue, header},
    middleware::{self, Next},
    response::Response,
};
use tower_http::{
    limit::RequestBodyLimitLayer,
    request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer},
    set_header::SetResponseHeaderLayer,
    timeout::TimeoutLayer,
    trace::TraceLayer,
};

pub use error::{AppError, UserMessage};
pub use query::Query;

use crate::{config::Settings, db::Db, i18n::Locale, locate::Locator};

/// Shared state of one node: settings, the database and the in-memory area index.
#[derive(Clone)]
pub struct AppState(Arc<App>);

pub struct App {
    pub settings: Settings,
    pub db: Db,
    /// The same database for writes rebuilt from committed rows ([`Db::relaxed`]):
    /// rule evaluation after a stored batch, and the alarm's case it opens.
    pub relaxed_db: Db,
    pub locator: Locator,
    /// Keys of the resident registry.
    pub residents: crate::residents::Keyring,
    /// Resident imports running in the background on this node.
    pub import_jobs: crate::residents::import::job::ImportJobs,
    pub metrics: metrics_exporter_prometheus::PrometheusHandle,
    /// Reading batches acknowledged before they are written ([`crate::sensors::queue`]).
    pub reading_queue: crate::sensors::queue::ReadingQueue,
}

impl Deref for AppState {
    type Target = App;
    fn deref(&self) -> &App {
        &self.0
    }
}

impl AppState {
    /// Builds the state, loads the area index, opens the registry's keys and seeds the
    /// `default` parking tariff when none is stored.
    ///
    /// # Errors
    /// Fails when the areas cannot be read, the data key is missing or wrong, or the
    /// `[booking]` rates form no tariff.
    pub async fn new(settings: Settings, db: Db) -> anyhow::Result<Self> {
        let locator = Locator::new(settings.locate.clone());
        locator.reload(&db).await?;
        crate::parking::live_pricing::tariffs::ensure_default_tariff(&db, &settings.booking)
            .await?;
        let metrics = crate::ops::metrics_handle();
        let residents = crate::residents::keys::load_keyring(&settings, &db).await?;
        let relaxed_db = db.relaxed();
        let reading_queue = crate::sensors::queue::ReadingQueue::open(&db).await?;
        Ok(AppState(Arc::new(App {
            settings,
            db,
            relaxed_db,
            locator,
            residents,
            import_jobs: Default::default(),
            metrics,
            reading_queue,
        })))
    }

    pub fn default_locale(&self) -> Locale {
        Locale::parse(&self.settings.ui.default_locale).unwrap_or_default()
    }
}

const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// Builds the whole application with its middleware.
pub fn router(state: AppState) -> Router {
    let csp = content_security_policy(&state.settings);
    let routes = Router::new()
        .merge(crate::ops::router())
        .merge(crate::assets::router())
        .merge(crate::areas::router())
        .merge(crate::cases::router())
        .merge(crate::locate::router())
        .merge(crate::open311::router())
        .merge(crate::parking::booking::router())
        .merge(crate::parking::operator::router())
        .merge(crate::places::router())
        .merge(crate::portal::router())
        .merge(crate::residents::router())
        .merge(crate::residents::notices::router())
        .merge(crate::residents::pages::router())
        .merge(crate::accounts::router())
        .merge(crate::console::router())
        .merge(crate::sensors::router())
        .merge(crate::alarms::router())
        .merge(crate::smart_core::router())
        .merge(crate::parking::inventory::router())
        .merge(crate::parking::live_pricing::router())
        .fallback(not_found);
    let timeout = Duration::from_secs(state.settings.server.request_timeout_seconds);
    routes
        .layer(middleware::from_fn_with_state(state.clone(), crate::accounts::csrf::verify_csrf))
        .layer(middleware::from_fn_with_state(state.clone(), error::render_errors))
        .layer(RequestBodyLimitLayer::new(state.settings.server.max_body_bytes))
        .layer(TimeoutLayer::with_status_code(axum::http::StatusCode::REQUEST_TIMEOUT, timeout))
        .layer(SetResponseHeaderLayer::if_not_present(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_str(&csp).unwrap_or(HeaderValue::from_static("default-src 'self'")),
        ))
        .layer(SetResponseHeaderLayer::overriding(
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        ))
        .layer(SetResponseHeaderLayer::overriding(
            header::REFERRER_POLICY,
            HeaderValue::from_static("same-origin"),
        ))
        .layer(middleware::from_fn(record_metrics))
        .layer(TraceLayer::new_for_http().make_span_with(make_span))
        .layer(PropagateRequestIdLayer::new(REQUEST_ID))
        .layer(SetRequestIdLayer::new(REQUEST_ID, MakeRequestUuid))
        .with_state(state)
}

async fn not_found() -> AppError {
    AppError::NotFound(UserMessage::new("page_not_found"))
}

/// Only this server's own origin, plus the operator's tile server if one is configured.
fn content_security_policy(settings: &Settings) -> String {
    let tile_origin = settings
        .map
        .tile_url
        .split_once("://")
        .map(|(scheme, rest)| {
            let host = rest.split('/').next().unwrap_or_default();
            // Leaflet subdomain templates such as {s}.tile.example become a wildcard.
            format!(" {scheme}://{}", host.replace("{s}", "*"))
        })
        .unwrap_or_default();
    format!(
        "default-src 'self'; img-src 'self' data:{tile_origin}; style-src 'self' 'unsafe-inline'; \
         script-src 'self'; connect-src 'self'; frame-ancestors 'none'; base-uri 'self'; \
         form-action 'self'"
    )
}

fn make_span(request: &Request) -> tracing::Span {
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map(|p| p.as_str().to_owned())
        .unwrap_or_else(|| "unmatched".to_owned());
    let request_id = request
        .headers()
        .get(REQUEST_ID)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    tracing::info_span!(
        "http.request",
        http.method = %request.method(),
        http.route = %route,
        request.id = %request_id,
    )
}

async fn record_metrics(request: Request, next: Next) -> Response {
    let start = std::time::Instant::now();
    let method = request.method().to_string();
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map(|p| p.as_str().to_owned())
        .unwrap_or_else(|| "unmatched".to_owned());
    let response = next.run(request).await;
    let status = response.status().as_u16().to_string();
    let labels = [("method", method), ("route", route), ("status", status)];
    metrics::counter!("citycore_http_requests_total", &labels).increment(1);
    metrics::histogram!("citycore_http_request_duration_seconds", &labels)
        .record(start.elapsed().as_secs_f64());
    response
}

/// Serves `state` on the configured address until SIGTERM or Ctrl-C.
///
/// # Errors
/// Fails when the address cannot be bound.
pub async fn serve(state: AppState, listener: tokio::net::TcpListener) -> anyhow::Result<()> {
    let grace = Duration::from_secs(state.settings.server.shutdown_grace_seconds);
    let refresher = state.locator.spawn_refresher(state.db.clone());
    let notice_worker = crate::residents::notices::delivery::spawn(state.clone());
    let booking_worker = crate::parking::booking::worker::spawn(state.clone());
    let pricing_worker = crate::parking::live_pricing::worker::spawn(state.clone());
    let alarm_worker = crate::alarms::worker::spawn(state.clone());
    let queue_worker = crate::sensors::queue::worker::spawn(state.clone());
    let mqtt = crate::sensors::mqtt::spawn_if_enabled(&state)?;
    let app = router(state.clone());
    let address = listener.local_addr()?;
    tracing::info!(server.address = %address, "serving");
    let (signal_tx, signal_rx) = tokio::sync::oneshot::channel::<()>();
    let server =
        axum::serve(listener, app.into_make_service_with_connect_info::<std::net::SocketAddr>())
            .with_graceful_shutdown(async move {
                shutdown_signal().await;
                let _ = signal_tx.send(());
            });
    let server = tokio::spawn(async move { server.await });
    let outcome = tokio::select! {
        result = server => result.map_err(anyhow::Error::from).and_then(|r| r.map_err(Into::into)),
        () = async {
            let _ = signal_rx.await;
            tokio::time::sleep(grace).await;
        } => {
            tracing::warn!(grace_seconds = grace.as_secs(), "in-flight requests still running after the grace period; stopping");
            Ok(())
        }
    };
    refresher.abort();
    notice_worker.abort();
    booking_worker.abort();
    pricing_worker.abort();
    alarm_worker.abort();
    queue_worker.abort();
    if let Some(mqtt) = mqtt {
        mqtt.stop(grace).await;
    }
    state.db.close().await;
    tracing::info!("stopped");
    outcome
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(error) => {
                tracing::warn!(%error, "cannot listen for SIGTERM");
                std::future::pending::<()>().await;
            }
        }
    };
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
    tracing::info!("shutdown signal received; finishing in-flight requests");
}
