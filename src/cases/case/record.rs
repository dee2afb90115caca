//! A stored case and one entry of its transition log.

use chrono::{DateTime, Utc};
use serde::Serialize;

use super::stage::{Action, Channel, Stage};
use crate::cases::calendar::WorkingAmount;

/// One case with everything the loop needs to route, time and count it.
#[derive(Debug, Clone, PartialEq)]
pub struct Case {
    pub case_id: i64,
    /// 128 random bits in hex for the reporter's tracking page.
    pub tracking_token: String,
    pub title: String,
    /// At most [`super::MAX_DESCRIPTION_CHARS`] characters.
    pub description: String,
    pub category_code: String,
    pub channel: Channel,
    pub reporter_user_id: Option<i64>,
    pub reporter_contact: Option<String>,
    /// The address as the reporter gave it; when they also gave coordinates, those
    /// located the case and this text is kept as given.
    pub address: Option<String>,
    /// WGS-84 degrees.
    pub longitude: f64,
    pub latitude: f64,
    pub grid_id: Option<i64>,
    pub community_id: Option<i64>,
    /// True when the location lies in no grid, so a dispatcher must place the case.
    pub outside_grids: bool,
    pub department_code: String,
    pub stage: Stage,
    /// Deadline of the current stage; `None` once no clock runs.
    pub due_at: Option<DateTime<Utc>>,
    pub dispatch_due_at: Option<DateTime<Utc>>,
    pub handling_due_at: Option<DateTime<Utc>>,
    pub verification_due_at: Option<DateTime<Utc>>,
    /// The extension a department requested that waits for a decision.
    pub requested_extension: Option<WorkingAmount>,
    pub merged_into_case_id: Option<i64>,
    /// 1–5, set by the rating action.
    pub rating: Option<i32>,
    pub closed_at: Option<DateTime<Utc>>,
    pub rework_count: i32,
    /// Approved extensions; requests that were rejected do not count.
    pub extension_count: i32,
    /// Incremented by every stored transition, for optimistic concurrency.
    pub version: i64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// One transition as it is stored: who moved the case, when, why and where to.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CaseEvent {
    /// `None` for an entry not yet stored.
    pub case_event_id: Option<i64>,
    /// `None` for the intake entry, which creates the case.
    pub action: Option<Action>,
    pub from_stage: Option<Stage>,
    pub to_stage: Stage,
    pub actor_user_id: Option<i64>,
    pub actor_role: Option<String>,
    pub comment: String,
    /// Required for a return (退单) and a void (作废).
    pub reason: Option<String>,
    pub attachment_ids: Vec<String>,
    /// The action's own fields, such as the department of a dispatch.
    pub details: serde_json::Value,
    pub occurred_at: DateTime<Utc>,
}
