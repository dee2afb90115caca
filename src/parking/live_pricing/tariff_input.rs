//! Validation of a tariff as sent to the API or the console form.

use serde::Deserialize;

use super::{PricingError, StoredTariff, invalid};
use crate::{
    http::UserMessage,
    parking::{
        pricing::PricingRule,
        tariff::{Band, DayType, MINUTES_PER_DAY, Tariff, TariffError},
    },
};

/// Maximum length of a tariff code, the key that lots and imports refer to, in characters.
const MAX_CODE_CHARS: usize = 32;
/// Maximum length of a tariff name, in characters.
const MAX_NAME_CHARS: usize = 100;

/// A tariff as sent to the API or built from the console form.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct TariffInput {
    /// Letters, digits, `-` and `_`; the path gives it on `PUT`.
    pub code: Option<String>,
    pub name: Option<String>,
    pub bands: Option<Vec<BandInput>>,
    /// Missing fields take the SFpark defaults of [`PricingRule::default`].
    pub rule: Option<RuleInput>,
}

/// One band as sent; minutes count from local midnight.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct BandInput {
    /// `weekday`, `weekend` or `holiday`.
    pub day_type: Option<String>,
    pub start_minute: Option<i64>,
    pub end_minute: Option<i64>,
    pub rate_fen_per_hour: Option<i64>,
}

/// The demand-responsive rule as sent; every field is optional.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct RuleInput {
    pub enabled: Option<bool>,
    pub raise_at: Option<f64>,
    pub lower_below: Option<f64>,
    pub step_fen: Option<u32>,
    pub min_fen: Option<u32>,
    pub max_fen: Option<u32>,
    pub period_days: Option<u32>,
    pub notice_days: Option<u32>,
}

impl TariffInput {
    /// Validates the tariff: code and name, each band, the coverage of every day type,
    /// and the rule with every base rate inside its bounds.
    ///
    /// # Errors
    /// [`PricingError::Invalid`] naming the first field to fix, such as
    /// `bands[2].end_minute`, `bands` for a gap or overlap, or `rule.notice_days`.
    pub fn parse(self) -> Result<StoredTariff, PricingError> {
        let code = self.code.unwrap_or_default().trim().to_owned();
        let code_ok = !code.is_empty()
            && code.chars().count() <= MAX_CODE_CHARS
            && code.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
        if !code_ok {
            return Err(invalid("parking_tariff_code", "code"));
        }
        let name = self.name.unwrap_or_default().trim().to_owned();
        if name.is_empty() || name.chars().count() > MAX_NAME_CHARS {
            return Err(PricingError::Invalid(
                UserMessage::new("parking_tariff_name").arg("max", MAX_NAME_CHARS).field("name"),
            ));
        }
        let bands = self
            .bands
            .unwrap_or_default()
            .into_iter()
            .enumerate()
            .map(|(index, band)| band.parse(index))
            .collect::<Result<Vec<_>, _>>()?;
        let tariff = Tariff::new(bands).map_err(coverage_error)?;
        let (rule_enabled, rule) = self.rule.unwrap_or_default().parse()?;
        if rule_enabled {
            check_rates_in_bounds(&tariff, &rule)?;
        }
        Ok(StoredTariff { code, name, tariff, rule_enabled, rule })
    }
}

impl BandInput {
    fn parse(self, index: usize) -> Result<Band, PricingError> {
        let field = |name: &str| format!("bands[{index}].{name}");
        let day_type = self
            .day_type
            .as_deref()
            .and_then(DayType::parse)
            .ok_or_else(|| invalid("parking_band_day_type", field("day_type")))?;
        let minute = |value: Option<i64>, name: &str, range: std::ops::RangeInclusive<i64>| {
            value
                .filter(|minute| range.contains(minute))
                .map(|minute| minute as u16)
                .ok_or_else(|| invalid("parking_band_minute", field(name)))
        };
        let start_minute = minute(self.start_minute, "start_minute", 0..=1439)?;
        let end_minute = minute(self.end_minute, "end_minute", 1..=i64::from(MINUTES_PER_DAY))?;
        if end_minute <= start_minute {
            return Err(invalid("parking_band_minute", field("end_minute")));
        }
        let rate_fen_per_hour = self
            .rate_fen_per_hour
            .and_then(|rate| u32::try_from(rate).ok())
            .ok_or_else(|| invalid("parking_band_rate", field("rate_fen_per_hour")))?;
        Ok(Band { day_type, start_minute, end_minute, rate_fen_per_hour })
    }
}

impl RuleInput {
    fn parse(self) -> Result<(bool, PricingRule), PricingError> {
        let defaults = PricingRule::default();
        let rule = PricingRule {
            raise_at: self.raise_at.unwrap_or(defaults.raise_at),
            lower_below: self.lower_below.unwrap_or(defaults.lower_below),
            step_fen: self.step_fen.unwrap_or(defaults.step_fen),
            min_fen: self.min_fen.unwrap_or(defaults.min_fen),
            max_fen: self.max_fen.unwrap_or(defaults.max_fen),
            period_days: self.period_days.unwrap_or(defaults.period_days),
            notice_days: self.notice_days.unwrap_or(defaults.notice_days),
        };
        if !(0.0 < rule.lower_below && rule.lower_below < rule.raise_at && rule.raise_at <= 1.0) {
            return Err(invalid("parking_rule_thresholds", "rule.raise_at"));
        }
        if rule.step_fen == 0 {
            return Err(invalid("parking_rule_positive", "rule.step_fen"));
        }
        if rule.period_days == 0 || rule.period_days > 366 {
            return Err(invalid("parking_rule_period", "rule.period_days"));
        }
        // A notice as long as the period would start the next review from a price that
        // is announced but not yet charged.
        if rule.notice_days >= rule.period_days {
            return Err(invalid("parking_rule_notice", "rule.notice_days"));
        }
        if rule.min_fen > rule.max_fen || i32::try_from(rule.max_fen).is_err() {
            return Err(invalid("parking_rule_bounds", "rule.min_fen"));
        }
        Ok((self.enabled.unwrap_or(true), rule))
    }
}

/// Turns a coverage failure into a message naming the day type and the local time.
fn coverage_error(error: TariffError) -> PricingError {
    match error {
        TariffError::Coverage { day_type, minute } => PricingError::Invalid(
            UserMessage::new("parking_tariff_coverage")
                .arg("day_type", day_type.as_str())
                .arg("time", format!("{:02}:{:02}", minute / 60, minute % 60))
                .field("bands"),
        ),
        _ => invalid("parking_band_minute", "bands"),
    }
}

/// Rejects a base rate the rule could never reach, because the first review would jump
/// it into the bounds by more than one step.
pub(super) fn check_rates_in_bounds(
    tariff: &Tariff,
    rule: &PricingRule,
) -> Result<(), PricingError> {
    let outside = tariff
        .bands()
        .iter()
        .position(|band| !(rule.min_fen..=rule.max_fen).contains(&band.rate_fen_per_hour));
    match outside {
        Some(index) => Err(PricingError::Invalid(
            UserMessage::new("parking_band_rate_outside_bounds")
                .arg("min", rule.min_fen)
                .arg("max", rule.max_fen)
                .field(format!("bands[{index}].rate_fen_per_hour")),
        )),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn whole_day(day_type: &str, rate: i64) -> BandInput {
        BandInput {
            day_type: Some(day_type.to_owned()),
            start_minute: Some(0),
            end_minute: Some(1440),
            rate_fen_per_hour: Some(rate),
        }
    }

    fn input(bands: Vec<BandInput>, rule: Option<RuleInput>) -> TariffInput {
        TariffInput {
            code: Some("flat".into()),
            name: Some("Flat".into()),
            bands: Some(bands),
            rule,
        }
    }

    fn field_of(result: Result<StoredTariff, PricingError>) -> Option<String> {
        match result {
            Err(PricingError::Invalid(message)) => message.field,
            _ => None,
        }
    }

    #[test]
    fn missing_rule_takes_sfpark_defaults() {
        let bands =
            vec![whole_day("weekday", 300), whole_day("weekend", 300), whole_day("holiday", 300)];
        let tariff = input(bands, None).parse().unwrap();
        assert!(tariff.rule_enabled);
        assert_eq!(tariff.rule, PricingRule::default());
    }

    #[test]
    fn missing_day_type_is_a_coverage_error_on_bands() {
        let bands = vec![whole_day("weekday", 300), whole_day("weekend", 300)];
        assert_eq!(field_of(input(bands, None).parse()).as_deref(), Some("bands"));
    }

    #[test]
    fn notice_as_long_as_period_is_rejected() {
        let bands =
            vec![whole_day("weekday", 300), whole_day("weekend", 300), whole_day("holiday", 300)];
        let rule = RuleInput { period_days: Some(7), notice_days: Some(7), ..RuleInput::default() };
        assert_eq!(field_of(input(bands, Some(rule)).parse()).as_deref(), Some("rule.notice_days"));
    }

    #[test]
    fn rate_outside_bounds_is_allowed_with_rule_off() {
        let bands =
            vec![whole_day("weekday", 5000), whole_day("weekend", 300), whole_day("holiday", 300)];
        let on = input(bands.clone(), None).parse();
        assert_eq!(field_of(on).as_deref(), Some("bands[0].rate_fen_per_hour"));
        let off = RuleInput { enabled: Some(false), ..RuleInput::default() };
        assert!(input(bands, Some(off)).parse().is_ok());
    }
}
