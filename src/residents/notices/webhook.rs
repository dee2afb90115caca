//! The webhook channel: one JSON `POST` per recipient to a configured gateway, which
//! turns it into an SMS or a WeCom message.
//!
//! Deliveries are rows of `notice_delivery`. A round claims due rows by setting
//! `claimed_until`, with `FOR UPDATE SKIP LOCKED` on PostgreSQL so that nodes split the
//! work. It posts them with bounded concurrency and records each outcome: `sent` on
//! a 2xx response, a later retry on a timeout, a refused connection, 408, 429 or 5xx,
//! and `failed` on another 4xx or after the last attempt. Only pending rows are ever
//! claimed, so a recipient the gateway accepted never gets a second copy from
//! citycore; each request carries an `Idempotency-Key` so that the gateway can drop
//! the copy sent again when a node stopped between the gateway's response and the
//! update of the row.

use std::time::Duration;

use chrono::{DateTime, Utc};
use futures_util::StreamExt;
use hmac::{Hmac, Mac};
use serde::Serialize;
use sha2::Sha256;

use crate::{
    config::NoticeSettings,
    db::{Backend, Db},
    http::AppState,
    residents::{Keyring, crypto::Field},
    with_pool,
};

/// Deliveries claimed per round.
const ROUND_SIZE: i64 = 500;
/// How long a claim keeps a delivery from other workers, so that the rows of a node
/// that stops mid-round are retried after it.
const CLAIM_SECONDS: i64 = 120;
/// How often the worker looks for due notices and deliveries.
const TICK: Duration = Duration::from_secs(1);

/// Counts of one round's outcomes.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RoundReport {
    pub sent: usize,
    pub retried: usize,
    pub failed: usize,
}

impl RoundReport {
    pub fn total(&self) -> usize {
        self.sent + self.retried + self.failed
    }
}

/// The body posted for one recipient.
#[derive(Debug, Serialize)]
struct Payload<'a> {
    delivery_id: i64,
    notice_id: i64,
    resident_id: i64,
    phone: &'a str,
    title: &'a str,
    body: &'a str,
    priority: &'a str,
    attempt: i32,
}

#[derive(Debug, sqlx::FromRow)]
struct Claimed {
    delivery_id: i64,
    notice_id: i64,
    resident_id: i64,
    attempts: i32,
    phone_sealed: Option<String>,
    title: String,
    body: String,
    priority: String,
}

enum Outcome {
    Sent,
    Retry(String),
    Failed(String),
}

/// Builds the HTTP client of the channel.
///
/// # Errors
/// Fails when the TLS backend cannot start.
pub fn client(settings: &NoticeSettings) -> reqwest::Result<reqwest::Client> {
    reqwest::Client::builder()
        .timeout(Duration::from_secs(settings.webhook_timeout_seconds.max(1)))
        .redirect(reqwest::redirect::Policy::none())
        .build()
}

/// Claims the due deliveries, posts them and records the outcomes.
///
/// # Errors
/// A database failure; rows claimed before it are retried after their claim expires.
pub async fn deliver_due(
    db: &Db,
    keys: &Keyring,
    settings: &NoticeSettings,
    client: &reqwest::Client,
    now: DateTime<Utc>,
) -> Result<RoundReport, sqlx::Error> {
    let claimed = claim(db, now).await?;
    let mut report = RoundReport::default();
    let outcomes: Vec<(i64, i32, Outcome)> = futures_util::stream::iter(claimed)
        .map(|row| async move {
            let outcome = post(keys, settings, client, &row).await;
            (row.delivery_id, row.attempts, outcome)
        })
        .buffer_unordered(settings.webhook_concurrency.max(1))
        .collect()
        .await;
    let finished = Utc::now();
    let mut sent = Vec::new();
    for (delivery_id, attempts, outcome) in outcomes {
        match outcome {
            Outcome::Sent => {
                report.sent += 1;
                sent.push(delivery_id);
            }
            Outcome::Retry(error) if attempts < settings.webhook_max_attempts => {
                report.retried += 1;
                tracing::warn!(delivery.id = delivery_id, attempts, %error, "webhook delivery will be retried");
                let wait = retry_wait(settings, attempts);
                record(db, delivery_id, "pending", &error, finished + wait).await?;
            }
            Outcome::Retry(error) | Outcome::Failed(error) => {
                report.failed += 1;
                tracing::warn!(delivery.id = delivery_id, attempts, %error, "webhook delivery failed");
                record(db, delivery_id, "failed", &error, finished).await?;
            }
        }
    }
    record_sent(db, &sent, finished).await?;
    Ok(report)
}

/// Marks the deliveries `ids` sent at `at`, in one statement per thousand, because a
/// round of a large notice is mostly successes.
async fn record_sent(db: &Db, ids: &[i64], at: DateTime<Utc>) -> Result<(), sqlx::Error> {
    for page in ids.chunks(1000) {
        // Ids come from the claim query, never from a request.
        let list: Vec<String> = page.iter().map(i64::to_string).collect();
        let sql = format!(
            "UPDATE notice_delivery SET status = 'sent', sent_at = $1, last_error = NULL, \
             claimed_until = NULL WHERE status = 'pending' AND delivery_id IN ({})",
            list.join(",")
        );
        with_pool!(db, |pool| {
            sqlx::query(sqlx::AssertSqlSafe(sql.clone())).bind(at).execute(pool).await.map(drop)
        })?;
    }
    Ok(())
}

/// Returns the wait before retry number `attempts`: the base, doubled per earlier
/// retry, at most an hour.
fn retry_wait(settings: &NoticeSettings, attempts: i32) -> chrono::Duration {
    let doublings = u32::try_from(attempts.saturating_sub(1)).unwrap_or(0).min(16);
    let seconds = settings.webhook_retry_seconds.saturating_mul(1 << doublings).min(3600);
    chrono::Duration::seconds(i64::try_from(seconds).unwrap_or(3600))
}

async fn claim(db: &Db, now: DateTime<Utc>) -> Result<Vec<Claimed>, sqlx::Error> {
    let lock = match db.backend() {
        Backend::Postgres => " FOR UPDATE SKIP LOCKED",
        Backend::Sqlite => "",
    };
    let claim = format!(
        "UPDATE notice_delivery SET claimed_until = $2, attempts = attempts + 1 \
         WHERE delivery_id IN (SELECT delivery_id FROM notice_delivery \
         WHERE status = 'pending' AND next_attempt_at <= $1 \
         AND (claimed_until IS NULL OR claimed_until < $1) \
         ORDER BY next_attempt_at, delivery_id LIMIT {ROUND_SIZE}{lock}) \
         RETURNING delivery_id"
    );
    let until = now + chrono::Duration::seconds(CLAIM_SECONDS);
    with_pool!(db, |pool| {
        let ids: Vec<i64> = sqlx::query_scalar(sqlx::AssertSqlSafe(claim.clone()))
            .bind(now)
            .bind(until)
            .fetch_all(pool)
            .await?;
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let ids: Vec<String> = ids.iter().map(i64::to_string).collect();
        let load = format!(
            "SELECT d.delivery_id, d.notice_id, d.resident_id, d.attempts, r.phone_sealed, \
             n.title, n.body, n.priority FROM notice_delivery d \
             JOIN resident r ON r.resident_id = d.resident_id \
             JOIN notice n ON n.notice_id = d.notice_id \
             WHERE d.delivery_id IN ({}) ORDER BY d.delivery_id",
            ids.join(",")
        );
        sqlx::query_as(sqlx::AssertSqlSafe(load)).fetch_all(pool).await
    })
}

async fn post(
    keys: &Keyring,
    settings: &NoticeSettings,
    client: &reqwest::Client,
    row: &Claimed,
) -> Outcome {
    let phone = match row.phone_sealed.as_deref().map(|sealed| keys.open(Field::Phone, sealed)) {
        Some(Ok(phone)) => phone,
        Some(Err(error)) => return Outcome::Failed(format!("phone cannot be opened: {error}")),
        None => return Outcome::Failed("the resident has no phone number".to_owned()),
    };
    let payload = Payload {
        delivery_id: row.delivery_id,
        notice_id: row.notice_id,
        resident_id: row.resident_id,
        phone: &phone,
        title: &row.title,
        body: &row.body,
        priority: &row.priority,
        attempt: row.attempts,
    };
    let Ok(body) = serde_json::to_vec(&payload) else {
        return Outcome::Failed("payload could not be encoded".to_owned());
    };
    let mut request =
        client.post(&settings.webhook_url).header("content-type", "application/json").header(
            "idempotency-key",
            format!("notice-{}-resident-{}", row.notice_id, row.resident_id),
        );
    if !settings.webhook_secret.0.is_empty() {
        request =
            request.header("x-citycore-signature", signature(&settings.webhook_secret.0, &body));
    }
    match request.body(body).send().await {
        Ok(response) if response.status().is_success() => Outcome::Sent,
        Ok(response) => {
            let status = response.status();
            let error = format!("gateway answered HTTP {}", status.as_u16());
            let retry = status.is_server_error()
                || status == reqwest::StatusCode::REQUEST_TIMEOUT
                || status == reqwest::StatusCode::TOO_MANY_REQUESTS;
            if retry { Outcome::Retry(error) } else { Outcome::Failed(error) }
        }
        // The error text may quote the URL, which can hold a gateway token: keep its kind.
        Err(error) if error.is_timeout() => Outcome::Retry("gateway timed out".to_owned()),
        Err(error) if error.is_connect() => Outcome::Retry("gateway unreachable".to_owned()),
        Err(_) => Outcome::Retry("request to the gateway failed".to_owned()),
    }
}

/// Returns the hex HMAC-SHA256 of `body` under `secret`.
pub fn signature(secret: &str, body: &[u8]) -> String {
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(secret.as_bytes())
        .unwrap_or_else(|_| unreachable!("HMAC accepts keys of any length"));
    mac.update(body);
    hex::encode(mac.finalize().into_bytes())
}

/// Records a retry or a failure of one delivery.
async fn record(
    db: &Db,
    delivery_id: i64,
    status: &str,
    error: &str,
    next_attempt_at: DateTime<Utc>,
) -> Result<(), sqlx::Error> {
    with_pool!(db, |pool| {
        sqlx::query(
            "UPDATE notice_delivery SET status = $2, last_error = $3, next_attempt_at = $4, \
             claimed_until = NULL WHERE delivery_id = $1 AND status = 'pending'",
        )
        .bind(delivery_id)
        .bind(status)
        .bind(error)
        .bind(next_attempt_at)
        .execute(pool)
        .await
        .map(drop)
    })
}

/// Runs the notice worker until the task is aborted: each tick sends the scheduled
/// notices that are due, then, when the webhook channel is on, delivers until no due
/// delivery is left.
pub fn spawn(state: AppState) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let settings = state.settings.notices.clone();
        let webhook = !settings.webhook_url.is_empty();
        let client = match client(&settings) {
            Ok(client) => client,
            Err(error) => {
                tracing::error!(%error, "notice worker cannot build its HTTP client; not started");
                return;
            }
        };
        tracing::info!(webhook, "notice worker started");
        loop {
            tokio::time::sleep(TICK).await;
            if let Err(error) = super::store::send_due_notices(&state.db, Utc::now(), webhook).await
            {
                tracing::error!(%error, "sending scheduled notices failed");
            }
            if webhook {
                deliver_all_due(&state, &settings, &client).await;
            }
        }
    })
}

/// Runs webhook rounds until one finds nothing due or fails.
async fn deliver_all_due(state: &AppState, settings: &NoticeSettings, client: &reqwest::Client) {
    loop {
        match deliver_due(&state.db, &state.residents, settings, client, Utc::now()).await {
            Ok(report) if report.total() > 0 => {
                tracing::info!(
                    sent = report.sent,
                    retried = report.retried,
                    failed = report.failed,
                    "webhook round"
                );
            }
            Ok(_) => break,
            Err(error) => {
                tracing::error!(%error, "webhook round failed");
                break;
            }
        }
    }
}
