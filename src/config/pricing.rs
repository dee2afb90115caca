//! Settings of live demand-responsive pricing (`[pricing]`).

use serde::{Deserialize, Serialize};

/// Sampling interval of the pricing worker and the samples the rule needs to act on a band.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct PricingSettings {
    /// Minutes between two occupancy samples of a lot; each sample stands for this long.
    pub sample_minutes: i64,
    /// A lot counter or manual count older than this is not sampled, in minutes, so that
    /// a silent counter does not repeat its last value into the history. Space sensors
    /// are sampled whatever their age, as their last status stays valid until it changes.
    pub max_data_age_minutes: i64,
    /// Minimum number of samples of a band in one period for the rule to act. With fewer
    /// the price stays and the review is logged. At 15-minute samples, one hour of 20
    /// weekdays gives 80 samples.
    pub min_samples: i64,
}

impl Default for PricingSettings {
    fn default() -> Self {
        Self { sample_minutes: 15, max_data_age_minutes: 60, min_samples: 20 }
    }
}

impl PricingSettings {
    /// Checks the values that parse but cannot work.
    ///
    /// # Errors
    /// The key and the reason of the first invalid value.
    pub fn validate(&self) -> Result<(), (&'static str, &'static str)> {
        if !(1..=1440).contains(&self.sample_minutes) {
            return Err(("pricing.sample_minutes", "must be between 1 and 1440 minutes"));
        }
        if self.max_data_age_minutes < 1 {
            return Err(("pricing.max_data_age_minutes", "must be at least 1 minute"));
        }
        if self.min_samples < 1 {
            return Err(("pricing.min_samples", "must be at least 1"));
        }
        Ok(())
    }
}
