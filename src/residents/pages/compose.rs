//! The notice composer (`/resident-notices/new`): title, body, priority, audience by
//! areas and tags, an optional send time and the follow-up hours. A "preview count"
//! button re-renders the form with the size of the audience, and "send" stores the
//! notice through the same function as the JSON API. The form is multipart so that it
//! can carry attachments ([`super::compose_files`]) without JavaScript.

use askama::Template;
use axum::{
    extract::{Request, State},
    http::StatusCode,
    response::Response,
};
use chrono::{DateTime, FixedOffset, NaiveDate, NaiveDateTime, TimeZone};

use super::{
    FieldError,
    compose_files::{self, FILES_FIELD, KeptFile},
    error_for, field_error, render_page, see_other,
};
use crate::{
    accounts::{ClientIp, CurrentUser, Permission},
    areas::Level,
    cases::pages::form_data::FormData,
    http::{AppError, AppState, UserMessage, pages::PageContext},
    i18n::{Locale, arg},
    residents::{
        notices::{
            Channels,
            attachments::{MAX_ATTACHMENT_BYTES, MAX_ATTACHMENTS_PER_NOTICE},
            audience::{self, AudienceSpec, TagCondition},
            service::{self, NoticeInput},
        },
        tags::{self, TagKind},
    },
};

/// The raw fields of the form, kept to render it again.
#[derive(Debug, Clone, Default)]
pub struct ComposeValues {
    pub title: String,
    pub body: String,
    pub priority: String,
    pub area_ids: Vec<String>,
    pub tags: Vec<String>,
    pub tags_match: String,
    /// Attributes applied to every chosen tag of the `returned` kind.
    pub returned_from_area: String,
    pub returned_since: String,
    /// Local time in the configured zone, as a `datetime-local` input sends it.
    pub send_at: String,
    pub follow_up_hours: String,
    /// `preview` or `send`.
    pub action: String,
    /// Uploads kept from an earlier submission of the form, checked to stay attached.
    pub attachment_ids: Vec<String>,
}

impl ComposeValues {
    fn from_pairs(pairs: Vec<(String, String)>) -> Self {
        let mut values = ComposeValues::default();
        for (name, value) in pairs {
            match name.as_str() {
                "title" => values.title = value,
                "body" => values.body = value,
                "priority" => values.priority = value,
                "area_ids" => values.area_ids.push(value),
                "tags" => values.tags.push(value),
                "tags_match" => values.tags_match = value,
                "returned_from_area" => values.returned_from_area = value,
                "returned_since" => values.returned_since = value,
                "send_at" => values.send_at = value,
                "follow_up_hours" => values.follow_up_hours = value,
                "action" => values.action = value,
                "attachment_ids" => values.attachment_ids.push(value),
                _ => {}
            }
        }
        values
    }

    /// Builds the audience; `returned_kinds` are the codes of tags of the returned kind.
    fn audience(&self, returned_kinds: &[String]) -> Result<AudienceSpec, AppError> {
        let mut area_ids = Vec::new();
        for text in &self.area_ids {
            let id = text.trim().parse().map_err(|_| {
                let message = UserMessage::new("notice_area_unknown").arg("id", text.trim());
                AppError::Invalid(message.field("area_ids"))
            })?;
            area_ids.push(id);
        }
        let from_area = Some(self.returned_from_area.trim()).filter(|t| !t.is_empty());
        let since = match self.returned_since.trim() {
            "" => None,
            text => Some(NaiveDate::parse_from_str(text, "%Y-%m-%d").map_err(|_| {
                let message = UserMessage::new("resident_page_date_invalid").arg("value", text);
                AppError::Invalid(message.field("returned_since"))
            })?),
        };
        let tags = self.tags.iter().map(|code| {
            let returned = returned_kinds.contains(code);
            TagCondition {
                code: code.clone(),
                from_area: from_area.filter(|_| returned).map(str::to_owned),
                since: since.filter(|_| returned),
            }
        });
        Ok(AudienceSpec {
            area_ids,
            tags: tags.collect(),
            tags_match: Some(self.tags_match.clone()),
        })
    }

    /// Builds the notice input, reading the send time in `tz`.
    fn notice(&self, audience: AudienceSpec, tz: chrono_tz::Tz) -> Result<NoticeInput, AppError> {
        let follow_up_hours = match self.follow_up_hours.trim() {
            "" => None,
            text => Some(text.parse().map_err(|_| {
                AppError::Invalid(
                    UserMessage::new("notice_follow_up_hours").field("follow_up_hours"),
                )
            })?),
        };
        Ok(NoticeInput {
            title: self.title.clone(),
            body: self.body.clone(),
            priority: Some(self.priority.clone()),
            audience,
            send_at: parse_local_time(&self.send_at, tz)?,
            follow_up_hours,
            attachment_ids: self.attachment_ids.clone(),
        })
    }
}

/// Reads a `datetime-local` value such as `2026-12-06T09:00` as a time in `tz`.
fn parse_local_time(
    text: &str,
    tz: chrono_tz::Tz,
) -> Result<Option<DateTime<FixedOffset>>, AppError> {
    let text = text.trim();
    if text.is_empty() {
        return Ok(None);
    }
    let naive = NaiveDateTime::parse_from_str(text, "%Y-%m-%dT%H:%M")
        .or_else(|_| NaiveDateTime::parse_from_str(text, "%Y-%m-%d %H:%M"))
        .ok();
    // A local time skipped or repeated by a clock change has no single instant.
    let local = naive.and_then(|naive| tz.from_local_datetime(&naive).single());
    let local = local.ok_or_else(|| {
        let message = UserMessage::new("resident_page_send_at_invalid").arg("value", text);
        AppError::Invalid(message.field("send_at"))
    })?;
    Ok(Some(local.fixed_offset()))
}

/// One checkbox.
pub struct Choice {
    pub value: String,
    pub label: String,
    pub checked: bool,
    /// True for a tag of the returned kind, which the origin and date fields narrow.
    pub returned: bool,
}

#[derive(Template)]
#[template(path = "residents/compose.html")]
struct ComposePage {
    ctx: PageContext,
    values: ComposeValues,
    errors: Vec<FieldError>,
    areas: Vec<Choice>,
    tags: Vec<Choice>,
    /// The audience size after a preview.
    preview_count: Option<i64>,
    time_zone: String,
    /// Uploads from earlier submissions, kept while their box stays checked.
    kept_files: Vec<KeptFile>,
    /// The accepted types and limits, shown under the file input.
    files_hint: String,
}

impl ComposePage {
    fn error_for(&self, field: &str) -> Option<&str> {
        error_for(&self.errors, field)
    }
}

async fn compose_page(
    state: &AppState,
    user: &CurrentUser,
    ctx: PageContext,
    values: ComposeValues,
    errors: Vec<FieldError>,
) -> Result<ComposePage, AppError> {
    let index = state.locator.snapshot();
    let mut areas: Vec<_> = index
        .areas()
        .iter()
        .filter(|area| matches!(area.level, Level::Community | Level::Grid))
        .filter(|area| user.can_access_area(&index, area.area_id))
        .collect();
    areas.sort_by(|a, b| a.code.cmp(&b.code));
    let areas = areas
        .into_iter()
        .map(|area| Choice {
            value: area.area_id.to_string(),
            label: format!("{} ({})", area.name, area.code),
            checked: values.area_ids.contains(&area.area_id.to_string()),
            returned: false,
        })
        .collect();
    let tags = tags::list_tags(&state.db).await?;
    let tags = tags
        .into_iter()
        .map(|tag| Choice {
            checked: values.tags.contains(&tag.code),
            label: if ctx.locale == Locale::En { tag.name_en } else { tag.name_zh },
            returned: tag.kind == TagKind::Returned,
            value: tag.code,
        })
        .collect();
    let kept_files = compose_files::kept_files(state, user.user_id, &values.attachment_ids).await?;
    Ok(ComposePage {
        kept_files,
        files_hint: ctx.locale.t_args(
            "notice-page-attachments-hint",
            &[
                ("max", arg(MAX_ATTACHMENTS_PER_NOTICE.to_string())),
                ("mib", arg((MAX_ATTACHMENT_BYTES / (1024 * 1024)).to_string())),
            ],
        ),
        ctx: ctx.at("resident-notices"),
        values,
        errors,
        areas,
        tags,
        preview_count: None,
        time_zone: state.settings.time_zone().to_string(),
    })
}

#[tracing::instrument(skip_all, fields(user.id = user.user_id))]
pub async fn get_compose(
    State(state): State<AppState>,
    user: CurrentUser,
    ctx: PageContext,
) -> Result<Response, AppError> {
    user.require(Permission::SendNotices)?;
    let values = ComposeValues {
        priority: "normal".to_owned(),
        tags_match: "any".to_owned(),
        follow_up_hours: "24".to_owned(),
        ..ComposeValues::default()
    };
    let page = compose_page(&state, &user, ctx, values, Vec::new()).await?;
    render_page(&page, StatusCode::OK)
}

/// Lists the codes of the tags of the returned kind.
async fn returned_tag_codes(state: &AppState) -> Result<Vec<String>, AppError> {
    let definitions = tags::list_tags(&state.db).await?;
    let returned = definitions.into_iter().filter(|tag| tag.kind == TagKind::Returned);
    Ok(returned.map(|tag| tag.code).collect())
}

/// The result of a POST of the form.
enum Outcome {
    /// A preview counted this many recipients.
    Counted(i64),
    /// The notice with this id was stored.
    Sent(i64),
}

/// Stores the form's new files, then counts the audience (`action=preview`) or sends
/// the notice (`action=send`) and redirects to its receipts. A rejected file or field
/// shows its message next to it and in the error summary.
#[tracing::instrument(skip_all, fields(user.id = user.user_id))]
pub async fn post_compose(
    State(state): State<AppState>,
    user: CurrentUser,
    client_ip: ClientIp,
    ctx: PageContext,
    request: Request,
) -> Result<Response, AppError> {
    user.require(Permission::SendNotices)?;
    let mut form = FormData::read(request, &state, MAX_ATTACHMENT_BYTES).await?;
    let mut values = ComposeValues::from_pairs(std::mem::take(&mut form.pairs));
    let locale = ctx.locale;
    let file_errors = compose_files::store_new_files(
        &state,
        user.user_id,
        &mut values,
        form.uploads,
        form.oversize_file_name,
        locale,
    )
    .await?;
    if !file_errors.is_empty() {
        let page = compose_page(&state, &user, ctx, values, file_errors).await?;
        return render_page(&page, StatusCode::UNPROCESSABLE_ENTITY);
    }
    let outcome = if values.action == "send" {
        send_notice(&state, &user, &client_ip, &values).await.map(Outcome::Sent)
    } else {
        preview(&state, &user, &values).await.map(Outcome::Counted)
    };
    match outcome {
        Ok(Outcome::Sent(notice_id)) => Ok(see_other(&format!(
            "/resident-notices/{notice_id}?notice=notice-resident-notice-sent"
        ))),
        Ok(Outcome::Counted(count)) => {
            let mut page = compose_page(&state, &user, ctx, values, Vec::new()).await?;
            page.preview_count = Some(count);
            render_page(&page, StatusCode::OK)
        }
        Err(error) => {
            let mut error = field_error(error, locale)?;
            if error.field == "attachment_ids" {
                error.field = FILES_FIELD.to_owned();
            }
            let errors = vec![error];
            let page = compose_page(&state, &user, ctx, values, errors).await?;
            render_page(&page, StatusCode::UNPROCESSABLE_ENTITY)
        }
    }
}

/// Counts the residents the audience reaches now.
async fn preview(
    state: &AppState,
    user: &CurrentUser,
    values: &ComposeValues,
) -> Result<i64, AppError> {
    let spec = values.audience(&returned_tag_codes(state).await?)?;
    let index = state.locator.snapshot();
    let audience = audience::resolve(&state.db, &index, user, spec).await?;
    Ok(audience::count(&state.db, &audience).await?)
}

/// Stores the notice and returns its id.
async fn send_notice(
    state: &AppState,
    user: &CurrentUser,
    client_ip: &ClientIp,
    values: &ComposeValues,
) -> Result<i64, AppError> {
    let spec = values.audience(&returned_tag_codes(state).await?)?;
    let input = values.notice(spec, state.settings.time_zone())?;
    let index = state.locator.snapshot();
    let actor = user.actor(client_ip);
    let channels = Channels::from_settings(&state.settings.notices);
    let (notice, _) =
        service::create_notice(&state.db, &index, user, &actor, input, channels).await?;
    Ok(notice.notice_id)
}
