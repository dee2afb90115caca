//! Group commit: the readings of several messages are checked message by message and
//! then queued together as one batch, committed in one transaction.

use std::collections::HashMap;

use rumqttc::Publish;

use super::{
    message::{self, Decoded},
    topic::{self, Sender},
};
use crate::{
    config::MqttSettings,
    http::{AppError, AppState, UserMessage},
    sensors::{
        hash_token,
        ingest::{BatchOutcome, CheckedBatch, check_batch, queue_readings},
        store::{Credential, SensorStore},
    },
};

/// The result of one message of a batch.
#[derive(Debug)]
pub enum MessageResult {
    /// Its valid readings were committed; `outcome` lists the rejected items.
    Stored { sender: Sender, outcome: BatchOutcome },
    /// Nothing of it was stored. `sender` is `None` for a topic outside the scheme.
    Rejected { sender: Option<Sender>, message: UserMessage },
}

/// Decodes, authenticates and checks every message, stores all valid readings in one
/// transaction and returns one result per message, in order.
///
/// # Errors
/// An internal error when the database fails; nothing of the batch is stored then and
/// the caller must not acknowledge any of its messages.
pub async fn process(
    state: &AppState,
    mqtt: &MqttSettings,
    batch: &[Publish],
) -> Result<Vec<MessageResult>, AppError> {
    let settings = &state.settings;
    let mut credentials: HashMap<String, Option<Credential>> = HashMap::new();
    let mut checked: Vec<Result<(Sender, CheckedBatch), MessageResult>> = Vec::new();
    for publish in batch {
        let Some(sender) = topic::parse(&mqtt.topic_root, &publish.topic) else {
            let message = UserMessage::new("mqtt_topic_invalid").arg("topic", &publish.topic);
            checked.push(Err(MessageResult::Rejected { sender: None, message }));
            continue;
        };
        let decoded = if publish.payload.len() > mqtt.max_payload_bytes {
            Err(UserMessage::new("mqtt_payload_too_large").arg("max", mqtt.max_payload_bytes))
        } else {
            message::decode(&sender, &publish.payload, settings.sensors.max_batch_items)
        };
        let credential = match decoded {
            Ok(decoded) => authenticate(state, &mut credentials, &sender, decoded).await?,
            Err(message) => Err(message),
        };
        match credential {
            Ok((credential, items)) => {
                let items = check_batch(&state.db, settings, &credential, items).await?;
                checked.push(Ok((sender, items)));
            }
            Err(message) => {
                checked.push(Err(MessageResult::Rejected { sender: Some(sender), message }))
            }
        }
    }
    store_all(state, checked).await
}

type Items = Vec<Result<crate::sensors::reading::Submitted, UserMessage>>;

/// Looks up the token of a message (once per batch) and checks that it belongs to the
/// device or gateway that the topic names.
// NOTE: each distinct token of a batch costs one or two queries, a large share of a
// small message's cost. A cache across batches would have to drop rotated tokens at once.
async fn authenticate(
    state: &AppState,
    cache: &mut HashMap<String, Option<Credential>>,
    sender: &Sender,
    decoded: Decoded,
) -> Result<Result<(Credential, Items), UserMessage>, AppError> {
    let hash = hash_token(&decoded.token);
    let credential = match cache.get(&hash) {
        Some(known) => known.clone(),
        None => {
            let found = state.db.credential(&hash).await.map_err(anyhow::Error::from)?;
            cache.insert(hash, found.clone());
            found
        }
    };
    let Some(credential) = credential else {
        return Ok(Err(UserMessage::new("mqtt_token_invalid").field("token")));
    };
    let matches = match (sender, &credential) {
        (Sender::Device(id), Credential::Device(device)) => device.external_id == *id,
        (Sender::Gateway(name), Credential::Gateway { name: key_name, .. }) => key_name == name,
        _ => false,
    };
    if !matches {
        return Ok(Err(UserMessage::new("mqtt_token_wrong_topic")
            .arg("sender", sender.name())
            .field("token")));
    }
    Ok(Ok((credential, decoded.items)))
}

/// Queues the readings of every accepted message as one batch
/// ([`crate::sensors::queue`]) and hands each message its share of the results. The
/// queue worker finds duplicates and conflicts later, so no message lists any.
async fn store_all(
    state: &AppState,
    checked: Vec<Result<(Sender, CheckedBatch), MessageResult>>,
) -> Result<Vec<MessageResult>, AppError> {
    let readings: Vec<_> = checked
        .iter()
        .filter_map(|entry| entry.as_ref().ok())
        .flat_map(|(_, items)| items.readings.iter().copied())
        .collect();
    queue_readings(state, &readings).await?;
    let results = checked
        .into_iter()
        .map(|entry| match entry {
            Ok((sender, items)) => MessageResult::Stored { sender, outcome: items.queued() },
            Err(rejected) => rejected,
        })
        .collect();
    Ok(results)
}
