//! The audit log: who did what, when and from where.
//!
//! Entries are appended by the contexts that act (logins, account changes) and never
//! updated or deleted by the application. The actor's name is copied into each entry,
//! so the trail stays readable after an account is renamed or removed. Reading the log
//! is an administrator page (`GET /audit`), newest entry first.

pub mod pages;

use chrono::{DateTime, Utc};
use sqlx::FromRow;

use crate::{db::Db, with_pool};

/// Kinds of audited action, stored as the `action` text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuditAction {
    LoginSucceeded,
    LoginFailed,
    AccountLocked,
    Logout,
    UserCreated,
    UserUpdated,
    PasswordReset,
    UserUnlocked,
    /// Areas created or replaced by a GeoJSON import.
    AreasImported,
    /// Gazetteer places created or replaced by a CSV import.
    PlacesImported,
    /// A resident registered.
    ResidentCreated,
    /// A resident's identity or phone number or e-mail address shown in clear; the
    /// detail names the field and the reason given.
    ResidentRevealed,
    /// A resident's phone number or e-mail address changed; the detail names the
    /// fields, never the values.
    ResidentContactUpdated,
    /// Registry values re-sealed under a new data key.
    ResidentKeyRotated,
    /// Households and residents written by a file import; the detail gives the counts.
    ResidentsImported,
    /// A resident list exported; the detail gives the format, filter and row count.
    ResidentsExported,
    /// A notice sent or scheduled; the detail gives its audience size.
    NoticeSent,
}

impl AuditAction {
    pub const ALL: [AuditAction; 17] = [
        AuditAction::LoginSucceeded,
        AuditAction::LoginFailed,
        AuditAction::AccountLocked,
        AuditAction::Logout,
        AuditAction::UserCreated,
        AuditAction::UserUpdated,
        AuditAction::PasswordReset,
        AuditAction::UserUnlocked,
        AuditAction::AreasImported,
        AuditAction::PlacesImported,
        AuditAction::ResidentCreated,
        AuditAction::ResidentRevealed,
        AuditAction::ResidentContactUpdated,
        AuditAction::ResidentKeyRotated,
        AuditAction::ResidentsImported,
        AuditAction::ResidentsExported,
        AuditAction::NoticeSent,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            AuditAction::LoginSucceeded => "login_succeeded",
            AuditAction::LoginFailed => "login_failed",
            AuditAction::AccountLocked => "account_locked",
            AuditAction::Logout => "logout",
            AuditAction::UserCreated => "user_created",
            AuditAction::UserUpdated => "user_updated",
            AuditAction::PasswordReset => "password_reset",
            AuditAction::UserUnlocked => "user_unlocked",
            AuditAction::AreasImported => "areas_imported",
            AuditAction::PlacesImported => "places_imported",
            AuditAction::ResidentCreated => "resident_created",
            AuditAction::ResidentRevealed => "resident_revealed",
            AuditAction::ResidentContactUpdated => "resident_contact_updated",
            AuditAction::ResidentKeyRotated => "resident_key_rotated",
            AuditAction::ResidentsImported => "residents_imported",
            AuditAction::ResidentsExported => "residents_exported",
            AuditAction::NoticeSent => "notice_sent",
        }
    }

    pub fn parse(text: &str) -> Option<AuditAction> {
        AuditAction::ALL.into_iter().find(|action| action.as_str() == text)
    }

    /// Catalog id of the action's label, such as `audit-action-login-failed`.
    pub fn message_id(self) -> String {
        format!("audit-action-{}", self.as_str().replace('_', "-"))
    }
}

/// The performer of an action: a logged-in user, the command line, or a visitor whose
/// claimed username is recorded as typed.
#[derive(Debug, Clone)]
pub struct Actor {
    pub user_id: Option<i64>,
    pub name: String,
    pub client_ip: Option<String>,
}

impl Actor {
    /// Returns the actor for the operator running `citycore` commands on the server.
    pub fn cli() -> Self {
        Actor { user_id: None, name: "cli".to_owned(), client_ip: None }
    }
}

/// One entry to append.
#[derive(Debug, Clone)]
pub struct NewAuditEntry<'a> {
    pub actor: &'a Actor,
    pub action: AuditAction,
    /// The subject of the action, such as `user:42`.
    pub target: Option<String>,
    /// Free text for people, such as the changed fields; never a secret.
    pub detail: Option<String>,
}

/// One stored entry.
#[derive(Debug, Clone, FromRow)]
pub struct AuditEntry {
    pub audit_id: i64,
    pub occurred_at: DateTime<Utc>,
    pub actor_user_id: Option<i64>,
    pub actor: String,
    pub action: String,
    pub target: Option<String>,
    pub detail: Option<String>,
    pub client_ip: Option<String>,
}

/// A page of entries and the number of entries matching the filter.
#[derive(Debug, Clone)]
pub struct AuditPage {
    pub entries: Vec<AuditEntry>,
    pub total: i64,
}

/// Storage of the audit log.
pub trait AuditStore {
    /// Appends one entry stamped with the current time.
    fn append_audit(
        &self,
        entry: NewAuditEntry<'_>,
    ) -> impl Future<Output = Result<(), sqlx::Error>> + Send;

    /// Lists entries newest first, optionally of one action, skipping `offset` entries.
    fn list_audit(
        &self,
        action: Option<AuditAction>,
        limit: i64,
        offset: i64,
    ) -> impl Future<Output = Result<AuditPage, sqlx::Error>> + Send;
}

impl AuditStore for Db {
    async fn append_audit(&self, entry: NewAuditEntry<'_>) -> Result<(), sqlx::Error> {
        let now = Utc::now();
        with_pool!(self, |pool| {
            sqlx::query(
                "INSERT INTO audit_log (occurred_at, actor_user_id, actor, action, target, \
                 detail, client_ip) VALUES ($1, $2, $3, $4, $5, $6, $7)",
            )
            .bind(now)
            .bind(entry.actor.user_id)
            .bind(&entry.actor.name)
            .bind(entry.action.as_str())
            .bind(&entry.target)
            .bind(&entry.detail)
            .bind(&entry.actor.client_ip)
            .execute(pool)
            .await
            .map(drop)
        })
    }

    async fn list_audit(
        &self,
        action: Option<AuditAction>,
        limit: i64,
        offset: i64,
    ) -> Result<AuditPage, sqlx::Error> {
        let action = action.map(AuditAction::as_str);
        with_pool!(self, |pool| {
            // audit_id grows with every insert, so it orders entries by time without
            // depending on how each backend compares stored timestamps.
            let entries: Vec<AuditEntry> = sqlx::query_as(
                "SELECT audit_id, occurred_at, actor_user_id, actor, action, target, detail, \
                 client_ip FROM audit_log WHERE ($1 IS NULL OR action = $1) \
                 ORDER BY audit_id DESC LIMIT $2 OFFSET $3",
            )
            .bind(action)
            .bind(limit)
            .bind(offset)
            .fetch_all(pool)
            .await?;
            let total: i64 = sqlx::query_scalar(
                "SELECT COUNT(*) FROM audit_log WHERE ($1 IS NULL OR action = $1)",
            )
            .bind(action)
            .fetch_one(pool)
            .await?;
            Ok(AuditPage { entries, total })
        })
    }
}

/// Appends an entry, logging instead of failing when the database refuses it.
///
/// An audit write that fails after the action succeeded must not turn the action into
/// an error page, but an operator must see it, hence the error-level log.
pub async fn record(db: &Db, entry: NewAuditEntry<'_>) {
    let action = entry.action.as_str();
    if let Err(error) = db.append_audit(entry).await {
        tracing::error!(audit.action = action, error.message = %error, "audit entry not written");
    }
}

pub fn router() -> axum::Router<crate::http::AppState> {
    pages::router()
}
