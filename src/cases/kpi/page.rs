//! The KPI dashboard page `/kpis`: filters as a GET form, a table of figures with
//! their formulas and drill-down links, and an ECharts chart drawn from the same data.

use askama::Template;
use axum::{
    extract::State,
    response::{IntoResponse, Response},
};
use chrono::NaiveDate;

use super::{
    metric::{GroupBy, Metric},
    query::{GroupFigures, KpiQuery, KpiReport, compute_report, parse_request},
};
use crate::{
    accounts::{CurrentUser, Permission},
    console::{PageContext, render},
    http::{
        AppError, AppState, Query,
        pages::{FieldError, error_for, field_error},
    },
};

/// One cell of the table: the rate as text, the counts behind it and the drill link.
pub struct CellView {
    pub text: String,
    pub counts: String,
    /// Drill-down to the cases that miss the figure, `None` when there are none.
    pub missed_href: Option<String>,
}

/// One row of the table.
pub struct RowView {
    pub label: String,
    pub cases: i64,
    pub cells: Vec<CellView>,
    pub median_hours: String,
}

#[derive(Template)]
#[template(path = "cases/kpis.html")]
struct KpisPage {
    ctx: PageContext,
    /// The form's values: as normalised on success, as sent beside errors.
    group_by: String,
    from: String,
    to: String,
    /// Rejected inputs. When there are any, the page shows only the form.
    errors: Vec<FieldError>,
    group_options: Vec<(&'static str, String)>,
    /// Fluent id of each metric's name, its formula and its name in the page language.
    metrics: Vec<(String, String)>,
    rows: Vec<RowView>,
    total: RowView,
    /// The query string of the current filters, for the export links.
    filters: String,
    /// The figures as JSON for the chart script.
    chart_json: String,
}

fn date_text(date: Option<NaiveDate>) -> String {
    date.map(|date| date.to_string()).unwrap_or_default()
}

/// Formats a rate as a percentage with one decimal, or "–" for an empty denominator.
pub fn percent(rate: Option<f64>) -> String {
    rate.map_or_else(|| "–".to_owned(), |rate| format!("{:.1} %", rate * 100.0))
}

fn row_view(figures: &GroupFigures, label: String, drill_base: Option<&str>) -> RowView {
    let cells = figures
        .metrics
        .iter()
        .map(|figure| {
            let missed = figure.ratio.denominator - figure.ratio.numerator;
            let missed_href = drill_base.filter(|_| missed > 0).map(|base| {
                let params = [
                    ("metric", figure.metric.as_str()),
                    ("group", figures.key.as_str()),
                    ("outcome", "missed"),
                ];
                let query = serde_urlencoded::to_string(params).unwrap_or_default();
                format!("{base}&{query}")
            });
            CellView {
                text: percent(figure.ratio.rate),
                counts: format!("{} / {}", figure.ratio.numerator, figure.ratio.denominator),
                missed_href,
            }
        })
        .collect();
    RowView {
        label,
        cases: figures.cases,
        cells,
        median_hours: figures
            .median_handling_hours
            .map_or_else(|| "–".to_owned(), |hours| format!("{hours:.1}")),
    }
}

fn chart_json(report: &KpiReport, labels: &[String]) -> String {
    let series: Vec<serde_json::Value> = Metric::ALL
        .iter()
        .enumerate()
        .map(|(i, metric)| {
            let data: Vec<Option<f64>> = report
                .groups
                .iter()
                .map(|group| group.metrics[i].ratio.rate.map(|rate| (rate * 1000.0).round() / 10.0))
                .collect();
            serde_json::json!({ "metric": metric.as_str(), "data": data })
        })
        .collect();
    serde_json::json!({ "groups": labels, "series": series }).to_string()
}

fn group_options(ctx: &PageContext) -> Vec<(&'static str, String)> {
    GroupBy::ALL
        .iter()
        .map(|group_by| (group_by.as_str(), ctx.t(&format!("kpis-group-{}", group_by.as_str()))))
        .collect()
}

fn metric_names(ctx: &PageContext) -> Vec<(String, String)> {
    Metric::ALL.iter().map(|metric| (metric.message_id(), ctx.t(&metric.message_id()))).collect()
}

/// Builds the page that shows only the form, with the user's values and the error.
fn form_with_error(ctx: PageContext, query: &KpiQuery, error: FieldError) -> KpisPage {
    let text = |value: &Option<String>| value.as_deref().unwrap_or_default().trim().to_owned();
    KpisPage {
        group_by: text(&query.group_by),
        from: text(&query.from),
        to: text(&query.to),
        errors: vec![error],
        group_options: group_options(&ctx),
        metrics: metric_names(&ctx),
        rows: Vec::new(),
        total: RowView {
            label: String::new(),
            cases: 0,
            cells: Vec::new(),
            median_hours: String::new(),
        },
        filters: String::new(),
        chart_json: String::new(),
        ctx: ctx.at("kpis"),
    }
}

impl KpisPage {
    fn error_for(&self, field: &str) -> Option<&str> {
        error_for(&self.errors, field)
    }
}

/// Shows the figures of the chosen grouping and period, or the form again with a
/// message beside the rejected input.
#[tracing::instrument(skip_all, fields(user.id = user.user_id))]
pub async fn get_kpis_page(
    State(state): State<AppState>,
    ctx: PageContext,
    user: CurrentUser,
    Query(query): Query<KpiQuery>,
) -> Result<Response, AppError> {
    user.require(Permission::ViewKpis)?;
    let index = state.locator.snapshot();
    let request = match parse_request(&query, &user, &index, state.settings.time_zone()) {
        Ok(request) => request,
        Err(error) => {
            let error = AppError::from(error);
            let status = error.status();
            let error = field_error(error, ctx.locale)?;
            let page = form_with_error(ctx, &query, error);
            return Ok((status, render(&page)?).into_response());
        }
    };
    let report = compute_report(&state.db, &index, &request, ctx.locale).await?;
    let filters = serde_urlencoded::to_string([
        ("group_by", request.group_by.as_str().to_owned()),
        ("from", date_text(request.from)),
        ("to", date_text(request.to)),
    ])
    .unwrap_or_default();
    let drill_base = format!("/api/v1/kpis/cases?{filters}");
    let labels: Vec<String> = report.groups.iter().map(|group| group.label.clone()).collect();
    let rows = report
        .groups
        .iter()
        .zip(&labels)
        .map(|(group, label)| row_view(group, label.clone(), Some(&drill_base)))
        .collect();
    let page = KpisPage {
        group_by: request.group_by.as_str().to_owned(),
        from: date_text(request.from),
        to: date_text(request.to),
        errors: Vec::new(),
        group_options: group_options(&ctx),
        metrics: metric_names(&ctx),
        total: row_view(&report.total, ctx.t("kpis-total"), None),
        rows,
        chart_json: chart_json(&report, &labels),
        filters,
        ctx: ctx.at("kpis"),
    };
    Ok(render(&page)?.into_response())
}
