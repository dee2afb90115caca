//! Rule input as it arrives from the API or a console form, and its validation into
//! the parts of a [`super::rule::Rule`], each error naming its field.

use serde::Deserialize;

use super::rule::{Band, Condition, Direction, RuleType};
use crate::{
    http::UserMessage,
    sensors::{Attribute, DeviceKind},
};

/// Maximum rule name length, in characters: a one-line label in the console.
pub const MAX_NAME_CHARS: usize = 100;
/// Maximum duration or window of a rule, in seconds: 30 days. Readings older than
/// the ingest window (60 days by default) are rejected anyway, and a month is beyond
/// any alarm a street office watches for.
pub const MAX_DURATION_SECONDS: i64 = 30 * 86_400;
/// Largest count a count rule may require within its window.
pub const MAX_COUNT_LIMIT: i64 = 1_000_000;

/// A rule as it arrives in a JSON body or a console form. Every field is optional here,
/// so that a missing one gets an error naming it rather than a bare parse error.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct RuleInput {
    pub name: Option<String>,
    /// External id of the one device the rule watches; give this or `kind`.
    pub device: Option<String>,
    /// Device kind whose every device the rule watches; give this or `device`.
    pub kind: Option<String>,
    /// Attribute name, such as `temperature`.
    pub attribute: Option<String>,
    #[serde(rename = "type")]
    pub rule_type: Option<String>,
    pub direction: Option<String>,
    pub level: Option<f64>,
    pub clear_level: Option<f64>,
    pub min_duration_seconds: Option<i64>,
    pub duration_seconds: Option<i64>,
    pub count_limit: Option<i64>,
    pub category_code: Option<String>,
    /// `true` when absent.
    pub enabled: Option<bool>,
}

/// Collects the validation errors of one input, each naming its field.
#[derive(Debug, Default)]
pub struct Problems(pub Vec<UserMessage>);

impl Problems {
    pub fn push(&mut self, message: UserMessage) {
        self.0.push(message);
    }
}

/// Parses the name: trimmed, not empty, at most [`MAX_NAME_CHARS`] characters.
pub fn parse_name(input: &RuleInput, problems: &mut Problems) -> String {
    let name = input.name.as_deref().map(str::trim).unwrap_or_default();
    if name.is_empty() || name.chars().count() > MAX_NAME_CHARS {
        problems.push(
            UserMessage::new("sensor_rule_name_invalid").field("name").arg("max", MAX_NAME_CHARS),
        );
    }
    name.to_owned()
}

/// Parses the attribute and checks that devices of `kind` report it.
pub fn parse_attribute(
    input: &RuleInput,
    kind: DeviceKind,
    problems: &mut Problems,
) -> Option<Attribute> {
    let text = input.attribute.as_deref().map(str::trim).unwrap_or_default();
    let attribute = Attribute::parse(text).filter(|a| kind.attributes().contains(a));
    if attribute.is_none() {
        let allowed: Vec<&str> = kind.attributes().iter().map(|a| a.name()).collect();
        problems.push(
            UserMessage::new("sensor_rule_attribute_invalid")
                .field("attribute")
                .arg("value", text)
                .arg("kind", kind.as_str())
                .arg("allowed", allowed.join(", ")),
        );
    }
    attribute
}

/// Parses the type and the fields that type needs into a [`Condition`].
pub fn parse_condition(input: &RuleInput, problems: &mut Problems) -> Option<Condition> {
    let text = input.rule_type.as_deref().map(str::trim).unwrap_or_default();
    let Some(rule_type) = RuleType::parse(text) else {
        let allowed: Vec<&str> = RuleType::ALL.iter().map(|t| t.as_str()).collect();
        problems.push(
            UserMessage::new("sensor_rule_type_invalid")
                .field("type")
                .arg("value", text)
                .arg("allowed", allowed.join(", ")),
        );
        return None;
    };
    match rule_type {
        RuleType::Threshold => parse_band(input, problems).map(Condition::Threshold),
        RuleType::RateOfChange => parse_band(input, problems).map(Condition::RateOfChange),
        RuleType::NoData => {
            let duration_ms = parse_seconds(input.duration_seconds, "duration_seconds", problems)?;
            Some(Condition::NoData { duration_ms })
        }
        RuleType::NoChange => {
            let duration_ms = parse_seconds(input.duration_seconds, "duration_seconds", problems)?;
            Some(Condition::NoChange { duration_ms })
        }
        RuleType::Count => parse_count(input, problems),
    }
}

fn parse_direction(input: &RuleInput, problems: &mut Problems) -> Option<Direction> {
    let text = input.direction.as_deref().map(str::trim).unwrap_or_default();
    let direction = Direction::parse(text);
    if direction.is_none() {
        problems.push(
            UserMessage::new("sensor_rule_direction_invalid").field("direction").arg("value", text),
        );
    }
    direction
}

fn parse_level(value: Option<f64>, field: &str, problems: &mut Problems) -> Option<f64> {
    match value {
        Some(level) if level.is_finite() => Some(level),
        _ => {
            problems.push(UserMessage::new("sensor_rule_level_missing").field(field));
            None
        }
    }
}

/// Parses a duration of 1 s to [`MAX_DURATION_SECONDS`] into milliseconds.
fn parse_seconds(value: Option<i64>, field: &str, problems: &mut Problems) -> Option<i64> {
    match value {
        Some(seconds) if (1..=MAX_DURATION_SECONDS).contains(&seconds) => Some(seconds * 1000),
        _ => {
            problems.push(
                UserMessage::new("sensor_rule_duration_invalid")
                    .field(field)
                    .arg("min", 1)
                    .arg("max", MAX_DURATION_SECONDS),
            );
            None
        }
    }
}

fn parse_band(input: &RuleInput, problems: &mut Problems) -> Option<Band> {
    let direction = parse_direction(input, problems);
    let level = parse_level(input.level, "level", problems);
    // Without a clear level the alarm clears as soon as the signal is back at the
    // level, which is a band without hysteresis.
    let clear_level = match input.clear_level {
        None => level,
        Some(clear) if clear.is_finite() => Some(clear),
        Some(_) => parse_level(None, "clear_level", problems),
    };
    let min_duration_ms = match input.min_duration_seconds.unwrap_or(0) {
        seconds if (0..=MAX_DURATION_SECONDS).contains(&seconds) => Some(seconds * 1000),
        _ => {
            problems.push(
                UserMessage::new("sensor_rule_duration_invalid")
                    .field("min_duration_seconds")
                    .arg("min", 0)
                    .arg("max", MAX_DURATION_SECONDS),
            );
            None
        }
    };
    let (direction, level, clear_level) = (direction?, level?, clear_level?);
    let on_raising_side = match direction {
        Direction::Above => clear_level > level,
        Direction::Below => clear_level < level,
    };
    if on_raising_side {
        problems.push(
            UserMessage::new("sensor_rule_clear_level_invalid")
                .field("clear_level")
                .arg("clear_level", clear_level)
                .arg("level", level)
                .arg("direction", direction.as_str()),
        );
        return None;
    }
    Some(Band { direction, level, clear_level, min_duration_ms: min_duration_ms? })
}

fn parse_count(input: &RuleInput, problems: &mut Problems) -> Option<Condition> {
    let direction = parse_direction(input, problems);
    let level = parse_level(input.level, "level", problems);
    let window_ms = parse_seconds(input.duration_seconds, "duration_seconds", problems);
    let count_limit = match input.count_limit {
        Some(count) if (1..=MAX_COUNT_LIMIT).contains(&count) => Some(count),
        _ => {
            problems.push(
                UserMessage::new("sensor_rule_count_invalid")
                    .field("count_limit")
                    .arg("max", MAX_COUNT_LIMIT),
            );
            None
        }
    };
    Some(Condition::Count {
        direction: direction?,
        level: level?,
        count_limit: count_limit?,
        window_ms: window_ms?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn threshold(direction: &str, level: f64, clear_level: Option<f64>) -> RuleInput {
        RuleInput {
            rule_type: Some("threshold".to_owned()),
            direction: Some(direction.to_owned()),
            level: Some(level),
            clear_level,
            ..RuleInput::default()
        }
    }

    fn fields(problems: &Problems) -> Vec<&str> {
        problems.0.iter().map(|m| m.field.as_deref().unwrap_or_default()).collect()
    }

    #[test]
    fn threshold_without_clear_level_clears_at_its_level() {
        let mut problems = Problems::default();
        let condition = parse_condition(&threshold("above", 30.0, None), &mut problems);
        let band = Band {
            direction: Direction::Above,
            level: 30.0,
            clear_level: 30.0,
            min_duration_ms: 0,
        };
        assert_eq!(condition, Some(Condition::Threshold(band)));
        assert!(problems.0.is_empty());
    }

    #[test]
    fn clear_level_on_raising_side_is_rejected() {
        let cases = [("above", 30.0, 35.0), ("below", 5.0, 2.0)];
        for (direction, level, clear) in cases {
            let mut problems = Problems::default();
            let input = threshold(direction, level, Some(clear));
            assert_eq!(parse_condition(&input, &mut problems), None, "{direction} {clear}");
            assert_eq!(fields(&problems), ["clear_level"], "{direction} {clear}");
        }
    }

    #[test]
    fn count_rule_names_each_missing_field() {
        let mut problems = Problems::default();
        let input = RuleInput { rule_type: Some("count".to_owned()), ..RuleInput::default() };
        assert_eq!(parse_condition(&input, &mut problems), None);
        assert_eq!(fields(&problems), ["direction", "level", "duration_seconds", "count_limit"]);
    }
}
