//! Group commit: the readings of several messages are checked message by message and
//! then queued together as one batch, committed in one transaction.

use std::collections::{HashMap, HashSet};

use rumqttc::Publish;

use super::{
    message::{self, Decoded},
    topic::{self, Sender},
};
use crate::{
    config::MqttSettings,
    http::{AppError, AppState, UserMessage},
    sensors::{
        credentials::credentials,
        hash_token,
        ingest::{BatchOutcome, CheckedBatch, check_batch, queue_readings},
        store::Credential,
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
    let decoded: Vec<Result<(Sender, Decoded), MessageResult>> = batch
        .iter()
        .map(|publish| {
            let Some(sender) = topic::parse(&mqtt.topic_root, &publish.topic) else {
                let message = UserMessage::new("mqtt_topic_invalid").arg("topic", &publish.topic);
                return Err(MessageResult::Rejected { sender: None, message });
            };
            let decoded = if publish.payload.len() > mqtt.max_payload_bytes {
                Err(UserMessage::new("mqtt_payload_too_large").arg("max", mqtt.max_payload_bytes))
            } else {
                message::decode(&sender, &publish.payload, settings.sensors.max_batch_items)
            };
            match decoded {
                Ok(decoded) => Ok((sender, decoded)),
                Err(message) => Err(MessageResult::Rejected { sender: Some(sender), message }),
            }
        })
        .collect();
    let hashes: HashSet<String> = decoded
        .iter()
        .filter_map(|entry| entry.as_ref().ok())
        .map(|(_, decoded)| hash_token(&decoded.token))
        .collect();
    let hashes: Vec<String> = hashes.into_iter().collect();
    let known = credentials(&state.db, &hashes).await.map_err(anyhow::Error::from)?;
    let mut checked = Vec::with_capacity(decoded.len());
    for entry in decoded {
        let (sender, decoded) = match entry {
            Ok(entry) => entry,
            Err(rejected) => {
                checked.push(Err(rejected));
                continue;
            }
        };
        match authenticate(&known, &sender, &decoded.token) {
            Ok(credential) => {
                let items = check_batch(&state.db, settings, &credential, decoded.items).await?;
                checked.push(Ok((sender, items)));
            }
            Err(message) => {
                checked.push(Err(MessageResult::Rejected { sender: Some(sender), message }))
            }
        }
    }
    store_all(state, checked).await
}

/// Checks that the token of a message belongs to the device or gateway that the topic
/// names. `known` maps the batch's token hashes to their owners.
fn authenticate(
    known: &HashMap<String, Credential>,
    sender: &Sender,
    token: &str,
) -> Result<Credential, UserMessage> {
    let Some(credential) = known.get(&hash_token(token)) else {
        return Err(UserMessage::new("mqtt_token_invalid").field("token"));
    };
    let matches = match (sender, credential) {
        (Sender::Device(id), Credential::Device(device)) => device.external_id == *id,
        (Sender::Gateway(name), Credential::Gateway { name: key_name, .. }) => key_name == name,
        _ => false,
    };
    if !matches {
        return Err(UserMessage::new("mqtt_token_wrong_topic")
            .arg("sender", sender.name())
            .field("token"));
    }
    Ok(credential.clone())
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
