//! `POST requests`: an Open311 client reports a problem, which becomes a case.

use std::collections::HashMap;

use serde_json::{Value, json};

use super::{error::Open311Error, format::Document, keys};
use crate::{
    cases::case::{
        CaseError, Channel,
        intake::{IntakeInput, Reporter, submit_report},
    },
    http::{AppError, AppState},
};

/// Characters of the description that become the case title, which Open311 lacks: a
/// glance in a list, well under the intake's limit of 200.
const TITLE_CHARS: usize = 40;

/// Request parameters by name; the first value wins when a name repeats.
pub type Params = HashMap<String, String>;

/// Creates a case from the parameters of a POST and returns its id and tracking token.
///
/// The steps: check the API key, read the location, build the intake input and submit
/// it through the same intake as every other channel, recording the key's name. An
/// `address_string` without `lat` and `long` is looked up in the street's gazetteer.
///
/// # Errors
/// [`Open311Error::InvalidApiKey`] without a valid `api_key`; 400 naming the parameter
/// for a missing or invalid one, an unknown `service_code`, an `address_string` the
/// gazetteer does not know or a description over 4,000 characters. Nothing is stored
/// then.
#[tracing::instrument(skip_all, fields(api_key.name = tracing::field::Empty))]
pub async fn create_request(state: &AppState, params: &Params) -> Result<Document, Open311Error> {
    let client = keys::authenticate(&state.db, param(params, "api_key")).await?;
    tracing::Span::current().record("api_key.name", client.name.as_str());

    let service_code = param(params, "service_code").ok_or_else(|| {
        Open311Error::bad_parameter("open311_parameter_missing", "service_code", "")
    })?;
    let location = read_location(params)?;
    let description = param(params, "description").unwrap_or_default();
    let input = IntakeInput {
        title: Some(title_of(description, service_code)),
        description: Some(description.to_owned()),
        category_code: Some(service_code.to_owned()),
        longitude: location.longitude,
        latitude: location.latitude,
        crs: None,
        channel: None,
        reporter_contact: contact_of(params),
        address: location.address,
    };
    let reporter = reporter_of(&client.name, params);
    let index = state.locator.snapshot();
    let case = submit_report(&state.db, &index, state.settings.time_zone(), &reporter, input)
        .await
        .map_err(open311_error)?;

    let created = json!({
        "service_request_id": case.case_id.to_string(),
        "token": case.tracking_token,
        "service_notice": null,
        "account_id": null,
    });
    let mut document = Document::ok("service_requests", Value::Array(vec![created]));
    document.status = axum::http::StatusCode::CREATED;
    Ok(document)
}

fn param<'a>(params: &'a Params, name: &str) -> Option<&'a str> {
    params.get(name).map(|value| value.trim()).filter(|value| !value.is_empty())
}

/// Location of a report: WGS-84 coordinates, an address, or both. With both, the
/// coordinates locate the case and the address is kept as given.
#[derive(Debug, Clone, PartialEq)]
struct Location {
    longitude: Option<f64>,
    latitude: Option<f64>,
    address: Option<String>,
}

/// Reads `lat` and `long` as WGS-84 degrees, and `address_string`; the intake checks
/// the ranges and looks the address up when there are no coordinates.
///
/// # Errors
/// 400 naming `lat` or `long` when one is missing or not a number, and naming
/// `address_id` when that is the only location, because ids of other systems' address
/// registers mean nothing here.
fn read_location(params: &Params) -> Result<Location, Open311Error> {
    let latitude = param(params, "lat");
    let longitude = param(params, "long");
    let address = param(params, "address_string").map(str::to_owned);
    if latitude.is_none() && longitude.is_none() {
        if address.is_some() {
            return Ok(Location { longitude: None, latitude: None, address });
        }
        if let Some(address_id) = param(params, "address_id") {
            return Err(Open311Error::bad_parameter(
                "open311_address_not_geocoded",
                "address_id",
                address_id,
            ));
        }
        return Err(Open311Error::bad_parameter("open311_location_missing", "lat", ""));
    }
    let number = |name: &str, text: Option<&str>| {
        let text = text.unwrap_or_default();
        text.parse::<f64>()
            .ok()
            .filter(|value| value.is_finite())
            .ok_or_else(|| Open311Error::bad_parameter("open311_invalid_number", name, text))
    };
    Ok(Location {
        longitude: Some(number("long", longitude)?),
        latitude: Some(number("lat", latitude)?),
        address,
    })
}

/// Converts an intake failure, naming `address_string` where the intake names
/// `address`, so that the client sees its own parameter.
fn open311_error(error: CaseError) -> Open311Error {
    let mut error = AppError::from(error);
    if let AppError::Invalid(message) | AppError::BadRequest(message) = &mut error
        && message.field.as_deref() == Some("address")
    {
        message.field = Some("address_string".to_owned());
    }
    Open311Error::App(error)
}

/// Builds a title from the first characters of the description, or the service code when it is empty, so
/// that the intake reports a missing description rather than a missing title.
fn title_of(description: &str, service_code: &str) -> String {
    let first_line = description.lines().next().unwrap_or_default().trim();
    if first_line.is_empty() {
        return service_code.to_owned();
    }
    first_line.chars().take(TITLE_CHARS).collect()
}

/// Joins the reporter's name, email and phone into one contact line.
fn contact_of(params: &Params) -> Option<String> {
    let name: Vec<&str> =
        ["first_name", "last_name"].iter().filter_map(|key| param(params, key)).collect();
    let mut parts = Vec::new();
    if !name.is_empty() {
        parts.push(name.join(" "));
    }
    parts.extend(["email", "phone"].iter().filter_map(|key| param(params, key)).map(str::to_owned));
    (!parts.is_empty()).then(|| parts.join(", "))
}

/// Describes an Open311 client as a reporter: no account, the `open311` channel, and the key's
/// name and the location text recorded in the intake log entry.
fn reporter_of(key_name: &str, params: &Params) -> Reporter {
    let mut details = serde_json::Map::new();
    details.insert("api_key".to_owned(), key_name.into());
    for name in ["address_string", "address_id", "device_id", "account_id"] {
        if let Some(value) = param(params, name) {
            details.insert(name.to_owned(), value.into());
        }
    }
    Reporter { user_id: None, role: None, channel: Some(Channel::Open311), details }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params(pairs: &[(&str, &str)]) -> Params {
        pairs.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect()
    }

    #[test]
    fn title_takes_first_line_of_description() {
        assert_eq!(title_of("井盖缺失\n在路口", "C0101"), "井盖缺失");
        assert_eq!(title_of("  ", "C0101"), "C0101");
        assert_eq!(title_of(&"长".repeat(100), "C0101").chars().count(), TITLE_CHARS);
    }

    #[test]
    fn location_errors_name_the_parameter() {
        let cases = [
            ("nothing", params(&[]), "open311_location_missing", "lat"),
            (
                "address id only",
                params(&[("address_id", "A-17")]),
                "open311_address_not_geocoded",
                "address_id",
            ),
            ("long missing", params(&[("lat", "39.9")]), "open311_invalid_number", "long"),
            (
                "lat not a number",
                params(&[("lat", "north"), ("long", "116.4")]),
                "open311_invalid_number",
                "lat",
            ),
        ];
        for (description, params, code, field) in cases {
            let Err(Open311Error::App(crate::http::AppError::BadRequest(message))) =
                read_location(&params)
            else {
                panic!("{description}: expected a bad request");
            };
            assert_eq!(message.code, code, "{description}");
            assert_eq!(message.field.as_deref(), Some(field), "{description}");
        }
    }

    #[test]
    fn address_string_alone_is_looked_up() {
        let location = read_location(&params(&[("address_string", " 春望里3号楼 ")])).unwrap();
        assert_eq!(location.address.as_deref(), Some("春望里3号楼"));
        assert_eq!((location.longitude, location.latitude), (None, None));
        let both = params(&[("lat", "39.9"), ("long", "116.4"), ("address_string", "春望里")]);
        let location = read_location(&both).unwrap();
        assert_eq!(location.longitude, Some(116.4), "coordinates are kept beside the address");
    }

    #[test]
    fn contact_joins_name_email_and_phone() {
        let given = params(&[("first_name", "Li"), ("last_name", "Lei"), ("phone", "12345")]);
        assert_eq!(contact_of(&given).as_deref(), Some("Li Lei, 12345"));
        assert_eq!(contact_of(&params(&[])), None);
    }
}
