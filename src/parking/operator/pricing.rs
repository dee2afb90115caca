//! The operator report's pricing part: each lot's occupancy utilisation (利用率) from
//! the sampled live occupancy, and the price changes announced in the period.
//!
//! Both come from [`crate::parking::live_pricing`]; this module only keeps the lots the
//! reader may see and pools their space-hours.

use std::collections::BTreeSet;

use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use serde::Serialize;

use crate::{
    db::Db,
    parking::live_pricing::{
        history::{self, LotUtilisation},
        http::PriceChangeView,
        prices,
    },
};

/// Occupancy utilisation and price changes of the lots in one report.
#[derive(Debug, Clone, Serialize)]
pub struct PricingPart {
    /// Lots with occupancy samples in the period, in lot ref order.
    pub occupancy: Vec<LotUtilisation>,
    /// Occupied space-hours of every lot above ÷ their available space-hours.
    pub pooled_utilisation: Option<f64>,
    /// Changes announced in the period, oldest first, instants in the report's zone.
    pub price_changes: Vec<PriceChangeView>,
}

/// Builds the pricing part over `[from, to)` for the lots named in `lot_refs`.
///
/// # Errors
/// A database failure.
pub async fn build(
    db: &Db,
    zone: Tz,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    lot_refs: &BTreeSet<String>,
) -> Result<PricingPart, sqlx::Error> {
    let occupancy: Vec<LotUtilisation> = history::utilisation(db, from, to)
        .await?
        .into_iter()
        .filter(|lot| lot_refs.contains(&lot.lot_ref))
        .collect();
    let occupied: f64 = occupancy.iter().map(|lot| lot.occupied_space_hours).sum();
    let available: f64 = occupancy.iter().map(|lot| lot.available_space_hours).sum();
    let pooled_utilisation = (available > 0.0).then(|| occupied / available);
    let price_changes = prices::recent_changes(db, from, to)
        .await?
        .into_iter()
        .filter(|change| lot_refs.contains(&change.lot_ref))
        .map(|change| PriceChangeView::new(change, zone))
        .collect();
    Ok(PricingPart { occupancy, pooled_utilisation, price_changes })
}
