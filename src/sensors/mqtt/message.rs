//! Payloads of reading messages: the sender's token and the readings, in JSON or in
//! the compact text form.
//!
//! - JSON: the body of `POST /api/v1/readings` plus a `token` field,
//!   `{"token": "…", "readings": [{…}, …]}`. On a device topic an item may leave out
//!   `device`, which then defaults to the device of the topic.
//! - Text: a first line `token TOKEN`, then the CSV lines of the HTTP endpoint,
//!   `device,attribute,value,observed_at`.
//!
//! MQTT 3.1.1 has no message properties, so the token travels in the payload; the
//! broker's own credentials only admit a client to the broker.

use serde::Deserialize;
use serde_json::Value;

use super::topic::Sender;
use crate::{
    http::{AppError, UserMessage},
    sensors::{
        ingest::{BodyFormat, parse_batch},
        json_item::{Loose, LooseItem},
        reading::{Submitted, parse_loose_item},
    },
};

/// A decoded payload, its items not yet checked.
#[derive(Debug)]
pub struct Decoded {
    pub token: String,
    pub items: Vec<Result<Submitted, UserMessage>>,
}

/// Splits a payload into the token and its items, each parsed or rejected on its own.
///
/// # Errors
/// A message naming the problem when the payload as a whole cannot be read, has no
/// token or contains more than `max_items` readings.
pub fn decode(sender: &Sender, payload: &[u8], max_items: usize) -> Result<Decoded, UserMessage> {
    let first = payload.iter().find(|b| !b.is_ascii_whitespace());
    if first == Some(&b'{') {
        decode_json(sender, payload, max_items)
    } else {
        decode_text(payload, max_items)
    }
}

fn token_missing() -> UserMessage {
    UserMessage::new("mqtt_token_missing").field("token")
}

fn decode_json(sender: &Sender, payload: &[u8], max_items: usize) -> Result<Decoded, UserMessage> {
    let body: Value = serde_json::from_slice(payload)
        .map_err(|error| UserMessage::new("invalid_json_body").arg("reason", error))?;
    let token = match body.get("token") {
        Some(Value::String(token)) if !token.trim().is_empty() => token.trim().to_owned(),
        _ => return Err(token_missing()),
    };
    let Some(Value::Array(readings)) = body.get("readings") else {
        return Err(UserMessage::new("reading_field_missing").arg("name", "readings"));
    };
    if readings.len() > max_items {
        return Err(UserMessage::new("batch_too_many_items")
            .arg("max", max_items)
            .arg("count", readings.len()));
    }
    let items = readings
        .iter()
        .map(|item| {
            // Every field visitor accepts any JSON type, so an item always deserializes.
            let mut item = LooseItem::deserialize(item).unwrap_or_default();
            if let (Sender::Device(id), Loose::Absent) = (sender, &item.device) {
                item.device = Loose::Text(id.clone().into());
            }
            parse_loose_item(item)
        })
        .collect();
    Ok(Decoded { token, items })
}

fn decode_text(payload: &[u8], max_items: usize) -> Result<Decoded, UserMessage> {
    let split = payload.iter().position(|b| *b == b'\n').unwrap_or(payload.len());
    let first_line = std::str::from_utf8(&payload[..split]).map_err(|_| token_missing())?;
    let token = first_line
        .trim()
        .strip_prefix("token ")
        .map(str::trim)
        .filter(|token| !token.is_empty())
        .ok_or_else(token_missing)?;
    let rest = payload.get(split + 1..).unwrap_or_default();
    let items = parse_batch(BodyFormat::Csv, rest, max_items).map_err(|error| match error {
        AppError::BadRequest(message) | AppError::Invalid(message) => message,
        other => UserMessage::new("unreadable_csv").arg("reason", other),
    })?;
    Ok(Decoded { token: token.to_owned(), items })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn device() -> Sender {
        Sender::Device("bin-1".to_owned())
    }

    #[test]
    fn json_item_defaults_to_the_topic_device() {
        let payload = br#"{"token": "t1", "readings": [
            {"attribute": "fillingLevel", "value": 0.5, "observed_at_ms": 1733277600000},
            {"device": "other", "attribute": "fillingLevel", "value": 0.5, "observed_at_s": 1}
        ]}"#;
        let decoded = decode(&device(), payload, 10).unwrap();
        assert_eq!(decoded.token, "t1");
        assert_eq!(decoded.items[0].as_ref().unwrap().device, "bin-1");
        assert_eq!(decoded.items[1].as_ref().unwrap().device, "other", "an explicit device stays");
    }

    #[test]
    fn json_without_token_is_rejected() {
        let payload = br#"{"readings": []}"#;
        assert_eq!(decode(&device(), payload, 10).unwrap_err().code, "mqtt_token_missing");
        let payload = br#"{"token": "", "readings": []}"#;
        assert_eq!(decode(&device(), payload, 10).unwrap_err().code, "mqtt_token_missing");
    }

    #[test]
    fn json_over_the_item_limit_is_rejected() {
        let payload = br#"{"token": "t", "readings": [{}, {}, {}]}"#;
        assert_eq!(decode(&device(), payload, 2).unwrap_err().code, "batch_too_many_items");
    }

    #[test]
    fn text_form_reads_token_line_then_csv() {
        let payload = b"token t2\nbin-1,fillingLevel,0.25,1733277600000ms\nbin-1,fillingLevel,x";
        let decoded = decode(&device(), payload, 10).unwrap();
        assert_eq!(decoded.token, "t2");
        assert_eq!(decoded.items.len(), 2);
        assert_eq!(decoded.items[0].as_ref().unwrap().observed_at_ms, 1_733_277_600_000);
        assert_eq!(decoded.items[1].as_ref().unwrap_err().code, "reading_csv_columns");
    }

    #[test]
    fn text_form_without_token_line_is_rejected() {
        let payload = b"bin-1,fillingLevel,0.25,1733277600000ms";
        assert_eq!(decode(&device(), payload, 10).unwrap_err().code, "mqtt_token_missing");
    }

    #[test]
    fn unreadable_json_names_the_reason() {
        let error = decode(&device(), b"{\"token\": ", 10).unwrap_err();
        assert_eq!(error.code, "invalid_json_body");
    }
}
