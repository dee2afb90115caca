//! The batch ingestion service: authenticate the sender, decode the body, check each
//! item, store the valid ones and report a result per rejected item.

use std::{
    collections::{HashMap, HashSet},
    io::Read,
};

use axum::http::{HeaderMap, header};
use serde::Serialize;

use super::{
    DeviceRef, hash_token,
    json_item::LooseBatch,
    queue::{self, QueueError},
    reading::{Reading, Submitted, TimeWindow, check_reading, parse_csv_record, parse_loose_item},
    store::{Credential, SensorStore},
    store_write::{ReadingStore, Stored},
};
use crate::{
    config::Settings,
    db::Db,
    http::{AppError, AppState, UserMessage},
};

/// One item of a batch that was not stored, and why.
#[derive(Debug, Clone)]
pub struct Rejected {
    /// 0-based position of the item in the batch.
    pub index: usize,
    pub message: UserMessage,
}

/// The result of one batch.
#[derive(Debug, Clone, Default)]
pub struct BatchOutcome {
    /// Items stored, including exact duplicates and conflicts, which are recorded too.
    pub accepted: usize,
    /// Positions of items equal to a reading already stored, which changed nothing.
    pub duplicates: Vec<usize>,
    /// Positions of items whose time already had a different value; kept as conflicts.
    pub conflicts: Vec<usize>,
    pub rejected: Vec<Rejected>,
}

/// The body formats of `POST /api/v1/readings`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum BodyFormat {
    Json,
    Csv,
}

/// Identifies the sender from `Authorization: Bearer TOKEN`.
///
/// # Errors
/// [`AppError::BadToken`] when the header is missing or the token is unknown.
pub async fn authenticate(db: &Db, headers: &HeaderMap) -> Result<Credential, AppError> {
    let token = headers
        .get(header::AUTHORIZATION)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.strip_prefix("Bearer "))
        .map(str::trim)
        .filter(|token| !token.is_empty())
        .ok_or_else(|| AppError::BadToken(UserMessage::new("device_token_missing")))?;
    let credential = db.credential(&hash_token(token)).await.map_err(anyhow::Error::from)?;
    credential.ok_or_else(|| AppError::BadToken(UserMessage::new("device_token_invalid")))
}

/// Picks the format from `Content-Type`: `text/csv` is CSV, anything else JSON.
pub fn body_format(headers: &HeaderMap) -> BodyFormat {
    let content_type = headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok());
    if content_type.is_some_and(|t| t.trim_start().starts_with("text/csv")) {
        BodyFormat::Csv
    } else {
        BodyFormat::Json
    }
}

/// Decompresses a gzip body (`Content-Encoding: gzip`) up to `max_bytes`.
///
/// # Errors
/// 413 past the limit, 400 for a corrupt stream or another encoding.
pub fn decode_body(
    headers: &HeaderMap,
    body: Vec<u8>,
    max_bytes: usize,
) -> Result<Vec<u8>, AppError> {
    let encoding = headers.get(header::CONTENT_ENCODING).and_then(|v| v.to_str().ok());
    match encoding.map(str::trim) {
        None | Some("identity") => Ok(body),
        Some("gzip") => {
            let mut decoded = Vec::new();
            // Read one byte past the limit to tell "exactly at the limit" from "over it".
            flate2::read::GzDecoder::new(body.as_slice())
                .take(max_bytes as u64 + 1)
                .read_to_end(&mut decoded)
                .map_err(|error| {
                    AppError::BadRequest(
                        UserMessage::new("batch_gzip_invalid").arg("reason", error),
                    )
                })?;
            if decoded.len() > max_bytes {
                return Err(AppError::PayloadTooLarge);
            }
            Ok(decoded)
        }
        Some(other) => Err(AppError::BadRequest(
            UserMessage::new("batch_encoding_unsupported").arg("encoding", other),
        )),
    }
}

/// Splits a decoded body into items, each parsed or rejected on its own.
///
/// # Errors
/// 400 when the body as a whole is not a batch, 422 above `max_items` items.
pub fn parse_batch(
    format: BodyFormat,
    body: &[u8],
    max_items: usize,
) -> Result<Vec<Result<Submitted, UserMessage>>, AppError> {
    let items: Vec<Result<Submitted, UserMessage>> = match format {
        BodyFormat::Json => {
            let batch: LooseBatch = serde_json::from_slice(body).map_err(|error| {
                AppError::BadRequest(UserMessage::new("invalid_json_body").arg("reason", error))
            })?;
            batch.readings.into_iter().map(parse_loose_item).collect()
        }
        BodyFormat::Csv => csv::ReaderBuilder::new()
            .has_headers(false)
            .flexible(true)
            .comment(Some(b'#'))
            .from_reader(body)
            .records()
            .map(|record| match record {
                Ok(record) => parse_csv_record(&record),
                Err(error) => Err(UserMessage::new("unreadable_csv").arg("reason", error)),
            })
            .collect(),
    };
    if items.len() > max_items {
        return Err(AppError::Invalid(
            UserMessage::new("batch_too_many_items")
                .arg("max", max_items)
                .arg("count", items.len()),
        ));
    }
    Ok(items)
}

/// The items of one batch after their checks: the readings to store and the rejects.
#[derive(Debug, Clone, Default)]
pub struct CheckedBatch {
    pub readings: Vec<Reading>,
    /// Batch position of each entry of `readings`.
    positions: Vec<usize>,
    pub rejected: Vec<Rejected>,
}

impl CheckedBatch {
    /// Combines the checks with what storing did to each reading, given in the order
    /// of `readings`.
    pub fn outcome(self, stored: &[Stored]) -> BatchOutcome {
        let mut outcome =
            BatchOutcome { accepted: stored.len(), rejected: self.rejected, ..Default::default() };
        for (index, result) in self.positions.into_iter().zip(stored) {
            match result {
                Stored::Inserted => {}
                Stored::Duplicate => outcome.duplicates.push(index),
                Stored::Conflict => outcome.conflicts.push(index),
            }
        }
        outcome
    }

    /// Returns the outcome of queued readings: accepted and rejected only, because
    /// duplicates and conflicts are found when the queue worker writes them.
    pub fn queued(self) -> BatchOutcome {
        BatchOutcome {
            accepted: self.readings.len(),
            rejected: self.rejected,
            ..BatchOutcome::default()
        }
    }
}

/// Checks every item against its device and the sender without storing anything, so
/// that several senders' batches can share one transaction (as MQTT messages do).
///
/// # Errors
/// Returns an internal error when the device lookup fails.
pub async fn check_batch(
    db: &Db,
    settings: &Settings,
    credential: &Credential,
    items: Vec<Result<Submitted, UserMessage>>,
) -> Result<CheckedBatch, AppError> {
    let devices = resolve_devices(db, credential, &items).await?;
    let window = time_window(settings);
    let mut checked = CheckedBatch {
        readings: Vec::with_capacity(items.len()),
        positions: Vec::with_capacity(items.len()),
        rejected: Vec::new(),
    };
    for (index, item) in items.into_iter().enumerate() {
        let reading = item.and_then(|submitted| {
            let device = authorize(credential, &devices, &submitted.device)?;
            check_reading(&submitted, device, &window)
        });
        match reading {
            Ok(reading) => {
                checked.readings.push(reading);
                checked.positions.push(index);
            }
            Err(message) => checked.rejected.push(Rejected { index, message }),
        }
    }
    Ok(checked)
}

/// Checks every item against its device and the sender, stores the valid ones in one
/// transaction, evaluates the alarm rules on what was stored and reports the rest.
///
/// # Errors
/// An internal error when the database fails; nothing of the batch is stored then.
#[tracing::instrument(skip_all, fields(batch.items = items.len(), batch.accepted))]
pub async fn ingest(
    state: &AppState,
    credential: &Credential,
    items: Vec<Result<Submitted, UserMessage>>,
) -> Result<BatchOutcome, AppError> {
    let (db, settings) = (&state.db, &state.settings);
    let checked = check_batch(db, settings, credential, items).await?;
    let received_at_ms = chrono::Utc::now().timestamp_millis();
    let stored = db
        .store_readings(&checked.readings, received_at_ms, settings.sensor_time_zone())
        .await
        .map_err(anyhow::Error::from)?;
    crate::alarms::service::evaluate_batch(state, &checked.readings, &stored).await;
    let outcome = checked.outcome(&stored.outcome);
    tracing::Span::current().record("batch.accepted", outcome.accepted);
    tracing::info!(
        batch.rejected = outcome.rejected.len(),
        batch.duplicates = outcome.duplicates.len(),
        batch.conflicts = outcome.conflicts.len(),
        "batch ingested"
    );
    Ok(outcome)
}

/// Checks every item like [`ingest`], then queues the valid ones
/// ([`crate::sensors::queue`]) and returns once the queue row is committed. Duplicates
/// and conflicts are found when the queue worker writes the batch, so the outcome
/// lists none.
///
/// # Errors
/// 429 when the queue is full, an internal error when the database fails; nothing of
/// the batch is queued then.
#[tracing::instrument(skip_all, fields(batch.items = items.len(), batch.accepted))]
pub async fn ingest_queued(
    state: &AppState,
    credential: &Credential,
    items: Vec<Result<Submitted, UserMessage>>,
) -> Result<BatchOutcome, AppError> {
    let checked = check_batch(&state.db, &state.settings, credential, items).await?;
    queue_readings(state, &checked.readings).await?;
    tracing::Span::current().record("batch.accepted", checked.readings.len());
    tracing::debug!(batch.rejected = checked.rejected.len(), "batch queued");
    Ok(checked.queued())
}

/// Commits checked readings to the reading queue.
///
/// # Errors
/// 429 naming the limit when the queue is full; an internal error when the database fails.
pub async fn queue_readings(state: &AppState, readings: &[Reading]) -> Result<(), AppError> {
    let limit = state.settings.sensors.max_queued_readings;
    let received_at_ms = chrono::Utc::now().timestamp_millis();
    queue::append(&state.reading_queue, readings, received_at_ms, limit).await.map_err(|error| {
        match error {
            QueueError::Full { backlog } => {
                tracing::warn!(queue.backlog = backlog, queue.limit = limit, "reading queue full");
                AppError::TooManyRequests(UserMessage::new("readings_queue_full").arg("max", limit))
            }
            QueueError::Store(error) => AppError::Internal(error.into()),
        }
    })
}

fn time_window(settings: &Settings) -> TimeWindow {
    TimeWindow {
        now_ms: chrono::Utc::now().timestamp_millis(),
        max_future_skew_ms: settings.sensors.max_future_skew_seconds * 1000,
        max_past_age_ms: settings.sensors.max_past_age_days * 86_400_000,
    }
}

/// Loads the devices named in the batch; a device token needs no lookup.
async fn resolve_devices(
    db: &Db,
    credential: &Credential,
    items: &[Result<Submitted, UserMessage>],
) -> Result<HashMap<String, DeviceRef>, AppError> {
    if let Credential::Device(device) = credential {
        return Ok(HashMap::from([(device.external_id.clone(), device.clone())]));
    }
    let names: HashSet<&str> = items.iter().flatten().map(|s| s.device.as_str()).collect();
    let names: Vec<String> = names.into_iter().map(str::to_owned).collect();
    let found = db.device_refs(&names).await.map_err(anyhow::Error::from)?;
    Ok(found.into_iter().map(|device| (device.external_id.clone(), device)).collect())
}

/// Looks up the device of an item and checks that the sender may submit for it.
fn authorize<'a>(
    credential: &Credential,
    devices: &'a HashMap<String, DeviceRef>,
    name: &str,
) -> Result<&'a DeviceRef, UserMessage> {
    match (credential, devices.get(name)) {
        (Credential::Device(own), _) if own.external_id != name => {
            Err(UserMessage::new("reading_device_not_allowed").arg("device", name).field("device"))
        }
        (_, Some(device)) => Ok(device),
        (_, None) => {
            Err(UserMessage::new("reading_unknown_device").arg("device", name).field("device"))
        }
    }
}
