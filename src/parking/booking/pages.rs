//! Console pages of shared parking: the driver's bookings (`/parking/bookings`) and the
//! owner's sharing page (`/parking/lots/{lot_ref}/sharing`, in [`owner_pages`]).
//!
//! Forms post without JavaScript and end in a 303 redirect with a notice; a rejected
//! form is shown again with its error summary.
//!
//! [`owner_pages`]: super::owner_pages

use askama::Template;
use axum::{
    Form,
    extract::{Path, State},
    http::{HeaderValue, StatusCode, header},
    response::{IntoResponse, Response},
};
use chrono::{DateTime, NaiveDateTime, TimeZone, Utc};
use chrono_tz::Tz;

use super::{
    Booking, Status,
    lifecycle::{self, Actor},
    reserve::{self, BookingInput},
    store::{self, BookingFilter},
};
use crate::{
    accounts::{CurrentUser, Role},
    http::{AppError, AppState, pages::PageContext},
    i18n::Locale,
};

pub(crate) use crate::http::pages::{FieldError, field_error};

pub(super) fn actor(user: &CurrentUser) -> Actor {
    Actor { user_id: user.user_id, is_administrator: user.role == Role::Administrator }
}

pub(super) fn zone(state: &AppState) -> Tz {
    state.settings.booking.time_zone.parse().unwrap_or(chrono_tz::Asia::Shanghai)
}

/// Formats an instant in `zone` as `2027-03-01 20:00`.
pub(super) fn local_time(at: DateTime<Utc>, zone: Tz) -> String {
    at.with_timezone(&zone).format("%Y-%m-%d %H:%M").to_string()
}

/// Builds the 303 See Other response that ends a successful form POST.
pub(crate) fn see_other(location: &str) -> Response {
    let mut response = StatusCode::SEE_OTHER.into_response();
    if let Ok(value) = HeaderValue::from_str(location) {
        response.headers_mut().insert(header::LOCATION, value);
    }
    response
}

pub(crate) fn render(page: &impl Template, status: StatusCode) -> Result<Response, AppError> {
    crate::console::render(page).map(|html| (status, html).into_response())
}

/// One booking as a row of a table.
pub struct BookingRow {
    pub booking_id: i64,
    pub lot_ref: String,
    pub space_ref: String,
    pub plate: String,
    pub starts_at: String,
    pub ends_at: String,
    pub vacate_by: String,
    pub status_label: String,
    /// All charges of the booking, in yuan with two decimals.
    pub charges_yuan: String,
    /// The quote made when booked, in yuan; empty without one.
    pub quote_yuan: String,
    pub can_cancel: bool,
    /// The driver stays past the end and the owner returns soon.
    pub overstay_warning: bool,
}

/// Formats fen as yuan, such as `34.50`.
pub(crate) fn yuan(fen: i64) -> String {
    format!("{}.{:02}", fen / 100, (fen % 100).abs())
}

impl BookingRow {
    pub(super) fn new(booking: &Booking, zone: Tz, locale: Locale) -> BookingRow {
        let charges = booking.stay_fee_fen + booking.overstay_fee_fen + booking.cancel_fee_fen;
        BookingRow {
            booking_id: booking.booking_id,
            lot_ref: booking.lot_ref.clone(),
            space_ref: booking.space_ref.clone().unwrap_or_default(),
            plate: booking.plate.clone(),
            starts_at: local_time(booking.starts_at, zone),
            ends_at: local_time(booking.ends_at, zone),
            vacate_by: booking.vacate_by.map(|at| local_time(at, zone)).unwrap_or_default(),
            status_label: locale
                .t(&format!("parking-status-{}", booking.status.as_str().replace('_', "-"))),
            charges_yuan: yuan(charges),
            quote_yuan: booking.quote_fen.map(yuan).unwrap_or_default(),
            can_cancel: matches!(booking.status, Status::Requested | Status::Confirmed),
            overstay_warning: booking.has_overstay_warning(),
        }
    }
}

/// The values of the booking form, kept to fill it again after an error.
#[derive(Default)]
pub struct BookingForm {
    pub lot_ref: String,
    pub plate: String,
    pub driver_kind: String,
    pub starts_at: String,
    pub ends_at: String,
}

#[derive(Template)]
#[template(path = "parking/bookings.html")]
struct BookingsPage {
    ctx: PageContext,
    rows: Vec<BookingRow>,
    form: BookingForm,
    errors: Vec<FieldError>,
    time_zone: String,
    /// One sentence per booking whose driver must leave because the owner returns soon.
    overstay_warnings: Vec<String>,
    /// Ref and name of every open lot, the choices of the booking form.
    open_lots: Vec<(String, String)>,
    /// Ref and name of the lots the user owns, each linked to its sharing page.
    owned_lots: Vec<(String, String)>,
}

/// Formats the overstay warning of `row`, naming the time to leave and the rate.
fn overstay_warning(row: &BookingRow, rate_yuan: &str, locale: Locale) -> String {
    use crate::i18n::arg;
    locale.t_args(
        "parking-overstay-warning",
        &[
            ("id", arg(row.booking_id.to_string())),
            ("lot", arg(row.lot_ref.clone())),
            ("space", arg(row.space_ref.clone())),
            ("vacate_by", arg(row.vacate_by.clone())),
            ("rate", arg(rate_yuan.to_owned())),
        ],
    )
}

async fn bookings_page(
    state: &AppState,
    user: &CurrentUser,
    ctx: PageContext,
    form: BookingForm,
    errors: Vec<FieldError>,
) -> Result<BookingsPage, AppError> {
    let filter = BookingFilter { driver_user_id: Some(user.user_id), ..BookingFilter::default() };
    let bookings = store::list_bookings(&state.db, &filter).await?;
    let zone = zone(state);
    let rows: Vec<BookingRow> =
        bookings.iter().map(|booking| BookingRow::new(booking, zone, ctx.locale)).collect();
    let time_zone = state.settings.booking.time_zone.clone();
    let rate = yuan(state.settings.booking.overstay_fen_per_hour);
    let overstay_warnings = rows
        .iter()
        .filter(|row: &&BookingRow| row.overstay_warning)
        .map(|row| overstay_warning(row, &rate, ctx.locale))
        .collect();
    let lots = crate::parking::inventory::store::list_lots(&state.db).await?;
    let open_lots = lots
        .iter()
        .filter(|lot| !lot.closed)
        .map(|lot| (lot.lot_ref.clone(), lot.name.clone()))
        .collect();
    let owned_lots = lots
        .iter()
        .filter(|lot| lot.owner_user_id == Some(user.user_id))
        .map(|lot| (lot.lot_ref.clone(), lot.name.clone()))
        .collect();
    Ok(BookingsPage {
        ctx: ctx.at("shared-parking"),
        rows,
        form,
        errors,
        time_zone,
        overstay_warnings,
        open_lots,
        owned_lots,
    })
}

/// Shows the driver's bookings and the form to request one.
pub async fn get_bookings(
    State(state): State<AppState>,
    user: CurrentUser,
    ctx: PageContext,
) -> Result<Response, AppError> {
    let page = bookings_page(&state, &user, ctx, BookingForm::default(), Vec::new()).await?;
    render(&page, StatusCode::OK)
}

/// Parses a `datetime-local` value (`2027-03-01T20:00`) as local time in `zone`.
pub(super) fn parse_local(text: &str, zone: Tz) -> Option<DateTime<Utc>> {
    let local = NaiveDateTime::parse_from_str(text, "%Y-%m-%dT%H:%M").ok()?;
    zone.from_local_datetime(&local).earliest().map(|at| at.with_timezone(&Utc))
}

/// Books a space from the form and returns to the list, or shows the form again.
pub async fn post_booking(
    State(state): State<AppState>,
    user: CurrentUser,
    ctx: PageContext,
    Form(fields): Form<Vec<(String, String)>>,
) -> Result<Response, AppError> {
    let value = |name: &str| {
        fields
            .iter()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.trim().to_owned())
            .unwrap_or_default()
    };
    let form = BookingForm {
        lot_ref: value("lot_ref"),
        plate: value("plate"),
        driver_kind: value("driver_kind"),
        starts_at: value("starts_at"),
        ends_at: value("ends_at"),
    };
    match book_from_form(&state, &user, &form).await {
        Ok(()) => Ok(see_other("/parking/bookings?notice=notice-parking-booked")),
        Err(error) => {
            let errors = vec![field_error(error, ctx.locale)?];
            let page = bookings_page(&state, &user, ctx, form, errors).await?;
            render(&page, StatusCode::UNPROCESSABLE_ENTITY)
        }
    }
}

async fn book_from_form(
    state: &AppState,
    user: &CurrentUser,
    form: &BookingForm,
) -> Result<(), AppError> {
    let zone = zone(state);
    let time = |field: &'static str, text: &str| {
        parse_local(text, zone).ok_or_else(|| {
            AppError::Invalid(crate::http::UserMessage::new("parking_local_date_time").field(field))
        })
    };
    let input = BookingInput {
        lot_ref: Some(form.lot_ref.clone()),
        area_code: None,
        plate: form.plate.clone(),
        driver_kind: form.driver_kind.clone(),
        starts_at: time("starts_at", &form.starts_at)?,
        ends_at: time("ends_at", &form.ends_at)?,
        mode: None,
    };
    let now = Utc::now();
    let settings = &state.settings.booking;
    let request = input.parse(settings, now)?;
    let areas = state.locator.snapshot();
    reserve::reserve(&state.db, settings, &areas, user.user_id, &request, now).await?;
    Ok(())
}

/// Cancels one of the driver's bookings and returns to the list.
pub async fn post_cancel(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(booking_id): Path<i64>,
) -> Result<Response, AppError> {
    let settings = &state.settings.booking;
    lifecycle::cancel(&state.db, settings, actor(&user), booking_id, Utc::now()).await?;
    Ok(see_other("/parking/bookings?notice=notice-parking-cancelled"))
}
