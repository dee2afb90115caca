//! Rules on device readings: their types, conditions and scope.

use serde::{Deserialize, Serialize};

use crate::sensors::{Attribute, DeviceKind};

/// The kinds of rule, as stored in `sensor_rule.rule_type`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RuleType {
    Threshold,
    RateOfChange,
    NoData,
    NoChange,
    Count,
}

impl RuleType {
    pub const ALL: [RuleType; 5] = [
        RuleType::Threshold,
        RuleType::RateOfChange,
        RuleType::NoData,
        RuleType::NoChange,
        RuleType::Count,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            RuleType::Threshold => "threshold",
            RuleType::RateOfChange => "rate_of_change",
            RuleType::NoData => "no_data",
            RuleType::NoChange => "no_change",
            RuleType::Count => "count",
        }
    }

    pub fn parse(text: &str) -> Option<RuleType> {
        RuleType::ALL.into_iter().find(|kind| kind.as_str() == text)
    }

    /// Reports whether the worker evaluates this rule on the clock, because the
    /// condition can start to hold while no reading arrives.
    pub fn is_time_based(self) -> bool {
        matches!(self, RuleType::NoData | RuleType::NoChange)
    }
}

/// The side of the level on which a condition holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Direction {
    Above,
    Below,
}

impl Direction {
    pub fn as_str(self) -> &'static str {
        match self {
            Direction::Above => "above",
            Direction::Below => "below",
        }
    }

    pub fn parse(text: &str) -> Option<Direction> {
        match text {
            "above" => Some(Direction::Above),
            "below" => Some(Direction::Below),
            _ => None,
        }
    }

    /// Reports whether `value` lies strictly past `level` on this side.
    pub fn is_past(self, value: f64, level: f64) -> bool {
        match self {
            Direction::Above => value > level,
            Direction::Below => value < level,
        }
    }
}

/// A level with hysteresis: the condition raises once the signal has stayed past
/// `level` for `min_duration_ms`, and an open alarm clears only once the signal is past
/// `clear_level` on the other side.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Band {
    pub direction: Direction,
    pub level: f64,
    pub clear_level: f64,
    pub min_duration_ms: i64,
}

impl Band {
    pub fn is_raised_by(&self, signal: f64) -> bool {
        self.direction.is_past(signal, self.level)
    }

    /// Reports whether `signal` is past the clear level, away from the raising side.
    pub fn is_cleared_by(&self, signal: f64) -> bool {
        match self.direction {
            Direction::Above => signal < self.clear_level,
            Direction::Below => signal > self.clear_level,
        }
    }
}

/// The condition a rule watches for.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Condition {
    /// The value itself passes the band's level.
    Threshold(Band),
    /// The change per minute between two consecutive readings passes the band's level.
    RateOfChange(Band),
    /// No reading is measured for `duration_ms`.
    NoData { duration_ms: i64 },
    /// The value stays the same for `duration_ms` of measurement time.
    NoChange { duration_ms: i64 },
    /// At least `count_limit` readings past `level` are measured within `window_ms`.
    Count { direction: Direction, level: f64, count_limit: i64, window_ms: i64 },
}

impl Condition {
    pub fn rule_type(&self) -> RuleType {
        match self {
            Condition::Threshold(_) => RuleType::Threshold,
            Condition::RateOfChange(_) => RuleType::RateOfChange,
            Condition::NoData { .. } => RuleType::NoData,
            Condition::NoChange { .. } => RuleType::NoChange,
            Condition::Count { .. } => RuleType::Count,
        }
    }
}

/// The devices a rule applies to.
#[derive(Debug, Clone, PartialEq)]
pub enum Scope {
    /// Every device of one kind, including those registered later.
    Kind(DeviceKind),
    /// One device.
    Device { device_id: i64, external_id: String, kind: DeviceKind },
}

impl Scope {
    pub fn kind(&self) -> DeviceKind {
        match self {
            Scope::Kind(kind) | Scope::Device { kind, .. } => *kind,
        }
    }
}

/// A stored rule.
#[derive(Debug, Clone, PartialEq)]
pub struct Rule {
    pub rule_id: i64,
    pub name: String,
    pub scope: Scope,
    pub attribute: Attribute,
    pub condition: Condition,
    /// Category of the cases its alarms open; checked against the catalogue when saved.
    pub category_code: String,
    pub enabled: bool,
    pub created_at_ms: i64,
    pub updated_at_ms: i64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn band_clears_only_past_clear_level() {
        let band = Band {
            direction: Direction::Above,
            level: 30.0,
            clear_level: 20.0,
            min_duration_ms: 0,
        };
        assert!(band.is_raised_by(30.5));
        assert!(!band.is_raised_by(30.0), "the level itself does not raise");
        assert!(!band.is_cleared_by(25.0), "between the levels nothing changes");
        assert!(band.is_cleared_by(19.9));
    }
}
