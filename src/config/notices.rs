//! Settings of the notice channels (`[notices]`).

use serde::{Deserialize, Serialize};

use super::Secret;

/// Delivery of notices outside the residents' inboxes.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct NoticeSettings {
    /// Gateway that receives one JSON `POST` per recipient with a phone number, such as
    /// an SMS or WeCom gateway; empty turns the webhook channel off.
    pub webhook_url: String,
    /// Key of the `X-Citycore-Signature` header, the hex HMAC-SHA256 of the body;
    /// empty sends no signature.
    pub webhook_secret: Secret,
    /// Seconds after which a request with no response from the gateway counts as failed.
    pub webhook_timeout_seconds: u64,
    /// Attempts per recipient before the delivery is marked failed.
    pub webhook_max_attempts: i32,
    /// Wait before the first retry, in seconds; it doubles with each further attempt,
    /// up to an hour.
    pub webhook_retry_seconds: u64,
    /// Requests in flight to the gateway at once.
    pub webhook_concurrency: usize,
}

impl Default for NoticeSettings {
    fn default() -> Self {
        Self {
            webhook_url: String::new(),
            webhook_secret: Secret::default(),
            webhook_timeout_seconds: 10,
            webhook_max_attempts: 5,
            webhook_retry_seconds: 30,
            webhook_concurrency: 16,
        }
    }
}

impl NoticeSettings {
    /// Returns a copy with the secret replaced by `***`, for `citycore config show`.
    pub fn redacted(&self) -> Self {
        let hidden = if self.webhook_secret.0.is_empty() { "" } else { "***" };
        Self { webhook_secret: Secret(hidden.to_owned()), ..self.clone() }
    }
}
