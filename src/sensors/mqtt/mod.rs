//! MQTT ingestion of device readings: a subscriber that stores what devices and
//! gateways publish through the same checks as `POST /api/v1/readings`.
//!
//! Topic scheme ([`topic`]), with `{root}` the `mqtt.topic_root` setting:
//! - `{root}/v1/devices/{device id}/readings`: one device, with its device token;
//! - `{root}/v1/gateways/{key name}/readings`: a gateway key, for any device;
//! - `{root}/v1/devices/{device id}/errors` (or `gateways/…/errors`): citycore
//!   publishes the reasons of rejected messages and items there, QoS 1, not retained.
//!
//! Payloads are described in [`message`]. Delivery guarantees:
//! - The subscription is QoS 1 with manual acknowledgement: a PUBLISH gets its PUBACK
//!   only after the transaction holding its readings committed, so a crash before the
//!   commit makes the broker deliver it again (an equal resend has no effect).
//! - A rejected message (invalid token, unreadable payload, wrong topic) is acknowledged
//!   as well, so that it is not delivered forever. It is counted and logged.
//! - The session is persistent (`clean_session = false`) under a stable client id, so
//!   the broker keeps QoS 1 messages published while the node is down.
//! - Messages that arrive within `mqtt.batch_wait_ms` of each other, up to
//!   `mqtt.batch_max_messages`, share one transaction (group commit); their PUBACKs go
//!   out afterwards in arrival order.
//! - With `mqtt.shared_group` set, the nodes subscribe through `$share/{group}/…` and
//!   the broker hands each message to one of them.
//!
//! QoS 0 messages are stored too, but the broker does not keep them for a node that is
//! down. The subscriber uses MQTT 3.1.1 over plain TCP (`mqtt://`) or TLS (`mqtts://`,
//! see [`tls`]), with a client certificate when the broker requires one.

mod batch;
pub mod message;
pub mod tls;
pub mod topic;
mod worker;

use std::sync::{
    Arc,
    atomic::{AtomicU64, Ordering},
};

use tokio::{sync::watch, task::JoinHandle};

use crate::{config::MqttSettings, http::AppState};

/// Running totals of one subscriber since it started.
#[derive(Debug, Default)]
pub struct Counters {
    /// Messages whose readings were committed (some items may have been rejected).
    pub stored_messages: AtomicU64,
    /// Messages rejected as a whole.
    pub rejected_messages: AtomicU64,
    /// Readings committed, duplicates included.
    pub stored_readings: AtomicU64,
    /// Items rejected inside otherwise stored messages.
    pub rejected_readings: AtomicU64,
    /// SUBACKs received: the subscription is in place once this is above zero.
    pub subscribed: AtomicU64,
}

impl Counters {
    /// Returns the messages handled so far, stored or rejected.
    pub fn handled_messages(&self) -> u64 {
        self.stored_messages.load(Ordering::Relaxed)
            + self.rejected_messages.load(Ordering::Relaxed)
    }
}

/// A running subscriber; [`MqttHandle::stop`] ends it after the batch in progress.
pub struct MqttHandle {
    pub client_id: String,
    pub counters: Arc<Counters>,
    stop: watch::Sender<bool>,
    tasks: Vec<JoinHandle<()>>,
}

impl MqttHandle {
    /// Stops taking messages, lets the batch in progress commit and acknowledge,
    /// disconnects and waits for both tasks, at most `grace`.
    pub async fn stop(self, grace: std::time::Duration) {
        let _ = self.stop.send(true);
        let aborts: Vec<_> = self.tasks.iter().map(JoinHandle::abort_handle).collect();
        let joined = tokio::time::timeout(grace, futures_util::future::join_all(self.tasks));
        if joined.await.is_err() {
            tracing::warn!(mqtt.client_id = %self.client_id, "MQTT subscriber still busy after the grace period; stopping");
            aborts.iter().for_each(tokio::task::AbortHandle::abort);
        }
        tracing::info!(mqtt.client_id = %self.client_id, "MQTT subscriber stopped");
    }
}

/// Starts a subscriber with `settings` (whether or not they enable MQTT), storing into
/// the database of `state` with its reading settings.
///
/// # Errors
/// Fails when `settings.url` is not a valid broker address, or a TLS file of the
/// settings is missing, unreadable or not PEM; the message names the setting.
pub fn spawn(state: AppState, settings: MqttSettings) -> anyhow::Result<MqttHandle> {
    worker::spawn(state, settings)
}

/// Reads the TLS files of an enabled `mqtts://` subscriber, so that `citycore serve`
/// can stop on a bad one before it migrates, seeds or listens.
///
/// # Errors
/// The error of [`tls::client_config`], naming the setting of the bad file.
pub fn check_tls_files(settings: &MqttSettings) -> Result<(), tls::TlsFileError> {
    if settings.enabled && settings.broker_address().is_ok_and(|address| address.tls) {
        tls::client_config(settings)?;
    }
    Ok(())
}

/// Starts the subscriber when `mqtt.enabled` is set, for `citycore serve`.
pub fn spawn_if_enabled(state: &AppState) -> anyhow::Result<Option<MqttHandle>> {
    if !state.settings.mqtt.enabled {
        tracing::debug!("MQTT ingestion is off (mqtt.enabled = false)");
        return Ok(None);
    }
    spawn(state.clone(), state.settings.mqtt.clone()).map(Some)
}

/// Builds the client id: the prefix, a dash and the node name (or the host name).
pub fn client_id(settings: &MqttSettings) -> String {
    let node = if settings.node_name.is_empty() {
        std::fs::read_to_string("/proc/sys/kernel/hostname")
            .ok()
            .or_else(|| std::env::var("HOSTNAME").ok())
            .map(|name| name.trim().to_owned())
            .filter(|name| !name.is_empty())
            .unwrap_or_else(|| "node".to_owned())
    } else {
        settings.node_name.clone()
    };
    format!("{}-{node}", settings.client_id_prefix)
}
