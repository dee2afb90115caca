//! The webhook channel: one JSON `POST` per recipient with a phone number to a
//! configured gateway, which turns it into an SMS or a WeCom message.
//!
//! [`super::delivery`] claims, retries and records, and this module only sends. A 2xx
//! response counts as sent. A timeout, a refused connection, 408, 429 or 5xx is retried.
//! Another 4xx is final. Each request carries an `Idempotency-Key`, the same on every
//! attempt for one recipient of one notice, so that the gateway can drop a copy sent
//! again after a node stopped between the gateway's response and the update of the row.

use std::time::Duration;

use hmac::{Hmac, Mac};
use serde::Serialize;
use sha2::Sha256;

use super::delivery::{Channel, Claimed, Outcome, RetryPolicy, Transport};
use crate::{
    config::NoticeSettings,
    residents::{Keyring, crypto::Field},
};

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

/// The webhook channel: its HTTP client and settings.
#[derive(Debug, Clone)]
pub struct WebhookTransport {
    client: reqwest::Client,
    settings: NoticeSettings,
}

impl WebhookTransport {
    /// Builds the channel's HTTP client, which follows no redirect.
    ///
    /// # Errors
    /// Fails when the TLS backend cannot start.
    pub fn new(settings: &NoticeSettings) -> reqwest::Result<WebhookTransport> {
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(settings.webhook_timeout_seconds.max(1)))
            .redirect(reqwest::redirect::Policy::none())
            .build()?;
        Ok(WebhookTransport { client, settings: settings.clone() })
    }
}

impl Transport for WebhookTransport {
    fn channel(&self) -> Channel {
        Channel::Webhook
    }

    fn policy(&self) -> RetryPolicy {
        RetryPolicy {
            max_attempts: self.settings.webhook_max_attempts,
            retry_seconds: self.settings.webhook_retry_seconds,
            concurrency: self.settings.webhook_concurrency,
        }
    }

    async fn send(&self, keys: &Keyring, row: &Claimed) -> Outcome {
        let phone = match row.phone_sealed.as_deref().map(|sealed| keys.open(Field::Phone, sealed))
        {
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
        self.post(row, body).await
    }
}

impl WebhookTransport {
    async fn post(&self, row: &Claimed, body: Vec<u8>) -> Outcome {
        let key = format!("notice-{}-resident-{}", row.notice_id, row.resident_id);
        let mut request = self
            .client
            .post(&self.settings.webhook_url)
            .header("content-type", "application/json")
            .header("idempotency-key", key);
        let secret = &self.settings.webhook_secret.0;
        if !secret.is_empty() {
            request = request.header("x-citycore-signature", signature(secret, &body));
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
}

/// Returns the hex HMAC-SHA256 of `body` under `secret`.
pub fn signature(secret: &str, body: &[u8]) -> String {
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(secret.as_bytes())
        .unwrap_or_else(|_| unreachable!("HMAC accepts keys of any length"));
    mac.update(body);
    hex::encode(mac.finalize().into_bytes())
}
