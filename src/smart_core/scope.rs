//! The area a dashboard shows: a street or community the user may see, and the grids
//! under it whose devices count.

use crate::{
    accounts::CurrentUser,
    areas::{Area, Level},
    http::{AppError, UserMessage},
    locate::AreaIndex,
};

/// Lists the areas the user may pick, ordered by code: every street and community in
/// the user's scope, plus the user's own scope areas (a grid worker's grids).
pub fn area_choices<'a>(user: &CurrentUser, index: &'a AreaIndex) -> Vec<&'a Area> {
    let mut choices: Vec<&Area> = index
        .areas()
        .iter()
        .filter(|area| {
            let wide = matches!(area.level, Level::Street | Level::Community);
            (wide && user.can_access_area(index, area.area_id))
                || user.area_ids.contains(&area.area_id)
        })
        .collect();
    choices.sort_by(|a, b| a.code.cmp(&b.code));
    choices
}

/// Finds the area the request names by code, or the user's first choice without one.
///
/// # Errors
/// 400 naming `area` for an unknown code, 403 for an area outside the user's scope,
/// and 404 when the user may pick no area at all.
pub fn resolve_area<'a>(
    user: &CurrentUser,
    index: &'a AreaIndex,
    code: Option<&str>,
) -> Result<&'a Area, AppError> {
    match code.map(str::trim).filter(|code| !code.is_empty()) {
        Some(code) => {
            let area = index.by_code(code).ok_or_else(|| {
                AppError::BadRequest(
                    UserMessage::new("smart_core_area_unknown").arg("code", code).field("area"),
                )
            })?;
            if user.can_access_area(index, area.area_id) {
                Ok(area)
            } else {
                Err(AppError::Forbidden)
            }
        }
        None => area_choices(user, index)
            .into_iter()
            .next()
            .ok_or_else(|| AppError::NotFound(UserMessage::new("smart_core_no_area"))),
    }
}

/// Lists the ids of the grids at or under `area_id`; devices are placed in grids.
pub fn grid_ids(index: &AreaIndex, area_id: i64) -> Vec<i64> {
    index
        .areas()
        .iter()
        .filter(|area| area.level == Level::Grid && index.is_within(area.area_id, area_id))
        .map(|area| area.area_id)
        .collect()
}
