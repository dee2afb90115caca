//! The resident list (`/residents`) of the user's grids, with tag and area filters, and
//! the household page (`/residents/households/{id}`). Numbers appear masked only.

use askama::Template;
use axum::{
    extract::{Path, State, rejection::PathRejection},
    http::StatusCode,
    response::Response,
};
use serde::Deserialize;

use super::{encode, render_page};
use crate::{
    accounts::{CurrentUser, Permission},
    areas::Level,
    http::{AppError, AppState, Query, pages::PageContext},
    i18n::Locale,
    locate::AreaIndex,
    residents::{
        Resident,
        export::{ExportQuery, export_filter, household_addresses, tags_cell},
        http::path_id,
        import::columns::relation_label,
        service, store, tags,
    },
};

/// Residents per page of the list.
const PAGE_ROWS: i64 = 50;

/// The filters of the list, as the search form sends them.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct RegistryQuery {
    /// A tag code; empty for every resident.
    pub tag: String,
    /// Code of a community or grid; empty for all of the user's grids.
    pub area: String,
    pub offset: i64,
}

impl RegistryQuery {
    fn filter_query(&self) -> String {
        format!("tag={}&area={}", encode(&self.tag), encode(&self.area))
    }
}

/// One resident in a table, numbers masked.
pub struct ResidentRow {
    pub household_id: i64,
    pub name: String,
    pub gender: String,
    pub birth_date: String,
    pub identity_number: String,
    pub phone: String,
    pub email: String,
    pub relation: String,
    pub tags: String,
    pub address: String,
    pub grid: String,
}

impl ResidentRow {
    fn new(resident: &Resident, address: String, index: &AreaIndex, locale: Locale) -> Self {
        let grid = index.area(resident.grid_id).map(|a| a.name.clone()).unwrap_or_default();
        ResidentRow {
            household_id: resident.household_id,
            name: resident.name.clone(),
            gender: locale.t(&format!("resident-gender-{}", resident.gender.as_str())),
            birth_date: resident.birth_date.to_string(),
            identity_number: resident.identity_number.clone(),
            phone: resident.phone.clone().unwrap_or_default(),
            email: resident.email.clone().unwrap_or_default(),
            relation: relation_label(resident.relation, locale).to_owned(),
            tags: tags_cell(resident),
            address,
            grid,
        }
    }
}

/// One option of a select.
pub struct SelectOption {
    pub value: String,
    pub label: String,
    pub selected: bool,
}

#[derive(Template)]
#[template(path = "residents/registry.html")]
struct RegistryPage {
    ctx: PageContext,
    tags: Vec<SelectOption>,
    areas: Vec<SelectOption>,
    rows: Vec<ResidentRow>,
    /// The export links' query, the list's filters.
    export_query: String,
    can_import: bool,
    previous_page: Option<String>,
    next_page: Option<String>,
}

/// Lists the communities and grids in `user`'s scope by code, each grid after its
/// community, for an area select whose values are area codes.
pub fn area_code_options(
    user: &CurrentUser,
    index: &AreaIndex,
    selected: &str,
) -> Vec<SelectOption> {
    let mut areas: Vec<_> = index
        .areas()
        .iter()
        .filter(|area| matches!(area.level, Level::Community | Level::Grid))
        .filter(|area| user.can_access_area(index, area.area_id))
        .collect();
    areas.sort_by(|a, b| a.code.cmp(&b.code));
    areas
        .into_iter()
        .map(|area| {
            let indent = if area.level == Level::Grid { "\u{2003}" } else { "" };
            SelectOption {
                value: area.code.clone(),
                label: format!("{indent}{} ({})", area.name, area.code),
                selected: selected.trim() == area.code,
            }
        })
        .collect()
}

/// Lists the tag definitions for a select, in the page's language.
pub async fn tag_options(
    state: &AppState,
    locale: Locale,
    selected: &[&str],
) -> Result<Vec<SelectOption>, AppError> {
    let definitions = tags::list_tags(&state.db).await?;
    let options = definitions.into_iter().map(|tag| SelectOption {
        selected: selected.contains(&tag.code.as_str()),
        label: if locale == Locale::En { tag.name_en } else { tag.name_zh },
        value: tag.code,
    });
    Ok(options.collect())
}

/// Lists the residents of the user's grids that match the filters, 50 to a page.
#[tracing::instrument(skip_all, fields(user.id = user.user_id))]
pub async fn get_registry(
    State(state): State<AppState>,
    user: CurrentUser,
    ctx: PageContext,
    Query(query): Query<RegistryQuery>,
) -> Result<Response, AppError> {
    user.require(Permission::ViewResidents)?;
    let index = state.locator.snapshot();
    let export = ExportQuery {
        tag: Some(query.tag.clone()),
        area: Some(query.area.clone()),
        ..ExportQuery::default()
    };
    let mut filter = export_filter(&state.db, &index, &user, &export).await?;
    filter.limit = PAGE_ROWS + 1;
    filter.offset = query.offset.max(0);
    let mut residents = store::list_residents(&state.db, &filter).await?;
    let has_next = residents.len() as i64 > PAGE_ROWS;
    residents.truncate(PAGE_ROWS as usize);

    let addresses = household_addresses(&state.db, &residents).await?;
    let locale = ctx.locale;
    let rows = residents
        .iter()
        .map(|r| {
            let address = addresses.get(&r.household_id).cloned().unwrap_or_default();
            ResidentRow::new(r, address, &index, locale)
        })
        .collect();

    let filters = query.filter_query();
    let offset = filter.offset;
    let page = RegistryPage {
        tags: tag_options(&state, locale, &[query.tag.as_str()]).await?,
        areas: area_code_options(&user, &index, &query.area),
        rows,
        export_query: filters.clone(),
        can_import: user.role.allows(Permission::ManageResidents),
        previous_page: (offset > 0)
            .then(|| format!("/residents?{filters}&offset={}", (offset - PAGE_ROWS).max(0))),
        next_page: has_next.then(|| format!("/residents?{filters}&offset={}", offset + PAGE_ROWS)),
        ctx: ctx.at("residents"),
    };
    render_page(&page, StatusCode::OK)
}

#[derive(Template)]
#[template(path = "residents/household.html")]
struct HouseholdPage {
    ctx: PageContext,
    household_id: i64,
    address: String,
    grid: String,
    rows: Vec<ResidentRow>,
}

/// Shows a household of the user's grids and its residents.
#[tracing::instrument(skip_all, fields(user.id = user.user_id))]
pub async fn get_household(
    State(state): State<AppState>,
    user: CurrentUser,
    ctx: PageContext,
    path: Result<Path<i64>, PathRejection>,
) -> Result<Response, AppError> {
    user.require(Permission::ViewResidents)?;
    let household_id = path_id(path, "household")?;
    let index = state.locator.snapshot();
    let (household, residents) =
        service::household_with_residents(&state.db, &index, &user, household_id).await?;
    let locale = ctx.locale;
    let rows = residents
        .iter()
        .map(|r| ResidentRow::new(r, household.address.clone(), &index, locale))
        .collect();
    let grid = index.area(household.grid_id).map(|a| a.name.clone()).unwrap_or_default();
    let page = HouseholdPage {
        ctx: ctx.at("residents"),
        household_id,
        address: household.address,
        grid,
        rows,
    };
    render_page(&page, StatusCode::OK)
}
