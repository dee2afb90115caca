//! Intake (受理): validating a report, locating, routing and timing it, and storing it.

use chrono::{SubsecRound, Utc};
use chrono_tz::Tz;
use serde::Deserialize;

use super::{
    MAX_DESCRIPTION_CHARS,
    error::CaseError,
    locate::{Crs, locate_point, parse_point},
    record::{Case, CaseEvent},
    stage::{Channel, Stage},
    store::CaseStore,
};
use crate::{
    accounts::{CurrentUser, Permission, Role},
    cases::{
        calendar::{add_working_time, snapshot::current_calendar},
        catalogue::{Category, CategoryCode, snapshot::cached_category},
        routing::service::route_case,
    },
    db::Db,
    http::UserMessage,
    locate::AreaIndex,
    places::lookup::resolve_address,
};

/// Maximum title length, in characters: a one-line summary.
pub const MAX_TITLE_CHARS: usize = 200;
/// Maximum reporter contact length, in characters: a phone number or an address line.
pub const MAX_CONTACT_CHARS: usize = 200;
/// Maximum address length, in characters: a long address line with directions.
pub const MAX_ADDRESS_CHARS: usize = 200;

/// A report as it arrives in a JSON body. Every field is optional here, so that a
/// missing one gets an error naming it rather than a bare parse error.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct IntakeInput {
    pub title: Option<String>,
    pub description: Option<String>,
    pub category_code: Option<String>,
    pub longitude: Option<f64>,
    pub latitude: Option<f64>,
    /// `wgs84` (the default) or `gcj02`.
    pub crs: Option<String>,
    /// One of [`Channel`]; `api` when absent.
    pub channel: Option<String>,
    pub reporter_contact: Option<String>,
    /// Address of the problem in words. Without `longitude` and `latitude` it is looked
    /// up in the street's gazetteer, and with them it is kept as given.
    pub address: Option<String>,
}

/// A validated report, before it is located and routed.
struct Report {
    title: String,
    description: String,
    category: Category,
    longitude: f64,
    latitude: f64,
    channel: Channel,
    reporter_contact: Option<String>,
    address: Option<String>,
}

/// The reporter of a case: a logged-in person, or a client of another system such as an
/// Open311 application, which has no account here.
#[derive(Debug, Clone)]
pub struct Reporter {
    pub user_id: Option<i64>,
    pub role: Option<Role>,
    /// The channel every report of this reporter arrives through; `None` lets the input
    /// choose within what the role allows.
    pub channel: Option<Channel>,
    /// Extra facts stored in the intake log entry, such as the API key's name.
    pub details: serde_json::Map<String, serde_json::Value>,
}

impl Reporter {
    /// Describes the logged-in `user`, who picks the channel within what the role allows.
    pub fn user(user: &CurrentUser) -> Reporter {
        Reporter {
            user_id: Some(user.user_id),
            role: Some(user.role),
            channel: None,
            details: serde_json::Map::new(),
        }
    }
}

/// Validates, locates, routes and stores a new case reported by `user`.
///
/// # Errors
/// [`CaseError::Invalid`] naming the first invalid field, or a storage failure.
pub async fn submit_case(
    db: &Db,
    index: &AreaIndex,
    tz: Tz,
    user: &CurrentUser,
    input: IntakeInput,
) -> Result<Case, CaseError> {
    submit_report(db, index, tz, &Reporter::user(user), input).await
}

/// Validates, locates, routes and stores a new case reported by `reporter`.
///
/// # Errors
/// [`CaseError::Invalid`] naming the first invalid field, or a storage failure.
#[tracing::instrument(skip_all, fields(case.id = tracing::field::Empty, user.id = reporter.user_id))]
pub async fn submit_report(
    db: &Db,
    index: &AreaIndex,
    tz: Tz,
    reporter: &Reporter,
    input: IntakeInput,
) -> Result<Case, CaseError> {
    let report = parse_report(db, index, reporter, input).await?;
    let located = locate_point(index, report.longitude, report.latitude);
    let grid_id = located.map(|(grid_id, _)| grid_id);
    let route = route_case(db, index, &report.category, grid_id).await?;

    let now = Utc::now().trunc_subsecs(3);
    let calendar = current_calendar(db).await?;
    let dispatch_due_at = add_working_time(now, report.category.dispatch_limit, &calendar, tz)?;
    let case = Case {
        case_id: 0,
        tracking_token: super::tracking::new_tracking_token(now),
        title: report.title,
        description: report.description,
        category_code: report.category.code.as_str().to_owned(),
        channel: report.channel,
        reporter_user_id: reporter.user_id,
        reporter_contact: report.reporter_contact,
        address: report.address,
        longitude: report.longitude,
        latitude: report.latitude,
        grid_id,
        community_id: located.and_then(|(_, community_id)| community_id),
        outside_grids: located.is_none(),
        department_code: route.department_code.clone(),
        stage: Stage::Intake,
        due_at: Some(dispatch_due_at),
        dispatch_due_at: Some(dispatch_due_at),
        handling_due_at: None,
        verification_due_at: None,
        requested_extension: None,
        merged_into_case_id: None,
        rating: None,
        closed_at: None,
        rework_count: 0,
        extension_count: 0,
        version: 1,
        created_at: now,
        updated_at: now,
    };
    let mut details = reporter.details.clone();
    details.insert("channel".to_owned(), case.channel.as_str().into());
    details.insert("routing".to_owned(), route.details());
    let event = CaseEvent {
        case_event_id: None,
        action: None,
        from_stage: None,
        to_stage: Stage::Intake,
        actor_user_id: reporter.user_id,
        actor_role: reporter.role.map(|role| role.as_str().to_owned()),
        comment: String::new(),
        reason: None,
        attachment_ids: Vec::new(),
        details: serde_json::Value::Object(details),
        occurred_at: now,
    };
    let stored = db.insert_case(&case, &event).await?;
    tracing::Span::current().record("case.id", stored.case_id);
    if stored.outside_grids {
        tracing::warn!(case.id = stored.case_id, "case located outside every grid");
    }
    tracing::info!(case.category = %stored.category_code, "case reported");
    Ok(stored)
}

async fn parse_report(
    db: &Db,
    index: &AreaIndex,
    reporter: &Reporter,
    input: IntakeInput,
) -> Result<Report, CaseError> {
    let invalid = CaseError::Invalid;
    let title = input.title.as_deref().map(str::trim).unwrap_or_default();
    if title.is_empty() || title.chars().count() > MAX_TITLE_CHARS {
        let message = UserMessage::new("case_title_invalid").arg("max", MAX_TITLE_CHARS);
        return Err(invalid(message.field("title")));
    }
    let description = input.description.as_deref().map(str::trim).unwrap_or_default();
    if description.is_empty() {
        return Err(invalid(UserMessage::new("case_description_missing").field("description")));
    }
    let length = description.chars().count();
    if length > MAX_DESCRIPTION_CHARS {
        let message = UserMessage::new("case_description_too_long")
            .arg("length", length)
            .arg("max", MAX_DESCRIPTION_CHARS);
        return Err(invalid(message.field("description")));
    }

    let category = find_category(db, input.category_code.as_deref().unwrap_or_default()).await?;
    let address = parse_address(input.address.as_deref())?;
    let (longitude, latitude) = match (&address, input.longitude, input.latitude) {
        (Some(address), None, None) => {
            let place = resolve_address(db, index, address).await?;
            (place.longitude, place.latitude)
        }
        _ => {
            let crs = match input.crs.as_deref() {
                Some(text) => Crs::parse(text).map_err(invalid)?,
                None => Crs::Wgs84,
            };
            parse_point(input.longitude, input.latitude, crs).map_err(invalid)?
        }
    };
    let channel = match reporter.channel {
        Some(channel) => channel,
        None => parse_channel(reporter.role, input.channel.as_deref())?,
    };

    let reporter_contact =
        input.reporter_contact.map(|contact| contact.trim().to_owned()).filter(|c| !c.is_empty());
    if reporter_contact.as_ref().is_some_and(|c| c.chars().count() > MAX_CONTACT_CHARS) {
        let message = UserMessage::new("case_contact_too_long").arg("max", MAX_CONTACT_CHARS);
        return Err(invalid(message.field("reporter_contact")));
    }
    Ok(Report {
        title: title.to_owned(),
        description: description.to_owned(),
        category,
        longitude,
        latitude,
        channel,
        reporter_contact,
        address,
    })
}

/// Trims the address; an empty one counts as absent.
fn parse_address(text: Option<&str>) -> Result<Option<String>, CaseError> {
    let Some(address) = text.map(str::trim).filter(|address| !address.is_empty()) else {
        return Ok(None);
    };
    if address.chars().count() > MAX_ADDRESS_CHARS {
        let message = UserMessage::new("place_address_too_long").arg("max", MAX_ADDRESS_CHARS);
        return Err(CaseError::Invalid(message.field("address")));
    }
    Ok(Some(address.to_owned()))
}

async fn find_category(db: &Db, text: &str) -> Result<Category, CaseError> {
    let unknown = || {
        CaseError::Invalid(
            UserMessage::new("unknown_category").arg("code", text).field("category_code"),
        )
    };
    let code = CategoryCode::parse(text).ok_or_else(unknown)?;
    cached_category(db, &code).await?.ok_or_else(unknown)
}

/// Parses the channel, `api` when absent. People without staff rights may only report
/// through the web page or the API, so a resident cannot pose as a patrol or a hotline.
fn parse_channel(role: Option<Role>, text: Option<&str>) -> Result<Channel, CaseError> {
    let invalid = || {
        let value = text.unwrap_or_default();
        CaseError::Invalid(UserMessage::new("invalid_channel").arg("value", value).field("channel"))
    };
    let channel = match text {
        Some(text) => Channel::parse(text.trim()).ok_or_else(invalid)?,
        None => Channel::Api,
    };
    let public = matches!(channel, Channel::Web | Channel::Api);
    if !public && !role.is_some_and(|role| role.allows(Permission::ViewCases)) {
        return Err(invalid());
    }
    Ok(channel)
}
