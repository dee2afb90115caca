//! The delivery worker shared by the outside channels (webhook, e-mail): claim due
//! deliveries, send them through a [`Transport`], record each outcome, retry later.
//!
//! Deliveries are rows of `notice_delivery`, one per recipient and channel. A round
//! claims one channel's due rows by setting `claimed_until`, with `FOR UPDATE SKIP
//! LOCKED` on PostgreSQL so that nodes split the work. It sends them with bounded
//! concurrency and records each [`Outcome`]: `sent`, a later retry with a doubling
//! wait, or `failed` once the attempts are used up or the channel calls the failure
//! permanent. Only pending rows are ever claimed, so a recipient the channel accepted
//! never gets a second copy from citycore. A node that stops between the channel's
//! acceptance and the update of the row sends that copy again after the claim expires;
//! each channel marks its messages with a key stable per delivery (`Idempotency-Key`,
//! `Message-ID`) so that the receiver can recognise the repeat.

use std::{future::Future, time::Duration};

use chrono::{DateTime, Utc};
use futures_util::StreamExt;

use super::{smtp::EmailTransport, webhook::WebhookTransport};
use crate::{
    db::{Backend, Db},
    http::AppState,
    residents::Keyring,
    with_pool,
};

/// Deliveries claimed per round.
const ROUND_SIZE: i64 = 500;
/// How long a claim keeps a delivery from other workers, so that the rows of a node
/// that stops mid-round are retried after it.
const CLAIM_SECONDS: i64 = 120;
/// How often the worker looks for due notices and deliveries.
const TICK: Duration = Duration::from_secs(1);
/// Maximum wait between two attempts of one delivery.
const MAX_RETRY_SECONDS: u64 = 3600;

/// An outside channel, as `notice_delivery.channel` names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Channel {
    Webhook,
    Email,
}

impl Channel {
    pub fn as_str(self) -> &'static str {
        match self {
            Channel::Webhook => "webhook",
            Channel::Email => "email",
        }
    }
}

/// How a channel retries: attempts per recipient, the first wait and the sends in flight.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    pub max_attempts: i32,
    /// Wait before the first retry, in seconds; doubled per later retry, at most an hour.
    pub retry_seconds: u64,
    pub concurrency: usize,
}

impl RetryPolicy {
    /// Returns the wait before retry number `attempts`.
    fn wait(&self, attempts: i32) -> chrono::Duration {
        let doublings = u32::try_from(attempts.saturating_sub(1)).unwrap_or(0).min(16);
        let seconds = self.retry_seconds.saturating_mul(1 << doublings).min(MAX_RETRY_SECONDS);
        chrono::Duration::seconds(i64::try_from(seconds).unwrap_or(3600))
    }
}

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

/// A claimed delivery with what a channel needs to send it; contact values still sealed.
#[derive(Debug, sqlx::FromRow)]
pub struct Claimed {
    pub delivery_id: i64,
    pub notice_id: i64,
    pub resident_id: i64,
    /// Attempts so far, this one included.
    pub attempts: i32,
    pub phone_sealed: Option<String>,
    pub email_sealed: Option<String>,
    pub title: String,
    pub body: String,
    pub priority: String,
}

/// The result of one send. The texts are stored as `last_error` and logged, so they
/// must hold no phone number or e-mail address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    Sent,
    /// A failure that may pass, such as a timeout; retried while attempts remain.
    Retry(String),
    /// A failure that another attempt would repeat; final at once.
    Failed(String),
}

/// One outside channel: it sends a single recipient's copy of a notice.
pub trait Transport: Sync {
    fn channel(&self) -> Channel;
    fn policy(&self) -> RetryPolicy;
    fn send(&self, keys: &Keyring, row: &Claimed) -> impl Future<Output = Outcome> + Send;
}

/// Claims the channel's due deliveries, sends them and records the outcomes.
///
/// # Errors
/// A database failure; rows claimed before it are retried after their claim expires.
#[tracing::instrument(skip_all, fields(channel = transport.channel().as_str()))]
pub async fn deliver_due<T: Transport>(
    db: &Db,
    keys: &Keyring,
    transport: &T,
    now: DateTime<Utc>,
) -> Result<RoundReport, sqlx::Error> {
    let channel = transport.channel().as_str();
    let policy = transport.policy();
    let claimed = claim(db, transport.channel(), now).await?;
    let outcomes: Vec<(i64, i32, Outcome)> = futures_util::stream::iter(claimed)
        .map(|row| async move {
            let outcome = transport.send(keys, &row).await;
            (row.delivery_id, row.attempts, outcome)
        })
        .buffer_unordered(policy.concurrency.max(1))
        .collect()
        .await;
    let finished = Utc::now();
    let mut report = RoundReport::default();
    let mut sent = Vec::new();
    for (delivery_id, attempts, outcome) in outcomes {
        match outcome {
            Outcome::Sent => {
                report.sent += 1;
                sent.push(delivery_id);
            }
            Outcome::Retry(error) if attempts < policy.max_attempts => {
                report.retried += 1;
                tracing::warn!(delivery.id = delivery_id, attempts, %error, channel, "delivery will be retried");
                let next = finished + policy.wait(attempts);
                record(db, delivery_id, "pending", &error, next).await?;
            }
            Outcome::Retry(error) | Outcome::Failed(error) => {
                report.failed += 1;
                tracing::warn!(delivery.id = delivery_id, attempts, %error, channel, "delivery failed");
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

async fn claim(db: &Db, channel: Channel, now: DateTime<Utc>) -> Result<Vec<Claimed>, sqlx::Error> {
    let lock = match db.backend() {
        Backend::Postgres => " FOR UPDATE SKIP LOCKED",
        Backend::Sqlite => "",
    };
    let claim = format!(
        "UPDATE notice_delivery SET claimed_until = $2, attempts = attempts + 1 \
         WHERE delivery_id IN (SELECT delivery_id FROM notice_delivery \
         WHERE channel = $3 AND status = 'pending' AND next_attempt_at <= $1 \
         AND (claimed_until IS NULL OR claimed_until < $1) \
         ORDER BY next_attempt_at, delivery_id LIMIT {ROUND_SIZE}{lock}) \
         RETURNING delivery_id"
    );
    let until = now + chrono::Duration::seconds(CLAIM_SECONDS);
    with_pool!(db, |pool| {
        let ids: Vec<i64> = sqlx::query_scalar(sqlx::AssertSqlSafe(claim.clone()))
            .bind(now)
            .bind(until)
            .bind(channel.as_str())
            .fetch_all(pool)
            .await?;
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let ids: Vec<String> = ids.iter().map(i64::to_string).collect();
        let load = format!(
            "SELECT d.delivery_id, d.notice_id, d.resident_id, d.attempts, r.phone_sealed, \
             r.email_sealed, n.title, n.body, n.priority FROM notice_delivery d \
             JOIN resident r ON r.resident_id = d.resident_id \
             JOIN notice n ON n.notice_id = d.notice_id \
             WHERE d.delivery_id IN ({}) ORDER BY d.delivery_id",
            ids.join(",")
        );
        sqlx::query_as(sqlx::AssertSqlSafe(load)).fetch_all(pool).await
    })
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
/// notices that are due, then delivers on each configured channel until no due
/// delivery is left. The channels run side by side, so a slow mail server does not
/// hold up the SMS gateway.
pub fn spawn(state: AppState) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let settings = state.settings.notices.clone();
        let channels = super::Channels::from_settings(&settings);
        let webhook = match channels.webhook.then(|| WebhookTransport::new(&settings)) {
            Some(Err(error)) => {
                tracing::error!(%error, "notice worker cannot build its HTTP client; not started");
                return;
            }
            Some(Ok(transport)) => Some(transport),
            None => None,
        };
        let email = match channels.email.then(|| EmailTransport::new(&settings)) {
            Some(Err(error)) => {
                tracing::error!(%error, "notice worker cannot set up SMTP; not started");
                return;
            }
            Some(Ok(transport)) => Some(transport),
            None => None,
        };
        tracing::info!(channels.webhook, channels.email, "notice worker started");
        loop {
            tokio::time::sleep(TICK).await;
            if let Err(error) =
                super::store::send_due_notices(&state.db, Utc::now(), channels).await
            {
                tracing::error!(%error, "sending scheduled notices failed");
            }
            tokio::join!(
                deliver_all_due(&state, webhook.as_ref()),
                deliver_all_due(&state, email.as_ref())
            );
        }
    })
}

/// Runs rounds of one channel until one finds nothing due or fails; nothing when the
/// channel is off.
async fn deliver_all_due<T: Transport>(state: &AppState, transport: Option<&T>) {
    let Some(transport) = transport else { return };
    let channel = transport.channel().as_str();
    loop {
        match deliver_due(&state.db, &state.residents, transport, Utc::now()).await {
            Ok(report) if report.total() > 0 => {
                tracing::info!(
                    channel,
                    sent = report.sent,
                    retried = report.retried,
                    failed = report.failed,
                    "delivery round"
                );
            }
            Ok(_) => break,
            Err(error) => {
                tracing::error!(channel, %error, "delivery round failed");
                break;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_wait_doubles_up_to_an_hour() {
        let policy = RetryPolicy { max_attempts: 20, retry_seconds: 30, concurrency: 1 };
        assert_eq!(policy.wait(1).num_seconds(), 30);
        assert_eq!(policy.wait(2).num_seconds(), 60);
        assert_eq!(policy.wait(4).num_seconds(), 240);
        assert_eq!(policy.wait(12).num_seconds(), 3600);
    }
}
