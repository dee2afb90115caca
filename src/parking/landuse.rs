//! Shared-parking demand of a planned land-use mix (the Urban Land Institute method).
//!
//! Demand of a use at month `m` and hour `h` = base ratio × size × monthly factor(m) ×
//! hour factor(h). The design demand of the mix is the peak over all (m, h) of the summed
//! demand. Without sharing each use would need its own peak, so the saving is the sum of
//! those peaks minus the design demand. Only weekday profiles are modelled.
//!
//! NOTE: the ratios and factors below are illustrative defaults written for this tool,
//! not published figures; an operator should replace them with local survey data.

use serde::Serialize;

use super::ParkingError;

/// A land use with its default demand profile.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum LandUse {
    /// Size in m² of gross floor area.
    Office,
    /// Size in dwellings.
    Residential,
    /// Size in m² of gross floor area.
    Retail,
    /// Size in m² of gross floor area.
    Restaurant,
}

#[rustfmt::skip]
const OFFICE_HOURS: [f64; 24] = [0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.03, 0.3, 0.75, 0.95, 1.0, 1.0,
    0.9, 0.9, 1.0, 0.95, 0.85, 0.55, 0.25, 0.1, 0.07, 0.04, 0.02, 0.01];
#[rustfmt::skip]
const RESIDENTIAL_HOURS: [f64; 24] = [1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 0.95, 0.85, 0.7, 0.6, 0.55,
    0.55, 0.55, 0.55, 0.55, 0.6, 0.65, 0.75, 0.85, 0.9, 0.95, 0.97, 0.99, 1.0];
#[rustfmt::skip]
const RETAIL_HOURS: [f64; 24] = [0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.05, 0.15, 0.35, 0.6, 0.8,
    0.9, 0.95, 1.0, 0.95, 0.85, 0.75, 0.75, 0.7, 0.6, 0.4, 0.15, 0.05];
#[rustfmt::skip]
const RESTAURANT_HOURS: [f64; 24] = [0.05, 0.0, 0.0, 0.0, 0.0, 0.0, 0.05, 0.1, 0.15, 0.2, 0.3,
    0.7, 1.0, 0.8, 0.45, 0.4, 0.5, 0.75, 1.0, 1.0, 0.85, 0.6, 0.35, 0.15];
/// Office demand dips in February (Spring Festival) and August (summer leave).
const OFFICE_MONTHS: [f64; 12] = [1.0, 0.85, 1.0, 1.0, 1.0, 1.0, 1.0, 0.95, 1.0, 1.0, 1.0, 1.0];
const FLAT_MONTHS: [f64; 12] = [1.0; 12];
const RETAIL_MONTHS: [f64; 12] = [0.9, 0.95, 0.85, 0.85, 0.9, 0.9, 0.9, 0.9, 0.9, 1.0, 0.95, 1.0];
const RESTAURANT_MONTHS: [f64; 12] =
    [0.95, 1.0, 0.9, 0.9, 0.95, 0.95, 1.0, 1.0, 0.95, 1.0, 0.9, 0.95];

impl LandUse {
    pub const ALL: [LandUse; 4] =
        [LandUse::Office, LandUse::Residential, LandUse::Retail, LandUse::Restaurant];

    /// Returns the name used in `--mix`.
    pub fn name(self) -> &'static str {
        match self {
            LandUse::Office => "office",
            LandUse::Residential => "residential",
            LandUse::Retail => "retail",
            LandUse::Restaurant => "restaurant",
        }
    }

    /// Peak spaces per size unit: per 100 m² of floor area, or per dwelling.
    pub fn base_ratio(self) -> f64 {
        match self {
            LandUse::Office => 0.8,
            LandUse::Residential => 1.0,
            LandUse::Retail => 0.6,
            LandUse::Restaurant => 2.0,
        }
    }

    /// Size units that one base ratio refers to (100 m², or 1 dwelling).
    fn units_per_ratio(self) -> f64 {
        if self == LandUse::Residential { 1.0 } else { 100.0 }
    }

    fn hour_factors(self) -> &'static [f64; 24] {
        match self {
            LandUse::Office => &OFFICE_HOURS,
            LandUse::Residential => &RESIDENTIAL_HOURS,
            LandUse::Retail => &RETAIL_HOURS,
            LandUse::Restaurant => &RESTAURANT_HOURS,
        }
    }

    fn month_factors(self) -> &'static [f64; 12] {
        match self {
            LandUse::Office => &OFFICE_MONTHS,
            LandUse::Residential => &FLAT_MONTHS,
            LandUse::Retail => &RETAIL_MONTHS,
            LandUse::Restaurant => &RESTAURANT_MONTHS,
        }
    }

    /// Demand in spaces of `size` units in month `month0` (0 = January) at `hour`.
    pub fn demand(self, size: f64, month0: usize, hour: usize) -> f64 {
        self.base_ratio() * size / self.units_per_ratio()
            * self.month_factors()[month0]
            * self.hour_factors()[hour]
    }
}

/// One use of the mix with its own peak demand.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct UseDemand {
    pub land_use: LandUse,
    pub size: f64,
    pub base_ratio: f64,
    pub peak_spaces: f64,
}

/// The design demand of a mix with and without sharing.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MixDemand {
    pub uses: Vec<UseDemand>,
    pub sum_of_peaks: f64,
    /// Peak of the hourly summed demand over all months and hours.
    pub design_demand: f64,
    /// Month (1–12) and hour (0–23) of the design demand.
    pub design_month: usize,
    pub design_hour: usize,
    /// Summed demand by hour in the design month.
    pub design_month_hours: Vec<f64>,
    pub saving_spaces: f64,
    pub saving_percent: f64,
}

/// Parses `office=20000,residential=300`; sizes must be positive and uses distinct.
///
/// # Errors
/// Names the first invalid entry and the accepted uses.
pub fn parse_mix(text: &str) -> Result<Vec<(LandUse, f64)>, ParkingError> {
    let invalid = |entry: &str, reason: &str| {
        ParkingError::InvalidOption(format!(
            "--mix entry \"{entry}\" is invalid: {reason}; use USE=SIZE with USE one of \
             office, retail, restaurant (m² of floor area) or residential (dwellings)"
        ))
    };
    let mut mix: Vec<(LandUse, f64)> = Vec::new();
    for entry in text.split(',').map(str::trim).filter(|e| !e.is_empty()) {
        let (name, size) = entry.split_once('=').ok_or_else(|| invalid(entry, "no ="))?;
        let land_use = LandUse::ALL
            .into_iter()
            .find(|u| u.name().eq_ignore_ascii_case(name.trim()))
            .ok_or_else(|| invalid(entry, "unknown use"))?;
        let size: f64 = size.trim().parse().map_err(|_| invalid(entry, "size is not a number"))?;
        if !(size.is_finite() && size > 0.0) {
            return Err(invalid(entry, "size must be positive"));
        }
        if mix.iter().any(|(u, _)| *u == land_use) {
            return Err(invalid(entry, "use given twice"));
        }
        mix.push((land_use, size));
    }
    if mix.is_empty() {
        return Err(invalid(text, "no use given"));
    }
    Ok(mix)
}

/// Computes each use's peak, the shared design demand and the saving.
pub fn mix_demand(mix: &[(LandUse, f64)]) -> MixDemand {
    let total = |month: usize, hour: usize| -> f64 {
        mix.iter().map(|(land_use, size)| land_use.demand(*size, month, hour)).sum()
    };
    let (mut design_demand, mut design_month, mut design_hour) = (0.0, 0, 0);
    for month in 0..12 {
        for hour in 0..24 {
            let demand = total(month, hour);
            if demand > design_demand {
                (design_demand, design_month, design_hour) = (demand, month, hour);
            }
        }
    }
    let uses: Vec<UseDemand> = mix
        .iter()
        .map(|&(land_use, size)| UseDemand {
            land_use,
            size,
            base_ratio: land_use.base_ratio(),
            peak_spaces: (0..12)
                .flat_map(|m| (0..24).map(move |h| land_use.demand(size, m, h)))
                .fold(0.0, f64::max),
        })
        .collect();
    let sum_of_peaks: f64 = uses.iter().map(|u| u.peak_spaces).sum();
    let saving_spaces = sum_of_peaks - design_demand;
    MixDemand {
        uses,
        sum_of_peaks,
        design_demand,
        design_month: design_month + 1,
        design_hour,
        design_month_hours: (0..24).map(|hour| total(design_month, hour)).collect(),
        saving_spaces,
        saving_percent: if sum_of_peaks > 0.0 { saving_spaces / sum_of_peaks * 100.0 } else { 0.0 },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_mix_reads_uses_and_sizes() {
        let mix = parse_mix("office=20000, residential=300,retail=5000").unwrap();
        assert_eq!(
            mix,
            [(LandUse::Office, 20000.0), (LandUse::Residential, 300.0), (LandUse::Retail, 5000.0)]
        );
    }

    #[test]
    fn parse_mix_rejects_bad_entries() {
        for (text, reason) in [
            ("office", "no ="),
            ("garage=10", "unknown use"),
            ("office=-1", "size must be positive"),
            ("office=1,office=2", "use given twice"),
            ("", "no use given"),
        ] {
            let error = parse_mix(text).unwrap_err().to_string();
            assert!(error.contains(reason), "{text:?}: {error}");
        }
    }

    #[test]
    fn single_use_saves_nothing() {
        let demand = mix_demand(&[(LandUse::Office, 10_000.0)]);
        assert!((demand.design_demand - 80.0).abs() < 1e-9, "0.8 per 100 m² at full factors");
        assert!(demand.saving_spaces.abs() < 1e-9);
    }

    #[test]
    fn office_and_homes_share_below_sum_of_peaks() {
        let demand = mix_demand(&[(LandUse::Office, 10_000.0), (LandUse::Residential, 60.0)]);
        assert!((demand.sum_of_peaks - 140.0).abs() < 1e-9);
        // Office peaks at 10:00 (80) when homes are at 0.55 (33): 113 spaces.
        assert!((demand.design_demand - 113.0).abs() < 1e-9, "{}", demand.design_demand);
        assert_eq!((demand.design_month, demand.design_hour), (1, 10));
        assert!((demand.saving_spaces - 27.0).abs() < 1e-9);
    }
}
