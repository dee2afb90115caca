//! The two tasks of a subscriber: the connection loop, which polls the broker and
//! reconnects with backoff, and the commit loop, which stores batches and acknowledges.

use std::{
    sync::{
        Arc,
        atomic::{AtomicU64, Ordering},
    },
    time::Duration,
};

use rumqttc::{
    AsyncClient, Event, EventLoop, MqttOptions, Outgoing, Packet, Publish, QoS, TlsConfiguration,
    Transport,
};
use tokio::sync::{mpsc, watch};

use super::{
    Counters, MqttHandle,
    batch::{self, MessageResult},
    topic,
};
use crate::{
    config::{BrokerAddress, MqttSettings},
    http::AppState,
};

/// Capacity of the request channel from the client handle to the event loop.
const REQUEST_CAPACITY: usize = 1024;
/// Largest packet rumqttc reads: the MQTT maximum. With a smaller limit rumqttc drops
/// the connection on a larger message, and the broker then resends it forever. So
/// `mqtt.max_payload_bytes` is checked on the payload instead, with a rejection.
const MAX_PACKET_BYTES: usize = 268_435_455;
/// Rejected messages logged one by one per batch; the log counts the rest.
const LOGGED_REJECTIONS: usize = 10;

/// State both loops read: the connection number and the counters.
struct Shared {
    connection: Arc<AtomicU64>,
    counters: Arc<Counters>,
}

/// A received PUBLISH and the connection it came on.
struct Received {
    publish: Publish,
    /// Counts connections; an acknowledgement goes out only on the connection that
    /// delivered the message.
    connection: u64,
}

pub(super) fn spawn(state: AppState, settings: MqttSettings) -> anyhow::Result<MqttHandle> {
    let BrokerAddress { host, port, tls } = settings
        .broker_address()
        .map_err(|reason| anyhow::anyhow!("invalid setting mqtt.url: {reason}"))?;
    let client_id = super::client_id(&settings);

    let mut options = MqttOptions::new(client_id.clone(), host.clone(), port);
    if tls {
        let config = super::tls::client_config(&settings)?;
        options
            .set_transport(Transport::tls_with_config(TlsConfiguration::Rustls(Arc::new(config))));
    }
    options
        .set_keep_alive(Duration::from_secs(settings.keep_alive_seconds.max(5)))
        .set_clean_session(false)
        .set_manual_acks(true)
        .set_max_packet_size(MAX_PACKET_BYTES, 64 * 1024);
    if !settings.username.is_empty() {
        options.set_credentials(settings.username.clone(), settings.password.0.clone());
    }
    let (client, eventloop) = AsyncClient::new(options, REQUEST_CAPACITY);

    let (stop_tx, stop_rx) = watch::channel(false);
    // Unbounded, so that the connection loop never waits for the commit loop. The broker
    // bounds it anyway, because it sends no more unacknowledged QoS 1 messages than its
    // in-flight limit.
    let (message_tx, message_rx) = mpsc::unbounded_channel();
    let connection = Arc::new(AtomicU64::new(0));
    let counters = Arc::new(Counters::default());

    tracing::info!(mqtt.client_id = %client_id, mqtt.host = %host, mqtt.port = port, mqtt.tls = tls,
        mqtt.client_certificate = !settings.tls_cert_file.is_empty(),
        mqtt.shared_group = %settings.shared_group, "MQTT subscriber starting");
    let connection_task = tokio::spawn(connection_loop(
        settings.clone(),
        client.clone(),
        eventloop,
        message_tx,
        Shared { connection: connection.clone(), counters: counters.clone() },
        stop_rx.clone(),
    ));
    let commit_task = tokio::spawn(commit_loop(
        state,
        settings,
        client,
        message_rx,
        Shared { connection, counters: counters.clone() },
        stop_rx,
    ));
    Ok(MqttHandle { client_id, counters, stop: stop_tx, tasks: vec![commit_task, connection_task] })
}

/// Polls the broker: subscribes on every connect, forwards messages, reconnects with
/// exponential backoff, and ends after the DISCONNECT that a stop sends.
async fn connection_loop(
    settings: MqttSettings,
    client: AsyncClient,
    mut eventloop: EventLoop,
    messages: mpsc::UnboundedSender<Received>,
    shared: Shared,
    mut stop: watch::Receiver<bool>,
) {
    let connection = shared.connection;
    let initial = Duration::from_millis(settings.reconnect_initial_ms);
    let max = Duration::from_secs(settings.reconnect_max_seconds);
    let mut backoff = initial;
    loop {
        match eventloop.poll().await {
            Ok(Event::Incoming(Packet::ConnAck(ack))) => {
                let number = connection.fetch_add(1, Ordering::SeqCst) + 1;
                tracing::info!(
                    mqtt.connection = number,
                    mqtt.session_present = ack.session_present,
                    "MQTT connected"
                );
                backoff = initial;
                let filters = topic::filters(&settings.topic_root, &settings.shared_group);
                let subscriptions = filters
                    .iter()
                    .map(|f| rumqttc::SubscribeFilter::new(f.clone(), QoS::AtLeastOnce));
                if let Err(error) = client.try_subscribe_many(subscriptions) {
                    tracing::error!(%error, "MQTT subscribe request failed");
                }
            }
            Ok(Event::Incoming(Packet::Publish(publish))) => {
                let received = Received { publish, connection: connection.load(Ordering::SeqCst) };
                if messages.send(received).is_err() {
                    break;
                }
            }
            Ok(Event::Incoming(Packet::SubAck(ack))) => {
                tracing::info!(mqtt.return_codes = ?ack.return_codes, "MQTT subscribed");
                shared.counters.subscribed.fetch_add(1, Ordering::SeqCst);
            }
            Ok(Event::Outgoing(Outgoing::Disconnect)) => break,
            Ok(_) => {}
            Err(rumqttc::ConnectionError::RequestsDone) => break,
            Err(error) => {
                // Acknowledgements of messages from the lost connection must not reach
                // the next one, which the broker may number differently.
                connection.fetch_add(1, Ordering::SeqCst);
                if *stop.borrow() {
                    break;
                }
                let retry_ms = backoff.as_millis() as u64;
                if matches!(error, rumqttc::ConnectionError::Tls(_)) {
                    // A certificate the broker or citycore rejects does not heal by
                    // itself, so an operator must act.
                    tracing::error!(%error, mqtt.retry_ms = retry_ms,
                        "MQTT TLS handshake failed; check mqtt.tls_ca_file, the client \
                         certificate and the broker's certificate; reconnecting");
                } else {
                    tracing::warn!(%error, mqtt.retry_ms = retry_ms,
                        "MQTT connection failed; reconnecting");
                }
                metrics::counter!("citycore_mqtt_reconnects_total").increment(1);
                tokio::select! {
                    () = tokio::time::sleep(backoff) => {}
                    _ = stop.changed() => break,
                }
                backoff = (backoff * 2).min(max);
            }
        }
    }
    tracing::debug!("MQTT connection loop ended");
}

/// Takes batches of messages, stores each batch in one transaction, retries it with
/// backoff while the database fails, then acknowledges its messages in arrival order.
async fn commit_loop(
    state: AppState,
    settings: MqttSettings,
    client: AsyncClient,
    mut messages: mpsc::UnboundedReceiver<Received>,
    shared: Shared,
    mut stop: watch::Receiver<bool>,
) {
    let Shared { connection, counters } = shared;
    let wait = Duration::from_millis(settings.batch_wait_ms);
    'batches: loop {
        let first = tokio::select! {
            biased;
            _ = stop.changed() => None,
            received = messages.recv() => received,
        };
        let Some(first) = first else { break };
        let mut received = vec![first];
        let deadline = tokio::time::Instant::now() + wait;
        while received.len() < settings.batch_max_messages {
            match tokio::time::timeout_at(deadline, messages.recv()).await {
                Ok(Some(next)) => received.push(next),
                _ => break,
            }
        }
        let publishes: Vec<Publish> = received.iter().map(|r| r.publish.clone()).collect();
        let mut retry = Duration::from_millis(settings.reconnect_initial_ms);
        let results = loop {
            match batch::process(&state, &settings, &publishes).await {
                Ok(results) => break results,
                Err(error) => {
                    tracing::error!(error = ?error, batch.messages = publishes.len(), retry_ms = retry.as_millis() as u64,
                        "MQTT batch not stored; retrying, its messages stay unacknowledged");
                    tokio::select! {
                        () = tokio::time::sleep(retry) => {}
                        _ = stop.changed() => break 'batches,
                    }
                    retry = (retry * 2).min(Duration::from_secs(settings.reconnect_max_seconds));
                }
            }
        };
        report(&client, &settings, state.default_locale(), &counters, &results);
        let current = connection.load(Ordering::SeqCst);
        for message in received.iter().filter(|m| m.connection == current) {
            if let Err(error) = client.ack(&message.publish).await {
                tracing::warn!(%error, "MQTT acknowledgement not sent; the broker will resend");
            }
        }
    }
    if let Err(error) = client.disconnect().await {
        tracing::debug!(%error, "MQTT disconnect request not sent; the connection is already closed");
    }
}

/// Counts and logs the results of a batch and publishes the reasons of rejections to
/// the senders' errors topics.
fn report(
    client: &AsyncClient,
    settings: &MqttSettings,
    locale: crate::i18n::Locale,
    counters: &Counters,
    results: &[MessageResult],
) {
    let mut logged = 0;
    for result in results {
        let (sender, reasons) = match result {
            MessageResult::Stored { sender, outcome } => {
                counters.stored_messages.fetch_add(1, Ordering::Relaxed);
                counters.stored_readings.fetch_add(outcome.accepted as u64, Ordering::Relaxed);
                counters
                    .rejected_readings
                    .fetch_add(outcome.rejected.len() as u64, Ordering::Relaxed);
                metrics::counter!("citycore_mqtt_messages_total", "outcome" => "stored")
                    .increment(1);
                metrics::counter!("citycore_mqtt_readings_total", "outcome" => "stored")
                    .increment(outcome.accepted as u64);
                metrics::counter!("citycore_mqtt_readings_total", "outcome" => "rejected")
                    .increment(outcome.rejected.len() as u64);
                let reasons: Vec<serde_json::Value> = outcome
                    .rejected
                    .iter()
                    .map(|r| {
                        serde_json::json!({
                            "index": r.index, "code": r.message.code, "field": r.message.field,
                            "message": r.message.render(locale),
                        })
                    })
                    .collect();
                (Some(sender), reasons)
            }
            MessageResult::Rejected { sender, message } => {
                counters.rejected_messages.fetch_add(1, Ordering::Relaxed);
                metrics::counter!("citycore_mqtt_messages_total", "outcome" => "rejected")
                    .increment(1);
                let reasons = vec![serde_json::json!({
                    "index": null, "code": message.code, "field": message.field,
                    "message": message.render(locale),
                })];
                (sender.as_ref(), reasons)
            }
        };
        if reasons.is_empty() {
            continue;
        }
        let device = sender.map(|s| s.name()).unwrap_or("-");
        if logged < LOGGED_REJECTIONS {
            tracing::warn!(device.id = device, rejected.items = reasons.len(), rejected.code = %reasons[0]["code"],
                "MQTT message rejected in whole or in part");
        }
        logged += 1;
        if let Some(sender) = sender {
            let body = serde_json::json!({ "rejected": reasons }).to_string();
            // Best effort: a full request queue drops the report rather than the stream.
            if client
                .try_publish(
                    sender.errors_topic(&settings.topic_root),
                    QoS::AtLeastOnce,
                    false,
                    body,
                )
                .is_err()
            {
                metrics::counter!("citycore_mqtt_error_reports_dropped_total").increment(1);
            }
        }
    }
    if logged > LOGGED_REJECTIONS {
        tracing::warn!(
            rejected.messages = logged - LOGGED_REJECTIONS,
            "more MQTT rejections in this batch, not logged one by one"
        );
    }
}
