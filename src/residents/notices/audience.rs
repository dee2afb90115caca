//! The audience of a notice: residents of some grids, optionally narrowed to those who
//! carry some tags, such as every resident of two grids who returned from a named area
//! since a date.
//!
//! A spec names areas (grids, communities or the street) and tag conditions. It is
//! resolved against the sender's scope once, when the notice is created. The grids it
//! keeps are stored with the notice, so a scheduled notice reaches the audience that the
//! sender previewed even if their account changes before it goes out.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use crate::{
    accounts::{CurrentUser, domain::area_in_scope},
    areas::Level,
    db::Db,
    http::UserMessage,
    locate::AreaIndex,
    residents::{ResidentError, service::scope_grids},
    with_pool,
};

/// Most tag conditions in one audience.
const MAX_TAG_CONDITIONS: usize = 10;

/// One tag a recipient must carry, with the attributes of a `returned` tag when given.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TagCondition {
    pub code: String,
    /// Only residents who returned from this area (exact name, as registered).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from_area: Option<String>,
    /// Only residents who returned on or after this day.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub since: Option<NaiveDate>,
}

/// The audience as the sender writes it.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AudienceSpec {
    /// Areas whose grids are targeted; empty means every grid of the sender's scope.
    pub area_ids: Vec<i64>,
    /// Tag conditions; empty means every resident of the grids.
    pub tags: Vec<TagCondition>,
    /// `any` (the default): a recipient carries at least one of the tags; `all`: every one.
    pub tags_match: Option<String>,
}

/// An audience resolved against the sender's scope, as stored with the notice.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Audience {
    pub area_ids: Vec<i64>,
    /// The grids whose residents are targeted, inside the sender's scope.
    pub grid_ids: Vec<i64>,
    pub tags: Vec<TagCondition>,
    pub tags_match_all: bool,
}

fn invalid(message: UserMessage) -> ResidentError {
    ResidentError::Invalid(message)
}

/// Resolves `spec` for `user`: checks every area and tag, and keeps the grids under the
/// chosen areas that the user may reach.
///
/// # Errors
/// 422 naming the field for an unknown area, an area outside the user's scope, an
/// unknown tag or a bad `tags_match`.
pub async fn resolve(
    db: &Db,
    index: &AreaIndex,
    user: &CurrentUser,
    spec: AudienceSpec,
) -> Result<Audience, ResidentError> {
    let tags_match_all = match spec.tags_match.as_deref().map(str::trim) {
        None | Some("" | "any") => false,
        Some("all") => true,
        Some(other) => {
            let message = UserMessage::new("notice_tags_match").arg("value", other);
            return Err(invalid(message.field("audience.tags_match")));
        }
    };
    for area_id in &spec.area_ids {
        if index.area(*area_id).is_none() {
            let message = UserMessage::new("notice_area_unknown").arg("id", *area_id);
            return Err(invalid(message.field("audience.area_ids")));
        }
        if !user.can_access_area(index, *area_id) {
            let message = UserMessage::new("notice_area_outside_scope").arg("id", *area_id);
            return Err(invalid(message.field("audience.area_ids")));
        }
    }
    if spec.tags.len() > MAX_TAG_CONDITIONS {
        let message = UserMessage::new("notice_too_many_tags").arg("max", MAX_TAG_CONDITIONS);
        return Err(invalid(message.field("audience.tags")));
    }
    let known: Vec<String> = with_pool!(db, |pool| {
        sqlx::query_scalar("SELECT code FROM resident_tag").fetch_all(pool).await
    })?;
    for tag in &spec.tags {
        if !known.contains(&tag.code) {
            let message = UserMessage::new("resident_tag_unknown").arg("tag", tag.code.as_str());
            return Err(invalid(message.field("audience.tags")));
        }
    }
    let scope = scope_grids(index, user);
    let mut grid_ids: Vec<i64> = index
        .areas()
        .iter()
        .filter(|area| area.level == Level::Grid)
        .map(|area| area.area_id)
        .filter(|grid| scope.as_ref().is_none_or(|scope| scope.contains(grid)))
        .filter(|grid| spec.area_ids.is_empty() || area_in_scope(index, &spec.area_ids, *grid))
        .collect();
    grid_ids.sort_unstable();
    Ok(Audience { area_ids: spec.area_ids, grid_ids, tags: spec.tags, tags_match_all })
}

/// A value bound into [`where_clause`]'s text.
#[derive(Debug, Clone, PartialEq)]
pub enum Bind {
    Text(String),
    Date(NaiveDate),
}

/// Binds `binds` to `$query` in order; a macro because the query type differs per backend.
#[macro_export]
macro_rules! bind_audience {
    ($query:expr, $binds:expr) => {{
        let mut query = $query;
        for value in $binds {
            query = match value {
                $crate::residents::notices::audience::Bind::Text(text) => query.bind(text.clone()),
                $crate::residents::notices::audience::Bind::Date(date) => query.bind(*date),
            };
        }
        query
    }};
}

/// Builds the `WHERE` clause that selects the audience's residents from `resident r`,
/// and the tag values to bind from `$first` on, in order.
pub fn where_clause(audience: &Audience, first: usize) -> (String, Vec<Bind>) {
    if audience.grid_ids.is_empty() {
        return ("1 = 0".to_owned(), Vec::new());
    }
    // Grid ids come from the area index, never from the request text.
    let grids: Vec<String> = audience.grid_ids.iter().map(i64::to_string).collect();
    let mut clause = format!("r.grid_id IN ({})", grids.join(","));
    let mut binds = Vec::new();
    let mut conditions = Vec::new();
    for tag in &audience.tags {
        let mut exists = format!(
            "EXISTS (SELECT 1 FROM resident_tag_assignment a JOIN resident_tag t \
             ON t.tag_id = a.tag_id WHERE a.resident_id = r.resident_id AND t.code = ${}",
            first + binds.len()
        );
        binds.push(Bind::Text(tag.code.clone()));
        if let Some(from_area) = &tag.from_area {
            exists.push_str(&format!(" AND a.from_area = ${}", first + binds.len()));
            binds.push(Bind::Text(from_area.clone()));
        }
        if let Some(since) = tag.since {
            exists.push_str(&format!(" AND a.since >= ${}", first + binds.len()));
            binds.push(Bind::Date(since));
        }
        exists.push(')');
        conditions.push(exists);
    }
    if !conditions.is_empty() {
        let joiner = if audience.tags_match_all { " AND " } else { " OR " };
        clause.push_str(&format!(" AND ({})", conditions.join(joiner)));
    }
    (clause, binds)
}

/// Counts the residents of `audience`, for the preview before sending.
///
/// # Errors
/// A database failure.
pub async fn count(db: &Db, audience: &Audience) -> Result<i64, sqlx::Error> {
    let (clause, binds) = where_clause(audience, 1);
    let sql = format!("SELECT COUNT(*) FROM resident r WHERE {clause}");
    with_pool!(db, |pool| {
        crate::bind_audience!(sqlx::query_scalar(sqlx::AssertSqlSafe(sql.clone())), &binds)
            .fetch_one(pool)
            .await
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tags_become_bound_exists_conditions() {
        let audience = Audience {
            area_ids: vec![],
            grid_ids: vec![4, 5],
            tags: vec![
                TagCondition { code: "elderly_alone".into(), from_area: None, since: None },
                TagCondition {
                    code: "returned".into(),
                    from_area: Some("某地".into()),
                    since: NaiveDate::from_ymd_opt(2026, 11, 1),
                },
            ],
            tags_match_all: false,
        };
        let (clause, binds) = where_clause(&audience, 2);
        assert!(clause.starts_with("r.grid_id IN (4,5) AND ("), "{clause}");
        assert!(clause.contains("t.code = $2)"), "{clause}");
        assert!(clause.contains(" OR "), "{clause}");
        assert!(clause.contains("a.from_area = $4 AND a.since >= $5)"), "{clause}");
        let text = |value: &str| Bind::Text(value.to_owned());
        let since = Bind::Date(NaiveDate::from_ymd_opt(2026, 11, 1).unwrap());
        assert_eq!(binds, [text("elderly_alone"), text("returned"), text("某地"), since]);

        let nobody = Audience { grid_ids: vec![], ..audience };
        assert_eq!(where_clause(&nobody, 1).0, "1 = 0");
    }
}
