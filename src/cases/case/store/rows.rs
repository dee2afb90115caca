//! Rows of `service_case` and `case_event` as the database returns them, and their
//! conversion into the domain types.

use chrono::{DateTime, Utc};
use sqlx::FromRow;

use super::StoreError;
use crate::cases::{
    calendar::{TimeUnit, WorkingAmount},
    case::{
        record::{Case, CaseEvent},
        stage::{Action, Channel, Stage},
    },
};

pub(super) const CASE_COLUMNS: &str = "case_id, tracking_token, title, description, category_code, channel, \
     reporter_user_id, reporter_contact, address, longitude, latitude, grid_id, community_id, \
     outside_grids, department_code, stage, due_at, dispatch_due_at, handling_due_at, \
     verification_due_at, requested_extension_amount, requested_extension_unit, \
     merged_into_case_id, rating, closed_at, rework_count, extension_count, version, \
     created_at, updated_at";

#[derive(FromRow)]
pub(super) struct CaseRow {
    case_id: i64,
    tracking_token: String,
    title: String,
    description: String,
    category_code: String,
    channel: String,
    reporter_user_id: Option<i64>,
    reporter_contact: Option<String>,
    address: Option<String>,
    longitude: f64,
    latitude: f64,
    grid_id: Option<i64>,
    community_id: Option<i64>,
    outside_grids: bool,
    department_code: String,
    stage: String,
    due_at: Option<DateTime<Utc>>,
    dispatch_due_at: Option<DateTime<Utc>>,
    handling_due_at: Option<DateTime<Utc>>,
    verification_due_at: Option<DateTime<Utc>>,
    requested_extension_amount: Option<i32>,
    requested_extension_unit: Option<String>,
    merged_into_case_id: Option<i64>,
    rating: Option<i32>,
    closed_at: Option<DateTime<Utc>>,
    rework_count: i32,
    extension_count: i32,
    version: i64,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
}

impl TryFrom<CaseRow> for Case {
    type Error = StoreError;
    fn try_from(row: CaseRow) -> Result<Case, StoreError> {
        let case_id = row.case_id;
        let corrupt = |reason: String| StoreError::Corrupt { case_id, reason };
        let channel = Channel::parse(&row.channel)
            .ok_or_else(|| corrupt(format!("channel {}", row.channel)))?;
        let stage =
            Stage::parse(&row.stage).ok_or_else(|| corrupt(format!("stage {}", row.stage)))?;
        let requested_extension =
            match (row.requested_extension_amount, &row.requested_extension_unit) {
                (Some(amount), Some(unit)) => Some(
                    TimeUnit::parse(unit)
                        .and_then(|unit| WorkingAmount::new(i64::from(amount), unit))
                        .map_err(|_| corrupt(format!("extension {amount} {unit}")))?,
                ),
                _ => None,
            };
        Ok(Case {
            case_id,
            tracking_token: row.tracking_token,
            title: row.title,
            description: row.description,
            category_code: row.category_code,
            channel,
            reporter_user_id: row.reporter_user_id,
            reporter_contact: row.reporter_contact,
            address: row.address,
            longitude: row.longitude,
            latitude: row.latitude,
            grid_id: row.grid_id,
            community_id: row.community_id,
            outside_grids: row.outside_grids,
            department_code: row.department_code,
            stage,
            due_at: row.due_at,
            dispatch_due_at: row.dispatch_due_at,
            handling_due_at: row.handling_due_at,
            verification_due_at: row.verification_due_at,
            requested_extension,
            merged_into_case_id: row.merged_into_case_id,
            rating: row.rating,
            closed_at: row.closed_at,
            rework_count: row.rework_count,
            extension_count: row.extension_count,
            version: row.version,
            created_at: row.created_at,
            updated_at: row.updated_at,
        })
    }
}

#[derive(FromRow)]
pub(super) struct EventRow {
    case_event_id: i64,
    action: String,
    from_stage: Option<String>,
    to_stage: String,
    actor_user_id: Option<i64>,
    actor_role: Option<String>,
    comment: String,
    reason: Option<String>,
    attachment_ids: String,
    details: String,
    occurred_at: DateTime<Utc>,
}

/// The `action` column of the intake entry, which has no [`Action`].
pub(super) const INTAKE_ACTION: &str = "intake";

impl EventRow {
    pub(super) fn into_event(self, case_id: i64) -> Result<CaseEvent, StoreError> {
        let corrupt = |reason: String| StoreError::Corrupt { case_id, reason };
        let stage = |text: &str| Stage::parse(text).ok_or_else(|| corrupt(format!("stage {text}")));
        let action = match self.action.as_str() {
            INTAKE_ACTION => None,
            text => Some(Action::parse(text).ok_or_else(|| corrupt(format!("action {text}")))?),
        };
        Ok(CaseEvent {
            case_event_id: Some(self.case_event_id),
            action,
            from_stage: self.from_stage.as_deref().map(stage).transpose()?,
            to_stage: stage(&self.to_stage)?,
            actor_user_id: self.actor_user_id,
            actor_role: self.actor_role,
            comment: self.comment,
            reason: self.reason,
            attachment_ids: serde_json::from_str(&self.attachment_ids)
                .map_err(|error| corrupt(format!("attachment ids: {error}")))?,
            details: serde_json::from_str(&self.details)
                .map_err(|error| corrupt(format!("details: {error}")))?,
            occurred_at: self.occurred_at,
        })
    }
}
