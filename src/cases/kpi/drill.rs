//! The cases behind a figure: `GET /api/v1/kpis/cases`.

use chrono::Utc;
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};

use super::{
    metric::{Metric, Outcome},
    query::{KpiQuery, bad_query, parse_request},
    store::drill_case_ids,
};
use crate::{
    accounts::CurrentUser,
    cases::case::{CaseError, CaseStore, view::CaseView},
    db::Db,
    locate::AreaIndex,
};

/// Most cases one drill-down returns, newest first.
pub const MAX_DRILL_CASES: i64 = 200;

/// Parameters of a drill-down: the figure's query plus the metric, group and side.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(default)]
pub struct DrillQuery {
    #[serde(flatten)]
    pub kpi: KpiQuery,
    /// A metric name such as `on_time_closure`.
    pub metric: Option<String>,
    /// The group key as `GET /api/v1/kpis` returns it; empty for cases in no area.
    pub group: Option<String>,
    /// `met`, or `missed` (alias `late`); `missed` by default.
    pub outcome: Option<String>,
}

/// Lists the cases of one group that meet or miss `metric`, within `user`'s scope.
///
/// # Errors
/// [`CaseError::BadQuery`] naming a missing or unknown parameter, or a storage failure.
#[tracing::instrument(skip_all, fields(user.id = user.user_id))]
pub async fn drill_cases(
    db: &Db,
    index: &AreaIndex,
    tz: Tz,
    user: &CurrentUser,
    query: &DrillQuery,
) -> Result<Vec<CaseView>, CaseError> {
    let request = parse_request(&query.kpi, user, index, tz)?;
    let metric_text = query.metric.as_deref().unwrap_or_default();
    let metric = Metric::parse(metric_text)
        .ok_or_else(|| bad_query("kpi_metric_invalid", "metric", metric_text))?;
    let outcome = match query.outcome.as_deref().filter(|text| !text.is_empty()) {
        None => Outcome::Missed,
        Some(text) => {
            Outcome::parse(text).ok_or_else(|| bad_query("kpi_outcome_invalid", "outcome", text))?
        }
    };
    let group = query.group.as_deref().unwrap_or_default();
    let ids = drill_case_ids(
        db,
        request.group_by,
        &request.filter,
        metric,
        outcome,
        group,
        MAX_DRILL_CASES,
    )
    .await
    .map_err(|error| CaseError::Store(error.into()))?;
    let now = Utc::now();
    let mut views = Vec::with_capacity(ids.len());
    for case_id in ids {
        if let Some(case) = db.case_by_id(case_id).await? {
            views.push(CaseView::new(case, tz, now, false));
        }
    }
    Ok(views)
}
