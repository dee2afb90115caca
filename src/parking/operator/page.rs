//! The operator console page `/parking/operator`: a period picker that works without
//! JavaScript, a table of figures with the formula of each, and an ECharts chart of
//! bookings per day drawn from the same data.

use crate::http::Query;
use askama::Template;
use axum::{extract::State, http::StatusCode, response::Response};

use super::{
    figures::Figures,
    http::{PeriodQuery, operator_report},
    pricing::PricingPart,
    report::OperatorReport,
};
use crate::{
    accounts::{CurrentUser, Permission},
    http::{AppError, AppState, pages::PageContext},
    i18n::Locale,
    parking::booking::pages::{FieldError, field_error, render, yuan},
};

/// One figure across the total and every lot, with its formula.
pub struct FigureRow {
    pub label: String,
    pub formula: String,
    /// The total first, then one value per lot in the order of the columns.
    pub values: Vec<String>,
}

#[derive(Template)]
#[template(path = "parking/operator.html")]
struct OperatorPage {
    ctx: PageContext,
    from: String,
    to: String,
    time_zone: String,
    errors: Vec<FieldError>,
    /// Lot references, the column headers after the total.
    lots: Vec<String>,
    rows: Vec<FigureRow>,
    area_rejected_online: i64,
    /// Dates and counts of bookings per day for the chart; only digits and dates.
    chart_json: String,
    /// Lot, samples, occupied and available space-hours, occupancy utilisation.
    occupancy: Vec<[String; 5]>,
    /// Pooled occupancy utilisation of the lots in `occupancy`.
    pooled_utilisation: String,
    changes: Vec<ChangeRow>,
}

/// One announced price change as a row of the page.
pub struct ChangeRow {
    pub lot_ref: String,
    pub day_type: String,
    pub times: String,
    pub old_yuan: String,
    pub new_yuan: String,
    pub mean_occupancy: String,
    pub samples: i64,
    pub announced: String,
    pub effective: String,
}

fn occupancy_rows(pricing: &PricingPart) -> Vec<[String; 5]> {
    pricing
        .occupancy
        .iter()
        .map(|lot| {
            [
                lot.lot_ref.clone(),
                lot.samples.to_string(),
                hours(lot.occupied_space_hours),
                hours(lot.available_space_hours),
                percent(lot.utilisation),
            ]
        })
        .collect()
}

fn change_rows(locale: Locale, pricing: &PricingPart) -> Vec<ChangeRow> {
    let clock = |minute: u16| format!("{:02}:{:02}", minute / 60, minute % 60);
    let local =
        |at: &chrono::DateTime<chrono::FixedOffset>| at.format("%Y-%m-%d %H:%M").to_string();
    pricing
        .price_changes
        .iter()
        .map(|change| ChangeRow {
            lot_ref: change.lot_ref.clone(),
            day_type: locale.t(&format!("parking-day-type-{}", change.day_type.as_str())),
            times: format!("{}–{}", clock(change.start_minute), clock(change.end_minute)),
            old_yuan: yuan(i64::from(change.old_fen)),
            new_yuan: yuan(i64::from(change.new_fen)),
            mean_occupancy: percent(change.mean_occupancy),
            samples: change.samples,
            announced: local(&change.announced_at),
            effective: local(&change.effective_at),
        })
        .collect()
}

fn percent(ratio: Option<f64>) -> String {
    ratio.map_or_else(|| "–".to_owned(), |ratio| format!("{:.1} %", ratio * 100.0))
}

fn hours(value: f64) -> String {
    format!("{value:.1}")
}

/// Builds one row per figure over `columns`. Each row's label is a catalog id whose
/// formula is the message `<id>-formula`.
fn figure_rows(locale: Locale, columns: &[&Figures]) -> Vec<FigureRow> {
    type Format = fn(&Figures) -> String;
    let rows: [(&str, Format); 19] = [
        ("parking-op-shared-spaces", |f| f.shared_spaces.to_string()),
        ("parking-op-published-hours", |f| hours(f.published_space_hours)),
        ("parking-op-booked-hours", |f| hours(f.booked_space_hours)),
        ("parking-op-utilisation", |f| percent(f.sharing_utilisation)),
        ("parking-op-completed", |f| f.completed_stays.to_string()),
        ("parking-op-turnover", |f| {
            f.turnover_per_space_day.map_or_else(|| "–".to_owned(), |t| format!("{t:.2}"))
        }),
        ("parking-op-served-online", |f| f.served_online.to_string()),
        ("parking-op-served-batch", |f| f.served_batch.to_string()),
        ("parking-op-rejected-online", |f| f.rejected_online.to_string()),
        ("parking-op-rejected-batch", |f| f.rejected_batch.to_string()),
        ("parking-op-served-share", |f| percent(f.served_share)),
        ("parking-op-pending", |f| f.pending_batch.to_string()),
        ("parking-op-no-shows", |f| f.no_shows.to_string()),
        ("parking-op-cancellations", |f| f.cancellations.to_string()),
        ("parking-op-overstays", |f| f.overstays.to_string()),
        ("parking-op-stay-fees", |f| yuan(f.stay_fee_fen)),
        ("parking-op-overstay-fees", |f| yuan(f.overstay_fee_fen)),
        ("parking-op-cancel-fees", |f| yuan(f.cancel_fee_fen)),
        ("parking-op-revenue", |f| yuan(f.revenue_fen)),
    ];
    rows.iter()
        .map(|(id, format)| FigureRow {
            label: locale.t(id),
            formula: locale.t(&format!("{id}-formula")),
            values: columns.iter().map(|figures| format(figures)).collect(),
        })
        .collect()
}

fn chart_json(report: &OperatorReport) -> String {
    let dates: Vec<String> = report.bookings_per_day.iter().map(|d| d.date.to_string()).collect();
    let counts: Vec<i64> = report.bookings_per_day.iter().map(|d| d.bookings).collect();
    serde_json::json!({ "dates": dates, "bookings": counts }).to_string()
}

fn page_of(
    ctx: PageContext,
    query: &PeriodQuery,
    report: Option<OperatorReport>,
    errors: Vec<FieldError>,
) -> OperatorPage {
    let locale = ctx.locale;
    let (from, to, lots, rows, area_rejected_online, chart) = match &report {
        Some(report) => {
            let mut columns = vec![&report.total];
            columns.extend(report.lots.iter().map(|lot| &lot.figures));
            (
                report.from.to_string(),
                report.to.to_string(),
                report.lots.iter().map(|lot| lot.lot_ref.clone()).collect(),
                figure_rows(locale, &columns),
                report.area_rejected_online,
                chart_json(report),
            )
        }
        None => (
            query.from.clone().unwrap_or_default(),
            query.to.clone().unwrap_or_default(),
            Vec::new(),
            Vec::new(),
            0,
            "{\"dates\":[],\"bookings\":[]}".to_owned(),
        ),
    };
    let (occupancy, pooled_utilisation, changes) = match &report {
        Some(report) => (
            occupancy_rows(&report.pricing),
            percent(report.pricing.pooled_utilisation),
            change_rows(locale, &report.pricing),
        ),
        None => (Vec::new(), percent(None), Vec::new()),
    };
    let time_zone = report.map(|report| report.time_zone).unwrap_or_default();
    OperatorPage {
        ctx: ctx.at("parking-operator"),
        from,
        to,
        time_zone,
        errors,
        lots,
        rows,
        area_rejected_online,
        chart_json: chart,
        occupancy,
        pooled_utilisation,
        changes,
    }
}

/// Shows the operator report of the chosen period, or the form with its error.
#[tracing::instrument(skip_all, fields(user.id = user.user_id))]
pub async fn get_operator_page(
    State(state): State<AppState>,
    user: CurrentUser,
    ctx: PageContext,
    Query(query): Query<PeriodQuery>,
) -> Result<Response, AppError> {
    user.require(Permission::ViewParkingOperations)?;
    match operator_report(&state, &user, &query).await {
        Ok(report) => render(&page_of(ctx, &query, Some(report), Vec::new()), StatusCode::OK),
        Err(error) => {
            let errors = vec![field_error(error, ctx.locale)?];
            render(&page_of(ctx, &query, None, errors), StatusCode::UNPROCESSABLE_ENTITY)
        }
    }
}
