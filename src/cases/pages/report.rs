//! The report form (`/cases/new`): residents report through the web, dispatchers type
//! in hotline calls, grid workers file patrol reports.

use askama::Template;
use axum::{extract::State, http::StatusCode, response::Response};

use super::{FieldError, field_error, form_data::FormData, render_page, see_other};
use crate::{
    accounts::{CurrentUser, Permission, Role},
    cases::{
        attachment::{check_photos, save_photos},
        case::{
            CaseError, Channel, MAX_DESCRIPTION_CHARS,
            intake::{IntakeInput, submit_case},
        },
        catalogue::{CatalogueStore, Category},
    },
    http::{AppError, AppState, UserMessage, pages::PageContext},
    i18n::Locale,
};

/// The raw fields of the report form, kept to re-render it on error.
#[derive(Debug, Clone, Default)]
pub struct ReportValues {
    pub category_code: String,
    pub title: String,
    pub description: String,
    pub latitude: String,
    pub longitude: String,
    /// Address of the problem, looked up in the gazetteer when no coordinates are given.
    pub address: String,
    pub caller_name: String,
    pub caller_phone: String,
}

impl ReportValues {
    /// Collects the known fields of a form and ignores unknown names.
    pub fn from_pairs(pairs: Vec<(String, String)>) -> ReportValues {
        let mut values = ReportValues::default();
        for (name, value) in pairs {
            match name.as_str() {
                "category_code" => values.category_code = value,
                "title" => values.title = value,
                "description" => values.description = value,
                "latitude" => values.latitude = value,
                "longitude" => values.longitude = value,
                "address" => values.address = value,
                "caller_name" => values.caller_name = value,
                "caller_phone" => values.caller_phone = value,
                _ => {}
            }
        }
        values
    }

    /// Builds the intake input for a report through `channel`.
    ///
    /// # Errors
    /// A coordinate that is not a number, naming its field.
    fn to_input(&self, channel: Channel) -> Result<IntakeInput, AppError> {
        let caller = [self.caller_name.trim(), self.caller_phone.trim()]
            .into_iter()
            .filter(|part| !part.is_empty())
            .collect::<Vec<_>>()
            .join(" ");
        Ok(IntakeInput {
            title: Some(self.title.clone()),
            description: Some(self.description.clone()),
            category_code: Some(self.category_code.clone()),
            longitude: parse_coordinate(&self.longitude, "longitude")?,
            latitude: parse_coordinate(&self.latitude, "latitude")?,
            crs: None,
            channel: Some(channel.as_str().to_owned()),
            reporter_contact: (channel == Channel::Hotline && !caller.is_empty()).then_some(caller),
            address: Some(self.address.clone()),
        })
    }
}

/// Parses a typed coordinate in decimal degrees. An empty field counts as missing, which
/// intake reports by name.
fn parse_coordinate(text: &str, field: &'static str) -> Result<Option<f64>, AppError> {
    let text = text.trim();
    if text.is_empty() {
        return Ok(None);
    }
    text.parse::<f64>().map(Some).map_err(|_| {
        AppError::Invalid(
            UserMessage::new("case_coordinate_invalid").arg("value", text).field(field),
        )
    })
}

/// The channel of a report made through the console, chosen by the reporter's role:
/// dispatchers answer the hotline and grid workers patrol.
pub fn channel_for(role: Role) -> Channel {
    match role {
        Role::Dispatcher => Channel::Hotline,
        Role::GridWorker => Channel::Patrol,
        Role::Administrator | Role::Handler | Role::CommunityWorker => Channel::Staff,
        Role::Resident | Role::Merchant => Channel::Web,
    }
}

/// One minor category in the select.
pub struct CategoryOption {
    pub code: String,
    pub name: String,
    pub selected: bool,
}

/// The minor categories of one major category, shown as an `optgroup`.
pub struct CategoryGroup {
    pub name: String,
    pub options: Vec<CategoryOption>,
}

#[derive(Template)]
#[template(path = "cases/new.html")]
struct ReportPage {
    ctx: PageContext,
    values: ReportValues,
    errors: Vec<FieldError>,
    groups: Vec<CategoryGroup>,
    /// True for hotline entry, which shows the caller fields.
    hotline: bool,
    channel_label: String,
    max_description_chars: usize,
    /// The configured photo size limit in MiB, shown as a hint.
    max_photo_mib: usize,
}

impl ReportPage {
    fn error_for(&self, field: &str) -> Option<&str> {
        self.errors.iter().find(|e| e.field == field).map(|e| e.message.as_str())
    }

    fn has_error(&self, field: &str) -> bool {
        self.error_for(field).is_some()
    }

    /// `aria-describedby` ids of a field: its hint (if any) and its error.
    fn described_by(&self, field: &str, hint: bool) -> String {
        let mut ids = Vec::new();
        if hint {
            ids.push(format!("{field}-hint"));
        }
        if self.has_error(field) {
            ids.push(format!("{field}-error"));
        }
        ids.join(" ")
    }
}

async fn report_page(
    state: &AppState,
    ctx: PageContext,
    user: &CurrentUser,
    values: ReportValues,
    errors: Vec<FieldError>,
) -> Result<ReportPage, AppError> {
    let categories = state.db.list_categories().await.map_err(CaseError::from)?;
    let groups = group_categories(ctx.locale, &categories, &values.category_code);
    let channel = channel_for(user.role);
    Ok(ReportPage {
        channel_label: ctx.t(&format!("cases-page-channel-{}", channel.as_str())),
        ctx: ctx.at("report"),
        values,
        errors,
        groups,
        hotline: channel == Channel::Hotline,
        max_description_chars: MAX_DESCRIPTION_CHARS,
        max_photo_mib: state.settings.cases.max_photo_bytes / (1024 * 1024),
    })
}

/// Groups the catalogue's minor categories by major category, in catalogue order.
pub(super) fn group_categories(
    locale: Locale,
    categories: &[Category],
    selected: &str,
) -> Vec<CategoryGroup> {
    let english = locale == crate::i18n::Locale::En;
    let mut groups: Vec<(String, CategoryGroup)> = Vec::new();
    for category in categories {
        let major = &category.major;
        let option = CategoryOption {
            code: category.code.as_str().to_owned(),
            name: if english { category.name_en.clone() } else { category.name_zh.clone() },
            selected: category.code.as_str() == selected,
        };
        match groups.iter_mut().find(|(code, _)| *code == major.major_code) {
            Some((_, group)) => group.options.push(option),
            None => {
                let name = if english { major.name_en.clone() } else { major.name_zh.clone() };
                groups.push((
                    major.major_code.clone(),
                    CategoryGroup { name, options: vec![option] },
                ));
            }
        }
    }
    groups.into_iter().map(|(_, group)| group).collect()
}

#[tracing::instrument(skip_all, fields(user.id = user.user_id))]
pub async fn get_new_case(
    State(state): State<AppState>,
    user: CurrentUser,
    ctx: PageContext,
) -> Result<Response, AppError> {
    user.require(Permission::ReportCases)?;
    let page = report_page(&state, ctx, &user, ReportValues::default(), Vec::new()).await?;
    render_page(&page, StatusCode::OK)
}

/// Checks the photos, files the report, stores the photos and returns the case id.
async fn file_report(
    state: &AppState,
    user: &CurrentUser,
    values: &ReportValues,
    mut form: FormData,
) -> Result<i64, AppError> {
    let photos = check_photos(&state.settings, form.take_uploads()?).await?;
    let input = values.to_input(channel_for(user.role))?;
    let index = state.locator.snapshot();
    let tz = state.settings.time_zone();
    let case = submit_case(&state.db, &index, tz, user, input).await?;
    save_photos(&state.db, &state.settings, user.user_id, case.case_id, photos).await?;
    Ok(case.case_id)
}

/// Files the report with its photos and redirects to its case page, or re-renders the
/// form with the error next to its field.
#[tracing::instrument(skip_all, fields(user.id = user.user_id))]
pub async fn post_new_case(
    State(state): State<AppState>,
    user: CurrentUser,
    ctx: PageContext,
    mut form: FormData,
) -> Result<Response, AppError> {
    user.require(Permission::ReportCases)?;
    let values = ReportValues::from_pairs(std::mem::take(&mut form.pairs));
    match file_report(&state, &user, &values, form).await {
        Ok(case_id) => Ok(see_other(&format!("/cases/{case_id}?notice=notice-case-reported"))),
        Err(error) => {
            let errors = vec![field_error(error, ctx.locale)?];
            let page = report_page(&state, ctx, &user, values, errors).await?;
            render_page(&page, StatusCode::UNPROCESSABLE_ENTITY)
        }
    }
}
