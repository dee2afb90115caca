//! `GET requests`, `GET requests/{id}` and `GET tokens/{token}`: reading cases as
//! Open311 service requests. Reading is public, as the specification intends, so the
//! reporter's contact and account never appear.
//!
//! NOTE: every case is listed whatever its channel, so a description typed in by a
//! hotline operator is public too. Staff must keep personal details out of descriptions.

use std::collections::HashMap;

use chrono::{DateTime, Duration, SecondsFormat, Utc};
use chrono_tz::Tz;
use serde_json::{Value, json};

use super::{error::Open311Error, format::Document, services::service_name, store, submit::Params};
use crate::{
    cases::{
        case::{Case, CaseEvent, CaseStore, Stage},
        catalogue::{CatalogueStore, Category, CategoryCode},
    },
    db::Db,
    http::AppError,
    i18n::Locale,
};

/// Days a list covers when the client gives no `start_date`, as the specification
/// suggests.
pub const DEFAULT_LIST_DAYS: i64 = 90;
/// Most requests one list returns, the specification's suggested limit.
pub const MAX_LIST_REQUESTS: i64 = 1000;

/// Names of services and agencies, loaded once per response to render its requests.
struct Names {
    categories: HashMap<String, Category>,
    departments: HashMap<String, String>,
    locale: Locale,
    tz: Tz,
}

impl Names {
    async fn load(db: &Db, locale: Locale, tz: Tz) -> Result<Names, Open311Error> {
        let categories = db.list_categories().await.map_err(|e| AppError::Internal(e.into()))?;
        let categories = categories.into_iter().map(|c| (c.code.as_str().to_owned(), c)).collect();
        let departments = store::department_names(db).await?;
        Ok(Names { categories, departments, locale, tz })
    }
}

/// Returns one case as a list of one request, as the specification shows it.
///
/// # Errors
/// 404 naming the id when no case has it.
pub async fn get_request(
    db: &Db,
    id: &str,
    locale: Locale,
    tz: Tz,
) -> Result<Document, Open311Error> {
    let not_found = || Open311Error::from(AppError::not_found("service_request", id));
    let case_id = id.parse::<i64>().map_err(|_| not_found())?;
    let case = db.case_by_id(case_id).await.map_err(|e| AppError::Internal(e.into()))?;
    let case = case.ok_or_else(not_found)?;
    let names = Names::load(db, locale, tz).await?;
    let request = request_json(db, &names, case).await?;
    Ok(Document::ok("service_requests", Value::Array(vec![request])))
}

/// Lists the cases matching the query parameters, newest first.
///
/// # Errors
/// 400 naming the parameter when one is invalid.
pub async fn list_requests(
    db: &Db,
    params: &Params,
    locale: Locale,
    tz: Tz,
) -> Result<Document, Open311Error> {
    let filter = parse_filter(params, Utc::now())?;
    let case_ids = store::request_case_ids(db, &filter).await?;
    let names = Names::load(db, locale, tz).await?;
    // NOTE: each case is read with two queries of its own, so a list of 1,000 costs
    // 2,000 round trips. A joined query would be faster if lists grow slow.
    let mut requests = Vec::with_capacity(case_ids.len());
    for case_id in case_ids {
        if let Some(case) =
            db.case_by_id(case_id).await.map_err(|e| AppError::Internal(e.into()))?
        {
            requests.push(request_json(db, &names, case).await?);
        }
    }
    Ok(Document::ok("service_requests", Value::Array(requests)))
}

/// Returns the id of the case with tracking `token`.
///
/// # Errors
/// 404 naming the token when no case has it.
pub async fn get_token(db: &Db, token: &str) -> Result<Document, Open311Error> {
    let case_id = store::case_id_by_token(db, token).await?;
    let case_id = case_id.ok_or_else(|| AppError::not_found("token", token))?;
    let found = json!({ "service_request_id": case_id.to_string(), "token": token });
    Ok(Document::ok("service_requests", Value::Array(vec![found])))
}

/// Reads the list parameters. `service_request_id` alone decides when present; otherwise
/// the dates default to the last [`DEFAULT_LIST_DAYS`] days before `end_date` or now.
fn parse_filter(params: &Params, now: DateTime<Utc>) -> Result<store::RequestFilter, Open311Error> {
    let mut filter = store::RequestFilter { limit: MAX_LIST_REQUESTS, ..Default::default() };
    if let Some(ids) = params.get("service_request_id").filter(|ids| !ids.trim().is_empty()) {
        for id in ids.split(',') {
            let case_id = id.trim().parse::<i64>().map_err(|_| {
                Open311Error::bad_parameter("open311_invalid_id", "service_request_id", id)
            })?;
            filter.case_ids.push(case_id);
        }
        return Ok(filter);
    }
    if let Some(codes) = params.get("service_code").filter(|codes| !codes.trim().is_empty()) {
        for code in codes.split(',') {
            let parsed = CategoryCode::parse(code).ok_or_else(|| {
                Open311Error::bad_parameter("open311_unknown_service", "service_code", code)
            })?;
            filter.category_codes.push(parsed.as_str().to_owned());
        }
    }
    let end = parse_date(params, "end_date")?;
    let start = parse_date(params, "start_date")?;
    filter.created_to = end;
    filter.created_from =
        Some(start.unwrap_or_else(|| end.unwrap_or(now) - Duration::days(DEFAULT_LIST_DAYS)));
    if let Some(statuses) = params.get("status").filter(|text| !text.trim().is_empty()) {
        for status in statuses.split(',') {
            let open = match status.trim() {
                "open" => true,
                "closed" => false,
                other => {
                    return Err(Open311Error::bad_parameter(
                        "open311_invalid_status",
                        "status",
                        other,
                    ));
                }
            };
            filter.stages.extend(Stage::ALL.into_iter().filter(|stage| stage.is_open() == open));
        }
    }
    Ok(filter)
}

fn parse_date(params: &Params, name: &str) -> Result<Option<DateTime<Utc>>, Open311Error> {
    let Some(text) = params.get(name).map(|text| text.trim()).filter(|text| !text.is_empty())
    else {
        return Ok(None);
    };
    DateTime::parse_from_rfc3339(text)
        .map(|date| Some(date.with_timezone(&Utc)))
        .map_err(|_| Open311Error::bad_parameter("open311_invalid_date", name, text))
}

fn datetime(instant: DateTime<Utc>, tz: Tz) -> String {
    instant.with_timezone(&tz).to_rfc3339_opts(SecondsFormat::Secs, false)
}

/// Renders one case as an Open311 request. The status notes are the latest comment of the
/// transition log, and the address is the text the reporter gave, if any.
async fn request_json(db: &Db, names: &Names, case: Case) -> Result<Value, Open311Error> {
    let events = db.case_events(case.case_id).await.map_err(|e| AppError::Internal(e.into()))?;
    let status_notes =
        events.iter().rev().map(|event| event.comment.trim()).find(|comment| !comment.is_empty());
    // Cases from before the address column kept the text only in the intake entry.
    let address = case.address.clone().or_else(|| events.first().and_then(intake_address));
    let category = names.categories.get(&case.category_code);
    let expected = case.handling_due_at.or(case.due_at).filter(|_| case.stage.is_open());
    Ok(json!({
        "service_request_id": case.case_id.to_string(),
        "status": if case.stage.is_open() { "open" } else { "closed" },
        "status_notes": status_notes,
        "service_name": category.map(|category| service_name(category, names.locale)),
        "service_code": case.category_code,
        "description": case.description,
        "agency_responsible": names.departments.get(&case.department_code),
        "service_notice": null,
        "requested_datetime": datetime(case.created_at, names.tz),
        "updated_datetime": datetime(case.updated_at, names.tz),
        "expected_datetime": expected.map(|instant| datetime(instant, names.tz)),
        "address": address,
        "address_id": null,
        "zipcode": null,
        "lat": case.latitude,
        "long": case.longitude,
        "media_url": null,
    }))
}

fn intake_address(event: &CaseEvent) -> Option<String> {
    event.details.get("address_string").and_then(Value::as_str).map(str::to_owned)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params(pairs: &[(&str, &str)]) -> Params {
        pairs.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect()
    }

    #[test]
    fn list_defaults_to_last_ninety_days() {
        let now = Utc::now();
        let filter = parse_filter(&params(&[]), now).unwrap();
        assert_eq!(filter.created_from, Some(now - Duration::days(90)));
        assert_eq!(filter.created_to, None);
        assert_eq!(filter.limit, 1000);
    }

    #[test]
    fn list_ids_override_other_filters() {
        let given = params(&[("service_request_id", "3, 5"), ("status", "bogus")]);
        let filter = parse_filter(&given, Utc::now()).unwrap();
        assert_eq!(filter.case_ids, vec![3, 5]);
        assert_eq!(filter.created_from, None);
    }

    #[test]
    fn closed_status_selects_finished_stages() {
        let filter = parse_filter(&params(&[("status", "closed")]), Utc::now()).unwrap();
        assert!(filter.stages.contains(&Stage::Closed));
        assert!(!filter.stages.contains(&Stage::Intake));
    }

    #[test]
    fn invalid_list_parameters_are_named() {
        let cases = [
            ("bad id", ("service_request_id", "x"), "service_request_id"),
            ("bad code", ("service_code", "garbage"), "service_code"),
            ("bad date", ("start_date", "yesterday"), "start_date"),
            ("bad status", ("status", "pending"), "status"),
        ];
        for (description, pair, field) in cases {
            let Err(Open311Error::App(AppError::BadRequest(message))) =
                parse_filter(&params(&[pair]), Utc::now())
            else {
                panic!("{description}: expected a bad request");
            };
            assert_eq!(message.field.as_deref(), Some(field), "{description}");
        }
    }
}
