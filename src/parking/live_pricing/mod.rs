//! Live time-of-use pricing: tariffs stored as data, each lot's occupancy history, and
//! the demand-responsive rule applied per lot and band.
//!
//! Owns the `parking_tariff`, `parking_tariff_band`, `parking_occupancy_sample` and
//! `parking_price_review` tables, the routes `/api/v1/parking/tariffs…`,
//! `/api/v1/parking/lots/{lot_ref}/prices` and `/api/v1/parking/price-changes`, and the
//! console page `/parking/tariffs`.
//!
//! - [`tariffs`]: administrators create and replace tariffs; every tariff's bands pass
//!   [`Tariff::new`] and its rule defaults to [`PricingRule::default`] (SFpark). A lot
//!   with an empty `tariff_code` uses [`DEFAULT_TARIFF`].
//! - [`history`]: the [`worker`] copies each lot's live occupancy into one sample per
//!   `[pricing] sample_minutes` slot; [`history::utilisation`] reads it back.
//! - [`review`]: once per rule period, each band's mean occupancy in the period just
//!   ended goes through [`PricingRule::decide`]; a new price is announced at once and
//!   charged from `notice_days` later.
//! - [`prices`]: a band's price at an instant is the latest change effective at or
//!   before it, else the tariff's base rate. A stay is charged at the prices in force
//!   when the driver checked in, so a change announced during a stay never applies to it.
//!
//! Invariants: at most one review per lot, band and period, even when several nodes
//! review at once, because the table's unique key rejects the second insert. Band times
//! are local times of `[booking] time_zone`; day types come from the working calendar.

pub mod band_review;
pub mod history;
pub mod http;
mod pages;
pub mod prices;
pub mod review;
pub mod tariff_input;
pub mod tariffs;
pub mod worker;

use serde::Serialize;

pub use history::{LotUtilisation, utilisation};
pub use http::router;
pub use prices::{PriceChange, recent_changes};

use crate::{
    http::{AppError, UserMessage},
    parking::{pricing::PricingRule, tariff::Tariff},
};

/// Code of the tariff of every lot whose `tariff_code` is empty.
pub const DEFAULT_TARIFF: &str = "default";

/// A stored tariff: its bands, and its demand-responsive rule with the on/off switch.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredTariff {
    pub code: String,
    pub name: String,
    pub tariff: Tariff,
    /// Whether the rule moves the prices of the lots on this tariff.
    pub rule_enabled: bool,
    pub rule: PricingRule,
}

/// Failures of tariffs and live prices, in domain terms; `From` below picks the status.
#[derive(Debug, thiserror::Error)]
pub enum PricingError {
    /// Input that breaks a rule (422); the message names the field and the fix.
    #[error("invalid input: {0:?}")]
    Invalid(UserMessage),
    /// A tariff or lot that does not exist (404).
    #[error("{what} {id} not found")]
    NotFound { what: &'static str, id: String },
    /// A new tariff whose code is already taken (409).
    #[error("tariff {0} already exists")]
    Duplicate(String),
    /// A stored tariff that no longer passes validation (500).
    #[error("stored tariff {code} is invalid: {reason}")]
    Corrupt { code: String, reason: String },
    #[error(transparent)]
    Database(#[from] sqlx::Error),
}

impl From<PricingError> for AppError {
    fn from(error: PricingError) -> Self {
        match error {
            PricingError::Invalid(message) => AppError::Invalid(message),
            PricingError::NotFound { what, id } => AppError::not_found(what, id),
            PricingError::Duplicate(code) => AppError::Conflict(
                UserMessage::new("parking_tariff_taken").arg("code", code).field("code"),
            ),
            PricingError::Corrupt { .. } => AppError::Internal(error.into()),
            PricingError::Database(error) => AppError::Internal(error.into()),
        }
    }
}

/// Builds a [`PricingError::Invalid`] with message `code` about `field`.
fn invalid(code: &'static str, field: impl Into<String>) -> PricingError {
    PricingError::Invalid(UserMessage::new(code).field(field))
}

/// The rule of a tariff as the API shows it.
#[derive(Debug, Clone, Serialize)]
pub struct RuleView {
    pub enabled: bool,
    #[serde(flatten)]
    pub rule: PricingRule,
}
