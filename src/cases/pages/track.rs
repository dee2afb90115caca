//! The public tracking page (`/track/{token}`) and its one-time rating form. The page
//! of a merged case also shows the surviving case's stage and timeline.
//!
//! Visitors need no account. Their rating form carries the visitor cookie's CSRF token,
//! which the CSRF middleware checks like a session's.

use askama::Template;
use axum::{
    Form,
    extract::{Path, State},
    http::StatusCode,
    response::Response,
};

use super::{
    FieldError, action_label, field_error, local_time, render_page, see_other, stage_label,
};
use crate::{
    cases::case::tracking::{TrackStep, TrackedCase, rate_tracked_case, track_case},
    http::{AppError, AppState, pages::PageContext},
};

/// One step of the public timeline.
pub struct StepRow {
    pub label: String,
    pub stage_label: String,
    pub occurred_at: String,
}

/// The surviving case of a merged case, as its reporter's page shows it.
pub struct SurvivorRows {
    pub stage_label: String,
    pub steps: Vec<StepRow>,
}

/// Turns a public timeline into the page's rows.
fn step_rows(locale: crate::i18n::Locale, steps: &[TrackStep]) -> Vec<StepRow> {
    steps
        .iter()
        .map(|step| StepRow {
            label: action_label(locale, step.action),
            stage_label: stage_label(locale, step.to_stage),
            occurred_at: local_time(step.occurred_at),
        })
        .collect()
}

#[derive(Template)]
#[template(path = "cases/track.html")]
struct TrackPage {
    ctx: PageContext,
    token: String,
    case: TrackedCase,
    stage_label: String,
    created_at: String,
    steps: Vec<StepRow>,
    /// For a merged case: the surviving case's stage and timeline.
    survivor: Option<SurvivorRows>,
    errors: Vec<FieldError>,
    /// The typed comment, kept when the form is shown again after an error.
    comment: String,
}

impl TrackPage {
    fn error_for(&self, field: &str) -> Option<&str> {
        self.errors.iter().find(|e| e.field == field).map(|e| e.message.as_str())
    }
}

async fn track_page(
    state: &AppState,
    ctx: PageContext,
    token: String,
    errors: Vec<FieldError>,
    comment: String,
) -> Result<TrackPage, AppError> {
    let case = track_case(&state.db, state.settings.time_zone(), &token).await?;
    let locale = ctx.locale;
    let steps = step_rows(locale, &case.steps);
    let survivor = case.survivor.as_ref().map(|survivor| SurvivorRows {
        stage_label: stage_label(locale, survivor.stage),
        steps: step_rows(locale, &survivor.steps),
    });
    Ok(TrackPage {
        stage_label: stage_label(locale, case.stage),
        created_at: local_time(case.created_at),
        ctx: ctx.at("track"),
        token,
        case,
        steps,
        survivor,
        errors,
        comment,
    })
}

#[tracing::instrument(skip_all)]
pub async fn get_tracking_page(
    State(state): State<AppState>,
    ctx: PageContext,
    Path(token): Path<String>,
) -> Result<Response, AppError> {
    let page = track_page(&state, ctx, token, Vec::new(), String::new()).await?;
    render_page(&page, StatusCode::OK)
}

/// The fields of the rating form. The rating stays text so that a bad value gets a
/// message on the form rather than a bare 422.
#[derive(Debug, Default, serde::Deserialize)]
#[serde(default)]
pub struct RatingForm {
    pub rating: String,
    pub comment: String,
}

/// Records the rating and shows the page again, or re-renders it with the error.
#[tracing::instrument(skip_all)]
pub async fn post_rating(
    State(state): State<AppState>,
    ctx: PageContext,
    Path(token): Path<String>,
    Form(form): Form<RatingForm>,
) -> Result<Response, AppError> {
    let rating = form.rating.trim().parse::<i64>().ok();
    let outcome = rate_tracked_case(&state.db, &token, rating, Some(form.comment.clone())).await;
    match outcome {
        Ok(_) => Ok(see_other(&format!("/track/{token}?notice=notice-case-rated"))),
        Err(error) => {
            let error = field_error(error.into(), ctx.locale)?;
            let page = track_page(&state, ctx, token, vec![error], form.comment).await?;
            render_page(&page, StatusCode::UNPROCESSABLE_ENTITY)
        }
    }
}
