//! Device readings over MQTT, against the real broker on 127.0.0.1:1883: equal to the
//! same readings over HTTP, bad tokens rejected, shared subscriptions split the load,
//! and a persistent session keeps what was published while the subscriber was down.
//!
//! Each test uses its own topic root and client ids, so tests may run in parallel on
//! one broker, and removes its persistent sessions at the end. The reconnect test
//! starts a broker of its own on another loopback port, so that it can restart it.

use std::{
    sync::{
        Arc, Mutex,
        atomic::{AtomicU64, Ordering},
    },
    time::Duration,
};

use citycore::{
    config::MqttSettings,
    sensors::mqtt::{self, MqttHandle},
};
use rumqttc::{AsyncClient, Event, MqttOptions, Packet, QoS};
use serde_json::{Value, json};

use crate::helpers::{TestApp, spawn_app};

const BROKER: (&str, u16) = ("127.0.0.1", 1883);

/// Reports whether the broker accepts connections; outside CI a missing broker skips
/// the test with a message, under CI it fails it.
async fn broker_available() -> bool {
    if tokio::net::TcpStream::connect(BROKER).await.is_ok() {
        return true;
    }
    assert!(std::env::var_os("CI").is_none(), "no MQTT broker on 127.0.0.1:1883 under CI");
    eprintln!("skipping: no MQTT broker on 127.0.0.1:1883");
    false
}

/// Subscriber settings with a topic root and node name of this test only.
pub(crate) fn settings(root: &str, node: &str, group: &str) -> MqttSettings {
    MqttSettings {
        enabled: true,
        url: format!("mqtt://{}:{}", BROKER.0, BROKER.1),
        client_id_prefix: root.to_owned(),
        node_name: node.to_owned(),
        topic_root: root.to_owned(),
        shared_group: group.to_owned(),
        reconnect_initial_ms: 50,
        ..MqttSettings::default()
    }
}

pub(crate) fn unique_root() -> String {
    format!("cctest{}", &uuid::Uuid::new_v4().simple().to_string()[..12])
}

/// Waits until `done` holds, checking every 20 ms for at most 20 s.
pub(crate) async fn eventually(what: &str, done: impl Fn() -> bool) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    while !done() {
        assert!(tokio::time::Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Starts a subscriber and waits until its subscription is in place.
pub(crate) async fn start(app: &TestApp, settings: MqttSettings) -> MqttHandle {
    let handle = mqtt::spawn(app.state.clone(), settings).expect("subscriber starts");
    let counters = handle.counters.clone();
    eventually("the SUBACK", || counters.subscribed.load(Ordering::SeqCst) > 0).await;
    handle
}

/// Messages a test client received, as (topic, payload).
type Inbox = Arc<Mutex<Vec<(String, Vec<u8>)>>>;

/// A plain MQTT client for the test side: publishes with QoS 1, counts PUBACKs and
/// keeps the messages of its subscriptions.
pub(crate) struct TestClient {
    client: AsyncClient,
    pubacks: Arc<AtomicU64>,
    received: Inbox,
    subacks: Arc<AtomicU64>,
}

impl TestClient {
    async fn connect(client_id: &str, clean_session: bool) -> TestClient {
        TestClient::connect_to(BROKER.1, client_id, clean_session).await
    }

    async fn connect_to(port: u16, client_id: &str, clean_session: bool) -> TestClient {
        let mut options = MqttOptions::new(client_id, BROKER.0, port);
        options.set_clean_session(clean_session);
        TestClient::connect_with(options).await
    }

    /// Connects with `options` as given, for brokers that need TLS.
    pub(crate) async fn connect_with(options: MqttOptions) -> TestClient {
        let (client, mut eventloop) = AsyncClient::new(options, 1000);
        let pubacks = Arc::new(AtomicU64::new(0));
        let subacks = Arc::new(AtomicU64::new(0));
        let received: Inbox = Arc::new(Mutex::new(Vec::new()));
        let (acks, subs, inbox) = (pubacks.clone(), subacks.clone(), received.clone());
        tokio::spawn(async move {
            loop {
                match eventloop.poll().await {
                    Ok(Event::Incoming(Packet::PubAck(_))) => {
                        acks.fetch_add(1, Ordering::SeqCst);
                    }
                    Ok(Event::Incoming(Packet::SubAck(_))) => {
                        subs.fetch_add(1, Ordering::SeqCst);
                    }
                    Ok(Event::Incoming(Packet::Publish(p))) => {
                        inbox.lock().unwrap().push((p.topic.clone(), p.payload.to_vec()));
                    }
                    Ok(Event::Outgoing(rumqttc::Outgoing::Disconnect)) | Err(_) => break,
                    Ok(_) => {}
                }
            }
        });
        TestClient { client, pubacks, received, subacks }
    }

    /// Publishes every payload to `topic` with QoS 1 and waits for the broker's PUBACKs.
    pub(crate) async fn publish_all(&self, topic: &str, payloads: Vec<Vec<u8>>) {
        let before = self.pubacks.load(Ordering::SeqCst);
        let count = payloads.len() as u64;
        for payload in payloads {
            self.client.publish(topic, QoS::AtLeastOnce, false, payload).await.unwrap();
        }
        let acks = self.pubacks.clone();
        eventually("the broker's PUBACKs", || acks.load(Ordering::SeqCst) >= before + count).await;
    }

    async fn subscribe(&self, filter: &str) {
        self.client.subscribe(filter, QoS::AtLeastOnce).await.unwrap();
        let subacks = self.subacks.clone();
        eventually("the test SUBACK", || subacks.load(Ordering::SeqCst) > 0).await;
    }
}

/// Deletes the broker's persistent session of `client_id`: a clean-session connect
/// discards it.
async fn forget_session(client_id: &str) {
    let cleaner = TestClient::connect(client_id, true).await;
    cleaner.subscribe("cctest-forget/none").await;
    let _ = cleaner.client.disconnect().await;
}

pub(crate) async fn register(app: &TestApp, id: &str) -> String {
    let name = format!("测试设备 {id}");
    app.register_device(id, "temperature_humidity", &name, (116.47, 39.99)).await
}

/// Stored readings of one device as (measurement time in ms, value), oldest first.
pub(crate) async fn stored(app: &TestApp, device: &str) -> Vec<(i64, f64)> {
    app.settle_reading_queue().await;
    let sql = "SELECT r.observed_at_ms, r.value FROM sensor_reading r \
               JOIN sensor_device d ON d.device_id = r.device_id \
               WHERE d.external_id = $1 ORDER BY r.observed_at_ms";
    match &app.db {
        citycore::db::Db::Sqlite(pool) => {
            sqlx::query_as(sql).bind(device).fetch_all(pool).await.unwrap()
        }
        citycore::db::Db::Postgres(pool) => {
            sqlx::query_as(sql).bind(device).fetch_all(pool).await.unwrap()
        }
    }
}

/// Readings one per minute ending an hour ago, without a device field.
pub(crate) fn readings(count: usize, offset: usize) -> Vec<Value> {
    let end_ms = chrono::Utc::now().timestamp_millis() / 60_000 * 60_000 - 3_600_000;
    (0..count)
        .map(|n| {
            let minute = (offset + n) as i64;
            json!({"attribute": "temperature", "value": 10.0 + minute as f64 / 4.0,
                "observed_at_ms": end_ms - (600 - minute) * 60_000})
        })
        .collect()
}

pub(crate) fn readings_topic(root: &str, device: &str) -> String {
    format!("{root}/v1/devices/{device}/readings")
}

#[tokio::test]
async fn mqtt_readings_equal_the_same_readings_over_http() {
    if !broker_available().await {
        return;
    }
    let app = spawn_app().await;
    let root = unique_root();
    let mqtt_token = register(&app, "mq-1").await;
    let http_token = register(&app, "http-1").await;
    let subscriber = start(&app, settings(&root, "a", "")).await;
    let publisher = TestClient::connect(&format!("{root}-pub"), true).await;
    let items = readings(30, 0);

    let json_items: Vec<Value> = items[..20].to_vec();
    let json_body = json!({"token": mqtt_token, "readings": json_items}).to_string();
    let text_lines: Vec<String> = items[20..]
        .iter()
        .map(|i| format!("mq-1,temperature,{},{}ms", i["value"], i["observed_at_ms"]))
        .collect();
    let text_body = format!("token {mqtt_token}\n{}", text_lines.join("\n"));
    publisher
        .publish_all(&readings_topic(&root, "mq-1"), vec![json_body.into(), text_body.into()])
        .await;
    let http_items: Vec<Value> = items
        .iter()
        .map(|i| {
            let mut item = i.clone();
            item["device"] = json!("http-1");
            item
        })
        .collect();
    let response = app
        .client
        .post(app.url("/api/v1/readings"))
        .bearer_auth(&http_token)
        .json(&json!({ "readings": http_items }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let counters = subscriber.counters.clone();
    eventually("both MQTT messages", || counters.stored_messages.load(Ordering::SeqCst) == 2).await;

    let over_mqtt = stored(&app, "mq-1").await;
    assert_eq!(over_mqtt.len(), 30, "every MQTT reading is stored");
    assert_eq!(over_mqtt, stored(&app, "http-1").await, "MQTT and HTTP store the same rows");
    assert_eq!(counters.stored_readings.load(Ordering::SeqCst), 30);
    subscriber.stop(Duration::from_secs(10)).await;
    forget_session(&format!("{root}-a")).await;
}

#[tokio::test]
async fn bad_token_is_rejected_reported_and_stores_nothing() {
    if !broker_available().await {
        return;
    }
    let app = spawn_app().await;
    let root = unique_root();
    register(&app, "mq-1").await;
    let other_token = register(&app, "mq-2").await;
    let subscriber = start(&app, settings(&root, "a", "")).await;
    let device = TestClient::connect(&format!("{root}-dev"), true).await;
    device.subscribe(&format!("{root}/v1/devices/+/errors")).await;

    let wrong = json!({"token": "not-a-token", "readings": readings(3, 0)}).to_string();
    let foreign = json!({"token": other_token, "readings": readings(3, 0)}).to_string();
    let no_token = "mq-1,temperature,20,1733277600000ms".to_owned();
    device
        .publish_all(
            &readings_topic(&root, "mq-1"),
            vec![wrong.into(), foreign.into(), no_token.into()],
        )
        .await;
    let counters = subscriber.counters.clone();
    eventually("three rejections", || counters.rejected_messages.load(Ordering::SeqCst) == 3).await;

    assert!(stored(&app, "mq-1").await.is_empty(), "nothing of a rejected message is stored");
    assert!(stored(&app, "mq-2").await.is_empty(), "a foreign token stores nothing");
    let inbox = device.received.clone();
    eventually("three error reports", || inbox.lock().unwrap().len() == 3).await;
    let reports = inbox.lock().unwrap().clone();
    let codes: Vec<String> = reports
        .iter()
        .map(|(topic, body)| {
            assert_eq!(*topic, format!("{root}/v1/devices/mq-1/errors"));
            let body: Value = serde_json::from_slice(body).unwrap();
            body["rejected"][0]["code"].as_str().unwrap().to_owned()
        })
        .collect();
    assert_eq!(codes, ["mqtt_token_invalid", "mqtt_token_wrong_topic", "mqtt_token_missing"]);
    subscriber.stop(Duration::from_secs(10)).await;
    forget_session(&format!("{root}-a")).await;
}

#[tokio::test]
async fn gateway_key_publishes_for_several_devices() {
    if !broker_available().await {
        return;
    }
    let app = spawn_app().await;
    let root = unique_root();
    register(&app, "mq-1").await;
    register(&app, "mq-2").await;
    let key = citycore::sensors::cli::create_ingest_key(&app.db, "gw-1").await.unwrap();
    let subscriber = start(&app, settings(&root, "a", "")).await;
    let publisher = TestClient::connect(&format!("{root}-pub"), true).await;

    let with_device = |device: &str, offset: usize| {
        let mut item = readings(1, offset).remove(0);
        item["device"] = json!(device);
        item
    };
    let body = json!({"token": key, "readings": [with_device("mq-1", 0), with_device("mq-2", 1)]});
    publisher
        .publish_all(&format!("{root}/v1/gateways/gw-1/readings"), vec![body.to_string().into()])
        .await;
    let elsewhere = json!({"token": key, "readings": [with_device("mq-1", 2)]});
    publisher
        .publish_all(
            &format!("{root}/v1/gateways/gw-2/readings"),
            vec![elsewhere.to_string().into()],
        )
        .await;
    let counters = subscriber.counters.clone();
    eventually("both gateway messages", || counters.handled_messages() == 2).await;

    assert_eq!(counters.stored_messages.load(Ordering::SeqCst), 1, "the key's own topic works");
    assert_eq!(
        counters.rejected_messages.load(Ordering::SeqCst),
        1,
        "another gateway's topic does not"
    );
    assert_eq!(
        stored(&app, "mq-1").await.len(),
        1,
        "only the first message's mq-1 reading is stored"
    );
    assert_eq!(stored(&app, "mq-2").await.len(), 1);
    subscriber.stop(Duration::from_secs(10)).await;
    forget_session(&format!("{root}-a")).await;
}

#[tokio::test]
async fn shared_group_nodes_split_the_messages() {
    if !broker_available().await {
        return;
    }
    let app = spawn_app().await;
    let root = unique_root();
    let token = register(&app, "mq-1").await;
    let first = start(&app, settings(&root, "a", "ingest")).await;
    let second = start(&app, settings(&root, "b", "ingest")).await;
    let publisher = TestClient::connect(&format!("{root}-pub"), true).await;

    let payloads: Vec<Vec<u8>> = (0..100)
        .map(|n| json!({"token": token, "readings": readings(1, n)}).to_string().into())
        .collect();
    publisher.publish_all(&readings_topic(&root, "mq-1"), payloads).await;
    let (a, b) = (first.counters.clone(), second.counters.clone());
    eventually("100 messages in all", || a.handled_messages() + b.handled_messages() == 100).await;

    assert!(a.stored_messages.load(Ordering::SeqCst) > 0, "the first node got some");
    assert!(b.stored_messages.load(Ordering::SeqCst) > 0, "the second node got some");
    assert_eq!(stored(&app, "mq-1").await.len(), 100, "together they stored every reading");
    first.stop(Duration::from_secs(10)).await;
    second.stop(Duration::from_secs(10)).await;
    forget_session(&format!("{root}-a")).await;
    forget_session(&format!("{root}-b")).await;
}

#[tokio::test]
async fn messages_published_while_stopped_arrive_after_restart() {
    if !broker_available().await {
        return;
    }
    let app = spawn_app().await;
    let root = unique_root();
    let token = register(&app, "mq-1").await;
    let subscriber = start(&app, settings(&root, "a", "")).await;
    subscriber.stop(Duration::from_secs(10)).await;
    let publisher = TestClient::connect(&format!("{root}-pub"), true).await;

    let payloads: Vec<Vec<u8>> = (0..20)
        .map(|n| json!({"token": token, "readings": readings(1, n)}).to_string().into())
        .collect();
    publisher.publish_all(&readings_topic(&root, "mq-1"), payloads).await;
    assert!(stored(&app, "mq-1").await.is_empty(), "nothing arrives while stopped");
    let restarted = mqtt::spawn(app.state.clone(), settings(&root, "a", "")).unwrap();
    let counters = restarted.counters.clone();
    eventually("the 20 queued messages", || counters.stored_messages.load(Ordering::SeqCst) == 20)
        .await;

    assert_eq!(stored(&app, "mq-1").await.len(), 20, "every queued message is stored");
    restarted.stop(Duration::from_secs(10)).await;
    forget_session(&format!("{root}-a")).await;
}

/// A Mosquitto process of one test on its own loopback port, without persistence.
struct OwnBroker {
    port: u16,
    config: std::path::PathBuf,
    process: tokio::process::Child,
    _dir: tempfile::TempDir,
}

impl OwnBroker {
    /// Starts `mosquitto` on a free port, or returns `None` outside CI when it is not
    /// installed.
    async fn start() -> Option<OwnBroker> {
        let dir = tempfile::tempdir().unwrap();
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let config = dir.path().join("mosquitto.conf");
        let text = format!("listener {port} 127.0.0.1\nallow_anonymous true\npersistence false\n");
        std::fs::write(&config, text).unwrap();
        let process = match OwnBroker::spawn(&config).await {
            Some(process) => process,
            None => {
                assert!(std::env::var_os("CI").is_none(), "mosquitto is not installed under CI");
                eprintln!("skipping: the mosquitto program is not installed");
                return None;
            }
        };
        let broker = OwnBroker { port, config, process, _dir: dir };
        broker.wait_until_listening().await;
        Some(broker)
    }

    async fn spawn(config: &std::path::Path) -> Option<tokio::process::Child> {
        tokio::process::Command::new("mosquitto")
            .arg("-c")
            .arg(config)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .ok()
    }

    async fn wait_until_listening(&self) {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
        while tokio::net::TcpStream::connect((BROKER.0, self.port)).await.is_err() {
            assert!(tokio::time::Instant::now() < deadline, "own broker did not start");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Stops the broker process and starts a new one on the same port.
    async fn restart(&mut self) {
        self.process.kill().await.unwrap();
        self.process = OwnBroker::spawn(&self.config).await.expect("mosquitto starts again");
        self.wait_until_listening().await;
    }
}

#[tokio::test]
async fn subscriber_reconnects_after_broker_restart() {
    let Some(mut broker) = OwnBroker::start().await else {
        return;
    };
    let app = spawn_app().await;
    let root = unique_root();
    let token = register(&app, "mq-1").await;
    let own = MqttSettings {
        url: format!("mqtt://127.0.0.1:{}", broker.port),
        ..settings(&root, "a", "")
    };
    let subscriber = start(&app, own).await;

    broker.restart().await;
    let counters = subscriber.counters.clone();
    eventually("a second SUBACK", || counters.subscribed.load(Ordering::SeqCst) >= 2).await;
    let publisher = TestClient::connect_to(broker.port, &format!("{root}-pub"), true).await;
    let payload = json!({"token": token, "readings": readings(1, 0)}).to_string();
    publisher.publish_all(&readings_topic(&root, "mq-1"), vec![payload.into()]).await;
    eventually("the message after the restart", || {
        counters.stored_messages.load(Ordering::SeqCst) == 1
    })
    .await;

    assert_eq!(stored(&app, "mq-1").await.len(), 1, "the reading sent after the restart is stored");
    subscriber.stop(Duration::from_secs(10)).await;
}
