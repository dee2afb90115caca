//! Parsing a KPI request and turning the stored counts into figures per group.

use chrono::{DateTime, NaiveDate, NaiveTime, TimeZone, Utc};
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};

use super::{
    GroupCounts, Ratio,
    metric::{GroupBy, Metric},
    rollup::read::rollup_counts,
    store::KpiFilter,
};
use crate::{
    accounts::CurrentUser,
    cases::case::{CaseError, access::restrict_to_scope, store::CaseFilter},
    db::Db,
    http::UserMessage,
    i18n::Locale,
    locate::AreaIndex,
};

/// Parameters of `GET /api/v1/kpis`, as text so that a bad value gets our error format.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(default)]
pub struct KpiQuery {
    /// `community`, `grid`, `department` or `category`; community by default.
    pub group_by: Option<String>,
    /// First day of the period, `YYYY-MM-DD` in the configured time zone.
    pub from: Option<String>,
    /// Last day of the period, inclusive.
    pub to: Option<String>,
}

/// One metric's figure.
#[derive(Debug, Clone, Serialize)]
pub struct MetricFigure {
    pub metric: Metric,
    #[serde(flatten)]
    pub ratio: Ratio,
}

/// The figures of one group.
#[derive(Debug, Clone, Serialize)]
pub struct GroupFigures {
    /// Area id, department code or category code; empty for cases in no area.
    pub key: String,
    /// Area name, the localized "outside every grid" for the empty key, or the key
    /// itself for departments and categories.
    pub label: String,
    /// Counted cases, that is the closure rate's denominator.
    pub cases: i64,
    /// One ratio per metric, in the order of [`Metric::ALL`].
    pub metrics: Vec<MetricFigure>,
    /// Median of closed_at − created_at over closed cases, in calendar hours, at the
    /// precision of [`super::hours`].
    pub median_handling_hours: Option<f64>,
}

/// The result of a KPI query: one row per group and the total over all of them.
#[derive(Debug, Clone, Serialize)]
pub struct KpiReport {
    pub group_by: GroupBy,
    pub from: Option<NaiveDate>,
    pub to: Option<NaiveDate>,
    pub groups: Vec<GroupFigures>,
    pub total: GroupFigures,
}

/// A parsed KPI request: the grouping and the cohort.
pub struct KpiRequest {
    pub group_by: GroupBy,
    pub from: Option<NaiveDate>,
    pub to: Option<NaiveDate>,
    pub filter: KpiFilter,
}

/// Returns the 400 error of a query parameter, with `value` as the message's argument.
pub(super) fn bad_query(code: &'static str, field: &str, value: &str) -> CaseError {
    CaseError::BadQuery(UserMessage::new(code).arg("value", value).field(field))
}

fn parse_date(field: &str, text: Option<&str>) -> Result<Option<NaiveDate>, CaseError> {
    match text.map(str::trim).filter(|text| !text.is_empty()) {
        None => Ok(None),
        // chrono also reads `2026-1-1`, but the API accepts exactly YYYY-MM-DD.
        Some(text) if text.len() != 10 => Err(bad_query("kpi_date_invalid", field, text)),
        Some(text) => NaiveDate::parse_from_str(text, "%Y-%m-%d")
            .map(Some)
            .map_err(|_| bad_query("kpi_date_invalid", field, text)),
    }
}

fn start_of_day(date: NaiveDate, tz: Tz) -> DateTime<Utc> {
    let local = date.and_time(NaiveTime::MIN);
    // NOTE: a midnight inside a DST gap has no local instant, so it is read as UTC and
    // the period may shift by the zone's offset on that day.
    tz.from_local_datetime(&local)
        .earliest()
        .map_or_else(|| local.and_utc(), |start| start.with_timezone(&Utc))
}

/// Returns the end of an open period: 9999-12-31 rather than `DateTime::MAX_UTC`, whose
/// six-digit year would sort wrongly against SQLite's text timestamps.
fn end_of_time() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(9999, 12, 31, 0, 0, 0).single().unwrap_or(DateTime::UNIX_EPOCH)
}

/// Parses `query` and narrows the cohort to `user`'s area scope.
///
/// # Errors
/// [`CaseError::BadQuery`] naming the parameter: an unknown `group_by`, a date that is
/// not `YYYY-MM-DD`, or `from` after `to` (named `to`).
pub fn parse_request(
    query: &KpiQuery,
    user: &CurrentUser,
    index: &AreaIndex,
    tz: Tz,
) -> Result<KpiRequest, CaseError> {
    let group_by = match query.group_by.as_deref().filter(|text| !text.is_empty()) {
        None => GroupBy::Community,
        Some(text) => GroupBy::parse(text)
            .ok_or_else(|| bad_query("kpi_group_by_invalid", "group_by", text))?,
    };
    let from = parse_date("from", query.from.as_deref())?;
    let to = parse_date("to", query.to.as_deref())?;
    if let (Some(start), Some(end)) = (from, to)
        && start > end
    {
        return Err(CaseError::BadQuery(
            UserMessage::new("kpi_range_reversed")
                .arg("from", start.to_string())
                .arg("to", end.to_string())
                .field("to"),
        ));
    }
    let mut scope = CaseFilter::default();
    restrict_to_scope(user, index, &mut scope);
    let filter = KpiFilter {
        from: from.map_or(DateTime::UNIX_EPOCH, |date| start_of_day(date, tz)),
        to: to
            .and_then(|date| date.succ_opt())
            .map_or_else(end_of_time, |date| start_of_day(date, tz)),
        now: Utc::now(),
        area_ids: scope.area_ids,
        include_outside_grids: scope.include_outside_grids,
    };
    Ok(KpiRequest { group_by, from, to, filter })
}

fn figures(key: String, label: String, counts: &GroupCounts) -> GroupFigures {
    let metrics: Vec<MetricFigure> = Metric::ALL
        .iter()
        .zip(&counts.counts)
        .map(|(metric, (numerator, denominator))| MetricFigure {
            metric: *metric,
            ratio: Ratio::new(*numerator, *denominator),
        })
        .collect();
    let closure = counts.counts.get(3).map_or(0, |(_, denominator)| *denominator);
    GroupFigures {
        key,
        label,
        cases: closure,
        metrics,
        median_handling_hours: counts.handling_hours.median_hours(),
    }
}

/// Names a group for people: the area's name, a localized name for the cases outside
/// every grid (the empty key), or the code itself.
pub fn group_label(group_by: GroupBy, key: &str, index: &AreaIndex, locale: Locale) -> String {
    match group_by {
        GroupBy::Community | GroupBy::Grid if key.is_empty() => locale.t("kpis-no-area"),
        GroupBy::Community | GroupBy::Grid => key
            .parse::<i64>()
            .ok()
            .and_then(|area_id| index.area(area_id))
            .map_or_else(|| key.to_owned(), |area| area.name.clone()),
        GroupBy::Department | GroupBy::Category => key.to_owned(),
    }
}

/// Computes the figures of every group of `request` and their total, with group labels
/// in `locale`.
///
/// # Errors
/// A storage failure.
#[tracing::instrument(skip_all, fields(kpi.group_by = request.group_by.as_str()))]
pub async fn compute_report(
    db: &Db,
    index: &AreaIndex,
    request: &KpiRequest,
    locale: Locale,
) -> Result<KpiReport, CaseError> {
    let rows = rollup_counts(db, request.group_by, &request.filter)
        .await
        .map_err(|error| CaseError::Store(error.into()))?;
    let mut total = GroupCounts { counts: vec![(0, 0); Metric::ALL.len()], ..Default::default() };
    let mut groups = Vec::with_capacity(rows.len());
    for row in rows {
        for (sum, (numerator, denominator)) in total.counts.iter_mut().zip(&row.counts.counts) {
            sum.0 += numerator;
            sum.1 += denominator;
        }
        total.handling_hours.merge(&row.counts.handling_hours);
        let label = group_label(request.group_by, &row.key, index, locale);
        groups.push(figures(row.key, label, &row.counts));
    }
    Ok(KpiReport {
        group_by: request.group_by,
        from: request.from,
        to: request.to,
        groups,
        total: figures(String::new(), String::new(), &total),
    })
}
