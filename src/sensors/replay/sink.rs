//! The receivers of replayed batches: the ingestion service in this process, or a
//! running server's `POST /api/v1/readings`.

use std::time::Duration;

use anyhow::Context;
use serde::Deserialize;

use crate::{
    config::Settings,
    db::Db,
    http::AppState,
    i18n::Locale,
    locate::Locator,
    sensors::{
        devices::{DeviceInput, register_devices},
        ingest,
        kinds::RawValue,
        reading::Submitted,
        store::{Credential, SensorStore},
    },
};

/// The receiver's result for one batch.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct BatchResult {
    /// Readings stored for the first time.
    pub stored: usize,
    /// Readings equal to one already stored, which changed nothing.
    pub duplicates: usize,
    /// Readings whose time already had a different value; kept as conflicts.
    pub conflicts: usize,
    /// `(code, message)` of each rejected reading.
    pub rejected: Vec<(String, String)>,
}

/// The receiver of replayed batches.
pub enum Sink {
    /// The ingestion checks, write path and alarm rules of this process, on the
    /// configured database.
    InProcess(AppState),
    /// `POST /api/v1/readings` of a running server, authenticated by `token`.
    Http { client: reqwest::Client, url: String, token: String, locale: String },
}

/// Attempts per batch when the server is unreachable or returns 5xx or 429. Resending
/// is safe because an equal reading stored twice counts as a duplicate.
const MAX_ATTEMPTS: u32 = 5;
const FIRST_RETRY_DELAY_MS: u64 = 500;

impl Sink {
    /// Builds the HTTP sink; `base_url` is the server's address, such as
    /// `http://127.0.0.1:8080`, or the full readings URL.
    ///
    /// # Errors
    /// Fails when the HTTP client cannot be built.
    pub fn http(base_url: &str, token: String, locale: Locale) -> anyhow::Result<Sink> {
        let base = base_url.trim_end_matches('/');
        let url = if base.ends_with("/api/v1/readings") {
            base.to_owned()
        } else {
            format!("{base}/api/v1/readings")
        };
        let client = reqwest::Client::builder().timeout(Duration::from_secs(60)).build()?;
        Ok(Sink::Http { client, url, token, locale: locale.tag().to_owned() })
    }

    /// Sends one batch and returns what the receiver did with it.
    ///
    /// # Errors
    /// Fails when the database fails, or when the server rejects the whole batch or
    /// stays unreachable after `MAX_ATTEMPTS` (5) attempts.
    pub async fn send(&self, items: Vec<Submitted>) -> anyhow::Result<BatchResult> {
        match self {
            Sink::InProcess(state) => send_in_process(state, items).await,
            Sink::Http { client, url, token, locale } => {
                let body = batch_json(&items);
                send_http(client, url, token, locale, &body).await
            }
        }
    }
}

async fn send_in_process(state: &AppState, items: Vec<Submitted>) -> anyhow::Result<BatchResult> {
    // The replay acts as a gateway: it may submit readings of any registered device.
    let credential = Credential::Gateway { ingest_key_id: 0, name: "citycore replay".to_owned() };
    let outcome = ingest::ingest(state, &credential, items.into_iter().map(Ok).collect())
        .await
        .map_err(|error| anyhow::anyhow!("storing a batch failed: {error}"))?;
    let locale = state.default_locale();
    let repeated = outcome.duplicates.len() + outcome.conflicts.len();
    Ok(BatchResult {
        stored: outcome.accepted - repeated,
        duplicates: outcome.duplicates.len(),
        conflicts: outcome.conflicts.len(),
        rejected: outcome
            .rejected
            .iter()
            .map(|r| (r.message.code.to_owned(), r.message.render(locale)))
            .collect(),
    })
}

fn batch_json(items: &[Submitted]) -> serde_json::Value {
    let readings: Vec<serde_json::Value> = items
        .iter()
        .map(|item| {
            let value = match &item.value {
                RawValue::Number(number) => serde_json::json!(number),
                RawValue::Text(text) => serde_json::json!(text),
                RawValue::Boolean(flag) => serde_json::json!(flag),
            };
            serde_json::json!({
                "device": item.device,
                "attribute": item.attribute,
                "value": value,
                "unit": item.unit,
                "observed_at_ms": item.observed_at_ms,
            })
        })
        .collect();
    serde_json::json!({ "readings": readings })
}

#[derive(Deserialize)]
struct BatchResponse {
    accepted: usize,
    duplicates: Vec<usize>,
    conflicts: Vec<usize>,
    rejected: Vec<RejectedItem>,
}

#[derive(Deserialize)]
struct RejectedItem {
    code: String,
    message: String,
}

async fn send_http(
    client: &reqwest::Client,
    url: &str,
    token: &str,
    locale: &str,
    body: &serde_json::Value,
) -> anyhow::Result<BatchResult> {
    let mut attempt = 1;
    loop {
        let sent = client
            .post(url)
            .bearer_auth(token)
            .header(reqwest::header::ACCEPT_LANGUAGE, locale)
            .json(body)
            .send()
            .await;
        let retry_reason = match sent {
            Ok(response) if response.status().is_success() => {
                let parsed: BatchResponse =
                    response.json().await.context("the server's batch response is not JSON")?;
                return Ok(http_result(parsed));
            }
            Ok(response) if response.status().as_u16() == 401 => anyhow::bail!(
                "{url} rejected the token (401); pass a gateway key or device token with --token"
            ),
            Ok(response)
                if response.status().is_server_error() || response.status().as_u16() == 429 =>
            {
                format!("status {}", response.status())
            }
            Ok(response) => {
                let status = response.status();
                let text = response.text().await.unwrap_or_default();
                anyhow::bail!("{url} rejected the batch with status {status}: {text}")
            }
            Err(error) => error.to_string(),
        };
        if attempt >= MAX_ATTEMPTS {
            anyhow::bail!("{url} failed {attempt} times, last with {retry_reason}");
        }
        let delay_ms = FIRST_RETRY_DELAY_MS << (attempt - 1);
        tracing::warn!(replay.attempt = attempt, retry.delay_ms = delay_ms, error = %retry_reason, "batch post failed; retrying");
        tokio::time::sleep(Duration::from_millis(delay_ms)).await;
        attempt += 1;
    }
}

fn http_result(response: BatchResponse) -> BatchResult {
    let repeated = response.duplicates.len() + response.conflicts.len();
    BatchResult {
        stored: response.accepted.saturating_sub(repeated),
        duplicates: response.duplicates.len(),
        conflicts: response.conflicts.len(),
        rejected: response.rejected.into_iter().map(|r| (r.code, r.message)).collect(),
    }
}

/// Counts of the replay's devices after [`register_missing`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Registration {
    /// Devices registered by this call, at the positions of their inputs.
    pub added: usize,
    /// Devices registered before, which keep their stored name, kind and location.
    pub existing: usize,
}

/// Registers the devices of `inputs` that are not yet registered. Devices already
/// registered are kept as they are, location included.
///
/// # Errors
/// Fails when a device record is invalid or the database fails; nothing is registered then.
pub async fn register_missing(
    db: &Db,
    settings: &Settings,
    inputs: &[DeviceInput],
) -> anyhow::Result<Registration> {
    let ids: Vec<String> = inputs.iter().map(|input| input.id.clone()).collect();
    let existing = db.device_refs(&ids).await?;
    for device in &existing {
        let requested = inputs.iter().find(|input| input.id == device.external_id);
        if requested.is_some_and(|input| input.kind != device.kind.as_str()) {
            tracing::warn!(device.id = %device.external_id, device.kind = device.kind.as_str(),
                "registered device has another kind; its replayed readings will be rejected");
        }
    }
    let missing: Vec<DeviceInput> = inputs
        .iter()
        .filter(|input| !existing.iter().any(|device| device.external_id == input.id))
        .cloned()
        .collect();
    let already_registered = inputs.len() - missing.len();
    if missing.is_empty() {
        return Ok(Registration { added: 0, existing: already_registered });
    }
    let locator = Locator::new(settings.locate.clone());
    locator.reload(db).await?;
    let issued = register_devices(db, &locator.snapshot(), missing)
        .await
        .context("registering the replay devices failed")?;
    for token in &issued {
        tracing::info!(device.id = %token.id, "replay device registered");
    }
    Ok(Registration { added: issued.len(), existing: already_registered })
}
