//! `citycore bench mqtt`: readings per second through a real broker into citycore's
//! durable store, next to the broker's own rate to a subscriber that only counts.
//!
//! Both runs publish the same messages from one QoS 1 publisher. The publisher keeps at
//! most `--window` messages published but not yet handled, because Mosquitto drops QoS 1
//! messages queued for a client past `max_queued_messages` (1,000 by default). A message
//! counts as handled by citycore once its transaction into the reading queue committed
//! (when it is acknowledged), and by the counting subscriber on receipt. The run also
//! reports when the queue worker has written every reading.

use std::{
    sync::{
        Arc,
        atomic::{AtomicU64, Ordering},
    },
    time::{Duration, Instant},
};

use anyhow::Context;
use clap::Args;
use rumqttc::{AsyncClient, Event, MqttOptions, Packet, QoS};

use super::{
    import::peak_rss_kib,
    ingest::{TempDir, bench_devices, nth_reading},
};
use crate::{
    config::{MqttSettings, Settings},
    http::AppState,
    sensors::devices::register_devices,
};

#[derive(Debug, Args)]
pub struct MqttBenchArgs {
    /// Readings published in each of the two runs.
    #[arg(long, default_value_t = 200_000)]
    pub readings: usize,
    /// Readings per message.
    #[arg(long, default_value_t = 10)]
    pub per_message: usize,
    /// Devices the readings are spread over, each publishing on its own topic.
    #[arg(long, default_value_t = 100)]
    pub devices: usize,
    /// Maximum number of messages published but not yet handled; keep it under the
    /// broker's queue limit per client.
    #[arg(long, default_value_t = 500)]
    pub window: u64,
    /// Broker address, `mqtt://HOST:PORT`.
    #[arg(long, default_value = "mqtt://127.0.0.1:1883")]
    pub broker: String,
}

/// Runs the counting subscriber and then citycore on the same load and prints both
/// rates, their ratio and the peak memory of this process. The batch and reconnect
/// settings come from `[mqtt]`; the broker, client id and topics from the arguments.
///
/// # Errors
/// Fails when the broker or the database fails, or a run does not finish in 10 minutes.
pub async fn run_mqtt(mut settings: Settings, args: MqttBenchArgs) -> anyhow::Result<()> {
    anyhow::ensure!(
        args.per_message > 0 && args.devices > 0,
        "--per-message and --devices must be at least 1"
    );
    let _temp_dir = TempDir::unless_configured(&mut settings);
    settings.sensors.max_past_age_days = settings.sensors.raw_retention_days;
    let run_id = uuid::Uuid::new_v4().simple().to_string()[..8].to_owned();
    let mqtt = MqttSettings {
        url: args.broker.clone(),
        client_id_prefix: "citycore-bench".to_owned(),
        node_name: run_id.clone(),
        topic_root: format!("citycore-bench-{run_id}"),
        ..settings.mqtt.clone()
    };
    let address = mqtt.broker_address().map_err(|reason| anyhow::anyhow!("--broker {reason}"))?;
    // The publishing clients of the benchmark speak plain TCP only.
    anyhow::ensure!(!address.tls, "--broker must be an mqtt:// address; TLS is not supported");
    let (host, port) = (address.host, address.port);
    let db = crate::cli::open_database(&settings).await?;
    let backend = format!("{:?}", db.backend());
    let state = AppState::new(settings, db).await?;
    let tokens = register(&state, &format!("bench-{run_id}"), args.devices).await?;
    let messages = build_messages(&args, &mqtt.topic_root, &run_id, &tokens);
    let publisher = Client::connect(
        Client::options(&format!("citycore-bench-{run_id}-pub"), &host, port),
        None,
    )
    .await?;

    let counting = Client::connect(
        Client::options(&format!("citycore-bench-{run_id}-count"), &host, port),
        Some(format!("{}/v1/devices/+/readings", mqtt.topic_root)),
    )
    .await?;
    let broker_seconds =
        drive(&publisher, &messages, args.window, || counting.received.load(Ordering::Relaxed))
            .await?;
    let broker_peak = peak_rss_kib();
    counting.client.disconnect().await.ok();

    let mqtt_settings =
        MqttSettings { topic_root: format!("{}-ingest", mqtt.topic_root), ..mqtt.clone() };
    let messages = retopic(messages, &mqtt.topic_root, &mqtt_settings.topic_root);
    let queue_worker = crate::sensors::queue::worker::spawn(state.clone());
    let subscriber = crate::sensors::mqtt::spawn(state.clone(), mqtt_settings.clone())?;
    let counters = subscriber.counters.clone();
    wait_until(|| counters.subscribed.load(Ordering::Relaxed) > 0, Duration::from_secs(30))
        .await
        .context("citycore did not subscribe")?;
    let citycore_seconds =
        drive(&publisher, &messages, args.window, || counters.handled_messages()).await?;
    let drain_started = Instant::now();
    while state.reading_queue.store.depth().await?.batches > 0 {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let written_seconds = citycore_seconds + drain_started.elapsed().as_secs_f64();
    queue_worker.abort();
    let citycore_peak = peak_rss_kib();
    let stored = counters.stored_readings.load(Ordering::Relaxed);
    subscriber.stop(Duration::from_secs(30)).await;
    forget_session(&crate::sensors::mqtt::client_id(&mqtt_settings), &host, port).await;

    let total = (messages.len() * args.per_message) as f64;
    println!(
        "backend {backend}, {} readings in {} messages of {}, {} devices, window {} messages, broker {}",
        messages.len() * args.per_message,
        messages.len(),
        args.per_message,
        args.devices,
        args.window,
        args.broker
    );
    println!(
        "broker to a counting subscriber: {:>10.0} readings/s ({:.0} messages/s, {broker_seconds:.2} s)",
        total / broker_seconds,
        messages.len() as f64 / broker_seconds
    );
    println!(
        "citycore durable ingest (queued): {:>9.0} readings/s ({:.0} messages/s, {citycore_seconds:.2} s; {stored} readings stored)",
        total / citycore_seconds,
        messages.len() as f64 / citycore_seconds
    );
    println!(
        "written by the queue worker:     {:>10.0} readings/s ({written_seconds:.2} s from the first message)",
        total / written_seconds
    );
    println!("ratio citycore / broker: {:.2}", broker_seconds / citycore_seconds);
    let mib = |kib: Option<u64>| {
        kib.map_or_else(|| "n/a".to_owned(), |k| format!("{:.0} MiB", k as f64 / 1024.0))
    };
    println!(
        "peak resident memory of this process: {} after the broker run, {} after the citycore run",
        mib(broker_peak),
        mib(citycore_peak)
    );
    Ok(())
}

/// Registers `count` temperature sensors named `{prefix}-{n}` and returns their tokens.
async fn register(state: &AppState, prefix: &str, count: usize) -> anyhow::Result<Vec<String>> {
    let inputs = bench_devices(prefix, count);
    let issued = register_devices(&state.db, &state.locator.snapshot(), inputs).await?;
    Ok(issued.into_iter().map(|token| token.token).collect())
}

/// Builds every message: device `n % devices` sends `per_message` consecutive seconds.
fn build_messages(
    args: &MqttBenchArgs,
    root: &str,
    run_id: &str,
    tokens: &[String],
) -> Vec<(String, Vec<u8>)> {
    let start_ms = chrono::Utc::now().timestamp_millis();
    let count = args.readings.div_ceil(args.per_message);
    let total = count * args.per_message;
    (0..count)
        .map(|m| {
            let device = m % tokens.len();
            let items: Vec<serde_json::Value> = (0..args.per_message)
                .map(|k| {
                    // Number the readings so that one device's readings are consecutive seconds.
                    let n = (m / tokens.len()) * args.per_message + k;
                    let (_, at, value) = nth_reading(n, 1, total.div_ceil(tokens.len()), start_ms);
                    serde_json::json!({"attribute": "temperature", "value": value, "observed_at_ms": at})
                })
                .collect();
            let body = serde_json::json!({"token": tokens[device], "readings": items});
            let topic = format!("{root}/v1/devices/bench-{run_id}-{device}/readings");
            (topic, body.to_string().into_bytes())
        })
        .collect()
}

fn retopic(messages: Vec<(String, Vec<u8>)>, from: &str, to: &str) -> Vec<(String, Vec<u8>)> {
    messages.into_iter().map(|(topic, body)| (topic.replacen(from, to, 1), body)).collect()
}

/// Publishes every message with QoS 1, holding back while `window` messages are
/// published but not handled, and returns the seconds until the last one is handled.
async fn drive(
    publisher: &Client,
    messages: &[(String, Vec<u8>)],
    window: u64,
    handled: impl Fn() -> u64,
) -> anyhow::Result<f64> {
    let before = handled();
    let started = Instant::now();
    for (sent, (topic, body)) in messages.iter().enumerate() {
        while sent as u64 >= handled() - before + window {
            tokio::time::sleep(Duration::from_millis(1)).await;
            anyhow::ensure!(
                started.elapsed() < Duration::from_secs(600),
                "run took over 10 minutes"
            );
        }
        publisher.client.publish(topic.as_str(), QoS::AtLeastOnce, false, body.clone()).await?;
    }
    let total = messages.len() as u64;
    wait_until(|| handled() - before >= total, Duration::from_secs(600))
        .await
        .context("not every message was handled")?;
    Ok(started.elapsed().as_secs_f64())
}

async fn wait_until(done: impl Fn() -> bool, limit: Duration) -> anyhow::Result<()> {
    let started = Instant::now();
    while !done() {
        anyhow::ensure!(started.elapsed() < limit, "timed out after {} s", limit.as_secs());
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    Ok(())
}

/// A benchmark client: publishes, or subscribes to one filter and counts its messages.
struct Client {
    client: AsyncClient,
    received: Arc<AtomicU64>,
}

impl Client {
    /// Connects a clean-session client that may send `inflight` unacknowledged messages.
    fn options(id: &str, host: &str, port: u16) -> MqttOptions {
        let mut options = MqttOptions::new(id, host, port);
        options.set_max_packet_size(16 * 1024 * 1024, 16 * 1024 * 1024);
        options.set_inflight(1000);
        options
    }

    async fn connect(options: MqttOptions, filter: Option<String>) -> anyhow::Result<Client> {
        let (host, port) = options.broker_address();
        let (client, mut eventloop) = AsyncClient::new(options, 1000);
        let received = Arc::new(AtomicU64::new(0));
        let subscribed = Arc::new(AtomicU64::new(0));
        let (count, suback) = (received.clone(), subscribed.clone());
        tokio::spawn(async move {
            loop {
                match eventloop.poll().await {
                    Ok(Event::Incoming(Packet::Publish(_))) => {
                        count.fetch_add(1, Ordering::Relaxed);
                    }
                    Ok(Event::Incoming(Packet::SubAck(_) | Packet::ConnAck(_))) => {
                        suback.fetch_add(1, Ordering::Relaxed);
                    }
                    Ok(Event::Outgoing(rumqttc::Outgoing::Disconnect)) | Err(_) => break,
                    Ok(_) => {}
                }
            }
        });
        let expected = if let Some(filter) = filter {
            client.subscribe(filter, QoS::AtLeastOnce).await?;
            2
        } else {
            1
        };
        wait_until(|| subscribed.load(Ordering::Relaxed) >= expected, Duration::from_secs(30))
            .await
            .with_context(|| format!("no connection to the broker at {host}:{port}"))?;
        Ok(Client { client, received })
    }
}

/// Removes the persistent session the citycore run left on the broker: a clean-session
/// connect with its client id discards it.
async fn forget_session(client_id: &str, host: &str, port: u16) {
    let mut options = MqttOptions::new(client_id, host, port);
    options.set_clean_session(true);
    if let Ok(cleaner) = Client::connect(options, None).await {
        cleaner.client.disconnect().await.ok();
    }
}
