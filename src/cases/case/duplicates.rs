//! Duplicate suggestions: open cases of the same category (小类) near a case and
//! reported shortly before it, nearest first.
//!
//! The store narrows candidates with a latitude and longitude box, which the index on
//! `(category_code, latitude, longitude)` serves on both backends. The exact
//! great-circle distance is then computed here, because SQLite has no trigonometric
//! functions by default. Only cases the user may read are suggested, so a resident's
//! report lists none but their own.

use chrono::{DateTime, FixedOffset, TimeDelta};
use chrono_tz::Tz;
use serde::Serialize;

use super::{
    access::can_read,
    error::CaseError,
    record::Case,
    stage::Stage,
    store::{
        CaseStore,
        followers::{CandidateBox, FollowStore},
    },
    transitions::category_of,
};
use crate::{
    accounts::CurrentUser, cases::calendar::service::with_zone_offset, db::Db, locate::AreaIndex,
};

/// Most suggestions returned for one case: enough to spot the duplicate, few enough
/// to read at the intake desk.
pub const MAX_SUGGESTIONS: usize = 5;
/// Most candidates read from the box before the exact distance is checked. In a box
/// with more open cases of the category, the newest ones are checked.
const MAX_CANDIDATES: i64 = 200;
/// Mean radius of the Earth in metres (IUGG), for great-circle distances.
const EARTH_RADIUS_M: f64 = 6_371_008.8;

/// An open case suggested as a duplicate, with its distance in metres.
#[derive(Debug, Clone)]
pub struct Duplicate {
    pub case: Case,
    pub distance_m: f64,
}

/// A suggestion as the JSON API returns it.
#[derive(Debug, Clone, Serialize)]
pub struct DuplicateView {
    pub case_id: i64,
    pub title: String,
    pub category_code: String,
    pub stage: Stage,
    /// Great-circle distance from the case, in metres, rounded to 0.1 m.
    pub distance_m: f64,
    pub created_at: DateTime<FixedOffset>,
}

impl DuplicateView {
    pub fn new(duplicate: Duplicate, tz: Tz) -> DuplicateView {
        DuplicateView {
            case_id: duplicate.case.case_id,
            title: duplicate.case.title,
            category_code: duplicate.case.category_code,
            stage: duplicate.case.stage,
            distance_m: (duplicate.distance_m * 10.0).round() / 10.0,
            created_at: with_zone_offset(duplicate.case.created_at, tz),
        }
    }
}

/// Computes the great-circle distance in metres between two WGS-84 points given in
/// degrees, with the haversine formula on a spherical Earth. Its error against the
/// ellipsoid stays under 0.5 %, far below a reporter's location error.
pub fn great_circle_m(from: (f64, f64), to: (f64, f64)) -> f64 {
    let (longitude_1, latitude_1) = (from.0.to_radians(), from.1.to_radians());
    let (longitude_2, latitude_2) = (to.0.to_radians(), to.1.to_radians());
    let half_dlat = (latitude_2 - latitude_1) / 2.0;
    let half_dlon = (longitude_2 - longitude_1) / 2.0;
    let h = half_dlat.sin().powi(2) + latitude_1.cos() * latitude_2.cos() * half_dlon.sin().powi(2);
    2.0 * EARTH_RADIUS_M * h.sqrt().min(1.0).asin()
}

/// Builds the box around `case` that contains every point within `radius_m` metres.
///
/// NOTE: the box does not wrap across the 180th meridian, so a case within the radius
/// on the other side of it is missed; no street lies there.
fn search_box(case: &Case, radius_m: u32, window_hours: u32) -> CandidateBox {
    let dlat = (f64::from(radius_m) / EARTH_RADIUS_M).to_degrees();
    // A degree of longitude shrinks with the cosine of the latitude; the floor keeps
    // the box finite at the poles.
    let shrink = case.latitude.to_radians().cos().max(1e-6);
    let dlon = (dlat / shrink).min(180.0);
    CandidateBox {
        category_code: case.category_code.clone(),
        min_latitude: case.latitude - dlat,
        max_latitude: case.latitude + dlat,
        min_longitude: case.longitude - dlon,
        max_longitude: case.longitude + dlon,
        created_since: case.created_at - TimeDelta::hours(i64::from(window_hours)),
        exclude_case_id: case.case_id,
        limit: MAX_CANDIDATES,
    }
}

/// Finds the open cases of `case`'s category within the category's radius that were
/// reported at most its window before `case`, that `user` may read, nearest first.
///
/// # Errors
/// A storage failure, or a case whose category is missing.
#[tracing::instrument(skip_all, fields(case.id = case.case_id, user.id = user.user_id))]
pub async fn find_duplicates(
    db: &Db,
    index: &AreaIndex,
    user: &CurrentUser,
    case: &Case,
) -> Result<Vec<Duplicate>, CaseError> {
    let category = category_of(db, case).await?;
    let radius_m = category.duplicate_radius_m;
    let area = search_box(case, radius_m, category.duplicate_window_hours);
    let candidates = db.duplicate_candidates(&area).await?;
    let origin = (case.longitude, case.latitude);
    let mut duplicates: Vec<Duplicate> = candidates
        .into_iter()
        .filter(|candidate| can_read(user, index, candidate))
        .map(|candidate| Duplicate {
            distance_m: great_circle_m(origin, (candidate.longitude, candidate.latitude)),
            case: candidate,
        })
        .filter(|duplicate| duplicate.distance_m <= f64::from(radius_m))
        .collect();
    duplicates.sort_by(|a, b| a.distance_m.total_cmp(&b.distance_m));
    duplicates.truncate(MAX_SUGGESTIONS);
    tracing::debug!(case.duplicates = duplicates.len(), "duplicate search finished");
    Ok(duplicates)
}

/// Loads case `case_id` for `user` and lists its suggested duplicates.
///
/// # Errors
/// [`CaseError::NotFound`] for a missing case and for one the user may not read.
pub async fn suggest_duplicates(
    db: &Db,
    index: &AreaIndex,
    tz: Tz,
    user: &CurrentUser,
    case_id: i64,
) -> Result<Vec<DuplicateView>, CaseError> {
    let case = db.case_by_id(case_id).await?.ok_or(CaseError::NotFound(case_id))?;
    if !can_read(user, index, &case) {
        return Err(CaseError::NotFound(case_id));
    }
    let duplicates = find_duplicates(db, index, user, &case).await?;
    Ok(duplicates.into_iter().map(|duplicate| DuplicateView::new(duplicate, tz)).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn great_circle_matches_known_distances() {
        // One degree of latitude on the mean sphere is 111,195 m.
        let degree = great_circle_m((116.4, 39.9), (116.4, 40.9));
        assert!((degree - 111_195.0).abs() < 1.0, "{degree}");
        // Beijing (Tiananmen) to Shanghai (People's Square) is about 1,067 km.
        let cities = great_circle_m((116.3975, 39.9087), (121.4737, 31.2304));
        assert!((cities - 1_067_000.0).abs() < 5_000.0, "{cities}");
        assert_eq!(great_circle_m((116.4, 39.9), (116.4, 39.9)), 0.0);
    }

    #[test]
    fn search_box_contains_the_whole_radius() {
        let now = chrono::Utc::now();
        let case = Case {
            case_id: 1,
            tracking_token: String::new(),
            title: String::new(),
            description: String::new(),
            category_code: "E0101".to_owned(),
            channel: super::super::Channel::Web,
            reporter_user_id: None,
            reporter_contact: None,
            address: None,
            longitude: 116.4,
            latitude: 39.9,
            grid_id: None,
            community_id: None,
            outside_grids: true,
            department_code: "HWS".to_owned(),
            stage: Stage::Intake,
            due_at: None,
            dispatch_due_at: None,
            handling_due_at: None,
            verification_due_at: None,
            requested_extension: None,
            merged_into_case_id: None,
            rating: None,
            closed_at: None,
            rework_count: 0,
            extension_count: 0,
            version: 1,
            created_at: now,
            updated_at: now,
        };
        let area = search_box(&case, 250, 72);
        let north = great_circle_m((116.4, 39.9), (116.4, area.max_latitude));
        let east = great_circle_m((116.4, 39.9), (area.max_longitude, 39.9));
        assert!((north - 250.0).abs() < 0.5, "{north}");
        assert!(east >= 249.5, "{east}");
        assert_eq!(case.created_at - area.created_since, TimeDelta::hours(72));
    }
}
