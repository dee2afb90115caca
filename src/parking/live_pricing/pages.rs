//! The administrators' tariff page (`/parking/tariffs`): every tariff with its bands and
//! rule, and one form that creates a tariff or replaces the one with the same code.
//!
//! The form works without JavaScript: bands are lines of a text area, each
//! `day_type HH:MM HH:MM fen_per_hour`, such as `weekday 08:00 20:00 600`.

use askama::Template;
use axum::{
    Form, Router,
    extract::State,
    http::{HeaderValue, StatusCode, header},
    response::{IntoResponse, Response},
    routing::get,
};

use super::{
    PricingError, StoredTariff,
    tariffs::{self, BandInput, RuleInput, TariffInput, WriteMode},
};
use crate::{
    accounts::{CurrentUser, Permission},
    http::{AppError, AppState, pages::PageContext},
    i18n::arg,
    parking::pricing::PricingRule,
};

pub fn router() -> Router<AppState> {
    Router::new().route("/parking/tariffs", get(get_tariffs).post(post_tariff))
}

/// A message shown next to a form input.
pub struct FieldError {
    /// The `id` of the input the message is about.
    pub field: String,
    pub message: String,
}

/// One tariff as the page lists it.
pub struct TariffRow {
    pub code: String,
    pub name: String,
    /// Bands as text-area lines, which also fill the form to edit the tariff.
    pub bands: Vec<String>,
    pub rule: String,
}

impl TariffRow {
    fn new(stored: &StoredTariff, ctx: &PageContext) -> TariffRow {
        let rule = &stored.rule;
        let rule_text = if stored.rule_enabled {
            let args = [
                ("raise", arg(percent(rule.raise_at))),
                ("lower", arg(percent(rule.lower_below))),
                ("step", arg(rule.step_fen.to_string())),
                ("min", arg(rule.min_fen.to_string())),
                ("max", arg(rule.max_fen.to_string())),
                ("period", arg(rule.period_days.to_string())),
                ("notice", arg(rule.notice_days.to_string())),
            ];
            ctx.locale.t_args("parking-tariff-rule-summary", &args)
        } else {
            ctx.t("parking-tariff-rule-off")
        };
        TariffRow {
            code: stored.code.clone(),
            name: stored.name.clone(),
            bands: band_lines(stored),
            rule: rule_text,
        }
    }
}

fn percent(fraction: f64) -> String {
    format!("{:.0}%", fraction * 100.0)
}

fn clock(minute: u16) -> String {
    format!("{:02}:{:02}", minute / 60, minute % 60)
}

/// Writes each band as a line of the form's text area.
fn band_lines(stored: &StoredTariff) -> Vec<String> {
    stored
        .tariff
        .bands()
        .iter()
        .map(|band| {
            format!(
                "{} {} {} {}",
                band.day_type.as_str(),
                clock(band.start_minute),
                clock(band.end_minute),
                band.rate_fen_per_hour
            )
        })
        .collect()
}

/// The values of the form, kept to fill it again after an error.
pub struct TariffForm {
    pub code: String,
    pub name: String,
    pub bands: String,
    pub rule_enabled: bool,
    pub raise_at: String,
    pub lower_below: String,
    pub step_fen: String,
    pub min_fen: String,
    pub max_fen: String,
    pub period_days: String,
    pub notice_days: String,
}

impl Default for TariffForm {
    /// Returns an empty form with the SFpark rule filled in.
    fn default() -> Self {
        let rule = PricingRule::default();
        TariffForm {
            code: String::new(),
            name: String::new(),
            bands: String::new(),
            rule_enabled: true,
            raise_at: rule.raise_at.to_string(),
            lower_below: rule.lower_below.to_string(),
            step_fen: rule.step_fen.to_string(),
            min_fen: rule.min_fen.to_string(),
            max_fen: rule.max_fen.to_string(),
            period_days: rule.period_days.to_string(),
            notice_days: rule.notice_days.to_string(),
        }
    }
}

#[derive(Template)]
#[template(path = "parking/tariffs.html")]
struct TariffsPage {
    ctx: PageContext,
    tariffs: Vec<TariffRow>,
    form: TariffForm,
    errors: Vec<FieldError>,
}

async fn tariffs_page(
    state: &AppState,
    ctx: PageContext,
    form: TariffForm,
    errors: Vec<FieldError>,
) -> Result<TariffsPage, AppError> {
    let stored = tariffs::list_tariffs(&state.db).await?;
    let tariffs = stored.iter().map(|tariff| TariffRow::new(tariff, &ctx)).collect();
    Ok(TariffsPage { ctx: ctx.at("tariffs"), tariffs, form, errors })
}

fn render(page: &impl Template, status: StatusCode) -> Result<Response, AppError> {
    crate::console::render(page).map(|html| (status, html).into_response())
}

async fn get_tariffs(
    State(state): State<AppState>,
    user: CurrentUser,
    ctx: PageContext,
) -> Result<Response, AppError> {
    user.require(Permission::ManageDevices)?;
    let page = tariffs_page(&state, ctx, TariffForm::default(), Vec::new()).await?;
    render(&page, StatusCode::OK)
}

/// Parses one text-area line `day_type HH:MM HH:MM fen`; `24:00` ends a day.
fn parse_band_line(line: &str) -> BandInput {
    let parts: Vec<&str> = line.split_whitespace().collect();
    let minute = |text: Option<&&str>| {
        let (hours, minutes) = text?.split_once(':')?;
        Some(hours.parse::<i64>().ok()? * 60 + minutes.parse::<i64>().ok()?)
    };
    BandInput {
        day_type: parts.first().map(|text| (*text).to_owned()),
        start_minute: minute(parts.get(1)),
        end_minute: minute(parts.get(2)),
        rate_fen_per_hour: parts.get(3).and_then(|text| text.parse().ok()),
    }
}

impl TariffForm {
    fn from_fields(fields: &[(String, String)]) -> TariffForm {
        let value = |name: &str| {
            fields
                .iter()
                .find(|(key, _)| key == name)
                .map(|(_, value)| value.trim().to_owned())
                .unwrap_or_default()
        };
        TariffForm {
            code: value("code"),
            name: value("name"),
            bands: value("bands"),
            rule_enabled: fields.iter().any(|(key, _)| key == "rule_enabled"),
            raise_at: value("raise_at"),
            lower_below: value("lower_below"),
            step_fen: value("step_fen"),
            min_fen: value("min_fen"),
            max_fen: value("max_fen"),
            period_days: value("period_days"),
            notice_days: value("notice_days"),
        }
    }

    /// Builds the API input; a number that does not parse becomes a 422 on its field.
    fn to_input(&self) -> Result<TariffInput, PricingError> {
        fn number<T: std::str::FromStr>(
            text: &str,
            field: &'static str,
        ) -> Result<Option<T>, PricingError> {
            if text.is_empty() {
                return Ok(None);
            }
            text.parse().map(Some).map_err(|_| super::invalid("parking_rule_number", field))
        }
        let rule = RuleInput {
            enabled: Some(self.rule_enabled),
            raise_at: number(&self.raise_at, "raise_at")?,
            lower_below: number(&self.lower_below, "lower_below")?,
            step_fen: number(&self.step_fen, "step_fen")?,
            min_fen: number(&self.min_fen, "min_fen")?,
            max_fen: number(&self.max_fen, "max_fen")?,
            period_days: number(&self.period_days, "period_days")?,
            notice_days: number(&self.notice_days, "notice_days")?,
        };
        let bands = self
            .bands
            .lines()
            .filter(|line| !line.trim().is_empty())
            .map(parse_band_line)
            .collect();
        Ok(TariffInput {
            code: Some(self.code.clone()),
            name: Some(self.name.clone()),
            bands: Some(bands),
            rule: Some(rule),
        })
    }
}

/// Maps an API field such as `bands[2].end_minute` or `rule.raise_at` to the form input.
fn form_field(field: &str) -> String {
    if field.starts_with("bands") {
        "bands".to_owned()
    } else {
        field.trim_start_matches("rule.").to_owned()
    }
}

/// Creates the tariff, or replaces the stored one with the same code.
async fn save(state: &AppState, form: &TariffForm) -> Result<(), PricingError> {
    let tariff = form.to_input()?.parse()?;
    match tariffs::write_tariff(&state.db, &tariff, WriteMode::Create).await {
        Err(PricingError::Duplicate(_)) => {
            tariffs::write_tariff(&state.db, &tariff, WriteMode::Replace).await.map(drop)
        }
        other => other.map(drop),
    }
}

#[tracing::instrument(skip_all, fields(user.id = user.user_id))]
async fn post_tariff(
    State(state): State<AppState>,
    user: CurrentUser,
    ctx: PageContext,
    Form(fields): Form<Vec<(String, String)>>,
) -> Result<Response, AppError> {
    user.require(Permission::ManageDevices)?;
    let form = TariffForm::from_fields(&fields);
    match save(&state, &form).await {
        Ok(()) => {
            let mut response = StatusCode::SEE_OTHER.into_response();
            response.headers_mut().insert(
                header::LOCATION,
                HeaderValue::from_static("/parking/tariffs?notice=notice-parking-tariff-saved"),
            );
            Ok(response)
        }
        Err(PricingError::Invalid(message)) => {
            tracing::debug!(code = message.code, field = ?message.field, "tariff form rejected");
            let error = FieldError {
                field: form_field(message.field.as_deref().unwrap_or("code")),
                message: message.render(ctx.locale),
            };
            let page = tariffs_page(&state, ctx, form, vec![error]).await?;
            render(&page, StatusCode::UNPROCESSABLE_ENTITY)
        }
        Err(other) => Err(other.into()),
    }
}
