//! The `/routing` console page: the rule list, a CSV download and a CSV upload that
//! replaces every rule. Administrators only, like the catalogue the rules refer to.

use askama::Template;
use axum::{
    Router,
    extract::State,
    http::{StatusCode, header},
    response::{IntoResponse, Response},
    routing::{get, post},
};

use super::{
    RoutingRule, RoutingStore,
    service::{self, RoutingError},
};
use crate::{
    accounts::{CurrentUser, Permission},
    cases::pages::form_data::FormData,
    http::{AppError, AppState, pages::PageContext},
    i18n::Locale,
    locate::AreaIndex,
};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/routing", get(get_routing))
        .route("/routing/export.csv", get(get_routing_csv))
        .route("/routing/import", post(post_routing_import))
}

/// One row of the rule table, ready to show.
pub struct RuleRow {
    pub basis_label: String,
    pub area: String,
    pub category: String,
    pub department_code: String,
}

#[derive(Template)]
#[template(path = "cases/routing.html")]
struct RoutingPage {
    ctx: PageContext,
    rules: Vec<RuleRow>,
    /// One rendered line per problem of a rejected upload.
    errors: Vec<String>,
}

fn rule_rows(rules: &[RoutingRule], index: &AreaIndex, locale: Locale) -> Vec<RuleRow> {
    rules
        .iter()
        .map(|rule| RuleRow {
            basis_label: locale.t(&format!("routing-basis-{}", rule.basis.as_str())),
            area: match index.area(rule.area_id) {
                Some(area) => format!("{} ({})", area.name, area.code),
                None => rule.area_code.clone(),
            },
            category: rule.category.to_text().unwrap_or_else(|| locale.t("routing-category-any")),
            department_code: rule.department_code.clone(),
        })
        .collect()
}

async fn routing_page(
    state: &AppState,
    ctx: PageContext,
    errors: Vec<String>,
    status: StatusCode,
) -> Result<Response, AppError> {
    let rules = state.db.list_routing_rules().await.map_err(RoutingError::from)?;
    let rules = rule_rows(&rules, &state.locator.snapshot(), ctx.locale);
    let page = RoutingPage { ctx: ctx.at("routing"), rules, errors };
    crate::console::render(&page).map(|html| (status, html).into_response())
}

#[tracing::instrument(skip_all, fields(user.id = user.user_id))]
async fn get_routing(
    State(state): State<AppState>,
    user: CurrentUser,
    ctx: PageContext,
) -> Result<Response, AppError> {
    user.require(Permission::ManageCatalogue)?;
    routing_page(&state, ctx, Vec::new(), StatusCode::OK).await
}

#[tracing::instrument(skip_all, fields(user.id = user.user_id))]
async fn get_routing_csv(
    State(state): State<AppState>,
    user: CurrentUser,
) -> Result<Response, AppError> {
    user.require(Permission::ManageCatalogue)?;
    let mut buffer = Vec::new();
    service::export_rules(&state.db, &mut buffer).await?;
    let headers = [
        (header::CONTENT_TYPE, "text/csv; charset=utf-8"),
        (header::CONTENT_DISPOSITION, "attachment; filename=\"routing-rules.csv\""),
    ];
    Ok((headers, buffer).into_response())
}

/// Replaces the rules with the uploaded file and redirects to the list, or shows the
/// list again with one line per invalid cell.
#[tracing::instrument(skip_all, fields(user.id = user.user_id))]
async fn post_routing_import(
    State(state): State<AppState>,
    user: CurrentUser,
    ctx: PageContext,
    mut form: FormData,
) -> Result<Response, AppError> {
    user.require(Permission::ManageCatalogue)?;
    let uploads = form.take_uploads()?;
    let Some(file) = uploads.into_iter().find(|upload| upload.field == "file") else {
        let message = ctx.t("error-routing-upload-missing");
        return routing_page(&state, ctx, vec![message], StatusCode::UNPROCESSABLE_ENTITY).await;
    };
    let index = state.locator.snapshot();
    match service::import_rules(&state.db, &index, file.bytes.as_slice()).await {
        Ok(_) => Ok(see_other("/routing?notice=notice-routing-imported")),
        Err(RoutingError::Import(errors)) => {
            let lines = errors.render(ctx.locale).lines().map(str::to_owned).collect();
            routing_page(&state, ctx, lines, StatusCode::UNPROCESSABLE_ENTITY).await
        }
        Err(other) => Err(other.into()),
    }
}

fn see_other(location: &'static str) -> Response {
    (StatusCode::SEE_OTHER, [(header::LOCATION, location)]).into_response()
}
