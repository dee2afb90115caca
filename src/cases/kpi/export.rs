//! The KPI table as CSV and XLSX files, for the same filters as the page.

use crate::http::Query;
use axum::{
    extract::State,
    http::header,
    response::{IntoResponse, Response},
};

use super::{
    metric::Metric,
    query::{GroupFigures, KpiQuery, KpiReport, compute_report, parse_request},
};
use crate::{
    accounts::{CurrentUser, Permission},
    console::PageContext,
    http::{AppError, AppState},
    i18n::Locale,
};

/// Builds the header row: group, key, cases, then numerator, denominator and rate per metric,
/// then the median handling time. Names are in the user's language.
fn header_row(locale: Locale) -> Vec<String> {
    let mut header = vec![locale.t("kpis-group"), "key".to_owned(), locale.t("kpis-cases")];
    for metric in Metric::ALL {
        let name = locale.t(&metric.message_id());
        header.push(format!("{name} numerator"));
        header.push(format!("{name} denominator"));
        header.push(name);
    }
    header.push(locale.t("kpis-median-hours"));
    header
}

/// Builds one data row. Rates are fractions between 0 and 1, empty for an empty denominator.
fn data_row(label: &str, figures: &GroupFigures) -> Vec<String> {
    let mut row = vec![label.to_owned(), figures.key.clone(), figures.cases.to_string()];
    for figure in &figures.metrics {
        row.push(figure.ratio.numerator.to_string());
        row.push(figure.ratio.denominator.to_string());
        row.push(figure.ratio.rate.map(|rate| format!("{rate:.4}")).unwrap_or_default());
    }
    row.push(figures.median_handling_hours.map(|hours| format!("{hours:.2}")).unwrap_or_default());
    row
}

fn table(report: &KpiReport, locale: Locale) -> Vec<Vec<String>> {
    let mut rows = vec![header_row(locale)];
    for group in &report.groups {
        rows.push(data_row(&group.label, group));
    }
    rows.push(data_row(&locale.t("kpis-total"), &report.total));
    rows
}

fn to_csv(rows: &[Vec<String>]) -> Result<Vec<u8>, AppError> {
    let mut writer = csv::Writer::from_writer(Vec::new());
    for row in rows {
        writer.write_record(row).map_err(|error| AppError::Internal(error.into()))?;
    }
    writer.into_inner().map_err(|error| AppError::Internal(anyhow::anyhow!("{error}")))
}

/// Writes numbers as numbers, so that a spreadsheet can sum and chart them.
fn to_xlsx(rows: &[Vec<String>]) -> Result<Vec<u8>, rust_xlsxwriter::XlsxError> {
    let mut workbook = rust_xlsxwriter::Workbook::new();
    let sheet = workbook.add_worksheet();
    for (r, row) in rows.iter().enumerate() {
        for (c, cell) in row.iter().enumerate() {
            let (r, c) = (r as u32, c as u16);
            match cell.parse::<f64>() {
                Ok(number) if r > 0 && c > 1 => sheet.write_number(r, c, number)?,
                _ => sheet.write_string(r, c, cell)?,
            };
        }
    }
    workbook.save_to_buffer()
}

async fn report_for(
    state: &AppState,
    user: &CurrentUser,
    query: &KpiQuery,
    locale: Locale,
) -> Result<KpiReport, AppError> {
    user.require(Permission::ViewKpis)?;
    let index = state.locator.snapshot();
    let request = parse_request(query, user, &index, state.settings.time_zone())?;
    Ok(compute_report(&state.db, &index, &request, locale).await?)
}

fn attachment(content_type: &'static str, name: &'static str, body: Vec<u8>) -> Response {
    let disposition = format!("attachment; filename=\"{name}\"");
    (
        [
            (header::CONTENT_TYPE, content_type.to_owned()),
            (header::CONTENT_DISPOSITION, disposition),
        ],
        body,
    )
        .into_response()
}

pub async fn get_kpis_csv(
    State(state): State<AppState>,
    user: CurrentUser,
    ctx: PageContext,
    Query(query): Query<KpiQuery>,
) -> Result<Response, AppError> {
    let report = report_for(&state, &user, &query, ctx.locale).await?;
    let body = to_csv(&table(&report, ctx.locale))?;
    Ok(attachment("text/csv; charset=utf-8", "kpis.csv", body))
}

pub async fn get_kpis_xlsx(
    State(state): State<AppState>,
    user: CurrentUser,
    ctx: PageContext,
    Query(query): Query<KpiQuery>,
) -> Result<Response, AppError> {
    let report = report_for(&state, &user, &query, ctx.locale).await?;
    let body =
        to_xlsx(&table(&report, ctx.locale)).map_err(|error| AppError::Internal(error.into()))?;
    let content_type = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet";
    Ok(attachment(content_type, "kpis.xlsx", body))
}
