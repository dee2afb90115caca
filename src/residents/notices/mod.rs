//! Notices to residents (政策触达): a community worker composes a notice, targets it by
//! area and tags, previews the audience, and sends it now or at a set time.
//!
//! - [`audience`]: the audience spec, resolved to the sender's grids and tag conditions,
//!   counted and selected in SQL.
//! - [`store`]: the notice row and its fan-out, one inbox row per recipient and one
//!   delivery row per recipient with a phone when the webhook channel is configured,
//!   all in one transaction.
//! - [`inbox`]: a resident's own notices, read receipts and a server-sent event stream.
//! - [`receipts`]: per-notice counts and recipient lists for staff, and the grid
//!   workers' follow-up list of residents not reached after the notice's hours.
//! - [`webhook`]: the delivery worker that posts each recipient to a gateway (SMS,
//!   WeCom), with retries per recipient.
//! - [`attachments`]: files sent with a notice, uploaded first and bound to the notice
//!   in its transaction, downloadable by staff who may read it and by its recipients.
//! - [`http`]: the JSON API.
//!
//! Invariants:
//! - A notice reaches each recipient's inbox exactly once (the primary key of
//!   `notice_recipient`).
//! - A webhook delivery that the gateway accepted is never sent again.
//! - Every read is limited to the viewer's grids.
//! - Phone numbers leave the database only in requests to the configured gateway.
// TODO: an e-mail channel over SMTP (residents have no e-mail address in the registry
// yet).

pub mod attachments;
pub mod audience;
pub mod http;
pub mod inbox;
pub mod receipts;
pub mod service;
pub mod store;
pub mod webhook;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

pub use http::router;

/// A notice's priority: urgent notices come first in inboxes and follow-up lists.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Priority {
    Normal,
    Urgent,
}

impl Priority {
    pub fn as_str(self) -> &'static str {
        match self {
            Priority::Normal => "normal",
            Priority::Urgent => "urgent",
        }
    }

    pub fn parse(text: &str) -> Option<Priority> {
        [Priority::Normal, Priority::Urgent].into_iter().find(|p| p.as_str() == text)
    }
}

/// A stored notice as staff see it.
#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct Notice {
    pub notice_id: i64,
    pub title: String,
    pub body: String,
    pub priority: String,
    /// `scheduled`, `sending` or `sent`.
    pub status: String,
    pub send_at: DateTime<Utc>,
    pub sent_at: Option<DateTime<Utc>>,
    pub follow_up_hours: i32,
    pub recipient_count: i64,
    pub created_by: i64,
    pub created_at: DateTime<Utc>,
}

/// Columns of [`Notice`] over the table aliased `n`.
pub const NOTICE_COLUMNS: &str = "n.notice_id, n.title, n.body, n.priority, n.status, \
     n.send_at, n.sent_at, n.follow_up_hours, n.recipient_count, n.created_by, n.created_at";
