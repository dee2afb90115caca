//! The demand-responsive pricing rule that moves each band's price toward a target
//! occupancy band.
//!
//! The default follows the rule SFpark published for San Francisco: mean occupancy at
//! or above 80% raises the band's price by one fixed step, below 60% lowers it by one
//! step, anything in between keeps it. [`PricingRule::decide`] keeps prices within a
//! minimum and a maximum. The simulation evaluates each band once per period and applies
//! a new price some days after announcing it.

use serde::Serialize;

use super::ParkingError;

/// Parameters of the rule; prices are in fen per hour.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct PricingRule {
    /// Mean occupied fraction at or above which the price rises.
    pub raise_at: f64,
    /// Mean occupied fraction below which the price falls.
    pub lower_below: f64,
    pub step_fen: u32,
    pub min_fen: u32,
    pub max_fen: u32,
    /// Days between two evaluations, so also the shortest time between two changes.
    pub period_days: u32,
    /// Days between announcing a new price and charging it.
    pub notice_days: u32,
}

impl Default for PricingRule {
    /// SFpark's thresholds with yuan-sized prices: 0.5 yuan steps between 0.5 and 15
    /// yuan per hour, evaluated every 28 days and announced 7 days ahead.
    fn default() -> Self {
        Self {
            raise_at: 0.8,
            lower_below: 0.6,
            step_fen: 50,
            min_fen: 50,
            max_fen: 1500,
            period_days: 28,
            notice_days: 7,
        }
    }
}

/// Outcome of one evaluation of a band's price.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Decision {
    Raise,
    Lower,
    Hold,
}

impl PricingRule {
    /// # Errors
    /// Rejects thresholds outside 0–1 or out of order, a zero step or period, a notice not
    /// shorter than the period, and bounds that do not contain `start_fen`.
    pub fn validate(&self, start_fen: u32) -> Result<(), ParkingError> {
        let invalid = |what: String| Err(ParkingError::InvalidOption(what));
        if !(0.0 < self.lower_below && self.lower_below < self.raise_at && self.raise_at <= 1.0) {
            return invalid(format!(
                "target band {}–{} is invalid; use 0 < --lower-below < --raise-at <= 1",
                self.lower_below, self.raise_at
            ));
        }
        if self.step_fen == 0 || self.period_days == 0 {
            return invalid("--price-step and --period-days must be positive".to_owned());
        }
        // A notice as long as the period would let the next evaluation start from a price
        // that is announced but not yet charged.
        if self.notice_days >= self.period_days {
            return invalid(format!(
                "--notice-days {} must be shorter than --period-days {}",
                self.notice_days, self.period_days
            ));
        }
        if !(self.min_fen <= start_fen && start_fen <= self.max_fen) {
            return invalid(format!(
                "start price {start_fen} fen/h is outside the bounds {}–{} fen/h; \
                 change --start-price, --min-price or --max-price",
                self.min_fen, self.max_fen
            ));
        }
        Ok(())
    }

    /// Checks whether `occupancy` lies in the target band `[lower_below, raise_at)`.
    pub fn in_target(&self, occupancy: f64) -> bool {
        (self.lower_below..self.raise_at).contains(&occupancy)
    }

    /// Decides a band's next price from its mean occupied fraction `occupancy`.
    ///
    /// A raise at the maximum or a cut at the minimum leaves the price unchanged but is
    /// still reported as that decision.
    pub fn decide(&self, price_fen: u32, occupancy: f64) -> (Decision, u32) {
        if occupancy >= self.raise_at {
            (Decision::Raise, price_fen.saturating_add(self.step_fen).min(self.max_fen))
        } else if occupancy < self.lower_below {
            (Decision::Lower, price_fen.saturating_sub(self.step_fen).max(self.min_fen))
        } else {
            (Decision::Hold, price_fen)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rule_raises_at_80_and_lowers_below_60() {
        let rule = PricingRule::default();
        for (occupancy, expected, description) in [
            (0.80, (Decision::Raise, 250), "80% is the raise threshold"),
            (0.95, (Decision::Raise, 250), "above the band"),
            (0.79, (Decision::Hold, 200), "just inside the band"),
            (0.60, (Decision::Hold, 200), "60% is inside the band"),
            (0.59, (Decision::Lower, 150), "below the band"),
        ] {
            assert_eq!(rule.decide(200, occupancy), expected, "{description}");
        }
    }

    #[test]
    fn rule_keeps_prices_within_bounds() {
        let rule = PricingRule::default();
        assert_eq!(rule.decide(1500, 0.99), (Decision::Raise, 1500));
        assert_eq!(rule.decide(50, 0.1), (Decision::Lower, 50));
        assert_eq!(
            rule.decide(1480, 0.9),
            (Decision::Raise, 1500),
            "a partial step stops at the max"
        );
    }

    #[test]
    fn target_band_is_half_open() {
        let rule = PricingRule::default();
        assert!(rule.in_target(0.6));
        assert!(!rule.in_target(0.8));
    }

    #[test]
    fn validate_rejects_inverted_thresholds_and_start_outside_bounds() {
        let inverted = PricingRule { raise_at: 0.5, ..PricingRule::default() };
        assert!(inverted.validate(200).is_err());
        let error = PricingRule::default().validate(2000).unwrap_err().to_string();
        assert!(error.contains("--start-price"), "{error}");
        let late = PricingRule { notice_days: 28, ..PricingRule::default() };
        assert!(late.validate(200).unwrap_err().to_string().contains("--notice-days"));
        assert!(PricingRule::default().validate(200).is_ok());
    }
}
