//! Open311 GeoReport v2: the standard interface through which other systems and apps
//! report problems to the street and follow them.
//!
//! Routes live under `/open311/v2/`, and the extension of the last path segment picks
//! the format, `.json` or `.xml`. Services are the minor categories of the catalogue
//! and requests are cases. A POST goes through the same intake as every other channel
//! ([`crate::cases::case::intake::submit_report`]) with the channel `open311`, creates
//! the case at once and returns both its id and its tracking token. Reading is public.
//! Posting needs an API key that an administrator creates with
//! `citycore open311 key add`, and the key's name is stored with the case's intake.
//! Errors use the body the specification defines ([`error::Open311Error`]).
//!
//! Not built: service attributes (every service has `metadata` false), geocoding of
//! `address_string` and `address_id`, media uploads, and revoking keys from the CLI.

pub mod cli;
pub mod error;
pub mod format;
mod http;
pub mod keys;
mod requests;
mod services;
mod store;
mod submit;

pub use http::MAX_BODY_BYTES;

/// Builds the `/open311/v2/` routes.
pub fn router() -> axum::Router<crate::http::AppState> {
    http::router()
}
