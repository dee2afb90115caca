//! The query-string extractor that handlers use in place of axum's, so that a bad query
//! string gets the usual error body naming the parameter, not a plain-text rejection.

use axum::{extract::FromRequestParts, http::request::Parts};
use serde::de::DeserializeOwned;

use super::{AppError, UserMessage};

/// Deserializes the query string into `T`, like `axum::extract::Query`.
///
/// A parameter given more than once is rejected with 400 naming it, because a struct
/// field takes a single value and silently keeping one of them would hide the mistake.
/// A value that does not fit its field is rejected with 400 naming the field.
#[derive(Debug, Clone, Copy, Default)]
pub struct Query<T>(pub T);

impl<T, S> FromRequestParts<S> for Query<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        parse_query(parts.uri.query().unwrap_or_default()).map(Query)
    }
}

/// Parses a query string (without the `?`) into `T`.
///
/// # Errors
/// [`AppError::BadRequest`] naming the parameter that is repeated or invalid.
pub fn parse_query<T: DeserializeOwned>(query: &str) -> Result<T, AppError> {
    let mut seen = std::collections::HashSet::new();
    for (name, _) in form_urlencoded::parse(query.as_bytes()) {
        if !seen.insert(name.clone()) {
            return Err(AppError::BadRequest(
                UserMessage::new("query_parameter_repeated")
                    .arg("name", &name)
                    .field(name.into_owned()),
            ));
        }
    }
    let deserializer =
        serde_urlencoded::Deserializer::new(form_urlencoded::parse(query.as_bytes()));
    serde_path_to_error::deserialize(deserializer).map_err(|error| {
        // The path is "." when the error is about the whole query, such as a missing
        // required parameter, whose name serde puts in the reason.
        let path = error.path().to_string();
        let reason = error.into_inner().to_string();
        let message = if path == "." {
            UserMessage::new("query_invalid").arg("reason", reason)
        } else {
            UserMessage::new("query_parameter_invalid")
                .arg("name", &path)
                .arg("reason", reason)
                .field(path)
        };
        AppError::BadRequest(message)
    })
}

#[cfg(test)]
mod tests {
    use serde::Deserialize;

    use super::*;

    #[derive(Debug, Deserialize)]
    struct Sample {
        area: Option<String>,
        limit: Option<u32>,
    }

    fn rejected(query: &str) -> UserMessage {
        match parse_query::<Sample>(query) {
            Err(AppError::BadRequest(message)) => message,
            other => panic!("expected a 400 for {query:?}, got {other:?}"),
        }
    }

    #[test]
    fn repeated_parameter_is_named() {
        let message = rejected("area=1&limit=2&area=1");
        assert_eq!(message.code, "query_parameter_repeated");
        assert_eq!(message.field.as_deref(), Some("area"));
    }

    #[test]
    fn invalid_value_names_its_field() {
        let message = rejected("limit=ten");
        assert_eq!(message.code, "query_parameter_invalid");
        assert_eq!(message.field.as_deref(), Some("limit"));
    }

    #[test]
    fn valid_query_parses() {
        let sample: Sample = parse_query("area=110105&limit=5").unwrap();
        assert_eq!(sample.area.as_deref(), Some("110105"));
        assert_eq!(sample.limit, Some(5));
    }
}
