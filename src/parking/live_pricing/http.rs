//! Routes of tariffs and live prices.
//!
//! Administrators (`ManageDevices`, as for the rest of the parking inventory) list,
//! create and replace tariffs. Every logged-in user reads a lot's prices, since
//! drivers book at them. Staff (`ViewDevices`) read the log of price changes.

use crate::http::Query;
use axum::{
    Json, Router,
    extract::{Path, State, rejection::JsonRejection},
    http::StatusCode,
    routing::get,
};
use chrono::{DateTime, Duration, FixedOffset, Utc};
use serde::{Deserialize, Serialize};

use super::{
    PricingError, invalid,
    prices::{self, BandPrice, PriceChange},
    tariffs::{self, TariffInput, TariffView, WriteMode},
};
use crate::{
    accounts::{CurrentUser, Permission},
    http::{AppError, AppState, UserMessage},
};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/v1/parking/tariffs", get(list_tariffs).post(create_tariff))
        .route("/api/v1/parking/tariffs/{code}", get(show_tariff).put(replace_tariff))
        .route("/api/v1/parking/lots/{lot_ref}/prices", get(show_lot_prices))
        .route("/api/v1/parking/price-changes", get(list_price_changes))
        .merge(super::pages::router())
}

fn json_body<T>(body: Result<Json<T>, JsonRejection>) -> Result<T, AppError> {
    body.map(|Json(value)| value).map_err(|rejection| {
        AppError::BadRequest(
            UserMessage::new("invalid_json_body").arg("reason", rejection.body_text()),
        )
    })
}

#[derive(Serialize)]
struct TariffList {
    tariffs: Vec<TariffView>,
}

async fn list_tariffs(
    State(state): State<AppState>,
    user: CurrentUser,
) -> Result<Json<TariffList>, AppError> {
    user.require(Permission::ManageDevices)?;
    let stored = tariffs::list_tariffs(&state.db).await?;
    Ok(Json(TariffList { tariffs: stored.iter().map(TariffView::from).collect() }))
}

async fn show_tariff(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(code): Path<String>,
) -> Result<Json<TariffView>, AppError> {
    user.require(Permission::ManageDevices)?;
    let stored = tariffs::tariff_by_code(&state.db, &code).await?;
    Ok(Json(TariffView::from(&stored)))
}

#[tracing::instrument(skip_all, fields(user.id = user.user_id))]
async fn create_tariff(
    State(state): State<AppState>,
    user: CurrentUser,
    body: Result<Json<TariffInput>, JsonRejection>,
) -> Result<(StatusCode, Json<TariffView>), AppError> {
    user.require(Permission::ManageDevices)?;
    let tariff = json_body(body)?.parse()?;
    tariffs::write_tariff(&state.db, &tariff, WriteMode::Create).await?;
    Ok((StatusCode::CREATED, Json(TariffView::from(&tariff))))
}

/// Replaces a tariff's name, bands and rule; the code comes from the path.
#[tracing::instrument(skip_all, fields(user.id = user.user_id, parking.tariff = %code))]
async fn replace_tariff(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(code): Path<String>,
    body: Result<Json<TariffInput>, JsonRejection>,
) -> Result<Json<TariffView>, AppError> {
    user.require(Permission::ManageDevices)?;
    let tariff = TariffInput { code: Some(code), ..json_body(body)? }.parse()?;
    tariffs::write_tariff(&state.db, &tariff, WriteMode::Replace).await?;
    Ok(Json(TariffView::from(&tariff)))
}

/// A price change with its instants in the configured zone.
#[derive(Debug, Clone, Serialize)]
pub struct PriceChangeView {
    pub price_review_id: i64,
    pub lot_ref: String,
    pub day_type: crate::parking::tariff::DayType,
    pub start_minute: u16,
    pub end_minute: u16,
    pub old_fen: u32,
    pub new_fen: u32,
    pub mean_occupancy: Option<f64>,
    pub samples: i64,
    pub announced_at: DateTime<FixedOffset>,
    pub effective_at: DateTime<FixedOffset>,
}

impl PriceChangeView {
    pub fn new(change: PriceChange, zone: chrono_tz::Tz) -> PriceChangeView {
        let local = |at: DateTime<Utc>| at.with_timezone(&zone).fixed_offset();
        PriceChangeView {
            price_review_id: change.price_review_id,
            lot_ref: change.lot_ref,
            day_type: change.day_type,
            start_minute: change.start_minute,
            end_minute: change.end_minute,
            old_fen: change.old_fen,
            new_fen: change.new_fen,
            mean_occupancy: change.mean_occupancy,
            samples: change.samples,
            announced_at: local(change.announced_at),
            effective_at: local(change.effective_at),
        }
    }
}

#[derive(Serialize)]
struct LotPricesView {
    lot_ref: String,
    tariff_code: String,
    /// Zone of the bands' minutes.
    time_zone: String,
    at: DateTime<FixedOffset>,
    bands: Vec<BandPrice>,
    upcoming: Vec<PriceChangeView>,
}

async fn show_lot_prices(
    State(state): State<AppState>,
    _user: CurrentUser,
    Path(lot_ref): Path<String>,
) -> Result<Json<LotPricesView>, AppError> {
    let now = Utc::now();
    let lot_prices = prices::lot_prices(&state.db, &lot_ref, now).await?;
    let zone = state.settings.time_zone();
    Ok(Json(LotPricesView {
        lot_ref: lot_prices.lot_ref,
        tariff_code: lot_prices.tariff_code,
        time_zone: state.settings.booking.time_zone.clone(),
        at: now.with_timezone(&zone).fixed_offset(),
        bands: lot_prices.bands,
        upcoming: lot_prices.upcoming.into_iter().map(|c| PriceChangeView::new(c, zone)).collect(),
    }))
}

/// Query of `GET /api/v1/parking/price-changes`; instants are RFC 3339 with an offset.
#[derive(Debug, Deserialize)]
struct ChangesQuery {
    /// Ref of one lot; all lots when missing.
    lot: Option<String>,
    /// Start of the announcement span; 90 days before `to` when missing.
    from: Option<String>,
    /// End of the announcement span, exclusive; now when missing.
    to: Option<String>,
}

fn parse_instant(
    text: Option<&str>,
    field: &'static str,
) -> Result<Option<DateTime<Utc>>, PricingError> {
    text.map(|text| {
        DateTime::parse_from_rfc3339(text.trim())
            .map(|at| at.with_timezone(&Utc))
            .map_err(|_| invalid("parking_instant", field))
    })
    .transpose()
}

#[derive(Serialize)]
struct ChangeList {
    changes: Vec<PriceChangeView>,
}

async fn list_price_changes(
    State(state): State<AppState>,
    user: CurrentUser,
    Query(query): Query<ChangesQuery>,
) -> Result<Json<ChangeList>, AppError> {
    user.require(Permission::ViewDevices)?;
    let to = parse_instant(query.to.as_deref(), "to")?.unwrap_or_else(Utc::now);
    let from = parse_instant(query.from.as_deref(), "from")?.unwrap_or(to - Duration::days(90));
    if from > to {
        return Err(invalid("parking_span_order", "from").into());
    }
    let lot_id = match query.lot.as_deref() {
        None | Some("") => None,
        Some(lot_ref) => Some(
            crate::parking::booking::store::lot_by_ref(&state.db, lot_ref)
                .await?
                .ok_or_else(|| AppError::not_found("parking lot", lot_ref))?
                .lot_id,
        ),
    };
    let changes = prices::list_changes(&state.db, lot_id, from, to).await?;
    let zone = state.settings.time_zone();
    Ok(Json(ChangeList {
        changes: changes.into_iter().map(|c| PriceChangeView::new(c, zone)).collect(),
    }))
}
