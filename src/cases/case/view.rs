//! Cases and log entries as the JSON API returns them.
//!
//! Every timestamp carries the offset of the configured time zone, such as
//! `2026-12-04T17:30:00+08:00`, so a reader sees local time without converting.

use chrono::{DateTime, FixedOffset, Utc};
use chrono_tz::Tz;
use serde::Serialize;

use super::{
    record::{Case, CaseEvent},
    stage::{Action, Channel, Stage},
};
use crate::cases::calendar::{WorkingAmount, service::with_zone_offset};

#[derive(Debug, Clone, Serialize)]
pub struct CaseView {
    pub case_id: i64,
    /// Present only for the reporter, who needs it for the tracking page.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tracking_token: Option<String>,
    pub title: String,
    pub description: String,
    pub category_code: String,
    pub channel: Channel,
    pub stage: Stage,
    /// The address text the reporter gave, if any.
    pub address: Option<String>,
    /// WGS-84 degrees, whatever system the report used.
    pub longitude: f64,
    pub latitude: f64,
    pub grid_id: Option<i64>,
    pub community_id: Option<i64>,
    pub outside_grids: bool,
    pub department_code: String,
    pub due_at: Option<DateTime<FixedOffset>>,
    /// True when the case is open and its current deadline has passed.
    pub overdue: bool,
    pub dispatch_due_at: Option<DateTime<FixedOffset>>,
    pub handling_due_at: Option<DateTime<FixedOffset>>,
    pub verification_due_at: Option<DateTime<FixedOffset>>,
    pub requested_extension: Option<WorkingAmount>,
    pub merged_into_case_id: Option<i64>,
    pub rating: Option<i32>,
    pub closed_at: Option<DateTime<FixedOffset>>,
    pub rework_count: i32,
    pub extension_count: i32,
    /// Send this back as `expected_version` with the next transition.
    pub version: i64,
    pub created_at: DateTime<FixedOffset>,
    pub updated_at: DateTime<FixedOffset>,
    /// The actions the requesting user may take now; empty in lists.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub allowed_actions: Vec<Action>,
    /// The transition log, oldest first; empty in lists.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub events: Vec<EventView>,
}

#[derive(Debug, Clone, Serialize)]
pub struct EventView {
    /// `intake` for the entry that created the case.
    pub action: String,
    pub from_stage: Option<Stage>,
    pub to_stage: Stage,
    pub actor_user_id: Option<i64>,
    pub actor_role: Option<String>,
    pub comment: String,
    pub reason: Option<String>,
    pub attachment_ids: Vec<String>,
    pub details: serde_json::Value,
    pub occurred_at: DateTime<FixedOffset>,
}

impl CaseView {
    /// Builds the view of `case` at `now`; `show_token` adds the tracking token.
    pub fn new(case: Case, tz: Tz, now: DateTime<Utc>, show_token: bool) -> CaseView {
        let local = |instant: Option<DateTime<Utc>>| instant.map(|at| with_zone_offset(at, tz));
        CaseView {
            case_id: case.case_id,
            tracking_token: show_token.then_some(case.tracking_token),
            title: case.title,
            description: case.description,
            category_code: case.category_code,
            channel: case.channel,
            stage: case.stage,
            address: case.address,
            longitude: case.longitude,
            latitude: case.latitude,
            grid_id: case.grid_id,
            community_id: case.community_id,
            outside_grids: case.outside_grids,
            department_code: case.department_code,
            due_at: local(case.due_at),
            overdue: case.stage.is_open() && case.due_at.is_some_and(|due| due < now),
            dispatch_due_at: local(case.dispatch_due_at),
            handling_due_at: local(case.handling_due_at),
            verification_due_at: local(case.verification_due_at),
            requested_extension: case.requested_extension,
            merged_into_case_id: case.merged_into_case_id,
            rating: case.rating,
            closed_at: local(case.closed_at),
            rework_count: case.rework_count,
            extension_count: case.extension_count,
            version: case.version,
            created_at: with_zone_offset(case.created_at, tz),
            updated_at: with_zone_offset(case.updated_at, tz),
            allowed_actions: Vec::new(),
            events: Vec::new(),
        }
    }
}

impl EventView {
    pub fn new(event: CaseEvent, tz: Tz) -> EventView {
        EventView {
            action: event.action.map_or("intake", Action::as_str).to_owned(),
            from_stage: event.from_stage,
            to_stage: event.to_stage,
            actor_user_id: event.actor_user_id,
            actor_role: event.actor_role,
            comment: event.comment,
            reason: event.reason,
            attachment_ids: event.attachment_ids,
            details: event.details,
            occurred_at: with_zone_offset(event.occurred_at, tz),
        }
    }
}
