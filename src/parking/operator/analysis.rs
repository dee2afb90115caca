//! The analysis page `/parking/analysis`: staff upload an occupancy CSV and see the
//! report of `citycore parking analyze`, computed by the same library functions, with
//! JSON and CSV downloads of the same result.
//!
//! The downloads are `data:` links embedded in the page, so they hold exactly the
//! result shown and need neither a second upload nor server-side storage.

use askama::Template;
use axum::{
    extract::{
        Multipart, State,
        multipart::{MultipartError, MultipartRejection},
    },
    http::StatusCode,
    response::Response,
};
use base64::Engine;
use chrono_tz::Tz;

use crate::{
    accounts::{CurrentUser, Permission},
    http::{AppError, AppState, UserMessage, pages::PageContext},
    i18n::Locale,
    parking::booking::pages::{FieldError, field_error, render},
    parking::{
        ParkingError,
        align::AlignOptions,
        html::{MixView, SeriesView, series_view},
        report::{AnalysisReport, SeriesReport, analysis_csv},
        series::{ColumnOptions, read_series_from},
    },
};

/// Largest uploaded file, in bytes. The real Mantova series of one 68-space lot, sampled
/// every 5 minutes for nine months, is 2.1 MB, so 16 MiB leaves room for several lots.
pub const MAX_UPLOAD_BYTES: usize = 16 * 1024 * 1024;

/// The analysis form's values, kept to fill the form again.
#[derive(Debug, Default, Clone)]
pub struct AnalysisForm {
    pub lot_col: String,
    pub capacity_col: String,
    pub occupied_col: String,
    pub occupied_fraction_col: String,
    pub time_col: String,
    pub arrivals_col: String,
    pub capacity: String,
    pub time_zone: String,
}

#[derive(Template)]
#[template(path = "parking/analysis.html")]
struct AnalysisPage {
    ctx: PageContext,
    form: AnalysisForm,
    errors: Vec<FieldError>,
    max_upload_mib: usize,
    /// The report parts the shared report template reads.
    series: Option<SeriesView>,
    mix: Option<MixView>,
    json_href: String,
    csv_href: String,
}

impl AnalysisPage {
    fn new(ctx: PageContext, form: AnalysisForm) -> AnalysisPage {
        AnalysisPage {
            ctx: ctx.at("parking-analysis"),
            form,
            errors: Vec::new(),
            max_upload_mib: MAX_UPLOAD_BYTES / (1024 * 1024),
            series: None,
            mix: None,
            json_href: String::new(),
            csv_href: String::new(),
        }
    }

    /// Looks up a catalog message; the shared report template calls it.
    pub fn t(&self, id: &str) -> String {
        self.ctx.t(id)
    }
}

#[tracing::instrument(skip_all, fields(user.id = user.user_id))]
pub async fn get_analysis(user: CurrentUser, ctx: PageContext) -> Result<Response, AppError> {
    user.require(Permission::ViewParkingOperations)?;
    let form = AnalysisForm { time_zone: "UTC".to_owned(), ..AnalysisForm::default() };
    render(&AnalysisPage::new(ctx, form), StatusCode::OK)
}

/// Analyses the uploaded file and shows the report, or the form with the error.
#[tracing::instrument(skip_all, fields(user.id = user.user_id))]
pub async fn post_analysis(
    State(state): State<AppState>,
    user: CurrentUser,
    ctx: PageContext,
    multipart: Result<Multipart, MultipartRejection>,
) -> Result<Response, AppError> {
    user.require(Permission::ViewParkingOperations)?;
    let multipart = multipart.map_err(|rejection| {
        AppError::BadRequest(
            UserMessage::new("invalid_form_body").arg("reason", rejection.body_text()),
        )
    })?;
    let locale = ctx.locale;
    let (form, outcome) = match read_form(multipart).await {
        Ok((form, Some((name, bytes)))) => {
            let outcome = analyse_upload(&state, &form, &name, &bytes);
            (form, outcome)
        }
        Ok((form, None)) => {
            (form, Err(AppError::Invalid(UserMessage::new("parking_analysis_file").field("file"))))
        }
        Err(error) => (AnalysisForm::default(), Err(error)),
    };
    let mut page = AnalysisPage::new(ctx, form);
    match outcome {
        Ok(report) => {
            fill_report(&mut page, report, locale)?;
            render(&page, StatusCode::OK)
        }
        Err(error) => {
            page.errors.push(field_error(error, locale)?);
            render(&page, StatusCode::UNPROCESSABLE_ENTITY)
        }
    }
}

fn fill_report(
    page: &mut AnalysisPage,
    report: SeriesReport,
    locale: Locale,
) -> Result<(), AppError> {
    page.series = Some(series_view(&report, locale));
    let report = AnalysisReport { series: Some(report), mix: None };
    let json =
        serde_json::to_string_pretty(&report).map_err(|error| AppError::Internal(error.into()))?;
    let csv = analysis_csv(&report).map_err(|error| AppError::Internal(error.into()))?;
    let encode = |media: &str, text: &str| {
        let data = base64::engine::general_purpose::STANDARD.encode(text);
        format!("data:{media};charset=utf-8;base64,{data}")
    };
    page.json_href = encode("application/json", &json);
    page.csv_href = encode("text/csv", &csv);
    Ok(())
}

/// Reads and analyses one uploaded CSV with the form's column options.
fn analyse_upload(
    state: &AppState,
    form: &AnalysisForm,
    name: &str,
    bytes: &[u8],
) -> Result<SeriesReport, AppError> {
    let input_zone: Tz = form.time_zone.trim().parse().map_err(|_| {
        AppError::Invalid(
            UserMessage::new("parking_analysis_zone")
                .arg("value", &form.time_zone)
                .field("time_zone"),
        )
    })?;
    let capacity = match form.capacity.trim() {
        "" => None,
        text => Some(text.parse::<f64>().ok().filter(|spaces| *spaces > 0.0).ok_or_else(|| {
            AppError::Invalid(UserMessage::new("parking_analysis_capacity").field("capacity"))
        })?),
    };
    let text = |value: &str| Some(value.trim().to_owned()).filter(|value| !value.is_empty());
    let options = ColumnOptions {
        lot_col: text(&form.lot_col),
        capacity_col: text(&form.capacity_col),
        occupied_col: text(&form.occupied_col),
        occupied_fraction_col: text(&form.occupied_fraction_col),
        time_col: text(&form.time_col),
        capacity,
        arrivals_col: text(&form.arrivals_col),
    };
    let source_name = if name.is_empty() { "upload.csv" } else { name };
    let series =
        read_series_from(bytes, source_name, &options, input_zone).map_err(parking_error)?;
    // The command's defaults: a 5-minute grid, readings carried forward 30 minutes.
    let alignment = AlignOptions::new(5, 30).map_err(parking_error)?;
    let report_zone = state.settings.time_zone();
    SeriesReport::build(source_name, series, alignment, input_zone, report_zone)
        .map_err(parking_error)
}

/// Turns a parking error into a form error on the field the user must change. A
/// column error names the column option (`--lot-col` on the command line) and maps to
/// its form field.
fn parking_error(error: ParkingError) -> AppError {
    let message = error.to_string();
    let field = match &error {
        ParkingError::ColumnNotFound { flag, .. }
        | ParkingError::ColumnNotDetected { flag, .. } => {
            // A flag text may add alternatives: "--capacity-col, or --capacity N".
            let first = flag.split_whitespace().next().unwrap_or_default();
            first.trim_start_matches("--").trim_end_matches(',').replace('-', "_")
        }
        _ => "file".to_owned(),
    };
    tracing::debug!(%error, field, "uploaded occupancy file rejected");
    AppError::Invalid(
        UserMessage::new("parking_analysis_input").arg("reason", message).field(field),
    )
}

/// Reads the file up to [`MAX_UPLOAD_BYTES`] and the column options.
async fn read_form(
    mut multipart: Multipart,
) -> Result<(AnalysisForm, Option<(String, Vec<u8>)>), AppError> {
    let mut form = AnalysisForm::default();
    let mut file = None;
    while let Some(mut field) = multipart.next_field().await.map_err(form_error)? {
        let name = field.name().unwrap_or_default().to_owned();
        if name == "file" {
            let file_name = field.file_name().unwrap_or_default().to_owned();
            let mut bytes = Vec::new();
            while let Some(chunk) = field.chunk().await.map_err(form_error)? {
                if bytes.len() + chunk.len() > MAX_UPLOAD_BYTES {
                    return Err(too_large());
                }
                bytes.extend_from_slice(&chunk);
            }
            // An empty file input still sends a part, without a name or bytes.
            if !file_name.is_empty() || !bytes.is_empty() {
                file = Some((file_name, bytes));
            }
            continue;
        }
        let text = field.text().await.map_err(form_error)?;
        let slot = match name.as_str() {
            "lot_col" => &mut form.lot_col,
            "capacity_col" => &mut form.capacity_col,
            "occupied_col" => &mut form.occupied_col,
            "occupied_fraction_col" => &mut form.occupied_fraction_col,
            "time_col" => &mut form.time_col,
            "arrivals_col" => &mut form.arrivals_col,
            "capacity" => &mut form.capacity,
            "time_zone" => &mut form.time_zone,
            _ => continue,
        };
        *slot = text;
    }
    Ok((form, file))
}

fn too_large() -> AppError {
    AppError::Invalid(
        UserMessage::new("parking_analysis_too_large")
            .arg("mib", MAX_UPLOAD_BYTES / (1024 * 1024))
            .field("file"),
    )
}

fn form_error(error: MultipartError) -> AppError {
    if error.status() == StatusCode::PAYLOAD_TOO_LARGE {
        return too_large();
    }
    AppError::BadRequest(UserMessage::new("invalid_form_body").arg("reason", error.body_text()))
}
