//! The owner's sharing page (`/parking/lots/{lot_ref}/sharing`): the lot's windows with
//! a form to publish a weekly one, and the lot's bookings with the earnings.

use askama::Template;
use axum::{
    Form,
    extract::{Path, State},
    http::StatusCode,
    response::Response,
};
use chrono::Utc;

use super::{
    Status,
    pages::{BookingRow, FieldError, actor, field_error, render, see_other, yuan},
    sharing,
    store::{self, BookingFilter},
    windows::{Schedule, Window, WindowInput},
};
use crate::{
    accounts::{CurrentUser, Role},
    http::{AppError, AppState, pages::PageContext},
    i18n::Locale,
    parking::{live_pricing, tariff::DayType},
};

/// The lot's band prices now and the announced changes, as table rows.
pub struct PriceRows {
    pub tariff_code: String,
    /// Day type label, band times, price now in yuan per hour, base rate in yuan per hour.
    pub bands: Vec<(String, String, String, String)>,
    /// Day type label, band times, new price in yuan per hour, effective local time.
    pub upcoming: Vec<(String, String, String, String)>,
}

impl PriceRows {
    fn new(prices: &live_pricing::prices::LotPrices, zone: chrono_tz::Tz, locale: Locale) -> Self {
        let clock = |minute: u16| format!("{:02}:{:02}", minute / 60, minute % 60);
        let label =
            |day_type: DayType| locale.t(&format!("parking-day-type-{}", day_type.as_str()));
        let bands = prices
            .bands
            .iter()
            .map(|band| {
                (
                    label(band.day_type),
                    format!("{}–{}", clock(band.start_minute), clock(band.end_minute)),
                    yuan(i64::from(band.price_fen)),
                    yuan(i64::from(band.base_fen)),
                )
            })
            .collect();
        let upcoming = prices
            .upcoming
            .iter()
            .map(|change| {
                (
                    label(change.day_type),
                    format!("{}–{}", clock(change.start_minute), clock(change.end_minute)),
                    yuan(i64::from(change.new_fen)),
                    super::pages::local_time(change.effective_at, zone),
                )
            })
            .collect();
        PriceRows { tariff_code: prices.tariff_code.clone(), bands, upcoming }
    }
}

/// One window as a row of the table.
pub struct WindowRow {
    pub window_id: i64,
    pub space_ref: String,
    pub audience_label: String,
    /// The opening times in words, such as `1,2,3,4,5 19:00–08:00`.
    pub when: String,
}

impl WindowRow {
    fn new(window: &Window, zone: chrono_tz::Tz, locale: Locale) -> WindowRow {
        let when = match &window.schedule {
            Schedule::Weekly { weekday_mask, start_minute, end_minute, .. } => {
                let days: Vec<String> = (0..7)
                    .filter(|day| weekday_mask & (1 << day) != 0)
                    .map(|day| (day + 1).to_string())
                    .collect();
                let clock = |minute: &u16| format!("{:02}:{:02}", minute / 60, minute % 60);
                let weekdays = locale.t("parking-weekdays-label");
                format!(
                    "{weekdays} {} {}–{}",
                    days.join(","),
                    clock(start_minute),
                    clock(end_minute)
                )
            }
            Schedule::Once { starts_at, ends_at } => {
                format!(
                    "{} – {}",
                    super::pages::local_time(*starts_at, zone),
                    super::pages::local_time(*ends_at, zone)
                )
            }
        };
        WindowRow {
            window_id: window.window_id,
            space_ref: window
                .space_ref
                .clone()
                .unwrap_or_else(|| locale.t("parking-all-shared-spaces")),
            audience_label: locale.t(&format!("parking-audience-{}", window.audience.as_str())),
            when,
        }
    }
}

#[derive(Template)]
#[template(path = "parking/sharing.html")]
struct SharingPage {
    ctx: PageContext,
    lot_ref: String,
    windows: Vec<WindowRow>,
    rows: Vec<BookingRow>,
    /// Charges of completed stays and late cancellations, in yuan.
    earnings_yuan: String,
    /// Drivers parked past their booking's end right now, warned ones included.
    overstays: Vec<BookingRow>,
    prices: PriceRows,
    errors: Vec<FieldError>,
}

async fn sharing_page(
    state: &AppState,
    user: &CurrentUser,
    ctx: PageContext,
    lot_ref: &str,
    errors: Vec<FieldError>,
) -> Result<SharingPage, AppError> {
    let lot = store::lot_by_ref(&state.db, lot_ref)
        .await?
        .ok_or_else(|| AppError::not_found("parking lot", lot_ref))?;
    if user.role != Role::Administrator && lot.owner_user_id != Some(user.user_id) {
        return Err(AppError::Forbidden);
    }
    let zone = super::pages::zone(state);
    let windows = sharing::list_windows(&state.db, lot_ref).await?;
    let windows = windows.iter().map(|window| WindowRow::new(window, zone, ctx.locale)).collect();
    let filter = BookingFilter { lot_id: Some(lot.lot_id), ..BookingFilter::default() };
    let bookings = store::list_bookings(&state.db, &filter).await?;
    let earned: i64 = bookings
        .iter()
        .filter(|booking| matches!(booking.status, Status::Completed | Status::Cancelled))
        .map(|booking| booking.stay_fee_fen + booking.overstay_fee_fen + booking.cancel_fee_fen)
        .sum();
    let rows: Vec<BookingRow> =
        bookings.iter().map(|booking| BookingRow::new(booking, zone, ctx.locale)).collect();
    let overstays = bookings
        .iter()
        .filter(|booking| booking.is_overstaying())
        .map(|booking| BookingRow::new(booking, zone, ctx.locale))
        .collect();
    let lot_prices = live_pricing::prices::lot_prices(&state.db, lot_ref, Utc::now()).await?;
    let prices = PriceRows::new(&lot_prices, zone, ctx.locale);
    Ok(SharingPage {
        overstays,
        ctx: ctx.at("shared-parking"),
        prices,
        lot_ref: lot.lot_ref,
        windows,
        rows,
        earnings_yuan: yuan(earned),
        errors,
    })
}

/// Shows the sharing page of a lot to its owner or an administrator.
pub async fn get_sharing(
    State(state): State<AppState>,
    user: CurrentUser,
    ctx: PageContext,
    Path(lot_ref): Path<String>,
) -> Result<Response, AppError> {
    let page = sharing_page(&state, &user, ctx, &lot_ref, Vec::new()).await?;
    render(&page, StatusCode::OK)
}

/// Publishes a weekly window from the form; every checked weekday is one `weekday` field.
pub async fn post_window(
    State(state): State<AppState>,
    user: CurrentUser,
    ctx: PageContext,
    Path(lot_ref): Path<String>,
    Form(fields): Form<Vec<(String, String)>>,
) -> Result<Response, AppError> {
    let value = |name: &str| {
        fields
            .iter()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.trim().to_owned())
            .filter(|value| !value.is_empty())
    };
    let input = WindowInput {
        kind: "weekly".to_owned(),
        weekdays: fields
            .iter()
            .filter(|(key, _)| key == "weekday")
            .filter_map(|(_, day)| day.parse().ok())
            .collect(),
        start_time: value("start_time"),
        end_time: value("end_time"),
        time_zone: None,
        valid_from: None,
        valid_until: None,
        starts_at: None,
        ends_at: None,
        space_ref: value("space_ref"),
        audience: value("audience"),
    };
    let published = async {
        let window = input.parse(&state.settings.booking.time_zone)?;
        sharing::publish_window(&state.db, actor(&user), &lot_ref, &window, Utc::now()).await?;
        Ok::<(), AppError>(())
    };
    match published.await {
        Ok(()) => Ok(see_other(&format!(
            "/parking/lots/{lot_ref}/sharing?notice=notice-parking-window-published"
        ))),
        Err(error) => {
            let errors = vec![field_error(error, ctx.locale)?];
            let page = sharing_page(&state, &user, ctx, &lot_ref, errors).await?;
            render(&page, StatusCode::UNPROCESSABLE_ENTITY)
        }
    }
}

/// Removes a window, or shows the page with the bookings that still need it.
pub async fn post_window_delete(
    State(state): State<AppState>,
    user: CurrentUser,
    ctx: PageContext,
    Path((lot_ref, window_id)): Path<(String, i64)>,
) -> Result<Response, AppError> {
    match sharing::remove_window(&state.db, actor(&user), window_id, Utc::now()).await {
        Ok(()) => Ok(see_other(&format!(
            "/parking/lots/{lot_ref}/sharing?notice=notice-parking-window-removed"
        ))),
        Err(error) => {
            let errors = vec![field_error(error.into(), ctx.locale)?];
            let page = sharing_page(&state, &user, ctx, &lot_ref, errors).await?;
            render(&page, StatusCode::CONFLICT)
        }
    }
}
