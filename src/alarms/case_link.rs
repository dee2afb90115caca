//! Alarm → case: a raised alarm opens one case through the case intake, and what
//! happens to the alarm afterwards is written on that case as notes.
//!
//! Case texts are written in the deployment's default language, because a case is read
//! by many people and keeps one title.

use chrono::{DateTime, TimeZone, Utc};
use serde_json::json;

use super::{
    error::AlarmError,
    record::{self, Alarm, AlarmState},
    store,
};
use crate::{
    cases::case::{
        CaseStore, Channel,
        intake::{IntakeInput, Reporter, submit_report},
        notes::add_system_note,
    },
    http::AppState,
    i18n::arg,
};

/// The reason a note is written on an alarm's case.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NoteKind {
    /// The alarm was raised again after an earlier alarm of the same rule and device
    /// opened this case, which is still open.
    RaisedAgain,
    /// The readings raised the alarm again soon after they cleared it.
    Reopened,
    Acknowledged,
    /// The readings went past the clear level.
    ClearedByData,
    ClearedByHand,
}

impl NoteKind {
    fn message_id(self) -> &'static str {
        match self {
            NoteKind::RaisedAgain => "alarm-case-note-raised-again",
            NoteKind::Reopened => "alarm-case-note-reopened",
            NoteKind::Acknowledged => "alarm-case-note-acknowledged",
            NoteKind::ClearedByData => "alarm-case-note-cleared-by-data",
            NoteKind::ClearedByHand => "alarm-case-note-cleared-by-hand",
        }
    }

    fn as_str(self) -> &'static str {
        match self {
            NoteKind::RaisedAgain => "raised_again",
            NoteKind::Reopened => "reopened",
            NoteKind::Acknowledged => "acknowledged",
            NoteKind::ClearedByData => "cleared_by_data",
            NoteKind::ClearedByHand => "cleared_by_hand",
        }
    }
}

/// Gives a newly raised alarm its case and returns the case id. While the case of the
/// previous alarm of the same rule and device is open, the alarm joins it with a note.
/// Otherwise a new case opens in the rule's category at the device's location, and so
/// in the device's grid.
///
/// # Errors
/// A missing alarm or rule, an intake rejection (such as a category deleted since the
/// rule was saved) or a storage failure. The alarm then stays without a case, and the
/// worker retries it.
#[tracing::instrument(skip_all, fields(alarm.id = alarm_id, case.id = tracing::field::Empty))]
pub async fn open_case(state: &AppState, alarm_id: i64) -> Result<i64, AlarmError> {
    let alarm = record::alarm_by_id(&state.relaxed_db, alarm_id)
        .await?
        .ok_or(AlarmError::AlarmNotFound(alarm_id))?;
    if let Some(case_id) = alarm.case_id {
        return Ok(case_id);
    }
    let rule_id = alarm.sensor_rule_id.ok_or(AlarmError::AlarmNotFound(alarm_id))?;
    let rule = store::rule_by_id(&state.relaxed_db, rule_id)
        .await?
        .ok_or(AlarmError::RuleNotFound(rule_id))?;

    let case_id = match open_previous_case(state, &alarm).await? {
        Some(case_id) => case_id,
        None => {
            let input = IntakeInput {
                title: Some(case_text(state, "alarm-case-title", &alarm)),
                description: Some(case_text(state, "alarm-case-description", &alarm)),
                category_code: Some(rule.category_code.clone()),
                longitude: Some(alarm.longitude),
                latitude: Some(alarm.latitude),
                ..IntakeInput::default()
            };
            let reporter = Reporter {
                user_id: None,
                role: None,
                channel: Some(Channel::Iot),
                details: json!({
                    "sensor_alarm_id": alarm.sensor_alarm_id,
                    "sensor_rule_id": rule_id,
                    "device": alarm.external_id,
                })
                .as_object()
                .cloned()
                .unwrap_or_default(),
            };
            let index = state.locator.snapshot();
            let tz = state.settings.time_zone();
            submit_report(&state.relaxed_db, &index, tz, &reporter, input).await?.case_id
        }
    };
    record::set_case(&state.relaxed_db, alarm_id, case_id).await?;
    tracing::Span::current().record("case.id", case_id);
    // An alarm can clear in the batch that raised it, before it had a case to note
    // the clearing on.
    if alarm.state() == AlarmState::Cleared {
        let kind = match alarm.cleared_by {
            Some(_) => NoteKind::ClearedByHand,
            None => NoteKind::ClearedByData,
        };
        note(state, &alarm, case_id, kind, None).await?;
    }
    tracing::info!(device.id = %alarm.external_id, "alarm case linked");
    Ok(case_id)
}

/// Joins the still-open case of the previous alarm of the same rule and device, so
/// that a condition that clears and returns keeps one case.
async fn open_previous_case(state: &AppState, alarm: &Alarm) -> Result<Option<i64>, AlarmError> {
    let Some(case_id) = record::previous_case(&state.db, alarm).await? else {
        return Ok(None);
    };
    let case = state.db.case_by_id(case_id).await.map_err(crate::cases::case::CaseError::from)?;
    if !case.is_some_and(|case| case.stage.is_open()) {
        return Ok(None);
    }
    note(state, alarm, case_id, NoteKind::RaisedAgain, None).await?;
    Ok(Some(case_id))
}

/// Writes a note of `kind` about `alarm` on `case_id`; `user` names who acted.
///
/// # Errors
/// A missing case or a storage failure.
pub async fn note(
    state: &AppState,
    alarm: &Alarm,
    case_id: i64,
    kind: NoteKind,
    user: Option<(i64, &str)>,
) -> Result<(), AlarmError> {
    let locale = state.default_locale();
    let name = user.map(|(_, name)| name.to_owned()).unwrap_or_default();
    let comment = locale.t_args(
        kind.message_id(),
        &[("alarm", arg(alarm.sensor_alarm_id.to_string())), ("user", arg(name))],
    );
    let details = json!({
        "sensor_alarm_id": alarm.sensor_alarm_id,
        "alarm_event": kind.as_str(),
        "user_id": user.map(|(id, _)| id),
    });
    // A note of a person's action waits for the flush; a note that follows from stored
    // readings is rebuilt with its alarm ([`crate::db::Db::relaxed`]).
    let db = if user.is_some() { &state.db } else { &state.relaxed_db };
    add_system_note(db, case_id, &comment, details).await?;
    Ok(())
}

/// Renders a case text about `alarm` in the default language.
fn case_text(state: &AppState, id: &str, alarm: &Alarm) -> String {
    let value = alarm.last_value.map(|v| v.to_string()).unwrap_or_else(|| "-".to_owned());
    state.default_locale().t_args(
        id,
        &[
            ("device", arg(alarm.external_id.clone())),
            ("name", arg(alarm.device_name.clone())),
            ("rule", arg(alarm.rule_name.clone())),
            ("value", arg(value)),
            ("time", arg(local_time(alarm.first_triggered_at_ms, state.settings.time_zone()))),
        ],
    )
}

/// Formats UTC milliseconds as RFC 3339 with the offset of `zone`.
pub fn local_time(ms: i64, zone: chrono_tz::Tz) -> String {
    let utc = DateTime::<Utc>::from_timestamp_millis(ms).unwrap_or_default();
    zone.from_utc_datetime(&utc.naive_utc()).to_rfc3339()
}
