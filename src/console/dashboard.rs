//! The dashboard (工作台): the street at a glance for the logged-in user.

use askama::Template;
use axum::{extract::State, response::Html};

use super::{PageContext, render};
use crate::{
    accounts::CurrentUser,
    areas::Level,
    http::{AppError, AppState},
};

/// One figure on the dashboard.
pub struct Card {
    pub label: String,
    pub value: String,
    pub link: Option<&'static str>,
}

#[derive(Template)]
#[template(path = "console/dashboard.html")]
struct DashboardPage {
    ctx: PageContext,
    cards: Vec<Card>,
    /// Names and codes of the areas the user is scoped to; empty means all.
    scope: Vec<(String, String)>,
}

#[tracing::instrument(skip_all, fields(user.id = user.user_id))]
pub async fn get_dashboard(
    State(state): State<AppState>,
    ctx: PageContext,
    user: CurrentUser,
) -> Result<Html<String>, AppError> {
    let index = state.locator.snapshot();
    let count = |level: Level| index.areas().iter().filter(|a| a.level == level).count();
    let cards = [Level::Street, Level::Community, Level::Grid]
        .into_iter()
        .map(|level| Card {
            label: ctx.t(&format!("dashboard-count-{}", level.as_str())),
            value: count(level).to_string(),
            link: Some("/areas"),
        })
        .collect();
    let scope = user
        .area_ids
        .iter()
        .filter_map(|id| index.areas().iter().find(|a| a.area_id == *id))
        .map(|a| (a.name.clone(), a.code.clone()))
        .collect();
    let page = DashboardPage { ctx: ctx.at("dashboard"), cards, scope };
    render(&page)
}
