//! Notices to residents (政策触达): a community worker composes a notice, targets it by
//! area and tags, previews the audience, and sends it now or at a set time.
//!
//! - [`audience`]: the audience spec, resolved to the sender's grids and tag conditions,
//!   counted and selected in SQL.
//! - [`store`]: the notice row and its fan-out, one inbox row per recipient and, per
//!   configured channel, one delivery row per recipient with a phone (webhook) or an
//!   e-mail address (e-mail), all in one transaction.
//! - [`inbox`]: a resident's own notices, read receipts and a server-sent event stream.
//! - [`receipts`]: per-notice counts and recipient lists for staff, and the grid
//!   workers' follow-up list of residents not reached after the notice's hours.
//! - [`delivery`]: the worker shared by the channels: claims, sends through a
//!   channel's [`delivery::Transport`], retries and records per recipient.
//! - [`webhook`]: posts each recipient to a gateway (SMS, WeCom).
//! - [`smtp`]: e-mails each recipient through an SMTP server.
//! - [`attachments`]: files sent with a notice, uploaded first and bound to the notice
//!   in its transaction, downloadable by staff who may read it and by its recipients.
//! - [`http`]: the JSON API.
//!
//! Invariants:
//! - A notice reaches each recipient's inbox exactly once (the primary key of
//!   `notice_recipient`).
//! - A delivery that its channel accepted is never claimed again; only a node that
//!   stops between the acceptance and the update of the row can send a second copy.
//! - Every read is limited to the viewer's grids.
//! - Phone numbers leave the database only in requests to the configured gateway, and
//!   e-mail addresses only in messages to the configured SMTP server, one address each.

pub mod attachments;
pub mod audience;
pub mod delivery;
pub mod http;
pub mod inbox;
pub mod receipts;
pub mod service;
pub mod smtp;
pub mod store;
pub mod webhook;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

pub use http::router;

/// The outside channels a fan-out writes delivery rows for.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Channels {
    /// One row per recipient with a phone number.
    pub webhook: bool,
    /// One row per recipient with an e-mail address.
    pub email: bool,
}

impl Channels {
    /// Returns the channels the settings turn on.
    pub fn from_settings(settings: &crate::config::NoticeSettings) -> Channels {
        Channels { webhook: settings.webhook_enabled(), email: settings.email_enabled() }
    }
}

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
