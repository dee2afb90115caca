//! Parsing of submitted readings (JSON items and CSV lines) and their checks.
//!
//! Every check names its failure with a [`UserMessage`] so that one bad item is rejected
//! with its reason while the rest of the batch goes on.

use chrono::DateTime;

use super::{
    json_item::{Loose, LooseItem},
    kinds::{Attribute, RawValue, ValueError, check_value},
};
use crate::http::UserMessage;

/// A reading as submitted: the device is still an external id, the value still raw.
#[derive(Debug, Clone, PartialEq)]
pub struct Submitted {
    pub device: String,
    pub attribute: String,
    pub value: RawValue,
    /// Optional UN/CEFACT unit code; when present it must match the attribute's.
    pub unit: Option<String>,
    /// Measurement time, milliseconds since the Unix epoch.
    pub observed_at_ms: i64,
}

/// A checked reading, ready to store.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Reading {
    pub device_id: i64,
    pub attribute: Attribute,
    pub observed_at_ms: i64,
    pub value: f64,
}

/// The accepted measurement times relative to the server clock.
#[derive(Debug, Clone, Copy)]
pub struct TimeWindow {
    pub now_ms: i64,
    pub max_future_skew_ms: i64,
    pub max_past_age_ms: i64,
}

impl TimeWindow {
    /// # Errors
    /// `time_in_future` or `time_too_old` outside the window.
    pub fn check(&self, observed_at_ms: i64) -> Result<(), UserMessage> {
        if observed_at_ms > self.now_ms.saturating_add(self.max_future_skew_ms) {
            return Err(UserMessage::new("reading_time_in_future")
                .arg("seconds", self.max_future_skew_ms / 1000)
                .field("observed_at"));
        }
        if observed_at_ms < self.now_ms.saturating_sub(self.max_past_age_ms) {
            return Err(UserMessage::new("reading_time_too_old")
                .arg("days", self.max_past_age_ms / 86_400_000)
                .field("observed_at"));
        }
        Ok(())
    }
}

/// Reads one item of a JSON batch.
///
/// The time comes from exactly one of `observed_at` (RFC 3339 with an offset),
/// `observed_at_ms` or `observed_at_s`, so the unit is never guessed from the size.
///
/// # Errors
/// A message naming the missing or malformed field.
pub fn parse_loose_item(item: LooseItem<'_>) -> Result<Submitted, UserMessage> {
    if !item.object {
        return Err(UserMessage::new("reading_not_object"));
    }
    let text = |field: &Loose, name: &'static str| -> Result<String, UserMessage> {
        match field {
            Loose::Text(value) if !value.is_empty() => Ok(value.to_string()),
            _ => Err(UserMessage::new("reading_field_missing").arg("name", name).field(name)),
        }
    };
    let device = text(&item.device, "device")?;
    let attribute = text(&item.attribute, "attribute")?;
    let observed_at_ms = json_time(&item);
    let value = match item.value {
        Loose::Integer(_) | Loose::Real(_) => {
            RawValue::Number(item.value.as_f64().ok_or_else(invalid_number)?)
        }
        Loose::Text(text) => RawValue::Text(text.into_owned()),
        Loose::Bool(flag) => RawValue::Boolean(flag),
        _ => return Err(UserMessage::new("reading_field_missing").arg("name", "value")),
    };
    let unit = match item.unit {
        Loose::Absent | Loose::Null => None,
        Loose::Text(code) => Some(code.into_owned()),
        _ => return Err(UserMessage::new("reading_field_missing").arg("name", "unit")),
    };
    let observed_at_ms = observed_at_ms?;
    Ok(Submitted { device, attribute, value, unit, observed_at_ms })
}

fn invalid_number() -> UserMessage {
    UserMessage::new("reading_not_finite").field("value")
}

fn json_time(item: &LooseItem<'_>) -> Result<i64, UserMessage> {
    let fields = [
        ("observed_at", &item.observed_at),
        ("observed_at_ms", &item.observed_at_ms),
        ("observed_at_s", &item.observed_at_s),
    ];
    let present: Vec<(&str, &Loose)> =
        fields.into_iter().filter(|(_, value)| value.is_present()).collect();
    let invalid = |name: &str| UserMessage::new("reading_time_invalid").field(name);
    match present.as_slice() {
        [("observed_at", value)] => match value {
            Loose::Text(text) => parse_rfc3339_ms(text).ok_or_else(|| invalid("observed_at")),
            _ => Err(invalid("observed_at")),
        },
        [("observed_at_ms", value)] => value.as_i64().ok_or_else(|| invalid("observed_at_ms")),
        [(name, value)] => {
            let seconds = value.as_f64().ok_or_else(|| invalid(name))?;
            seconds_to_ms(seconds).ok_or_else(|| invalid(name))
        }
        [] => Err(UserMessage::new("reading_time_missing").field("observed_at")),
        _ => Err(UserMessage::new("reading_time_ambiguous").field("observed_at")),
    }
}

/// Converts seconds (fractions allowed) to whole milliseconds, rounding to the nearest.
fn seconds_to_ms(seconds: f64) -> Option<i64> {
    let ms = (seconds * 1000.0).round();
    (ms.is_finite() && ms.abs() < 1e15).then_some(ms as i64)
}

/// Parses an RFC 3339 time; a time without an offset is rejected by the parser.
fn parse_rfc3339_ms(text: &str) -> Option<i64> {
    DateTime::parse_from_rfc3339(text).ok().map(|time| time.timestamp_millis())
}

/// Reads one line of the CSV form `device,attribute,value,observed_at`.
///
/// `observed_at` is RFC 3339 with an offset, or an integer followed by `ms` or `s`
/// (`1733277600000ms`), so that the unit is explicit here too. `value` is a number,
/// `true`/`false`, or a parking status word.
///
/// # Errors
/// A message naming the malformed column.
pub fn parse_csv_record(record: &csv::StringRecord) -> Result<Submitted, UserMessage> {
    if record.len() != 4 {
        return Err(UserMessage::new("reading_csv_columns").arg("count", record.len()));
    }
    let device = record[0].trim().to_owned();
    let attribute = record[1].trim().to_owned();
    if device.is_empty() {
        return Err(UserMessage::new("reading_field_missing").arg("name", "device"));
    }
    let raw = record[2].trim();
    let value = match raw {
        "true" => RawValue::Boolean(true),
        "false" => RawValue::Boolean(false),
        _ => match raw.parse::<f64>() {
            Ok(number) => RawValue::Number(number),
            Err(_) => RawValue::Text(raw.to_owned()),
        },
    };
    let time = record[3].trim();
    let invalid = || UserMessage::new("reading_time_invalid").field("observed_at");
    let observed_at_ms = if let Some(ms) = time.strip_suffix("ms") {
        ms.parse::<i64>().map_err(|_| invalid())?
    } else if let Some(seconds) = time.strip_suffix('s') {
        seconds_to_ms(seconds.parse::<f64>().map_err(|_| invalid())?).ok_or_else(invalid)?
    } else {
        parse_rfc3339_ms(time).ok_or_else(invalid)?
    };
    Ok(Submitted { device, attribute, value, unit: None, observed_at_ms })
}

/// Turns a value error into the message sent back for the item.
pub fn value_message(error: ValueError) -> UserMessage {
    let message = match error {
        ValueError::WrongType { expected } => {
            UserMessage::new("reading_wrong_type").arg("expected", expected)
        }
        ValueError::NotFinite => UserMessage::new("reading_not_finite"),
        ValueError::OutOfRange { min, max } => {
            UserMessage::new("reading_out_of_range").arg("min", min).arg("max", max)
        }
        ValueError::NotWhole => UserMessage::new("reading_not_whole"),
        ValueError::WrongUnit { expected } => {
            UserMessage::new("reading_wrong_unit").arg("expected", expected).field("unit")
        }
    };
    if message.field.is_some() { message } else { message.field("value") }
}

/// Checks a submitted reading against its device's kind and capacity and the time window.
///
/// # Errors
/// The first failed check as a message.
pub fn check_reading(
    submitted: &Submitted,
    device: &super::DeviceRef,
    window: &TimeWindow,
) -> Result<Reading, UserMessage> {
    let attribute = Attribute::parse(&submitted.attribute)
        .filter(|attribute| device.kind.attributes().contains(attribute))
        .ok_or_else(|| {
            UserMessage::new("reading_unknown_attribute")
                .arg("attribute", &submitted.attribute)
                .arg("kind", device.kind.as_str())
                .field("attribute")
        })?;
    let value =
        check_value(attribute, &submitted.value, submitted.unit.as_deref(), device.capacity)
            .map_err(value_message)?;
    window.check(submitted.observed_at_ms)?;
    Ok(Reading {
        device_id: device.device_id,
        attribute,
        observed_at_ms: submitted.observed_at_ms,
        value,
    })
}

#[cfg(test)]
mod tests {
    use serde::Deserialize;
    use serde_json::{Value, json};

    use super::*;

    fn parse_json_item(item: &Value) -> Result<Submitted, UserMessage> {
        parse_loose_item(LooseItem::deserialize(item).unwrap())
    }

    #[test]
    fn json_time_fields_name_their_unit() {
        let base = json!({"device": "d", "attribute": "temperature", "value": 1.0});
        let with = |field: &str, value: Value| {
            let mut item = base.clone();
            item[field] = value;
            parse_json_item(&item).map(|s| s.observed_at_ms)
        };
        assert_eq!(with("observed_at_ms", json!(1_733_277_600_000_i64)), Ok(1_733_277_600_000));
        assert_eq!(with("observed_at_s", json!(1_733_277_600)), Ok(1_733_277_600_000));
        assert_eq!(with("observed_at", json!("2024-12-04T10:00:00+08:00")), Ok(1_733_277_600_000));
        let missing = parse_json_item(&base).unwrap_err();
        assert_eq!(missing.code, "reading_time_missing");
        let no_offset = with("observed_at", json!("2024-12-04T10:00:00")).unwrap_err();
        assert_eq!(no_offset.code, "reading_time_invalid");
    }

    #[test]
    fn json_item_with_two_times_is_ambiguous() {
        let item = json!({"device": "d", "attribute": "a", "value": 1,
            "observed_at_s": 1, "observed_at_ms": 1000});
        assert_eq!(parse_json_item(&item).unwrap_err().code, "reading_time_ambiguous");
    }

    #[test]
    fn csv_record_reads_explicit_time_units() {
        let parse = |line: &str| {
            let record = csv::StringRecord::from(line.split(',').collect::<Vec<_>>());
            parse_csv_record(&record)
        };
        let reading = parse("bin-1,fillingLevel,0.5,1733277600000ms").unwrap();
        assert_eq!(reading.observed_at_ms, 1_733_277_600_000);
        assert_eq!(reading.value, RawValue::Number(0.5));
        assert_eq!(
            parse("b,status,free,1733277600s").unwrap().value,
            RawValue::Text("free".into())
        );
        assert_eq!(parse("b,a,1,1733277600").unwrap_err().code, "reading_time_invalid");
        assert_eq!(parse("b,a,1").unwrap_err().code, "reading_csv_columns");
    }

    #[test]
    fn time_window_rejects_future_and_old_times() {
        let window =
            TimeWindow { now_ms: 1_000_000_000, max_future_skew_ms: 1000, max_past_age_ms: 5000 };
        assert!(window.check(1_000_001_000).is_ok());
        assert_eq!(window.check(1_000_001_001).unwrap_err().code, "reading_time_in_future");
        assert!(window.check(999_995_000).is_ok());
        assert_eq!(window.check(999_994_999).unwrap_err().code, "reading_time_too_old");
    }
}
