//! The dashboard's GET form: area and period parameters, their parsing, and the
//! values the form shows again beside its errors.

use serde::Deserialize;

use super::{
    period::{Period, Preset},
    scope::area_choices,
};
use crate::{
    accounts::CurrentUser,
    areas::Area,
    http::{AppError, UserMessage},
    locate::AreaIndex,
};

#[derive(Deserialize, Default)]
pub struct PageQuery {
    pub area: Option<String>,
    pub period: Option<String>,
    pub from: Option<String>,
    pub to: Option<String>,
}

/// The values of the form's inputs, whose ids are the parameter names.
#[derive(Default)]
pub struct FormValues {
    pub area: String,
    pub period: String,
    /// First and last dates, `YYYY-MM-DD` when valid, as typed otherwise.
    pub from: String,
    pub to: String,
}

impl FormValues {
    /// Keeps the parameters as the user sent them, for a form shown with errors.
    pub fn as_sent(query: &PageQuery) -> FormValues {
        let text = |value: &Option<String>| value.as_deref().unwrap_or_default().trim().to_owned();
        FormValues {
            area: text(&query.area),
            period: text(&query.period),
            from: text(&query.from),
            to: text(&query.to),
        }
    }
}

/// Parses the period selector: a preset, or `custom` with both dates.
///
/// # Errors
/// 400 naming `period` for an unknown preset, or `from` or `to` for a bad custom date
/// (see [`Period::of_dates`]).
pub fn page_period(
    query: &PageQuery,
    now_ms: i64,
    zone: chrono_tz::Tz,
) -> Result<(Preset, Period), AppError> {
    let text = query.period.as_deref().map(str::trim).filter(|p| !p.is_empty()).unwrap_or("day");
    let preset = Preset::parse(text).ok_or_else(|| {
        AppError::BadRequest(
            UserMessage::new("smart_core_period_invalid").arg("value", text).field("period"),
        )
    })?;
    let period = match preset {
        Preset::Custom => Period::of_dates(
            query.from.as_deref().unwrap_or_default(),
            query.to.as_deref().unwrap_or_default(),
            zone,
        )?,
        other => Period::of_preset(other, now_ms, zone),
    };
    Ok((preset, period))
}

/// Lists the areas of the selector: the user's choices plus `selected` when it is not
/// among them, such as a grid that an administrator opened by its code.
pub fn selector_areas<'a>(
    user: &CurrentUser,
    index: &'a AreaIndex,
    selected: Option<&'a Area>,
) -> Vec<&'a Area> {
    let mut areas = area_choices(user, index);
    if let Some(selected) = selected
        && !areas.iter().any(|area| area.area_id == selected.area_id)
    {
        areas.push(selected);
        areas.sort_by(|a, b| a.code.cmp(&b.code));
    }
    areas
}
